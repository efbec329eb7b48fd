//! The page's stylesheet and script. They are compiled into the binary, so a
//! deployment is one file (an Elastic Beanstalk bundle ships no folders of
//! assets); URLs carry a hash of the content (`?v=`), so browsers may cache
//! them for a year and still never see a stale copy.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;

use super::AppState;

const APP_CSS: &str = include_str!("../../static/app.css");
const APP_JS: &str = include_str!("../../static/app.js");

static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = DefaultHasher::new();
    APP_CSS.hash(&mut hasher);
    APP_JS.hash(&mut hasher);
    format!("{:x}", hasher.finish())
});

/// The content hash the page appends to asset URLs.
pub fn asset_version() -> &'static str {
    &VERSION
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/static/app.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS) }),
        )
        .route(
            "/static/app.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    APP_JS,
                )
            }),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ))
}
