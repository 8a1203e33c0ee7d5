//! Verification of a spliced TOML text before anything is written: the new text is parsed again
//! and, as a whole document of plain values, must equal the old one with the updates applied
//! (tables created where the splice creates them). Messages name pointers, never values.

use super::tokens;
use std::collections::BTreeMap;
use toml_edit::{DocumentMut, Item, Value};

/// A TOML document as its readers see it: no spelling, no order of keys, no inline-or-header.
#[derive(Debug, Clone, PartialEq)]
enum Plain {
    String(String),
    Integer(i64),
    /// By its bits, so that `nan` equals itself.
    Float(u64),
    Boolean(bool),
    Datetime(String),
    Array(Vec<Plain>),
    Table(BTreeMap<String, Plain>),
}

fn plain_value(value: &Value) -> Plain {
    match value {
        Value::String(s) => Plain::String(s.value().clone()),
        Value::Integer(i) => Plain::Integer(*i.value()),
        Value::Float(f) => Plain::Float(f.value().to_bits()),
        Value::Boolean(b) => Plain::Boolean(*b.value()),
        Value::Datetime(d) => Plain::Datetime(d.value().to_string()),
        Value::Array(a) => Plain::Array(a.iter().map(plain_value).collect()),
        Value::InlineTable(t) => Plain::Table(
            t.iter()
                .map(|(k, v)| (k.to_owned(), plain_value(v)))
                .collect(),
        ),
    }
}

fn plain_item(item: &Item) -> Option<Plain> {
    match item {
        Item::None => None,
        Item::Value(v) => Some(plain_value(v)),
        Item::Table(t) => Some(Plain::Table(
            t.iter()
                .filter_map(|(k, v)| Some((k.to_owned(), plain_item(v)?)))
                .collect(),
        )),
        Item::ArrayOfTables(a) => Some(Plain::Array(
            a.iter()
                .map(|t| plain_item(&Item::Table(t.clone())).expect("a table"))
                .collect(),
        )),
    }
}

fn plain(text: &str) -> Option<Plain> {
    let doc: DocumentMut = text.parse().ok()?;
    plain_item(doc.as_item())
}

/// Check that `new` parses and equals `old` with the updates applied, as whole documents.
pub fn verify(old: &str, new: &str, updates: &[(String, String)]) -> Result<(), String> {
    let mut intended = plain(old).ok_or("the old file is not valid TOML")?;
    for (pointer, value) in updates {
        let path = tokens(pointer).map_err(|e| e.to_string())?;
        let (last, steps) = path.split_last().expect("a pointer has one token at least");
        let mut node = &mut intended;
        for step in steps {
            node = match node {
                Plain::Table(t) => t
                    .entry(step.clone())
                    .or_insert_with(|| Plain::Table(BTreeMap::new())),
                Plain::Array(a) => step
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| a.get_mut(i))
                    .ok_or_else(|| format!("{pointer} has no parent"))?,
                _ => return Err(format!("{pointer} has no parent")),
            };
        }
        let Plain::Table(parent) = node else {
            return Err(format!("{pointer}'s parent is not a table"));
        };
        parent.insert(last.clone(), Plain::String(value.clone()));
    }
    let written = plain(new).ok_or("the new file is not valid TOML")?;
    if written == intended {
        return Ok(());
    }
    for (pointer, _) in updates {
        let read = super::get(new, pointer).ok().flatten();
        if read.as_deref()
            != updates
                .iter()
                .find(|(p, _)| p == pointer)
                .map(|(_, v)| v.as_str())
        {
            return Err(format!("{pointer} reads back with another value"));
        }
    }
    Err("a value other than the updated ones reads differently in the new file".into())
}
