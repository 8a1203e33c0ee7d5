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
