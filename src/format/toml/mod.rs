//! Setting string values of a TOML target: pure text in, text out.
//!
//! KEY is an RFC 6901 pointer (`/database/password`) through tables, dotted keys and inline
//! tables; an array (of tables or inline) on the way needs an explicit index
//! (`/servers/0/password`). The edit goes through toml_edit's format-preserving document: only the
//! value's bytes change, or one `key = "value"` line is added to the table that holds the key. A
//! missing table is created as a `[table]` header at the end of the file (as INI files get a
//! missing section), but never inside an inline table, a dotted key or an array. A value that is
//! not a string is never replaced. The string form is chosen by [`quote::form`]; every refusal
//! comes from [`rules::Rule`]. [`verify`] parses the new text again and compares the whole
//! document with the intended one. docs/formats/toml.md has the reader evidence.

#[cfg(test)]
mod proptests;
mod quote;
mod rules;
#[cfg(test)]
mod tests;
mod verify;

pub use rules::Rule;
pub use verify::verify;

use super::{Refusal, Spliced, Syntax};
use quote::{OldStyle, encode, form};
use toml_edit::{DocumentMut, Item, Table, TableLike, Value};

/// The TOML format in the registry of [`super::Format`].
pub(super) struct Toml;

impl Syntax for Toml {
    fn max_len(&self) -> Option<usize> {
        // 1 MiB of `[tN]` tables took 110 MB to edit (16 MiB took 3.2 GB); a config is KiBs.
        Some(1 << 20)
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["toml"]
    }

    fn check_key(&self, key: &str) -> Result<(), String> {
        tokens(key).map(|_| ()).map_err(|e| e.to_string())
    }

    fn get(&self, text: &str, key: &str) -> Result<Option<String>, Refusal> {
        get(text, key).map_err(Refusal::from)
    }

    fn splice(&self, text: &str, updates: &[(String, String)]) -> Result<Spliced, Refusal> {
        let text = splice(text, updates).map_err(Refusal::from)?;
        Ok(Spliced {
            text,
            warnings: Vec::new(),
        })
    }

    fn verify(&self, old: &str, new: &str, updates: &[(String, String)]) -> Result<(), String> {
        verify(old, new, updates)
    }
}

/// The unescaped reference tokens of `pointer` (`~1` is `/`, `~0` is `~`).
pub fn tokens(pointer: &str) -> Result<Vec<String>, Rule> {
    super::json::tokens(pointer).map_err(|_| Rule::NotPointer(pointer.to_string()))
}

/// How a file ends its lines, which toml_edit does not keep: it writes every line it touches
/// with LF, and always ends the last one.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// Every line ends in CRLF.
    crlf: bool,
    /// The last line ends (or the file is empty).
    final_newline: bool,
}

impl Shape {
    fn of(text: &str) -> Shape {
        let lf = text.matches('\n').count();
        Shape {
            crlf: lf > 0 && text.matches("\r\n").count() == lf,
            final_newline: text.is_empty() || text.ends_with('\n'),
        }
    }

    /// `doc` written in this shape; `added`: an entry was added, which ends the last line.
    fn render(self, doc: &DocumentMut, added: bool) -> String {
        let mut new = doc.to_string();
        if !self.final_newline && !added && new.ends_with('\n') {
            new.pop();
        }
        if !self.crlf {
            return new;
        }
        let mut out = String::with_capacity(new.len() + new.len() / 16);
        let mut prev = '\0';
        for c in new.chars() {
            if c == '\n' && prev != '\r' {
                out.push('\r');
            }
            out.push(c);
            prev = c;
        }
        out
    }
}

/// `text` parsed by toml_edit, refused unless it would be written back byte for byte (in its
/// [`Shape`]).
fn parse(text: &str) -> Result<(DocumentMut, Shape), Rule> {
    if text.starts_with('\u{feff}') {
        return Err(Rule::ByteOrderMark);
    }
    let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        // The error's Display quotes the line, which may hold a secret: line and message only.
        let line = e
            .span()
            .map_or(1, |s| 1 + text[..s.start].matches('\n').count());
        Rule::Invalid {
            line,
            // One line: the run's failure is one line on stderr.
            message: e.message().split_whitespace().collect::<Vec<_>>().join(" "),
        }
    })?;
    let shape = Shape::of(text);
    if shape.render(&doc, false) != text {
        return Err(Rule::NotPreserved);
    }
    Ok((doc, shape))
}

/// The string at `pointer`; `None` when it (or a table on the way) is absent. Whatever a splice
/// of the key would refuse on the way is refused here too.
pub fn get(text: &str, pointer: &str) -> Result<Option<String>, Rule> {
    let path = tokens(pointer)?;
    let (mut doc, _) = parse(text)?;
    let (last, steps) = path.split_last().expect("a pointer has one token at least");
    let Some((parent, _)) = walk(doc.as_table_mut(), steps, None)? else {
        return Ok(None);
    };
    match parent.get(last) {
        None | Some(Item::None) => Ok(None),
        Some(Item::Value(Value::String(s))) => Ok(Some(s.value().clone())),
        Some(other) => Err(Rule::NotAString {
            pointer: pointer.to_string(),
            kind: rules::kind(other.type_name()),
        }),
    }
}

/// `text` with the string at each pointer set to its value.
pub fn splice(text: &str, updates: &[(String, String)]) -> Result<String, Rule> {
    let paths = updates
        .iter()
        .map(|(pointer, _)| tokens(pointer))
        .collect::<Result<Vec<_>, _>>()?;
    let (mut doc, shape) = parse(text)?;
    let mut next_position = last_position(doc.as_table()) + 1;
    let mut added = false;
    for ((pointer, value), path) in updates.iter().zip(&paths) {
        let (last, steps) = path.split_last().expect("a pointer has one token at least");
        let (parent, inline) = walk(doc.as_table_mut(), steps, Some(&mut next_position))?
            .expect("walk creates what is missing");
        added |= set(parent, inline, pointer, last, value)?;
    }
    Ok(shape.render(&doc, added))
}

/// Set `key` of `table` to `value`: the old string rewritten in place (its spacing and comment
/// kept), or a new entry at the end of the table, indented as the entry before it. Whether an
/// entry was added.
fn set(
    table: &mut dyn TableLike,
    inline: bool,
    pointer: &str,
    key: &str,
    value: &str,
) -> Result<bool, Rule> {
    let indent = table
        .iter()
        .last()
        .and_then(|(k, _)| table.key(k))
        .and_then(|k| k.leaf_decor().prefix().and_then(|p| p.as_str()))
        .filter(|p| p.chars().all(|c| c == ' ' || c == '\t'))
        .map(str::to_owned);
    match table.get_mut(key) {
        Some(Item::Value(Value::String(old))) => {
            // Rewriting an equal value could still change its spelling: leave it alone.
            if old.value() != value {
                let raw = old
                    .as_repr()
                    .and_then(|r| r.as_raw().as_str())
                    .unwrap_or("\"");
                let mut new = string_value(value, Some(OldStyle::of(raw)));
                *new.decor_mut() = old.decor().clone();
                *table.get_mut(key).expect("present") = Item::Value(new);
            }
            Ok(false)
        }
        None | Some(Item::None) => {
            let mut new = string_value(value, None);
            // In an inline table the space before `}` belongs to the last value: it moves to the
            // new last one (`{ a = 1, k = "v" }`, not `{ a = 1 , k = "v" }`).
            if let Some((_, Item::Value(last))) = table.iter_mut().last().filter(|_| inline)
                && let Some(suffix) = last.decor().suffix().and_then(|s| s.as_str())
            {
                let suffix = suffix.to_owned();
                last.decor_mut().set_suffix("");
                new.decor_mut().set_suffix(suffix);
            }
            table.insert(key, Item::Value(new));
            if let (Some(indent), Some(mut k)) = (indent, table.key_mut(key)) {
                k.leaf_decor_mut().set_prefix(indent);
            }
            Ok(true)
        }
        Some(other) => Err(Rule::NotAString {
            pointer: pointer.to_string(),
            kind: rules::kind(other.type_name()),
        }),
    }
}

/// `value` as a TOML string value spelled in the form [`quote::form`] picks.
fn string_value(value: &str, old: Option<OldStyle>) -> Value {
    encode(value, form(value, old))
        .parse()
        .expect("an encoded string is a TOML value")
}

/// The table that `steps` lead to from `root`, and whether it is an inline table. A missing
/// table is created (`create` holds the document position the next created header takes) where
/// a `[header]` can hold it, or is `Ok(None)` when nothing may be created.
fn walk<'a>(
    root: &'a mut Table,
    steps: &[String],
    mut create: Option<&mut isize>,
) -> Result<Option<(&'a mut dyn TableLike, bool)>, Rule> {
    let mut node: &'a mut dyn TableLike = root;
    // Whether `node` is a standard table (the root, a `[header]`), where tables may be created.
    let mut standard = true;
    let mut inline = false;
    let mut i = 0;
    while i < steps.len() {
        let step = &steps[i];
        let at = || pointer_of(&steps[..=i]);
        if !node.contains_key(step) {
            let Some(position) = create.as_deref_mut() else {
                return Ok(None);
            };
            if !standard {
                return Err(Rule::CannotCreate { at: at() });
            }
            let mut table = Table::new();
            if i + 1 == steps.len() {
                table.set_position(Some(*position));
                *position += 1;
            } else {
                table.set_implicit(true);
            }
            node.insert(step, Item::Table(table));
        }
        let index = |i: usize| steps.get(i).and_then(|s| s.parse::<usize>().ok());
        node = match node.get_mut(step).expect("present or just created") {
            Item::Table(t) => {
                standard = !t.is_dotted();
                inline = false;
                i += 1;
                t
            }
            Item::Value(Value::InlineTable(t)) => {
                standard = false;
                inline = true;
                i += 1;
                t
            }
            Item::ArrayOfTables(a) => {
                let Some(n) = index(i + 1) else {
                    return Err(Rule::ArrayOfTables { at: at() });
                };
                let element = pointer_of(&steps[..i + 2]);
                standard = true;
                inline = false;
                i += 2;
                a.get_mut(n).ok_or(Rule::NoSuchElement { at: element })?
            }
            Item::Value(Value::Array(a)) => {
                let element = pointer_of(&steps[..(i + 2).min(steps.len())]);
                let n = index(i + 1).ok_or_else(|| Rule::NoSuchElement {
                    at: element.clone(),
                })?;
                standard = false;
                inline = true;
                i += 2;
                match a.get_mut(n) {
                    Some(Value::InlineTable(t)) => t,
                    Some(other) => {
                        return Err(Rule::NotATable {
                            at: element,
                            kind: rules::kind(other.type_name()),
                        });
                    }
                    None => return Err(Rule::NoSuchElement { at: element }),
                }
            }
            other => {
                return Err(Rule::NotATable {
                    at: at(),
                    kind: rules::kind(other.type_name()),
                });
            }
        };
    }
    Ok(Some((node, inline)))
}

/// The pointer spelling of `steps`, for messages.
fn pointer_of(steps: &[String]) -> String {
    steps
        .iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// The largest document position of any table header in `table`, so that a created table goes
/// after all of them: at the end of the file.
fn last_position(table: &Table) -> isize {
    let own = table.position().unwrap_or(0);
    table
        .iter()
        .map(|(_, item)| match item {
            Item::Table(t) => last_position(t),
            Item::ArrayOfTables(a) => a.iter().map(last_position).max().unwrap_or(0),
            _ => 0,
        })
        .fold(own, isize::max)
}
