//! Taking the credential values out of the mint's stdout.
//!
//! A `--set` source is the whole stdout (one trailing newline removed) or an RFC 6901 JSON
//! pointer into it (serde_json's `Value::pointer`); the JSON is parsed once, only if a pointer
//! asks for it. A value must be a non-empty string or a number, valid UTF-8, without NUL. Errors
//! name the pointer, never the value.

use crate::error::Error;
use crate::secret::Secret;
use serde_json::Value;
use std::cell::OnceCell;

/// The captured stdout of one successful mint.
pub struct MintOutput {
    raw: Vec<u8>,
    json: OnceCell<Result<Value, String>>,
}

impl MintOutput {
    pub fn new(raw: Vec<u8>) -> Self {
        MintOutput {
            raw,
            json: OnceCell::new(),
        }
    }

    /// The whole stdout, one trailing newline (`\n` or `\r\n`) removed.
    pub fn whole(&self) -> Result<Secret, Error> {
        let text = std::str::from_utf8(&self.raw)
            .map_err(|_| Error::Protocol("stdout is not valid UTF-8".into()))?;
        let text = text
            .strip_suffix('\n')
            .map(|t| t.strip_suffix('\r').unwrap_or(t))
            .unwrap_or(text);
        checked(text.to_string(), "stdout")
    }

    /// The JSON value at `pointer`.
    pub fn at(&self, pointer: &str) -> Result<&Value, Error> {
        let doc = self
            .json
            .get_or_init(|| {
                serde_json::from_slice(&self.raw).map_err(|e| {
                    // serde_json's message names a line and column, never the content.
                    format!(
                        "stdout is not JSON ({e}), but --set or --expiry-from asked for \
                         {pointer}: make the mint print JSON whatever its configuration says \
                         (`aws ... --output json`: `output = text` in ~/.aws/config changes the \
                         default; `-o json`, `-format=json`)"
                    )
                })
            })
            .as_ref()
            .map_err(|e| Error::Protocol(e.clone()))?;
        doc.pointer(pointer)
            .ok_or_else(|| Error::Protocol(format!("{pointer} is not in the mint's JSON output")))
    }

    /// The string or number at `pointer`, as a credential value.
    pub fn secret_at(&self, pointer: &str) -> Result<Secret, Error> {
        let text = match self.at(pointer)? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => {
                return Err(Error::Protocol(format!(
                    "{pointer} is {}, not a string or a number",
                    kind(other)
                )));
            }
        };
        checked(text, pointer)
    }
}

fn checked(value: String, source: &str) -> Result<Secret, Error> {
    if value.is_empty() {
        return Err(Error::Protocol(format!("{source} is empty")));
    }
    if value.contains('\0') {
        return Err(Error::Protocol(format!("{source} contains a NUL byte")));
    }
    Ok(Secret::new(value))
}

/// "an object", "null", ... for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(s: &str) -> MintOutput {
        MintOutput::new(s.as_bytes().to_vec())
    }

    #[test]
    fn whole_stdout_loses_one_trailing_newline() {
        assert_eq!(out("tok\n").whole().unwrap().expose(), "tok");
        assert_eq!(out("tok\r\n").whole().unwrap().expose(), "tok");
        assert_eq!(out("tok\n\n").whole().unwrap().expose(), "tok\n");
        assert_eq!(out("tok").whole().unwrap().expose(), "tok");
    }

    #[test]
    fn empty_and_nul_are_refused() {
        for s in ["", "\n", "a\0b"] {
            assert_eq!(out(s).whole().unwrap_err().exit_code(), 76, "{s:?}");
        }
        assert_eq!(
            out(r#"{"t":""}"#).secret_at("/t").unwrap_err().exit_code(),
            76
        );
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let err = MintOutput::new(vec![b'a', 0xff]).whole().unwrap_err();
        assert_eq!(err.exit_code(), 76);
    }

    #[test]
    fn pointers_take_strings_and_numbers() {
        let o = out(r#"{"Credentials":{"AccessKeyId":"AKIA1"},"n":42,"b":true,"o":{}}"#);
        assert_eq!(
            o.secret_at("/Credentials/AccessKeyId").unwrap().expose(),
            "AKIA1"
        );
        assert_eq!(o.secret_at("/n").unwrap().expose(), "42");
        for p in ["/b", "/o", "/missing", "/Credentials/x"] {
            assert_eq!(o.secret_at(p).unwrap_err().exit_code(), 76, "{p}");
        }
    }

    #[test]
    fn not_json_is_refused_without_echoing_it() {
        let err = out("s3cr3t-not-json").secret_at("/token").unwrap_err();
        assert_eq!(err.exit_code(), 76);
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }
}
