//! The one error the ports return. Backends convert their SDK or database
//! errors into it, so handlers never see an AWS type; the cause chain is kept
//! for the logs.

use std::error::Error as StdError;

/// A backend could not do what was asked (unreachable, throttled, refused).
/// Expected outcomes, such as a conditional update that lost a race, are not
/// errors: the ports return them as values.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed")]
pub struct BackendError {
    operation: &'static str,
    #[source]
    source: Box<dyn StdError + Send + Sync>,
}

impl BackendError {
    /// Wraps `source`, naming the operation that failed (`"SQS SendMessage"`).
    pub fn new(
        operation: &'static str,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            operation,
            source: source.into(),
        }
    }

    /// The whole cause chain on one line, for logs and the `error` field.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = self.source();
        while let Some(error) = cause {
            text.push_str(": ");
            text.push_str(&error.to_string());
            cause = error.source();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_names_the_operation_and_the_cause() {
        let error = BackendError::new("SQS SendMessage", "connection refused");
        assert_eq!(error.chain(), "SQS SendMessage failed: connection refused");
    }
}
