//! Reading an INI text line by line the way Python's `configparser` does (and so botocore and
//! the AWS CLI), keeping the byte spans the splice needs.
//!
//! configparser's structure is the one credshim edits by: a line indented deeper than the key
//! line above it continues that key's value (blank and comment lines in between do not end the
//! value), `[name]` opens a section (the name runs to the last `]`), a key line is split at its
//! first `=` or `:`, and a line whose first non-blank character is `#` or `;` is a comment.
//! MariaDB and PHP read the same lines without continuations; where that changes what a line is,
//! [`super::rules`] decides whether the file can still be edited. The scanner only reports.

use std::ops::Range;

/// One physical line of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Line<'a> {
    /// Where it starts.
    pub start: usize,
    /// Where its content ends (before `\r\n` or `\n`).
    pub content_end: usize,
    /// Where the next line starts (after its line ending, if any).
    pub end: usize,
    /// The section it is in (configparser's), `None` before the first header.
    pub section: Option<&'a str>,
    pub kind: Kind<'a>,
}

/// What a line is to configparser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind<'a> {
    Blank,
    Comment,
    /// `[name]`; `rest` is what follows the last `]` on the line.
    Header {
        name: &'a str,
        rest: &'a str,
    },
    /// `name = value` or `name: value`; `value` is the byte span of the stripped value.
    Key {
        name: &'a str,
        delimiter: u8,
        value: Range<usize>,
    },
    /// A line that continues the value of the key line `of` (an index into the lines), with the
    /// stripped text.
    Continuation {
        of: usize,
        text: &'a str,
    },
    /// Anything else: configparser refuses the file, MariaDB reads a key with no value
    /// (`skip-networking`, `!include`), PHP skips it.
    Other {
        text: &'a str,
    },
}

/// Whether `c` is whitespace to Python's `str.strip()`.
pub(super) fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// How deep `line` is indented, in characters, as configparser counts.
pub(super) fn indent(line: &str) -> usize {
    line.chars().take_while(|&c| py_space(c)).count()
}

/// The lines of `text` (which has no lone CR and no BOM: the file rules come first).
pub(super) fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out: Vec<Line<'_>> = Vec::new();
    let mut section = None;
    // configparser's state: the key whose value a deeper line continues, and that line's indent.
    let mut current_key: Option<usize> = None;
    let mut indent_level = 0usize;
    let mut start = 0;
    while start < text.len() {
        let end = text[start..]
            .find('\n')
            .map_or(text.len(), |i| start + i + 1);
        let mut content_end = if text[..end].ends_with('\n') {
            end - 1
        } else {
            end
        };
        if text[..content_end].ends_with('\r') {
            content_end -= 1;
        }
        let content = &text[start..content_end];
        let stripped = content.trim_matches(py_space);
        let kind = if stripped.is_empty() {
            Kind::Blank
        } else if stripped.starts_with(['#', ';']) {
            Kind::Comment
        } else {
            let indent = indent(content);
            match current_key {
                Some(of) if indent > indent_level => Kind::Continuation { of, text: stripped },
                _ => {
                    indent_level = indent;
                    let lead = content.len() - content.trim_start_matches(py_space).len();
                    let kind = classify(start + lead, stripped);
                    current_key = match kind {
                        Kind::Key { .. } => Some(out.len()),
                        // configparser forgets the key on a header; a line it cannot parse
                        // stops the whole file for it, so what follows does not matter to it.
                        _ => None,
                    };
                    if let Kind::Header { name, .. } = kind {
                        section = Some(name);
                    }
                    kind
                }
            }
        };
        out.push(Line {
            start,
            content_end,
            end,
            section,
            kind,
        });
        start = end;
    }
    out
}

/// A header, key or other line whose stripped text `stripped` starts at byte `at` of the text.
fn classify(at: usize, stripped: &str) -> Kind<'_> {
    // configparser's SECTCRE is `\[(?P<header>.+)\]`, matched at the start: greedy, so the name
    // runs to the last `]`.
    if let Some(inner) = stripped.strip_prefix('[')
        && let Some(close) = inner.rfind(']')
        && close > 0
    {
        return Kind::Header {
            name: &inner[..close],
            rest: &inner[close + 1..],
        };
    }
    match stripped.find(['=', ':']) {
        Some(d) if !stripped[..d].trim_end_matches(py_space).is_empty() => {
            let name = stripped[..d].trim_end_matches(py_space);
            let after = &stripped[d + 1..];
            let lead = after.len() - after.trim_start_matches(py_space).len();
            let value_start = at + d + 1 + lead;
            let value_end = at + stripped.len();
            Kind::Key {
                name,
                delimiter: stripped.as_bytes()[d],
                value: value_start..value_end,
            }
        }
        _ => Kind::Other { text: stripped },
    }
}

/// One value as configparser reads it: where, under which section, and its text (continuation
/// lines joined with `\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry<'a> {
    pub section: Option<&'a str>,
    pub key: &'a str,
    pub value: String,
}

/// Every key line of `text` with its value, in file order (duplicates included).
pub(super) fn entries<'a>(text: &'a str, lines: &[Line<'a>]) -> Vec<Entry<'a>> {
    let mut out: Vec<Entry<'a>> = Vec::new();
    let mut index_of = std::collections::HashMap::new();
    for (i, line) in lines.iter().enumerate() {
        match &line.kind {
            Kind::Key { name, value, .. } => {
                index_of.insert(i, out.len());
                out.push(Entry {
                    section: line.section,
                    key: name,
                    value: text[value.clone()].to_string(),
                });
            }
            Kind::Continuation { of, text } => {
                let e = &mut out[index_of[of]];
                e.value.push('\n');
                e.value.push_str(text);
            }
            _ => {}
        }
    }
    out
}
