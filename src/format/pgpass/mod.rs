//! Setting passwords in libpq's password file (`~/.pgpass`, `PGPASSFILE`): pure text in, text
//! out.
//!
//! KEY is the first four fields as written in the file, `HOST:PORT:DATABASE:USER`, with `*` for
//! a wildcard field and `\:` and `\\` for a literal colon or backslash. A line matches KEY when
//! its four fields are the same (the same wildcards, the same literals once unescaped); the
//! password field of every matching line is replaced, bytes before and after it kept, and an
//! absent KEY is appended as a new line (after giving the last line a line ending). The password
//! is written with `\` as `\\` and `:` as `\:`, which libpq and node-postgres' `pgpass` both
//! unescape. libpq takes the first line that matches a connection, so a KEY whose lines come
//! after a line that matches every connection KEY does is refused (65) and a partial overlap is
//! warned about. The lines are read as libpq reads them ([`scan`]); what is refused is in
//! [`rules`], with its evidence; [`verify`] reads the new text again and compares every line.

#[cfg(test)]
mod proptests;
mod rules;
mod scan;
#[cfg(test)]
mod tests;

use super::{Refusal, Spliced, Syntax};
use rules::Rule;
use scan::{Entry, Field, Kind, Line, dominant_ending, scan};

/// The pgpass format in the registry of [`super::Format`].
pub(super) struct Pgpass;

impl Syntax for Pgpass {
    fn extensions(&self) -> &'static [&'static str] {
        &["pgpass"]
    }

    fn file_names(&self) -> &'static [&'static str] {
        &[".pgpass", "pgpass"]
    }

    fn check_key(&self, key: &str) -> Result<(), String> {
        rules::parse_key(key)
            .map(|_| ())
            .map_err(|rule| match rule.refuse(key, None) {
                Refusal::Key(why) => why,
                other => format!("{other:?}"),
            })
    }

    fn get(&self, text: &str, key: &str) -> Result<Option<String>, Refusal> {
        get(text, key)
    }

    fn splice(&self, text: &str, updates: &[(String, String)]) -> Result<Spliced, Refusal> {
        splice(text, updates)
    }

    fn verify(&self, old: &str, new: &str, updates: &[(String, String)]) -> Result<(), String> {
        verify(old, new, updates)
    }

    fn mode_warning(&self, mode: u32) -> Option<String> {
        rules::mode_warning(mode)
    }
}

/// The lines of `text`, once the file-wide rules pass.
fn lines(text: &str) -> Result<Vec<Line<'_>>, Rule> {
    if text.contains('\0') {
        return Err(Rule::Nul);
    }
    if text.starts_with('\u{feff}') {
        return Err(Rule::Bom);
    }
    let lines = scan(text);
    if lines.iter().any(|l| l.content.contains('\r')) {
        return Err(Rule::InnerCarriageReturn);
    }
    Ok(lines)
}

fn file_refusal(rule: Rule) -> Refusal {
    rule.refuse("", None)
}

/// The entry of `line` when its four fields are `key`'s.
fn entry_of<'l>(line: &'l Line<'_>, key: &[Field]) -> Option<&'l Entry> {
    match &line.kind {
        Kind::Entry(e) if e.fields == key => Some(e),
        _ => None,
    }
}

/// The password libpq reads for KEY: the first line with KEY's fields; `None` when absent.
pub fn get(text: &str, key: &str) -> Result<Option<String>, Refusal> {
    let fields = rules::parse_key(key).map_err(|r| r.refuse(key, None))?;
    let lines = lines(text).map_err(file_refusal)?;
    Ok(lines
        .iter()
        .filter_map(|l| entry_of(l, &fields))
        .find(|e| e.password.is_some())
        .map(|e| e.value.clone()))
}

/// `text` with the password of every line of each KEY set (absent ones appended).
pub fn splice(text: &str, updates: &[(String, String)]) -> Result<Spliced, Refusal> {
    let lines = lines(text).map_err(file_refusal)?;
    // (byte range of a password, what to write there), and lines to append.
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut appended: Vec<String> = Vec::new();
    for (key, value) in updates {
        let fields = rules::parse_key(key).map_err(|r| r.refuse(key, None))?;
        let written = rules::escape(value).map_err(|r| r.refuse(key, None))?;
        let mut found = false;
        for line in &lines {
            let Some(entry) = entry_of(line, &fields) else {
                continue;
            };
            let (Some(range), false) = (&entry.password, entry.extra) else {
                let rule = if entry.extra {
                    Rule::ExtraFields
                } else {
                    Rule::NoPassword
                };
                return Err(rule.refuse(key, Some(line.number)));
            };
            found = true;
            // An equal value keeps its spelling (`\a` is `a` to libpq): nothing to rewrite.
            if entry.value == *value {
                continue;
            }
            let start = range.start - line_start(text, line);
            let new_line = format!(
                "{}{written}{}",
                &line.content[..start],
                &line.content[start + range.len()..]
            );
            if rules::too_short(&new_line) {
                return Err(Rule::ValueShortLine.refuse(key, None));
            }
            edits.push((range.clone(), written.clone()));
        }
        if !found {
            let new_line = format!("{key}:{written}");
            if rules::too_short(&new_line) {
                return Err(Rule::ValueShortLine.refuse(key, None));
            }
            appended.push(new_line);
        }
    }
    let mut new = apply(text, edits);
    if !appended.is_empty() {
        let ending = dominant_ending(&lines);
        if lines.last().is_some_and(|l| l.ending.is_empty()) {
            new.push_str(ending);
        }
        for line in appended {
            new.push_str(&line);
            new.push_str(ending);
        }
    }
    let warnings = first_match(&new, updates)?;
    Ok(Spliced {
        text: new,
        warnings,
    })
}

/// `text` with each byte range replaced, in one pass: a `replace_range` per edit moved the rest
/// of the file each time, quadratic in a file of a million matching lines (minutes, past any
/// `--deadline`).
fn apply(text: &str, mut edits: Vec<(std::ops::Range<usize>, String)>) -> String {
    edits.sort_by_key(|(range, _)| range.start);
    let mut new =
        String::with_capacity(text.len() + edits.iter().map(|(_, w)| w.len()).sum::<usize>());
    let mut at = 0;
    for (range, written) in edits {
        new.push_str(&text[at..range.start]);
        new.push_str(&written);
        at = range.end;
    }
    new.push_str(&text[at..]);
    new
}

/// The byte offset of `line`'s first byte in `text` (`line.content` borrows from it).
fn line_start(text: &str, line: &Line<'_>) -> usize {
    line.content.as_ptr() as usize - text.as_ptr() as usize
}

/// In `text`, check that libpq reaches each KEY's line: refuse when an earlier line matches
/// every connection KEY does; warn when one takes some of them with a wildcard of its own.
fn first_match(text: &str, updates: &[(String, String)]) -> Result<Vec<String>, Refusal> {
    let lines = lines(text).map_err(file_refusal)?;
    let mut warnings = Vec::new();
    for (key, _) in updates {
        let fields = rules::parse_key(key).map_err(|r| r.refuse(key, None))?;
        for line in &lines {
            let Kind::Entry(entry) = &line.kind else {
                continue;
            };
            if entry.password.is_none() {
                continue;
            }
            if entry.fields == fields {
                break;
            }
            let pairs = || entry.fields.iter().zip(&fields);
            if pairs().all(|(theirs, ours)| ours.within(theirs)) {
                return Err(Rule::Shadowed.refuse(key, Some(line.number)));
            }
            let overlaps = pairs().all(|(theirs, ours)| theirs.meets(ours));
            let narrower = pairs().all(|(theirs, ours)| theirs.within(ours));
            if overlaps && !narrower {
                warnings.push(rules::overlap_warning(key, line.number));
            }
        }
    }
    Ok(warnings)
}

/// Check that `new` reads as `old` with the updates: the same lines in the same order, each
/// KEY's lines holding its new password (as libpq reads it) and nothing else changed, the
/// absent KEYs appended, and libpq's first match for each KEY a line of that KEY.
pub fn verify(old: &str, new: &str, updates: &[(String, String)]) -> Result<(), String> {
    let before = lines(old).map_err(|r| format!("{:?}", file_refusal(r)))?;
    let after = lines(new).map_err(|_| "the new file is not a pgpass file".to_string())?;
    let mut keys = Vec::new();
    for (key, value) in updates {
        let fields = rules::parse_key(key).map_err(|_| format!("{key:?} is not a pgpass key"))?;
        keys.push((key, fields, value));
    }
    let absent: Vec<_> = keys
        .iter()
        .filter(|(_, f, _)| !before.iter().any(|l| entry_of(l, f).is_some()))
        .collect();
    if after.len() != before.len() + absent.len() {
        return Err(format!(
            "the new file has {} lines, {} expected",
            after.len(),
            before.len() + absent.len()
        ));
    }
    let last = before.len().checked_sub(1);
    for (i, (a, b)) in before.iter().zip(&after).enumerate() {
        let ending_ok =
            a.ending == b.ending || (Some(i) == last && a.ending.is_empty() && !absent.is_empty());
        let matched = keys.iter().find(|(_, f, _)| entry_of(a, f).is_some());
        let same = match matched {
            Some((key, fields, value)) => entry_of(b, fields)
                .is_some_and(|e| e.password.is_some() && !e.extra && e.value == **value)
                .then_some(())
                .ok_or_else(|| format!("line {} does not hold the new password of {key}", i + 1)),
            None => (a.content == b.content)
                .then_some(())
                .ok_or_else(|| format!("line {} changed", i + 1)),
        };
        same?;
        if !ending_ok {
            return Err(format!("line {} changed its line ending", i + 1));
        }
    }
    for ((key, fields, value), line) in absent.iter().zip(&after[before.len()..]) {
        if !entry_of(line, fields).is_some_and(|e| e.value == **value && !e.extra) {
            return Err(format!("the line appended for {key} does not read back"));
        }
    }
    first_match(new, updates)
        .map(|_| ())
        .map_err(|_| "a key's line is not the first match".to_string())
}
