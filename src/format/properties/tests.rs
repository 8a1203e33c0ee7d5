//! Examples of the `.properties` splice and read-back, rule by rule of docs/formats/properties.md
//! (what a JVM read from tests/corpus/properties), and property tests over generated files.

use super::*;
use proptest::prelude::*;

fn set(text: &str, key: &str, value: &str) -> Result<String, PropertiesError> {
    let updates = [(key.to_owned(), value.to_owned())];
    let new = splice(text, &updates)?;
    assert_eq!(verify(text, &new, &updates), Ok(()), "verify {new:?}");
    Ok(new)
}

fn set_ok(text: &str, key: &str, value: &str) -> String {
    set(text, key, value).unwrap_or_else(|e| panic!("refused: {e}"))
}

/// Every (key, value) Java reads from `text` through `load(Reader)`, last one winning.
fn loaded(text: &str) -> std::collections::BTreeMap<String, String> {
    read(text)
        .unwrap()
        .into_iter()
        .map(|e| (e.key, e.value))
        .collect()
}

#[test]
fn the_corpus_reads_as_the_jvm_read_it() {
    // Each line: what `java ReadProperties` printed for the corpus file (load(Reader)).
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/properties");
    let cases: &[(&str, &[(&str, &str)])] = &[
        (
            "separators",
            &[
                ("a", "1"),
                ("b", "2"),
                ("c", "3"),
                ("d", "4"),
                ("e", "5"),
                ("f", "6"),
                ("g", ""),
                ("h", ""),
                ("i", "7"),
                ("j", "=8"),
                ("k", "= 9"),
                ("l", "10"),
                ("m", "x=y:z"),
            ],
        ),
        (
            "continuation",
            &[
                ("a", "onetwo"),
                ("b", "x\\"),
                ("c", "3"),
                ("d", "4"),
                ("e", "five# not a comment"),
                ("f", ""),
                ("g", "7"),
                ("h", "x\\y"),
                ("i", "z"),
            ],
        ),
        (
            "whitespace",
            &[
                (" e", "space key"),
                ("a", "lead"),
                ("b", "   lead"),
                ("c", "trail   "),
                ("d", "indented"),
                ("f g", "h"),
                ("i:j", "k"),
                ("l=m", "n"),
                ("o", "p"),
            ],
        ),
        ("comments", &[("a", "1 # not a comment"), ("d", "4")]),
        ("duplicates", &[("a", "2"), ("b", "x")]),
        (
            "crlf",
            &[("a", "1"), ("b", "2"), ("c", "onetwo"), ("d", "4")],
        ),
        (
            "cr-only",
            &[("a", "1"), ("b", "2"), ("c", "xy"), ("d", "4")],
        ),
        ("blank-continued", &[("a", "1"), ("b", "2")]),
        ("eof-backslash", &[("a", "1"), ("b", "x")]),
        ("empty", &[("a", ""), ("b", ""), ("c", ""), ("d", "")]),
        ("bom", &[("\u{feff}a", "1"), ("b", "2")]),
        (
            "escapes",
            &[
                ("a", "A"),
                ("b", "caf\u{e9}"),
                ("c", "\u{1f600}"),
                ("e", "zbq"),
                ("f", "tab\there"),
                ("g", "nl\nhere"),
                ("h", "\u{e9}\u{e9}"),
                ("i", "#!=:"),
            ],
        ),
    ];
    for (name, expected) in cases {
        let text = std::fs::read_to_string(corpus.join(format!("{name}.properties"))).unwrap();
        let want: std::collections::BTreeMap<String, String> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(loaded(&text), want, "{name}");
    }
    let non_ascii = std::fs::read_to_string(corpus.join("non-ascii.properties")).unwrap();
    let e = &read(&non_ascii).unwrap()[0];
    assert_eq!(
        (e.value.as_str(), e.value_latin1.as_str()),
        ("caf\u{e9}", "caf\u{c3}\u{a9}")
    );
    let malformed = std::fs::read_to_string(corpus.join("malformed-unicode.properties")).unwrap();
    assert!(matches!(
        read(&malformed),
        Err(PropertiesError::File { line: 2, .. })
    ));
}

#[test]
fn separator_and_spacing_of_the_line_are_kept() {
    let text = "# db\nspring.datasource.url=jdbc:x\nspring.datasource.password = old\n";
    assert_eq!(
        set_ok(text, "spring.datasource.password", "n3w"),
        "# db\nspring.datasource.url=jdbc:x\nspring.datasource.password = n3w\n"
    );
    assert_eq!(set_ok("k: old\n", "k", "v"), "k: v\n");
    assert_eq!(set_ok("k\told\n", "k", "v"), "k\tv\n");
    assert_eq!(set_ok("  k=old", "k", "v"), "  k=v");
    assert_eq!(set_ok("k\n", "k", "v"), "k=v\n");
    assert_eq!(set_ok("k=\n", "k", "v"), "k=v\n");
    assert_eq!(set_ok("k   \n", "k", "v"), "k   v\n");
}

#[test]
fn every_occurrence_is_set_and_a_missing_key_appended() {
    assert_eq!(set_ok("k=1\na=x\nk=2\n", "k", "v"), "k=v\na=x\nk=v\n");
    assert_eq!(set_ok("a=x\n", "k", "v"), "a=x\nk=v\n");
    assert_eq!(set_ok("a=x", "k", "v"), "a=x\nk=v\n");
    assert_eq!(set_ok("", "k", "v"), "k=v\n");
    assert_eq!(set_ok("a=x\r\nb=y\r\n", "k", "v"), "a=x\r\nb=y\r\nk=v\r\n");
    assert_eq!(set_ok("a=x\rb=y\r", "k", "v"), "a=x\rb=y\rk=v\r");
    // A comment ending in `\` does not continue; a value does: a blank line ends it first.
    assert_eq!(set_ok("# c\\\n", "k", "v"), "# c\\\nk=v\n");
    assert_eq!(set_ok("a=x\\\n", "k", "v"), "a=x\\\n\nk=v\n");
    assert_eq!(set_ok("a=x\\", "k", "v"), "a=x\\\n\nk=v\n");
    assert_eq!(loaded(&set_ok("a=x\\", "k", "v"))["a"], "x");
    // Found by the fuzzer: LF the dominant ending, the last line continued and ended by a CR: the
    // blank line's LF made that CR a CRLF, and the new line joined the value.
    let text = "a=1\nb=2\nc=x\rd=\\\r";
    assert_eq!(set_ok(text, "k", "v"), "a=1\nb=2\nc=x\rd=\\\r\r\nk=v\n");
}

#[test]
fn keys_match_by_their_loaded_name_and_are_escaped_when_appended() {
    assert_eq!(set_ok("a\\:b=old\n", "a:b", "v"), "a\\:b=v\n");
    assert_eq!(set_ok("a\\ b=old\n", "a b", "v"), "a\\ b=v\n");
    assert_eq!(
        set_ok("p\\u00e4ss=old\n", "p\u{e4}ss", "v"),
        "p\\u00e4ss=v\n"
    );
    assert_eq!(set_ok("", "a:b c=d", "v"), "a\\:b\\ c\\=d=v\n");
    assert_eq!(set_ok("", "#k", "v"), "\\#k=v\n");
    assert_eq!(set_ok("", "p\u{e4}ss", "v"), "p\\u00E4ss=v\n");
    // `a:b` in the file is the key `a` with the value `b`.
    assert_eq!(set_ok("a:b\n", "a:b", "v"), "a:b\na\\:b=v\n");
}

#[test]
fn values_are_written_with_the_escapes_java_reads() {
    for (value, written) in [
        ("eyJ.a-b_c+/=~", "eyJ.a-b_c+/=~"),
        (" lead", "\\ lead"),
        ("=x", "\\=x"),
        (":x", "\\:x"),
        ("#x!", "#x!"),
        ("trail ", "trail "),
        ("a\\b", "a\\\\b"),
        ("end\\", "end\\\\"),
        ("t\tn\nr\rf\x0c", "t\\tn\\nr\\rf\\f"),
        ("caf\u{e9}", "caf\\u00E9"),
        ("\u{1f600}", "\\uD83D\\uDE00"),
        ("\u{1}\u{7f}", "\\u0001\\u007F"),
    ] {
        let new = set_ok("k=old\nz=1\n", "k", value);
        assert_eq!(new, format!("k={written}\nz=1\n"), "{value:?}");
        assert_eq!(get(&new, "k").unwrap().as_deref(), Some(value));
        assert!(new.is_ascii());
    }
}

#[test]
fn a_continued_value_is_written_on_one_line() {
    let text = "k=one\\\n   two\\\n  three\nz=1\n";
    assert_eq!(set_ok(text, "k", "v"), "k=v\nz=1\n");
    let text = "k=\\\n\nz=1\n";
    assert_eq!(set_ok(text, "k", "v"), "k=v\n\nz=1\n");
    assert_eq!(set_ok("k\\\n\nz=1\n", "k", "v"), "k=v\n\nz=1\n");
    // Found by the fuzzer: a value that starts after a continuation was replaced from its first
    // character on, leaving `k=\` and a line of `\` before it; set to "" the chain then read
    // differently the next time (not idempotent).
    let text = "k=\\\n\\\n  z";
    assert_eq!(set_ok(text, "k", ""), "k=");
    assert_eq!(set_ok(text, "k", "v"), "k=v");
    assert_eq!(set_ok("k = \\\n  old\n", "k", "v"), "k = v\n");
}

#[test]
fn an_equal_value_is_left_as_written() {
    assert_eq!(set_ok("k=caf\\u00e9\n", "k", "caf\u{e9}"), "k=caf\\u00e9\n");
    // Raw non-ASCII reads two ways: it is rewritten escaped.
    assert_eq!(set_ok("k=caf\u{e9}\n", "k", "caf\u{e9}"), "k=caf\\u00E9\n");
}

#[test]
fn refusals_follow_the_rules_and_never_hold_the_value() {
    let value_err = set("k=old\n", "k", "s3cr3t\u{feff}").unwrap_err();
    assert!(matches!(value_err, PropertiesError::Value { .. }));
    assert!(!value_err.to_string().contains("s3cr3t"), "{value_err}");
    for (text, line) in [
        ("a=1\nb=\\u12\n", 2),
        ("a=\\uD800\n", 1),
        ("k\u{e4}=s3cr3t\n", 1),
        ("\u{feff}k=s3cr3t\n", 1),
    ] {
        let key = if text.contains('\u{e4}') {
            "k\u{e4}"
        } else {
            "k"
        };
        let err = set(text, key, "v").unwrap_err();
        assert_eq!(
            match &err {
                PropertiesError::File { line, .. } => Some(*line),
                _ => None,
            },
            Some(line),
            "{text:?}: {err}"
        );
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert!(get(text, key).is_err());
    }
    // The key read as ISO-8859-1 is the key too.
    assert!(set("k\u{e4}=1\n", "k\u{c3}\u{a4}", "v").is_err());
    for key in ["", "a\nb", "\u{feff}k"] {
        assert!(matches!(
            splice("", &[(key.into(), "v".into())]),
            Err(PropertiesError::Key { .. })
        ));
    }
}

#[test]
fn raw_non_ascii_elsewhere_and_a_bom_before_another_key_stay() {
    let text = "\u{feff}# caf\u{e9}\nother=caf\u{e9}\nk=old\n";
    assert_eq!(
        set_ok(text, "k", "v"),
        "\u{feff}# caf\u{e9}\nother=caf\u{e9}\nk=v\n"
    );
}

#[test]
fn spring_placeholders_of_the_key_are_named_as_followers() {
    let text = "spring.datasource.password=old\n\
                app.url=jdbc:x?password=${spring.datasource.password}\n\
                app\\.b=${spring.datasource.password:none}\n\
                app.c=${spring.datasource.passwordx}\n\
                app.url=again ${spring.datasource.password}\n";
    assert_eq!(
        followers(text, &["spring.datasource.password"]),
        ["app.url", "app\\.b"]
    );
    assert!(followers("a=${b\n", &["b"]).is_empty());
}

#[test]
fn verify_catches_a_wrong_splice() {
    let old = "a=1\nk=old\nb=2\n";
    let updates = [("k".to_string(), "new".to_string())];
    assert!(verify(old, "a=1\nk=new\nb=2\n", &updates).is_ok());
    assert!(verify(old, "a=1\nk=ne\nb=2\n", &updates).is_err());
    assert!(verify(old, "a=1\nk=new\nb=3\n", &updates).is_err());
    assert!(verify(old, "a=1\nk=new\n", &updates).is_err());
    assert!(verify(old, "a=1\nk=new\\\nb=2\n", &updates).is_err());
    assert!(verify(old, "a=1\nk=new\nk=old\nb=2\n", &updates).is_err());
    // Raw non-ASCII reads as something else to load(InputStream).
    let accented = [("k".to_string(), "caf\u{e9}".to_string())];
    assert!(verify(old, "a=1\nk=caf\\u00E9\nb=2\n", &accented).is_ok());
    assert!(verify(old, "a=1\nk=caf\u{e9}\nb=2\n", &accented).is_err());
    let err = verify(old, "a=1\nk=s3cr3t\nb=2\n", &updates).unwrap_err();
    assert!(err.contains('k') && !err.contains("s3cr3t"), "{err}");
}

/// Lines of a generated file: (line with its ending, whether it is an entry of `k`).
fn piece() -> impl Strategy<Value = (String, bool)> {
    let eol = prop_oneof![Just("\n"), Just("\r\n"), Just("\r")];
    let sep = prop_oneof![
        Just("="),
        Just(" = "),
        Just(":"),
        Just(" : "),
        Just(" "),
        Just("\t")
    ];
    let k_line = (
        "[ \t]{0,2}",
        sep.clone(),
        prop_oneof![
            "[a-z0-9 #!=:]{0,6}",
            Just("one\\\n  two".to_owned()),
            Just("\\u00e9x".to_owned()),
            Just("caf\u{e9}".to_owned()),
        ],
        eol.clone(),
    )
        .prop_map(|(indent, sep, v, e)| (format!("{indent}k{sep}{v}{e}"), true));
    let other = prop_oneof![
        "[#!][a-zA-Z0-9 =\\\\]{0,10}",
        "[ \t]{0,2}",
        "[a-j]{1,3}[=: ][a-z0-9 =:#\u{e9}]{0,8}",
        Just("kk=1".to_owned()),
        Just("k\\:x=1".to_owned()),
        Just("a=x\\\n  k=not-a-key".to_owned()),
    ];
    let other_line = (other, eol).prop_map(|(l, e)| (format!("{l}{e}"), false));
    prop_oneof![k_line, other_line]
}

fn file() -> impl Strategy<Value = (String, Vec<(String, bool)>)> {
    (prop::collection::vec(piece(), 0..8), any::<bool>()).prop_map(|(mut pieces, cut)| {
        if cut && let Some((last, _)) = pieces.last_mut() {
            let trimmed = last.trim_end_matches(['\r', '\n']).len();
            last.truncate(trimmed);
        }
        let text = pieces.iter().map(|(p, _)| p.as_str()).collect();
        (text, pieces)
    })
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9._+/=~-]{1,24}",
        "[ -~]{1,16}",
        "[ =:#!\\\\\t\n\r\u{e9}\u{1f600}\u{feff}a]{1,8}",
        any::<String>().prop_filter("the mint's output has no NUL", |s| !s.contains('\0')),
    ]
}

/// Whether docs/formats/properties.md refuses `v` (from the rules, not the code).
fn must_refuse(v: &str) -> bool {
    v.contains('\u{feff}')
}

fn splice_or_refuse(text: &str, v: &str) -> Result<Option<String>, TestCaseError> {
    match set(text, "k", v) {
        Ok(new) => {
            prop_assert!(!must_refuse(v), "spliced a value the rules refuse");
            Ok(Some(new))
        }
        Err(PropertiesError::Value { .. }) if must_refuse(v) => Ok(None),
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
            prop_assert_eq!(&set(&once, "k", &v).unwrap(), &once);
        }
    }

    #[test]
    fn lines_without_the_key_stay_byte_identical((text, pieces) in file(), v in value()) {
        let Some(new) = splice_or_refuse(&text, &v)? else { return Ok(()) };
        if pieces.iter().any(|(_, is_k)| *is_k) {
            let expected: String = pieces
                .iter()
                .map(|(p, is_k)| {
                    if *is_k {
                        let body = p.trim_end_matches(['\r', '\n']);
                        let eol = &p[body.len()..];
                        format!("{}{eol}", set_ok(body, "k", &v))
                    } else {
                        p.clone()
                    }
                })
                .collect();
            prop_assert_eq!(new, expected);
        } else {
            prop_assert!(new.starts_with(&text));
            prop_assert!(new.trim_end().ends_with(set_ok("", "k", &v).trim_end()));
        }
    }

    #[test]
    fn the_value_reads_back_both_ways((text, _) in file(), v in value()) {
        let Some(new) = splice_or_refuse(&text, &v)? else { return Ok(()) };
        let entries = read(&new).unwrap();
        let ks: Vec<_> = entries.iter().filter(|e| e.key == "k").collect();
        prop_assert!(!ks.is_empty());
        for e in ks {
            prop_assert_eq!(&e.value, &v);
            prop_assert_eq!(&e.value_latin1, &v);
        }
        prop_assert_eq!(get(&new, "k").unwrap(), Some(v.clone()));
    }

    #[test]
    fn a_value_with_a_bom_is_always_refused(a in "\\PC{0,6}", b in "\\PC{0,6}") {
        let v = format!("{a}\u{feff}{b}");
        let refused = matches!(set("k=1\n", "k", &v), Err(PropertiesError::Value { .. }));
        prop_assert!(refused, "a value with U+FEFF was not refused");
    }
}
