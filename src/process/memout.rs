//! The reload's output in memory files, so that a daemon it starts never dies of SIGPIPE.
//!
//! With [`Opts::output_in_memory`](super::Opts::output_in_memory) the child writes its stdout and
//! stderr to two memfds instead of pipes: nothing on disk, and a daemon that keeps them can write
//! after credshim has gone. Once the child has exited, [`MemOutput::log`] logs what it wrote
//! (stdout, then stderr, read with `pread` so the daemon's file offset is left alone) and
//! returns the most useful stderr line. On every path, that one or any other, each file is then sealed
//! at its size plus [`HEADROOM`]: a daemon's later writes fail with EPERM once the headroom is
//! full, so they cannot grow memory without bound.

use rustix::fd::OwnedFd;
use rustix::fs::{MemfdFlags, SealFlags};
use std::io;

use super::lines::Lines;

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
    pub(super) stdout: OwnedFd,
    pub(super) stderr: OwnedFd,
}

/// Room left in the reload's output files for its daemons after it exits.
const HEADROOM: u64 = 64 * 1024;

impl MemOutput {
    pub(super) fn new() -> io::Result<MemOutput> {
        let make = |name: &str| {
            rustix::fs::memfd_create(name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)
        };
        Ok(MemOutput {
            stdout: make("credshim-child-stdout")?,
            stderr: make("credshim-child-stderr")?,
        })
    }

    /// Log what the child wrote (stdout first, then stderr), seal both files, and return the
    /// most useful stderr line.
    pub(super) fn log(self, label: &str) -> Option<String> {
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
                last = lines.useful();
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

#[cfg(test)]
mod tests {
    use crate::process::tests::sh;
    use crate::process::{Opts, Stdout, run_with};
    use std::thread;
    use std::time::{Duration, Instant};

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
        assert_eq!(f.stderr_line.as_deref(), Some("err2"));
        // Did not wait for the daemon (which holds the files), nor for the drain time.
        assert!(!alive.exists(), "run() waited for the daemon");
        let started = Instant::now();
        while !alive.exists() && started.elapsed() < Duration::from_secs(30) {
            thread::sleep(Duration::from_millis(20));
        }
        assert!(alive.exists(), "the daemon did not survive its writes");
    }
}
