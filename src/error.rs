//! The one error type of a run, and its exit code.
//!
//! Every failure of `rotate` is one variant of [`Error`], carrying the path or command it concerns.
//! [`Error::exit_code`] maps it onto the table in DESIGN.md (sysexits.h numbering, plus 79 for a
//! failed reload). Messages are one line, `<what failed>: <why>`, and never contain a credential:
//! values only ever reach this module as lengths and fingerprints.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Exit code of a successful run.
pub const OK: u8 = 0;

/// DESIGN.md's exit codes of `rotate`: code, name, when. The one copy: `--help` shows it
/// ([`exit_codes_help`]), the man page is generated from it, and a test checks that every
/// [`Error`] maps into it. (Beyond it: 128+n when a signal stopped the run.)
pub const EXIT_CODES: [(u8, &str, &str); 13] = [
    (0, "OK", "rotated, already fresh, or unchanged"),
    (64, "USAGE", "bad command line"),
    (
        65,
        "DATAERR",
        "the target cannot be parsed in its format; nothing was written",
    ),
    (
        66,
        "NOINPUT",
        "the target does not exist (without --create) or is not a regular file",
    ),
    (
        69,
        "UNAVAILABLE",
        "the mint command failed, could not start, or timed out, after its retries; or the new \
         credential failed --probe on every try",
    ),
    (
        70,
        "SOFTWARE",
        "internal error (e.g. the new file did not read back as intended)",
    ),
    (
        73,
        "CANTCREAT",
        "the new file could not be written or put in place; the old file is intact",
    ),
    (74, "IOERR", "other I/O failure"),
    (
        75,
        "TEMPFAIL",
        "another run held the lock past --lock-timeout, or the deadline ran out",
    ),
    (
        76,
        "PROTOCOL",
        "the mint output is unusable (empty, not JSON, pointer missing, bad value)",
    ),
    (77, "NOPERM", "permission denied"),
    (
        78,
        "CONFIG",
        "flags that parse but do not make sense together",
    ),
    (
        79,
        "RELOAD",
        "the new credential was written, but the reload command failed",
    ),
];

/// [`EXIT_CODES`] as `--help` shows it.
pub fn exit_codes_help() -> String {
    let mut out = String::from("Exit codes of rotate:");
    for (code, name, when) in EXIT_CODES {
        out.push_str(&format!("\n  {code:>2}  {name:<11}  {when}"));
    }
    out
}

/// Every way a run can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line (or a `CREDSHIM_*` variable) is malformed.
    #[error("usage: {0}")]
    Usage(String),

    /// The target cannot be parsed in its format; nothing was written.
    #[error("cannot parse {path}: {reason}")]
    TargetParse { path: PathBuf, reason: String },

    /// The target does not exist (without `--create`) or is not a regular file.
    #[error("target {path}: {reason}")]
    NoInput { path: PathBuf, reason: String },

    /// The mint command failed, could not start, or timed out, after its retries.
    #[error("mint failed: {0}")]
    Mint(MintFailure),

    /// The new credential failed `--probe` on every try.
    #[error("the new credential failed the probe, the old file is kept: {0}")]
    Probe(MintFailure),

    /// Internal error, e.g. the new text did not read back as intended.
    #[error("internal error: {0}")]
    Software(String),

    /// The new file could not be written or put in place; the old file is intact.
    #[error("cannot write {path}: {action}: {source}")]
    CantCreate {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: io::Error,
    },

    /// Permission denied while writing or putting the new file in place.
    #[error("cannot write {path}: {action}: {source}")]
    WritePermission {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: io::Error,
    },

    /// The new file is in place, but the directory fsync that makes the rename durable failed.
    #[error(
        "the new file is in place but may not be durable: cannot fsync directory {path}: {source}"
    )]
    NotDurable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// `--allow-in-place` failed part way through rewriting the target: it may hold a mix.
    #[error(
        "the in-place rewrite of {path} failed part way, so it may be damaged; its old contents are \
         in the .credshim.backup file beside it: {source}"
    )]
    InPlace {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Any other I/O failure.
    #[error("{action} {path}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: io::Error,
    },

    /// Another run held the lock past `--lock-timeout`.
    #[error("lock {path} still held by another run after {}", crate::duration::short(*waited))]
    LockBusy { path: PathBuf, waited: Duration },

    /// The deadline ran out before a mint could start.
    #[error("deadline of {} ran out before minting", crate::duration::short(*.0))]
    DeadlineBeforeMint(Duration),

    /// The mint output is unusable.
    #[error("unusable mint output: {0}")]
    Protocol(String),

    /// Permission denied.
    #[error("{action} {path}: {source}")]
    Permission {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: io::Error,
    },

    /// Someone a privileged run must not trust could steer it (guarantee 9).
    #[error("refusing {path}: {reason}")]
    Untrusted { path: PathBuf, reason: String },

    /// Flags that parse but do not make sense together.
    #[error("configuration: {0}")]
    Config(String),

    /// The new credential was written, but the reload failed.
    #[error("reload failed (the new credential is in place; the next run retries the reload): {0}")]
    Reload(String),

    /// SIGTERM, SIGINT or SIGHUP reached credshim: the running child was killed with its
    /// group, and the target is the old file or the new one.
    #[error("interrupted by {}: {}", signal_name(*.0), .1)]
    Interrupted(i32, &'static str),
}

/// How the mint failed: its last attempt's account, and how many attempts there were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintFailure {
    /// `<program> exited with status 3: <its most useful stderr line>`, or why it could not run.
    pub what: String,
    /// Attempts made (1 without retries).
    pub attempts: u32,
    /// Whether the retries stopped because the deadline left no time for another.
    pub out_of_time: bool,
}

impl MintFailure {
    /// The first attempt's failure.
    pub fn new(what: String) -> MintFailure {
        MintFailure {
            what,
            attempts: 1,
            out_of_time: false,
        }
    }
}

impl std::fmt::Display for MintFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = if self.out_of_time {
            ", no time left before the deadline for another"
        } else {
            ""
        };
        match self.attempts {
            0 | 1 => write!(f, "{}{why}", self.what),
            n => write!(f, "{} (attempt {n}{why})", self.what),
        }
    }
}

/// The conventional name of the signals credshim stops on.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

impl Error {
    /// The process exit code for this error, as in DESIGN.md's table.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 64,
            Error::TargetParse { .. } => 65,
            Error::NoInput { .. } => 66,
            Error::Mint(_) | Error::Probe(_) => 69,
            Error::Software(_) => 70,
            Error::CantCreate { .. } => 73,
            Error::Io { .. } | Error::NotDurable { .. } | Error::InPlace { .. } => 74,
            Error::LockBusy { .. } | Error::DeadlineBeforeMint(_) => 75,
            Error::Protocol(_) => 76,
            Error::Permission { .. } | Error::WritePermission { .. } | Error::Untrusted { .. } => {
                77
            }
            Error::Config(_) => 78,
            Error::Reload(_) => 79,
            // The shell's convention for "ended by signal n".
            Error::Interrupted(sig, _) => 128u8.saturating_add(*sig as u8),
        }
    }

    /// Whether the target was changed before this error: the rename happened, or an in-place
    /// rewrite began.
    pub fn file_changed(&self) -> bool {
        matches!(self, Error::NotDurable { .. } | Error::InPlace { .. })
    }

    /// Whether the target holds the whole new file despite this error.
    pub fn file_complete(&self) -> bool {
        matches!(self, Error::NotDurable { .. })
    }

    /// An I/O failure outside the write stage: permission problems are 77, the rest 74.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        if is_permission(&source) {
            Error::Permission {
                path,
                action,
                source,
            }
        } else {
            Error::Io {
                path,
                action,
                source,
            }
        }
    }

    /// A failure to write or put the new file in place: permission problems are 77, the rest 73.
    pub fn write(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        if is_permission(&source) {
            Error::WritePermission {
                path,
                action,
                source,
            }
        } else {
            Error::CantCreate {
                path,
                action,
                source,
            }
        }
    }
}

fn is_permission(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::PermissionDenied
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
