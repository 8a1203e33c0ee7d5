//! Property tests of the `.env` splice over generated files and values: splicing twice equals
//! splicing once, every other line stays byte-identical, dotenvy, credshim's own reader and `sh`
//! read the new value, and a refusal happens exactly where shared/ENV-FORMAT.md says it must.
//! Also python-dotenv, where installed, on examples.

use super::tests::{forbidden, set, set_text, updates};
use super::verify::dotenvy_pairs;
use super::*;
use proptest::prelude::*;

/// Value as `sh` reads it after `set -a; . ./file`, with a clean environment.
fn sh_reads(dir: &std::path::Path, text: &str) -> Vec<u8> {
    let file = dir.join("file");
    std::fs::write(&file, text).expect("write temp file");
    let out = std::process::Command::new("sh")
        .args(["-c", "set -a; . ./file; printf %s \"$K\""])
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("run sh");
    assert!(out.status.success(), "sh failed: {:?}", out);
    out.stdout
}

/// A value from every tier, with the characters each tier turns on.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9._+/=~@%,:-]{0,24}",
        "[ -~]{0,16}",
        "[a-z'\"$\\\\`# {}~:]{0,10}",
        "[\t a-z\u{e9}\u{2028}\u{feff}\u{1f600}#'\\\\]{0,8}",
        any::<String>(),
    ]
}

/// A line (with its ending) that holds `K`, or that does not; multi-line values use LF.
fn piece() -> impl Strategy<Value = (String, bool)> {
    let eol = prop_oneof![Just("\n"), Just("\r\n")];
    let k_value = prop_oneof![
        "[a-z0-9#]{0,6}",
        "'[a-z #\"]{0,6}'",
        "\"[a-z #']{0,6}\"",
        Just("\"l1\nl2\"".to_owned()),
    ];
    let trailer = prop_oneof![Just(""), Just("  "), Just(" # note"), Just("\t#c")];
    let k_line = ("[ \t]?(export )?K ?= ?", k_value, trailer, eol.clone())
        .prop_map(|(prefix, v, t, e)| (format!("{prefix}{v}{t}{e}"), true));
    let other = prop_oneof![
        "#[a-zA-Z0-9 =#'\"]{0,12}\\\\?",
        "[ \t]{0,2}",
        "(export )?[A-J]{1,3} ?=[a-z0-9]{0,8}",
        "[A-J]{1,3}='[a-z #\"]{0,8}'( # c)?",
        "[A-J]{1,3}=\"[a-z #']{0,8}\"",
        Just("A=\"l1\nK=inj\n\"".to_owned()),
        Just("KK=1".to_owned()),
    ];
    let other_line = (other, eol).prop_map(|(l, e)| (format!("{l}{e}"), false));
    prop_oneof![k_line, other_line]
}

/// A file made of pieces, perhaps with a BOM and without its final line ending.
fn file() -> impl Strategy<Value = (String, Vec<(String, bool)>)> {
    (
        any::<bool>(),
        prop::collection::vec(piece(), 0..8),
        any::<bool>(),
    )
        .prop_map(|(bom, mut pieces, cut)| {
            if cut && let Some((last, _)) = pieces.last_mut() {
                let trimmed = last.trim_end_matches(['\r', '\n']).len();
                last.truncate(trimmed);
            }
            let body: String = pieces.iter().map(|(p, _)| p.as_str()).collect();
            (
                format!("{}{body}", if bom { "\u{feff}" } else { "" }),
                pieces,
            )
        })
}

/// Whether shared/ENV-FORMAT.md says `v` must be refused, written from the spec rather than the
/// code: rule 1 (NUL, LF, CR), rule 6 (a backtick in a value that reaches rule 5, i.e. fails rule
/// 3 by holding `'` or `\\` and rule 4 by holding one of `"$\``) and rule 7 (a trailing `\`).
fn must_refuse(v: &str) -> bool {
    let rule5 = (v.contains('\'') || v.contains("\\\\")) && v.contains(['"', '$', '\\', '`']);
    v.contains(['\0', '\n', '\r']) || (rule5 && v.contains('`')) || v.ends_with('\\')
}

/// `v` spliced as `K` into `text`, a file every reader agrees on (as [`file`] makes them):
/// `None` when the splice refuses the value, which it may do only as the spec says; any other
/// refusal, or splicing a value the spec refuses, fails the case.
fn splice_or_refuse(text: &str, v: &str) -> Result<Option<Spliced>, TestCaseError> {
    match set(text, "K", v) {
        Ok(spliced) => {
            prop_assert!(!must_refuse(v), "spliced a value the rules refuse: {:?}", v);
            Ok(Some(spliced))
        }
        Err(SpliceError::ForbiddenValue { .. }) if must_refuse(v) => Ok(None),
        Err(e) => Err(TestCaseError::fail(format!(
            "refused {v:?} in {text:?}: {e}"
        ))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn splicing_twice_equals_splicing_once((text, _) in file(), v in value()) {
        if let Some(once) = splice_or_refuse(&text, &v)? {
            prop_assert_eq!(&set(&once.text, "K", &v).unwrap().text, &once.text);
        }
    }

    #[test]
    fn lines_without_the_key_stay_byte_identical((text, pieces) in file(), v in value()) {
        let Some(spliced) = splice_or_refuse(&text, &v)? else { return Ok(()) };
        let bom = if text.starts_with('\u{feff}') { "\u{feff}" } else { "" };
        if pieces.iter().any(|(_, is_k)| *is_k) {
            let expected: String = pieces
                .iter()
                .map(|(p, is_k)| if *is_k { set_text(p, &v) } else { p.clone() })
                .collect();
            prop_assert_eq!(spliced.text, format!("{bom}{expected}"));
        } else {
            prop_assert!(spliced.text.starts_with(&text));
            let line = set_text("", &v);
            prop_assert!(spliced.text.trim_end().ends_with(line.trim_end()));
        }
    }

    #[test]
    fn dotenvy_reads_the_new_value((text, _) in file(), v in value()) {
        let Some(spliced) = splice_or_refuse(&text, &v)? else { return Ok(()) };
        if dotenvy_pairs(&text).is_ok() {
            let pairs = dotenvy_pairs(&spliced.text);
            prop_assert!(pairs.is_ok(), "dotenvy cannot read {:?}", spliced.text);
            let ks: Vec<_> = pairs.unwrap().into_iter().filter(|(k, _)| k == "K").collect();
            prop_assert!(!ks.is_empty());
            prop_assert!(ks.iter().all(|(_, read)| *read == v));
        }
        prop_assert_eq!(get(&spliced.text, "K"), Ok(Some(v.clone())));
        prop_assert_eq!(verify(&text, &spliced.text, &updates(&v)), Ok(()));
    }

    #[test]
    fn line_breaks_and_nul_are_always_refused(
        a in "\\PC{0,6}", bad in "[\0\n\r]", b in any::<String>()
    ) {
        let value = format!("{a}{bad}{b}");
        prop_assert!(forbidden(&value));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sh_reads_every_accepted_value(
        v in value(),
        context in prop_oneof![
            Just(""), Just("K=old\n"), Just("K=old # note\n"), Just("A=1\nexport K='x'")
        ],
    ) {
        let Some(spliced) = splice_or_refuse(context, &v)? else { return Ok(()) };
        let dir = tempfile::TempDir::new().expect("temp dir");
        prop_assert_eq!(sh_reads(dir.path(), &spliced.text), v.as_bytes());
    }
}

#[test]
fn python_dotenv_reads_values_without_dollar_where_installed() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import dotenv"])
        .output();
    if !probe.is_ok_and(|out| out.status.success()) {
        return;
    }
    let dir = tempfile::TempDir::new().expect("temp dir");
    let file = dir.path().join("file");
    for value in ["tok.en/+=", "pa#ss", "a b", "it's", "a\\\\b\"c", "~x", ""] {
        std::fs::write(&file, set_text("K=old # c\n", value)).expect("write temp file");
        let script = "import sys, dotenv; \
                      sys.stdout.write(dotenv.dotenv_values(sys.argv[1])['K'])";
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .arg(&file)
            .output()
            .expect("run python3");
        assert_eq!(String::from_utf8_lossy(&out.stdout), value);
    }
}
