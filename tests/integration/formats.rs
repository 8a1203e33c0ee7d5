//! JSON, raw and YAML targets, and a bind-mounted single file (EBUSY, `--allow-in-place`).

use crate::harness::{Test, is_root, skip};
use std::path::{Path, PathBuf};
use std::process::Command;

const TWO: &str = "{\n  \"database\": {\n    \"user\": \"app\",\n    \"password\": \"old\",\n    \"port\": 5432\n  },\n  \"log\": \"info\"\n}\n";

fn json_rotate(name: &str, text: &str, key: &str) -> crate::harness::Done {
    Test::new()
        .file(name, text)
        .mint("echo 's3cr/t\"new'")
        .args(["--target", name, "--set", key])
        .run()
}

#[test]
fn json_keeps_order_indentation_and_final_newline() {
    let expected = |t: &str| t.replace("\"old\"", "\"s3cr/t\\\"new\"");
    for text in [
        TWO.to_string(),
        TWO.replace("  ", "    "),
        TWO.replace("  ", "\t"),
        TWO.trim_end().to_string(),
        r#"{"database":{"user":"app","password":"old","port":5432},"log":"info"}"#.to_string(),
    ] {
        json_rotate("config.json", &text, "/database/password")
            .status(0)
            .file_is("config.json", &expected(&text))
            .no_temp();
    }
}

#[test]
fn json_creates_an_absent_member_and_reads_numbers_as_they_are() {
    json_rotate("config.json", TWO, "/database/token")
        .status(0)
        .file_is(
            "config.json",
            &TWO.replace(
                "\"port\": 5432\n",
                "\"port\": 5432,\n    \"token\": \"s3cr/t\\\"new\"\n",
            ),
        );
}

#[test]
fn json_refuses_a_bad_path_or_file_and_leaves_it_byte_identical() {
    for (text, key) in [
        (TWO, "/log/password"),
        (TWO, "/missing/password"),
        (r#"{"a": 1,}"#, "/a"),
        ("not json", "/a"),
        (r#"["list"]"#, "/0"),
    ] {
        json_rotate("config.json", text, key)
            .status(65)
            .file_is("config.json", text)
            .log_is(&[])
            .no_temp();
    }
    json_rotate("config.json", TWO, "password")
        .status(64)
        .file_is("config.json", TWO);
}

#[test]
fn format_flag_overrides_the_extension() {
    Test::new()
        .file("app.conf", "{\"token\": \"old\"}")
        .mint("echo new")
        .args([
            "--target", "app.conf", "--format", "json", "--set", "/token",
        ])
        .run()
        .status(0)
        .file_is("app.conf", "{\"token\": \"new\"}");
}

#[test]
fn raw_keeps_the_final_newline_state() {
    for (old, new) in [("old\n", "pw\n"), ("old", "pw")] {
        Test::new()
            .file("password", old)
            .mint("echo '{\"password\":\"pw\"}'")
            .args([
                "--target",
                "password",
                "--format",
                "raw",
                "--set",
                "-=/password",
            ])
            .run()
            .status(0)
            .file_is("password", new);
    }
    Test::new()
        .mint("echo pw")
        .args([
            "--target", "secret", "--format", "raw", "--set", "-", "--create",
        ])
        .run()
        .status(0)
        .file_is("secret", "pw");
}

#[test]
fn raw_takes_exactly_one_dash_key_and_refuses_nul() {
    let raw = |extra: &[&str], mint: &str| {
        Test::new()
            .file("pw", "old\n")
            .mint(mint)
            .args(["--target", "pw", "--format", "raw"])
            .args(extra.iter().copied())
            .run()
    };
    raw(&["--set", "K"], "echo x")
        .status(64)
        .file_is("pw", "old\n");
    raw(&["--set", "-", "--set", "-=/a"], "echo x")
        .status(78)
        .file_is("pw", "old\n");
    raw(&["--set", "-"], "printf 'a\\000b'")
        .status(76)
        .file_is("pw", "old\n");
}

#[test]
fn check_reads_json_and_raw_targets() {
    let at = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1)).to_string();
    Test::bare()
        .file(
            "c.json",
            &format!("{{\"db\":{{\"token\":\"opaque\",\"at\":\"{at}\"}}}}"),
        )
        .args([
            "check",
            "--target",
            "c.json",
            "--key",
            "/db/token",
            "--expiry-key",
            "/db/at",
        ])
        .run()
        .status(0)
        .stdout_has("CREDSHIM OK");
}

/// A bind mount of one file over another, undone on drop.
struct BindMount(PathBuf);

impl BindMount {
    fn new(source: &Path, target: &Path) -> Option<BindMount> {
        let ok = Command::new("mount")
            .arg("--bind")
            .arg(source)
            .arg(target)
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then(|| BindMount(target.to_path_buf()))
    }
}

impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_bind_mounted_file_is_73_unless_in_place_is_allowed() {
    let t = Test::new()
        .file("host/app.env", "A=1\nK=old\n")
        .file("container/.env", "")
        .mint("echo new")
        .args(["--target", "container/.env", "--set", "K"]);
    let Some(_mount) = is_root()
        .then(|| BindMount::new(&t.path("host/app.env"), &t.path("container/.env")))
        .flatten()
    else {
        return skip("cannot bind-mount a file here (needs root and mount)");
    };
    let done = t
        .run()
        .status(73)
        .stderr_has("EBUSY")
        .stderr_has("mount its directory instead")
        .file_is("host/app.env", "A=1\nK=old\n")
        .no_temp();
    let temps = crate::harness::temps(&done.path("container"));
    assert!(temps.is_empty(), "{temps:?}");
    let done = done
        .again()
        .arg("--allow-in-place")
        .run()
        .status(0)
        .stderr_has("not atomic")
        .file_is("host/app.env", "A=1\nK=new\n")
        .file_is("container/.env", "A=1\nK=new\n")
        .gone("container/..env.credshim.backup");
    assert!(crate::harness::temps(&done.path("container")).is_empty());
}

const APP_CONFIG: &str = "# app-config.local.yaml\nbackend:\n  database:\n    connection:\n      user: app # the role\n      password: old\n";

#[test]
fn yaml_sets_the_scalar_and_refuses_what_is_on_the_way_before_minting() {
    // A value that YAML 1.1 readers would take for a boolean is quoted; nothing else changes.
    for name in ["app-config.local.yaml", "application.yml"] {
        Test::new()
            .file(name, APP_CONFIG)
            .mint("echo yes")
            .args(["--target", name])
            .args(["--set", "/backend/database/connection/password"])
            .run()
            .status(0)
            .file_is(
                name,
                &APP_CONFIG.replace("password: old", "password: 'yes'"),
            )
            .no_temp();
    }
    // The mint is never run, the file stays byte-identical, and the value is not shown.
    for (text, key) in [
        ("a: 1\n---\na: 2\n", "/a"),
        ("base: &b {password: x}\ndb:\n  <<: *b\n", "/db/password"),
        ("db: !secret x\n", "/db/password"),
        ("db:\n  password: 1\n  password: 2\n", "/db/password"),
        ("db: [1]\n", "/db/password"),
        ("a: 'open\n", "/a"),
        (APP_CONFIG, "/backend/cache/password"),
    ] {
        Test::new()
            .file("c.yaml", text)
            .mint("echo s3cr3t-value")
            .args(["--target", "c.yaml", "--set", key])
            .run()
            .status(65)
            .file_is("c.yaml", text)
            .log_is(&[])
            .hides("s3cr3t-value")
            .no_temp();
    }
    Test::new()
        .file("c.yaml", APP_CONFIG)
        .mint("echo s3cr3t-value")
        .args(["--target", "c.yaml", "--set", "password"])
        .run()
        .status(64);
    // --dry-run and --output json show no value.
    Test::new()
        .file("c.yaml", APP_CONFIG)
        .mint("echo s3cr3t-value")
        .args(["--target", "c.yaml", "--dry-run", "--output", "json"])
        .args(["--set", "/backend/database/connection/password"])
        .run()
        .status(0)
        .output_any()
        .hides("s3cr3t-value")
        .file_is("c.yaml", APP_CONFIG);
}
