//! Setting values in an INI file (`~/.aws/credentials`, `my.cnf`, `php.ini`): pure text in,
//! text out, no I/O.
//!
//! KEY is `/section/key` (`/app/aws_session_token`), or `/key` for a key before any section,
//! with RFC 6901's `~1` for `/` and `~0` for `~`. Sections and keys are matched as written.
//! [`splice`] sets every occurrence of each key (in every section of that name), adds a missing
//! key after the last key of the last section of that name, and appends a missing section at
//! the end; every other byte stays as it was. Values are written unquoted, the one form that
//! configparser (raw and with interpolation), botocore, the AWS CLI and MariaDB all read as
//! written; a value that some of them would read otherwise is refused, and so is a file whose
//! lines they read differently where it matters (docs/formats/ini.md gives each rule and its
//! evidence; [`rules`] holds them). [`verify`] scans the new text again and compares every
//! value. No error ever contains a value.

#[cfg(test)]
mod proptests;
mod rules;
mod scan;
#[cfg(test)]
mod tests;

use super::{Refusal, Spliced, Syntax};
use rules::Rule;
use scan::{Kind, Line, entries, lines};

/// The INI format in the registry of [`super::Format`].
pub(super) struct Ini;

impl Syntax for Ini {
    fn extensions(&self) -> &'static [&'static str] {
        &["ini", "cfg", "cnf"]
    }

    fn file_names(&self) -> &'static [&'static str] {
        &["credentials"]
    }

    fn check_key(&self, key: &str) -> Result<(), String> {
        parse_key(key).map(|_| ()).map_err(|e| e.to_string())
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
}

impl From<IniError> for Refusal {
    fn from(e: IniError) -> Refusal {
        let why = e.to_string();
        match e {
            IniError::Unparseable { .. } => Refusal::File(why),
            IniError::ForbiddenValue { .. } => Refusal::Value(why),
            IniError::InvalidKey { .. } => Refusal::Key(why),
        }
    }
}

/// Why an INI file or value cannot be spliced.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IniError {
    /// Readers would read the file differently where it matters (exit 65).
    #[error("line {line}: {reason}")]
    Unparseable { line: usize, reason: String },
    /// No form carries the value to every reader (exit 76). Never holds the value.
    #[error("the value for {key} {reason}")]
    ForbiddenValue { key: String, reason: &'static str },
    /// The key is not `/section/key` or `/key` (exit 64).
    #[error("{key:?} is not an INI key: {reason}")]
    InvalidKey { key: String, reason: &'static str },
}

/// A KEY taken apart: the section (`None` before any header) and the key name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniKey {
    pub section: Option<String>,
    pub name: String,
}

/// `/section/key` or `/key`, with `~1` and `~0` unescaped.
pub fn parse_key(key: &str) -> Result<IniKey, IniError> {
    let bad = |reason| IniError::InvalidKey {
        key: key.to_owned(),
        reason,
    };
    let rest = key
        .strip_prefix('/')
        .ok_or_else(|| bad("it must be /section/key, or /key before any section"))?;
    let mut tokens: Vec<String> = rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let name = tokens.pop().expect("split yields a token");
    let section = match tokens.len() {
        0 => None,
        1 => tokens.pop(),
        _ => return Err(bad("it has more than two steps (a / in a section is ~1)")),
    };
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !name_ok {
        return Err(bad(
            "a key name is letters, digits, _, - and . (what every INI reader takes as a name)",
        ));
    }
    if let Some(s) = &section {
        let section_ok = !s.is_empty()
            && !s.contains(['[', ']'])
            && !s.chars().any(char::is_control)
            && !s.starts_with(scan::py_space)
            && !s.ends_with(scan::py_space);
        if !section_ok {
            return Err(bad(
                "a section name must be non-empty, without [ ] or control characters, and not \
                 start or end with a space",
            ));
        }
    }
    Ok(IniKey { section, name })
}

/// The lines of `text`, after the whole-file rules.
fn scan(text: &str) -> Result<Vec<Line<'_>>, IniError> {
    rules::file(text)?;
    let lines = lines(text);
    rules::structure(text, &lines)?;
    Ok(lines)
}

/// The value of `key` as configparser's raw reader, botocore and the AWS CLI read it (MariaDB
/// and PHP read the last occurrence too); `None` when absent. Refuses what [`splice`] would.
pub fn get(text: &str, key: &str) -> Result<Option<String>, IniError> {
    let k = parse_key(key)?;
    let lines = scan(text)?;
    let found = rules::settable(text, &lines, k.section.as_deref(), &k.name, key)?;
    Ok(found.last().map(|&i| match &lines[i].kind {
        Kind::Key { value, .. } => text[value.clone()].to_string(),
        _ => unreachable!("settable returns key lines"),
    }))
}

/// `text` with every key of `updates` set (`updates` keys are distinct). Pure.
pub fn splice(text: &str, updates: &[(String, String)]) -> Result<String, IniError> {
    let keys = updates
        .iter()
        .map(|(key, value)| {
            let k = parse_key(key)?;
            rules::value(value).map_err(|rule| rule.for_value(key))?;
            Ok(k)
        })
        .collect::<Result<Vec<_>, IniError>>()?;
    let lines = scan(text)?;
    let eol = dominant_line_ending(text);

    // (offset, end, text) edits, applied in order of offset (stable for equal offsets).
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut new_sections: Vec<(&str, Vec<usize>)> = Vec::new();
    for (u, ((key, value), k)) in updates.iter().zip(&keys).enumerate() {
        let section = k.section.as_deref();
        let found = rules::settable(text, &lines, section, &k.name, key)?;
        for &i in &found {
            let Kind::Key { value: span, .. } = &lines[i].kind else {
                unreachable!("settable returns key lines")
            };
            if text[span.clone()] == *value {
                continue; // an equal value stays byte-identical
            }
            let mut new = String::new();
            // `k =` with nothing after it: keep the file's spacing around `=`.
            let before = &text[..span.start];
            if span.is_empty()
                && before.ends_with('=')
                && before[..before.len() - 1].ends_with([' ', '\t'])
            {
                new.push(' ');
            }
            new.push_str(value);
            edits.push((span.start, span.end, new));
        }
        if !found.is_empty() {
            continue;
        }
        match insertion_point(&lines, section) {
            Some((at, style)) => {
                let mut line = String::new();
                let first_here = !edits.iter().any(|e| e.0 == at);
                if at > 0 && !text[..at].ends_with('\n') && first_here {
                    line.push_str(eol);
                }
                let (indent, sep) = style.map_or(("", " = "), |i| key_style(text, &lines[i]));
                // A deeper line right after it would become this key's continuation for Python.
                if let Some(next) = lines
                    .iter()
                    .find(|l| l.start >= at && !matches!(l.kind, Kind::Blank | Kind::Comment))
                    && scan::indent(&text[next.start..next.content_end]) > indent.chars().count()
                {
                    return Err(Rule::IndentedAfterInsert.at(text, next.start, Some(key)));
                }
                line.push_str(indent);
                line.push_str(&k.name);
                line.push_str(sep);
                line.push_str(value);
                line.push_str(eol);
                edits.push((at, at, line));
            }
            None => {
                let s = section.expect("keys before any section always have a place");
                match new_sections.iter_mut().find(|(name, _)| *name == s) {
                    Some((_, members)) => members.push(u),
                    None => new_sections.push((s, vec![u])),
                }
            }
        }
    }
    edits.sort_by_key(|e| e.0);
    let mut out = String::with_capacity(text.len() + 64);
    let mut copied = 0;
    for (start, end, new) in edits {
        out.push_str(&text[copied..start]);
        out.push_str(&new);
        copied = end;
    }
    out.push_str(&text[copied..]);
    for (section, members) in new_sections {
        if !out.is_empty() {
            if !out.ends_with('\n') {
                out.push_str(eol);
            }
            let last = out[..out.len() - 1].rsplit('\n').next().unwrap_or("");
            if !last.trim_matches(scan::py_space).is_empty() {
                out.push_str(eol);
            }
        }
        out.push('[');
        out.push_str(section);
        out.push(']');
        out.push_str(eol);
        for u in members {
            out.push_str(&keys[u].name);
            out.push_str(" = ");
            out.push_str(&updates[u].1);
            out.push_str(eol);
        }
    }
    Ok(out)
}

/// Where a missing key of `section` goes: right after the last key line (or its continuation
/// lines) of the last section of that name, else right after its header, so that the blank and
/// comment lines that end a section (and usually introduce the next) stay after it. Keys before
/// any section go after the last of them, else at the top. With it, the key line whose style
/// (indent, spacing around `=`) the new line copies. `None` when the section is absent.
fn insertion_point(lines: &[Line<'_>], section: Option<&str>) -> Option<(usize, Option<usize>)> {
    let header = lines
        .iter()
        .rposition(|l| matches!(l.kind, Kind::Header { name, .. } if Some(name) == section));
    if section.is_some() && header.is_none() {
        return None;
    }
    let from = header.map_or(0, |h| h + 1);
    let mut at = header.map_or(0, |h| lines[h].end);
    let mut style = None;
    for (i, line) in lines.iter().enumerate().skip(from) {
        match line.kind {
            Kind::Header { .. } => break,
            Kind::Key { .. } => {
                style = Some(i);
                at = line.end;
            }
            Kind::Continuation { .. } | Kind::Other { .. } => at = line.end,
            Kind::Blank | Kind::Comment => {}
        }
    }
    Some((at, style))
}

/// The indent of the key line `line`, and its separator with `=` (`=`, ` = `, `\t=\t`).
fn key_style<'a>(text: &'a str, line: &Line<'_>) -> (&'a str, &'a str) {
    let Kind::Key { name, value, .. } = &line.kind else {
        return ("", " = ");
    };
    let content = &text[line.start..line.content_end];
    let indent = &content[..content.len() - content.trim_start_matches(scan::py_space).len()];
    let sep_start = line.start + indent.len() + name.len();
    let sep = &text[sep_start..value.start];
    if sep.trim_matches(scan::py_space) == "=" {
        (indent, sep)
    } else {
        (indent, " = ")
    }
}

/// Check that `new` holds the updated values and everything else as in `old`: every value
/// configparser reads, in order, and no other.
pub fn verify(old: &str, new: &str, updates: &[(String, String)]) -> Result<(), String> {
    let keys = updates
        .iter()
        .map(|(k, _)| parse_key(k).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let old_lines = scan(old).map_err(|e| e.to_string())?;
    let new_lines = scan(new).map_err(|e| format!("the new file does not scan: {e}"))?;
    let is_set = |section: Option<&str>, key: &str| {
        keys.iter()
            .position(|k| k.section.as_deref() == section && k.name == key)
    };
    let old_entries = entries(old, &old_lines);
    let new_entries = entries(new, &new_lines);
    let unset = |e: &&scan::Entry<'_>| is_set(e.section, e.key).is_none();
    if !old_entries
        .iter()
        .filter(unset)
        .eq(new_entries.iter().filter(unset))
    {
        return Err("a key that was not set changed".into());
    }
    for (u, (key, value)) in updates.iter().enumerate() {
        let count = |es: &[scan::Entry<'_>]| {
            es.iter()
                .filter(|e| is_set(e.section, e.key) == Some(u))
                .count()
        };
        let wrong = new_entries
            .iter()
            .filter(|e| is_set(e.section, e.key) == Some(u))
            .any(|e| e.value != *value);
        let expected = count(&old_entries).max(1);
        if wrong || count(&new_entries) != expected {
            return Err(format!("{key} does not hold its new value"));
        }
    }
    Ok(())
}

/// CRLF if most lines end in CRLF, else LF.
fn dominant_line_ending(text: &str) -> &'static str {
    let lines = text.matches('\n').count();
    let crlf = text.matches("\r\n").count();
    if crlf * 2 > lines { "\r\n" } else { "\n" }
}
