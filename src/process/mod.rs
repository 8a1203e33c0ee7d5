//! Running a child (the mint or the reload) safely.
//!
//! The child gets `/dev/null` as stdin, its own process group, no open descriptor but 0–2 (every
//! other one is made close-on-exec between fork and exec) and no inherited `CREDSHIM_*`
//! variable (one the caller sets on the command itself, like a probe's `CREDSHIM_CANDIDATE`,
//! stays). At the timeout, or when a stop signal reaches credshim ([`crate::signals`]), the whole
//! group is killed with SIGKILL and the child reaped before [`run`] returns, so a caller that
//! holds the lock releases it only once the child is gone.
//!
//! Waiting is one `poll(2)` loop, no threads and no sleeps: over a pidfd of the child (or, where
//! `pidfd_open` is missing, a SIGCHLD self-pipe), its stdout and stderr pipes (non-blocking), and
//! the signal self-pipe, with the time left as the poll timeout; the child's exit is noticed at
//! once. Its stderr is logged line by line at info level (with a label), in pieces of at most
//! 64 KiB; its stdout is either captured, up to a byte limit, or logged like stderr. Nothing here
//! ever logs captured stdout: for the mint it is the secret.
//!
//! [`Opts::subreaper`] (the mint) makes credshim a child subreaper while the child runs: whatever
//! the child left behind, even in a new session, is reparented to credshim and killed and reaped
//! as soon as the child ends. [`Opts::output_in_memory`] (the reload) gives the child memory
//! files instead of pipes, so that a daemon it starts on purpose never dies of SIGPIPE.

use memchr::memchr;
use rustix::event::{PollFd, PollFlags, poll};
use rustix::fd::OwnedFd;
use rustix::fs::{MemfdFlags, SealFlags};
use rustix::io::Errno;
use rustix::process::{Pid, Signal};
use std::collections::HashSet;
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::signals;

mod fds;
mod waiter;

pub use fds::close_inherited;
use waiter::Waiter;

/// What to do with the child's stdout.
#[derive(Debug, Clone, Copy)]
pub enum Stdout {
    /// Keep it, failing once it exceeds this many bytes.
    Capture(usize),
    /// Log it line by line, like stderr.
    Log,
}

/// How the child's exit is noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Wait {
    /// A pidfd, or the SIGCHLD self-pipe where `pidfd_open` is missing (ENOSYS, or EPERM from a
    /// seccomp filter that predates it).
    #[default]
    Auto,
    /// The SIGCHLD self-pipe, as on a kernel before 5.3 (for the tests).
    Sigchld,
}

/// How to run a child, beyond [`run`]'s arguments.
#[derive(Debug, Clone, Copy, Default)]
pub struct Opts {
    /// Be a child subreaper while the child runs, and kill and reap everything it left behind
    /// when it ends (the mint: nothing it starts may outlive it).
    pub subreaper: bool,
    /// Give the child memory files for stdout and stderr, logged once it has exited, instead of
    /// pipes (the reload: a daemon it starts keeps them, see [`MemOutput`]). Only with
    /// [`Stdout::Log`].
    pub output_in_memory: bool,
    pub wait: Wait,
}

/// How a finished child went.
pub struct Finished {
    pub status: ExitStatus,
    /// Captured stdout (empty unless [`Stdout::Capture`]).
    pub stdout: Vec<u8>,
    /// The last non-empty stderr line, for error messages.
    pub last_stderr: Option<String>,
    pub elapsed: Duration,
}

// By hand: the captured stdout is the mint's secret, so only its length is shown.
impl std::fmt::Debug for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finished")
            .field("status", &self.status)
            .field("stdout_len", &self.stdout.len())
            .field("elapsed", &self.elapsed)
            .finish_non_exhaustive()
    }
}

/// Why a child could not be run to the end.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("could not start: {0}")]
    Spawn(#[source] io::Error),
    #[error("timed out after {} and was killed", crate::duration::short(*.0))]
    Timeout(Duration),
    #[error("printed more than {0} bytes on stdout")]
    TooMuchOutput(usize),
    #[error("waiting for it failed: {0}")]
    Wait(#[source] io::Error),
    /// A stop signal reached credshim; the child's group was killed and the child reaped.
    #[error("was killed: credshim got {}", crate::error::signal_name(*.0))]
    Interrupted(i32),
}

/// A one-line account of how a child ended: `exited with status 3` or `was killed by signal 9`.
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig} ({})", signal_name(sig)),
        (None, None) => "ended abnormally".to_string(),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGABRT => "SIGABRT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

/// Run `cmd` to completion within `timeout`, with the default [`Opts`].
///
/// After the child exits, its output pipes are drained for at most `drain` more (a daemon the
/// child left behind may hold them open forever); captured stdout is always read to the end or
/// until the timeout.
pub fn run(
    cmd: Command,
    label: &str,
    stdout: Stdout,
    timeout: Duration,
    drain: Duration,
) -> Result<Finished, RunError> {
    run_with(cmd, label, stdout, timeout, drain, Opts::default())
}

/// [`run`], with [`Opts`].
pub fn run_with(
    mut cmd: Command,
    label: &str,
    stdout: Stdout,
    timeout: Duration,
    drain: Duration,
    opts: Opts,
) -> Result<Finished, RunError> {
    if let Some(sig) = signals::pending() {
        return Err(RunError::Interrupted(sig));
    }
    let started = Instant::now();
    scrub_env(&mut cmd);
    let mem = match (opts.output_in_memory, stdout) {
        (true, Stdout::Log) => match MemOutput::new() {
            Ok(m) => Some(m),
            Err(e) => {
                log::debug!("no memory file for the {label}'s output ({e}): using pipes");
                None
            }
        },
        _ => None,
    };
    cmd.stdin(Stdio::null()).process_group(0);
    match &mem {
        Some(m) => {
            cmd.stdout(m.stdout.try_clone().map_err(RunError::Spawn)?);
            cmd.stderr(m.stderr.try_clone().map_err(RunError::Spawn)?);
        }
        None => {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
    }
    // No pre_exec: without one, std spawns with posix_spawn (vfork-like, cheaper than fork).
    // What a pre_exec did is done once at start instead ([`close_inherited`]), or needs nothing:
    // SIGXFSZ is caught, not ignored, so exec gives children the default action.
    let reaper = if opts.subreaper {
        Some(Subreaper::start(label))
    } else {
        None
    };
    let (mut child, _registered) = Registered::spawn(&mut cmd)?;
    let pid = child.id() as i32;
    let waiter = match Waiter::new(&child, opts.wait) {
        Ok(w) => w,
        Err(e) => {
            kill_group(pid, &mut child);
            return Err(RunError::Wait(e));
        }
    };
    let result = Supervisor {
        child,
        pid,
        label,
        capture: match stdout {
            Stdout::Capture(limit) => Some(limit),
            Stdout::Log => None,
        },
        reaper: reaper.as_ref(),
    }
    .supervise(waiter, started + timeout, timeout, drain);
    // Whatever the end, nothing the child left may outlive this call.
    drop(reaper);
    let mut finished = result?;
    if let Some(mem) = mem {
        finished.last_stderr = mem.log(label);
    }
    finished.elapsed = started.elapsed();
    Ok(finished)
}

/// Remove every inherited `CREDSHIM_*` variable from `cmd`'s environment; one the caller set
/// on `cmd` itself stays.
fn scrub_env(cmd: &mut Command) {
    let set: HashSet<OsString> = cmd
        .get_envs()
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| k.to_os_string())
        .collect();
    for (key, _) in std::env::vars_os() {
        if key.as_bytes().starts_with(b"CREDSHIM_") && !set.contains(&key) {
            cmd.env_remove(&key);
        }
    }
}

/// The poll loop's state.
struct Supervisor<'a> {
    child: Child,
    pid: i32,
    label: &'a str,
    capture: Option<usize>,
    reaper: Option<&'a Subreaper>,
}

/// One output pipe being read.
struct Stream {
    fd: Option<OwnedFd>,
    lines: Lines,
    /// Captured bytes (stdout with [`Stdout::Capture`]).
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
    fn supervise(
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
            last_stderr: err.lines.last.take(),
            elapsed: Duration::ZERO,
        })
    }

    /// SIGKILL the child's group and reap the child.
    fn kill(&mut self) {
        kill_group(self.pid, &mut self.child);
    }
}

fn kill_group(pgid: i32, child: &mut Child) {
    if let Some(pgid) = Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(pgid, Signal::KILL);
    }
    let _ = child.wait();
}

/// The longest piece of a child's output logged as one line.
const MAX_LOG_LINE: usize = 64 * 1024;

/// A child's output, logged line by line as it comes, in pieces of at most [`MAX_LOG_LINE`]:
/// a child that never prints a newline cannot grow the buffer without bound.
struct Lines {
    label: String,
    buf: Vec<u8>,
    /// The last non-empty line (its first 300 characters).
    last: Option<String>,
}

impl Lines {
    fn new(label: &str) -> Lines {
        Lines {
            label: label.to_string(),
            buf: Vec::new(),
            last: None,
        }
    }

    fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        let mut start = 0;
        loop {
            let rest = &self.buf[start..];
            let window = &rest[..rest.len().min(MAX_LOG_LINE)];
            let end = match memchr(b'\n', window) {
                Some(i) => i + 1,
                None if window.len() == MAX_LOG_LINE => MAX_LOG_LINE,
                None => break,
            };
            let piece = start..start + end;
            start += end;
            self.emit(piece);
        }
        self.buf.drain(..start);
    }

    fn finish(&mut self) {
        if !self.buf.is_empty() {
            self.emit(0..self.buf.len());
            self.buf.clear();
        }
    }

    fn emit(&mut self, piece: std::ops::Range<usize>) {
        let line = String::from_utf8_lossy(&self.buf[piece]);
        let line = line.trim_end();
        if !line.is_empty() {
            log::info!("{}: {line}", self.label);
            self.last = Some(line.chars().take(300).collect());
        }
    }
}

/// The reload's stdout and stderr: two memory files (memfd), read and logged once it has exited.
///
/// Why not pipes: a daemon the reload starts on purpose (`nohup daemon &`) inherits them, and
/// once credshim exits nobody reads a pipe any more, so the daemon's next write kills it with
/// SIGPIPE (or fails with EPIPE). A file never does that. Why a memfd: it needs no directory
/// (nothing on disk for anyone to find or fill, nothing to clean up after a crash), and it can
/// be sealed. After the reload exits, credshim reads what it wrote (with pread, so the shared
/// file offset the daemon writes at is left alone), then grows the file by [`HEADROOM`] of
/// sparse space and seals its size (`F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL`): the daemon's
/// later writes succeed into that headroom (a start-up banner is not an error), after which
/// they fail with EPERM, an error return and never a signal, so a chatty daemon cannot grow the
/// file in memory forever. The memory is freed when the daemon closes it or exits. What the
/// reload writes before it exits is held in memory until then; the reload timeout bounds it.
pub struct MemOutput {
    stdout: OwnedFd,
    stderr: OwnedFd,
}

/// Room left in the reload's output files for its daemons after it exits.
const HEADROOM: u64 = 64 * 1024;

impl MemOutput {
    fn new() -> io::Result<MemOutput> {
        let make = |name: &str| {
            rustix::fs::memfd_create(name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)
        };
        Ok(MemOutput {
            stdout: make("credshim-child-stdout")?,
            stderr: make("credshim-child-stderr")?,
        })
    }

    /// Log what the child wrote (stdout first, then stderr), seal both files, and return the
    /// last stderr line.
    fn log(self, label: &str) -> Option<String> {
        let mut last = None;
        for (fd, is_stderr) in [(&self.stdout, false), (&self.stderr, true)] {
            let mut lines = Lines::new(label);
            let len = rustix::fs::fstat(fd)
                .map(|st| st.st_size as u64)
                .unwrap_or(0);
            let mut buf = vec![0u8; 64 * 1024];
            let mut at = 0u64;
            while at < len {
                let want = buf.len().min((len - at) as usize);
                match rustix::io::pread(fd, &mut buf[..want], at) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        lines.push(&buf[..n]);
                        at += n as u64;
                    }
                }
            }
            lines.finish();
            if is_stderr {
                last = lines.last;
            }
            seal(fd, len);
        }
        last
    }
}

impl Drop for MemOutput {
    fn drop(&mut self) {
        // On every path (the reload timed out, credshim got a signal): a daemon still holding
        // the files cannot grow them without bound. Sealing twice is refused harmlessly.
        for fd in [&self.stdout, &self.stderr] {
            let len = rustix::fs::fstat(fd)
                .map(|st| st.st_size as u64)
                .unwrap_or(0);
            seal(fd, len);
        }
    }
}

fn seal(fd: &OwnedFd, len: u64) {
    let _ = rustix::fs::ftruncate(fd, len + HEADROOM);
    let _ = rustix::fs::fcntl_add_seals(fd, SealFlags::GROW | SealFlags::SHRINK | SealFlags::SEAL);
}

/// The pids of the children [`run`] is waiting for, which a [`Subreaper`] sweep must leave to
/// their own `run` (in the unit tests several run at once in one process).
static RUNNING: Mutex<Vec<i32>> = Mutex::new(Vec::new());

struct Registered(i32);

impl Registered {
    /// Spawn and register in one step under the lock, so that no sweep sees the child
    /// unregistered.
    fn spawn(cmd: &mut Command) -> Result<(Child, Registered), RunError> {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        let child = cmd.spawn().map_err(RunError::Spawn)?;
        running.push(child.id() as i32);
        let pid = child.id() as i32;
        Ok((child, Registered(pid)))
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        RUNNING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|&p| p != self.0);
    }
}

/// credshim as a child subreaper while one child runs (`PR_SET_CHILD_SUBREAPER`): anything that
/// child leaves behind, in a new session included, is reparented to credshim instead of init.
/// [`Subreaper::sweep`] kills and reaps those orphans; dropping the guard sweeps once more and
/// clears the flag. One at a time (the flag is per process).
struct Subreaper {
    _one: MutexGuard<'static, ()>,
    label: String,
    on: bool,
}

impl Subreaper {
    fn start(label: &str) -> Subreaper {
        static ONE: Mutex<()> = Mutex::new(());
        let one = ONE.lock().unwrap_or_else(|e| e.into_inner());
        let on = match rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
            Ok(()) => true,
            Err(e) => {
                log::warn!("cannot become a child subreaper for the {label}: {e}");
                false
            }
        };
        Subreaper {
            _one: one,
            label: label.to_string(),
            on,
        }
    }

    /// Kill and reap every orphan reparented to credshim, until none is left (a killed orphan's
    /// own children are reparented to credshim in turn). Touches only processes whose parent is
    /// credshim and that are not in credshim's own process group (every descendant of a child
    /// starts in the child's group, a new one) and not a child some [`run`] waits for: credshim
    /// runs one child at a time, so those are the child's leftovers.
    fn sweep(&self) {
        if !self.on {
            return;
        }
        for _ in 0..1000 {
            // Held through the kill and the reaping: no run spawns meanwhile.
            let running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
            let orphans = orphans(&running);
            if orphans.is_empty() {
                return;
            }
            for &pid in &orphans {
                log::info!("{}: killing process {pid} it left behind", self.label);
                if let Some(p) = Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(p, Signal::KILL);
                }
            }
            for &pid in &orphans {
                let _ = rustix::process::waitpid(
                    Pid::from_raw(pid),
                    rustix::process::WaitOptions::empty(),
                );
            }
        }
        log::warn!(
            "{}: its processes kept multiplying; gave up killing them",
            self.label
        );
    }
}

impl Drop for Subreaper {
    fn drop(&mut self) {
        self.sweep();
        if self.on
            && let Err(e) = rustix::process::set_child_subreaper(None)
        {
            log::warn!("cannot clear the child subreaper flag: {e}");
        }
    }
}

/// Our children that are no child of a [`run`] and not in our process group.
fn orphans(running: &[i32]) -> Vec<i32> {
    // No child at all (the usual case: the mint left nothing): no file to read, so a run
    // makes the same syscalls whatever else the machine runs (the strace tests count them).
    use rustix::process::{WaitId, WaitIdOptions};
    let probe = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
    if let Err(Errno::CHILD) = rustix::process::waitid(WaitId::All, probe) {
        return Vec::new();
    }
    let my_group = rustix::process::getpgrp().as_raw_nonzero().get();
    our_children()
        .into_iter()
        .filter(|pid| !running.contains(pid))
        .filter(|&pid| parent_and_group(pid).is_some_and(|(_, pgrp)| pgrp != my_group))
        .collect()
}

/// Our children: `/proc/self/task/TID/children` of each of our threads (an orphan is
/// reparented to one of them); a kernel without CONFIG_PROC_CHILDREN gets the whole /proc
/// scanned for a `PPid` of ours instead.
fn our_children() -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return found;
    };
    for task in tasks.filter_map(|t| t.ok()) {
        match std::fs::read_to_string(task.path().join("children")) {
            Ok(list) => found.extend(
                list.split_ascii_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            ),
            Err(_) => {
                let Ok(all) = std::fs::read_dir("/proc") else {
                    return found;
                };
                return all
                    .filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                    .filter(|&pid| parent_and_group(pid).is_some_and(|(ppid, _)| ppid == me))
                    .collect();
            }
        }
    }
    found
}

/// A process's parent and process group, from `/proc/PID/stat` (fields 4 and 5; the name in
/// field 2 may hold spaces and parentheses, so count from the last `)`).
fn parent_and_group(pid: i32) -> Option<(i32, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace().skip(1);
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((ppid, pgrp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::io::FdFlags;
    use std::thread;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(script);
        c
    }

    #[test]
    fn captures_stdout_and_last_stderr_line() {
        let f = run(
            sh("echo out; echo err1 >&2; echo err2 >&2"),
            "t",
            Stdout::Capture(1024),
            Duration::from_secs(10),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(f.stdout, b"out\n");
        assert_eq!(f.last_stderr.as_deref(), Some("err2"));
        assert!(f.status.success());
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("grandchild-survived");
        let script = format!("(sleep 1; touch {}) & sleep 30", marker.display());
        let started = Instant::now();
        let err = run(
            sh(&script),
            "t",
            Stdout::Capture(1024),
            Duration::from_millis(300),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(err, RunError::Timeout(_)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        thread::sleep(Duration::from_millis(1500));
        assert!(!marker.exists(), "a grandchild outlived the timeout");
    }

    #[test]
    fn output_over_the_limit_is_refused() {
        let err = run(
            sh("head -c 5000 /dev/zero"),
            "t",
            Stdout::Capture(4096),
            Duration::from_secs(10),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(err, RunError::TooMuchOutput(4096)), "{err}");
    }

    #[test]
    fn output_at_the_limit_is_accepted() {
        let f = run(
            sh("head -c 4096 /dev/zero"),
            "t",
            Stdout::Capture(4096),
            Duration::from_secs(10),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(f.stdout.len(), 4096);
    }

    #[test]
    fn signals_are_described() {
        let f = run(
            sh("kill -9 $$"),
            "t",
            Stdout::Log,
            Duration::from_secs(10),
            Duration::from_millis(100),
        )
        .unwrap();
        assert_eq!(describe(f.status), "was killed by signal 9 (SIGKILL)");
    }

    #[test]
    fn a_line_without_end_is_logged_in_pieces() {
        // 200 KiB of stderr and no newline: read in bounded pieces. The last piece reported
        // starts inside the line, not with its first character.
        let f = run(
            sh("{ printf A; head -c 204800 /dev/zero | tr '\\0' x; } >&2"),
            "t",
            Stdout::Capture(64),
            Duration::from_secs(10),
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(f.status.success());
        let last = f.last_stderr.unwrap();
        assert_eq!(last.len(), 300);
        assert!(last.starts_with('x'), "read as one line: {}", &last[..10]);
    }

    #[test]
    fn stdin_is_empty() {
        let f = run(
            sh("wc -c"),
            "t",
            Stdout::Capture(64),
            Duration::from_secs(10),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(String::from_utf8_lossy(&f.stdout).trim(), "0");
    }

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
        assert_eq!(f.last_stderr.as_deref(), Some("err"));
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

    #[test]
    fn no_credshim_variable_reaches_the_child() {
        // SAFETY (edition 2024: set_var is unsafe): no other test reads this variable.
        unsafe {
            std::env::set_var("CREDSHIM_PROCESS_UNIT_TEST", "leak");
            std::env::set_var("PROCESS_UNIT_TEST_KEPT", "kept");
        }
        let mut cmd = sh("env");
        cmd.env("CREDSHIM_EXPLICIT", "given");
        let f = run(
            cmd,
            "t",
            Stdout::Capture(1 << 20),
            Duration::from_secs(10),
            Duration::from_secs(1),
        )
        .unwrap();
        let env = String::from_utf8_lossy(&f.stdout);
        assert!(!env.contains("CREDSHIM_PROCESS_UNIT_TEST"), "{env}");
        assert!(env.contains("PROCESS_UNIT_TEST_KEPT=kept"), "{env}");
        assert!(env.contains("CREDSHIM_EXPLICIT=given"), "{env}");
    }

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

    #[test]
    fn subreaper_kills_what_the_child_left_in_a_new_session() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("daemon.pid");
        let script = format!(
            "setsid sh -c 'echo $$ > {p}; exec sleep 300' >/dev/null 2>&1 & \
             while [ ! -s {p} ]; do sleep 0.01; done; echo token",
            p = pidfile.display()
        );
        let f = run_with(
            sh(&script),
            "t",
            Stdout::Capture(64),
            Duration::from_secs(10),
            Duration::from_secs(1),
            Opts {
                subreaper: true,
                ..Opts::default()
            },
        )
        .unwrap();
        assert_eq!(f.stdout, b"token\n");
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "the setsid daemon {pid} survived"
        );
        assert_eq!(rustix::process::child_subreaper().unwrap(), None);
    }

    #[test]
    fn a_daemon_holding_stdout_does_not_hold_a_subreaper_run() {
        // Without the sweep the capture would wait for the daemon's stdout to close: a timeout.
        let f = run_with(
            sh("setsid sleep 300 & echo token"),
            "t",
            Stdout::Capture(64),
            Duration::from_secs(5),
            Duration::from_secs(1),
            Opts {
                subreaper: true,
                ..Opts::default()
            },
        )
        .unwrap();
        assert_eq!(f.stdout, b"token\n");
    }

    #[test]
    fn output_in_memory_is_logged_and_daemons_keep_writing() {
        let dir = tempfile::tempdir().unwrap();
        let alive = dir.path().join("alive");
        let script = format!(
            "echo out; echo err1 >&2; echo err2 >&2; \
             (sleep 1; echo late; echo late >&2; touch {}) &",
            alive.display()
        );
        let f = run_with(
            sh(&script),
            "t",
            Stdout::Log,
            Duration::from_secs(10),
            Duration::from_secs(5),
            Opts {
                output_in_memory: true,
                ..Opts::default()
            },
        )
        .unwrap();
        assert!(f.status.success());
        assert_eq!(f.last_stderr.as_deref(), Some("err2"));
        // Did not wait for the daemon (which holds the files), nor for the drain time.
        assert!(!alive.exists(), "run() waited for the daemon");
        let started = Instant::now();
        while !alive.exists() && started.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(20));
        }
        assert!(alive.exists(), "the daemon did not survive its writes");
    }
}
