//! Reader battery of the pgpass format: what `credshim rotate` writes into a password file is
//! the password libpq and node-postgres' `pgpass` look up, and the tricky files of
//! tests/corpus/pgpass read as docs/formats/pgpass.md says.
//!
//! libpq is asked the only way that proves what it read: `psql -w` logs in to a real PostgreSQL
//! (the server of tests/integration/postgres.rs, by TCP with SCRAM) as a role whose password was
//! set to the expected value, with `PGPASSFILE` the file and no password anywhere else; it
//! succeeds only if libpq found that exact password. Host `db.example.com` with `hostaddr`
//! 127.0.0.1, so the lookup is by that name. node-postgres' `pgpass` package (under
//! `target/readers`, `tests/readers/node-pgpass.js`) is asked directly.
//!
//! 1. Every corpus file (`@PORT@` replaced by the server's port): each reader's lookup on the
//!    file as it is (the evidence of the rules file), then credshim setting a password with `:`,
//!    `\`, a space, `#` and `*`: the exit code the rules give, and after a success both readers
//!    find the new password, every line not of the key is byte-identical, and the mode is kept.
//! 2. `CREDSHIM_READERS_CASES` (default 150) generated passwords, each rotated into a file of
//!    neighbours (half present, half appended): every accepted one logs in through libpq and is
//!    what node finds; every refused one is 76 with the file byte-identical.
//!
//! Without the server binaries, psql, node or the package, it is skipped (or fails under
//! `CREDSHIM_TEST_REQUIRE_ALL`).

use crate::harness::{BIN, is_root, skip};
use crate::postgres::{Server, clear_pg_env, ok, on_path, pg_bindir, uid_gid_of};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const HOST: &str = "db.example.com";
/// What every corpus case writes: a `:`, a `\`, a space, `#` and `*`.
const NEW: &str = "n3w:pa\\ss w0rd#*";

/// One corpus file: the user looked up, what libpq and node find, the KEY credshim sets and
/// its exit code.
struct Case {
    file: &'static str,
    user: &'static str,
    libpq: Option<&'static str>,
    node: Option<&'static str>,
    key: &'static str,
    code: i32,
    /// Mode to give the file before anything reads it.
    mode: u32,
}

const fn case(
    file: &'static str,
    user: &'static str,
    libpq: Option<&'static str>,
    node: Option<&'static str>,
    key: &'static str,
    code: i32,
) -> Case {
    Case {
        file,
        user,
        libpq,
        node,
        key,
        code,
        mode: 0o600,
    }
}

const K: &str = "db.example.com:@PORT@:postgres:u";

fn cases() -> Vec<Case> {
    let same = |file, v| case(file, "u", Some(v), Some(v), K, 0);
    vec![
        same("plain.pgpass", "plain-old"),
        // First match wins in both; credshim sets both lines.
        same("first-match.pgpass", "first"),
        // A wildcard line first takes every connection: the key's line is never read (65).
        case(
            "shadowed.pgpass",
            "u",
            Some("general"),
            Some("general"),
            K,
            65,
        ),
        // The usual layout: a specific line, then a wildcard one; the key is the wildcard line.
        case(
            "specific-first.pgpass",
            "u",
            Some("wild"),
            Some("wild"),
            "*:@PORT@:postgres:*",
            0,
        ),
        // `\x` is `x` to libpq and `\x` to node; credshim writes only `\:` and `\\`.
        case(
            "escapes.pgpass",
            "we:ird",
            Some("pa:ss\\wordx"),
            Some("pa:ss\\word\\x"),
            "db.example.com:@PORT@:postgres:we\\:ird",
            0,
        ),
        // A field ending in `\\`: node takes the `\:` after it for an escaped colon (64).
        case(
            "escapes-backslash-user.pgpass",
            "we:ird\\",
            Some("pa:ss\\word"),
            None,
            "db.example.com:@PORT@:postgres:we\\:ird\\\\",
            64,
        ),
        same("comments.pgpass", "after-comments"),
        same("crlf.pgpass", "crlf-password"),
        same("blank-and-short.pgpass", "after-short"),
        // The key's fields with no password: neither reader matches it (65).
        case("no-password.pgpass", "u", None, None, K, 65),
        // An unescaped `:` in the password: libpq stops there, node does not (65).
        case(
            "unescaped-colon.pgpass",
            "u",
            Some("pa"),
            Some("pa:ss"),
            K,
            65,
        ),
        same("trailing-space-no-newline.pgpass", "spaces  "),
        // A BOM is part of the first host (65).
        case("bom.pgpass", "u", None, None, K, 65),
        // A CR inside a line: libpq reads one comment line, node a comment and an entry (65).
        case("inner-cr.pgpass", "u", None, Some("hidden"), K, 65),
        same("hash-password.pgpass", "#not-a-comment"),
        same("backslash-end.pgpass", "ends-in\\"),
        // Group-readable: both ignore the file; credshim writes, keeps the mode, and warns.
        Case {
            mode: 0o640,
            ..case("wide-mode.pgpass", "u", None, None, K, 0)
        },
    ]
}

/// The roles the corpus and the generated cases log in as.
const CORPUS_ROLES: [&str; 4] = ["u", "other", "we:ird", "we:ird\\"];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/pgpass")
}

/// `value` as an SQL literal (dollar-quoted with a tag it does not contain).
fn literal(value: &str) -> String {
    let tag = (0..)
        .map(|i| format!("$q{i}$"))
        .find(|t| !value.contains(t.as_str()))
        .expect("a free tag");
    format!("{tag}{value}{tag}")
}

/// An identifier, double-quoted.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A running server for the battery and what it needs, or why it cannot run.
struct Pg {
    server: Server,
    node_package: PathBuf,
}

fn start(top: &Path) -> Result<Pg, String> {
    on_path("node").ok_or("node is not on PATH")?;
    let node_package =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/readers/node_modules/pgpass");
    if !node_package.join("package.json").exists() {
        return Err(format!(
            "node-postgres' pgpass is not installed in {} (npm install --prefix target/readers \
             pgpass)",
            node_package.display()
        ));
    }
    Ok(Pg {
        server: start_server(top)?,
        node_package,
    })
}

/// postgres.rs's server, started in `top/pg` (`top` made 0755 for the server's owner).
pub(crate) fn start_server(top: &Path) -> Result<Server, String> {
    let bindir = pg_bindir().ok_or("no PostgreSQL server binaries (apt-get install postgresql)")?;
    on_path("psql").ok_or("psql is not on PATH")?;
    let owner = if is_root() {
        on_path("setpriv").ok_or("running as root and setpriv (util-linux) is missing")?;
        Some(uid_gid_of("postgres").ok_or("running as root and there is no postgres user")?)
    } else {
        None
    };
    // The server's owner must reach its directory inside the 0700 temp dir.
    Ok(Server::start_in(top, bindir, owner))
}

impl Pg {
    /// Set each role's password (creating the role when needed).
    fn set_passwords(&self, roles: &[(String, String)]) {
        let mut sql = String::new();
        for (role, password) in roles {
            sql += &format!(
                "DO $do$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {r}) THEN \
                 CREATE ROLE {i} LOGIN; END IF; END $do$;\nALTER ROLE {i} PASSWORD {p};\n",
                r = literal(role),
                i = ident(role),
                p = literal(password)
            );
        }
        self.server.psql(&sql);
    }

    /// Whether libpq, looking `user` up in `file`, logs in; its stderr when not.
    fn libpq_logs_in(&self, file: &Path, user: &str) -> Result<(), String> {
        let mut cmd = Command::new("psql");
        clear_pg_env(&mut cmd);
        let conninfo = format!(
            "host={HOST} hostaddr=127.0.0.1 port={} dbname=postgres user='{}'",
            self.server.port,
            user.replace('\\', "\\\\").replace('\'', "\\'")
        );
        let out = cmd
            .env("PGPASSFILE", file)
            .args([
                "-X",
                "-w",
                "-A",
                "-t",
                "-c",
                "select current_user",
                &conninfo,
            ])
            .output()
            .expect("run psql");
        let who = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && who == user {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// What node-postgres' pgpass finds for each (file, user).
    fn node_finds(&self, lookups: &[(PathBuf, String)]) -> Vec<Option<String>> {
        let query: Vec<_> = lookups
            .iter()
            .map(|(file, user)| {
                serde_json::json!({
                    "file": file, "host": HOST, "port": self.server.port,
                    "database": "postgres", "user": user,
                })
            })
            .collect();
        let mut child = Command::new("node")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/readers/node-pgpass.js"))
            .arg(&self.node_package)
            .env_remove("PGPASSWORD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run node");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(serde_json::to_string(&query).unwrap().as_bytes())
            .unwrap();
        let out = ok("node-pgpass.js", child.wait_with_output());
        serde_json::from_str(&out).expect("node-pgpass.js prints JSON")
    }
}

/// Run credshim setting `key` in `file` to `value`; (exit code, stderr).
fn rotate(dir: &Path, file: &Path, key: &str, value: &str) -> (Option<i32>, String) {
    let mint = dir.join("mint.json");
    fs::write(&mint, serde_json::json!({ "password": value }).to_string()).unwrap();
    let mut cmd = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("CREDSHIM_") || k == "RUST_LOG" || k == "JOURNAL_STREAM" {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .current_dir(dir)
        .arg("rotate")
        .arg("--target")
        .arg(file)
        .args(["--format", "pgpass", "--set", &format!("{key}=/password")])
        .args(["--", "cat"])
        .arg(&mint)
        .output()
        .expect("run credshim");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether libpq reads `expected` for `user` in `file` (None: it finds no password).
fn libpq_reads(pg: &Pg, file: &Path, user: &str, expected: Option<&str>) -> Result<(), String> {
    match expected {
        Some(v) => {
            pg.set_passwords(&[(user.to_string(), v.to_string())]);
            pg.libpq_logs_in(file, user)
        }
        None => match pg.libpq_logs_in(file, user) {
            Err(e) if e.contains("no password supplied") => Ok(()),
            Err(e) => Err(format!("failed, but not for want of a password: {e}")),
            Ok(()) => Err("logged in".into()),
        },
    }
}

/// The lines of `text` (with their endings) that do not start with the key's fields.
fn other_lines<'a>(text: &'a str, key_prefix: &str) -> Vec<&'a str> {
    text.split_inclusive('\n')
        .map(|l| l.trim_end_matches(['\r', '\n']))
        .filter(|l| !l.starts_with(key_prefix))
        .collect()
}

fn corpus(pg: &Pg, dir: &Path, failures: &mut Vec<String>) -> (usize, usize) {
    let port = pg.server.port.to_string();
    let (mut written, mut refused) = (0, 0);
    for c in cases() {
        let text = fs::read_to_string(corpus_dir().join(c.file))
            .unwrap()
            .replace("@PORT@", &port);
        let file = dir.join(c.file);
        fs::write(&file, &text).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(c.mode)).unwrap();
        let mut fail = |what: String| failures.push(format!("{}: {what}", c.file));
        if let Err(e) = libpq_reads(pg, &file, c.user, c.libpq) {
            fail(format!("libpq, expected {:?}: {e}", c.libpq));
        }
        let node = pg.node_finds(&[(file.clone(), c.user.to_string())]);
        if node[0].as_deref() != c.node {
            fail(format!("node found {:?}, expected {:?}", node[0], c.node));
        }
        let key = c.key.replace("@PORT@", &port);
        let (code, stderr) = rotate(dir, &file, &key, NEW);
        if code != Some(c.code) {
            fail(format!(
                "credshim exit {code:?}, expected {}: {stderr}",
                c.code
            ));
            continue;
        }
        if stderr.contains(NEW) {
            fail("credshim's stderr shows the password".into());
        }
        let new = fs::read_to_string(&file).unwrap();
        let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o7777;
        if mode != c.mode {
            fail(format!("mode {mode:o}, expected {:o}", c.mode));
        }
        if c.code != 0 {
            refused += 1;
            if new != text {
                fail("refused, but the file changed".into());
            }
            continue;
        }
        written += 1;
        let prefix = format!("{}:", key);
        if other_lines(&text, &prefix) != other_lines(&new, &prefix)
            || text.ends_with('\n') != new.ends_with('\n')
            || text.contains("\r\n") != new.contains("\r\n")
        {
            fail(format!("other lines changed: {new:?}"));
        }
        if c.mode & 0o077 != 0 {
            if !stderr.contains("chmod 600") {
                fail(format!("no mode warning: {stderr:?}"));
            }
            continue;
        }
        if !stderr.is_empty() {
            fail(format!("credshim printed {stderr:?}"));
        }
        if let Err(e) = libpq_reads(pg, &file, c.user, Some(NEW)) {
            fail(format!("libpq after the rotation: {e}"));
        }
        let node = pg.node_finds(&[(file.clone(), c.user.to_string())]);
        if node[0].as_deref() != Some(NEW) {
            fail(format!("node after the rotation found {:?}", node[0]));
        }
    }
    (written, refused)
}

/// Generated passwords: the shapes of the rules, and anything.
fn value_strategy() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        ":", "\\", "\\:", "\\\\", ":\\", "*", "#", " ", "\t", "'", "\"", "$", "=", "%", "!",
    ])
    .prop_map(str::to_owned);
    let unicode = prop::sample::select(vec![
        "é", "日本", "🔑", "\u{a0}", "\u{2028}", "\u{85}", "\u{feff}", "\u{1}", "\u{7f}", "\u{b}",
        "\u{c}",
    ])
    .prop_map(str::to_owned);
    let piece = prop_oneof![
        6 => "[a-zA-Z0-9]{1,4}",
        3 => "[ -~]",
        6 => special,
        1 => "\\PC",
        1 => unicode,
    ];
    let pieces = prop::collection::vec(piece, 1..10).prop_map(|p| p.concat());
    let refused = prop::sample::select(vec!["\0", "\n", "\r"]).prop_map(str::to_owned);
    prop_oneof![
        2 => "[A-Za-z0-9._+/=~@%,-]{8,48}",
        2 => "[ -~]{1,32}",
        5 => pieces.clone(),
        1 => (pieces.clone(), refused, pieces).prop_map(|(a, r, b)| format!("{a}{r}{b}")),
    ]
}

/// Whether credshim must refuse `v` (docs/formats/pgpass.md).
fn must_refuse(v: &str) -> bool {
    v.is_empty() || v.contains(['\0', '\n', '\r'])
}

struct Generated {
    accepted: usize,
    refused: usize,
    libpq: usize,
    node: usize,
}

fn generated(pg: &Pg, dir: &Path, failures: &mut Vec<String>) -> Generated {
    let n: usize = std::env::var("CREDSHIM_READERS_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(150);
    let mut runner = TestRunner::deterministic();
    let strategy = value_strategy();
    let values: Vec<String> = (0..n)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    let port = pg.server.port;
    let key = |i: usize| format!("{HOST}:{port}:postgres:gen_{i}");
    // Neighbours: a comment, a wildcard line for another database, and every even case's line.
    let mut text = String::from("# generated cases\n*:*:otherdb:*:neighbour\\:pw\n");
    for i in (0..n).step_by(2) {
        text += &format!("{}:old-{i}\n", key(i));
    }
    let file = dir.join("generated.pgpass");
    fs::write(&file, &text).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    let mut g = Generated {
        accepted: 0,
        refused: 0,
        libpq: 0,
        node: 0,
    };
    let mut accepted = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let before = fs::read(&file).unwrap();
        let (code, stderr) = rotate(dir, &file, &key(i), v);
        if stderr.contains(v.as_str()) && v.len() > 3 {
            failures.push(format!(
                "generated #{i}: credshim's stderr shows the password"
            ));
        }
        match (code, must_refuse(v)) {
            (Some(0), false) => {
                g.accepted += 1;
                accepted.push((format!("gen_{i}"), v.clone()));
            }
            (Some(76), true) => {
                g.refused += 1;
                if fs::read(&file).unwrap() != before {
                    failures.push(format!("generated #{i}: refused, but the file changed"));
                }
            }
            _ => failures.push(format!(
                "generated #{i} {v:?}: credshim exit {code:?}: {stderr}"
            )),
        }
    }
    pg.set_passwords(&accepted);
    for (role, v) in &accepted {
        match pg.libpq_logs_in(&file, role) {
            Ok(()) => g.libpq += 1,
            Err(e) => failures.push(format!("libpq, {role} {v:?}: {e}")),
        }
    }
    let lookups: Vec<_> = accepted
        .iter()
        .map(|(role, _)| (file.clone(), role.clone()))
        .collect();
    for ((role, v), found) in accepted.iter().zip(pg.node_finds(&lookups)) {
        if found.as_deref() == Some(v.as_str()) {
            g.node += 1;
        } else {
            failures.push(format!("node, {role} {v:?}: found {found:?}"));
        }
    }
    g
}

#[test]
fn libpq_and_node_read_what_credshim_writes_and_the_corpus_as_the_rules_say() {
    let t = tempfile::tempdir().unwrap();
    let pg = match start(t.path()) {
        Ok(pg) => pg,
        Err(why) => return skip(&why),
    };
    pg.set_passwords(
        &CORPUS_ROLES
            .iter()
            .map(|r| (r.to_string(), "unset".to_string()))
            .collect::<Vec<_>>(),
    );
    let work = t.path().join("work");
    fs::create_dir(&work).unwrap();
    fs::set_permissions(&work, fs::Permissions::from_mode(0o700)).unwrap();
    let mut failures = Vec::new();
    let (written, refused) = corpus(&pg, &work, &mut failures);
    let g = generated(&pg, &work, &mut failures);
    eprintln!(
        "pgpass readers: corpus {} files ({written} rotated, {refused} refused as the rules say); \
         generated {} passwords: {} accepted, {} refused (76); read back: libpq (psql {}) {}, \
         node-postgres pgpass {}",
        cases().len(),
        g.accepted + g.refused,
        g.accepted,
        g.refused,
        psql_version(),
        g.libpq,
        g.node,
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        g.accepted >= 100 && g.refused >= 5,
        "too few cases of a kind"
    );
}

fn psql_version() -> String {
    Command::new("psql")
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .nth(2)
                .unwrap_or("?")
                .to_string()
        })
        .unwrap_or_default()
}
