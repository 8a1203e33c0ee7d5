//! When does a credential expire? This module reads the expiry a mint states (`--expiry-from`,
//! interpreted per `--expiry-format`), finds the `exp` claim of a JWT, renders `@expiry` values,
//! parses duration flags (`--ttl`, `--min-ttl`, the timeouts) and renders time left for messages.
//! It is pure: no I/O and no clock — "now" is always passed in. Every [`ExpiryError`] means the
//! mint output is unusable (exit 76), and no error message repeats a value that could be a secret:
//! only values already proven to be date-times are quoted.

use std::time::Duration;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jiff::{SignedDuration, Timestamp, civil};
use serde_json::Value;

/// How to read the expiry value that `--expiry-from` points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ExpiryFormat {
    /// A JSON number or digit string is epoch seconds; anything else RFC 3339 with a zone
    #[default]
    Auto,
    /// RFC 3339 with `Z` or an offset, e.g. `2026-08-21T13:46:32Z`
    Rfc3339,
    /// Seconds since the Unix epoch, integer or fractional
    Epoch,
    /// Milliseconds since the Unix epoch
    EpochMs,
    /// Seconds from now, like Vault's `lease_duration`
    Seconds,
}

/// Why an expiry value could not be read. Every variant maps to exit 76 (PROTOCOL).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ExpiryError {
    /// The value is not a string or number.
    #[error("expiry is {found}, expected a timestamp string or a number")]
    WrongType {
        /// `a boolean`, `null`, `an object` or `an array`.
        found: &'static str,
    },
    /// A number where `--expiry-format rfc3339` wants a string.
    #[error("expiry is a number, not an RFC 3339 timestamp; use --expiry-format epoch or auto")]
    NumberNotRfc3339,
    /// A negative number (or a string with a sign) where a count was wanted.
    #[error("expiry is negative")]
    Negative,
    /// A date-time without `Z` or an offset (Azure CLI's `expiresOn`); its zone is a guess.
    #[error(
        "expiry {value:?} has no time zone; point --expiry-from at an epoch value such as expires_on, or at an RFC 3339 time with Z or an offset"
    )]
    MissingZone {
        /// The zone-less date-time, safe to show: it parsed as a civil date-time.
        value: String,
    },
    /// A string that is neither a timestamp nor a number.
    #[error("expiry is not {expected} (a string of {len} characters)")]
    Unreadable {
        /// What `--expiry-format` asked for.
        expected: &'static str,
        /// Length of the string; its content is not shown, it could be a secret.
        len: usize,
    },
    /// The expiry falls before 2000-01-01.
    #[error("expiry read as {read_as} is before the year 2000")]
    TooEarly {
        /// The `--expiry-format` that was applied.
        read_as: &'static str,
    },
    /// The expiry falls beyond the year 9999.
    #[error("expiry read as {read_as} is beyond the year 9999{hint}")]
    TooLate {
        /// The `--expiry-format` that was applied.
        read_as: &'static str,
        /// A suggestion when the number would make sense in milliseconds.
        hint: &'static str,
    },
    /// Vault's `lease_duration` of 0: the credential never expires, so no expiry can be stated.
    #[error("expiry is a lease of 0 seconds, which means no expiry; use --ttl instead")]
    ZeroLease,
}

/// 2000-01-01T00:00:00Z: anything earlier is a unit mix-up, not a credential's expiry.
const EARLIEST: i64 = 946_684_800;

const RFC3339: &str = "an RFC 3339 timestamp with a zone";
const EPOCH: &str = "epoch seconds";
const EPOCH_MS: &str = "epoch milliseconds";
const SECONDS: &str = "seconds from now";

/// Read an expiry value from the mint's JSON output.
///
/// `auto`: a JSON number or a digit string is epoch seconds; anything else is RFC 3339 with `Z` or
/// an offset (fractional seconds of any length). `rfc3339`: only that. `epoch`: integer or
/// fractional seconds, as a number or a digit string. `epoch-ms`: milliseconds. `seconds`: relative
/// to `now`. Booleans, null, objects, arrays, negative values, zone-less date-times and results
/// before 2000 or beyond 9999 are refused.
///
/// # Errors
///
/// An [`ExpiryError`] naming what was wrong; it never quotes a value that could be a secret.
pub fn parse_expiry(
    value: &Value,
    format: ExpiryFormat,
    now: Timestamp,
) -> Result<Timestamp, ExpiryError> {
    if !(value.is_number() || value.is_string()) {
        return Err(wrong_type(value));
    }
    let (ts, read_as) = match (format, value) {
        (ExpiryFormat::Auto | ExpiryFormat::Rfc3339, Value::String(s))
            if format == ExpiryFormat::Rfc3339 || Amount::from_str(s).is_none() =>
        {
            (parse_rfc3339(s)?, RFC3339)
        }
        (ExpiryFormat::Rfc3339, _) => return Err(ExpiryError::NumberNotRfc3339),
        (ExpiryFormat::Auto | ExpiryFormat::Epoch, _) => {
            (from_epoch(amount(value, EPOCH)?, 1, EPOCH)?, EPOCH)
        }
        (ExpiryFormat::EpochMs, _) => (
            from_epoch(amount(value, EPOCH_MS)?, 1000, EPOCH_MS)?,
            EPOCH_MS,
        ),
        (ExpiryFormat::Seconds, _) => {
            let too_late = ExpiryError::TooLate {
                read_as: SECONDS,
                hint: "",
            };
            let lease = amount(value, SECONDS)?
                .to_duration(1)
                .ok_or(too_late.clone())?;
            if lease.is_zero() {
                return Err(ExpiryError::ZeroLease);
            }
            (now.checked_add(lease).map_err(|_| too_late)?, SECONDS)
        }
    };
    if ts.as_second() < EARLIEST {
        return Err(ExpiryError::TooEarly { read_as });
    }
    Ok(ts)
}

/// A non-negative count read from a JSON number or a digit string (`123` or `123.45`).
#[derive(Debug, Clone, Copy)]
enum Amount {
    Int(u64),
    Float(f64),
}

impl Amount {
    /// `None` unless `s` is digits with an optional `.digits`; signs, exponents and `inf` are not
    /// counts. A digit string too long for `u64` becomes a huge float, refused later as too late.
    fn from_str(s: &str) -> Option<Amount> {
        let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || !digits(frac) {
            return None;
        }
        match (s.contains('.'), s.parse::<u64>()) {
            (false, Ok(n)) => Some(Amount::Int(n)),
            _ => s.parse::<f64>().ok().map(Amount::Float),
        }
    }

    /// The amount as a duration, `per_second` units making one second; `None` when it is too big.
    fn to_duration(self, per_second: u32) -> Option<SignedDuration> {
        match self {
            Amount::Int(n) => {
                let n = i64::try_from(n).ok()?;
                Some(if per_second == 1 {
                    SignedDuration::from_secs(n)
                } else {
                    SignedDuration::from_millis(n)
                })
            }
            Amount::Float(x) => SignedDuration::try_from_secs_f64(x / f64::from(per_second)).ok(),
        }
    }
}

fn amount(value: &Value, expected: &'static str) -> Result<Amount, ExpiryError> {
    match value {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Ok(Amount::Int(u))
            } else if n.as_i64().is_some() {
                Err(ExpiryError::Negative)
            } else {
                // Without serde_json's arbitrary_precision every number is an f64 at worst.
                match n.as_f64() {
                    Some(x) if x < 0.0 => Err(ExpiryError::Negative),
                    Some(x) => Ok(Amount::Float(x)),
                    None => Err(ExpiryError::TooLate {
                        read_as: expected,
                        hint: "",
                    }),
                }
            }
        }
        Value::String(s) => Amount::from_str(s).ok_or(if s.starts_with('-') {
            ExpiryError::Negative
        } else {
            ExpiryError::Unreadable {
                expected,
                len: s.chars().count(),
            }
        }),
        other => Err(wrong_type(other)),
    }
}

fn wrong_type(value: &Value) -> ExpiryError {
    let found = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
    };
    ExpiryError::WrongType { found }
}

fn from_epoch(
    amount: Amount,
    per_second: u32,
    read_as: &'static str,
) -> Result<Timestamp, ExpiryError> {
    // Epoch seconds that only make sense as milliseconds are the usual mix-up.
    let hint = if per_second == 1
        && amount
            .to_duration(1000)
            .and_then(|d| Timestamp::from_duration(d).ok())
            .is_some_and(|ts| ts.as_second() >= EARLIEST)
    {
        "; if it is in milliseconds use --expiry-format epoch-ms"
    } else {
        ""
    };
    amount
        .to_duration(per_second)
        .and_then(|d| Timestamp::from_duration(d).ok())
        .ok_or(ExpiryError::TooLate { read_as, hint })
}

fn parse_rfc3339(s: &str) -> Result<Timestamp, ExpiryError> {
    match s.parse::<Timestamp>() {
        Ok(ts) => Ok(ts),
        // Parsed as a wall-clock time, so it carries no secret and is worth quoting.
        Err(_) if s.parse::<civil::DateTime>().is_ok() => Err(ExpiryError::MissingZone {
            value: s.to_owned(),
        }),
        Err(_) => Err(ExpiryError::Unreadable {
            expected: RFC3339,
            len: s.chars().count(),
        }),
    }
}

/// Base64url that takes segments with or without `=` padding, as JWT producers disagree.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The `exp` claim of a JWT, or `None` when `token` is not a JWT or states no usable `exp`.
///
/// A JWT is exactly three `.`-separated base64url segments (padded or not) whose header is a JSON
/// object with an `alg` member and whose payload is a JSON object. A five-segment JWE is opaque.
/// A fractional `exp` is floored. The signature is not checked.
#[must_use]
pub fn jwt_exp(token: &str) -> Option<Timestamp> {
    let mut segments = token.split('.');
    let (header, payload, signature) = (segments.next()?, segments.next()?, segments.next()?);
    if segments.next().is_some() {
        return None;
    }
    // The signature is empty for `alg: none`, but must still be base64url when present.
    BASE64URL.decode(signature).ok()?;
    let header: Value = serde_json::from_slice(&BASE64URL.decode(header).ok()?).ok()?;
    header.as_object()?.get("alg")?;
    let payload: Value = serde_json::from_slice(&BASE64URL.decode(payload).ok()?).ok()?;
    let exp = payload.as_object()?.get("exp")?.as_number()?;
    let second = match exp.as_i64() {
        Some(s) => s,
        // `as` saturates; an out-of-range second is then refused by `from_second`.
        #[allow(clippy::cast_possible_truncation)]
        None => exp.as_f64()?.floor() as i64,
    };
    Timestamp::from_second(second).ok()
}

/// `@expiry` rendering: RFC 3339 in UTC with `Z`, whole seconds (truncated),
/// e.g. `2026-08-21T13:46:32Z`.
#[must_use]
pub fn format_expiry(ts: Timestamp) -> String {
    // Precision 0 truncates the fraction rather than rounding it.
    format!("{ts:.0}")
}

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

/// Human rendering of a (possibly negative) time left, for messages: `52m`, `1h 5m`, `45s`,
/// `2d 3h`, `-3m` when expired. Coarse: the largest unit and the next one when non-zero; the
/// fraction of a second is dropped.
#[must_use]
/// A duration for a message, as a flag would take it: `30s`, `2m 5s`, or `0.3s` below ten
/// seconds when it has a fraction (never `30.000114894s`).
pub fn short(d: std::time::Duration) -> String {
    let tenths = (d.as_millis() + 50) / 100;
    if tenths < 100 && !tenths.is_multiple_of(10) {
        return format!("{}.{}s", tenths / 10, tenths % 10);
    }
    human(SignedDuration::from_secs(
        ((d.as_millis() + 500) / 1000) as i64,
    ))
}

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
    use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
    use proptest::prelude::*;
    use serde_json::json;

    /// 2026-08-21T13:46:32Z, the instant most fixtures below describe.
    const EXP: i64 = 1_787_319_992;

    fn now() -> Timestamp {
        Timestamp::from_second(1_787_316_392).unwrap() // EXP - 1h
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    /// Parse `field` of a mint's JSON output, as `--expiry-from /field` would.
    fn field(output: &str, field: &str, format: ExpiryFormat) -> Result<Timestamp, ExpiryError> {
        let out: Value = serde_json::from_str(output).unwrap();
        parse_expiry(&out[field], format, now())
    }

    #[test]
    fn databricks_expire_time_with_millis() {
        let out = r#"{"expire_time":"2026-08-21T13:46:32.418Z","token":"eyJ..."}"#;
        for f in [ExpiryFormat::Auto, ExpiryFormat::Rfc3339] {
            let got = field(out, "expire_time", f).unwrap();
            assert_eq!(got, ts("2026-08-21T13:46:32.418Z"));
            assert_eq!(format_expiry(got), "2026-08-21T13:46:32Z");
        }
    }

    #[test]
    fn aws_sts_expiration_with_offset() {
        let out = r#"{"Credentials":{"Expiration":"2026-08-21T13:46:32+00:00"}}"#;
        let out: Value = serde_json::from_str(out).unwrap();
        let v = out.pointer("/Credentials/Expiration").unwrap();
        assert_eq!(parse_expiry(v, ExpiryFormat::Auto, now()), Ok(at(EXP)));
        assert_eq!(parse_expiry(v, ExpiryFormat::Rfc3339, now()), Ok(at(EXP)));
    }

    #[test]
    fn non_utc_offset_and_nanoseconds() {
        let v = json!("2026-08-21T15:46:32.123456789+02:00");
        let got = parse_expiry(&v, ExpiryFormat::Auto, now()).unwrap();
        assert_eq!(got, Timestamp::new(EXP, 123_456_789).unwrap());
        let v = json!("2026-08-21T13:46:32.123456789+00:00");
        assert_eq!(
            parse_expiry(&v, ExpiryFormat::Rfc3339, now()),
            Ok(Timestamp::new(EXP, 123_456_789).unwrap())
        );
    }

    #[test]
    fn azure_expires_on_number_and_string() {
        for out in [
            r#"{"expires_on":1787319992}"#,
            r#"{"expires_on":"1787319992"}"#,
        ] {
            assert_eq!(field(out, "expires_on", ExpiryFormat::Auto), Ok(at(EXP)));
            assert_eq!(field(out, "expires_on", ExpiryFormat::Epoch), Ok(at(EXP)));
        }
    }

    #[test]
    fn azure_expires_on_without_zone_is_refused_with_hint() {
        let out = r#"{"expiresOn":"2026-08-21 14:46:32.000000","expires_on":1787319992}"#;
        for f in [ExpiryFormat::Auto, ExpiryFormat::Rfc3339] {
            let err = field(out, "expiresOn", f).unwrap_err();
            assert_eq!(
                err,
                ExpiryError::MissingZone {
                    value: "2026-08-21 14:46:32.000000".into()
                }
            );
            let msg = err.to_string();
            assert!(msg.contains("no time zone"), "{msg}");
            assert!(msg.contains("expires_on"), "{msg}");
        }
        let err = parse_expiry(&json!("2026-08-21T14:46:32"), ExpiryFormat::Auto, now());
        assert!(
            matches!(err, Err(ExpiryError::MissingZone { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn vault_lease_duration_is_relative_to_now() {
        let out = r#"{"lease_duration":3600,"lease_id":"x"}"#;
        assert_eq!(
            field(out, "lease_duration", ExpiryFormat::Seconds),
            Ok(at(EXP))
        );
        let v = json!("3600");
        assert_eq!(parse_expiry(&v, ExpiryFormat::Seconds, now()), Ok(at(EXP)));
        // A lease of 0 is Vault's "never expires"; an expiry of now would re-mint every run.
        assert_eq!(
            parse_expiry(&json!(0), ExpiryFormat::Seconds, now()),
            Err(ExpiryError::ZeroLease)
        );
    }

    #[test]
    fn epoch_ms_and_float_epoch() {
        let ms = json!(1_787_319_992_418_u64);
        let want = Timestamp::new(EXP, 418_000_000).unwrap();
        assert_eq!(parse_expiry(&ms, ExpiryFormat::EpochMs, now()), Ok(want));
        let ms = json!("1787319992418");
        assert_eq!(parse_expiry(&ms, ExpiryFormat::EpochMs, now()), Ok(want));

        let float = json!(1_787_319_992.5);
        let want = Timestamp::new(EXP, 500_000_000).unwrap();
        assert_eq!(parse_expiry(&float, ExpiryFormat::Epoch, now()), Ok(want));
        assert_eq!(parse_expiry(&float, ExpiryFormat::Auto, now()), Ok(want));
        let float = json!("1787319992.5");
        assert_eq!(parse_expiry(&float, ExpiryFormat::Epoch, now()), Ok(want));
    }

    #[test]
    fn milliseconds_read_as_seconds_are_refused_with_hint() {
        let err = parse_expiry(&json!(1_787_319_992_418_u64), ExpiryFormat::Auto, now());
        let err = err.unwrap_err();
        assert!(matches!(err, ExpiryError::TooLate { .. }), "{err:?}");
        assert!(err.to_string().contains("epoch-ms"), "{err}");
    }

    #[test]
    fn wrong_types_are_refused() {
        for (v, found) in [
            (json!(true), "a boolean"),
            (json!(null), "null"),
            (json!({"a": 1}), "an object"),
            (json!([1]), "an array"),
        ] {
            for f in [
                ExpiryFormat::Auto,
                ExpiryFormat::Epoch,
                ExpiryFormat::Seconds,
            ] {
                assert_eq!(
                    parse_expiry(&v, f, now()),
                    Err(ExpiryError::WrongType { found })
                );
            }
        }
        // rfc3339 wants a string, not a number.
        assert_eq!(
            parse_expiry(&json!(EXP), ExpiryFormat::Rfc3339, now()),
            Err(ExpiryError::NumberNotRfc3339)
        );
    }

    #[test]
    fn negative_and_absurd_values_are_refused() {
        for f in [
            ExpiryFormat::Auto,
            ExpiryFormat::Epoch,
            ExpiryFormat::Seconds,
        ] {
            assert_eq!(
                parse_expiry(&json!(-1), f, now()),
                Err(ExpiryError::Negative)
            );
            assert_eq!(
                parse_expiry(&json!(-1.5), f, now()),
                Err(ExpiryError::Negative)
            );
        }
        assert_eq!(
            parse_expiry(&json!("-5"), ExpiryFormat::Epoch, now()),
            Err(ExpiryError::Negative)
        );
        let early = |v: Value, f| {
            matches!(
                parse_expiry(&v, f, now()),
                Err(ExpiryError::TooEarly { .. })
            )
        };
        assert!(early(json!(0), ExpiryFormat::Auto));
        assert!(early(json!(EARLIEST - 1), ExpiryFormat::Epoch));
        assert!(early(json!(EXP), ExpiryFormat::EpochMs)); // seconds read as ms: 1970
        assert!(early(json!("1999-12-31T23:59:59Z"), ExpiryFormat::Auto));
        assert_eq!(
            parse_expiry(&json!(EARLIEST), ExpiryFormat::Epoch, now()),
            Ok(at(EARLIEST))
        );
        let late =
            |v: Value, f| matches!(parse_expiry(&v, f, now()), Err(ExpiryError::TooLate { .. }));
        assert!(late(json!(u64::MAX), ExpiryFormat::Epoch));
        assert!(late(json!("99999999999999999999999"), ExpiryFormat::Epoch));
        assert!(late(json!(1e300), ExpiryFormat::Auto));
        assert!(late(json!(i64::MAX), ExpiryFormat::Seconds));
        assert!(late(json!(300_000_000_000_u64), ExpiryFormat::Epoch)); // year 11476
        // A year past 9999 does not even parse as a timestamp.
        assert!(parse_expiry(&json!("+10000-01-01T00:00:00Z"), ExpiryFormat::Auto, now()).is_err());
    }

    #[test]
    fn unreadable_strings_are_refused_without_echoing_them() {
        for (v, f) in [
            ("s3cr3t-token", ExpiryFormat::Auto),
            ("", ExpiryFormat::Auto),
            ("1787319992", ExpiryFormat::Rfc3339),
            ("1e9", ExpiryFormat::Epoch),
            ("inf", ExpiryFormat::Epoch),
            (" 3600", ExpiryFormat::Seconds),
            ("2026-08-21T13:46:32Z", ExpiryFormat::Epoch),
        ] {
            let err = parse_expiry(&json!(v), f, now()).unwrap_err();
            assert!(
                matches!(err, ExpiryError::Unreadable { .. }),
                "{v}: {err:?}"
            );
            let msg = err.to_string();
            assert!(v.is_empty() || !msg.contains(v), "{msg}");
        }
    }

    #[test]
    fn error_messages_are_one_lower_case_line() {
        let errors = [
            ExpiryError::WrongType { found: "null" },
            ExpiryError::NumberNotRfc3339,
            ExpiryError::Negative,
            ExpiryError::MissingZone { value: "x".into() },
            ExpiryError::Unreadable {
                expected: EPOCH,
                len: 3,
            },
            ExpiryError::TooEarly { read_as: EPOCH },
            ExpiryError::TooLate {
                read_as: EPOCH,
                hint: "",
            },
            ExpiryError::ZeroLease,
        ];
        for e in errors {
            let msg = e.to_string();
            assert!(!msg.contains('\n') && !msg.ends_with('.'), "{msg}");
            assert!(msg.starts_with(|c: char| c.is_lowercase()), "{msg}");
        }
    }

    fn jwt(header: &str, payload: &str, pad: bool) -> String {
        let engine = if pad { URL_SAFE } else { URL_SAFE_NO_PAD };
        format!(
            "{}.{}.{}",
            engine.encode(header),
            engine.encode(payload),
            engine.encode(b"signature bytes!")
        )
    }

    const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

    #[test]
    fn jwt_exp_with_and_without_padding() {
        // These lengths make both segments need `=` padding, so the two forms differ.
        let payload = format!(r#"{{"sub":"ab","exp":{EXP}}}"#);
        let unpadded = jwt(HEADER, &payload, false);
        let padded = jwt(HEADER, &payload, true);
        assert!(padded.contains('='), "{padded}");
        assert_eq!(jwt_exp(&unpadded), Some(at(EXP)));
        assert_eq!(jwt_exp(&padded), Some(at(EXP)));
    }

    #[test]
    fn jwt_exp_float_is_floored() {
        let token = jwt(HEADER, &format!(r#"{{"exp":{EXP}.9}}"#), false);
        assert_eq!(jwt_exp(&token), Some(at(EXP)));
    }

    #[test]
    fn jwt_with_empty_signature_is_a_jwt() {
        let token = jwt(r#"{"alg":"none"}"#, &format!(r#"{{"exp":{EXP}}}"#), false);
        let (unsigned, _) = token.rsplit_once('.').unwrap();
        assert_eq!(jwt_exp(&format!("{unsigned}.")), Some(at(EXP)));
    }

    #[test]
    fn not_a_jwt_or_no_exp_is_none() {
        let payload = format!(r#"{{"exp":{EXP}}}"#);
        let good = jwt(HEADER, &payload, false);
        assert!(jwt_exp(&good).is_some());
        let cases = [
            // missing exp
            jwt(HEADER, r#"{"sub":"x"}"#, false),
            // exp that is not a number
            jwt(HEADER, r#"{"exp":"1787319992"}"#, false),
            // header without alg
            jwt(r#"{"typ":"JWT"}"#, &payload, false),
            // header or payload not an object
            jwt("[1]", &payload, false),
            jwt(HEADER, "42", false),
            // 5-segment JWE
            format!(
                "{good}.{}.{}",
                URL_SAFE_NO_PAD.encode("iv"),
                URL_SAFE_NO_PAD.encode("tag")
            ),
            // two segments, four segments
            good.rsplit_once('.').unwrap().0.to_owned(),
            format!("{good}.x"),
            // signature that is not base64url
            format!("{}.a+b/", good.rsplit_once('.').unwrap().0),
            // garbage
            "not a jwt".into(),
            "a.b.c".into(),
            "..".into(),
            String::new(),
            "ya29.a0AfH6SMBx".into(),
        ];
        for token in cases {
            assert_eq!(jwt_exp(&token), None, "{token}");
        }
    }

    #[test]
    fn format_expiry_is_utc_whole_seconds() {
        assert_eq!(format_expiry(at(EXP)), "2026-08-21T13:46:32Z");
        let frac = Timestamp::new(EXP, 999_999_999).unwrap();
        assert_eq!(format_expiry(frac), "2026-08-21T13:46:32Z");
        assert_eq!(
            format_expiry(ts("2026-08-21T15:46:32+02:00")),
            "2026-08-21T13:46:32Z"
        );
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

    proptest! {
        #[test]
        fn format_then_parse_round_trips(second in EARLIEST..=Timestamp::MAX.as_second()) {
            let t = at(second);
            let text = format_expiry(t);
            prop_assert_eq!(parse_expiry(&json!(text), ExpiryFormat::Rfc3339, now()), Ok(t));
            prop_assert_eq!(parse_expiry(&json!(text), ExpiryFormat::Auto, now()), Ok(t));
        }

        #[test]
        fn epoch_seconds_round_trip(second in EARLIEST..=Timestamp::MAX.as_second()) {
            prop_assert_eq!(parse_expiry(&json!(second), ExpiryFormat::Epoch, now()), Ok(at(second)));
            prop_assert_eq!(parse_expiry(&json!(second.to_string()), ExpiryFormat::Auto, now()), Ok(at(second)));
        }
    }
}
