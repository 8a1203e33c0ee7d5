//! Unit tests of the pgpass splice: libpq's reading, the splice's bytes, every rule.

use super::*;

pub(super) fn updates(key: &str, value: &str) -> Vec<(String, String)> {
    vec![(key.to_string(), value.to_string())]
}

/// Splice, verify, and check that the value reads back; the new text.
#[track_caller]
pub(super) fn set(text: &str, key: &str, value: &str) -> String {
    let u = updates(key, value);
    let new = splice(text, &u).unwrap().text;
    verify(text, &new, &u).unwrap();
    assert_eq!(get(&new, key).unwrap().as_deref(), Some(value));
    new
}

#[track_caller]
fn refused(text: &str, key: &str, value: &str) -> Refusal {
    splice(text, &updates(key, value)).unwrap_err()
}

const K: &str = "db.example.com:5432:app:app_user";

#[test]
fn the_password_field_is_replaced_and_nothing_else() {
    let text = "# prod\ndb.example.com:5432:app:app_user:old\n\n*:*:*:other:o\n";
    assert_eq!(
        set(text, K, "n3w"),
        "# prod\ndb.example.com:5432:app:app_user:n3w\n\n*:*:*:other:o\n"
    );
}

#[test]
fn colons_and_backslashes_are_escaped() {
    let text = "db.example.com:5432:app:app_user:old\n";
    assert_eq!(
        set(text, K, r"a:b\c\"),
        "db.example.com:5432:app:app_user:a\\:b\\\\c\\\\\n"
    );
    // Trailing spaces, '#', '*' and non-ASCII need nothing: libpq keeps them.
    assert_eq!(
        set(text, K, "#* é  "),
        "db.example.com:5432:app:app_user:#* é  \n"
    );
}

#[test]
fn every_matching_line_is_replaced() {
    let text = "h1:5432:app:u:a\nh1:5432:app:u:b\nh2:5432:app:u:c\n";
    assert_eq!(
        set(text, "h1:5432:app:u", "new-password"),
        "h1:5432:app:u:new-password\nh1:5432:app:u:new-password\nh2:5432:app:u:c\n"
    );
}

#[test]
fn wildcards_and_escapes_in_the_key_match_as_written() {
    let text = "*:*:app\\:v2:u:old\n*:5432:*:u:old2\n";
    let new = set(text, "*:*:app\\:v2:u", "p4ssw0rd");
    assert_eq!(new, "*:*:app\\:v2:u:p4ssw0rd\n*:5432:*:u:old2\n");
    // `*` in the key is the wildcard, not the host "*"; and `\a` in the file is `a` to libpq.
    let spelled = "h\\ost:5432:app:u:old\n";
    assert_eq!(
        set(spelled, "host:5432:app:u", "password1"),
        "h\\ost:5432:app:u:password1\n"
    );
    assert_eq!(
        get("*:5432:app:u:w\n", "h:5432:app:u").unwrap(),
        None,
        "a wildcard line is not the key of a literal host"
    );
}

#[test]
fn comments_blank_lines_crlf_and_no_final_newline_are_kept() {
    let text = "#h:5432:app:u:commented\r\n\r\n h:5432:app:u:indented\r\nh:5432:app:u:old";
    let new = set(text, "h:5432:app:u", "password1");
    assert_eq!(
        new,
        "#h:5432:app:u:commented\r\n\r\n h:5432:app:u:indented\r\nh:5432:app:u:password1"
    );
    // Appending gives the last line its ending, and the new one the file's dominant one.
    let new = set(text, "h:5432:app:v", "password2");
    assert!(
        new.ends_with("h:5432:app:u:old\r\nh:5432:app:v:password2\r\n"),
        "{new:?}"
    );
}

#[test]
fn an_absent_key_is_appended() {
    assert_eq!(set("", K, "pw"), format!("{K}:pw\n"));
    assert_eq!(
        set("a:1:b:c:dddddd\n", K, "pw"),
        format!("a:1:b:c:dddddd\n{K}:pw\n")
    );
    assert_eq!(
        set("# only a comment", K, "pw"),
        format!("# only a comment\n{K}:pw\n")
    );
}

#[test]
fn an_equal_value_keeps_its_spelling() {
    let text = "h:5432:app:u:p\\assword\n";
    assert_eq!(
        splice(text, &updates("h:5432:app:u", "password"))
            .unwrap()
            .text,
        text
    );
}

#[test]
fn a_line_that_shadows_the_key_is_refused() {
    // libpq takes the first match: the key's line after a line for every user is never read.
    let text = "*:*:*:*:general\nh:5432:app:u:old\n";
    let err = refused(text, "h:5432:app:u", "newpassword");
    assert!(
        matches!(&err, Refusal::File(why) if why.contains("line 1") && why.contains("never be read")),
        "{err:?}"
    );
    // So is an absent key, which would be appended below it.
    assert!(matches!(
        refused("h:*:app:*:x\n", "h:5432:app:u", "newpassword"),
        Refusal::File(_)
    ));
    // A commented or password-less line shadows nothing.
    let text = "#*:*:*:*:c\nh:*:*:*\nh:5432:app:u:old\n";
    assert!(splice(text, &updates("h:5432:app:u", "newpassword")).is_ok());
}

#[test]
fn a_partial_overlap_warns_and_a_narrower_line_above_does_not() {
    let text = "h:*:app:u:other\n*:5432:app:u:old\n";
    let s = splice(text, &updates("*:5432:app:u", "newpassword")).unwrap();
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(s.warnings[0].contains("line 1"));
    // The usual layout: a specific line first, the general one after it.
    let text = "h:5432:app:u:specific\n*:*:app:u:old\n";
    let s = splice(text, &updates("*:*:app:u", "newpassword")).unwrap();
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn lines_libpq_and_node_read_differently_are_refused() {
    for (text, rule) in [
        ("h:5432:app:u\n", Rule::NoPassword),
        ("h:5432:app:u:pa:ss\n", Rule::ExtraFields),
        ("a:1:b:c:d\0e\n", Rule::Nul),
        ("\u{feff}h:5432:app:u:old\n", Rule::Bom),
        ("a:1:b:c:d\re\n", Rule::InnerCarriageReturn),
    ] {
        assert_eq!(
            refused(text, "h:5432:app:u", "newpassword"),
            rule.refuse("h:5432:app:u", Some(1)),
            "{text:?}"
        );
    }
}

#[test]
fn values_no_line_can_carry_are_refused() {
    for (value, rule) in [
        ("", Rule::ValueEmpty),
        ("a\0b", Rule::ValueNul),
        ("a\nb:c:d:e:f", Rule::ValueLineFeed),
        ("a\rb", Rule::ValueCarriageReturn),
    ] {
        assert_eq!(refused("", K, value), rule.refuse(K, None), "{value:?}");
    }
    assert_eq!(
        refused("", "h:1:d:u", "p"),
        Rule::ValueShortLine.refuse("h:1:d:u", None)
    );
}

#[test]
fn keys() {
    let ok = Pgpass.check_key(K);
    assert!(ok.is_ok(), "{ok:?}");
    for (key, rule) in [
        ("h:5432:app", Rule::KeyFieldCount),
        ("h:5432:app:u:p", Rule::KeyFieldCount),
        ("h::app:u", Rule::KeyEmptyField),
        ("h:5432:app:u\\x", Rule::KeyEscape),
        ("h:5432:app\\\\:u", Rule::KeyBackslashEnd),
        ("#h:5432:app:u", Rule::KeyComment),
        ("h:pg:app:u", Rule::KeyPort),
        ("h:5432:app:u\r", Rule::KeyControl),
    ] {
        assert_eq!(rules::parse_key(key), Err(rule), "{key:?}");
        assert!(
            matches!(refused("", key, "password"), Refusal::Key(_)),
            "{key:?}"
        );
    }
    assert_eq!(
        rules::parse_key("*:*:a\\:b:c\\\\d").unwrap(),
        vec![
            Field::Any,
            Field::Any,
            Field::Is("a:b".into()),
            Field::Is("c\\d".into())
        ]
    );
}

#[test]
fn libpq_reading() {
    // A lone backslash at the end is kept; `\x` is `x`; CRs at the end are dropped.
    assert_eq!(
        get("h:1:d:u:ab\\\n", "h:1:d:u").unwrap().as_deref(),
        Some("ab\\")
    );
    assert_eq!(
        get("h:1:d:u:a\\bc\r\r\n", "h:1:d:u").unwrap().as_deref(),
        Some("abc")
    );
    // The first line wins; fewer than five fields is no entry.
    assert_eq!(
        get("h:1:d:u\nh:1:d:u:one\nh:1:d:u:two\n", "h:1:d:u")
            .unwrap()
            .as_deref(),
        Some("one")
    );
}

#[test]
fn the_mode_warning_names_the_fix() {
    assert_eq!(Pgpass.mode_warning(0o100600), None);
    assert_eq!(Pgpass.mode_warning(0o100400), None);
    let w = Pgpass.mode_warning(0o100640).unwrap();
    assert!(w.contains("0640") && w.contains("chmod 600"), "{w}");
    assert!(Pgpass.mode_warning(0o100604).is_some());
}

#[test]
fn verify_catches_a_wrong_splice() {
    let old = "# c\nh:1:d:u:oldpassword\nx:1:d:u:other\n";
    let u = updates("h:1:d:u", "newpassword");
    assert!(verify(old, "# c\nh:1:d:u:newpassword\nx:1:d:u:other\n", &u).is_ok());
    for wrong in [
        "# c\nh:1:d:u:oldpassword\nx:1:d:u:other\n",
        "# c\nh:1:d:u:newpassword\nx:1:d:u:changed\n",
        "# C\nh:1:d:u:newpassword\nx:1:d:u:other\n",
        "# c\nh:1:d:u:newpassword\r\nx:1:d:u:other\n",
        "# c\nh:1:d:u:newpassword\nx:1:d:u:other\nh:1:d:u:newpassword\n",
        "# c\nh:1:d:u:new\\:password\nx:1:d:u:other\n",
        "# c\n*:*:*:*:x\nh:1:d:u:newpassword\n",
    ] {
        assert!(verify(old, wrong, &u).is_err(), "{wrong:?}");
    }
}

/// Every matching line is rewritten: a million of them (a hostile 16 MiB file) took one
/// `replace_range` each, moving the rest of the file every time, quadratic: 300,000 lines took
/// minutes. Now one pass.
#[test]
fn many_matching_lines_are_spliced_in_linear_time() {
    let text = "h:5432:db:u:old\n".repeat(300_000);
    let started = std::time::Instant::now();
    let new = splice(&text, &[("h:5432:db:u".into(), "a-longer-password".into())]).unwrap();
    let took = started.elapsed();
    assert_eq!(new.text, "h:5432:db:u:a-longer-password\n".repeat(300_000));
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}
