//! Serialising runs on one target.
//!
//! The lock is an advisory `flock(2)` (std's `File::try_lock`) on `.<name>.credshim.lock` beside
//! the *real* target, so two spellings of one file share it, and never on the target itself,
//! whose inode each rename replaces. The lock file is opened relative to the target's directory,
//! without following a symlink or blocking, close-on-exec (so the mint and reload never inherit
//! it), created 0600, and never deleted: a deleted lock file lets two runs lock two different
//! inodes. What is found there must be a regular file with one link, owned by root, this run's
//! user or the directory's owner: anything else was planted (66 or 77). Waiting uses capped
//! exponential backoff with full jitter until the timeout.
//!
//! Why std's `File::lock` family rather than the fs2 crate: it is the same `flock(2)`, in the
//! standard library since Rust 1.89, and fs2 has had no release since 2018.

use crate::backoff::Backoff;
use crate::error::Error;
use crate::target::Target;
use rustix::fs::{FileType, Mode, OFlags};
use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

/// A held lock; dropping it closes the file, which releases the lock.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Take the lock of `target`, waiting at most `timeout` (and never past `deadline`).
pub fn acquire(target: &Target, timeout: Duration, deadline: Instant) -> Result<Lock, Error> {
    let name = target.lock_name();
    let path = &target.beside_path(&name);
    let file = open(target, &name, path)?;
    let started = Instant::now();
    let give_up = (started + timeout).min(deadline);
    let mut backoff = Backoff::lock();
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
        let pause = backoff.next_pause();
        crate::signals::sleep(pause.min(give_up - now), "waiting for the lock")?;
    }
}

/// Open (or create) the lock file and make sure it is one the run may use.
fn open(target: &Target, name: &std::ffi::OsStr, path: &Path) -> Result<File, Error> {
    let _as = target.acting()?;
    let fd = rustix::fs::openat(
        target.dir_fd(),
        name,
        OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map_err(|e| match e {
        // Nothing can be written beside the target: the new file could not be either.
        rustix::io::Errno::ROFS | rustix::io::Errno::NOSPC | rustix::io::Errno::DQUOT => {
            Error::write("cannot create the lock file", path, e.into())
        }
        rustix::io::Errno::LOOP => Error::Untrusted {
            path: path.to_path_buf(),
            reason: "the lock file is a symlink; remove it".into(),
        },
        _ => Error::io("cannot open lock file", path, e.into()),
    })?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| Error::io("cannot stat", path, e.into()))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(Error::NoInput {
            path: path.to_path_buf(),
            reason: "the lock file is not a regular file; remove it".into(),
        });
    }
    if stat.st_nlink != 1 || !target.trusts(stat.st_uid) {
        return Err(Error::Untrusted {
            path: path.to_path_buf(),
            reason: format!(
                "the lock file has {} links and belongs to uid {}: it was not made by credshim; \
                 remove it (in a directory anyone can write, like /tmp, anyone can plant one: \
                 keep the target in a private directory)",
                stat.st_nlink, stat.st_uid
            ),
        });
    }
    Ok(File::from(fd))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(dir: &Path) -> Target {
        let p = dir.join("x");
        std::fs::write(&p, "").unwrap();
        Target::resolve(&p, false).unwrap()
    }

    #[test]
    fn second_lock_waits_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        let far = Instant::now() + Duration::from_secs(60);
        let held = acquire(&t, Duration::from_secs(1), far).unwrap();
        let started = Instant::now();
        let err = acquire(&t, Duration::from_millis(300), far).unwrap_err();
        assert_eq!(err.exit_code(), 75);
        assert!(started.elapsed() >= Duration::from_millis(300));
        drop(held);
        acquire(&t, Duration::from_millis(300), far).unwrap();
    }

    #[test]
    fn lock_file_is_private_and_not_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        let far = Instant::now() + Duration::from_secs(60);
        drop(acquire(&t, Duration::from_secs(1), far).unwrap());
        let p = dir.path().join(".x.credshim.lock");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), &p).unwrap();
        assert_eq!(
            acquire(&t, Duration::from_secs(1), far)
                .unwrap_err()
                .exit_code(),
            77
        );
        assert!(!dir.path().join("elsewhere").exists());
        // A hard link planted at the lock path is refused, and left alone.
        std::fs::remove_file(&p).unwrap();
        std::fs::write(dir.path().join("other"), "keep").unwrap();
        std::fs::hard_link(dir.path().join("other"), &p).unwrap();
        assert_eq!(
            acquire(&t, Duration::from_secs(1), far)
                .unwrap_err()
                .exit_code(),
            77
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("other")).unwrap(),
            "keep"
        );
        // A FIFO there does not block: 66.
        std::fs::remove_file(&p).unwrap();
        rustix::fs::mkfifoat(rustix::fs::CWD, &p, Mode::from_raw_mode(0o600)).unwrap();
        assert_eq!(
            acquire(&t, Duration::from_secs(1), far)
                .unwrap_err()
                .exit_code(),
            66
        );
    }
}
