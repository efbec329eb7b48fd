//! The page's stylesheet, scripts and icon. They are compiled into the binary, so a
//! deployment is one file (an Elastic Beanstalk bundle ships no folders of
//! assets); URLs carry a hash of the content (`?v=`), so browsers may cache
//! them for a year and still never see a stale copy. `routes/assets.rs`
//! serves them; every page links them with [`asset_version`].

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

/// The stylesheet.
pub const APP_CSS: &str = include_str!("../../static/app.css");
/// The script that makes the page live.
pub const APP_JS: &str = include_str!("../../static/app.js");
/// The failures page's own script (choosing messages, the background run's
/// progress), loaded by that page only.
pub const FAILURES_JS: &str = include_str!("../../static/failures.js");
/// The tab's icon: a message going from the web to the worker.
pub const FAVICON_SVG: &str = include_str!("../../static/favicon.svg");

static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = DefaultHasher::new();
    APP_CSS.hash(&mut hasher);
    APP_JS.hash(&mut hasher);
    FAILURES_JS.hash(&mut hasher);
    FAVICON_SVG.hash(&mut hasher);
    format!("{:x}", hasher.finish())
});

/// The content hash the page appends to asset URLs.
pub fn asset_version() -> &'static str {
    &VERSION
}
