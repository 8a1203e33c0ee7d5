//! Reader compatibility of the properties format (issue 15, "A JVM reads it"): what `credshim
//! rotate` writes into a `.properties` file reads back as the minted value in a real JVM's
//! `java.util.Properties`, through `load(InputStream)` (ISO-8859-1) and `load(Reader)` (UTF-8),
//! and in jproperties (Python) decoding the file both ways; every other property reads as that
//! same reader read it before.
//!
//! One battery: values of every shape docs/formats/properties.md names (escapes, leading blanks,
//! separators, non-ASCII, characters outside the BMP, control characters) and a few hundred
//! generated ones are rotated into files that hold other properties in every form (`=`, `:` and
//! blank separators, continuations, a continuation inside a comment, escaped keys, raw UTF-8,
//! the key twice, CRLF, CR only, a missing final newline, a last line that continues). The
//! corpus files under tests/corpus/properties get the key appended. A refused value or file must
//! leave the file byte-identical, with the exit code the rules give. Each reader then reads every
//! file, before and after, in one process. `tests/readers/ReadProperties.java` is compiled into the
//! test's temp dir; jproperties runs `tests/readers/read-jproperties.py`. A missing reader is
//! skipped with a printed line, or fails under `CREDSHIM_TEST_REQUIRE_ALL`.
//!
//! `CREDSHIM_READERS_CASES` (default 200) sets how many values are generated.

use crate::harness::{BIN, skip};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The key every case rotates.
const KEY: &str = "spring.datasource.password";

/// A Spring Boot file: the key twice (the last wins; both are set), once with `:` and spacing,
/// other properties in every form around it.
const SPRING: &str = "# Spring Boot application.properties\n\
! a bang comment\n\
spring.application.name=demo\n\
spring.datasource.url = jdbc:postgresql://db:5432/app\n\
spring.datasource.password=old-one\n\
spring.datasource.username:app\n\
# a comment ending in a backslash does not continue \\\n\
logging.level.root WARN\n\
app.greeting=Gr\\u00fc\\u00dfe, caf\u{e9} \\\n    and more\n\
app.path=C:\\\\temp\\\\x\n\
app\\ key\\:with\\=escapes = v\n\
\tspring.datasource.password\t:\t old two\n\
app.empty=\n\
app.lead=\\   spaces\n\
app.last=trailing   \n";

/// The key absent (appended) after a last line that continues, without a final newline.
const APPEND_CONTINUED: &str = "a=1\nb=value \\";

/// The key written with escapes in its name, its value continued over lines.
const ESCAPED_KEY: &str = "spring.datasource\\u002epassword\\\n  =old\\\n   still-old\nz=\\u00e9\n";

fn templates() -> Vec<(&'static str, String)> {
    vec![
        ("spring", SPRING.to_string()),
        ("spring-crlf", SPRING.replace('\n', "\r\n")),
        ("spring-cr", SPRING.replace('\n', "\r")),
        (
            "spring-no-final-newline",
            SPRING.trim_end_matches('\n').to_string(),
        ),
        ("append-continued", APPEND_CONTINUED.to_string()),
        ("escaped-key", ESCAPED_KEY.to_string()),
    ]
}

/// The values every shape of the rules file gives, by shape.
fn fixed_values() -> Vec<(&'static str, String)> {
    [
        ("JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.Ab-_+/=~9"),
        ("Vault password", "A1a-Zt9vQ0xWp3Lr8sKj"),
        ("leading space", " lead"),
        ("leading tab", "\tlead"),
        ("leading =", "=x"),
        ("leading :", ":x"),
        ("leading # and !", "#x!y"),
        ("trailing spaces", "trail  "),
        ("backslashes", "a\\b\\\\c"),
        ("trailing backslash", "end\\"),
        ("separators inside", "a=b:c d"),
        ("escape letters", "\\n\\t\\u0041"),
        ("control characters", "t\tn\nr\rf\u{c}\u{1}\u{7f}"),
        ("Latin-1", "caf\u{e9} \u{fc}ber"),
        ("C1 and NBSP", "\u{85}\u{a0}\u{9f}"),
        ("CJK", "\u{65e5}\u{672c}"),
        ("outside the BMP", "\u{1f511}key\u{10ffff}"),
        ("U+FFFE, U+FFFF", "\u{fffe}\u{ffff}"),
        ("byte order mark (refused)", "x\u{feff}y"),
    ]
    .into_iter()
    .map(|(shape, v)| (shape, v.to_string()))
    .collect()
}

fn value_strategy() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        " ", "\t", "=", ":", "#", "!", "\\", "\\\\", "\\u", "\\n", "\n", "\r", "\u{c}", "é", "日",
        "🔑", "\u{85}", "\u{2028}", "\u{feff}", "\u{1}",
    ])
    .prop_map(str::to_owned);
    let piece = prop_oneof![
        6 => "[a-zA-Z0-9]{1,4}",
        3 => "[ -~]",
        5 => special,
        1 => "\\PC",
    ];
    prop_oneof![
        2 => "[A-Za-z0-9._+/=~@%,:-]{1,48}",
        2 => "[ -~]{1,32}",
        5 => prop::collection::vec(piece, 1..10).prop_map(|p| p.concat()),
        1 => any::<String>().prop_filter("non-empty, no NUL", |s| !s.is_empty() && !s.contains('\0')),
    ]
}

/// Whether the rules refuse `value` (76), from docs/formats/properties.md rather than the code.
fn refused(value: &str) -> bool {
    value.contains('\u{feff}')
}

/// What one reader made of each file: its properties, or why it failed.
type Readings = BTreeMap<String, Result<BTreeMap<String, String>, String>>;

/// Parse the readers' JSON lines into two readings (the ISO-8859-1 and the UTF-8 one).
fn parse_lines(stdout: &[u8]) -> (Readings, Readings) {
    let (mut stream, mut reader) = (Readings::new(), Readings::new());
    for line in String::from_utf8_lossy(stdout).lines() {
        let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(line) else {
            panic!("reader printed {line:?}");
        };
        let file = obj["file"].as_str().expect("file").to_string();
        let one = |v: &Value| -> Result<BTreeMap<String, String>, String> {
            let map: &Map<String, Value> = v.as_object().expect("an object");
            if let Some(Value::String(e)) = map.get("error") {
                return Err(e.clone());
            }
            Ok(map
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("string").to_string()))
                .collect())
        };
        stream.insert(file.clone(), one(&obj["stream"]));
        reader.insert(file, one(&obj["reader"]));
    }
    (stream, reader)
}

/// Run `cmd` on every file at once (files named relative to `dir`).
fn run_reader(
    mut cmd: Command,
    dir: &Path,
    files: &[String],
) -> Result<(Readings, Readings), String> {
    let out = cmd
        .current_dir(dir)
        .args(files)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(parse_lines(&out.stdout))
}

fn helper(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/readers")
        .join(name)
}

/// The JVM reader, compiled into `dir`; `Err` when there is no JDK.
fn java(dir: &Path, files: &[String]) -> Result<(Readings, Readings), String> {
    let classes = dir.join("classes");
    let javac = Command::new("javac")
        .arg("-d")
        .arg(&classes)
        .arg(helper("ReadProperties.java"))
        .output()
        .map_err(|e| format!("javac: {e} (apt-get install openjdk-17-jdk-headless)"))?;
    if !javac.status.success() {
        return Err(format!(
            "javac failed: {}",
            String::from_utf8_lossy(&javac.stderr)
        ));
    }
    let mut cmd = Command::new("java");
    cmd.arg("-cp").arg(&classes).arg("ReadProperties");
    run_reader(cmd, dir, files)
}

/// jproperties; `Err` when it is not installed.
fn jproperties(dir: &Path, files: &[String]) -> Result<(Readings, Readings), String> {
    let has = Command::new("python3")
        .args(["-c", "import jproperties"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        return Err("jproperties is not installed (pip install jproperties==2.1.2)".into());
    }
    let mut cmd = Command::new("python3");
    cmd.arg(helper("read-jproperties.py"));
    run_reader(cmd, dir, files)
}

/// One rotation: value `value` into `template`, in `file`, with what the rules expect.
struct Run {
    value: usize,
    before: String,
    file: String,
    /// The exit code the rules give: 0, or 76 for a refused value, 65 for a refused file.
    expect: i32,
}

/// Rotate every run's file, a few at a time; (exit code, stderr) per run.
fn rotate_all(dir: &Path, runs: &[Run]) -> Vec<(Option<i32>, String)> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(vec![(None, String::new()); runs.len()]);
    let workers = std::thread::available_parallelism().map_or(2, |n| (n.get() * 2).min(8));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(run) = runs.get(i) else { break };
                    let mut cmd = Command::new(BIN);
                    cmd.current_dir(dir)
                        .args(["rotate", "--target", &run.file, "--set"])
                        .arg(format!("{KEY}=/v"))
                        .args(["--", "cat"])
                        .arg(format!("v{:04}.json", run.value))
                        .stdin(Stdio::null());
                    for (k, _) in std::env::vars_os() {
                        let name = k.to_string_lossy();
                        if name.starts_with("CREDSHIM_") || name == "RUST_LOG" {
                            cmd.env_remove(&k);
                        }
                    }
                    let out = cmd.output().expect("run credshim");
                    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                    results.lock().unwrap()[i] = (out.status.code(), stderr);
                }
            });
        }
    });
    results.into_inner().unwrap()
}

#[test]
fn a_jvm_and_jproperties_read_every_rotated_value_both_ways() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let n: usize = std::env::var("CREDSHIM_READERS_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let mut values: Vec<(String, String)> = fixed_values()
        .into_iter()
        .map(|(shape, v)| (shape.to_string(), v))
        .collect();
    let mut runner = TestRunner::deterministic();
    let strategy = value_strategy();
    for i in 0..n {
        let v = strategy.new_tree(&mut runner).expect("value").current();
        values.push((format!("generated #{i}"), v));
    }
    for (i, (_, v)) in values.iter().enumerate() {
        fs::write(
            d.join(format!("v{i:04}.json")),
            serde_json::json!({ "v": v }).to_string(),
        )
        .unwrap();
    }

    // Before-files: the templates and the corpus.
    let mut befores: Vec<(String, String)> = templates()
        .into_iter()
        .map(|(name, text)| (format!("before-{name}.properties"), text))
        .collect();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/properties");
    let mut corpus_files: Vec<PathBuf> = fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    corpus_files.sort();
    let mut corpus_names = Vec::new();
    for p in &corpus_files {
        let name = format!("corpus-{}", p.file_name().unwrap().to_string_lossy());
        fs::copy(p, d.join(&name)).unwrap();
        corpus_names.push(name);
    }
    for (name, text) in &befores {
        fs::write(d.join(name), text).unwrap();
    }

    let mut runs = Vec::new();
    for (t, (before, _)) in befores.iter().enumerate() {
        for (i, (_, v)) in values.iter().enumerate() {
            runs.push(Run {
                value: i,
                before: before.clone(),
                file: format!("t{t}-v{i:04}.properties"),
                expect: if refused(v) { 76 } else { 0 },
            });
        }
    }
    // The corpus with the key appended: the fixed values only. A file Java cannot load
    // (malformed \u), one that is not UTF-8, is 65.
    for name in &corpus_names {
        let expect = if name.contains("malformed-unicode") || name.contains("latin1") {
            65
        } else {
            0
        };
        for (i, (_, v)) in values.iter().enumerate().take(fixed_values().len()) {
            runs.push(Run {
                value: i,
                before: name.clone(),
                file: format!(
                    "{}-v{i:04}.properties",
                    name.trim_end_matches(".properties")
                ),
                expect: if expect == 0 && refused(v) {
                    76
                } else {
                    expect
                },
            });
        }
    }
    befores.extend(corpus_names.iter().map(|n| (n.clone(), String::new())));
    for run in &runs {
        fs::copy(d.join(&run.before), d.join(&run.file)).unwrap();
    }
    let results = rotate_all(d, &runs);

    let mut failures = Vec::new();
    let mut by_code: BTreeMap<i32, usize> = BTreeMap::new();
    for (run, (code, stderr)) in runs.iter().zip(&results) {
        let shape = &values[run.value].0;
        *by_code.entry(code.unwrap_or(-1)).or_default() += 1;
        if *code != Some(run.expect) {
            failures.push(format!(
                "{} ({shape} into {}): exit {code:?}, expected {}: {stderr}",
                run.file, run.before, run.expect
            ));
        }
        if run.expect != 0 {
            let same =
                fs::read(d.join(&run.file)).unwrap() == fs::read(d.join(&run.before)).unwrap();
            if !same {
                failures.push(format!("{}: refused, but the file changed", run.file));
            }
        }
        if stderr.contains(&values[run.value].1) && values[run.value].1.len() > 3 {
            failures.push(format!("{}: stderr holds the value", run.file));
        }
    }

    let mut files: Vec<String> = befores.iter().map(|(n, _)| n.clone()).collect();
    files.extend(
        runs.iter()
            .filter(|r| r.expect == 0)
            .map(|r| r.file.clone()),
    );
    let mut summary = Vec::new();
    type ReaderFn = fn(&Path, &[String]) -> Result<(Readings, Readings), String>;
    let readers: [(&str, ReaderFn); 2] = [("java", java), ("jproperties", jproperties)];
    for (name, read) in readers {
        let (stream, reader) = match read(d, &files) {
            Ok(r) => r,
            Err(why) => {
                skip(&format!("reader {name}: {why}"));
                continue;
            }
        };
        for (how, readings) in [("ISO-8859-1", &stream), ("UTF-8", &reader)] {
            let mut ok = 0;
            for run in runs.iter().filter(|r| r.expect == 0) {
                let value = &values[run.value].1;
                let before = &readings[&run.before];
                let after = &readings[&run.file];
                let what = format!("{name} {how}: {} ({})", run.file, values[run.value].0);
                let (Ok(before), Ok(after)) = (before, after) else {
                    failures.push(format!("{what}: cannot read {before:?} / {after:?}"));
                    continue;
                };
                if after.get(KEY) != Some(value) {
                    failures.push(format!("{what}: the key does not read as the value"));
                    continue;
                }
                let others = |m: &BTreeMap<String, String>| {
                    m.iter()
                        .filter(|(k, _)| *k != KEY)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<Vec<_>>()
                };
                if others(before) != others(after) {
                    failures.push(format!("{what}: another property changed"));
                    continue;
                }
                ok += 1;
            }
            summary.push(format!("{name} ({how}): {ok} values read back"));
        }
    }
    let refused_values = runs.iter().filter(|r| r.expect == 76).count();
    let refused_files = runs.iter().filter(|r| r.expect == 65).count();
    eprintln!(
        "properties reader battery: {} values, {} rotations ({} refused values, {} refused \
         files; exit codes {by_code:?}); {}",
        values.len(),
        runs.len(),
        refused_values,
        refused_files,
        summary.join("; ")
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}

#[test]
fn a_spring_boot_job_rotates_application_properties_and_a_jvm_reads_it() {
    // The shipped example's settings, with a canned Vault output whose password needs escapes
    // (a leading space, `=`, `\`, non-ASCII): after each rotation the reload ran once, the rest
    // of the file is byte-identical, and both loads of a real JVM read the new credential.
    let vault = |user: &str, password: &str| {
        serde_json::json!({
            "lease_id": "database/creds/app/x",
            "lease_duration": 3600,
            "data": {"username": user, "password": password},
        })
        .to_string()
    };
    let first = (" v-app-1", "p=ss\\w\u{f6}rd\u{1f511}");
    let second = ("v-app-2", "plain-Secret-2");
    let job = "CREDSHIM_TARGET=application.properties\n\
               CREDSHIM_SET=spring.datasource.username=/data/username,spring.datasource.password=/data/password,credshim.expires-at=@expiry\n\
               CREDSHIM_EXPIRY_FROM=/lease_duration\n\
               CREDSHIM_EXPIRY_FORMAT=seconds\n\
               CREDSHIM_MIN_TTL=15m\n\
               CREDSHIM_MINT=\"cat mint.json\"\n\
               CREDSHIM_RELOAD=\"echo reload >> log\"\n";
    let done = crate::harness::Test::new()
        .file("job.env", job)
        .file("application.properties", SPRING)
        .file("mint.json", &vault(first.0, first.1))
        .args(["--job", "job.env"])
        .run()
        .status(0)
        .hides(first.1)
        // The file had the credential but no expiry yet.
        .stderr_has("--min-ttl cannot tell")
        .log_is(&["reload"]);
    let written = done.read("application.properties");
    assert!(
        written
            .lines()
            .filter(|l| l.contains("spring.datasource."))
            .all(str::is_ascii),
        "{written}"
    );
    let others = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| {
                !l.contains("spring.datasource.password")
                    && !l.starts_with("spring.datasource.username")
                    && !l.starts_with("credshim.")
            })
            .map(str::to_string)
            .collect()
    };
    assert_eq!(others(&written), others(SPRING));
    let check = |dir: &Path, (user, password): (&str, &str)| {
        let files = ["application.properties".to_string()];
        match java(dir, &files) {
            Ok((stream, reader)) => {
                for readings in [stream, reader] {
                    let props = readings["application.properties"].as_ref().expect("loads");
                    assert_eq!(props["spring.datasource.username"], user);
                    assert_eq!(props["spring.datasource.password"], password);
                    assert!(props.contains_key("credshim.expires-at"));
                }
            }
            Err(why) => skip(&format!("reader java: {why}")),
        }
    };
    check(done.test().dir.path(), first);
    // The next run finds the credential fresh (--min-ttl, read from credshim.expires-at): no
    // mint, no reload. With a --min-ttl longer than the lease, a new credential.
    let t = done.again().file("mint.json", &vault(second.0, second.1));
    let fresh = t.run().status(0).log_is(&["reload"]);
    check(fresh.test().dir.path(), first);
    let again = fresh
        .again()
        .args(["--min-ttl", "2h"])
        .run()
        .status(0)
        .stderr_has("every run will mint")
        .log_is(&["reload", "reload"]);
    check(again.test().dir.path(), second);
}

#[test]
fn a_file_the_loads_read_differently_is_refused_before_minting() {
    // 65 with the file byte-identical and the mint never run: a key written with raw non-ASCII
    // (the two loads read two names), a BOM before the key's line (Java reads `\uFEFF` + key), a
    // malformed `\u` anywhere (Java throws). A value no form carries is 76 after the mint.
    for (text, key) in [
        ("p\u{e4}ss=old\n", "p\u{e4}ss"),
        ("\u{feff}spring.datasource.password=old\n", KEY),
        ("a=\\u00\nspring.datasource.password=old\n", KEY),
    ] {
        crate::harness::Test::new()
            .file("application.properties", text)
            .mint("echo s3cr3t")
            .args(["--target", "application.properties", "--set", key])
            .run()
            .status(65)
            .hides("s3cr3t")
            .file_is("application.properties", text)
            .log_is(&[])
            .no_temp();
    }
    crate::harness::Test::new()
        .file("application.properties", "k=old\n")
        .mint("printf 's3cr\\357\\273\\277t'")
        .args(["--target", "application.properties", "--set", "k"])
        .run()
        .status(76)
        .hides("s3cr")
        .file_is("application.properties", "k=old\n")
        .log_is(&["mint"]);
}
