//! Property tests of the INI splice over generated files and values: splicing twice equals
//! splicing once, every line but the set key's stays byte-identical, the value reads back
//! through [`get`] and [`verify`] accepts it, and a refusal happens exactly where the rules say.

use super::tests::updates;
use super::*;
use proptest::prelude::*;

/// Values from every class the rules care about.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9+/=]{1,40}",
        "[ -~]{0,16}",
        "[a-z%#;\\\\\"' =:]{0,8}",
        "[\t a-z\u{e9}\u{2028}\u{85}\u{1c}]{0,6}",
        any::<String>(),
    ]
}

/// A line of a file (with its ending) that sets `k` in the current section, or that does not.
fn piece() -> impl Strategy<Value = String> {
    let eol = prop_oneof![Just("\n"), Just("\r\n")];
    let line = prop_oneof![
        Just("[a]".to_string()),
        Just("[b]".to_string()),
        Just("[A]".to_string()),
        "[ \t]{0,2}k[ \t]{0,2}=[ \t]{0,2}[a-z0-9;#\"]{0,6}",
        "[ \t]{0,2}[j-m][ \t]?[=:] ?[a-z0-9 ;#]{0,6}",
        "[#;][ -~]{0,10}",
        "[ \t]{0,3}",
        "  [a-z=]{1,5}",
        Just("skip-networking".to_string()),
        Just(" [b]".to_string()),
        "[a-z}]{1,4}",
    ];
    (line, eol).prop_map(|(l, e)| format!("{l}{e}"))
}

fn file() -> impl Strategy<Value = String> {
    (prop::collection::vec(piece(), 0..12), prop::bool::ANY).prop_map(|(pieces, final_newline)| {
        let mut text = pieces.concat();
        if !final_newline && text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn splice_is_idempotent_and_keeps_the_rest(text in file(), v in value(), key in prop_oneof![Just("/a/k"), Just("/b/k"), Just("/k"), Just("/c/k")]) {
        let u = updates(&[(key, &v)]);
        match splice(&text, &u) {
            Ok(new) => {
                prop_assert!(rules::value(&v).is_ok());
                prop_assert_eq!(verify(&text, &new, &u), Ok(()));
                prop_assert_eq!(get(&new, key).unwrap(), Some(v.clone()));
                prop_assert_eq!(splice(&new, &u).unwrap(), new.clone());
                // Every line of the old file is still there, in order, except the key's lines.
                let k = parse_key(key).unwrap();
                let old_lines = lines(&text);
                let set_lines = rules::settable(&text, &old_lines, k.section.as_deref(), &k.name, key).unwrap();
                let kept: Vec<&str> = old_lines.iter().enumerate()
                    .filter(|(i, _)| !set_lines.contains(i))
                    .map(|(_, l)| text[l.start..l.content_end].as_ref())
                    .collect();
                let mut rest = new.as_str();
                for line in kept {
                    let Some(at) = rest.find(line) else {
                        return Err(TestCaseError::fail(format!("line {line:?} lost in {new:?}")));
                    };
                    rest = &rest[at + line.len()..];
                }
            }
            Err(IniError::ForbiddenValue { .. }) => prop_assert!(rules::value(&v).is_err()),
            Err(IniError::Unparseable { .. }) => {
                prop_assert!(rules::value(&v).is_ok());
                // A file refusal does not depend on the value.
                let again = splice(&text, &updates(&[(key, "x")]));
                prop_assert!(matches!(again, Err(IniError::Unparseable { .. })), "{:?}", again);
                // get refuses it too, unless the key is missing (its place is the problem).
                prop_assert!(!matches!(get(&text, key), Ok(Some(_))));
            }
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        }
    }
}
