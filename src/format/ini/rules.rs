//! Every refusal of the `ini` format, in one list: [`Rule`], each variant with the reader
//! evidence behind it (docs/formats/ini.md, found by running configparser raw and with its
//! interpolation, botocore, the AWS CLI, MariaDB's `my_print_defaults` and PHP's
//! `parse_ini_file` on the corpus in tests/corpus/ini). The scanner reports what the lines are;
//! these rules decide. No message ever holds a value or any part of one.

use super::IniError;
use super::scan::{Kind, Line, py_space};

/// A reason to refuse a new value (exit 76) or a file (65).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rule {
    // Values.
    /// A line feed or carriage return would end the line and let the rest inject a key; every
    /// reader is line-based.
    ValueLineBreak,
    /// NUL and the other control characters but tab: MariaDB ends a value at a vertical tab or
    /// form feed, Python strips the separators U+001C to U+001F, NUL is not text.
    ValueControl,
    /// Leading or trailing whitespace: every reader strips it, and a quote to keep it is kept as
    /// text by configparser.
    ValueEdgeSpace,
    /// `%`: configparser's default interpolation fails on a lone `%` and reads `%%` as `%`, while
    /// RawConfigParser, botocore, the AWS CLI and MariaDB read both as written. No spelling reads
    /// the same in both.
    ValuePercent,
    /// `#`: MariaDB starts a comment at a `#` anywhere (`a#b` reads `a`).
    ValueHash,
    /// `\`: MariaDB reads backslash escapes (`a\b` is `a` and a backspace), Python does not.
    ValueBackslash,
    /// A value wrapped in matching quotes: MariaDB and PHP drop them, Python keeps them.
    ValueQuoted,
    /// Whitespace before a `;`: on the line of a key, PHP and the next run take it for the start
    /// of a comment.
    ValueSpaceSemicolon,
    /// `yes`, `no`, `true`, `false`, `on`, `off`, `null`, `none` (any case): PHP reads `1` or an
    /// empty string, and quoting it changes the value for Python.
    ValuePhpReserved,
    /// An upper-case word with `_` (`E_ALL`, `PHP_EOL`): PHP replaces the name of a constant with
    /// its value, and quoting it changes the value for Python.
    ValuePhpConstant,

    // Files.
    /// A NUL byte: not text to any reader.
    Nul,
    /// A CR not before LF: Python's universal newlines end a line there, MariaDB and PHP do not.
    LoneCarriageReturn,
    /// A UTF-8 byte order mark: configparser (so botocore and the AWS CLI) then sees no section
    /// header at all, MariaDB drops the first group, PHP reads it.
    Bom,
    /// An indented `[name]` line under a key: a continuation of that key's value to Python, a
    /// new section to MariaDB and PHP, so they put the lines after it in different sections.
    ContinuedHeader,
    /// A header with a `]` in its name or text after it: configparser's name runs to the last
    /// `]`, MariaDB's to the first.
    OddHeader,

    // The lines of a key being set.
    /// A header naming the section in another case or with spaces inside the brackets: MariaDB
    /// merges groups whatever their case and trims the name, Python and PHP do not.
    SectionCase,
    /// The key written in another case in its section: configparser lowercases option names (and
    /// so reads both as one key), MariaDB and PHP do not.
    KeyCase,
    /// `key: value`: configparser's second delimiter; MariaDB reads a key named `key: value`, PHP
    /// skips the line.
    ColonDelimiter,
    /// A value continued on indented lines: Python joins them, MariaDB and PHP read the first
    /// line only (and MariaDB the others as keys).
    ContinuedValue,
    /// An indented line that continues another key's value for Python but sets this key for
    /// MariaDB and PHP.
    ContinuationSetsKey,
    /// A missing key whose place is right above a line indented deeper than the new key line:
    /// Python would then read that line as the new key's continuation.
    IndentedAfterInsert,
    /// Whitespace and then `;` or `#` in the value: a comment to PHP (`;`) or MariaDB (`#`), part
    /// of the value to Python, so readers disagree where the value ends.
    InlineComment,
}

impl Rule {
    /// Why the rule refuses, for the message; never holds a value.
    fn reason(self) -> &'static str {
        match self {
            Rule::ValueLineBreak => "contains a line break, which would end its line",
            Rule::ValueControl => {
                "contains a control character, which INI readers treat differently"
            }
            Rule::ValueEdgeSpace => "starts or ends with whitespace, which every INI reader strips",
            Rule::ValuePercent => {
                "contains %, which configparser's interpolation and the raw readers read \
                 differently however it is written"
            }
            Rule::ValueHash => "contains #, where MariaDB starts a comment",
            Rule::ValueBackslash => "contains a backslash, which MariaDB reads as an escape",
            Rule::ValueQuoted => {
                "is wrapped in quotes, which MariaDB and PHP remove and Python keeps"
            }
            Rule::ValueSpaceSemicolon => {
                "contains whitespace before a ;, which PHP reads as the start of a comment"
            }
            Rule::ValuePhpReserved => {
                "is a word PHP reads as a boolean or null (yes, no, true, false, on, off, null, \
                 none)"
            }
            Rule::ValuePhpConstant => {
                "is an upper-case name with _, which PHP replaces with the constant of that name"
            }
            Rule::Nul => "a NUL byte",
            Rule::LoneCarriageReturn => {
                "a carriage return that does not end a line, which Python takes as a line break \
                 and MariaDB and PHP do not"
            }
            Rule::Bom => {
                "a byte order mark, after which configparser (botocore, the AWS CLI) finds no \
                 section header"
            }
            Rule::ContinuedHeader => {
                "an indented [section] line under a key, which Python reads as part of that \
                 key's value and MariaDB and PHP as a new section"
            }
            Rule::OddHeader => {
                "a section header with a ] in its name or text after it, which readers name \
                 differently"
            }
            Rule::SectionCase => {
                "a header names this section in another case or with spaces, which MariaDB \
                 takes for the same section and Python and PHP do not"
            }
            Rule::KeyCase => {
                "the key is also written in another case, which configparser reads as the same \
                 key and MariaDB and PHP do not"
            }
            Rule::ColonDelimiter => {
                "its line uses `:` as the separator, which only Python reads as one"
            }
            Rule::ContinuedValue => {
                "its value continues on indented lines, which Python joins and MariaDB and PHP \
                 do not"
            }
            Rule::ContinuationSetsKey => {
                "an indented line sets it for MariaDB and PHP but continues the key above it \
                 for Python"
            }
            Rule::IndentedAfterInsert => {
                "it is missing, and the line after the place for it is indented deeper, so Python \
                 would read that line as part of the new value"
            }
            Rule::InlineComment => {
                "its value holds whitespace and then ; or #, a comment to PHP or MariaDB and part \
                 of the value to Python"
            }
        }
    }

    /// The refusal of `key`'s new value (exit 76).
    pub(super) fn for_value(self, key: &str) -> IniError {
        IniError::ForbiddenValue {
            key: key.to_owned(),
            reason: self.reason(),
        }
    }

    /// The refusal of the file at byte `offset` of `text` (exit 65), about `key` when given.
    pub(super) fn at(self, text: &str, offset: usize, key: Option<&str>) -> IniError {
        let line = 1 + text.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        IniError::Unparseable {
            line,
            reason: match key {
                Some(key) => format!("{key}: {}", self.reason()),
                None => self.reason().to_owned(),
            },
        }
    }
}

/// The value rules: the first one `value` breaks, if any.
pub(super) fn value(value: &str) -> Result<(), Rule> {
    if value.contains(['\n', '\r']) {
        return Err(Rule::ValueLineBreak);
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Rule::ValueControl);
    }
    if value.starts_with(py_space) || value.ends_with(py_space) {
        return Err(Rule::ValueEdgeSpace);
    }
    if value.contains('%') {
        return Err(Rule::ValuePercent);
    }
    if value.contains('#') {
        return Err(Rule::ValueHash);
    }
    if value.contains('\\') {
        return Err(Rule::ValueBackslash);
    }
    let b = value.as_bytes();
    if b.len() >= 2 && matches!(b[0], b'"' | b'\'') && b[b.len() - 1] == b[0] {
        return Err(Rule::ValueQuoted);
    }
    if space_then(value, &[';']) {
        return Err(Rule::ValueSpaceSemicolon);
    }
    const RESERVED: [&str; 8] = ["yes", "no", "true", "false", "on", "off", "null", "none"];
    if RESERVED.iter().any(|w| w.eq_ignore_ascii_case(value)) {
        return Err(Rule::ValuePhpReserved);
    }
    let constant_like = value.contains('_')
        && value.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && value
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_');
    if constant_like {
        return Err(Rule::ValuePhpConstant);
    }
    Ok(())
}

/// Whether `s` holds whitespace directly followed by one of `marks`.
fn space_then(s: &str, marks: &[char]) -> bool {
    let mut prev_space = false;
    for c in s.chars() {
        if prev_space && marks.contains(&c) {
            return true;
        }
        prev_space = py_space(c);
    }
    false
}

/// The whole-file rules, checked before scanning.
pub(super) fn file(text: &str) -> Result<(), IniError> {
    let b = text.as_bytes();
    if let Some(nul) = memchr::memchr(0, b) {
        return Err(Rule::Nul.at(text, nul, None));
    }
    if let Some(cr) = memchr::memchr_iter(b'\r', b).find(|&i| b.get(i + 1) != Some(&b'\n')) {
        return Err(Rule::LoneCarriageReturn.at(text, cr, None));
    }
    if text.starts_with('\u{feff}') {
        return Err(Rule::Bom.at(text, 0, None));
    }
    Ok(())
}

/// The rules on the lines as scanned: headers that readers place or name differently.
pub(super) fn structure(text: &str, lines: &[Line<'_>]) -> Result<(), IniError> {
    for line in lines {
        match &line.kind {
            Kind::Continuation { text: t, .. } if t.starts_with('[') => {
                return Err(Rule::ContinuedHeader.at(text, line.start, None));
            }
            Kind::Header { name, rest } => {
                let rest = rest.trim_start_matches(py_space);
                if name.contains(']') || !(rest.is_empty() || rest.starts_with([';', '#'])) {
                    return Err(Rule::OddHeader.at(text, line.start, None));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The rules for setting (or reading) `key` in `section`: the lines that hold it, or that
/// readers might take for it, must be read alike. Returns the indices of its key lines.
pub(super) fn settable(
    text: &str,
    lines: &[Line<'_>],
    section: Option<&str>,
    key: &str,
    display: &str,
) -> Result<Vec<usize>, IniError> {
    let refuse = |rule: Rule, line: &Line<'_>| Err(rule.at(text, line.start, Some(display)));
    let folded = |s: &str| s.trim_matches(py_space).to_lowercase();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match &line.kind {
            Kind::Header { name, .. } => {
                if let Some(section) = section
                    && *name != section
                    && folded(name) == folded(section)
                {
                    return refuse(Rule::SectionCase, line);
                }
            }
            _ if line.section != section => {}
            Kind::Key {
                name,
                delimiter,
                value,
            } => {
                if *name == key {
                    if *delimiter == b':' {
                        return refuse(Rule::ColonDelimiter, line);
                    }
                    if space_then(&text[value.clone()], &[';', '#']) {
                        return refuse(Rule::InlineComment, line);
                    }
                    found.push(i);
                } else if name.eq_ignore_ascii_case(key) {
                    return refuse(Rule::KeyCase, line);
                }
            }
            Kind::Continuation { of, text: t } => {
                if found.contains(of) {
                    return refuse(Rule::ContinuedValue, line);
                }
                let other_name = t.split_once('=').map(|(n, _)| n.trim_matches(py_space));
                if other_name.is_some_and(|n| n.eq_ignore_ascii_case(key)) {
                    return refuse(Rule::ContinuationSetsKey, line);
                }
            }
            _ => {}
        }
    }
    Ok(found)
}
