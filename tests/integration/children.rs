//! DESIGN.md guarantee 10: children never outlive the run by accident. Stop signals during each
//! stage, the mint's `setsid` daemon, the reload's `nohup` daemon, and what children inherit.
//! Each test is bounded: a run that does not end in time is killed and the test fails.

use crate::harness::{Test, skip};
use rustix::process::{Pid, Signal};
use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const SIGNALS: [(Signal, i32, &str); 3] = [
    (Signal::TERM, libc::SIGTERM, "SIGTERM"),
    (Signal::INT, libc::SIGINT, "SIGINT"),
    (Signal::HUP, libc::SIGHUP, "SIGHUP"),
];

/// Start credshim without waiting for it.
fn spawn(t: &Test) -> Child {
    use std::os::unix::process::CommandExt;
    let mut cmd = t.command();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A test run started in the background of a script (`cargo test &`) inherits SIGINT (and
    // under nohup SIGHUP) ignored, which credshim rightly keeps: give the run the default
    // dispositions the tests assume (a test that wants one ignored says so with `trap`).
    // SAFETY: signal(2) is async-signal-safe, and nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGHUP, libc::SIG_DFL);
            Ok(())
        });
    }
    cmd.spawn().expect("start credshim")
}

/// Wait for `child` at most `limit`; kill it and fail past that. Returns (exit code, stderr).
#[track_caller]
fn finish(mut child: Child, limit: Duration) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            return (out.status.code(), stderr, started.elapsed());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "credshim still running after {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Wait until `path` exists and is not empty; fail after `limit`.
#[track_caller]
fn wait_for(path: &Path, limit: Duration) {
    let started = Instant::now();
    while !fs::metadata(path).is_ok_and(|m| m.len() > 0) {
        assert!(
            started.elapsed() < limit,
            "{} did not appear",
            path.display()
        );
        thread::sleep(Duration::from_millis(10));
    }
}

fn read_pid(path: &Path) -> i32 {
    fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (state, process group) of a live process; None when gone. A zombie counts as gone.
fn proc_state(pid: i32) -> Option<(char, i32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_ascii_whitespace();
    let state = f.next()?.chars().next()?;
    let pgrp = f.nth(1)?.parse().ok()?;
    (state != 'Z' && state != 'X').then_some((state, pgrp))
}

fn alive(pid: i32) -> bool {
    proc_state(pid).is_some()
}

/// Live processes in process group `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| proc_state(pid).is_some_and(|(_, g)| g == pgid))
        .collect()
}

/// Nothing of `pids` nor of their groups is left; a SIGKILLed process may take a moment to be
/// reaped by init, so this waits up to 2 s for them to go.
#[track_caller]
fn all_gone(pids: &[i32], what: &str) {
    let started = Instant::now();
    loop {
        let left: Vec<i32> = pids
            .iter()
            .flat_map(|&p| {
                let mut v = group_members(p);
                if alive(p) {
                    v.push(p);
                }
                v
            })
            .collect();
        if left.is_empty() {
            return;
        }
        if started.elapsed() > Duration::from_secs(2) {
            for &p in &left {
                if let Some(p) = Pid::from_raw(p) {
                    let _ = rustix::process::kill_process(p, Signal::KILL);
                }
            }
            panic!("{what}: processes of the run left: {left:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: Signal) {
    let pid = Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, sig).unwrap();
}

/// The one line a signal leaves on stderr.
#[track_caller]
fn one_line(stderr: &str, name: &str, stage: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one stderr line:\n{stderr}");
    assert!(
        lines[0].starts_with(&format!("credshim: interrupted by {name}: {stage}")),
        "{stderr}"
    );
}

#[test]
fn a_signal_during_the_mint_kills_it_and_leaves_the_target() {
    for (sig, n, name) in SIGNALS {
        let old = "# keep\nA=old\r\nB=2";
        let t = Test::new()
            .file(".env", old)
            .mint(
                "sleep 30 & echo $! > \"$TEST_DIR/bg.pid\"\n\
                 echo $$ > \"$TEST_DIR/mint.pid\"\nwait",
            )
            .args(["--target", ".env", "--set", "A", "--reload"])
            .arg(crate::harness::log_line("reload"));
        let child = spawn(&t);
        wait_for(&t.path("mint.pid"), Duration::from_secs(5));
        wait_for(&t.path("bg.pid"), Duration::from_secs(5));
        signal(&child, sig);
        let (code, stderr, took) = finish(child, Duration::from_secs(5));
        assert_eq!(code, Some(128 + n), "{name}: {stderr}");
        one_line(&stderr, name, "minting");
        let (mint, bg) = (read_pid(&t.path("mint.pid")), read_pid(&t.path("bg.pid")));
        all_gone(&[mint, bg], name);
        assert_eq!(fs::read_to_string(t.path(".env")).unwrap(), old, "{name}");
        assert!(!t.path("..env.credshim.reload-pending").exists(), "{name}");
        assert!(crate::harness::temps(t.dir.path()).is_empty(), "{name}");
        eprintln!("{name} during the mint: exit {code:?} after {took:?}");
    }
}

#[test]
fn a_signal_during_the_reload_kills_it_and_keeps_the_reload_pending() {
    for (sig, n, name) in SIGNALS {
        let t = Test::new()
            .file(".env", "A=old\n")
            .mint("echo new")
            .script(
                "reload",
                "sleep 30 & echo $! > \"$TEST_DIR/bg.pid\"\n\
                 echo $$ > \"$TEST_DIR/reload.pid\"\nwait",
            )
            .args(["--target", ".env", "--set", "A", "--reload", "./reload"]);
        let child = spawn(&t);
        wait_for(&t.path("reload.pid"), Duration::from_secs(5));
        wait_for(&t.path("bg.pid"), Duration::from_secs(5));
        signal(&child, sig);
        let (code, stderr, _) = finish(child, Duration::from_secs(5));
        assert_eq!(code, Some(128 + n), "{name}: {stderr}");
        one_line(&stderr, name, "reloading");
        let reload = read_pid(&t.path("reload.pid"));
        all_gone(&[reload, read_pid(&t.path("bg.pid"))], name);
        assert!(
            t.path("..env.credshim.reload-pending").exists(),
            "{name}: no reload pending"
        );
        assert_eq!(fs::read_to_string(t.path(".env")).unwrap(), "A=new\n");
    }
}

#[test]
fn a_signal_during_the_lock_wait_ends_the_run_at_once() {
    for (sig, n, name) in SIGNALS {
        let t = Test::new().file(".env", "A=old\n").mint("echo new").args([
            "--target",
            ".env",
            "--set",
            "A",
            "--lock-timeout",
            "60s",
        ]);
        let mut holder = Command::new("flock")
            .arg(t.path("..env.credshim.lock"))
            .args(["sh", "-c", "touch \"$0\"; exec sleep 20"])
            .arg(t.path("locked"))
            .spawn()
            .expect("flock (util-linux)");
        let started = Instant::now();
        while !t.path("locked").exists() {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "flock did not lock"
            );
            thread::sleep(Duration::from_millis(10));
        }
        let child = spawn(&t);
        thread::sleep(Duration::from_millis(300));
        signal(&child, sig);
        let (code, stderr, took) = finish(child, Duration::from_secs(5));
        let _ = holder.kill();
        let _ = holder.wait();
        assert_eq!(code, Some(128 + n), "{name}: {stderr}");
        one_line(&stderr, name, "waiting for the lock");
        assert!(t.path("log").metadata().is_err(), "{name}: the mint ran");
        assert_eq!(fs::read_to_string(t.path(".env")).unwrap(), "A=old\n");
        // Promptly: not at the next backoff step of 500 ms, nor at the lock timeout.
        assert!(took < Duration::from_secs(3), "{name}: took {took:?}");
        eprintln!("{name} during the lock wait: exit {code:?} {took:?} after the signal");
    }
}

fn have_strace() -> bool {
    Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_signal_during_the_write_leaves_the_old_or_the_new_file_and_the_marker() {
    if !have_strace() {
        return skip("strace is not installed (Debian package strace)");
    }
    for (reload, (sig, n, name)) in [(true, SIGNALS[0]), (false, SIGNALS[1]), (true, SIGNALS[2])] {
        let old = "A=old\nB=keep\n";
        let mut t = Test::new()
            .file(".env", old)
            .mint("echo new")
            .args(["--target", ".env", "--set", "A"]);
        if reload {
            t = t.args(["--reload", &crate::harness::log_line("reload")]);
        }
        // Every fsync takes 1.5 s: the temp file's, then the directory's.
        let t = t.wrap("exec strace -f -qq -o /dev/null -e inject=fsync:delay_enter=1500000");
        let child = spawn(&t);
        // Signal credshim itself (strace's child) once its temp file exists: within the fsync.
        let started = Instant::now();
        let credshim = loop {
            let tracee = fs::read_dir("/proc").unwrap().find_map(|e| {
                let pid = e.ok()?.file_name().to_str()?.parse::<i32>().ok()?;
                let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                let ppid: i32 = stat[stat.rfind(')')? + 1..]
                    .split_ascii_whitespace()
                    .nth(1)?
                    .parse()
                    .ok()?;
                (ppid == child.id() as i32 && stat.contains("(credshim)")).then_some(pid)
            });
            if let Some(pid) = tracee
                && !crate::harness::temps(t.dir.path()).is_empty()
            {
                break pid;
            }
            assert!(
                started.elapsed() < Duration::from_secs(8),
                "no temp file appeared"
            );
            thread::sleep(Duration::from_millis(5));
        };
        rustix::process::kill_process(Pid::from_raw(credshim).unwrap(), sig).unwrap();
        let (code, stderr, _) = finish(child, Duration::from_secs(9));
        assert_eq!(code, Some(128 + n), "{name}: {stderr}");
        let text = fs::read_to_string(t.path(".env")).unwrap();
        assert!(
            text == old || text == "A=new\nB=keep\n",
            "{name}: torn target: {text:?}"
        );
        let marker = t.path("..env.credshim.reload-pending").exists();
        assert_eq!(marker, reload, "{name}: marker present: {marker}");
        assert!(
            !fs::read_to_string(t.path("log"))
                .unwrap_or_default()
                .contains("reload"),
            "{name}: the reload ran after the signal"
        );
        assert!(crate::harness::temps(t.dir.path()).is_empty(), "{name}");
        eprintln!(
            "{name} during the write (reload {reload}): exit {code:?}, target {}, marker \
             {marker}",
            if text == old { "old" } else { "new" }
        );
    }
}

#[test]
fn a_setsid_daemon_of_the_mint_does_not_survive_it() {
    let t = Test::new()
        .file(".env", "A=old\n")
        .mint(
            "setsid sh -c 'echo $$ > \"$TEST_DIR/daemon.pid\"; exec sleep 300' &\n\
             while [ ! -s \"$TEST_DIR/daemon.pid\" ]; do sleep 0.01; done\necho token",
        )
        .args([
            "--target",
            ".env",
            "--set",
            "A",
            "--mint-timeout",
            "5s",
            "--retries",
            "0",
        ]);
    let (code, stderr, _) = finish(spawn(&t), Duration::from_secs(9));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(fs::read_to_string(t.path(".env")).unwrap(), "A=token\n");
    let daemon = read_pid(&t.path("daemon.pid"));
    all_gone(&[daemon], "the mint's setsid daemon");
}

#[test]
fn a_daemon_the_reload_starts_survives_and_can_still_write() {
    let t = Test::new()
        .file(".env", "A=old\n")
        .mint("echo new")
        .script(
            "reload",
            "nohup sh -c 'sleep 1; echo still-here; echo still-here >&2; \
             touch \"$TEST_DIR/wrote\"; sleep 1; echo again; touch \"$TEST_DIR/alive\"; \
             exec sleep 6' &\n\
             echo $! > \"$TEST_DIR/daemon.pid\"\necho reloaded; echo reload-err >&2",
        )
        .args([
            "-v", "--target", ".env", "--set", "A", "--reload", "./reload",
        ]);
    let (code, stderr, _) = finish(spawn(&t), Duration::from_secs(5));
    let exited = Instant::now();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        !t.path("wrote").exists(),
        "credshim exited after the daemon's write: the test proves nothing"
    );
    // The reload's own output is still logged.
    assert!(stderr.contains("reload: reloaded"), "{stderr}");
    assert!(stderr.contains("reload: reload-err"), "{stderr}");
    let daemon = read_pid(&t.path("daemon.pid"));
    thread::sleep(Duration::from_secs(3).saturating_sub(exited.elapsed()));
    let still = alive(daemon);
    let (wrote, touched) = (t.path("wrote").exists(), t.path("alive").exists());
    if let Some(p) = Pid::from_raw(daemon) {
        let _ = rustix::process::kill_process(p, Signal::KILL);
    }
    assert!(
        wrote,
        "the daemon died at its first write after credshim exited"
    );
    assert!(
        touched && still,
        "the daemon is gone 3 s after credshim exited"
    );
}

#[test]
fn children_get_no_credshim_variable_and_no_descriptor_above_2() {
    let t = Test::new()
        .file(".env", "A=old\n")
        .mint(
            "env > \"$TEST_DIR/mint.env\"\n\
             ls -l /proc/self/fd/ > \"$TEST_DIR/mint.fds\"\necho new",
        )
        .script(
            "reload",
            "env > \"$TEST_DIR/reload.env\"\nls -l /proc/self/fd/ > \"$TEST_DIR/reload.fds\"",
        )
        .args(["--target", ".env"])
        .env("CREDSHIM_SET", "A")
        .env("CREDSHIM_RELOAD", "./reload")
        .env("CREDSHIM_RETRIES", "1")
        .env("ORDINARY_VARIABLE", "passes")
        // A descriptor credshim inherits without close-on-exec.
        .wrap("exec 7</dev/null; exec");
    let (code, stderr, _) = finish(spawn(&t), Duration::from_secs(9));
    assert_eq!(code, Some(0), "{stderr}");
    for who in ["mint", "reload"] {
        let env = fs::read_to_string(t.path(&format!("{who}.env"))).unwrap();
        let leaked: Vec<&str> = env.lines().filter(|l| l.starts_with("CREDSHIM_")).collect();
        assert!(leaked.is_empty(), "the {who} sees {leaked:?}");
        assert!(env.contains("ORDINARY_VARIABLE=passes\n"), "{who}: {env}");
        // ls's own directory descriptor points into /proc: everything else must be 0-2.
        let listing = fs::read_to_string(t.path(&format!("{who}.fds"))).unwrap();
        let fds: Vec<&str> = listing
            .lines()
            .filter(|l| l.contains(" -> ") && !l.contains("-> /proc/"))
            .filter_map(|l| l.split(" -> ").next()?.rsplit(' ').next())
            .collect();
        assert_eq!(fds, ["0", "1", "2"], "the {who}'s descriptors:\n{listing}");
    }
}

#[test]
fn a_hangup_ignored_at_start_stays_ignored() {
    // `nohup credshim ...`: SIGHUP is ignored when credshim starts, and must stay so.
    let t = Test::new()
        .file(".env", "A=old\n")
        .mint("echo $$ > \"$TEST_DIR/mint.pid\"\nsleep 0.5\necho new")
        .args(["--target", ".env", "--set", "A"])
        .wrap("trap '' HUP; exec");
    let child = spawn(&t);
    wait_for(&t.path("mint.pid"), Duration::from_secs(5));
    signal(&child, Signal::HUP);
    let (code, stderr, _) = finish(child, Duration::from_secs(5));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(fs::read_to_string(t.path(".env")).unwrap(), "A=new\n");
}
