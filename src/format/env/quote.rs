//! The quoting forms of a `.env` value: choosing the first form of shared/ENV-FORMAT.md (rules
//! 2–5) that carries a new value, writing it in that form, and decoding a value as written back
//! into what readers get. Which values no form can carry is decided in [`super::rules`].

use super::rules::{self, Rule};

/// The quoting form of a value, rules 2–5 of ENV-FORMAT.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    Bare,
    Single,
    Double,
    Escaped,
}

/// The first form that carries `value` (rules 2–5), or the rule that refuses it (1, 6, 7).
pub(super) fn form(value: &str) -> Result<Form, Rule> {
    let form = first_form(value);
    rules::value(value, form)?;
    Ok(form)
}

/// The first of rules 2–5 whose characters `value` fits; the refusals are [`rules::value`]'s.
fn first_form(value: &str) -> Form {
    let bare_char = |c: char| c.is_ascii_alphanumeric() || "._+/=~@%,:-".contains(c);
    if !value.is_empty()
        && value.chars().all(bare_char)
        && !value.starts_with('~')
        && !value.contains(":~")
    {
        return Form::Bare;
    }
    // A trailing `\` is refused whatever the form (rule 7); it goes on to rule 5, so that a value
    // that also holds a backtick is refused by rule 6, whose message comes first.
    if !value.contains('\'') && !value.contains("\\\\") && !value.ends_with('\\') {
        return Form::Single;
    }
    if !value.contains(['"', '$', '\\', '`']) {
        return Form::Double;
    }
    Form::Escaped
}

/// Append `value` to `out` in `form`.
pub(super) fn write_value(out: &mut String, value: &str, form: Form) {
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
pub(super) enum Quote {
    Bare,
    Single,
    Double,
}

/// The value a reader gets from `raw` (as written, quotes included).
pub(super) fn decode(raw: &str, quote: Quote) -> String {
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
