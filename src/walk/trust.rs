//! Whom a privileged walk trusts, and what it refuses for it (exit 77).
//!
//! Root, the run's own user and the one other user whose identity it has taken are trusted.
//! With [`Rules::check_dirs`](super::Rules::check_dirs), a directory on the way is refused when
//! someone else can write it: through its ACL (`acl`), as world-writable without the sticky bit,
//! or as group-writable by a group other than root's; an entry of a sticky world-writable
//! directory must be a trusted user's. What belongs to an untrusted user makes the walk act as
//! that user from there on, when it can (`Walker::become_other`), or is refused. A symlink is
//! followed only when its owner is trusted, or can be acted as in a checked walk, or owns the
//! directory the link is in in an unchecked one (the kernel's protected_symlinks rule); a walk
//! follows at most 40.

use rustix::fs::Stat;
use std::os::fd::OwnedFd;
use std::path::Path;

use super::{MAX_LINKS, WalkError, Walker, group_name};

impl Walker {
    pub(super) fn trusted(&self, uid: u32) -> bool {
        uid == 0 || uid == self.me || self.actor.as_ref().is_some_and(|a| a.uid == uid)
    }

    /// An entry of a sticky, world-writable directory must be owned by someone the run trusts
    /// (or by the one other user, whose identity the run then takes).
    pub(super) fn check_entry(
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
    pub(super) fn enter_dir(
        &mut self,
        fd: &OwnedFd,
        stat: &Stat,
        dir: &Path,
    ) -> Result<(), WalkError> {
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

    /// A symlink steers the walk: follow it only when its owner may.
    pub(super) fn follow(
        &mut self,
        stat: &Stat,
        parent_stat: &Stat,
        here: &Path,
    ) -> Result<(), WalkError> {
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
}
