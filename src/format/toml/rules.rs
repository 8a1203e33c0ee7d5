//! Every refusal of the TOML format, in one list: [`Rule`], each with the reader evidence behind
//! it (docs/formats/toml.md, established by running `tomllib`, the `toml` crate and `smol-toml`
//! on tests/corpus/toml). The walk and the parse report which rule a file or pointer breaks; this
//! module words it and decides its exit code. No message ever holds a value: a parse error is
//! reported by line and toml_edit's message, never with the line's text (which may be a secret).

use super::super::Refusal;

/// A reason to refuse, by what it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// KEY is not an RFC 6901 pointer (64).
    NotPointer(String),
    /// The file is not TOML (65): every reader rejects it, so an edit would be a guess.
    Invalid { line: usize, message: String },
    /// toml_edit would not give the file back byte for byte (65): an edit would change more than
    /// the value (guarantee 3).
    NotPreserved,
    /// A UTF-8 byte order mark (65): `tomllib` rejects the file, the `toml` crate and `smol-toml`
    /// skip the mark, and toml_edit would drop it from the file it writes.
    ByteOrderMark,
    /// An array of tables (`[[servers]]`) on the way without an index (65): which element is
    /// meant is a guess; `/servers/0/password` names one.
    ArrayOfTables { at: String },
    /// An array index that is not a number or not there (65).
    NoSuchElement { at: String },
    /// A step through a value that is not a table (65).
    NotATable { at: String, kind: &'static str },
    /// A missing table that could only be created inside an inline table, a dotted-key table or
    /// an array (65): credshim creates missing tables only as `[table]` headers.
    CannotCreate { at: String },
    /// KEY holds a value that is not a string (65): credshim never changes a value's type (an
    /// application reading an integer or a date would then fail).
    NotAString { pointer: String, kind: &'static str },
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::NotPointer(key) => write!(
                f,
                "{key:?} is not a pointer into the TOML file (it must start with /, as /database/password)"
            ),
            Rule::Invalid { line, message } => {
                write!(f, "not valid TOML: line {line}: {}", message.trim_end())
            }
            Rule::NotPreserved => f.write_str(
                "toml_edit cannot write this file back byte for byte, so an edit would change \
                 more than the value",
            ),
            Rule::ByteOrderMark => f.write_str(
                "a UTF-8 byte order mark, which tomllib rejects, other readers skip, and \
                 toml_edit would drop",
            ),
            Rule::ArrayOfTables { at } => write!(
                f,
                "{at} is an array of tables; name the element with its index ({at}/0/...)"
            ),
            Rule::NoSuchElement { at } => write!(f, "{at} is not an element of its array"),
            Rule::NotATable { at, kind } => write!(f, "{at} is {kind}, not a table"),
            Rule::CannotCreate { at } => write!(
                f,
                "{at} does not exist, and its parent is an inline table, a dotted key or an \
                 array, where credshim does not create tables"
            ),
            Rule::NotAString { pointer, kind } => write!(
                f,
                "{pointer} holds {kind}, not a string; credshim does not change a value's type"
            ),
        }
    }
}

impl From<Rule> for Refusal {
    fn from(rule: Rule) -> Refusal {
        let why = rule.to_string();
        match rule {
            Rule::NotPointer(_) => Refusal::Key(why),
            Rule::Invalid { .. }
            | Rule::NotPreserved
            | Rule::ByteOrderMark
            | Rule::ArrayOfTables { .. }
            | Rule::NoSuchElement { .. }
            | Rule::NotATable { .. }
            | Rule::CannotCreate { .. }
            | Rule::NotAString { .. } => Refusal::File(why),
        }
    }
}

/// `a value` names for messages: "an integer", "an array"...
pub(super) fn kind(type_name: &str) -> &'static str {
    match type_name {
        "string" => "a string",
        "integer" => "an integer",
        "float" => "a float",
        "boolean" => "a boolean",
        "datetime" => "a date-time",
        "array" => "an array",
        "inline table" | "table" => "a table",
        "array of tables" => "an array of tables",
        _ => "a value of another type",
    }
}
