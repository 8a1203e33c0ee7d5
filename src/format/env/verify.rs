//! Verification of a spliced `.env` against dotenvy, the reader credshim itself links, before
//! anything is written: every occurrence of each updated key reads as its new value, and every
//! other key reads as it did, in order. Messages name keys, never values.

use super::get;
use super::scan::strip_bom;

/// Check that `new` says what was meant: parse `new` with dotenvy (`dotenvy::from_read_iter`, after
/// stripping a UTF-8 BOM) and check every occurrence of each updated key equals its new value; and
/// that the sequence of (key, value) pairs of all OTHER keys is equal between `old` and `new`.
/// If dotenvy cannot parse `old` at all (e.g. `K="pa$word"` elsewhere in the file), fall back to
/// checking the updated keys with `get()` on `new` and `log::warn!` that dotenvy cannot read the file.
/// Err(String) describes the first mismatch by KEY NAME ONLY (never a value).
pub fn verify(old: &str, new: &str, updates: &[(String, String)]) -> Result<(), String> {
    let Ok(old_pairs) = dotenvy_pairs(old) else {
        log::warn!(
            "dotenvy cannot read the file; checked the new values with credshim's own reader only"
        );
        for (key, value) in updates {
            match get(new, key) {
                Ok(Some(read)) if read == *value => {}
                Ok(Some(_)) => return Err(format!("{key} reads back with another value")),
                Ok(None) => return Err(format!("{key} is missing from the new file")),
                Err(e) => return Err(format!("the new file cannot be read back: {e}")),
            }
        }
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
    let is_other = |(k, _): &&(String, String)| !updates.iter().any(|(u, _)| u == k);
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
    fn verify_falls_back_when_dotenvy_cannot_read_the_file() {
        let old = "P=\"pa$word\"\nK=old\n";
        assert!(dotenvy_pairs(old).is_err());
        let new = set_text(old, "new");
        assert_eq!(verify(old, &new, &updates("new")), Ok(()));
        assert!(verify(old, old, &updates("new")).is_err());
    }
}
