//! libpq's reading of a password file, line by line, with the byte span of each password.
//!
//! This is `passwordFromFile` and `pwdfMatchesString` of PostgreSQL 15's `fe-connect.c`, read
//! as a grammar rather than as a lookup: a line is what `fgets` returns (up to and with its LF);
//! it is a comment when its first byte is `#` (no leading blanks); every trailing CR and LF is
//! stripped (`pg_strip_crlf`) and an empty rest is skipped. Fields are split on `:` not escaped
//! by a backslash; a backslash makes the byte after it literal, whatever it is (`\a` is `a`), and
//! a lone backslash at the end of the line is kept. A field that is exactly `*` is a wildcard.
//! The password is the fifth field: libpq stops at the next unescaped `:`. A line with fewer than
//! five fields never matches.

use std::ops::Range;

/// One of the first four fields: `*` (matches anything) or a literal, unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Field {
    Any,
    Is(String),
}

impl Field {
    /// Whether every connection value this field matches is also matched by `other`.
    pub(super) fn within(&self, other: &Field) -> bool {
        match (self, other) {
            (_, Field::Any) => true,
            (Field::Any, Field::Is(_)) => false,
            (Field::Is(a), Field::Is(b)) => a == b,
        }
    }

    /// Whether some connection value matches both.
    pub(super) fn meets(&self, other: &Field) -> bool {
        self.within(other) || other.within(self)
    }
}

/// What one line is to libpq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    /// First byte `#`.
    Comment,
    /// Nothing but line ending.
    Blank,
    /// Fields split on unescaped `:`; `password` is set when there are five or more.
    Entry(Entry),
}

/// A line that is neither a comment nor blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    /// The first four fields (fewer when the line has fewer).
    pub fields: Vec<Field>,
    /// The raw bytes of the fifth field, as a range of the whole text; `None` with fewer than
    /// five fields (libpq never matches such a line).
    pub password: Option<Range<usize>>,
    /// The fifth field as libpq reads it.
    pub value: String,
    /// Whether more fields follow the fifth (libpq ignores them; node-postgres' `pgpass` takes
    /// them into the password).
    pub extra: bool,
}

/// One line of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Line<'a> {
    /// 1-based, for messages.
    pub number: usize,
    /// The line without its trailing CRs and LF.
    pub content: &'a str,
    /// The trailing CRs and LF (empty for a last line without newline).
    pub ending: &'a str,
    pub kind: Kind,
}

/// Every line of `text`, as libpq reads it.
pub(super) fn scan(text: &str) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let end = text[start..]
            .find('\n')
            .map_or(text.len(), |i| start + i + 1);
        let whole = &text[start..end];
        let content = whole.trim_end_matches(['\r', '\n']);
        let ending = &whole[content.len()..];
        let kind = if whole.starts_with('#') {
            Kind::Comment
        } else if content.is_empty() {
            Kind::Blank
        } else {
            Kind::Entry(entry(content, start))
        };
        lines.push(Line {
            number: lines.len() + 1,
            content,
            ending,
            kind,
        });
        start = end;
    }
    lines
}

/// The fields of `content`, which starts at byte `offset` of the text.
fn entry(content: &str, offset: usize) -> Entry {
    // Raw field spans and their unescaped text.
    let mut spans: Vec<(Range<usize>, String)> = Vec::new();
    let mut field_start = 0;
    let mut text = String::new();
    let mut chars = content.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, next)) => text.push(next),
                // A lone backslash at the end is kept (libpq's de-escape loop).
                None => text.push('\\'),
            },
            ':' => {
                spans.push((field_start..i, std::mem::take(&mut text)));
                field_start = i + 1;
            }
            _ => text.push(c),
        }
    }
    spans.push((field_start..content.len(), text));
    let fields = spans
        .iter()
        .take(4)
        .map(|(range, text)| {
            if &content[range.clone()] == "*" {
                Field::Any
            } else {
                Field::Is(text.clone())
            }
        })
        .collect();
    let (password, value) = match spans.get(4) {
        Some((range, text)) => (Some(offset + range.start..offset + range.end), text.clone()),
        None => (None, String::new()),
    };
    Entry {
        fields,
        password,
        value,
        extra: spans.len() > 5,
    }
}

/// The line ending most lines use: CRLF when most lines that end in one end in CRLF.
pub(super) fn dominant_ending(lines: &[Line<'_>]) -> &'static str {
    let crlf = lines.iter().filter(|l| l.ending.ends_with("\r\n")).count();
    let lf = lines.iter().filter(|l| l.ending == "\n").count();
    if crlf > lf { "\r\n" } else { "\n" }
}
