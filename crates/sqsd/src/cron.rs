//! `cron.yaml`: the periodic tasks of a worker environment, read the way
//! Elastic Beanstalk reads the file at the root of a worker bundle.
//!
//! ```yaml
//! version: 1
//! cron:
//!   - name: sweep-pending     # unique; sqsd's X-Aws-Sqsd-Taskname
//!     url: /tasks/sweep       # the path sqsd POSTs
//!     schedule: "*/5 * * * *" # five-field cron expression, in UTC
//! ```

use std::path::Path;
use std::str::FromStr;

use axum::http::uri::PathAndQuery;
use chrono::{DateTime, Utc};
use croner::Cron;
use yaml_rust2::{Yaml, YamlLoader};

/// One task of `cron.yaml`.
#[derive(Clone)]
pub struct CronTask {
    /// Its `name`, unique in the file.
    pub name: String,
    /// Its `url`: the path to POST, starting with `/`.
    pub url: String,
    /// Its `schedule` as written.
    pub schedule_text: String,
    schedule: Cron,
}

/// The schedule as written: the parsed form is a wall of bit fields.
impl std::fmt::Debug for CronTask {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CronTask")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("schedule", &self.schedule_text)
            .finish()
    }
}

impl CronTask {
    /// A task, with its schedule checked as `cron.yaml` would have it.
    pub fn new(name: &str, url: &str, schedule: &str) -> Result<Self, CronFileError> {
        let invalid = |reason: String| CronFileError::Task {
            name: name.to_owned(),
            reason,
        };
        if name.trim().is_empty() {
            return Err(CronFileError::Invalid(
                "a task has an empty `name`: give each task a unique name".to_owned(),
            ));
        }
        // sqsd sends the name as the X-Aws-Sqsd-Taskname header.
        if !name.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
            return Err(invalid(
                "its `name` must be visible ASCII text: it is sent as the X-Aws-Sqsd-Taskname header"
                    .to_owned(),
            ));
        }
        if !url.starts_with('/') || PathAndQuery::try_from(url).is_err() {
            return Err(invalid(format!(
                "its `url` is {url:?}, but it must be a path on the worker starting with `/`, such as /tasks/sweep"
            )));
        }
        let fields = schedule.split_whitespace().count();
        if fields != 5 {
            return Err(invalid(format!(
                "its `schedule` {schedule:?} has {fields} fields, but a cron expression has five: minute hour day-of-month month day-of-week (UTC)"
            )));
        }
        let parsed = Cron::from_str(schedule).map_err(|error| {
            invalid(format!(
                "its `schedule` {schedule:?} is not a cron expression: {error}"
            ))
        })?;
        Ok(Self {
            name: name.to_owned(),
            url: url.to_owned(),
            schedule_text: schedule.to_owned(),
            schedule: parsed,
        })
    }

    /// The first run strictly after `after`, or `None` if there is none
    /// (an expression such as "31 February" never matches).
    pub fn next_run_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule.find_next_occurrence(&after, false).ok()
    }
}

/// A `cron.yaml` that cannot be used; the text says what to fix.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CronFileError {
    /// The file cannot be read.
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// What is wrong with the file at `path`.
    #[error("{path}: {error}")]
    InFile {
        /// The file.
        path: String,
        /// What is wrong in it.
        error: Box<CronFileError>,
    },
    /// The file is not the `cron.yaml` Elastic Beanstalk reads.
    #[error("cron.yaml is not valid: {0}")]
    Invalid(String),
    /// One task is not valid.
    #[error("cron.yaml task {name:?} is not valid: {reason}")]
    Task {
        /// The task's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// The tasks of one `cron.yaml`; empty when there are none.
#[derive(Debug, Clone, Default)]
pub struct CronTable {
    /// In the file's order.
    pub tasks: Vec<CronTask>,
}

impl CronTable {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, CronFileError> {
        let text = std::fs::read_to_string(path).map_err(|error| CronFileError::Unreadable {
            path: path.display().to_string(),
            reason: error.to_string(),
        })?;
        Self::parse(&text).map_err(|error| CronFileError::InFile {
            path: path.display().to_string(),
            error: Box::new(error),
        })
    }

    /// Reads and checks the text of a `cron.yaml`.
    pub fn parse(text: &str) -> Result<Self, CronFileError> {
        let invalid = |reason: &str| CronFileError::Invalid(reason.to_owned());
        let documents = YamlLoader::load_from_str(text)
            .map_err(|error| CronFileError::Invalid(format!("it is not YAML: {error}")))?;
        let [document] = documents.as_slice() else {
            return Err(invalid("it must hold exactly one YAML document"));
        };
        if document["version"].as_i64() != Some(1) {
            return Err(invalid("it must start with `version: 1`"));
        }
        let entries = match &document["cron"] {
            Yaml::Array(entries) => entries,
            Yaml::BadValue | Yaml::Null => return Ok(Self::default()),
            _ => return Err(invalid("`cron` must be a list of tasks")),
        };
        let mut tasks: Vec<CronTask> = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let field = |key: &str| {
                entry[key].as_str().ok_or_else(|| {
                    CronFileError::Invalid(format!(
                        "task {} has no text `{key}`: each task needs `name`, `url` and `schedule`",
                        index + 1
                    ))
                })
            };
            let task = CronTask::new(field("name")?, field("url")?, field("schedule")?)?;
            if tasks.iter().any(|seen| seen.name == task.name) {
                return Err(CronFileError::Task {
                    name: task.name,
                    reason: "another task has the same name: names must be unique".to_owned(),
                });
            }
            tasks.push(task);
        }
        Ok(Self { tasks })
    }

    /// Whether there is no task at all.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The soonest run time strictly after `after`, and every task due then;
    /// `None` if no task will ever run.
    pub fn next_runs(&self, after: DateTime<Utc>) -> Option<(DateTime<Utc>, Vec<&CronTask>)> {
        let runs: Vec<(DateTime<Utc>, &CronTask)> = self
            .tasks
            .iter()
            .filter_map(|task| task.next_run_after(after).map(|at| (at, task)))
            .collect();
        let soonest = runs.iter().map(|(at, _)| *at).min()?;
        let due = runs
            .into_iter()
            .filter(|(at, _)| *at == soonest)
            .map(|(_, task)| task)
            .collect();
        Some((soonest, due))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A time written in RFC 3339.
    pub(crate) fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_worker_bundles_cron_yaml_reads_as_one_sweep_every_five_minutes() {
        let table = CronTable::parse(include_str!("../../../deploy/worker/cron.yaml"))
            .expect("the shipped cron.yaml is valid");
        let [task] = table.tasks.as_slice() else {
            panic!("one task expected, found {:?}", table.tasks);
        };
        assert_eq!(
            (task.name.as_str(), task.url.as_str()),
            ("sweep-pending", "/tasks/sweep")
        );
        assert_eq!(
            task.next_run_after(at("2026-12-01T08:03:10Z")),
            Some(at("2026-12-01T08:05:00Z"))
        );
        // Strictly after: a run at 08:05 is followed by the one at 08:10.
        assert_eq!(
            task.next_run_after(at("2026-12-01T08:05:00Z")),
            Some(at("2026-12-01T08:10:00Z"))
        );
    }

    #[test]
    fn an_empty_cron_list_is_no_task() {
        assert!(
            CronTable::parse("version: 1\ncron: []\n")
                .expect("valid")
                .is_empty()
        );
        assert!(CronTable::parse("version: 1\n").expect("valid").is_empty());
    }

    #[test]
    fn each_mistake_is_refused_with_what_to_fix() {
        let cases = [
            ("cron: []", "version: 1"),
            ("version: 2\ncron: []", "version: 1"),
            ("version: 1\ncron: {}", "list of tasks"),
            (
                "version: 1\ncron:\n  - name: a\n    url: /a\n",
                "`schedule`",
            ),
            (
                "version: 1\ncron:\n  - name: a\n    url: a\n    schedule: '* * * * *'",
                "starting with `/`",
            ),
            (
                "version: 1\ncron:\n  - name: a\n    url: '/a b'\n    schedule: '* * * * *'",
                "starting with `/`",
            ),
            (
                "version: 1\ncron:\n  - name: \"sweep\\tnow\"\n    url: /a\n    schedule: '* * * * *'",
                "visible ASCII",
            ),
            (
                "version: 1\ncron:\n  - name: a\n    url: /a\n    schedule: '* * * *'",
                "five",
            ),
            (
                "version: 1\ncron:\n  - name: a\n    url: /a\n    schedule: '0 0 * * * *'",
                "five",
            ),
            (
                "version: 1\ncron:\n  - name: a\n    url: /a\n    schedule: '61 * * * *'",
                "not a cron expression",
            ),
            (
                "version: 1\ncron:\n  - {name: a, url: /a, schedule: '* * * * *'}\n  - {name: a, url: /b, schedule: '* * * * *'}",
                "unique",
            ),
            ("version: 1\ncron: [\n", "not YAML"),
        ];
        for (text, expected) in cases {
            let error = CronTable::parse(text).expect_err(text).to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn the_next_runs_are_the_soonest_tasks_together() {
        let table = CronTable::parse(
            "version: 1\ncron:\n  - {name: five, url: /a, schedule: '*/5 * * * *'}\n  - {name: ten, url: /b, schedule: '*/10 * * * *'}\n  - {name: never, url: /c, schedule: '0 0 31 2 *'}\n",
        )
        .expect("valid");
        let names = |runs: Option<(DateTime<Utc>, Vec<&CronTask>)>| {
            runs.map(|(at, due)| {
                (
                    at,
                    due.iter().map(|task| task.name.clone()).collect::<Vec<_>>(),
                )
            })
        };
        assert_eq!(
            names(table.next_runs(at("2026-12-01T08:01:00Z"))),
            Some((at("2026-12-01T08:05:00Z"), vec!["five".to_owned()]))
        );
        assert_eq!(
            names(table.next_runs(at("2026-12-01T08:05:00Z"))),
            Some((
                at("2026-12-01T08:10:00Z"),
                vec!["five".to_owned(), "ten".to_owned()]
            ))
        );
        let never = CronTable::parse(
            "version: 1\ncron:\n  - {name: never, url: /c, schedule: '0 0 31 2 *'}\n",
        )
        .expect("valid");
        assert!(never.next_runs(at("2026-12-01T08:05:00Z")).is_none());
    }

    #[test]
    fn a_missing_file_is_named() {
        let error = CronTable::load(Path::new("no/such/cron.yaml")).expect_err("missing");
        assert!(error.to_string().contains("no/such/cron.yaml"), "{error}");
    }

    proptest::proptest! {
        /// Any text as `cron.yaml` is a table of valid tasks or an error
        /// with a sentence, never a panic.
        #[test]
        fn any_text_is_a_table_or_a_sentence(text in "\\PC{0,200}") {
            if let Err(error) = CronTable::parse(&text) {
                proptest::prop_assert!(!error.to_string().is_empty());
            }
        }

        /// The same for text shaped like a task, with any name, URL and schedule.
        #[test]
        fn any_task_is_valid_or_refused_with_a_sentence(
            name in "\\PC{0,20}",
            url in "\\PC{0,20}",
            schedule in "[0-9*/,\\- A-Za-z]{0,30}",
        ) {
            match CronTask::new(&name, &url, &schedule) {
                Ok(task) => {
                    proptest::prop_assert!(task.url.starts_with('/'));
                    proptest::prop_assert_eq!(task.schedule_text.split_whitespace().count(), 5);
                }
                Err(error) => proptest::prop_assert!(!error.to_string().is_empty()),
            }
        }
    }
}
