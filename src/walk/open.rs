//! Opening the file once, without being steered and without blocking.
//!
//! [`open_file`] opens a name in a directory the walk holds, `O_NOFOLLOW|O_NONBLOCK|O_NOCTTY`:
//! a symlink swapped in is refused (66) and a FIFO cannot block the open. It accepts only a
//! regular file, judged by `fstat` on that same descriptor, from which everything credshim learns
//! of the file comes; a FIFO, a device, a socket or a directory is refused (66), saying which it
//! is. [`exists`] tells whether a name is there, as anything, without following it.

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;

use super::{WalkError, io_err};

/// Open the file `name` in `dir` once, without following a symlink or blocking on a FIFO, and
/// accept only a regular file.
pub fn open_file(dir: &OwnedFd, name: &OsStr, here: &Path) -> Result<(File, Stat), WalkError> {
    let fd = rustix::io::retry_on_intr(|| {
        rustix::fs::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
    })
    .map_err(|e| match e {
        Errno::LOOP => WalkError::NoInput("was replaced by a symlink".into()),
        Errno::NOENT => WalkError::NoInput("does not exist (use --create to create it)".into()),
        e => io_err(here, e),
    })?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| io_err(here, e))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(WalkError::NoInput(format!(
            "is not a regular file (it is a {})",
            kind(stat.st_mode)
        )));
    }
    // Reads from now on may block like any regular file's.
    let _ = rustix::fs::fcntl_setfl(&fd, OFlags::RDONLY);
    Ok((File::from(fd), stat))
}

/// Whether `name` exists in `dir` (as anything: a marker is a name, not a content).
pub fn exists(dir: BorrowedFd<'_>, name: &OsStr) -> bool {
    rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).is_ok()
}

fn kind(mode: u32) -> &'static str {
    match FileType::from_raw_mode(mode) {
        FileType::Fifo => "FIFO",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Directory => "directory",
        FileType::Socket => "socket",
        FileType::Symlink => "symlink",
        _ => "special file",
    }
}
