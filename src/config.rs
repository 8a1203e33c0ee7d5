//! Validated settings of a run.
//!
//! [`RotateConfig::from_args`] checks what clap cannot: the `--set` grammar (64), variable names
//! (64), a mint command to run (64), and combinations that parse but make no sense (78). The
//! pipeline stages see only these types.

use crate::cli::{OutputFormat, RotateArgs};
use crate::dotenv;
use crate::error::Error;
use crate::mint::MintCommand;
use std::path::PathBuf;
use std::time::Duration;

/// Where a `--set` value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The whole stdout, one trailing newline removed.
    Whole,
    /// A JSON pointer into the stdout.
    Pointer(String),
}

/// One `--set KEY[=SOURCE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetSpec {
    pub key: String,
    pub source: Source,
}

impl SetSpec {
    /// Parse `KEY`, `KEY=/pointer`.
    pub fn parse(spec: &str) -> Result<SetSpec, Error> {
        let (key, source) = match spec.split_once('=') {
            None => (spec, Source::Whole),
            Some((key, src)) if src.starts_with('/') => (key, Source::Pointer(src.to_string())),
            Some((key, src)) => {
                return Err(Error::Usage(format!(
                    "--set {key}={src}: SOURCE must be a JSON pointer starting with / (or be \
                     omitted for the whole stdout)"
                )));
            }
        };
        let key = key.trim();
        if !dotenv::valid_key(key) {
            return Err(Error::Usage(format!(
                "--set {spec}: {key:?} is not a valid variable name (letters, digits and _, not \
                 starting with a digit)"
            )));
        }
        Ok(SetSpec {
            key: key.to_string(),
            source,
        })
    }
}

/// Everything `rotate` needs, validated.
#[derive(Debug, Clone)]
pub struct RotateConfig {
    pub target: PathBuf,
    pub sets: Vec<SetSpec>,
    pub mint: MintCommand,
    pub reload: Option<String>,
    pub mint_timeout: Duration,
    pub reload_timeout: Duration,
    pub lock_timeout: Duration,
    pub deadline: Duration,
    pub create: bool,
    pub dry_run: bool,
    pub output: OutputFormat,
}

impl RotateConfig {
    pub fn from_args(args: RotateArgs) -> Result<RotateConfig, Error> {
        let mut sets = Vec::with_capacity(args.set.len());
        for spec in args.set.iter().filter(|s| !s.trim().is_empty()) {
            let set = SetSpec::parse(spec)?;
            if sets.iter().any(|s: &SetSpec| s.key == set.key) {
                return Err(Error::Config(format!("--set {} is given twice", set.key)));
            }
            sets.push(set);
        }
        if sets.is_empty() {
            return Err(Error::Usage("--set needs at least one KEY".into()));
        }
        let mint = if !args.mint.is_empty() {
            MintCommand::Exec(args.mint)
        } else {
            match args.mint_shell {
                Some(line) if !line.trim().is_empty() => MintCommand::Shell(line),
                _ => {
                    return Err(Error::Usage(
                        "no mint command: give it after --, or in CREDSHIM_MINT".into(),
                    ));
                }
            }
        };
        let reload = match args.reload {
            Some(r) if r.trim().is_empty() => {
                return Err(Error::Config("--reload is empty".into()));
            }
            r => r,
        };
        Ok(RotateConfig {
            target: args.target,
            sets,
            mint,
            reload,
            mint_timeout: args.mint_timeout,
            reload_timeout: args.reload_timeout,
            lock_timeout: args.lock_timeout,
            deadline: args.deadline,
            create: args.create,
            dry_run: args.dry_run,
            output: args.output,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_specs_parse() {
        assert_eq!(
            SetSpec::parse("TOKEN").unwrap(),
            SetSpec {
                key: "TOKEN".into(),
                source: Source::Whole
            }
        );
        assert_eq!(
            SetSpec::parse("K=/Credentials/AccessKeyId").unwrap().source,
            Source::Pointer("/Credentials/AccessKeyId".into())
        );
        for bad in ["1K", "K-2", "K=token", "=/x", "K="] {
            assert_eq!(SetSpec::parse(bad).unwrap_err().exit_code(), 64, "{bad}");
        }
    }
}
