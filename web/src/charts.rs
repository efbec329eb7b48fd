//! The activity charts as inline SVG, drawn on the server from numbers only
//! (nothing a person typed), so the page needs no chart script and its
//! Content-Security-Policy stays strict. The page's stylesheet colours them,
//! dark mode included; each chart carries its figures as its accessible name.

use std::fmt::Write;

use crate::activity::{Activity, MINUTES};

const WIDTH: usize = 600;
const HEIGHT: usize = 120;
/// Room for the labels under the bars.
const LABELS: usize = 16;

/// A bar chart of completions and failures per minute, with the minutes
/// that had retries marked.
pub fn throughput(activity: &Activity) -> String {
    let most = activity
        .minutes
        .iter()
        .map(|minute| minute.complete + minute.fail)
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = WIDTH / MINUTES;
    let scale = |count: u32| (count as usize * HEIGHT).div_ceil(most as usize);
    let mut svg = format!(
        r#"<svg class="chart" id="throughput-chart" viewBox="0 0 {WIDTH} {}" role="img" aria-label="Finished per minute over the last hour: {} complete, {} failed, {} retried deliveries; the busiest minute {most}" preserveAspectRatio="none">"#,
        HEIGHT + LABELS,
        activity.complete,
        activity.fail,
        activity.retries
    );
    for (index, minute) in activity.minutes.iter().enumerate() {
        let x = index * slot;
        // Both bars from one rounding, so together they never pass the top.
        let total = scale(minute.complete + minute.fail);
        let complete = scale(minute.complete).min(total);
        let fail = total - complete;
        if complete > 0 {
            let _ = write!(
                svg,
                r#"<rect class="bar-complete" x="{x}" y="{}" width="{}" height="{complete}"/>"#,
                HEIGHT - complete,
                slot - 2
            );
        }
        if fail > 0 {
            let _ = write!(
                svg,
                r#"<rect class="bar-fail" x="{x}" y="{}" width="{}" height="{fail}"/>"#,
                HEIGHT - complete - fail,
                slot - 2
            );
        }
        if minute.retries > 0 {
            let _ = write!(
                svg,
                r#"<rect class="bar-retry" x="{x}" y="{HEIGHT}" width="{}" height="3"/>"#,
                slot - 2
            );
        }
    }
    let _ = write!(
        svg,
        r#"<line class="axis" x1="0" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}"/><text class="label" x="0" y="{y}">60 min ago</text><text class="label" x="{WIDTH}" y="{y}" text-anchor="end">now</text><text class="label" x="0" y="10">{most}/min</text></svg>"#,
        y = HEIGHT + LABELS - 2
    );
    svg
}

/// Two lines of send-to-final time, the median and the 95th percentile, per
/// ten minutes.
pub fn latency(activity: &Activity) -> String {
    let most = activity
        .latency
        .iter()
        .filter_map(|span| span.p95_ms)
        .max()
        .unwrap_or(0)
        .max(1);
    let spans = activity.latency.len().max(1);
    let x = |index: usize| index * WIDTH / spans + WIDTH / spans / 2;
    let y = |millis: i64| {
        let height = i64::try_from(HEIGHT).unwrap_or(i64::MAX);
        height - millis * height / most
    };
    let line = |pick: fn(&crate::activity::LatencySpan) -> Option<i64>| {
        activity
            .latency
            .iter()
            .enumerate()
            .filter_map(|(index, span)| {
                pick(span).map(|millis| format!("{},{}", x(index), y(millis)))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let describe = |millis: Option<i64>| {
        millis.map_or_else(|| "none yet".to_owned(), |millis| format!("{millis} ms"))
    };
    format!(
        r#"<svg class="chart" id="latency-chart" viewBox="0 0 {WIDTH} {}" role="img" aria-label="Send to final over the last hour: median {}, 95th percentile {}; the highest ten-minute 95th percentile {most} ms" preserveAspectRatio="none"><polyline class="line-p95" points="{}"/><polyline class="line-p50" points="{}"/><line class="axis" x1="0" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}"/><text class="label" x="0" y="{ly}">60 min ago</text><text class="label" x="{WIDTH}" y="{ly}" text-anchor="end">now</text><text class="label" x="0" y="10">{most} ms</text></svg>"#,
        HEIGHT + LABELS,
        describe(activity.p50_ms),
        describe(activity.p95_ms),
        line(|span| span.p95_ms),
        line(|span| span.p50_ms),
        ly = HEIGHT + LABELS - 2
    )
}

/// The charts and their summary, ready for `partials/activity.html`.
pub struct Charts {
    /// The figures in one sentence.
    pub summary: String,
    /// Inline SVG, numbers only.
    pub throughput: String,
    /// Inline SVG, numbers only.
    pub latency: String,
}

impl From<&Activity> for Charts {
    fn from(activity: &Activity) -> Self {
        Self {
            summary: activity.summary(),
            throughput: throughput(activity),
            latency: latency(activity),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::Minute;

    #[test]
    fn a_minute_with_work_has_its_bars_and_an_empty_hour_draws_none() {
        let mut activity = Activity::of(&[], messages::now(), false);
        assert!(!throughput(&activity).contains("<rect"));
        activity.minutes[59] = Minute {
            complete: 3,
            fail: 1,
            retries: 2,
        };
        let svg = throughput(&activity);
        assert_eq!(svg.matches("bar-complete").count(), 1);
        assert_eq!(svg.matches("bar-fail").count(), 1);
        assert_eq!(svg.matches("bar-retry").count(), 1);
        assert!(
            svg.contains(r#"height="90""#),
            "3 of the busiest 4 is three quarters high: {svg}"
        );
        // Each part rounded up alone would pass the top: 3 and 4 of 7.
        activity.minutes[58] = Minute {
            complete: 3,
            fail: 4,
            retries: 0,
        };
        activity.minutes[59] = Minute::default();
        let svg = throughput(&activity);
        assert!(
            !svg.contains("y=\"-") && !svg.contains("18446744073709551615"),
            "{svg}"
        );
    }
}
