//! Finding a file without being steered: guarantee 9.
//!
//! A path is resolved one component at a time from an open directory, never by the kernel's
//! own path walk: each component is opened `O_PATH|O_NOFOLLOW` relative to the descriptor of
//! the one before, and what it is comes from `fstat` on that descriptor. So a symlink is seen
//! as a symlink, and is followed only when its owner may steer this run (root, the user it runs
//! as, or the one other user whose directory it is). The file itself is opened once,
//! `O_NOFOLLOW|O_NONBLOCK`, and its type, owner, mode, xattrs and contents all come from that
//! one descriptor; a FIFO or a device is refused (66) before a byte is read, and cannot block.
//!
//! A privileged run (root, or any effective capability) also refuses (77) any directory on the
//! way that someone it must not trust can write: group-writable by a group other than root's,
//! world-writable without the sticky bit, or sticky with an entry owned by a stranger. One other
//! user may own directories on the way (`/srv/backstage` owned by `backstage`, or the home of
//! `~/.aws/credentials`): from the first place that user controls (their directory, or a symlink
//! of theirs), the run takes their file-system identity ([`Actor`], `setfsuid`/`setfsgid` and
//! their groups), so the kernel itself refuses whatever they could not do. Only `fchown` and
//! `fchmod` of credshim's own open temp file use root's rights again ([`Actor::as_self`]).
//!
//! An unprivileged run can do no more than its own user already can, so it skips the directory
//! check (a non-root pod writes into a 0777 `emptyDir`); every other rule holds for it.

mod acl;
mod actor;
mod open;
#[cfg(test)]
mod tests;
mod trust;

use rustix::fs::{FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path, PathBuf};

use actor::can_take_identities;
pub use actor::{Acting, Actor, privileged};
pub use open::{exists, open_file};

/// How many symlinks one resolution follows before calling it a loop (the kernel's limit).
const MAX_LINKS: usize = 40;

/// Why a path could not be resolved safely.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    /// Missing, or not what was asked for (exit 66).
    #[error("{0}")]
    NoInput(String),
    /// Someone the run must not trust could steer it (exit 77).
    #[error("{0}")]
    Untrusted(String),
    /// The system refused an open or a stat (EACCES is 77, the rest 74).
    #[error("cannot open {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A directory reached safely, with the descriptor every later operation in it goes through.
#[derive(Debug)]
pub struct Dir {
    /// Opened `O_RDONLY|O_DIRECTORY`: usable for `openat`, `fsync` and listing.
    pub fd: OwnedFd,
    /// Its real path, for messages.
    pub path: PathBuf,
    pub stat: Stat,
}

/// What [`resolve`] found.
#[derive(Debug)]
pub struct Found {
    pub dir: Dir,
    /// The real file name in `dir`.
    pub name: OsString,
    /// The file, opened once; `None` when it does not exist and `create` was asked for.
    pub file: Option<(File, Stat)>,
    /// Whose identity the run takes for everything done in `dir`.
    pub actor: Option<Actor>,
    /// Whether a symlink was followed for the last component.
    pub via_link: bool,
}

/// The policy a walk applies.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Check every directory on the way (privileged runs).
    pub check_dirs: bool,
    /// A missing file is fine (it will be created).
    pub create: bool,
}

impl Rules {
    pub fn for_this_run(create: bool) -> Rules {
        Rules {
            check_dirs: privileged(),
            create,
        }
    }
}

struct Walker {
    rules: Rules,
    me: u32,
    can_switch: bool,
    /// Directories from the root down to where the walk is.
    stack: Vec<(OwnedFd, PathBuf, Stat)>,
    actor: Option<Actor>,
    links: usize,
}

/// Resolve `given` (absolute, or relative to the working directory) to an open directory, a
/// name in it and, when it exists, the open regular file. Errors say which component failed.
pub fn resolve(given: &Path, rules: Rules) -> Result<Found, WalkError> {
    let absolute = if given.is_absolute() {
        given.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|source| WalkError::Io {
                path: ".".into(),
                source,
            })?
            .join(given)
    };
    let me = rustix::process::geteuid().as_raw();
    let mut w = Walker {
        rules,
        me,
        can_switch: rules.check_dirs && can_take_identities(),
        stack: Vec::new(),
        actor: None,
        links: 0,
    };
    let out = w.walk(&absolute);
    if let Some(actor) = &w.actor {
        actor.leave();
        // Say whose rights the kernel judged by: root could have opened it.
        if let Err(WalkError::Io { path, source }) = &out
            && source.kind() == io::ErrorKind::PermissionDenied
        {
            return Err(WalkError::Untrusted(format!(
                "cannot open {}: {source}, as uid {}: the way to it belongs to that user, and \
                 a privileged run does there only what they could do",
                path.display(),
                actor.uid
            )));
        }
    }
    out
}

impl Walker {
    fn walk(&mut self, path: &Path) -> Result<Found, WalkError> {
        self.push_root()?;
        let mut queue = components(path);
        if queue.is_empty() {
            return Err(WalkError::NoInput("has no file name".into()));
        }
        let mut via_link = false;
        while let Some(name) = queue.pop_front() {
            if name == ".." {
                if self.stack.len() > 1 {
                    self.stack.pop();
                }
                continue;
            }
            let last = queue.is_empty();
            let (parent_path, parent_stat) = {
                let (_, path, stat) = self.stack.last().expect("root");
                (path.clone(), *stat)
            };
            let here = parent_path.join(&name);
            let node = match rustix::io::retry_on_intr(|| {
                rustix::fs::openat(
                    &self.stack.last().expect("root").0,
                    name.as_os_str(),
                    OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
            }) {
                Ok(fd) => fd,
                Err(Errno::NOENT) if last => {
                    if via_link {
                        return Err(WalkError::NoInput(
                            "is a symlink to a file that does not exist".into(),
                        ));
                    }
                    if !self.rules.create {
                        return Err(WalkError::NoInput(
                            "does not exist (use --create to create it)".into(),
                        ));
                    }
                    let dir = self.open_dir()?;
                    return Ok(self.found(dir, name, None, via_link));
                }
                Err(Errno::NOENT) => {
                    return Err(WalkError::NoInput(format!(
                        "{} does not exist",
                        here.display()
                    )));
                }
                Err(e) => return Err(io_err(&here, e)),
            };
            let stat = rustix::fs::fstat(&node).map_err(|e| io_err(&here, e))?;
            self.check_entry(&parent_path, &parent_stat, &stat, &here)?;
            match FileType::from_raw_mode(stat.st_mode) {
                FileType::Symlink => {
                    self.follow(&stat, &parent_stat, &here)?;
                    let text = rustix::fs::readlinkat(&node, "", Vec::new())
                        .map_err(|e| io_err(&here, e))?;
                    let text = OsString::from_vec(text.into_bytes());
                    if Path::new(&text).is_absolute() {
                        self.stack.truncate(1);
                    }
                    let mut more = components(Path::new(&text));
                    more.extend(queue.drain(..));
                    queue = more;
                    via_link = last;
                    if queue.is_empty() {
                        // A link to "/" or "..": a directory, not a file.
                        return Err(WalkError::NoInput("is not a regular file".into()));
                    }
                }
                FileType::Directory if !last => {
                    // `node` is the directory that was checked: a swap of the name since then
                    // changes nothing for this run.
                    self.enter_dir(&node, &stat, &here)?;
                    self.stack.push((node, here, stat));
                }
                _ if !last => {
                    return Err(WalkError::NoInput(format!(
                        "{} is not a directory",
                        here.display()
                    )));
                }
                _ => {
                    let dir = self.open_dir()?;
                    let file = open_file(&dir.fd, &name, &here)?;
                    return Ok(self.found(dir, name, Some(file), via_link));
                }
            }
        }
        // Only `..` components, or a path ending in a directory.
        Err(WalkError::NoInput("is not a regular file".into()))
    }

    fn found(
        &mut self,
        dir: Dir,
        name: OsString,
        file: Option<(File, Stat)>,
        via_link: bool,
    ) -> Found {
        Found {
            dir,
            name,
            file,
            actor: self.actor.clone(),
            via_link,
        }
    }

    fn push_root(&mut self) -> Result<(), WalkError> {
        let root = rustix::fs::openat(
            rustix::fs::CWD,
            "/",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io_err(Path::new("/"), e))?;
        let stat = rustix::fs::fstat(&root).map_err(|e| io_err(Path::new("/"), e))?;
        self.enter_dir(&root, &stat, Path::new("/"))?;
        self.stack.push((root, PathBuf::from("/"), stat));
        Ok(())
    }

    /// The directory the walk is in, opened for reading (listing, fsync) as itself.
    fn open_dir(&self) -> Result<Dir, WalkError> {
        let (fd, path, stat) = self.stack.last().expect("root");
        let dir = rustix::io::retry_on_intr(|| {
            rustix::fs::openat(
                fd,
                ".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
        })
        .map_err(|e| io_err(path, e))?;
        Ok(Dir {
            fd: dir,
            path: path.clone(),
            stat: *stat,
        })
    }
}

fn group_name(gid: u32) -> String {
    match nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid)) {
        Ok(Some(g)) => format!("{} (gid {gid})", g.name),
        _ => format!("gid {gid}"),
    }
}

fn io_err(path: &Path, e: Errno) -> WalkError {
    WalkError::Io {
        path: path.to_path_buf(),
        source: e.into(),
    }
}

/// The normal components of `path`, `..` kept as a name for the walker.
fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

/// Keep `AsFd` in scope for callers that borrow a [`Dir`]'s descriptor.
impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
