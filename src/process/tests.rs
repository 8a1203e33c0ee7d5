//! The unit tests of [`run`](super::run) as a whole, each with a real `/bin/sh` child: what
//! is captured and what is refused over the limit, how an end is described, that a timeout
//! kills the whole group, that a line without end is logged in pieces, that stdin is empty and
//! that no inherited `CREDSHIM_*` variable reaches the child. The tests of one part (the
//! waiter, the descriptors, the subreaper, the memory output) sit in that part's file.

use super::*;
use std::thread;

pub(super) fn sh(script: &str) -> Command {
    let mut c = Command::new("/bin/sh");
    c.arg("-c").arg(script);
    c
}

#[test]
fn captures_stdout_and_stderr_line_line() {
    let f = run(
        sh("echo out; echo err1 >&2; echo err2 >&2"),
        "t",
        Stdout::Capture(1024),
        Duration::from_secs(10),
        Duration::from_secs(1),
    )
    .unwrap();
    assert_eq!(f.stdout, b"out\n");
    assert_eq!(f.stderr_line.as_deref(), Some("err2"));
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
    let last = f.stderr_line.unwrap();
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
fn the_stderr_line_quoted_is_the_first_that_reads_as_an_error() {
    // The AWS CLI's shape: usage text, the error, then a list whose last line says nothing.
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(
        "printf 'usage: aws [options] <command>\\naws: error: argument command: Invalid choice\\n\\nset | add-model\\n' >&2; exit 2",
    );
    let f = run(
        cmd,
        "t",
        Stdout::Log,
        Duration::from_secs(5),
        Duration::from_secs(2),
    )
    .unwrap();
    assert_eq!(
        f.stderr_line.as_deref(),
        Some("aws: error: argument command: Invalid choice")
    );
    // Nothing reads as an error: the last line. "terror" is no error.
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg("echo 'terror level 3' >&2; echo 'try later' >&2; exit 1");
    let f = run(
        cmd,
        "t",
        Stdout::Log,
        Duration::from_secs(5),
        Duration::from_secs(2),
    )
    .unwrap();
    assert_eq!(f.stderr_line.as_deref(), Some("try later"));
}

#[test]
fn control_characters_in_a_childs_output_are_escaped_in_messages() {
    // An escape sequence or a CR would act on root's terminal or rewrite its log line.
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg("printf 'denied\\033[2J\\rforged\\tok\\n' >&2; exit 1");
    let f = run(
        cmd,
        "t",
        Stdout::Log,
        Duration::from_secs(5),
        Duration::from_secs(2),
    )
    .unwrap();
    assert_eq!(
        f.stderr_line.as_deref(),
        Some("denied\\u{1b}[2J\\rforged\tok")
    );
}
