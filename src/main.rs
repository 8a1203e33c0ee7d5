//! The `credshim` binary: parse, run, turn the result into an exit code.

use clap::Parser;
use credshim::cli::{CheckArgs, Cli, Command, OutputFormat, RotateArgs};
use credshim::config::RotateConfig;
use credshim::report::{Outcome, Report};
use credshim::{check, logging, metrics, signals};
use jiff::Timestamp;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    // No core dump may carry a credential held in memory.
    // SAFETY: prctl(PR_SET_DUMPABLE) takes plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 64 } else { 0 });
        }
    };
    logging::init(cli.verbose, cli.quiet);
    // SIGTERM, SIGINT, SIGHUP: stop at the next safe point with 128+n (DESIGN.md guarantee 10).
    if let Err(e) = signals::install() {
        log::warn!("cannot install signal handlers: {e}");
    }
    // A write past RLIMIT_FSIZE must fail with EFBIG (exit 73), not kill us mid-temp-file.
    // SAFETY: setting a signal to SIG_IGN has no preconditions.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    match cli.command {
        Command::Rotate(args) => rotate(args),
        Command::Check(args) => check(&args),
    }
}

fn rotate(args: RotateArgs) -> ExitCode {
    let started = Instant::now();
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
        eprintln!("{}", logging::error_line(err));
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
