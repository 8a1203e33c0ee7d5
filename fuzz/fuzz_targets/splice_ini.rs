//! Fuzz `credshim::format::ini::splice` with any file, any key and any value. Input layout:
//! `[selector] text 0xFF value 0xFF key` (0xFF never occurs in UTF-8). A selector below 0xF0
//! picks a `/section/key` the text already holds (or `/a/k`), so the fuzzer spends its time on
//! keys that are present; from 0xF0 the key is the last segment, valid or not.
//!
//! The property: `splice` and `get` never panic; `splice` refuses, or produces a file where `get`
//! reads the key back as the value, `verify` (every other value as before) accepts it, and
//! splicing again changes nothing. Run with `.ci/fuzz`.

#![no_main]

use credshim::format::ini::{get, splice, verify};
use libfuzzer_sys::fuzz_target;

/// `/section/key` for every `name =` line under a `[section]` header, in order.
fn keys_in(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut section: Option<&str> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(inner);
        } else if let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            keys.push(match section {
                Some(s) => format!("/{}/{name}", s.replace('~', "~0").replace('/', "~1")),
                None => format!("/{name}"),
            });
        }
    }
    keys
}

fn check(text: &str, key: &str, value: &str) -> Result<(), String> {
    let _ = get(text, key);
    let updates = [(key.to_owned(), value.to_owned())];
    let Ok(new) = splice(text, &updates) else {
        return Ok(());
    };
    match get(&new, key) {
        Ok(Some(read)) if read == value => {}
        other => return Err(format!("get reads {key} back as {other:?}; new file {new:?}")),
    }
    verify(text, &new, &updates).map_err(|why| format!("verify: {why}; new file {new:?}"))?;
    match splice(&new, &updates) {
        Ok(again) if again == new => Ok(()),
        other => Err(format!("splicing again gives {other:?}; new file {new:?}")),
    }
}

fuzz_target!(|data: &[u8]| {
    let (text, key, value) = match data.split_first() {
        None => (String::new(), "/a/k".to_string(), String::new()),
        Some((&selector, rest)) => {
            let mut parts = rest.splitn(3, |&b| b == 0xFF);
            let text = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let value = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let custom = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let key = if selector >= 0xF0 {
                custom
            } else {
                let mut keys = keys_in(&text);
                keys.push("/a/k".into());
                keys.swap_remove(usize::from(selector) % keys.len())
            };
            (text, key, value)
        }
    };
    if let Err(why) = check(&text, &key, &value) {
        panic!("{why}\ntext: {text:?}\nkey: {key:?}\nvalue: {value:?}");
    }
});
