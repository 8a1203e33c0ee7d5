//! Reader compatibility of the `ini` format: what `credshim rotate` writes into an INI file reads
//! back as meant in the real readers docs/formats/ini.md was drawn from.
//!
//! A value of every shape the rules care about, and proptest-generated ones, are each rotated
//! (by the real binary, `--set /app/cs_k=/v` from a JSON mint) into five files: an AWS
//! credentials file where the key is present, a CRLF file with no final newline where the key is
//! missing from `[app]` (added after its last key, before the comment that introduces the next
//! section), a `my.cnf` with a valueless `skip-networking` and no `[app]` (appended), a file of
//! Python-only structure (`key: value`, a continued value), and one with `[app]` and the key
//! twice. Every reader then reads every file, before and after, in one process: the key must
//! read as the value (every occurrence, where a reader reports them), every other key as that
//! same reader read it before, and a reader that could not read a file before must fail on it
//! after, no more and no less. A refused value must leave the file byte-identical; each refused
//! shape is also written into a file by hand, unquoted, to count the readers that would then
//! misread it (the evidence for the refusal). PHP's `parse_ini_file` is left out, and counted,
//! for values with a character its unquoted form reads otherwise (`= ; " ' ~ ! | & ^ ( )` and
//! `${`): docs/formats/ini.md says why no form serves it and the others at once.
//!
//! Readers: configparser raw and with interpolation, botocore's `raw_config_parse` and the AWS
//! CLI's `aws configure get` (all from the venv of `.ci/aws-venv`), MariaDB's
//! `my_print_defaults`, PHP's `parse_ini_file`; `tests/readers/ini-readers.py` runs them. One
//! that is missing is skipped with a printed line, or fails under `CREDSHIM_TEST_REQUIRE_ALL`.
//! `CREDSHIM_READERS_CASES` (default 100) sets how many values are generated and
//! `CREDSHIM_READERS_SEED` draws other ones.

use crate::harness::{BIN, aws_venv_bin, on_path, skip};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The key every case sets.
const KEY: &str = "/app/cs_k";

/// The files the value is rotated into: (file name, text).
const TEMPLATES: &[(&str, &str)] = &[
    (
        "credentials",
        "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = long/lived+key\n\n\
         [app]\naws_access_key_id = ASIAOLD\ncs_k = old\nregion=eu-west-1\n",
    ),
    (
        "app.ini",
        "; settings\r\n[app]\r\nregion = eu\r\n\r\n; the next one\r\n[other]\r\nx = 1",
    ),
    (
        "my.cnf",
        "[mysqld]\nport = 3306\nskip-networking\n\n[client]\nuser = app\n",
    ),
    (
        "python.cfg",
        "[app]\nj: colon\nnote = multi\n  line\ncs_k = old\n[tail]\nz = 1\n",
    ),
    (
        "twice.ini",
        "[app]\ncs_k = one\n[x]\ny = 2\n[app]\ncs_k = two\n",
    ),
];

/// Readers as the driver names them, in the order of the summary.
const READERS: &[&str] = &["raw", "interp", "botocore", "aws", "mysql", "php"];

/// Shapes every reader must read as written.
const ACCEPTED: &[&str] = &[
    "ASIAQWERTY1234567890",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+example==",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.Ab-_+/=9",
    "2026-08-21T13:46:32Z",
    "inner space  and\ttab",
    "caf\u{e9} \u{1f600}",
    "a=b",
    "semi;colon",
    "it's",
    "say \"hi\"",
    "[bracketed]",
    "(x)|&^~!",
    "${HOME}",
    "$dollar",
    "'half",
    "ok_lower_name",
    "Yes-but-longer",
    "NULLABLE",
];

/// Shapes that are refused (76): (value, why).
const REFUSED: &[(&str, &str)] = &[
    ("line\nbreak", "a line break injects a key"),
    ("carriage\rreturn", "a CR is a line break to Python"),
    ("vertical\u{b}tab", "MariaDB ends the value"),
    (" leading", "stripped"),
    ("trailing ", "stripped"),
    ("50%", "interpolation fails"),
    ("50%%", "interpolation reads %"),
    ("%(cs_x)s", "interpolation expands it"),
    ("a#b", "MariaDB comment"),
    ("a\\tb", "MariaDB escape"),
    ("\"quoted\"", "MariaDB and PHP drop quotes"),
    ("'quoted'", "MariaDB and PHP drop quotes"),
    ("v ;c", "PHP comment"),
    ("yes", "PHP boolean"),
    ("none", "PHP null"),
    ("E_ALL", "PHP constant"),
];

/// Characters PHP's unquoted form reads otherwise (ini-php probes in docs/formats/ini.md).
fn php_misreads(v: &str) -> bool {
    v.contains(['=', ';', '"', '\'', '~', '!', '|', '&', '^', '(', ')']) || v.contains("${")
}

fn value_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9+/=]{16,64}",
        "[A-Za-z0-9._:@,-]{1,24}",
        "[ -~]{1,20}",
        "[a-z%#;\\\\\"'= :]{1,10}",
        "[\ta-z\u{e9}\u{2028}\u{85}\u{a0}]{1,8}",
        any::<String>(),
    ]
}

fn generated() -> Vec<String> {
    let n = std::env::var("CREDSHIM_READERS_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    let mut runner = match std::env::var("CREDSHIM_READERS_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(seed) => {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&seed.to_le_bytes());
            TestRunner::new_with_rng(
                Config::default(),
                TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
            )
        }
        None => TestRunner::deterministic(),
    };
    let strategy = value_strategy();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("value").current())
        .filter(|v| !v.is_empty() && !v.contains('\0'))
        .collect()
}

/// The readers at hand: the driver's flags, and which readers they enable.
fn readers() -> Option<(PathBuf, Vec<String>, Vec<&'static str>)> {
    let Some(python) = aws_venv_bin("python") else {
        skip("no venv with the AWS CLI at target/aws-venv (run .ci/aws-venv)");
        return None;
    };
    let mut args = vec!["--aws".to_string()];
    let mut have = vec!["raw", "interp", "botocore", "aws"];
    match on_path("my_print_defaults") {
        Some(p) => {
            args.extend(["--mysql".into(), p.display().to_string()]);
            have.push("mysql");
        }
        None => skip("my_print_defaults (Debian mariadb-client-core) is not installed"),
    }
    match on_path("php") {
        Some(p) => {
            args.extend(["--php".into(), p.display().to_string()]);
            have.push("php");
        }
        None => skip("php (Debian php-cli) is not installed"),
    }
    Some((python, args, have))
}

/// Every reader's reading of every file in `files`.
fn read_all(python: &Path, args: &[String], files: &[PathBuf]) -> BTreeMap<String, Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/readers/ini-readers.py");
    let mut child = Command::new(python)
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the INI readers");
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(names.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the INI readers failed");
    serde_json::from_slice(&out.stdout).expect("the readers' JSON")
}

/// One reader's view of a file without `key` of `section` ("" before any section).
fn without(reading: &Value, section: &str, key: &str) -> Value {
    let mut r = reading.clone();
    if let Some(keys) = r.get_mut(section).and_then(Value::as_object_mut) {
        keys.remove(key);
        if keys.is_empty() {
            r.as_object_mut().unwrap().remove(section);
        }
    }
    r
}

/// Whether a reader read every occurrence of `key` in `section` as `value`; why not, if not.
fn reads(
    before: &Value,
    after: &Value,
    section: &str,
    key: &str,
    value: &str,
) -> Result<(), String> {
    let got = &after[section][key];
    let all = got
        .as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x == value));
    if !all {
        return Err(format!("read {got}"));
    }
    if without(before, section, key) != without(after, section, key) {
        return Err(format!("changed other keys: {before} -> {after}"));
    }
    Ok(())
}

/// Rotate `value` into a copy of template `t` in `dir`; the exit code and the file's path.
fn rotate(dir: &Path, t: usize, value: &str) -> (i32, PathBuf) {
    let (name, text) = TEMPLATES[t];
    fs::create_dir_all(dir).unwrap();
    let target = dir.join(name);
    fs::write(&target, text).unwrap();
    fs::write(dir.join("mint.json"), json!({ "v": value }).to_string()).unwrap();
    let out = Command::new(BIN)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args(["rotate", "--target", name, "--set", &format!("{KEY}=/v")])
        .args(["--", "/bin/cat", "mint.json"])
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains(value) || value.len() < 5,
        "a message shows the value {value:?}: {stderr}"
    );
    (code, target)
}

#[test]
fn every_reader_reads_what_credshim_wrote() {
    let Some((python, args, have)) = readers() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut values: Vec<String> = ACCEPTED.iter().map(|s| s.to_string()).collect();
    values.extend(REFUSED.iter().map(|(v, _)| v.to_string()));
    values.extend(generated());

    // Before: each template as it is.
    let mut files = Vec::new();
    for (t, (name, text)) in TEMPLATES.iter().enumerate() {
        let p = tmp.path().join(format!("before-{t}")).join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        files.push(p);
    }
    // Rotations: what was accepted, and what was refused (76) with the file unchanged.
    let mut rotated = Vec::new(); // (value index, template, path)
    let mut refused = vec![false; values.len()];
    for (i, v) in values.iter().enumerate() {
        for (t, (name, text)) in TEMPLATES.iter().enumerate() {
            let (code, path) = rotate(&tmp.path().join(format!("case-{i}-{t}")), t, v);
            match code {
                0 => {
                    rotated.push((i, t, path.clone()));
                    files.push(path);
                }
                // A value is refused whatever the file (the unit proptests check that); the
                // first file shows it is left as it was.
                76 => {
                    assert_eq!(fs::read_to_string(&path).unwrap(), *text);
                    refused[i] = true;
                    // The same value written by hand, unquoted: who misreads it?
                    let by_hand = tmp.path().join(format!("hand-{i}/credentials"));
                    fs::create_dir_all(by_hand.parent().unwrap()).unwrap();
                    let line = format!("cs_k = {v}");
                    fs::write(&by_hand, TEMPLATES[0].1.replace("cs_k = old", &line)).unwrap();
                    files.push(by_hand);
                    break;
                }
                other => panic!("{v:?} into {name}: exit {other}"),
            }
        }
    }
    for (v, _) in REFUSED {
        let i = values.iter().position(|x| x == v).unwrap();
        assert!(refused[i], "{v:?} was not refused");
    }
    for v in ACCEPTED {
        let i = values.iter().position(|x| x == v).unwrap();
        assert!(!refused[i], "{v:?} was refused");
    }

    let readings = read_all(&python, &args, &files);
    let reading = |p: &Path, r: &str| readings[&p.display().to_string()][r].clone();
    let mut counts: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new(); // read, n/a, left out
    let mut failures = Vec::new();
    for (i, t, path) in &rotated {
        let v = &values[*i];
        for r in &have {
            let before = reading(&files[*t], r);
            let after = reading(path, r);
            let c = counts.entry(r).or_default();
            if before.get("error").is_some() {
                if after.get("error").is_none() {
                    failures.push(format!("{r}: {} now reads", TEMPLATES[*t].0));
                }
                c.1 += 1;
                continue;
            }
            if *r == "php" && php_misreads(v) {
                c.2 += 1;
                continue;
            }
            match reads(&before, &after, "app", "cs_k", v) {
                Ok(()) => c.0 += 1,
                Err(why) => failures.push(format!("{r}: {v:?} into {}: {why}", TEMPLATES[*t].0)),
            }
        }
    }
    // The refused values, written unquoted by hand: the readers that would misread each.
    let mut misread: BTreeMap<&str, usize> = BTreeMap::new();
    let hand = refused.iter().filter(|r| **r).count();
    for (i, v) in values.iter().enumerate().filter(|(i, _)| refused[*i]) {
        let p = tmp.path().join(format!("hand-{i}/credentials"));
        let mut anyone = false;
        for r in &have {
            let got = &reading(&p, r)["app"]["cs_k"];
            if got
                .as_array()
                .is_none_or(|a| a.len() != 1 || a[0] != v.as_str())
            {
                *misread.entry(r).or_default() += 1;
                anyone = true;
            }
        }
        let shape = REFUSED.iter().find(|(x, _)| x == v).map(|(_, why)| *why);
        if !anyone && shape.is_some() {
            failures.push(format!("refused {v:?} ({shape:?}) is read by every reader"));
        }
    }
    let summary: Vec<String> = READERS
        .iter()
        .filter(|r| have.contains(r))
        .map(|r| {
            let (ok, na, out) = counts.get(r).copied().unwrap_or_default();
            format!(
                "{r} {ok} read back ({na} on files it cannot read, {out} left out), would misread {} of {hand} refused",
                misread.get(r).copied().unwrap_or(0)
            )
        })
        .collect();
    eprintln!(
        "ini readers: {} values, {} rotations; {}",
        values.len(),
        rotated.len(),
        summary.join("; ")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(have.len(), READERS.len(), "a reader was skipped");
}

/// Each file of the corpus the rules were drawn from (tests/corpus/ini), with the key set in it
/// and the exit code the rules give: a file they refuse stays byte-identical; in the others,
/// every reader that could read the file before reads the new value and every other key as it
/// did.
#[test]
fn the_corpus_is_edited_or_refused_as_the_rules_say() {
    let Some((python, args, have)) = readers() else {
        return;
    };
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/ini");
    let cases: &[(&str, &str, i32)] = &[
        ("aws-credentials.ini", "/app/aws_session_token", 0),
        ("aws-credentials.ini", "/new/aws_session_token", 0),
        ("bom.ini", "/a/k", 65),
        ("case.ini", "/app/key", 65),
        ("charset.ini", "/a/k1", 0),
        ("colon.ini", "/a/k", 65),
        ("comment-lines.ini", "/a/k", 0),
        ("constants.ini", "/a/k4", 0),
        ("continuation-after-blank.ini", "/a/k", 65),
        ("continuation.ini", "/a/k", 65),
        ("continuation.ini", "/a/next", 0),
        ("crlf.ini", "/a/k", 0),
        ("duplicate-key.ini", "/a/k", 0),
        ("duplicate-section.ini", "/a/k", 0),
        ("duplicate-section.ini", "/a/new", 0),
        ("empty.ini", "/a/k", 0),
        ("header-forms.ini", "/a/k", 0),
        ("header-forms.ini", "/b/j", 65),
        ("indented-header.ini", "/a/k", 65),
        ("indented-key.ini", "/a/k", 0),
        ("inline-comment.ini", "/a/k", 65),
        ("inline-comment.ini", "/a/j", 65),
        ("inline-comment.ini", "/a/m", 0),
        ("leading-spaces.ini", "/a/k", 0),
        ("no-final-newline.ini", "/a/k", 0),
        ("no-final-newline.ini", "/a/j", 0),
        ("no-section.ini", "/top", 0),
        ("percent.ini", "/a/other", 0),
        ("quotes.ini", "/a/k", 0),
        ("reserved.ini", "/a/k1", 0),
        ("spaces.ini", "/a/j", 0),
    ];
    let mut committed: Vec<String> = fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    committed.sort();
    let mut named: Vec<String> = cases.iter().map(|c| c.0.to_string()).collect();
    named.dedup();
    assert_eq!(committed, named, "every corpus file has a case");

    let tmp = tempfile::tempdir().unwrap();
    let value = "N3w-value/+x";
    let mut files = Vec::new();
    let mut done = Vec::new();
    for (i, (name, key, code)) in cases.iter().enumerate() {
        let text = fs::read_to_string(corpus.join(name)).unwrap();
        let before = tmp.path().join(format!("before-{i}/{name}"));
        fs::create_dir_all(before.parent().unwrap()).unwrap();
        fs::write(&before, &text).unwrap();
        let dir = tmp.path().join(format!("case-{i}"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), &text).unwrap();
        fs::write(dir.join("mint.json"), json!({ "v": value }).to_string()).unwrap();
        let out = Command::new(BIN)
            .current_dir(&dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .args(["rotate", "--target", name, "--set", &format!("{key}=/v")])
            .args(["--", "/bin/cat", "mint.json"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{name} {key}: {stderr}");
        let after = dir.join(name);
        if *code != 0 {
            assert_eq!(fs::read_to_string(&after).unwrap(), text, "{name}");
            continue;
        }
        files.extend([before.clone(), after.clone()]);
        done.push((name, key, before, after));
    }
    let mut args = args;
    args.push("--aws-every-key".into());
    let readings = read_all(&python, &args, &files);
    let reading = |p: &Path, r: &str| readings[&p.display().to_string()][r].clone();
    let mut failures = Vec::new();
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (name, key, before, after) in &done {
        let (section, k) = match key[1..].split_once('/') {
            Some((s, k)) => (s, k),
            None => ("", &key[1..]),
        };
        for r in &have {
            let (b, a) = (reading(before, r), reading(after, r));
            let c = counts.entry(r).or_default();
            if b.get("error").is_some() {
                assert!(a.get("error").is_some(), "{r} reads {name} only after");
                c.1 += 1;
                continue;
            }
            // configparser lowercases key names.
            let k = if ["raw", "interp", "botocore", "aws"].contains(r) {
                k.to_lowercase()
            } else {
                k.to_string()
            };
            // configparser's interpolation: a value that refers to the key (`%(k)s`) follows
            // it, as its author meant; it must read as its raw text with the new value in.
            let (mut b, mut a) = (b, a);
            if *r == "interp" {
                let raw = reading(after, "raw");
                let refer = format!("%({k})s");
                for (other, text) in raw[section].as_object().into_iter().flatten() {
                    let text = text[0].as_str().unwrap_or_default();
                    if other != &k && text.contains(&refer) {
                        let want = text.replace(&refer, value).replace("%%", "%");
                        if a[section][other][0] != want.as_str() {
                            failures.push(format!("interp: {name}: {other} does not follow {k}"));
                        }
                        b[section].as_object_mut().unwrap().remove(other);
                        a[section].as_object_mut().unwrap().remove(other);
                    }
                }
            }
            match reads(&b, &a, section, &k, value) {
                Ok(()) => c.0 += 1,
                Err(why) => failures.push(format!("{r}: {name} {key}: {why}")),
            }
        }
    }
    let summary: Vec<String> = READERS
        .iter()
        .filter(|r| have.contains(r))
        .map(|r| {
            let (ok, na) = counts.get(r).copied().unwrap_or_default();
            format!("{r} {ok} ({na} files it cannot read)")
        })
        .collect();
    eprintln!(
        "ini corpus: {} cases, {} edited; read back by {}",
        cases.len(),
        done.len(),
        summary.join(", ")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
