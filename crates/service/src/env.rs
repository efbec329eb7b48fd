//! Typed settings. Every setting of the product is declared as a
//! [`Setting`] (its variable, what it is for, what it accepts, its default)
//! beside the code that reads it, and read from [`Vars`], which clap fills
//! once at start from the command line or else the environment
//! (`cli::parse`). So `--help` lists every setting, and a wrong value fails
//! at start-up with a sentence naming the variable, the value and what would
//! be accepted, instead of somewhere deep in a request.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt::Display;
use std::str::FromStr;
use std::sync::Mutex;

/// A setting that is present but cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{name} is set to {value:?}, but {expected}. Fix or unset {name}.")]
pub struct EnvError {
    /// The variable's name.
    pub name: String,
    /// What it holds.
    pub value: String,
    /// What would have been accepted.
    pub expected: String,
}

/// One setting a binary reads: an environment variable, or the flag of the
/// same name in kebab case (`PORT` is `--port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The variable's name.
    pub name: &'static str,
    /// What it is for, in a line.
    pub about: String,
    /// What it accepts, in words.
    pub accepts: String,
    /// Its default, in words; none when unset means "off" or "absent".
    pub default: Option<String>,
    /// Read only to refuse it (a setting that is no longer used).
    pub hidden: bool,
    /// A secret: read from its environment variable only, never a flag,
    /// since a command line is visible to every user of the machine.
    pub secret: bool,
    /// The whole numbers it accepts, `min..=max`, for a number.
    pub bounds: Option<(u64, u64)>,
}

impl Setting {
    /// `name`, for `about`.
    pub fn new(name: &'static str, about: impl Into<String>) -> Self {
        Self {
            name,
            about: about.into(),
            accepts: String::new(),
            default: None,
            hidden: false,
            secret: false,
            bounds: None,
        }
    }

    /// The same, saying what it accepts.
    pub fn accepts(self, accepts: impl Into<String>) -> Self {
        Self {
            accepts: accepts.into(),
            ..self
        }
    }

    /// The same, with the default a binary gives it.
    pub fn default_is(self, default: impl Display) -> Self {
        Self {
            default: Some(default.to_string()),
            ..self
        }
    }

    /// A whole number from `min` to `max`, with its default.
    pub fn number(self, default: impl Display, min: u64, max: u64) -> Self {
        Self {
            bounds: Some((min, max)),
            ..self
                .accepts(format!("a whole number from {min} to {max}"))
                .default_is(default)
        }
    }

    /// The same, a secret: an environment variable only.
    pub fn secret(self) -> Self {
        Self {
            secret: true,
            ..self
        }
    }

    /// The same, kept out of `--help`.
    pub fn hidden(self) -> Self {
        Self {
            hidden: true,
            ..self
        }
    }

    /// The flag's name: `SEND_BURST` is `send-burst`.
    pub fn flag(&self) -> String {
        self.name.to_ascii_lowercase().replace('_', "-")
    }
}

/// The values a binary was given, by variable name: each from its flag, or
/// else from its environment variable (clap decides which). Only declared
/// settings are in it; another reads as unset, and is noted, so a test
/// ([`help_problems`]) finds any reader that reads a setting `--help` does
/// not list.
#[derive(Debug, Default)]
pub struct Vars {
    values: BTreeMap<&'static str, Option<OsString>>,
    /// Whether the declared settings are known (they are not for
    /// [`Vars::of`], the tests' values).
    declared: bool,
    /// Settings read that were not declared.
    undeclared: Mutex<BTreeSet<String>>,
}

impl Vars {
    /// The values of `settings` as given: `values` holds what was given, by
    /// name; a setting it lacks is unset.
    pub fn new(settings: &[Setting], mut values: BTreeMap<&'static str, OsString>) -> Self {
        Self {
            values: settings
                .iter()
                .map(|setting| (setting.name, values.remove(setting.name)))
                .collect(),
            declared: true,
            undeclared: Mutex::default(),
        }
    }

    /// Values given by name, as the environment would give them (tests):
    /// any other setting reads as unset.
    pub fn of(pairs: &[(&'static str, &str)]) -> Self {
        Self {
            values: pairs
                .iter()
                .map(|(name, value)| (*name, Some(OsString::from(value))))
                .collect(),
            declared: false,
            undeclared: Mutex::default(),
        }
    }

    /// The settings read that were not declared: none, when `--help` lists
    /// everything the binary reads.
    pub fn undeclared_reads(&self) -> Vec<String> {
        self.undeclared
            .lock()
            .map(|names| names.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Reads a setting, treating an empty value like an unset one (a common
    /// mistake in `.env` files and Elastic Beanstalk consoles). A value that
    /// is not UTF-8 is an error, not "unset": it was meant to say something.
    pub fn var(&self, name: &str) -> Result<Option<String>, EnvError> {
        let Some(given) = self.values.get(name) else {
            if self.declared
                && let Ok(mut undeclared) = self.undeclared.lock()
            {
                undeclared.insert(name.to_owned());
            }
            return Ok(None);
        };
        match given.clone() {
            None => Ok(None),
            Some(value) => match value.into_string() {
                Ok(value) => Ok(Some(value).filter(|value| !value.trim().is_empty())),
                Err(value) => Err(EnvError {
                    name: name.to_owned(),
                    value: value.to_string_lossy().into_owned(),
                    expected: "it must be UTF-8 text".to_owned(),
                }),
            },
        }
    }

    /// Reads and parses `name`, or returns `default` when it is unset.
    pub fn parse_or<T: FromStr>(
        &self,
        name: &str,
        default: T,
        expected: &str,
    ) -> Result<T, EnvError> {
        match self.var(name)? {
            None => Ok(default),
            Some(value) => value.trim().parse().map_err(|_| EnvError {
                name: name.to_owned(),
                value,
                expected: expected.to_owned(),
            }),
        }
    }

    /// Reads a boolean: `true`/`false`, `1`/`0`, `yes`/`no`, any case.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, EnvError> {
        match self.var(name)? {
            None => Ok(default),
            Some(value) => parse_flag(name, &value, "it must be true or false"),
        }
    }

    /// Reads a whole number within `min..=max`, in the type the setting is
    /// used as, so that no caller has to narrow it afterwards.
    pub fn number_in<T>(&self, name: &str, default: T, min: T, max: T) -> Result<T, EnvError>
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let expected = format!("it must be a whole number from {min} to {max}");
        let value = self.parse_or(name, default, &expected)?;
        if (min..=max).contains(&value) {
            Ok(value)
        } else {
            Err(EnvError {
                name: name.to_owned(),
                value: value.to_string(),
                expected,
            })
        }
    }
}

/// Reads `value`, the value of `name`, as a boolean, as [`Vars::flag`]
/// does; a refusal says `expected`.
pub fn parse_flag(name: &str, value: &str, expected: &str) -> Result<bool, EnvError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(EnvError {
            name: name.to_owned(),
            value: value.to_owned(),
            expected: expected.to_owned(),
        }),
    }
}

/// Where a binary's `--help` (its `settings`) and its reading of them
/// (`read`) disagree: a setting read but not declared, a setting declared
/// twice, or a number whose declared `min` or `max` is refused, or whose
/// neighbours past them are accepted or refused without naming it. Empty
/// when the help tells the truth.
pub fn help_problems<E: Display>(
    settings: &[Setting],
    read: impl Fn(&Vars) -> Result<(), E>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let given = |name: &'static str, value: String| {
        Vars::new(settings, BTreeMap::from([(name, OsString::from(value))]))
    };
    let unset = Vars::new(settings, BTreeMap::new());
    if let Err(error) = read(&unset) {
        problems.push(format!("with nothing set, the reading fails: {error}"));
    }
    for name in unset.undeclared_reads() {
        problems.push(format!(
            "{name} is read but not declared, so --help does not list it"
        ));
    }
    let mut names: Vec<&str> = settings.iter().map(|setting| setting.name).collect();
    names.sort_unstable();
    for pair in names.windows(2) {
        if pair[0] == pair[1] {
            problems.push(format!("{} is declared twice", pair[0]));
        }
    }
    for setting in settings {
        let Some((min, max)) = setting.bounds else {
            continue;
        };
        for fine in [min, max] {
            if let Err(error) = read(&given(setting.name, fine.to_string())) {
                problems.push(format!("{}={fine} is refused: {error}", setting.name));
            }
        }
        let past = [min.checked_sub(1), max.checked_add(1)];
        for wrong in past.into_iter().flatten() {
            match read(&given(setting.name, wrong.to_string())) {
                Ok(()) => problems.push(format!("{}={wrong} is accepted", setting.name)),
                Err(error) if !error.to_string().contains(setting.name) => problems.push(format!(
                    "{}={wrong} is refused without naming it: {error}",
                    setting.name
                )),
                Err(_) => {}
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unset_variable_gives_the_default() {
        assert_eq!(Vars::default().number_in("UNSET", 7, 1, 10).ok(), Some(7));
    }

    #[test]
    fn an_empty_variable_counts_as_unset() {
        assert_eq!(Vars::of(&[("EMPTY", "  ")]).var("EMPTY"), Ok(None));
    }

    #[test]
    fn a_number_out_of_range_names_the_variable_and_the_range() {
        let error = Vars::of(&[("RANGE", "0")])
            .number_in("RANGE", 7, 1, 10)
            .expect_err("0 is out of range");
        let text = error.to_string();
        assert!(text.contains("RANGE is set to \"0\""), "{text}");
        assert!(text.contains("from 1 to 10"), "{text}");
    }

    #[test]
    fn a_word_where_a_number_belongs_is_refused() {
        assert!(
            Vars::of(&[("WORD", "ten")])
                .number_in("WORD", 7, 1, 10)
                .is_err()
        );
    }

    #[test]
    fn flags_accept_the_usual_spellings() {
        let vars = Vars::of(&[("YES", "TRUE"), ("NO", "0"), ("BAD", "maybe")]);
        assert_eq!(vars.flag("YES", false).ok(), Some(true));
        assert_eq!(vars.flag("NO", true).ok(), Some(false));
        assert!(vars.flag("BAD", true).is_err());
    }

    #[test]
    fn only_declared_settings_are_kept() {
        let declared = [Setting::new("KNOWN", "a setting")];
        let given = BTreeMap::from([
            ("KNOWN", OsString::from("1")),
            ("OTHER", OsString::from("2")),
        ]);
        let vars = Vars::new(&declared, given);
        assert_eq!(vars.var("KNOWN"), Ok(Some("1".to_owned())));
        assert_eq!(vars.var("OTHER"), Ok(None), "read as unset");
        assert_eq!(vars.undeclared_reads(), ["OTHER"]);
    }

    #[test]
    fn a_flag_is_the_variable_in_kebab_case() {
        assert_eq!(Setting::new("SEND_BURST", "x").flag(), "send-burst");
    }
}
