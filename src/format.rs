//! The target formats behind one interface.
//!
//! Each format offers the same three pure operations: read a key's current value ([`Format::get`]),
//! set keys ([`Format::splice`]), and check a new text against the old ([`Format::verify`]). Errors
//! come back as the run's [`Error`]: a file the format cannot parse is 65, a value it cannot carry
//! is 76, a key it cannot address is 64. The pipeline never needs to know which format it writes.

use crate::dotenv;
use crate::error::Error;
use crate::json::{self, JsonError};
use crate::raw;
use std::path::Path;

/// A target file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `KEY=value` lines, read by dotenvy, python-dotenv, compose, systemd and sh
    Env,
    /// A JSON document; KEY is a JSON pointer to a string member
    Json,
    /// The whole file is the value; the one KEY is `-`
    Raw,
}

impl Format {
    /// The format of `path` when `--format` is not given: `.json` is json, anything else env.
    pub fn for_path(path: &Path) -> Format {
        match path.extension() {
            Some(ext) if ext.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Env,
        }
    }

    /// Whether `key` can name a value in this format; the reason when not.
    pub fn check_key(self, key: &str) -> Result<(), String> {
        match self {
            Format::Env if dotenv::valid_key(key) => Ok(()),
            Format::Env => Err(format!(
                "{key:?} is not a valid variable name (letters, digits and _, not starting with a digit)"
            )),
            Format::Json => json::tokens(key).map(|_| ()).map_err(|e| e.to_string()),
            Format::Raw if key == "-" => Ok(()),
            Format::Raw => Err(format!("{key:?}: the key of a raw target is -")),
        }
    }

    /// The value of `key` in `text`, `None` when absent.
    pub fn get(self, text: &str, key: &str, path: &Path) -> Result<Option<String>, Error> {
        match self {
            Format::Env => dotenv::get(text, key).map_err(|e| env_error(e, path)),
            Format::Json => json::get(text, key).map_err(|e| json_error(e, path)),
            Format::Raw => Ok(raw::get(text)),
        }
    }

    /// `text` with every key of `updates` set; warnings are logged.
    pub fn splice(
        self,
        text: &str,
        updates: &[(String, String)],
        path: &Path,
    ) -> Result<String, Error> {
        match self {
            Format::Env => {
                let spliced = dotenv::splice(text, updates).map_err(|e| env_error(e, path))?;
                for w in &spliced.warnings {
                    log::warn!("{}: {w}", path.display());
                }
                Ok(spliced.text)
            }
            Format::Json => json::splice(text, updates).map_err(|e| json_error(e, path)),
            Format::Raw => match updates {
                [(_, value)] if value.ends_with('\n') => Err(Error::Protocol(
                    "the value ends in a newline, which a raw target cannot tell from its final \
                     newline"
                        .into(),
                )),
                [(_, value)] => Ok(raw::splice(text, value)),
                _ => Err(Error::Config(
                    "a raw target takes exactly one --set -=SOURCE".into(),
                )),
            },
        }
    }

    /// Check that `new` holds the updated values and everything else as in `old` (70 if not).
    pub fn verify(self, old: &str, new: &str, updates: &[(String, String)]) -> Result<(), Error> {
        let checked = match self {
            Format::Env => dotenv::verify(old, new, updates),
            Format::Json => json::verify(old, new, updates),
            Format::Raw => match updates {
                [(_, value)] if raw::get(new).as_deref() == Some(value.as_str()) => Ok(()),
                _ => Err("the file does not hold the new value".into()),
            },
        };
        checked.map_err(|why| {
            Error::Software(format!(
                "the new file would not read back as intended: {why}"
            ))
        })
    }
}

fn env_error(e: dotenv::SpliceError, path: &Path) -> Error {
    match e {
        dotenv::SpliceError::Unparseable { .. } => Error::TargetParse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
        dotenv::SpliceError::ForbiddenValue { .. } => Error::Protocol(e.to_string()),
        dotenv::SpliceError::InvalidKey { .. } => Error::Usage(e.to_string()),
    }
}

fn json_error(e: JsonError, path: &Path) -> Error {
    match e {
        JsonError::NotPointer(_) => Error::Usage(e.to_string()),
        JsonError::Invalid(_) | JsonError::Path { .. } => Error::TargetParse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(
            Format::for_path(Path::new("/etc/app/config.json")),
            Format::Json
        );
        assert_eq!(Format::for_path(Path::new("C.JSON")), Format::Json);
        assert_eq!(Format::for_path(Path::new(".env")), Format::Env);
        assert_eq!(Format::for_path(Path::new("password")), Format::Env);
    }

    #[test]
    fn keys_per_format() {
        assert!(Format::Env.check_key("A_1").is_ok());
        assert!(Format::Env.check_key("/a").is_err());
        assert!(Format::Json.check_key("/a/b").is_ok());
        assert!(Format::Json.check_key("a").is_err());
        assert!(Format::Raw.check_key("-").is_ok());
        assert!(Format::Raw.check_key("K").is_err());
    }
}
