//! Where the target really is, and the files credshim keeps beside it.
//!
//! The target is found by [`crate::walk`]: component by component from open directories, with
//! symlinks followed only when their owner may steer the run, and opened once. Everything after
//! that goes through two descriptors: the directory's and the file's. A symlinked target is
//! written through: the lock, the marker and the temp files live beside the *real* file, so two
//! spellings of one file share one lock and the link stays a link. Beside the real file live
//! `.<name>.credshim.lock`, the temp files `.<name>.credshim.*.tmp`, and the reload marker
//! `.<name>.credshim.reload-pending`, each opened relative to the directory, never by path.
//! Targets that a rename cannot replace faithfully are refused (66): a file with several hard
//! links, and a path inside a Kubernetes projected volume (`..data`).

use crate::error::Error;
use crate::walk::{self, Acting, Actor, Rules, WalkError};
use rustix::fs::{Mode, OFlags, Stat};
use rustix::io::Errno;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

/// A resolved target.
#[derive(Debug)]
pub struct Target {
    /// The path as the user gave it (for messages).
    pub given: PathBuf,
    /// The real path: the file that is read and replaced (for messages and labels only).
    pub real: PathBuf,
    /// The real path's directory, open.
    pub dir: walk::Dir,
    /// The real file name.
    pub name: OsString,
    /// The current file, open, and what `fstat` said of it; `None` when it does not exist yet
    /// (`--create`).
    pub file: Option<(File, Stat)>,
    /// Whose file-system identity the run takes in the directory (guarantee 9).
    pub actor: Option<Actor>,
}

impl Target {
    /// Resolve `given` for a rotation. A missing file is an error unless `create`; anything but
    /// a regular file is an error, and so is a file a rename cannot replace faithfully. Call
    /// [`Target::restat`] again under the lock.
    pub fn resolve(given: &Path, create: bool) -> Result<Target, Error> {
        Target::locate(given, Rules::for_this_run(create), true)
    }

    /// Resolve `given` only to read it (`check`): the refusals that protect a replacement (hard
    /// links, projected volumes, immutable files) do not apply, but the walk's do, so a root
    /// `check` reads no file the directory's owner could not.
    pub fn resolve_for_reading(given: &Path) -> Result<Target, Error> {
        Target::locate(given, Rules::for_this_run(false), false)
    }

    fn locate(given: &Path, rules: Rules, for_writing: bool) -> Result<Target, Error> {
        let found = walk::resolve(given, rules).map_err(|e| walk_error(given, e))?;
        let real = found.dir.path.join(&found.name);
        if for_writing
            && let Some(part) = found.dir.path.components().find(|c| {
                let s = c.as_os_str().as_encoded_bytes();
                s.len() > 2 && s.starts_with(b"..")
            })
        {
            return Err(Error::NoInput {
                path: given.to_path_buf(),
                reason: format!(
                    "resolves into {}, a Kubernetes projected volume (Secret or ConfigMap \
                     mount): the kubelet owns it and replaces it; write a file of your own instead",
                    part.as_os_str().to_string_lossy()
                ),
            });
        }
        let target = Target {
            given: given.to_path_buf(),
            real,
            dir: found.dir,
            name: found.name,
            file: found.file,
            actor: found.actor,
        };
        if for_writing {
            target.check_writable()?;
        }
        Ok(target)
    }

    /// Look at the file again, under the lock: another run may have created, replaced or
    /// re-moded it while this one waited, and the new file must carry what is there now. The
    /// name is opened again in the same directory, never through the path.
    pub fn restat(&mut self, create: bool) -> Result<(), Error> {
        let file = {
            let _as = self.acting()?;
            walk::open_file(&self.dir.fd, &self.name, &self.real)
        };
        self.file = match file {
            Ok(f) => Some(f),
            Err(WalkError::NoInput(_)) if create && !walk::exists(self.dir_fd(), &self.name) => {
                None
            }
            Err(e) => return Err(walk_error(&self.given, e)),
        };
        self.check_writable()
    }

    fn check_writable(&self) -> Result<(), Error> {
        if let Some((_, stat)) = &self.file
            && stat.st_nlink > 1
        {
            return Err(Error::NoInput {
                path: self.given.clone(),
                reason: format!(
                    "has {} hard links: replacing it by rename would split them (the other \
                     names would keep the old credential)",
                    stat.st_nlink
                ),
            });
        }
        refuse_immutable(&self.dir.fd, &self.dir.path, "cannot create files in")?;
        if let Some((file, _)) = &self.file {
            refuse_immutable(file, &self.real, "cannot replace")?;
        }
        Ok(())
    }

    /// Take the directory owner's identity for file operations in the directory, until the
    /// guard is dropped (nothing to do when the run acts as itself).
    pub fn acting(&self) -> Result<Acting<'_>, Error> {
        Actor::begin(self.actor.as_ref()).map_err(|e| {
            Error::io(
                "cannot take the identity of the owner of",
                &self.dir.path,
                e,
            )
        })
    }

    /// Whether a file owned by `uid` beside the target may steer the run: root's, the run's
    /// user's, or the directory owner's whose identity the run takes.
    pub fn trusts(&self, uid: u32) -> bool {
        uid == 0
            || uid == rustix::process::geteuid().as_raw()
            || self.actor.as_ref().is_some_and(|a| a.uid == uid)
    }

    pub fn dir_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.dir.fd.as_fd()
    }

    /// The name of a file beside the target: `.<name><suffix>`.
    pub fn beside(&self, suffix: &str) -> OsString {
        let mut n = OsString::from(".");
        n.push(&self.name);
        n.push(suffix);
        n
    }

    /// For messages: the path of a file beside the target.
    pub fn beside_path(&self, name: &OsString) -> PathBuf {
        self.dir.path.join(name)
    }

    pub fn lock_name(&self) -> OsString {
        self.beside(".credshim.lock")
    }

    pub fn marker_name(&self) -> OsString {
        self.beside(".credshim.reload-pending")
    }

    /// The prefix and suffix of this target's temp files.
    pub fn temp_affixes(&self) -> (OsString, &'static str) {
        (self.beside(".credshim."), ".tmp")
    }

    /// Create a new file beside the target, exclusively, under a random name
    /// `.<name>.credshim.<random><suffix>`, mode 0600.
    ///
    /// It is created with the run's own rights, not the directory owner's, even inside their
    /// directory: a file they owned, even for a moment, they could open and keep a writable
    /// descriptor to across the `fchown` that gives it the target's owner (a `root:app 0640`
    /// target would then be theirs to rewrite). `O_CREAT|O_EXCL|O_NOFOLLOW` relative to the
    /// directory's descriptor cannot be steered by anything they plant: an existing name, a
    /// symlink included, is EEXIST.
    pub fn create_beside(&self, suffix: &str) -> Result<(OsString, File), Error> {
        Actor::as_self(self.actor.as_ref(), || self.create_beside_as_is(suffix))
    }

    fn create_beside_as_is(&self, suffix: &str) -> Result<(OsString, File), Error> {
        let (name, _) = self.temp_affixes();
        loop {
            let mut candidate = name.clone();
            candidate.push(random_name());
            candidate.push(suffix);
            match rustix::fs::openat(
                &self.dir.fd,
                &candidate,
                OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(fd) => return Ok((candidate, File::from(fd))),
                Err(Errno::EXIST | Errno::INTR) => continue,
                Err(e) => {
                    return Err(Error::write(
                        "cannot create a temp file in",
                        &self.dir.path,
                        e.into(),
                    ));
                }
            }
        }
    }

    /// The current contents; empty for a file still to be created. Not UTF-8 is a parse error.
    pub fn read(&self) -> Result<String, Error> {
        let Some((file, _)) = &self.file else {
            return Ok(String::new());
        };
        let mut file = file;
        let mut bytes = Vec::new();
        let too_large = || Error::TargetParse {
            path: self.given.clone(),
            reason: format!(
                "it is larger than {} MiB, which no credential file is",
                MAX_SIZE >> 20
            ),
        };
        if self
            .file
            .as_ref()
            .is_some_and(|(_, st)| st.st_size as u64 > MAX_SIZE)
        {
            return Err(too_large());
        }
        // Bounded even if the file grows after the fstat.
        file.rewind()
            .and_then(|()| file.take(MAX_SIZE + 1).read_to_end(&mut bytes))
            .map_err(|e| Error::io("cannot read", &self.real, e))?;
        if bytes.len() as u64 > MAX_SIZE {
            return Err(too_large());
        }
        String::from_utf8(bytes).map_err(|e| Error::TargetParse {
            path: self.given.clone(),
            reason: format!("not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()),
        })
    }
}

/// The largest target read (a `.env` of 16 MiB is some 400,000 lines): a bigger file would keep
/// the run, and its lock, far past `--deadline`, and hold that much memory as root.
pub const MAX_SIZE: u64 = 16 << 20;

/// Ten random letters and digits for a temp or backup name.
fn random_name() -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(10)
        .collect()
}

fn walk_error(given: &Path, e: WalkError) -> Error {
    match e {
        WalkError::NoInput(reason) => Error::NoInput {
            path: given.to_path_buf(),
            reason,
        },
        WalkError::Untrusted(reason) => Error::Untrusted {
            path: given.to_path_buf(),
            reason,
        },
        WalkError::Io { path, source } => Error::io("cannot open", path, source),
    }
}

/// Refuse (77) a file or directory that is immutable or append-only, before anything is minted.
fn refuse_immutable(
    fd: impl std::os::fd::AsFd,
    path: &Path,
    action: &'static str,
) -> Result<(), Error> {
    use rustix::fs::IFlags;
    let Ok(flags) = rustix::fs::ioctl_getflags(fd) else {
        // Not supported here: the write will say why if it fails.
        return Ok(());
    };
    if flags.intersects(IFlags::IMMUTABLE | IFlags::APPEND) {
        return Err(Error::Permission {
            path: path.to_path_buf(),
            action,
            source: io::Error::new(
                io::ErrorKind::PermissionDenied,
                "it is immutable or append-only (chattr +i or +a; see lsattr); even root cannot \
                 replace it until the flag is removed",
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn paths_beside_the_real_file() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join(".env");
        fs::write(&real, "A=1\n").unwrap();
        let link = dir.path().join("link.env");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let t = Target::resolve(&link, false).unwrap();
        assert_eq!(t.real, fs::canonicalize(&real).unwrap());
        assert_eq!(t.lock_name(), "..env.credshim.lock");
        assert_eq!(t.marker_name(), "..env.credshim.reload-pending");
    }

    #[test]
    fn hard_links_and_projected_volumes_are_66() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.env");
        fs::write(&a, "K=1\n").unwrap();
        fs::hard_link(&a, dir.path().join("b.env")).unwrap();
        let err = Target::resolve(&a, false).unwrap_err();
        assert_eq!(err.exit_code(), 66);
        assert!(err.to_string().contains("2 hard links"), "{err}");
        // A Kubernetes Secret mount: token -> ..data/token, ..data -> ..2026_11_28_10_00_00.1
        let vol = dir.path().join("vol");
        fs::create_dir_all(vol.join("..2026_11_28_10_00_00.1")).unwrap();
        fs::write(vol.join("..2026_11_28_10_00_00.1/token"), "t").unwrap();
        std::os::unix::fs::symlink("..2026_11_28_10_00_00.1", vol.join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/token", vol.join("token")).unwrap();
        let err = Target::resolve(&vol.join("token"), false).unwrap_err();
        assert_eq!(err.exit_code(), 66);
        assert!(err.to_string().contains("projected volume"), "{err}");
    }

    #[test]
    fn missing_and_irregular_targets_are_66() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.env");
        assert_eq!(
            Target::resolve(&missing, false).unwrap_err().exit_code(),
            66
        );
        assert!(Target::resolve(&missing, true).unwrap().file.is_none());
        assert_eq!(
            Target::resolve(dir.path(), false).unwrap_err().exit_code(),
            66
        );
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("gone"), &dangling).unwrap();
        assert_eq!(
            Target::resolve(&dangling, true).unwrap_err().exit_code(),
            66
        );
        let looping = dir.path().join("loop");
        std::os::unix::fs::symlink(&looping, &looping).unwrap();
        assert_eq!(
            Target::resolve(&looping, false).unwrap_err().exit_code(),
            66
        );
        let no_dir = dir.path().join("sub/x.env");
        assert_eq!(Target::resolve(&no_dir, true).unwrap_err().exit_code(), 66);
    }
}
