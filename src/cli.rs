//! The command line, as clap types.
//!
//! Every option also reads `CREDSHIM_<FLAG>` so that a systemd `EnvironmentFile=` can hold a whole
//! job. Nothing outside this module and [`crate::config`] sees these types: `config` turns them
//! into validated settings.

use crate::duration::parse_duration;
use crate::expiry::ExpiryFormat;
use crate::format::Format;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// Keep a short-lived credential fresh inside an application that reads a long-lived one.
#[derive(Debug, Parser)]
#[command(name = "credshim", version, propagate_version = true, after_long_help = crate::error::exit_codes_help())]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// More logging on stderr (-v info, -vv debug, -vvv trace)
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count, global = true,
          env = "CREDSHIM_VERBOSE")]
    pub verbose: u8,

    /// Less logging on stderr (-q: errors only, -qq: nothing but the final error line)
    #[arg(short = 'q', long = "quiet", action = ArgAction::Count, global = true,
          env = "CREDSHIM_QUIET")]
    pub quiet: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Mint a credential and splice it into the target file, atomically and under a lock
    #[command(after_long_help = crate::error::exit_codes_help())]
    Rotate(Box<RotateArgs>),
    /// Report the time left on the credential in a target (Nagios/Icinga plugin: 0 OK,
    /// 1 WARNING, 2 CRITICAL, 3 UNKNOWN)
    Check(CheckArgs),
}

/// The target file and its format, shared by every subcommand.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Read the job's settings (CREDSHIM_* lines) from FILE; the command line wins over it
    #[arg(long = "job", value_name = "FILE")]
    pub job: Option<PathBuf>,

    /// The file that holds the credential
    #[arg(long = "target", value_name = "PATH", env = "CREDSHIM_TARGET")]
    pub target: PathBuf,

    /// Target format; default by name: .json is json, .ini/.cfg/.cnf and `credentials` ini,
    /// .properties properties, .toml toml, .pgpass or pgpass pgpass, .yaml/.yml yaml, anything
    /// else env
    #[arg(
        long = "format",
        value_name = "FORMAT",
        env = "CREDSHIM_FORMAT",
        value_enum
    )]
    pub format: Option<Format>,
}

/// Every `CREDSHIM_*` name a flag reads: the names a job file may set.
pub fn env_names() -> Vec<String> {
    use clap::CommandFactory;
    let cli = Cli::command();
    let mut names = Vec::new();
    for cmd in std::iter::once(&cli).chain(cli.get_subcommands()) {
        names.extend(
            cmd.get_arguments()
                .filter_map(|a| a.get_env())
                .map(|e| e.to_string_lossy().into_owned()),
        );
    }
    names.sort();
    names.dedup();
    names
}

impl TargetArgs {
    /// `--format`, else the format the file name implies.
    pub fn format(&self) -> Format {
        self.format
            .unwrap_or_else(|| Format::for_path(&self.target))
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub file: TargetArgs,

    /// The key of the credential; its JWT `exp` is read unless --expiry-key is given. Default:
    /// the first key of CREDSHIM_SET (a --job file's) taken from the mint
    #[arg(long = "key", value_name = "KEY", env = "CREDSHIM_KEY")]
    pub key: Option<String>,

    /// A key holding the credential's expiry as RFC 3339 (one written from @expiry). Default,
    /// when --key is not given either: the key CREDSHIM_SET writes from @expiry
    #[arg(long = "expiry-key", value_name = "KEY", env = "CREDSHIM_EXPIRY_KEY")]
    pub expiry_key: Option<String>,

    /// WARNING when less than this is left: a rotation is overdue (at most the job's --min-ttl
    /// minus two timer periods)
    #[arg(long = "warn", value_name = "DURATION", env = "CREDSHIM_WARN",
          default_value = "5m", value_parser = parse_duration)]
    pub warn: Duration,

    /// CRITICAL when less than this is left (or expired, or missing)
    #[arg(long = "crit", value_name = "DURATION", env = "CREDSHIM_CRIT",
          default_value = "2m", value_parser = parse_duration)]
    pub crit: Duration,
}

/// What `--output` prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Nothing on success (cron mails any output); the masked change with --dry-run
    #[default]
    Text,
    /// One JSON object describing the run, success or failure; never a secret
    Json,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub file: TargetArgs,

    /// Set KEY from SOURCE. KEY: a variable name (env), a JSON pointer into the target (json),
    /// or `-` (raw). SOURCE: a JSON pointer into the mint's stdout (/token), @expiry (the
    /// credential's expiry, RFC 3339 UTC), or, when omitted, the whole stdout with one trailing
    /// newline removed. Repeatable; CREDSHIM_SET takes several, separated by commas
    #[arg(
        long = "set",
        value_name = "KEY[=SOURCE]",
        env = "CREDSHIM_SET",
        value_delimiter = ',',
        allow_hyphen_values = true,
        required = true
    )]
    pub set: Vec<String>,

    /// Where the mint's JSON output says when the credential expires (a JSON pointer)
    #[arg(
        long = "expiry-from",
        value_name = "POINTER",
        env = "CREDSHIM_EXPIRY_FROM"
    )]
    pub expiry_from: Option<String>,

    /// How to read the --expiry-from value
    #[arg(
        long = "expiry-format",
        value_name = "FORMAT",
        env = "CREDSHIM_EXPIRY_FORMAT",
        value_enum
    )]
    pub expiry_format: Option<ExpiryFormat>,

    /// Declared lifetime of credentials that state none (opaque tokens)
    #[arg(long = "ttl", value_name = "DURATION", env = "CREDSHIM_TTL", value_parser = parse_duration)]
    pub ttl: Option<Duration>,

    /// Skip minting while the credential in the target has more than this left
    #[arg(long = "min-ttl", value_name = "DURATION", env = "CREDSHIM_MIN_TTL",
          value_parser = parse_duration)]
    pub min_ttl: Option<Duration>,

    /// Extra attempts of a failing mint, with exponential backoff and full jitter
    #[arg(
        long = "retries",
        value_name = "N",
        env = "CREDSHIM_RETRIES",
        default_value_t = 2
    )]
    pub retries: u32,

    /// Sleep a random time up to this before starting (cron has no RandomizedDelaySec)
    #[arg(long = "splay", value_name = "DURATION", env = "CREDSHIM_SPLAY", value_parser = parse_duration)]
    pub splay: Option<Duration>,

    /// Write Prometheus textfile-collector metrics here, atomically, on every run
    #[arg(
        long = "metrics-file",
        value_name = "PATH",
        env = "CREDSHIM_METRICS_FILE"
    )]
    pub metrics_file: Option<PathBuf>,

    /// Shell command run after the target changed (and on the next run, if it failed)
    #[arg(long = "reload", value_name = "CMD", env = "CREDSHIM_RELOAD")]
    pub reload: Option<String>,

    /// Before the new file replaces the old, run this (/bin/sh -c) with CREDSHIM_CANDIDATE set
    /// to the verified new file; a failure on every try keeps the old file (69)
    #[arg(long = "probe", value_name = "CMD", env = "CREDSHIM_PROBE")]
    pub probe: Option<String>,

    /// How long each try of the probe may run
    #[arg(long = "probe-timeout", value_name = "DURATION", env = "CREDSHIM_PROBE_TIMEOUT",
          default_value = "30s", value_parser = parse_duration)]
    pub probe_timeout: Duration,

    /// How long the mint may run
    #[arg(long = "mint-timeout", value_name = "DURATION", env = "CREDSHIM_MINT_TIMEOUT",
          default_value = "60s", value_parser = parse_duration)]
    pub mint_timeout: Duration,

    /// How long the reload may run
    #[arg(long = "reload-timeout", value_name = "DURATION", env = "CREDSHIM_RELOAD_TIMEOUT",
          default_value = "60s", value_parser = parse_duration)]
    pub reload_timeout: Duration,

    /// How long to wait for another run's lock on the same target
    #[arg(long = "lock-timeout", value_name = "DURATION", env = "CREDSHIM_LOCK_TIMEOUT",
          default_value = "30s", value_parser = parse_duration)]
    pub lock_timeout: Duration,

    /// Bound on the whole run: lock wait and mint attempts together
    #[arg(long = "deadline", value_name = "DURATION", env = "CREDSHIM_DEADLINE",
          default_value = "5m", value_parser = parse_duration)]
    pub deadline: Duration,

    /// Create the target (mode 0600) when it does not exist
    #[arg(long = "create", env = "CREDSHIM_CREATE")]
    pub create: bool,

    /// Do everything but write and reload; show the change with values masked
    #[arg(long = "dry-run", env = "CREDSHIM_DRY_RUN")]
    pub dry_run: bool,

    /// When the target cannot be replaced by rename (EBUSY: a single file bind-mounted into a
    /// container), rewrite it in place after an fsync'ed backup: not atomic, so only on request
    #[arg(long = "allow-in-place", env = "CREDSHIM_ALLOW_IN_PLACE")]
    pub allow_in_place: bool,

    /// What to print on stdout
    #[arg(long = "output", value_name = "FORMAT", env = "CREDSHIM_OUTPUT", value_enum,
          default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Shell command line that mints, used when no MINT_COMMAND follows --
    #[arg(long = "mint", value_name = "CMD", env = "CREDSHIM_MINT")]
    pub mint_shell: Option<String>,

    /// The mint command, exec'd without a shell
    #[arg(last = true, value_name = "MINT_COMMAND")]
    pub mint: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_option_reads_an_environment_variable() {
        let cmd = Cli::command();
        let args = ["rotate", "check"]
            .iter()
            .flat_map(|s| cmd.find_subcommand(s).unwrap().get_arguments());
        for arg in args {
            let Some(long) = arg.get_long() else { continue };
            // --job reads the variables; a job naming another job file would be a loop.
            if ["help", "version", "job"].contains(&long) {
                continue;
            }
            let expected = format!("CREDSHIM_{}", long.to_uppercase().replace('-', "_"));
            assert_eq!(
                arg.get_env().and_then(|e| e.to_str()),
                Some(expected.as_str()),
                "--{long}"
            );
        }
    }
}
