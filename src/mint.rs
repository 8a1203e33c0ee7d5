//! Getting a new credential from the mint command.
//!
//! The command is exec'd directly from the words after `--`, or run with `/bin/sh -c` from
//! `CREDSHIM_MINT`. It runs under [`crate::process`]'s rules (no stdin, own process group, killed
//! with it at the timeout); its stdout, the secret, is captured up to 1 MiB and never logged; its
//! stderr is logged. A non-zero exit, a signal, a failure to start or a timeout is exit 69, with
//! the status and the mint's last stderr line in the message.

use crate::error::Error;
use crate::process::{self, RunError, Stdout};
use std::process::Command;
use std::time::Duration;

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
#[derive(Debug)]
pub struct Minted {
    pub stdout: Vec<u8>,
    pub elapsed: Duration,
}

/// Run the mint once.
pub fn mint_once(cmd: &MintCommand, timeout: Duration) -> Result<Minted, Error> {
    let name = cmd.name();
    log::info!("minting with {name}");
    let done = process::run(
        cmd.command(),
        "mint",
        Stdout::Capture(MAX_OUTPUT),
        timeout,
        Duration::from_millis(500),
    )
    .map_err(|e| match e {
        RunError::TooMuchOutput(_) => Error::Protocol(format!("{name} {e}")),
        _ => Error::Mint(format!("{name} {e}")),
    })?;
    if !done.status.success() {
        let mut msg = format!("{name} {}", process::describe(done.status));
        if let Some(line) = done.last_stderr {
            msg.push_str(": ");
            msg.push_str(&line);
        }
        return Err(Error::Mint(msg));
    }
    log::debug!(
        "{name} printed {} bytes in {:.3}s",
        done.stdout.len(),
        done.elapsed.as_secs_f64()
    );
    Ok(Minted {
        stdout: done.stdout,
        elapsed: done.elapsed,
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
    fn too_much_output_is_76() {
        let cmd = MintCommand::Shell(format!("head -c {} /dev/zero", MAX_OUTPUT + 1));
        let err = mint_once(&cmd, Duration::from_secs(10)).unwrap_err();
        assert_eq!(err.exit_code(), 76);
    }
}
