//! Regression tests for defects a review of the pipeline found, each named after what it guards.

use crate::harness::{Test, log_line};
use std::fs;
use std::time::{Duration, Instant};

/// Caught: a run that waited for the lock kept the "missing" state it saw before, so with
/// `--create` it overwrote what the first run created.
#[test]
fn two_create_runs_on_one_new_file_keep_both_keys() {
    let t = Test::bare()
        .script(
            "slow",
            "touch \"$TEST_DIR/started\"; sleep 0.6; echo slow-value",
        )
        .script("fast", "echo fast-value");
    let mut first = t.command();
    first
        .args([
            "rotate", "--target", "new.env", "--create", "--set", "A", "--",
        ])
        .arg(t.path("slow"));
    let mut first = first.spawn().unwrap();
    // The slow mint runs under the first run's lock: once it has started, the second run must
    // wait. Poll for that, with a bound, instead of sleeping and hoping.
    let waited = Instant::now();
    while !t.path("started").exists() {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "the first run's mint never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut second = t.command();
    second
        .args([
            "rotate", "--target", "new.env", "--create", "--set", "B", "--",
        ])
        .arg(t.path("fast"));
    assert!(second.status().unwrap().success());
    assert!(first.wait().unwrap().success());
    let text = fs::read_to_string(t.path("new.env")).unwrap();
    assert_eq!(text, "A=slow-value\nB=fast-value\n");
}

/// Caught: after a failed write the report (and metrics) carried the new credential's expiry
/// and the outcome "rotated", pushing back an expiry alert while the old token ran out.
#[test]
fn a_failed_write_reports_the_old_expiry_and_outcome_failed() {
    let old_exp = "2031-01-01T00:00:00Z";
    let big = format!("PAD={}\nK=old\nK_AT={old_exp}\n", "x".repeat(4000));
    let done = Test::new()
        .file(".env", &big)
        .mint(r#"echo '{"token":"new","expire_time":"2040-01-01T00:00:00Z"}'"#)
        .args([
            "--target",
            ".env",
            "--set",
            "K=/token",
            "--set",
            "K_AT=@expiry",
        ])
        .args([
            "--expiry-from",
            "/expire_time",
            "--output",
            "json",
            "--metrics-file",
            "m.prom",
        ])
        .wrap("ulimit -f 2; exec")
        .run()
        .status(73)
        .file_is(".env", &big);
    let v = done.json();
    assert_eq!(v["outcome"], "failed");
    assert_eq!(v["expires_at"], old_exp);
    let metrics = done.read("m.prom");
    assert!(
        metrics.contains("credshim_credential_expiry_timestamp_seconds{"),
        "{metrics}"
    );
    assert!(metrics.contains("} 1924992000\n"), "{metrics}");
}

/// Caught: `--dry-run` wrote the metrics file, recording a success that wrote nothing.
#[test]
fn a_dry_run_writes_no_metrics() {
    Test::new()
        .file(".env", "K=old\n")
        .mint("echo new")
        .args([
            "--target",
            ".env",
            "--set",
            "K",
            "--dry-run",
            "--metrics-file",
            "m.prom",
        ])
        .run()
        .status(0)
        .stdout_has("would update .env")
        .file_is(".env", "K=old\n")
        .gone("m.prom");
}

/// Caught: `--min-ttl` skipped minting when a key this run sets was missing from the target
/// (a key added to an existing job stayed missing until the old credential neared expiry).
#[test]
fn min_ttl_mints_when_a_key_is_missing() {
    Test::new()
        .file(".env", "EXP=2099-01-01T00:00:00Z\n")
        .mint(r#"echo '{"a":"va","t":"2099-01-01T00:00:00Z"}'"#)
        .args(["--target", ".env", "--set", "KA=/a", "--set", "EXP=@expiry"])
        .args(["--expiry-from", "/t", "--min-ttl", "10m"])
        .run()
        .status(0)
        .file_is(".env", "EXP=2099-01-01T00:00:00Z\nKA=va\n")
        .log_is(&["mint"]);
}

/// Caught: the marker left by a failed reload followed a symlink and truncated its target.
#[test]
fn the_reload_marker_never_follows_a_symlink() {
    let t = Test::new()
        .file(".env", "K=old\n")
        .file("victim", "precious\n")
        .mint("echo new");
    std::os::unix::fs::symlink(t.path("victim"), t.path("..env.credshim.reload-pending")).unwrap();
    t.args(["--target", ".env", "--set", "K", "--reload", "exit 1"])
        .run()
        .status(79)
        .file_is("victim", "precious\n");
}

/// Caught: `--deadline` did not bound the reload.
#[test]
fn the_deadline_bounds_the_reload() {
    let t = Test::new()
        .file(".env", "K=old\n")
        .mint("echo new")
        .script("reload", &format!("{}\nsleep 10", log_line("reload")));
    let reload = t.path("reload");
    let started = Instant::now();
    let done = t
        .args([
            "--target",
            ".env",
            "--set",
            "K",
            "--deadline",
            "1s",
            "--reload",
        ])
        .arg(&reload)
        .run()
        .status(79)
        .file_is(".env", "K=new\n");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(done.path("..env.credshim.reload-pending").exists());
}

/// Caught: a raw value ending in a newline, into a file without one, failed verification (70).
#[test]
fn a_raw_value_ending_in_a_newline_is_76() {
    Test::new()
        .file("pw", "old")
        .mint("printf 'new\\n\\n'")
        .args(["--target", "pw", "--format", "raw", "--set", "-"])
        .run()
        .status(76)
        .file_is("pw", "old");
}

/// Caught: a JSON member named twice (serde_json reads the last) failed verification (70).
#[test]
fn a_duplicated_json_member_is_65() {
    let text = r#"{"a":"x","a":"y"}"#;
    Test::new()
        .file("c.json", text)
        .mint("echo new")
        .args(["--target", "c.json", "--set", "/a"])
        .run()
        .status(65)
        .file_is("c.json", text)
        .log_is(&[]);
}

/// Caught: a last line ending in `\` without a newline was refused only after minting.
#[test]
fn appending_after_a_final_backslash_is_refused_before_minting() {
    Test::new()
        .file(".env", "B=a\\")
        .mint("echo v")
        .args(["--target", ".env", "--set", "K"])
        .run()
        .status(65)
        .file_is(".env", "B=a\\")
        .log_is(&[]);
}

/// Caught: `check` refused to read a hard-linked file (a rotate-only refusal) and said CRITICAL.
#[test]
fn check_reads_a_hard_linked_file() {
    let t = Test::bare().file("a.env", "TOKEN=opaque\nAT=2099-01-01T00:00:00Z\n");
    fs::hard_link(t.path("a.env"), t.path("b.env")).unwrap();
    t.args([
        "check",
        "--target",
        "a.env",
        "--key",
        "TOKEN",
        "--expiry-key",
        "AT",
    ])
    .run()
    .status(0)
    .stdout_has("CREDSHIM OK");
}

/// Caught: `--output json` panicked on a target path that is not UTF-8.
#[test]
fn json_output_survives_a_non_utf8_path() {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::OsStr::from_bytes(b"\xff.env");
    let t = Test::new().mint("echo new");
    fs::write(t.path("x").with_file_name(name), "K=old\n").unwrap();
    let done = t
        .arg("--target")
        .arg(name)
        .args(["--set", "K", "--output", "json"])
        .run()
        .status(0);
    assert_eq!(done.json()["outcome"], "rotated");
}

/// Caught: `-v`/`-q` were the only flags without a `CREDSHIM_*` variable.
#[test]
fn verbosity_comes_from_the_environment_too() {
    Test::new()
        .file(".env", "K=old\n")
        .mint("echo new")
        .env("CREDSHIM_VERBOSE", "1")
        .args(["--target", ".env", "--set", "K"])
        .run()
        .status(0)
        .stderr_has("credshim: info: ");
}

/// Caught: a huge duration overflowed the clock and panicked (exit 101).
#[test]
fn a_huge_duration_is_a_usage_error_not_a_panic() {
    for flag in ["--deadline", "--lock-timeout", "--reload-timeout"] {
        Test::new()
            .file(".env", "K=old\n")
            .mint("echo new")
            .args([
                "--target",
                ".env",
                "--set",
                "K",
                flag,
                "9223372036854775807",
            ])
            .run()
            .status(64)
            .file_is(".env", "K=old\n");
    }
}

/// Issue 14: `~/.aws/credentials` taken for a `.env` had the key updated in every profile (the
/// long-lived `[default]` key lost) and a missing one appended to the last section, exit 0. A
/// `[section]` header is now 65 before minting, and the file stays byte-identical; the message
/// points to `--format ini`.
#[test]
fn an_ini_file_is_refused_as_a_dotenv_before_minting() {
    let aws = "[default]\naws_secret_access_key=long-lived\n\n[app]\naws_secret_access_key=old\n";
    Test::new()
        .file("aws.env", aws)
        .mint("echo new")
        .args(["--target", "aws.env", "--set", "aws_secret_access_key"])
        .run()
        .status(65)
        .stderr_has("line 1: a [section] header, so this is an INI file")
        .stderr_has("--format ini")
        .file_is("aws.env", aws)
        .log_is(&[]);
}

/// Issue 15: the same file, named `credentials`, is INI by default; its KEY is `/section/key`
/// and only `[app]` changes. The `.env` KEY is a usage error, before minting.
#[test]
fn a_credentials_file_is_ini_by_default() {
    let aws = "[default]\naws_secret_access_key=long-lived\n\n[app]\naws_secret_access_key=old\n";
    Test::new()
        .file("credentials", aws)
        .mint("echo new")
        .args(["--target", "credentials", "--set", "aws_secret_access_key"])
        .run()
        .status(64)
        .file_is("credentials", aws)
        .log_is(&[]);
    Test::new()
        .file("credentials", aws)
        .mint("echo new")
        .args([
            "--target",
            "credentials",
            "--set",
            "/app/aws_secret_access_key",
        ])
        .run()
        .status(0)
        .file_is("credentials", &aws.replace("=old", "=new"))
        .log_is(&["mint"]);
}
