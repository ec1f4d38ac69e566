//! From a YAML node tree with positions to the typed protocol.
//!
//! serde stops at the first error and loses positions inside "one or many" values; a linter must
//! report every malformed node at its own line and column. So each model type decodes itself from
//! a node of the loader's tree (`super::tree`), pushing a diagnostic for each problem and
//! carrying on with the rest.
//!
//! The decoding is split by what is read: `fields` holds the decoder and the reading of any
//! mapping, `values` the scalars, lists and maps every section is made of, and `sections`,
//! `categories` and `states` the parts of a protocol file. This module reads the file's top
//! level.

mod categories;
mod fields;
mod gates;
mod sections;
mod states;
mod values;

use crate::protocol::tree::Node;

use super::model::*;
use crate::codes::Code;
use crate::span::{Span, Spanned, Str};
use fields::{truncate, Decode};

pub(crate) use fields::Decoder;
pub(crate) use values::is_id;

/// The top-level keys of a protocol file.
pub(crate) const TOP_LEVEL: &[&str] = &[
    "protocol",
    "version",
    "title",
    "doc",
    "templates",
    "roles",
    "channels",
    "vars",
    "job",
    "events",
    "categories",
    "uncategorized",
    "error_lines",
    "states",
    "timers",
    "transitions",
    "gates",
];

/// One item of the `transitions` list, which the loader decodes as the tree reads it.
pub(crate) fn transition(d: &mut Decoder, item: Node<'_>) -> Option<Transition> {
    let span = d.span_of(item);
    Transition::decode(d, item, span)
}

/// Decodes a whole protocol document, whose `transitions`, if the key is a list, were read
/// (by `transition`) as `transitions` and are not in the tree.
pub(crate) fn protocol(
    d: &mut Decoder,
    root: Node<'_>,
    transitions: Vec<Transition>,
) -> Option<ProtocolParts> {
    let at = Span::start_of_file();
    let f = d.fields(root, at, "a protocol", TOP_LEVEL)?;
    let id = f.req::<Spanned<Str>>(d, "protocol");
    if let Some(id) = &id {
        if !is_protocol_id(id.as_str()) {
            d.error_with_help(
                Code::P003,
                id.span,
                format!("`{}` is not a valid protocol id", truncate(id.as_str())),
                Some("a protocol id matches [a-z][a-z0-9_-]*".into()),
            );
        }
    }
    Some(ProtocolParts {
        id: id?,
        version: f.opt(d, "version"),
        title: f.opt(d, "title"),
        doc: f.opt(d, "doc"),
        templates: f.opt(d, "templates"),
        roles: f.or_default(d, "roles"),
        channels: f.or_default(d, "channels"),
        vars: f.or_default(d, "vars"),
        job: f.opt(d, "job"),
        events: f.or_default(d, "events"),
        categories: f.or_default(d, "categories"),
        uncategorized: f.opt(d, "uncategorized"),
        error_lines: f.or_default(d, "error_lines"),
        states: f.or_default(d, "states"),
        timers: f.or_default(d, "timers"),
        transitions: {
            // A list here is empty in the tree: its items are `transitions`. Anything else
            // is reported as it is.
            let listed: Vec<Transition> = f.or_default(d, "transitions");
            debug_assert!(listed.is_empty());
            transitions
        },
        gates: f.or_default(d, "gates"),
    })
}

fn is_protocol_id(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Everything of a protocol but its file and text.
pub(crate) struct ProtocolParts {
    pub id: Spanned<Str>,
    pub version: Option<Spanned<Str>>,
    pub title: Option<Spanned<Str>>,
    pub doc: Option<Spanned<Str>>,
    pub templates: Option<Spanned<Str>>,
    pub roles: Map<Role>,
    pub channels: Vec<Channel>,
    pub vars: Map<Var>,
    pub job: Option<Job>,
    pub events: Map<EventDef>,
    pub categories: Vec<Category>,
    pub uncategorized: Option<Uncategorized>,
    pub error_lines: Vec<Spanned<Str>>,
    pub states: Map<State>,
    pub timers: Vec<Timer>,
    pub transitions: Vec<Transition>,
    pub gates: Map<Gate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(is_id("code_translator"));
        assert!(is_id("p2"));
        assert!(!is_id("Watch"));
        assert!(!is_id("2p"));
        assert!(!is_id("a-b"));
        assert!(!is_id(""));
        assert!(is_protocol_id("phase5b"));
        assert!(is_protocol_id("phase-5b"));
    }
}
