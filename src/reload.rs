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
use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Leave the marker before the target is replaced, so that a run killed between the rename and
/// the reload is followed by a reload. Returns whether this call created it.
pub fn mark_pending(marker: &Path) -> Result<bool, Error> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(marker)
    {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(Error::io(
            "cannot create the reload-pending marker",
            marker,
            e,
        )),
    }
}

/// Remove a marker that [`mark_pending`] created for a write that did not happen.
pub fn unmark(marker: &Path) {
    if let Err(e) = fs::remove_file(marker) {
        log::warn!("cannot remove {}: {e}", marker.display());
    }
}

/// Whether an earlier run left a reload pending.
pub fn pending(marker: &Path) -> bool {
    marker.exists()
}

/// Run `cmd`; on failure leave `marker`, on success remove it.
pub fn reload(cmd: &str, timeout: Duration, marker: &Path) -> Result<Duration, Error> {
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
            match fs::remove_file(marker) {
                Ok(()) => log::info!("pending reload done"),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => log::warn!("cannot remove {}: {e}", marker.display()),
            }
            return Ok(done.elapsed);
        }
        Ok(done) => {
            let mut msg = format!("reload command {}", process::describe(done.status));
            if let Some(line) = done.last_stderr {
                msg.push_str(": ");
                msg.push_str(&line);
            }
            msg
        }
        Err(process::RunError::Interrupted(sig)) => {
            // Killed with its group: still due, for the next run.
            if let Err(e) = mark_pending(marker) {
                log::error!("{e}");
            }
            return Err(Error::Interrupted(sig, "reloading (reload left pending)"));
        }
        Err(e) => format!("reload command {e}"),
    };
    if let Err(e) = mark_pending(marker) {
        log::error!("{e}");
    }
    Err(Error::Reload(failure))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_leaves_marker_and_success_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join(".x.credshim.reload-pending");
        let err = reload("echo boom >&2; exit 3", Duration::from_secs(5), &marker).unwrap_err();
        assert_eq!(err.exit_code(), 79);
        assert!(
            err.to_string().contains("exited with status 3: boom"),
            "{err}"
        );
        assert!(pending(&marker));
        reload("true", Duration::from_secs(5), &marker).unwrap();
        assert!(!pending(&marker));
    }

    #[test]
    fn timeout_is_a_reload_failure() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("m");
        let err = reload("sleep 10", Duration::from_millis(200), &marker).unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(pending(&marker));
    }
}
