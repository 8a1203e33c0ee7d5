//! Property tests of the YAML splice over generated documents and values: splicing twice equals
//! splicing once, every line but the key's stays byte-identical (the ones before it, and the
//! ones after it shifted by one line when the key is added), the value reads back as a string
//! through yaml-rust2, and a value is never refused.

use super::*;
use proptest::prelude::*;

/// A value from every form, with the characters each form turns on.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z][A-Za-z0-9._+/=~@%-]{0,24}",
        prop::sample::select(vec![
            "yes",
            "No",
            "ON",
            "off",
            "y",
            "N",
            "true",
            "null",
            "~",
            "0x1F",
            "1e3",
            ".inf",
            "2026-01-01",
            "012",
            "-",
            "? x",
            "<<",
            "=",
        ])
        .prop_map(str::to_owned),
        "[ -~]{1,16}",
        "[a-z'\"\\\\#:,{}\\[\\] &*!|>%@`-]{1,10}",
        "[\t a-z\u{e9}\u{85}\u{2028}\u{feff}\u{1f600}\u{1}\n\r\0'\\\\]{1,8}",
        any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
    ]
}

/// A document with `k` somewhere: top level or under `db`, block or flow, in any style, or
/// absent; other keys around it in every style, with comments, CRLF or not.
fn document() -> impl Strategy<Value = String> {
    let old = prop_oneof![
        Just("old".to_owned()),
        Just("'o''ld'".to_owned()),
        Just("\"o\\tld\"".to_owned()),
        Just("|\n    block\n    text".to_owned()),
        Just("".to_owned()),
        Just("yes # a comment".to_owned()),
    ];
    let other = prop_oneof![
        Just("a: 1".to_owned()),
        Just("b: 'two # not a comment'".to_owned()),
        Just("c: \"esc \\\" \\n\"".to_owned()),
        Just("# comment".to_owned()),
        Just("".to_owned()),
        Just("anch: &x {q: 1}".to_owned()),
        Just("ali: *x".to_owned()),
        Just("lst:\n  - 1\n  - two".to_owned()),
        Just("fl: {u: 1, v: [a, b]}".to_owned()),
    ];
    let shape = prop_oneof![
        (old.clone(), Just(false)).prop_map(|(o, _)| format!("k: {o}")),
        old.clone()
            .prop_map(|o| format!("db:\n  u: app\n  k: {o}\n  p: 5")),
        Just("db: {u: app, k: old, p: 5}".to_owned()),
        Just("db:\n  u: app".to_owned()),
        Just("z: 0".to_owned()),
    ];
    (
        prop::collection::vec(other.clone(), 0..3),
        shape,
        prop::collection::vec(other, 0..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(before, shape, after, crlf, final_nl)| {
            // `anch` before `ali`, or the alias has nothing to refer to.
            let mut lines: Vec<String> = before.into_iter().chain([shape]).chain(after).collect();
            let anchor_at = lines.iter().position(|l| l.starts_with("anch:"));
            for (i, l) in lines.iter_mut().enumerate() {
                if l == "ali: *x" && anchor_at.is_none_or(|a| a > i) {
                    *l = "anch2: &y 1".into();
                }
            }
            let mut seen = std::collections::HashSet::new();
            lines.retain(|l| l.is_empty() || l.starts_with('#') || seen.insert(l.clone()));
            let mut text = lines.join("\n");
            if final_nl {
                text.push('\n');
            }
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            text
        })
}

fn pointer(text: &str) -> &'static str {
    if text.contains("db:") { "/db/k" } else { "/k" }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn splice_properties(text in document(), v in value()) {
        let p = pointer(&text);
        let up = [(p.to_string(), v.clone())];
        let new = splice(&text, &up).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
        // Idempotent.
        prop_assert_eq!(splice(&new, &up).unwrap(), new.clone());
        // Reads back as the string, through the strict parser.
        prop_assert_eq!(get(&new, p).unwrap(), Some(v.clone()));
        prop_assert!(verify(&text, &new, &up).is_ok());
        // Every line but the key's (and a replaced block scalar's) is byte-identical.
        let old_lines: Vec<&str> = text.split_inclusive('\n').collect();
        let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
        let changed = |l: &str| l.trim_start().starts_with("k:") || l.contains(" k: ") || l.contains("{u: app, k:");
        let is_old = |l: &&&str| !changed(l) && !l.starts_with("    block") && !l.starts_with("    text");
        let kept_old: Vec<&str> = old_lines.iter().filter(is_old).map(|l| l.trim_end_matches(['\r', '\n'])).collect();
        let kept_new: Vec<&str> = new_lines.iter().filter(is_old).map(|l| l.trim_end_matches(['\r', '\n'])).collect();
        prop_assert_eq!(kept_old, kept_new);
    }

    #[test]
    fn every_written_form_reads_as_the_value(v in value()) {
        let text = format!("k: {}\n", render(&v, form(&v, None)));
        prop_assert_eq!(get(&text, "/k").unwrap(), Some(v.clone()));
        if form(&v, None) == Form::Plain {
            prop_assert!(plain_ok(&v));
        }
    }
}
