//! Unquoted `.env` values, read as sh and dotenvy read them: `#` starts a comment only after a
//! blank, `\` escapes the next character and before a LF continues the value, and a quote inside
//! the value opens a quoted span. Where readers would disagree on where such a value ends, it
//! reports the rule of [`super::rules`] the file breaks.

use super::SpliceError;
use super::rules::Rule;
use super::scan::{content_end, eol, is_blank};

/// The offset after the quote that closes the one at `at` inside an unquoted value, read as
/// sh and dotenvy read a quoted span (backslashes paired, as dotenvy pairs them even in single
/// quotes). A span that does not close on its line, or a `\'` in single quotes, is refused:
/// readers would disagree where the value ends.
fn close_inline_quote(text: &str, at: usize, q: u8) -> Result<usize, SpliceError> {
    let b = text.as_bytes();
    let line_end = content_end(b, at);
    let mut j = at + 1;
    while j < line_end {
        match b[j] {
            b'\\' if q == b'\'' && b.get(j + 1) == Some(&b'\'') => {
                return Err(Rule::InlineBackslashQuote.at(text, j));
            }
            b'\\' => j += 2,
            c if c == q => return Ok(j + 1),
            _ => j += 1,
        }
    }
    Err(Rule::InlineQuoteOpen.at(text, at))
}

/// What [`scan_bare`] found.
pub(super) struct Bare {
    /// End of the value, trailing blanks excluded.
    pub end: usize,
    /// Start of the next line.
    pub next: usize,
    /// A ` #comment` follows.
    pub comment: bool,
    /// A trailing `\` joined the next line.
    pub continued: bool,
    /// Where a trailing `\` joined a line with text on it.
    joins: Option<usize>,
}

impl Bare {
    /// Refuse a value whose trailing `\` joins a line with text on it: sh joins the lines,
    /// dotenvy and Node do not, so readers disagree where the value ends.
    pub(super) fn joins_text(&self, text: &str) -> Result<(), SpliceError> {
        match self.joins {
            Some(at) => Err(Rule::ContinuationJoinsText.at(text, at)),
            None => Ok(()),
        }
    }
}

/// An unquoted value starting at `v`. `#` starts a comment only after a blank; `\` escapes the
/// next character, and before a LF continues the value on the next line. A quote inside the
/// value opens a quoted span for sh and dotenvy: one that does not close on its line is refused,
/// since readers then disagree where the value ends.
pub(super) fn scan_bare(text: &str, v: usize, blank_before: bool) -> Result<Bare, SpliceError> {
    let b = text.as_bytes();
    let (mut i, mut end, mut continued, mut joins) = (v, v, false, None);
    let done = |end, next, comment, continued, joins| {
        Ok(Bare {
            end,
            next,
            comment,
            continued,
            joins,
        })
    };
    if blank_before && b.get(v) == Some(&b'#') {
        return done(v, (eol(b, v) + 1).min(b.len()), true, false, None);
    }
    while i < b.len() {
        match b[i] {
            b'\n' => return done(end, i + 1, false, continued, joins),
            b'\r' if b.get(i + 1) == Some(&b'\n') => {
                return done(end, i + 2, false, continued, joins);
            }
            b'\\' if b.get(i + 1) == Some(&b'\n') => {
                let next_line = &b[i + 2..eol(b, i + 2)];
                if joins.is_none() && next_line.iter().any(|c| !c.is_ascii_whitespace()) {
                    joins = Some(i);
                }
                i += 2;
                continued = true;
            }
            // At the end of a CRLF line the backslash escapes the CR for sh: no continuation.
            b'\\' if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') => {
                i += 1;
                end = i;
            }
            b'\\' => {
                i += 1 + text[i + 1..].chars().next().map_or(0, char::len_utf8);
                end = i;
            }
            q @ (b'\'' | b'"') => {
                i = close_inline_quote(text, i, q)?;
                end = i;
            }
            c if is_blank(c) => {
                if b.get(i + 1) == Some(&b'#') {
                    return done(end, (eol(b, i) + 1).min(b.len()), true, continued, joins);
                }
                i += 1;
            }
            _ => {
                i += 1;
                end = i;
            }
        }
    }
    done(end, b.len(), false, continued, joins)
}
