//! Putting the new file in place atomically.
//!
//! The new text goes to a temp file `.<name>.credshim.<random>.tmp` in the target's directory,
//! created `O_EXCL|O_NOFOLLOW` with mode 0600 in the open call, relative to the directory's
//! descriptor and with the directory owner's identity when the run takes it (guarantee 9). Before any byte is written it gets the
//! target's owner, group, mode, POSIX ACL and `user.*` extended attributes; then it is written, fsync'ed, renamed over the real
//! target, and the directory is fsync'ed. A reader sees the old file or the new one, never a mix.
//! On any failure before the rename the temp file is removed and the target is untouched. A failed
//! fsync is never retried (the kernel may have dropped the dirty pages): the run fails instead.
//!
//! A single file bind-mounted into a container cannot be renamed over (EBUSY). Only with
//! `--allow-in-place` is it then rewritten in place: the old contents are first copied to an
//! fsync'ed backup `.<name>.credshim.<random>.backup` beside it (created exclusively, so nothing
//! planted there receives them), then the file is written from offset 0, truncated and
//! fsync'ed, and the backup removed. That is not atomic: a reader can see a mix.

use crate::error::Error;
use crate::target::Target;
use crate::walk::Actor;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;

/// Replace the target's contents with `contents`; a target that does not exist yet gets
/// `new_mode`. `allow_in_place`: fall back to an in-place rewrite when the rename is refused
/// with EBUSY.
pub fn replace(
    target: &Target,
    contents: &[u8],
    new_mode: u32,
    allow_in_place: bool,
) -> Result<(), Error> {
    let _as = target.acting()?;
    let (tmp_name, tmp) = target.create_beside(".tmp")?;
    let written = fill(target, &tmp, contents, new_mode);
    drop(tmp);
    if let Err(e) = written {
        remove(target, &tmp_name);
        return Err(e);
    }
    match rustix::fs::renameat(target.dir_fd(), &tmp_name, target.dir_fd(), &target.name) {
        Ok(()) => {}
        Err(rustix::io::Errno::BUSY) if allow_in_place => {
            remove(target, &tmp_name);
            return rewrite_in_place(target, contents);
        }
        Err(e) => {
            remove(target, &tmp_name);
            let action = if e == rustix::io::Errno::BUSY {
                "cannot rename over it: it is busy (EBUSY), as a single file bind-mounted into \
                 a container is; mount its directory instead, or pass --allow-in-place"
            } else {
                "cannot rename the temp file over it"
            };
            return Err(Error::write(action, &target.real, e.into()));
        }
    }
    // From here on the new file is in place; only its durability is in question.
    rustix::io::retry_on_intr(|| rustix::fs::fsync(target.dir_fd())).map_err(|e| {
        Error::NotDurable {
            path: target.dir.path.clone(),
            source: e.into(),
        }
    })?;
    log::debug!("replaced {}", target.real.display());
    Ok(())
}

/// Give the temp file the target's metadata, then the contents, then fsync it.
fn fill(target: &Target, tmp: &File, contents: &[u8], new_mode: u32) -> Result<(), Error> {
    // The temp file is the run's own (see Target::create_beside): its metadata is set with the
    // run's rights, on its descriptor only.
    let _own = OwnRights::take(target);
    if let Some((old, stat)) = &target.file {
        // The ACL and user xattrs first, then owner and mode.
        copy_xattrs(old, tmp).map_err(|e| {
            Error::write(
                "cannot copy the target's ACL or user xattrs",
                &target.real,
                e,
            )
        })?;
        Actor::as_self(None, || -> Result<(), Error> {
            let now = rustix::fs::fstat(tmp)
                .map_err(|e| Error::io("cannot stat", &target.real, e.into()))?;
            if (now.st_uid, now.st_gid) != (stat.st_uid, stat.st_gid) {
                // Refuses (EPERM, exit 77) rather than give the file to ourselves.
                rustix::fs::fchown(
                    tmp,
                    Some(rustix::process::Uid::from_raw(stat.st_uid)),
                    Some(rustix::process::Gid::from_raw(stat.st_gid)),
                )
                .map_err(|e| {
                    Error::write(
                        "cannot give the new file the target's owner",
                        &target.real,
                        e.into(),
                    )
                })?;
            }
            rustix::fs::fchmod(tmp, Mode::from_raw_mode(stat.st_mode & 0o7777)).map_err(|e| {
                Error::write(
                    "cannot give the new file the target's mode",
                    &target.real,
                    e.into(),
                )
            })
        })?;
    } else {
        // A new file: no ACL but what the target had (none), whatever the directory's default
        // ACL would give it; it belongs to the directory's owner when the run acts as them.
        drop_access_acl(tmp)
            .map_err(|e| Error::write("cannot drop an inherited ACL", &target.real, e))?;
        if let Some(a) = &target.actor {
            rustix::fs::fchown(
                tmp,
                Some(rustix::process::Uid::from_raw(a.uid)),
                Some(rustix::process::Gid::from_raw(a.gid)),
            )
            .map_err(|e| {
                Error::write("cannot give the new file its owner", &target.real, e.into())
            })?;
        }
        rustix::fs::fchmod(tmp, Mode::from_raw_mode(new_mode))
            .map_err(|e| Error::write("cannot set the new file's mode", &target.real, e.into()))?;
    }
    drop(_own);
    let mut out = tmp;
    out.write_all(contents)
        .map_err(|e| Error::write("cannot write the temp file", &target.real, e))?;
    tmp.sync_all()
        .map_err(|e| Error::write("cannot fsync the temp file", &target.real, e))
}

fn remove(target: &Target, name: &OsString) {
    if let Err(e) = rustix::fs::unlinkat(target.dir_fd(), name, AtFlags::empty()) {
        log::warn!("cannot remove {}: {e}", target.beside_path(name).display());
    }
}

/// The non-atomic fallback for a target that cannot be renamed over. Runs in the directory
/// owner's identity (the caller's guard).
fn rewrite_in_place(target: &Target, contents: &[u8]) -> Result<(), Error> {
    log::warn!(
        "{} cannot be replaced by rename (EBUSY: a bind-mounted file?); rewriting it in place, \
         which is not atomic",
        target.given.display()
    );
    let Some((_, stat)) = &target.file else {
        return Err(Error::write(
            "cannot rewrite in place",
            &target.real,
            io::Error::from(io::ErrorKind::NotFound),
        ));
    };
    let old = target.read()?;
    let (backup_name, mut backup) = target.create_beside(".backup")?;
    let backup_path = target.beside_path(&backup_name);
    if let Err(e) = backup
        .write_all(old.as_bytes())
        .and_then(|()| backup.sync_all())
        .and_then(|()| rustix::fs::fsync(target.dir_fd()).map_err(io::Error::from))
    {
        remove(target, &backup_name);
        return Err(Error::write("cannot write the backup", &backup_path, e));
    }
    // The same file that was read: opened again by name in the same directory, and checked.
    let reopened = rustix::fs::openat(
        target.dir_fd(),
        &target.name,
        OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        Error::write(
            "cannot open for an in-place rewrite",
            &target.real,
            e.into(),
        )
    })?;
    let now = rustix::fs::fstat(&reopened)
        .map_err(|e| Error::io("cannot stat", &target.real, e.into()))?;
    if (now.st_dev, now.st_ino) != (stat.st_dev, stat.st_ino)
        || FileType::from_raw_mode(now.st_mode) != FileType::RegularFile
    {
        remove(target, &backup_name);
        return Err(Error::NoInput {
            path: target.given.clone(),
            reason: "was replaced by another file during the run".into(),
        });
    }
    let mut file = File::from(reopened);
    // From the first byte on, the target is no longer the old file.
    file.write_all(contents)
        .and_then(|()| file.set_len(contents.len() as u64))
        .and_then(|()| file.sync_all())
        .map_err(|source| Error::InPlace {
            path: target.real.clone(),
            source,
        })?;
    remove(target, &backup_name);
    rustix::io::retry_on_intr(|| rustix::fs::fsync(target.dir_fd())).map_err(|e| {
        Error::NotDurable {
            path: target.dir.path.clone(),
            source: e.into(),
        }
    })
}

/// The run's own rights for as long as this lives, inside a scope that acts as the directory's
/// owner: the guard leaves their identity and takes it again when dropped.
struct OwnRights<'a>(Option<&'a Actor>);

impl<'a> OwnRights<'a> {
    fn take(target: &'a Target) -> OwnRights<'a> {
        Actor::leave_for_a_while(target.actor.as_ref());
        OwnRights(target.actor.as_ref())
    }
}

impl Drop for OwnRights<'_> {
    fn drop(&mut self) {
        Actor::come_back(self.0);
    }
}

/// Remove an access ACL the file got from its directory's default ACL.
fn drop_access_acl(file: &File) -> io::Result<()> {
    match rustix::fs::fremovexattr(file, "system.posix_acl_access") {
        Ok(()) | Err(rustix::io::Errno::NODATA | rustix::io::Errno::NOTSUP) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Copy the extended attributes that describe who may read the file (the POSIX access ACL) and
/// the user's own (`user.*`) from `from` onto `to`. Other namespaces (`security.*`, `trusted.*`)
/// belong to the system and are left to it. An ACL `to` inherited from the directory's default
/// ACL is removed when `from` has none: the new file is never readable by more than the old.
fn copy_xattrs(from: &File, to: &File) -> io::Result<()> {
    let names = match rustix::fs::flistxattr_query(from) {
        Ok(0) => return drop_access_acl(to),
        Ok(size) => {
            let mut buf = vec![0u8; size];
            let n = rustix::fs::flistxattr(from, &mut buf[..])?;
            buf.truncate(n);
            buf
        }
        Err(rustix::io::Errno::NOTSUP) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if !names
        .split(|&b| b == 0)
        .any(|n| n == b"system.posix_acl_access")
    {
        drop_access_acl(to)?;
    }
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        if !(name == b"system.posix_acl_access" || name.starts_with(b"user.")) {
            continue;
        }
        let name = std::ffi::OsStr::from_bytes(name);
        let size = rustix::fs::fgetxattr_query(from, name)?;
        let mut value = vec![0u8; size];
        let n = rustix::fs::fgetxattr(from, name, &mut value[..])?;
        value.truncate(n);
        rustix::fs::fsetxattr(to, name, &value, rustix::fs::XattrFlags::empty())?;
    }
    Ok(())
}

/// Remove temp files that a crashed run of this target left behind. Call under the lock.
pub fn sweep_orphans(target: &Target) {
    let (prefix, suffix) = target.temp_affixes();
    let Ok(_as) = target.acting() else { return };
    let Ok(dir) = rustix::fs::Dir::read_from(target.dir_fd()) else {
        return;
    };
    for entry in dir.flatten() {
        let bytes = entry.file_name().to_bytes();
        if bytes.len() <= prefix.len() + suffix.len()
            || !bytes.starts_with(prefix.as_bytes())
            || !bytes.ends_with(suffix.as_bytes())
        {
            continue;
        }
        let name = OsString::from(std::ffi::OsStr::from_bytes(bytes));
        let path = target.beside_path(&name);
        // Only regular files, looked at without following a link.
        let regular = rustix::fs::statat(target.dir_fd(), &name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile);
        if !regular {
            continue;
        }
        match rustix::fs::unlinkat(target.dir_fd(), &name, AtFlags::empty()) {
            Ok(()) => log::info!(
                "removed a temp file left by an earlier run: {}",
                path.display()
            ),
            Err(e) => log::warn!("cannot remove stale temp file {}: {e}", path.display()),
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

    use std::fs::{self, Permissions};
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

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
        if let Err(e) = rustix::fs::setxattr(
            &t.real,
            "user.owner-team",
            b"ops",
            rustix::fs::XattrFlags::empty(),
        ) {
            eprintln!("skipped: user xattrs unsupported here: {e}");
            return;
        }
        let t = Target::resolve(&t.real, false).unwrap();
        replace(&t, b"A=2\n", 0o600, false).unwrap();
        let mut value = [0u8; 16];
        let n = rustix::fs::getxattr(&t.real, "user.owner-team", &mut value[..]).unwrap();
        assert_eq!(&value[..n], b"ops");
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
