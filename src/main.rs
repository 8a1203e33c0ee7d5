//! The `credshim` binary: parse, run, turn the result into an exit code.

use clap::Parser;
use credshim::cli::{CheckArgs, Cli, Command, OutputFormat, RotateArgs};
use credshim::config::RotateConfig;
use credshim::report::{Outcome, Report};
use credshim::{check, job, logging, metrics, signals};
use jiff::Timestamp;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    // No core dump may carry a credential held in memory.
    // SAFETY: prctl(PR_SET_DUMPABLE) takes plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    // A job file fills the environment before the command line is parsed: flags win over it,
    // and it wins over the process environment.
    let argv: Vec<_> = std::env::args_os().collect();
    if let Some(path) = job::flag(&argv) {
        match job::load(&path, &credshim::cli::env_names()) {
            Ok(lines) => job::apply(&lines),
            Err(err) => {
                eprintln!("{}", logging::error_line(&err.to_string()));
                return ExitCode::from(err.exit_code());
            }
        }
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            eprintln!("{}", logging::error_line(&usage_line(&e, &argv)));
            return ExitCode::from(64);
        }
        Err(e) => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    logging::init(cli.verbose, cli.quiet);
    // SIGTERM, SIGINT, SIGHUP: stop at the next safe point with 128+n (DESIGN.md guarantee 10).
    if let Err(e) = signals::install() {
        log::warn!("cannot install signal handlers: {e}");
    }
    // A write past RLIMIT_FSIZE must fail with EFBIG (exit 73), not kill us mid-temp-file. A
    // handler rather than SIG_IGN: exec resets a caught signal, so children get the default.
    let _ = signal_hook::flag::register(
        libc::SIGXFSZ,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    credshim::process::close_inherited();
    match cli.command {
        Command::Rotate(args) => rotate(args),
        Command::Check(args) => check(&args),
    }
}

fn rotate(args: RotateArgs) -> ExitCode {
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
    let result = RotateConfig::from_args(args).and_then(|cfg| credshim::rotate(&cfg, &mut report));
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
    ExitCode::from(report.exit_code)
}

fn check(args: &CheckArgs) -> ExitCode {
    let (state, line) = check::check(args, Timestamp::now());
    println!("{line}");
    ExitCode::from(state as u8)
}

/// clap's error as one line, naming the variable instead of the flag when the bad value came
/// from the environment or a job file (the operator never typed the flag).
fn usage_line(e: &clap::Error, argv: &[std::ffi::OsString]) -> String {
    use clap::error::{ContextKind, ContextValue};
    let text = e.render().to_string();
    let first = text
        .lines()
        .next()
        .unwrap_or("bad command line")
        .trim_start_matches("error: ");
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
fn systemd_hint(err: &credshim::error::Error, job: Option<&std::path::Path>) -> Option<String> {
    use credshim::error::Error;
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
