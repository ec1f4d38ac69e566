//! A protocol file's YAML as a compact tree: every node in one array, scalars as ranges of the
//! file's text where they are written as they read, else of one string of the rest.
//!
//! The tree is built from yaml-rust2's events with no recursion, and holds no more than the
//! loader needs: a node's kind, its line and column as YAML reports them, and its children as a
//! range of the array. Anchors, aliases and tags are refused, as are keys that are not scalars
//! and keys given twice in one mapping; the first such problem is the one reported, unless the
//! text does not parse at all, which is reported instead.
//!
//! One top-level list can be streamed: its items are handed over as each is read and then
//! forgotten, so that a protocol's transitions, most of its nodes, are never all held at once.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::span::LineIndex;

/// A node's kind, with where its text or its children are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A scalar written as it reads (plain, or quoted with no escapes): `start..start + len`
    /// of the file's text, past any opening quote.
    Text { quoted: bool },
    /// A scalar that reads otherwise than it is written: a range of the tree's strings.
    Owned { quoted: bool },
    /// A sequence: its items are `start..start + len` of the nodes.
    Sequence,
    /// A mapping: its keys and values alternate in `start..start + 2 * len` of the nodes.
    Mapping,
}

/// One node, 20 bytes.
#[derive(Debug, Clone, Copy)]
struct Raw {
    line: u32,
    column: u32,
    start: u32,
    len: u32,
    kind: Kind,
}

/// A place as YAML reports it: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    pub line: u32,
    pub column: u32,
}

/// Why a text is not a tree a protocol can be read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TreeError {
    /// The document is not a mapping.
    NotAMapping(Place),
    /// An anchor or an alias.
    Anchor(Place),
    /// A mapping key that is a mapping or a sequence.
    KeyNotScalar(Place),
    /// A tag (`!name`).
    Tag(Place),
    /// The text is not YAML.
    Syntax(Place, String),
    /// Collections nested deeper than [`crate::nesting::MAX_DEPTH`]: where the one too deep
    /// opens.
    TooDeep(Place),
    /// A key given twice in one mapping.
    Duplicate {
        /// The key.
        key: String,
        /// Where it is given the second time.
        at: Place,
        /// The line it is first given on.
        first_line: u32,
    },
}

/// The tree of one YAML document.
#[derive(Debug)]
pub(crate) struct Tree<'s> {
    text: &'s str,
    nodes: Vec<Raw>,
    strings: String,
}

/// A node of a tree.
#[derive(Clone, Copy)]
pub(crate) struct Node<'t> {
    tree: &'t Tree<'t>,
    raw: &'t Raw,
}

/// What a node is.
pub(crate) enum Value<'t> {
    Scalar(Scalar<'t>),
    Sequence(Sequence<'t>),
    Mapping(Mapping<'t>),
}

/// A scalar node.
#[derive(Clone, Copy)]
pub(crate) struct Scalar<'t>(Node<'t>);

/// A sequence node.
#[derive(Clone, Copy)]
pub(crate) struct Sequence<'t>(Node<'t>);

/// A mapping node; its keys are scalars, each given once.
#[derive(Clone, Copy)]
pub(crate) struct Mapping<'t>(Node<'t>);

impl<'s> Tree<'s> {
    /// Reads the first document of `text`, whose lines `lines` indexes.
    #[cfg(test)]
    pub(crate) fn parse(text: &'s str, lines: &LineIndex) -> Result<Tree<'s>, TreeError> {
        Builder::new(text, lines, None).run()
    }

    /// Reads the first document of `text` as `parse` does, but hands each item of the list
    /// under the top-level key `key` to `each` as soon as the item is read, and keeps none of
    /// them: in the tree, that list is empty. A protocol's transitions are most of its nodes,
    /// and are decoded one by one this way instead of all being held, as nodes, at once.
    ///
    /// The items are handed over while the rest of the file is not read yet: when the text
    /// then turns out to be no tree, what `each` made of them is to be dropped.
    pub(crate) fn parse_streaming(
        text: &'s str,
        lines: &LineIndex,
        key: &str,
        each: &mut dyn FnMut(Node<'_>),
    ) -> Result<Tree<'s>, TreeError> {
        Builder::new(text, lines, Some(Stream { key, each })).run()
    }

    /// The document's root, a mapping.
    pub(crate) fn root(&self) -> Node<'_> {
        let raw = self.nodes.last().expect("a tree has a root");
        Node { tree: self, raw }
    }

    fn node(&self, index: usize) -> Node<'_> {
        Node {
            tree: self,
            raw: &self.nodes[index],
        }
    }

    fn scalar_str(&self, raw: &Raw) -> &str {
        scalar_text(self.text, &self.strings, raw)
    }
}

/// The text of scalar `raw`: a range of the file's `text`, or of the `strings` of the scalars
/// the file does not write as they read; empty for a collection.
fn scalar_text<'a>(text: &'a str, strings: &'a str, raw: &Raw) -> &'a str {
    let range = raw.start as usize..(raw.start + raw.len) as usize;
    match raw.kind {
        Kind::Text { .. } => &text[range],
        Kind::Owned { .. } => &strings[range],
        Kind::Sequence | Kind::Mapping => "",
    }
}

impl<'t> Node<'t> {
    /// What the node is.
    pub(crate) fn value(self) -> Value<'t> {
        match self.raw.kind {
            Kind::Text { .. } | Kind::Owned { .. } => Value::Scalar(Scalar(self)),
            Kind::Sequence => Value::Sequence(Sequence(self)),
            Kind::Mapping => Value::Mapping(Mapping(self)),
        }
    }

    /// The node's 1-based line.
    pub(crate) fn line(self) -> u32 {
        self.raw.line
    }

    /// The node's 1-based column, in characters.
    pub(crate) fn column(self) -> u32 {
        self.raw.column
    }

    fn children(self) -> impl ExactSizeIterator<Item = Node<'t>> {
        let tree = self.tree;
        let count = match self.raw.kind {
            Kind::Mapping => 2 * self.raw.len,
            _ => self.raw.len,
        };
        let start = self.raw.start as usize;
        (start..start + count as usize).map(move |i| tree.node(i))
    }
}

impl<'t> Scalar<'t> {
    /// The scalar's value.
    pub(crate) fn as_str(self) -> &'t str {
        self.0.tree.scalar_str(self.0.raw)
    }

    /// Whether it was written in quotes (so `""` is a string, not a null).
    pub(crate) fn is_quoted(self) -> bool {
        matches!(
            self.0.raw.kind,
            Kind::Text { quoted: true } | Kind::Owned { quoted: true }
        )
    }

    /// The node.
    pub(crate) fn node(self) -> Node<'t> {
        self.0
    }
}

impl<'t> Sequence<'t> {
    /// The items, in order.
    pub(crate) fn iter(self) -> impl ExactSizeIterator<Item = Node<'t>> {
        self.0.children()
    }
}

impl<'t> Mapping<'t> {
    /// The entries, in file order.
    pub(crate) fn iter(self) -> impl Iterator<Item = (Scalar<'t>, Node<'t>)> {
        let mut children = self.0.children();
        std::iter::from_fn(move || {
            let key = children.next()?;
            let value = children.next()?;
            Some((Scalar(key), value))
        })
    }

    /// The number of entries.
    pub(crate) fn len(self) -> usize {
        self.0.raw.len as usize
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// yaml-rust2 counts lines from 1 and columns from 0.
fn place(mark: Marker) -> Place {
    Place {
        line: to_u32(mark.line()),
        column: to_u32(mark.col() + 1),
    }
}

/// An open collection.
struct Open {
    mapping: bool,
    at: Place,
    /// Where its children start in `Builder::pending`.
    from: usize,
    /// A mapping's keys seen so far, with their lines, once it has more than a few (fewer are
    /// compared one by one).
    keys: Option<HashMap<String, u32>>,
    /// For the streamed list: the lengths of the nodes and strings before its first item,
    /// which each item's nodes and strings are cut back to once it is handed over.
    streamed: Option<(usize, usize)>,
}

/// The list whose items are handed over as they are read, not kept.
struct Stream<'k, 'f> {
    /// The top-level key it is under.
    key: &'k str,
    each: &'f mut dyn FnMut(Node<'_>),
}

/// How many keys a mapping compares one by one before it indexes them.
const LINEAR_KEYS: usize = 8;

struct Builder<'s, 'l, 'k, 'f> {
    parser: Parser<std::str::Chars<'s>>,
    text: &'s str,
    lines: &'l LineIndex,
    stream: Option<Stream<'k, 'f>>,
    /// Finished nodes, children before their parents.
    nodes: Vec<Raw>,
    /// Nodes whose parent is still open, the children of each open collection together.
    pending: Vec<Raw>,
    open: Vec<Open>,
    strings: String,
}

impl<'s, 'l, 'k, 'f> Builder<'s, 'l, 'k, 'f> {
    fn new(text: &'s str, lines: &'l LineIndex, stream: Option<Stream<'k, 'f>>) -> Self {
        Builder {
            parser: Parser::new_from_str(text),
            text,
            lines,
            stream,
            nodes: Vec::new(),
            pending: Vec::new(),
            open: Vec::new(),
            strings: String::new(),
        }
    }

    fn run(mut self) -> Result<Tree<'s>, TreeError> {
        let mut problem = None;
        // How deep the collections nest: too deep is reported before any other problem, as
        // the decoder, which recurses, is never to see it.
        let mut depth = 0usize;
        // Past the document's end (`...`) only the depth is counted: what follows is never
        // read into the tree, but must not nest too deep either.
        let mut ended = false;
        loop {
            let (event, mark) = match self.parser.next_token() {
                Ok(next) => next,
                Err(error) => {
                    // Text that is not YAML is refused for its brackets first (`nesting`).
                    if let Err(deep) = crate::nesting::brackets(self.text) {
                        return Err(TreeError::TooDeep(Place {
                            line: deep.line,
                            column: deep.column,
                        }));
                    }
                    if ended {
                        break;
                    }
                    let at = place(*error.marker());
                    return Err(TreeError::Syntax(at, error.info().to_owned()));
                }
            };
            match event {
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    depth += 1;
                    if depth > crate::nesting::MAX_DEPTH {
                        return Err(TreeError::TooDeep(place(mark)));
                    }
                }
                Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
                _ => {}
            }
            match event {
                Event::StreamEnd => break,
                // Only the first document is read (a second one is refused before).
                Event::DocumentEnd => ended = true,
                _ if ended || problem.is_some() => {}
                event => problem = self.event(event, place(mark)).err(),
            }
        }
        if let Some(problem) = problem {
            return Err(problem);
        }
        if self.pending.is_empty() {
            // An empty document is an empty mapping.
            self.pending.push(Raw {
                line: 1,
                column: 1,
                start: 0,
                len: 0,
                kind: Kind::Mapping,
            });
        }
        self.nodes.append(&mut self.pending);
        self.nodes.shrink_to_fit();
        self.strings.shrink_to_fit();
        Ok(Tree {
            text: self.text,
            nodes: self.nodes,
            strings: self.strings,
        })
    }

    /// Takes one event of the document. A tag on a collection is named before an anchor, an
    /// anchor on a scalar before a tag, and both before a misplaced node.
    fn event(&mut self, event: Event, at: Place) -> Result<(), TreeError> {
        let top = self.open.is_empty();
        let waiting_on_key = self
            .open
            .last()
            .is_some_and(|o| o.mapping && (self.pending.len() - o.from) % 2 == 0);
        match event {
            Event::MappingStart(anchor, tag) | Event::SequenceStart(anchor, tag)
                if tag.is_some() || anchor != 0 =>
            {
                Err(if tag.is_some() {
                    TreeError::Tag(at)
                } else {
                    TreeError::Anchor(at)
                })
            }
            Event::MappingStart(..) | Event::SequenceStart(..) if waiting_on_key => {
                Err(TreeError::KeyNotScalar(at))
            }
            Event::SequenceStart(..) if top => Err(TreeError::NotAMapping(at)),
            Event::MappingStart(..) => {
                self.open(true, at);
                Ok(())
            }
            Event::SequenceStart(..) => {
                self.open(false, at);
                Ok(())
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some(open) = self.open.pop() else {
                    return Ok(());
                };
                let start = to_u32(self.nodes.len());
                let children = self.pending.len() - open.from;
                self.nodes.extend(self.pending.drain(open.from..));
                let (len, kind) = if open.mapping {
                    (children / 2, Kind::Mapping)
                } else {
                    (children, Kind::Sequence)
                };
                self.push(Raw {
                    line: open.at.line,
                    column: open.at.column,
                    start,
                    len: to_u32(len),
                    kind,
                })
            }
            Event::Scalar(_, _, anchor, _) if anchor != 0 => Err(TreeError::Anchor(at)),
            Event::Scalar(_, _, _, Some(_)) => Err(TreeError::Tag(at)),
            Event::Scalar(..) if top => Err(TreeError::NotAMapping(at)),
            Event::Scalar(value, style, _, None) => {
                let raw = self.scalar(&value, style, at);
                self.push(raw)
            }
            // An alias names an anchor, which is refused where it is defined, before.
            Event::Alias(_) => Err(TreeError::Anchor(at)),
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => Ok(()),
        }
    }

    fn open(&mut self, mapping: bool, at: Place) {
        let streamed =
            (!mapping && self.is_streamed_key()).then_some((self.nodes.len(), self.strings.len()));
        self.open.push(Open {
            mapping,
            at,
            from: self.pending.len(),
            keys: None,
            streamed,
        });
    }

    /// Whether the node about to open is the value of the streamed top-level key.
    fn is_streamed_key(&self) -> bool {
        let (Some(stream), [root]) = (&self.stream, self.open.as_slice()) else {
            return false;
        };
        let entries = &self.pending[root.from..];
        entries.len() % 2 == 1
            && entries
                .last()
                .is_some_and(|key| scalar_text(self.text, &self.strings, key) == stream.key)
    }

    /// Hands `item`, just read, of the streamed list over, and forgets its nodes and strings.
    fn hand_over(&mut self, item: Raw, (nodes, strings): (usize, usize)) {
        let Some(stream) = &mut self.stream else {
            return;
        };
        self.nodes.push(item);
        let tree = Tree {
            text: self.text,
            nodes: std::mem::take(&mut self.nodes),
            strings: std::mem::take(&mut self.strings),
        };
        (stream.each)(tree.node(tree.nodes.len() - 1));
        self.nodes = tree.nodes;
        self.strings = tree.strings;
        self.nodes.truncate(nodes);
        self.strings.truncate(strings);
    }

    /// A scalar's node: a range of the text where the value is written there as it reads.
    fn scalar(&mut self, value: &str, style: TScalarStyle, at: Place) -> Raw {
        let quoted = matches!(
            style,
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted
        );
        let offset = self.lines.offset(self.text, at.line, at.column) + usize::from(quoted);
        let written = self.text.get(offset..offset + value.len()) == Some(value);
        let (start, kind) = if written {
            (offset, Kind::Text { quoted })
        } else {
            let start = self.strings.len();
            self.strings.push_str(value);
            (start, Kind::Owned { quoted })
        };
        Raw {
            line: at.line,
            column: at.column,
            start: to_u32(start),
            len: to_u32(value.len()),
            kind,
        }
    }

    /// Adds a finished node to its open parent; a mapping's value completes an entry, whose key
    /// must be new to the mapping.
    fn push(&mut self, raw: Raw) -> Result<(), TreeError> {
        if let Some(marks) = self.open.last().and_then(|top| top.streamed) {
            self.hand_over(raw, marks);
            return Ok(());
        }
        self.pending.push(raw);
        let Some(top) = self.open.last_mut() else {
            return Ok(());
        };
        let children = self.pending.len() - top.from;
        if !top.mapping || children % 2 != 0 {
            return Ok(());
        }
        let key = self.pending[self.pending.len() - 2];
        let text_of = |raw: &Raw| scalar_text(self.text, &self.strings, raw);
        let name = text_of(&key);
        let entries = children / 2;
        let first_line = if let Some(keys) = &mut top.keys {
            match keys.get(name) {
                Some(&line) => Some(line),
                None => {
                    keys.insert(name.to_owned(), key.line);
                    None
                }
            }
        } else {
            let earlier = &self.pending[top.from..self.pending.len() - 2];
            let found = earlier
                .iter()
                .step_by(2)
                .find(|k| text_of(k) == name)
                .map(|k| k.line);
            if found.is_none() && entries > LINEAR_KEYS {
                let mut keys: HashMap<String, u32> = earlier
                    .iter()
                    .step_by(2)
                    .map(|k| (text_of(k).to_owned(), k.line))
                    .collect();
                keys.insert(name.to_owned(), key.line);
                top.keys = Some(keys);
            }
            found
        };
        match first_line {
            Some(first_line) => Err(TreeError::Duplicate {
                key: name.to_owned(),
                at: Place {
                    line: key.line,
                    column: key.column,
                },
                first_line,
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Tree<'_>, TreeError> {
        Tree::parse(text, &LineIndex::new(text))
    }

    /// The node at `path` (keys of mappings, indexes of sequences as numbers) below the root.
    fn at<'t>(tree: &'t Tree<'t>, path: &[&str]) -> Node<'t> {
        path.iter()
            .fold(tree.root(), |node, step| match node.value() {
                Value::Mapping(map) => map.iter().find(|(k, _)| k.as_str() == *step).unwrap().1,
                Value::Sequence(items) => items.iter().nth(step.parse().unwrap()).unwrap(),
                Value::Scalar(_) => panic!("{step} below a scalar"),
            })
    }

    fn scalar<'t>(node: Node<'t>) -> (&'t str, bool, u32, u32) {
        let Value::Scalar(s) = node.value() else {
            panic!("not a scalar");
        };
        (s.as_str(), s.is_quoted(), node.line(), node.column())
    }

    #[test]
    fn nested_and_flow_nodes_are_placed_where_they_start() {
        let text = "a:\n  b: [x, { c: y }]\n  d:\n    - e\n    - f: g\n";
        let tree = parse(text).unwrap();
        let b = at(&tree, &["a", "b"]);
        assert_eq!((b.line(), b.column()), (2, 6));
        assert_eq!(scalar(at(&tree, &["a", "b", "0"])), ("x", false, 2, 7));
        let flow = at(&tree, &["a", "b", "1"]);
        assert_eq!((flow.line(), flow.column()), (2, 10));
        assert_eq!(
            scalar(at(&tree, &["a", "b", "1", "c"])),
            ("y", false, 2, 15)
        );
        assert_eq!(scalar(at(&tree, &["a", "d", "0"])), ("e", false, 4, 7));
        assert_eq!(
            scalar(at(&tree, &["a", "d", "1", "f"])),
            ("g", false, 5, 10)
        );
        let Value::Mapping(root) = tree.root().value() else {
            panic!("the root is a mapping");
        };
        assert_eq!(root.len(), 1);
        let Value::Sequence(d) = at(&tree, &["a", "d"]).value() else {
            panic!("d is a list");
        };
        assert_eq!(d.iter().len(), 2);
    }

    #[test]
    fn scalars_read_as_yaml_reads_them_and_borrow_the_text_when_they_can() {
        let text = "plain: some words\nsingle: 'it''s'\ndouble: \"tab\\there \\\"q\\\"\"\n\
                    same: \"as written\"\nliteral: |\n  one\n  two\nfolded: >\n  one\n  two\n\
                    empty: ''\nnull:\n";
        let tree = parse(text).unwrap();
        assert_eq!(scalar(at(&tree, &["plain"])), ("some words", false, 1, 8));
        assert_eq!(scalar(at(&tree, &["single"])), ("it's", true, 2, 9));
        assert_eq!(
            scalar(at(&tree, &["double"])),
            ("tab\there \"q\"", true, 3, 9)
        );
        assert_eq!(scalar(at(&tree, &["same"])), ("as written", true, 4, 7));
        assert_eq!(scalar(at(&tree, &["literal"])).0, "one\ntwo\n");
        assert_eq!(scalar(at(&tree, &["folded"])).0, "one two\n");
        assert_eq!(scalar(at(&tree, &["empty"])), ("", true, 11, 8));
        assert_eq!(scalar(at(&tree, &["null"])).0, "");
        // Only what reads otherwise than it is written is copied.
        assert_eq!(tree.strings, "it'stab\there \"q\"one\ntwo\none two\n");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "é: { ✅: \"ü\", b: c }\nx: [ñ, 'ö']\n";
        let tree = parse(text).unwrap();
        assert_eq!(scalar(at(&tree, &["é", "✅"])), ("ü", true, 1, 9));
        assert_eq!(scalar(at(&tree, &["é", "b"])), ("c", false, 1, 17));
        assert_eq!(scalar(at(&tree, &["x", "1"])), ("ö", true, 2, 8));
        assert!(tree.strings.is_empty(), "{}", tree.strings);
    }

    #[test]
    fn a_streamed_list_hands_its_items_over_as_read_and_keeps_none() {
        let text =
            "a: [x]\nt:\n  - { k: \"\\u00e9\", n: [1, 2] }\n  - plain\n  - []\nb: { t: [y] }\n";
        let lines = LineIndex::new(text);
        let mut items = Vec::new();
        let tree = Tree::parse_streaming(text, &lines, "t", &mut |item| {
            let read = match item.value() {
                Value::Mapping(map) => map
                    .iter()
                    .map(|(k, v)| match v.value() {
                        Value::Scalar(s) => format!("{}={}", k.as_str(), s.as_str()),
                        Value::Sequence(list) => format!("{}=[{}]", k.as_str(), list.iter().len()),
                        Value::Mapping(_) => unreachable!(),
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                Value::Scalar(s) => s.as_str().to_owned(),
                Value::Sequence(list) => format!("[{}]", list.iter().len()),
            };
            items.push((item.line(), item.column(), read));
        })
        .unwrap();
        assert_eq!(
            items,
            [
                (3, 5, "k=é,n=[2]".to_owned()),
                (4, 5, "plain".to_owned()),
                (5, 5, "[0]".to_owned())
            ]
        );
        // The list is empty in the tree; the rest is whole, a nested `t` included.
        let Value::Sequence(list) = at(&tree, &["t"]).value() else {
            panic!("t is a list");
        };
        assert_eq!(list.iter().len(), 0);
        assert_eq!(scalar(at(&tree, &["a", "0"])).0, "x");
        assert_eq!(scalar(at(&tree, &["b", "t", "0"])).0, "y");
        // Nothing of the items is left: no node, and not the string of the escaped scalar.
        assert_eq!(
            tree.nodes.len(),
            parse("a: [x]\nt: []\nb: { t: [y] }\n").unwrap().nodes.len()
        );
        assert!(tree.strings.is_empty(), "{}", tree.strings);
        // A problem past the list is still the parse's.
        let text = "t: [1]\nt: [2]\n";
        let lines = LineIndex::new(text);
        assert!(Tree::parse_streaming(text, &lines, "t", &mut |_| {}).is_err());
    }

    #[test]
    fn nesting_too_deep_is_refused_where_it_goes_too_deep_before_any_other_problem() {
        use crate::nesting::{nested, MAX_DEPTH};
        // Level MAX_DEPTH + 1 of the block form opens at character 2 * MAX_DEPTH + 1; the
        // root mapping and `t`'s list are two levels more.
        let text = format!("t:\n  - ok\n  - {}\n", nested(MAX_DEPTH, false));
        let lines = LineIndex::new(&text);
        let mut handed = 0;
        let deep = Tree::parse_streaming(&text, &lines, "t", &mut |_| handed += 1).unwrap_err();
        let column = 5 + 2 * (MAX_DEPTH - 2);
        assert_eq!(
            deep,
            TreeError::TooDeep(Place {
                line: 3,
                column: to_u32(column)
            })
        );
        assert_eq!(handed, 1, "the deep item is never handed over");
        assert!(parse(&format!("a:\n  {}", nested(MAX_DEPTH - 1, true))).is_ok());
        // Before a key given twice earlier, and, in text that is not YAML, by its brackets.
        let twice = format!("a: 1\na: 2\nb: {}", nested(MAX_DEPTH, true));
        assert!(matches!(parse(&twice), Err(TreeError::TooDeep(_))));
        let broken = format!("a: [1\nb: {}\n", nested(MAX_DEPTH + 1, true));
        assert!(matches!(parse(&broken), Err(TreeError::TooDeep(_))));
        assert!(matches!(parse("a: [1\nb: 2\n"), Err(TreeError::Syntax(..))));
        // Past the document's end, too deep is refused; what else is there is not read.
        let after_end = format!("a: 1\n...\n{}\n", nested(MAX_DEPTH + 1, true));
        assert!(matches!(parse(&after_end), Err(TreeError::TooDeep(_))));
        let tree = parse("a: 1\n...\n[1\n").unwrap();
        assert_eq!(scalar(at(&tree, &["a"])).0, "1");
    }

    #[test]
    fn a_key_given_twice_is_named_with_where_it_was_first() {
        assert_eq!(
            parse("a: 1\nb:\n  c: {}\n  c: []\n").unwrap_err(),
            TreeError::Duplicate {
                key: "c".into(),
                at: Place { line: 4, column: 3 },
                first_line: 3
            }
        );
        // Past the keys compared one by one, the index finds them as well.
        let mut text: String = (0..20).map(|i| format!("k{i}: {i}\n")).collect();
        text.push_str("k3: again\n");
        assert_eq!(
            parse(&text).unwrap_err(),
            TreeError::Duplicate {
                key: "k3".into(),
                at: Place {
                    line: 21,
                    column: 1
                },
                first_line: 4
            }
        );
        // Keys that read alike are alike, however they are written.
        assert!(matches!(
            parse("a: 1\n'a': 2\n").unwrap_err(),
            TreeError::Duplicate { .. }
        ));
        assert!(parse("a: { a: 1 }\nb: { a: 1 }\n").is_ok());
    }

    #[test]
    fn anchors_aliases_tags_and_collection_keys_are_refused_at_their_place() {
        let place = |line, column| Place { line, column };
        // A node is placed at its value, past its anchor or tag.
        assert_eq!(
            parse("a: &x 1\nb: *x\n").unwrap_err(),
            TreeError::Anchor(place(1, 7))
        );
        assert_eq!(
            parse("a:\n  b: !t 1\n").unwrap_err(),
            TreeError::Tag(place(2, 9))
        );
        assert_eq!(
            parse("a: 1\n? [b]\n: 2\n").unwrap_err(),
            TreeError::KeyNotScalar(place(2, 3))
        );
        assert_eq!(
            parse("- a\n").unwrap_err(),
            TreeError::NotAMapping(place(1, 1))
        );
        assert_eq!(
            parse("just text\n").unwrap_err(),
            TreeError::NotAMapping(place(1, 1))
        );
        // A syntax error anywhere is the one reported, even after another problem.
        assert!(matches!(
            parse("a: &x 1\nb: [c\n").unwrap_err(),
            TreeError::Syntax(..)
        ));
    }

    #[test]
    fn an_empty_document_is_an_empty_mapping() {
        for text in ["", "# only a comment\n"] {
            let tree = parse(text).unwrap();
            let Value::Mapping(map) = tree.root().value() else {
                panic!("{text:?} is a mapping");
            };
            assert_eq!(map.len(), 0);
        }
    }
}
