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

/// Plugin states, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
    let state = state_of(ttl, args.warn, args.crit);
    let text = if ttl <= SignedDuration::ZERO {
        format!("{key} expired {} ago", human(-ttl))
    } else {
        format!("{key} expires in {}", human(ttl))
    };
    (state, text, Some(ttl))
}

/// The state of a credential with `ttl` left: CRITICAL when expired or under `crit`, WARNING
/// under `warn`.
fn state_of(ttl: SignedDuration, warn: Duration, crit: Duration) -> State {
    let left =
        |limit: Duration| ttl < SignedDuration::try_from(limit).unwrap_or(SignedDuration::MAX);
    if ttl <= SignedDuration::ZERO || left(crit) {
        State::Critical
    } else if left(warn) {
        State::Warning
    } else {
        State::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The README's rule, on days of the shipped timer (every 5 minutes, up to 60 s late) with
    /// `--min-ttl 15m` on 1-hour tokens: the default thresholds never WARN while every run
    /// rotates on schedule (at least 9 minutes are always left); one failed run is at worst a
    /// WARNING, and three in a row always are.
    #[test]
    fn default_thresholds_warn_only_when_a_rotation_is_overdue() {
        let cfg =
            crate::cli::Cli::try_parse_from(["credshim", "check", "--target", "t", "--key", "K"])
                .unwrap();
        let crate::cli::Command::Check(args) = cfg.command else {
            panic!("not check")
        };
        let (warn, crit) = (args.warn, args.crit);
        let (min_ttl, life, step) = (15 * 60, 3600, 10);
        // `failures` runs in a row fail, from the first one due after ten hours.
        let day = |seed: u64, mut failures: u32| {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut expiry = life;
            let mut next_run = 0;
            let mut worst = State::Ok;
            for now in (0..86_400).step_by(step) {
                if now >= next_run {
                    if expiry - now <= min_ttl {
                        if now >= 36_000 && failures > 0 {
                            failures -= 1;
                        } else {
                            expiry = now + life;
                        }
                    }
                    next_run = (now / 300 + 1) * 300 + rng.i64(0..=60);
                }
                let state = state_of(SignedDuration::from_secs(expiry - now), warn, crit);
                worst = worst.max(state);
            }
            worst
        };
        for seed in 0..20 {
            assert_eq!(day(seed, 0), State::Ok, "seed {seed}");
            assert!(day(seed, 1) <= State::Warning, "seed {seed}");
            assert!(day(seed, 3) >= State::Warning, "seed {seed}");
        }
    }

    #[test]
    fn expiry_key_wins_over_the_jwt_and_garbage_falls_back() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let exp = expiry::stored(Some("2026-01-01T01:00:00Z"), Some("opaque"), now);
        assert_eq!(exp, Some("2026-01-01T01:00:00Z".parse().unwrap()));
        assert_eq!(expiry::stored(Some("soon"), Some("opaque"), now), None);
        assert_eq!(expiry::stored(None, None, now), None);
    }
}
