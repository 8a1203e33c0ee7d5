//! Whose rights a privileged walk uses: its own, or the one other user's.
//!
//! [`privileged`] says whether the run has more rights than an ordinary user (root, or any
//! effective capability). Once a privileged walk reaches what the one other user controls,
//! `Walker::become_other` makes it act as that user from there on: their uid, their primary and
//! supplementary groups from the user database (only the directory's group for a uid without an
//! entry) become this thread's fsuid, fsgid and groups, and the fsuid is checked to have taken.
//! Only with CAP_SETUID and CAP_SETGID, and only one such user per walk. [`Actor`] leaves that
//! identity and takes it again ([`Acting`] while a guard lives, [`Actor::as_self`] for root's own
//! `fchown`/`fchmod`); failing to take it again panics rather than go on with root's rights.

use std::io;
use std::path::Path;

use super::{WalkError, Walker};

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

    pub(super) fn leave(&self) {
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
pub(super) fn can_take_identities() -> bool {
    use rustix::thread::CapabilitySet;
    rustix::thread::capabilities(None).is_ok_and(|c| {
        c.effective
            .contains(CapabilitySet::SETUID | CapabilitySet::SETGID)
    })
}

impl Walker {
    /// From here on, act as `uid`: only one such user per walk.
    pub(super) fn become_other(
        &mut self,
        uid: u32,
        gid: u32,
        what: &Path,
    ) -> Result<(), WalkError> {
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
