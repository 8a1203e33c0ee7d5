//! Putting the new file in place atomically.
//!
//! The new text goes to a temp file `.<name>.credshim.<random>.tmp` in the target's directory,
//! created `O_EXCL` with mode 0600 in the open call. Before any byte is written it gets the
//! target's owner, group, mode, POSIX ACL and `user.*` extended attributes; then it is written, fsync'ed, renamed over the real
//! target, and the directory is fsync'ed. A reader sees the old file or the new one, never a mix.
//! On any failure before the rename the temp file is removed and the target is untouched. A failed
//! fsync is never retried (the kernel may have dropped the dirty pages): the run fails instead.
//!
//! A single file bind-mounted into a container cannot be renamed over (EBUSY). Only with
//! `--allow-in-place` is it then rewritten in place: the old contents are first copied to an
//! fsync'ed `.<name>.credshim.backup` beside it, then the file is written from offset 0,
//! truncated and fsync'ed, and the backup removed. That is not atomic: a reader can see a mix.

use crate::error::Error;
use crate::target::Target;
use std::ffi::CString;
use std::fs::{self, File, Permissions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Replace the target's contents with `contents`; a target that does not exist yet gets
/// `new_mode`. `allow_in_place`: fall back to an in-place rewrite when the rename is refused
/// with EBUSY.
pub fn replace(
    target: &Target,
    contents: &[u8],
    new_mode: u32,
    allow_in_place: bool,
) -> Result<(), Error> {
    let (prefix, suffix) = target.temp_affixes();
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(suffix)
        .rand_bytes(10)
        .permissions(Permissions::from_mode(0o600))
        .tempfile_in(&target.dir)
        .map_err(|e| Error::write("cannot create a temp file in", &target.dir, e))?;
    let path = tmp.path().to_path_buf();

    if let Some(meta) = &target.meta {
        let file = tmp.as_file();
        if meta.uid() != file_uid(file, &path)? || meta.gid() != file_gid(file, &path)? {
            // Refuses (EPERM, exit 77) rather than give the file to ourselves.
            std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid())).map_err(|e| {
                Error::write(
                    "cannot give the new file the target's owner",
                    &target.real,
                    e,
                )
            })?;
        }
        file.set_permissions(Permissions::from_mode(meta.mode() & 0o7777))
            .map_err(|e| {
                Error::write(
                    "cannot give the new file the target's mode",
                    &target.real,
                    e,
                )
            })?;
        copy_xattrs(&target.real, file).map_err(|e| {
            Error::write(
                "cannot copy the target's ACL or user xattrs",
                &target.real,
                e,
            )
        })?;
    } else if new_mode != 0o600 {
        tmp.as_file()
            .set_permissions(Permissions::from_mode(new_mode))
            .map_err(|e| Error::write("cannot set the new file's mode", &target.real, e))?;
    }

    tmp.write_all(contents)
        .map_err(|e| Error::write("cannot write the temp file", &target.real, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::write("cannot fsync the temp file", &target.real, e))?;
    match tmp.persist(&target.real) {
        Ok(_) => {}
        Err(e) if e.error.raw_os_error() == Some(libc::EBUSY) && allow_in_place => {
            drop(e.file);
            return rewrite_in_place(target, contents);
        }
        Err(e) => {
            let action = if e.error.raw_os_error() == Some(libc::EBUSY) {
                "cannot rename over it: it is busy (EBUSY), as a single file bind-mounted into \
                 a container is; mount its directory instead, or pass --allow-in-place"
            } else {
                "cannot rename the temp file over it"
            };
            return Err(Error::write(action, &target.real, e.error));
        }
    }
    // From here on the new file is in place; only its durability is in question.
    File::open(&target.dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::NotDurable {
            path: target.dir.clone(),
            source,
        })?;
    log::debug!("replaced {}", target.real.display());
    Ok(())
}

/// The non-atomic fallback for a target that cannot be renamed over.
fn rewrite_in_place(target: &Target, contents: &[u8]) -> Result<(), Error> {
    log::warn!(
        "{} cannot be replaced by rename (EBUSY: a bind-mounted file?); rewriting it in place, \
         which is not atomic",
        target.given.display()
    );
    let backup = target.backup_path();
    let old = fs::read(&target.real).map_err(|e| Error::io("cannot read", &target.real, e))?;
    let mut copy = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&backup)
        .map_err(|e| Error::write("cannot create the backup", &backup, e))?;
    copy.write_all(&old)
        .and_then(|()| copy.sync_all())
        .map_err(|e| Error::write("cannot write the backup", &backup, e))?;
    sync_dir(&target.dir)?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .open(&target.real)
        .map_err(|e| Error::write("cannot open for an in-place rewrite", &target.real, e))?;
    // From the first byte on, the target is no longer the old file.
    file.write_all(contents)
        .and_then(|()| file.set_len(contents.len() as u64))
        .and_then(|()| file.sync_all())
        .map_err(|source| Error::InPlace {
            path: target.real.clone(),
            source,
        })?;
    if let Err(e) = fs::remove_file(&backup) {
        log::warn!(
            "cannot remove {} (it holds the old credential): {e}",
            backup.display()
        );
    }
    File::open(&target.dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::NotDurable {
            path: target.dir.clone(),
            source,
        })
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("cannot fsync directory", dir, e))
}

fn file_uid(file: &File, path: &Path) -> Result<u32, Error> {
    file.metadata()
        .map(|m| m.uid())
        .map_err(|e| Error::io("cannot stat", path, e))
}

fn file_gid(file: &File, path: &Path) -> Result<u32, Error> {
    file.metadata()
        .map(|m| m.gid())
        .map_err(|e| Error::io("cannot stat", path, e))
}

/// Copy the extended attributes that describe who may read the file (the POSIX access ACL) and
/// the user's own (`user.*`) from `from` onto `to`. Other namespaces (`security.*`, `trusted.*`)
/// belong to the system and are left to it.
fn copy_xattrs(from: &Path, to: &File) -> io::Result<()> {
    let c_path = CString::new(from.as_os_str().as_bytes())?;
    let names = xattr_list(&c_path)?;
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        if !(name == b"system.posix_acl_access" || name.starts_with(b"user.")) {
            continue;
        }
        let c_name = CString::new(name)?;
        let value = xattr_get(&c_path, &c_name)?;
        // SAFETY: fd is open; both pointers are valid for the lengths given.
        let rc = unsafe {
            libc::fsetxattr(
                to.as_raw_fd(),
                c_name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The NUL-separated attribute names of `path`; empty where the file system has none.
fn xattr_list(path: &CString) -> io::Result<Vec<u8>> {
    // SAFETY: a null buffer of size 0 asks for the size only.
    let size = unsafe { libc::listxattr(path.as_ptr(), std::ptr::null_mut(), 0) };
    if size < 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ENOTSUP) => Ok(Vec::new()),
            _ => Err(err),
        };
    }
    let mut buf = vec![0u8; size as usize];
    // SAFETY: buf is valid for buf.len() bytes.
    let n = unsafe { libc::listxattr(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

fn xattr_get(path: &CString, name: &CString) -> io::Result<Vec<u8>> {
    // SAFETY: a null buffer of size 0 asks for the size only.
    let size = unsafe { libc::getxattr(path.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) };
    if size < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = vec![0u8; size as usize];
    // SAFETY: buf is valid for buf.len() bytes.
    let n = unsafe {
        libc::getxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

/// Remove temp files that a crashed run of this target left behind. Call under the lock.
pub fn sweep_orphans(target: &Target) {
    let (prefix, suffix) = target.temp_affixes();
    let Ok(entries) = fs::read_dir(&target.dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let bytes = name.as_bytes();
        if bytes.len() > prefix.len() + suffix.len()
            && bytes.starts_with(prefix.as_bytes())
            && bytes.ends_with(suffix.as_bytes())
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            match fs::remove_file(entry.path()) {
                Ok(()) => log::info!(
                    "removed a temp file left by an earlier run: {}",
                    entry.path().display()
                ),
                Err(e) => log::warn!(
                    "cannot remove stale temp file {}: {e}",
                    entry.path().display()
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(dir: &Path, name: &str, body: Option<&str>) -> Target {
        let p = dir.join(name);
        if let Some(b) = body {
            fs::write(&p, b).unwrap();
        }
        Target::resolve(&p, true).unwrap()
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn replace_keeps_mode_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path(), "app.env", Some("A=1\n"));
        fs::set_permissions(&t.real, Permissions::from_mode(0o640)).unwrap();
        let t = Target::resolve(&t.real, false).unwrap();
        replace(&t, b"A=2\n", 0o600, false).unwrap();
        assert_eq!(fs::read_to_string(&t.real).unwrap(), "A=2\n");
        let mode = fs::metadata(&t.real).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn user_xattrs_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path(), "x.env", Some("A=1\n"));
        let path = CString::new(t.real.as_os_str().as_bytes()).unwrap();
        // SAFETY: valid NUL-terminated strings and a 3-byte value.
        let rc = unsafe {
            libc::setxattr(
                path.as_ptr(),
                c"user.owner-team".as_ptr(),
                b"ops".as_ptr().cast(),
                3,
                0,
            )
        };
        if rc != 0 {
            eprintln!(
                "skipped: user xattrs unsupported here: {}",
                io::Error::last_os_error()
            );
            return;
        }
        replace(&t, b"A=2\n", 0o600, false).unwrap();
        let path = CString::new(t.real.as_os_str().as_bytes()).unwrap();
        assert_eq!(
            xattr_get(&path, &CString::new("user.owner-team").unwrap()).unwrap(),
            b"ops"
        );
    }

    #[test]
    fn new_file_is_0600() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path(), "new.env", None);
        replace(&t, b"A=1\n", 0o600, false).unwrap();
        let mode = fs::metadata(&t.real).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn sweep_removes_only_this_targets_temps() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path(), ".env", Some("A=1\n"));
        for n in [
            "..env.credshim.abc.tmp",
            ".other.credshim.abc.tmp",
            "..env.credshim.lock",
        ] {
            fs::write(dir.path().join(n), "").unwrap();
        }
        sweep_orphans(&t);
        assert!(!dir.path().join("..env.credshim.abc.tmp").exists());
        assert!(dir.path().join(".other.credshim.abc.tmp").exists());
        assert!(dir.path().join("..env.credshim.lock").exists());
    }
}
