//! The Elastic Beanstalk worker daemon (sqsd) protocol, for the worker's side
//! of it.
//!
//! On Elastic Beanstalk, sqsd reads the worker queue and POSTs each message to
//! the application with `X-Aws-Sqsd-*` headers; `200` deletes the message, any
//! other answer leaves it to be retried. Periodic tasks from `cron.yaml` arrive
//! the same way, with `X-Aws-Sqsd-Taskname` and an empty body.
//!
//! # Layout
//! - [`headers`]: those headers as typed values, parsed from a request with
//!   errors that name the header, and written back for the local poller.
//! - [`poller`]: [`Poller`], which does sqsd's job where there is no sqsd.
//! - [`task`]: a periodic task's run as a message on the queue.
//! - [`cron`]: `cron.yaml`, read as Elastic Beanstalk reads it.
//! - [`scheduler`]: [`Scheduler`], which enqueues each run as sqsd's leader
//!   does, claiming it first so that only one poller does.

pub mod cron;
pub mod headers;
pub mod poller;
pub mod scheduler;
pub mod task;

pub use cron::{CronFileError, CronTable, CronTask};
pub use headers::{Delivery, HeaderError, PeriodicTask, SqsdRequest};
pub use poller::{Dispatched, Poller, PollerConfig};
pub use scheduler::{FifoRefusesTasks, Scheduler};
