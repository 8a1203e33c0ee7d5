//! Every refusal and warning of the pgpass format, in one list: [`Rule`], each with the reader
//! evidence behind it (docs/formats/pgpass.md, found by running libpq and node-postgres'
//! `pgpass` on the files under tests/corpus/pgpass). The scanner reports what a line is; this
//! module decides. No message ever holds a password or any part of one.

use super::Refusal;
use super::scan::Field;

/// A reason to refuse: a key (exit 64), a value (76), or the file or a line of it (65).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rule {
    // Keys.
    /// KEY is `HOST:PORT:DATABASE:USER`: four fields.
    KeyFieldCount,
    /// An empty field matches nothing: libpq fills in every connection value before it looks.
    KeyEmptyField,
    /// Only `\:` and `\\` are written (libpq also takes `\x` for `x`; node-postgres does not).
    KeyEscape,
    /// A field ending in an escaped backslash (`a\\:`): node-postgres takes `\:` as an escaped
    /// colon and splits the line elsewhere.
    KeyBackslashEnd,
    /// A line whose first byte is `#` is a comment to libpq.
    KeyComment,
    /// The port field must be `*` or a number: node-postgres skips a line whose port is not.
    KeyPort,
    /// CR, LF or NUL would split or cut the line.
    KeyControl,

    // Values.
    /// An empty password is no password: libpq asks for one, node-postgres skips the line.
    ValueEmpty,
    /// NUL ends the line for libpq (`fgets` then `strlen`).
    ValueNul,
    /// A line feed would end the line and let the rest be read as another entry.
    ValueLineFeed,
    /// libpq strips trailing CRs; node-postgres ends the line at any CR.
    ValueCarriageReturn,
    /// node-postgres skips lines shorter than 11 characters.
    ValueShortLine,

    // Files and lines.
    /// A NUL byte: libpq's `fgets`/`strlen` reading glues the rest of the line to the next one.
    Nul,
    /// A UTF-8 BOM is part of the first line's host to libpq, so that line never matches.
    Bom,
    /// A CR inside a line: libpq keeps it in the field, node-postgres ends the line there.
    InnerCarriageReturn,
    /// A line with KEY's four fields and no password field: libpq never matches it.
    NoPassword,
    /// More fields after the password (an unescaped `:` in it?): libpq reads up to the `:`,
    /// node-postgres the whole rest.
    ExtraFields,
    /// An earlier line matches every connection KEY does: libpq takes the first match, so the
    /// new password would never be read.
    Shadowed,
}

impl Rule {
    /// Why, for the message; never holds a value.
    fn reason(self) -> &'static str {
        match self {
            Rule::KeyFieldCount => {
                "must be HOST:PORT:DATABASE:USER (four fields split on unescaped colons)"
            }
            Rule::KeyEmptyField => "has an empty field, which matches no connection",
            Rule::KeyEscape => "has a backslash not before ':' or '\\' (write \\: and \\\\ only)",
            Rule::KeyBackslashEnd => {
                "has a field ending in a backslash, which node-postgres reads as escaping the \
                 colon after it"
            }
            Rule::KeyComment => "starts with '#', which makes the line a comment to libpq",
            Rule::KeyPort => "has a port that is neither '*' nor a number",
            Rule::KeyControl => "contains a CR, LF or NUL",
            Rule::ValueEmpty => "is empty, which libpq takes as no password",
            Rule::ValueNul => "contains a NUL byte, which ends the line for libpq",
            Rule::ValueLineFeed => "contains a line feed, which would split the line",
            Rule::ValueCarriageReturn => {
                "contains a carriage return, which node-postgres takes as a line break and \
                 libpq strips at the end"
            }
            Rule::ValueShortLine => {
                "would make a line shorter than 11 characters, which node-postgres' pgpass skips"
            }
            Rule::Nul => "contains a NUL byte, which libpq's line reader mishandles",
            Rule::Bom => {
                "starts with a UTF-8 byte order mark, which libpq reads as part of the first \
                 host (that line never matches): remove it"
            }
            Rule::InnerCarriageReturn => {
                "has a carriage return inside a line: libpq keeps it, node-postgres ends the \
                 line there"
            }
            Rule::NoPassword => {
                "has the key's four fields but no password field, so libpq never matches it: \
                 add ':' and a placeholder password, or remove the line"
            }
            Rule::ExtraFields => {
                "has more fields after the password (an unescaped ':' in it?): libpq reads up to \
                 that ':', node-postgres to the end of the line; escape it as \\:"
            }
            Rule::Shadowed => {
                "comes first and matches every connection the key does (libpq takes the first \
                 matching line), so the new password would never be read: move the key's line \
                 above it"
            }
        }
    }

    /// The refusal for KEY `key`, on `line` of the file when the rule is about one.
    pub(super) fn refuse(self, key: &str, line: Option<usize>) -> Refusal {
        let why = self.reason();
        match self {
            Rule::KeyFieldCount
            | Rule::KeyEmptyField
            | Rule::KeyEscape
            | Rule::KeyBackslashEnd
            | Rule::KeyComment
            | Rule::KeyPort
            | Rule::KeyControl => Refusal::Key(format!("pgpass key {key:?} {why}")),
            Rule::ValueEmpty
            | Rule::ValueNul
            | Rule::ValueLineFeed
            | Rule::ValueCarriageReturn
            | Rule::ValueShortLine => {
                Refusal::Value(format!("the new password for pgpass key {key} {why}"))
            }
            Rule::Nul | Rule::Bom | Rule::InnerCarriageReturn => {
                Refusal::File(format!("the file {why}"))
            }
            Rule::NoPassword | Rule::ExtraFields | Rule::Shadowed => Refusal::File(format!(
                "line {} {why} (key {key})",
                line.unwrap_or_default()
            )),
        }
    }
}

/// The warning for an earlier line that takes some of KEY's connections with a wildcard of its
/// own (first match wins); a more specific line above a general one is the usual layout and says
/// nothing.
pub(super) fn overlap_warning(key: &str, line: usize) -> String {
    format!(
        "pgpass key {key}: line {line} comes first and matches some of the same connections \
         with a wildcard (libpq takes the first matching line), so those connections do not get \
         the new password"
    )
}

/// The warning for a target whose mode lets group or others in: libpq ignores such a file.
pub(super) fn mode_warning(mode: u32) -> Option<String> {
    let mode = mode & 0o7777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "mode {mode:04o} gives group or others access, so libpq (and node-postgres) ignore \
             this password file (\"permissions should be u=rw (0600) or less\"); credshim keeps \
             the mode: chmod 600 it"
        )
    })
}

/// The four fields of a KEY, checked; a field is `*` or a literal with `\:` and `\\` escapes.
pub(super) fn parse_key(key: &str) -> Result<Vec<Field>, Rule> {
    if key.contains(['\r', '\n', '\0']) {
        return Err(Rule::KeyControl);
    }
    if key.starts_with('#') {
        return Err(Rule::KeyComment);
    }
    let mut fields = Vec::new();
    let mut raw = String::new();
    let mut text = String::new();
    let mut chars = key.chars();
    let mut finish = |raw: &mut String, text: &mut String| -> Result<(), Rule> {
        if raw.is_empty() {
            return Err(Rule::KeyEmptyField);
        }
        if raw.ends_with("\\\\") {
            return Err(Rule::KeyBackslashEnd);
        }
        fields.push(if raw == "*" {
            Field::Any
        } else {
            Field::Is(std::mem::take(text))
        });
        raw.clear();
        text.clear();
        Ok(())
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ (':' | '\\')) => {
                    raw.extend([c, e]);
                    text.push(e);
                }
                _ => return Err(Rule::KeyEscape),
            },
            ':' => finish(&mut raw, &mut text)?,
            _ => {
                raw.push(c);
                text.push(c);
            }
        }
    }
    finish(&mut raw, &mut text)?;
    if fields.len() != 4 {
        return Err(Rule::KeyFieldCount);
    }
    match &fields[1] {
        Field::Is(port) if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) => {
            Err(Rule::KeyPort)
        }
        _ => Ok(fields),
    }
}

/// `value` as the fifth field: `\` as `\\`, `:` as `\:`, everything else as it is.
pub(super) fn escape(value: &str) -> Result<String, Rule> {
    if value.is_empty() {
        return Err(Rule::ValueEmpty);
    }
    if value.contains('\0') {
        return Err(Rule::ValueNul);
    }
    if value.contains('\n') {
        return Err(Rule::ValueLineFeed);
    }
    if value.contains('\r') {
        return Err(Rule::ValueCarriageReturn);
    }
    Ok(value.replace('\\', "\\\\").replace(':', "\\:"))
}

/// Whether node-postgres' `pgpass` would skip `line` for its length (in UTF-16 units, as
/// JavaScript counts).
pub(super) fn too_short(line: &str) -> bool {
    line.encode_utf16().count() < 11
}
