//! The `credshim` binary: parse, run, turn the result into an exit code.

use clap::Parser;
use credshim::cli::{Cli, Command, OutputFormat};
use credshim::config::RotateConfig;
use credshim::logging;
use credshim::report::Report;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 64 } else { 0 });
        }
    };
    logging::init(cli.verbose, cli.quiet);
    // A write past RLIMIT_FSIZE must fail with EFBIG (exit 73), not kill us mid-temp-file.
    // SAFETY: setting a signal to SIG_IGN has no preconditions.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    match cli.command {
        Command::Rotate(args) => rotate(args),
    }
}

fn rotate(args: credshim::cli::RotateArgs) -> ExitCode {
    let started = Instant::now();
    let output = args.output;
    let mut report = Report {
        target: args.target.clone(),
        ..Report::default()
    };
    let result = RotateConfig::from_args(args).and_then(|cfg| {
        report.dry_run = cfg.dry_run;
        credshim::rotate(&cfg, &mut report)
    });
    report.total_seconds = started.elapsed().as_secs_f64();
    if let Err(err) = &result {
        report.exit_code = err.exit_code();
        report.error = Some(err.to_string());
        eprintln!("{}", logging::error_line(err));
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
