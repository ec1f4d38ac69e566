//! The categories that classify what a job's log shows, their rules, and what becomes of lines
//! no category matches.
//!
//! A rule matches exactly one kind of input (a traceback, a line or a metric); that is checked
//! here, where the rule's keys are read, so the error points at the rule.

use marked_yaml::Node;

use super::fields::{Decode, Decoder};
use crate::codes::Code;
use crate::protocol::model::*;
use crate::span::Span;

impl Decode for Category {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let f = d.fields(
            node,
            at,
            "a category",
            &["id", "owner", "severity", "match", "action", "doc"],
        )?;
        let id = f.req(d, "id");
        let owner = f.req(d, "owner");
        let severity = f.req(d, "severity");
        let rules = f.req(d, "match");
        let action = f.opt(d, "action");
        let doc = f.opt(d, "doc");
        Some(Category {
            span: at,
            id: id?,
            owner: owner?,
            severity: severity?,
            rules: rules?,
            action,
            doc,
        })
    }
}

impl Decode for Rule {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let f = d.fields(
            node,
            at,
            "a rule",
            &[
                "exception",
                "message",
                "traceback",
                "line",
                "metric",
                "severity",
            ],
        )?;
        let rule = Rule {
            span: at,
            exception: f.opt(d, "exception"),
            message: f.opt(d, "message"),
            traceback: f.opt(d, "traceback"),
            line: f.opt(d, "line"),
            metric: f.opt(d, "metric"),
            severity: f.opt(d, "severity"),
        };
        let traceback =
            rule.exception.is_some() || rule.message.is_some() || rule.traceback.is_some();
        let kinds = usize::from(traceback)
            + usize::from(rule.line.is_some())
            + usize::from(rule.metric.is_some());
        if kinds != 1 {
            d.error_with_help(
                Code::P003,
                at,
                if kinds == 0 {
                    "a rule must say what it matches"
                } else {
                    "a rule matches one kind of input"
                },
                Some(
                    "give `exception` (with optional `message` and `traceback`), `line`, or \
                     `metric`; write several rules to match several"
                        .into(),
                ),
            );
            return None;
        }
        Some(rule)
    }
}

impl Decode for Uncategorized {
    fn decode(d: &mut Decoder, node: &Node, at: Span) -> Option<Self> {
        let f = d.fields(
            node,
            at,
            "`uncategorized`",
            &["owner", "severity", "action"],
        )?;
        Some(Uncategorized {
            owner: f.opt(d, "owner"),
            severity: f.opt(d, "severity"),
            action: f.opt(d, "action"),
        })
    }
}
