//! Unit tests of the INI splice: where values go, what stays byte-identical, and every rule of
//! [`super::rules`] refusing what it must (each with the corpus file it comes from).

use super::*;

pub(super) fn updates(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// Splice, then check the result with [`verify`] and read every value back with [`get`].
pub(super) fn set(text: &str, pairs: &[(&str, &str)]) -> Result<String, IniError> {
    let u = updates(pairs);
    let new = splice(text, &u)?;
    verify(text, &new, &u).unwrap_or_else(|e| panic!("verify: {e}\n{new}"));
    for (k, v) in &u {
        assert_eq!(get(&new, k).unwrap().as_deref(), Some(v.as_str()), "{k}");
    }
    Ok(new)
}

fn file_line(text: &str, key: &str) -> Option<usize> {
    match splice(text, &updates(&[(key, "v")])) {
        Err(IniError::Unparseable { line, .. }) => Some(line),
        _ => None,
    }
}

const AWS: &str = "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = long/lived+key=\n\n[app]\naws_access_key_id = ASIAOLD\naws_secret_access_key = old\naws_session_token = tok\n";

#[test]
fn one_profile_changes_and_the_other_stays() {
    let new = set(
        AWS,
        &[
            ("/app/aws_access_key_id", "ASIANEW"),
            ("/app/aws_secret_access_key", "s/e+c="),
            ("/app/aws_session_token", "IQoJb3JpZ2luX2Vj//+=="),
        ],
    )
    .unwrap();
    assert_eq!(
        new,
        AWS.replace("ASIAOLD", "ASIANEW")
            .replace("= old", "= s/e+c=")
            .replace("= tok", "= IQoJb3JpZ2luX2Vj//+==")
    );
    assert!(new.starts_with("[default]\naws_access_key_id = AKIADEFAULT\n"));
}

#[test]
fn a_missing_key_goes_after_the_last_key_of_its_section() {
    let text = "[app]\nregion = eu\n\n# production\n[prod]\nregion = us\n";
    assert_eq!(
        set(text, &[("/app/token", "t")]).unwrap(),
        "[app]\nregion = eu\ntoken = t\n\n# production\n[prod]\nregion = us\n"
    );
    // The style of the key line above is copied: no spaces, a tab, an indent.
    assert_eq!(
        set("[a]\nk=1\n", &[("/a/t", "x")]).unwrap(),
        "[a]\nk=1\nt=x\n"
    );
    assert_eq!(
        set("[a]\n  k\t=\t1\n", &[("/a/t", "x")]).unwrap(),
        "[a]\n  k\t=\t1\n  t\t=\tx\n"
    );
    // After continuation lines, not inside them.
    assert_eq!(
        set("[a]\nk = 1\n  more\n\n[b]\n", &[("/a/t", "x")]).unwrap(),
        "[a]\nk = 1\n  more\nt = x\n\n[b]\n"
    );
    // A section with no key yet: right after its header.
    assert_eq!(
        set("[a]\n\n# c\n[b]\nx = 1\n", &[("/a/t", "x")]).unwrap(),
        "[a]\nt = x\n\n# c\n[b]\nx = 1\n"
    );
}

#[test]
fn a_missing_section_is_appended() {
    assert_eq!(
        set("[a]\nk = 1", &[("/b/t", "x"), ("/b/u", "y")]).unwrap(),
        "[a]\nk = 1\n\n[b]\nt = x\nu = y\n"
    );
    assert_eq!(set("", &[("/b/t", "x")]).unwrap(), "[b]\nt = x\n");
    assert_eq!(
        set("[a]\r\nk = 1\r\n\r\n", &[("/b/t", "x")]).unwrap(),
        "[a]\r\nk = 1\r\n\r\n[b]\r\nt = x\r\n"
    );
}

#[test]
fn keys_before_any_section() {
    assert_eq!(
        set("top = 1\n[a]\nk = 2\n", &[("/top", "x")]).unwrap(),
        "top = x\n[a]\nk = 2\n"
    );
    assert_eq!(
        set("; php\n[a]\nk = 2\n", &[("/new", "x")]).unwrap(),
        "new = x\n; php\n[a]\nk = 2\n"
    );
    // /k is not [a]'s k.
    assert_eq!(
        set("[a]\nk = 2\n", &[("/k", "x")]).unwrap(),
        "k = x\n[a]\nk = 2\n"
    );
}

#[test]
fn every_occurrence_is_updated() {
    // MariaDB reads every occurrence (the last wins), PHP the last; configparser refuses both
    // files before and after (duplicate-key.ini, duplicate-section.ini).
    assert_eq!(
        splice("[a]\nk = 1\nk = 2\n", &updates(&[("/a/k", "x")])).unwrap(),
        "[a]\nk = x\nk = x\n"
    );
    assert_eq!(
        splice(
            "[a]\nk = 1\n[b]\nk = 0\n[a]\nj = 2\n",
            &updates(&[("/a/k", "x"), ("/a/n", "y")])
        )
        .unwrap(),
        "[a]\nk = x\n[b]\nk = 0\n[a]\nj = 2\nn = y\n"
    );
}

#[test]
fn line_endings_spacing_and_the_final_newline_are_kept() {
    assert_eq!(
        set("[a]\r\nk=old\r\nj = 1\r\n", &[("/a/k", "new")]).unwrap(),
        "[a]\r\nk=new\r\nj = 1\r\n"
    );
    assert_eq!(
        set("[a]\nk =   old   \n", &[("/a/k", "new")]).unwrap(),
        "[a]\nk =   new   \n"
    );
    assert_eq!(
        set("[a]\nk = old", &[("/a/k", "new")]).unwrap(),
        "[a]\nk = new"
    );
    assert_eq!(
        set("[a]\nk = old", &[("/a/j", "new")]).unwrap(),
        "[a]\nk = old\nj = new\n"
    );
    assert_eq!(
        set("[a]\nk =\n", &[("/a/k", "new")]).unwrap(),
        "[a]\nk = new\n"
    );
    assert_eq!(
        set("[a]\nk=\n", &[("/a/k", "new")]).unwrap(),
        "[a]\nk=new\n"
    );
    // A quoted old value is replaced whole: every reader then reads the new one.
    assert_eq!(
        set(
            "[client]\npassword = \"old\"\n",
            &[("/client/password", "new")]
        )
        .unwrap(),
        "[client]\npassword = new\n"
    );
}

#[test]
fn an_equal_value_is_left_alone() {
    let text = "[a]\nk = same\n";
    assert_eq!(set(text, &[("/a/k", "same")]).unwrap(), text);
}

#[test]
fn values_no_form_carries_are_refused() {
    for (value, why) in [
        ("secret\nb", "line break"),
        ("a\rb", "line break"),
        ("a\0b", "control"),
        ("a\u{b}b", "control"),
        (" a", "whitespace"),
        ("a\t", "whitespace"),
        ("50%", "%"),
        ("%%", "%"),
        ("a#b", "#"),
        ("a\\b", "backslash"),
        ("\"qu0ted\"", "quotes"),
        ("'quoted'", "quotes"),
        ("a ;b", ";"),
        ("yes", "boolean"),
        ("None", "boolean"),
        ("E_ALL", "constant"),
    ] {
        let err = splice(AWS, &updates(&[("/app/k", value)])).unwrap_err();
        assert!(
            matches!(&err, IniError::ForbiddenValue { reason, .. } if reason.contains(why)),
            "{value:?}: {err}"
        );
        // No message holds a value (those long enough to tell).
        let shown = value.trim();
        assert!(shown.len() < 4 || !err.to_string().contains(shown), "{err}");
    }
    // What every reader but PHP reads as written is written (docs/formats/ini.md).
    for fine in [
        "a=b==",
        "a;b",
        "a\"b",
        "a'b",
        "a b\tc",
        "ASIAQWERTY12345",
        "(x)|&^~!",
        "ca\u{e9}",
    ] {
        set(AWS, &[("/app/k", fine)]).unwrap();
    }
}

#[test]
fn files_readers_disagree_on_are_refused() {
    assert_eq!(file_line("\u{feff}[a]\nk = 1\n", "/a/k"), Some(1));
    assert_eq!(file_line("[a]\nk = 1\rj = 2\n", "/a/k"), Some(2));
    assert_eq!(file_line("[a]\nk = \0\n", "/a/j"), Some(2));
    // An indented header under a key: Python's continuation, everyone else's section.
    assert_eq!(file_line("[a]\nk = v\n  [b]\nj = w\n", "/b/j"), Some(3));
    assert_eq!(file_line("[a]]\nk = v\n", "/a/k"), Some(1));
    assert_eq!(file_line("[a] x\nk = v\n", "/a/k"), Some(1));
    // Lines of the key being set.
    assert_eq!(file_line("[App]\nk = 1\n[app]\n", "/app/k"), Some(1));
    assert_eq!(file_line("[ app ]\nk = 1\n", "/app/k"), Some(1));
    assert_eq!(file_line("[app]\nK = 1\n", "/app/k"), Some(2));
    assert_eq!(file_line("[a]\nk: 1\n", "/a/k"), Some(2));
    assert_eq!(file_line("[a]\nk = 1\n  more\n", "/a/k"), Some(3));
    assert_eq!(file_line("[a]\nk = 1\n\n  more\n", "/a/k"), Some(4));
    assert_eq!(file_line("[a]\nj = 1\n  k = 2\n", "/a/k"), Some(3));
    assert_eq!(file_line("[a]\nk = v ; note\n", "/a/k"), Some(2));
    assert_eq!(file_line("[a]\nk = v # note\n", "/a/k"), Some(2));
    // Found by the fuzzer: the new key line would make the indented line after it its
    // continuation (here a header, which Python would then no longer see).
    assert_eq!(file_line("[a]\nk}1\r\n [b]\r\n", "/a/k"), Some(3));
    assert_eq!(file_line("  [a]\nj = 1\n", "/k"), Some(1));
    assert!(set("  x = 1\n[a]\n", &[("/k", "v")]).is_ok());
    // Elsewhere the same lines are left as they are.
    for fine in [
        "[App]\nk = 1\n[other]\n",
        "[a]\nk = 1\n[b]\nK = 2\n",
        "[a]\nj: 1\nk = 2\n",
        "[a]\nj = 1\n  more\nk = 2\n",
        "[a]\nj = v ; note\nk = 2\n",
        "[a]\nskip-networking\n!include /etc/x\nk = 2\n",
    ] {
        set(fine, &[("/a/k", "new")]).unwrap_or_else(|e| panic!("{fine:?}: {e}"));
    }
}

#[test]
fn keys_are_section_and_name() {
    assert_eq!(
        parse_key("/profile app/region").unwrap(),
        IniKey {
            section: Some("profile app".into()),
            name: "region".into()
        }
    );
    assert_eq!(
        parse_key("/a~1b/k").unwrap().section.as_deref(),
        Some("a/b")
    );
    assert_eq!(parse_key("/k").unwrap().section, None);
    for bad in [
        "k", "/a/b/c", "/a/", "/a/k=v", "/a/k v", "/[a]/k", "/ a/k", "//k",
    ] {
        assert!(
            matches!(parse_key(bad), Err(IniError::InvalidKey { .. })),
            "{bad}"
        );
    }
}

#[test]
fn get_reads_the_last_occurrence_and_refuses_what_splice_refuses() {
    assert_eq!(get(AWS, "/app/aws_session_token"), Ok(Some("tok".into())));
    assert_eq!(get(AWS, "/app/nope"), Ok(None));
    assert_eq!(get(AWS, "/nope/k"), Ok(None));
    assert_eq!(get("[a]\nk = 1\nk = 2\n", "/a/k"), Ok(Some("2".into())));
    assert!(get("[a]\nk = 1\n  more\n", "/a/k").is_err());
}

#[test]
fn verify_catches_a_wrong_splice() {
    let u = updates(&[("/app/aws_session_token", "new")]);
    let good = AWS.replace("= tok", "= new");
    assert_eq!(verify(AWS, &good, &u), Ok(()));
    // The neighbour changed, the value missing, a second profile touched, a key dropped.
    for bad in [
        good.replace("= old", "= changed"),
        AWS.to_string(),
        good.replace("AKIADEFAULT", "X"),
        good.replace("aws_secret_access_key = old\n", ""),
        good.replace(
            "aws_session_token = new\n",
            "aws_session_token = new\naws_session_token = x\n",
        ),
    ] {
        assert!(verify(AWS, &bad, &u).is_err(), "{bad}");
    }
}
