//! Verification of a spliced `.env` against dotenvy, the reader credshim itself links, before
//! anything is written: every occurrence of each updated key reads as its new value, and every
//! other key reads as it did, in order. Messages name keys, never values.

use super::quote::{Quote, decode};
use super::scan::{scan, strip_bom};

/// Check that `new` says what was meant, in two readers.
///
/// credshim's own scanner, which does not expand: every occurrence of each updated key reads as
/// its new value, and every other assignment is, in order, written exactly as before (its
/// unexpanded text). Then dotenvy (after stripping a UTF-8 BOM), which expands `$K` and `${K}`:
/// every occurrence of each updated key reads as its new value, and every other key as before —
/// except the keys that refer to an updated key, directly or through another such key
/// ([`followers`]): those follow the new value, as their author meant. If dotenvy cannot read
/// `old` at all (`K="pa$word"` elsewhere in the file), only the first check runs, with a warning.
/// Err(String) describes the first mismatch by KEY NAME ONLY (never a value).
pub fn verify(old: &str, new: &str, updates: &[(String, String)]) -> Result<(), String> {
    let old_raw = assignments(old).map_err(|e| format!("the old file cannot be read: {e}"))?;
    let new_raw = assignments(new).map_err(|e| format!("the new file cannot be read back: {e}"))?;
    let updated = |k: &str| updates.iter().any(|(u, _)| u == k);
    for (key, value) in updates {
        let mut seen = false;
        for (_, read) in new_raw.iter().filter(|(k, _)| k == key) {
            if decode(read.0, read.1) != *value {
                return Err(format!("{key} reads back with another value"));
            }
            seen = true;
        }
        if !seen {
            return Err(format!("{key} is missing from the new file"));
        }
    }
    let mut old_others = old_raw.iter().filter(|(k, _)| !updated(k));
    let mut new_others = new_raw.iter().filter(|(k, _)| !updated(k));
    loop {
        match (old_others.next(), new_others.next()) {
            (None, None) => break,
            (Some(a), Some(b)) if a.0 == b.0 && a.1.0 == b.1.0 => {}
            (Some((key, _)), _) | (None, Some((key, _))) => {
                return Err(format!("{key} is no longer written as it was"));
            }
        }
    }

    let Ok(old_pairs) = dotenvy_pairs(old) else {
        log::warn!(
            "dotenvy cannot read the file; checked the new values with credshim's own reader only"
        );
        return Ok(());
    };
    // dotenvy's error carries the offending line, which may hold a secret: drop it.
    let new_pairs = dotenvy_pairs(new).map_err(|_| "dotenvy cannot read the new file")?;
    for (key, value) in updates {
        let mut seen = false;
        for (_, read) in new_pairs.iter().filter(|(k, _)| k == key) {
            if read != value {
                return Err(format!("dotenvy reads {key} with another value"));
            }
            seen = true;
        }
        if !seen {
            return Err(format!("dotenvy does not find {key} in the new file"));
        }
    }
    let keys: Vec<&str> = updates.iter().map(|(k, _)| k.as_str()).collect();
    let following = followers(old, &keys);
    let is_other = |(k, _): &&(String, String)| !updated(k) && !following.contains(&k.as_str());
    let mut old_others = old_pairs.iter().filter(is_other);
    let mut new_others = new_pairs.iter().filter(is_other);
    loop {
        match (old_others.next(), new_others.next()) {
            (None, None) => return Ok(()),
            (Some(a), Some(b)) if a == b => {}
            (Some((key, _)), _) | (None, Some((key, _))) => {
                return Err(format!("{key} no longer reads as it did"));
            }
        }
    }
}

/// The keys of `text` whose values refer to one of `keys` (`$K`, `${K}`, `${K:-default}`),
/// directly or through another such key, in file order, each once: the values that follow a
/// change of `keys` in the readers that expand (dotenvy, python-dotenv, compose, sh). Empty for
/// a file credshim cannot scan.
pub fn followers<'a>(text: &'a str, keys: &[&str]) -> Vec<&'a str> {
    let Ok(spans) = scan(text).and_then(|s| {
        s.map(|a| a.map(|a| (a.key, a.eq_end)))
            .collect::<Result<Vec<_>, _>>()
    }) else {
        return Vec::new();
    };
    // What each key's line holds, from its `=` to the next assignment's (or the end): the value
    // and whatever follows it there (`K='v'${X}` reads on for dotenvy), so nothing that
    // expands is missed; a key wrongly counted is only not compared by dotenvy.
    let reach = spans.iter().enumerate().map(|(i, &(key, from))| {
        let to = spans.get(i + 1).map_or(text.len(), |&(_, next)| next);
        (key, &text[from..to])
    });
    let mut changed: Vec<&str> = keys.to_vec();
    let mut found = Vec::new();
    for (key, text) in reach {
        if !changed.contains(&key) && changed.iter().any(|k| refers_to(text, k)) {
            changed.push(key);
            found.push(key);
        }
    }
    found
}

/// Whether the value as written mentions `$key` or `${key` (taking `\$` for a reference too: a
/// key wrongly counted as following is only not compared by dotenvy, its text still is). A name
/// ends where dotenvy ends it, at the first character that is not a letter or digit: dotenvy
/// reads `$K_X` as `$K` then `_X` (sh as `$K_X`), so both count.
fn refers_to(text: &str, key: &str) -> bool {
    let ident = |c: u8| c.is_ascii_alphanumeric();
    text.match_indices('$').any(|(at, _)| {
        let rest = &text[at + 1..];
        let rest = rest.strip_prefix('{').unwrap_or(rest);
        rest.strip_prefix(key)
            .is_some_and(|after| !after.bytes().next().is_some_and(ident))
    })
}

/// One assignment as credshim's scanner reads it: the key, and its value as written.
type Raw<'a> = (&'a str, (&'a str, Quote));

/// Every assignment of `text` as credshim's scanner reads it: the key and its value as written.
fn assignments(text: &str) -> Result<Vec<Raw<'_>>, super::SpliceError> {
    scan(text)?
        .map(|a| a.map(|a| (a.key, (&text[a.value], a.quote))))
        .collect()
}

pub(super) fn dotenvy_pairs(text: &str) -> Result<Vec<(String, String)>, dotenvy::Error> {
    dotenvy::from_read_iter(strip_bom(text).as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::env::tests::{set_text, updates};

    #[test]
    fn verify_accepts_a_faithful_splice() {
        let old = "\u{feff}A=1\nK=old # c\nB='x y'\nK=o\n";
        let new = set_text(old, "s3cr3t");
        assert_eq!(verify(old, &new, &updates("s3cr3t")), Ok(()));
    }

    #[test]
    fn verify_names_the_key_not_the_value() {
        let err = verify("K=old\n", "K=old\n", &updates("s3cr3t")).unwrap_err();
        assert!(
            err.contains('K') && !err.contains("s3cr3t") && !err.contains("old"),
            "{err}"
        );
        // An occurrence the splice missed still fails.
        let err = verify("K=a\n", "K=a\nK=s3cr3t\n", &updates("s3cr3t")).unwrap_err();
        assert!(!err.contains("s3cr3t"), "{err}");
        let err = verify("K=a\n", "A=1\n", &updates("s3cr3t")).unwrap_err();
        assert!(err.contains('K'), "{err}");
    }

    #[test]
    fn verify_catches_other_keys_changing() {
        let err = verify("A=1\nK=a\n", "A=2\nK=s\n", &updates("s")).unwrap_err();
        assert!(err.contains('A') && !err.contains('2'), "{err}");
        let err = verify("A=1\nK=a\n", "K=s\n", &updates("s")).unwrap_err();
        assert!(err.contains('A'), "{err}");
        let err = verify("K=a\n", "K=s\nB=1\n", &updates("s")).unwrap_err();
        assert!(err.contains('B'), "{err}");
    }

    #[test]
    fn values_that_refer_to_the_key_follow_it() {
        let old = "K=old\nB=${K}-x\nC=\"$B/y\"\nD=$KEY\nE=${K:-d}\nF='\\$K'\n";
        assert_eq!(followers(old, &["K"]), ["B", "C", "E", "F"]);
        assert_eq!(followers(old, &["D"]), Vec::<&str>::new());
        let new = set_text(old, "s3cr3t");
        assert_eq!(verify(old, &new, &updates("s3cr3t")), Ok(()));
        // A follower's own text is still compared.
        let broken = new.replace("${K}-x", "${K}-z");
        let err = verify(old, &broken, &updates("s3cr3t")).unwrap_err();
        assert!(err.contains('B') && !err.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn a_key_rewritten_in_another_form_is_caught() {
        // Same value to dotenvy, another text: only the unexpanded comparison sees it.
        let err = verify("A=1\nK=a\n", "A='1'\nK=s\n", &updates("s")).unwrap_err();
        assert!(err.contains('A'), "{err}");
    }

    #[test]
    fn verify_falls_back_when_dotenvy_cannot_read_the_file() {
        let old = "P=\"pa$word\"\nK=old\n";
        assert!(dotenvy_pairs(old).is_err());
        let new = set_text(old, "new");
        assert_eq!(verify(old, &new, &updates("new")), Ok(()));
        assert!(verify(old, old, &updates("new")).is_err());
    }
}
