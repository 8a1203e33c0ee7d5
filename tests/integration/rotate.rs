//! `credshim rotate` end to end: one test per exit code, and the file-level guarantees.

use crate::harness::{Test, is_root, log_line, skip, temps};
use std::fs::{self, File};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;
use std::time::{Duration, Instant};

const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.Ab-_+/=~9";
const ENV: &str = "# app settings\nexport A=1\nDATABRICKS_TOKEN=old\n\nB='two words' # kept\n";

fn json_mint(token: &str) -> String {
    format!("printf '{{\"token\":\"%s\",\"expire_time\":\"2030-01-01T00:00:00Z\"}}' '{token}'")
}

#[test]
fn rotates_one_key_and_keeps_everything_else() {
    Test::new()
        .file(".env", ENV)
        .mint(&json_mint(TOKEN))
        .args(["--target", ".env", "--set", "DATABRICKS_TOKEN=/token"])
        .run()
        .status(0)
        .file_is(
            ".env",
            &ENV.replace("DATABRICKS_TOKEN=old", &format!("DATABRICKS_TOKEN={TOKEN}")),
        )
        .no_temp();
}

#[test]
fn success_is_silent() {
    let done = Test::new()
        .file(".env", ENV)
        .mint(&json_mint(TOKEN))
        .args(["--target", ".env", "--set", "DATABRICKS_TOKEN=/token"])
        .run()
        .status(0);
    assert_eq!(done.stdout, "");
    assert_eq!(done.stderr, "");
}

#[test]
fn demo_mint_runs_on_a_fresh_machine() {
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/examples/demo-mint");
    let done = Test::new()
        .file(".env", "OTHER=x\n")
        .args([
            "--target",
            ".env",
            "--set",
            "DATABRICKS_TOKEN=/token",
            "--",
            demo,
        ])
        .run()
        .status(0);
    let text = done.read(".env");
    assert!(text.starts_with("OTHER=x\nDATABRICKS_TOKEN=eyJ"), "{text}");
}

#[test]
fn several_keys_from_one_mint() {
    Test::new()
        .file("aws.env", "REGION=eu-west-1\n")
        .mint(r#"echo '{"Credentials":{"AccessKeyId":"AKIA1","SecretAccessKey":"s/k+1","SessionToken":"tok=="}}'"#)
        .args(["--target", "aws.env"])
        .args(["--set", "AWS_ACCESS_KEY_ID=/Credentials/AccessKeyId"])
        .args(["--set", "AWS_SECRET_ACCESS_KEY=/Credentials/SecretAccessKey"])
        .args(["--set", "AWS_SESSION_TOKEN=/Credentials/SessionToken"])
        .run()
        .status(0)
        .file_is(
            "aws.env",
            "REGION=eu-west-1\nAWS_ACCESS_KEY_ID=AKIA1\nAWS_SECRET_ACCESS_KEY=s/k+1\nAWS_SESSION_TOKEN=tok==\n",
        )
        .log_is(&["mint"]);
}

#[test]
fn whole_stdout_and_environment_configuration() {
    // The whole job from CREDSHIM_* variables, the mint from CREDSHIM_MINT through /bin/sh.
    Test::new()
        .file(".env", "X=1\n")
        .env("CREDSHIM_TARGET", ".env")
        .env("CREDSHIM_SET", "GCP_TOKEN,GCP_TOKEN_COPY")
        .env("CREDSHIM_MINT", "echo ya29.abc | cat")
        .run()
        .status(0)
        .file_is(".env", "X=1\nGCP_TOKEN=ya29.abc\nGCP_TOKEN_COPY=ya29.abc\n");
}

// --- exit codes -----------------------------------------------------------------------------

#[test]
fn exit_64_on_bad_command_lines() {
    let done = Test::new().arg("--no-such-flag").run().status(64);
    assert_eq!(
        done.stderr, "credshim: usage: unexpected argument '--no-such-flag' found\n",
        "one line, in credshim's own shape"
    );
    // A bad value from the environment (or a job file) names the variable, not the flag.
    Test::new()
        .file(".env", "A=1\n")
        .mint("echo x")
        .args(["--target", ".env", "--set", "A"])
        .env("CREDSHIM_MIN_TTL", "15m   # refresh early")
        .run()
        .status(64)
        .stderr_has("credshim: usage: CREDSHIM_MIN_TTL: invalid value '15m   # refresh early'");
    Test::new()
        .file(".env", "A=1\n")
        .mint("echo x")
        .args(["--target", ".env", "--set", "1BAD"])
        .run()
        .status(64)
        .stderr_has("not a valid variable name")
        .log_is(&[]);
    Test::new()
        .file(".env", "A=1\n")
        .args(["--target", ".env", "--set", "K"])
        .run()
        .status(64)
        .stderr_has("no mint command");
}

#[test]
fn help_and_version_exit_0() {
    Test::new()
        .args(["--help"])
        .run()
        .status(0)
        .stdout_has("79  RELOAD");
    Test::new()
        .args(["--version"])
        .run()
        .status(0)
        .stdout_has(env!("CARGO_PKG_VERSION"));
}

#[test]
fn exit_65_when_readers_would_disagree_and_nothing_is_minted() {
    let broken = "A=\"unterminated\nDATABRICKS_TOKEN=old\n";
    Test::new()
        .file(".env", broken)
        .mint(&json_mint(TOKEN))
        .args(["--target", ".env", "--set", "DATABRICKS_TOKEN=/token"])
        .run()
        .status(65)
        .stderr_has("credshim: cannot parse .env")
        .file_is(".env", broken)
        .log_is(&[])
        .no_temp();
}

#[test]
fn exit_66_for_a_missing_target_or_a_directory() {
    Test::new()
        .mint("echo x")
        .args(["--target", "missing.env", "--set", "K"])
        .run()
        .status(66)
        .stderr_has("--create")
        .log_is(&[]);
    Test::new()
        .file("d/keep", "")
        .mint("echo x")
        .args(["--target", "d", "--set", "K"])
        .run()
        .status(66)
        .stderr_has("not a regular file");
}

#[test]
fn create_makes_a_0600_file() {
    let done = Test::new()
        .mint("echo tok")
        .args(["--target", "new.env", "--set", "K", "--create"])
        .run()
        .status(0)
        .file_is("new.env", "K=tok\n");
    let mode = fs::metadata(done.path("new.env")).unwrap().mode() & 0o7777;
    assert_eq!(mode, 0o600);
}

#[test]
fn exit_69_when_the_mint_fails_and_the_file_is_untouched() {
    for (body, says) in [
        (
            "echo 'token endpoint said no' >&2; exit 3",
            "exited with status 3: token endpoint said no",
        ),
        ("kill -9 $$", "killed by signal 9"),
    ] {
        Test::new()
            .file(".env", ENV)
            .mint(body)
            .args(["--target", ".env", "--set", "DATABRICKS_TOKEN"])
            .run()
            .status(69)
            .stderr_has(says)
            .file_is(".env", ENV)
            .no_temp();
    }
    Test::new()
        .file(".env", ENV)
        .args(["--target", ".env", "--set", "K", "--", "/nonexistent/mint"])
        .run()
        .status(69)
        .stderr_has("could not start");
}

#[test]
fn exit_69_at_the_mint_timeout() {
    let started = Instant::now();
    Test::new()
        .file(".env", ENV)
        .mint("sleep 30")
        .args(["--target", ".env", "--set", "K", "--mint-timeout", "300ms"])
        .run()
        .status(69)
        .stderr_has("timed out")
        .file_is(".env", ENV);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn values_that_refer_to_the_key_follow_it() {
    // ENV-FORMAT "How to splice": B and C (through B) expand K, as their author meant; KEY2 and
    // the escaped one do not. The file's other bytes stay, -v names the followers.
    let text = "K=old\nB=${K}-suffix\nC=\"$B/x\"\nKEY2=$KEYS\nE='lit'\n";
    let done = Test::new()
        .file(".env", text)
        .mint("echo new")
        .args(["--target", ".env", "--set", "K", "-v"])
        .run()
        .status(0)
        .stderr_has("B, C refer to K and follow the new value")
        .file_is(".env", &text.replacen("K=old", "K=new", 1))
        .no_temp();
    let read = std::process::Command::new("sh")
        .current_dir(done.test().dir.path())
        .args(["-c", "set -a; . ./.env; printf '%s|%s' \"$B\" \"$C\""])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&read.stdout),
        "new-suffix|new-suffix/x"
    );
}

#[test]
fn exit_73_when_the_new_file_cannot_be_written() {
    // RLIMIT_FSIZE makes the write fail with EFBIG; SIGXFSZ must not kill the run.
    let big = format!("PAD={}\nK=old\n", "x".repeat(4000));
    Test::new()
        .file(".env", &big)
        .mint("echo new")
        .args(["--target", ".env", "--set", "K"])
        .wrap("ulimit -f 2; exec")
        .run()
        .status(73)
        .stderr_has("cannot write")
        .file_is(".env", &big)
        .no_temp();
}

#[test]
fn exit_74_when_the_lock_file_is_not_a_file() {
    Test::new()
        .file(".env", ENV)
        .file("..env.credshim.lock/x", "")
        .mint("echo new")
        .args(["--target", ".env", "--set", "K"])
        .run()
        .status(74)
        .file_is(".env", ENV)
        .log_is(&[]);
}

#[test]
fn exit_75_when_another_run_holds_the_lock() {
    let t = Test::new().file(".env", ENV).mint("echo new").args([
        "--target",
        ".env",
        "--set",
        "K",
        "--lock-timeout",
        "1s",
    ]);
    let lock = File::create(t.path("..env.credshim.lock")).unwrap();
    lock.lock().unwrap();
    let started = Instant::now();
    t.run().status(75).file_is(".env", ENV).log_is(&[]);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[test]
fn exit_76_for_unusable_mint_output() {
    for (body, set, says) in [
        ("echo not-json", "K=/token", "not JSON"),
        ("echo '{\"x\":1}'", "K=/token", "/token is not in"),
        ("printf ''", "K", "empty"),
        ("echo '{\"token\":\"\"}'", "K=/token", "empty"),
        ("echo '{\"token\":{}}'", "K=/token", "an object"),
        (
            r#"printf '%s' '{"token":"a\nINJECTED=1"}'"#,
            "K=/token",
            "K",
        ),
        ("printf 'a\\rb'", "K", "K"),
    ] {
        Test::new()
            .file(".env", ENV)
            .mint(body)
            .args(["--target", ".env", "--set", set])
            .run()
            .status(76)
            .stderr_has(says)
            .file_is(".env", ENV)
            .no_temp();
    }
}

#[test]
fn exit_77_when_permission_is_denied() {
    if !is_root() {
        // As a normal user, a file in a directory we cannot write is the same case.
        let t = Test::new().file("ro/.env", "K=old\n").mint("echo new");
        fs::set_permissions(t.path("ro"), fs::Permissions::from_mode(0o555)).unwrap();
        t.args(["--target", "ro/.env", "--set", "K"])
            .run()
            .status(77)
            .file_is("ro/.env", "K=old\n");
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        return skip("setpriv is not installed (util-linux)");
    }
    let t = Test::new().file("ro/.env", "K=old\n").mint("echo new");
    fs::set_permissions(t.dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(t.path("mint"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(t.path("ro"), fs::Permissions::from_mode(0o755)).unwrap();
    t.args(["--target", "ro/.env", "--set", "K"])
        .wrap("exec setpriv --reuid=65534 --regid=65534 --clear-groups")
        .run()
        .status(77)
        .stderr_has("ermission denied")
        .file_is("ro/.env", "K=old\n");
}

#[test]
fn exit_78_for_flags_that_do_not_fit_together() {
    Test::new()
        .file(".env", ENV)
        .mint("echo x")
        .args(["--target", ".env", "--set", "K", "--set", "K=/a"])
        .run()
        .status(78)
        .log_is(&[]);
    Test::new()
        .file(".env", ENV)
        .mint("echo x")
        .args(["--target", ".env", "--set", "K", "--reload", " "])
        .run()
        .status(78);
}

#[test]
fn exit_79_then_the_next_unchanged_run_reloads() {
    let t = Test::new().file(".env", "K=old\n").mint("echo new").script(
        "reload",
        &format!("{}\n[ -e ok ] || exit 5", log_line("reload")),
    );
    let reload = t.path("reload");
    let args = ["--target", ".env", "--set", "K", "--reload"];
    let done = t
        .args(args)
        .arg(&reload)
        .run()
        .status(79)
        .file_is(".env", "K=new\n");
    assert!(done.path("..env.credshim.reload-pending").exists());
    assert_eq!(done.log(), ["mint", "reload"]);
    // Same credential again: nothing to write, but the pending reload runs.
    fs::write(done.path("ok"), "").unwrap();
    let done = done.again().run().status(0).file_is(".env", "K=new\n");
    assert_eq!(done.log(), ["mint", "reload", "mint", "reload"]);
    assert!(!done.path("..env.credshim.reload-pending").exists());
    // And once done, an unchanged run reloads no more.
    let done = done.again().run().status(0);
    assert_eq!(done.log(), ["mint", "reload", "mint", "reload", "mint"]);
}

// --- guarantees ------------------------------------------------------------------------------

#[test]
fn reload_runs_after_the_write_and_only_on_change() {
    let t = Test::new().file(".env", "K=old\n").mint("echo new").script(
        "reload",
        &format!("{}\ngrep -q K=new .env || exit 9", log_line("reload")),
    );
    let reload = t.path("reload");
    let done = t
        .args(["--target", ".env", "--set", "K", "--reload"])
        .arg(&reload)
        .run()
        .status(0)
        .log_is(&["mint", "reload"]);
    let done = done.again().run().status(0);
    assert_eq!(done.log(), ["mint", "reload", "mint"]);
}

#[test]
fn reload_timeout_is_79() {
    let t = Test::new().file(".env", "K=old\n").mint("echo new");
    t.args([
        "--target",
        ".env",
        "--set",
        "K",
        "--reload",
        "sleep 30",
        "--reload-timeout",
        "300ms",
    ])
    .run()
    .status(79)
    .stderr_has("timed out")
    .file_is(".env", "K=new\n");
}

#[test]
fn mode_and_owner_are_kept() {
    let t = Test::new().file(".env", "K=old\n").mint("echo new");
    fs::set_permissions(t.path(".env"), fs::Permissions::from_mode(0o640)).unwrap();
    if is_root() {
        std::os::unix::fs::chown(t.path(".env"), Some(65534), Some(65534)).unwrap();
    }
    let done = t
        .args(["--target", ".env", "--set", "K"])
        .run()
        .status(0)
        .file_is(".env", "K=new\n");
    let meta = fs::metadata(done.path(".env")).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640);
    if is_root() {
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    }
}

#[test]
fn a_symlinked_target_is_written_through() {
    let t = Test::new().file("real/.env", "K=old\n").mint("echo new");
    std::os::unix::fs::symlink("real/.env", t.path("link.env")).unwrap();
    let done = t
        .args(["--target", "link.env", "--set", "K"])
        .run()
        .status(0);
    assert!(
        fs::symlink_metadata(done.path("link.env"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(done.read("real/.env"), "K=new\n");
    assert!(done.path("real/..env.credshim.lock").exists());
    assert!(!done.path(".link.env.credshim.lock").exists());
}

#[test]
fn orphaned_temp_files_are_swept_under_the_lock() {
    Test::new()
        .file(".env", "K=old\n")
        .file("..env.credshim.crashed1.tmp", "K=half")
        .file(".other.credshim.x.tmp", "not ours")
        .mint("echo new")
        .args(["--target", ".env", "--set", "K"])
        .run()
        .status(0)
        .file_is(".other.credshim.x.tmp", "not ours")
        .gone("..env.credshim.crashed1.tmp");
}

#[test]
fn eight_concurrent_runs_on_distinct_keys_lose_nothing() {
    let t = Test::new()
        .file(".env", "# shared\nBASE=1\n")
        .script("mint8", "sleep 0.05; echo \"v-$1\"");
    let mint = t.path("mint8");
    let mut children = Vec::new();
    for i in 0..8 {
        let key = format!("KEY_{i}");
        let mut cmd = t.command();
        cmd.args(["--target", ".env", "--set", &key, "--"])
            .arg(&mint)
            .arg(i.to_string());
        children.push(cmd.spawn().unwrap());
    }
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let text = fs::read_to_string(t.path(".env")).unwrap();
    assert!(text.starts_with("# shared\nBASE=1\n"), "{text}");
    for i in 0..8 {
        assert_eq!(
            text.matches(&format!("KEY_{i}=v-{i}\n")).count(),
            1,
            "{text}"
        );
    }
    assert!(temps(t.dir.path()).is_empty());
}

#[test]
fn secrets_never_reach_output_at_any_verbosity() {
    let secret = "s3cr3t-VALUE-4242";
    let mint = format!("echo 'minting now' >&2; echo '{{\"token\":\"{secret}\"}}'");
    for extra in [
        &["-vv"][..],
        &["--dry-run", "-vv"],
        &["--output", "json", "-vv"],
    ] {
        Test::new()
            .file(".env", "K=previous-s3cr3t-OLD\n")
            .mint(&mint)
            .args(["--target", ".env", "--set", "K=/token"])
            .args(extra.iter().copied())
            .run()
            .status(0)
            // -vv logs the mint's stderr and every stage; --dry-run and json print on stdout.
            .stderr_has("mint: minting now")
            .output_any()
            .hides(secret)
            .hides("previous-s3cr3t-OLD");
    }
    // And in error messages: a value refused for its content is not echoed.
    Test::new()
        .file(".env", "K=x\n")
        .mint(&format!("printf '{secret}\\nline2'"))
        .args(["--target", ".env", "--set", "K", "-vv"])
        .run()
        .status(76)
        .stderr_has("credshim: unusable mint output:")
        .hides(secret);
}

#[test]
fn dry_run_shows_a_masked_change_and_writes_nothing() {
    let t = Test::new()
        .file(".env", "K=old\n")
        .mint("echo new")
        .script("reload", &log_line("reload"));
    let reload = t.path("reload");
    t.args(["--target", ".env", "--set", "K", "--dry-run", "--reload"])
        .arg(&reload)
        .run()
        .status(0)
        .stdout_has("would update .env")
        .stdout_has("K: <3 bytes, sha256:")
        .file_is(".env", "K=old\n")
        .log_is(&["mint"])
        .no_temp();
}

#[test]
fn json_output_describes_the_run() {
    let done = Test::new()
        .file(".env", "K=old\n")
        .mint("echo new")
        .args(["--target", ".env", "--set", "K", "--output", "json"])
        .run()
        .status(0);
    let v = done.json();
    assert_eq!(v["outcome"], "rotated");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["keys"][0]["key"], "K");
    assert_eq!(v["keys"][0]["changed"], true);
    assert_eq!(v["keys"][0]["length"], 3);
    assert!(v["mint_seconds"].is_f64());
    // A failure is one object too, with the code.
    let done = Test::new()
        .file(".env", "K=old\n")
        .mint("exit 1")
        .args(["--target", ".env", "--set", "K", "--output", "json"])
        .run()
        .status(69);
    let v = done.json();
    assert_eq!(v["outcome"], "failed");
    assert_eq!(v["exit_code"], 69);
}

#[test]
fn under_systemd_lines_carry_a_priority() {
    Test::new()
        .file(".env", "K=old\n")
        .mint("exit 1")
        .env("JOURNAL_STREAM", "8:1234")
        .args(["--target", ".env", "--set", "K"])
        .run()
        .status(69)
        .stderr_has("<3>credshim: mint failed");
}

/// The harness itself: output no test stated fails the test (cron mails any output, so a
/// stray line is a defect).
#[test]
#[should_panic(expected = "unexpected stdout")]
fn output_that_no_test_states_fails_it() {
    let _ = Test::new().args(["--help"]).run().status(0);
}
