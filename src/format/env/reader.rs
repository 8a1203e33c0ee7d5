//! A hand copy of dotenvy 0.15's private line reader (`QuotedLines` in its `iter.rs`), and the
//! check that keeps the scanner in step with it. dotenvy does not export how it splits a file
//! into logical lines, and it splits differently from sh (a quote opens anywhere, even in a word
//! or after two blanks in a comment); where the two split differently around an assignment,
//! readers disagree on which lines set a key, and the file is refused. Mirrored, not parsed:
//! keep it in step with dotenvy's source when the dependency moves.

use super::SpliceError;
use super::rules::Rule;
use super::scan::{Scan, eol, is_blank, key_at};

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

impl<'a> Scan<'a> {
    /// Where this scanner and dotenvy's line reader split the file differently, no assignment
    /// may be at stake: dotenvy opens a quote anywhere (in a comment after two blanks, in a
    /// word), and an assignment line that one of them reads inside a value and the other does
    /// not is a file readers disagree on. `pos` is the next line this scanner reads (the end of
    /// the text at the end).
    pub(super) fn agree_with_dotenvy(&mut self, pos: usize) -> Result<(), SpliceError> {
        let b = self.text.as_bytes();
        let assignment_at = |at: usize| {
            let start = at + b[at..].iter().take_while(|c| is_blank(**c)).count();
            start < b.len() && key_at(b, start).is_some()
        };
        let disagree = |at: usize| Err(Rule::DotenvySplitsDifferently.at(self.text, at));
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
}
