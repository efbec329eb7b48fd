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

use std::process::ExitCode;

/// Arguments that cannot be understood. The process exits with 2, as shells
/// and scripts expect of a usage error; any other error exits with 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Turns `run`'s result into the process's exit code, printing an error as
/// `<binary>: <error>: <cause>...` on standard error.
pub fn exit(binary: &str, result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the error with its whole chain of causes.
            eprintln!("{binary}: {error:#}");
            if error.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usage_error_exits_with_2_and_any_other_with_1() {
        let usage = UsageError("unknown arguments".to_owned());
        assert_eq!(exit("test", Err(usage.into())), ExitCode::from(2));
        assert_eq!(
            exit("test", Err(anyhow::anyhow!("boom"))),
            ExitCode::FAILURE
        );
        assert_eq!(exit("test", Ok(())), ExitCode::SUCCESS);
    }
}
