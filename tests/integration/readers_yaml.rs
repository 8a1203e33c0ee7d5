//! Reader compatibility of the YAML format (issue 16): what `credshim rotate` writes into a YAML
//! file reads back as the same string in every real reader that docs/formats/yaml.md was drawn
//! from, and every other node reads as that reader read it before.
//!
//! Readers: PyYAML (`safe_load`, YAML 1.1) and ruamel.yaml (`typ="safe"`, 1.2) through
//! `tests/readers/yaml-python.py`; the npm `yaml` package (`parse`, as Backstage's config
//! loader) and js-yaml (`load`) under `target/readers` through `tests/readers/yaml-node.js`;
//! Ruby's Psych (`safe_load`) through `tests/readers/yaml-ruby.rb`. Each prints every node typed
//! (`["str", v]`, `["bool", true]`, `{"map": [...]}`), so a string that became a boolean, a
//! number, a date or null is a failure. A missing reader is skipped, or fails under
//! `CREDSHIM_TEST_REQUIRE_ALL`.
//!
//! One battery: the "Norway" list and its case variants, tokens, every indicator, quotes,
//! escapes and line breaks, and a few hundred generated values, each rotated into templates that
//! hold the key plain, quoted, as a block scalar, empty, in a flow mapping, absent (added), and
//! with CRLF line endings, among comments, anchors, aliases, merge keys and tags elsewhere. A
//! second test reads the committed corpus (`tests/corpus/yaml/`) and checks the reader
//! behaviours the rules file rests on.
//!
//! `CREDSHIM_READERS_CASES` (default 300) sets how many values are generated.

use crate::harness::{BIN, skip};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const POINTER: &str = "/backend/database/connection/password";

/// Everything a Backstage `app-config.yaml` holds around the password, with the shapes that
/// must be kept elsewhere: comments, an anchor and its alias, a merge key, a tag, a flow
/// sequence, a block scalar, quoted keys. `@OLD@` is where the key's old value goes.
const BACKSTAGE: &str = r#"# app-config.yaml
app:
  title: "Backstage # not a comment"
  baseUrl: http://localhost:3000
defaults: &defaults
  timeout: 30
organization:
  <<: *defaults
  name: 'ACME: it''s us'
backend:
  listen: {port: 7007, host: 0.0.0.0}
  cors:
    origin: [http://localhost:3000, 'yes']
  database:
    client: pg
    connection:
      host: db.internal
      user: backstage
@OLD@
      port: 5432
      ssl: !!bool true
  motd: |
    multi
    line
catalog:
  rules:
    - allow: [Component, API]
"#;

struct Template {
    name: &'static str,
    text: String,
}

impl Template {
    fn before(&self) -> String {
        format!("before-{}.yaml", self.name)
    }
}

fn templates() -> Vec<Template> {
    let with = |old: &str| BACKSTAGE.replace("@OLD@", old);
    vec![
        Template {
            name: "plain",
            text: with("      password: old-plain # rotated by credshim"),
        },
        Template {
            name: "single",
            text: with("      password: 'old'"),
        },
        Template {
            name: "double",
            text: with("      password: \"old\\tvalue\""),
        },
        Template {
            name: "block",
            text: with("      password: |-\n        old\n        block"),
        },
        Template {
            name: "empty",
            text: with("      password:"),
        },
        Template {
            name: "absent",
            text: with("      # password: added below").trim_end().to_string(),
        },
        Template {
            name: "crlf",
            text: with("      password: old").replace('\n', "\r\n"),
        },
        Template {
            name: "flow",
            text: BACKSTAGE.replace(
                "    connection:\n      host: db.internal\n      user: backstage\n@OLD@\n      port: 5432\n      ssl: !!bool true\n",
                "    connection: {host: db.internal, user: backstage, password: old, port: 5432}\n",
            ),
        },
    ]
}

/// A value to rotate: what it is, and the mint's whole stdout.
struct Case {
    shape: String,
    generated: bool,
    out: Vec<u8>,
}

impl Case {
    fn value(&self) -> String {
        let out = self.out.strip_suffix(b"\n").unwrap_or(&self.out);
        String::from_utf8_lossy(out).into_owned()
    }

    /// Why credshim must refuse it (76), if it must.
    fn refused(&self) -> Option<&'static str> {
        let out = self.out.strip_suffix(b"\n").unwrap_or(&self.out);
        match std::str::from_utf8(out) {
            Err(_) => Some("invalid UTF-8"),
            Ok("") => Some("empty"),
            Ok(v) if v.contains('\0') => Some("NUL"),
            Ok(_) => None,
        }
    }
}

fn fixed_cases() -> Vec<Case> {
    let norway = [
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "true",
        "false",
        "null",
        "~",
        "0x1F",
        "1e3",
        ".inf",
        "2026-01-01",
        "012",
    ];
    let mut values: Vec<(String, String)> = Vec::new();
    for v in norway {
        let variants = [
            v.to_string(),
            v.to_uppercase(),
            format!("{}{}", v[..1].to_uppercase(), &v[1..]),
        ];
        for variant in variants {
            if !values.iter().any(|(_, x)| *x == variant) {
                values.push((format!("Norway {v:?}"), variant));
            }
        }
    }
    let text: &[(&str, &str)] = &[
        ("JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.Ab-_+/=~9"),
        ("AWS secret key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        (
            "Vault token",
            "hvs.CAESIJlU9JMYEhOPYv4igdhm9PnZDrabYpZLTVIYqxNVhCkEGh4K",
        ),
        ("GCP token", "ya29.a0AfH6SMBx-3_Ab.cD~ef"),
        ("digits first", "9f8e7d"),
        ("a number", "12345"),
        ("a float", "3.14"),
        ("a timestamp", "2001-12-14t21:59:43.10-05:00"),
        ("sexagesimal", "1:20"),
        ("underscores", "1_000"),
        ("binary", "0b101"),
        ("octal 1.2", "0o17"),
        ("plus", "+1"),
        ("NaN", ".NaN"),
        ("negative inf", "-.inf"),
        ("=", "="),
        ("merge key", "<<"),
        ("`: ` inside", "a: b"),
        ("` #` inside", "a #b"),
        ("`#` first", "#x"),
        ("`:` last", "a:"),
        ("`-` first", "-x"),
        ("`- ` first", "- x"),
        ("`? ` first", "? x"),
        ("`&` first", "&anchor"),
        ("`*` first", "*alias"),
        ("`!` first", "!tag"),
        ("`%` first", "%x"),
        ("`@` first", "@x"),
        ("backtick first", "`x"),
        ("`|` first", "|x"),
        ("`>` first", ">x"),
        ("flow indicators", "[a], {b}, c"),
        ("`'`", "it's"),
        ("`\"`", "say \"hi\""),
        ("both quotes", "'\"'"),
        ("backslashes", "C:\\dir\\n"),
        ("a trailing backslash", "ends\\"),
        ("leading and trailing spaces", "  two  "),
        ("only spaces", "   "),
        ("a tab", "a\tb"),
        ("LF", "l1\nl2"),
        ("CR", "a\rb"),
        ("CRLF inside", "a\r\nb"),
        ("NEL", "a\u{85}b"),
        ("LS and PS", "a\u{2028}b\u{2029}c"),
        ("BOM", "\u{feff}x"),
        ("DEL and C0", "a\u{7f}\u{1}\u{1b}b"),
        ("C1", "a\u{9b}b"),
        ("non-characters", "a\u{fffe}\u{ffff}b"),
        ("UTF-8", "pässwörd 日本 🔑"),
        ("`${X}`", "${X}"),
        ("tilde first", "~root"),
        ("a comment-looking value", "# not a comment"),
        ("document markers", "--- ..."),
        ("NUL", "a\0b"),
        ("empty", ""),
    ];
    values.extend(
        text.iter()
            .map(|(s, v)| ((*s).to_string(), (*v).to_string())),
    );
    let mut cases: Vec<Case> = values
        .into_iter()
        .map(|(shape, v)| Case {
            shape,
            generated: false,
            out: v.into_bytes(),
        })
        .collect();
    cases.push(Case {
        shape: "invalid UTF-8".into(),
        generated: false,
        out: b"ab\xff".to_vec(),
    });
    cases
}

fn value_strategy() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        "'", "\"", "\\", ": ", " #", "#", "-", "? ", "&", "*", "!", "|", ">", "%", "@", "`", "{",
        "}", "[", "]", ",", "~", "<<", "=", " ", "\t", "\n", "\r", "yes", "No", "0x", "1e", ".",
    ])
    .prop_map(str::to_owned);
    let unicode = prop::sample::select(vec![
        "é", "日本", "🔑", "\u{a0}", "\u{2028}", "\u{85}", "\u{feff}", "\u{1}", "\u{7f}",
    ])
    .prop_map(str::to_owned);
    let piece = prop_oneof![
        8 => "[a-zA-Z0-9]{1,4}",
        3 => "[ -~]",
        6 => special,
        1 => "\\PC",
        1 => unicode,
    ];
    let pieces = prop::collection::vec(piece, 1..8).prop_map(|p| p.concat());
    prop_oneof![
        2 => "[A-Za-z0-9._+/=~@%,:-]{1,48}",
        2 => "[ -~]{1,32}",
        5 => (" {0,2}", pieces, " {0,2}").prop_map(|(a, p, b)| format!("{a}{p}{b}")),
    ]
}

fn generated_cases() -> Vec<Case> {
    let n = std::env::var("CREDSHIM_READERS_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let strategy = value_strategy();
    (0..n)
        .map(|i| Case {
            shape: format!("generated value #{i}"),
            generated: true,
            out: strategy
                .new_tree(&mut runner)
                .expect("generate a value")
                .current()
                .into_bytes(),
        })
        .collect()
}

struct Run {
    case: usize,
    template: usize,
    file: String,
}

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
                        .args([
                            "rotate", "--target", &run.file, "--set", POINTER, "--", "cat",
                        ])
                        .arg(format!("c{:04}.out", run.case))
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

/// A reader: its name and how to run it on a list of files (`Err` when it is not installed).
struct Reader {
    name: &'static str,
    command: fn() -> Result<Command, String>,
}

fn readers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/readers/node_modules")
}

fn helper(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/readers")
        .join(name)
}

fn has(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn python(module: &str, which: &'static str) -> Result<Command, String> {
    if !has("python3", &["-c", &format!("import {module}")]) {
        return Err(format!("python3 cannot import {module} (see .ci/run)"));
    }
    let mut cmd = Command::new("python3");
    cmd.arg(helper("yaml-python.py")).arg(which);
    Ok(cmd)
}

fn node(package: &'static str) -> Result<Command, String> {
    let dir = readers_dir().join(package);
    if !has("node", &["--version"]) || !dir.join("package.json").exists() {
        return Err(format!(
            "node or the npm package {package} under {} is missing (see .ci/run)",
            readers_dir().display()
        ));
    }
    let mut cmd = Command::new("node");
    cmd.arg("--no-warnings")
        .arg(helper("yaml-node.js"))
        .arg(package)
        .arg(dir);
    Ok(cmd)
}

const READERS: [Reader; 5] = [
    Reader {
        name: "PyYAML",
        command: || python("yaml", "pyyaml"),
    },
    Reader {
        name: "ruamel.yaml",
        command: || python("ruamel.yaml", "ruamel"),
    },
    Reader {
        name: "npm yaml",
        command: || node("yaml"),
    },
    Reader {
        name: "js-yaml",
        command: || node("js-yaml"),
    },
    Reader {
        name: "Psych",
        command: || {
            if !has("ruby", &["-ryaml", "-e", "1"]) {
                return Err("ruby with Psych is not installed (apt-get install ruby)".into());
            }
            let mut cmd = Command::new("ruby");
            cmd.arg(helper("yaml-ruby.rb"));
            Ok(cmd)
        },
    },
];

/// Every file's reading by `reader`: `{"doc": node}` or `{"error": why}`, by file name.
fn read_all(
    reader: &Reader,
    dir: &Path,
    files: &[String],
) -> Result<BTreeMap<String, Value>, String> {
    let mut cmd = (reader.command)()?;
    cmd.current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("run {}: {e}", reader.name))?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(files.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{} failed: {}\n{}",
        reader.name,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{} printed no JSON: {e}", reader.name));
    Ok(files
        .iter()
        .map(|f| (f.clone(), json[f.as_str()].clone()))
        .collect())
}

/// The node at `path` in a typed document, and its mapping with the entry's index.
fn at<'a>(doc: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |node, step| {
        node["map"]
            .as_array()?
            .iter()
            .find(|e| e[0] == json!(["str", step]))
            .map(|e| &e[1])
    })
}

/// `doc` without the entry at `path`, to compare everything else.
fn without(doc: &Value, path: &[&str]) -> Value {
    let mut doc = doc.clone();
    let (last, steps) = path.split_last().unwrap();
    let mut node = &mut doc;
    for step in steps {
        let Some(entries) = node["map"].as_array_mut() else {
            return doc;
        };
        let Some(e) = entries.iter_mut().find(|e| e[0] == json!(["str", step])) else {
            return doc;
        };
        node = &mut e[1];
    }
    if let Some(entries) = node["map"].as_array_mut() {
        entries.retain(|e| e[0] != json!(["str", last]));
    }
    doc
}

#[test]
fn every_yaml_reader_reads_the_rotated_value_as_a_string_and_the_rest_as_before() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let templates = templates();
    let mut cases = fixed_cases();
    let n_fixed = cases.len();
    cases.extend(generated_cases());
    let mut runs = Vec::new();
    for (c, case) in cases.iter().enumerate() {
        fs::write(dir.path().join(format!("c{c:04}.out")), &case.out).unwrap();
        let chosen: Vec<usize> = if case.generated {
            vec![c % templates.len()]
        } else {
            (0..templates.len()).collect()
        };
        for t in chosen {
            let file = format!("c{c:04}-{}.yaml", templates[t].name);
            fs::write(dir.path().join(&file), &templates[t].text).unwrap();
            runs.push(Run {
                case: c,
                template: t,
                file,
            });
        }
    }
    for t in &templates {
        fs::write(dir.path().join(t.before()), &t.text).unwrap();
    }
    let results = rotate_all(dir.path(), &runs);
    let mut failures = Vec::new();
    let mut written = Vec::new();
    let mut refused = 0;
    for (run, (code, stderr)) in runs.iter().zip(&results) {
        let case = &cases[run.case];
        let template = &templates[run.template];
        let text = fs::read_to_string(dir.path().join(&run.file)).unwrap_or_default();
        let what = format!("{} {:?} in {}", case.shape, case.value(), run.file);
        match case.refused() {
            Some(why) => {
                refused += 1;
                if *code != Some(76) || text != template.text {
                    failures.push(format!("{what} must be refused ({why}) with 76, file untouched; exit {code:?}: {stderr}"));
                }
            }
            None if *code == Some(0) => written.push(run),
            None => failures.push(format!("{what} must be written; exit {code:?}: {stderr}")),
        }
        assert!(
            !stderr.contains(&case.value()) || case.value().len() < 4,
            "{what}: stderr shows the value"
        );
    }
    let rotated_in = started.elapsed();
    let path: Vec<&str> = POINTER[1..].split('/').collect();
    let mut summary = Vec::new();
    let checked: Vec<_> = std::thread::scope(|s| {
        let threads: Vec<_> = READERS
            .iter()
            .map(|reader| {
                let (dir, templates, written, cases, path) = (dir.path(), &templates, &written, &cases, &path);
                s.spawn(move || {
                    let started = Instant::now();
                    let mut files: Vec<String> = templates.iter().map(Template::before).collect();
                    files.extend(written.iter().map(|r| r.file.clone()));
                    let readings = read_all(reader, dir, &files)?;
                    let mut failures = Vec::new();
                    let mut carried = vec![false; cases.len()];
                    let mut files_checked = 0;
                    for run in written.iter() {
                        let template = &templates[run.template];
                        let before = &readings[&template.before()];
                        let Some(before) = before.get("doc") else {
                            failures.push(format!("{}: cannot read the {} template: {}", reader.name, template.name, before));
                            continue;
                        };
                        let case = &cases[run.case];
                        let value = case.value();
                        let text = fs::read_to_string(dir.join(&run.file)).unwrap();
                        let line = text.lines().find(|l| l.contains("password:")).unwrap_or("").to_string();
                        let what = format!("{}: {} {value:?} in {}, written as {line:?}", reader.name, case.shape, run.file);
                        let after = &readings[&run.file];
                        let Some(after) = after.get("doc") else {
                            failures.push(format!("{what}: cannot read the file: {}", after));
                            continue;
                        };
                        files_checked += 1;
                        match at(after, path) {
                            Some(v) if *v == json!(["str", value]) => carried[run.case] = true,
                            got => failures.push(format!("{what}: reads {got:?}")),
                        }
                        if without(after, path) != without(before, path) {
                            failures.push(format!("{what}: another node changed"));
                        }
                    }
                    let fixed = carried[..n_fixed].iter().filter(|c| **c).count();
                    let generated = carried[n_fixed..].iter().filter(|c| **c).count();
                    Ok::<_, String>((
                        format!(
                            "{}: {} values read back ({fixed} fixed + {generated} generated) in {files_checked} files, {:.1?}",
                            reader.name,
                            fixed + generated,
                            started.elapsed()
                        ),
                        failures,
                    ))
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for (reader, result) in READERS.iter().zip(checked) {
        match result {
            Ok((line, found)) => {
                summary.push(line);
                failures.extend(found);
            }
            Err(why) => skip(&format!("reader {}: {why}", reader.name)),
        }
    }
    eprintln!(
        "yaml reader battery: {} values ({n_fixed} fixed + {} generated), {} rotations ({} written, {refused} refused) in {rotated_in:.1?}, {:.1?} in all",
        cases.len(),
        cases.len() - n_fixed,
        runs.len(),
        written.len(),
        started.elapsed()
    );
    for line in &summary {
        eprintln!("  {line}");
    }
    assert!(
        failures.is_empty(),
        "{} reader-compatibility failures; the first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}

/// What a reader made of a corpus file at a pointer: a typed node, or an error.
enum Seen {
    Node(Value),
    Error,
}

/// The reader behaviours docs/formats/yaml.md rests on, read from `tests/corpus/yaml/`: if a
/// reader changes one of them, the rule built on it must be looked at again.
#[test]
fn the_corpus_reads_as_the_rules_file_says() {
    use Seen::{Error, Node};
    let s = |v: &str| Node(json!(["str", v]));
    let b = |v: bool| Node(json!(["bool", v]));
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/yaml");
    // (file, pointer, [PyYAML, ruamel.yaml, npm yaml, js-yaml, Psych])
    let facts: Vec<(&str, &str, [Seen; 5])> = vec![
        // `yes`/`on` plain: booleans in YAML 1.1 only. Quoted whenever a reader types it.
        (
            "norway.yaml",
            "/k01",
            [b(true), s("yes"), s("yes"), s("yes"), b(true)],
        ),
        (
            "norway.yaml",
            "/k18",
            [b(true), s("On"), s("On"), s("On"), b(true)],
        ),
        // `y`/`n`: strings in all five, quoted all the same (the YAML 1.1 spec lists them).
        (
            "norway.yaml",
            "/k05",
            [s("y"), s("y"), s("y"), s("y"), s("y")],
        ),
        // `1e3`: a number in the 1.2 readers, a string in PyYAML and Psych.
        (
            "norway.yaml",
            "/k12",
            [
                s("1e3"),
                Node(json!(["float", "1000.0"])),
                Node(json!(["int", "1000"])),
                Node(json!(["int", "1000"])),
                s("1e3"),
            ],
        ),
        // `1:20`: 80 in PyYAML, 4800 in Psych, a string in the 1.2 readers.
        (
            "norway.yaml",
            "/k27",
            [
                Node(json!(["int", "80"])),
                s("1:20"),
                s("1:20"),
                s("1:20"),
                Node(json!(["int", "4800"])),
            ],
        ),
        // `2026-01-01`: a date everywhere but the npm yaml package.
        (
            "norway.yaml",
            "/k14",
            [
                Node(json!(["date", "2026-01-01"])),
                Node(json!(["date", "2026-01-01"])),
                s("2026-01-01"),
                Node(json!(["date", "2026-01-01T00:00:00.000Z"])),
                Node(json!(["date", "2026-01-01"])),
            ],
        ),
        // `=`: the 1.1 value type; the Python readers cannot construct it.
        ("equals.yaml", "/k", [Error, Error, s("="), s("="), s("=")]),
        // NEL, LS written raw: PyYAML and Psych fail, ruamel folds NEL: so they are escaped.
        (
            "raw-line-breaks.yaml",
            "/tab_single",
            [Error, s("a\tb"), s("a\tb"), s("a\tb"), Error],
        ),
        // Escapes in double quotes: every reader agrees.
        (
            "quoting.yaml",
            "/double_escapes",
            [
                s("tab\there \"q\" back\\slash nul\0 nel\u{85} ls\u{2028} bom\u{feff} del\u{7f}"),
                s("tab\there \"q\" back\\slash nul\0 nel\u{85} ls\u{2028} bom\u{feff} del\u{7f}"),
                s("tab\there \"q\" back\\slash nul\0 nel\u{85} ls\u{2028} bom\u{feff} del\u{7f}"),
                s("tab\there \"q\" back\\slash nul\0 nel\u{85} ls\u{2028} bom\u{feff} del\u{7f}"),
                s("tab\there \"q\" back\\slash nul\0 nel\u{85} ls\u{2028} bom\u{feff} del\u{7f}"),
            ],
        ),
        (
            "quoting.yaml",
            "/single",
            [
                s("it's # not a comment: really"),
                s("it's # not a comment: really"),
                s("it's # not a comment: really"),
                s("it's # not a comment: really"),
                s("it's # not a comment: really"),
            ],
        ),
        // A merge key: the npm yaml package (YAML 1.2) keeps `<<` as a key, the rest merge.
        (
            "merge-keys.yaml",
            "/db/password",
            [
                s("from-base"),
                s("from-base"),
                Node(Value::Null),
                s("from-base"),
                s("from-base"),
            ],
        ),
        // A second document: only Psych reads (the first); the rest fail.
        (
            "multi-document.yaml",
            "/a",
            [Error, Error, Error, Error, s("first")],
        ),
        // A key twice: PyYAML and Psych keep the last, the rest fail.
        (
            "duplicate-keys.yaml",
            "/db/password",
            [s("second"), Error, Error, Error, s("second")],
        ),
        // An application's tag: the npm yaml package and Psych read the string, the rest fail.
        (
            "tags.yaml",
            "/custom",
            [Error, Error, s("db_password"), Error, s("db_password")],
        ),
        // A block scalar and the quoted scalar that replaces one: every reader agrees.
        (
            "block-scalars.yaml",
            "/literal",
            [
                s("line one\nline two\n"),
                s("line one\nline two\n"),
                s("line one\nline two\n"),
                s("line one\nline two\n"),
                s("line one\nline two\n"),
            ],
        ),
        (
            "flow-and-empty.yaml",
            "/empty/password",
            [
                Node(json!(["null"])),
                Node(json!(["null"])),
                Node(json!(["null"])),
                Node(json!(["null"])),
                Node(json!(["null"])),
            ],
        ),
    ];
    let files: Vec<String> = fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    let mut failures = Vec::new();
    for (r, reader) in READERS.iter().enumerate() {
        let readings = match read_all(reader, &corpus, &files) {
            Ok(readings) => readings,
            Err(why) => {
                skip(&format!("reader {}: {why}", reader.name));
                continue;
            }
        };
        for (file, pointer, seen) in &facts {
            let reading = &readings[*file];
            let path: Vec<&str> = pointer[1..].split('/').collect();
            let got = reading
                .get("doc")
                .map(|d| at(d, &path).cloned().unwrap_or(Value::Null));
            let ok = match (&seen[r], &got) {
                (Error, None) => true,
                (Node(want), Some(got)) => want == got,
                _ => false,
            };
            if !ok {
                failures.push(format!("{}: {file} {pointer}: read {reading}", reader.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
