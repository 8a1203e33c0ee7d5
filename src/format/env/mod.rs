//! Splicing a credential into a `.env` file: pure text in, text out, no I/O.
//!
//! [`splice`] sets every occurrence of the given keys (appending absent ones), choosing for each
//! value the first quoting form of shared/ENV-FORMAT.md that every common reader (dotenvy,
//! python-dotenv, compose, systemd, `sh`, Node) reads back the same way, and keeps every other
//! byte of the file as it was. It refuses files whose value boundaries readers disagree on
//! ([`SpliceError::Unparseable`]) and values no form can carry ([`SpliceError::ForbiddenValue`]).
//! [`get`] reads a value back with the same scanner, and [`verify`] checks a spliced text against
//! dotenvy before anything is written. Nothing here touches the file system or the environment,
//! and no error or warning ever contains a value.

mod bare;
#[cfg(test)]
mod proptests;
mod quote;
mod reader;
mod rules;
mod scan;
#[cfg(test)]
mod tests;
mod verify;

pub use super::Spliced;
pub use verify::verify;

use super::{Refusal, Syntax};
use quote::{Form, decode, form, write_value};
use rules::Rule;
use scan::{scan, strip_bom};

/// The `.env` format in the registry of [`super::Format`].
pub(super) struct Env;

impl Syntax for Env {
    fn check_key(&self, key: &str) -> Result<(), String> {
        if valid_key(key) {
            Ok(())
        } else {
            Err(SpliceError::InvalidKey { key: key.into() }.to_string())
        }
    }

    fn get(&self, text: &str, key: &str) -> Result<Option<String>, Refusal> {
        get(text, key).map_err(Refusal::from)
    }

    fn splice(&self, text: &str, updates: &[(String, String)]) -> Result<Spliced, Refusal> {
        splice(text, updates).map_err(Refusal::from)
    }

    fn verify(&self, old: &str, new: &str, updates: &[(String, String)]) -> Result<(), String> {
        verify(old, new, updates)
    }

    fn followers<'a>(&self, text: &'a str, keys: &[&str]) -> Vec<&'a str> {
        verify::followers(text, keys)
    }
}

impl From<SpliceError> for Refusal {
    fn from(e: SpliceError) -> Refusal {
        let why = e.to_string();
        match e {
            SpliceError::Unparseable { .. } => Refusal::File(why),
            SpliceError::ForbiddenValue { .. } => Refusal::Value(why),
            SpliceError::InvalidKey { .. } => Refusal::Key(why),
        }
    }
}

/// Why a file or value cannot be spliced.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpliceError {
    /// Readers cannot agree where values end (unterminated quote, `\'` inside single quotes,
    /// a NUL byte anywhere, text right after a closing quote on a line of a key being set). Exit 65.
    #[error("line {line}: {reason}")]
    Unparseable { line: usize, reason: String },
    /// No safe form can carry the value (NUL, LF, CR; or rule 6: needs rule 5 and has a backtick). Exit 76.
    /// `reason` must NEVER contain the value or any part of it (secrets).
    #[error("the value for {key} {reason}")]
    ForbiddenValue { key: String, reason: String },
    /// Key not matching [A-Za-z_][A-Za-z0-9_]*. Exit 64.
    #[error(
        "{key:?} is not a valid variable name (letters, digits and _, not starting with a digit)"
    )]
    InvalidKey { key: String },
}

/// Whether `key` matches `[A-Za-z_][A-Za-z0-9_]*`, the names every reader accepts.
#[must_use]
pub fn valid_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Set every occurrence of each key to its value (appending absent keys in the order given),
/// following ENV-FORMAT.md. `updates` keys are distinct. Pure.
pub fn splice(text: &str, updates: &[(String, String)]) -> Result<Spliced, SpliceError> {
    if let Some((key, _)) = updates.iter().find(|(key, _)| !valid_key(key)) {
        return Err(SpliceError::InvalidKey { key: key.clone() });
    }
    let mut warnings = Vec::new();
    let mut forms = Vec::with_capacity(updates.len());
    for (key, value) in updates {
        let form = form(value).map_err(|rule| rule.for_value(key))?;
        if value.contains("${") {
            warnings.push(format!(
                "the value for {key} contains `${{`, which python-dotenv expands even inside quotes"
            ));
        }
        if form == Form::Escaped {
            warnings.push(format!(
                "the value for {key} is written with backslash escapes; Node's dotenv and \
                 --env-file (and python-dotenv, before a `$`) will read the backslashes"
            ));
        }
        forms.push(form);
    }

    let mut out = String::with_capacity(text.len() + 64);
    let mut copied = 0;
    let mut found = vec![false; updates.len()];
    let mut scanner = scan(text)?;
    for found_at in scanner.by_ref() {
        let found_at = found_at?;
        let Some(i) = updates.iter().position(|(key, _)| key == found_at.key) else {
            continue;
        };
        rules::settable(text, &found_at)?;
        found[i] = true;
        out.push_str(&text[copied..found_at.eq_end]);
        // A rule 2 value always fits rule 3: it has no quote and no backslash.
        let form = match forms[i] {
            Form::Bare if found_at.comment_follows => Form::Single,
            form => form,
        };
        write_value(&mut out, &updates[i].1, form);
        copied = found_at.value.end;
    }
    out.push_str(&text[copied..]);

    let missing: Vec<_> = (0..updates.len()).filter(|&i| !found[i]).collect();
    if !missing.is_empty() {
        let eol = dominant_line_ending(text);
        let body = strip_bom(text);
        let last = body.rsplit('\n').next().unwrap_or("");
        if last.ends_with('\\') && !last.trim_start().starts_with('#') {
            // Without a final newline sh keeps that `\`; any line after it would turn it into a
            // continuation and change the last value.
            return Err(Rule::AppendAfterBackslash.at(text, text.len()));
        }
        if !body.is_empty() && !body.ends_with('\n') {
            out.push_str(eol);
        }
        let last_line = body.strip_suffix('\n').unwrap_or(body);
        let last_line = last_line.strip_suffix('\r').unwrap_or(last_line);
        // A line ending in `\` continues onto the next one for sh and systemd (even in a comment).
        if last_line.ends_with('\\') {
            out.push_str(eol);
        }
        for i in missing {
            let (key, value) = &updates[i];
            out.push_str(key);
            out.push('=');
            write_value(&mut out, value, forms[i]);
            out.push_str(eol);
        }
    }
    if scanner.dotenvy_line.is_none() {
        // dotenvy could not read the old file (a quote it left open), so the checks in step
        // with it did not run; the new values' quotes may close that quote and change what it
        // reads: the new file must pass them.
        for found_at in scan(&out)? {
            found_at?;
        }
    }
    if let Some((key, _)) = updates.iter().find(|(_, v)| v.contains('`')) {
        // A backtick in a new value may close a backtick that opens another key's value
        // earlier (`` A=`x `` left open is text to every reader): Node's dotenv would then read
        // every line between as A's value. The new file must scan as the old one did.
        let closes_another = scan(&out).map_or(true, |mut s| s.any(|a| a.is_err()));
        if closes_another {
            return Err(Rule::ValueClosesBacktick.for_value(key));
        }
    }
    Ok(Spliced {
        text: out,
        warnings,
    })
}

/// The value of `key` as dotenvy/sh/most readers would read it (the LAST occurrence), decoded
/// from its quoting (unquoted: trailing whitespace and ` #comment` dropped, backslash escapes
/// read as sh does; single: literal; double: `\\`, `\"`, `\$`, `\n` etc. unescaped).
/// Ok(None) when absent. Err for files that `splice` would refuse as Unparseable.
pub fn get(text: &str, key: &str) -> Result<Option<String>, SpliceError> {
    if !valid_key(key) {
        return Err(SpliceError::InvalidKey {
            key: key.to_owned(),
        });
    }
    let mut last = None;
    for found_at in scan(text)? {
        let found_at = found_at?;
        if found_at.key != key {
            continue;
        }
        rules::settable(text, &found_at)?;
        last = Some(found_at);
    }
    Ok(last.map(|a| decode(&text[a.value], a.quote)))
}

/// CRLF if most lines end in CRLF, else LF.
fn dominant_line_ending(text: &str) -> &'static str {
    let lines = text.matches('\n').count();
    let crlf = text.matches("\r\n").count();
    if crlf * 2 > lines { "\r\n" } else { "\n" }
}
