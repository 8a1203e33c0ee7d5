//! SIGTERM, SIGINT and SIGHUP: stop at the next safe point.
//!
//! [`install`] (called first thing by `main`) replaces the default action of the three signals
//! (SIGHUP and SIGINT only when they were not ignored at start, as under `nohup`) with a handler that records the first signal that arrived and writes one byte into a
//! self-pipe. Nothing is done in the handler itself: the code that waits — [`sleep`], the lock
//! wait, [`crate::process`]'s poll loop — has the pipe's read end ([`wake_fd`]) among the
//! descriptors it polls, so it wakes at once, kills what it runs, and returns
//! [`Error::Interrupted`]; stage boundaries call [`check`]. The pipe is never drained: once a
//! signal has arrived every later poll returns at once, which is what a run on its way out wants.
//!
//! Without [`install`] (the library's unit tests) nothing is recorded and [`sleep`] just sleeps.

use crate::error::Error;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use rustix::pipe::{PipeFlags, pipe_with};
use std::io;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// The signals credshim stops on.
pub const STOP: [i32; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

/// The first stop signal that arrived, 0 for none.
static FIRST: AtomicI32 = AtomicI32::new(0);

/// The self-pipe: (read end, write end). Both live as long as the process.
static PIPE: OnceLock<(OwnedFd, OwnedFd)> = OnceLock::new();

/// Install the handlers. Idempotent; an error leaves the default actions (the run then dies of
/// the signal, as before).
pub fn install() -> io::Result<()> {
    if PIPE.get().is_some() {
        return Ok(());
    }
    let pipe = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
    if PIPE.set(pipe).is_err() {
        return Ok(());
    }
    let raw_w = PIPE.get().expect("just set").1.as_raw_fd();
    let ignored = ignored_at_start();
    for sig in STOP {
        // `nohup credshim`, or `credshim &` from a script, asked for SIGHUP or SIGINT to be
        // ignored: keep that, as shells and the POSIX utilities do. SIGTERM is always caught
        // (it is how systemd and timeout(1) stop a run).
        if sig != libc::SIGTERM && ignored & (1 << (sig - 1)) != 0 {
            continue;
        }
        // SAFETY: the handler is async-signal-safe: an atomic compare-exchange and one write(2)
        // to a non-blocking pipe whose descriptor lives for the rest of the process (PIPE is
        // never dropped). signal-hook saves and restores errno around it.
        unsafe {
            signal_hook::low_level::register(sig, move || {
                let _ = FIRST.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
                let fd = BorrowedFd::borrow_raw(raw_w);
                let _ = rustix::io::write(fd, &[sig as u8]);
            })?;
        }
    }
    Ok(())
}

/// The signals ignored when credshim started (`SigIgn:` of /proc/self/status, a hex mask with
/// bit n-1 for signal n); 0 when it cannot be read.
fn ignored_at_start() -> u64 {
    // By path on purpose: /proc/self is the kernel's, nothing a user could plant.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("SigIgn:"))?;
            u64::from_str_radix(line["SigIgn:".len()..].trim(), 16).ok()
        })
        .unwrap_or(0)
}

/// The first stop signal received so far, if any.
pub fn pending() -> Option<i32> {
    match FIRST.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// `Err(Interrupted)` if a stop signal has arrived.
pub fn check(stage: &'static str) -> Result<(), Error> {
    match pending() {
        Some(sig) => Err(Error::Interrupted(sig, stage)),
        None => Ok(()),
    }
}

/// Sleep for `d`, returning early with `Err(Interrupted)` when a stop signal arrives. Waits in
/// poll(2) on the self-pipe with a timeout: no busy loop.
pub fn sleep(d: Duration, stage: &'static str) -> Result<(), Error> {
    check(stage)?;
    let until = Instant::now() + d;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return check(stage);
        }
        wait_readable(wake_fd(), left);
        check(stage)?;
    }
}

/// The self-pipe's read end, readable once a stop signal has arrived; `None` before
/// [`install`].
pub fn wake_fd() -> Option<BorrowedFd<'static>> {
    PIPE.get().map(|(r, _)| r.as_fd())
}

/// Wait until `fd` is readable or `left` passes (EINTR returns early: the caller loops).
fn wait_readable(fd: Option<BorrowedFd<'_>>, left: Duration) {
    let timeout = timespec(left);
    let mut fds: Vec<PollFd<'_>> = fd
        .iter()
        .map(|fd| PollFd::from_borrowed_fd(*fd, PollFlags::IN))
        .collect();
    let _ = poll(&mut fds, Some(&timeout));
}

/// A poll timeout; saturates rather than fails on absurd durations.
pub(crate) fn timespec(d: Duration) -> Timespec {
    Timespec::try_from(d).unwrap_or(Timespec {
        tv_sec: i64::MAX,
        tv_nsec: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_without_handlers_sleeps() {
        let t = Instant::now();
        sleep(Duration::from_millis(50), "test").unwrap();
        assert!(t.elapsed() >= Duration::from_millis(50));
        check("test").unwrap();
    }
}
