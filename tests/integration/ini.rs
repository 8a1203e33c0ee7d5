//! INI targets through the real binary: chosen by file name, refusals before minting, `--create`,
//! `--dry-run`, `--output json`, `--min-ttl` and `check` on `/section/key` keys. What the readers
//! make of the written files is `readers_ini.rs`'s business.

use crate::harness::Test;
use std::os::unix::fs::PermissionsExt;

const AWS: &str = "[default]\naws_access_key_id = AKIADEFAULT\n\n[app]\naws_session_token = old\n";

#[test]
fn ini_is_chosen_by_name_and_only_the_section_changes() {
    for name in ["credentials", "my.cnf", "php.ini", "setup.cfg"] {
        Test::new()
            .file(name, AWS)
            .mint("echo 'n3w/+tok=='")
            .args(["--target", name, "--set", "/app/aws_session_token"])
            .run()
            .status(0)
            .file_is(name, &AWS.replace("= old", "= n3w/+tok=="))
            .no_temp();
    }
    // A .env name with --format ini.
    Test::new()
        .file("aws.env", AWS)
        .mint("echo new")
        .args(["--target", "aws.env", "--format", "ini"])
        .args(["--set", "/app/aws_session_token"])
        .run()
        .status(0)
        .file_is("aws.env", &AWS.replace("= old", "= new"));
}

#[test]
fn what_the_old_file_shows_is_refused_before_minting() {
    for (text, key, code, says) in [
        (AWS, "aws_session_token", 64, "is not an INI key"),
        (AWS, "/a/b/c", 64, "more than two steps"),
        (
            "[app]\naws_session_token: old\n",
            "/app/aws_session_token",
            65,
            "line 2",
        ),
        ("\u{feff}[app]\nk = v\n", "/app/k", 65, "byte order mark"),
        ("[App]\nk = v\n", "/app/k", 65, "another case"),
    ] {
        Test::new()
            .file("credentials", text)
            .mint("echo new")
            .args(["--target", "credentials", "--set", key])
            .run()
            .status(code)
            .stderr_has(says)
            .file_is("credentials", text)
            .log_is(&[])
            .no_temp();
    }
}

#[test]
fn a_value_no_form_carries_is_76_and_never_shown() {
    Test::new()
        .file("credentials", AWS)
        .mint("echo 'pass#w0rd-secret'")
        .args(["--target", "credentials", "--set", "/app/aws_session_token"])
        .run()
        .status(76)
        .stderr_has("contains #, where MariaDB starts a comment")
        .hides("pass#w0rd-secret")
        .file_is("credentials", AWS)
        .no_temp();
}

#[test]
fn create_makes_a_0600_file_with_the_section() {
    let done = Test::new()
        .mint("echo AKIA1")
        .args(["--target", "credentials", "--create"])
        .args(["--set", "/app/aws_access_key_id"])
        .run()
        .status(0)
        .file_is("credentials", "[app]\naws_access_key_id = AKIA1\n");
    let mode = std::fs::metadata(done.path("credentials"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn dry_run_and_json_output_mask_the_value() {
    Test::new()
        .file("credentials", AWS)
        .mint("echo s3cr3t-token-value")
        .args(["--target", "credentials", "--set", "/app/aws_session_token"])
        .arg("--dry-run")
        .run()
        .status(0)
        .stdout_has("/app/aws_session_token: <3 bytes, sha256:")
        .stdout_has("-> <18 bytes, sha256:")
        .hides("s3cr3t-token-value")
        .file_is("credentials", AWS);
    let done = Test::new()
        .file("credentials", AWS)
        .mint("echo s3cr3t-token-value")
        .args(["--target", "credentials", "--set", "/app/aws_session_token"])
        .args(["--output", "json"])
        .run()
        .status(0)
        .hides("s3cr3t-token-value");
    assert_eq!(done.json()["keys"][0]["key"], "/app/aws_session_token");
}

#[test]
fn min_ttl_and_check_read_the_expiry_key_of_the_section() {
    let expires = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1)).to_string();
    let text = format!("[app]\ntoken = old\nexpires = {expires}\n");
    // Fresh: no mint.
    Test::new()
        .file("app.ini", &text)
        .mint("echo new")
        .args(["--target", "app.ini", "--set", "/app/token", "--ttl", "1h"])
        .args(["--set", "/app/expires=@expiry", "--min-ttl", "10m"])
        .run()
        .status(0)
        .file_is("app.ini", &text)
        .log_is(&[]);
    Test::bare()
        .file("app.ini", &text)
        .args(["check", "--target", "app.ini", "--key", "/app/token"])
        .args([
            "--expiry-key",
            "/app/expires",
            "--warn",
            "15m",
            "--crit",
            "5m",
        ])
        .run()
        .status(0)
        .stdout_has("ttl=");
}
