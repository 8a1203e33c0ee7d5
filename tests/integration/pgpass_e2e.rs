//! pgpass end to end against a real PostgreSQL, with no reload: a client opens a fresh libpq
//! connection every 200 ms, its password from `PGPASSFILE` and nowhere else, while credshim
//! rotates the password every few seconds. libpq reads the file for every new connection, so
//! the next connection simply uses the new password. Not one connection may fail.
//!
//! A role has one password and `ALTER ROLE` replaces it at once, so the mint rotates two login
//! roles in turn (dual-account rotation, as postgres.rs alternates): it first makes the client
//! use the role rotated last time (whose line credshim has already written), waits for logins
//! that began as the other to finish, then gives that other role a new password and prints both
//! (the one unchanged is written back byte for byte). The passwords hold `:` and `\`, so every
//! rotation goes through the escapes.
//!
//! The negative control is the same client, mint and cadence on another pair of roles, with the
//! file rewritten in place without the lock: truncated, then written a line at a time, as a
//! script rendering the file from a template would. Its client must fail some connections
//! ("no password supplied"), which proves the check can fail. About 40 s.

use crate::harness::{BIN, skip};
use crate::postgres::{Server, clear_pg_env, ok};
use crate::readers_pgpass::start_server;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How often each side rotates.
const PERIOD: Duration = Duration::from_secs(3);
/// How long the clients are watched.
const RUN_FOR: Duration = Duration::from_secs(30);
/// How long the control's writer takes for each line of the file.
const LINE_DELAY: Duration = Duration::from_millis(250);

/// The mint: `mint STATE ROLE_A ROLE_B`, admin libpq variables in its environment.
const MINT: &str = r#"#!/bin/sh
# Dual-account rotation. The role rotated last time becomes the active one (the client reads
# STATE/active before each connection); once logins begun as the other have drained, that other
# role gets a new password. Prints both roles' passwords as JSON.
set -eu
state=$1 a=$2 b=$3
active=$(cat "$state/active")
if [ "$active" = "$a" ]; then next=$b; else next=$a; fi
printf '%s\n' "$next" > "$state/active.tmp"
mv "$state/active.tmp" "$state/active"
sleep 0.5
# Base64 with + and / turned into : and \, which the pgpass line must escape.
CS_PW=$(head -c 24 /dev/urandom | base64 | tr '+/' ':\\')
export CS_PW
printf '%s\n' '\getenv pw CS_PW' "ALTER ROLE \"$active\" PASSWORD :'pw';" |
  psql -X -q -w -v ON_ERROR_STOP=1 >/dev/null
printf '%s' "$CS_PW" > "$state/pw_$active"
json() { sed 's/\\/\\\\/g' "$state/pw_$1"; }
printf '{"%s":"%s","%s":"%s"}\n' "$a" "$(json "$a")" "$b" "$(json "$b")"
"#;

/// The client: `client STATE LOG PORT`, `PGPASSFILE` in its environment and no password.
const CLIENT: &str = r#"#!/bin/sh
# A fresh connection every 200 ms as the active role; one log line per attempt.
state=$1 log=$2 port=$3
while [ ! -e "$state/stop" ]; do
  user=$(cat "$state/active")
  if out=$(psql -X -w -A -t -c 'select 1' "host=127.0.0.1 port=$port dbname=postgres user=$user" 2>&1); then
    echo "ok $user" >> "$log"
  else
    echo "FAIL $user $out" | tr '\n' ' ' >> "$log"
    echo >> "$log"
  fi
  sleep 0.2
done
"#;

/// One side of the test: its roles, state directory, password file and client.
struct Side {
    roles: [&'static str; 2],
    state: PathBuf,
    pgpass: PathBuf,
    log: PathBuf,
    client: Option<Child>,
}

impl Side {
    fn new(top: &Path, name: &str, roles: [&'static str; 2]) -> Side {
        let dir = top.join(name);
        fs::create_dir(&dir).unwrap();
        let state = dir.join("state");
        fs::create_dir(&state).unwrap();
        Side {
            roles,
            state,
            pgpass: dir.join(".pgpass"),
            log: dir.join("client.log"),
            client: None,
        }
    }

    fn key(&self, port: u16, role: &str) -> String {
        format!("127.0.0.1:{port}:postgres:{role}")
    }

    /// The file as it stands before the first rotation: a comment, both roles' lines.
    fn init(&self, server: &Server, initial: [&str; 2]) {
        let mut text = String::from("# the app's database roles; credshim keeps them fresh\n");
        for (role, pw) in self.roles.iter().zip(initial) {
            server.psql(&format!("ALTER ROLE {role} PASSWORD '{pw}'"));
            fs::write(self.state.join(format!("pw_{role}")), pw).unwrap();
            let escaped = pw.replace('\\', "\\\\").replace(':', "\\:");
            text += &format!("{}:{escaped}\n", self.key(server.port, role));
        }
        fs::write(self.state.join("active"), format!("{}\n", self.roles[0])).unwrap();
        fs::write(&self.pgpass, text).unwrap();
        fs::set_permissions(&self.pgpass, fs::Permissions::from_mode(0o600)).unwrap();
    }

    fn start_client(&mut self, client: &Path, port: u16) {
        let mut cmd = Command::new(client);
        clear_pg_env(&mut cmd);
        self.client = Some(
            cmd.arg(&self.state)
                .arg(&self.log)
                .arg(port.to_string())
                .env("PGPASSFILE", &self.pgpass)
                .spawn()
                .expect("start the client"),
        );
    }

    fn stop_client(&mut self) {
        let _ = fs::write(self.state.join("stop"), "");
        if let Some(mut child) = self.client.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (attempts, failures, users seen in order of first use).
    fn read_log(&self) -> (usize, Vec<String>, Vec<String>) {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let (mut attempts, mut failures, mut users) = (0, Vec::new(), Vec::<String>::new());
        for line in text.lines() {
            let mut words = line.split(' ');
            let (what, user) = (words.next(), words.next().unwrap_or_default().to_string());
            attempts += 1;
            if what == Some("FAIL") {
                failures.push(line.to_string());
            }
            if users.last() != Some(&user) {
                users.push(user);
            }
        }
        (attempts, failures, users)
    }
}

impl Drop for Side {
    fn drop(&mut self) {
        self.stop_client();
    }
}

/// The mint's JSON with admin variables: for the control's in-place writer.
fn mint_by_hand(server: &Server, mint: &Path, side: &Side) -> serde_json::Value {
    let mut cmd = Command::new(mint);
    clear_pg_env(&mut cmd);
    let out = ok(
        "control mint",
        cmd.envs(server.admin_env())
            .arg(&side.state)
            .args(side.roles)
            .output(),
    );
    serde_json::from_str(&out).expect("the mint prints JSON")
}

/// The negative control's edit: truncate the file in place and write it a line at a time,
/// without the lock, as a template-rendering script does.
fn write_in_place(side: &Side, port: u16, passwords: &serde_json::Value) {
    let mut lines = vec!["# the app's database roles; credshim keeps them fresh\n".to_string()];
    for role in side.roles {
        let pw = passwords[role].as_str().expect("a password per role");
        let escaped = pw.replace('\\', "\\\\").replace(':', "\\:");
        lines.push(format!("{}:{escaped}\n", side.key(port, role)));
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&side.pgpass)
        .unwrap();
    for line in lines {
        sleep(LINE_DELAY);
        file.write_all(line.as_bytes()).unwrap();
        file.flush().unwrap();
    }
}

#[test]
fn a_libpq_client_never_fails_a_connection_while_credshim_rotates_its_pgpass() {
    let t = tempfile::tempdir().unwrap();
    let top = t.path().to_path_buf();
    let server = match start_server(&top) {
        Ok(s) => s,
        Err(why) => return skip(&why),
    };
    let wall = Instant::now();
    let bin = top.join("bin");
    fs::create_dir(&bin).unwrap();
    for (name, body) in [("mint", MINT), ("client", CLIENT)] {
        fs::write(bin.join(name), body).unwrap();
        fs::set_permissions(bin.join(name), fs::Permissions::from_mode(0o755)).unwrap();
    }
    server.psql("CREATE ROLE app_a LOGIN; CREATE ROLE app_b LOGIN; CREATE ROLE control_a LOGIN; CREATE ROLE control_b LOGIN;");
    let mut main = Side::new(&top, "rotated", ["app_a", "app_b"]);
    let mut control = Side::new(&top, "control", ["control_a", "control_b"]);
    main.init(&server, ["initial:a\\1", "initial:b\\2"]);
    control.init(&server, ["control-a-1", "control-b-1"]);
    let port = server.port;

    // No --reload: libpq rereads the file for every connection.
    let credshim = |side: &Side| {
        let mut cmd = Command::new(BIN);
        clear_pg_env(&mut cmd);
        for (k, _) in std::env::vars() {
            if k.starts_with("CREDSHIM_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        let out = cmd
            .envs(server.admin_env())
            .arg("rotate")
            .arg("--target")
            .arg(&side.pgpass)
            .args(
                side.roles
                    .map(|r| ["--set".to_string(), format!("{}=/{r}", side.key(port, r))])
                    .concat(),
            )
            .arg("--")
            .arg(bin.join("mint"))
            .arg(&side.state)
            .args(side.roles)
            .output()
            .expect("run credshim");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    main.start_client(&bin.join("client"), port);
    control.start_client(&bin.join("client"), port);
    let mut runs = Vec::new();
    let began = Instant::now();
    let mut next = began;
    while began.elapsed() < RUN_FOR {
        sleep(next.saturating_duration_since(Instant::now()));
        runs.push(credshim(&main));
        let passwords = mint_by_hand(&server, &bin.join("mint"), &control);
        write_in_place(&control, port, &passwords);
        while next <= Instant::now() {
            next += PERIOD;
        }
    }
    // Let a last connection go through with the final password.
    sleep(Duration::from_millis(600));
    main.stop_client();
    control.stop_client();

    let (attempts, failures, users) = main.read_log();
    let (c_attempts, c_failures, c_users) = control.read_log();
    let failed_runs: Vec<_> = runs.iter().filter(|(code, _)| *code != Some(0)).collect();
    let mode = fs::metadata(&main.pgpass).unwrap().permissions().mode() & 0o7777;
    eprintln!(
        "pgpass e2e: {} credshim rotations, no reload; client: {attempts} fresh connections, \
         {} failed, {} switches of role; control (in-place rewrite, no lock): {c_attempts} \
         connections, {} failed, {} switches; wall time {:.0?}",
        runs.len(),
        failures.len(),
        users.len().saturating_sub(1),
        c_failures.len(),
        c_users.len().saturating_sub(1),
        wall.elapsed()
    );
    assert!(failed_runs.is_empty(), "credshim failed: {failed_runs:#?}");
    assert!(runs.len() >= 8, "only {} rotations", runs.len());
    // Several connections between two rotations, even on a loaded machine (about 8 when idle).
    assert!(
        attempts >= 4 * runs.len(),
        "only {attempts} connections for {} rotations",
        runs.len()
    );
    assert!(
        failures.is_empty(),
        "the client of the file credshim keeps failed:\n{}",
        failures.join("\n")
    );
    // Every rotation moved the client to the other role: each password was used once written.
    assert!(
        users.len() > runs.len() / 2,
        "the client did not follow the rotations: {users:?}"
    );
    assert_eq!(mode, 0o600, "the file's mode changed");
    assert!(
        crate::harness::temps(main.pgpass.parent().unwrap()).is_empty(),
        "temp files left"
    );
    assert!(c_attempts > c_failures.len(), "the control never connected");
    assert!(
        c_failures
            .iter()
            .any(|f| f.contains("no password supplied")),
        "the control's in-place rewrite never failed a connection: the test cannot tell an \
         atomic replace from a torn one ({c_attempts} connections)"
    );
}

/// A `.pgpass` test with mode `mode`; the mint prints `SECRET`.
fn pgpass_test(text: &str, mode: u32) -> crate::harness::Test {
    let t = crate::harness::Test::new()
        .file(".pgpass", text)
        .mint(&format!("printf '%s\\n' '{SECRET}'"));
    fs::set_permissions(t.path(".pgpass"), fs::Permissions::from_mode(mode)).unwrap();
    t.args(["--target", ".pgpass"])
}

const SECRET: &str = "s3cr:t\\pw";

#[test]
fn a_key_line_an_earlier_line_shadows_is_refused_before_minting() {
    // The `.pgpass` name selects the format; libpq would read `general`, never the new password.
    let text = "*:*:*:*:general\ndb:5432:app:u:old\n";
    pgpass_test(text, 0o600)
        .args(["--set", "db:5432:app:u"])
        .run()
        .status(65)
        .stderr_has("line 1 comes first")
        .log_is(&[])
        .file_is(".pgpass", text)
        .no_temp();
}

#[test]
fn every_line_of_the_key_is_set_escaped_and_the_rest_kept() {
    let text = "# app\r\ndb:5432:app:u:old\r\nother:5432:app:u:keep\\:me\r\ndb:5432:app:u:old2";
    pgpass_test(text, 0o600)
        .args(["--set", "db:5432:app:u", "--set", "db:5432:*:admin"])
        .run()
        .status(0)
        .log_is(&["mint"])
        .hides(SECRET)
        .file_is(
            ".pgpass",
            "# app\r\ndb:5432:app:u:s3cr\\:t\\\\pw\r\nother:5432:app:u:keep\\:me\r\n\
             db:5432:app:u:s3cr\\:t\\\\pw\r\ndb:5432:*:admin:s3cr\\:t\\\\pw\r\n",
        );
}

#[test]
fn a_wider_mode_is_kept_and_the_warning_names_the_fix() {
    // libpq ignores a group-readable password file; credshim keeps the mode (guarantee 5) and says so.
    let done = pgpass_test("db:5432:app:u:old\n", 0o640)
        .args(["--set", "db:5432:app:u"])
        .run()
        .status(0)
        .stderr_has("mode 0640")
        .stderr_has("chmod 600")
        .hides(SECRET)
        .file_is(".pgpass", "db:5432:app:u:s3cr\\:t\\\\pw\n");
    let mode = fs::metadata(done.path(".pgpass"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o640);
}

#[test]
fn dry_run_and_json_output_never_show_the_password() {
    let text = "db:5432:app:u:old\n";
    let done = pgpass_test(text, 0o600)
        .args(["--set", "db:5432:app:u", "--dry-run", "--output", "json"])
        .run()
        .status(0)
        .hides(SECRET)
        .hides("s3cr\\:t")
        .file_is(".pgpass", text);
    assert_eq!(done.json()["outcome"], "rotated");
}

#[test]
fn a_partial_overlap_is_warned_about_once() {
    // The trial splice before minting once said it too: the warning came twice.
    let done = pgpass_test("h:*:app:u:other\n*:5432:app:u:old\n", 0o600)
        .args(["--set", "*:5432:app:u"])
        .run()
        .status(0)
        .stderr_has("line 1 comes first and matches some")
        .hides(SECRET);
    assert_eq!(
        done.stderr.matches("line 1 comes first").count(),
        1,
        "{}",
        done.stderr
    );
}

#[test]
fn check_reads_the_expiry_of_a_jwt_password() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let exp = jiff::Timestamp::now().as_second() + 3600;
    let jwt = format!(
        "{}.{}.sig",
        b64(r#"{"alg":"none"}"#),
        b64(&format!(r#"{{"exp":{exp}}}"#))
    );
    let t = crate::harness::Test::bare().file(".pgpass", &format!("db:5432:app:u:{jwt}\n"));
    fs::set_permissions(t.path(".pgpass"), fs::Permissions::from_mode(0o600)).unwrap();
    t.args([
        "check",
        "--target",
        ".pgpass",
        "--key",
        "db:5432:app:u",
        "--warn",
        "10m",
    ])
    .run()
    .status(0)
    .stdout_has("ttl=");
}
