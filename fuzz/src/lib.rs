//! The property the `splice` fuzz target checks, shared with the high-case-count proptest in
//! `tests/integration/paths.rs` (which includes this file with `#[path]`), so both check exactly
//! the same thing.
//!
//! For any file text, any key and any value, `credshim::format::env::splice` never panics, and either
//! refuses, or produces a file where `get` reads the key back as the value, `verify` (dotenvy:
//! every other key reads as before) accepts it, every other key reads as before with credshim's
//! own reader too, and splicing again changes nothing. A value that refers to the key (`B=${K}`)
//! follows it in dotenvy, which `verify` expects: it never refuses a splice.

use credshim::format::env::{get, splice, verify};

/// What a case came to, when it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `splice` refused the file, the key or the value.
    Refused,
    Spliced,
}

/// Decode fuzzer bytes: `[selector] text 0xFF value 0xFF key`. 0xFF never occurs in UTF-8, so
/// any text and value can be spelled. A selector below 0xF0 picks one of the keys the text already
/// holds (or `K`), so the fuzzer spends its time on keys that are present; from 0xF0 the key is
/// the last segment, valid or not.
pub fn decode(data: &[u8]) -> (String, String, String) {
    let Some((&selector, rest)) = data.split_first() else {
        return (String::new(), "K".into(), String::new());
    };
    let mut parts = rest.splitn(3, |&b| b == 0xFF);
    let text = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let value = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let custom = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let key = if selector >= 0xF0 {
        custom
    } else {
        let mut keys = keys_in(&text);
        keys.push("K".into());
        keys.swap_remove(usize::from(selector) % keys.len())
    };
    (text, key, value)
}

/// The names that look assigned on some line (`[export ]NAME[ \t]*=`), in order, deduplicated.
pub fn keys_in(text: &str) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for line in text.split(['\n', '\r']) {
        let line = line.trim_start_matches([' ', '\t', '\u{feff}']);
        let line = line.strip_prefix("export ").unwrap_or(line);
        let end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(line.len());
        let (name, after) = line.split_at(end);
        if !name.is_empty()
            && after.trim_start_matches([' ', '\t']).starts_with('=')
            && !keys.iter().any(|k| k == name)
        {
            keys.push(name.to_owned());
        }
    }
    keys
}

/// Check the property for one case; `Err` says how it failed.
pub fn check(text: &str, key: &str, value: &str) -> Result<Outcome, String> {
    let updates = [(key.to_owned(), value.to_owned())];
    let Ok(spliced) = splice(text, &updates) else {
        return Ok(Outcome::Refused);
    };
    let new = spliced.text.as_str();
    match get(new, key) {
        Ok(Some(read)) if read == value => {}
        other => {
            return Err(format!(
                "get reads {key} back as {other:?}; new file {new:?}"
            ));
        }
    }
    if let Err(why) = verify(text, new, &updates) {
        return Err(format!(
            "verify refuses the splice: {why}; new file {new:?}"
        ));
    }
    // `get` models sh's reading of a bare CR (one not before LF) only loosely, and readers disagree
    // on a bare CR anyway (dotenvy splits lines on it; that is checked by `verify` above).
    let bare_cr = text.replace("\r\n", "").contains('\r');
    for other in keys_in(text).iter().filter(|k| *k != key && !bare_cr) {
        // A value at the very end of a file keeps a bare trailing CR in `get`'s reading but not
        // once a line is appended after it (CRLF); sh reads it the same either way: not a change.
        let read = |t: &str| get(t, other).map(|v| v.map(|v| v.trim_end_matches('\r').to_owned()));
        if let Ok(before) = read(text)
            && read(new) != Ok(before.clone())
        {
            return Err(format!(
                "{other} read {before:?} and now {:?}; new file {new:?}",
                read(new)
            ));
        }
    }
    match splice(new, &updates) {
        Ok(again) if again.text == new => Ok(Outcome::Spliced),
        other => Err(format!("splicing twice differs: {other:?}; once {new:?}")),
    }
}
