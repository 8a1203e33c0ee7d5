//! A Backstage-shaped end to end (issue 16): contrib/examples/backstage/app.js loads
//! `app-config.yaml` plus `app-config.local.yaml` with the npm `yaml` package, merged the way
//! Backstage merges them (the local file wins), and connects to a real PostgreSQL about once a
//! second with the user and password it found at startup. credshim, run every 2 s with
//! `--min-ttl 6s` on 12-second passwords, writes the user, the password and its expiry that
//! contrib/examples/postgres/mint alternates between two roles into `app-config.local.yaml`,
//! and restarts the app (`appctl restart`, after letting the old app drain) as the reload.
//! Every restart must come up as the other role, and no login may fail, before or after a
//! restart. `app-config.yaml`'s own password is wrong, so an app that did not merge the local
//! file would fail every login. About 40 s.
//!
//! The server is the one tests/integration/postgres.rs starts. Without PostgreSQL, node or the
//! npm `yaml` and `pg` packages under target/readers, it is skipped (fails under
//! `CREDSHIM_TEST_REQUIRE_ALL`).

use crate::harness::{Test, is_root, skip};
use crate::postgres::{
    Server, clear_pg_env, example, on_path, pg_bindir, processes_mentioning, read_app_log,
    uid_gid_of,
};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

const TTL: &str = "12";
const PERIOD: Duration = Duration::from_secs(2);
const RUN_FOR: Duration = Duration::from_secs(36);
/// The old app runs on this long after a mint before its restart (see postgres.rs).
const DRAIN: &str = "1.6";
const ROLES: [&str; 2] = ["backstage_a", "backstage_b"];

fn backstage(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contrib/examples/backstage")
        .join(name)
}

/// Stops the app when dropped (panics included).
struct App(PathBuf);

impl Drop for App {
    fn drop(&mut self) {
        let _ = Command::new(backstage("appctl"))
            .arg("stop")
            .arg(&self.0)
            .output();
    }
}

#[test]
fn a_backstage_app_reading_app_config_yaml_keeps_working_under_credshim() {
    let Some(bindir) = pg_bindir() else {
        return skip("no PostgreSQL server binaries (apt-get install postgresql)");
    };
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/readers/node_modules");
    if on_path("node").is_none()
        || !modules.join("yaml/package.json").exists()
        || !modules.join("pg/package.json").exists()
    {
        return skip("node, or the npm yaml and pg packages under target/readers (see .ci/run)");
    }
    for tool in ["psql", "setsid"] {
        if on_path(tool).is_none() {
            return skip(&format!("{tool} is not on PATH"));
        }
    }
    let owner = if is_root() {
        let Some(ids) = uid_gid_of("postgres") else {
            return skip("running as root and there is no postgres user to run the server as");
        };
        if on_path("setpriv").is_none() {
            return skip("running as root and setpriv (util-linux) is missing");
        }
        Some(ids)
    } else {
        None
    };
    let wall = Instant::now();
    let t = Test::new();
    let top = t.dir.path().to_path_buf();
    let app_dir = top.join("backstage");
    let credshim = t
        .args(["--target", "backstage/app-config.local.yaml"])
        .args(["--set", "/backend/database/connection/user=/user"])
        .args(["--set", "/backend/database/connection/password=/token"])
        // Where --min-ttl finds the expiry of an opaque password.
        .args(["--set", "/backend/database/passwordExpiresAt=@expiry"])
        .args(["--expiry-from", "/expire_time", "--min-ttl", "6s"])
        .args(["--output", "json", "--reload"])
        .arg(format!(
            "echo \"$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) reload\" >>'{dir}/app.log' && \
             sleep {DRAIN} && '{appctl}' restart '{dir}'",
            dir = app_dir.display(),
            appctl = backstage("appctl").display(),
        ))
        .env("NODE_PATH", modules.to_str().unwrap())
        .arg("--")
        .arg(example("mint"))
        .arg(TTL)
        .args(ROLES);
    let server = Server::start_in(&top, bindir, owner);
    let port = server.port;
    server.psql(&format!(
        "CREATE ROLE {} LOGIN; CREATE ROLE {} LOGIN;",
        ROLES[0], ROLES[1]
    ));

    fs::create_dir(&app_dir).unwrap();
    fs::write(
        app_dir.join("app-config.yaml"),
        format!(
            "# app-config.yaml: what the repository ships\napp:\n  title: Backstage\n\
             backend:\n  baseUrl: http://localhost:7007\n  database:\n    client: pg\n    \
             connection:\n      host: 127.0.0.1\n      port: {port}\n      database: postgres\n      \
             user: nobody\n      password: not-the-password\n"
        ),
    )
    .unwrap();
    let local_before = "# app-config.local.yaml: kept fresh by credshim\nbackend:\n  database:\n    \
                        connection:\n      # the user and password below are rotated\n      \
                        user: nobody\n";
    fs::write(app_dir.join("app-config.local.yaml"), local_before).unwrap();
    let _app = App(app_dir.clone());
    let run_credshim = || {
        let mut cmd = credshim.command();
        clear_pg_env(&mut cmd);
        let out = cmd.envs(server.admin_env()).output().expect("run credshim");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        (
            out.status.code(),
            report["outcome"].as_str().unwrap_or("?").to_string(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The first run writes the credential and its reload starts the app (appctl restart on an
    // app not running is a start).
    let mut runs = Vec::new();
    let began = Instant::now();
    let mut next = began;
    while began.elapsed() < RUN_FOR {
        sleep(next.saturating_duration_since(Instant::now()));
        runs.push(run_credshim());
        while next <= Instant::now() {
            next += PERIOD;
        }
    }
    // The last reload's app may still be starting (node takes a moment): wait for its line.
    let mints = runs.iter().filter(|(_, o, _)| o == "rotated").count();
    let waited = Instant::now();
    while read_app_log(&app_dir.join("app.log")).users.len() < mints
        && waited.elapsed() < Duration::from_secs(10)
    {
        sleep(Duration::from_millis(50));
    }
    drop(_app);
    drop(server);
    let left = processes_mentioning(&top);
    let local = fs::read_to_string(app_dir.join("app-config.local.yaml")).unwrap();
    let log = read_app_log(&app_dir.join("app.log"));
    let rotations = mints.saturating_sub(1);
    eprintln!(
        "backstage yaml e2e: {} credshim runs, {mints} mints (the first plus {rotations} \
         rotations), {} app starts as {}; {} logins ({} by the old app after a rotation), {} \
         failed; wall time {:.0?}",
        runs.len(),
        log.users.len(),
        log.users.join(" "),
        log.attempts,
        log.after_mint,
        log.failures.len(),
        wall.elapsed()
    );
    assert!(left.is_empty(), "still running: {left:#?}");
    let failed: Vec<_> = runs.iter().filter(|(code, ..)| *code != Some(0)).collect();
    assert!(failed.is_empty(), "credshim failed: {failed:#?}");
    assert!(rotations >= 3, "only {mints} mints");
    assert_eq!(log.users.len(), mints, "one app start per mint");
    assert!(
        log.failures.is_empty(),
        "failed logins:\n{}",
        log.failures.join("\n")
    );
    assert!(log.attempts >= 20, "only {} logins", log.attempts);
    assert!(
        log.after_mint >= rotations,
        "the old app did not log in after each rotation: the previous credential went untested"
    );
    assert!(
        log.users.iter().all(|u| ROLES.contains(&u.as_str()))
            && log.users.windows(2).all(|w| w[0] != w[1]),
        "the app's users did not alternate: {:?}",
        log.users
    );
    // Everything but the two values is as it was: the comment lines, the order, the indentation.
    let kept: Vec<&str> = local
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            !["user:", "password:", "passwordExpiresAt:"]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .collect();
    let was: Vec<&str> = local_before
        .lines()
        .filter(|l| !l.trim_start().starts_with("user:"))
        .collect();
    assert_eq!(kept, was, "{local}");
    assert!(
        local.contains("\n      password: "),
        "the password was not added at its mapping's indentation:\n{local}"
    );
}
