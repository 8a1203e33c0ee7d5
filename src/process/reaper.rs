//! Nothing the mint starts outlives it.
//!
//! While a child runs with [`Opts::subreaper`](super::Opts::subreaper), credshim is a child
//! subreaper (`PR_SET_CHILD_SUBREAPER`), for one child at a time: whatever that child leaves
//! behind, in a new session included, is reparented to credshim instead of init.
//! [`Subreaper::sweep`] SIGKILLs and reaps those orphans until none is left, as soon as the
//! child has exited and once more when the guard is dropped, which also clears the flag. It
//! touches only children of credshim that are outside credshim's own process group and that no
//! `run` is waiting for ([`Registered`] keeps that list, spawning and registering under one
//! lock). With no child at all (the usual case) it makes one `waitid` probe and reads no file.

use rustix::io::Errno;
use rustix::process::{Pid, Signal};
use std::process::{Child, Command};
use std::sync::{Mutex, MutexGuard};

use super::RunError;

/// The pids of the children [`run`](super::run) is waiting for, which a [`Subreaper`] sweep
/// must leave to their own `run` (in the unit tests several run at once in one process).
static RUNNING: Mutex<Vec<i32>> = Mutex::new(Vec::new());

pub(super) struct Registered(i32);

impl Registered {
    /// Spawn and register in one step under the lock, so that no sweep sees the child
    /// unregistered.
    pub(super) fn spawn(cmd: &mut Command) -> Result<(Child, Registered), RunError> {
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
pub(super) struct Subreaper {
    _one: MutexGuard<'static, ()>,
    label: String,
    on: bool,
}

impl Subreaper {
    pub(super) fn start(label: &str) -> Subreaper {
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
    /// starts in the child's group, a new one) and not a child some [`run`](super::run) waits
    /// for: credshim runs one child at a time, so those are the child's leftovers.
    pub(super) fn sweep(&self) {
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

/// Our children that are no child of a [`run`](super::run) and not in our process group.
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
// The /proc reads below go by path on purpose: procfs is the kernel's, no user can plant or
// swap anything in it, and no target directory is involved (guarantee 9 is about those).
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
    use crate::process::tests::sh;
    use crate::process::{Opts, Stdout, run_with};
    use std::time::Duration;

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
}
