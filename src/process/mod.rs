//! Running a child (the mint or the reload) safely.
//!
//! The child gets `/dev/null` as stdin, its own process group, no open descriptor but 0–2 (every
//! other one is close-on-exec: credshim's own are opened so, inherited ones are marked at start,
//! [`close_inherited`]) and no inherited `CREDSHIM_*`
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

mod fds;
mod lines;
mod memout;
mod poll;
mod reaper;
#[cfg(test)]
mod tests;
mod waiter;

use std::collections::HashSet;
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::signals;

pub use fds::close_inherited;
pub use memout::MemOutput;
use poll::{Supervisor, kill_group};
use reaper::{Registered, Subreaper};
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
    /// The most useful stderr line for error messages: the first that looks like an error,
    /// else the last non-empty one.
    pub stderr_line: Option<String>,
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
        finished.stderr_line = mem.log(label);
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
