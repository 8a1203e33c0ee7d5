//! Reading the expiry a mint states (`--expiry-from`, interpreted per `--expiry-format`), and
//! rendering `@expiry` values. Pure: no I/O and no clock — "now" is always passed in. Every
//! [`ExpiryError`] means the mint output is unusable (exit 76), and no error message repeats a
//! value that could be a secret: only values already proven to be date-times are quoted.

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
    #[error(
        "expiry is a lease of 0 seconds: the secret has no lease (a KV or static secret, not a \
         dynamic credential), so no expiry is stated; declare its lifetime with --ttl"
    )]
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

/// `@expiry` rendering: RFC 3339 in UTC with `Z`, whole seconds (truncated),
/// e.g. `2026-08-21T13:46:32Z`.
#[must_use]
pub fn format_expiry(ts: Timestamp) -> String {
    // Precision 0 truncates the fraction rather than rounding it.
    format!("{ts:.0}")
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
