//! Telling the application that its credential changed.
//!
//! The reload command runs with `/bin/sh -c`, no stdin, in its own process group, killed with the
//! group at the timeout; its output is logged. If it fails, a marker
//! `.<name>.credshim.reload-pending` is left beside the target so that the next run reloads even
//! when nothing changed; a successful reload removes the marker. The marker is left *before* the
//! target is replaced ([`mark_pending`]), so that a run killed between the rename and the reload
//! is not forgotten either.

use crate::error::Error;
use crate::process::{self, Stdout};
use crate::target::Target;
use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;
use std::process::Command;
use std::time::{Duration, Instant};

/// Leave the marker before the target is replaced, so that a run killed between the rename and
/// the reload is followed by a reload. Returns whether this call created it. It is created
/// exclusively, relative to the target's directory, and never followed: the marker is a name,
/// whatever is found there.
pub fn mark_pending(target: &Target) -> Result<bool, Error> {
    let name = target.marker_name();
    let _as = target.acting()?;
    match rustix::fs::openat(
        target.dir_fd(),
        &name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    ) {
        Ok(_) => Ok(true),
        Err(Errno::EXIST) => Ok(false),
        Err(e) => Err(Error::io(
            "cannot create the reload-pending marker",
            target.beside_path(&name),
            e.into(),
        )),
    }
}

/// Remove the marker: the reload it stood for is done, or the write it announced did not happen.
pub fn unmark(target: &Target) {
    let name = target.marker_name();
    let Ok(_as) = target.acting() else { return };
    match rustix::fs::unlinkat(target.dir_fd(), &name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(e) => log::warn!("cannot remove {}: {e}", target.beside_path(&name).display()),
    }
}

/// Whether an earlier run left a reload pending. A marker that belongs to someone the run does
/// not trust (planted in a sticky, world-writable directory like `/tmp`) does not count.
pub fn pending(target: &Target) -> bool {
    let Ok(_as) = target.acting() else {
        return false;
    };
    let name = target.marker_name();
    match rustix::fs::statat(target.dir_fd(), &name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if target.trusts(st.st_uid) => true,
        Ok(st) => {
            log::warn!(
                "ignoring {}: it belongs to uid {}, not to this run",
                target.beside_path(&name).display(),
                st.st_uid
            );
            false
        }
        Err(_) => false,
    }
}

/// The time left for a reload before `deadline`; none left is a reload failure, and the marker
/// stays for the next run.
pub fn time_left(deadline: Instant, target: &Target) -> Result<Duration, Error> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        mark_pending(target)?;
        return Err(Error::Reload(
            "no time left before --deadline to run it".into(),
        ));
    }
    Ok(left.max(Duration::from_millis(1)))
}

/// Whether an earlier run left a reload pending that this run can do (`has_reload`: a
/// `--reload` is given; without one, a pending marker is only worth a warning).
pub fn wanted(target: &Target, has_reload: bool) -> bool {
    if !pending(target) {
        return false;
    }
    if !has_reload {
        log::warn!(
            "{} says a reload is pending, but no --reload is given",
            target.beside_path(&target.marker_name()).display()
        );
    }
    has_reload
}

/// Run `cmd`; on failure leave the marker, on success remove it.
pub fn reload(cmd: &str, timeout: Duration, target: &Target) -> Result<Duration, Error> {
    let mut command = Command::new("/bin/sh");
    command.arg("-c").arg(cmd);
    log::info!("running reload command");
    // Its output goes to memory files, not pipes: a daemon it starts on purpose survives
    // credshim and may keep writing (see process::MemOutput). Not a subreaper: its daemons stay.
    let failure = match process::run_with(
        command,
        "reload",
        Stdout::Log,
        timeout,
        Duration::from_millis(200),
        process::Opts {
            output_in_memory: true,
            ..process::Opts::default()
        },
    ) {
        Ok(done) if done.status.success() => {
            unmark(target);
            return Ok(done.elapsed);
        }
        Ok(done) => {
            let mut msg = format!("reload command {}", process::describe(done.status));
            if let Some(line) = done.stderr_line {
                msg.push_str(": ");
                msg.push_str(&line);
            }
            msg
        }
        Err(process::RunError::Interrupted(sig)) => {
            // Killed with its group: still due, for the next run.
            if let Err(e) = mark_pending(target) {
                log::error!("{e}");
            }
            return Err(Error::Interrupted(sig, "reloading (reload left pending)"));
        }
        Err(e) => format!("reload command {e}"),
    };
    if let Err(e) = mark_pending(target) {
        log::error!("{e}");
    }
    Err(Error::Reload(failure))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(dir: &std::path::Path) -> Target {
        let p = dir.join("x");
        std::fs::write(&p, "").unwrap();
        Target::resolve(&p, false).unwrap()
    }

    #[test]
    fn failure_leaves_marker_and_success_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        let marker = dir.path().join(".x.credshim.reload-pending");
        let err = reload("echo boom >&2; exit 3", Duration::from_secs(5), &t).unwrap_err();
        assert_eq!(err.exit_code(), 79);
        assert!(
            err.to_string().contains("exited with status 3: boom"),
            "{err}"
        );
        assert!(pending(&t) && marker.exists());
        reload("true", Duration::from_secs(5), &t).unwrap();
        assert!(!pending(&t) && !marker.exists());
    }

    #[test]
    fn timeout_is_a_reload_failure() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        let err = reload("sleep 10", Duration::from_millis(200), &t).unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(pending(&t));
    }
}
