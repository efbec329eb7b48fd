//! What every binary of the product shares: reading configuration from the
//! environment with errors that say what to fix, structured logging, the
//! shutdown signal, the HTTP error type, and the shape of `main`.
//!
//! # Layout
//! - [`env`]: every setting declared ([`env::Setting`]) and read typed from [`env::Vars`], with clear errors.
//! - [`listener`]: binding the port, with an error that says what to do, and `HOST`.
//! - [`serve`]: the server loop: HTTP/1.1, a header-read timeout, the peer's address.
//! - [`metrics`]: Prometheus text on `METRICS_ADDR`, and the request metrics' middleware.
//! - [`telemetry`]: `tracing` set up for people (text) or CloudWatch (`LOG_FORMAT=json`).
//! - [`traces`]: OpenTelemetry traces across the queue, sent over OTLP when asked.
//! - [`shutdown`]: a future that completes on Ctrl-C or SIGTERM.
//! - [`http`]: [`http::HttpError`], the one error answer of the web and the
//!   worker, and the middleware that logs it once.
//! - [`cli`]: reading a binary's settings once with clap (`--help` lists them), and what `main` does with its result.

pub mod cli;
pub mod env;
pub mod http;
pub mod listener;
pub mod metrics;
pub mod serve;
pub mod shutdown;
mod span_export;
pub mod telemetry;
pub mod traces;
