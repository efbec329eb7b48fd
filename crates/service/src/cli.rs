//! The shape every binary's `main` shares:
//!
//! ```ignore
//! #[tokio::main]
//! async fn main() -> ExitCode {
//!     service::cli::exit("worker", run().await)
//! }
//! ```
//!
//! `run` reads its settings once ([`parse`]: flags, or else environment
//! variables, with `--help` listing every one), sets up logging and runs;
//! whatever goes wrong comes back here as one error, printed once with its
//! causes.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::ExitCode;

pub use clap::Command;
use clap::error::ErrorKind;
use clap::{Arg, ArgAction};

use crate::env::{Setting, Vars};

/// What a binary was asked to do.
#[derive(Debug)]
pub struct Invocation {
    /// Its settings, as given.
    pub vars: Vars,
    /// The subcommand named, if any (`web provision`).
    pub subcommand: Option<String>,
}

/// The command line of `binary`: `about`, and one flag per setting, each
/// also read from its environment variable.
pub fn command(binary: &'static str, about: &'static str, settings: &[Setting]) -> Command {
    let mut after = String::new();
    for secret in settings.iter().filter(|setting| setting.secret) {
        after.push_str(&format!(
            "Environment only (a secret on a command line is visible to every user of the machine):\n  {}\n          {}: {}\n\n",
            secret.name, secret.about, secret.accepts
        ));
    }
    after.push_str(
        "Each setting is read from its flag, or else from its environment variable; an empty \
         variable counts as unset. README, \"Configuration\", says more about each.",
    );
    Command::new(binary)
        .about(about)
        .args(
            settings
                .iter()
                .filter(|setting| !setting.secret)
                .map(argument),
        )
        .after_help(after)
}

/// A setting as clap's argument: help that says what it is for, what it
/// accepts and its default; the variable's value never shown (it may be a
/// secret).
fn argument(setting: &Setting) -> Arg {
    let mut help = setting.about.clone();
    if !setting.accepts.is_empty() {
        help.push_str(&format!(": {}", setting.accepts));
    }
    if let Some(default) = &setting.default {
        help.push_str(&format!(" [default: {default}]"));
    }
    Arg::new(setting.name)
        .long(setting.flag())
        // Before a subcommand or after it: `web provision --queue-url ...`.
        .global(true)
        .env(setting.name)
        .hide_env_values(true)
        .hide(setting.hidden)
        .help(help)
        .action(ArgAction::Set)
        .value_parser(clap::value_parser!(OsString))
}

/// Reads the binary's settings from its command line and environment
/// against `command`, whose settings are `settings` (the logging ones among
/// them), and sets up logging from them. `None` when the binary was asked
/// for its help, which is printed.
pub fn start(command: Command, settings: &[Setting]) -> anyhow::Result<Option<Invocation>> {
    let binary = command.get_name().to_owned();
    let Some(given) = parse(command, settings, std::env::args_os())? else {
        return Ok(None);
    };
    crate::telemetry::init(&given.vars, &binary)?;
    Ok(Some(given))
}

/// Reads `arguments` (the binary's name first) against `command`, whose
/// settings are `settings`. `None` when the binary was asked for its help,
/// which is printed; a mistake is a [`UsageError`], with the usage.
pub fn parse(
    command: Command,
    settings: &[Setting],
    arguments: impl IntoIterator<Item = OsString>,
) -> Result<Option<Invocation>, UsageError> {
    match command.try_get_matches_from(arguments) {
        Ok(matches) => {
            let given: BTreeMap<&'static str, OsString> = settings
                .iter()
                .filter_map(|setting| {
                    let value = if setting.secret {
                        std::env::var_os(setting.name)?
                    } else {
                        matches.get_one::<OsString>(setting.name)?.clone()
                    };
                    Some((setting.name, value))
                })
                .collect();
            Ok(Some(Invocation {
                vars: Vars::new(settings, given),
                subcommand: matches.subcommand_name().map(str::to_owned),
            }))
        }
        Err(answer)
            if matches!(
                answer.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            print!("{}", answer.render());
            Ok(None)
        }
        Err(mistake) => Err(UsageError(
            mistake.render().to_string().trim_end().to_owned(),
        )),
    }
}

/// Arguments that cannot be understood. The process exits with 2, as shells
/// and scripts expect of a usage error; any other error exits with 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Turns `run`'s result into the process's exit code, printing an error as
/// `<binary>: <error>: <cause>...` on standard error.
pub fn exit(binary: &str, result: anyhow::Result<()>) -> ExitCode {
    // The spans still buffered leave before the process does.
    crate::traces::shut_down();
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

    fn settings() -> Vec<Setting> {
        vec![
            Setting::new("PORT", "where to listen").number(5000, 0, 65535),
            Setting::new("OLD_SETTING", "no longer read").hidden(),
            Setting::new("SECRET_TOKEN", "a credential").secret(),
        ]
    }

    fn parse_args(arguments: &[&str]) -> Result<Option<Invocation>, UsageError> {
        let settings = settings();
        let command = command("test", "a test binary", &settings);
        parse(command, &settings, arguments.iter().map(OsString::from))
    }

    #[test]
    fn the_help_lists_each_setting_with_its_flag_variable_and_default() {
        let help = command("test", "a test binary", &settings())
            .render_help()
            .to_string();
        assert!(help.contains("--port"), "{help}");
        assert!(help.contains("PORT"), "{help}");
        assert!(
            help.contains("a whole number from 0 to 65535 [default: 5000]"),
            "{help}"
        );
        assert!(
            !help.contains("OLD_SETTING"),
            "a hidden setting is not listed: {help}"
        );
        assert!(help.contains("Environment only"), "{help}");
        assert!(help.contains("SECRET_TOKEN"), "{help}");
    }

    #[test]
    fn a_setting_may_follow_the_subcommand() {
        let settings = settings();
        let command = command("test", "a test binary", &settings)
            .subcommand(Command::new("provision").about("make things"));
        let arguments = ["test", "provision", "--port", "8080"].map(OsString::from);
        let given = parse(command, &settings, arguments)
            .expect("parses")
            .expect("runs");
        assert_eq!(given.subcommand.as_deref(), Some("provision"));
        assert_eq!(given.vars.var("PORT"), Ok(Some("8080".to_owned())));
    }

    #[test]
    fn a_secret_is_no_flag() {
        let mistake = parse_args(&["test", "--secret-token", "x"]).expect_err("no such flag");
        assert!(mistake.to_string().contains("--secret-token"), "{mistake}");
    }

    #[test]
    fn a_flag_gives_the_setting() {
        let given = parse_args(&["test", "--port", "8080"])
            .expect("parses")
            .expect("runs");
        assert_eq!(given.vars.var("PORT"), Ok(Some("8080".to_owned())));
        assert_eq!(given.subcommand, None);
    }

    #[test]
    fn help_is_an_answer_and_an_unknown_flag_a_usage_error() {
        assert!(parse_args(&["test", "--help"]).expect("help").is_none());
        let mistake = parse_args(&["test", "--prot", "1"]).expect_err("unknown");
        assert!(mistake.to_string().contains("--prot"), "{mistake}");
    }

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
