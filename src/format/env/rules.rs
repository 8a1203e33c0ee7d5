//! Every refusal of the `.env` format, in one list: [`Rule`], each variant with the reader
//! evidence behind it (shared/ENV-FORMAT.md, found by running the readers on the same files) and
//! its message. The scanner and the quoting choice report which rule a file or value breaks;
//! this module turns that into the [`SpliceError`] the run reports. No message ever holds a
//! value or any part of one.

use super::SpliceError;
use super::quote::Form;
use super::scan::Assignment;

/// A reason to refuse, by what it is about: a new value (exit 76), a file (65), or the line of a
/// key being set (65, named after the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rule {
    // Values (rules 1, 6 and 7 of ENV-FORMAT.md).
    /// Rule 1: NUL crashes dotenvy and makes systemd reject the whole file.
    ValueNul,
    /// Rule 1: a line feed would let a mint output inject a second key into line-based readers.
    ValueLineFeed,
    /// Rule 1: a CR is a line break to line-based readers.
    ValueCarriageReturn,
    /// Rule 6: rule 5's escapes and a backtick: sh needs `` \` ``, which dotenvy rejects.
    ValueEscapedBacktick,
    /// A backtick in the new value would close a backtick another key's value opens earlier in
    /// the file: Node's dotenv would read the lines between as that value (found by fuzzing).
    ValueClosesBacktick,
    /// Rule 7: written `"...\\"`, python-dotenv takes the final `\"` as an escaped quote and reads
    /// on into the next lines, misreading the keys after it (found by the reader battery).
    ValueTrailingBackslash,

    // Files: readers cannot agree where values end.
    /// A NUL byte anywhere: dotenvy crashes, systemd rejects the file.
    Nul,
    /// A CR not before LF: dotenvy splits lines on it, sh does not.
    LoneCarriageReturn,
    /// A line indented with other whitespace (VT, FF, Unicode blanks): readers disagree.
    OddIndent,
    /// A quoted value that never closes.
    UnterminatedQuote,
    /// `\'` inside single quotes: dotenvy reads an escaped quote, sh a backslash then the close.
    BackslashQuote,
    /// `\'` inside a single-quoted span of an unquoted value, as [`Rule::BackslashQuote`].
    InlineBackslashQuote,
    /// A quoted span of an unquoted value left open at the end of its line: sh and dotenvy read
    /// on, other readers stop.
    InlineQuoteOpen,
    /// VT or FF outside quotes: whitespace to python-dotenv and dotenvy, text to sh.
    OddWhitespace,
    /// An unquoted value whose trailing `\` joins a line with text: sh joins, dotenvy and Node not.
    ContinuationJoinsText,
    /// dotenvy's line reader (a quote opens anywhere) and sh split the lines differently where an
    /// assignment is at stake.
    DotenvySplitsDifferently,
    /// A last line ending in `\` with no newline when a key must be appended: sh keeps that `\`,
    /// and any line after it makes it a continuation.
    AppendAfterBackslash,
    /// A value in backticks that closes on a later line: Node's dotenv reads one multi-line
    /// value, every other reader a value starting with a backtick and stray lines.
    BacktickSpansLines,
    /// A `[section]` header line: the file is INI (`~/.aws/credentials`), not `.env`. Taken for
    /// one, the key would be updated in every section and appended to the last.
    IniSection,

    // Lines of a key being set.
    /// Text right after a closing quote (`K="v"#c`): readers disagree on that value.
    JunkAfterQuote,
    /// An unquoted value continued by a trailing `\`: sh, dotenvy and systemd join, Node does not.
    ContinuedValue,
    /// A value in backticks (`` K=`a #b` ``): Node's dotenv takes them as quotes, every other
    /// reader as text, so the value (and where a comment starts) reads two ways.
    Backticks,
}

impl Rule {
    /// Why the rule refuses, for the message; never holds a value.
    fn reason(self) -> &'static str {
        match self {
            Rule::ValueNul => "contains a NUL byte, which no reader can carry",
            Rule::ValueLineFeed => "contains a line feed, which would split it over two lines",
            Rule::ValueCarriageReturn => {
                "contains a carriage return, which line-based readers take as a line break"
            }
            Rule::ValueEscapedBacktick => {
                "needs backslash escapes and contains a backtick, which sh needs escaped and \
                 dotenvy rejects escaped"
            }
            Rule::ValueClosesBacktick => {
                "contains a backtick that would close another value's opening backtick earlier in \
                 the file, which Node's dotenv would then read across lines"
            }
            Rule::ValueTrailingBackslash => {
                "ends in a backslash, which python-dotenv reads as escaping the closing quote, \
                 misreading the keys after it"
            }
            Rule::Nul => "a NUL byte, which readers handle differently",
            Rule::LoneCarriageReturn => {
                "a carriage return that does not end a line, which some readers take as a line \
                 break"
            }
            Rule::OddIndent => {
                "a line indented with whitespace other than spaces and tabs, which readers \
                 disagree on"
            }
            Rule::UnterminatedQuote => "unterminated quote",
            Rule::BackslashQuote => {
                "`\\'` inside single quotes, which some readers take as a quote"
            }
            Rule::InlineBackslashQuote => {
                "`\\'` inside a single-quoted part of a value, which some readers take as a quote"
            }
            Rule::InlineQuoteOpen => {
                "a quote inside an unquoted value that does not close on its line, where readers \
                 disagree where the value ends"
            }
            Rule::OddWhitespace => {
                "a vertical tab or form feed outside quotes, whitespace to some readers and text \
                 to others"
            }
            Rule::ContinuationJoinsText => {
                "a value continued onto a line of text by a trailing backslash, which sh joins \
                 and dotenvy and Node do not"
            }
            Rule::DotenvySplitsDifferently => {
                "dotenvy splits the lines near here differently from sh (a quote in a comment or \
                 a word, or a trailing backslash), so readers disagree on which lines set a key"
            }
            Rule::AppendAfterBackslash => {
                "the last line ends in a backslash and no newline: appending a key would change \
                 how sh reads it"
            }
            Rule::BacktickSpansLines => {
                "a value in backticks spanning lines, which Node's dotenv reads as one value and \
                 every other reader as a value and stray lines"
            }
            Rule::IniSection => {
                "a [section] header, so this is an INI file, not a .env: edited as a .env, the \
                 key would change in every section and be appended to the last; give \
                 --format ini and KEY as /section/key"
            }
            Rule::JunkAfterQuote => {
                "text right after the closing quote of its value, where readers disagree on the \
                 value"
            }
            Rule::Backticks => {
                "its value is in backticks, which Node's dotenv takes as quotes and every other \
                 reader as part of the value"
            }
            Rule::ContinuedValue => {
                "its value continues onto the next line with a trailing backslash, which some \
                 readers join and others do not"
            }
        }
    }

    /// The refusal of a file broken at byte `offset` of `text` (exit 65).
    pub(super) fn at(self, text: &str, offset: usize) -> SpliceError {
        self.refuse(text, offset, self.reason().to_owned())
    }

    /// The refusal of `key`'s new value (exit 76).
    pub(super) fn for_value(self, key: &str) -> SpliceError {
        SpliceError::ForbiddenValue {
            key: key.to_owned(),
            reason: self.reason().to_owned(),
        }
    }

    fn refuse(self, text: &str, offset: usize, reason: String) -> SpliceError {
        let line = 1 + text.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        SpliceError::Unparseable { line, reason }
    }
}

/// The value rules: the one `value`, to be written in `form`, breaks first, if any.
pub(super) fn value(value: &str, form: Form) -> Result<(), Rule> {
    if value.contains('\0') {
        return Err(Rule::ValueNul);
    }
    if value.contains('\n') {
        return Err(Rule::ValueLineFeed);
    }
    if value.contains('\r') {
        return Err(Rule::ValueCarriageReturn);
    }
    if form == Form::Escaped && value.contains('`') {
        return Err(Rule::ValueEscapedBacktick);
    }
    // Whatever the form; only rule 5's can still hold one (the others exclude it).
    if value.ends_with('\\') {
        return Err(Rule::ValueTrailingBackslash);
    }
    Ok(())
}

/// The whole-file rules, checked before scanning.
pub(super) fn file(text: &str) -> Result<(), SpliceError> {
    let b = text.as_bytes();
    if let Some(nul) = memchr::memchr(0, b) {
        return Err(Rule::Nul.at(text, nul));
    }
    if let Some(cr) = memchr::memchr_iter(b'\r', b).find(|&i| b.get(i + 1) != Some(&b'\n')) {
        return Err(Rule::LoneCarriageReturn.at(text, cr));
    }
    Ok(())
}

/// The rules for the line of a key being set (or read): its value must be one readers agree on.
pub(super) fn settable(text: &str, found_at: &Assignment) -> Result<(), SpliceError> {
    let rule = if found_at.junk_after_quote {
        Rule::JunkAfterQuote
    } else if found_at.continued {
        Rule::ContinuedValue
    } else if found_at.backticks {
        Rule::Backticks
    } else {
        return Ok(());
    };
    let reason = format!("{}: {}", found_at.key, rule.reason());
    Err(rule.refuse(text, found_at.eq_end, reason))
}
