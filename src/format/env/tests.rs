//! Examples of the `.env` splice and read-back, rule by rule of shared/ENV-FORMAT.md, and the
//! helpers the other test modules share. The properties are in [`super::proptests`].

use super::*;

pub(super) fn set(text: &str, key: &str, value: &str) -> Result<Spliced, SpliceError> {
    splice(text, &[(key.to_owned(), value.to_owned())])
}

pub(super) fn set_text(text: &str, value: &str) -> String {
    match set(text, "K", value) {
        Ok(spliced) => spliced.text,
        Err(e) => panic!("splice refused: {e}"),
    }
}

pub(super) fn forbidden(value: &str) -> bool {
    matches!(set("", "K", value), Err(SpliceError::ForbiddenValue { .. }))
}

pub(super) fn unparseable_line(text: &str) -> Option<usize> {
    match set(text, "K", "v") {
        Err(SpliceError::Unparseable { line, .. }) => Some(line),
        _ => None,
    }
}

/// The one update `K`=`value`, as the run passes it.
pub(super) fn updates(value: &str) -> Vec<(String, String)> {
    vec![("K".to_owned(), value.to_owned())]
}

#[test]
fn valid_key_follows_the_posix_name_rule() {
    for good in ["K", "_", "_a1", "API_TOKEN", "a9"] {
        assert!(valid_key(good), "{good}");
    }
    for bad in ["", "1A", "A-B", "A.B", "A B", "É", "K="] {
        assert!(!valid_key(bad), "{bad}");
    }
}

#[test]
fn invalid_key_is_refused_before_anything_else() {
    let err = splice("A=\0\n", &[("1A".into(), "\n".into())]);
    assert_eq!(err, Err(SpliceError::InvalidKey { key: "1A".into() }));
    assert_eq!(
        get("", "A-B"),
        Err(SpliceError::InvalidKey { key: "A-B".into() })
    );
}

#[test]
fn rule1_refuses_nul_lf_cr_without_echoing_the_value() {
    for value in ["s3\0cr3t", "s3\ncr3t", "s3\rcr3t", "\r\n"] {
        let err = set("K=old\n", "K", value).unwrap_err();
        let SpliceError::ForbiddenValue { key, reason } = &err else {
            panic!("wrong variant {err:?}");
        };
        assert_eq!(key, "K");
        assert!(
            !reason.contains("s3") && !reason.contains("cr3t"),
            "{reason}"
        );
    }
}

#[test]
fn rule2_writes_tokens_unquoted() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.Ab-_+/=~9";
    assert_eq!(set_text("K=old\n", jwt), format!("K={jwt}\n"));
    assert_eq!(set_text("", "a@b%c,d:e-f"), "K=a@b%c,d:e-f\n");
}

#[test]
fn rule2_excludes_tilde_expansion_and_empty_values() {
    assert_eq!(set_text("", "~root"), "K='~root'\n");
    assert_eq!(set_text("", "a:~b"), "K='a:~b'\n");
    assert_eq!(set_text("", "a~b"), "K=a~b\n");
    assert_eq!(set_text("", ""), "K=''\n");
}

#[test]
fn rule3_single_quotes_hash_spaces_and_dollars() {
    assert_eq!(set_text("K=old\n", "pa#ss"), "K='pa#ss'\n");
    assert_eq!(set_text("", "a b"), "K='a b'\n");
    assert_eq!(set_text("", "pa$word"), "K='pa$word'\n");
    assert_eq!(set_text("", "a\\b\"`"), "K='a\\b\"`'\n");
}

#[test]
fn rule3_warns_about_python_dotenv_expansion() {
    let spliced = set("", "K", "x${HOME}y").unwrap();
    assert_eq!(spliced.text, "K='x${HOME}y'\n");
    assert_eq!(spliced.warnings.len(), 1);
    assert!(spliced.warnings[0].contains("python-dotenv"));
    assert!(!spliced.warnings[0].contains("HOME"));
    assert!(set("", "K", "a b").unwrap().warnings.is_empty());
}

#[test]
fn rule4_double_quotes_apostrophes() {
    assert_eq!(set_text("", "it's"), "K=\"it's\"\n");
}

#[test]
fn rule4_takes_values_rule3_cannot_carry() {
    // A double backslash is unsafe in single quotes; a trailing one is refused outright
    // (python-dotenv would read `\\"` as an escaped quote and misread the keys after it).
    assert!(forbidden("ab\\"));
    assert_eq!(set_text("", "a\\\\b"), "K=\"a\\\\\\\\b\"\n");
}

#[test]
fn rule5_escapes_and_warns_about_node() {
    let spliced = set("", "K", "it's \"$5\" \\ x").unwrap();
    assert_eq!(spliced.text, "K=\"it's \\\"\\$5\\\" \\\\ x\"\n");
    assert!(spliced.warnings.iter().any(|w| w.contains("Node")));
    assert!(spliced.warnings.iter().all(|w| !w.contains("$5")));
}

#[test]
fn rule6_refuses_backtick_needing_escapes() {
    assert!(forbidden("it's `id`"));
    assert!(forbidden("a\\\\`"));
    assert!(!forbidden("a`b"), "rule 3 carries a backtick");
}

#[test]
fn empty_file_gets_one_line() {
    assert_eq!(set_text("", "v"), "K=v\n");
}

#[test]
fn every_occurrence_is_updated() {
    assert_eq!(set_text("K=first\nA=1\nK=second\n", "v"), "K=v\nA=1\nK=v\n");
}

#[test]
fn injected_line_inside_another_value_is_not_matched() {
    let text = "A=\"l1\nK=inj\n\"\n";
    assert_eq!(set_text(text, "v"), format!("{text}K=v\n"));
    assert_eq!(get(text, "K"), Ok(None));
    assert_eq!(get(text, "A"), Ok(Some("l1\nK=inj\n".into())));
    // An escaped quote does not close the value.
    let text = "A=\"x\\\"\nK=inj\n\"\n";
    assert_eq!(set_text(text, "v"), format!("{text}K=v\n"));
    let text = "A='l1\nK=inj\n'\n";
    assert_eq!(set_text(text, "v"), format!("{text}K=v\n"));
}

#[test]
fn prefix_is_kept_byte_for_byte() {
    assert_eq!(set_text("export K=v1\n", "v"), "export K=v\n");
    assert_eq!(
        set_text(" \texport\t K \t=v1\n", "v"),
        " \texport\t K \t=v\n"
    );
    assert_eq!(
        set_text("export=1\nexport =2\n", "v"),
        "export=1\nexport =2\nK=v\n"
    );
    assert_eq!(
        set_text("KEY=1\nK2=2\nAK=3\n", "v"),
        "KEY=1\nK2=2\nAK=3\nK=v\n"
    );
}

#[test]
fn spaces_after_equals_are_dropped() {
    // `K= v` would run `v` as a command in sh.
    assert_eq!(set_text("K= v1\n", "v"), "K=v\n");
    assert_eq!(set_text("K=\t 'old'\n", "v"), "K=v\n");
}

#[test]
fn trailing_comment_is_kept_and_forces_quotes() {
    assert_eq!(set_text("K=val # c\n", "v"), "K='v' # c\n");
    assert_eq!(set_text("K=\"old\"\t#c\n", "v"), "K='v'\t#c\n");
    assert_eq!(set_text("K=   # c\n", "v"), "K='v'   # c\n");
    assert_eq!(set_text("K= # c\n", "it's"), "K=\"it's\" # c\n");
}

#[test]
fn hash_without_blank_before_is_part_of_the_value() {
    assert_eq!(set_text("K=pa#ss\n", "v"), "K=v\n");
    assert_eq!(set_text("K=#x\n", "v"), "K=v\n");
    assert_eq!(get("K=pa#ss # c\n", "K"), Ok(Some("pa#ss".into())));
}

#[test]
fn trailing_blanks_are_kept() {
    assert_eq!(set_text("K=old  \n", "v"), "K=v  \n");
    assert_eq!(set_text("K='old' \n", "v"), "K=v \n");
    assert_eq!(set_text("K=\n", "v"), "K=v\n");
}

#[test]
fn multiline_old_value_is_replaced_entirely() {
    assert_eq!(set_text("K=\"l1\nl2\" # c\nA=1\n", "v"), "K='v' # c\nA=1\n");
    assert_eq!(set_text("K='l1\r\nl2'\r\nA=1\r\n", "v"), "K=v\r\nA=1\r\n");
}

#[test]
fn crlf_is_kept_per_line() {
    let text = "A=1\r\nK=old\r\nB=2\nK=x\n";
    assert_eq!(set_text(text, "v"), "A=1\r\nK=v\r\nB=2\nK=v\n");
}

#[test]
fn appended_line_uses_the_dominant_line_ending() {
    assert_eq!(
        set_text("A=1\r\nB=2\r\nC=3\n", "v"),
        "A=1\r\nB=2\r\nC=3\nK=v\r\n"
    );
    assert_eq!(set_text("A=1\r\nB=2\nC=3\n", "v"), "A=1\r\nB=2\nC=3\nK=v\n");
    assert_eq!(set_text("A=1\r\nB=2", "v"), "A=1\r\nB=2\r\nK=v\r\n");
}

#[test]
fn missing_final_newline_stays_missing_unless_appending() {
    assert_eq!(set_text("A=1\nK=old", "v"), "A=1\nK=v");
    assert_eq!(set_text("A=1\nK=old # c", "v"), "A=1\nK='v' # c");
    assert_eq!(set_text("A=1", "v"), "A=1\nK=v\n");
}

#[test]
fn bom_is_kept_and_skipped_when_matching() {
    assert_eq!(set_text("\u{feff}K=old\nA=1\n", "v"), "\u{feff}K=v\nA=1\n");
    assert_eq!(set_text("\u{feff}", "v"), "\u{feff}K=v\n");
    assert_eq!(get("\u{feff}K=x", "K"), Ok(Some("x".into())));
}

#[test]
fn lines_dotenvy_splits_differently_are_refused() {
    // Two blanks before `#` make it no comment for dotenvy: its `"` opens a value that holds
    // the K line, which sh reads as a key.
    assert_eq!(unparseable_line("A=x  #c\"\nK=1\n\"\n"), Some(2));
    // One blank: a comment for every reader.
    assert_eq!(set_text("A=x #c\"\nK=1\n", "v"), "A=x #c\"\nK=v\n");
    // A quote in a full-line comment is no quote for anyone.
    assert_eq!(set_text("# it's\nK=1\n", "v"), "# it's\nK=v\n");
}

#[test]
fn continuation_line_is_not_a_key_line() {
    // sh joins `K=inj` into A's value, dotenvy reads it as a key: refused.
    assert_eq!(unparseable_line("A=x\\\nK=inj\n"), Some(1));
    // sh joins `K=inj` to the junk line, dotenvy reads it as a key: refused.
    assert_eq!(unparseable_line("junk \\\nK=inj\n"), Some(2));
    // An escaped backslash does not continue the line.
    assert_eq!(set_text("A=x\\\\\nK=old\n", "v"), "A=x\\\\\nK=v\n");
}

#[test]
fn a_continued_value_of_a_key_being_set_is_refused() {
    // sh, dotenvy and systemd join the lines, Node does not: readers disagree on the value,
    // and a continuation at the very end would leave a stray `\` after the new value.
    assert_eq!(unparseable_line("K=ab\\\ncd # c\nA=1\n"), Some(1));
    assert_eq!(unparseable_line("K=a\\M\\\n"), Some(1));
    assert!(matches!(
        get("K=ab\\\ncd\n", "K"),
        Err(SpliceError::Unparseable { .. })
    ));
    // Another key's continuation onto a line of text is refused too (readers disagree where
    // its value ends); one at the end of the file is harmless and left alone.
    assert_eq!(unparseable_line("A=ab\\\ncd\n"), Some(1));
    assert_eq!(set_text("A=ab\\\n", "v"), "A=ab\\\n\nK=v\n");
}

#[test]
fn appending_after_a_trailing_backslash_adds_a_blank_line() {
    assert_eq!(set_text("# note \\\n", "v"), "# note \\\n\nK=v\n");
    // Without a final newline sh keeps the `\`: appending would make it a continuation.
    assert_eq!(unparseable_line("A=x\\"), Some(1));
    assert_eq!(set_text("A=x\\\r\n", "v"), "A=x\\\r\n\r\nK=v\r\n");
}

#[test]
fn comment_lines_are_skipped() {
    let text = "# K=old\n  #K=old\n";
    assert_eq!(set_text(text, "v"), format!("{text}K=v\n"));
}

#[test]
fn keys_are_appended_in_the_order_given() {
    let updates = [("B".into(), "2".into()), ("A".into(), "x y".into())];
    let spliced = splice("A=1\n", &updates).unwrap();
    assert_eq!(spliced.text, "A='x y'\nB=2\n");
    let updates = [("Z".into(), "1".into()), ("Y".into(), "2".into())];
    assert_eq!(splice("", &updates).unwrap().text, "Z=1\nY=2\n");
}

#[test]
fn splicing_the_value_already_written_changes_nothing() {
    for text in ["K='a b' # c\r\n", "export K=\"it's\"", "K=tok\n", "K=''\n"] {
        let value = get(text, "K").unwrap().unwrap();
        assert_eq!(set_text(text, &value), text);
    }
}

#[test]
fn unterminated_quote_is_unparseable() {
    assert_eq!(unparseable_line("A=1\nB=\"x\n"), Some(2));
    assert_eq!(unparseable_line("A='x\\'\n"), Some(1));
    assert_eq!(unparseable_line("A=\"x\\\"\n"), Some(1));
}

#[test]
fn backslash_quote_in_single_quotes_is_unparseable() {
    // dotenvy reads `\'` as an escaped quote, sh as a backslash then the closing quote.
    assert_eq!(unparseable_line("A=1\nB='x\\'y'\n"), Some(2));
    assert_eq!(unparseable_line("B='x\\\\'\n"), None);
}

#[test]
fn nul_anywhere_is_unparseable() {
    assert_eq!(unparseable_line("A=1\n# \0\n"), Some(2));
    assert!(get("A=\0", "K").is_err());
}

#[test]
fn text_after_closing_quote_is_refused_only_for_keys_being_set() {
    assert_eq!(unparseable_line("A=1\nK=\"v\"#c\n"), Some(2));
    assert_eq!(unparseable_line("K='v'x\n"), Some(1));
    assert_eq!(unparseable_line("A=\"v\"#c\nB='v' x\n"), None);
    assert_eq!(set_text("A=\"v\"#c\n", "v"), "A=\"v\"#c\nK=v\n");
    assert!(get("K=\"v\"#c\n", "K").is_err());
    assert_eq!(get("K=\"v\"#c\n", "A"), Ok(None));
}

#[test]
fn get_decodes_each_quoting() {
    let text = "A=a b  # c\nB='x\\n$y'\nC=\"q\\\"\\\\\\$\\n\\x\"\nD=a\\ b\nE=\n";
    assert_eq!(get(text, "A"), Ok(Some("a b".into())));
    assert_eq!(get(text, "B"), Ok(Some("x\\n$y".into())));
    assert_eq!(get(text, "C"), Ok(Some("q\"\\$\n\\x".into())));
    assert_eq!(get(text, "D"), Ok(Some("a b".into())));
    assert_eq!(get(text, "E"), Ok(Some(String::new())));
    assert_eq!(get(text, "F"), Ok(None));
}

#[test]
fn get_reads_the_last_occurrence() {
    assert_eq!(get("K=first\nK=second\n", "K"), Ok(Some("second".into())));
}

/// An INI file (`~/.aws/credentials`) taken for a `.env` would have the key updated in every
/// profile and appended to the last: a `[section]` line makes it 65, with its line number.
#[test]
fn a_section_header_is_an_ini_file_not_a_dotenv() {
    let aws = "[default]\naws_access_key_id=AKIA1\n\n[app]\naws_access_key_id=AKIA2\n";
    assert_eq!(unparseable_line(aws), Some(1));
    assert_eq!(unparseable_line("A=1\n  [app]  \nK=2\n"), Some(2));
    let err = set(aws, "K", "v").unwrap_err().to_string();
    assert!(err.contains("INI file"), "{err}");
    assert!(err.contains("--format ini"), "{err}");
    // Brackets inside a value, a comment or a quoted span are not headers.
    for fine in ["K=[1]\n", "# [default]\nK=1\n", "A=\"\n[x]\n\"\nK=1\n"] {
        assert!(set(fine, "K", "v").is_ok(), "{fine:?}");
    }
}

/// Node's dotenv takes backticks as quotes (and reads on across lines to the closing one); every
/// other reader takes them as text: the old value's tail would survive the edit.
#[test]
fn backtick_values_are_refused_where_readers_disagree() {
    // On the key being set, on one line or several: 65, nothing written.
    assert_eq!(unparseable_line("A=1\nK=`sec #ret` # c\n"), Some(2));
    assert_eq!(unparseable_line("K=`first\nit's\nlast`\n"), Some(1));
    // Spanning lines anywhere: the lines inside are keys to some readers only.
    assert_eq!(unparseable_line("A=`x\nK=inj\ny`\nK=1\n"), Some(1));
    let err = set("K=`a b`\n", "K", "v").unwrap_err().to_string();
    assert!(err.contains("backticks") && err.contains("K"), "{err}");
    // Another key's one-line backtick value, a lone backtick, an escaped one, a backtick
    // inside a value: left as they are.
    for fine in [
        "A=`a b`\nK=1\n",
        "A=`lone\nK=1\n",
        "A=`a\\`\nK=1\n",
        "A=x`y\nB=`z`\nK=1\n",
        "K='`quoted`'\n",
    ] {
        assert!(set(fine, "K", "v").is_ok(), "{fine:?}");
    }
    assert_eq!(set_text("A=`a b`\n", "v"), "A=`a b`\nK=v\n");
}

/// A new value's backtick must not close another value's backtick left open earlier: Node's
/// dotenv would read the lines between as that value (found by fuzzing).
#[test]
fn a_backtick_in_the_value_that_would_close_another_is_refused() {
    assert!(matches!(
        set("A=`x\n", "K", "a`b"),
        Err(SpliceError::ForbiddenValue { .. })
    ));
    assert!(matches!(
        set("A=`x\nK=1\n", "K", "it's `b"),
        Err(SpliceError::ForbiddenValue { .. })
    ));
    // With nothing left open, a backtick is written (single quotes).
    assert_eq!(set_text("A=1\n", "a`b"), "A=1\nK='a`b'\n");
}
