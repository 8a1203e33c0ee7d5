//! A credential value that cannot be printed by accident.
//!
//! [`Secret`] holds a value read from the mint's output. Its `Debug` and `Display` show only the
//! length and a short fingerprint (the first 32 bits of its SHA-256), so a log line, an error or a
//! report that formats one leaks nothing. The value itself is reachable only through
//! [`Secret::expose`], which the splice and write stages call.

use sha2::{Digest, Sha256};
use std::fmt;

/// A credential value; formatting it prints a mask.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The value itself, for the stages that must write it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// First 8 hex digits of the SHA-256 of the value.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.0)
    }
}

/// First 8 hex digits of the SHA-256 of `value`.
pub fn fingerprint(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes, sha256:{}>", self.len(), self.fingerprint())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let s = Secret::new("hunter2-very-secret".into());
        for shown in [format!("{s}"), format!("{s:?}"), format!("{s:#?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("19 bytes"), "{shown}");
        }
    }

    #[test]
    fn fingerprint_is_stable_and_short() {
        // SHA-256("abc") starts ba7816bf.
        assert_eq!(fingerprint("abc"), "ba7816bf");
        assert_ne!(fingerprint("abc"), fingerprint("abd"));
    }
}
