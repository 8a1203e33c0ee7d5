//! Getting a new credential from the mint command.
//!
//! The command is exec'd directly from the words after `--`, or run with `/bin/sh -c` from
//! `CREDSHIM_MINT`. It runs under [`crate::process`]'s rules (no stdin, own process group, killed
//! with it at the timeout); its stdout, the secret, is captured up to 1 MiB and never logged; its
//! stderr is logged. A non-zero exit, a signal, a failure to start or a timeout is exit 69, with
//! the status and the mint's most useful stderr line in the message (the first that looks like an
//! error, else the last). [`mint`] retries such failures with exponential backoff and full
//! jitter (1 s base, 30 s cap), never past the run's deadline.

use crate::backoff::Backoff;
use crate::error::{Error, MintFailure};
use crate::process::{self, RunError, Stdout};
use std::process::Command;
use std::time::{Duration, Instant};

/// Largest mint output accepted.
pub const MAX_OUTPUT: usize = 1 << 20;

/// How to run the mint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MintCommand {
    /// Program and arguments, exec'd without a shell.
    Exec(Vec<String>),
    /// A shell command line (`CREDSHIM_MINT`), run with `/bin/sh -c`.
    Shell(String),
}

impl MintCommand {
    /// A short name for messages: the program, not its arguments.
    pub fn name(&self) -> &str {
        match self {
            MintCommand::Exec(argv) => argv.first().map(String::as_str).unwrap_or(""),
            MintCommand::Shell(_) => "$CREDSHIM_MINT",
        }
    }

    fn command(&self) -> Command {
        match self {
            MintCommand::Exec(argv) => {
                let mut c = Command::new(&argv[0]);
                c.args(&argv[1..]);
                c
            }
            MintCommand::Shell(line) => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c").arg(line);
                c
            }
        }
    }
}

/// One successful mint.
pub struct Minted {
    pub stdout: Vec<u8>,
}

// By hand: the stdout is the secret, so only its length is shown.
impl std::fmt::Debug for Minted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Minted {{ stdout: <{} bytes> }}", self.stdout.len())
    }
}

/// Run the mint, retrying a failure (69) up to `retries` times, all before `deadline`.
///
/// `deadline_len` is the configured `--deadline`, for messages. Out of time before the first
/// attempt is 75; out of time after failures is the last failure (69).
pub fn mint(
    cmd: &MintCommand,
    timeout: Duration,
    retries: u32,
    deadline: Instant,
    deadline_len: Duration,
) -> Result<Minted, Error> {
    let mut attempt: u32 = 0;
    let mut backoff = Backoff::mint();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::DeadlineBeforeMint(deadline_len));
        }
        let mut failure = match mint_once(cmd, timeout.min(left)) {
            Ok(m) => return Ok(m),
            Err(Error::Mint(f)) => f,
            Err(e) => return Err(e),
        };
        attempt += 1;
        failure.attempts = attempt;
        if attempt > retries {
            return Err(Error::Mint(failure));
        }
        let pause = backoff.next_pause();
        if Instant::now() + pause >= deadline {
            failure.out_of_time = true;
            return Err(Error::Mint(failure));
        }
        let msg = &failure.what;
        log::info!(
            "mint attempt {attempt} failed: {msg}; retrying in {:.1}s",
            pause.as_secs_f64()
        );
        crate::signals::sleep(pause, "waiting to retry the mint")?;
    }
}

/// Run the mint once.
pub fn mint_once(cmd: &MintCommand, timeout: Duration) -> Result<Minted, Error> {
    let name = cmd.name();
    log::info!("minting with {name}");
    // As a subreaper: nothing the mint starts, even with setsid, outlives it.
    let done = process::run_with(
        cmd.command(),
        "mint",
        Stdout::Capture(MAX_OUTPUT),
        timeout,
        Duration::from_millis(500),
        process::Opts {
            subreaper: true,
            ..process::Opts::default()
        },
    )
    .map_err(|e| match e {
        RunError::Interrupted(sig) => Error::Interrupted(sig, "minting"),
        RunError::TooMuchOutput(_) => Error::Protocol(format!("{name} {e}")),
        _ => Error::Mint(MintFailure::new(format!("{name} {e}"))),
    })?;
    if !done.status.success() {
        let mut msg = format!("{name} {}", process::describe(done.status));
        if let Some(line) = done.stderr_line {
            msg.push_str(": ");
            msg.push_str(&line);
        }
        return Err(Error::Mint(MintFailure::new(msg)));
    }
    log::debug!(
        "{name} printed {} bytes in {:.3}s",
        done.stdout.len(),
        done.elapsed.as_secs_f64()
    );
    Ok(Minted {
        stdout: done.stdout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_passes_arguments_without_a_shell() {
        let cmd = MintCommand::Exec(vec!["printf".into(), "%s".into(), "a b;$(x)".into()]);
        let m = mint_once(&cmd, Duration::from_secs(5)).unwrap();
        assert_eq!(m.stdout, b"a b;$(x)");
    }

    #[test]
    fn failures_are_69_with_status() {
        let cmd = MintCommand::Shell("echo denied >&2; exit 4".into());
        let err = mint_once(&cmd, Duration::from_secs(5)).unwrap_err();
        assert_eq!(err.exit_code(), 69);
        assert!(
            err.to_string().contains("exited with status 4: denied"),
            "{err}"
        );
        let missing = MintCommand::Exec(vec!["/nonexistent/mint".into()]);
        let err = mint_once(&missing, Duration::from_secs(5)).unwrap_err();
        assert_eq!(err.exit_code(), 69);
        assert!(err.to_string().contains("could not start"), "{err}");
    }

    #[test]
    fn retries_until_success() {
        let dir = tempfile::tempdir().unwrap();
        let count = dir.path().join("n");
        let script = format!(
            "n=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}; [ $n -ge 2 ] && echo ok",
            c = count.display()
        );
        let cmd = MintCommand::Shell(script);
        let far = Instant::now() + Duration::from_secs(60);
        let m = mint(
            &cmd,
            Duration::from_secs(5),
            1,
            far,
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(m.stdout, b"ok\n");
        assert_eq!(std::fs::read_to_string(&count).unwrap().trim(), "2");
    }

    #[test]
    fn no_retry_for_unusable_output_or_a_spent_deadline() {
        let cmd = MintCommand::Shell(format!("head -c {} /dev/zero", MAX_OUTPUT + 1));
        let far = Instant::now() + Duration::from_secs(60);
        let err = mint(
            &cmd,
            Duration::from_secs(5),
            3,
            far,
            Duration::from_secs(60),
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 76);
        let past = Instant::now();
        let err = mint(
            &cmd,
            Duration::from_secs(5),
            3,
            past,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 75);
    }

    #[test]
    fn too_much_output_is_76() {
        let cmd = MintCommand::Shell(format!("head -c {} /dev/zero", MAX_OUTPUT + 1));
        let err = mint_once(&cmd, Duration::from_secs(10)).unwrap_err();
        assert_eq!(err.exit_code(), 76);
    }
}
