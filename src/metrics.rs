//! Prometheus textfile-collector metrics.
//!
//! Written atomically (temp file and rename, via [`crate::write`]) at the end of every run, success
//! or failure: a failing run is exactly what monitoring must see. All series are gauges labelled
//! with the target, since a stateless run cannot keep counters. What this run cannot know (the
//! last success on a failing run, a mint duration when nothing was minted, an unknown expiry) is
//! carried over from the file it replaces. One metrics file per job.

use crate::error::Error;
use crate::report::Report;
use crate::target::Target;
use crate::write;
use jiff::Timestamp;
use std::fmt::Write as _;
use std::path::Path;

const SERIES: [(&str, &str); 5] = [
    (
        "credshim_last_run_timestamp_seconds",
        "Unix time when the last run ended.",
    ),
    (
        "credshim_last_success_timestamp_seconds",
        "Unix time when a run last exited 0.",
    ),
    (
        "credshim_last_exit_code",
        "Exit code of the last run (0 OK; see credshim --help).",
    ),
    (
        "credshim_credential_expiry_timestamp_seconds",
        "Unix time when the credential in the target expires.",
    ),
    (
        "credshim_mint_duration_seconds",
        "Time the last mint took, retries included.",
    ),
];

/// Write the metrics of `report`, a run on `target`, to `path`.
pub fn write(path: &Path, target: &Path, report: &Report, now: Timestamp) -> Result<(), Error> {
    // The label is the real path as the walk found it (never a path it would not follow).
    let label = Target::resolve_for_reading(target)
        .map(|t| t.real)
        .unwrap_or_else(|_| target.to_path_buf());
    let label = escape(&label.to_string_lossy());
    let file = Target::resolve(path, true)?;
    let old = file.read().unwrap_or_default();
    let now = now.as_millisecond() as f64 / 1000.0;
    let values: [Option<f64>; 5] = [
        Some(now),
        if report.exit_code == 0 {
            Some(now)
        } else {
            previous(&old, SERIES[1].0, &label)
        },
        Some(f64::from(report.exit_code)),
        report
            .expiry
            .map(|t| t.as_second() as f64)
            .or_else(|| previous(&old, SERIES[3].0, &label)),
        report
            .mint_seconds
            .or_else(|| previous(&old, SERIES[4].0, &label)),
    ];
    let text = render(&label, &values);
    write::replace(&file, text.as_bytes(), 0o644, false)
}

fn render(label: &str, values: &[Option<f64>; 5]) -> String {
    let mut out = String::new();
    for ((name, help), value) in SERIES.iter().zip(values) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        if let Some(v) = value {
            let _ = writeln!(out, "{name}{{target=\"{label}\"}} {v}");
        }
    }
    out
}

/// The value of `name{target="label"}` in an earlier file.
fn previous(old: &str, name: &str, label: &str) -> Option<f64> {
    let prefix = format!("{name}{{target=\"{label}\"}} ");
    old.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

/// Label-value escaping of the text format: backslash, double quote, newline.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_and_carry_over() {
        let text = render(
            "/a/\"b\"",
            &[Some(10.5), None, Some(69.0), Some(20.0), None],
        );
        assert!(text.contains("credshim_last_run_timestamp_seconds{target=\"/a/\"b\"\"} 10.5\n"));
        assert!(!text.contains("credshim_last_success_timestamp_seconds{"));
        assert_eq!(
            previous(&text, "credshim_last_exit_code", "/a/\"b\""),
            Some(69.0)
        );
        assert_eq!(previous(&text, "credshim_last_exit_code", "/other"), None);
        assert_eq!(escape("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }
}
