//! A raw target: the whole file is the value (a password file, a token file, a Docker secret).
//!
//! The only key is `-`. The old file's final newline, or its absence, is kept; a new file gets
//! none. A value ending in a newline is refused (the file could not tell it from its final
//! newline), and so are updates other than exactly one. Pure text in, text out.

use super::{Refusal, Spliced, Syntax};

/// The raw format in the registry of [`super::Format`].
pub(super) struct Raw;

impl Syntax for Raw {
    fn check_key(&self, key: &str) -> Result<(), String> {
        if key == "-" {
            Ok(())
        } else {
            Err(format!("{key:?}: the key of a raw target is -"))
        }
    }

    fn get(&self, text: &str, _key: &str) -> Result<Option<String>, Refusal> {
        Ok(get(text))
    }

    fn splice(&self, text: &str, updates: &[(String, String)]) -> Result<Spliced, Refusal> {
        match updates {
            [(_, value)] if value.ends_with('\n') => Err(Refusal::Value(
                "the value ends in a newline, which a raw target cannot tell from its final \
                 newline"
                    .into(),
            )),
            [(_, value)] => Ok(Spliced {
                text: splice(text, value),
                warnings: Vec::new(),
            }),
            _ => Err(Refusal::Updates(
                "a raw target takes exactly one --set -=SOURCE".into(),
            )),
        }
    }

    fn verify(&self, _old: &str, new: &str, updates: &[(String, String)]) -> Result<(), String> {
        match updates {
            [(_, value)] if get(new).as_deref() == Some(value.as_str()) => Ok(()),
            _ => Err("the file does not hold the new value".into()),
        }
    }
}

/// The value the file holds: its text without one final newline; `None` for an empty file.
pub fn get(text: &str) -> Option<String> {
    let value = text.strip_suffix('\n').unwrap_or(text);
    (!value.is_empty()).then(|| value.to_string())
}

/// The file holding `value`, ending in a newline exactly when `old` did.
pub fn splice(old: &str, value: &str) -> String {
    if old.ends_with('\n') {
        format!("{value}\n")
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_newline_state_is_kept() {
        assert_eq!(splice("old\n", "new"), "new\n");
        assert_eq!(splice("old", "new"), "new");
        assert_eq!(splice("", "new"), "new");
        assert_eq!(get("pw\n").as_deref(), Some("pw"));
        assert_eq!(get("pw").as_deref(), Some("pw"));
        assert_eq!(get(""), None);
    }
}
