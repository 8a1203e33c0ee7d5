//! Which form a value is written in (docs/formats/yaml.md), each rule with the reader evidence
//! behind it. The readers are PyYAML (YAML 1.1), ruamel.yaml (1.2), the npm `yaml` package,
//! js-yaml and Ruby's Psych; the corpus under `tests/corpus/yaml/` shows what each does.

use yaml_rust2::scanner::TScalarStyle;

/// The scalar styles credshim writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Plain,
    Single,
    Double,
}

/// Words that a YAML 1.1 reader (PyYAML, Psych) or a 1.2 one resolves to a boolean or null
/// (`yes`, `Off`, `NULL`, `y`), compared in lower case so that every case variant is quoted;
/// `none` and `nil` too, which no reader here resolves but a human would misread.
const TYPED_WORDS: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "none", "nil",
];

/// Whether `value` can be written plain: every reader, YAML 1.1 and 1.2, reads it as this
/// string. Only `[A-Za-z0-9._/+=@%~-]`, starting with a letter (so never a number, timestamp,
/// `.inf`, `~`, an indicator or a sexagesimal 1.1 integer: those start with a digit, a sign or
/// a dot) and not a boolean or null word. No space, `:`, `#`, `,` or bracket, so neither
/// `: `, ` #` nor a flow indicator. Every JWT, AWS key and Vault or GCP token is plain.
pub fn plain_ok(value: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._/+=@%~-".contains(c);
    value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value.chars().all(allowed)
        && !TYPED_WORDS.contains(&value.to_ascii_lowercase().as_str())
}

/// A character that must be escaped (double quotes only): a C0 or C1 control, DEL (not
/// printable in YAML), the line breaks of YAML 1.1 (NEL, LS, PS: PyYAML folds them), a BOM
/// (readers drop it) and the non-characters U+FFFE/U+FFFF. Tab stays: it is printable.
fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
}

/// Whether `value` can be written single-quoted: no character that needs an escape (a quoted
/// line break folds), no tab (which a 1.1 reader may take as separation whitespace next to a
/// quote), and not empty-looking to no one.
fn single_ok(value: &str) -> bool {
    !value.chars().any(|c| needs_escape(c) || c == '\t')
}

/// The form `value` is written in: the old scalar's style when it can carry the value, else
/// the first of plain, single quotes, double quotes that can. A block scalar (`|`, `>`) being
/// replaced becomes a quoted scalar.
pub fn form(value: &str, old: Option<TScalarStyle>) -> Form {
    let first_fit = if plain_ok(value) {
        Form::Plain
    } else if single_ok(value) {
        Form::Single
    } else {
        Form::Double
    };
    match old {
        Some(TScalarStyle::SingleQuoted) if single_ok(value) => Form::Single,
        Some(TScalarStyle::DoubleQuoted) => Form::Double,
        Some(TScalarStyle::Literal | TScalarStyle::Folded) if first_fit == Form::Plain => {
            Form::Single
        }
        _ => first_fit,
    }
}

/// `value` written in `form`.
pub fn render(value: &str, form: Form) -> String {
    match form {
        Form::Plain => value.to_string(),
        Form::Single => format!("'{}'", value.replace('\'', "''")),
        Form::Double => {
            let mut out = String::with_capacity(value.len() + 2);
            out.push('"');
            for c in value.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\0' => out.push_str("\\0"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c if needs_escape(c) && (c as u32) < 0x100 => {
                        out.push_str(&format!("\\x{:02X}", c as u32));
                    }
                    c if needs_escape(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
    }
}

/// Every reason a YAML target is refused (65, before anything is minted), with the reader
/// evidence behind it (docs/formats/yaml.md, `tests/corpus/yaml/`). `at` is a pointer or "the
/// document", never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// Not YAML to the strict parser (yaml-rust2), at a line and column.
    NotYaml { line: usize, column: usize },
    /// Collections nested deeper than [`super::tree::MAX_DEPTH`]: the strict parser's loader
    /// recurses once per level, and no configuration file nests that deep.
    TooDeep { line: usize, column: usize },
    /// A NUL byte: not a YAML character.
    Nul,
    /// More than one document: PyYAML, ruamel.yaml, npm yaml and js-yaml refuse the file, Psych
    /// reads the first (`multi-document.yaml`).
    Documents(usize),
    /// An anchor or a tag on a mapping on the way or on the value, or an alias there: an anchored
    /// value is read elsewhere through its aliases, an application tag makes three readers
    /// refuse the file (`anchors.yaml`, `tags.yaml`).
    Decorated { at: String },
    /// A key with an anchor, a tag or an alias in a mapping on the way: which key it is depends
    /// on the reader.
    DecoratedKey { at: String },
    /// A merge key: npm yaml keeps `<<` as a key, the four others merge (`merge-keys.yaml`).
    Merge { at: String },
    /// The key twice in one mapping: PyYAML and Psych keep the last, the other three refuse the
    /// file (`duplicate-keys.yaml`).
    Duplicate { at: String, times: usize },
    /// A step through something that is not a mapping.
    NotMapping { at: String },
    /// A mapping on the way that does not exist (only the last key is added, as for JSON).
    Missing { at: String },
    /// The value at KEY is a mapping or a sequence.
    NotScalar { at: String },
    /// The file holds no mapping to add a nested key to (empty, or comments only).
    NoMapping { at: String },
    /// yaml-edit reads the file otherwise than yaml-rust2, or its edit does not read back as
    /// meant: the two parsers disagree, so neither is trusted.
    Disagree { at: String, why: String },
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shape::NotYaml { line, column } => {
                write!(f, "not valid YAML (line {line}, column {column})")
            }
            Shape::TooDeep { line, column } => write!(
                f,
                "collections nested more than {} levels deep (line {line}, column {column})",
                super::tree::MAX_DEPTH
            ),
            Shape::Nul => write!(f, "the file holds a NUL byte"),
            Shape::Documents(n) => {
                write!(
                    f,
                    "a stream of {n} documents: which one holds the key is a guess"
                )
            }
            Shape::Decorated { at } => write!(
                f,
                "{at} is an alias or has an anchor or a tag (readers resolve them differently)"
            ),
            Shape::DecoratedKey { at } => {
                write!(f, "{at} has a key with an anchor, a tag or an alias")
            }
            Shape::Merge { at } => write!(
                f,
                "{at} has a merge key (<<): the readers that merge and those that do not disagree"
            ),
            Shape::Duplicate { at, times } => write!(
                f,
                "{at} appears {times} times in one mapping (readers keep different ones)"
            ),
            Shape::NotMapping { at } => write!(f, "{at} is not a mapping"),
            Shape::Missing { at } => write!(
                f,
                "{at} does not exist (the mappings on the way to a key must)"
            ),
            Shape::NotScalar { at } => write!(f, "{at} is not a scalar"),
            Shape::NoMapping { at } => {
                write!(f, "{at}: the file holds no mapping to add it to")
            }
            Shape::Disagree { at, why } => {
                write!(
                    f,
                    "{at}: the two YAML parsers disagree ({why}); not written"
                )
            }
        }
    }
}
