//! The web: a browser page and a JSON API where people send messages. Each
//! message is recorded as `pending` in the status store, then enqueued for the
//! worker; the answer comes at once, and the page shows the state as it moves.
//!
//! # Rooms
//! Each folder is one feature; ARCHITECTURE.md, "Entry points", says which
//! files are the Elastic Beanstalk pattern and which rooms a copier may leave
//! out.
//! - [`sending`]: the send use case (record `pending`, then enqueue;
//!   [`sending::send::SendError`], no HTTP) and sends made once per
//!   `Idempotency-Key` (`sending::idempotent`).
//! - [`views`]: the message views: the list's tabs (`listing`), a message as
//!   JSON, a row's state, a message's timeline in words, the feed of new
//!   messages shared by every open page ([`views::recent`]), counts in words.
//! - `operator`: the operator's side: who may act (`operator::settings`:
//!   `OPERATOR_TOKEN`, `REQUIRE_HTTPS`, `SIGN_IN_RATE_PER_MINUTE`), the
//!   credential a request presents, the sealed session cookie, the budget of
//!   wrong guesses, `access` (checked before anything else), the actions on
//!   failed messages (`actions`), their errors grouped, one action on every
//!   failed message (`all_failed`) and the dead-letter redrive.
//! - `dashboard`: one pipeline snapshot per web instance
//!   (`dashboard::snapshot`), the strip and the failures badge drawn from
//!   it, the last hour's activity and its charts, asking the worker what it
//!   does (`dashboard::worker_link`), and the one shared read they all keep
//!   theirs in (`shared_read`).
//! - [`edge`]: the HTTP edge's lower half, which any room may use: who sent
//!   a request ([`edge::client`]), the per-client limits ([`edge::throttle`]),
//!   the size and time limits, the static assets.
//! - [`routes`]: the HTTP edge's upper half, over every room: the routers (a
//!   module per page or API, none importing another), reading input, the use
//!   cases' errors as answers (`routes::error`, once for every route), pages
//!   rendered, security headers ([`routes::security`]) and the deadline
//!   ([`routes::deadline`]).
//! - [`config`], [`startup`] ([`Web`], the one builder, and [`Application`], which binds and serves) and
//!   [`provision`] (the `web provision` command).
//!
//! `operator` and `dashboard` are cargo features (on by default; `operator`
//! needs `dashboard`): the web builds without them, and what they add to the
//! pages every build has is in one place, `routes::rooms`.
//!
//! Rooms, like modules, only import downwards: (`startup`, `provision`) >
//! `routes` > (`operator`, `dashboard`, `sending`); `dashboard` > `views`;
//! (`operator`, `sending`) > `edge`. `operator` and `dashboard` know nothing
//! of each other or of `sending`. `scripts/check-architecture` fails on a
//! cycle between rooms or between the modules of one.

pub mod config;
#[cfg(feature = "dashboard")]
pub mod dashboard;
pub mod edge;
#[cfg(feature = "operator")]
pub mod operator;
pub mod provision;
pub mod routes;
pub mod sending;
pub mod startup;
pub mod views;

pub use config::WebConfig;
pub use startup::{Application, Web};
