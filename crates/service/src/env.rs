//! Typed environment variables. Every setting of the product is read here, so
//! a wrong value fails at start-up with a sentence naming the variable, the
//! value and what would be accepted, instead of somewhere deep in a request.

use std::fmt::Display;
use std::str::FromStr;

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

/// Reads a variable, treating an empty value like an unset one (a common
/// mistake in `.env` files and Elastic Beanstalk consoles). A value that is
/// not UTF-8 is an error, not "unset": it was meant to say something.
pub fn var(name: &str) -> Result<Option<String>, EnvError> {
    match std::env::var(name) {
        Ok(value) => Ok(Some(value).filter(|value| !value.trim().is_empty())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(value)) => Err(EnvError {
            name: name.to_owned(),
            value: value.to_string_lossy().into_owned(),
            expected: "it must be UTF-8 text".to_owned(),
        }),
    }
}

/// Reads and parses `name`, or returns `default` when it is unset.
pub fn parse_or<T: FromStr>(name: &str, default: T, expected: &str) -> Result<T, EnvError> {
    match var(name)? {
        None => Ok(default),
        Some(value) => value.trim().parse().map_err(|_| EnvError {
            name: name.to_owned(),
            value,
            expected: expected.to_owned(),
        }),
    }
}

/// Reads a boolean: `true`/`false`, `1`/`0`, `yes`/`no`, any case.
pub fn flag(name: &str, default: bool) -> Result<bool, EnvError> {
    match var(name)? {
        None => Ok(default),
        Some(value) => parse_flag(name, &value, "it must be true or false"),
    }
}

/// Reads `value`, the value of `name`, as a boolean, as [`flag`] does; a
/// refusal says `expected`.
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

/// Reads a whole number within `min..=max`, in the type the setting is used
/// as, so that no caller has to narrow it afterwards.
pub fn number_in<T>(name: &str, default: T, min: T, max: T) -> Result<T, EnvError>
where
    T: FromStr + PartialOrd + Display + Copy,
{
    let expected = format!("it must be a whole number from {min} to {max}");
    let value = parse_or(name, default, &expected)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    // Each test uses its own variable name: tests run in parallel threads of one process.
    fn set(name: &str, value: &str) {
        // `set_var` is unsafe in edition 2024 because another thread may read the
        // environment at the same time; each name here is read by one test only.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(name, value)
        };
    }

    #[test]
    fn an_unset_variable_gives_the_default() {
        assert_eq!(number_in("SERVICE_TEST_UNSET", 7, 1, 10).ok(), Some(7));
    }

    #[test]
    fn an_empty_variable_counts_as_unset() {
        set("SERVICE_TEST_EMPTY", "  ");
        assert_eq!(var("SERVICE_TEST_EMPTY"), Ok(None));
    }

    #[test]
    fn a_number_out_of_range_names_the_variable_and_the_range() {
        set("SERVICE_TEST_RANGE", "0");
        let error = number_in("SERVICE_TEST_RANGE", 7, 1, 10).expect_err("0 is out of range");
        let text = error.to_string();
        assert!(text.contains("SERVICE_TEST_RANGE"), "{text}");
        assert!(text.contains("from 1 to 10"), "{text}");
    }

    #[test]
    fn a_word_where_a_number_belongs_is_refused() {
        set("SERVICE_TEST_WORD", "ten");
        assert!(number_in("SERVICE_TEST_WORD", 7, 1, 10).is_err());
    }

    #[test]
    fn flags_accept_the_usual_spellings() {
        set("SERVICE_TEST_FLAG_YES", "TRUE");
        set("SERVICE_TEST_FLAG_NO", "0");
        set("SERVICE_TEST_FLAG_BAD", "maybe");
        assert_eq!(flag("SERVICE_TEST_FLAG_YES", false).ok(), Some(true));
        assert_eq!(flag("SERVICE_TEST_FLAG_NO", true).ok(), Some(false));
        assert!(flag("SERVICE_TEST_FLAG_BAD", true).is_err());
    }
}
