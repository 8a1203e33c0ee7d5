//! The `--allow-in-place` fallback, for a file that cannot be renamed over (EBUSY: a single file
//! bind-mounted into a container). The old contents go first to a backup created exclusively
//! under a random name beside it and fsync'ed with the directory; then the target, opened again
//! by name in the same directory and checked to be the same file, is written from offset 0,
//! truncated and fsync'ed, and the backup removed. Not atomic: a reader can see a mix, which is
//! why it is only done on request.

use super::{fsync_dir, remove, sync_dir};
use crate::error::Error;
use crate::target::Target;
use rustix::fs::{FileType, Mode, OFlags};
use std::fs::File;
use std::io::{self, Write};

/// The non-atomic fallback for a target that cannot be renamed over. Runs in the directory
/// owner's identity (the caller's guard).
pub(super) fn rewrite_in_place(target: &Target, contents: &[u8]) -> Result<(), Error> {
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
        .and_then(|()| fsync_dir(target))
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
    sync_dir(target)
}
