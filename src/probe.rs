//! `--probe CMD` (guarantee 11): a credential that does not work never replaces one that does.
//!
//! The verified new file is written as a temp file beside the target ([`write::candidate`]),
//! with the target's owner and mode, and CMD runs with `/bin/sh -c` and `CREDSHIM_CANDIDATE` set
//! to its path: the probe reads the exact bytes the application will, and no value is ever in
//! its argv or environment. It runs under [`crate::process`]'s rules (no stdin, own process
//! group, killed with it at `--probe-timeout`, a subreaper so nothing it starts outlives it); its
//! output is logged like the reload's. A failure is retried with the mint's backoff, within the
//! deadline, without minting again; after the last one the run exits 69 and the candidate is
//! removed, the target untouched.
//!
//! A privileged run does not probe as itself when someone else could change what the probe
//! reads: the owner of the target's directory can swap any entry in it (the candidate included)
//! between its writing and the probe's reading, and the candidate's owner can write it. A probe
//! run as root that sources the candidate (`. "$CREDSHIM_CANDIDATE"`) would then run their
//! commands as root. So the probe runs as the target's owner when that is another user, else as
//! the directory's owner when the run takes that identity ([`identity`]), with their primary
//! group, no supplementary groups, their HOME and `/` as its directory, and of the run's
//! environment only the job file's variables, `PATH`, `TZ`, `TERM` and the locale: whatever
//! they plant, it can do no more than they can, and learns none of root's own variables (a
//! `VAULT_TOKEN` from a root-only `EnvironmentFile=`). A target that belongs to another user
//! than the directory's owner is not probed (77): each of the two could plant what the other's
//! probe runs. The candidate is never writable by group or others.

use crate::backoff::Backoff;
use crate::error::{Error, MintFailure};
use crate::process::{self, RunError, Stdout};
use crate::target::Target;
use crate::write;
use std::process::Command;
use std::time::{Duration, Instant};

/// How to probe: the command, each try's bound, and how many tries after the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub cmd: String,
    pub timeout: Duration,
    pub retries: u32,
}

/// Probe `contents` as the target's next version until it passes, `retries` times more at most,
/// all before `deadline`. Returns the attempts made.
pub fn probe(
    p: &Probe,
    target: &Target,
    contents: &[u8],
    deadline: Instant,
    deadline_len: Duration,
) -> Result<u32, Error> {
    let who = identity(target)?;
    let candidate = write::candidate(target, contents, 0o600)?;
    let path = candidate.path();
    let mut backoff = Backoff::mint();
    let mut attempt = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Probe(MintFailure {
                what: format!("no time left before the {deadline_len:?} deadline"),
                attempts: attempt,
                out_of_time: false,
            }));
        }
        attempt += 1;
        let what = match probe_once(&p.cmd, p.timeout.min(left), &path, who.as_ref()) {
            Ok(()) => {
                log::info!("probe passed (attempt {attempt})");
                return Ok(attempt);
            }
            Err(ProbeError::Failed(what)) => what,
            Err(ProbeError::Fatal(e)) => return Err(e),
        };
        let mut failure = MintFailure {
            what,
            attempts: attempt,
            out_of_time: false,
        };
        if attempt > p.retries {
            return Err(Error::Probe(failure));
        }
        let pause = backoff.next_pause();
        if Instant::now() + pause >= deadline {
            failure.out_of_time = true;
            return Err(Error::Probe(failure));
        }
        log::info!(
            "probe attempt {attempt} failed: {}; retrying in {:.1}s",
            failure.what,
            pause.as_secs_f64()
        );
        crate::signals::sleep(pause, "waiting to retry the probe")?;
    }
}

enum ProbeError {
    /// The new credential did not pass: try again.
    Failed(String),
    /// The run must stop (a signal).
    Fatal(Error),
}

/// Who the probe runs as: `None` for the run's own identity, else a user's uid, primary gid,
/// name and home. Another user than root and the run's own only when the run is privileged:
/// the target's owner, else the directory owner whose identity the run takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct As {
    pub uid: u32,
    pub gid: u32,
    pub name: String,
    pub home: std::path::PathBuf,
}

/// See [`As`]. Refused (77) when the target belongs to another user than the directory owner
/// whose identity the run takes: one can swap the candidate, the other can write it, so a probe
/// run as either would run what the other plants.
pub fn identity(target: &Target) -> Result<Option<As>, Error> {
    if !crate::walk::privileged() {
        return Ok(None);
    }
    let me = rustix::process::geteuid().as_raw();
    let owner = target
        .file
        .as_ref()
        .map(|(_, st)| (st.st_uid, st.st_gid))
        .filter(|&(u, _)| u != 0 && u != me);
    let actor = target.actor.as_ref().map(|a| (a.uid, a.gid));
    let (uid, fallback_gid) = match (owner, actor) {
        (Some((o, _)), Some((a, _))) if o != a => {
            return Err(Error::Untrusted {
                path: target.given.clone(),
                reason: format!(
                    "it belongs to uid {o}, but its directory to uid {a}: the one can swap \
                     the probe's candidate, the other can write it, so a probe run as either \
                     would run what the other plants; give the target to its directory's owner \
                     (chown), or leave out --probe"
                ),
            });
        }
        (Some(who), _) | (None, Some(who)) => who,
        (None, None) => return Ok(None),
    };
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten();
    Ok(Some(match user {
        Some(u) => As {
            uid,
            gid: u.gid.as_raw(),
            name: u.name,
            home: u.dir,
        },
        None => As {
            uid,
            // Never root's group for a user of no group of their own (a `chown 1000` file or
            // directory keeps group root): the overflow group instead.
            gid: if fallback_gid == 0 {
                NOGROUP
            } else {
                fallback_gid
            },
            name: uid.to_string(),
            home: "/".into(),
        },
    }))
}

/// The kernel's overflow gid (`nogroup`), for a probe user without a group of their own.
const NOGROUP: u32 = 65534;

/// Variables of the run's environment a probe run as another user is given, besides the job
/// file's own: nothing root was given for itself (a `VAULT_TOKEN` from a root-only
/// `EnvironmentFile=`, its AWS keys) is theirs to read.
fn passed_to_another_user(name: &str) -> bool {
    matches!(name, "PATH" | "LANG" | "LANGUAGE" | "TZ" | "TERM")
        || name.starts_with("LC_")
        || crate::job::names().iter().any(|n| n == name)
}

fn probe_once(
    cmd: &str,
    timeout: Duration,
    candidate: &std::path::Path,
    who: Option<&As>,
) -> Result<(), ProbeError> {
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(cmd)
        .env("CREDSHIM_CANDIDATE", candidate);
    if let Some(who) = who {
        use std::os::unix::process::CommandExt;
        // std drops the supplementary groups when it changes the uid.
        command.env_clear();
        for (name, value) in std::env::vars_os() {
            if let Some(n) = name.to_str()
                && !n.starts_with("CREDSHIM_")
                && passed_to_another_user(n)
            {
                command.env(&name, value);
            }
        }
        command
            .env("CREDSHIM_CANDIDATE", candidate)
            .uid(who.uid)
            .gid(who.gid)
            .env("HOME", &who.home)
            .env("USER", &who.name)
            .env("LOGNAME", &who.name)
            .current_dir("/");
        log::info!("running probe command as {} (uid {})", who.name, who.uid);
    } else {
        log::info!("running probe command");
    }
    let done = process::run_with(
        command,
        "probe",
        Stdout::Log,
        timeout,
        Duration::from_millis(200),
        process::Opts {
            subreaper: true,
            ..process::Opts::default()
        },
    )
    .map_err(|e| match e {
        RunError::Interrupted(sig) => ProbeError::Fatal(Error::Interrupted(sig, "probing")),
        e => ProbeError::Failed(format!("probe command {e}")),
    })?;
    if done.status.success() {
        return Ok(());
    }
    let mut msg = format!("probe command {}", process::describe(done.status));
    if let Some(line) = done.stderr_line {
        msg.push_str(": ");
        msg.push_str(&line);
    }
    Err(ProbeError::Failed(msg))
}
