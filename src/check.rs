//! How long the credential in a target has left: `credshim check` and `--min-ttl`.
//!
//! The expiry of a stored credential is the RFC 3339 value of a key written from `@expiry` when
//! there is one, else the JWT `exp` of the credential itself; otherwise it is unknown. `check`
//! turns that into one line of Nagios plugin output and the plugin exit codes (0 OK, 1 WARNING,
//! 2 CRITICAL, 3 UNKNOWN); it only reads, and takes no lock (the target is only ever replaced by
//! rename, so a read sees a whole file).

use crate::config::CheckConfig;
use crate::duration::human;
use crate::expiry;
use crate::target::Target;
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;

/// Plugin states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl State {
    fn label(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }
}

/// Run `check`: the plugin state and its one output line. A command line that does not make
/// sense (`Err`, from [`CheckConfig::from_args`]) is UNKNOWN.
pub fn check(cfg: Result<&CheckConfig, &str>, now: Timestamp) -> (State, String) {
    let (state, text, ttl) = match cfg {
        Ok(cfg) => evaluate(cfg, now),
        Err(why) => (State::Unknown, why.to_string(), None),
    };
    let mut line = format!("CREDSHIM {} - {text}", state.label());
    if let (Some(ttl), Ok(cfg)) = (ttl, cfg) {
        line.push_str(&format!(
            " | ttl={}s;{};{}",
            ttl.as_secs(),
            cfg.warn.as_secs(),
            cfg.crit.as_secs()
        ));
    }
    (state, line)
}

fn evaluate(args: &CheckConfig, now: Timestamp) -> (State, String, Option<SignedDuration>) {
    let key = &args.key;
    let target = match Target::resolve_for_reading(&args.target) {
        Ok(t) => t,
        Err(e @ crate::error::Error::NoInput { .. }) => {
            return (State::Critical, e.to_string(), None);
        }
        Err(e) => return (State::Unknown, e.to_string(), None),
    };
    let read = target.read().and_then(|text| {
        let format = args.format;
        let value = format.get(&text, key, &target.given)?;
        let expiry = match &args.expiry_key {
            Some(k) => format.get(&text, k, &target.given)?,
            None => None,
        };
        Ok((value, expiry))
    });
    let (value, expiry_value) = match read {
        Ok(pair) => pair,
        Err(e) => return (State::Unknown, e.to_string(), None),
    };
    let Some(value) = value else {
        return (
            State::Critical,
            format!("{key} is missing from {}", args.target.display()),
            None,
        );
    };
    let Some(expiry) = expiry::stored(expiry_value.as_deref(), Some(&value), now) else {
        let hint = match &args.expiry_key {
            Some(k) => format!("{k} is missing or not an RFC 3339 time, and {key} is not a JWT"),
            None => format!("{key} is not a JWT; give --expiry-key"),
        };
        return (State::Unknown, format!("no expiry known: {hint}"), None);
    };
    let ttl = expiry.duration_since(now);
    let left =
        |limit: Duration| ttl < SignedDuration::try_from(limit).unwrap_or(SignedDuration::MAX);
    let state = if ttl <= SignedDuration::ZERO || left(args.crit) {
        State::Critical
    } else if left(args.warn) {
        State::Warning
    } else {
        State::Ok
    };
    let text = if ttl <= SignedDuration::ZERO {
        format!("{key} expired {} ago", human(-ttl))
    } else {
        format!("{key} expires in {}", human(ttl))
    };
    (state, text, Some(ttl))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_key_wins_over_the_jwt_and_garbage_falls_back() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let exp = expiry::stored(Some("2026-01-01T01:00:00Z"), Some("opaque"), now);
        assert_eq!(exp, Some("2026-01-01T01:00:00Z".parse().unwrap()));
        assert_eq!(expiry::stored(Some("soon"), Some("opaque"), now), None);
        assert_eq!(expiry::stored(None, None, now), None);
    }
}
