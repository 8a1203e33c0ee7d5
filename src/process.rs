//! Running a child (the mint or the reload) safely.
//!
//! The child gets `/dev/null` as stdin and its own process group; at the timeout the whole group
//! is killed with SIGKILL, so a shell's grandchildren cannot outlive the run. Its stderr is logged
//! line by line at info level (with a label); its stdout is either captured, up to a byte limit,
//! or logged like stderr. Nothing here ever logs captured stdout: for the mint it is the secret.

use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// What to do with the child's stdout.
#[derive(Debug, Clone, Copy)]
pub enum Stdout {
    /// Keep it, failing once it exceeds this many bytes.
    Capture(usize),
    /// Log it line by line, like stderr.
    Log,
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
    #[error("timed out after {}s and was killed", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("printed more than {0} bytes on stdout")]
    TooMuchOutput(usize),
    #[error("waiting for it failed: {0}")]
    Wait(#[source] io::Error),
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

/// Run `cmd` to completion within `timeout`.
///
/// After the child exits, its output pipes are drained for at most `drain` more (a daemon the
/// child left behind may hold them open forever); captured stdout is always read to the end or
/// until the timeout.
pub fn run(
    mut cmd: Command,
    label: &str,
    stdout: Stdout,
    timeout: Duration,
    drain: Duration,
) -> Result<Finished, RunError> {
    let started = Instant::now();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: only async-signal-safe calls between fork and exec. Children get the default
    // SIGXFSZ back: main ignores it for its own writes only.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(RunError::Spawn)?;
    let pgid = child.id() as libc::pid_t;

    let (done_tx, done_rx) = mpsc::channel::<Stream>();
    let err_pipe = child.stderr.take().expect("stderr is piped");
    let out_pipe = child.stdout.take().expect("stdout is piped");
    spawn_logger(err_pipe, label.to_string(), done_tx.clone(), true);
    let capture = match stdout {
        Stdout::Capture(limit) => {
            let tx = done_tx.clone();
            thread::spawn(move || {
                let mut buf = Vec::new();
                // One byte past the limit tells "too much" from "exactly the limit".
                let res = out_pipe.take(limit as u64 + 1).read_to_end(&mut buf);
                let _ = tx.send(Stream::Captured(res.map(|_| buf)));
            });
            Some(limit)
        }
        Stdout::Log => {
            spawn_logger(out_pipe, label.to_string(), done_tx.clone(), false);
            None
        }
    };
    drop(done_tx);

    let deadline = started + timeout;
    let status = match wait_until(&mut child, deadline) {
        Ok(Some(status)) => status,
        Ok(None) => {
            kill_group(pgid, &mut child);
            return Err(RunError::Timeout(timeout));
        }
        Err(e) => {
            kill_group(pgid, &mut child);
            return Err(RunError::Wait(e));
        }
    };

    let mut captured = None;
    let mut last_stderr = None;
    let mut open = 2;
    let drain_until = Instant::now() + drain;
    while open > 0 {
        let until = if capture.is_some() && captured.is_none() {
            deadline
        } else {
            drain_until.min(deadline)
        };
        let left = until.saturating_duration_since(Instant::now());
        match done_rx.recv_timeout(left) {
            Ok(Stream::Captured(res)) => {
                open -= 1;
                captured = Some(res.map_err(RunError::Wait)?);
            }
            Ok(Stream::Logged(last, is_stderr)) => {
                open -= 1;
                if is_stderr {
                    last_stderr = last;
                }
            }
            Err(_) => {
                if capture.is_some() && captured.is_none() {
                    // A process left in the group holds stdout open past the timeout.
                    kill_group(pgid, &mut child);
                    return Err(RunError::Timeout(timeout));
                }
                break;
            }
        }
    }

    let stdout = captured.unwrap_or_default();
    if let Some(limit) = capture
        && stdout.len() > limit
    {
        kill_group(pgid, &mut child);
        return Err(RunError::TooMuchOutput(limit));
    }
    Ok(Finished {
        status,
        stdout,
        last_stderr,
        elapsed: started.elapsed(),
    })
}

enum Stream {
    Captured(io::Result<Vec<u8>>),
    /// A logged stream reached its end: its last non-empty line, and whether it was stderr.
    Logged(Option<String>, bool),
}

/// The longest piece of a child's output logged as one line.
const MAX_LOG_LINE: u64 = 64 * 1024;

fn spawn_logger<R: Read + Send + 'static>(
    pipe: R,
    label: String,
    done: mpsc::Sender<Stream>,
    is_stderr: bool,
) {
    thread::spawn(move || {
        let mut last = None;
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            // A line longer than this is logged in pieces: a child that never prints a newline
            // cannot grow the buffer without bound.
            match (&mut reader).take(MAX_LOG_LINE).read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end();
            if !line.is_empty() {
                log::info!("{label}: {line}");
                last = Some(line.chars().take(300).collect());
            }
        }
        let _ = done.send(Stream::Logged(last, is_stderr));
    });
}

/// Poll `child` until it exits or `deadline` passes (`Ok(None)`).
fn wait_until(child: &mut Child, deadline: Instant) -> io::Result<Option<ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}

fn kill_group(pgid: libc::pid_t, child: &mut Child) {
    // SAFETY: killpg has no memory-safety preconditions; pgid is the group we created.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
