//! Reader compatibility of the TOML format (issue 16): what `credshim rotate` writes into a TOML
//! file reads back as meant in the real readers that docs/formats/toml.md was drawn from.
//!
//! The corpus (tests/corpus/toml) holds a service's `config.toml` in every shape the key can
//! take (basic, literal and multi-line strings, absent, inline tables, dotted keys, arrays of
//! tables, a table to create, CRLF, no final newline, an empty file, TOML 1.1 syntax, an integer
//! too big for JavaScript) and the files credshim must refuse. Fixed values of every shape and a
//! few hundred proptest-generated ones are rotated into the first kind; each reader then reads
//! every file before and after, in one process for all of them: the whole document after must
//! be the document before with the key set to the value (tables created where credshim creates
//! them), and a reader that could not read a file before must not read it after either (and
//! the other way round). The refused files must exit 65 before the mint runs and stay
//! byte-identical; a value the mint cannot give (empty, NUL, invalid UTF-8) is 76.
//!
//! Readers: the `toml` crate (in process), Python's `tomllib` (`tests/readers/toml-tomllib.py`)
//! and the npm `smol-toml` package under `target/readers` (`tests/readers/toml-smol.js`). One
//! that is missing is skipped with a printed line, or fails under `CREDSHIM_TEST_REQUIRE_ALL`.
//! `CREDSHIM_READERS_CASES` (default 300) sets how many values are generated.

use crate::harness::{BIN, skip};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// A corpus file credshim must write, and the key set in it.
const WRITTEN: &[(&str, &str)] = &[
    ("service.toml", "/database/password"),
    ("literal.toml", "/database/password"),
    ("multiline.toml", "/database/password"),
    ("absent.toml", "/database/password"),
    ("crlf.toml", "/database/password"),
    ("no-final-newline.toml", "/database/password"),
    ("inline.toml", "/db/password"),
    ("inline-absent.toml", "/db/password"),
    ("dotted.toml", "/database/password"),
    ("array-of-tables.toml", "/runners/1/token"),
    ("new-table.toml", "/database/password"),
    ("empty.toml", "/database/password"),
    ("toml-1.1.toml", "/database/password"),
    ("big-integer.toml", "/database/password"),
];

/// A corpus file and key credshim must refuse with 65 before minting, and why.
const REFUSED: &[(&str, &str, &str)] = &[
    ("integer.toml", "/database/password", "not a string"),
    ("service.toml", "/database/pool", "not a string"),
    ("invalid.toml", "/database/password", "not valid TOML"),
    ("duplicate.toml", "/database/password", "not valid TOML"),
    ("bom.toml", "/database/password", "byte order mark"),
    ("mixed-eol.toml", "/database/password", "byte for byte"),
    ("array-of-tables.toml", "/runners/token", "array of tables"),
    ("array-of-tables.toml", "/runners/5/token", "not an element"),
    ("dotted.toml", "/database/port/x", "not a table"),
    ("inline.toml", "/db/pool/password", "does not exist"),
];

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus/toml")
        .join(name)
}

fn fixed_values() -> Vec<(&'static str, Vec<u8>)> {
    let text: &[(&str, &str)] = &[
        ("JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.Ab-_+/=~9"),
        ("AWS secret key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("gitlab runner token", "glrt-t3_AbCdEfGhIjKlMnOpQrSt"),
        ("a space and `#`", "pa ss # not a comment"),
        ("`'`", "it's"),
        ("`\"`", "say \"hi\""),
        ("`'` and `\"`", "it's \"q\""),
        ("a backslash", "C:\\dir\\file"),
        ("`\\` and `'`", "it's \\ ok"),
        ("a trailing backslash", "ends\\"),
        ("`\\u0041` as text", "\\u0041"),
        ("`\\n` as text", "a\\nb"),
        ("`'''`", "'''"),
        ("`\"\"\"`", "\"\"\""),
        ("a tab", "a\tb"),
        ("LF", "line1\nline2"),
        ("CR", "a\rb"),
        ("CRLF", "a\r\nb"),
        ("an LF at the end", "a\n\n"),
        (
            "control characters",
            "\u{1}\u{8}\u{b}\u{c}\u{1b}\u{1f}\u{7f}",
        ),
        ("C1 and line separators", "\u{85}\u{2028}\u{2029}"),
        ("a BOM inside", "\u{feff}x"),
        ("UTF-8", "pässwörd 日本 🔑"),
        ("`=` `[` `]` `{` `}` `,`", "a=b[c]{d},e"),
        ("only spaces", "   "),
        ("`${X}` and `$(id)`", "${X}$(id)`id`"),
        ("looks like a number", "1234"),
        ("looks like a date", "1979-05-27T07:32:00Z"),
        ("looks like a bool", "true"),
        ("looks like a table", "[database]"),
        ("looks like a key line", "x\"\nother = \"injected"),
        // The "Norway" list: strings that look like YAML 1.1 or 1.2 scalars of other types.
        ("`yes`", "yes"),
        ("`no`", "no"),
        ("`on`", "on"),
        ("`off`", "off"),
        ("`y`", "y"),
        ("`n`", "n"),
        ("`false`", "false"),
        ("`null`", "null"),
        ("`~`", "~"),
        ("`0x1F`", "0x1F"),
        ("`1e3`", "1e3"),
        ("`.inf`", ".inf"),
        ("`inf`", "inf"),
        ("`nan`", "nan"),
        ("`2026-01-01`", "2026-01-01"),
        ("`012`", "012"),
        // Refused by the mint's output rules (76), whatever the format.
        ("NUL", "a\0b"),
        ("empty", ""),
    ];
    let mut values: Vec<(&str, Vec<u8>)> = text
        .iter()
        .map(|(s, v)| (*s, v.as_bytes().to_vec()))
        .collect();
    values.push(("invalid UTF-8", b"ab\xff\xfe".to_vec()));
    values
}

fn generated_values() -> Vec<Vec<u8>> {
    let n = std::env::var("CREDSHIM_READERS_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let special = prop::sample::select(vec![
        "'", "\"", "\\", "\\u", "'''", "\"\"\"", "#", " ", "\t", "\n", "\r", "=", "[", "]", "{",
        "}", ".", "\u{7f}", "\u{1b}", "\u{85}", "\u{2028}", "\u{feff}", "é", "🔑",
    ])
    .prop_map(str::to_owned);
    let piece = prop_oneof![4 => "[a-zA-Z0-9]{1,4}", 2 => "[ -~]", 4 => special, 1 => "\\PC"];
    let strategy = prop_oneof![
        1 => "[A-Za-z0-9._+/=~@%,:-]{1,48}",
        1 => "[ -~]{1,32}",
        3 => prop::collection::vec(piece, 1..10).prop_map(|p| p.concat()),
    ];
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("generate a value")
                .current()
                .into_bytes()
        })
        .collect()
}

/// The value the mint output stands for: minus one trailing `\n` or `\r\n` (README).
fn meant(out: &[u8]) -> &[u8] {
    out.strip_suffix(b"\r\n")
        .or_else(|| out.strip_suffix(b"\n"))
        .unwrap_or(out)
}

/// Why credshim must refuse the mint output `out` (76), if it must.
fn refused_value(out: &[u8]) -> Option<&'static str> {
    match std::str::from_utf8(meant(out)) {
        Err(_) => Some("invalid UTF-8"),
        Ok("") => Some("empty"),
        Ok(v) if v.contains('\0') => Some("NUL"),
        Ok(_) => None,
    }
}

/// One rotation.
struct Run {
    file: String,
    key: &'static str,
    /// The mint's stdout file, or `None`: a mint that fails (the run must stop before it).
    out: Option<String>,
}

/// Rotate every run in parallel; (exit code, stderr) per run.
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
                        .args(["rotate", "--target", &run.file, "--set", run.key, "--"])
                        .stdin(Stdio::null());
                    match &run.out {
                        Some(out) => cmd.args(["cat", out]),
                        None => cmd.arg("false"),
                    };
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

/// Every file's document as one reader read it (strings as JSON strings, other scalars as
/// `{"$type", "repr"}`), or its error.
type Readings = BTreeMap<String, Result<Value, String>>;

struct Reader {
    name: &'static str,
    read: fn(&Path, &[String]) -> Result<Readings, String>,
}

const READERS: [Reader; 3] = [
    Reader {
        name: "toml (Rust crate)",
        read: read_toml_crate,
    },
    Reader {
        name: "tomllib (Python)",
        read: read_tomllib,
    },
    Reader {
        name: "smol-toml (npm)",
        read: read_smol,
    },
];

fn tagged(kind: &str, repr: String) -> Value {
    serde_json::json!({ "$type": kind, "repr": repr })
}

fn plain_toml(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => tagged("integer", i.to_string()),
        toml::Value::Float(f) => tagged("float", format!("{f:?}")),
        toml::Value::Boolean(b) => tagged("boolean", b.to_string()),
        toml::Value::Datetime(d) => tagged("datetime", d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(plain_toml).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.iter().map(|(k, v)| (k.clone(), plain_toml(v))).collect())
        }
    }
}

#[allow(clippy::unnecessary_wraps)] // the signature of `Reader::read`
fn read_toml_crate(dir: &Path, files: &[String]) -> Result<Readings, String> {
    Ok(files
        .iter()
        .map(|f| {
            let text = fs::read_to_string(dir.join(f)).map_err(|e| e.to_string());
            let doc = text.and_then(|t| {
                t.parse::<toml::Table>()
                    .map(|t| plain_toml(&toml::Value::Table(t)))
                    .map_err(|e| e.message().to_owned())
            });
            (f.clone(), doc)
        })
        .collect())
}

/// Run a helper of tests/readers that prints `{file: {"doc": ...} or {"error": ...}}`.
fn read_json(mut cmd: Command, what: &str, dir: &Path, files: &[String]) -> Readings {
    cmd.current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("run {what}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(files.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what} printed no JSON: {e}"));
    files
        .iter()
        .map(|f| {
            let entry = &json[f.as_str()];
            let reading = match entry.get("doc") {
                Some(doc) => Ok(doc.clone()),
                None => Err(entry["error"].as_str().unwrap_or("no reading").to_owned()),
            };
            (f.clone(), reading)
        })
        .collect()
}

fn helper(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/readers")
        .join(name)
}

fn read_tomllib(dir: &Path, files: &[String]) -> Result<Readings, String> {
    let has = Command::new("python3")
        .args(["-c", "import tomllib"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has {
        return Err("Python 3.11 or later (tomllib) is not installed".into());
    }
    let mut cmd = Command::new("python3");
    cmd.arg(helper("toml-tomllib.py"));
    Ok(read_json(cmd, "tomllib", dir, files))
}

fn read_smol(dir: &Path, files: &[String]) -> Result<Readings, String> {
    let package =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/readers/node_modules/smol-toml");
    let has_node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_node || !package.join("package.json").exists() {
        return Err(format!(
            "smol-toml is not installed in {} (npm install --prefix target/readers smol-toml)",
            package.display()
        ));
    }
    let mut cmd = Command::new("node");
    cmd.arg(helper("toml-smol.js")).arg(package);
    Ok(read_json(cmd, "smol-toml", dir, files))
}

/// `doc` with the string `value` at `pointer`, tables created on the way as credshim creates
/// them; `None` when the pointer does not lead to a table.
fn with_value(doc: &Value, pointer: &str, value: &str) -> Option<Value> {
    let mut doc = doc.clone();
    let tokens: Vec<String> = pointer[1..]
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let (last, steps) = tokens.split_last()?;
    let mut node = &mut doc;
    for step in steps {
        node = match node {
            Value::Object(m) => m
                .entry(step.clone())
                .or_insert_with(|| Value::Object(Map::new())),
            Value::Array(a) => a.get_mut(step.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    node.as_object_mut()?
        .insert(last.clone(), Value::String(value.to_owned()));
    Some(doc)
}

/// The string at `pointer` in `doc`, for messages about the rotated key (never printed for
/// another key).
fn at(doc: &Value, pointer: &str) -> Option<Value> {
    doc.pointer(pointer).cloned()
}

#[test]
fn every_reader_reads_the_rotated_value_and_every_other_value_as_before() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let fixed = fixed_values();
    let n_fixed = fixed.len();
    let mut outs: Vec<(String, Vec<u8>)> =
        fixed.into_iter().map(|(s, v)| (s.to_owned(), v)).collect();
    outs.extend(
        generated_values()
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("generated value #{i}"), v)),
    );
    let mut runs = Vec::new();
    // (run index, value index, template index) of every run expected to write.
    let mut plan = Vec::new();
    for (c, (_, out)) in outs.iter().enumerate() {
        let name = format!("c{c:04}.out");
        fs::write(dir.path().join(&name), out).unwrap();
        let templates: Vec<usize> = if c < n_fixed {
            (0..WRITTEN.len()).collect()
        } else {
            vec![c % WRITTEN.len()]
        };
        for t in templates {
            let file = format!("c{c:04}-{}", WRITTEN[t].0);
            fs::copy(corpus(WRITTEN[t].0), dir.path().join(&file)).unwrap();
            plan.push((runs.len(), c, t));
            runs.push(Run {
                file,
                key: WRITTEN[t].1,
                out: Some(name.clone()),
            });
        }
    }
    let first_refused = runs.len();
    for (i, (name, key, _)) in REFUSED.iter().enumerate() {
        let file = format!("refused{i}-{name}");
        fs::copy(corpus(name), dir.path().join(&file)).unwrap();
        runs.push(Run {
            file,
            key,
            out: None,
        });
    }
    for (name, _) in WRITTEN {
        fs::copy(corpus(name), dir.path().join(format!("before-{name}"))).unwrap();
    }
    let results = rotate_all(dir.path(), &runs);
    let rotated_in = started.elapsed();

    let mut failures = Vec::new();
    let mut written = Vec::new();
    for &(r, c, t) in &plan {
        let (code, stderr) = &results[r];
        let (shape, out) = &outs[c];
        let untouched = fs::read(dir.path().join(&runs[r].file)).unwrap()
            == fs::read(corpus(WRITTEN[t].0)).unwrap();
        match refused_value(out) {
            Some(why) if *code != Some(76) || !untouched => failures.push(format!(
                "credshim: {shape} ({why}) into {} must be 76 with the file untouched; exit \
                 {code:?}, stderr: {stderr}",
                WRITTEN[t].0
            )),
            Some(_) => {}
            None if *code == Some(0) && stderr.is_empty() => written.push((r, c, t)),
            None => failures.push(format!(
                "credshim: {shape} into {} must be written silently; exit {code:?}, stderr: \
                 {stderr}",
                WRITTEN[t].0
            )),
        }
    }
    for (i, (name, key, why)) in REFUSED.iter().enumerate() {
        let (code, stderr) = &results[first_refused + i];
        let same = fs::read(dir.path().join(&runs[first_refused + i].file)).unwrap()
            == fs::read(corpus(name)).unwrap();
        if *code != Some(65) || !same || !stderr.contains(why) {
            failures.push(format!(
                "credshim: {name} {key} must be refused with 65 ({why}) before minting, the file \
                 untouched; exit {code:?}, untouched {same}, stderr: {stderr}"
            ));
        }
    }

    let mut files: Vec<String> = WRITTEN.iter().map(|(n, _)| format!("before-{n}")).collect();
    files.extend(written.iter().map(|&(r, _, _)| runs[r].file.clone()));
    let checked: Vec<_> = std::thread::scope(|s| {
        let threads: Vec<_> = READERS
            .iter()
            .map(|reader| {
                let (dir, files) = (dir.path(), &files);
                s.spawn(move || (reader, (reader.read)(dir, files)))
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let mut summary = Vec::new();
    for (reader, readings) in checked {
        let readings = match readings {
            Ok(r) => r,
            Err(why) => {
                skip(&format!("reader {}: {why}", reader.name));
                continue;
            }
        };
        let mut carried = vec![false; outs.len()];
        let mut files_checked = 0;
        let mut rejected: BTreeMap<&str, usize> = BTreeMap::new();
        for &(r, c, t) in &written {
            let (template, key) = WRITTEN[t];
            let value = String::from_utf8_lossy(meant(&outs[c].1)).into_owned();
            let what = format!(
                "{}: {} into {template} ({})",
                reader.name, outs[c].0, runs[r].file
            );
            match (
                &readings[&format!("before-{template}")],
                &readings[&runs[r].file],
            ) {
                (Err(_), Err(_)) => *rejected.entry(template).or_default() += 1,
                (Err(_), Ok(_)) => {
                    failures.push(format!("{what}: reads the file it rejected before"))
                }
                (Ok(_), Err(e)) => failures.push(format!("{what}: cannot read the file: {e}")),
                (Ok(before), Ok(after)) => {
                    files_checked += 1;
                    let want = with_value(before, key, &value).expect("the key's table exists");
                    if *after == want {
                        carried[c] = true;
                    } else if at(after, key) != Some(Value::String(value.clone())) {
                        failures.push(format!(
                            "{what}: {key} reads {:?}, not {value:?}",
                            at(after, key)
                        ));
                    } else {
                        failures.push(format!("{what}: another value reads differently"));
                    }
                }
            }
        }
        let fixed = carried[..n_fixed].iter().filter(|c| **c).count();
        let generated = carried[n_fixed..].iter().filter(|c| **c).count();
        let mut line = format!(
            "{}: {} values read back ({fixed} fixed + {generated} generated) in {files_checked} \
             files",
            reader.name,
            fixed + generated
        );
        for (template, n) in &rejected {
            line.push_str(&format!(
                "; rejects {template} before and after ({n} files: {})",
                readings[&format!("before-{template}")]
                    .as_ref()
                    .err()
                    .map_or("", String::as_str)
            ));
        }
        summary.push(line);
    }
    let refused_values = outs
        .iter()
        .filter(|(_, o)| refused_value(o).is_some())
        .count();
    eprintln!(
        "toml reader battery: {} values ({n_fixed} fixed + {} generated, {refused_values} \
         refused with 76), {} rotations ({} written, {} corpus refusals with 65) in \
         {rotated_in:.1?}, {:.1?} in all",
        outs.len(),
        outs.len() - n_fixed,
        runs.len(),
        written.len(),
        REFUSED.len(),
        started.elapsed()
    );
    for line in &summary {
        eprintln!("  {line}");
    }
    assert!(
        failures.is_empty(),
        "{} TOML reader failures; the first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}
