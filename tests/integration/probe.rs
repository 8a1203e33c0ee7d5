//! `--probe CMD` (DESIGN.md guarantee 11): the probe sees the verified new file beside the
//! target, with the target's mode, through `CREDSHIM_CANDIDATE` and nothing else; a failing probe
//! is retried without minting again, and after the last failure the run exits 69 with the target
//! byte-identical, no temp file left and no reload run. `--dry-run` probes too.

use crate::harness::{Test, log_line};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

const OLD: &str = "A=1\nK=old-cred-0000\n# kept\n";
const NEW: &str = "new-cred-5151";

/// A probe script that logs `probe`, keeps what it was given, and passes when `check` does.
fn probing(t: Test, check: &str) -> Test {
    t.script(
        "probe",
        &format!(
            "{}\nprintf '%s' \"$CREDSHIM_CANDIDATE\" > \"$TEST_DIR/candidate-path\"\n\
             cp \"$CREDSHIM_CANDIDATE\" \"$TEST_DIR/candidate-copy\"\n\
             stat -c %a \"$CREDSHIM_CANDIDATE\" > \"$TEST_DIR/candidate-mode\"\n\
             env > \"$TEST_DIR/probe-env\"\n{check}",
            log_line("probe")
        ),
    )
}

fn rotate(t: Test) -> Test {
    let probe = t.path("probe");
    t.mint(&format!("echo {NEW}"))
        .args(["--target", ".env", "--set", "K", "--probe"])
        .arg(probe)
}

#[test]
fn a_passing_probe_sees_the_new_file_beside_the_target_then_it_is_written() {
    let t = probing(
        Test::new().file(".env", OLD),
        "grep -qx 'K=new-cred-5151' \"$CREDSHIM_CANDIDATE\"",
    );
    fs::set_permissions(t.path(".env"), fs::Permissions::from_mode(0o640)).unwrap();
    let done = rotate(t)
        .args(["--reload", "echo reload >> \"$TEST_DIR/log\""])
        .run()
        .status(0)
        .log_is(&["mint", "probe", "reload"])
        .file_is(".env", &OLD.replace("old-cred-0000", NEW))
        .no_temp();
    // The exact bytes the application reads, in the target's directory, with its mode.
    assert_eq!(done.read("candidate-copy"), done.read(".env"));
    let path = done.read("candidate-path");
    let dir = done.test().dir.path().canonicalize().unwrap();
    assert!(
        path.starts_with(&format!("{}/..env.credshim.", dir.display())),
        "{path}"
    );
    assert_eq!(done.read("candidate-mode").trim(), "640");
    // No value in its environment; no CREDSHIM_ variable but the candidate.
    let env = done.read("probe-env");
    assert!(!env.contains(NEW) && !env.contains("old-cred"), "{env}");
    let ours: Vec<_> = env.lines().filter(|l| l.starts_with("CREDSHIM_")).collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert!(ours[0].starts_with("CREDSHIM_CANDIDATE="));
}

#[test]
fn a_failing_probe_is_retried_without_minting_again_then_69_and_nothing_changes() {
    let t = probing(
        Test::new().file(".env", OLD),
        "echo 'FATAL: password authentication failed' >&2; exit 2",
    );
    rotate(t)
        .args([
            "--retries",
            "2",
            "--reload",
            "echo reload >> \"$TEST_DIR/log\"",
        ])
        .run()
        .status(69)
        .stderr_has("the new credential failed the probe, the old file is kept")
        .stderr_has("password authentication failed (attempt 3)")
        .log_is(&["mint", "probe", "probe", "probe"])
        .file_is(".env", OLD)
        .no_temp()
        .hides(NEW);
}

#[test]
fn a_probe_that_passes_on_its_second_try_lets_the_file_be_written() {
    let t = probing(
        Test::new().file(".env", OLD),
        "[ -e \"$TEST_DIR/once\" ] || { touch \"$TEST_DIR/once\"; exit 1; }",
    );
    rotate(t)
        .args(["--output", "json"])
        .run()
        .status(0)
        .stdout_has("\"probe_attempts\":2")
        .log_is(&["mint", "probe", "probe"])
        .file_is(".env", &OLD.replace("old-cred-0000", NEW))
        .no_temp();
}

#[test]
fn a_hanging_probe_is_killed_with_what_it_started_at_its_timeout() {
    let t = probing(
        Test::new().file(".env", OLD),
        "setsid sh -c 'echo $$ > \"$TEST_DIR/daemon.pid\"; exec sleep 300' &\n\
         while [ ! -s \"$TEST_DIR/daemon.pid\" ]; do sleep 0.01; done\nsleep 300",
    );
    let started = Instant::now();
    let done = rotate(t)
        .args(["--probe-timeout", "300ms", "--retries", "0"])
        .run()
        .status(69)
        .stderr_has("timed out")
        .file_is(".env", OLD)
        .no_temp();
    assert!(started.elapsed() < Duration::from_secs(10));
    let pid = done.read("daemon.pid");
    let alive = std::path::Path::new(&format!("/proc/{}", pid.trim())).exists();
    assert!(!alive, "the probe's daemon {pid} outlived it");
}

#[test]
fn dry_run_runs_the_probe_and_writes_nothing() {
    let fail = probing(Test::new().file(".env", OLD), "exit 1");
    rotate(fail)
        .args(["--dry-run", "--retries", "0"])
        .run()
        .status(69)
        .file_is(".env", OLD)
        .no_temp();
    let pass = probing(Test::new().file(".env", OLD), "true");
    rotate(pass)
        .args(["--dry-run"])
        .run()
        .status(0)
        .stdout_has("would update")
        .log_is(&["mint", "probe"])
        .file_is(".env", OLD)
        .no_temp();
}

#[test]
fn an_unchanged_value_is_not_probed() {
    let t = probing(
        Test::new().file(".env", &OLD.replace("old-cred-0000", NEW)),
        "exit 1",
    );
    rotate(t).run().status(0).log_is(&["mint"]);
}

#[test]
fn an_empty_probe_is_78_before_minting() {
    Test::new()
        .file(".env", OLD)
        .mint("echo new")
        .args(["--target", ".env", "--set", "K", "--probe", " "])
        .run()
        .status(78)
        .stderr_has("--probe is empty")
        .log_is(&[]);
}
