//! Gates, the checks transitions require, and their bounds.
//!
//! A gate is exactly one kind (`expr`, `command`, `files` or `table`), and the keys that refine
//! one kind belong to it alone; both are checked here, where the keys are read, so the error
//! points at the key.

use crate::protocol::tree::Node;

use super::fields::{Decode, Decoder};
use crate::codes::Code;
use crate::protocol::model::*;
use crate::span::{Span, Spanned, Str};

/// The keys that say what a gate checks.
const KINDS: &[&str] = &["expr", "command", "files", "table"];

/// Every key of a gate.
const KEYS: &[&str] = &[
    "expr",
    "command",
    "files",
    "table",
    "value",
    "reason",
    "shell",
    "timeout",
    "non_empty",
    "modified_after",
    "delimiter",
    "rows",
    "finite",
    "varying",
    "columns",
    "category",
    "owner",
    "severity",
    "action",
    "doc",
];

/// The keys that refine one kind, with the kind.
const REFINING: &[(&str, &str)] = &[
    ("value", "expr"),
    ("reason", "expr"),
    ("shell", "command"),
    ("timeout", "command"),
    ("non_empty", "files"),
    ("modified_after", "files"),
    ("delimiter", "table"),
    ("rows", "table"),
    ("finite", "table"),
    ("varying", "table"),
    ("columns", "table"),
];

impl Decode for Gate {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let f = d.fields(node, at, "a gate", KEYS)?;
        let kinds: Vec<&str> = KINDS.iter().copied().filter(|k| f.has(d, k)).collect();
        let kind = match kinds.as_slice() {
            [kind] => *kind,
            _ => {
                let span = kinds.get(1).and_then(|k| f.key_span(d, k)).unwrap_or(at);
                d.error_with_help(
                    Code::P003,
                    span,
                    "a gate needs exactly one of `expr`, `command`, `files` and `table`",
                    Some(
                        "`expr` is an expression that must hold; `command` a program that must \
                         exit 0; `files` files that must exist; `table` a CSV or TSV file that \
                         must be sane"
                            .into(),
                    ),
                );
                return None;
            }
        };
        let mut misplaced = false;
        for (key, owner) in REFINING {
            if *owner != kind && f.has(d, key) {
                let span = f.key_span(d, key).unwrap_or(at);
                d.error(
                    Code::P003,
                    span,
                    format!("`{key}` is for `{owner}` gates; this is a `{kind}` gate"),
                );
                misplaced = true;
            }
        }
        let category = f.req(d, "category");
        let gate = Gate {
            span: at,
            expr: f.opt(d, "expr"),
            value: f.opt(d, "value"),
            reason: f.opt(d, "reason"),
            command: f.opt(d, "command"),
            shell: f.or_default(d, "shell"),
            timeout: f.opt(d, "timeout"),
            files: f.opt(d, "files"),
            non_empty: f.or_default(d, "non_empty"),
            modified_after: f.opt(d, "modified_after"),
            table: f.opt(d, "table"),
            delimiter: f.opt(d, "delimiter"),
            rows: f.opt(d, "rows"),
            finite: f.opt(d, "finite"),
            varying: f.or_default(d, "varying"),
            columns: f.or_default(d, "columns"),
            category: category?,
            owner: f.opt(d, "owner"),
            severity: f.opt(d, "severity"),
            action: f.opt(d, "action"),
            doc: f.opt(d, "doc"),
        };
        if let Some(delimiter) = &gate.delimiter {
            if !matches!(delimiter.as_str(), "," | "\t" | ";" | "|") {
                d.error_with_help(
                    Code::P003,
                    delimiter.span,
                    format!("`{}` is not a delimiter", delimiter.as_str().escape_debug()),
                    Some("a delimiter is \",\", \"\\t\", \";\" or \"|\"".into()),
                );
                misplaced = true;
            }
        }
        (!misplaced).then_some(gate)
    }
}

impl Decode for BoundsDef {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let f = d.fields(node, at, "bounds", &["min", "max", "above", "below"])?;
        Some(BoundsDef {
            span: at,
            min: f.opt(d, "min"),
            max: f.opt(d, "max"),
            above: f.opt(d, "above"),
            below: f.opt(d, "below"),
        })
    }
}

impl Decode for Bound {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        Spanned::<Str>::decode(d, node, at).map(Bound)
    }
}

impl Decode for Cadence {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let f = d.fields(node, at, "`cadence`", &["min", "max", "key"])?;
        let cadence = Cadence {
            span: at,
            min: f.opt(d, "min"),
            max: f.opt(d, "max"),
            key: f.opt(d, "key"),
        };
        if cadence.min.is_none() && cadence.max.is_none() {
            d.error_with_help(
                Code::P003,
                at,
                "`cadence` needs `min`, `max` or both",
                Some("records closer than `min` or further apart than `max` are counted".into()),
            );
            return None;
        }
        Some(cadence)
    }
}
