//! Validated settings of a run.
//!
//! [`RotateConfig::from_args`] checks what clap cannot: the `--set` grammar (64), variable names
//! (64), JSON pointers (64), a mint command to run (64), and combinations that parse but make no
//! sense (78). The pipeline stages see only these types.

use crate::cli::{CheckArgs, RotateArgs};
use crate::error::Error;
use crate::expiry::ExpiryFormat;
use crate::format::Format;
use crate::mint::MintCommand;
use crate::probe::Probe;
use std::path::PathBuf;
use std::time::Duration;

/// Where a `--set` value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The whole stdout, one trailing newline removed.
    Whole,
    /// A JSON pointer into the stdout.
    Pointer(String),
    /// `@expiry`: the credential's expiry, RFC 3339 UTC.
    Expiry,
}

/// One `--set KEY[=SOURCE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetSpec {
    pub key: String,
    pub source: Source,
}

impl SetSpec {
    /// Parse `KEY`, `KEY=/pointer`, `KEY=@expiry`.
    pub fn parse(spec: &str) -> Result<SetSpec, Error> {
        let (key, source) = match spec.split_once('=') {
            None => (spec, Source::Whole),
            Some((key, src)) if src.starts_with('/') => (key, Source::Pointer(src.to_string())),
            Some((key, "@expiry")) => (key, Source::Expiry),
            Some((key, src)) => {
                return Err(Error::Usage(format!(
                    "--set {key}={src}: SOURCE must be a JSON pointer starting with /, or \
                     @expiry (or be omitted for the whole stdout)"
                )));
            }
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(Error::Usage(format!("--set {spec}: KEY is empty")));
        }
        Ok(SetSpec {
            key: key.to_string(),
            source,
        })
    }
}

/// Everything `check` needs, validated.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    pub target: PathBuf,
    pub format: Format,
    pub key: String,
    pub expiry_key: Option<String>,
    pub warn: Duration,
    pub crit: Duration,
}

impl CheckConfig {
    /// Validate `check`'s command line; the reason when it does not make sense.
    pub fn from_args(args: &CheckArgs) -> Result<CheckConfig, String> {
        if args.crit > args.warn {
            return Err("--crit must not exceed --warn".into());
        }
        // A job file's CREDSHIM_SET (in the environment by now) names the keys the job writes.
        let sets: Vec<SetSpec> = std::env::var("CREDSHIM_SET")
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .filter_map(|s| SetSpec::parse(s).ok())
            .collect();
        let (key, expiry_key) = match &args.key {
            Some(key) => (key.clone(), args.expiry_key.clone()),
            None => {
                let key = sets
                    .iter()
                    .find(|s| s.source != Source::Expiry)
                    .map(|s| s.key.clone())
                    .ok_or("no key to check: give --key (or a --job file with CREDSHIM_SET)")?;
                let expiry_key = args.expiry_key.clone().or_else(|| {
                    sets.iter()
                        .find(|s| s.source == Source::Expiry)
                        .map(|s| s.key.clone())
                });
                (key, expiry_key)
            }
        };
        Ok(CheckConfig {
            target: args.file.target.clone(),
            format: args.file.format(),
            key,
            expiry_key,
            warn: args.warn,
            crit: args.crit,
        })
    }
}

/// Everything `rotate` needs, validated.
#[derive(Debug, Clone)]
pub struct RotateConfig {
    pub target: PathBuf,
    pub format: Format,
    pub sets: Vec<SetSpec>,
    pub mint: MintCommand,
    pub expiry_from: Option<String>,
    pub expiry_format: ExpiryFormat,
    pub ttl: Option<Duration>,
    pub min_ttl: Option<Duration>,
    pub retries: u32,
    pub splay: Option<Duration>,
    pub reload: Option<String>,
    pub probe: Option<Probe>,
    pub mint_timeout: Duration,
    pub reload_timeout: Duration,
    pub lock_timeout: Duration,
    pub deadline: Duration,
    pub create: bool,
    pub dry_run: bool,
    pub allow_in_place: bool,
}

impl RotateConfig {
    pub fn from_args(args: RotateArgs) -> Result<RotateConfig, Error> {
        let format = args.file.format();
        let mut sets = Vec::with_capacity(args.set.len());
        for spec in args.set.iter().filter(|s| !s.trim().is_empty()) {
            let set = SetSpec::parse(spec)?;
            format
                .check_key(&set.key)
                .map_err(|why| Error::Usage(format!("--set {spec}: {why}")))?;
            if sets.iter().any(|s: &SetSpec| s.key == set.key) {
                return Err(Error::Config(format!("--set {} is given twice", set.key)));
            }
            sets.push(set);
        }
        if sets.is_empty() {
            return Err(Error::Usage("--set needs at least one KEY".into()));
        }
        if format == Format::Raw && sets.len() != 1 {
            return Err(Error::Config(
                "a raw target holds one value: give exactly one --set -=SOURCE".into(),
            ));
        }
        if sets.iter().all(|s| s.source == Source::Expiry) {
            return Err(Error::Config(
                "every --set is @expiry: nothing would take the credential itself".into(),
            ));
        }
        if let Some(p) = &args.expiry_from
            && !p.starts_with('/')
        {
            return Err(Error::Usage(format!(
                "--expiry-from {p}: a JSON pointer starts with /"
            )));
        }
        if args.expiry_format.is_some() && args.expiry_from.is_none() {
            return Err(Error::Config(
                "--expiry-format needs --expiry-from to say where the expiry is".into(),
            ));
        }
        if args.ttl.is_some_and(|t| t.is_zero()) {
            return Err(Error::Config(
                "--ttl 0 would make every credential expired".into(),
            ));
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
        let probe = match args.probe {
            Some(p) if p.trim().is_empty() => {
                return Err(Error::Config("--probe is empty".into()));
            }
            p => p.map(|cmd| Probe {
                cmd,
                timeout: args.probe_timeout,
                retries: args.retries,
            }),
        };
        Ok(RotateConfig {
            probe,
            format,
            target: args.file.target,
            sets,
            mint,
            expiry_from: args.expiry_from,
            expiry_format: args.expiry_format.unwrap_or_default(),
            ttl: args.ttl,
            min_ttl: args.min_ttl,
            retries: args.retries,
            splay: args.splay.filter(|s| !s.is_zero()),
            reload,
            mint_timeout: args.mint_timeout,
            reload_timeout: args.reload_timeout,
            lock_timeout: args.lock_timeout,
            deadline: args.deadline,
            create: args.create,
            dry_run: args.dry_run,
            allow_in_place: args.allow_in_place,
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
        assert_eq!(
            SetSpec::parse("K_AT=@expiry").unwrap().source,
            Source::Expiry
        );
        for bad in ["K=token", "=/x", "K=", "K=@expire"] {
            assert_eq!(SetSpec::parse(bad).unwrap_err().exit_code(), 64, "{bad}");
        }
    }
}
