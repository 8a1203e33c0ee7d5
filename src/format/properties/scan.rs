//! Reading a `.properties` text as `java.util.Properties.load` does (JDK 17's `LineReader` and
//! `loadConvert`), keeping where every entry lies in the text, so that a splice can replace one
//! value and leave every other byte alone.
//!
//! Natural lines end in LF, CR or CRLF. A line whose first non-blank character (blanks: space,
//! tab, form feed) is `#` or `!` is a comment, even when it ends in `\`; a blank line is nothing.
//! Any other line starts a logical line, continued onto the next natural line (its leading blanks
//! skipped) while it ends in an odd number of backslashes; a continuation onto a blank line or the
//! end of the file ends it there. The key ends at the first unescaped `=`, `:` or blank; blanks,
//! then one `=` or `:` if none ended the key, then blanks, separate it from the value.
//!
//! Every structural character is ASCII and no byte of a multi-byte UTF-8 sequence is, so
//! `load(InputStream)` (ISO-8859-1) and `load(Reader)` (UTF-8) split a UTF-8 text into the same
//! entries at the same bytes; they differ only in what raw non-ASCII bytes of a key or value read
//! as, which [`Entry::key_latin1`] gives.

use std::ops::Range;

/// Why the text cannot be read as `java.util.Properties` (or jproperties) reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Broken {
    /// A `\u` not followed by four hex digits: both loads throw `IllegalArgumentException`.
    MalformedUnicode,
    /// A `\uXXXX` surrogate without its pair: Java keeps it, jproperties refuses the file.
    LoneSurrogate,
}

/// One key-value entry: a logical line that is neither blank nor a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    /// 1-based number of the natural line it starts on.
    pub line: usize,
    /// The key as `load(Reader)` (UTF-8) reads it.
    pub key: String,
    /// The key as `load(InputStream)` (ISO-8859-1) reads it.
    pub key_latin1: String,
    /// The value as `load(Reader)` reads it.
    pub value: String,
    /// The value as `load(InputStream)` reads it.
    pub value_latin1: String,
    /// Bytes of the key as written (escapes, and any continuation inside it, included).
    pub key_span: Range<usize>,
    /// Whether the written key holds raw (unescaped) non-ASCII characters.
    pub raw_non_ascii_key: bool,
    /// Bytes of the value as written, from its first character (or where it would start) to the
    /// end of the logical line, line ending excluded. A splice replaces exactly these.
    pub value_span: Range<usize>,
    /// Whether nothing separates the key from where its value would start (`key` alone on its
    /// line): a new value needs a `=` first.
    pub needs_separator: bool,
    /// Whether the logical line ends in a continuation (an odd number of trailing backslashes).
    pub continued: bool,
}

/// Whitespace to `Properties`: space, tab and form feed only.
fn blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

/// The natural lines of `text`: (start of content, end of content, end with terminator).
fn natural_lines(text: &str) -> Vec<(usize, usize, usize)> {
    let b = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\n' => {
                lines.push((start, i, i + 1));
                start = i + 1;
            }
            b'\r' => {
                let end = if b.get(i + 1) == Some(&b'\n') {
                    i + 2
                } else {
                    i + 1
                };
                lines.push((start, i, end));
                start = end;
                i = end - 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < b.len() {
        lines.push((start, b.len(), b.len()));
    }
    lines
}

fn trailing_backslashes(s: &str) -> usize {
    s.bytes().rev().take_while(|&b| b == b'\\').count()
}

/// Every entry of `text`, in order (a duplicate key appears as often as it is written).
pub(super) fn entries(text: &str) -> Result<Vec<Entry>, (Broken, usize)> {
    let lines = natural_lines(text);
    let mut out = Vec::new();
    let mut n = 0;
    while n < lines.len() {
        let first = n;
        let (start, end, _) = lines[n];
        let line = &text[start..end];
        let body = line.trim_start_matches(blank);
        n += 1;
        if body.is_empty() || body.starts_with(['#', '!']) {
            continue;
        }
        // The logical line as (byte offset, char), continuation backslashes and the blanks
        // that start each continued line left out.
        let mut chars: Vec<(usize, char)> = Vec::new();
        let mut piece_start = end - body.len();
        let mut piece_end = end;
        let mut continued;
        loop {
            let piece = &text[piece_start..piece_end];
            continued = trailing_backslashes(piece) % 2 == 1;
            let kept = if continued {
                &piece[..piece.len() - 1]
            } else {
                piece
            };
            chars.extend(kept.char_indices().map(|(i, c)| (piece_start + i, c)));
            if !continued || n == lines.len() {
                break;
            }
            let (s, e, _) = lines[n];
            let next = &text[s..e];
            let next_body = next.trim_start_matches(blank);
            if next_body.is_empty() {
                // A continuation onto a blank line ends the logical line; the blank line is
                // consumed (Java reads nothing more from it).
                n += 1;
                break;
            }
            n += 1;
            piece_start = e - next_body.len();
            piece_end = e;
        }
        let logical_end = piece_end;
        out.push(entry(first + 1, &chars, logical_end, continued)?);
    }
    Ok(out)
}

fn entry(
    line: usize,
    chars: &[(usize, char)],
    logical_end: usize,
    continued: bool,
) -> Result<Entry, (Broken, usize)> {
    // The key: up to the first unescaped `=`, `:` or blank.
    let mut i = 0;
    let mut escaped = false;
    let mut has_sep = false;
    while i < chars.len() {
        let c = chars[i].1;
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' {
            has_sep = true;
            break;
        } else if blank(c) {
            break;
        }
        i += 1;
    }
    let key_chars = &chars[..i];
    // The separator: blanks, one `=` or `:` unless one ended the key, blanks.
    let mut j = if has_sep { i + 1 } else { i };
    while j < chars.len() && blank(chars[j].1) {
        j += 1;
    }
    if !has_sep && j < chars.len() && matches!(chars[j].1, '=' | ':') {
        j += 1;
        while j < chars.len() && blank(chars[j].1) {
            j += 1;
        }
    }
    let value_chars = &chars[j..];
    // The value starts right after the separator's last character: a continuation between
    // them (`k=\` then the value on the next line) is part of the span, so that a new value
    // replaces it and does not follow a dangling backslash.
    let value_start = match (j.checked_sub(1).map(|k| chars[k]), value_chars.first()) {
        (Some((at, c)), _) => at + c.len_utf8(),
        (None, Some(&(at, _))) => at,
        (None, None) => logical_end,
    };
    let err = |b| (b, line);
    let key: String = key_chars.iter().map(|&(_, c)| c).collect();
    let value: String = value_chars.iter().map(|&(_, c)| c).collect();
    Ok(Entry {
        line,
        key_latin1: unescape(&latin1(&key)).map_err(err)?,
        value_latin1: unescape(&latin1(&value)).map_err(err)?,
        raw_non_ascii_key: !key.is_ascii(),
        key: unescape(&key).map_err(err)?,
        value: unescape(&value).map_err(err)?,
        key_span: match key_chars {
            [] => value_start..value_start,
            [(start, _), .., (last, c)] => *start..last + c.len_utf8(),
            [(start, c)] => *start..start + c.len_utf8(),
        },
        value_span: value_start..logical_end,
        needs_separator: !has_sep && j == i,
        continued,
    })
}

/// `s`'s UTF-8 bytes, each read as one ISO-8859-1 character (what `load(InputStream)` sees).
fn latin1(s: &str) -> String {
    s.bytes().map(char::from).collect()
}

/// `loadConvert`: `\uXXXX`, `\t`, `\n`, `\r`, `\f`, and `\x` for any other `x` is `x`. A
/// surrogate pair of escapes is one character.
pub(super) fn unescape(s: &str) -> Result<String, Broken> {
    let mut out = String::with_capacity(s.len());
    let mut units: Vec<u16> = Vec::new();
    let mut it = s.chars();
    let flush = |units: &mut Vec<u16>, out: &mut String| -> Result<(), Broken> {
        for c in char::decode_utf16(units.drain(..)) {
            out.push(c.map_err(|_| Broken::LoneSurrogate)?);
        }
        Ok(())
    };
    while let Some(c) = it.next() {
        if c != '\\' {
            flush(&mut units, &mut out)?;
            out.push(c);
            continue;
        }
        let Some(e) = it.next() else {
            // A final backslash at the end of the file: Java drops it.
            break;
        };
        if e == 'u' {
            let hex: String = it.by_ref().take(4).collect();
            if hex.len() != 4 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Broken::MalformedUnicode);
            }
            units.push(u16::from_str_radix(&hex, 16).map_err(|_| Broken::MalformedUnicode)?);
            continue;
        }
        flush(&mut units, &mut out)?;
        out.push(match e {
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'f' => '\x0c',
            other => other,
        });
    }
    flush(&mut units, &mut out)?;
    Ok(out)
}

/// The line ending most lines of `text` use: CRLF, CR or LF (LF when there is none).
pub(super) fn dominant_line_ending(text: &str) -> &'static str {
    let (mut lf, mut crlf, mut cr) = (0, 0, 0);
    for (_, end, full) in natural_lines(text) {
        match &text[end..full] {
            "\n" => lf += 1,
            "\r\n" => crlf += 1,
            "\r" => cr += 1,
            _ => {}
        }
    }
    if crlf > lf && crlf >= cr {
        "\r\n"
    } else if cr > lf && cr > crlf {
        "\r"
    } else {
        "\n"
    }
}

/// Whether the last entry of `text` runs to its last natural line and ends there in a
/// continuation: a line appended after it would join its value.
pub(super) fn ends_continued(text: &str, entries: &[Entry]) -> bool {
    let last_end = natural_lines(text).last().map(|&(_, end, _)| end);
    entries
        .last()
        .is_some_and(|e| e.continued && Some(e.value_span.end) == last_end)
}
