//! A raw target: the whole file is the value (a password file, a token file, a Docker secret).
//!
//! The only key is `-`. The old file's final newline, or its absence, is kept; a new file gets
//! none. Pure text in, text out.

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
