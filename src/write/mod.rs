//! Putting the new file in place atomically.
//!
//! The new text goes to a temp file `.<name>.credshim.<random>.tmp` in the target's directory,
//! created `O_EXCL|O_NOFOLLOW` with mode 0600 in the open call, relative to the directory's
//! descriptor, with the run's own rights (guarantee 9; see `Target::create_beside`). Before any
//! byte is written it gets the target's owner, group, mode, POSIX ACL and `user.*` extended
//! attributes ([`metadata`]); then it is written, fsync'ed, renamed over the real target (with
//! the directory owner's identity when the run takes it), and the directory is fsync'ed
//! ([`sync_dir`], the one place that does). A reader sees the old file or the new one, never a
//! mix. On any failure before the rename the temp file is removed and the target is untouched. A
//! failed fsync is never retried (the kernel may have dropped the dirty pages): the run fails.
//!
//! A single file bind-mounted into a container cannot be renamed over (EBUSY). Only with
//! `--allow-in-place` is it then rewritten in place ([`in_place`]): the old contents are first
//! copied to an fsync'ed backup `.<name>.credshim.<random>.backup` beside it (created exclusively, so nothing
//! planted there receives them), then the file is written from offset 0, truncated and
//! fsync'ed, and the backup removed. That is not atomic: a reader can see a mix.

mod in_place;
mod metadata;

use crate::error::Error;
use crate::target::Target;
use rustix::fs::{AtFlags, FileType, Mode};
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
    let written = fill(target, &tmp, contents, new_mode, 0);
    drop(tmp);
    if let Err(e) = written {
        remove(target, &tmp_name);
        return Err(e);
    }
    match rustix::fs::renameat(target.dir_fd(), &tmp_name, target.dir_fd(), &target.name) {
        Ok(()) => {}
        Err(rustix::io::Errno::BUSY) if allow_in_place => {
            remove(target, &tmp_name);
            return in_place::rewrite_in_place(target, contents);
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
    sync_dir(target)?;
    log::debug!("replaced {}", target.real.display());
    Ok(())
}

/// The verified new file as a temp file beside the target, with the target's owner, mode, ACL
/// and xattrs (guarantee 11: the probe sees the exact bytes and rights the application will),
/// but never writable by group or others, whatever the target's mode (the probe may run with
/// more rights than they have): removed when dropped. A run killed meanwhile leaves it to the
/// next run's orphan sweep.
pub struct Candidate<'a> {
    target: &'a Target,
    name: OsString,
}

impl Candidate<'_> {
    /// Its path, for `CREDSHIM_CANDIDATE`.
    pub fn path(&self) -> std::path::PathBuf {
        self.target.beside_path(&self.name)
    }
}

impl Drop for Candidate<'_> {
    fn drop(&mut self) {
        match self.target.acting() {
            Ok(_as) => remove(self.target, &self.name),
            Err(e) => log::warn!("{e}"),
        }
    }
}

/// Write `contents` as a [`Candidate`] beside the target; a target that does not exist yet gives
/// it `new_mode`.
pub fn candidate<'a>(
    target: &'a Target,
    contents: &[u8],
    new_mode: u32,
) -> Result<Candidate<'a>, Error> {
    let _as = target.acting()?;
    let (name, tmp) = target.create_beside(".tmp")?;
    // Declared after `_as`, so dropped first on an error: removed with the owner's identity.
    let candidate = Candidate { target, name };
    fill(target, &tmp, contents, new_mode, 0o022)?;
    Ok(candidate)
}

/// Give the temp file the target's metadata (its mode without the bits of `clear`), then the
/// contents, then fsync it.
fn fill(
    target: &Target,
    tmp: &File,
    contents: &[u8],
    new_mode: u32,
    clear: u32,
) -> Result<(), Error> {
    // The temp file is the run's own (see Target::create_beside): its metadata is set with the
    // run's rights, on its descriptor only.
    let _own = metadata::OwnRights::take(target);
    if let Some((old, stat)) = &target.file {
        // The ACL and user xattrs first, then owner and mode.
        metadata::copy_xattrs(old, tmp).map_err(|e| {
            Error::write(
                "cannot copy the target's ACL or user xattrs",
                &target.real,
                e,
            )
        })?;
        give_owner_and_mode(target, tmp, stat, clear)?;
    } else {
        // A new file: no ACL but what the target had (none), whatever the directory's default
        // ACL would give it; it belongs to the directory's owner when the run acts as them.
        metadata::drop_access_acl(tmp)
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
        rustix::fs::fchmod(tmp, Mode::from_raw_mode(new_mode & !clear))
            .map_err(|e| Error::write("cannot set the new file's mode", &target.real, e.into()))?;
    }
    drop(_own);
    let mut out = tmp;
    out.write_all(contents)
        .map_err(|e| Error::write("cannot write the temp file", &target.real, e))?;
    tmp.sync_all()
        .map_err(|e| Error::write("cannot fsync the temp file", &target.real, e))
}

/// The target's owner and mode on the temp file (in that order: `fchown` clears set-id bits).
fn give_owner_and_mode(
    target: &Target,
    tmp: &File,
    stat: &rustix::fs::Stat,
    clear: u32,
) -> Result<(), Error> {
    let now =
        rustix::fs::fstat(tmp).map_err(|e| Error::io("cannot stat", &target.real, e.into()))?;
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
    rustix::fs::fchmod(tmp, Mode::from_raw_mode(stat.st_mode & 0o7777 & !clear)).map_err(|e| {
        Error::write(
            "cannot give the new file the target's mode",
            &target.real,
            e.into(),
        )
    })
}

pub(super) fn remove(target: &Target, name: &OsString) {
    if let Err(e) = rustix::fs::unlinkat(target.dir_fd(), name, AtFlags::empty()) {
        log::warn!("cannot remove {}: {e}", target.beside_path(name).display());
    }
}

/// fsync the target's directory, retrying EINTR: what makes a rename (or an unlink) durable.
fn fsync_dir(target: &Target) -> io::Result<()> {
    rustix::io::retry_on_intr(|| rustix::fs::fsync(target.dir_fd())).map_err(io::Error::from)
}

/// fsync the directory after the new file is in place: a failure is "in place but maybe not
/// durable" (74), never a reason to undo.
pub(super) fn sync_dir(target: &Target) -> Result<(), Error> {
    fsync_dir(target).map_err(|source| Error::NotDurable {
        path: target.dir.path.clone(),
        source,
    })
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
