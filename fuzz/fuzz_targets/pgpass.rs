//! Fuzz `credshim::format::pgpass::splice` with any file, any KEY and any password (see
//! `src/pgpass.rs` for the input layout and the property). Run with `.ci/fuzz`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../src/pgpass.rs"]
mod pgpass_property;

fuzz_target!(|data: &[u8]| {
    let (text, key, value) = pgpass_property::decode(data);
    if let Err(why) = pgpass_property::check(&text, &key, &value) {
        panic!("{why}\ntext: {text:?}\nkey: {key:?}\nvalue: {value:?}");
    }
});
