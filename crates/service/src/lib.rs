//! What every binary of the product shares: reading configuration from the
//! environment with errors that say what to fix, structured logging, and the
//! shutdown signal.
//!
//! # Layout
//! - [`env`]: typed environment variables with defaults and clear errors.
//! - [`listener`]: binding the port, with an error that says what to do.
//! - [`telemetry`]: `tracing` set up for people (text) or CloudWatch (`LOG_FORMAT=json`).
//! - [`shutdown`]: a future that completes on Ctrl-C or SIGTERM.

pub mod env;
pub mod listener;
pub mod shutdown;
pub mod telemetry;
