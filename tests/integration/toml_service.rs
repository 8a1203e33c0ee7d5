//! The TOML format end to end (issue 16): the shipped job's settings against a service's
//! `config.toml`, with a fake Lakebase mint handing out alternating tokens and, as the reload, a
//! "restart" of a small Python service that loads the file with `tomllib` and records the
//! password it found. Every restart must find the token just minted, the rest of the file must
//! stay byte for byte, and `credshim check` must read the expiry written beside it. Plus the
//! refusals a TOML target has before minting, and that no value reaches any output.

use crate::harness::{Test, log_line, skip};
use std::path::Path;

const CONFIG: &str = "# orders service\n[server]\nport = 8080 # the public port\n\n\
                      [database]\nhost = \"db.internal\"\nuser = 'orders'\n\
                      password = \"bootstrap\"   # rotated by credshim\n\n\
                      [[workers]]\nname = \"a\"\n";

/// A service that reads `config.toml` once at startup, as the real one does, and logs the
/// password it found (`app <password>`) where the test can see it.
const APP: &str = "import os, sys, tomllib\n\
                   with open('config.toml', 'rb') as f:\n    cfg = tomllib.load(f)\n\
                   with open(os.environ['TEST_DIR'] + '/log', 'a') as log:\n    \
                   log.write('app ' + cfg['database']['password'] + '\\n')\n";

fn has_tomllib() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import tomllib"])
        .status()
        .is_ok_and(|s| s.success())
}

/// The job file's settings, as `every_example_job_runs_as_the_unit_runs_it` reads them.
fn example_set() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/examples/toml-config.env");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("CREDSHIM_SET="))
        .expect("CREDSHIM_SET in the example")
        .to_owned()
}

#[test]
fn a_restarted_service_reads_every_new_token_from_config_toml() {
    if !has_tomllib() {
        skip("python3 with tomllib (3.11) is not installed");
        return;
    }
    // Two roles in turn, the second with every character a basic string must escape.
    let mint = r#"n=$(cat "$TEST_DIR/n" 2>/dev/null || echo 0); echo $((n + 1)) > "$TEST_DIR/n"
exp=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%S.000Z)
if [ $((n % 2)) -eq 0 ]; then tok="eyJhbGciOiJIUzI1NiJ9.role-a-$n.sig"; else tok="role-b-$n \\\"q\\\" it's \\\\ #x"; fi
printf '{"expire_time":"%s","token":"%s"}\n' "$exp" "$tok""#;
    let mut t = Test::new()
        .file("config.toml", CONFIG)
        .file("app.py", APP)
        .mint(mint)
        .script(
            "restart",
            &format!("{}\nexec python3 app.py", log_line("restart")),
        )
        .args(["--target", "config.toml", "--reload", "./restart"])
        .env("CREDSHIM_SET", &example_set())
        .env("CREDSHIM_EXPIRY_FROM", "/expire_time");
    let tokens = |n: usize| {
        if n.is_multiple_of(2) {
            format!("eyJhbGciOiJIUzI1NiJ9.role-a-{n}.sig")
        } else {
            format!("role-b-{n} \"q\" it's \\ #x")
        }
    };
    let mut expected_log: Vec<String> = Vec::new();
    for round in 0..4 {
        let done = t.run().status(0);
        expected_log.extend([
            "mint".into(),
            "restart".into(),
            format!("app {}", tokens(round)),
        ]);
        assert_eq!(done.log(), expected_log, "round {round}: {}", done.stderr);
        let text = done.read("config.toml");
        let others: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with("password"))
            .collect();
        let before: Vec<&str> = CONFIG
            .lines()
            .filter(|l| !l.starts_with("password"))
            .collect();
        assert_eq!(
            others, before,
            "round {round}: other lines changed:\n{text}"
        );
        assert!(
            text.contains("   # rotated by credshim\npassword_expires_at = \""),
            "round {round}: the comment or the expiry's place:\n{text}"
        );
        t = done.again();
    }
    // The expiry written beside the password is what `check` reads.
    let check = t.dir.path().to_owned();
    let out = std::process::Command::new(crate::harness::BIN)
        .current_dir(&check)
        .args([
            "check",
            "--target",
            "config.toml",
            "--key",
            "/database/password",
            "--expiry-key",
            "/database/password_expires_at",
            "--warn",
            "15m",
        ])
        .env_remove("CREDSHIM_SET")
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{line}");
    assert!(line.contains("ttl="), "{line}");
    // Within --min-ttl the next run mints nothing.
    let done = t.arg("--min-ttl").arg("15m").run().status(0);
    assert_eq!(done.log().len(), expected_log.len(), "{}", done.stderr);
}

#[test]
fn toml_refusals_come_before_minting() {
    for (text, key, why) in [
        (
            "[database]\npassword = 1234\n",
            "/database/password",
            "holds an integer",
        ),
        (
            "[[db]]\npassword = 'x'\n",
            "/db/password",
            "array of tables",
        ),
        (
            "[database]\npassword = \"s3cr3t-old\n",
            "/database/password",
            "not valid TOML",
        ),
        ("a = 1\n", "database.password", "is not a pointer"),
    ] {
        let code = if key.starts_with('/') { 65 } else { 64 };
        Test::new()
            .file("config.toml", text)
            .mint("echo s3cr3t-new")
            .args(["--target", "config.toml", "--set", key])
            .run()
            .status(code)
            .stderr_has(why)
            .hides("s3cr3t")
            .file_is("config.toml", text)
            .log_is(&[])
            .no_temp();
    }
}

#[test]
fn no_toml_value_reaches_any_output() {
    for extra in [&["-vv"][..], &["--dry-run"], &["--output", "json"]] {
        Test::new()
            .file("config.toml", "[database]\npassword = 'previous-s3cr3t'\n")
            .mint("echo 's3cr3t-\"new'")
            .args(["--target", "config.toml", "--set", "/database/password"])
            .args(extra.iter().copied())
            .run()
            .status(0)
            .output_any()
            .hides("s3cr3t");
    }
}

#[test]
fn a_new_config_toml_is_created_with_its_table() {
    Test::new()
        .mint("echo tok")
        .args([
            "--target",
            "new.toml",
            "--create",
            "--set",
            "/database/password",
        ])
        .run()
        .status(0)
        .file_is("new.toml", "[database]\npassword = \"tok\"\n");
}
