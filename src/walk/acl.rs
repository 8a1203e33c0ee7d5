//! A directory's POSIX access ACL, read through the descriptor the walk holds.
//!
//! `Walker::acl_writer` names whoever the ACL lets write the directory and a privileged run does
//! not trust: a named user other than root, the run's user, the actor and the directory's owner,
//! or a named group other than root's, with write permission under the mask (without a mask
//! nothing is limited). The ACL is `system.posix_acl_access` in the kernel's xattr form
//! (version 2); a directory without one, or whose ACL cannot be read, names no one.

use rustix::fs::{Mode, OFlags, Stat};
use std::os::fd::OwnedFd;

use super::{Walker, group_name};

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

impl Walker {
    /// Someone the run does not trust whom the directory's POSIX ACL lets write it: a named user
    /// other than root, the run's user or the actor, or a named group other than root's, with
    /// write permission under the mask.
    pub(super) fn acl_writer(&self, fd: &OwnedFd, stat: &Stat) -> Option<String> {
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
}
