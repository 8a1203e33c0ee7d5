//! The property the `pgpass` fuzz target checks: for any file text, any KEY and any password,
//! `credshim::format::pgpass::splice` never panics, and either refuses, or produces a file where
//! `get` reads KEY's password back, `verify` (every other line as before, KEY's lines holding the
//! password, KEY reached first) accepts it, and splicing again changes nothing.

use credshim::format::pgpass::{get, splice, verify};

/// Decode fuzzer bytes: `[selector] text 0xFF value 0xFF key` (0xFF never occurs in UTF-8). A
/// selector below 0xF0 takes KEY from the first four fields of one of the text's lines, so the
/// fuzzer spends its time on keys that are present; from 0xF0 KEY is the last segment.
pub fn decode(data: &[u8]) -> (String, String, String) {
    let Some((&selector, rest)) = data.split_first() else {
        return (String::new(), "h:5432:d:u".into(), String::new());
    };
    let mut parts = rest.splitn(3, |&b| b == 0xFF);
    let text = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let value = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let custom = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let key = if selector >= 0xF0 {
        custom
    } else {
        let mut keys: Vec<String> = text
            .lines()
            .filter_map(|l| {
                let cut = l.match_indices(':').nth(3)?.0;
                Some(l[..cut].to_string())
            })
            .collect();
        keys.push("h:5432:d:u".into());
        keys.swap_remove(usize::from(selector) % keys.len())
    };
    (text, key, value)
}

/// Whether the property holds for one case; why not, when it does not.
pub fn check(text: &str, key: &str, value: &str) -> Result<(), String> {
    let updates = vec![(key.to_string(), value.to_string())];
    let Ok(spliced) = splice(text, &updates) else {
        return Ok(());
    };
    let new = spliced.text;
    match get(&new, key) {
        Ok(Some(v)) if v == value => {}
        other => return Err(format!("get reads {other:?}")),
    }
    verify(text, &new, &updates).map_err(|why| format!("verify: {why}"))?;
    match splice(&new, &updates) {
        Ok(again) if again.text == new => Ok(()),
        Ok(_) => Err("a second splice changed the file".into()),
        Err(e) => Err(format!("a second splice refused: {e:?}")),
    }
}
