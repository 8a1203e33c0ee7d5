use super::*;

fn set(text: &str, pointer: &str, value: &str) -> String {
    let updates = [(pointer.to_string(), value.to_string())];
    let new = splice(text, &updates).unwrap_or_else(|e| panic!("{e:?}"));
    verify(text, &new, &updates).unwrap();
    new
}

fn refused(text: &str, pointer: &str) -> Refusal {
    splice(text, &[(pointer.to_string(), "v".to_string())]).unwrap_err()
}

const APP: &str = "# Backstage\napp:\n  title: x # t\nbackend:\n  database:\n    client: pg\n    connection:\n      host: db\n      password: old # rotated\n      port: 5432\n";

#[test]
fn only_the_scalar_changes_in_block_and_flow_mappings() {
    assert_eq!(
        set(APP, "/backend/database/connection/password", "new"),
        APP.replace("password: old", "password: new")
    );
    let flow = "db: {user: app, password: old, port: 1}\n";
    assert_eq!(
        set(flow, "/db/password", "new"),
        "db: {user: app, password: new, port: 1}\n"
    );
    let crlf = APP.replace('\n', "\r\n");
    assert_eq!(
        set(&crlf, "/backend/database/connection/password", "new"),
        crlf.replace("password: old", "password: new")
    );
}

#[test]
fn the_norway_list_is_quoted() {
    for v in [
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
        "YES",
        "No",
        "ON",
        "Off",
        "Y",
        "N",
        "TRUE",
        "False",
        "NULL",
        "Null",
        ".INF",
        "-.inf",
        ".NaN",
        "1_000",
        "1:20",
        "0o17",
        "0b101",
        "+1",
        "=",
        "<<",
    ] {
        let new = set("k: old\n", "/k", v);
        assert_eq!(new, format!("k: '{v}'\n"), "{v}");
        assert_eq!(get(&new, "/k").unwrap().as_deref(), Some(v));
    }
}

#[test]
fn forms_plain_single_double() {
    for (v, written) in [
        (
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.Ab-_+/=~9",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.Ab-_+/=~9",
        ),
        ("a: b", "'a: b'"),
        ("a #b", "'a #b'"),
        ("it's", "'it''s'"),
        ("-x", "'-x'"),
        ("&a", "'&a'"),
        ("*a", "'*a'"),
        ("!t", "'!t'"),
        ("a\\b\"", "'a\\b\"'"),
        (" lead", "' lead'"),
        ("a\tb", "\"a\\tb\""),
        ("a\nb", "\"a\\nb\""),
        ("nul\0", "\"nul\\0\""),
        (
            "\u{85}\u{2028}\u{feff}\u{7f}",
            "\"\\x85\\u2028\\uFEFF\\x7F\"",
        ),
        ("pässwörd 日本", "'pässwörd 日本'"),
    ] {
        assert_eq!(set("k: old\n", "/k", v), format!("k: {written}\n"), "{v:?}");
    }
}

#[test]
fn the_old_style_is_kept_when_it_can_carry_the_value() {
    assert_eq!(set("k: 'old'\n", "/k", "new"), "k: 'new'\n");
    assert_eq!(set("k: \"old\"\n", "/k", "it's"), "k: \"it's\"\n");
    assert_eq!(set("k: 'old'\n", "/k", "a\nb"), "k: \"a\\nb\"\n");
    // A block scalar becomes a quoted one on the same line; the next key stays.
    assert_eq!(
        set("k: |\n  old\n  two\nz: 1\n", "/k", "new"),
        "k: 'new'\nz: 1\n"
    );
    assert_eq!(set("k: >-\n  old\nz: 1\n", "/k", "a b"), "k: 'a b'\nz: 1\n");
}

#[test]
fn a_missing_key_is_added_to_its_mapping_at_its_indentation() {
    let text = "a:\n    b: 1\n    c: 2\nz: 3\n";
    assert_eq!(
        set(text, "/a/k", "v"),
        "a:\n    b: 1\n    c: 2\n    k: v\nz: 3\n"
    );
    assert_eq!(set("a: {b: 1}\n", "/a/k", "yes"), "a: {b: 1, k: 'yes'}\n");
    assert_eq!(set("", "/k", "v"), "k: v\n");
    assert_eq!(set("# c\n", "/k", "v"), "# c\nk: v\n");
    assert_eq!(set("a: 1", "/k", "v"), "a: 1\nk: v");
    assert_eq!(set("a: 1\n", "/a b", "v"), "a: 1\n'a b': v\n");
    assert_eq!(set("a:\n  b:\n", "/a/b", "v"), "a:\n  b: v\n");
}

#[test]
fn an_equal_value_is_left_byte_identical() {
    let text = "k: \"caf\\u00e9\"\nb: 'yes'\n";
    assert_eq!(set(text, "/k", "café"), text);
    assert_eq!(set(text, "/b", "yes"), text);
    // Plain `yes` is a boolean to YAML 1.1: the string "yes" must be quoted.
    assert_eq!(set("b: yes\n", "/b", "yes"), "b: 'yes'\n");
}

#[test]
fn shapes_on_the_way_are_refused_elsewhere_kept() {
    let file = |r: Refusal| matches!(r, Refusal::File(_));
    for (text, pointer) in [
        ("a: &x\n  k: 1\n", "/a/k"),
        ("base: &b {k: 1}\na: *b\n", "/a/k"),
        ("a:\n  <<: {k: 1}\n  j: 2\n", "/a/k"),
        ("a: !!map\n  k: 1\n", "/a/k"),
        ("a:\n  k: !secret old\n", "/a/k"),
        ("a:\n  k: &p old\n", "/a/k"),
        ("a:\n  k: *p\n", "/a/k"),
        ("a: 1\n---\na: 2\n", "/a"),
        ("a:\n  k: 1\n  k: 2\n", "/a/k"),
        ("a: [1]\n", "/a/k"),
        ("a: 1\n", "/a/k"),
        ("a:\n  k: {x: 1}\n", "/a/k"),
        ("a:\n  k: [1]\n", "/a/k"),
        ("nope: 1\n", "/a/k"),
        ("a: b: c\n", "/a"),
        ("a: 'unterminated\n", "/a"),
        ("- 1\n", "/a"),
        ("just a scalar\n", "/a"),
        ("a: 1\0\n", "/a"),
    ] {
        let r = refused(text, pointer);
        assert!(file(r.clone()), "{text:?} {pointer}: {r:?}");
    }
    // Elsewhere in the file, anchors, aliases, merge keys and tags stay as they are.
    let text = "base: &b {x: 1}\nother:\n  <<: *b\n  t: !!str 5\ndb:\n  password: old\n";
    assert_eq!(set(text, "/db/password", "new"), text.replace("old", "new"));
}

#[test]
fn keys_and_empty_values() {
    let y = Yaml;
    assert!(y.check_key("/a/b").is_ok());
    assert!(y.check_key("a").is_err());
    assert!(y.check_key("/a//b").is_err());
    assert!(matches!(
        splice("a: 1\n", &[("/a".into(), String::new())]),
        Err(Refusal::Value(_))
    ));
    assert_eq!(
        set("a~b: 1\n'c/d': 2\n", "/c~1d", "v"),
        "a~b: 1\n'c/d': v\n"
    );
    assert_eq!(set("a~b: 1\n", "/a~0b", "v"), "a~b: v\n");
}

#[test]
fn get_reads_scalars_and_refuses_what_splice_refuses() {
    assert_eq!(
        get(APP, "/backend/database/connection/password")
            .unwrap()
            .as_deref(),
        Some("old")
    );
    assert_eq!(
        get(APP, "/backend/database/connection/port")
            .unwrap()
            .as_deref(),
        Some("5432")
    );
    assert_eq!(get(APP, "/backend/database/connection/nope").unwrap(), None);
    assert_eq!(get("", "/a").unwrap(), None);
    assert!(matches!(
        get("a: &x\n  k: 1\n", "/a/k"),
        Err(Refusal::File(_))
    ));
}

#[test]
fn verify_catches_a_wrong_splice() {
    let old = "a: 1\nk: old\nb: 'x'\n";
    let up = [("/k".to_string(), "yes".to_string())];
    assert!(verify(old, "a: 1\nk: 'yes'\nb: 'x'\n", &up).is_ok());
    // The value plain: a boolean to YAML 1.1.
    assert!(verify(old, "a: 1\nk: yes\nb: 'x'\n", &up).is_err());
    // A neighbour changed, its style changed, the value wrong, an extra key.
    assert!(verify(old, "a: 2\nk: 'yes'\nb: 'x'\n", &up).is_err());
    assert!(verify(old, "a: 1\nk: 'yes'\nb: \"x\"\n", &up).is_err());
    assert!(verify(old, "a: 1\nk: 'no'\nb: 'x'\n", &up).is_err());
    assert!(verify(old, "a: 1\nk: 'yes'\nb: 'x'\nc: 1\n", &up).is_err());
    assert!(verify(old, "a: 1\nk: 'yes'\nb: 'x'\n---\n", &up).is_err());
}

#[test]
fn messages_never_hold_the_value() {
    let secret = "s3cr3t-value";
    for text in ["a: &x {k: 1}\n", "a: 'x\n", "a:\n  k: [1]\n"] {
        let err = splice(text, &[("/a/k".into(), secret.into())]).unwrap_err();
        assert!(!format!("{err:?}").contains(secret));
    }
}

#[test]
fn document_markers_directives_bom_and_a_flow_root() {
    for (text, pointer, want) in [
        ("---\na: 1\nk: old\n", "/k", "---\na: 1\nk: new\n"),
        (
            "%YAML 1.2\n---\nk: old\n...\n",
            "/k",
            "%YAML 1.2\n---\nk: new\n...\n",
        ),
        ("\u{feff}k: old\n", "/k", "\u{feff}k: new\n"),
        ("{a: {k: old}, b: 2}\n", "/a/k", "{a: {k: new}, b: 2}\n"),
        ("\"k\": old\n", "/k", "\"k\": new\n"),
        ("a:\n  - x\nk: old # c\n", "/k", "a:\n  - x\nk: new # c\n"),
    ] {
        assert_eq!(set(text, pointer, "new"), want, "{text:?}");
    }
    assert_eq!(get("\u{feff}k: v\n", "/k").unwrap().as_deref(), Some("v"));
}

/// Block collections nested thousands deep: yaml-rust2's loader recursed once per level and
/// overflowed the stack (the run aborted, 134). Now 65, in a thread of 1 MiB too.
#[test]
fn deep_block_nesting_is_refused_without_overflowing_the_stack() {
    let maps: String = (0..5000)
        .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
        .collect::<String>()
        + "k: old\n";
    let seqs: String = String::from("k: old\na:\n")
        + &(1..5000)
            .map(|i| format!("{}-\n", " ".repeat(i)))
            .collect::<String>();
    let fine: String = (0..100)
        .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
        .collect::<String>()
        + &"  ".repeat(100)
        + "k: old\n";
    let pointer = format!(
        "/{}/k",
        (0..100)
            .map(|i| format!("k{i}"))
            .collect::<Vec<_>>()
            .join("/")
    );
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            for text in [&maps, &seqs] {
                let Refusal::File(why) = refused(text, "/k") else {
                    panic!("not a file refusal")
                };
                assert!(why.contains("nested more than 128 levels"), "{why}");
                assert!(get(text, "/k").is_err());
            }
            assert_eq!(get(&fine, &pointer).unwrap().as_deref(), Some("old"));
        })
        .unwrap()
        .join()
        .unwrap();
}
