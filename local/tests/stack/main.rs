//! The whole stack end to end, in one test binary (one link of the AWS SDK).
//!
//! - `launcher`: what `cargo run --release` starts, on the embedded backend.
//! - `pipeline`: the web and the worker over HTTP on SQS and DynamoDB (moto),
//!   the worker called exactly as Elastic Beanstalk's sqsd calls it.
//! - `browser`: the page in a real headless Chromium.
//! - `dashboard`: find by id, pause or choose the live interval, dark mode.
//! - `charts`: the last hour's charts read at a glance, at 1440 × 900 and
//!   on a phone, light and dark.
//! - `live_page`: the live page's defects, each shown fixed in Chromium.
//! - `live_list`: the live list as an operator reads it: it holds still,
//!   keeps the focus, re-reads stale rows, rests in a hidden tab and backs off.
//! - `strip`: the pipeline strip names each stage's service, hangs the
//!   dead-letter queue off the queue, fits 1440 px and a phone, and warns
//!   when messages wait and no worker takes them.
//! - `running`: a slow job shows running and for how long, a failed one
//!   when it is retried, on its row and its page.
//! - `layout`: the page on a phone, and manual mode at 1440 × 900.
//! - `operator_page`: the failures page, the operator's actions and the
//!   pipeline strip, in Chromium, checked with axe-core.
//! - `failures_page`: the failures page for an operator: choosing many, every
//!   failed message at once, errors grouped, paging, cards on a phone.
//! - `tabs`: the list's status tabs, the header's failures badge, and the
//!   send form refused for the rate, with and without JavaScript.
//! - `fifo`: FIFO queues, watched in the browser: one group in order, the
//!   others in parallel.
//! - `traces`: one trace from a request across the queue to the job, on
//!   both backends and both queue kinds.

mod browser;
mod charts;
mod dashboard;
mod failures_page;
mod fifo;
mod helpers;
mod launcher;
mod layout;
mod live_list;
mod live_page;
mod operator_page;
mod pipeline;
mod running;
mod strip;
mod tabs;
mod traces;
