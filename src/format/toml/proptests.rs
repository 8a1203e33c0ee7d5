//! Property tests of the TOML splice over generated files and values: splicing twice equals
//! splicing once, every other byte stays as it was, the value reads back as a string through
//! credshim's own reader and the `toml` crate, verify accepts the splice and catches a wrong one,
//! and no string value is refused (TOML's basic string can escape any character).

use super::quote::{OldStyle, encode, form};
use super::*;
use proptest::prelude::*;

/// A value from every corner: tokens, printable ASCII, the characters the forms turn on, any.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9._+/=~@%,:-]{0,24}",
        "[ -~]{0,16}",
        "[a-z'\"\\\\#= \t{}\\[\\]]{0,10}",
        "[\0-\u{1f}\u{7f}a\u{85}\u{2028}\u{feff}é🔑'\"\\\\]{0,8}",
        any::<String>(),
    ]
}

/// The string the key holds before, as the file spells it, and what it reads as.
fn old_string() -> impl Strategy<Value = (&'static str, &'static str)> {
    prop::sample::select(vec![
        ("\"old\"", "old"),
        ("'old'", "old"),
        ("\"\"", ""),
        ("\"es\\\"c\\u00e9\"", "es\"cé"),
        ("\"\"\"\nold\"\"\"", "old"),
        ("'''o\nld'''", "o\nld"),
    ])
}

/// A line of another key (`@`, named by [`case`]), a comment, a blank line or a header that is not `[t]`.
fn other_line() -> impl Strategy<Value = String> {
    let value = prop::sample::select(vec![
        "1",
        "\"x # y\"",
        "'lit'",
        "[1, \"two\"]",
        "{ a = \"b\", c = 1 }",
        "2026-01-01T10:00:00Z",
        "true",
        "\"\"\"\nml\n\"\"\"",
        "nan",
    ]);
    prop_oneof![
        (" ?= ?", value, prop_oneof![Just(""), Just(" # note")])
            .prop_map(|(eq, v, c)| format!("@{eq}{v}{c}")),
        "# [a-z =\"']{0,10}",
        Just(String::new()),
    ]
}

/// A file with a `[t]` table that may hold `k` (the key set), other tables and lines around it,
/// LF or CRLF, perhaps without its final newline. Returns the file, and the file with the `k`
/// line as a `{}` placeholder (`None` when `k` is absent), and the old string's style and value.
#[derive(Debug, Clone)]
struct Case {
    text: String,
    template: Option<String>,
    old: Option<(&'static str, &'static str)>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(other_line(), 0..3),
        prop::collection::vec(other_line(), 0..3),
        prop::option::of((old_string(), prop_oneof![Just(""), Just("  # rotated")])),
        prop::collection::vec(other_line(), 0..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(root, before, k, after, crlf, cut)| {
            let mut lines = root;
            lines.push("[t]".into());
            lines.extend(before);
            let old = k.map(|(old, comment)| {
                lines.push(format!("k = {{}}{comment}"));
                old
            });
            lines.extend(after);
            lines.push("[u]".into());
            lines.push("k = 'not this one'".into());
            for (n, line) in lines.iter_mut().enumerate() {
                *line = line.replacen('@', &format!("o{n}"), 1);
            }
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut template: String = lines.iter().map(|l| format!("{l}{eol}")).collect();
            if crlf {
                template = template
                    .replace("\r\r\n", "\r\n")
                    .replace('\n', "\r\n")
                    .replace("\r\r", "\r");
            }
            if cut {
                template.truncate(template.trim_end_matches(['\r', '\n']).len());
            }
            let fill = |raw: &str| {
                let raw = if crlf {
                    raw.replace('\n', "\r\n")
                } else {
                    raw.to_owned()
                };
                template.replacen("{}", &raw, 1)
            };
            Case {
                text: old.map_or_else(|| template.clone(), |(raw, _)| fill(raw)),
                template: old.map(|_| template.clone()),
                old,
            }
        })
}

fn updates(v: &str) -> [(String, String); 1] {
    [("/t/k".to_string(), v.to_string())]
}

/// What the `toml` crate reads at `/t/k`.
fn toml_crate_reads(text: &str) -> Option<String> {
    let table: ::toml::Table = text.parse().ok()?;
    table.get("t")?.get("k")?.as_str().map(str::to_owned)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_value_is_written_and_reads_back(c in case(), v in value()) {
        let new = splice(&c.text, &updates(&v));
        prop_assert!(new.is_ok(), "refused {:?} in {:?}: {:?}", v, c.text, new);
        let new = new.unwrap();
        prop_assert_eq!(get(&new, "/t/k"), Ok(Some(v.clone())));
        prop_assert_eq!(toml_crate_reads(&new), Some(v.clone()), "{:?}", new);
        prop_assert_eq!(verify(&c.text, &new, &updates(&v)), Ok(()));
        prop_assert_eq!(&splice(&new, &updates(&v)).unwrap(), &new, "twice differs");
    }

    #[test]
    fn every_other_byte_stays(c in case(), v in value()) {
        let new = splice(&c.text, &updates(&v)).unwrap();
        match (&c.template, c.old) {
            (Some(template), Some((raw, old))) => {
                let expected = if old == v {
                    c.text.clone()
                } else {
                    template.replacen("{}", &encode(&v, form(&v, Some(OldStyle::of(raw)))), 1)
                };
                prop_assert_eq!(new, expected);
            }
            _ => {
                // One line added; without it, the file as it was (plus a final line ending).
                let line = format!("k = {}", encode(&v, form(&v, None)));
                let at = new.find(&format!("\n{line}")).map(|i| i + 1);
                prop_assert!(at.is_some(), "no added line in {:?}", new);
                let at = at.unwrap();
                let end = new[at..].find('\n').map_or(new.len(), |i| at + i + 1);
                let without = format!("{}{}", &new[..at], &new[end..]);
                let text = c.text.trim_end_matches(['\r', '\n']);
                prop_assert_eq!(without.trim_end_matches(['\r', '\n']), text);
            }
        }
    }

    #[test]
    fn verify_catches_a_splice_that_changed_nothing_or_too_much(c in case(), v in value()) {
        let new = splice(&c.text, &updates(&v)).unwrap();
        if c.old.is_none_or(|(_, old)| old != v) {
            prop_assert!(verify(&c.text, &c.text, &updates(&v)).is_err());
        }
        let broken = new.replace("'not this one'", "'changed'");
        prop_assert!(verify(&c.text, &broken, &updates(&v)).is_err());
    }

    #[test]
    fn other_types_at_the_key_are_always_refused(
        v in value(),
        old in prop::sample::select(vec!["1", "1.5", "true", "[]", "{}", "1979-05-27"]),
    ) {
        let text = format!("[t]\nk = {old}\n");
        let refused = matches!(splice(&text, &updates(&v)), Err(Rule::NotAString { .. }));
        prop_assert!(refused);
    }
}
