//! Setting string members of a JSON target: pure text in, text out.
//!
//! KEY is an RFC 6901 pointer into the target (`~1` is `/`, `~0` is `~`). Every step but the last
//! must exist (object members or array indices); the last step's parent must be an object, and
//! the member is created, at the end, when absent. The edit goes through jsonc-parser's concrete
//! syntax tree, so member order, indentation (2 or 4 spaces, tabs, compact), spacing, number
//! spellings and the final newline stay exactly as the file had them; the file itself must be
//! strict JSON (serde_json decides). [`verify`] re-parses the result and compares the whole
//! document with the intended one.

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstNode, CstObject, CstRootNode};
use serde_json::Value;

use super::{Refusal, Spliced, Syntax};

/// The JSON format in the registry of [`super::Format`].
pub(super) struct Json;

impl Syntax for Json {
    fn extensions(&self) -> &'static [&'static str] {
        &["json"]
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

impl From<JsonError> for Refusal {
    fn from(e: JsonError) -> Refusal {
        let why = e.to_string();
        match e {
            JsonError::NotPointer(_) => Refusal::Key(why),
            JsonError::Invalid(_) | JsonError::Path { .. } => Refusal::File(why),
        }
    }
}

/// Why a JSON target cannot be edited (exit 65), or a key is not a pointer (exit 64).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JsonError {
    #[error("not valid JSON: {0}")]
    Invalid(String),
    #[error("{pointer}: {reason}")]
    Path { pointer: String, reason: String },
    #[error("{0:?} is not a JSON pointer (it must start with /)")]
    NotPointer(String),
}

/// The unescaped reference tokens of `pointer`.
pub fn tokens(pointer: &str) -> Result<Vec<String>, JsonError> {
    let rest = pointer
        .strip_prefix('/')
        .ok_or_else(|| JsonError::NotPointer(pointer.to_string()))?;
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn parse(text: &str) -> Result<Value, JsonError> {
    // serde_json's message names a line and column, never content.
    serde_json::from_str(text).map_err(|e| JsonError::Invalid(e.to_string()))
}

/// The string (or number) at `pointer`; `None` when absent. A pointer whose parent is not an
/// object that exists is an error, so that a run refuses such a target before minting.
pub fn get(text: &str, pointer: &str) -> Result<Option<String>, JsonError> {
    let path = tokens(pointer)?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let doc = parent_of(&parse(text)?, &path).cloned();
    let Some(Value::Object(members)) = doc else {
        return Err(JsonError::Path {
            pointer: pointer.to_string(),
            reason: "its parent is not an object that exists".into(),
        });
    };
    Ok(
        match members.get(path.last().expect("one token at least")) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        },
    )
}

/// The value that holds the last token of `path`, following objects and array indices.
fn parent_of<'a>(doc: &'a Value, path: &[String]) -> Option<&'a Value> {
    path[..path.len() - 1]
        .iter()
        .try_fold(doc, |node, step| match node {
            Value::Object(m) => m.get(step),
            Value::Array(a) => step.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        })
}

/// `text` with the string member at each pointer set to its value.
pub fn splice(text: &str, updates: &[(String, String)]) -> Result<String, JsonError> {
    for (pointer, _) in updates {
        tokens(pointer)?;
    }
    // A new (empty) target starts as an empty object.
    let source = if text.trim().is_empty() { "{}\n" } else { text };
    parse(source)?;
    let root = CstRootNode::parse(source, &ParseOptions::default())
        .map_err(|e| JsonError::Invalid(e.to_string()))?;
    for (pointer, value) in updates {
        let path = tokens(pointer)?;
        let (last, steps) = path.split_last().expect("split always yields a token");
        let parent = walk(&root, steps).map_err(|reason| JsonError::Path {
            pointer: pointer.clone(),
            reason,
        })?;
        refuse_duplicate(&parent, last).map_err(|reason| JsonError::Path {
            pointer: pointer.clone(),
            reason,
        })?;
        let new = CstInputValue::String(value.clone());
        match parent.get(last) {
            Some(prop) => {
                let unchanged = prop
                    .value()
                    .and_then(|v| v.as_string_lit())
                    .and_then(|s| s.decoded_value().ok())
                    .is_some_and(|old| old == *value);
                // Rewriting an equal value could still change its escapes: leave it alone.
                if !unchanged {
                    prop.set_value(new);
                }
            }
            None => {
                parent.append(last, new);
            }
        }
    }
    Ok(root.to_string())
}

/// The object that `steps` lead to from the root.
fn walk(root: &CstRootNode, steps: &[String]) -> Result<CstObject, String> {
    let mut node = root.value().ok_or("the file holds no value")?;
    for (depth, step) in steps.iter().enumerate() {
        let at = || format!("/{}", steps[..=depth].join("/"));
        node = match &node {
            CstNode::Container(_) if node.as_object().is_some() => {
                let obj = node.as_object().expect("checked");
                refuse_duplicate(&obj, step)?;
                obj.get(step)
                    .and_then(|p| p.value())
                    .ok_or_else(|| format!("{} does not exist", at()))?
            }
            CstNode::Container(_) if node.as_array().is_some() => {
                let arr = node.as_array().expect("checked");
                step.parse::<usize>()
                    .ok()
                    .and_then(|i| arr.elements().into_iter().nth(i))
                    .ok_or_else(|| format!("{} does not exist", at()))?
            }
            _ => return Err(format!("{} is not an object or array", at())),
        };
    }
    node.as_object()
        .ok_or_else(|| "its parent is not an object".to_string())
}

/// Refuse a member name that appears twice in `obj`: serde_json keeps the last, other readers
/// the first, so which one to set is a guess.
fn refuse_duplicate(obj: &CstObject, name: &str) -> Result<(), String> {
    let count = obj
        .properties()
        .iter()
        .filter(|p| p.decoded_name().as_deref() == Some(name))
        .count();
    if count > 1 {
        return Err(format!(
            "member {name:?} appears {count} times in one object"
        ));
    }
    Ok(())
}

/// Check that `new` parses and equals `old` with the updates applied, as whole documents.
pub fn verify(old: &str, new: &str, updates: &[(String, String)]) -> Result<(), String> {
    let mut intended = if old.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        parse(old).map_err(|e| e.to_string())?
    };
    for (pointer, value) in updates {
        let path = tokens(pointer).map_err(|e| e.to_string())?;
        let (last, steps) = path.split_last().expect("split always yields a token");
        let mut node = &mut intended;
        for step in steps {
            node = match node {
                Value::Object(m) => m.get_mut(step),
                Value::Array(a) => step.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
                _ => None,
            }
            .ok_or_else(|| format!("{pointer} has no parent"))?;
        }
        let Value::Object(parent) = node else {
            return Err(format!("{pointer}'s parent is not an object"));
        };
        parent.insert(last.clone(), Value::String(value.clone()));
    }
    let written = parse(new).map_err(|_| "the new file is not valid JSON".to_string())?;
    if written == intended {
        Ok(())
    } else {
        Err("the new document differs from the intended one".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, pointer: &str, value: &str) -> String {
        let updates = [(pointer.to_string(), value.to_string())];
        let new = splice(text, &updates).unwrap();
        verify(text, &new, &updates).unwrap();
        new
    }

    #[test]
    fn indentation_styles_and_order_are_kept() {
        let two = "{\n  \"db\": {\n    \"user\": \"app\",\n    \"password\": \"old\",\n    \"port\": 5432.0\n  },\n  \"z\": 1\n}\n";
        assert_eq!(
            set(two, "/db/password", "new"),
            two.replace("\"old\"", "\"new\"")
        );
        let four = two.replace("  ", "    ");
        assert_eq!(
            set(&four, "/db/password", "new"),
            four.replace("\"old\"", "\"new\"")
        );
        let tabs = two.replace("  ", "\t");
        assert_eq!(
            set(&tabs, "/db/password", "new"),
            tabs.replace("\"old\"", "\"new\"")
        );
        let compact = r#"{"db":{"user":"app","password":"old"},"z":1}"#;
        assert_eq!(
            set(compact, "/db/password", "new"),
            r#"{"db":{"user":"app","password":"new"},"z":1}"#
        );
    }

    #[test]
    fn absent_members_are_created_in_the_files_style() {
        let two = "{\n  \"db\": {\n    \"user\": \"app\"\n  }\n}\n";
        assert_eq!(
            set(two, "/db/password", "p"),
            "{\n  \"db\": {\n    \"user\": \"app\",\n    \"password\": \"p\"\n  }\n}\n"
        );
        let tabs = "{\n\t\"user\": \"app\"\n}";
        assert_eq!(
            set(tabs, "/password", "p"),
            "{\n\t\"user\": \"app\",\n\t\"password\": \"p\"\n}"
        );
        assert_eq!(set("", "/token", "t"), "{\n  \"token\": \"t\"\n}\n");
    }

    #[test]
    fn escapes_pointers_and_arrays() {
        let text = r#"{"a/b":{"m~n":"x"},"list":[{"pw":"old"}]}"#;
        assert_eq!(
            set(text, "/a~1b/m~0n", "y"),
            r#"{"a/b":{"m~n":"y"},"list":[{"pw":"old"}]}"#
        );
        assert_eq!(
            set(text, "/list/0/pw", "new"),
            r#"{"a/b":{"m~n":"x"},"list":[{"pw":"new"}]}"#
        );
        let tricky = "q\"b\\s\nl\u{1}";
        let new = set("{}", "/k", tricky);
        assert_eq!(get(&new, "/k").unwrap().as_deref(), Some(tricky));
    }

    #[test]
    fn refusals() {
        let text = r#"{"db":"flat","list":[1]}"#;
        for (pointer, code) in [
            ("/db/password", "Path"),
            ("/list/0", "Path"),
            ("/nope/x", "Path"),
        ] {
            let err = splice(text, &[(pointer.into(), "v".into())]).unwrap_err();
            assert!(
                matches!(err, JsonError::Path { .. }),
                "{pointer}: {err} ({code})"
            );
        }
        assert!(matches!(
            splice("{\"a\":1,}", &[("/a".into(), "v".into())]),
            Err(JsonError::Invalid(_))
        ));
        assert!(matches!(
            splice("// c\n{}", &[("/a".into(), "v".into())]),
            Err(JsonError::Invalid(_))
        ));
        assert!(matches!(
            splice("{}", &[("a".into(), "v".into())]),
            Err(JsonError::NotPointer(_))
        ));
    }

    #[test]
    fn an_equal_value_is_left_byte_identical() {
        let text = r#"{"k":"caf\u00e9"}"#;
        assert_eq!(splice(text, &[("/k".into(), "café".into())]).unwrap(), text);
    }

    #[test]
    fn verify_catches_a_changed_neighbour() {
        let old = r#"{"a":"1","b":"2"}"#;
        let updates = [("/a".to_string(), "9".to_string())];
        assert!(verify(old, r#"{"a":"9","b":"2"}"#, &updates).is_ok());
        assert!(verify(old, r#"{"a":"9","b":"3"}"#, &updates).is_err());
        assert!(verify(old, r#"{"a":"8","b":"2"}"#, &updates).is_err());
    }
}
