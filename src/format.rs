//! The target formats behind one interface.
//!
//! Each format offers the same three pure operations: read a key's current value ([`Format::get`]),
//! set keys ([`Format::splice`]), and check a new text against the old ([`Format::verify`]). Errors
//! come back as the run's [`Error`]: a file the format cannot parse is 65, a value it cannot carry
//! is 76. The pipeline never needs to know which format it is writing.

use crate::dotenv;
use crate::error::Error;
use std::path::Path;

/// A target file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `KEY=value` lines, read by dotenvy, python-dotenv, compose, systemd and sh
    Env,
}

impl Format {
    /// The format of `path` when `--format` is not given.
    pub fn for_path(_path: &Path) -> Format {
        Format::Env
    }

    /// The value of `key` in `text`, `None` when absent.
    pub fn get(self, text: &str, key: &str, path: &Path) -> Result<Option<String>, Error> {
        match self {
            Format::Env => dotenv::get(text, key).map_err(|e| env_error(e, path)),
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
        }
    }

    /// Check that `new` holds the updated values and every other key as in `old` (70 if not).
    pub fn verify(self, old: &str, new: &str, updates: &[(String, String)]) -> Result<(), Error> {
        let checked = match self {
            Format::Env => dotenv::verify(old, new, updates),
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
