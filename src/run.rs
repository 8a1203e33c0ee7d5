//! What the `credshim` binary does, from its argv to its exit code.
//!
//! [`run`] reads a job file into the environment (`--job`, before the command line is parsed,
//! so flags win over it and it wins over the environment), parses the command line (a usage
//! error is one line in credshim's own shape, naming the variable when the bad value came from
//! the environment), sets up logging and signals, and runs the subcommand. For `rotate` it owns
//! what surrounds the job: the report, the metrics file, the one failure line (with the systemd
//! drop-in hint when the sandbox refused a write) and `--output`.

use crate::cli::{CheckArgs, Cli, Command, OutputFormat, RotateArgs};
use crate::config::{CheckConfig, RotateConfig};
use crate::report::{Outcome, Report};
use crate::{check, job, logging, metrics, signals};
use clap::Parser;
use jiff::Timestamp;
use std::ffi::OsString;
use std::time::Instant;

/// Set up the process before anything else: no core dumps (they could carry a credential), a
/// caught SIGXFSZ (a write past RLIMIT_FSIZE fails with EFBIG, exit 73; exec resets a caught
/// signal, so children get the default), and no inherited descriptor for children.
pub fn harden() {
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    let _ = signal_hook::flag::register(
        libc::SIGXFSZ,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    crate::process::close_inherited();
}

/// Run `credshim` with `argv`; the exit code.
pub fn run(argv: Vec<OsString>) -> u8 {
    if let Some(path) = job::flag(&argv) {
        match job::load(&path, &crate::cli::env_names()) {
            Ok(lines) => job::apply(&lines),
            Err(err) => {
                eprintln!("{}", logging::error_line(&err.to_string()));
                return err.exit_code();
            }
        }
    }
    let cli = match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            eprintln!("{}", logging::error_line(&usage_line(&e, &argv)));
            return 64;
        }
        Err(e) => {
            // --help and --version.
            let _ = e.print();
            return 0;
        }
    };
    logging::init(cli.verbose, cli.quiet);
    // SIGTERM, SIGINT, SIGHUP: stop at the next safe point with 128+n (DESIGN.md guarantee 10).
    if let Err(e) = signals::install() {
        log::warn!("cannot install signal handlers: {e}");
    }
    match cli.command {
        Command::Rotate(args) => rotate(*args),
        Command::Check(args) => check(&args),
    }
}

fn rotate(args: RotateArgs) -> u8 {
    let started = Instant::now();
    let job = args.file.job.clone();
    let output = args.output;
    let metrics_file = args.metrics_file.clone();
    let target = args.file.target.clone();
    let mut report = Report {
        target: target.display().to_string(),
        dry_run: args.dry_run,
        ..Report::default()
    };
    let result = RotateConfig::from_args(args).and_then(|cfg| crate::rotate(&cfg, &mut report));
    let now = Timestamp::now();
    report.total_seconds = started.elapsed().as_secs_f64();
    report.finish(now);
    if let Err(err) = &result {
        report.outcome = Outcome::Failed;
        report.exit_code = err.exit_code();
        report.error = Some(err.to_string());
        let hint = systemd_hint(err, job.as_deref());
        eprintln!(
            "{}{}",
            logging::failure_line(err, err.exit_code()),
            hint.unwrap_or_default()
        );
    }
    // A dry run writes nothing, metrics included.
    if let Some(path) = metrics_file.filter(|_| !report.dry_run)
        && let Err(err) = metrics::write(&path, &target, &report, now)
    {
        eprintln!("{}", logging::error_line(&format!("metrics: {err}")));
        if report.exit_code == 0 {
            report.exit_code = err.exit_code();
        }
    }
    match output {
        OutputFormat::Json => println!("{}", report.json()),
        OutputFormat::Text if report.dry_run && result.is_ok() => {
            print!("{}", report.dry_run_text())
        }
        OutputFormat::Text => {}
    }
    report.exit_code
}

fn check(args: &CheckArgs) -> u8 {
    let cfg = CheckConfig::from_args(args);
    let (state, line) = check::check(cfg.as_ref().map_err(String::as_str), Timestamp::now());
    println!("{line}");
    state as u8
}

/// clap's error as one line, naming the variable instead of the flag when the bad value came
/// from the environment or a job file (the operator never typed the flag).
fn usage_line(e: &clap::Error, argv: &[std::ffi::OsString]) -> String {
    use clap::error::{ContextKind, ContextValue};
    let text = e.render().to_string();
    let mut lines = text.lines();
    let mut first = lines
        .next()
        .unwrap_or("bad command line")
        .trim_start_matches("error: ")
        .to_string();
    // "the following required arguments were not provided:" lists them on the lines after.
    if first.ends_with(':') {
        let listed: Vec<&str> = lines
            .take_while(|l| l.starts_with(' '))
            .map(str::trim)
            .collect();
        first = format!("{first} {}", listed.join(", "));
    }
    let first = first.as_str();
    let (arg, flag) = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => (
            s.clone(),
            s.split_whitespace().next().unwrap_or("").to_string(),
        ),
        _ => (String::new(), String::new()),
    };
    if let Some(long) = flag.strip_prefix("--") {
        let typed = argv.iter().any(|a| {
            let a = a.to_string_lossy();
            a == flag || a.starts_with(&format!("{flag}="))
        });
        let var = format!("CREDSHIM_{}", long.to_uppercase().replace('-', "_"));
        if !typed && std::env::var_os(&var).is_some() {
            return format!(
                "usage: {var}: {}",
                first.replacen(&format!(" for '{arg}'"), "", 1)
            );
        }
    }
    format!("usage: {first}")
}

/// Under systemd, a write refused by the sandbox (read-only outside `ReadWritePaths=`) gets the
/// drop-in that fixes it, on the same line.
fn systemd_hint(err: &crate::error::Error, job: Option<&std::path::Path>) -> Option<String> {
    use crate::error::Error;
    std::env::var_os("INVOCATION_ID")?;
    let (path, source) = match err {
        Error::CantCreate { path, source, .. }
        | Error::WritePermission { path, source, .. }
        | Error::Permission { path, source, .. }
        | Error::Io { path, source, .. } => (path, source),
        _ => return None,
    };
    if !matches!(source.raw_os_error(), Some(libc::EROFS | libc::EACCES)) {
        return None;
    }
    let dir = if path.is_dir() {
        path.clone()
    } else {
        path.parent()?.to_path_buf()
    };
    let unit = job
        .and_then(|j| j.file_stem())
        .map(|s| format!("credshim@{}.service", s.to_string_lossy()))
        .unwrap_or_else(|| "credshim@<job>.service".into());
    Some(format!(
        " (under systemd: the unit's sandbox keeps {} read-only unless a drop-in allows it: \
         `systemctl edit {unit}`, then [Service] ReadWritePaths={})",
        dir.display(),
        dir.display()
    ))
}
