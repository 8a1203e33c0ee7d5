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
pub mod duration;
pub mod error;
pub mod expiry;
pub mod extract;
pub mod format;
pub mod job;
pub mod keys;
pub mod lock;
pub mod logging;
pub mod metrics;
pub mod mint;
pub mod probe;
pub mod process;
pub mod reload;
pub mod report;
pub mod run;
pub mod secret;
pub mod signals;
pub mod target;
pub mod walk;
pub mod write;

use config::RotateConfig;
use error::Error;
use extract::MintOutput;
use jiff::Timestamp;
use keys::Keys;
use report::{Outcome, Report};
use std::time::Instant;
use target::Target;

/// Run one rotation, filling in `report` as it goes: one line per stage.
pub fn rotate(cfg: &RotateConfig, report: &mut Report) -> Result<(), Error> {
    let mut run = Run::start(cfg, report)?;
    let mut target = Target::resolve(&cfg.target, cfg.create)?;
    let _lock = lock::acquire(&target, cfg.lock_timeout, run.deadline)?;
    let old = run.read(&mut target)?;
    if cfg.probe.is_some() {
        // Whose rights the probe would have: refused before minting when no one's are safe.
        probe::identity(&target)?;
    }
    let mut keys = Keys::read(&cfg.sets, cfg.format, &old, &target.given)?;
    if let Some((_, stat)) = &target.file {
        cfg.format.warn_mode(stat.st_mode, &target.given);
    }
    if run.fresh(&keys) {
        return run.pending_reload(&target);
    }
    let minted = run.mint()?;
    let expiry = run.take_minted(&mut keys, &minted)?;
    let new = cfg.format.splice(&old, &keys.updates(), &target.given)?;
    if new == old {
        return run.unchanged(&target, expiry);
    }
    cfg.format
        .verify(&old, &new, &keys.updates(), &target.given)?;
    cfg.format
        .name_followers(&old, &keys.updates(), &target.given);
    run.probe(&target, &new)?;
    if cfg.dry_run {
        run.report.outcome = Outcome::Rotated;
        return Ok(());
    }
    run.write_then_reload(&target, &new, expiry)?;
    log::info!("{}: rotated {}", target.given.display(), keys.names());
    Ok(())
}

/// One rotation in progress: its settings, its deadline, when it started, and its report.
struct Run<'a> {
    cfg: &'a RotateConfig,
    deadline: Instant,
    started: Timestamp,
    report: &'a mut Report,
}

impl<'a> Run<'a> {
    /// Start the clock (the deadline counts from here), then sleep the splay.
    fn start(cfg: &'a RotateConfig, report: &'a mut Report) -> Result<Run<'a>, Error> {
        report.dry_run = cfg.dry_run;
        // No overflow: every duration flag is at most 10 years (duration::parse_duration).
        let deadline = Instant::now() + cfg.deadline;
        if let Some(splay) = cfg.splay {
            let pause = splay.mul_f64(fastrand::f64());
            log::info!("splay: sleeping {:.1}s", pause.as_secs_f64());
            signals::sleep(pause, "splay")?;
        }
        Ok(Run {
            cfg,
            deadline,
            started: Timestamp::now(),
            report,
        })
    }

    /// Under the lock: look at the target again (another run may have replaced it while this
    /// one waited), remove temp files a crashed run left, and read it.
    fn read(&mut self, target: &mut Target) -> Result<String, Error> {
        target.restat(self.cfg.create)?;
        write::sweep_orphans(target);
        target.read()
    }

    /// Whether the credential in the target is fresh enough to skip the mint (`--min-ttl`).
    fn fresh(&mut self, keys: &Keys) -> bool {
        self.report.set_expiry(keys.stored_expiry(self.started));
        if self.cfg.min_ttl.is_some() && self.report.expiry.is_none() && !keys.missing() {
            log::warn!(
                "--min-ttl cannot tell how long the credential in the target has left (no \
                 @expiry key, and it is not a JWT), so every run mints: add --set \
                 NAME=@expiry (with --ttl or --expiry-from)"
            );
        }
        let fresh = expiry::is_fresh(
            self.cfg.min_ttl,
            keys.missing(),
            self.report.expiry,
            self.started,
        );
        if fresh {
            self.report.outcome = Outcome::Fresh;
        }
        fresh
    }

    /// Mint, with retries, within the deadline; the report takes the time it took.
    fn mint(&mut self) -> Result<MintOutput, Error> {
        signals::check("before minting")?;
        let started = Instant::now();
        let minted = mint::mint(
            &self.cfg.mint,
            self.cfg.mint_timeout,
            self.cfg.retries,
            self.deadline,
            self.cfg.deadline,
        );
        self.report.mint_seconds = Some(started.elapsed().as_secs_f64());
        Ok(MintOutput::new(minted?.stdout))
    }

    /// With `--probe`: prove the new file works before it replaces the old (guarantee 11).
    fn probe(&mut self, target: &Target, new: &str) -> Result<(), Error> {
        let Some(p) = &self.cfg.probe else {
            return Ok(());
        };
        signals::check("before probing")?;
        let started = Instant::now();
        let tried = probe::probe(p, target, new.as_bytes(), self.deadline, self.cfg.deadline);
        self.report.probe_seconds = Some(started.elapsed().as_secs_f64());
        match tried {
            Ok(n) => {
                self.report.probe_attempts = Some(n);
                Ok(())
            }
            Err(e) => {
                if let Error::Probe(f) = &e {
                    self.report.probe_attempts = Some(f.attempts);
                }
                Err(e)
            }
        }
    }

    /// Every key's new value, and the new credential's expiry (reckoned from now: a relative
    /// expiry counts from the mint's answer).
    fn take_minted(
        &mut self,
        keys: &mut Keys,
        out: &MintOutput,
    ) -> Result<Option<Timestamp>, Error> {
        let cfg = self.cfg;
        let now = Timestamp::now();
        let (old_first, recorded) = (keys.first_old(), keys.stored_expiry(now));
        let mut same_value = false;
        let expiry = keys.take_minted(out, |first| {
            let stated = match &cfg.expiry_from {
                Some(pointer) => Some((pointer.as_str(), out.at(pointer)?)),
                None => None,
            };
            same_value = first.is_some() && first == old_first.as_ref();
            let cached = recorded.filter(|_| same_value);
            expiry::minted(
                stated,
                cfg.expiry_format,
                first.map(secret::Secret::expose),
                cfg.ttl,
                cached,
                now,
            )
            .map_err(Error::Protocol)
        })?;
        // A cached token handed back as it is: its remaining life says nothing of the next mint.
        if !same_value {
            expiry::warn_if_short_lived(cfg.min_ttl, expiry, now);
        }
        self.report.keys = keys.reports();
        Ok(expiry)
    }

    /// The mint gave back what the target holds (a cached token): nothing to write.
    fn unchanged(&mut self, target: &Target, expiry: Option<Timestamp>) -> Result<(), Error> {
        self.report.outcome = Outcome::Unchanged;
        self.report.set_expiry(expiry);
        log::info!("{}: credential unchanged", target.given.display());
        self.pending_reload(target)
    }

    /// Replace the target and reload. The reload-pending marker goes down first, so that a
    /// crash between the rename and the reload still gets the reload done by the next run. The
    /// report takes the new expiry only once the new file is in place.
    fn write_then_reload(
        &mut self,
        target: &Target,
        new: &str,
        expiry: Option<Timestamp>,
    ) -> Result<(), Error> {
        signals::check("before writing")?;
        let marked = match self.cfg.reload {
            Some(_) => reload::mark_pending(target)?,
            None => false,
        };
        if let Err(e) = write::replace(target, new.as_bytes(), 0o600, self.cfg.allow_in_place) {
            if e.file_changed() {
                self.report.set_expiry(expiry);
                // The new file is in place, whole: the application must still hear of it.
                if e.file_complete()
                    && let Err(r) = self.reload(target)
                {
                    log::error!("{r}");
                }
            } else if marked {
                reload::unmark(target);
            }
            return Err(e);
        }
        self.report.outcome = Outcome::Rotated;
        self.report.set_expiry(expiry);
        // The marker is on disk: an interrupted run leaves the reload to the next one.
        signals::check("the new file is in place; reload left pending")?;
        self.reload(target)
    }

    /// Run the reload, within `--reload-timeout` and what is left of `--deadline`.
    fn reload(&mut self, target: &Target) -> Result<(), Error> {
        let Some(cmd) = &self.cfg.reload else {
            return Ok(());
        };
        let left = reload::time_left(self.deadline, target)?;
        self.report.reload_ran = true;
        let took = reload::reload(cmd, self.cfg.reload_timeout.min(left), target)?;
        self.report.reload_seconds = Some(took.as_secs_f64());
        Ok(())
    }

    /// Nothing changed: reload only if an earlier reload failed.
    fn pending_reload(&mut self, target: &Target) -> Result<(), Error> {
        if self.cfg.dry_run || !reload::wanted(target, self.cfg.reload.is_some()) {
            return Ok(());
        }
        log::info!("an earlier reload failed; reloading now");
        self.reload(target)
    }
}
