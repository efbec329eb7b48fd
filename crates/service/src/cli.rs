//! The shape every binary's `main` shares:
//!
//! ```ignore
//! #[tokio::main]
//! async fn main() -> ExitCode {
//!     service::cli::exit("worker", run().await)
//! }
//! ```
//!
//! `run` sets up logging, reads its configuration and runs; whatever goes
//! wrong comes back here as one error, printed once with its causes.

use std::fmt::Display;
use std::process::ExitCode;

/// Turns `run`'s result into the process's exit code, printing an error as
/// `<binary>: <error>: <cause>...` on standard error.
pub fn exit<E: Display>(binary: &str, result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints an anyhow error with its whole chain of causes.
            eprintln!("{binary}: {error:#}");
            ExitCode::FAILURE
        }
    }
}
