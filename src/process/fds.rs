//! No descriptor of credshim's reaches a child, but 0–2.
//!
//! Everything credshim opens itself is close-on-exec. [`close_inherited`], called once at start
//! before any thread, makes close-on-exec every descriptor above 2 that credshim's own parent
//! (cron, a script) let it inherit, so no child gets one. It lists `/proc/self/fd` with a stack
//! buffer and allocates nothing; without /proc it does nothing.

use rustix::fd::{AsRawFd, BorrowedFd};
use rustix::io::FdFlags;
use std::mem::MaybeUninit;

/// Mark every descriptor above 2 close-on-exec: what credshim itself opens is already, and this
/// covers what its parent (cron, a script) let it inherit, so no child gets any of them. Call at
/// start, before any thread. Lists `/proc/self/fd` with a stack buffer and no allocation.
pub fn close_inherited() {
    cloexec_from_3();
}

fn cloexec_from_3() {
    use rustix::fs::{Mode, OFlags, RawDir};
    let Ok(dir) = rustix::fs::open(
        c"/proc/self/fd",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
    let mut entries = RawDir::new(&dir, &mut buf);
    while let Some(Ok(entry)) = entries.next() {
        let Some(fd) = parse_fd(entry.file_name().to_bytes()) else {
            continue;
        };
        if fd > 2 && fd != dir.as_raw_fd() {
            // SAFETY: fd is open in this process (called at start, before any thread): it was
            // just listed.
            let fd = unsafe { BorrowedFd::borrow_raw(fd) };
            let _ = rustix::io::fcntl_setfd(fd, FdFlags::CLOEXEC);
        }
    }
}

/// A descriptor number from a `/proc/self/fd` entry name.
fn parse_fd(name: &[u8]) -> Option<i32> {
    if name.is_empty() || name.len() > 9 {
        return None;
    }
    let mut n: i32 = 0;
    for &b in name {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i32::from(b - b'0');
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::close_inherited;
    use crate::process::tests::sh;
    use crate::process::{Stdout, run};
    use rustix::io::FdFlags;
    use std::time::Duration;

    #[test]
    fn only_0_to_2_are_open_in_the_child() {
        // A descriptor left open without O_CLOEXEC (rustix's dup does not set it).
        let leaked = rustix::io::dup(std::io::stderr()).unwrap();
        assert!(
            !rustix::io::fcntl_getfd(&leaked)
                .unwrap()
                .contains(FdFlags::CLOEXEC)
        );
        // What main does at start for what credshim inherited.
        close_inherited();
        // ls lists its own open directory too: that one points into /proc.
        let f = run(
            sh("ls -l /proc/self/fd/"),
            "t",
            Stdout::Capture(1 << 20),
            Duration::from_secs(10),
            Duration::from_secs(1),
        )
        .unwrap();
        let listing = String::from_utf8_lossy(&f.stdout);
        let fds: Vec<&str> = listing
            .lines()
            .filter(|l| l.contains(" -> "))
            .filter(|l| !l.contains("/proc/"))
            .map(|l| l.split(" -> ").next().unwrap().rsplit(' ').next().unwrap())
            .collect();
        assert_eq!(fds, ["0", "1", "2"], "{listing}");
        drop(leaked);
    }
}
