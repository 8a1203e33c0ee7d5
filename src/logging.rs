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
    failure_line(err, 1)
}

/// The final line of a run that exits `code`: at error priority in the journal, but at warning
/// priority for 75 (another run held the lock; the unit counts it as a success).
pub fn failure_line(err: &dyn std::fmt::Display, code: u8) -> String {
    line_for(err, code, under_journal())
}

fn line_for(err: &dyn std::fmt::Display, code: u8, journal: bool) -> String {
    let priority = if code == 75 { 4 } else { 3 };
    if journal {
        format!("<{priority}>credshim: {err}")
    } else {
        format!("credshim: {err}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_lock_is_a_warning_in_the_journal_and_the_rest_errors() {
        assert_eq!(line_for(&"lock busy", 75, true), "<4>credshim: lock busy");
        assert_eq!(
            line_for(&"mint failed", 69, true),
            "<3>credshim: mint failed"
        );
        assert_eq!(line_for(&"mint failed", 69, false), "credshim: mint failed");
    }
}
