//! Fuzz `credshim::format::env::splice` with any file, any key and any value (see `src/lib.rs` for the
//! input layout and the property). Run with `.ci/fuzz`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (text, key, value) = splice_property::decode(data);
    if let Err(why) = splice_property::check(&text, &key, &value) {
        panic!("{why}\ntext: {text:?}\nkey: {key:?}\nvalue: {value:?}");
    }
});
