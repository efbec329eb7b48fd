//! Which backend to use, chosen from the settings (README,
//! "Configuration"): `QUEUE_URL` and `TABLE_NAME` both set means SQS and
//! DynamoDB; neither means the embedded backend under `DATA_DIR`; one alone is
//! a start-up error, since half an AWS setup is always a mistake.
//! Whether the queue is FIFO is the queue's own: on SQS its name ends in
//! `.fifo`; the embedded queue is made FIFO with `QUEUE_TYPE=fifo`.
//!
//! This is the only crate that knows both backends. The apps call
//! [`BackendConfig::connect`] once at start-up and from then on see only the
//! ports ([`Backends`]).

use std::path::PathBuf;

pub mod traced;
pub use messages_aws::Copied;
pub use traced::traced;

use messages::{BackendError, Backends, QueueKind};
use service::env::{self, Setting, Vars};

/// sqsd's default `MaxRetries`, and so the default `MAX_ATTEMPTS`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

/// Reads `MAX_ATTEMPTS`: deliveries before a failing job is given up. The web
/// (for the queue's redrive policy) and the worker read the same number.
pub fn max_attempts_from(vars: &Vars) -> Result<u32, env::EnvError> {
    vars.number_in("MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS, 1, 1000)
}

/// What every binary reads to choose and reach its backend, `MAX_ATTEMPTS`
/// with them. (The AWS SDK reads its own: `AWS_REGION`, `AWS_PROFILE`,
/// `AWS_ENDPOINT_URL` and the credentials; README, "Configuration".)
pub fn settings() -> Vec<Setting> {
    vec![
        Setting::new("QUEUE_URL", "the SQS queue's URL; with TABLE_NAME, use SQS and DynamoDB")
            .accepts("a queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/messages"),
        Setting::new("TABLE_NAME", "the DynamoDB table; with QUEUE_URL, use SQS and DynamoDB")
            .accepts("a table name"),
        Setting::new("DATA_DIR", "where the embedded backend keeps its file, when neither QUEUE_URL nor TABLE_NAME is set")
            .accepts("a folder")
            .default_is("./data"),
        Setting::new("QUEUE_TYPE", "the kind of queue: on SQS it must match QUEUE_URL's; an embedded queue is made so")
            .accepts("standard or fifo")
            .default_is("the queue's own (standard for a new embedded one)"),
        Setting::new("MAX_ATTEMPTS", "deliveries before a failing job is given up (sqsd's MaxRetries, the queue's maxReceiveCount)")
            .number(DEFAULT_MAX_ATTEMPTS, 1, 1000),
    ]
}

/// Where messages live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendConfig {
    /// Amazon SQS and DynamoDB (or an emulator at `AWS_ENDPOINT_URL`).
    Aws {
        /// `QUEUE_URL`.
        queue_url: String,
        /// `TABLE_NAME`.
        table_name: String,
    },
    /// Files under `DATA_DIR`, for a machine with no AWS at all.
    Embedded {
        /// `DATA_DIR`, default `./data`.
        data_dir: PathBuf,
        /// `QUEUE_TYPE`: the kind of queue a new file is made with, and that
        /// an existing one must have. Unset: the file's own (standard if new).
        queue_kind: Option<QueueKind>,
    },
}

/// A configuration that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BackendConfigError {
    /// One of `QUEUE_URL` and `TABLE_NAME` without the other.
    #[error(
        "{set} is set but {unset} is not: set both to use SQS and DynamoDB, or neither to use the embedded backend"
    )]
    HalfAws {
        /// The one that is set.
        set: &'static str,
        /// The one that is not.
        unset: &'static str,
    },
    /// A `QUEUE_URL` that names no queue.
    #[error(
        "QUEUE_URL is set to {0:?}, which does not end in a queue name: use the queue's URL, like https://sqs.us-east-1.amazonaws.com/123456789012/messages"
    )]
    NoQueueName(String),
    /// A `QUEUE_TYPE` that contradicts the queue `QUEUE_URL` names.
    #[error(
        "QUEUE_TYPE is {asked} but QUEUE_URL names a {actual} queue ({url}): on SQS the queue decides (a FIFO queue's name ends in .fifo), so unset QUEUE_TYPE or point QUEUE_URL at a {asked} queue"
    )]
    QueueTypeContradicted {
        /// `QUEUE_TYPE`.
        asked: &'static str,
        /// What the URL says.
        actual: &'static str,
        /// `QUEUE_URL`.
        url: String,
    },
    /// A variable that cannot be read at all.
    #[error(transparent)]
    Unreadable(#[from] env::EnvError),
}

impl BackendConfig {
    /// Reads `QUEUE_URL`, `TABLE_NAME`, `DATA_DIR` and `QUEUE_TYPE`.
    pub fn from_vars(vars: &Vars) -> Result<Self, BackendConfigError> {
        let queue_kind = match vars.var("QUEUE_TYPE")? {
            None => None,
            Some(text) => Some(text.trim().parse().map_err(|expected| env::EnvError {
                name: "QUEUE_TYPE".to_owned(),
                value: text,
                expected,
            })?),
        };
        Self::from_values(
            vars.var("QUEUE_URL")?,
            vars.var("TABLE_NAME")?,
            vars.var("DATA_DIR")?,
        )?
        .with_queue_kind(queue_kind)
    }

    /// The same configuration asking for a queue of `kind` (`QUEUE_TYPE`):
    /// the embedded queue is made so; an SQS queue must be so already.
    pub fn with_queue_kind(self, kind: Option<QueueKind>) -> Result<Self, BackendConfigError> {
        match (self, kind) {
            (Self::Embedded { data_dir, .. }, queue_kind) => Ok(Self::Embedded {
                data_dir,
                queue_kind,
            }),
            (aws @ Self::Aws { .. }, None) => Ok(aws),
            (
                Self::Aws {
                    queue_url,
                    table_name,
                },
                Some(asked),
            ) => {
                // `from_values` checked that the URL ends in a queue name.
                let actual = QueueKind::of_queue_name(
                    messages_aws::queue_name_from_url(&queue_url).unwrap_or(&queue_url),
                );
                if actual == asked {
                    Ok(Self::Aws {
                        queue_url,
                        table_name,
                    })
                } else {
                    Err(BackendConfigError::QueueTypeContradicted {
                        asked: asked.as_str(),
                        actual: actual.as_str(),
                        url: queue_url,
                    })
                }
            }
        }
    }

    /// The decision itself, apart from the environment.
    pub fn from_values(
        queue_url: Option<String>,
        table_name: Option<String>,
        data_dir: Option<String>,
    ) -> Result<Self, BackendConfigError> {
        match (queue_url, table_name) {
            (Some(queue_url), Some(_))
                if messages_aws::queue_name_from_url(&queue_url).is_none() =>
            {
                Err(BackendConfigError::NoQueueName(queue_url))
            }
            (Some(queue_url), Some(table_name)) => Ok(Self::Aws {
                queue_url,
                table_name,
            }),
            (None, None) => Ok(Self::Embedded {
                data_dir: PathBuf::from(data_dir.unwrap_or_else(|| "./data".to_owned())),
                queue_kind: None,
            }),
            (Some(_), None) => Err(BackendConfigError::HalfAws {
                set: "QUEUE_URL",
                unset: "TABLE_NAME",
            }),
            (None, Some(_)) => Err(BackendConfigError::HalfAws {
                set: "TABLE_NAME",
                unset: "QUEUE_URL",
            }),
        }
    }

    /// Creates (or finds) what the backend needs, for `web provision`, and
    /// says what it did, one line per resource. The embedded backend needs
    /// nothing: its file is made on first use.
    pub async fn provision(&self, max_attempts: u32) -> Result<Vec<String>, BackendError> {
        match self {
            Self::Aws {
                queue_url,
                table_name,
            } => {
                let sdk = messages_aws::load_config().await?;
                messages_aws::provision(&sdk, queue_url, table_name, max_attempts).await
            }
            Self::Embedded { data_dir, .. } => Ok(vec![format!(
                "nothing to provision: QUEUE_URL and TABLE_NAME are not set, so the embedded backend is used, and it creates its files under {} on first use",
                data_dir.display()
            )]),
        }
    }

    /// Copies the messages of `from`, a table an earlier version made, into
    /// the configured table (`web copy-messages`), saying how far it got
    /// after each page it read. Only DynamoDB has tables to copy.
    pub async fn copy_messages(
        &self,
        from: &str,
        progress: impl Fn(&Copied),
    ) -> Result<Copied, BackendError> {
        match self {
            Self::Aws { table_name, .. } => {
                let sdk = messages_aws::load_config().await?;
                messages_aws::DynamoStore::new(&sdk, table_name.as_str())
                    .copy_messages_from(from, progress)
                    .await
            }
            Self::Embedded { .. } => Err(BackendError::new(
                "copying messages",
                "QUEUE_URL and TABLE_NAME are not set, so the embedded backend is used: set TABLE_NAME to the table to copy into",
            )),
        }
    }

    /// Connects to the configured backend. `max_attempts` is the embedded
    /// queue's redrive count (on SQS, the queue's redrive policy holds it).
    pub async fn connect(&self, max_attempts: u32) -> Result<Backends, BackendError> {
        match self {
            Self::Aws {
                queue_url,
                table_name,
            } => {
                let sdk = messages_aws::load_config().await?;
                Ok(messages_aws::backends(&sdk, queue_url, table_name))
            }
            Self::Embedded {
                data_dir,
                queue_kind,
            } => messages_embedded::backends_as(data_dir, max_attempts, *queue_kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUEUE_URL: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/messages";

    #[test]
    fn both_names_select_aws() {
        let config = BackendConfig::from_values(Some(QUEUE_URL.into()), Some("t".into()), None);
        assert!(matches!(config, Ok(BackendConfig::Aws { .. })));
    }

    #[test]
    fn a_queue_url_without_a_queue_name_is_refused_at_start_up() {
        let url = "https://sqs.us-east-1.amazonaws.com";
        let config = BackendConfig::from_values(Some(url.into()), Some("t".into()), None);
        let error = config.expect_err("no queue name");
        assert!(
            error.to_string().contains("does not end in a queue name"),
            "{error}"
        );
    }

    #[test]
    fn neither_name_selects_the_embedded_backend_in_data() {
        let config = BackendConfig::from_values(None, None, None);
        assert_eq!(
            config,
            Ok(BackendConfig::Embedded {
                data_dir: PathBuf::from("./data"),
                queue_kind: None,
            })
        );
    }

    #[test]
    fn queue_type_must_agree_with_an_sqs_queue_and_makes_the_embedded_one() {
        let aws = || {
            BackendConfig::from_values(Some(QUEUE_URL.into()), Some("t".into()), None).expect("aws")
        };
        let error = aws()
            .with_queue_kind(Some(QueueKind::Fifo))
            .expect_err("a standard queue's URL");
        assert!(
            error
                .to_string()
                .contains("QUEUE_TYPE is fifo but QUEUE_URL names a standard queue"),
            "{error}"
        );
        assert!(aws().with_queue_kind(Some(QueueKind::Standard)).is_ok());
        let fifo =
            BackendConfig::from_values(Some(format!("{QUEUE_URL}.fifo")), Some("t".into()), None)
                .expect("aws");
        assert!(fifo.with_queue_kind(Some(QueueKind::Fifo)).is_ok());
        let embedded = BackendConfig::from_values(None, None, None)
            .and_then(|config| config.with_queue_kind(Some(QueueKind::Fifo)));
        assert!(matches!(
            embedded,
            Ok(BackendConfig::Embedded {
                queue_kind: Some(QueueKind::Fifo),
                ..
            })
        ));
    }

    #[test]
    fn one_name_alone_is_an_error_that_names_the_missing_one() {
        let error =
            BackendConfig::from_values(Some(QUEUE_URL.into()), None, None).expect_err("half");
        assert!(error.to_string().contains("TABLE_NAME is not"), "{error}");
        let error = BackendConfig::from_values(None, Some("t".into()), None).expect_err("half");
        assert!(error.to_string().contains("QUEUE_URL is not"), "{error}");
    }
}
