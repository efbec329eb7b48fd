//! The activity charts as inline SVG, drawn on the server from numbers only
//! (nothing a person typed), so the page needs no chart script and its
//! Content-Security-Policy stays strict. The page's stylesheet colours them,
//! dark mode included; each chart carries its figures as its accessible name.
//!
//! Read at a glance: each chart keeps its aspect ratio (a `viewBox`, drawn
//! at the width of its column and the height that ratio gives, so a label is
//! never stretched), has gridlines at round values labelled in units people
//! say ("0", "10", "20"; "500 ms", "1 s", "1.5 s"), draws every minute with
//! work as a bar at least [`MIN_PART`] high, every ten-minute span of latency
//! as a point (a lone span too), and names its two lines where they end.

use std::fmt::Write;

use crate::dashboard::activity::{Activity, LatencySpan, MINUTES};

/// The drawing area of a chart, in its `viewBox` units.
struct Frame {
    /// The `viewBox`'s width.
    width: f64,
    /// The `viewBox`'s height.
    height: f64,
    /// Where the plot starts, after the y labels.
    left: f64,
    /// Where the plot ends.
    right: f64,
    /// The plot's top gridline.
    top: f64,
    /// The plot's zero line.
    bottom: f64,
}

impl Frame {
    fn plot_width(&self) -> f64 {
        self.right - self.left
    }

    fn plot_height(&self) -> f64 {
        self.bottom - self.top
    }

    /// The `<svg>` element's opening tag. No `preserveAspectRatio`: the
    /// default keeps the ratio, and the stylesheet sizes the element to it.
    fn open(&self, id: &str, label: &str) -> String {
        format!(
            r#"<svg class="chart" id="{id}" viewBox="0 0 {} {}" role="img" aria-label="{label}">"#,
            number(self.width),
            number(self.height)
        )
    }

    /// Horizontal gridlines at each tick of `scale`, labelled on the left,
    /// the zero line drawn as the axis.
    fn gridlines(&self, svg: &mut String, scale: &Scale, name: fn(i64) -> String) {
        for tick in 0..=scale.ticks {
            let y = self.bottom - self.plot_height() * f64::from(tick) / f64::from(scale.ticks);
            let class = if tick == 0 { "axis" } else { "grid" };
            let _ = write!(
                svg,
                r#"<line class="{class}" x1="{}" y1="{y}" x2="{}" y2="{y}"/><text class="label tick" x="{}" y="{}" text-anchor="end">{}</text>"#,
                number(self.left),
                number(self.right),
                number(self.left - 6.0),
                number(y + 4.0),
                name(scale.step * i64::from(tick)),
                y = number(y),
            );
        }
    }

    /// `words` in the middle of an empty plot, so it does not read as a
    /// chart that failed to draw.
    fn note(&self, svg: &mut String, words: &str) {
        let _ = write!(
            svg,
            r#"<text class="label note" x="{}" y="{}" text-anchor="middle">{words}</text>"#,
            number(f64::midpoint(self.left, self.right)),
            number(f64::midpoint(self.top, self.bottom))
        );
    }

    /// "60 min ago" and "now" under the plot, and "30 min ago" between
    /// them if `middle`.
    fn time_labels(&self, svg: &mut String, middle: bool) {
        let y = number(self.height - 4.0);
        let _ = write!(
            svg,
            r#"<text class="label" x="{}" y="{y}">60 min ago</text>"#,
            number(self.left)
        );
        if middle {
            let _ = write!(
                svg,
                r#"<text class="label" x="{}" y="{y}" text-anchor="middle">30 min ago</text>"#,
                number(f64::midpoint(self.left, self.right))
            );
        }
        let _ = write!(
            svg,
            r#"<text class="label" x="{}" y="{y}" text-anchor="end">now</text>"#,
            number(self.right)
        );
    }
}

/// The throughput chart: 60 minutes of [`THROUGHPUT_SLOT`] units in 432,
/// so a bar is 6.2 units wide with a gap of 1. Drawn 518 px wide at
/// 1440 px (three fifths of the charts' row), a bar is 6.7 px.
const THROUGHPUT: Frame = Frame {
    width: 480.0,
    height: 120.0,
    left: 44.0,
    right: 476.0,
    top: 10.0,
    bottom: 96.0,
};

/// The width of one minute in the throughput chart.
const THROUGHPUT_SLOT: f64 = (THROUGHPUT.right - THROUGHPUT.left) / MINUTES as f64;

/// The gap between two minutes' bars.
const BAR_GAP: f64 = 1.0;

/// The height a finished status of a minute is drawn at least, however
/// busy the busiest minute: a burst of one is seen.
const MIN_PART: f64 = 4.0;

/// The latency chart: six spans, with room on the right for the lines'
/// names. As high as the throughput chart where the two share a row (two
/// fifths of it).
const LATENCY: Frame = Frame {
    width: 290.0,
    height: 108.0,
    left: 52.0,
    right: 250.0,
    top: 10.0,
    bottom: 84.0,
};

/// A number of units, to a tenth, without a trailing ".0".
fn number(value: f64) -> String {
    let tenths = (value * 10.0).round() / 10.0;
    if tenths.fract() == 0.0 {
        format!("{tenths:.0}")
    } else {
        format!("{tenths:.1}")
    }
}

/// A y scale: from 0 to `step * ticks`, a gridline at each step.
struct Scale {
    step: i64,
    ticks: u32,
}

impl Scale {
    /// The first of `steps` (smallest first) that reaches `most` in at most
    /// `most_ticks` steps, with at least two (so at least three labels).
    fn fitting(most: i64, steps: impl IntoIterator<Item = i64>, most_ticks: u32) -> Self {
        let mut chosen = Self { step: 1, ticks: 2 };
        for step in steps {
            let ticks = u32::try_from((most.max(0) + step - 1) / step).unwrap_or(u32::MAX);
            chosen = Self {
                step,
                ticks: ticks.max(2),
            };
            if ticks <= most_ticks {
                break;
            }
        }
        chosen
    }

    fn top(&self) -> f64 {
        (self.step * i64::from(self.ticks)) as f64
    }
}

/// Steps for counts: 1, 2, 5, 10, 20, 50, ...
fn count_steps() -> impl Iterator<Item = i64> {
    std::iter::successors(Some(1_i64), |step| step.checked_mul(10))
        .flat_map(|power| [power, power * 2, power * 5])
}

/// Steps for times, in milliseconds: each a round figure in ms, s or min.
const TIME_STEPS: [i64; 22] = [
    1, 2, 5, 10, 20, 50, 100, 200, 250, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000,
    120_000, 300_000, 600_000, 900_000, 1_800_000,
];

/// A count as a y label: "40", "1.5k".
fn count_label(count: i64) -> String {
    if count < 1_000 {
        count.to_string()
    } else {
        format!("{}k", number(count as f64 / 1_000.0))
    }
}

/// A time as a y label: "0", "250 ms", "1.5 s", "2 min".
fn time_label(ms: i64) -> String {
    match ms {
        0 => "0".to_owned(),
        1..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{} s", number(ms as f64 / 1_000.0)),
        _ => format!("{} min", number(ms as f64 / 60_000.0)),
    }
}

/// The heights of a minute's complete and failed parts: in proportion to
/// the scale's top, each part that is not empty at least [`MIN_PART`].
fn bar_heights(complete: u32, fail: u32, top: f64, plot: f64) -> (f64, f64) {
    let height = |count: u32| f64::from(count) * plot / top;
    let parts = f64::from(u8::from(complete > 0) + u8::from(fail > 0));
    let total = height(complete + fail).max(MIN_PART * parts).min(plot);
    match (complete, fail) {
        (0, 0) => (0.0, 0.0),
        (_, 0) => (total, 0.0),
        (0, _) => (0.0, total),
        _ => {
            let fail = height(fail).clamp(MIN_PART, total - MIN_PART);
            (total - fail, fail)
        }
    }
}

/// A bar chart of completions and failures per minute, with the minutes
/// that had retries marked under the axis.
pub fn throughput(activity: &Activity) -> String {
    let frame = &THROUGHPUT;
    let most = activity
        .minutes
        .iter()
        .map(|minute| minute.complete + minute.fail)
        .max()
        .unwrap_or(0);
    let scale = Scale::fitting(i64::from(most), count_steps(), 4);
    let busiest = if most == 0 {
        "none finished".to_owned()
    } else {
        format!("the busiest minute {most}")
    };
    let mut svg = frame.open(
        "throughput-chart",
        &format!(
            "Finished per minute over the last hour: {} complete, {} failed, {} retried deliveries; {busiest}",
            activity.complete, activity.fail, activity.retries
        ),
    );
    frame.gridlines(&mut svg, &scale, count_label);
    if most == 0 {
        frame.note(&mut svg, "nothing finished in the last hour");
    }
    let width = number(THROUGHPUT_SLOT - BAR_GAP);
    for (index, minute) in activity.minutes.iter().enumerate() {
        let x = number(frame.left + index as f64 * THROUGHPUT_SLOT + BAR_GAP / 2.0);
        let (complete, fail) = bar_heights(
            minute.complete,
            minute.fail,
            scale.top(),
            frame.plot_height(),
        );
        if complete > 0.0 {
            let _ = write!(
                svg,
                r#"<rect class="bar-complete" x="{x}" y="{}" width="{width}" height="{}"/>"#,
                number(frame.bottom - complete),
                number(complete)
            );
        }
        if fail > 0.0 {
            let _ = write!(
                svg,
                r#"<rect class="bar-fail" x="{x}" y="{}" width="{width}" height="{}"/>"#,
                number(frame.bottom - complete - fail),
                number(fail)
            );
        }
        if minute.retries > 0 {
            let _ = write!(
                svg,
                r#"<rect class="bar-retry" x="{x}" y="{}" width="{width}" height="3"/>"#,
                number(frame.bottom + 2.0)
            );
        }
    }
    frame.time_labels(&mut svg, true);
    svg.push_str("</svg>");
    svg
}

/// A line of the latency chart: its name, class and figure of a span.
struct Series {
    name: &'static str,
    class: &'static str,
    pick: fn(&LatencySpan) -> Option<i64>,
}

const P95: Series = Series {
    name: "p95",
    class: "p95",
    pick: |span| span.p95_ms,
};

const P50: Series = Series {
    name: "median",
    class: "p50",
    pick: |span| span.p50_ms,
};

/// Two lines of send-to-final time, the median (p50) and the 95th
/// percentile (p95), per ten minutes: a point for each span with finished
/// messages (a square for p95, a dot for the median, so both show where
/// they meet), joined where spans follow each other, each line named
/// ("p95", "median") where it ends.
pub fn latency(activity: &Activity) -> String {
    let frame = &LATENCY;
    let most = activity.latency.iter().filter_map(|span| span.p95_ms).max();
    // Three steps at most: the chart is low, and its labels are longer.
    let scale = Scale::fitting(most.unwrap_or(0), TIME_STEPS, 3);
    let spans = activity.latency.len().max(1) as f64;
    let x = |index: usize| frame.left + (index as f64 + 0.5) * frame.plot_width() / spans;
    let y = |ms: i64| frame.bottom - ms as f64 * frame.plot_height() / scale.top();
    let humane = |ms: i64| crate::views::timeline::duration(u64::try_from(ms).unwrap_or(0));
    let describe = |ms: Option<i64>| ms.map_or_else(|| "none yet".to_owned(), humane);
    let label = match most {
        Some(most) => format!(
            "Send to final over the last hour: median {}, 95th percentile {}; the highest ten-minute 95th percentile {}",
            describe(activity.p50_ms),
            describe(activity.p95_ms),
            humane(most)
        ),
        None => "Send to final over the last hour: no message finished yet".to_owned(),
    };
    let mut svg = frame.open("latency-chart", &label);
    frame.gridlines(&mut svg, &scale, time_label);
    if most.is_none() {
        frame.note(&mut svg, "nothing finished yet");
    }
    // Where each line ends: its name goes there.
    let mut ends = Vec::new();
    for series in [&P95, &P50] {
        let points: Vec<Option<(f64, f64)>> = activity
            .latency
            .iter()
            .enumerate()
            .map(|(index, span)| (series.pick)(span).map(|ms| (x(index), y(ms))))
            .collect();
        // A line through each run of spans that follow each other.
        for run in points.split(Option::is_none) {
            if run.len() > 1 {
                let joined: Vec<String> = run
                    .iter()
                    .flatten()
                    .map(|(x, y)| format!("{},{}", number(*x), number(*y)))
                    .collect();
                let _ = write!(
                    svg,
                    r#"<polyline class="line-{}" points="{}"/>"#,
                    series.class,
                    joined.join(" ")
                );
            }
        }
        for (x, y) in points.iter().flatten() {
            let _ = if series.class == "p95" {
                write!(
                    svg,
                    r#"<rect class="marker-p95" x="{}" y="{}" width="8" height="8"/>"#,
                    number(x - 4.0),
                    number(y - 4.0)
                )
            } else {
                write!(
                    svg,
                    r#"<circle class="marker-p50" cx="{}" cy="{}" r="3.5"/>"#,
                    number(*x),
                    number(*y)
                )
            };
        }
        if let Some((x, y)) = points.iter().flatten().last() {
            ends.push((series, *x, *y));
        }
    }
    // The names beside the last points, moved apart when the lines end
    // close together (p95 is never below p50).
    if let [(p95, x, y95), (p50, _, y50)] = ends.as_slice() {
        let apart = 15.0;
        let (mut high, mut low) = (*y95, *y50);
        if low - high < apart {
            let middle = f64::midpoint(high, low);
            high = middle - apart / 2.0;
            low = middle + apart / 2.0;
        }
        if low > frame.bottom {
            low = frame.bottom;
            high = high.min(low - apart);
        }
        if high < frame.top {
            high = frame.top;
            low = low.max(high + apart);
        }
        for (series, at) in [(p95, high), (p50, low)] {
            let _ = write!(
                svg,
                r#"<text class="series-label label-{}" x="{}" y="{}">{}</text>"#,
                series.class,
                number(x + 7.0),
                number(at + 4.0),
                series.name
            );
        }
    }
    frame.time_labels(&mut svg, false);
    svg.push_str("</svg>");
    svg
}

/// The charts and their summary, ready for `dashboard/charts.html`.
pub struct Charts {
    /// The figures in one sentence.
    pub summary: String,
    /// Inline SVG, numbers only.
    pub throughput: String,
    /// Inline SVG, numbers only.
    pub latency: String,
}

/// The page's "last hour" section: the charts, or why they cannot be read.
#[derive(askama::Template)]
#[template(path = "dashboard/last_hour.html")]
pub struct LastHour {
    /// None when the last hour could not be read.
    pub chart: Option<Charts>,
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
    use crate::dashboard::activity::Minute;

    fn empty_hour() -> Activity {
        Activity::of(&[], messages::now(), false)
    }

    /// The values of `attribute` on each element `<tag class="class"`.
    fn attributes(svg: &str, tag_and_class: &str, attribute: &str) -> Vec<f64> {
        svg.split(tag_and_class)
            .skip(1)
            .map(|element| {
                let element = &element[..element.find('>').unwrap_or(element.len())];
                let start = element
                    .find(&format!(" {attribute}=\""))
                    .unwrap_or_else(|| panic!("{attribute} in {element}"))
                    + attribute.len()
                    + 3;
                let end = start + element[start..].find('"').expect("a closing quote");
                element[start..end].parse().expect("a number")
            })
            .collect()
    }

    /// The texts of the elements `<text class="class"...>`.
    fn texts(svg: &str, class: &str) -> Vec<String> {
        svg.split(&format!("<text class=\"{class}"))
            .skip(1)
            .map(|element| {
                let start = element.find('>').expect("the tag's end") + 1;
                let end = element.find("</text>").expect("the text's end");
                element[start..end].to_owned()
            })
            .collect()
    }

    #[test]
    fn a_minute_with_work_has_its_bars_and_an_empty_hour_draws_none() {
        let mut activity = empty_hour();
        let svg = throughput(&activity);
        assert!(!svg.contains("<rect"), "{svg}");
        assert!(
            svg.contains("none finished"),
            "its name tells no lie: {svg}"
        );
        assert_eq!(
            texts(&svg, "label note"),
            ["nothing finished in the last hour"]
        );
        activity.minutes[59] = Minute {
            complete: 3,
            fail: 1,
            retries: 2,
        };
        let svg = throughput(&activity);
        assert_eq!(svg.matches("bar-complete").count(), 1);
        assert_eq!(svg.matches("bar-fail").count(), 1);
        assert_eq!(svg.matches("bar-retry").count(), 1);
        assert!(svg.contains("the busiest minute 4"), "{svg}");
        assert!(!svg.contains("label note"), "{svg}");
        // The scale is 0 to 4 in steps of 1 over 86 units.
        assert_eq!(
            attributes(&svg, "<rect class=\"bar-complete\"", "height"),
            [64.5],
            "3 of 4 is three quarters high: {svg}"
        );
        // Each part rounded up alone would pass the top: 3 and 4 of 7.
        activity.minutes[58] = Minute {
            complete: 3,
            fail: 4,
            retries: 0,
        };
        activity.minutes[59] = Minute::default();
        let svg = throughput(&activity);
        let top = attributes(&svg, "<line class=\"grid\"", "y1")
            .into_iter()
            .fold(f64::INFINITY, f64::min);
        let bars = attributes(&svg, "<rect class=\"bar-fail\"", "y");
        assert!(bars.iter().all(|y| *y >= top), "{svg}");
    }

    #[test]
    fn a_burst_of_one_minute_is_a_bar_wide_and_tall_enough_to_see() {
        let mut activity = empty_hour();
        activity.minutes[30] = Minute {
            complete: 1,
            fail: 0,
            retries: 0,
        };
        let svg = throughput(&activity);
        let width = attributes(&svg, "<rect class=\"bar-complete\"", "width");
        assert_eq!(width.len(), 1, "{svg}");
        assert!(width[0] >= 6.0, "a minute is 6.2 of 480 units wide: {svg}");
        assert!(
            attributes(&svg, "<rect class=\"bar-complete\"", "height")[0] >= 38.0,
            "one is half the scale of 0, 1, 2: {svg}"
        );
        // One failure beside a thousand completions still shows.
        activity.minutes[31] = Minute {
            complete: 1_000,
            fail: 1,
            retries: 0,
        };
        let svg = throughput(&activity);
        for class in ["bar-complete", "bar-fail"] {
            for height in attributes(&svg, &format!("<rect class=\"{class}\""), "height") {
                assert!(height >= 4.0, "{class} {height}: {svg}");
            }
        }
    }

    #[test]
    fn a_part_raised_to_be_seen_leaves_its_minute_as_high() {
        let (complete, fail) = bar_heights(1_000, 1, 1_500.0, 116.0);
        assert!(fail >= MIN_PART, "{fail}");
        assert!(
            (complete + fail - 1_001.0 * 116.0 / 1_500.0).abs() < 0.01,
            "the minute keeps its height: {complete} + {fail}"
        );
        assert_eq!(bar_heights(1, 1, 1_500.0, 116.0), (MIN_PART, MIN_PART));
        assert_eq!(bar_heights(0, 0, 2.0, 116.0), (0.0, 0.0));
    }

    #[test]
    fn gridlines_at_round_counts_with_several_labels() {
        let mut activity = empty_hour();
        assert_eq!(
            texts(&throughput(&activity), "label tick"),
            ["0", "1", "2"],
            "an empty hour still has a scale"
        );
        activity.minutes[10].complete = 31;
        let svg = throughput(&activity);
        assert_eq!(texts(&svg, "label tick"), ["0", "10", "20", "30", "40"]);
        assert_eq!(svg.matches("<line class=\"grid\"").count(), 4, "{svg}");
        activity.minutes[10].complete = 1_400;
        assert_eq!(
            texts(&throughput(&activity), "label tick"),
            ["0", "500", "1k", "1.5k"]
        );
    }

    #[test]
    fn time_labels_say_ms_s_and_min() {
        let labels = |most: i64| {
            let svg = latency(&one_span(most / 2, most));
            assert_eq!(
                svg.matches("<line class=\"grid\"").count() + 1,
                texts(&svg, "label tick").len(),
                "a gridline for each label: {svg}"
            );
            texts(&svg, "label tick")
        };
        assert_eq!(labels(0), ["0", "1 ms", "2 ms"]);
        assert_eq!(labels(140), ["0", "50 ms", "100 ms", "150 ms"]);
        assert_eq!(labels(1_400), ["0", "500 ms", "1 s", "1.5 s"]);
        assert_eq!(labels(2_000), ["0", "1 s", "2 s"]);
        assert_eq!(labels(25_000), ["0", "10 s", "20 s", "30 s"]);
        assert_eq!(labels(80_000), ["0", "30 s", "1 min", "1.5 min"]);
        assert_eq!(labels(3_500_000), ["0", "30 min", "60 min"]);
    }

    fn one_span(p50_ms: i64, p95_ms: i64) -> Activity {
        let mut activity = empty_hour();
        activity.latency[5] = LatencySpan {
            p50_ms: Some(p50_ms),
            p95_ms: Some(p95_ms),
        };
        activity.p50_ms = Some(p50_ms);
        activity.p95_ms = Some(p95_ms);
        activity
    }

    #[test]
    fn a_single_span_of_latency_is_a_point_for_each_line() {
        let svg = latency(&one_span(120, 2_000));
        assert_eq!(svg.matches("class=\"marker-p95\"").count(), 1, "{svg}");
        assert_eq!(svg.matches("class=\"marker-p50\"").count(), 1, "{svg}");
        assert!(
            !svg.contains("<polyline"),
            "no line through one point: {svg}"
        );
        // The p95 on the top gridline (2 s), the p50 below it.
        let top = attributes(&svg, "<line class=\"grid\"", "y1")
            .into_iter()
            .fold(f64::INFINITY, f64::min);
        let p95 = attributes(&svg, "<rect class=\"marker-p95\"", "y")[0] + 4.0;
        let p50 = attributes(&svg, "<circle class=\"marker-p50\"", "cy")[0];
        assert!((p95 - top).abs() < 0.1 && p50 > p95 + 40.0, "{svg}");
        // Both points show even where they meet.
        let svg = latency(&one_span(300, 300));
        assert_eq!(svg.matches("class=\"marker-p95\"").count(), 1, "{svg}");
        assert_eq!(svg.matches("class=\"marker-p50\"").count(), 1, "{svg}");
    }

    #[test]
    fn the_lines_are_named_where_they_end_apart_and_joined_only_across_following_spans() {
        let mut activity = one_span(300, 310);
        activity.latency[1] = LatencySpan {
            p50_ms: Some(100),
            p95_ms: Some(900),
        };
        activity.latency[2] = LatencySpan {
            p50_ms: Some(150),
            p95_ms: Some(1_200),
        };
        let svg = latency(&activity);
        assert_eq!(texts(&svg, "series-label"), ["p95", "median"], "{svg}");
        let ys = attributes(&svg, "<text class=\"series-label", "y");
        assert!(ys[1] - ys[0] >= 14.0, "the names do not overlap: {svg}");
        let xs = attributes(&svg, "<text class=\"series-label", "x");
        let last = attributes(&svg, "<circle class=\"marker-p50\"", "cx");
        assert_eq!(
            xs,
            [last[2] + 7.0, last[2] + 7.0],
            "at the last point: {svg}"
        );
        // Spans 1 and 2 follow each other; span 5 stands alone.
        assert_eq!(
            svg.matches("<polyline class=\"line-p95\"").count(),
            1,
            "{svg}"
        );
        assert_eq!(svg.matches("class=\"marker-p95\"").count(), 3, "{svg}");
        assert_eq!(
            texts(&svg, "label tick"),
            ["0", "500 ms", "1 s", "1.5 s"],
            "{svg}"
        );
    }

    #[test]
    fn an_empty_hour_says_so_and_draws_no_point() {
        let svg = latency(&empty_hour());
        assert!(svg.contains("no message finished yet"), "{svg}");
        assert_eq!(texts(&svg, "label note"), ["nothing finished yet"]);
        assert!(
            !svg.contains("marker") && !svg.contains("series-label"),
            "{svg}"
        );
    }

    #[test]
    fn the_charts_keep_their_aspect_ratio() {
        let activity = one_span(100, 200);
        for svg in [throughput(&activity), latency(&activity)] {
            assert!(svg.contains(" viewBox=\"0 0 "), "{svg}");
            assert!(!svg.contains("preserveAspectRatio"), "{svg}");
        }
    }
}
