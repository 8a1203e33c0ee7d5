//! credshim keeps a short-lived credential fresh inside an application that reads a long-lived
//! one. [`rotate`] is the whole job, one stage per module: resolve the `target`, take the `lock`,
//! read what the target holds (and skip if it is fresh, `check`), `mint`, `extract` the values and
//! their `expiry`, splice them in the target's `format`, verify, `write` atomically, `reload`.
//! Every failure is an [`error::Error`] whose exit code DESIGN.md fixes; the [`report::Report`]
//! says what happened without ever holding a value.

pub mod backoff;
pub mod check;
pub mod cli;
pub mod config;
pub mod dotenv;
pub mod error;
pub mod expiry;
pub mod extract;
pub mod format;
pub mod job;
pub mod json;
pub mod lock;
pub mod logging;
pub mod metrics;
pub mod mint;
pub mod process;
pub mod raw;
pub mod reload;
pub mod report;
pub mod run;
pub mod secret;
pub mod signals;
pub mod target;
pub mod walk;
pub mod write;

use config::{RotateConfig, Source};
use error::Error;
use extract::MintOutput;
use jiff::{SignedDuration, Timestamp};
use report::{KeyReport, Outcome, Report};
use secret::Secret;
use std::time::{Duration, Instant};
use target::Target;

/// Run one rotation, filling in `report` as it goes.
pub fn rotate(cfg: &RotateConfig, report: &mut Report) -> Result<(), Error> {
    report.dry_run = cfg.dry_run;
    let deadline = Instant::now()
        .checked_add(cfg.deadline)
        .ok_or_else(|| Error::Config("--deadline is too long".into()))?;
    splay(cfg)?;

    let mut target = Target::resolve(&cfg.target, cfg.create)?;
    let _lock = lock::acquire(&target, cfg.lock_timeout, deadline)?;
    target.restat(cfg.create)?;
    write::sweep_orphans(&target);
    let old = target.read()?;
    let current = current_values(cfg, &old, &target)?;
    report.set_expiry(current_expiry(cfg, &current));
    if is_fresh(cfg, &current, report.expiry) {
        report.outcome = Outcome::Fresh;
        return pending_reload(cfg, &target, deadline, report);
    }
    signals::check("before minting")?;
    let out = mint(cfg, deadline, report)?;
    let (values, expiry) = extract(cfg, &out)?;
    report.keys = values
        .iter()
        .zip(&current)
        .map(|((key, new), old)| KeyReport::new(key, new, old.as_deref()))
        .collect();
    let updates = exposed(&values);
    let new = cfg.format.splice(&old, &updates, &target.given)?;
    if new == old {
        report.outcome = Outcome::Unchanged;
        report.set_expiry(expiry);
        log::info!("{}: credential unchanged", target.given.display());
        return pending_reload(cfg, &target, deadline, report);
    }
    cfg.format.verify(&old, &new, &updates)?;
    if cfg.dry_run {
        report.outcome = Outcome::Rotated;
        return Ok(());
    }
    write_then_reload(cfg, &target, &new, deadline, report, expiry)?;
    log::info!("{}: rotated {}", target.given.display(), key_list(&values));
    Ok(())
}

/// Replace the target and reload. The reload-pending marker goes down first, so that a crash
/// between the rename and the reload still gets the reload done by the next run. The report
/// takes the new expiry only once the new file is in place.
fn write_then_reload(
    cfg: &RotateConfig,
    target: &Target,
    new: &str,
    deadline: Instant,
    report: &mut Report,
    expiry: Option<Timestamp>,
) -> Result<(), Error> {
    signals::check("before writing")?;
    let marked = match cfg.reload {
        Some(_) => reload::mark_pending(target)?,
        None => false,
    };
    let written = write::replace(target, new.as_bytes(), 0o600, cfg.allow_in_place);
    if let Err(e) = written {
        if e.file_changed() {
            report.set_expiry(expiry);
            // The new file is in place, whole: the application must still hear of it.
            if e.file_complete()
                && let Err(r) = reload(cfg, target, deadline, report)
            {
                log::error!("{r}");
            }
        } else if marked {
            reload::unmark(target);
        }
        return Err(e);
    }
    report.outcome = Outcome::Rotated;
    report.set_expiry(expiry);
    // The marker is on disk: an interrupted run leaves the reload to the next one.
    signals::check("the new file is in place; reload left pending")?;
    reload(cfg, target, deadline, report)
}

fn splay(cfg: &RotateConfig) -> Result<(), Error> {
    if let Some(splay) = cfg.splay {
        let pause = splay.mul_f64(fastrand::f64());
        log::info!("splay: sleeping {:.1}s", pause.as_secs_f64());
        signals::sleep(pause, "splay")?;
    }
    Ok(())
}

/// The values the target holds now for the keys this run sets. Also proves, before anything is
/// minted, that the target parses (65) and that the keys can be set in it: a trial splice with
/// a placeholder value finds what only setting a key reveals.
fn current_values(
    cfg: &RotateConfig,
    old: &str,
    target: &Target,
) -> Result<Vec<Option<String>>, Error> {
    let trial: Vec<(String, String)> = cfg
        .sets
        .iter()
        .map(|s| (s.key.clone(), "placeholder".to_string()))
        .collect();
    cfg.format.splice(old, &trial, &target.given)?;
    cfg.sets
        .iter()
        .map(|s| cfg.format.get(old, &s.key, &target.given))
        .collect()
}

/// The expiry of the credential the target holds: its `@expiry` key, else the JWT `exp` of the
/// first key set from the mint.
fn current_expiry(cfg: &RotateConfig, current: &[Option<String>]) -> Option<Timestamp> {
    let find = |want_expiry: bool| {
        cfg.sets
            .iter()
            .zip(current)
            .find(|(s, _)| (s.source == Source::Expiry) == want_expiry)
            .and_then(|(_, v)| v.as_deref())
    };
    check::stored_expiry(find(true), find(false), Timestamp::now())
}

/// Fresh: every key taken from the mint is in the target, and its expiry is more than
/// `--min-ttl` away.
fn is_fresh(cfg: &RotateConfig, current: &[Option<String>], expiry: Option<Timestamp>) -> bool {
    let (Some(min_ttl), Some(expiry)) = (cfg.min_ttl, expiry) else {
        return false;
    };
    let missing = cfg
        .sets
        .iter()
        .zip(current)
        .any(|(s, v)| s.source != Source::Expiry && v.is_none());
    if missing {
        log::info!("{}: a key is missing: minting", cfg.target.display());
        return false;
    }
    let left = expiry.duration_since(Timestamp::now());
    let fresh = left > SignedDuration::try_from(min_ttl).unwrap_or(SignedDuration::MAX);
    if fresh {
        log::info!(
            "{}: credential has {} left, more than --min-ttl: not minting",
            cfg.target.display(),
            expiry::human(left)
        );
    }
    fresh
}

fn mint(cfg: &RotateConfig, deadline: Instant, report: &mut Report) -> Result<MintOutput, Error> {
    let started = Instant::now();
    let minted = mint::mint(
        &cfg.mint,
        cfg.mint_timeout,
        cfg.retries,
        deadline,
        cfg.deadline,
    );
    report.mint_seconds = Some(started.elapsed().as_secs_f64());
    Ok(MintOutput::new(minted?.stdout))
}

/// The value of every `--set`, by key.
type Values = Vec<(String, Secret)>;

/// The value of every `--set`, and the new credential's expiry.
fn extract(cfg: &RotateConfig, out: &MintOutput) -> Result<(Values, Option<Timestamp>), Error> {
    let now = Timestamp::now();
    let mut minted = Vec::with_capacity(cfg.sets.len());
    for s in &cfg.sets {
        minted.push(match &s.source {
            Source::Whole => Some(out.whole()?),
            Source::Pointer(p) => Some(out.secret_at(p)?),
            Source::Expiry => None,
        });
    }
    let first = minted.iter().flatten().next();
    let expiry = minted_expiry(cfg, out, first, now)?;
    if let (Some(min_ttl), Some(expiry)) = (cfg.min_ttl, expiry) {
        let lives = expiry.duration_since(now);
        if lives <= SignedDuration::try_from(min_ttl).unwrap_or(SignedDuration::MAX) {
            log::warn!(
                "the new credential lives {}, not more than --min-ttl: every run will mint",
                expiry::human(lives)
            );
        }
    }
    let values = cfg
        .sets
        .iter()
        .zip(minted)
        .map(|(s, value)| {
            let value = match value {
                Some(v) => v,
                None => Secret::new(expiry.map(expiry::format_expiry).ok_or_else(|| {
                    Error::Protocol(format!(
                        "{}=@expiry: the credential's expiry is unknown (not a JWT; give \
                         --expiry-from or --ttl)",
                        s.key
                    ))
                })?),
            };
            Ok((s.key.clone(), value))
        })
        .collect::<Result<_, Error>>()?;
    Ok((values, expiry))
}

/// When the minted credential expires: `--expiry-from`, else the JWT `exp` of the first value,
/// else now + `--ttl`, else unknown.
fn minted_expiry(
    cfg: &RotateConfig,
    out: &MintOutput,
    first: Option<&Secret>,
    now: Timestamp,
) -> Result<Option<Timestamp>, Error> {
    if let Some(pointer) = &cfg.expiry_from {
        return expiry::parse_expiry(out.at(pointer)?, cfg.expiry_format, now)
            .map(Some)
            .map_err(|e| Error::Protocol(format!("{pointer}: {e}")));
    }
    if let Some(exp) = first.and_then(|v| expiry::jwt_exp(v.expose())) {
        return Ok(Some(exp));
    }
    Ok(cfg
        .ttl
        .and_then(|ttl| SignedDuration::try_from(ttl).ok())
        .and_then(|ttl| now.checked_add(ttl).ok()))
}

fn exposed(values: &[(String, Secret)]) -> Vec<(String, String)> {
    values
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().to_string()))
        .collect()
}

fn key_list(values: &[(String, Secret)]) -> String {
    values
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Run the reload, within `--reload-timeout` and what is left of `--deadline`.
fn reload(
    cfg: &RotateConfig,
    target: &Target,
    deadline: Instant,
    report: &mut Report,
) -> Result<(), Error> {
    let Some(cmd) = &cfg.reload else {
        return Ok(());
    };
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        reload::mark_pending(target)?;
        return Err(Error::Reload(
            "no time left before --deadline to run it".into(),
        ));
    }
    report.reload_ran = true;
    let timeout = cfg.reload_timeout.min(left.max(Duration::from_millis(1)));
    let took = reload::reload(cmd, timeout, target)?;
    report.reload_seconds = Some(took.as_secs_f64());
    Ok(())
}

/// Nothing changed: reload only if an earlier reload failed.
fn pending_reload(
    cfg: &RotateConfig,
    target: &Target,
    deadline: Instant,
    report: &mut Report,
) -> Result<(), Error> {
    if cfg.dry_run || !reload::pending(target) {
        return Ok(());
    }
    if cfg.reload.is_none() {
        log::warn!(
            "{} says a reload is pending, but no --reload is given",
            target.beside_path(&target.marker_name()).display()
        );
        return Ok(());
    }
    log::info!("an earlier reload failed; reloading now");
    reload(cfg, target, deadline, report)
}
