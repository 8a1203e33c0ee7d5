//! Setting string scalars of a YAML target: pure text in, text out (docs/formats/yaml.md).
//!
//! KEY is an RFC 6901 pointer through block and flow mappings
//! (`/backend/database/connection/password`). Two parsers share the work. yaml-rust2, a strict
//! YAML 1.2 parser, decides whether the file is YAML, reads values ([`tree`]) and refuses (65)
//! what stands on the way to a key: more than one document, anchors, aliases, tags, merge keys
//! (`<<`), a key twice in one mapping, a step that is not a mapping, a value that is not a
//! scalar. yaml-edit, a lossless (rowan) syntax tree, makes the edit: only the bytes of the
//! replaced scalar change, or one entry is added at the end of its mapping, at the mapping's
//! indentation; the document is never re-serialised. The value is written in the form of
//! [`rules`]. Every splice is checked by [`verify`] before it is returned: the new text, read by
//! yaml-rust2 again, must be the old document with only the updated scalars changed; a file on
//! which the two parsers disagree is refused (65) before anything is minted.

mod rules;
mod tree;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::str::FromStr;

use yaml_edit::{YamlFile, YamlNode};
use yaml_rust2::scanner::TScalarStyle;

use super::{Refusal, Spliced, Syntax};
use tree::{Found, Node};

pub use rules::{Form, Shape, form, plain_ok, render};

/// Every [`Shape`] refused is a file credshim will not edit (65).
impl From<Shape> for Refusal {
    fn from(shape: Shape) -> Refusal {
        Refusal::File(shape.to_string())
    }
}

/// The YAML format in the registry of [`super::Format`].
pub(super) struct Yaml;

impl Syntax for Yaml {
    fn max_len(&self) -> Option<usize> {
        // 1 MiB of `[tN]` tables took 110 MB to edit (16 MiB took 3.2 GB); a config is KiBs.
        Some(1 << 20)
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["yaml", "yml"]
    }

    fn check_key(&self, key: &str) -> Result<(), String> {
        tokens(key).map(|_| ())
    }

    fn get(&self, text: &str, key: &str) -> Result<Option<String>, Refusal> {
        get(text, key)
    }

    fn splice(&self, text: &str, updates: &[(String, String)]) -> Result<Spliced, Refusal> {
        splice(text, updates).map(|text| Spliced {
            text,
            warnings: Vec::new(),
        })
    }

    fn verify(&self, old: &str, new: &str, updates: &[(String, String)]) -> Result<(), String> {
        verify(old, new, updates)
    }
}

/// The unescaped reference tokens of `pointer`; none may be empty.
fn tokens(pointer: &str) -> Result<Vec<String>, String> {
    let path = super::json::tokens(pointer).map_err(|e| e.to_string())?;
    if path.iter().any(String::is_empty) {
        return Err(format!(
            "{pointer:?}: an empty key in a YAML pointer is not supported"
        ));
    }
    Ok(path)
}

const BOM: char = '\u{feff}';

/// The one document of `text`; `None` for an empty file (or one of comments only).
fn document(text: &str) -> Result<Option<Node>, Refusal> {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    if text.contains('\0') {
        return Err(Shape::Nul.into());
    }
    let mut docs = tree::parse(text)?;
    match docs.len() {
        0 => Ok(None),
        1 => Ok(docs.pop()),
        n => Err(Shape::Documents(n).into()),
    }
}

/// The scalar at `pointer` as text (as written, for a plain scalar); `None` when absent.
pub fn get(text: &str, pointer: &str) -> Result<Option<String>, Refusal> {
    let path = tokens(pointer).map_err(Refusal::Key)?;
    let Some(root) = document(text)? else {
        return Ok(None);
    };
    match tree::find(&root, &path)? {
        Found::Scalar(node) => Ok(node.plain_text().map(str::to_string)),
        Found::Absent => Ok(None),
    }
}

/// `text` with the scalar at each pointer set to its value.
pub fn splice(text: &str, updates: &[(String, String)]) -> Result<String, Refusal> {
    // A byte order mark starts the stream, not the first key: it stays, outside the edit.
    if let Some(body) = text.strip_prefix(BOM) {
        return splice(body, updates).map(|new| format!("{BOM}{new}"));
    }
    for (pointer, value) in updates {
        tokens(pointer).map_err(Refusal::Key)?;
        if value.is_empty() {
            return Err(Refusal::Value(format!("{pointer}: an empty value")));
        }
    }
    // A new (empty) target starts as an empty mapping: its entries are added at column 0.
    let root = document(text)?;
    let file = YamlFile::from_str(text).map_err(|_| Shape::Disagree {
        at: "the document".into(),
        why: "the lossless parser cannot read it".into(),
    })?;
    for (pointer, value) in updates {
        let path = tokens(pointer).map_err(Refusal::Key)?;
        let found = match &root {
            Some(root) => tree::find(root, &path)?,
            None => Found::Absent,
        };
        let disagree = || -> Refusal {
            Shape::Disagree {
                at: pointer.clone(),
                why: "they find the key in different places".into(),
            }
            .into()
        };
        let old_style = match found {
            Found::Scalar(Node::Scalar { style, .. }) => Some(*style),
            _ => None,
        };
        let written = render(value, form(value, old_style));
        let (last, steps) = path.split_last().expect("one token at least");
        if root.is_none() {
            return top_level(text, updates);
        }
        let doc = file.documents().next().ok_or_else(disagree)?;
        let mut mapping = doc.as_mapping().ok_or_else(disagree)?;
        for step in steps {
            mapping = entry_value(&mapping, step)
                .ok_or_else(disagree)?
                .as_mapping()
                .cloned()
                .ok_or_else(disagree)?;
        }
        match found {
            Found::Scalar(node) => {
                if node.plain_text() == Some(value.as_str())
                    && (old_style != Some(TScalarStyle::Plain) || plain_ok(value))
                {
                    // An equal value stays as it is written (its escapes included).
                    continue;
                }
                match entry_value(&mapping, last).ok_or_else(disagree)? {
                    // An empty value (`password:`) is a scalar of no bytes right after the `:`.
                    YamlNode::Scalar(s) if s.value().is_empty() => {
                        s.set_value(&format!(" {written}"))
                    }
                    YamlNode::Scalar(s) => s.set_value(&written),
                    _ => return Err(disagree()),
                }
            }
            Found::Absent => {
                mapping.set(last.as_str(), "credshim-placeholder");
                let entry = entry(&mapping, last).ok_or_else(disagree)?;
                // Both written by the rules here, not by yaml-edit's own quoting.
                let (Some(YamlNode::Scalar(k)), Some(YamlNode::Scalar(v))) =
                    (entry.key_node(), entry.value_node())
                else {
                    return Err(disagree());
                };
                k.set_value(&render(last, form(last, None)));
                v.set_value(&written);
            }
        }
    }
    let new = file.to_string();
    verify(text, &new, updates).map_err(|why| Shape::Disagree {
        at: "the edit".into(),
        why,
    })?;
    Ok(new)
}

/// `text`, a file without a document (empty, or comments only), with a `key: value` line for
/// each update, every one a top-level key.
fn top_level(text: &str, updates: &[(String, String)]) -> Result<String, Refusal> {
    let mut lines = String::new();
    for (pointer, value) in updates {
        let path = tokens(pointer).map_err(Refusal::Key)?;
        let [key] = path.as_slice() else {
            return Err(Shape::NoMapping {
                at: pointer.clone(),
            }
            .into());
        };
        lines.push_str(&format!(
            "{}: {}\n",
            render(key, form(key, None)),
            render(value, form(value, None))
        ));
    }
    let new = format!("{text}{}{lines}", separator(text));
    verify(text, &new, updates).map_err(|why| Shape::Disagree {
        at: "the new file".into(),
        why,
    })?;
    Ok(new)
}

/// What goes before a line appended to `text`: a line ending when its last line has none.
fn separator(text: &str) -> &'static str {
    if text.is_empty() || text.ends_with('\n') {
        ""
    } else if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// The one entry of `mapping` whose key reads as `key`.
fn entry(mapping: &yaml_edit::Mapping, key: &str) -> Option<yaml_edit::MappingEntry> {
    let mut found = mapping
        .entries()
        .filter(|e| matches!(e.key_node(), Some(YamlNode::Scalar(s)) if s.as_string() == key));
    let entry = found.next()?;
    found.next().is_none().then_some(entry)
}

/// The value of the one entry of `mapping` whose key reads as `key`.
fn entry_value(mapping: &yaml_edit::Mapping, key: &str) -> Option<YamlNode> {
    entry(mapping, key)?.value_node()
}

/// Check that `new` is `old` with the scalar at each pointer set to its value as a string, and
/// every other node (value, style, tag, anchor, order) as it was.
pub fn verify(old: &str, new: &str, updates: &[(String, String)]) -> Result<(), String> {
    let old_doc = document(old).map_err(|_| "the old file is not YAML".to_string())?;
    let new_doc = document(new)
        .map_err(|_| "the new file is not YAML".to_string())?
        .ok_or("the new file holds no document")?;
    let mut intended = old_doc.unwrap_or(Node::Map {
        entries: Vec::new(),
        tag: None,
        anchor: 0,
    });
    let mut written = new_doc;
    for (pointer, value) in updates {
        let path = tokens(pointer)?;
        // `add`: the intended document, where the key may be added and the old value need not
        // be a string; else the written one, where it must read as one.
        let slot = |doc: &mut Node, add: bool| -> Result<(), String> {
            let (last, steps) = path.split_last().expect("one token at least");
            let mut node = doc;
            for step in steps {
                node = entries(node)?
                    .iter_mut()
                    .find(|(k, _)| k.plain_text() == Some(step))
                    .map(|(_, v)| v)
                    .ok_or_else(|| format!("{pointer} has no parent"))?;
            }
            let list = entries(node)?;
            match list.iter_mut().find(|(k, _)| k.plain_text() == Some(last)) {
                Some((_, v)) => set_string(v, value, !add),
                None if add => {
                    list.push((string(last), string(value)));
                    Ok(())
                }
                None => Err(format!("{pointer} is missing")),
            }
        };
        slot(&mut intended, true)?;
        // Styles of the written key and value are checked here, then made equal.
        slot(&mut written, false)?;
    }
    normalise_styles(&mut intended, updates)?;
    normalise_styles(&mut written, updates)?;
    if intended == written {
        Ok(())
    } else {
        Err("the new document differs from the intended one".into())
    }
}

fn entries(node: &mut Node) -> Result<&mut Vec<(Node, Node)>, String> {
    match node {
        Node::Map { entries, .. } => Ok(entries),
        _ => Err("a step is not a mapping".into()),
    }
}

fn string(value: &str) -> Node {
    Node::Scalar {
        value: value.to_string(),
        style: TScalarStyle::DoubleQuoted,
        tag: None,
        anchor: 0,
    }
}

/// Set `node` to the string `value`, after checking (with `check`) that what it holds reads as a
/// string in every reader: quoted, or plain only where [`plain_ok`] allows it.
fn set_string(node: &mut Node, value: &str, check: bool) -> Result<(), String> {
    let Node::Scalar {
        style, value: v, ..
    } = node
    else {
        return Err("not a scalar".into());
    };
    if check && *style == TScalarStyle::Plain && !plain_ok(v) {
        return Err("a value is written plain that some reader would not read as a string".into());
    }
    if check && v != value {
        return Err("a key does not hold its new value".into());
    }
    *v = value.to_string();
    Ok(())
}

/// The updated keys and values with one style, so that only their text is compared.
fn normalise_styles(doc: &mut Node, updates: &[(String, String)]) -> Result<(), String> {
    for (pointer, _) in updates {
        let path = tokens(pointer)?;
        let mut node = &mut *doc;
        for (i, step) in path.iter().enumerate() {
            let entry = entries(node)?
                .iter_mut()
                .find(|(k, _)| k.plain_text() == Some(step))
                .ok_or_else(|| format!("{pointer} is missing"))?;
            if i + 1 == path.len() {
                for n in [&mut entry.0, &mut entry.1] {
                    if let Node::Scalar { style, .. } = n {
                        *style = TScalarStyle::DoubleQuoted;
                    }
                }
                break;
            }
            node = &mut entry.1;
        }
    }
    Ok(())
}
