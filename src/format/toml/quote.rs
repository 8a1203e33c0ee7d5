//! How a value is written: a TOML basic string (`"..."`, with the escapes TOML 1.0 defines) or a
//! literal string (`'...'`, no escapes at all), chosen by [`form`] from the value and the string
//! it replaces (docs/formats/toml.md, "Which form to write"). Only TOML 1.0 forms are written
//! (never 1.1's `\e` or `\xHH`), so a 1.0 reader such as Python's `tomllib` reads every value.

/// The string forms credshim writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    /// `"..."` with `\\`, `\"`, `\b \t \n \f \r` and `\u00XX` for other control characters.
    Basic,
    /// `'...'`, taken verbatim by every reader: only for values without `'` and control
    /// characters other than tab.
    Literal,
}

/// The style of the string a value replaces, as the file spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OldStyle {
    Basic,
    Literal,
    MultiLineBasic,
    MultiLineLiteral,
}

impl OldStyle {
    /// The style of a string whose source text is `raw`.
    pub(super) fn of(raw: &str) -> OldStyle {
        if raw.starts_with("\"\"\"") {
            OldStyle::MultiLineBasic
        } else if raw.starts_with("'''") {
            OldStyle::MultiLineLiteral
        } else if raw.starts_with('\'') {
            OldStyle::Literal
        } else {
            OldStyle::Basic
        }
    }
}

/// Whether a literal string can carry `value`: TOML forbids `'` and control characters other
/// than tab in one, and has no escapes.
pub(super) fn literal_fits(value: &str) -> bool {
    !value
        .chars()
        .any(|c| c == '\'' || (is_control(c) && c != '\t'))
}

/// Characters a basic string must escape besides `"` and `\` (TOML 1.0: U+0000–U+001F, U+007F).
fn is_control(c: char) -> bool {
    c < ' ' || c == '\u{7f}'
}

/// The form to write `value` in, in place of a string of style `old` (`None`: a new key).
///
/// The old string's style is kept when it can carry the value; a multi-line string becomes the
/// single-line string of its family (a credential is one line; any line break is escaped). A new
/// key gets a literal string when the value holds `\` or `"` (a Windows path, a regex, JSON) and a
/// literal string can carry it, since it then reads as it is; otherwise a basic string.
pub(super) fn form(value: &str, old: Option<OldStyle>) -> Form {
    let literal_wanted = match old {
        Some(OldStyle::Literal | OldStyle::MultiLineLiteral) => true,
        Some(OldStyle::Basic | OldStyle::MultiLineBasic) => false,
        None => value.contains(['\\', '"']),
    };
    if literal_wanted && literal_fits(value) {
        Form::Literal
    } else {
        Form::Basic
    }
}

/// `value` written in `form`, quotes included.
pub(super) fn encode(value: &str, form: Form) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    match form {
        Form::Literal => {
            out.push('\'');
            out.push_str(value);
            out.push('\'');
        }
        Form::Basic => {
            out.push('"');
            for c in value.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\u{8}' => out.push_str("\\b"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\u{c}' => out.push_str("\\f"),
                    '\r' => out.push_str("\\r"),
                    c if is_control(c) => out.push_str(&format!("\\u{:04X}", u32::from(c))),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
    }
    out
}
