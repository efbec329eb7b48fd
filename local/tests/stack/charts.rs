//! "The last hour" read at a glance, in a real headless Chromium, after a
//! minute's burst that the worker finished: at 1440 × 900 the charts are in
//! the first screen beside the form and above the list, each drawn at its
//! own aspect ratio (no label stretched), the burst is a bar wide and tall
//! enough to see, the one ten-minute span of latency is a point on each
//! line, and the lines are named where they end; on a 390 px phone they fit
//! without pushing the page sideways. axe-core checks the page with its
//! charts, light and dark, wide and narrow.

use std::time::Duration;

use messages::JobKind;
use serde_json::Value;
use testkit::accessibility::assert_accessible;
use testkit::browser::Browser;

use crate::browser::{App, app};

/// Every chart, bar, point and label the page draws, measured as laid out.
const MEASURE: &str = r##"
const box = (element) => {
  const rect = element.getBoundingClientRect();
  return { top: rect.top, bottom: rect.bottom, left: rect.left, right: rect.right, width: rect.width, height: rect.height };
};
const all = (css) => Array.from(document.querySelectorAll(css));
const texts = (css) => all(css).map((text) => ({ text: text.textContent, box: box(text) }));
return {
  charts: all("svg.chart").map((svg) => ({
    id: svg.id,
    box: box(svg),
    view: svg.viewBox.baseVal ? [svg.viewBox.baseVal.width, svg.viewBox.baseVal.height] : null,
    texts: texts("#" + svg.id + " text"),
    yLabels: texts("#" + svg.id + " text.tick"),
  })),
  bars: all("#throughput-chart rect.bar-complete, #throughput-chart rect.bar-fail").map(box),
  p50: all("#latency-chart .marker-p50").map(box),
  p95: all("#latency-chart .marker-p95").map(box),
  lineNames: texts("#latency-chart text.series-label"),
  list: box(document.getElementById("list-heading")),
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: innerWidth,
  innerHeight: innerHeight,
};"##;

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

fn list(value: &Value) -> &Vec<Value> {
    value.as_array().expect("a list")
}

/// Whether two measured boxes share any area.
fn overlap(a: &Value, b: &Value) -> bool {
    number(&a["left"]) < number(&b["right"])
        && number(&b["left"]) < number(&a["right"])
        && number(&a["top"]) < number(&b["bottom"])
        && number(&b["top"]) < number(&a["bottom"])
}

/// A minute's work, finished by the worker as it finishes any: 20 `ok`, a
/// `flaky` (retried once), a `fail` and a `slow` (2 s), all sent now, so
/// they fall in one minute (two, across a minute's end) and in one
/// ten-minute span of latency.
async fn a_burst_finished() -> App {
    let app = app().await;
    for n in 0..20 {
        testkit::seed::sent(&app.backends, &format!("burst {n}"), JobKind::Succeed).await;
    }
    for simulate in [JobKind::Flaky, JobKind::Fail, JobKind::Slow] {
        testkit::seed::sent(&app.backends, &format!("a {simulate} job"), simulate).await;
    }
    for _ in 0..300 {
        let pending = app
            .backends
            .store
            .count(messages::Status::Pending)
            .await
            .expect("count");
        if pending == 0 {
            return app;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the burst did not finish in 30 s");
}

/// The page in a `width` × `height` window, light or dark, and what it
/// measures.
async fn open_at(app: &App, dark: bool, width: u32, height: u32) -> (Browser, Value) {
    let browser = if dark {
        Browser::start_dark().await
    } else {
        Browser::start(true).await
    };
    browser
        .client
        .set_window_size(width, height)
        .await
        .expect("resize the window");
    browser.client.goto(&app.web).await.expect("open the page");
    let measured = browser.script(MEASURE).await;
    assert_eq!(
        number(&measured["innerWidth"]),
        f64::from(width),
        "{measured}"
    );
    assert_eq!(list(&measured["charts"]).len(), 2, "two charts: {measured}");
    (browser, measured)
}

/// Problem 1 (and 2, as drawn): the latency chart of a single ten-minute
/// span was blank, a line through one point. Now each line has a visible
/// point there, and its name beside it; each chart has gridlines labelled
/// at three values or more, and no two labels of a chart overlap.
#[tokio::test]
async fn a_single_span_of_latency_is_a_visible_point_on_each_line_named_where_it_ends() {
    let app = a_burst_finished().await;
    let (browser, measured) = open_at(&app, false, 1440, 900).await;
    for series in ["p50", "p95"] {
        let points = list(&measured[series]);
        assert!(
            points.len() == 1
                && number(&points[0]["width"]) >= 5.0
                && number(&points[0]["height"]) >= 5.0,
            "one visible {series} point for one span of latency: {points:?}"
        );
    }
    let names = list(&measured["lineNames"]);
    let named: Vec<&str> = names
        .iter()
        .filter_map(|name| name["text"].as_str())
        .collect();
    assert_eq!(named, ["p95", "median"], "the lines named where they end");
    for chart in list(&measured["charts"]) {
        let id = &chart["id"];
        assert!(
            list(&chart["yLabels"]).len() >= 3,
            "{id} has a scale of three values or more: {chart}"
        );
        let texts = list(&chart["texts"]);
        for (index, text) in texts.iter().enumerate() {
            for other in &texts[index + 1..] {
                assert!(
                    !overlap(&text["box"], &other["box"]),
                    "{id}'s labels {} and {} overlap: {chart}",
                    text["text"],
                    other["text"]
                );
            }
        }
    }
    browser.close().await;
}

/// Problem 3: the charts were squashed to 58 % of their width, labels and
/// all. Now each is drawn at its viewBox's aspect ratio (within 2 %) at
/// 1440 × 900 and on a phone, and its text is at least 10 px high.
#[tokio::test]
async fn the_charts_keep_their_aspect_ratio_so_no_label_is_stretched() {
    let app = a_burst_finished().await;
    for (width, height) in [(1440, 900), (390, 844)] {
        let (browser, measured) = open_at(&app, false, width, height).await;
        for chart in list(&measured["charts"]) {
            let id = &chart["id"];
            let drawn = number(&chart["box"]["width"]) / number(&chart["box"]["height"]);
            let view = number(&chart["view"][0]) / number(&chart["view"][1]);
            assert!(
                (drawn / view - 1.0).abs() <= 0.02,
                "{width} px: {id} is drawn {drawn:.3}:1 for a viewBox of {view:.3}:1: {chart}"
            );
            for text in list(&chart["texts"]) {
                let high = number(&text["box"]["height"]);
                assert!(
                    high >= 10.0,
                    "{width} px: {id}'s {} is {high:.1} px high: {chart}",
                    text["text"]
                );
            }
        }
        browser.close().await;
    }
}

/// Problem 4: a minute's burst was a 4 px sliver. At 1440 × 900 each bar
/// of it is now at least 6 px wide, and each part of it (the one `fail`
/// beside 22 `complete` too) at least 4 px high.
#[tokio::test]
async fn at_1440_a_minutes_burst_is_a_bar_6_px_wide_and_every_part_of_it_visible() {
    let app = a_burst_finished().await;
    let (browser, measured) = open_at(&app, false, 1440, 900).await;
    let bars = list(&measured["bars"]);
    assert!(bars.len() >= 2, "a complete and a fail part: {measured}");
    for bar in bars {
        let (width, height) = (number(&bar["width"]), number(&bar["height"]));
        assert!(
            width >= 6.0 && height >= 4.0,
            "a bar of the burst is {width:.1} × {height:.1} px: {bars:?}"
        );
    }
    let tallest = bars
        .iter()
        .map(|bar| number(&bar["height"]))
        .fold(0.0, f64::max);
    assert!(tallest >= 40.0, "the burst stands {tallest:.1} px high");
    browser.close().await;
}

/// Problem 5: at 1440 × 900 the charts began below the fold. Now both are
/// whole in the first screen (what the window shows: 900 px less its
/// frame), and the list still starts there too.
#[tokio::test]
async fn at_1440_the_charts_are_in_the_first_screen_and_the_list_starts_there_too() {
    let app = a_burst_finished().await;
    let (browser, measured) = open_at(&app, false, 1440, 900).await;
    let screen = number(&measured["innerHeight"]);
    assert!(screen <= 900.0, "{measured}");
    for chart in list(&measured["charts"]) {
        let (top, bottom) = (
            number(&chart["box"]["top"]),
            number(&chart["box"]["bottom"]),
        );
        assert!(
            top >= 0.0 && bottom <= screen,
            "{} is drawn from {top:.0} to {bottom:.0} px, not in the first {screen} px",
            chart["id"]
        );
    }
    let list_top = number(&measured["list"]["top"]);
    assert!(
        list_top < screen,
        "the list starts at {list_top:.0} px of {screen}"
    );
    browser.close().await;
}

/// On a 390 px phone the page is no wider than the screen, the charts fit
/// it, and the list still comes before them, in the first screen.
#[tokio::test]
async fn on_a_phone_the_charts_fit_and_nothing_overflows() {
    let app = a_burst_finished().await;
    let (browser, measured) = open_at(&app, false, 390, 844).await;
    assert!(
        number(&measured["scrollWidth"]) <= number(&measured["innerWidth"]),
        "the page is {} px wide in a 390 px window",
        measured["scrollWidth"]
    );
    for chart in list(&measured["charts"]) {
        assert!(
            number(&chart["box"]["left"]) >= 0.0 && number(&chart["box"]["right"]) <= 390.0,
            "{} fits the screen: {chart}",
            chart["id"]
        );
    }
    let list_top = number(&measured["list"]["top"]);
    assert!(list_top < 844.0, "the list starts at {list_top:.0} px");
    browser.close().await;
}

/// No WCAG 2.2 A or AA violation on the page with its charts drawn, light
/// and dark, at 1440 × 900 and on a phone.
#[tokio::test]
async fn the_page_with_its_charts_passes_axe_light_and_dark_wide_and_narrow() {
    let app = a_burst_finished().await;
    for dark in [false, true] {
        for (width, height) in [(1440, 900), (390, 844)] {
            let (browser, _) = open_at(&app, dark, width, height).await;
            let mode = if dark { "dark" } else { "light" };
            assert_accessible(
                &browser,
                &format!("{mode}, {width} × {height}, the last hour drawn"),
            )
            .await;
            browser.close().await;
        }
    }
}
