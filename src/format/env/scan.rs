//! The `.env` scanner: every `KEY=value` assignment of a file, in order, read with quotes in
//! mind as shared/ENV-FORMAT.md describes (a quote opens only at the start of a value, `"..."`
//! honours backslash escapes, quoted values may span lines, continuation lines and comments are
//! no key lines). It reports where a file breaks one of [`super::rules`] and what each
//! assignment looks like; what to do with an assignment is the caller's. Unquoted values are
//! read in [`super::bare`], and the scanner keeps in step with dotenvy's line reader
//! ([`super::reader`]).

use super::SpliceError;
use super::bare::scan_bare;
use super::quote::Quote;
use super::rules::{self, Rule};
use std::ops::Range;

/// One `KEY=value` assignment found by [`scan`].
#[derive(Debug)]
pub(super) struct Assignment<'a> {
    pub key: &'a str,
    /// Byte offset just after the `=`.
    pub eq_end: usize,
    /// The value as written, quotes included, blanks after `=` excluded; empty (at `eq_end`)
    /// when the value is empty, so that blanks before a comment stay with the comment.
    pub value: Range<usize>,
    pub quote: Quote,
    /// Blanks then `#` follow the value on its last line.
    pub comment_follows: bool,
    /// Something other than blanks or ` #comment` follows a closing quote (`K="v"#c`).
    pub junk_after_quote: bool,
    /// An unquoted value continued onto the next line by a trailing `\`, which sh, dotenvy and
    /// systemd join and Node does not.
    pub continued: bool,
    /// A value in backticks closed on its line (`` K=`a b` ``): Node's dotenv takes the
    /// backticks as quotes, every other reader as text.
    pub backticks: bool,
}

pub(super) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

pub(super) fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Index of the `\n` ending the line holding `at`, or the text's length.
pub(super) fn eol(b: &[u8], at: usize) -> usize {
    memchr::memchr(b'\n', &b[at..]).map_or(b.len(), |i| at + i)
}

/// End of the content of the line holding `at`: before its `\r\n` or `\n`.
pub(super) fn content_end(b: &[u8], at: usize) -> usize {
    let end = eol(b, at);
    if end < b.len() && end > at && b[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// Start of the line after the logical line holding `at`, following lines that end in an odd
/// run of backslashes (sh's line continuation).
fn next_logical_line(b: &[u8], mut at: usize) -> usize {
    loop {
        let end = eol(b, at);
        let backslashes = b[at..end].iter().rev().take_while(|&&c| c == b'\\').count();
        if end >= b.len() || backslashes % 2 == 0 {
            return (end + 1).min(b.len());
        }
        at = end + 1;
    }
}

/// `[ \t]*(export[ \t]+)?NAME[ \t]*=` at `at`: the name's range and the offset after `=`.
pub(super) fn key_at(b: &[u8], at: usize) -> Option<(Range<usize>, usize)> {
    // Readers disagree on which names are valid (python-dotenv and dotenvy take `A.B`, sh does
    // not), so any name-like word before `=` starts a value here: its quotes are then followed
    // as those readers follow them. Only valid names can ever be set.
    let name_byte =
        |c: &u8| !(is_blank(*c) || matches!(c, b'=' | b'\n' | b'\r' | b'#' | b'\'' | b'"' | b'\\'));
    let assignment = |start: usize| {
        if !b.get(start).is_some_and(name_byte) {
            return None;
        }
        let end = start + b[start..].iter().take_while(|c| name_byte(c)).count();
        let eq = end + b[end..].iter().take_while(|c| is_blank(**c)).count();
        (b.get(eq) == Some(&b'=')).then_some((start..end, eq + 1))
    };
    if b[at..].starts_with(b"export") && b.get(at + 6).is_some_and(|c| is_blank(*c)) {
        let key = at + 6 + b[at + 6..].iter().take_while(|c| is_blank(**c)).count();
        if let Some(found) = assignment(key) {
            return Some(found);
        }
    }
    assignment(at)
}

/// Every assignment of the file, in order, with quotes in mind: a quote opens only at the start
/// of a value, `"..."` honours backslash escapes and quoted values may span lines. Refuses files
/// where readers cannot agree where values end: the whole-file checks here, the rest as the
/// returned iterator reaches them (it ends after its first error). Lazy, so that a splice holds
/// no list of assignments: its memory and time per line stay flat however long the file.
pub(super) fn scan(text: &str) -> Result<Scan<'_>, SpliceError> {
    rules::file(text)?;
    let pos = text.len() - strip_bom(text).len();
    Ok(Scan {
        text,
        pos,
        failed: false,
        dotenvy_line: Some(pos),
    })
}

/// The assignments of a file, one at a time; see [`scan`].
pub(super) struct Scan<'a> {
    pub(super) text: &'a str,
    pos: usize,
    failed: bool,
    /// Where dotenvy's next logical line starts; `None` once dotenvy could not read the file
    /// at all (then the verification falls back to credshim's own reader).
    pub(super) dotenvy_line: Option<usize>,
}

impl<'a> Iterator for Scan<'a> {
    type Item = Result<Assignment<'a>, SpliceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let step = self.step();
        self.failed = step.is_err();
        step.transpose()
    }
}

impl<'a> Scan<'a> {
    fn step(&mut self) -> Result<Option<Assignment<'a>>, SpliceError> {
        let text = self.text;
        let b = text.as_bytes();
        while self.pos < b.len() {
            let pos = self.pos;
            self.agree_with_dotenvy(pos)?;
            let start = pos + b[pos..].iter().take_while(|c| is_blank(**c)).count();
            if start < content_end(b, pos) && text[start..].starts_with(char::is_whitespace) {
                return Err(Rule::OddIndent.at(text, start));
            }
            if start >= content_end(b, pos) || b[start] == b'#' {
                self.pos = (eol(b, pos) + 1).min(b.len());
                no_odd_whitespace(text, pos..self.pos, None)?;
                continue;
            }
            let Some((key, eq_end)) = key_at(b, start) else {
                let line = text[start..content_end(b, pos)].trim_end();
                if line.starts_with('[') && line.ends_with(']') {
                    return Err(Rule::IniSection.at(text, start));
                }
                self.pos = next_logical_line(b, start);
                no_odd_whitespace(text, pos..self.pos, None)?;
                continue;
            };
            let v = eq_end + b[eq_end..].iter().take_while(|c| is_blank(**c)).count();
            let mut assignment = Assignment {
                key: &text[key],
                eq_end,
                value: eq_end..eq_end,
                quote: Quote::Bare,
                comment_follows: false,
                junk_after_quote: false,
                continued: false,
                backticks: false,
            };
            match b.get(v) {
                Some(&q @ (b'\'' | b'"')) => {
                    let mut i = v + 1;
                    loop {
                        match b.get(i) {
                            None => return Err(Rule::UnterminatedQuote.at(text, start)),
                            Some(b'\\') if q == b'\'' && b.get(i + 1) == Some(&b'\'') => {
                                return Err(Rule::BackslashQuote.at(text, i));
                            }
                            // dotenvy pairs backslashes even inside single quotes.
                            Some(b'\\') => i += 2,
                            Some(&c) if c == q => break,
                            Some(_) => i += 1,
                        }
                    }
                    assignment.value = v..i + 1;
                    assignment.quote = if q == b'"' {
                        Quote::Double
                    } else {
                        Quote::Single
                    };
                    let rest = &b[i + 1..content_end(b, i + 1)];
                    let blanks = rest.iter().take_while(|c| is_blank(**c)).count();
                    if blanks < rest.len() {
                        if blanks > 0 && rest[blanks] == b'#' {
                            assignment.comment_follows = true;
                        } else {
                            assignment.junk_after_quote = true;
                        }
                    }
                    self.pos = if assignment.junk_after_quote {
                        // What follows the quote is read on as an unquoted value: its own quotes
                        // and continuations count.
                        let rest = scan_bare(text, i + 1, false)?;
                        rest.joins_text(text)?;
                        rest.next
                    } else {
                        (eol(b, i + 1) + 1).min(b.len())
                    };
                }
                _ => {
                    if b.get(v) == Some(&b'`') {
                        match closing_backtick(b, v + 1) {
                            Some(close) if close < content_end(b, v) => {
                                assignment.backticks = true;
                            }
                            Some(_) => return Err(Rule::BacktickSpansLines.at(text, start)),
                            None => {}
                        }
                    }
                    let bare = scan_bare(text, v, v > eq_end)?;
                    bare.joins_text(text)?;
                    if bare.end > v {
                        assignment.value = v..bare.end;
                    }
                    assignment.comment_follows = bare.comment;
                    assignment.continued = bare.continued;
                    self.pos = bare.next;
                }
            }
            let quoted = (assignment.quote != Quote::Bare).then(|| assignment.value.clone());
            no_odd_whitespace(text, pos..self.pos, quoted)?;
            return Ok(Some(assignment));
        }
        self.agree_with_dotenvy(b.len())?;
        Ok(None)
    }
}

/// The backtick that closes one opened before `from`, as Node's dotenv finds it (`` \` `` does
/// not close), wherever it is in the file.
fn closing_backtick(b: &[u8], mut from: usize) -> Option<usize> {
    while let Some(i) = memchr::memchr2(b'`', b'\\', &b[from..]) {
        let at = from + i;
        if b[at] == b'`' {
            return Some(at);
        }
        from = at + 2;
        if from >= b.len() {
            return None;
        }
    }
    None
}

/// Refuse a vertical tab or form feed in `range` outside the quoted value `quoted`: python-dotenv
/// and dotenvy take them as whitespace (around keys, `=` and values), sh as text. Inside quotes
/// every reader keeps them.
fn no_odd_whitespace(
    text: &str,
    range: Range<usize>,
    quoted: Option<Range<usize>>,
) -> Result<(), SpliceError> {
    let b = text.as_bytes();
    let is_odd = |c: &u8| *c == 0x0b || *c == 0x0c;
    // Nearly every line has none: one cheap pass, then the careful one only where needed.
    if memchr::memchr2(0x0b, 0x0c, &b[range.clone()]).is_none() {
        return Ok(());
    }
    let odd = range
        .filter(|i| !quoted.as_ref().is_some_and(|q| q.contains(i)))
        .find(|&i| is_odd(&b[i]));
    match odd {
        Some(at) => Err(Rule::OddWhitespace.at(text, at)),
        None => Ok(()),
    }
}
