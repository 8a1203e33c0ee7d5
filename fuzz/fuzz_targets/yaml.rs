//! Fuzz `credshim::format::yaml::splice` with any file, pointer and value. Input layout:
//! `[selector] text 0xFF value 0xFF pointer` (0xFF never occurs in UTF-8). A selector below 0xF0
//! picks one of a few pointers that the seeds' files hold, so the fuzzer spends its time on keys
//! that are present; from 0xF0 the pointer is the last segment. Run with `.ci/fuzz`.
//!
//! The property: `splice` never panics; it refuses, or its text reads the key back as the value
//! (`get`), `verify` accepts it (every other node reads as before, with its style, tag and
//! anchor), and splicing again changes nothing.

#![no_main]

use credshim::format::yaml::{get, splice, verify};
use libfuzzer_sys::fuzz_target;

const POINTERS: &[&str] = &[
    "/k",
    "/a/k",
    "/a/b/k",
    "/backend/database/connection/password",
    "/db/password",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(3, |&b| b == 0xFF);
    let text = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let value = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let custom = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let pointer = if selector >= 0xF0 {
        custom
    } else {
        POINTERS[usize::from(selector) % POINTERS.len()].to_string()
    };
    let updates = [(pointer.clone(), value.clone())];
    let Ok(new) = splice(&text, &updates) else {
        return;
    };
    let fail = |why: &str| -> ! {
        panic!("{why}\ntext: {text:?}\npointer: {pointer:?}\nvalue: {value:?}\nnew: {new:?}")
    };
    if get(&new, &pointer).ok().flatten().as_deref() != Some(value.as_str()) {
        fail("the key does not read back as the value");
    }
    if let Err(why) = verify(&text, &new, &updates) {
        fail(&format!("verify refuses the splice: {why}"));
    }
    match splice(&new, &updates) {
        Ok(again) if again == new => {}
        _ => fail("splicing again changes the file"),
    }
});
