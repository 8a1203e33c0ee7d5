//! Fuzz `credshim::format::toml::splice` with any file, any pointer and any value. Run with
//! `.ci/fuzz`.
//!
//! Input: `[selector] text 0xFF value 0xFF pointer` (0xFF never occurs in UTF-8). A selector
//! below 0xF0 picks one of the pointers the text already has (its string values, and a new key
//! in each of its tables), so the fuzzer spends its time on keys that are there; from 0xF0 the
//! pointer is the last segment, valid or not.
//!
//! The property: the splice never panics, and either refuses, or writes a file in which the
//! `toml` crate (a reader independent of toml_edit's document) reads the value at the pointer
//! as a string and every other value as it read it before, credshim's own `get` reads the
//! value back, `verify` accepts it, and splicing again changes nothing.

#![no_main]

use credshim::format::toml::{get, splice, verify};
use libfuzzer_sys::fuzz_target;
use toml::{Table, Value};

/// The pointer spelling of a key.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Pointers to every string in `table`, and to a new key in every table.
fn pointers(table: &Table, prefix: &str, out: &mut Vec<String>) {
    out.push(format!("{prefix}/new_key"));
    for (k, v) in table {
        let at = format!("{prefix}/{}", escape(k));
        match v {
            Value::String(_) => out.push(at),
            Value::Table(t) => pointers(t, &at, out),
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    if let Value::Table(t) = v {
                        pointers(t, &format!("{at}/{i}"), out);
                    }
                }
            }
            _ => {}
        }
    }
}

fn decode(data: &[u8]) -> (String, String, String) {
    let Some((&selector, rest)) = data.split_first() else {
        return (String::new(), "/k".into(), String::new());
    };
    let mut parts = rest.splitn(3, |&b| b == 0xFF);
    let text = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let value = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let custom = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let pointer = if selector >= 0xF0 {
        custom
    } else {
        let mut all = vec!["/k".to_string()];
        if let Ok(table) = text.parse::<Table>() {
            pointers(&table, "", &mut all);
        }
        all.swap_remove(usize::from(selector) % all.len())
    };
    (text, pointer, value)
}

/// `table` with the string `value` at `pointer`, tables created on the way; `None` if the way
/// is not through tables and indexed arrays.
fn with_value(table: &Table, pointer: &str, value: &str) -> Option<Table> {
    let mut root = Value::Table(table.clone());
    let tokens: Vec<String> = pointer
        .strip_prefix('/')?
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let (last, steps) = tokens.split_last()?;
    let mut node = &mut root;
    for step in steps {
        node = match node {
            Value::Table(t) => t
                .entry(step.clone())
                .or_insert_with(|| Value::Table(Table::new())),
            Value::Array(a) => a.get_mut(step.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    node.as_table_mut()?
        .insert(last.clone(), Value::String(value.to_owned()));
    match root {
        Value::Table(t) => Some(t),
        _ => None,
    }
}

/// Floats by their bits, so that `nan` equals itself.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Table(x), Value::Table(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn check(text: &str, pointer: &str, value: &str) -> Result<(), String> {
    let updates = [(pointer.to_owned(), value.to_owned())];
    let Ok(new) = splice(text, &updates) else {
        return Ok(());
    };
    if get(&new, pointer).as_ref().map(Option::as_deref) != Ok(Some(value)) {
        return Err(format!("get does not read the value back; new file {new:?}"));
    }
    verify(text, &new, &updates).map_err(|e| format!("verify refuses: {e}; new {new:?}"))?;
    if let Ok(before) = text.parse::<Table>() {
        let after = new
            .parse::<Table>()
            .map_err(|e| format!("the toml crate cannot read the new file: {e}; {new:?}"))?;
        let want = with_value(&before, pointer, value)
            .ok_or_else(|| format!("spliced a pointer the toml crate has no table for: {new:?}"))?;
        if !same(&Value::Table(after), &Value::Table(want)) {
            return Err(format!("the toml crate reads another document; new {new:?}"));
        }
    }
    match splice(&new, &updates) {
        Ok(again) if again == new => Ok(()),
        other => Err(format!("splicing twice differs: {other:?}; once {new:?}")),
    }
}

fuzz_target!(|data: &[u8]| {
    let (text, pointer, value) = decode(data);
    if let Err(why) = check(&text, &pointer, &value) {
        panic!("{why}\ntext: {text:?}\npointer: {pointer:?}\nvalue: {value:?}");
    }
});
