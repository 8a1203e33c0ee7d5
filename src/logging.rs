//! Logging on stderr.
//!
//! `log` + `env_logger`: warnings by default (a successful run is silent, so cron mails nothing),
//! `-v` info, `-vv` debug, `-q` errors only. Under systemd (`JOURNAL_STREAM` set) each line starts
//! with its syslog priority (`<3>`) and no timestamp, so the journal records levels.

use log::LevelFilter;
use std::io::Write;

/// Whether stderr goes to the journal.
pub fn under_journal() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some()
}

/// The syslog priority of a level.
fn priority(level: log::Level) -> u8 {
    match level {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    }
}

/// Install the logger for `-v` × `verbose` and `-q` × `quiet`.
pub fn init(verbose: u8, quiet: u8) {
    let level = match i16::from(verbose) - i16::from(quiet) {
        ..=-2 => LevelFilter::Off,
        -1 => LevelFilter::Error,
        0 => LevelFilter::Warn,
        1 => LevelFilter::Info,
        2 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    };
    let journal = under_journal();
    env_logger::Builder::new()
        .filter_level(level)
        .format(move |buf, record| {
            if journal {
                writeln!(buf, "<{}>{}", priority(record.level()), record.args())
            } else {
                let level = record.level().to_string().to_lowercase();
                writeln!(buf, "credshim: {level}: {}", record.args())
            }
        })
        .init();
}

/// The final error line: `credshim: <what failed>: <why>`.
pub fn error_line(err: &dyn std::fmt::Display) -> String {
    if under_journal() {
        format!("<3>credshim: {err}")
    } else {
        format!("credshim: {err}")
    }
}
