//! The metadata a new file takes from the one it replaces: owner, group, mode, the POSIX access
//! ACL and `user.*` extended attributes, all set on credshim's own temp descriptor before the
//! first byte of the secret, with the run's own rights. (rustix's `*xattr` calls on the
//! descriptors; no path is looked up again.)

use crate::target::Target;
use crate::walk::Actor;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;

/// The run's own rights for as long as this lives, inside a scope that acts as the directory's
/// owner: the guard leaves their identity and takes it again when dropped.
pub(super) struct OwnRights<'a>(Option<&'a Actor>);

impl<'a> OwnRights<'a> {
    pub(super) fn take(target: &'a Target) -> OwnRights<'a> {
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
pub(super) fn drop_access_acl(file: &File) -> io::Result<()> {
    match rustix::fs::fremovexattr(file, "system.posix_acl_access") {
        Ok(()) | Err(rustix::io::Errno::NODATA | rustix::io::Errno::NOTSUP) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Copy the extended attributes that describe who may read the file (the POSIX access ACL) and
/// the user's own (`user.*`) from `from` onto `to`. Other namespaces (`security.*`, `trusted.*`)
/// belong to the system and are left to it. An ACL `to` inherited from the directory's default
/// ACL is removed when `from` has none: the new file is never readable by more than the old.
pub(super) fn copy_xattrs(from: &File, to: &File) -> io::Result<()> {
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
