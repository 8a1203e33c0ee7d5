//! Splicing a credential into a `.env` file: pure text in, text out, no I/O.
//!
//! [`splice`] sets every occurrence of the given keys (appending absent ones), choosing for each
//! value the first quoting form of shared/ENV-FORMAT.md that every common reader (dotenvy,
//! python-dotenv, compose, systemd, `sh`, Node) reads back the same way, and keeps every other
//! byte of the file as it was. It refuses files whose value boundaries readers disagree on
//! ([`SpliceError::Unparseable`]) and values no form can carry ([`SpliceError::ForbiddenValue`]).
//! [`get`] reads a value back with the same scanner, and [`verify`] checks a spliced text against
//! dotenvy before anything is written. Nothing here touches the file system or the environment,
//! and no error or warning ever contains a value.

use std::ops::Range;

/// Why a file or value cannot be spliced.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpliceError {
    /// Readers cannot agree where values end (unterminated quote, `\'` inside single quotes,
    /// a NUL byte anywhere, text right after a closing quote on a line of a key being set). Exit 65.
    #[error("line {line}: {reason}")]
    Unparseable { line: usize, reason: String },
    /// No safe form can carry the value (NUL, LF, CR; or rule 6: needs rule 5 and has a backtick). Exit 76.
    /// `reason` must NEVER contain the value or any part of it (secrets).
    #[error("the value for {key} {reason}")]
    ForbiddenValue { key: String, reason: String },
    /// Key not matching [A-Za-z_][A-Za-z0-9_]*. Exit 64.
    #[error(
        "{key:?} is not a valid variable name (letters, digits and _, not starting with a digit)"
    )]
    InvalidKey { key: String },
}

/// The result of a splice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spliced {
    pub text: String,
    /// Human warnings (rule 3 `${` for python-dotenv, rule 5 backslashes for Node). Never contain the value.
    pub warnings: Vec<String>,
}

/// Whether `key` matches `[A-Za-z_][A-Za-z0-9_]*`, the names every reader accepts.
#[must_use]
pub fn valid_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Set every occurrence of each key to its value (appending absent keys in the order given),
/// following ENV-FORMAT.md. `updates` keys are distinct. Pure.
pub fn splice(text: &str, updates: &[(String, String)]) -> Result<Spliced, SpliceError> {
    if let Some((key, _)) = updates.iter().find(|(key, _)| !valid_key(key)) {
        return Err(SpliceError::InvalidKey { key: key.clone() });
    }
    let mut warnings = Vec::new();
    let mut forms = Vec::with_capacity(updates.len());
    for (key, value) in updates {
        let form = form(value, false).map_err(|reason| SpliceError::ForbiddenValue {
            key: key.clone(),
            reason: reason.to_owned(),
        })?;
        if value.contains("${") {
            warnings.push(format!(
                "the value for {key} contains `${{`, which python-dotenv expands even inside quotes"
            ));
        }
        if form == Form::Escaped {
            warnings.push(format!(
                "the value for {key} is written with backslash escapes; Node's dotenv and \
                 --env-file (and python-dotenv, before a `$`) will read the backslashes"
            ));
        }
        forms.push(form);
    }

    let mut out = String::with_capacity(text.len() + 64);
    let mut copied = 0;
    let mut found = vec![false; updates.len()];
    let mut scanner = scan(text)?;
    for found_at in scanner.by_ref() {
        let found_at = found_at?;
        let Some(i) = updates.iter().position(|(key, _)| key == found_at.key) else {
            continue;
        };
        check_settable(text, &found_at)?;
        found[i] = true;
        out.push_str(&text[copied..found_at.eq_end]);
        // A rule 2 value always fits rule 3: it has no quote and no backslash.
        let form = match forms[i] {
            Form::Bare if found_at.comment_follows => Form::Single,
            form => form,
        };
        write_value(&mut out, &updates[i].1, form);
        copied = found_at.value.end;
    }
    out.push_str(&text[copied..]);

    let missing: Vec<_> = (0..updates.len()).filter(|&i| !found[i]).collect();
    if !missing.is_empty() {
        let eol = dominant_line_ending(text);
        let body = strip_bom(text);
        let last = body.rsplit('\n').next().unwrap_or("");
        if last.ends_with('\\') && !last.trim_start().starts_with('#') {
            // Without a final newline sh keeps that `\`; any line after it would turn it into a
            // continuation and change the last value.
            return Err(unparseable(
                text,
                text.len(),
                "the last line ends in a backslash and no newline: appending a key would change \
                 how sh reads it",
            ));
        }
        if !body.is_empty() && !body.ends_with('\n') {
            out.push_str(eol);
        }
        let last_line = body.strip_suffix('\n').unwrap_or(body);
        let last_line = last_line.strip_suffix('\r').unwrap_or(last_line);
        // A line ending in `\` continues onto the next one for sh and systemd (even in a comment).
        if last_line.ends_with('\\') {
            out.push_str(eol);
        }
        for i in missing {
            let (key, value) = &updates[i];
            out.push_str(key);
            out.push('=');
            write_value(&mut out, value, forms[i]);
            out.push_str(eol);
        }
    }
    if scanner.dotenvy_line.is_none() {
        // dotenvy could not read the old file (a quote it left open), so the checks in step
        // with it did not run; the new values' quotes may close that quote and change what it
        // reads: the new file must pass them.
        for found_at in scan(&out)? {
            found_at?;
        }
    }
    Ok(Spliced {
        text: out,
        warnings,
    })
}

/// The value of `key` as dotenvy/sh/most readers would read it (the LAST occurrence), decoded
/// from its quoting (unquoted: trailing whitespace and ` #comment` dropped, backslash escapes
/// read as sh does; single: literal; double: `\\`, `\"`, `\$`, `\n` etc. unescaped).
/// Ok(None) when absent. Err for files that `splice` would refuse as Unparseable.
pub fn get(text: &str, key: &str) -> Result<Option<String>, SpliceError> {
    if !valid_key(key) {
        return Err(SpliceError::InvalidKey {
            key: key.to_owned(),
        });
    }
    let mut last = None;
    for found_at in scan(text)? {
        let found_at = found_at?;
        if found_at.key != key {
            continue;
        }
        check_settable(text, &found_at)?;
        last = Some(found_at);
    }
    Ok(last.map(|a| decode(&text[a.value], a.quote)))
}

/// Check that `new` says what was meant: parse `new` with dotenvy (`dotenvy::from_read_iter`, after
/// stripping a UTF-8 BOM) and check every occurrence of each updated key equals its new value; and
/// that the sequence of (key, value) pairs of all OTHER keys is equal between `old` and `new`.
/// If dotenvy cannot parse `old` at all (e.g. `K="pa$word"` elsewhere in the file), fall back to
/// checking the updated keys with `get()` on `new` and `log::warn!` that dotenvy cannot read the file.
/// Err(String) describes the first mismatch by KEY NAME ONLY (never a value).
pub fn verify(old: &str, new: &str, updates: &[(String, String)]) -> Result<(), String> {
    let Ok(old_pairs) = dotenvy_pairs(old) else {
        log::warn!(
            "dotenvy cannot read the file; checked the new values with credshim's own reader only"
        );
        for (key, value) in updates {
            match get(new, key) {
                Ok(Some(read)) if read == *value => {}
                Ok(Some(_)) => return Err(format!("{key} reads back with another value")),
                Ok(None) => return Err(format!("{key} is missing from the new file")),
                Err(e) => return Err(format!("the new file cannot be read back: {e}")),
            }
        }
        return Ok(());
    };
    // dotenvy's error carries the offending line, which may hold a secret: drop it.
    let new_pairs = dotenvy_pairs(new).map_err(|_| "dotenvy cannot read the new file")?;
    for (key, value) in updates {
        let mut seen = false;
        for (_, read) in new_pairs.iter().filter(|(k, _)| k == key) {
            if read != value {
                return Err(format!("dotenvy reads {key} with another value"));
            }
            seen = true;
        }
        if !seen {
            return Err(format!("dotenvy does not find {key} in the new file"));
        }
    }
    let is_other = |(k, _): &&(String, String)| !updates.iter().any(|(u, _)| u == k);
    let mut old_others = old_pairs.iter().filter(is_other);
    let mut new_others = new_pairs.iter().filter(is_other);
    loop {
        match (old_others.next(), new_others.next()) {
            (None, None) => return Ok(()),
            (Some(a), Some(b)) if a == b => {}
            (Some((key, _)), _) | (None, Some((key, _))) => {
                return Err(format!("{key} no longer reads as it did"));
            }
        }
    }
}

fn dotenvy_pairs(text: &str) -> Result<Vec<(String, String)>, dotenvy::Error> {
    dotenvy::from_read_iter(strip_bom(text).as_bytes()).collect()
}

/// The quoting form of a value, rules 2–5 of ENV-FORMAT.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Bare,
    Single,
    Double,
    Escaped,
}

/// The first form that carries `value` (rules 1–6), or why none does.
fn form(value: &str, comment_follows: bool) -> Result<Form, &'static str> {
    if value.contains('\0') {
        return Err("contains a NUL byte, which no reader can carry");
    }
    if value.contains('\n') {
        return Err("contains a line feed, which would split it over two lines");
    }
    if value.contains('\r') {
        return Err("contains a carriage return, which line-based readers take as a line break");
    }
    let bare_char = |c: char| c.is_ascii_alphanumeric() || "._+/=~@%,:-".contains(c);
    if !comment_follows
        && !value.is_empty()
        && value.chars().all(bare_char)
        && !value.starts_with('~')
        && !value.contains(":~")
    {
        return Ok(Form::Bare);
    }
    if !value.contains('\'') && !value.contains("\\\\") && !value.ends_with('\\') {
        return Ok(Form::Single);
    }
    if !value.contains(['"', '$', '\\', '`']) {
        return Ok(Form::Double);
    }
    if value.contains('`') {
        return Err(
            "needs backslash escapes and contains a backtick, which sh needs escaped \
                    and dotenvy rejects escaped",
        );
    }
    if value.ends_with('\\') {
        // Written `"...\\"`: python-dotenv takes the final `\"` as an escaped quote and reads on
        // into the next lines, misreading the keys after it (found by the reader battery).
        return Err(
            "ends in a backslash, which python-dotenv reads as escaping the closing quote, \
             misreading the keys after it",
        );
    }
    Ok(Form::Escaped)
}

fn write_value(out: &mut String, value: &str, form: Form) {
    match form {
        Form::Bare => out.push_str(value),
        Form::Single => {
            out.push('\'');
            out.push_str(value);
            out.push('\'');
        }
        Form::Double | Form::Escaped => {
            out.push('"');
            for c in value.chars() {
                if matches!(c, '\\' | '"' | '$') {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
    }
}

/// How an existing value is quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    Bare,
    Single,
    Double,
}

/// One `KEY=value` assignment found by [`scan`].
#[derive(Debug)]
struct Assignment<'a> {
    key: &'a str,
    /// Byte offset just after the `=`.
    eq_end: usize,
    /// The value as written, quotes included, blanks after `=` excluded; empty (at `eq_end`)
    /// when the value is empty, so that blanks before a comment stay with the comment.
    value: Range<usize>,
    quote: Quote,
    /// Blanks then `#` follow the value on its last line.
    comment_follows: bool,
    /// Something other than blanks or ` #comment` follows a closing quote (`K="v"#c`).
    junk_after_quote: bool,
    /// An unquoted value continued onto the next line by a trailing `\`, which sh, dotenvy and
    /// systemd join and Node does not.
    continued: bool,
}

fn unparseable(text: &str, offset: usize, reason: &str) -> SpliceError {
    let line = 1 + text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    SpliceError::Unparseable {
        line,
        reason: reason.to_owned(),
    }
}

/// Refuse an assignment of a key being set whose value readers disagree on.
fn check_settable(text: &str, found_at: &Assignment) -> Result<(), SpliceError> {
    let why = if found_at.junk_after_quote {
        "text right after the closing quote of its value, where readers disagree on the value"
    } else if found_at.continued {
        "its value continues onto the next line with a trailing backslash, which some readers \
         join and others do not"
    } else {
        return Ok(());
    };
    Err(unparseable(
        text,
        found_at.eq_end,
        &format!("{}: {why}", found_at.key),
    ))
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Index of the `\n` ending the line holding `at`, or the text's length.
fn eol(b: &[u8], at: usize) -> usize {
    memchr::memchr(b'\n', &b[at..]).map_or(b.len(), |i| at + i)
}

/// End of the content of the line holding `at`: before its `\r\n` or `\n`.
fn content_end(b: &[u8], at: usize) -> usize {
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

/// The start of the logical line after the one at `start`, as dotenvy 0.15's line reader
/// (`QuotedLines`) finds it, or `None` where it fails (a quote still open at the end). Mirrored,
/// not parsed: a line whose first non-blank is `#` is a comment; otherwise `'` and `"` open
/// quotes anywhere, `\` escapes one character, and `#` starts a comment only right after one
/// blank; a line ends at a newline outside quotes.
fn dotenvy_next_line(text: &str, start: usize) -> Option<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Complete,
        Blank,
        Escape,
        Weak,
        WeakEscape,
        Strong,
        StrongEscape,
    }
    let b = text.as_bytes();
    let line_end = |from: usize| (eol(b, from) + 1).min(b.len());
    let first_end = line_end(start);
    if text[start..first_end].trim_start().starts_with('#') {
        return Some(first_end);
    }
    let mut state = State::Complete;
    let mut line = start;
    loop {
        let end = line_end(line);
        for c in text[line..end].chars() {
            state = match (state, c) {
                (State::Blank, '#') => return Some(end),
                (State::Blank | State::Complete, '\\') => State::Escape,
                (State::Blank | State::Complete, '"') => State::Weak,
                (State::Blank | State::Complete, '\'') => State::Strong,
                (State::Complete, c) if c.is_whitespace() && c != '\n' && c != '\r' => State::Blank,
                (State::Blank | State::Complete | State::Escape, _) => State::Complete,
                (State::Weak, '\\') => State::WeakEscape,
                (State::Weak, '"') | (State::Strong, '\'') => State::Complete,
                (State::Weak, _) | (State::WeakEscape, _) => State::Weak,
                (State::Strong, '\\') => State::StrongEscape,
                (State::Strong, _) | (State::StrongEscape, _) => State::Strong,
            };
        }
        if state == State::Complete {
            return Some(end);
        }
        if end >= b.len() {
            return None;
        }
        line = end;
    }
}

/// `[ \t]*(export[ \t]+)?NAME[ \t]*=` at `at`: the name's range and the offset after `=`.
fn key_at(b: &[u8], at: usize) -> Option<(Range<usize>, usize)> {
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
fn scan(text: &str) -> Result<Scan<'_>, SpliceError> {
    let b = text.as_bytes();
    if let Some(nul) = memchr::memchr(0, b) {
        return Err(unparseable(
            text,
            nul,
            "a NUL byte, which readers handle differently",
        ));
    }
    if let Some(cr) = memchr::memchr_iter(b'\r', b).find(|&i| b.get(i + 1) != Some(&b'\n')) {
        return Err(unparseable(
            text,
            cr,
            "a carriage return that does not end a line, which some readers take as a line break",
        ));
    }
    let pos = text.len() - strip_bom(text).len();
    Ok(Scan {
        text,
        pos,
        failed: false,
        dotenvy_line: Some(pos),
    })
}

/// The assignments of a file, one at a time; see [`scan`].
struct Scan<'a> {
    text: &'a str,
    pos: usize,
    failed: bool,
    /// Where dotenvy's next logical line starts; `None` once dotenvy could not read the file
    /// at all (then the verification falls back to credshim's own reader).
    dotenvy_line: Option<usize>,
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
    /// Where this scanner and dotenvy's line reader split the file differently, no assignment
    /// may be at stake: dotenvy opens a quote anywhere (in a comment after two blanks, in a
    /// word), and an assignment line that one of them reads inside a value and the other does
    /// not is a file readers disagree on. `pos` is the next line this scanner reads (the end of
    /// the text at the end).
    fn agree_with_dotenvy(&mut self, pos: usize) -> Result<(), SpliceError> {
        let b = self.text.as_bytes();
        let assignment_at = |at: usize| {
            let start = at + b[at..].iter().take_while(|c| is_blank(**c)).count();
            start < b.len() && key_at(b, start).is_some()
        };
        let disagree = |at: usize| {
            Err(unparseable(
                self.text,
                at,
                "dotenvy splits the lines near here differently from sh (a quote in a comment or a \
                 word, or a trailing backslash), so readers disagree on which lines set a key",
            ))
        };
        while let Some(line) = self.dotenvy_line {
            if line == pos {
                self.dotenvy_line = dotenvy_next_line(self.text, pos);
                return Ok(());
            }
            if line > pos {
                // dotenvy reads the line at `pos` inside a value.
                return if pos < b.len() && assignment_at(pos) {
                    disagree(pos)
                } else {
                    Ok(())
                };
            }
            // A line dotenvy reads on its own, inside what this scanner took as one.
            if assignment_at(line) {
                return disagree(line);
            }
            self.dotenvy_line = dotenvy_next_line(self.text, line);
        }
        Ok(())
    }

    fn step(&mut self) -> Result<Option<Assignment<'a>>, SpliceError> {
        let text = self.text;
        let b = text.as_bytes();
        while self.pos < b.len() {
            let pos = self.pos;
            self.agree_with_dotenvy(pos)?;
            let start = pos + b[pos..].iter().take_while(|c| is_blank(**c)).count();
            if start < content_end(b, pos) && text[start..].starts_with(char::is_whitespace) {
                return Err(unparseable(
                    text,
                    start,
                    "a line indented with whitespace other than spaces and tabs, which readers \
                 disagree on",
                ));
            }
            if start >= content_end(b, pos) || b[start] == b'#' {
                self.pos = (eol(b, pos) + 1).min(b.len());
                no_odd_whitespace(text, pos..self.pos, None)?;
                continue;
            }
            let Some((key, eq_end)) = key_at(b, start) else {
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
            };
            match b.get(v) {
                Some(&q @ (b'\'' | b'"')) => {
                    let mut i = v + 1;
                    loop {
                        match b.get(i) {
                            None => return Err(unparseable(text, start, "unterminated quote")),
                            Some(b'\\') if q == b'\'' && b.get(i + 1) == Some(&b'\'') => {
                                return Err(unparseable(
                                    text,
                                    i,
                                    "`\\'` inside single quotes, which some readers take as a quote",
                                ));
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
        Some(at) => Err(unparseable(
            text,
            at,
            "a vertical tab or form feed outside quotes, whitespace to some readers and text to \
             others",
        )),
        None => Ok(()),
    }
}

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
                return Err(unparseable(
                    text,
                    j,
                    "`\\'` inside a single-quoted part of a value, which some readers take as a \
                     quote",
                ));
            }
            b'\\' => j += 2,
            c if c == q => return Ok(j + 1),
            _ => j += 1,
        }
    }
    Err(unparseable(
        text,
        at,
        "a quote inside an unquoted value that does not close on its line, where readers \
         disagree where the value ends",
    ))
}

/// What [`scan_bare`] found.
struct Bare {
    /// End of the value, trailing blanks excluded.
    end: usize,
    /// Start of the next line.
    next: usize,
    /// A ` #comment` follows.
    comment: bool,
    /// A trailing `\` joined the next line.
    continued: bool,
    /// Where a trailing `\` joined a line with text on it.
    joins: Option<usize>,
}

impl Bare {
    /// Refuse a value whose trailing `\` joins a line with text on it: sh joins the lines,
    /// dotenvy and Node do not, so readers disagree where the value ends.
    fn joins_text(&self, text: &str) -> Result<(), SpliceError> {
        match self.joins {
            Some(at) => Err(unparseable(
                text,
                at,
                "a value continued onto a line of text by a trailing backslash, which sh joins \
                 and dotenvy and Node do not",
            )),
            None => Ok(()),
        }
    }
}

/// An unquoted value starting at `v`. `#` starts a comment only after a blank; `\` escapes the
/// next character, and before a LF continues the value on the next line. A quote inside the
/// value opens a quoted span for sh and dotenvy: one that does not close on its line is refused,
/// since readers then disagree where the value ends.
fn scan_bare(text: &str, v: usize, blank_before: bool) -> Result<Bare, SpliceError> {
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

/// The value a reader gets from `raw` (as written, quotes included).
fn decode(raw: &str, quote: Quote) -> String {
    let inner = match quote {
        Quote::Bare => raw,
        Quote::Single => return raw[1..raw.len() - 1].to_owned(),
        Quote::Double => &raw[1..raw.len() - 1],
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\n') => {}
            Some('n') if quote == Quote::Double => out.push('\n'),
            Some(e) if quote == Quote::Bare || matches!(e, '\\' | '"' | '$' | '`' | '\'') => {
                out.push(e);
            }
            // sh keeps a backslash that escapes nothing.
            other => {
                out.push('\\');
                out.extend(other);
            }
        }
    }
    out
}

/// CRLF if most lines end in CRLF, else LF.
fn dominant_line_ending(text: &str) -> &'static str {
    let lines = text.matches('\n').count();
    let crlf = text.matches("\r\n").count();
    if crlf * 2 > lines { "\r\n" } else { "\n" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(text: &str, key: &str, value: &str) -> Result<Spliced, SpliceError> {
        splice(text, &[(key.to_owned(), value.to_owned())])
    }

    fn set_text(text: &str, value: &str) -> String {
        match set(text, "K", value) {
            Ok(spliced) => spliced.text,
            Err(e) => panic!("splice refused: {e}"),
        }
    }

    fn forbidden(value: &str) -> bool {
        matches!(set("", "K", value), Err(SpliceError::ForbiddenValue { .. }))
    }

    fn unparseable_line(text: &str) -> Option<usize> {
        match set(text, "K", "v") {
            Err(SpliceError::Unparseable { line, .. }) => Some(line),
            _ => None,
        }
    }

    #[test]
    fn valid_key_follows_the_posix_name_rule() {
        for good in ["K", "_", "_a1", "API_TOKEN", "a9"] {
            assert!(valid_key(good), "{good}");
        }
        for bad in ["", "1A", "A-B", "A.B", "A B", "É", "K="] {
            assert!(!valid_key(bad), "{bad}");
        }
    }

    #[test]
    fn invalid_key_is_refused_before_anything_else() {
        let err = splice("A=\0\n", &[("1A".into(), "\n".into())]);
        assert_eq!(err, Err(SpliceError::InvalidKey { key: "1A".into() }));
        assert_eq!(
            get("", "A-B"),
            Err(SpliceError::InvalidKey { key: "A-B".into() })
        );
    }

    #[test]
    fn rule1_refuses_nul_lf_cr_without_echoing_the_value() {
        for value in ["s3\0cr3t", "s3\ncr3t", "s3\rcr3t", "\r\n"] {
            let err = set("K=old\n", "K", value).unwrap_err();
            let SpliceError::ForbiddenValue { key, reason } = &err else {
                panic!("wrong variant {err:?}");
            };
            assert_eq!(key, "K");
            assert!(
                !reason.contains("s3") && !reason.contains("cr3t"),
                "{reason}"
            );
        }
    }

    #[test]
    fn rule2_writes_tokens_unquoted() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.Ab-_+/=~9";
        assert_eq!(set_text("K=old\n", jwt), format!("K={jwt}\n"));
        assert_eq!(set_text("", "a@b%c,d:e-f"), "K=a@b%c,d:e-f\n");
    }

    #[test]
    fn rule2_excludes_tilde_expansion_and_empty_values() {
        assert_eq!(set_text("", "~root"), "K='~root'\n");
        assert_eq!(set_text("", "a:~b"), "K='a:~b'\n");
        assert_eq!(set_text("", "a~b"), "K=a~b\n");
        assert_eq!(set_text("", ""), "K=''\n");
    }

    #[test]
    fn rule3_single_quotes_hash_spaces_and_dollars() {
        assert_eq!(set_text("K=old\n", "pa#ss"), "K='pa#ss'\n");
        assert_eq!(set_text("", "a b"), "K='a b'\n");
        assert_eq!(set_text("", "pa$word"), "K='pa$word'\n");
        assert_eq!(set_text("", "a\\b\"`"), "K='a\\b\"`'\n");
    }

    #[test]
    fn rule3_warns_about_python_dotenv_expansion() {
        let spliced = set("", "K", "x${HOME}y").unwrap();
        assert_eq!(spliced.text, "K='x${HOME}y'\n");
        assert_eq!(spliced.warnings.len(), 1);
        assert!(spliced.warnings[0].contains("python-dotenv"));
        assert!(!spliced.warnings[0].contains("HOME"));
        assert!(set("", "K", "a b").unwrap().warnings.is_empty());
    }

    #[test]
    fn rule4_double_quotes_apostrophes() {
        assert_eq!(set_text("", "it's"), "K=\"it's\"\n");
    }

    #[test]
    fn rule4_takes_values_rule3_cannot_carry() {
        // A double backslash is unsafe in single quotes; a trailing one is refused outright
        // (python-dotenv would read `\\"` as an escaped quote and misread the keys after it).
        assert!(forbidden("ab\\"));
        assert_eq!(set_text("", "a\\\\b"), "K=\"a\\\\\\\\b\"\n");
    }

    #[test]
    fn rule5_escapes_and_warns_about_node() {
        let spliced = set("", "K", "it's \"$5\" \\ x").unwrap();
        assert_eq!(spliced.text, "K=\"it's \\\"\\$5\\\" \\\\ x\"\n");
        assert!(spliced.warnings.iter().any(|w| w.contains("Node")));
        assert!(spliced.warnings.iter().all(|w| !w.contains("$5")));
    }

    #[test]
    fn rule6_refuses_backtick_needing_escapes() {
        assert!(forbidden("it's `id`"));
        assert!(forbidden("a\\\\`"));
        assert!(!forbidden("a`b"), "rule 3 carries a backtick");
    }

    #[test]
    fn empty_file_gets_one_line() {
        assert_eq!(set_text("", "v"), "K=v\n");
    }

    #[test]
    fn every_occurrence_is_updated() {
        assert_eq!(set_text("K=first\nA=1\nK=second\n", "v"), "K=v\nA=1\nK=v\n");
    }

    #[test]
    fn injected_line_inside_another_value_is_not_matched() {
        let text = "A=\"l1\nK=inj\n\"\n";
        assert_eq!(set_text(text, "v"), format!("{text}K=v\n"));
        assert_eq!(get(text, "K"), Ok(None));
        assert_eq!(get(text, "A"), Ok(Some("l1\nK=inj\n".into())));
        // An escaped quote does not close the value.
        let text = "A=\"x\\\"\nK=inj\n\"\n";
        assert_eq!(set_text(text, "v"), format!("{text}K=v\n"));
        let text = "A='l1\nK=inj\n'\n";
        assert_eq!(set_text(text, "v"), format!("{text}K=v\n"));
    }

    #[test]
    fn prefix_is_kept_byte_for_byte() {
        assert_eq!(set_text("export K=v1\n", "v"), "export K=v\n");
        assert_eq!(
            set_text(" \texport\t K \t=v1\n", "v"),
            " \texport\t K \t=v\n"
        );
        assert_eq!(
            set_text("export=1\nexport =2\n", "v"),
            "export=1\nexport =2\nK=v\n"
        );
        assert_eq!(
            set_text("KEY=1\nK2=2\nAK=3\n", "v"),
            "KEY=1\nK2=2\nAK=3\nK=v\n"
        );
    }

    #[test]
    fn spaces_after_equals_are_dropped() {
        // `K= v` would run `v` as a command in sh.
        assert_eq!(set_text("K= v1\n", "v"), "K=v\n");
        assert_eq!(set_text("K=\t 'old'\n", "v"), "K=v\n");
    }

    #[test]
    fn trailing_comment_is_kept_and_forces_quotes() {
        assert_eq!(set_text("K=val # c\n", "v"), "K='v' # c\n");
        assert_eq!(set_text("K=\"old\"\t#c\n", "v"), "K='v'\t#c\n");
        assert_eq!(set_text("K=   # c\n", "v"), "K='v'   # c\n");
        assert_eq!(set_text("K= # c\n", "it's"), "K=\"it's\" # c\n");
    }

    #[test]
    fn hash_without_blank_before_is_part_of_the_value() {
        assert_eq!(set_text("K=pa#ss\n", "v"), "K=v\n");
        assert_eq!(set_text("K=#x\n", "v"), "K=v\n");
        assert_eq!(get("K=pa#ss # c\n", "K"), Ok(Some("pa#ss".into())));
    }

    #[test]
    fn trailing_blanks_are_kept() {
        assert_eq!(set_text("K=old  \n", "v"), "K=v  \n");
        assert_eq!(set_text("K='old' \n", "v"), "K=v \n");
        assert_eq!(set_text("K=\n", "v"), "K=v\n");
    }

    #[test]
    fn multiline_old_value_is_replaced_entirely() {
        assert_eq!(set_text("K=\"l1\nl2\" # c\nA=1\n", "v"), "K='v' # c\nA=1\n");
        assert_eq!(set_text("K='l1\r\nl2'\r\nA=1\r\n", "v"), "K=v\r\nA=1\r\n");
    }

    #[test]
    fn crlf_is_kept_per_line() {
        let text = "A=1\r\nK=old\r\nB=2\nK=x\n";
        assert_eq!(set_text(text, "v"), "A=1\r\nK=v\r\nB=2\nK=v\n");
    }

    #[test]
    fn appended_line_uses_the_dominant_line_ending() {
        assert_eq!(
            set_text("A=1\r\nB=2\r\nC=3\n", "v"),
            "A=1\r\nB=2\r\nC=3\nK=v\r\n"
        );
        assert_eq!(set_text("A=1\r\nB=2\nC=3\n", "v"), "A=1\r\nB=2\nC=3\nK=v\n");
        assert_eq!(set_text("A=1\r\nB=2", "v"), "A=1\r\nB=2\r\nK=v\r\n");
    }

    #[test]
    fn missing_final_newline_stays_missing_unless_appending() {
        assert_eq!(set_text("A=1\nK=old", "v"), "A=1\nK=v");
        assert_eq!(set_text("A=1\nK=old # c", "v"), "A=1\nK='v' # c");
        assert_eq!(set_text("A=1", "v"), "A=1\nK=v\n");
    }

    #[test]
    fn bom_is_kept_and_skipped_when_matching() {
        assert_eq!(set_text("\u{feff}K=old\nA=1\n", "v"), "\u{feff}K=v\nA=1\n");
        assert_eq!(set_text("\u{feff}", "v"), "\u{feff}K=v\n");
        assert_eq!(get("\u{feff}K=x", "K"), Ok(Some("x".into())));
    }

    #[test]
    fn lines_dotenvy_splits_differently_are_refused() {
        // Two blanks before `#` make it no comment for dotenvy: its `"` opens a value that holds
        // the K line, which sh reads as a key.
        assert_eq!(unparseable_line("A=x  #c\"\nK=1\n\"\n"), Some(2));
        // One blank: a comment for every reader.
        assert_eq!(set_text("A=x #c\"\nK=1\n", "v"), "A=x #c\"\nK=v\n");
        // A quote in a full-line comment is no quote for anyone.
        assert_eq!(set_text("# it's\nK=1\n", "v"), "# it's\nK=v\n");
    }

    #[test]
    fn continuation_line_is_not_a_key_line() {
        // sh joins `K=inj` into A's value, dotenvy reads it as a key: refused.
        assert_eq!(unparseable_line("A=x\\\nK=inj\n"), Some(1));
        // sh joins `K=inj` to the junk line, dotenvy reads it as a key: refused.
        assert_eq!(unparseable_line("junk \\\nK=inj\n"), Some(2));
        // An escaped backslash does not continue the line.
        assert_eq!(set_text("A=x\\\\\nK=old\n", "v"), "A=x\\\\\nK=v\n");
    }

    #[test]
    fn a_continued_value_of_a_key_being_set_is_refused() {
        // sh, dotenvy and systemd join the lines, Node does not: readers disagree on the value,
        // and a continuation at the very end would leave a stray `\` after the new value.
        assert_eq!(unparseable_line("K=ab\\\ncd # c\nA=1\n"), Some(1));
        assert_eq!(unparseable_line("K=a\\M\\\n"), Some(1));
        assert!(matches!(
            get("K=ab\\\ncd\n", "K"),
            Err(SpliceError::Unparseable { .. })
        ));
        // Another key's continuation onto a line of text is refused too (readers disagree where
        // its value ends); one at the end of the file is harmless and left alone.
        assert_eq!(unparseable_line("A=ab\\\ncd\n"), Some(1));
        assert_eq!(set_text("A=ab\\\n", "v"), "A=ab\\\n\nK=v\n");
    }

    #[test]
    fn appending_after_a_trailing_backslash_adds_a_blank_line() {
        assert_eq!(set_text("# note \\\n", "v"), "# note \\\n\nK=v\n");
        // Without a final newline sh keeps the `\`: appending would make it a continuation.
        assert_eq!(unparseable_line("A=x\\"), Some(1));
        assert_eq!(set_text("A=x\\\r\n", "v"), "A=x\\\r\n\r\nK=v\r\n");
    }

    #[test]
    fn comment_lines_are_skipped() {
        let text = "# K=old\n  #K=old\n";
        assert_eq!(set_text(text, "v"), format!("{text}K=v\n"));
    }

    #[test]
    fn keys_are_appended_in_the_order_given() {
        let updates = [("B".into(), "2".into()), ("A".into(), "x y".into())];
        let spliced = splice("A=1\n", &updates).unwrap();
        assert_eq!(spliced.text, "A='x y'\nB=2\n");
        let updates = [("Z".into(), "1".into()), ("Y".into(), "2".into())];
        assert_eq!(splice("", &updates).unwrap().text, "Z=1\nY=2\n");
    }

    #[test]
    fn splicing_the_value_already_written_changes_nothing() {
        for text in ["K='a b' # c\r\n", "export K=\"it's\"", "K=tok\n", "K=''\n"] {
            let value = get(text, "K").unwrap().unwrap();
            assert_eq!(set_text(text, &value), text);
        }
    }

    #[test]
    fn unterminated_quote_is_unparseable() {
        assert_eq!(unparseable_line("A=1\nB=\"x\n"), Some(2));
        assert_eq!(unparseable_line("A='x\\'\n"), Some(1));
        assert_eq!(unparseable_line("A=\"x\\\"\n"), Some(1));
    }

    #[test]
    fn backslash_quote_in_single_quotes_is_unparseable() {
        // dotenvy reads `\'` as an escaped quote, sh as a backslash then the closing quote.
        assert_eq!(unparseable_line("A=1\nB='x\\'y'\n"), Some(2));
        assert_eq!(unparseable_line("B='x\\\\'\n"), None);
    }

    #[test]
    fn nul_anywhere_is_unparseable() {
        assert_eq!(unparseable_line("A=1\n# \0\n"), Some(2));
        assert!(get("A=\0", "K").is_err());
    }

    #[test]
    fn text_after_closing_quote_is_refused_only_for_keys_being_set() {
        assert_eq!(unparseable_line("A=1\nK=\"v\"#c\n"), Some(2));
        assert_eq!(unparseable_line("K='v'x\n"), Some(1));
        assert_eq!(unparseable_line("A=\"v\"#c\nB='v' x\n"), None);
        assert_eq!(set_text("A=\"v\"#c\n", "v"), "A=\"v\"#c\nK=v\n");
        assert!(get("K=\"v\"#c\n", "K").is_err());
        assert_eq!(get("K=\"v\"#c\n", "A"), Ok(None));
    }

    #[test]
    fn get_decodes_each_quoting() {
        let text = "A=a b  # c\nB='x\\n$y'\nC=\"q\\\"\\\\\\$\\n\\x\"\nD=a\\ b\nE=\n";
        assert_eq!(get(text, "A"), Ok(Some("a b".into())));
        assert_eq!(get(text, "B"), Ok(Some("x\\n$y".into())));
        assert_eq!(get(text, "C"), Ok(Some("q\"\\$\n\\x".into())));
        assert_eq!(get(text, "D"), Ok(Some("a b".into())));
        assert_eq!(get(text, "E"), Ok(Some(String::new())));
        assert_eq!(get(text, "F"), Ok(None));
    }

    #[test]
    fn get_reads_the_last_occurrence() {
        assert_eq!(get("K=first\nK=second\n", "K"), Ok(Some("second".into())));
    }

    fn updates(value: &str) -> Vec<(String, String)> {
        vec![("K".to_owned(), value.to_owned())]
    }

    #[test]
    fn verify_accepts_a_faithful_splice() {
        let old = "\u{feff}A=1\nK=old # c\nB='x y'\nK=o\n";
        let new = set_text(old, "s3cr3t");
        assert_eq!(verify(old, &new, &updates("s3cr3t")), Ok(()));
    }

    #[test]
    fn verify_names_the_key_not_the_value() {
        let err = verify("K=old\n", "K=old\n", &updates("s3cr3t")).unwrap_err();
        assert!(
            err.contains('K') && !err.contains("s3cr3t") && !err.contains("old"),
            "{err}"
        );
        // An occurrence the splice missed still fails.
        let err = verify("K=a\n", "K=a\nK=s3cr3t\n", &updates("s3cr3t")).unwrap_err();
        assert!(!err.contains("s3cr3t"), "{err}");
        let err = verify("K=a\n", "A=1\n", &updates("s3cr3t")).unwrap_err();
        assert!(err.contains('K'), "{err}");
    }

    #[test]
    fn verify_catches_other_keys_changing() {
        let err = verify("A=1\nK=a\n", "A=2\nK=s\n", &updates("s")).unwrap_err();
        assert!(err.contains('A') && !err.contains('2'), "{err}");
        let err = verify("A=1\nK=a\n", "K=s\n", &updates("s")).unwrap_err();
        assert!(err.contains('A'), "{err}");
        let err = verify("K=a\n", "K=s\nB=1\n", &updates("s")).unwrap_err();
        assert!(err.contains('B'), "{err}");
    }

    #[test]
    fn verify_falls_back_when_dotenvy_cannot_read_the_file() {
        let old = "P=\"pa$word\"\nK=old\n";
        assert!(dotenvy_pairs(old).is_err());
        let new = set_text(old, "new");
        assert_eq!(verify(old, &new, &updates("new")), Ok(()));
        assert!(verify(old, old, &updates("new")).is_err());
    }

    /// Value as `sh` reads it after `set -a; . ./file`, with a clean environment.
    fn sh_reads(dir: &std::path::Path, text: &str) -> Vec<u8> {
        let file = dir.join("file");
        std::fs::write(&file, text).expect("write temp file");
        let out = std::process::Command::new("sh")
            .args(["-c", "set -a; . ./file; printf %s \"$K\""])
            .current_dir(dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output()
            .expect("run sh");
        assert!(out.status.success(), "sh failed: {:?}", out);
        out.stdout
    }

    /// A value from every tier, with the characters each tier turns on.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z0-9._+/=~@%,:-]{0,24}",
            "[ -~]{0,16}",
            "[a-z'\"$\\\\`# {}~:]{0,10}",
            "[\t a-z\u{e9}\u{2028}\u{feff}\u{1f600}#'\\\\]{0,8}",
            any::<String>(),
        ]
    }

    /// A line (with its ending) that holds `K`, or that does not; multi-line values use LF.
    fn piece() -> impl Strategy<Value = (String, bool)> {
        let eol = prop_oneof![Just("\n"), Just("\r\n")];
        let k_value = prop_oneof![
            "[a-z0-9#]{0,6}",
            "'[a-z #\"]{0,6}'",
            "\"[a-z #']{0,6}\"",
            Just("\"l1\nl2\"".to_owned()),
        ];
        let trailer = prop_oneof![Just(""), Just("  "), Just(" # note"), Just("\t#c")];
        let k_line = ("[ \t]?(export )?K ?= ?", k_value, trailer, eol.clone())
            .prop_map(|(prefix, v, t, e)| (format!("{prefix}{v}{t}{e}"), true));
        let other = prop_oneof![
            "#[a-zA-Z0-9 =#'\"]{0,12}\\\\?",
            "[ \t]{0,2}",
            "(export )?[A-J]{1,3} ?=[a-z0-9]{0,8}",
            "[A-J]{1,3}='[a-z #\"]{0,8}'( # c)?",
            "[A-J]{1,3}=\"[a-z #']{0,8}\"",
            Just("A=\"l1\nK=inj\n\"".to_owned()),
            Just("KK=1".to_owned()),
        ];
        let other_line = (other, eol).prop_map(|(l, e)| (format!("{l}{e}"), false));
        prop_oneof![k_line, other_line]
    }

    /// A file made of pieces, perhaps with a BOM and without its final line ending.
    fn file() -> impl Strategy<Value = (String, Vec<(String, bool)>)> {
        (
            any::<bool>(),
            prop::collection::vec(piece(), 0..8),
            any::<bool>(),
        )
            .prop_map(|(bom, mut pieces, cut)| {
                if cut && let Some((last, _)) = pieces.last_mut() {
                    let trimmed = last.trim_end_matches(['\r', '\n']).len();
                    last.truncate(trimmed);
                }
                let body: String = pieces.iter().map(|(p, _)| p.as_str()).collect();
                (
                    format!("{}{body}", if bom { "\u{feff}" } else { "" }),
                    pieces,
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn splicing_twice_equals_splicing_once((text, _) in file(), v in value()) {
            if let Ok(once) = set(&text, "K", &v) {
                prop_assert_eq!(&set(&once.text, "K", &v).unwrap().text, &once.text);
            }
        }

        #[test]
        fn lines_without_the_key_stay_byte_identical((text, pieces) in file(), v in value()) {
            let Ok(spliced) = set(&text, "K", &v) else { return Ok(()) };
            let bom = if text.starts_with('\u{feff}') { "\u{feff}" } else { "" };
            if pieces.iter().any(|(_, is_k)| *is_k) {
                let expected: String = pieces
                    .iter()
                    .map(|(p, is_k)| if *is_k { set_text(p, &v) } else { p.clone() })
                    .collect();
                prop_assert_eq!(spliced.text, format!("{bom}{expected}"));
            } else {
                prop_assert!(spliced.text.starts_with(&text));
                let line = set_text("", &v);
                prop_assert!(spliced.text.trim_end().ends_with(line.trim_end()));
            }
        }

        #[test]
        fn dotenvy_reads_the_new_value((text, _) in file(), v in value()) {
            let Ok(spliced) = set(&text, "K", &v) else { return Ok(()) };
            if dotenvy_pairs(&text).is_ok() {
                let pairs = dotenvy_pairs(&spliced.text);
                prop_assert!(pairs.is_ok(), "dotenvy cannot read {:?}", spliced.text);
                let ks: Vec<_> = pairs.unwrap().into_iter().filter(|(k, _)| k == "K").collect();
                prop_assert!(!ks.is_empty());
                prop_assert!(ks.iter().all(|(_, read)| *read == v));
            }
            prop_assert_eq!(get(&spliced.text, "K"), Ok(Some(v.clone())));
            prop_assert_eq!(verify(&text, &spliced.text, &updates(&v)), Ok(()));
        }

        #[test]
        fn line_breaks_and_nul_are_always_refused(
            a in "\\PC{0,6}", bad in "[\0\n\r]", b in any::<String>()
        ) {
            let value = format!("{a}{bad}{b}");
            prop_assert!(forbidden(&value));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn sh_reads_every_accepted_value(
            v in value(),
            context in prop_oneof![
                Just(""), Just("K=old\n"), Just("K=old # note\n"), Just("A=1\nexport K='x'")
            ],
        ) {
            let Ok(spliced) = set(context, "K", &v) else { return Ok(()) };
            let dir = tempfile::TempDir::new().expect("temp dir");
            prop_assert_eq!(sh_reads(dir.path(), &spliced.text), v.as_bytes());
        }
    }

    #[test]
    fn python_dotenv_reads_values_without_dollar_where_installed() {
        let probe = std::process::Command::new("python3")
            .args(["-c", "import dotenv"])
            .output();
        if !probe.is_ok_and(|out| out.status.success()) {
            return;
        }
        let dir = tempfile::TempDir::new().expect("temp dir");
        let file = dir.path().join("file");
        for value in ["tok.en/+=", "pa#ss", "a b", "it's", "a\\\\b\"c", "~x", ""] {
            std::fs::write(&file, set_text("K=old # c\n", value)).expect("write temp file");
            let script = "import sys, dotenv; \
                          sys.stdout.write(dotenv.dotenv_values(sys.argv[1])['K'])";
            let out = std::process::Command::new("python3")
                .args(["-c", script])
                .arg(&file)
                .output()
                .expect("run python3");
            assert_eq!(String::from_utf8_lossy(&out.stdout), value);
        }
    }
}
