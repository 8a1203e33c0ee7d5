//! Where the target really is, and the files credshim keeps beside it.
//!
//! A symlinked target is written through: every path here is derived from the *real* path
//! (`canonicalize`), so two spellings of one file share one lock and the link stays a link. Beside
//! the real file live `.<name>.credshim.lock`, the temp files `.<name>.credshim.*.tmp`, and the
//! reload marker `.<name>.credshim.reload-pending`. Targets that a rename cannot replace
//! faithfully are refused (66): a file with several hard links, and a path inside a Kubernetes
//! projected volume (`..data`).

use crate::error::Error;
use std::ffi::OsString;
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A resolved target.
#[derive(Debug)]
pub struct Target {
    /// The path as the user gave it (for messages).
    pub given: PathBuf,
    /// The real path: the file that is read and replaced.
    pub real: PathBuf,
    /// The real path's directory.
    pub dir: PathBuf,
    /// The real file name.
    pub name: OsString,
    /// The current file's metadata; `None` when it does not exist yet (`--create`).
    pub meta: Option<Metadata>,
}

impl Target {
    /// Resolve `given` for a rotation. A missing file is an error unless `create`; anything but
    /// a regular file (after following links) is an error, and so is a file a rename cannot
    /// replace faithfully. Call [`Target::restat`] again under the lock.
    pub fn resolve(given: &Path, create: bool) -> Result<Target, Error> {
        Target::locate(given, create, true)
    }

    /// Resolve `given` only to read it (`check`): the refusals that protect a write do not apply.
    pub fn resolve_for_reading(given: &Path) -> Result<Target, Error> {
        Target::locate(given, false, false)
    }

    fn locate(given: &Path, create: bool, for_writing: bool) -> Result<Target, Error> {
        let no_input = |reason: String| Error::NoInput {
            path: given.to_path_buf(),
            reason,
        };
        let real = match fs::canonicalize(given) {
            Ok(real) => real,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if fs::symlink_metadata(given).is_ok() {
                    return Err(no_input(
                        "is a symlink to a file that does not exist".into(),
                    ));
                }
                if !create {
                    return Err(no_input(
                        "does not exist (use --create to create it)".into(),
                    ));
                }
                let name = given
                    .file_name()
                    .ok_or_else(|| no_input("has no file name".into()))?;
                let parent = match given.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                let dir = fs::canonicalize(parent).map_err(|e| {
                    if e.kind() == io::ErrorKind::NotFound {
                        no_input("its directory does not exist".into())
                    } else {
                        Error::io("cannot resolve", parent, e)
                    }
                })?;
                dir.join(name)
            }
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(no_input("is a symlink loop".into()));
            }
            Err(e) => return Err(Error::io("cannot resolve", given, e)),
        };
        let dirs = real.parent().unwrap_or(Path::new("/"));
        if let Some(part) = dirs.components().find(|c| {
            let s = c.as_os_str().as_encoded_bytes();
            s.len() > 2 && s.starts_with(b"..")
        }) && for_writing
        {
            return Err(no_input(format!(
                "resolves into {}, a Kubernetes projected volume (Secret or ConfigMap mount): the \
                 kubelet owns it and replaces it; write a file of your own instead",
                part.as_os_str().to_string_lossy()
            )));
        }
        let dir = real.parent().unwrap_or(Path::new("/")).to_path_buf();
        let name = real.file_name().unwrap_or_default().to_os_string();
        let mut target = Target {
            given: given.to_path_buf(),
            real,
            dir,
            name,
            meta: None,
        };
        target.stat(create, for_writing)?;
        Ok(target)
    }

    /// Look at the file again, under the lock: another run may have created, replaced or
    /// re-moded it while this one waited, and the new file must carry what is there now.
    pub fn restat(&mut self, create: bool) -> Result<(), Error> {
        self.stat(create, true)
    }

    fn stat(&mut self, create: bool, for_writing: bool) -> Result<(), Error> {
        let no_input = |reason: String| Error::NoInput {
            path: self.given.clone(),
            reason,
        };
        self.meta = match fs::metadata(&self.real) {
            Ok(m) if m.is_file() && m.nlink() > 1 && for_writing => {
                return Err(no_input(format!(
                    "has {} hard links: replacing it by rename would split them (the other names \
                     would keep the old credential)",
                    m.nlink()
                )));
            }
            Ok(m) if m.is_file() => Some(m),
            Ok(_) => return Err(no_input("is not a regular file".into())),
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => None,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(no_input(
                    "does not exist (use --create to create it)".into(),
                ));
            }
            Err(e) => return Err(Error::io("cannot stat", &self.real, e)),
        };
        if for_writing {
            refuse_immutable(&self.dir, "cannot create files in")?;
            if self.meta.is_some() {
                refuse_immutable(&self.real, "cannot replace")?;
            }
        }
        Ok(())
    }

    fn beside(&self, suffix: &str) -> PathBuf {
        let mut n = OsString::from(".");
        n.push(&self.name);
        n.push(suffix);
        self.dir.join(n)
    }

    pub fn lock_path(&self) -> PathBuf {
        self.beside(".credshim.lock")
    }

    pub fn marker_path(&self) -> PathBuf {
        self.beside(".credshim.reload-pending")
    }

    /// Where `--allow-in-place` keeps the old contents while it rewrites the target.
    pub fn backup_path(&self) -> PathBuf {
        self.beside(".credshim.backup")
    }

    /// The prefix and suffix of this target's temp files.
    pub fn temp_affixes(&self) -> (OsString, &'static str) {
        let mut prefix = OsString::from(".");
        prefix.push(&self.name);
        prefix.push(".credshim.");
        (prefix, ".tmp")
    }

    /// The current contents; empty for a file still to be created. Not UTF-8 is a parse error.
    pub fn read(&self) -> Result<String, Error> {
        if self.meta.is_none() {
            return Ok(String::new());
        }
        let bytes = fs::read(&self.real).map_err(|e| Error::io("cannot read", &self.real, e))?;
        String::from_utf8(bytes).map_err(|e| Error::TargetParse {
            path: self.given.clone(),
            reason: format!("not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()),
        })
    }
}

/// `chattr +i` / `+a` flags (linux/fs.h), which make a rename over the file fail with EPERM.
const FS_IMMUTABLE_FL: libc::c_long = 0x10;
const FS_APPEND_FL: libc::c_long = 0x20;

/// Refuse (77) a file or directory that is immutable or append-only, before anything is minted.
fn refuse_immutable(path: &Path, action: &'static str) -> Result<(), Error> {
    use std::os::fd::AsRawFd;
    let Ok(file) = fs::File::open(path) else {
        // Unreadable: the read or the write will say why.
        return Ok(());
    };
    let mut flags: libc::c_long = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one long through the pointer, which is valid.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
    if rc == 0 && flags & (FS_IMMUTABLE_FL | FS_APPEND_FL) != 0 {
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

    #[test]
    fn paths_beside_the_real_file() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join(".env");
        fs::write(&real, "A=1\n").unwrap();
        let link = dir.path().join("link.env");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let t = Target::resolve(&link, false).unwrap();
        assert_eq!(t.real, fs::canonicalize(&real).unwrap());
        assert!(t.lock_path().ends_with("..env.credshim.lock"));
        assert!(t.marker_path().ends_with("..env.credshim.reload-pending"));
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
        assert!(Target::resolve(&missing, true).unwrap().meta.is_none());
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
