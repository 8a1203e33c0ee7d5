//! Setting properties in a Java `.properties` file (Spring Boot's `application.properties`):
//! pure text in, text out.
//!
//! KEY is the property name as Java loads it: `--set a:b` sets the line written `a\:b=...`,
//! `--set 'a b'` the line `a\ b=...`, and `p\u00e4ss=` is the key `päss`. [`splice`] replaces the
//! value of every entry whose loaded key is KEY (`java.util.Properties` keeps the last, so all
//! are set) and appends `KEY=value` at the end when there is none. The key, its separator and the
//! spacing around it stay byte for byte; a value continued over several lines is written on one.
//! Values are written with the escapes `Properties.load` reads, every non-ASCII character as
//! `\uXXXX` so that `load(InputStream)` (ISO-8859-1) and `load(Reader)` (UTF-8) read the same
//! (`write_value`). The rules of docs/formats/properties.md decide what is refused
//! (`rules::Rule`); [`verify`] reads the new text again, both ways, and compares every entry.

mod rules;
mod scan;
#[cfg(test)]
mod tests;

use super::{Refusal, Spliced, Syntax};
use rules::Rule;
use scan::{Entry, dominant_line_ending, ends_continued, entries};

/// The properties format in the registry of [`super::Format`].
pub(super) struct Properties;

impl Syntax for Properties {
    fn extensions(&self) -> &'static [&'static str] {
        &["properties"]
    }

    fn check_key(&self, key: &str) -> Result<(), String> {
        rules::key(key).map_err(|rule| PropertiesError::key(key, rule).to_string())
    }

    fn get(&self, text: &str, key: &str) -> Result<Option<String>, Refusal> {
        get(text, key).map_err(Refusal::from)
    }

    fn splice(&self, text: &str, updates: &[(String, String)]) -> Result<Spliced, Refusal> {
        let text = splice(text, updates).map_err(Refusal::from)?;
        Ok(Spliced {
            text,
            warnings: Vec::new(),
        })
    }

    fn verify(&self, old: &str, new: &str, updates: &[(String, String)]) -> Result<(), String> {
        verify(old, new, updates)
    }

    fn followers<'a>(&self, text: &'a str, keys: &[&str]) -> Vec<&'a str> {
        followers(text, keys)
    }
}

/// The other properties whose values hold a Spring placeholder of one of `keys` (`${key}`, or
/// `${key:default}`): `java.util.Properties` reads them as written, Spring Boot resolves them to
/// the new value. The keys as written in `text`, in file order.
fn followers<'a>(text: &'a str, keys: &[&str]) -> Vec<&'a str> {
    let Ok(entries) = entries(text) else {
        return Vec::new();
    };
    let refers = |v: &str| {
        keys.iter()
            .any(|k| v.contains(&format!("${{{k}}}")) || v.contains(&format!("${{{k}:")))
    };
    let mut out: Vec<&'a str> = Vec::new();
    for e in entries
        .iter()
        .filter(|e| !keys.contains(&e.key.as_str()) && refers(&e.value))
    {
        let written = &text[e.key_span.clone()];
        if !out.contains(&written) {
            out.push(written);
        }
    }
    out
}

/// Why a key, a value or a file is refused. Messages name keys and lines, never values.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PropertiesError {
    /// Exit 64.
    #[error("{key:?} is not a property name to set: {reason}")]
    Key { key: String, reason: String },
    /// Exit 76.
    #[error("the value for {key} {reason}")]
    Value { key: String, reason: String },
    /// Exit 65.
    #[error("line {line}: {reason}")]
    File { line: usize, reason: String },
}

impl PropertiesError {
    fn key(key: &str, rule: Rule) -> PropertiesError {
        PropertiesError::Key {
            key: key.to_owned(),
            reason: rule.reason().to_owned(),
        }
    }
}

impl From<PropertiesError> for Refusal {
    fn from(e: PropertiesError) -> Refusal {
        let why = e.to_string();
        match e {
            PropertiesError::Key { .. } => Refusal::Key(why),
            PropertiesError::Value { .. } => Refusal::Value(why),
            PropertiesError::File { .. } => Refusal::File(why),
        }
    }
}

/// Every entry of `text`, or the file rule it breaks.
fn read(text: &str) -> Result<Vec<Entry>, PropertiesError> {
    entries(text).map_err(|(broken, line)| Rule::from(broken).at(line))
}

/// Whether `entry` sets `key` in either load; the refusal when the two loads disagree on it.
fn sets(entry: &Entry, key: &str, bom: bool) -> Result<bool, PropertiesError> {
    let hit = entry.key == key || entry.key_latin1 == key;
    if hit && entry.raw_non_ascii_key && entry.key != entry.key_latin1 {
        return Err(Rule::RawNonAsciiKey.on_key(key, entry.line));
    }
    if bom && entry.line == 1 && entry.key.strip_prefix('\u{feff}') == Some(key) {
        return Err(Rule::ByteOrderMarkOnKey.on_key(key, entry.line));
    }
    Ok(hit)
}

/// The value of `key` as Java reads it (the last entry; as `load(Reader)` reads it), `None` when
/// absent.
pub fn get(text: &str, key: &str) -> Result<Option<String>, PropertiesError> {
    rules::key(key).map_err(|rule| PropertiesError::key(key, rule))?;
    let bom = text.starts_with('\u{feff}');
    let mut last = None;
    for entry in read(text)? {
        if sets(&entry, key, bom)? {
            last = Some(entry.value);
        }
    }
    Ok(last)
}

/// `text` with every entry of each key set to its value, absent keys appended in the order
/// given. `updates` keys are distinct.
pub fn splice(text: &str, updates: &[(String, String)]) -> Result<String, PropertiesError> {
    for (key, value) in updates {
        rules::key(key).map_err(|rule| PropertiesError::key(key, rule))?;
        rules::value(value).map_err(|rule| rule.for_value(key))?;
    }
    let entries = read(text)?;
    let bom = text.starts_with('\u{feff}');
    let mut out = String::with_capacity(text.len() + 64);
    let mut copied = 0;
    let mut found = vec![false; updates.len()];
    for entry in &entries {
        let mut hit = None;
        for (i, (key, _)) in updates.iter().enumerate() {
            if sets(entry, key, bom)? {
                hit = Some(i);
            }
        }
        let Some(i) = hit else { continue };
        found[i] = true;
        let value = &updates[i].1;
        if entry.value == *value && entry.value_latin1 == *value && !entry.continued {
            // Already what Java reads both ways: leave its spelling alone.
            continue;
        }
        out.push_str(&text[copied..entry.value_span.start]);
        if entry.needs_separator {
            out.push('=');
        }
        write_value(&mut out, value);
        copied = entry.value_span.end;
    }
    out.push_str(&text[copied..]);

    if found.iter().any(|f| !f) {
        let eol = dominant_line_ending(text);
        if !text.is_empty() && !text.ends_with(['\n', '\r']) {
            out.push_str(eol);
        }
        if ends_continued(text, &entries) {
            // A continuation onto a blank line ends there: without it the new line would join
            // the last value. (An LF right after a final CR would only make it a CRLF.)
            out.push_str(if eol == "\n" && text.ends_with('\r') {
                "\r\n"
            } else {
                eol
            });
        }
        for (i, (key, value)) in updates.iter().enumerate() {
            if !found[i] {
                write_key(&mut out, key);
                out.push('=');
                write_value(&mut out, value);
                out.push_str(eol);
            }
        }
    }
    Ok(out)
}

/// `\uXXXX` for each UTF-16 unit of `c`, as `Properties.store` writes it.
fn push_unicode(out: &mut String, c: char) {
    let mut units = [0u16; 2];
    for unit in c.encode_utf16(&mut units) {
        out.push_str(&format!("\\u{unit:04X}"));
    }
}

/// Escapes shared by keys and values: `\`, tab, LF, CR, FF, and everything outside printable
/// ASCII as `\uXXXX`.
fn push_escaped(out: &mut String, c: char) -> bool {
    match c {
        '\\' => out.push_str("\\\\"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\x0c' => out.push_str("\\f"),
        ' '..='~' => return false,
        _ => push_unicode(out, c),
    }
    true
}

/// `value` as `Properties.load` reads it back after a separator: a leading blank, `=` or `:`
/// escaped (the loader would skip it as part of the separator), the rest as [`push_escaped`].
fn write_value(out: &mut String, value: &str) {
    for (i, c) in value.chars().enumerate() {
        if i == 0 && matches!(c, ' ' | '=' | ':') {
            out.push('\\');
            out.push(c);
        } else if !push_escaped(out, c) {
            out.push(c);
        }
    }
}

/// `key` as `Properties.load` reads it back at the start of a line: `=`, `:` and spaces
/// escaped, and a leading `#` or `!` (which would make the line a comment).
fn write_key(out: &mut String, key: &str) {
    for (i, c) in key.chars().enumerate() {
        if matches!(c, '=' | ':' | ' ') || (i == 0 && matches!(c, '#' | '!')) {
            out.push('\\');
            out.push(c);
        } else if !push_escaped(out, c) {
            out.push(c);
        }
    }
}

/// Check that `new` reads, both ways, with every entry of each updated key equal to its new value
/// and every other entry as in `old`, in order. The first mismatch, by key, when not.
pub fn verify(old: &str, new: &str, updates: &[(String, String)]) -> Result<(), String> {
    let old_entries = read(old).map_err(|e| format!("the old file cannot be read: {e}"))?;
    let new_entries = read(new).map_err(|e| format!("the new file cannot be read back: {e}"))?;
    let updated = |k: &str| updates.iter().find(|(key, _)| key == k);
    for (key, value) in updates {
        let mut seen = false;
        for e in new_entries
            .iter()
            .filter(|e| e.key == *key || e.key_latin1 == *key)
        {
            if e.value != *value || e.value_latin1 != *value || e.key != e.key_latin1 {
                return Err(format!("{key} reads back with another value"));
            }
            seen = true;
        }
        if !seen {
            return Err(format!("{key} is missing from the new file"));
        }
    }
    let others = |entries: &[Entry]| -> Vec<(String, String, String, String)> {
        entries
            .iter()
            .filter(|e| updated(&e.key).is_none() && updated(&e.key_latin1).is_none())
            .map(|e| {
                (
                    e.key.clone(),
                    e.value.clone(),
                    e.key_latin1.clone(),
                    e.value_latin1.clone(),
                )
            })
            .collect()
    };
    let (before, after) = (others(&old_entries), others(&new_entries));
    for i in 0..before.len().max(after.len()) {
        match (before.get(i), after.get(i)) {
            (Some(a), Some(b)) if a == b => {}
            (Some((key, ..)), _) | (None, Some((key, ..))) => {
                return Err(format!("{key} no longer reads as it did"));
            }
            (None, None) => unreachable!("i is below one of the lengths"),
        }
    }
    Ok(())
}
