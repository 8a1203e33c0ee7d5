//! Noticing the child's exit from inside the poll loop, at once.
//!
//! A [`Waiter`] is one descriptor the loop polls: a pidfd of the child, readable once it has
//! exited, or, where `pidfd_open` is missing (ENOSYS before Linux 5.3, EPERM from a seccomp
//! filter that predates it) or [`Wait::Sigchld`] asks for it, the read end of a self-pipe that
//! a SIGCHLD handler writes to. The handler is installed once per process, and before the
//! loop's first `try_wait`, so an exit is never missed: it happened before and `try_wait` sees
//! it, or after and the pipe wakes the poll. Any other error of `pidfd_open` is returned.

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::process::Pid;
use std::io;
use std::process::Child;
use std::sync::{Mutex, OnceLock};

use super::Wait;

/// How the child's end reaches the poll loop.
pub(super) enum Waiter {
    Pidfd(OwnedFd),
    Sigchld(BorrowedFd<'static>),
}

impl Waiter {
    pub(super) fn new(child: &Child, wait: Wait) -> io::Result<Waiter> {
        if wait == Wait::Auto {
            let pid = Pid::from_raw(child.id() as i32).expect("a child's pid is positive");
            match rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) {
                Ok(fd) => return Ok(Waiter::Pidfd(fd)),
                Err(Errno::NOSYS | Errno::PERM) => {
                    log::debug!("no pidfd_open here: waiting on SIGCHLD");
                }
                Err(e) => return Err(e.into()),
            }
        }
        // The handler is in place before the first try_wait of the loop, so an exit before
        // it is seen by try_wait and one after it wakes the pipe.
        Ok(Waiter::Sigchld(sigchld_pipe()?))
    }

    pub(super) fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Waiter::Pidfd(fd) => fd.as_fd(),
            Waiter::Sigchld(fd) => *fd,
        }
    }

    /// After a wake-up: empty the SIGCHLD pipe (any child's exit writes to it).
    pub(super) fn clear(&self) {
        if let Waiter::Sigchld(fd) = self {
            let mut buf = [0u8; 64];
            while matches!(rustix::io::read(fd, &mut buf), Ok(n) if n > 0) {}
        }
    }
}

/// The read end of a self-pipe that signal-hook writes to on every SIGCHLD (installed once).
fn sigchld_pipe() -> io::Result<BorrowedFd<'static>> {
    static PIPE: OnceLock<OwnedFd> = OnceLock::new();
    static INSTALL: Mutex<()> = Mutex::new(());
    let _once = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = PIPE.get() {
        return Ok(r.as_fd());
    }
    use rustix::pipe::{PipeFlags, pipe_with};
    let (r, w) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
    signal_hook::low_level::pipe::register(libc::SIGCHLD, w)?;
    Ok(PIPE.get_or_init(|| r).as_fd())
}

#[cfg(test)]
mod tests {
    use crate::process::tests::sh;
    use crate::process::{Opts, RunError, Stdout, Wait, run_with};
    use std::time::{Duration, Instant};

    fn forced_fallback() -> Opts {
        Opts {
            wait: Wait::Sigchld,
            ..Opts::default()
        }
    }

    #[test]
    fn sigchld_fallback_captures_and_times_out() {
        let f = run_with(
            sh("echo out; echo err >&2"),
            "t",
            Stdout::Capture(1024),
            Duration::from_secs(10),
            Duration::from_secs(1),
            forced_fallback(),
        )
        .unwrap();
        assert_eq!(f.stdout, b"out\n");
        assert_eq!(f.stderr_line.as_deref(), Some("err"));
        let started = Instant::now();
        let err = run_with(
            sh("sleep 30"),
            "t",
            Stdout::Log,
            Duration::from_millis(300),
            Duration::from_secs(1),
            forced_fallback(),
        )
        .unwrap_err();
        assert!(matches!(err, RunError::Timeout(_)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        // A quiet child that exits: noticed by the SIGCHLD pipe, not at the timeout.
        let started = Instant::now();
        let f = run_with(
            sh("sleep 0.2 >/dev/null 2>&1; exit 3"),
            "t",
            Stdout::Log,
            Duration::from_secs(20),
            Duration::from_secs(1),
            forced_fallback(),
        )
        .unwrap();
        assert_eq!(f.status.code(), Some(3));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn exit_is_noticed_at_once() {
        // The child prints the wall clock in nanoseconds as its very last act; the time from
        // that to run() returning bounds how late the exit was noticed (plus date's own exit).
        // No timed assertion: printed for the record (`cargo test -- --nocapture`).
        for wait in [Wait::Auto, Wait::Sigchld] {
            let mut worst = Duration::ZERO;
            let mut all = Vec::new();
            for _ in 0..20 {
                let f = run_with(
                    sh("exec date +%s%N"),
                    "t",
                    Stdout::Capture(64),
                    Duration::from_secs(10),
                    Duration::from_secs(1),
                    Opts {
                        wait,
                        ..Opts::default()
                    },
                )
                .unwrap();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap();
                let printed: u128 = String::from_utf8_lossy(&f.stdout).trim().parse().unwrap();
                let late = Duration::from_nanos((now.as_nanos().saturating_sub(printed)) as u64);
                worst = worst.max(late);
                all.push(late);
            }
            all.sort();
            eprintln!(
                "{wait:?}: print-to-notice median {:?}, worst {worst:?}",
                all[all.len() / 2]
            );
        }
    }
}
