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

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path, PathBuf};

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

/// The one other user whose file-system identity a privileged run takes inside their directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub uid: u32,
    pub gid: u32,
    groups: Vec<u32>,
    /// Who the run is outside their directory, to come back to.
    own: (u32, u32, Vec<u32>),
}

impl Actor {
    /// The identity of `uid`: their primary group and supplementary groups from the user
    /// database, or only `fallback_gid` (the directory's group) for a uid without an entry.
    fn of(uid: u32, fallback_gid: u32) -> Actor {
        let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten();
        let (gid, groups) = match user {
            Some(u) => {
                let name = std::ffi::CString::new(u.name.as_bytes()).unwrap_or_default();
                let groups = nix::unistd::getgrouplist(&name, u.gid)
                    .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
                    .unwrap_or_else(|_| vec![u.gid.as_raw()]);
                (u.gid.as_raw(), groups)
            }
            None => (fallback_gid, vec![fallback_gid]),
        };
        let own_groups = rustix::process::getgroups()
            .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
            .unwrap_or_default();
        Actor {
            uid,
            gid,
            groups,
            own: (
                rustix::process::geteuid().as_raw(),
                rustix::process::getegid().as_raw(),
                own_groups,
            ),
        }
    }

    /// Take this user's file-system identity on this thread until [`Actor::leave`].
    fn enter(&self) -> io::Result<()> {
        set_identity(self.uid, self.gid, &self.groups)
    }

    fn leave(&self) {
        let (uid, gid, groups) = &self.own;
        // Coming back to our own identity cannot be refused: we had it a moment ago.
        let _ = set_identity(*uid, *gid, groups);
    }

    /// Leave the actor's identity until [`Actor::come_back`] (the run's own rights meanwhile).
    pub fn leave_for_a_while(actor: Option<&Actor>) {
        if let Some(a) = actor {
            a.leave();
        }
    }

    /// Take the actor's identity again after [`Actor::leave_for_a_while`].
    pub fn come_back(actor: Option<&Actor>) {
        if let Some(a) = actor
            && let Err(e) = a.enter()
        {
            // The caller's next file operation would run with root's rights: stop here.
            panic!("cannot take uid {}'s identity again: {e}", a.uid);
        }
    }

    /// Run `f` with root's rights again (for `fchown`/`fchmod` of our own temp file).
    pub fn as_self<T>(actor: Option<&Actor>, f: impl FnOnce() -> T) -> T {
        let Some(actor) = actor else { return f() };
        actor.leave();
        let out = f();
        if let Err(e) = actor.enter() {
            // The caller's next file operation would run with root's rights: stop here.
            panic!("cannot take uid {}'s identity again: {e}", actor.uid);
        }
        out
    }

    /// Take `actor`'s file-system identity (when there is one) until the guard is dropped.
    pub fn begin(actor: Option<&Actor>) -> io::Result<Acting<'_>> {
        if let Some(a) = actor {
            a.enter()?;
        }
        Ok(Acting(actor))
    }
}

/// While alive, file operations on this thread run with the [`Actor`]'s identity.
#[must_use]
pub struct Acting<'a>(Option<&'a Actor>);

impl Drop for Acting<'_> {
    fn drop(&mut self) {
        if let Some(a) = self.0 {
            a.leave();
        }
    }
}

/// Set this thread's supplementary groups, fsgid and fsuid, and check that the fsuid took.
fn set_identity(uid: u32, gid: u32, groups: &[u32]) -> io::Result<()> {
    let gids: Vec<_> = groups
        .iter()
        .map(|&g| rustix::process::Gid::from_raw(g))
        .collect();
    rustix::thread::set_thread_groups(&gids)?;
    nix::unistd::setfsgid(nix::unistd::Gid::from_raw(gid));
    nix::unistd::setfsuid(nix::unistd::Uid::from_raw(uid));
    // setfsuid reports no error; asking again returns the value now in force.
    let now = nix::unistd::setfsuid(nix::unistd::Uid::from_raw(uid)).as_raw();
    if now != uid {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("cannot take the file-system identity of uid {uid}"),
        ));
    }
    Ok(())
}

/// Whether this run has more rights than an ordinary user: root, or any effective capability.
pub fn privileged() -> bool {
    rustix::process::geteuid().is_root()
        || rustix::thread::capabilities(None).is_ok_and(|c| !c.effective.is_empty())
}

/// Whether this run may take another user's file-system identity (CAP_SETUID and CAP_SETGID:
/// root's, unless a unit's CapabilityBoundingSet= took them away).
fn can_take_identities() -> bool {
    use rustix::thread::CapabilitySet;
    rustix::thread::capabilities(None).is_ok_and(|c| {
        c.effective
            .contains(CapabilitySet::SETUID | CapabilitySet::SETGID)
    })
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

    fn trusted(&self, uid: u32) -> bool {
        uid == 0 || uid == self.me || self.actor.as_ref().is_some_and(|a| a.uid == uid)
    }

    /// An entry of a sticky, world-writable directory must be owned by someone the run trusts
    /// (or by the one other user, whose identity the run then takes).
    fn check_entry(
        &mut self,
        parent: &Path,
        parent_stat: &Stat,
        stat: &Stat,
        here: &Path,
    ) -> Result<(), WalkError> {
        let world_sticky = parent_stat.st_mode & 0o1002 == 0o1002;
        if !self.rules.check_dirs || !world_sticky || self.trusted(stat.st_uid) {
            return Ok(());
        }
        self.become_other(stat.st_uid, stat.st_gid, here)
            .map_err(|_| {
                WalkError::Untrusted(format!(
                    "{} is owned by uid {}, in {}, which anyone can write: a privileged run \
                     trusts only root's and its own entries there",
                    here.display(),
                    stat.st_uid,
                    parent.display()
                ))
            })
    }

    /// Whether a privileged run may go through `dir`; takes its owner's identity when it is
    /// the one other user.
    fn enter_dir(&mut self, fd: &OwnedFd, stat: &Stat, dir: &Path) -> Result<(), WalkError> {
        if !self.rules.check_dirs {
            return Ok(());
        }
        if let Some(who) = self.acl_writer(fd, stat) {
            return Err(WalkError::Untrusted(format!(
                "{} is writable by {who} through its ACL (getfacl {}), so they could swap the \
                 target under a privileged run; remove that entry (setfacl -x), or run credshim \
                 as the directory's owner",
                dir.display(),
                dir.display()
            )));
        }
        let mode = stat.st_mode;
        if mode & 0o002 != 0 && mode & 0o1000 == 0 {
            return Err(WalkError::Untrusted(format!(
                "{} is writable by every user (mode {:o}), so anyone could swap the target \
                 under a privileged run; make it sticky or tighten it (chmod o-w {}), or run \
                 credshim as the user who owns the files",
                dir.display(),
                mode & 0o7777,
                dir.display()
            )));
        }
        if mode & 0o020 != 0 && stat.st_gid != 0 {
            return Err(WalkError::Untrusted(format!(
                "{} is writable by group {} (mode {:o}), whose members a privileged run must \
                 not trust; tighten it (chmod g-w {}), or run credshim as its owner",
                dir.display(),
                group_name(stat.st_gid),
                mode & 0o7777,
                dir.display()
            )));
        }
        if !self.trusted(stat.st_uid) {
            self.become_other(stat.st_uid, stat.st_gid, dir)?;
        }
        Ok(())
    }

    /// Someone the run does not trust whom the directory's POSIX ACL lets write it: a named user
    /// other than root, the run's user or the actor, or a named group other than root's, with
    /// write permission under the mask.
    fn acl_writer(&self, fd: &OwnedFd, stat: &Stat) -> Option<String> {
        let dir = rustix::fs::openat(
            fd,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        let mut buf = [0u8; 4096];
        let n = rustix::fs::fgetxattr(&dir, "system.posix_acl_access", &mut buf[..]).ok()?;
        let entries = acl_entries(&buf[..n]);
        // The mask limits named entries; without one (no named entries) nothing is limited.
        let mask = entries
            .iter()
            .find(|e| e.0 == ACL_MASK)
            .map_or(0o7, |e| e.1);
        entries.iter().find_map(|&(tag, perm, id)| {
            let writes = perm & mask & 0o2 != 0;
            match tag {
                ACL_USER if writes && !self.trusted(id) && id != stat.st_uid => {
                    Some(format!("uid {id}"))
                }
                ACL_GROUP if writes && id != 0 => Some(group_name(id)),
                _ => None,
            }
        })
    }

    /// A symlink steers the walk: follow it only when its owner may.
    fn follow(&mut self, stat: &Stat, parent_stat: &Stat, here: &Path) -> Result<(), WalkError> {
        self.links += 1;
        if self.links > MAX_LINKS {
            return Err(WalkError::NoInput("is a symlink loop".into()));
        }
        let owner = stat.st_uid;
        if self.trusted(owner) {
            return Ok(());
        }
        if !self.rules.check_dirs {
            // The kernel's protected_symlinks rule: a link of the directory's owner is theirs
            // to place.
            if owner == parent_stat.st_uid {
                return Ok(());
            }
        } else if self.become_other(owner, stat.st_gid, here).is_ok() {
            return Ok(());
        }
        Err(WalkError::Untrusted(format!(
            "{} is a symlink owned by uid {}, which this run does not follow (only root's, its \
             own user's, or those of the one user whose directory it is)",
            here.display(),
            owner
        )))
    }

    /// From here on, act as `uid`: only one such user per walk.
    fn become_other(&mut self, uid: u32, gid: u32, what: &Path) -> Result<(), WalkError> {
        if let Some(actor) = &self.actor {
            if actor.uid == uid {
                return Ok(());
            }
            return Err(WalkError::Untrusted(format!(
                "{} belongs to uid {uid}, but the way to it already belongs to uid {}: a \
                 privileged run takes the identity of at most one other user",
                what.display(),
                actor.uid
            )));
        }
        if !self.can_switch {
            return Err(WalkError::Untrusted(format!(
                "{} belongs to uid {uid}, whose identity this run cannot take; run credshim as \
                 that user",
                what.display()
            )));
        }
        let actor = Actor::of(uid, gid);
        if let Err(e) = actor.enter() {
            // Whatever part of the identity was taken is given back.
            actor.leave();
            return Err(WalkError::Io {
                path: what.to_path_buf(),
                source: e,
            });
        }
        log::debug!(
            "{} belongs to uid {uid}: acting as that user from here on",
            what.display()
        );
        self.actor = Some(actor);
        Ok(())
    }
}

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

const ACL_USER: u16 = 0x02;
const ACL_GROUP: u16 = 0x08;
const ACL_MASK: u16 = 0x10;

/// The entries `(tag, permissions, id)` of a POSIX ACL in the kernel's xattr form (version 2).
fn acl_entries(raw: &[u8]) -> Vec<(u16, u16, u32)> {
    if raw.len() < 4 || raw[..4] != 2u32.to_le_bytes() {
        return Vec::new();
    }
    raw[4..]
        .chunks_exact(8)
        .map(|e| {
            (
                u16::from_le_bytes([e[0], e[1]]),
                u16::from_le_bytes([e[2], e[3]]),
                u32::from_le_bytes([e[4], e[5], e[6], e[7]]),
            )
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn open(p: &Path, create: bool) -> Result<Found, WalkError> {
        resolve(
            p,
            Rules {
                check_dirs: false,
                create,
            },
        )
    }

    #[test]
    fn follows_links_and_finds_the_real_name() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("real")).unwrap();
        std::fs::write(d.path().join("real/a.env"), "A=1\n").unwrap();
        std::os::unix::fs::symlink("real", d.path().join("dir")).unwrap();
        std::os::unix::fs::symlink("../real/a.env", d.path().join("real/b.env")).unwrap();
        let f = open(&d.path().join("dir/b.env"), false).unwrap();
        assert_eq!(f.name, "a.env");
        assert!(f.dir.path.ends_with("real"));
        assert!(f.via_link);
        assert!(f.file.is_some());
    }

    #[test]
    fn fifos_devices_and_loops_are_refused_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, Mode::from_raw_mode(0o600)).unwrap();
        let err = open(&fifo, false).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        let err = open(Path::new("/dev/null"), false).unwrap_err();
        assert!(err.to_string().contains("character device"), "{err}");
        let l = d.path().join("loop");
        std::os::unix::fs::symlink("loop", &l).unwrap();
        let err = open(&l, true).unwrap_err();
        assert!(err.to_string().contains("loop"), "{err}");
        let dangling = d.path().join("dangling");
        std::os::unix::fs::symlink("gone", &dangling).unwrap();
        let err = open(&dangling, true).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }

    #[test]
    fn world_writable_and_group_writable_dirs_are_refused_when_checking() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let ww = d.path().join("ww");
        std::fs::create_dir(&ww).unwrap();
        std::fs::set_permissions(&ww, std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::write(ww.join("x.env"), "").unwrap();
        let check = Rules {
            check_dirs: true,
            create: false,
        };
        let err = resolve(&ww.join("x.env"), check).unwrap_err();
        assert!(matches!(err, WalkError::Untrusted(_)), "{err}");
        assert!(err.to_string().contains("writable by every user"), "{err}");
        // Unchecked (unprivileged), the same layout is fine.
        assert!(open(&ww.join("x.env"), false).is_ok());
        // Sticky, with an entry of our own: fine.
        std::fs::set_permissions(&ww, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(resolve(&ww.join("x.env"), check).is_ok());
    }
}
