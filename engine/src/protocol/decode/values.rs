//! Values that are not sections of a protocol: strings, booleans, lists, "one or many", maps
//! keyed by id, keywords (types, severities, effects) and free-form JSON values (defaults and
//! fields).
//!
//! They are the leaves every section is built of, kept apart from the sections so that each
//! kind of value is read, and its errors worded, in one place.

use crate::protocol::tree::{Node, Value};

use super::fields::{describe, truncate, Decode, Decoder};
use crate::codes::Code;
use crate::protocol::model::*;
use crate::span::{Span, Spanned, Str};
use crate::suggest;
use smallvec::SmallVec;
use thin_vec::ThinVec;

fn scalar<'n>(d: &mut Decoder, node: Node<'n>, at: Span, expected: &str) -> Option<&'n str> {
    match node.value() {
        Value::Scalar(s) => Some(s.as_str()),
        _ => {
            d.error(
                Code::P003,
                at,
                format!("expected {expected}, found {}", describe(node)),
            );
            None
        }
    }
}

impl Decode for Str {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let text = scalar(d, node, at, "a string")?;
        Some(d.string(text))
    }
}

impl Decode for bool {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        match scalar(d, node, at, "true or false")? {
            "true" => Some(true),
            "false" => Some(false),
            other => {
                d.error(
                    Code::P003,
                    at,
                    format!("expected true or false, found `{}`", truncate(other)),
                );
                None
            }
        }
    }
}

impl<T: Decode> Decode for Spanned<T> {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        T::decode(d, node, at).map(|value| Spanned::new(value, at))
    }
}

/// The items of a list, each decoded, handed to `collect`; a node that is no list is reported.
fn list<T: Decode, C>(
    d: &mut Decoder,
    node: Node<'_>,
    at: Span,
    collect: impl FnOnce(&mut dyn Iterator<Item = T>) -> C,
) -> Option<C> {
    match node.value() {
        Value::Sequence(items) => Some(collect(&mut items.iter().filter_map(|item| {
            let span = d.span_of(item);
            T::decode(d, item, span)
        }))),
        _ => {
            d.error(
                Code::P003,
                at,
                format!("expected a list, found {}", describe(node)),
            );
            None
        }
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        list(d, node, at, |items| exact(items))
    }
}

/// The lists of a transition, mostly empty: an empty one is a pointer, with no allocation.
impl<T: Decode> Decode for ThinVec<T> {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        list(d, node, at, |items| {
            let mut vec = ThinVec::with_capacity(items.size_hint().1.unwrap_or(0));
            vec.extend(items);
            vec.shrink_to_fit();
            vec
        })
    }
}

impl<T: Decode> Decode for OneOrMany<T> {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        match node.value() {
            Value::Sequence(_) => list(d, node, at, |items| {
                let mut many: SmallVec<[T; 1]> = items.collect();
                many.shrink_to_fit();
                OneOrMany(many)
            }),
            _ => T::decode(d, node, at).map(|one| OneOrMany(smallvec::smallvec![one])),
        }
    }
}

/// The items of a list, in a vector of their number: the items of a protocol are many, and
/// most lists short, so room for more would add up.
fn exact<T>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut vec = Vec::with_capacity(items.size_hint().1.unwrap_or(0));
    vec.extend(items);
    vec.shrink_to_fit();
    vec
}

/// Ids of roles, states, events, vars, fields and categories: usable as template names.
pub(crate) fn is_id(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl<T: Decode> Decode for Map<T> {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        map(d, node, at, true)
    }
}

impl Decode for Columns {
    // Column names are the table's, whatever they are (`hdi_3%`, `Unnamed: 0`).
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        map(d, node, at, false).map(Columns)
    }
}

/// A mapping of keys to `T`s; with `ids`, every key must be an id.
fn map<T: Decode>(d: &mut Decoder, node: Node<'_>, at: Span, ids: bool) -> Option<Map<T>> {
    {
        let map = match node.value() {
            Value::Mapping(map) => map,
            _ => {
                d.error(
                    Code::P003,
                    at,
                    format!("expected a mapping, found {}", describe(node)),
                );
                return None;
            }
        };
        let mut entries = Vec::with_capacity(map.len());
        for (key, value) in map.iter() {
            let key_span = d.scalar_span(key);
            if ids && !is_id(key.as_str()) {
                d.error_with_help(
                    Code::P003,
                    key_span,
                    format!("`{}` is not a valid id", truncate(key.as_str())),
                    Some(
                        "ids are lowercase letters, digits and `_`, starting with a letter".into(),
                    ),
                );
            }
            let span = if d.is_null(value) {
                key_span
            } else {
                d.span_of(value)
            };
            if let Some(value) = T::decode(d, value, span) {
                let key = d.string(key.as_str());
                entries.push((Spanned::new(key, key_span), value));
            }
        }
        Some(entries.into_iter().collect())
    }
}

macro_rules! keyword_enum {
    ($ty:ty, $what:literal, { $($word:literal => $variant:expr,)* }) => {
        impl Decode for $ty {
            fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
                const WORDS: &[&str] = &[$($word,)*];
                let text = scalar(d, node, at, $what)?;
                match text {
                    $($word => Some($variant),)*
                    other => {
                        d.error_with_help(
                            Code::P003,
                            at,
                            format!("`{}` is not {}", truncate(other), $what),
                            suggest::help(other, WORDS),
                        );
                        None
                    }
                }
            }
        }
    };
}

keyword_enum!(ValueType, "a type", {
    "string" => ValueType::String,
    "integer" => ValueType::Integer,
    "number" => ValueType::Number,
    "boolean" => ValueType::Boolean,
    "duration" => ValueType::Duration,
    "list" => ValueType::List,
});

keyword_enum!(IncidentSeverity, "a severity", {
    "critical" => IncidentSeverity::Critical,
    "warning" => IncidentSeverity::Warning,
    "info" => IncidentSeverity::Info,
});

keyword_enum!(Outcome, "an outcome", {
    "success" => Outcome::Success,
    "failure" => Outcome::Failure,
});

keyword_enum!(Launcher, "a launcher", {
    "local" => Launcher::Local,
    "slurm" => Launcher::Slurm,
});

keyword_enum!(Since, "a time a file must be newer than", {
    "run" => Since::Run,
    "job" => Since::Job,
    "last_check" => Since::LastCheck,
});

keyword_enum!(Effect, "an effect", {
    "launch" => Effect::Launch,
    "stop" => Effect::Stop,
    "restart" => Effect::Restart,
});

impl Decode for serde_json::Value {
    // Any YAML value is a JSON value, so this never reports and needs no place.
    fn decode(d: &mut Decoder, node: Node<'_>, _at: Span) -> Option<Self> {
        Some(match node.value() {
            Value::Scalar(s) => {
                let text = s.as_str();
                if s.is_quoted() {
                    serde_json::Value::String(text.to_owned())
                } else if d.is_null(node) {
                    serde_json::Value::Null
                } else if let Ok(int) = text.parse::<i64>() {
                    int.into()
                } else if let Some(float) = text
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                {
                    serde_json::Value::Number(float)
                } else if text == "true" || text == "false" {
                    serde_json::Value::Bool(text == "true")
                } else {
                    serde_json::Value::String(text.to_owned())
                }
            }
            Value::Sequence(items) => {
                serde_json::Value::Array(exact(items.iter().filter_map(|item| {
                    let span = d.span_of(item);
                    serde_json::Value::decode(d, item, span)
                })))
            }
            Value::Mapping(map) => serde_json::Value::Object(
                map.iter()
                    .filter_map(|(k, v)| {
                        let span = d.span_of(v);
                        let value = serde_json::Value::decode(d, v, span)?;
                        Some((k.as_str().to_owned(), value))
                    })
                    .collect(),
            ),
        })
    }
}
