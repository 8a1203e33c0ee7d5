//! The one `poll(2)` loop that waits for a child: no thread, no sleep.
//!
//! [`Supervisor::supervise`] polls the [`Waiter`], the child's stdout and stderr pipes (made
//! non-blocking) and the signal self-pipe, with the time left as the poll timeout. Stderr is
//! logged ([`Lines`]); stdout is captured, at most one byte past the limit, or logged too. At
//! the timeout, on output over the limit, on a poll error or when a stop signal reaches
//! credshim, it SIGKILLs the child's whole process group and reaps the child before it returns.
//! Once the child has exited it sweeps what the child left (with a [`Subreaper`]), then drains
//! the pipes for at most the drain time; captured stdout is read to its end or to the deadline.

use rustix::event::{PollFd, PollFlags, poll};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::process::{Pid, Signal};
use std::io;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use super::lines::Lines;
use super::reaper::Subreaper;
use super::waiter::Waiter;
use super::{Finished, RunError};
use crate::signals;

/// The poll loop's state.
pub(super) struct Supervisor<'a> {
    pub(super) child: Child,
    pub(super) pid: i32,
    pub(super) label: &'a str,
    pub(super) capture: Option<usize>,
    pub(super) reaper: Option<&'a Subreaper>,
}

/// One output pipe being read.
struct Stream {
    fd: Option<OwnedFd>,
    lines: Lines,
    /// Captured bytes (stdout with [`Stdout::Capture`](super::Stdout::Capture)).
    captured: Option<Vec<u8>>,
}

impl Stream {
    fn new(fd: Option<OwnedFd>, label: &str, captured: bool) -> io::Result<Stream> {
        if let Some(fd) = &fd {
            let flags = rustix::fs::fcntl_getfl(fd)?;
            rustix::fs::fcntl_setfl(fd, flags | rustix::fs::OFlags::NONBLOCK)?;
        }
        Ok(Stream {
            fd,
            lines: Lines::new(label),
            captured: captured.then(Vec::new),
        })
    }

    fn open(&self) -> bool {
        self.fd.is_some()
    }

    /// Read what is there; at EOF (or an error) close the pipe. Captures at most `limit + 1`
    /// bytes: one past the limit tells "too much" from "exactly the limit".
    fn read(&mut self, limit: usize) {
        let Some(fd) = &self.fd else { return };
        let mut buf = [0u8; 16 * 1024];
        loop {
            match rustix::io::read(fd, &mut buf) {
                Ok(0) => break,
                Ok(n) => match &mut self.captured {
                    Some(c) => {
                        let room = (limit + 1).saturating_sub(c.len());
                        c.extend_from_slice(&buf[..n.min(room)]);
                        if c.len() > limit {
                            return;
                        }
                    }
                    None => self.lines.push(&buf[..n]),
                },
                Err(Errno::AGAIN) => return,
                Err(Errno::INTR) => {}
                Err(_) => break,
            }
        }
        self.fd = None;
        self.lines.finish();
    }
}

impl Supervisor<'_> {
    pub(super) fn supervise(
        &mut self,
        waiter: Waiter,
        deadline: Instant,
        timeout: Duration,
        drain: Duration,
    ) -> Result<Finished, RunError> {
        let spawn_err = |e: io::Error| RunError::Wait(e);
        let mut out = Stream::new(
            self.child.stdout.take().map(OwnedFd::from),
            self.label,
            self.capture.is_some(),
        )
        .map_err(spawn_err)?;
        let mut err = Stream::new(
            self.child.stderr.take().map(OwnedFd::from),
            self.label,
            false,
        )
        .map_err(spawn_err)?;
        let limit = self.capture.unwrap_or(usize::MAX - 1);
        let mut status: Option<ExitStatus> = None;
        let mut drain_until = deadline;
        loop {
            if status.is_none() {
                status = self.child.try_wait().map_err(RunError::Wait)?;
                if status.is_some() {
                    log::debug!("{} exited", self.label);
                    drain_until = Instant::now() + drain;
                    // Whatever it left holds its pipes open: kill it before draining them.
                    if let Some(r) = self.reaper {
                        r.sweep();
                    }
                }
            }
            let capturing = out.captured.is_some() && out.open();
            if status.is_some() && !out.open() && !err.open() {
                break;
            }
            let until = match status {
                None => deadline,
                Some(_) if capturing => deadline,
                Some(_) => drain_until.min(deadline),
            };
            let now = Instant::now();
            if now >= until {
                if status.is_none() || capturing {
                    // Not done, or a process left in the group holds stdout open.
                    self.kill();
                    return Err(RunError::Timeout(timeout));
                }
                break;
            }
            let wake = signals::wake_fd();
            let mut fds = Vec::with_capacity(4);
            let mut slots = [None; 4];
            if status.is_none() {
                slots[0] = Some(fds.len());
                fds.push(PollFd::from_borrowed_fd(waiter.fd(), PollFlags::IN));
            }
            if let Some(fd) = &out.fd {
                slots[1] = Some(fds.len());
                fds.push(PollFd::new(fd, PollFlags::IN));
            }
            if let Some(fd) = &err.fd {
                slots[2] = Some(fds.len());
                fds.push(PollFd::new(fd, PollFlags::IN));
            }
            if let Some(fd) = wake {
                slots[3] = Some(fds.len());
                fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
            }
            match poll(&mut fds, Some(&signals::timespec(until - now))) {
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => {
                    self.kill();
                    return Err(RunError::Wait(e.into()));
                }
            }
            let ready = |slot: Option<usize>| slot.is_some_and(|i| !fds[i].revents().is_empty());
            let (exit_ready, out_ready, err_ready) =
                (ready(slots[0]), ready(slots[1]), ready(slots[2]));
            drop(fds);
            if let Some(sig) = signals::pending() {
                self.kill();
                return Err(RunError::Interrupted(sig));
            }
            if out_ready {
                out.read(limit);
                if out.captured.as_ref().is_some_and(|c| c.len() > limit) {
                    self.kill();
                    return Err(RunError::TooMuchOutput(limit));
                }
            }
            if err_ready {
                err.read(limit);
            }
            if exit_ready {
                waiter.clear();
            }
        }
        let status = status.expect("the loop ends after the exit");
        Ok(Finished {
            status,
            stdout: out.captured.unwrap_or_default(),
            stderr_line: err.lines.useful(),
            elapsed: Duration::ZERO,
        })
    }

    /// SIGKILL the child's group and reap the child.
    fn kill(&mut self) {
        kill_group(self.pid, &mut self.child);
    }
}

pub(super) fn kill_group(pgid: i32, child: &mut Child) {
    if let Some(pgid) = Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(pgid, Signal::KILL);
    }
    let _ = child.wait();
}
