//! TTL-aware runs: `--min-ttl`, `@expiry`, the expiry encodings, retries within the deadline,
//! `credshim check`, and the metrics file.

use crate::harness::{Test, log_line};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{Timestamp, ToSpan};
use std::fs;
use std::time::{Duration, Instant};

/// An unsigned-looking JWT whose `exp` is `secs` from now.
fn jwt_in(secs: i64) -> String {
    let exp = Timestamp::now().as_second() + secs;
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"app","exp":{exp}}}"#));
    format!("{header}.{payload}.c2lnbmF0dXJl")
}

#[test]
fn min_ttl_skips_minting_while_the_jwt_is_fresh() {
    let text = format!("TOKEN={}\n", jwt_in(3600));
    let done = Test::new()
        .file(".env", &text)
        .mint(&format!("echo {}", jwt_in(7200)))
        .args([
            "--target",
            ".env",
            "--set",
            "TOKEN",
            "--min-ttl",
            "10m",
            "--output",
            "json",
        ])
        .run()
        .status(0)
        .file_is(".env", &text)
        .log_is(&[]);
    let v = done.json();
    assert_eq!(v["outcome"], "fresh");
    let ttl = v["ttl_seconds"].as_i64().unwrap();
    assert!((3590..=3600).contains(&ttl), "{ttl}");
}

#[test]
fn min_ttl_mints_when_the_jwt_is_nearly_expired_or_unknown() {
    for old in [jwt_in(120), jwt_in(-60), "opaque-token".to_string()] {
        let new = jwt_in(3600);
        let done = Test::new()
            .file(".env", &format!("TOKEN={old}\n"))
            .mint(&format!("echo {new}"))
            .args(["--target", ".env", "--set", "TOKEN", "--min-ttl", "10m"])
            .run()
            .status(0)
            .file_is(".env", &format!("TOKEN={new}\n"))
            .log_is(&["mint"]);
        // An expiry that cannot be known is worth a warning with the fix; a known one is not.
        if old == "opaque-token" {
            done.stderr_has("--min-ttl cannot tell how long")
                .stderr_has("add --set NAME=@expiry");
        }
    }
}

/// Issue 14: no "every run will mint" for a cached token handed back as it is, though the
/// expiry it keeps is near.
#[test]
fn a_cached_token_near_its_end_draws_no_short_life_warning() {
    let recorded = (Timestamp::now() + 5.minutes())
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let before = format!("K=cached-token\nK_AT={recorded}\n");
    Test::new()
        .file(".env", &before)
        .mint("echo cached-token")
        .args([
            "--target",
            ".env",
            "--set",
            "K",
            "--set",
            "K_AT=@expiry",
            "--ttl",
            "55m",
            "--min-ttl",
            "10m",
        ])
        .run()
        .status(0)
        .file_is(".env", &before);
}

/// A Databricks-shaped mint whose `expire_time` is an hour ahead, with milliseconds.
fn databricks_mint() -> String {
    "t=$(( $(date +%s) + 3600 )); \
     printf '{\"expire_time\":\"%s\",\"token\":\"opaque-%s\"}' \"$(date -u -d @$t +%Y-%m-%dT%H:%M:%S.418Z)\" $t"
        .to_string()
}

#[test]
fn expiry_round_trips_through_the_target() {
    let t = Test::new()
        .file(".env", "A=1\n")
        .mint(&databricks_mint())
        .args([
            "--target",
            ".env",
            "--set",
            "TOKEN=/token",
            "--set",
            "TOKEN_EXPIRES_AT=@expiry",
            "--expiry-from",
            "/expire_time",
            "--min-ttl",
            "10m",
        ]);
    let done = t.run().status(0).log_is(&["mint"]);
    let text = done.read(".env");
    let line = text
        .lines()
        .find(|l| l.starts_with("TOKEN_EXPIRES_AT="))
        .unwrap();
    let at: Timestamp = line["TOKEN_EXPIRES_AT=".len()..].parse().unwrap();
    assert!(line.ends_with('Z') && !line.contains('.'), "{line}");
    let left = at.duration_since(Timestamp::now()).as_secs();
    assert!((3590..=3600).contains(&left), "{left}");
    // The second run reads that key and does not mint again.
    done.again()
        .run()
        .status(0)
        .log_is(&["mint"])
        .file_is(".env", &text);
}

#[test]
fn expiry_encodings_of_real_mints() {
    let now = Timestamp::now();
    let epoch = now.as_second() + 3000;
    let cases = [
        (
            format!(
                r#"{{"Credentials":{{"SessionToken":"tok","Expiration":"{}"}}}}"#,
                now + 3000.seconds()
            ),
            "/Credentials/SessionToken",
            vec!["--expiry-from", "/Credentials/Expiration"],
        ),
        // The AWS CLI's two shapes: its default (microseconds, Z) and with
        // cli_timestamp_format=iso8601 (an offset).
        (
            format!(
                r#"{{"Credentials":{{"SessionToken":"tok","Expiration":"{}"}}}}"#,
                (now + 3000.seconds()).strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
            ),
            "/Credentials/SessionToken",
            vec!["--expiry-from", "/Credentials/Expiration"],
        ),
        (
            format!(
                r#"{{"Credentials":{{"SessionToken":"tok","Expiration":"{}"}}}}"#,
                (now + 3000.seconds()).strftime("%Y-%m-%dT%H:%M:%S+00:00")
            ),
            "/Credentials/SessionToken",
            vec!["--expiry-from", "/Credentials/Expiration"],
        ),
        // Databricks: the `database` API says expiration_time, the `postgres` API expire_time.
        (
            format!(
                r#"{{"expiration_time":"{}","token":"tok"}}"#,
                (now + 3000.seconds()).strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
            ),
            "/token",
            vec!["--expiry-from", "/expiration_time"],
        ),
        // Vault static credentials (database/static-creds): ttl in seconds.
        (
            r#"{"data":{"password":"tok","rotation_period":86400,"ttl":3000}}"#.to_string(),
            "/data/password",
            vec!["--expiry-from", "/data/ttl", "--expiry-format", "seconds"],
        ),
        (
            format!(r#"{{"accessToken":"tok","expires_on":{epoch}}}"#),
            "/accessToken",
            vec!["--expiry-from", "/expires_on"],
        ),
        (
            format!(r#"{{"accessToken":"tok","expires_on":"{epoch}"}}"#),
            "/accessToken",
            vec!["--expiry-from", "/expires_on"],
        ),
        (
            format!(r#"{{"t":"tok","ms":{}}}"#, epoch * 1000),
            "/t",
            vec!["--expiry-from", "/ms", "--expiry-format", "epoch-ms"],
        ),
        (
            r#"{"lease_duration":3000,"data":{"password":"tok"}}"#.to_string(),
            "/data/password",
            vec![
                "--expiry-from",
                "/lease_duration",
                "--expiry-format",
                "seconds",
            ],
        ),
    ];
    for (out, pointer, flags) in cases {
        let done = Test::new()
            .file(".env", "")
            .mint(&format!("cat <<'EOF'\n{out}\nEOF"))
            .args([
                "--target",
                ".env",
                "--set",
                &format!("K={pointer}"),
                "--output",
                "json",
            ])
            .args(flags)
            .run()
            .status(0)
            .file_is(".env", "K=tok\n");
        let ttl = done.json()["ttl_seconds"].as_i64().unwrap();
        assert!((2990..=3000).contains(&ttl), "{out}: {ttl}");
    }
}

#[test]
fn aws_text_output_is_76_with_the_fix() {
    // `output = text` in ~/.aws/config: the CLI prints tab-separated text.
    Test::new()
        .file(".env", "")
        .mint("printf 'CREDENTIALS\tASIAX\t2026-12-02T01:02:24Z\tsecret\ttoken\n'")
        .args(["--target", ".env", "--set", "K=/Credentials/SessionToken"])
        .run()
        .status(76)
        .stderr_has("stdout is not JSON")
        .stderr_has("--output json")
        .file_is(".env", "");
}

#[test]
fn a_zoneless_expiry_is_refused_with_a_hint() {
    Test::new()
        .file(".env", "K=old\n")
        .mint(r#"echo '{"accessToken":"tok","expiresOn":"2026-08-21 14:46:32.000000"}'"#)
        .args([
            "--target",
            ".env",
            "--set",
            "K=/accessToken",
            "--expiry-from",
            "/expiresOn",
        ])
        .run()
        .status(76)
        .stderr_has("expires_on")
        .file_is(".env", "K=old\n");
}

#[test]
fn at_expiry_without_a_known_expiry_is_76_and_ttl_supplies_one() {
    Test::new()
        .file(".env", "K=old\n")
        .mint("echo opaque")
        .args(["--target", ".env", "--set", "K", "--set", "K_AT=@expiry"])
        .run()
        .status(76)
        .stderr_has("K_AT=@expiry")
        .file_is(".env", "K=old\n");
    let done = Test::new()
        .file(".env", "K=old\n")
        .mint("echo opaque")
        .args([
            "--target",
            ".env",
            "--set",
            "K",
            "--set",
            "K_AT=@expiry",
            "--ttl",
            "55m",
        ])
        .run()
        .status(0);
    let text = done.read(".env");
    assert!(text.starts_with("K=opaque\nK_AT=20"), "{text}");
}

/// A fast-clock day of a cached-token mint (issue: gcloud and az hand back their cached token
/// until it nears its end): the mint returns its cached 20-second token until 5 s are left;
/// credshim runs every 2 s with `--ttl 18s --min-ttl 8s`. Sampled every 100 ms for 44 s, the
/// target never holds a dead token. (Stamping now + ttl on the cached token, as credshim once
/// did, left it believing a token with 10 s left had 18, and the file held a dead token for up to
/// one period of every cycle.)
#[test]
fn a_cached_token_mint_never_leaves_a_dead_token_in_the_target() {
    let mint = "now=$(date +%s); id=0; exp=0\n\
                [ -s \"$TEST_DIR/cache\" ] && read id exp < \"$TEST_DIR/cache\"\n\
                if [ $((exp - now)) -le 5 ]; then id=$((id + 1)); exp=$((now + 20));\n\
                  echo \"$id $exp\" > \"$TEST_DIR/cache\"; echo \"$id $exp\" >> \"$TEST_DIR/issued\"; fi\n\
                echo \"tok-$id\"";
    let mut t = Test::new().file(".env", "APP=1\n").mint(mint).args([
        "--target",
        ".env",
        "--set",
        "T",
        "--set",
        "T_EXP=@expiry",
        "--ttl",
        "18s",
        "--min-ttl",
        "8s",
    ]);
    let dir = t.dir.path().to_path_buf();
    // When each token the mint issued dies.
    let dies = |id: &str| -> i64 {
        let issued = fs::read_to_string(dir.join("issued")).unwrap_or_default();
        issued
            .lines()
            .find_map(|l| l.split_once(' ').filter(|(i, _)| *i == id))
            .map_or(0, |(_, exp)| exp.parse().unwrap())
    };
    let started = Instant::now();
    let (mut dead, mut samples, mut runs) = (0, 0, 0);
    while started.elapsed() < Duration::from_secs(44) {
        let done = t.run().status(0);
        runs += 1;
        t = done.again();
        let next = Instant::now() + Duration::from_secs(2);
        while Instant::now() < next {
            let text = fs::read_to_string(dir.join(".env")).unwrap();
            let id = text
                .lines()
                .find_map(|l| l.strip_prefix("T=tok-"))
                .expect("a token in the target");
            samples += 1;
            if dies(id) <= Timestamp::now().as_second() {
                dead += 1;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let issued = fs::read_to_string(dir.join("issued")).unwrap();
    let log = fs::read_to_string(dir.join("log")).unwrap();
    let mints = log.lines().count();
    println!(
        "cached-token day: {runs} runs, {mints} mints, {} tokens, {dead} of {samples} samples dead",
        issued.lines().count()
    );
    assert!(
        issued.lines().count() >= 3,
        "the cache never turned over:\n{issued}"
    );
    assert!(mints < runs, "--min-ttl never skipped a mint");
    assert_eq!(
        dead, 0,
        "the target held a dead token in {dead} of {samples} samples"
    );
}

/// DESIGN `--ttl`: a minted value equal to the one in the target is a cached token (gcloud, az
/// hand theirs back until it nears its end): the expiry already recorded stays, or a dying
/// token would look fresh for another `--ttl`. A new value gets now + ttl.
#[test]
fn a_cached_token_keeps_its_recorded_expiry() {
    let recorded = (Timestamp::now() + 5.minutes())
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let args = [
        "--target",
        ".env",
        "--set",
        "K",
        "--set",
        "K_AT=@expiry",
        "--ttl",
        "55m",
    ];
    let before = format!("K=cached-token\nK_AT={recorded}\n");
    Test::new()
        .file(".env", &before)
        .mint("echo cached-token")
        .args(args)
        .run()
        .status(0)
        .file_is(".env", &before);
    let done = Test::new()
        .file(".env", &before)
        .mint("echo new-token")
        .args(args)
        .run()
        .status(0);
    let text = done.read(".env");
    let at: Timestamp = text
        .lines()
        .find_map(|l| l.strip_prefix("K_AT="))
        .unwrap()
        .parse()
        .unwrap();
    let left = at.duration_since(Timestamp::now()).as_secs();
    assert!(text.starts_with("K=new-token\n"), "{text}");
    assert!(
        (3290..=3300).contains(&left),
        "a new token gets now + 55m: {left}s"
    );
}

#[test]
fn a_short_lived_credential_under_min_ttl_warns() {
    Test::new()
        .file(".env", "")
        .mint(&format!("echo {}", jwt_in(60)))
        .args(["--target", ".env", "--set", "K", "--min-ttl", "10m"])
        .run()
        .status(0)
        .stderr_has("every run will mint");
}

/// A mint that fails its first `n` runs, counting runs in `count`.
fn flaky(n: u32) -> String {
    format!(
        "c=$(cat count 2>/dev/null || echo 0); c=$((c+1)); echo $c > count; [ $c -gt {n} ] || exit 7; echo tok"
    )
}

#[test]
fn retries_recover_from_transient_failures() {
    Test::new()
        .file(".env", "")
        .mint(&flaky(2))
        .args(["--target", ".env", "--set", "K", "--retries", "2"])
        .run()
        .status(0)
        .file_is(".env", "K=tok\n")
        .log_is(&["mint", "mint", "mint"]);
    Test::new()
        .file(".env", "")
        .mint(&flaky(2))
        .args(["--target", ".env", "--set", "K", "--retries", "0"])
        .run()
        .status(69)
        .log_is(&["mint"]);
}

#[test]
fn the_deadline_cuts_a_retry_loop() {
    let started = Instant::now();
    let done = Test::new()
        .file(".env", "")
        .mint("exit 1")
        .args([
            "--target",
            ".env",
            "--set",
            "K",
            "--retries",
            "100",
            "--deadline",
            "3s",
        ])
        .run()
        .status(69);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(done.log().len() >= 2, "{:?}", done.log());
    // A lock wait that eats the whole deadline is 75, before any mint.
    let t = Test::new().file(".env", "").mint("echo x").args([
        "--target",
        ".env",
        "--set",
        "K",
        "--deadline",
        "1s",
    ]);
    let lock = fs::File::create(t.path("..env.credshim.lock")).unwrap();
    lock.lock().unwrap();
    let started = Instant::now();
    t.run().status(75).log_is(&[]);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_fresh_run_still_runs_a_pending_reload() {
    let t = Test::new()
        .file(".env", &format!("TOKEN={}\n", jwt_in(3600)))
        .file("..env.credshim.reload-pending", "")
        .mint("echo new")
        .script("reload", &log_line("reload"));
    let reload = t.path("reload");
    t.args([
        "--target",
        ".env",
        "--set",
        "TOKEN",
        "--min-ttl",
        "10m",
        "--reload",
    ])
    .arg(&reload)
    .run()
    .status(0)
    .log_is(&["reload"])
    .gone("..env.credshim.reload-pending");
}

// --- check -------------------------------------------------------------------------------------

fn check(text: &str, extra: &[&str]) -> crate::harness::Done {
    Test::bare()
        .file(".env", text)
        .args([
            "check", "--target", ".env", "--key", "TOKEN", "--warn", "15m", "--crit", "5m",
        ])
        .args(extra.iter().copied())
        .run()
}

#[test]
fn check_reports_the_four_plugin_states() {
    let done = check(&format!("TOKEN={}\n", jwt_in(3125)), &[])
        .status(0)
        .stdout_has("CREDSHIM OK");
    assert!(
        done.stdout
            .starts_with("CREDSHIM OK - TOKEN expires in 52m"),
        "{}",
        done.stdout
    );
    assert!(done.stdout.contains(" | ttl=312"), "{}", done.stdout);
    assert!(
        done.stdout.trim_end().ends_with("s;900;300"),
        "{}",
        done.stdout
    );
    check(&format!("TOKEN={}\n", jwt_in(600)), &[])
        .status(1)
        .stdout_has("CREDSHIM WARNING");
    check(&format!("TOKEN={}\n", jwt_in(120)), &[])
        .status(2)
        .stdout_has("CREDSHIM CRITICAL");
    check(&format!("TOKEN={}\n", jwt_in(-120)), &[])
        .status(2)
        .stdout_has("expired 2m ago");
    check("OTHER=1\n", &[])
        .status(2)
        .stdout_has("TOKEN is missing");
    check("TOKEN=opaque\n", &[])
        .status(3)
        .stdout_has("CREDSHIM UNKNOWN");
    // An @expiry key makes an opaque token checkable.
    let at = (Timestamp::now() + 2.hours()).to_string();
    check(
        &format!("TOKEN=opaque\nTOKEN_AT={at}\n"),
        &["--expiry-key", "TOKEN_AT"],
    )
    .status(0)
    .stdout_has("CREDSHIM OK - TOKEN expires in 1h 59m");
    Test::bare()
        .args(["check", "--target", "nope.env", "--key", "TOKEN"])
        .run()
        .status(2)
        .stdout_has("CREDSHIM CRITICAL - target nope.env: does not exist");
}

// --- metrics -----------------------------------------------------------------------------------

/// Every non-comment line is `name{labels} value`; returns the samples.
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("name{labels} value");
            let name = series.split_once('{').expect("labels").0;
            assert!(series.ends_with('}'), "{l}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
                "{l}"
            );
            (name.to_string(), value.parse::<f64>().expect("a number"))
        })
        .collect()
}

/// The metric families a real parser (the Python Prometheus client) finds in `text`.
fn parsed_by_prometheus_client(text: &str) -> Option<Vec<String>> {
    let script = "import sys\n\
        from prometheus_client.parser import text_string_to_metric_families as parse\n\
        for f in parse(sys.stdin.read()):\n\
        \x20   assert f.type == 'gauge', f.name\n\
        \x20   print(f.name, len(f.samples))\n";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    use std::io::Write;
    child.stdin.take()?.write_all(text.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("No module named") {
        return None;
    }
    assert!(
        out.status.success(),
        "the Prometheus parser rejects the file:\n{err}\n{text}"
    );
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

fn sample(text: &str, name: &str) -> Option<f64> {
    samples(text)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

#[test]
fn metrics_are_written_on_success_and_failure() {
    let t = Test::new()
        .file(".env", "")
        .mint(&format!("[ -e fail ] && exit 1; echo {}", jwt_in(3600)))
        .args([
            "--target",
            ".env",
            "--set",
            "TOKEN",
            "--retries",
            "0",
            "--metrics-file",
            "m.prom",
        ]);
    let done = t.run().status(0);
    let first = done.read("m.prom");
    assert!(
        first.contains("# TYPE credshim_last_exit_code gauge"),
        "{first}"
    );
    let success = sample(&first, "credshim_last_success_timestamp_seconds").unwrap();
    assert_eq!(sample(&first, "credshim_last_exit_code"), Some(0.0));
    let expiry = sample(&first, "credshim_credential_expiry_timestamp_seconds").unwrap();
    assert!((expiry - Timestamp::now().as_second() as f64 - 3600.0).abs() < 10.0);
    assert!(sample(&first, "credshim_mint_duration_seconds").is_some());
    // A failing run updates the file, keeping the last success.
    fs::write(done.path("fail"), "").unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let done = done.again().run().status(69);
    let second = done.read("m.prom");
    assert_eq!(sample(&second, "credshim_last_exit_code"), Some(69.0));
    assert_eq!(
        sample(&second, "credshim_last_success_timestamp_seconds"),
        Some(success)
    );
    assert!(sample(&second, "credshim_last_run_timestamp_seconds").unwrap() > success);
    assert!(sample(&second, "credshim_credential_expiry_timestamp_seconds").is_some());
    match parsed_by_prometheus_client(&second) {
        Some(families) => assert_eq!(families.len(), 5, "{families:?}"),
        None => crate::harness::skip("python3 prometheus_client is not installed"),
    }
}
