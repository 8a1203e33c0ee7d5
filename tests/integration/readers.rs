//! Reader compatibility (issue 4): what `credshim rotate` writes into a `.env` file reads back as
//! meant in the real readers that shared/ENV-FORMAT.md was drawn from.
//!
//! One battery: a value of every quoting tier and every refused shape of ENV-FORMAT.md, and a few
//! hundred proptest-generated values, are each rotated into files that also hold other keys (every
//! quoting style, `export`, comments, a value spanning lines with a `CS_K=` line inside, the key
//! twice, a missing final newline, LF and CRLF, values that refer to the key, another key's
//! backtick value). Each reader then reads every file, before and
//! after, in one process for all of them: the rotated key must read as the value (every
//! occurrence, for readers that report duplicates), every other key as that same reader read it
//! before, and a reader must not start complaining. A refused value must leave the file
//! byte-identical. A value a reader cannot be given in any form is left out for that reader only,
//! and its summary line counts them: rule 5 escapes for Node (it keeps the backslashes), `${...}`
//! and rule 5 `\$` for python-dotenv (ENV-FORMAT.md's warnings), and, found by this battery, a
//! value ending in `\` for python-dotenv, which then misreads the rest of the file as well. The
//! shells keep the CR of a CRLF line: the rotated key is compared without it, and their complaint
//! about a blank CRLF line (a command named CR) is let pass and counted.
//!
//! Readers: dotenvy (in process), `bash` and `dash` (`set -a; . ./f` in a cleared environment),
//! python-dotenv (`tests/readers/python-dotenv.py`) and Node's `dotenv` package installed under
//! `target/readers` (`tests/readers/node-dotenv.js`). One that is missing is skipped with a
//! printed line, or fails under `CREDSHIM_TEST_REQUIRE_ALL`.
//!
//! `CREDSHIM_READERS_CASES` (default 300) sets how many values are generated and
//! `CREDSHIM_READERS_SEED` (a number) draws other ones than the fixed default sequence.

use crate::harness::{BIN, skip};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The key every case rotates.
const KEY: &str = "CS_K";
/// Every key the templates set: the shells cannot list what a file set, so they are asked these.
const KEYS: &[&str] = &[
    "CS_A", "CS_B", "CS_C", "CS_D", "CS_E", "CS_F", "CS_G", "CS_H", "CS_I", "CS_J", "CS_KK", KEY,
];

/// The key twice (`export` first, a trailing comment on the last, which dotenvy's `dotenv()`
/// and everyone else disagree on), a `CS_K=` line inside another key's quoted value (not a key
/// line), and the other keys in every quoting style.
const TWICE: &str = r#"# reader battery: other keys, comments, export lines
export CS_A=plain-1
CS_B='single # not a comment $HOME'
CS_C="double it's"
CS_D=bare # trailing comment
export CS_K=old1
CS_E="multi
CS_K=inside-quotes
line"
  CS_F='indented'
# CS_K=commented-out
CS_K='old two' # keep this comment
CS_G="esc \"q\" \$x \\ back"
CS_H=
CS_I="${CS_A}-ref"
CS_J=last
"#;

/// The key absent (appended), the file without a final newline, its last line a comment ending
/// in `\` (a continuation for systemd).
const APPEND: &str = "export CS_A=plain-1\nCS_B='single # x'\nCS_C=\"double it's\"\n\
                      # a comment ending in a backslash \\";

/// The key absent (appended) after an unquoted value ending in `\`: without a blank line between
/// them, sh would join the appended line to that value.
const APPEND_CONTINUED: &str = "CS_A=plain-1\nCS_D=x\\\n";

/// Values that refer to the rotated key, in every form (ENV-FORMAT "How to splice": they follow
/// it in the readers that expand), and one that refers to another key.
const FOLLOWERS: &str = "CS_K=old1\nCS_A=${CS_K}-x\nCS_B=\"$CS_K/y\"\nCS_C='${CS_K}'\n\
                         CS_D=${CS_K:-d}\nCS_F=$CS_KK\n";

/// Another key's one-line backtick value (Node's quote, sh's command substitution, an error to
/// dotenvy), which stays as each reader read it.
const BACKTICKS: &str = "CS_A=`printf bt`\nCS_K=old1\nCS_B=x`y`\n";

/// A file the value is rotated into.
struct Template {
    name: &'static str,
    text: String,
    /// The keys whose values refer to the rotated one.
    followers: &'static [&'static str],
}

impl Template {
    fn crlf(&self) -> bool {
        self.text.contains("\r\n")
    }

    /// The file holding the template as it is, read by every reader as the "before".
    fn before(&self) -> String {
        format!("before-{}.env", self.name)
    }
}

fn templates() -> Vec<Template> {
    vec![
        Template {
            name: "twice",
            text: TWICE.into(),
            followers: &[],
        },
        Template {
            name: "twice-crlf",
            text: TWICE.replace('\n', "\r\n"),
            followers: &[],
        },
        Template {
            name: "append",
            text: APPEND.into(),
            followers: &[],
        },
        Template {
            name: "append-crlf",
            text: APPEND.replace('\n', "\r\n"),
            followers: &[],
        },
        // No CRLF variant: there `\` escapes the CR for sh, and the line continues nothing.
        Template {
            name: "append-continued",
            text: APPEND_CONTINUED.into(),
            followers: &[],
        },
        Template {
            name: "followers",
            text: FOLLOWERS.into(),
            followers: &["CS_A", "CS_B", "CS_C", "CS_D"],
        },
        Template {
            name: "backticks",
            text: BACKTICKS.into(),
            followers: &[],
        },
    ]
}

/// The quoting form ENV-FORMAT.md assigns a value (rules 2–5), computed here from the rules and
/// not from credshim, to decide which readers can be given the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    Bare,
    Single,
    Double,
    Escaped,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::Bare => "rule 2 unquoted",
            Tier::Single => "rule 3 single quotes",
            Tier::Double => "rule 4 double quotes",
            Tier::Escaped => "rule 5 escapes",
        })
    }
}

/// What `credshim rotate --set K` must do with mint output `out`: the tier it writes, or why it
/// refuses (exit 76).
fn outcome(out: &[u8]) -> Result<Tier, &'static str> {
    let Ok(v) = std::str::from_utf8(meant(out)) else {
        return Err("rule 1: invalid UTF-8");
    };
    if v.is_empty() {
        return Err("empty mint output");
    }
    if v.contains('\0') {
        return Err("rule 1: NUL");
    }
    if v.contains('\n') {
        return Err("rule 1: LF");
    }
    if v.contains('\r') {
        return Err("rule 1: CR");
    }
    match tier(v) {
        Tier::Escaped if v.contains('`') => Err("rule 6: needs escapes and has a backtick"),
        // Beyond ENV-FORMAT.md, found by this battery: python-dotenv misreads the rest of the file.
        Tier::Escaped if v.ends_with('\\') => Err("a trailing backslash"),
        tier => Ok(tier),
    }
}

/// The first of rules 2–5 that fits `v`.
fn tier(v: &str) -> Tier {
    let bare = |c: char| c.is_ascii_alphanumeric() || "._+/=~@%,:-".contains(c);
    if !v.is_empty() && v.chars().all(bare) && !v.starts_with('~') && !v.contains(":~") {
        Tier::Bare
    } else if !v.contains('\'') && !v.contains("\\\\") && !v.ends_with('\\') {
        Tier::Single
    } else if !v.contains(['"', '$', '\\', '`']) {
        Tier::Double
    } else {
        Tier::Escaped
    }
}

/// The value the mint output stands for: minus one trailing `\n` or `\r\n` (README).
fn meant(out: &[u8]) -> &[u8] {
    out.strip_suffix(b"\r\n")
        .or_else(|| out.strip_suffix(b"\n"))
        .unwrap_or(out)
}

/// One value to rotate.
struct Case {
    /// What the value is, for messages.
    shape: String,
    generated: bool,
    /// The mint's whole stdout.
    out: Vec<u8>,
}

impl Case {
    fn value(&self) -> String {
        String::from_utf8_lossy(meant(&self.out)).into_owned()
    }
}

fn fixed_cases() -> Vec<Case> {
    let text: &[(&str, &str)] = &[
        // Rule 2: tokens as they are minted.
        ("JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.Ab-_+/=~9"),
        ("AWS access key id", "AKIAIOSFODNN7EXAMPLE"),
        ("AWS secret key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        (
            "AWS session token",
            "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+abc=",
        ),
        (
            "Vault token",
            "hvs.CAESIJlU9JMYEhOPYv4igdhm9PnZDrabYpZLTVIYqxNVhCkEGh4KHGh2cy5ZS2dX",
        ),
        ("GCP access token", "ya29.a0AfH6SMBx-3_Ab.cD~ef"),
        ("every unquoted character", "AZaz09._+/=~@%,:-"),
        ("a tilde inside", "a~b"),
        // Rule 3.
        ("`#` inside", "pa#ss"),
        ("`#` first", "#hash"),
        ("` #` inside", "a #b"),
        ("a space", "two words"),
        ("a leading space", " lead"),
        ("a trailing space", "trail "),
        ("only spaces", "   "),
        ("a tab", "a\tb"),
        ("`$` then a word", "pa$word"),
        ("`$HOME`", "$HOME"),
        ("`${X}`", "${X}"),
        ("`${X:-d}`", "x${X:-d}y"),
        ("an unclosed `${`", "a${b"),
        ("a leading tilde", "~root"),
        ("`:~`", "a:~b"),
        ("a backslash", "a\\b"),
        ("`\\n` as text", "a\\nb"),
        ("a backslash and double quotes", "C:\\dir \"x\""),
        ("a backtick", "a`b"),
        ("command substitutions", "$(id)`id`"),
        ("double quotes", "\"quoted\""),
        ("UTF-8", "pässwörd 日本 🔑"),
        ("`=;&|`", "a=b;c&d|e"),
        ("glob characters", "*?[a]"),
        ("`!`", "!x"),
        // Rule 4.
        ("`'`", "it's"),
        ("only `'`", "'"),
        ("`'` and `#`", "it's #1"),
        ("two `'`", "''"),
        ("`'` and spaces at the ends", " it's "),
        ("`'` and a leading tilde", "~it's"),
        ("`'` and UTF-8", "l'été"),
        // Rule 5.
        ("`'` and `\"`", "it's \"q\""),
        ("`'` and `$`", "it's $5"),
        ("`'` and `${X}`", "it's ${X}"),
        ("`'` and `\\`", "it's \\ ok"),
        ("`\\\\`", "a\\\\b"),
        ("a trailing `\\`", "ends\\"),
        ("only `\\`", "\\"),
        ("`'` and `\\$`", "'\\$'"),
        ("`\\\"` and `'`", "\\\"'"),
        // Refused.
        ("NUL", "a\0b"),
        ("LF", "a\nb"),
        ("CR", "a\rb"),
        ("a trailing CR", "a\r"),
        ("LF before the trailing newline", "a\n\n"),
        ("`'` and a backtick", "it's `id`"),
        ("`\\\\` and a backtick", "a\\\\b`"),
        ("empty", ""),
    ];
    let mut cases: Vec<Case> = text
        .iter()
        .map(|(shape, value)| Case {
            shape: (*shape).to_owned(),
            generated: false,
            out: value.as_bytes().to_vec(),
        })
        .collect();
    cases.push(Case {
        shape: "invalid UTF-8".into(),
        generated: false,
        out: b"ab\xff\xfe".to_vec(),
    });
    cases
}

/// Values from printable ASCII, tokens, UTF-8 and the characters the rules turn on, with spaces at
/// the ends, and now and then a NUL, LF or CR.
fn value_strategy() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        "'", "\"", "$", "${X}", "${", "#", " #", "\\", "\\\\", "`", " ", "\t", "{", "}", "~", ":~",
        "=", "$(", ";", "*", "!", "\\n", "\\$", "\\\"",
    ])
    .prop_map(str::to_owned);
    let unicode = prop::sample::select(vec![
        "é", "日本", "🔑", "\u{a0}", "\u{2028}", "\u{85}", "\u{feff}", "\u{301}", "\u{1}",
        "\u{7f}", "\u{b}", "\u{c}",
    ])
    .prop_map(str::to_owned);
    let piece = prop_oneof![
        8 => "[a-zA-Z0-9]{1,4}",
        3 => "[ -~]",
        6 => special,
        1 => "\\PC",
        1 => unicode,
    ];
    let pieces = prop::collection::vec(piece, 1..10).prop_map(|p| p.concat());
    let refused = prop::sample::select(vec!["\0", "\n", "\r"]).prop_map(str::to_owned);
    prop_oneof![
        2 => "[A-Za-z0-9._+/=~@%,:-]{1,48}",
        2 => "[ -~]{1,32}",
        5 => (" {0,2}", pieces.clone(), " {0,2}").prop_map(|(a, p, b)| format!("{a}{p}{b}")),
        1 => (pieces.clone(), refused, pieces).prop_map(|(a, r, b)| format!("{a}{r}{b}")),
    ]
}

fn generated_cases() -> Vec<Case> {
    let n = std::env::var("CREDSHIM_READERS_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let mut runner = match std::env::var("CREDSHIM_READERS_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(seed) => {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&seed.to_le_bytes());
            let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
            TestRunner::new_with_rng(Config::default(), rng)
        }
        None => TestRunner::deterministic(),
    };
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

/// One rotation: case `case` into template `template`, in `file`.
struct Run {
    case: usize,
    template: usize,
    file: String,
}

/// Rotate every run's file in parallel; the result is (exit code, stderr) per run.
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
                        .args(["rotate", "--target", &run.file, "--set", KEY, "--", "cat"])
                        .arg(format!("c{:04}.out", run.case))
                        .stdin(Stdio::null());
                    for (k, _) in std::env::vars_os() {
                        let name = k.to_string_lossy();
                        if name.starts_with("CREDSHIM_")
                            || name == "RUST_LOG"
                            || name == "JOURNAL_STREAM"
                        {
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

/// What a reader made of one file: its keys in its order (`None`: a key without a value), and
/// what it complained about (python-dotenv's warnings, a shell's stderr).
struct Reading {
    pairs: Vec<(String, Option<String>)>,
    noise: Vec<String>,
}

/// Every file's reading, by file name; `Err` when the reader failed on the file.
type Readings = BTreeMap<String, Result<Reading, String>>;

/// Why a reader cannot be given a value, whatever form it is written in.
type Cannot = fn(&str, Tier) -> Option<Gap>;

/// What a reader that cannot be given a value gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gap {
    /// The value: only the rotated key goes unchecked.
    Value(&'static str),
    /// Also the keys after it: the whole file goes unchecked.
    File(&'static str),
}

struct Reader {
    name: &'static str,
    /// Reads every file named, relative to the dir; `Err` when the reader is not installed.
    read: fn(&Path, &[String]) -> Result<Readings, String>,
    cannot: Cannot,
    /// Reads a CRLF line's value with its CR (the shells): one trailing CR is dropped before the
    /// rotated key is compared; the other keys are compared with what it read before anyway.
    keeps_cr: bool,
}

const READERS: [Reader; 5] = [
    Reader {
        name: "dotenvy",
        read: read_dotenvy,
        cannot: carries_all,
        keeps_cr: false,
    },
    Reader {
        name: "bash",
        read: |dir, files| read_sh("bash", dir, files),
        cannot: carries_all,
        keeps_cr: true,
    },
    Reader {
        name: "dash",
        read: |dir, files| read_sh("dash", dir, files),
        cannot: carries_all,
        keeps_cr: true,
    },
    Reader {
        name: "python-dotenv",
        read: read_python,
        cannot: python_cannot,
        keeps_cr: false,
    },
    Reader {
        name: "node-dotenv",
        read: read_node,
        cannot: node_cannot,
        keeps_cr: false,
    },
];

fn carries_all(_: &str, _: Tier) -> Option<Gap> {
    None
}

fn node_cannot(_: &str, tier: Tier) -> Option<Gap> {
    (tier == Tier::Escaped).then_some(Gap::Value(
        "rule 5 escapes: Node's dotenv keeps the backslashes",
    ))
}

fn python_cannot(value: &str, tier: Tier) -> Option<Gap> {
    if value.ends_with('\\') {
        // Written `"...\\"`: python-dotenv's `"((?:\\"|[^"])*)"` takes the last `\"` as an
        // escaped quote and reads on to the next `"` in the file, or backtracks if there is none.
        Some(Gap::File(
            "a trailing `\\`: python-dotenv takes `\\\"` as an escaped quote and reads on to \
             the next `\"` in the file",
        ))
    } else if python_expands(value) {
        Some(Gap::Value(
            "`${...}`: python-dotenv expands it in every form",
        ))
    } else if tier == Tier::Escaped && value.contains('$') {
        Some(Gap::Value(
            "rule 5 `\\$`: python-dotenv keeps the backslash",
        ))
    } else {
        None
    }
}

/// Whether python-dotenv's interpolation pattern `\$\{[^}:]*(:-[^}]*)?\}` occurs in `value`.
fn python_expands(value: &str) -> bool {
    value.match_indices("${").any(|(at, _)| {
        let rest = &value[at + 2..];
        match rest.find(['}', ':']) {
            Some(i) if rest[i..].starts_with('}') => true,
            Some(i) => rest[i..].starts_with(":-") && rest[i..].contains('}'),
            None => false,
        }
    })
}

#[allow(clippy::unnecessary_wraps)] // the signature of `Reader::read`
fn read_dotenvy(dir: &Path, files: &[String]) -> Result<Readings, String> {
    Ok(files
        .iter()
        .map(|f| {
            let reading = dotenvy::from_path_iter(dir.join(f))
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map(|pairs| Reading {
                    pairs: pairs.into_iter().map(|(k, v)| (k, Some(v))).collect(),
                    noise: Vec::new(),
                })
                .map_err(|e| e.to_string());
            (f.clone(), reading)
        })
        .collect())
}

/// One shell process for all files: each is sourced in its own subshell with `set -a`, in an
/// environment holding only a PATH where no command is found, and each key is printed as
/// "set or not" and its value, NUL-separated, into `<file>.<shell>.out`; stderr goes to
/// `<file>.<shell>.err`.
fn read_sh(shell: &str, dir: &Path, files: &[String]) -> Result<Readings, String> {
    let path = format!("/usr/bin/{shell}");
    if !Path::new(&path).exists() {
        return Err(format!("{path} is not installed (apt-get install {shell})"));
    }
    let mut dump = String::new();
    for k in KEYS {
        write!(dump, " \"${{{k}+set}}\" \"${{{k}-}}\"").unwrap();
    }
    let script = format!(
        "sfx=$1; shift; for f in \"$@\"; do \
         ( set -a; . \"./$f\"; printf '%s\\0'{dump} end ) >\"$f.$sfx.out\" 2>\"$f.$sfx.err\" \
         </dev/null; done"
    );
    let status = Command::new(&path)
        .current_dir(dir)
        .env_clear()
        .env("PATH", dir.join("no-commands-here"))
        .arg("-c")
        .arg(script)
        .arg(shell)
        .arg(shell)
        .args(files)
        .stdin(Stdio::null())
        .status()
        .expect("run the shell");
    assert!(status.success(), "{shell} failed: {status}");
    Ok(files
        .iter()
        .map(|f| {
            let out = fs::read(dir.join(format!("{f}.{shell}.out"))).unwrap_or_default();
            let err = fs::read_to_string(dir.join(format!("{f}.{shell}.err"))).unwrap_or_default();
            let fields: Vec<_> = out
                .split(|&b| b == 0)
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            let noise: Vec<String> = err.lines().map(str::to_owned).collect();
            let reading = if fields.len() == 2 * KEYS.len() + 2 && fields[2 * KEYS.len()] == "end" {
                let pairs = KEYS
                    .iter()
                    .zip(fields.chunks(2))
                    .filter(|(_, f)| f[0] == "set")
                    .map(|(k, f)| ((*k).to_owned(), Some(f[1].clone())))
                    .collect();
                Ok(Reading { pairs, noise })
            } else {
                Err(format!("stopped before printing the keys: {err}"))
            };
            (f.clone(), reading)
        })
        .collect())
}

/// Run a helper of tests/readers that prints `{file: {"pairs": [[k, v]...], "warnings": [...]}}`.
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
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what} printed no JSON: {e}"));
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_owned))
            .collect()
    };
    files
        .iter()
        .map(|f| {
            let entry = &json[f.as_str()];
            let reading = if let Some(pairs) = entry["pairs"].as_array() {
                let pairs = pairs
                    .iter()
                    .map(|p| {
                        let key = p[0].as_str().expect("a key").to_owned();
                        (key, p[1].as_str().map(str::to_owned))
                    })
                    .collect();
                Ok(Reading {
                    pairs,
                    noise: strings(&entry["warnings"]),
                })
            } else {
                Err(format!("{}", entry["error"]))
            };
            (f.clone(), reading)
        })
        .collect()
}

fn read_python(dir: &Path, files: &[String]) -> Result<Readings, String> {
    let has = Command::new("python3")
        .args(["-c", "import dotenv"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has {
        return Err("python-dotenv is not installed (pip install python-dotenv)".into());
    }
    let mut cmd = Command::new("python3");
    cmd.arg(helper("python-dotenv.py"));
    Ok(read_json(cmd, "python-dotenv", dir, files))
}

fn read_node(dir: &Path, files: &[String]) -> Result<Readings, String> {
    let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/readers/node_modules/dotenv");
    let has_node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_node || !package.join("package.json").exists() {
        return Err(format!(
            "Node's dotenv is not installed in {} (npm install --prefix target/readers dotenv)",
            package.display()
        ));
    }
    let mut cmd = Command::new("node");
    cmd.arg(helper("node-dotenv.js")).arg(package);
    Ok(read_json(cmd, "node-dotenv", dir, files))
}

fn helper(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/readers")
        .join(name)
}

/// The lines of `text` that assign the rotated key, for messages.
fn key_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n')
        .filter(|l| {
            let l = l.trim_start();
            l.strip_prefix("export ")
                .unwrap_or(l)
                .trim_start()
                .starts_with("CS_K")
        })
        .collect()
}

/// How the keys other than the rotated one changed between two readings, if they did. A
/// follower of the rotated key must read as before with the key's old reading replaced by its
/// new one, as this reader reads them (the same as before for a reader that does not expand).
fn others_differ(before: &Reading, after: &Reading, followers: &[&str]) -> Option<String> {
    let last = |r: &Reading| {
        r.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == KEY)
            .and_then(|(_, v)| v.clone())
    };
    let value = last(after).unwrap_or_default();
    let old_key = last(before).filter(|v| !v.is_empty());
    let others = |r: &Reading| -> Vec<(String, Option<String>)> {
        r.pairs.iter().filter(|(k, _)| k != KEY).cloned().collect()
    };
    let old: Vec<_> = others(before)
        .into_iter()
        .map(|(k, v)| match (&old_key, followers.contains(&k.as_str())) {
            (Some(key), true) => {
                let v = v.map(|v| v.replace(key.as_str(), &value));
                (k, v)
            }
            _ => (k, v),
        })
        .collect();
    let new = others(after);
    (old != new).then(|| {
        old.iter().zip(&new).find(|(a, b)| a != b).map_or_else(
            || format!("keys {old:?} became {new:?}"),
            |(a, b)| format!("{} read {:?}, now {}={:?}", a.0, a.1, b.0, b.1),
        )
    })
}

/// Every reading of the rotated key, without the CR a shell keeps at the end of a CRLF line.
fn key_reads(after: &Reading, crlf_sh: bool) -> Vec<Option<&str>> {
    after
        .pairs
        .iter()
        .filter(|(k, _)| k == KEY)
        .map(|(_, v)| {
            let v = v.as_deref();
            if crlf_sh {
                v.map(|v| v.strip_suffix('\r').unwrap_or(v))
            } else {
                v
            }
        })
        .collect()
}

/// Whether a shell's complaint is about a command named CR: bash `$'\r': command not found`,
/// dash `\r: not found`.
fn is_cr_command(line: &str) -> bool {
    line.contains("$'\\r': command not found") || line.contains("\r: not found")
}

/// Counts for the summary of one reader.
#[derive(Default)]
struct Tally {
    files: usize,
    skipped: BTreeMap<&'static str, usize>,
    /// Files where the shell complained of a command named CR, which is let pass.
    cr_complaints: usize,
    notes: Vec<String>,
}

/// The values, the templates, and one rotation per (value, template) pair, in a temp dir.
struct Battery {
    dir: tempfile::TempDir,
    templates: Vec<Template>,
    cases: Vec<Case>,
    n_fixed: usize,
    runs: Vec<Run>,
}

impl Battery {
    /// Write every value (as the mint's output), every target and every template's "before".
    fn new() -> Battery {
        let dir = tempfile::tempdir().expect("temp dir");
        let templates = templates();
        let mut cases = fixed_cases();
        let n_fixed = cases.len();
        cases.extend(generated_cases());
        let mut runs = Vec::new();
        for (c, case) in cases.iter().enumerate() {
            fs::write(dir.path().join(format!("c{c:04}.out")), &case.out).unwrap();
            // Fixed values go into every template, generated ones into one each in turn.
            let chosen: Vec<usize> = if case.generated {
                vec![c % templates.len()]
            } else {
                (0..templates.len()).collect()
            };
            for t in chosen {
                let file = format!("c{c:04}-{}.env", templates[t].name);
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
        Battery {
            dir,
            templates,
            cases,
            n_fixed,
            runs,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Rotate every run; check refusals (76, file untouched) and that the rest was written.
    /// Returns the runs written, with their value's tier.
    fn rotate(&self, failures: &mut Vec<String>) -> Vec<(&Run, Tier)> {
        let mut written = Vec::new();
        let results = rotate_all(self.path(), &self.runs);
        for (run, (code, stderr)) in self.runs.iter().zip(&results) {
            let case = &self.cases[run.case];
            let template = &self.templates[run.template];
            let untouched =
                fs::read(self.path().join(&run.file)).unwrap() == template.text.as_bytes();
            let what = format!(
                "{} {:?} in a {} file ({})",
                case.shape,
                case.value(),
                template.name,
                run.file
            );
            match outcome(&case.out) {
                Err(why) => {
                    if *code != Some(76) || !untouched {
                        let file = if untouched { "untouched" } else { "changed" };
                        failures.push(format!(
                            "credshim: {what} must be refused ({why}) with 76 and the file \
                             untouched; exit {code:?}, file {file}, stderr: {stderr}",
                        ));
                    }
                    // Written all the same: show what the readers make of it.
                    if *code == Some(0) {
                        written.push((run, tier(&case.value())));
                    }
                }
                Ok(tier) if *code == Some(0) => written.push((run, tier)),
                Ok(tier) => failures.push(format!(
                    "credshim: {what} ({tier}) must be written; exit {code:?}, stderr: {stderr}"
                )),
            }
        }
        written
    }

    /// Read every written file and every "before" with `reader`, and compare: the summary line
    /// and the failures, or `Err` when the reader is not installed.
    fn check(
        &self,
        reader: &Reader,
        written: &[(&Run, Tier)],
    ) -> Result<(String, Vec<String>), String> {
        let started = Instant::now();
        let mut files: Vec<String> = self.templates.iter().map(Template::before).collect();
        files.extend(written.iter().map(|(run, _)| run.file.clone()));
        let readings = (reader.read)(self.path(), &files)?;
        let mut failures = Vec::new();
        let mut tally = Tally::default();
        for t in &self.templates {
            if let Err(e) = &readings[&t.before()] {
                tally
                    .notes
                    .push(format!("cannot read {} files at all: {e}", t.name));
            }
        }
        let mut carried = vec![false; self.cases.len()];
        for &(run, tier) in written {
            let template = &self.templates[run.template];
            let Ok(before) = &readings[&template.before()] else {
                continue;
            };
            let case = &self.cases[run.case];
            let value = case.value();
            let after_text = fs::read_to_string(self.path().join(&run.file)).unwrap();
            let what = format!(
                "{}: {} {value:?} ({tier}) in a {} file ({}), written as {:?}",
                reader.name,
                case.shape,
                template.name,
                run.file,
                key_lines(&after_text)
            );
            let after = match &readings[&run.file] {
                Ok(after) => after,
                Err(e) => {
                    failures.push(format!("{what}: cannot read the file: {e}"));
                    continue;
                }
            };
            let gap = (reader.cannot)(&value, tier);
            if let Some(Gap::File(why)) = gap {
                *tally.skipped.entry(why).or_default() += 1;
                continue;
            }
            tally.files += 1;
            if let Some(differ) = others_differ(before, after, template.followers) {
                failures.push(format!("{what}: another key changed: {differ}"));
            }
            let crlf_sh = reader.keeps_cr && template.crlf();
            // A shell reads a blank CRLF line (before an appended key) as a command named CR.
            let (cr_lines, noise): (Vec<_>, Vec<_>) = after
                .noise
                .iter()
                .partition(|l| crlf_sh && is_cr_command(l));
            if !cr_lines.is_empty() {
                tally.cr_complaints += 1;
            }
            if before.noise.is_empty() && !noise.is_empty() {
                failures.push(format!("{what}: the reader complains: {noise:?}"));
            }
            if let Some(Gap::Value(why)) = gap {
                *tally.skipped.entry(why).or_default() += 1;
                continue;
            }
            let got = key_reads(after, crlf_sh);
            if got.is_empty() {
                failures.push(format!("{what}: {KEY} is not set"));
            } else if got.iter().any(|g| *g != Some(value.as_str())) {
                failures.push(format!("{what}: {KEY} reads {got:?}"));
            }
            carried[run.case] = true;
        }
        let fixed = carried[..self.n_fixed].iter().filter(|c| **c).count();
        let generated = carried[self.n_fixed..].iter().filter(|c| **c).count();
        let mut parts = vec![format!(
            "{}: {} values checked ({fixed} fixed + {generated} generated) in {} files, {:.1?}",
            reader.name,
            fixed + generated,
            tally.files,
            started.elapsed(),
        )];
        parts.extend(
            tally
                .skipped
                .iter()
                .map(|(why, n)| format!("{n} files skipped ({why})")),
        );
        if tally.cr_complaints > 0 {
            parts.push(format!(
                "{} CRLF files with a blank line read as a command named CR (let pass)",
                tally.cr_complaints
            ));
        }
        parts.extend(tally.notes);
        Ok((parts.join("; "), failures))
    }

    /// How many values of each form or refused shape there are.
    fn forms(&self) -> BTreeMap<String, usize> {
        let mut forms = BTreeMap::new();
        for case in &self.cases {
            let form =
                outcome(&case.out).map_or_else(|why| format!("refused, {why}"), |t| t.to_string());
            *forms.entry(form).or_insert(0) += 1;
        }
        forms
    }
}

#[test]
fn every_reader_reads_the_rotated_value_and_every_other_key_as_before() {
    let started = Instant::now();
    let battery = Battery::new();
    let mut failures = Vec::new();
    let written = battery.rotate(&mut failures);
    let rotated_in = started.elapsed();
    // The readers run side by side: most of their time is spent waiting for their process.
    let (battery_ref, written_ref) = (&battery, written.as_slice());
    let checked: Vec<_> = std::thread::scope(|s| {
        let threads: Vec<_> = READERS
            .iter()
            .map(|reader| s.spawn(move || (reader, battery_ref.check(reader, written_ref))))
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let mut summary = Vec::new();
    for (reader, result) in checked {
        match result {
            Ok((line, found)) => {
                summary.push(line);
                failures.extend(found);
            }
            Err(why) => skip(&format!("reader {}: {why}", reader.name)),
        }
    }
    let n = battery.cases.len();
    eprintln!(
        "reader battery: {n} values ({} fixed + {} generated), {} rotations ({} written) in \
         {rotated_in:.1?}, {:.1?} in all; values by form: {:?}",
        battery.n_fixed,
        n - battery.n_fixed,
        battery.runs.len(),
        written.len(),
        started.elapsed(),
        battery.forms(),
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
