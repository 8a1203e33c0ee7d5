//! Durations: the flags' syntax (`30s`, `10m`, `1h30m`, `PT10M`, bare seconds), and their
//! rendering in messages and logs. Its own module because three others need it: the command
//! line parses with it, errors and logs print with it, and the expiry policy words time left.

use jiff::SignedDuration;
use std::time::Duration;

/// The longest duration a flag takes.
const MAX_DURATION: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

/// Parse a duration flag value: `30s`, `10m`, `1h`, `1h30m`, `1.5h`, ISO 8601 `PT10M`, or bare
/// digits meaning seconds (`90`).
///
/// # Errors
///
/// A one-line message, fit to be a clap `value_parser` error, for anything else, negative
/// durations included.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let parsed = if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse::<i64>().ok().map(SignedDuration::from_secs)
    } else {
        t.parse::<SignedDuration>().ok()
    };
    let d = parsed.ok_or_else(|| {
        format!("invalid duration {s:?}: expected e.g. 30s, 10m, 1h30m, or 90 (seconds)")
    })?;
    let d = Duration::try_from(d)
        .map_err(|_| format!("invalid duration {s:?}: must not be negative"))?;
    // Past this, adding it to a clock overflows; nothing credshim waits for is that long.
    if d > MAX_DURATION {
        return Err(format!("invalid duration {s:?}: longer than 10 years"));
    }
    Ok(d)
}

/// A duration for a message, as a flag would take it: `30s`, `2m 5s`, or `0.3s` below ten
/// seconds when it has a fraction (never `30.000114894s`).
#[must_use]
pub fn short(d: std::time::Duration) -> String {
    let tenths = (d.as_millis() + 50) / 100;
    if tenths < 100 && !tenths.is_multiple_of(10) {
        return format!("{}.{}s", tenths / 10, tenths % 10);
    }
    human(SignedDuration::from_secs(
        ((d.as_millis() + 500) / 1000) as i64,
    ))
}

/// Human rendering of a (possibly negative) time left, for messages: `52m`, `1h 5m`, `45s`,
/// `2d 3h`, `-3m` when expired. Coarse: the largest unit and the next one when non-zero; the
/// fraction of a second is dropped.
#[must_use]
pub fn human(d: SignedDuration) -> String {
    let secs = d.as_secs();
    let sign = if secs < 0 { "-" } else { "" };
    let mut rest = secs.unsigned_abs();
    let mut parts = Vec::with_capacity(2);
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        let n = rest / size;
        rest %= size;
        if !parts.is_empty() || n > 0 {
            parts.push((n, unit));
        }
        if parts.len() == 2 {
            break;
        }
    }
    let text: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if text.is_empty() {
        "0s".to_owned()
    } else {
        format!("{sign}{}", text.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_durations_read_like_flags() {
        use std::time::Duration;
        assert_eq!(short(Duration::from_nanos(30_000_114_894)), "30s");
        assert_eq!(short(Duration::from_millis(300)), "0.3s");
        assert_eq!(short(Duration::from_millis(2_000)), "2s");
        assert_eq!(short(Duration::from_secs(125)), "2m 5s");
        assert_eq!(short(Duration::ZERO), "0s");
    }
    #[test]
    fn parse_duration_accepts_flag_forms() {
        let secs = |s| parse_duration(s).map(|d| d.as_secs_f64());
        assert_eq!(secs("30s"), Ok(30.0));
        assert_eq!(secs("10m"), Ok(600.0));
        assert_eq!(secs("1h"), Ok(3600.0));
        assert_eq!(secs("1h30m"), Ok(5400.0));
        assert_eq!(secs("1h 30m"), Ok(5400.0));
        assert_eq!(secs("1.5h"), Ok(5400.0));
        assert_eq!(secs("90"), Ok(90.0));
        assert_eq!(secs("0"), Ok(0.0));
        assert_eq!(secs("500ms"), Ok(0.5));
        assert_eq!(secs("PT5M"), Ok(300.0));
        assert_eq!(secs(" 10m "), Ok(600.0));
    }

    #[test]
    fn parse_duration_refuses_bad_input() {
        for bad in [
            "",
            "abc",
            "-5m",
            "5m ago",
            "-90",
            "10x",
            "1h30",
            "99999999999999999999",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(!err.contains('\n') && !err.ends_with('.'), "{err}");
            assert!(err.starts_with("invalid duration"), "{err}");
        }
        assert!(parse_duration("-5m").unwrap_err().contains("negative"));
    }

    #[test]
    fn human_is_coarse_and_signed() {
        let h = |s| human(SignedDuration::from_secs(s));
        assert_eq!(h(52 * 60), "52m");
        assert_eq!(h(3600 + 5 * 60 + 59), "1h 5m");
        assert_eq!(h(3600 + 30), "1h");
        assert_eq!(h(45), "45s");
        assert_eq!(h(-3 * 60), "-3m");
        assert_eq!(h(-(3 * 60 + 20)), "-3m 20s");
        assert_eq!(h(2 * 86_400 + 3 * 3600 + 59), "2d 3h");
        assert_eq!(h(0), "0s");
        assert_eq!(human(SignedDuration::from_millis(-400)), "0s");
    }
}
