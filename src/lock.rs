//! Serialising runs on one target.
//!
//! The lock is an advisory `flock(2)` (std's `File::try_lock`) on `.<name>.credshim.lock` beside
//! the *real* target, so two spellings of one file share it, and never on the target itself,
//! whose inode each rename replaces. The lock file is opened without following a symlink,
//! close-on-exec (so the mint and reload never inherit it), created 0600, and never deleted: a
//! deleted lock file lets two runs lock two different inodes. Waiting uses capped exponential
//! backoff with full jitter until the timeout.

use crate::error::Error;
use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// A held lock; dropping it closes the file, which releases the lock.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Take the lock at `path`, waiting at most `timeout` (and never past `deadline`).
pub fn acquire(path: &Path, timeout: Duration, deadline: Instant) -> Result<Lock, Error> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // Nothing can be written beside the target: the new file could not be either.
            Some(libc::EROFS | libc::ENOSPC | libc::EDQUOT) => {
                Error::write("cannot create the lock file", path, e)
            }
            _ => Error::io("cannot open lock file", path, e),
        })?;
    let started = Instant::now();
    let give_up = (started + timeout).min(deadline);
    let mut ceiling = Duration::from_millis(10);
    loop {
        match file.try_lock() {
            Ok(()) => {
                log::debug!("locked {}", path.display());
                return Ok(Lock { _file: file });
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(Error::io("cannot lock", path, e)),
        }
        let now = Instant::now();
        if now >= give_up {
            return Err(Error::LockBusy {
                path: path.to_path_buf(),
                waited: now - started,
            });
        }
        // Full jitter: a random pause up to the current ceiling, so waiters do not wake together.
        let pause = ceiling
            .mul_f64(fastrand::f64())
            .max(Duration::from_millis(1));
        crate::signals::sleep(pause.min(give_up - now), "waiting for the lock")?;
        ceiling = (ceiling * 2).min(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_waits_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".x.credshim.lock");
        let far = Instant::now() + Duration::from_secs(60);
        let held = acquire(&p, Duration::from_secs(1), far).unwrap();
        let t = Instant::now();
        let err = acquire(&p, Duration::from_millis(300), far).unwrap_err();
        assert_eq!(err.exit_code(), 75);
        assert!(t.elapsed() >= Duration::from_millis(300));
        drop(held);
        acquire(&p, Duration::from_millis(300), far).unwrap();
    }

    #[test]
    fn lock_file_is_private_and_not_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".x.credshim.lock");
        let far = Instant::now() + Duration::from_secs(60);
        drop(acquire(&p, Duration::from_secs(1), far).unwrap());
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let link = dir.path().join(".y.credshim.lock");
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), &link).unwrap();
        assert!(acquire(&link, Duration::from_secs(1), far).is_err());
        assert!(!dir.path().join("elsewhere").exists());
    }
}
