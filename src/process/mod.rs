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

mod fds;
mod lines;
mod memout;
mod poll;
mod reaper;
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
