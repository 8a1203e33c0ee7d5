//! A child's output, logged line by line and in bounded pieces.
//!
//! [`Lines`] logs each line of what it is given at info level, after the run's label, as it
//! comes; a line longer than [`MAX_LOG_LINE`] (64 KiB) is logged in pieces of that size, so a
//! child that never prints a newline cannot grow the buffer without bound. It keeps, for error
//! messages, the most useful line ([`Lines::useful`]: the first that looks like an error, else
//! the last; its first 300 characters). Captured stdout, the mint's secret, never comes here.

use memchr::memchr;

/// The longest piece of a child's output logged as one line.
const MAX_LOG_LINE: usize = 64 * 1024;

/// A child's output, logged line by line as it comes, in pieces of at most [`MAX_LOG_LINE`]:
/// a child that never prints a newline cannot grow the buffer without bound.
pub(super) struct Lines {
    label: String,
    buf: Vec<u8>,
    /// The last non-empty line (its first 300 characters).
    last: Option<String>,
    /// The first line that looks like an error (its first 300 characters).
    first_error: Option<String>,
}

impl Lines {
    pub(super) fn new(label: &str) -> Lines {
        Lines {
            label: label.to_string(),
            buf: Vec::new(),
            last: None,
            first_error: None,
        }
    }

    /// The line an error message should quote: the first that looks like an error (a CLI's
    /// `aws: error: ...` before its usage text), else the last.
    pub(super) fn useful(&mut self) -> Option<String> {
        self.first_error.take().or_else(|| self.last.take())
    }

    pub(super) fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        let mut start = 0;
        loop {
            let rest = &self.buf[start..];
            let window = &rest[..rest.len().min(MAX_LOG_LINE)];
            let end = match memchr(b'\n', window) {
                Some(i) => i + 1,
                None if window.len() == MAX_LOG_LINE => MAX_LOG_LINE,
                None => break,
            };
            let piece = start..start + end;
            start += end;
            self.emit(piece);
        }
        self.buf.drain(..start);
    }

    pub(super) fn finish(&mut self) {
        if !self.buf.is_empty() {
            self.emit(0..self.buf.len());
            self.buf.clear();
        }
    }

    fn emit(&mut self, piece: std::ops::Range<usize>) {
        let raw = String::from_utf8_lossy(&self.buf[piece]);
        let raw = raw.trim_end();
        // A child's output reaches root's log and terminal: control characters (escape
        // sequences, CR that would overwrite the line) are shown escaped, not obeyed.
        let line: String = if raw.chars().any(|c| c.is_control() && c != '\t') {
            raw.chars()
                .map(|c| {
                    if c.is_control() && c != '\t' {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        } else {
            raw.to_owned()
        };
        let line = line.as_str();
        if !line.is_empty() {
            log::info!("{}: {line}", self.label);
            let kept: String = line.chars().take(300).collect();
            if self.first_error.is_none() && looks_like_an_error(line) {
                self.first_error = Some(kept.clone());
            }
            self.last = Some(kept);
        }
    }
}

/// Whether a line of a child's stderr reads as the error itself rather than context (usage
/// text, progress, a list of choices): it names an error, a failure or a refusal.
fn looks_like_an_error(line: &str) -> bool {
    const WORDS: [&str; 14] = [
        "error",
        "fatal",
        "failed",
        "failure",
        "denied",
        "invalid",
        "unauthorized",
        "forbidden",
        "expired",
        "refused",
        "not found",
        "cannot",
        "could not",
        "unable",
    ];
    let lower = line.to_lowercase();
    WORDS.iter().any(|w| {
        lower.match_indices(w).any(|(at, _)| {
            let before = lower[..at].chars().next_back();
            !before.is_some_and(char::is_alphanumeric)
        })
    })
}
