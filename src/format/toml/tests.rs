//! Unit tests of the TOML splice: examples of every shape docs/formats/toml.md names.

use super::*;

/// `value` set at `pointer` in `text`, verified and read back.
pub(super) fn set(text: &str, pointer: &str, value: &str) -> String {
    let updates = [(pointer.to_string(), value.to_string())];
    let new = splice(text, &updates).unwrap();
    verify(text, &new, &updates).unwrap();
    assert_eq!(get(&new, pointer).unwrap().as_deref(), Some(value));
    new
}

fn refused(text: &str, pointer: &str) -> Rule {
    splice(text, &[(pointer.to_string(), "v".to_string())]).unwrap_err()
}

#[test]
fn a_value_is_replaced_in_place_with_its_spacing_and_comment() {
    let text =
        "# app\n[database]\nuser = \"app\"\npassword   =   \"old\"   # rotated\n\n[other]\nx = 1\n";
    assert_eq!(
        set(text, "/database/password", "new"),
        text.replace("\"old\"", "\"new\"")
    );
}

#[test]
fn the_old_strings_style_is_kept_when_it_can_carry_the_value() {
    assert_eq!(set("k = 'old'\n", "/k", "C:\\x"), "k = 'C:\\x'\n");
    assert_eq!(set("k = \"old\"\n", "/k", "C:\\x"), "k = \"C:\\\\x\"\n");
    // A literal string cannot hold `'`: a basic string then.
    assert_eq!(set("k = 'old'\n", "/k", "it's"), "k = \"it's\"\n");
    // Multi-line strings become the single-line string of their family.
    assert_eq!(set("k = '''\nold\n'''\n", "/k", "a\"b"), "k = 'a\"b'\n");
    assert_eq!(
        set("k = \"\"\"\nold\"\"\"\n", "/k", "a\"b"),
        "k = \"a\\\"b\"\n"
    );
}

#[test]
fn a_new_key_is_literal_only_where_that_reads_better() {
    assert_eq!(set("", "/k", "tok.en/+="), "k = \"tok.en/+=\"\n");
    assert_eq!(set("", "/k", "C:\\dir"), "k = 'C:\\dir'\n");
    assert_eq!(set("", "/k", "say \"hi\""), "k = 'say \"hi\"'\n");
    assert_eq!(set("", "/k", "it's \\"), "k = \"it's \\\\\"\n");
}

#[test]
fn escapes_are_toml_1_0_ones() {
    let new = set(
        "k = \"\"\n",
        "/k",
        "q\"b\\t\tn\nr\rf\u{c}b\u{8}e\u{1b}d\u{7f}z\0é🔑",
    );
    assert_eq!(
        new,
        "k = \"q\\\"b\\\\t\\tn\\nr\\rf\\fb\\be\\u001Bd\\u007Fz\\u0000é🔑\"\n"
    );
}

#[test]
fn a_missing_key_is_added_to_its_table() {
    let text = "[database]\nuser = \"u\"\n\n[other]\nx = 1\n";
    assert_eq!(
        set(text, "/database/password", "p"),
        "[database]\nuser = \"u\"\npassword = \"p\"\n\n[other]\nx = 1\n"
    );
    let indented = "[database]\n  user = \"u\"\n";
    assert_eq!(
        set(indented, "/database/password", "p"),
        "[database]\n  user = \"u\"\n  password = \"p\"\n"
    );
    assert_eq!(
        set("database.user = \"u\"\n[x]\n", "/database/password", "p"),
        "database.user = \"u\"\ndatabase.password = \"p\"\n[x]\n"
    );
    assert_eq!(
        set("db = { user = \"u\" }\n", "/db/password", "p"),
        "db = { user = \"u\", password = \"p\" }\n"
    );
    assert_eq!(
        set("top = 1\n[a]\nb = 2\n", "/token", "t"),
        "top = 1\ntoken = \"t\"\n[a]\nb = 2\n"
    );
}

#[test]
fn a_missing_table_is_created_at_the_end() {
    assert_eq!(
        set("x = 1\n[a]\ny = 2\n", "/db/pool/password", "p"),
        "x = 1\n[a]\ny = 2\n\n[db.pool]\npassword = \"p\"\n"
    );
    assert_eq!(
        set("", "/database/password", "p"),
        "[database]\npassword = \"p\"\n"
    );
    // Never inside an inline table, a dotted key or an array.
    for (text, pointer) in [
        ("db = { user = \"u\" }\n", "/db/pool/password"),
        ("db.user = \"u\"\n", "/db/pool/password"),
    ] {
        assert!(
            matches!(refused(text, pointer), Rule::CannotCreate { .. }),
            "{text}"
        );
    }
}

#[test]
fn several_keys_share_a_created_table() {
    let updates = [
        ("/db/password".to_string(), "p".to_string()),
        (
            "/db/expires_at".to_string(),
            "2026-01-01T00:00:00Z".to_string(),
        ),
        ("/cache/token".to_string(), "t".to_string()),
    ];
    let old = "[server]\nport = 1\n";
    let new = splice(old, &updates).unwrap();
    assert_eq!(
        new,
        "[server]\nport = 1\n\n[db]\npassword = \"p\"\nexpires_at = \"2026-01-01T00:00:00Z\"\n\n\
         [cache]\ntoken = \"t\"\n"
    );
    assert_eq!(verify(old, &new, &updates), Ok(()));
}

#[test]
fn arrays_need_an_explicit_index() {
    let text = "[[servers]]\nname = 'a'\n\n[[servers]]\nname = 'b'\npassword = 'old'\n";
    assert_eq!(
        set(text, "/servers/1/password", "new"),
        text.replace("'old'", "'new'")
    );
    assert_eq!(
        set(text, "/servers/0/password", "p"),
        "[[servers]]\nname = 'a'\npassword = \"p\"\n\n[[servers]]\nname = 'b'\npassword = 'old'\n"
    );
    assert!(matches!(
        refused(text, "/servers/password"),
        Rule::ArrayOfTables { .. }
    ));
    assert!(matches!(
        refused(text, "/servers/2/password"),
        Rule::NoSuchElement { .. }
    ));
    let inline = "servers = [{ pw = \"old\" }, 3]\n";
    assert_eq!(
        set(inline, "/servers/0/pw", "new"),
        "servers = [{ pw = \"new\" }, 3]\n"
    );
    assert!(matches!(
        refused(inline, "/servers/x/pw"),
        Rule::NoSuchElement { .. }
    ));
    assert!(matches!(
        refused(inline, "/servers/1/pw"),
        Rule::NotATable { .. }
    ));
}

#[test]
fn other_types_are_never_replaced() {
    for (text, kind) in [
        ("k = 5432\n", "an integer"),
        ("k = true\n", "a boolean"),
        ("k = 2026-01-01T00:00:00Z\n", "a date-time"),
        ("k = [\"a\"]\n", "an array"),
        ("[k]\n", "a table"),
        ("k = {}\n", "a table"),
        ("[[k]]\n", "an array of tables"),
    ] {
        let rule = refused(text, "/k");
        assert_eq!(
            rule,
            Rule::NotAString {
                pointer: "/k".into(),
                kind
            },
            "{text}"
        );
        assert_eq!(get(text, "/k"), Err(rule));
    }
    assert!(matches!(refused("a = 1\n", "/a/b"), Rule::NotATable { .. }));
}

#[test]
fn line_endings_and_a_missing_final_newline_are_kept() {
    let crlf = "a = 1\r\n[t]\r\nk = \"old\"\r\n";
    assert_eq!(set(crlf, "/t/k", "new"), crlf.replace("old", "new"));
    assert_eq!(
        set(crlf, "/t/p", "p"),
        "a = 1\r\n[t]\r\nk = \"old\"\r\np = \"p\"\r\n"
    );
    assert_eq!(set("k = 'old'", "/k", "new"), "k = 'new'");
    assert_eq!(set("a = 1", "/k", "new"), "a = 1\nk = \"new\"\n");
}

#[test]
fn keys_and_pointers() {
    let text = "\"a/b\" = { \"m~n\" = \"x\" }\n\"dotted.key\" = \"y\"\n";
    assert_eq!(
        set(text, "/a~1b/m~0n", "z"),
        "\"a/b\" = { \"m~n\" = \"z\" }\n\"dotted.key\" = \"y\"\n"
    );
    assert_eq!(
        set(text, "/dotted.key", "z"),
        "\"a/b\" = { \"m~n\" = \"x\" }\n\"dotted.key\" = \"z\"\n"
    );
    assert_eq!(set("", "/needs quotes", "v"), "\"needs quotes\" = \"v\"\n");
    assert!(matches!(refused("", "k"), Rule::NotPointer(_)));
    assert_eq!(
        Refusal::from(refused("", "k")),
        Refusal::Key(refused("", "k").to_string())
    );
}

#[test]
fn invalid_files_are_refused_without_their_text() {
    for text in [
        "k = \"s3cr3t\nx = 1\n",
        "k = \"s3cr3t\"\nk = \"s3cr3t\"\n",
        "[a]\nk = 1\n[a]\n",
        "k = s3cr3t\n",
    ] {
        let rule = refused(text, "/k");
        assert!(matches!(rule, Rule::Invalid { .. }), "{text}: {rule}");
        assert!(!rule.to_string().contains("s3cr3t"), "{rule}");
        assert!(!rule.to_string().contains('\n'), "{rule}");
        assert!(matches!(Refusal::from(rule), Refusal::File(_)));
    }
    assert_eq!(refused("\u{feff}k = 'x'\n", "/k"), Rule::ByteOrderMark);
    // A mix of LF and CRLF lines, which toml_edit would write all as LF.
    assert_eq!(refused("a = 1\r\nb = 2\n", "/k"), Rule::NotPreserved);
}

#[test]
fn an_equal_value_is_left_byte_identical() {
    let text = "k = \"caf\\u00e9\" # c\n";
    assert_eq!(splice(text, &[("/k".into(), "café".into())]).unwrap(), text);
}

#[test]
fn absent_keys_read_as_none() {
    assert_eq!(get("", "/a/b"), Ok(None));
    assert_eq!(get("[a]\n", "/a/b"), Ok(None));
    assert_eq!(get("[a]\nb = 'x'\n", "/a/b"), Ok(Some("x".into())));
}

#[test]
fn verify_catches_a_wrong_splice() {
    let old = "a = \"1\"\n[t]\nb = \"2\"\n";
    let updates = [("/a".to_string(), "9".to_string())];
    assert!(verify(old, "a = \"9\"\n[t]\nb = \"2\"\n", &updates).is_ok());
    let err = verify(old, "a = \"9\"\n[t]\nb = \"3\"\n", &updates).unwrap_err();
    assert!(!err.contains('3'), "{err}");
    let err = verify(old, "a = \"8\"\n[t]\nb = \"2\"\n", &updates).unwrap_err();
    assert!(err.contains("/a") && !err.contains('8'), "{err}");
    assert!(verify(old, "a = 9\n[t]\nb = \"2\"\n", &updates).is_err());
    assert!(verify(old, "a = \"9\"\n", &updates).is_err());
    assert!(verify(old, "a = \"9\n", &updates).is_err());
}

#[test]
fn the_registry_picks_toml_by_extension() {
    use crate::format::Format;
    assert_eq!(
        Format::for_path(std::path::Path::new("/etc/app/config.toml")),
        Format::Toml
    );
    assert_eq!(
        Format::for_path(std::path::Path::new("C.TOML")),
        Format::Toml
    );
}
