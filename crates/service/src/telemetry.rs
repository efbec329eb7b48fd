//! Logging. Text for a person at a terminal; one JSON object per line with
//! `LOG_FORMAT=json`, which CloudWatch Logs Insights can query field by field.
//! `RUST_LOG` filters as usual (default `info`).

use tracing_subscriber::{EnvFilter, fmt};

use crate::env::{EnvError, Setting, Vars};

/// `RUST_LOG` and `LOG_FORMAT`.
pub fn settings() -> Vec<Setting> {
    vec![
        Setting::new("RUST_LOG", "what is logged")
            .accepts("a log filter such as info or info,worker=debug")
            .default_is("info"),
        Setting::new("LOG_FORMAT", "how log lines are written")
            .accepts("json (one JSON object per line, for CloudWatch Logs), or text")
            .default_is("text"),
    ]
}

/// Installs the global subscriber. Safe to call more than once (tests and the
/// local launcher build several apps in one process): later calls do nothing.
/// A `RUST_LOG` that is not a filter is an error, like any other bad setting.
pub fn init(vars: &Vars) -> Result<(), EnvError> {
    let filter = match vars.var("RUST_LOG")? {
        None => EnvFilter::new("info"),
        Some(value) => EnvFilter::try_new(&value).map_err(|error| EnvError {
            name: "RUST_LOG".to_owned(),
            value,
            expected: format!(
                "it must be a log filter such as info or info,worker=debug ({error})"
            ),
        })?,
    };
    let json = vars
        .var("LOG_FORMAT")?
        .is_some_and(|format| format.eq_ignore_ascii_case("json"));
    let result = if json {
        fmt()
            .json()
            .with_current_span(false)
            .with_env_filter(filter)
            .try_init()
    } else {
        fmt().with_env_filter(filter).try_init()
    };
    // An error here only means a subscriber is already installed.
    drop(result);
    Ok(())
}

/// `error` and each of its causes on one line, `outer: inner: innermost`,
/// for a log.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        text.push_str(": ");
        text.push_str(&error.to_string());
        cause = error.source();
    }
    text
}
