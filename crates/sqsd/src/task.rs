//! Periodic tasks as messages on the worker queue, the way sqsd runs them.
//!
//! On Elastic Beanstalk, the instance elected leader (AWS documents the
//! election, through a DynamoDB table) puts one message on the worker queue
//! per run of each `cron.yaml` task. The message's form is sqsd's as seen on
//! the queue, not a documented contract: the body
//! `elasticbeanstalk scheduled job` and three string message attributes, the
//! task's name, its URL path and the scheduled time. Whichever instance's sqsd
//! receives that message POSTs the task's path with an empty body and the
//! `X-Aws-Sqsd-Taskname`, `X-Aws-Sqsd-Scheduled-At` and `X-Aws-Sqsd-Path`
//! headers, and deletes it on `200`, like any job: a task that keeps failing
//! ends in the dead-letter queue like any job too.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use messages::Received;

use crate::PeriodicTask;

/// The body sqsd gives a periodic task's message.
pub const TASK_BODY: &str = "elasticbeanstalk scheduled job";
/// The message attribute with the task's `name`.
pub const TASK_NAME_ATTRIBUTE: &str = "beanstalk.sqsd.task_name";
/// The message attribute with the task's `url`.
pub const PATH_ATTRIBUTE: &str = "beanstalk.sqsd.path";
/// The message attribute with the run's scheduled time (ISO 8601, UTC).
pub const SCHEDULED_TIME_ATTRIBUTE: &str = "beanstalk.sqsd.scheduled_time";

impl PeriodicTask {
    /// The run of task `name` at `path` scheduled for `at`.
    pub fn run(name: &str, path: &str, at: DateTime<Utc>) -> Self {
        Self {
            name: name.to_owned(),
            scheduled_at: Some(at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            path: Some(path.to_owned()),
        }
    }

    /// The message attributes that mark this run on the queue.
    pub fn message_attributes(&self) -> BTreeMap<String, String> {
        let mut attributes = BTreeMap::from([(TASK_NAME_ATTRIBUTE.to_owned(), self.name.clone())]);
        if let Some(path) = &self.path {
            attributes.insert(PATH_ATTRIBUTE.to_owned(), path.clone());
        }
        if let Some(at) = &self.scheduled_at {
            attributes.insert(SCHEDULED_TIME_ATTRIBUTE.to_owned(), at.clone());
        }
        attributes
    }

    /// The task a received message asks to run, if it is a periodic task's
    /// message; `None` for a job.
    pub fn from_received(message: &Received) -> Option<Self> {
        if message.body != TASK_BODY {
            return None;
        }
        let name = message.attributes.get(TASK_NAME_ATTRIBUTE)?;
        Some(Self {
            name: name.clone(),
            scheduled_at: message.attributes.get(SCHEDULED_TIME_ATTRIBUTE).cloned(),
            path: message.attributes.get(PATH_ATTRIBUTE).cloned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(body: &str, attributes: BTreeMap<String, String>) -> Received {
        Received {
            message_id: "m-1".to_owned(),
            receipt_handle: "r-1".to_owned(),
            body: body.to_owned(),
            receive_count: 1,
            first_received_at_ms: None,
            sent_at_ms: None,
            sender_id: None,
            attributes,
            group: None,
        }
    }

    #[test]
    fn a_run_survives_a_round_trip_through_message_attributes() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T08:05:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let run = PeriodicTask::run("sweep-pending", "/tasks/sweep", at);
        let message = received(TASK_BODY, run.message_attributes());
        assert_eq!(PeriodicTask::from_received(&message), Some(run.clone()));
        assert_eq!(run.scheduled_at.as_deref(), Some("2026-12-01T08:05:00Z"));
    }

    #[test]
    fn a_job_is_not_a_task_even_with_task_attributes() {
        let attributes = BTreeMap::from([(TASK_NAME_ATTRIBUTE.to_owned(), "x".to_owned())]);
        assert_eq!(
            PeriodicTask::from_received(&received("{\"id\":\"1\"}", attributes)),
            None
        );
    }

    #[test]
    fn the_task_body_without_a_task_name_is_not_a_task() {
        assert_eq!(
            PeriodicTask::from_received(&received(TASK_BODY, BTreeMap::new())),
            None
        );
    }
}
