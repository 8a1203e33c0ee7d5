//! Fuzz `credshim::format::properties::splice` with any file, any key and any value. Input:
//! `[selector] text 0xFF value 0xFF key` (0xFF never occurs in UTF-8); a selector below 0xF0 picks
//! a key the text seems to hold (its first word on some line) or `k`, from 0xF0 the key is the
//! last segment. The property: the splice never panics, and either refuses, or the new file reads
//! the key back as the value (both loads), `verify` (every other entry reads as before, both
//! loads) accepts it, and splicing again changes nothing. Run with `.ci/fuzz`.

#![no_main]

use credshim::format::properties::{get, splice, verify};
use libfuzzer_sys::fuzz_target;

fn decode(data: &[u8]) -> (String, String, String) {
    let Some((&selector, rest)) = data.split_first() else {
        return (String::new(), "k".into(), String::new());
    };
    let mut parts = rest.splitn(3, |&b| b == 0xFF);
    let text = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let value = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let custom = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    if selector >= 0xF0 {
        return (text, custom, value);
    }
    let mut keys: Vec<String> = text
        .split(['\n', '\r'])
        .map(|l| l.trim_start_matches([' ', '\t', '\x0c']))
        .filter(|l| !l.starts_with(['#', '!']))
        .map(|l| {
            l.split([' ', '\t', '\x0c', '=', ':'])
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .filter(|k| !k.is_empty() && !k.contains('\\'))
        .collect();
    keys.push("k".into());
    let key = keys.swap_remove(usize::from(selector) % keys.len());
    (text, key, value)
}

fuzz_target!(|data: &[u8]| {
    let (text, key, value) = decode(data);
    if value.contains('\0') {
        return; // the mint's output is refused before any format sees it
    }
    let updates = [(key.clone(), value.clone())];
    let Ok(new) = splice(&text, &updates) else {
        return;
    };
    match get(&new, &key) {
        Ok(Some(read)) if read == value => {}
        other => panic!("get reads {key:?} back as {other:?}\ntext {text:?}\nnew {new:?}"),
    }
    if let Err(why) = verify(&text, &new, &updates) {
        panic!("verify refuses the splice: {why}\ntext {text:?}\nnew {new:?}");
    }
    match splice(&new, &updates) {
        Ok(again) if again == new => {}
        other => panic!("splicing twice differs: {other:?}\nonce {new:?}"),
    }
});
