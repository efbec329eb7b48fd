//! axe-core, injected into the page a test has open, as an assertion: no
//! WCAG 2.2 A or AA violation. The test command installs axe-core from npm
//! and sets `AXE_CORE` to its `axe.min.js`.

use serde_json::Value;

use crate::browser::Browser;

/// The rule sets checked: WCAG 2.0, 2.1 and 2.2, levels A and AA.
const TAGS: [&str; 6] = [
    "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa",
];

fn axe_source() -> String {
    let path = std::env::var("AXE_CORE").unwrap_or_else(|_| {
        panic!(
            "AXE_CORE is not set: run the tests with scripts/test, which installs axe-core from npm"
        )
    });
    std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!("cannot read axe-core at {path} ({error}): run scripts/test")
    })
}

/// Runs axe-core on the page `browser` shows and fails the test with every
/// violation found, naming the page's `state` (what the test did to get there).
pub async fn assert_accessible(browser: &Browser, state: &str) {
    let found = violations(browser, state).await;
    assert!(
        found.is_empty(),
        "{} WCAG A/AA violation(s) {state}:\n{}",
        found.len(),
        serde_json::to_string_pretty(&found).unwrap_or_default()
    );
}

/// What axe-core finds wrong on the page `browser` shows: each violation's
/// rule, impact, help and first few elements.
pub async fn violations(browser: &Browser, state: &str) -> Vec<Value> {
    // WebDriver runs the script outside the page's Content-Security-Policy,
    // so the strict policy stays as it is for the page itself.
    browser
        .client
        .execute(&format!("{}\nreturn typeof axe;", axe_source()), vec![])
        .await
        .unwrap_or_else(|error| panic!("cannot inject axe-core ({state}): {error}"));
    let run = format!(
        r#"const done = arguments[arguments.length - 1];
axe.run(document, {{ runOnly: {{ type: "tag", values: {tags} }}, resultTypes: ["violations"] }})
  .then((result) => done(result.violations.map((violation) => ({{
    id: violation.id, impact: violation.impact, help: violation.help,
    nodes: violation.nodes.slice(0, 5).map((node) => node.target.join(" ") + ": " + node.failureSummary),
  }}))))
  .catch((error) => done("axe-core failed: " + error));"#,
        tags = serde_json::to_string(&TAGS).expect("strings serialise"),
    );
    let violations = browser
        .client
        .execute_async(&run, vec![])
        .await
        .unwrap_or_else(|error| panic!("cannot run axe-core ({state}): {error}"));
    match violations {
        Value::Array(found) => found,
        other => panic!("axe-core did not run {state}: {other}"),
    }
}
