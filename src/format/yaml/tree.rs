//! The document as a strict YAML 1.2 parser (yaml-rust2) reads it: one tree per document, every
//! node with its tag, anchor and (for scalars) style. It decides whether a file is YAML at all,
//! answers [`super::Yaml::get`], finds what stands on the way to a key, and is what
//! [`super::verify`] compares. Messages give a line and column, never content.

use super::rules::Shape;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One node of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Scalar {
        value: String,
        style: TScalarStyle,
        /// The tag as written (`!!str`, `!secret`), if any.
        tag: Option<String>,
        /// The parser's anchor id, 0 for none.
        anchor: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        tag: Option<String>,
        anchor: usize,
    },
    Seq {
        items: Vec<Node>,
        tag: Option<String>,
        anchor: usize,
    },
    Alias(usize),
}

impl Node {
    /// Whether an anchor or a tag is set on this node, or it is an alias.
    pub fn decorated(&self) -> bool {
        match self {
            Node::Scalar { tag, anchor, .. }
            | Node::Map { tag, anchor, .. }
            | Node::Seq { tag, anchor, .. } => tag.is_some() || *anchor != 0,
            Node::Alias(_) => true,
        }
    }

    /// A scalar's text, when it is an undecorated scalar.
    pub fn plain_text(&self) -> Option<&str> {
        match self {
            Node::Scalar {
                value,
                tag: None,
                anchor: 0,
                ..
            } => Some(value),
            _ => None,
        }
    }
}

/// The deepest nesting of collections read. yaml-rust2 bounds flow collections itself, but its
/// loader recurses once per level of block collections: 3,000 levels overflowed the stack
/// (the run aborted, exit 134) in a debug build, far fewer in a thread with less stack.
pub const MAX_DEPTH: usize = 128;

/// Every document of `text`.
pub fn parse(text: &str) -> Result<Vec<Node>, Shape> {
    check_depth(text)?;
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut builder, true)
        .map_err(|e| Shape::NotYaml {
            line: e.marker().line(),
            column: e.marker().col() + 1,
        })?;
    Ok(builder.docs)
}

/// Refuse nesting deeper than [`MAX_DEPTH`], from the parser's events (an iterative state
/// machine) before its recursive loader sees them. A syntax error is left to the loader, which
/// reports it as it always has.
fn check_depth(text: &str) -> Result<(), Shape> {
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) | Err(_) => return Ok(()),
            Ok((Event::SequenceStart(..) | Event::MappingStart(..), mark)) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Shape::TooDeep {
                        line: mark.line(),
                        column: mark.col() + 1,
                    });
                }
            }
            Ok((Event::SequenceEnd | Event::MappingEnd, _)) => depth = depth.saturating_sub(1),
            Ok(_) => {}
        }
    }
}

#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    /// Open collections, innermost last.
    stack: Vec<Node>,
}

impl Builder {
    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(Node::Seq { items, .. }) => items.push(node),
            Some(Node::Map { entries, .. }) => match entries.last_mut() {
                // A key waiting for its value is stored as (key, Alias(usize::MAX)).
                Some((_, v)) if *v == Node::Alias(usize::MAX) => *v = node,
                _ => entries.push((node, Node::Alias(usize::MAX))),
            },
            _ => self.docs.push(node),
        }
    }
}

fn tag_text(tag: Option<yaml_rust2::parser::Tag>) -> Option<String> {
    tag.map(|t| format!("{}{}", t.handle, t.suffix))
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, _mark: Marker) {
        match ev {
            Event::Scalar(value, style, anchor, tag) => self.push(Node::Scalar {
                value,
                style,
                tag: tag_text(tag),
                anchor,
            }),
            Event::Alias(id) => self.push(Node::Alias(id)),
            Event::SequenceStart(anchor, tag) => self.stack.push(Node::Seq {
                items: Vec::new(),
                tag: tag_text(tag),
                anchor,
            }),
            Event::MappingStart(anchor, tag) => self.stack.push(Node::Map {
                entries: Vec::new(),
                tag: tag_text(tag),
                anchor,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(done) = self.stack.pop() {
                    self.push(done);
                }
            }
            _ => {}
        }
    }
}

/// Where a pointer leads in a document.
pub enum Found<'a> {
    /// The scalar that holds the key's value.
    Scalar(&'a Node),
    /// The key is absent from its mapping, which exists.
    Absent,
}

/// Follow `path` through mappings from the document's root: every mapping on the way
/// undecorated, with no merge key and the step's key once; the value an undecorated scalar.
pub fn find<'a>(root: &'a Node, path: &[String]) -> Result<Found<'a>, Shape> {
    let mut node = root;
    for (depth, step) in path.iter().enumerate() {
        let at = if depth == 0 {
            "the document".to_string()
        } else {
            format!("/{}", path[..depth].join("/"))
        };
        let Node::Map { entries, .. } = node else {
            return Err(Shape::NotMapping { at });
        };
        if node.decorated() {
            return Err(Shape::Decorated { at });
        }
        if entries.iter().any(|(k, _)| k.decorated()) {
            return Err(Shape::DecoratedKey { at });
        }
        if entries.iter().any(|(k, _)| {
            matches!(k, Node::Scalar { value, style: TScalarStyle::Plain, .. } if value == "<<")
        }) {
            return Err(Shape::Merge { at });
        }
        let matching: Vec<&Node> = entries
            .iter()
            .filter(|(k, _)| k.plain_text() == Some(step.as_str()))
            .map(|(_, v)| v)
            .collect();
        let at = format!("/{}", path[..=depth].join("/"));
        node = match matching.as_slice() {
            [] if depth + 1 == path.len() => return Ok(Found::Absent),
            [] => return Err(Shape::Missing { at }),
            [one] => one,
            more => {
                return Err(Shape::Duplicate {
                    at,
                    times: more.len(),
                });
            }
        };
        if node.decorated() {
            return Err(Shape::Decorated { at });
        }
    }
    match node {
        Node::Scalar { .. } => Ok(Found::Scalar(node)),
        _ => Err(Shape::NotScalar {
            at: format!("/{}", path.join("/")),
        }),
    }
}
