//! End to end against a real PostgreSQL whose application passwords expire (`VALID UNTIL`).
//!
//! Two copies of contrib/examples/postgres/app read their user and password once at startup and
//! connect about once a second, at random moments. One is kept alive by credshim (run every 2 s,
//! on no particular fraction of a second, with `--min-ttl 8s` on 20-second passwords, restarting
//! the app through `appctl restart`); the other, the negative control, gets one password and no
//! credshim. The first must never fail a login across several rotations; the second must fail once
//! its password expires, which proves the check can fail. Both run side by side, so the test takes
//! about 75 s.
//!
//! A role has one password and `ALTER ROLE` replaces it at once, so the mint alternates between two
//! login roles (`app_a`, `app_b`): each rotation sets the password of the role the running app is
//! *not* using, and the running app's own password stays valid until its `VALID UNTIL`, which
//! `--min-ttl` keeps seconds away. That is what this test checks, and not by luck of timing: the
//! reload waits [`DRAIN`] before restarting the app (as a graceful restart that lets requests
//! finish would), so after every mint the old app makes one or more logins with the previous
//! credential. A mint that reused one role would fail those logins at every rotation.
//!
//! It starts its own server (initdb + pg_ctl, as the `postgres` user under root) on a free port
//! with its socket in the temp dir, and stops it and both apps on every exit, panics included.
//! Without PostgreSQL's server binaries it is skipped, unless CREDSHIM_TEST_REQUIRE_ALL (CI)
//! requires it.

use crate::harness::{Test, is_root, skip};
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Lifetime of every password the mint sets.
const TTL: &str = "20";
/// How often credshim runs.
const PERIOD: Duration = Duration::from_secs(2);
/// How long the apps are watched.
const RUN_FOR: Duration = Duration::from_secs(70);
/// How long the reload lets the old app run on after a mint, before it restarts it: longer than
/// the app's longest pause between two logins (1.5 s), so the old app always tries its previous
/// credential after the new one exists; shorter than [`PERIOD`], so rotating runs keep the cadence.
const DRAIN: &str = "1.6";
/// The two login roles the rotated app alternates between, and the control's pair.
const ROLES: [&str; 2] = ["app_a", "app_b"];
const CONTROL_ROLES: [&str; 2] = ["control_a", "control_b"];

pub(crate) fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contrib/examples/postgres")
        .join(name)
}

/// `name` on PATH.
pub(crate) fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The directory of `initdb`, `pg_ctl` and `postgres`: Debian's newest
/// /usr/lib/postgresql/<version>/bin, else PATH.
pub(crate) fn pg_bindir() -> Option<PathBuf> {
    let has_all = |d: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| d.join(b).is_file())
    };
    let mut debian: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, d)| has_all(d))
        .collect();
    debian.sort();
    debian
        .pop()
        .map(|(_, d)| d)
        .or_else(|| on_path("initdb")?.parent().map(Path::to_path_buf))
        .filter(|d| has_all(d))
}

pub(crate) fn uid_gid_of(user: &str) -> Option<(u32, u32)> {
    let id = |flag| -> Option<u32> {
        let out = Command::new("id").arg(flag).arg(user).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

#[track_caller]
pub(crate) fn ok(what: &str, out: std::io::Result<Output>) -> String {
    let out = out.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}\n--- stdout:\n{}\n--- stderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A private PostgreSQL server, stopped when dropped (panics included).
pub(crate) struct Server {
    pub(crate) bindir: PathBuf,
    pub(crate) dir: PathBuf,
    /// (uid, gid) to run the server as: `postgres` when we are root (initdb refuses root).
    pub(crate) owner: Option<(u32, u32)>,
    pub(crate) port: u16,
    pub(crate) started: bool,
}

impl Server {
    /// A server in `top/pg`, on a free port, started: run as `owner` (who must reach `top`,
    /// which is made 0755).
    pub(crate) fn start_in(top: &Path, bindir: PathBuf, owner: Option<(u32, u32)>) -> Server {
        fs::set_permissions(top, fs::Permissions::from_mode(0o755)).unwrap();
        let dir = top.join("pg");
        fs::create_dir(&dir).unwrap();
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Server {
            bindir,
            dir,
            owner,
            port,
            started: false,
        };
        server.start();
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A command run as the server's owner, in its directory.
    fn command(&self, program: &str) -> Command {
        let mut cmd = match self.owner {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg("--")
                    .arg(self.bindir.join(program));
                c
            }
            None => Command::new(self.bindir.join(program)),
        };
        cmd.current_dir(&self.dir);
        cmd
    }

    pub(crate) fn start(&mut self) {
        ok(
            "initdb",
            self.command("initdb")
                .args([
                    "-U",
                    "postgres",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "-D",
                ])
                .arg(self.data())
                .output(),
        );
        // The admin comes in by the socket in our temp dir; the apps by TCP, with a password.
        fs::write(
            self.data().join("pg_hba.conf"),
            "local all postgres trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        self.started = true;
        let opts = format!(
            "-c port={} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{}' \
             -c fsync=off -c password_encryption=scram-sha-256",
            self.port,
            self.dir.display()
        );
        ok(
            "pg_ctl start",
            self.command("pg_ctl")
                .args(["-w", "-t", "60", "-o", &opts, "-l"])
                .arg(self.dir.join("server.log"))
                .arg("-D")
                .arg(self.data())
                .arg("start")
                .output(),
        );
    }

    /// libpq's environment for the admin (the `postgres` superuser, by the socket).
    pub(crate) fn admin_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PGHOST", self.dir.display().to_string()),
            ("PGPORT", self.port.to_string()),
            ("PGUSER", "postgres".into()),
            ("PGDATABASE", "postgres".into()),
        ]
    }

    pub(crate) fn psql(&self, sql: &str) -> String {
        let mut cmd = Command::new("psql");
        clear_pg_env(&mut cmd);
        cmd.envs(self.admin_env()).args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-w",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ]);
        ok(&format!("psql -c {sql:?}"), cmd.output())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.started {
            let _ = self
                .command("pg_ctl")
                .args(["-w", "-t", "30", "-m", "immediate", "-D"])
                .arg(self.data())
                .arg("stop")
                .output();
        }
    }
}

/// The apps started with appctl, stopped when dropped (panics included).
struct Apps(Vec<PathBuf>);

impl Apps {
    fn stop_all(&mut self) {
        for dir in self.0.drain(..) {
            let _ = Command::new(example("appctl"))
                .arg("stop")
                .arg(&dir)
                .output();
        }
    }
}

impl Drop for Apps {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Remove every libpq variable the caller's environment may carry.
pub(crate) fn clear_pg_env(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_some_and(|k| k.starts_with("PG")) {
            cmd.env_remove(k);
        }
    }
}

/// What one app logged (and the reload, which marks its start with `<time> reload`).
#[derive(Debug, Default)]
pub(crate) struct AppLog {
    /// The user of each app start (`<time> start pid N user ROLE`), in order.
    pub(crate) users: Vec<String>,
    pub(crate) attempts: usize,
    /// Attempts logged between a reload's start and the next app start: the old app, still
    /// holding the previous credential, after the new one was minted.
    pub(crate) after_mint: usize,
    pub(crate) failures: Vec<String>,
}

pub(crate) fn read_app_log(path: &Path) -> AppLog {
    let mut log = AppLog::default();
    let mut draining = false;
    for line in fs::read_to_string(path).unwrap_or_default().lines() {
        let words: Vec<&str> = line.split(' ').collect();
        match words.get(1).copied() {
            Some("reload") => draining = true,
            Some("start") => {
                draining = false;
                log.users
                    .push(words.last().copied().unwrap_or_default().to_string());
            }
            Some(what @ ("ok" | "FAIL")) => {
                log.attempts += 1;
                log.after_mint += usize::from(draining);
                if what == "FAIL" {
                    log.failures.push(line.to_string());
                }
            }
            _ => {}
        }
    }
    log
}

/// The command lines of live processes that mention `path` (our apps, our server).
pub(crate) fn processes_mentioning(path: &Path) -> Vec<String> {
    let needle = path.to_string_lossy().into_owned();
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&needle))
        .collect()
}

/// The app's settings but its user and password, which come from the mint.
fn env_file(port: u16) -> String {
    format!(
        "# The app's database; credshim keeps PGUSER and PGPASSWORD fresh.\n\
         PGHOST=127.0.0.1\nPGPORT={port}\nPGDATABASE=postgres\n"
    )
}

#[test]
fn an_app_reading_its_password_once_keeps_working_under_credshim() {
    let Some(bindir) = pg_bindir() else {
        return skip("no PostgreSQL server binaries (apt-get install postgresql)");
    };
    for tool in ["psql", "python3", "setsid"] {
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

    // Declared before the server and the apps, so that its temp dir outlives both.
    let t = Test::new();
    let top = t.dir.path().to_path_buf();
    let rotated = top.join("rotated");
    let control = top.join("control");
    let credshim = t
        .args(["--target", "rotated/.env"])
        .args(["--set", "PGUSER=/user", "--set", "PGPASSWORD=/token"])
        .args(["--set", "PGPASSWORD_EXPIRES_AT=@expiry"])
        .args(["--expiry-from", "/expire_time", "--min-ttl", "8s"])
        .args(["--output", "json", "--reload"])
        .arg(format!(
            "echo \"$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) reload\" >>'{dir}/app.log' && \
             sleep {DRAIN} && '{appctl}' restart '{dir}'",
            dir = rotated.display(),
            appctl = example("appctl").display(),
        ))
        .arg("--")
        .arg(example("mint"))
        .arg(TTL)
        .args(ROLES);
    // The server's owner must reach its directory inside our 0700 temp dir.
    let server = Server::start_in(&top, bindir, owner);
    let port = server.port;
    server.psql(&format!(
        "CREATE ROLE {} LOGIN; CREATE ROLE {} LOGIN; CREATE ROLE {} LOGIN; CREATE ROLE {} LOGIN;",
        ROLES[0], ROLES[1], CONTROL_ROLES[0], CONTROL_ROLES[1]
    ));
    let mut apps = Apps(Vec::new());

    // The app kept alive by credshim: its .env has no user or password yet; the first run adds
    // them.
    fs::create_dir(&rotated).unwrap();
    fs::write(rotated.join(".env"), env_file(port)).unwrap();
    apps.0.push(rotated.clone());
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

    // The negative control: one password, minted once by hand, and no credshim.
    fs::create_dir(&control).unwrap();
    let mut mint = Command::new(example("mint"));
    clear_pg_env(&mut mint);
    let minted = ok(
        "mint for the control",
        mint.envs(server.admin_env())
            .arg(TTL)
            .args(CONTROL_ROLES)
            .output(),
    );
    let minted: serde_json::Value = serde_json::from_str(&minted).unwrap();
    let user = minted["user"].as_str().expect("mint prints a user");
    let token = minted["token"].as_str().expect("mint prints a token");
    fs::write(
        control.join(".env"),
        format!("{}PGUSER={user}\nPGPASSWORD={token}\n", env_file(port)),
    )
    .unwrap();
    apps.0.push(control.clone());
    ok(
        "appctl start control",
        Command::new(example("appctl"))
            .arg("start")
            .arg(&control)
            .output(),
    );

    // Every PERIOD from now, for RUN_FOR; a tick a rotating run overran is skipped.
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
    apps.stop_all();
    drop(server);
    let left = processes_mentioning(&top);

    let failed_runs: Vec<_> = runs.iter().filter(|(code, ..)| *code != Some(0)).collect();
    let mints = runs.iter().filter(|(_, o, _)| o == "rotated").count();
    let main = read_app_log(&rotated.join("app.log"));
    let ctl = read_app_log(&control.join("app.log"));
    let rotations = mints.saturating_sub(1);
    eprintln!(
        "postgres e2e: {} credshim runs, {mints} mints (the first plus {rotations} rotations), \
         {} app starts as {}; app: {} attempts ({} of them by the old app after a rotation), \
         {} failed logins; control without credshim: {} attempts, {} failed logins; \
         wall time {:.0?}",
        runs.len(),
        main.users.len(),
        main.users.join(" "),
        main.attempts,
        main.after_mint,
        main.failures.len(),
        ctl.attempts,
        ctl.failures.len(),
        wall.elapsed()
    );

    assert!(left.is_empty(), "still running: {left:#?}");
    assert!(failed_runs.is_empty(), "credshim failed: {failed_runs:#?}");
    assert!(
        rotations >= 4,
        "only {mints} mints (the first plus at least 4 rotations expected)"
    );
    assert_eq!(main.users.len(), mints, "one app start per mint");
    assert!(main.attempts >= 60, "only {} attempts", main.attempts);
    assert!(
        main.failures.is_empty(),
        "the app kept fresh by credshim failed logins:\n{}",
        main.failures.join("\n")
    );
    // The zero above covers the overlap: the old app logged in after each mint, before its restart.
    assert!(
        main.after_mint >= rotations,
        "only {} attempts by an old app after a rotation, for {rotations} rotations: the test did \
         not exercise the previous credential",
        main.after_mint
    );
    // The mint alternated: each restart came up as the other role.
    assert!(
        main.users.iter().all(|u| ROLES.contains(&u.as_str()))
            && main.users.windows(2).all(|w| w[0] != w[1]),
        "the app's users did not alternate between {ROLES:?}: {:?}",
        main.users
    );
    // The control must have worked first (so its failures are not a broken setup) ...
    assert!(
        ctl.attempts > ctl.failures.len(),
        "the control never logged in"
    );
    // ... and then failed because its password expired.
    assert!(
        ctl.failures
            .iter()
            .any(|f| f.contains("password authentication failed")),
        "the control without credshim never failed a login: the test cannot tell expiry from \
         success ({} attempts)",
        ctl.attempts
    );
}
