//! Property tests of the pgpass splice over generated files and passwords: splicing twice
//! equals splicing once, every other line stays byte-identical, credshim's reader (libpq's
//! grammar) reads the new password, verify accepts the result, and a refusal happens exactly
//! where docs/formats/pgpass.md says it must.

use super::tests::updates;
use super::*;
use proptest::prelude::*;

const K: &str = "h:5432:app:u";

/// A password from every tier, with the characters the rules turn on.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9._+/=~@%,-]{0,24}",
        "[ -~]{0,16}",
        "[a-z:\\\\#* ]{0,10}",
        "[\t a-z\u{e9}\u{2028}\u{feff}\u{1f600}:\\\\\r\n\0]{0,8}",
        any::<String>(),
    ]
}

/// A line (with its ending): K's, another entry, a wildcard one, a comment or a blank.
fn piece() -> impl Strategy<Value = String> {
    let eol = prop_oneof![Just("\n"), Just("\r\n")];
    let password = "([a-z0-9 #*]|\\\\:|\\\\\\\\){1,8}";
    let line = prop_oneof![
        4 => password.prop_map(|p| format!("{K}:{p}")),
        4 => ("x[a-z]{0,3}:(5432|\\*):(app|\\*):[a-z]{1,3}", password)
            .prop_map(|(k, p)| format!("{k}:{p}")),
        1 => Just("*:*:*:*:general".to_string()),
        1 => Just("h:5432:*:u:any-database".to_string()),
        2 => "#[a-z:*\\\\ ]{0,12}",
        1 => Just(String::new()),
    ];
    (line, eol).prop_map(|(l, e)| format!("{l}{e}"))
}

fn file() -> impl Strategy<Value = String> {
    (prop::collection::vec(piece(), 0..8), any::<bool>()).prop_map(|(pieces, cut)| {
        let mut text = pieces.concat();
        if cut {
            while text.ends_with(['\r', '\n']) {
                text.pop();
            }
        }
        text
    })
}

/// Whether libpq would reach a line after one that matches every connection K does.
fn shadowed(text: &str) -> Option<usize> {
    for line in scan(text) {
        let Kind::Entry(e) = &line.kind else { continue };
        if e.password.is_none() {
            continue;
        }
        if line.content.starts_with(&format!("{K}:")) {
            return None;
        }
        if line.content.starts_with("*:*:*:*:") || line.content.starts_with("h:5432:*:u:") {
            return Some(line.number);
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn splice_is_exact_idempotent_and_reads_back(text in file(), v in value()) {
        let u = updates(K, &v);
        let result = splice(&text, &u);
        let forbidden = if v.is_empty() {
            Some(Rule::ValueEmpty)
        } else if v.contains('\0') {
            Some(Rule::ValueNul)
        } else if v.contains('\n') {
            Some(Rule::ValueLineFeed)
        } else if v.contains('\r') {
            Some(Rule::ValueCarriageReturn)
        } else {
            None
        };
        if let Some(rule) = forbidden {
            prop_assert_eq!(result.unwrap_err(), rule.refuse(K, None));
            return Ok(());
        }
        if let Some(line) = shadowed(&text) {
            prop_assert_eq!(result.unwrap_err(), Rule::Shadowed.refuse(K, Some(line)));
            return Ok(());
        }
        let new = result.unwrap().text;
        prop_assert_eq!(get(&new, K).unwrap(), Some(v.clone()));
        prop_assert!(verify(&text, &new, &u).is_ok(), "{:?}", verify(&text, &new, &u));
        prop_assert_eq!(&splice(&new, &u).unwrap().text, &new);
        // Every line but K's is byte-identical, ending included (but a last line that gained one).
        let (old_lines, new_lines) = (scan(&text), scan(&new));
        let appended = !old_lines.iter().any(|l| l.content.starts_with(&format!("{K}:")));
        prop_assert_eq!(new_lines.len(), old_lines.len() + usize::from(appended));
        for (i, (a, b)) in old_lines.iter().zip(&new_lines).enumerate() {
            if a.content.starts_with(&format!("{K}:")) {
                let prefix = format!("{K}:");
                prop_assert!(b.content.starts_with(&prefix));
            } else {
                prop_assert_eq!(a.content, b.content);
            }
            if !(appended && i + 1 == old_lines.len()) {
                prop_assert_eq!(a.ending, b.ending);
            }
        }
    }

    #[test]
    fn verify_catches_a_changed_byte(text in file(), at in any::<prop::sample::Index>()) {
        let u = updates(K, "new-password");
        let Ok(spliced) = splice(&text, &u) else { return Ok(()) };
        let new = spliced.text;
        // Flip one byte outside K's new password: verify must notice (unless it is a no-op).
        let i = at.index(new.len().max(1)).min(new.len().saturating_sub(1));
        let mut bytes = new.clone().into_bytes();
        if bytes.is_empty() || !bytes[i].is_ascii_alphanumeric() {
            return Ok(());
        }
        bytes[i] = if bytes[i] == b'q' { b'r' } else { b'q' };
        let wrong = String::from_utf8(bytes).unwrap();
        prop_assert!(verify(&text, &wrong, &u).is_err(), "{:?}", wrong);
    }
}
