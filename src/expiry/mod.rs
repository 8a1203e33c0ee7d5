//! When does a credential expire, and is the one in the target still fresh enough to skip the
//! mint? The policy lives here; [`parse`] reads what a mint states (`--expiry-from` per
//! `--expiry-format`) and renders `@expiry` values, [`jwt`] reads a JWT's `exp`. No I/O and no
//! clock: "now" is always passed in.
//!
//! - The target's credential expires at its `@expiry` key's value, else at the JWT `exp` of the
//!   first key set from the mint ([`stored`]).
//! - It is fresh while every key set from the mint is present and it has more than `--min-ttl`
//!   left ([`is_fresh`]).
//! - A new credential expires at what `--expiry-from` points at, else its JWT `exp`, else now +
//!   `--ttl`, else never known ([`minted`]); one that lives no longer than `--min-ttl` is worth a
//!   warning, since every run will then mint ([`warn_if_short_lived`]).

mod jwt;
mod parse;

pub use jwt::jwt_exp;
pub use parse::{ExpiryError, ExpiryFormat, format_expiry, parse_expiry};

use crate::duration::human;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use std::time::Duration;

/// The expiry a target states: `expiry_value` (an `@expiry` key's value) if it reads as a time,
/// else the JWT `exp` of `token`.
pub fn stored(
    expiry_value: Option<&str>,
    token: Option<&str>,
    now: Timestamp,
) -> Option<Timestamp> {
    expiry_value
        .and_then(|v| parse_expiry(&Value::String(v.into()), ExpiryFormat::Rfc3339, now).ok())
        .or_else(|| token.and_then(jwt_exp))
}

/// What a 0 of seconds-from-now means, by where it was read: Vault's `ttl` of a static
/// credential (`database/static-creds/...`, `/data/ttl`) is 0 while Vault rotates it, so the next
/// run gets the new one; a lease of 0 (`/lease_duration`) means the secret has no lease at all
/// (a KV secret, a static secret), so its lifetime must be declared.
fn zero_lease_hint(pointer: &str) -> String {
    if pointer.ends_with("/ttl") {
        "a ttl of 0 seconds: Vault is rotating this static credential right now; the next run \
         gets the new one (a static role's rotation_period is its lifetime)"
            .into()
    } else {
        format!("{}", ExpiryError::ZeroLease)
    }
}

/// Whether the credential in the target, expiring at `expiry`, can stay: a `--min-ttl` is set,
/// no key taken from the mint is missing, and more than `min_ttl` is left. Says why at info.
pub fn is_fresh(
    min_ttl: Option<Duration>,
    missing: bool,
    expiry: Option<Timestamp>,
    now: Timestamp,
) -> bool {
    let (Some(min_ttl), Some(expiry)) = (min_ttl, expiry) else {
        return false;
    };
    if missing {
        log::info!("a key is missing from the target: minting");
        return false;
    }
    let left = expiry.duration_since(now);
    let fresh = left > signed(min_ttl);
    if fresh {
        log::info!(
            "the credential has {} left, more than --min-ttl: not minting",
            human(left)
        );
    }
    fresh
}

/// When the minted credential expires: the value `--expiry-from` points at (`stated`, read per
/// `format`), else the JWT `exp` of `first` (the first value set from the mint), else, for a
/// `--ttl`: the expiry already recorded when the mint handed back the very value the target
/// holds (`cached`: gcloud and az return their cached token until it nears its end, and
/// stamping it with now + ttl would make a dying token look fresh), else now + `ttl`, else
/// unknown. An unreadable stated expiry is an error naming the pointer.
pub fn minted(
    stated: Option<(&str, &Value)>,
    format: ExpiryFormat,
    first: Option<&str>,
    ttl: Option<Duration>,
    cached: Option<Timestamp>,
    now: Timestamp,
) -> Result<Option<Timestamp>, String> {
    if let Some((pointer, value)) = stated {
        return parse_expiry(value, format, now)
            .map(Some)
            .map_err(|e| match e {
                ExpiryError::ZeroLease => format!("{pointer}: {}", zero_lease_hint(pointer)),
                e => format!("{pointer}: {e}"),
            });
    }
    if let Some(exp) = first.and_then(jwt_exp) {
        return Ok(Some(exp));
    }
    if ttl.is_some() && cached.is_some() {
        log::info!("the mint handed back the token the target holds: its recorded expiry stays");
        return Ok(cached);
    }
    Ok(ttl
        .and_then(|ttl| SignedDuration::try_from(ttl).ok())
        .and_then(|ttl| now.checked_add(ttl).ok()))
}

/// Warn when a new credential lives no longer than `--min-ttl`: every run would mint.
pub fn warn_if_short_lived(min_ttl: Option<Duration>, expiry: Option<Timestamp>, now: Timestamp) {
    if let (Some(min_ttl), Some(expiry)) = (min_ttl, expiry) {
        let lives = expiry.duration_since(now);
        if lives <= signed(min_ttl) {
            log::warn!(
                "the new credential lives {}, not more than --min-ttl: every run will mint",
                human(lives)
            );
        }
    }
}

fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn fresh_only_with_min_ttl_all_keys_and_time_left() {
        let now = at(1_800_000_000);
        let m = Some(Duration::from_secs(600));
        assert!(is_fresh(m, false, Some(at(1_800_000_601)), now));
        assert!(!is_fresh(m, false, Some(at(1_800_000_600)), now));
        assert!(!is_fresh(m, true, Some(at(1_800_009_999)), now));
        assert!(!is_fresh(None, false, Some(at(1_800_009_999)), now));
        assert!(!is_fresh(m, false, None, now));
    }

    /// A day of the shipped gcloud job (`--ttl 55m --min-ttl 15m`, a run every 5 minutes up to
    /// 60 s late) against a model of gcloud's token cache: `print-access-token` hands back the
    /// cached 1-hour token until less than 3m45s is left (google-auth's refresh threshold), and
    /// credshim is its only user. The share of the day the target holds a dead token: with the
    /// recorded expiry kept for a cached token, and with the old stamp of now + ttl on it.
    fn dead_share_of_a_gcloud_day(keep_recorded: bool) -> f64 {
        let (ttl, min_ttl) = (
            Duration::from_secs(55 * 60),
            Some(Duration::from_secs(15 * 60)),
        );
        let mut rng = fastrand::Rng::with_seed(11);
        // gcloud's cache and the target: (token id, real expiry), and the expiry recorded.
        let mut cache = (0, 0);
        let mut file: Option<((u32, i64), Timestamp)> = None;
        let (mut next_run, mut dead) = (0, 0);
        for t in (0..86_400).step_by(10) {
            let now = at(1_800_000_000 + t);
            if t >= next_run {
                next_run = (t / 300 + 1) * 300 + rng.i64(0..=60);
                let recorded = file.map(|(_, e)| e);
                if !is_fresh(min_ttl, file.is_none(), recorded, now) {
                    if cache.1 - t < 225 {
                        cache = (cache.0 + 1, t + 3600);
                    }
                    let same = file.is_some_and(|(token, _)| token == cache);
                    let cached = if same && keep_recorded {
                        recorded
                    } else {
                        None
                    };
                    let e = minted(
                        None,
                        ExpiryFormat::Auto,
                        Some("opaque"),
                        Some(ttl),
                        cached,
                        now,
                    );
                    file = Some((cache, e.unwrap().unwrap()));
                }
            }
            if file.is_some_and(|((_, real), _)| real <= t) {
                dead += 1;
            }
        }
        f64::from(dead) / 8640.0
    }

    #[test]
    fn a_cached_token_keeps_its_recorded_expiry_so_the_target_is_rarely_dead() {
        let kept = dead_share_of_a_gcloud_day(true);
        let stamped = dead_share_of_a_gcloud_day(false);
        assert!(
            stamped > 0.15,
            "the model no longer shows the old failure: {stamped}"
        );
        assert!(kept < 0.05, "dead {:.1}% of the day", kept * 100.0);
        println!(
            "dead share of the day: {:.1}% kept, {:.1}% stamped",
            kept * 100.0,
            stamped * 100.0
        );
    }

    #[test]
    fn a_zero_ttl_of_a_static_credential_is_told_from_a_lease_of_zero() {
        let now = at(1_800_000_000);
        let zero = Value::from(0);
        let read = |pointer| {
            minted(
                Some((pointer, &zero)),
                ExpiryFormat::Seconds,
                None,
                None,
                None,
                now,
            )
        };
        let static_creds = read("/data/ttl").unwrap_err();
        assert!(
            static_creds.contains("Vault is rotating this static credential"),
            "{static_creds}"
        );
        let lease = read("/lease_duration").unwrap_err();
        assert!(
            lease.contains("has no lease") && lease.contains("--ttl"),
            "{lease}"
        );
    }

    #[test]
    fn minted_prefers_the_stated_expiry_then_the_jwt_then_the_ttl() {
        let now = at(1_800_000_000);
        let stated = Value::String("2027-01-15T08:00:00Z".into());
        let got = minted(
            Some(("/e", &stated)),
            ExpiryFormat::Auto,
            None,
            None,
            None,
            now,
        )
        .unwrap();
        assert_eq!(got, Some("2027-01-15T08:00:00Z".parse().unwrap()));
        let ttl = minted(
            None,
            ExpiryFormat::Auto,
            Some("opaque"),
            Some(Duration::from_secs(60)),
            None,
            now,
        );
        assert_eq!(ttl.unwrap(), Some(at(1_800_000_060)));
        assert_eq!(
            minted(None, ExpiryFormat::Auto, Some("opaque"), None, None, now).unwrap(),
            None
        );
        // A cached token keeps the expiry recorded for it; a new one gets now + ttl.
        let recorded = at(1_800_000_030);
        let cached = minted(
            None,
            ExpiryFormat::Auto,
            Some("opaque"),
            Some(Duration::from_secs(60)),
            Some(recorded),
            now,
        );
        assert_eq!(cached.unwrap(), Some(recorded));
        let bad = Value::Bool(true);
        let err = minted(
            Some(("/e", &bad)),
            ExpiryFormat::Auto,
            None,
            None,
            None,
            now,
        )
        .unwrap_err();
        assert!(err.starts_with("/e: "), "{err}");
    }

    #[test]
    fn stored_reads_the_expiry_key_before_the_jwt() {
        let now = at(1_800_000_000);
        assert_eq!(
            stored(Some("2027-01-15T08:00:00Z"), Some("not-a-jwt"), now),
            Some("2027-01-15T08:00:00Z".parse().unwrap())
        );
        assert_eq!(stored(Some("garbage"), Some("not-a-jwt"), now), None);
    }
}
