//! One test, two backends: the embedded one in a fresh temporary folder, and
//! SQS + DynamoDB on moto with fresh resources; and for the queue, each of
//! them standard and FIFO. Contract tests run the same
//! assertions on both; a behaviour that differs is a bug in the embedded one.

use messages::QueueTraffic;
use std::sync::Arc;
use std::time::Duration;

use messages::{BackendError, Backends, ListQuery, Message, Queue, QueueKind};
use messages_aws::SqsQueue;
use messages_embedded::{Database, EmbeddedQueue, EmbeddedSessions, EmbeddedStore};
use tempfile::TempDir;

use crate::moto;

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SQLite under a temporary `DATA_DIR`.
    Embedded,
    /// SQS and DynamoDB on moto.
    Moto,
    /// SQLite, its queue made FIFO (`QUEUE_TYPE=fifo`).
    EmbeddedFifo,
    /// A FIFO queue on moto, with a FIFO dead-letter queue, and DynamoDB.
    MotoFifo,
}

/// Where dead letters end up.
pub enum DeadLetters {
    /// The dead-letter queue on SQS.
    Sqs(SqsQueue),
    /// The embedded dead-letter area.
    Embedded(EmbeddedQueue),
}

impl DeadLetters {
    /// The bodies in the dead-letter area.
    pub async fn bodies(&self) -> Vec<String> {
        match self {
            Self::Sqs(queue) => queue
                .receive(10, Duration::from_secs(1), Duration::from_secs(30))
                .await
                .expect("receive dead letters")
                .into_iter()
                .map(|message| message.body)
                .collect(),
            Self::Embedded(queue) => queue
                .dead_letter_queue()
                .await
                .expect("find the dead-letter area")
                .expect("the embedded queue has one")
                .peek(u32::MAX)
                .await
                .expect("read dead letters")
                .into_iter()
                .map(|dead| dead.body)
                .collect(),
        }
    }
}

/// A backend made for one test.
pub struct TestBackend {
    /// The two ports.
    pub backends: Backends,
    /// Its dead-letter area.
    pub dead_letters: DeadLetters,
    /// The embedded backend's folder (removed when the test ends).
    pub data_dir: Option<TempDir>,
}

impl Kind {
    /// Whether the backend is moto's.
    pub fn is_moto(self) -> bool {
        matches!(self, Kind::Moto | Kind::MotoFifo)
    }

    /// The kind of queue it has.
    pub fn queue_kind(self) -> QueueKind {
        match self {
            Kind::Embedded | Kind::Moto => QueueKind::Standard,
            Kind::EmbeddedFifo | Kind::MotoFifo => QueueKind::Fifo,
        }
    }

    /// Fresh resources that dead-letter after `max_attempts` receives.
    pub async fn make(self, max_attempts: u32) -> TestBackend {
        match self {
            Kind::Embedded | Kind::EmbeddedFifo => {
                let dir = tempfile::tempdir().expect("a temporary folder");
                let database = Database::open_as(dir.path(), Some(self.queue_kind()))
                    .expect("open the embedded backend");
                let queue = EmbeddedQueue::new(database.clone(), max_attempts);
                TestBackend {
                    backends: Backends {
                        queue: Arc::new(queue.clone()),
                        store: Arc::new(EmbeddedStore::new(database.clone())),
                        sessions: Arc::new(EmbeddedSessions::new(database)),
                    },
                    dead_letters: DeadLetters::Embedded(queue),
                    data_dir: Some(dir),
                }
            }
            Kind::Moto | Kind::MotoFifo => {
                let fresh = moto::fresh_of(self.queue_kind(), max_attempts).await;
                let dlq =
                    SqsQueue::new(aws_sdk_sqs::Client::new(&fresh.sdk), fresh.dlq_url.clone());
                TestBackend {
                    backends: fresh.backends,
                    dead_letters: DeadLetters::Sqs(dlq),
                    data_dir: None,
                }
            }
        }
    }
}

impl TestBackend {
    /// A second, independent connection to the same resources, as a second
    /// process would have (for the embedded backend: its own SQLite connection).
    pub fn second_connection(&self, max_attempts: u32) -> Backends {
        match &self.data_dir {
            Some(dir) => messages_embedded::backends(dir.path(), max_attempts).expect("open again"),
            None => self.backends.clone(),
        }
    }
}

/// Runs each named test function (taking a [`Kind`]) on both backends.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::backends::Kind::Embedded).await;
                }
            )*
        }
        mod moto {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::backends::Kind::Moto).await;
                }
            )*
        }
    };
}

/// Runs each named test function (taking a [`Kind`]) on both backends, each
/// with a standard queue and with a FIFO queue: what every queue must do.
#[macro_export]
macro_rules! on_every_queue {
    ($($test:ident),* $(,)?) => {
        $crate::on_both_backends!($($test),*);
        mod embedded_fifo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::backends::Kind::EmbeddedFifo).await;
                }
            )*
        }
        mod moto_fifo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::backends::Kind::MotoFifo).await;
                }
            )*
        }
    };
}

/// Runs each named test function (taking a [`Kind`]) on both backends' FIFO
/// queues: what only a FIFO queue does.
#[macro_export]
macro_rules! on_both_fifo_queues {
    ($($test:ident),* $(,)?) => {
        mod embedded_fifo_only {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::backends::Kind::EmbeddedFifo).await;
                }
            )*
        }
        mod moto_fifo_only {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::backends::Kind::MotoFifo).await;
                }
            )*
        }
    };
}

/// Every record in `backends`' store, newest first, page by page: what a
/// test checks once the work is done.
pub async fn every_record(backends: &Backends) -> Result<Vec<Message>, BackendError> {
    let mut records = Vec::new();
    let mut cursor = None;
    loop {
        let page = backends
            .store
            .list(ListQuery {
                status: None,
                group: None,
                limit: messages::MAX_PAGE,
                cursor,
            })
            .await?;
        records.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(records),
        }
    }
}
