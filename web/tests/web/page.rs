//! The messages page and the header of every page, over HTTP: the status
//! tabs with their counts, and the failures badge from the shared snapshot.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use messages::JobKind;
use testkit::backends::Kind;
use tower::ServiceExt;

/// `GET uri`: the status and the HTML.
pub async fn page(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let request = Request::get(uri).body(Body::empty()).expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// The tab whose count has `id`: its link, from `<a` to `</a>`.
fn tab<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let start = html[..at].rfind("<a ").expect("the tab's link");
    let end = at + html[at..].find("</a>").expect("the link's end");
    &html[start..end]
}

/// The text of a tab, tags left out and spaces collapsed: what it reads as.
fn words(fragment: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in fragment.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn the_status_tabs_carry_their_counts_and_mark_the_current_one_without_javascript() {
    let backend = Kind::Embedded.make(10).await;
    let backends = &backend.backends;
    testkit::seed::sent(backends, "waiting", JobKind::Succeed).await;
    for n in 0..2 {
        testkit::seed::completed(backends, &format!("done {n}")).await;
    }
    for n in 0..3 {
        testkit::seed::failed(backends, &format!("broken {n}"), 2).await;
    }
    let app = web::Web::new(backends.clone()).router();

    let (status, html) = page(&app, "/?status=fail&group=g-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(words(tab(&html, "count-all")), "All 6");
    assert_eq!(words(tab(&html, "count-pending")), "Pending 1");
    assert_eq!(words(tab(&html, "count-complete")), "Complete 2");
    assert_eq!(words(tab(&html, "count-fail")), "Fail 3");
    // One nav of tabs: the old "Show:" links and separate counts are gone.
    assert!(!html.contains("Show:"), "{html}");
    assert_eq!(
        html.matches("aria-current=\"page\"").count(),
        2,
        "the header's and the tab's"
    );
    assert!(tab(&html, "count-fail").contains("aria-current=\"page\""));
    assert!(!tab(&html, "count-all").contains("aria-current"));
    // The group view stays a group view on every tab, and says what its counts are of.
    assert!(tab(&html, "count-all").contains("href=\"/?group=g-1\""));
    assert!(tab(&html, "count-pending").contains("href=\"/?status=pending&amp;group=g-1\""));
    assert!(html.contains("The counts are of every group"), "{html}");

    // In flight beside Pending, counted by the queue: the one pending job
    // waits, none is handed out.
    assert_eq!(words(tab(&html, "count-in_flight")), "In flight 0");
    let (_, in_flight) = page(&app, "/?status=in_flight").await;
    assert!(tab(&in_flight, "count-in_flight").contains("aria-current=\"page\""));
    // An empty filtered view says what it is empty of.
    assert!(
        in_flight.contains("No messages in flight right now."),
        "{in_flight}"
    );
    let (_, none) = page(&app, "/?status=complete&group=g-1").await;
    assert!(
        none.contains("No messages with status complete in this group right now."),
        "{none}"
    );
    assert!(!none.contains("No messages yet"));

    let (_, every) = page(&app, "/").await;
    assert!(tab(&every, "count-all").contains("aria-current=\"page\""));
    assert!(tab(&every, "count-all").contains("href=\"/\""));
    assert!(!every.contains("The counts are of every group"));
}

/// The header's "Failures" link as it reads (its accessible name: the
/// hidden figures left out).
fn failures_link(html: &str) -> String {
    let start = html.find("id=\"nav-failures\"").expect("the Failures link");
    let start = html[..start].rfind("<a ").expect("its start");
    let end = start + html[start..].find("</a>").expect("its end");
    let mut link = html[start..end].to_owned();
    // A figure of zero is hidden: it is not part of the name.
    while let Some(at) = link.find(" hidden>") {
        let open = link[..at].rfind("<span").expect("a hidden figure");
        let close =
            at + link[at..].find("</span></span>").expect("its end") + "</span></span>".len();
        link.replace_range(open..close, "");
    }
    words(&link)
}

#[tokio::test]
async fn every_page_shows_the_failures_badge_and_a_hundred_views_cost_one_count() {
    let backend = Kind::Embedded.make(10).await;
    for n in 0..2 {
        testkit::seed::failed(&backend.backends, &format!("broken {n}"), 3).await;
    }
    let done = testkit::seed::completed(&backend.backends, "fine").await;
    let (backends, reads) =
        testkit::faults::backends_counting(&backend.backends, testkit::faults::Faults::default());
    let app = web::Web::new(backends).router();
    let pages = [
        "/".to_owned(),
        format!("/messages/{}", done.id),
        "/dead-letters".to_owned(),
        "/no-such-page".to_owned(),
        "/messages/not-an-id".to_owned(),
    ];
    for n in 0..100 {
        let uri = &pages[n % pages.len()];
        let (_, html) = page(&app, uri).await;
        assert_eq!(
            failures_link(&html),
            "Failures, 2 failed",
            "on {uri}: {html}"
        );
    }
    assert_eq!(
        reads.now().0,
        3,
        "one count of each of the 3 statuses for the 100 views"
    );
}

#[tokio::test]
async fn with_nothing_failed_the_badge_is_hidden() {
    let backend = Kind::Embedded.make(10).await;
    testkit::seed::completed(&backend.backends, "fine").await;
    let app = web::Web::new(backend.backends.clone()).router();
    let (_, html) = page(&app, "/").await;
    assert_eq!(failures_link(&html), "Failures");
    assert!(html.contains("id=\"badge-failed\" hidden"), "{html}");
}
