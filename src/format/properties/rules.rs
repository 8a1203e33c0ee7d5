//! Every refusal of the `.properties` format, in one list: [`Rule`], each variant with the reader
//! evidence behind it (docs/formats/properties.md, found by running a JVM's `java.util.Properties`
//! with both loads and jproperties on tests/corpus/properties). No message holds a value.

use super::PropertiesError;
use super::scan::Broken;

/// A reason to refuse: a key (64), a new value (76), a file (65).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rule {
    /// An empty KEY: `=v` is a property named "" to Java, but no job means to set that.
    KeyEmpty,
    /// A control character in KEY (or U+FEFF, which jproperties drops): not a property name an
    /// application looks up.
    KeyControl,
    /// U+FEFF in a value: jproperties reads the `\uFEFF` escape as nothing (it decodes each
    /// escape as UTF-32, whose decoder takes U+FEFF for a byte order mark), and written raw it
    /// would read as three characters to `load(InputStream)`. No form reads the same to all.
    ValueByteOrderMark,
    /// A `\u` without four hex digits: both loads throw `IllegalArgumentException`, jproperties
    /// a `ParseError`. The application cannot read the file at all.
    MalformedUnicode,
    /// A `\uD800`–`\uDFFF` escape without its pair: Java keeps a lone surrogate, jproperties
    /// refuses the file.
    LoneSurrogate,
    /// The line of a key being set spells the key with raw non-ASCII characters: the two loads
    /// read different names (`load(InputStream)` reads each UTF-8 byte as a character), so one
    /// of them would not see the property.
    RawNonAsciiKey,
    /// The file starts with a UTF-8 byte order mark and its first line sets a key being set:
    /// Java does not skip the mark, so it reads that line as a property named `\uFEFF<key>`,
    /// not the key.
    ByteOrderMarkOnKey,
}

impl Rule {
    /// Why the rule refuses, for the message; never holds a value.
    pub(super) fn reason(self) -> &'static str {
        match self {
            Rule::KeyEmpty => "an empty property name",
            Rule::KeyControl => {
                "a property name with a control character or U+FEFF, which no application looks up"
            }
            Rule::ValueByteOrderMark => {
                "contains U+FEFF, which jproperties reads as nothing when escaped and \
                 load(InputStream) reads as three characters when not"
            }
            Rule::MalformedUnicode => {
                "a \\u escape without four hex digits, which makes java.util.Properties throw"
            }
            Rule::LoneSurrogate => {
                "a \\u escape of half a surrogate pair, which Java keeps and jproperties refuses"
            }
            Rule::RawNonAsciiKey => {
                "the key is written with raw non-ASCII characters, which \
                 Properties.load(InputStream) (ISO-8859-1) and load(Reader) (UTF-8) read as \
                 different names; write them as \\uXXXX escapes"
            }
            Rule::ByteOrderMarkOnKey => {
                "the file starts with a UTF-8 byte order mark, which Java reads as part of the \
                 first line's key, so that line does not set the key; remove the mark"
            }
        }
    }

    /// The refusal of a file at `line` (65).
    pub(super) fn at(self, line: usize) -> PropertiesError {
        PropertiesError::File {
            line,
            reason: self.reason().to_owned(),
        }
    }

    /// The refusal of `key`'s line `line` (65).
    pub(super) fn on_key(self, key: &str, line: usize) -> PropertiesError {
        PropertiesError::File {
            line,
            reason: format!("{key}: {}", self.reason()),
        }
    }

    /// The refusal of `key`'s new value (76).
    pub(super) fn for_value(self, key: &str) -> PropertiesError {
        PropertiesError::Value {
            key: key.to_owned(),
            reason: self.reason().to_owned(),
        }
    }
}

impl From<Broken> for Rule {
    fn from(b: Broken) -> Rule {
        match b {
            Broken::MalformedUnicode => Rule::MalformedUnicode,
            Broken::LoneSurrogate => Rule::LoneSurrogate,
        }
    }
}

/// The key rules.
pub(super) fn key(key: &str) -> Result<(), Rule> {
    if key.is_empty() {
        return Err(Rule::KeyEmpty);
    }
    if key.chars().any(|c| c.is_control() || c == '\u{feff}') {
        return Err(Rule::KeyControl);
    }
    Ok(())
}

/// The value rules. (NUL never gets here: the mint's output is refused first.)
pub(super) fn value(value: &str) -> Result<(), Rule> {
    if value.contains('\u{feff}') {
        return Err(Rule::ValueByteOrderMark);
    }
    Ok(())
}
