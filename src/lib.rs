//! credshim keeps a short-lived credential fresh inside an application that reads a long-lived
//! one. [`rotate`] is the whole job, one stage per module: resolve the `target`, take the `lock`,
//! `mint`, `extract` the values, splice them (`dotenv`), verify, `write` atomically, `reload`.
//! Every failure is an [`error::Error`] whose exit code DESIGN.md fixes; the [`report::Report`]
//! says what happened without ever holding a value.

pub mod cli;
pub mod config;
pub mod dotenv;
pub mod error;
pub mod expiry;
pub mod extract;
pub mod lock;
pub mod logging;
pub mod mint;
pub mod process;
pub mod reload;
pub mod report;
pub mod secret;
pub mod target;
pub mod write;

use config::{RotateConfig, SetSpec, Source};
use error::Error;
use extract::MintOutput;
use report::{KeyReport, Outcome, Report};
use secret::Secret;
use std::time::Instant;
use target::Target;

/// Run one rotation, filling in `report` as it goes.
pub fn rotate(cfg: &RotateConfig, report: &mut Report) -> Result<(), Error> {
    let started = Instant::now();
    let deadline = started + cfg.deadline;
    report.target = cfg.target.clone();
    report.dry_run = cfg.dry_run;

    let target = Target::resolve(&cfg.target, cfg.create)?;
    let _lock = lock::acquire(&target.lock_path(), cfg.lock_timeout, deadline)?;
    write::sweep_orphans(&target);
    let old = target.read()?;
    let current = current_values(&old, &cfg.sets, &target)?;
    let minted = mint(cfg, deadline, report)?;
    let values = extract(&minted, &cfg.sets)?;
    report.keys = values
        .iter()
        .zip(&current)
        .map(|((key, new), old)| KeyReport::new(key, new, old.as_deref()))
        .collect();
    let new = splice(&old, &values, &target)?;
    if new == old {
        report.outcome = Outcome::Unchanged;
        log::info!("{}: credential unchanged", target.given.display());
        return pending_reload(cfg, &target, report);
    }
    verify(&old, &new, &values)?;
    report.outcome = Outcome::Rotated;
    if cfg.dry_run {
        return Ok(());
    }
    write::replace(&target, new.as_bytes())?;
    log::info!(
        "{}: rotated {}",
        target.given.display(),
        values
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    reload(cfg, &target, report)
}

/// The values the target holds now for the keys this run sets. Also proves that the target
/// parses (65) before anything is minted.
fn current_values(
    old: &str,
    sets: &[SetSpec],
    target: &Target,
) -> Result<Vec<Option<String>>, Error> {
    sets.iter()
        .map(|s| dotenv::get(old, &s.key).map_err(|e| splice_error(e, target)))
        .collect()
}

fn mint(cfg: &RotateConfig, deadline: Instant, report: &mut Report) -> Result<MintOutput, Error> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Error::DeadlineBeforeMint(cfg.deadline));
    }
    let minted = mint::mint_once(&cfg.mint, cfg.mint_timeout.min(left))?;
    report.mint_seconds = Some(minted.elapsed.as_secs_f64());
    Ok(MintOutput::new(minted.stdout))
}

fn extract(out: &MintOutput, sets: &[SetSpec]) -> Result<Vec<(String, Secret)>, Error> {
    sets.iter()
        .map(|s| {
            let value = match &s.source {
                Source::Whole => out.whole()?,
                Source::Pointer(p) => out.secret_at(p)?,
            };
            Ok((s.key.clone(), value))
        })
        .collect()
}

fn exposed(values: &[(String, Secret)]) -> Vec<(String, String)> {
    values
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().to_string()))
        .collect()
}

fn splice(old: &str, values: &[(String, Secret)], target: &Target) -> Result<String, Error> {
    let spliced = dotenv::splice(old, &exposed(values)).map_err(|e| splice_error(e, target))?;
    for w in &spliced.warnings {
        log::warn!("{}: {w}", target.given.display());
    }
    Ok(spliced.text)
}

fn splice_error(e: dotenv::SpliceError, target: &Target) -> Error {
    match e {
        dotenv::SpliceError::Unparseable { .. } => Error::TargetParse {
            path: target.given.clone(),
            reason: e.to_string(),
        },
        dotenv::SpliceError::ForbiddenValue { .. } => Error::Protocol(e.to_string()),
        dotenv::SpliceError::InvalidKey { .. } => Error::Usage(e.to_string()),
    }
}

fn verify(old: &str, new: &str, values: &[(String, Secret)]) -> Result<(), Error> {
    dotenv::verify(old, new, &exposed(values)).map_err(|why| {
        Error::Software(format!(
            "the new file would not read back as intended: {why}"
        ))
    })
}

fn reload(cfg: &RotateConfig, target: &Target, report: &mut Report) -> Result<(), Error> {
    let Some(cmd) = &cfg.reload else {
        return Ok(());
    };
    report.reload_ran = true;
    let took = reload::reload(cmd, cfg.reload_timeout, &target.marker_path())?;
    report.reload_seconds = Some(took.as_secs_f64());
    Ok(())
}

/// Nothing changed: reload only if an earlier reload failed.
fn pending_reload(cfg: &RotateConfig, target: &Target, report: &mut Report) -> Result<(), Error> {
    if cfg.dry_run || !reload::pending(&target.marker_path()) {
        return Ok(());
    }
    if cfg.reload.is_none() {
        log::warn!(
            "{} says a reload is pending, but no --reload is given",
            target.marker_path().display()
        );
        return Ok(());
    }
    log::info!("an earlier reload failed; reloading now");
    reload(cfg, target, report)
}
