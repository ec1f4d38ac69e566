//! The categories that classify what a job's log shows, their rules, and what becomes of lines
//! no category matches.
//!
//! A rule matches exactly one kind of input (a traceback, a line or a metric); that is checked
//! here, where the rule's keys are read, so the error points at the rule.

use crate::protocol::tree::Node;

use super::fields::{Decode, Decoder};
use crate::codes::Code;
use crate::protocol::model::*;
use crate::span::Span;

impl Decode for Category {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let f = d.fields(
            node,
            at,
            "a category",
            &[
                "id",
                "owner",
                "severity",
                "match",
                "catch_all",
                "action",
                "doc",
            ],
        )?;
        let id = f.req(d, "id");
        let owner = f.req(d, "owner");
        let severity = f.req(d, "severity");
        let rules = f.req(d, "match");
        let catch_all = f.opt(d, "catch_all");
        let action = f.opt(d, "action");
        let doc = f.opt(d, "doc");
        Some(Category {
            span: at,
            id: id?,
            owner: owner?,
            severity: severity?,
            rules: rules?,
            catch_all,
            action,
            doc,
        })
    }
}

impl Decode for Rule {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
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
                "each",
                "signal",
                "exit_code",
                "slurm_state",
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
            each: f.opt(d, "each"),
            signal: f.opt(d, "signal"),
            exit_code: f.opt(d, "exit_code"),
            slurm_state: f.opt(d, "slurm_state"),
            severity: f.opt(d, "severity"),
        };
        let kinds = usize::from(rule.is_traceback())
            + usize::from(rule.line.is_some())
            + usize::from(rule.metric.is_some())
            + usize::from(rule.is_exit());
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
                    "give `exception` (with optional `message` and `traceback`), `line`, \
                     `metric` (with optional `each`), or `signal`, `exit_code` and `slurm_state`; write several \
                     rules to match several"
                        .into(),
                ),
            );
            return None;
        }
        if let Some(each) = &rule.each {
            if rule.metric.is_none() {
                d.error_with_help(
                    Code::P003,
                    each.span,
                    "`each` belongs to a `metric` rule",
                    Some("write `{ metric: \"value is nan\", each: \"*loss*\" }`".into()),
                );
                return None;
            }
        }
        let mut valid = true;
        for signal in rule.signal.iter().flat_map(|s| s.iter()) {
            if signal_number(signal).is_none() {
                d.error_with_help(
                    Code::P003,
                    signal.span,
                    format!("`{}` is not a signal", signal.as_str()),
                    Some("name a signal (`KILL`, `SIGSEGV`) or give its number (`9`)".into()),
                );
                valid = false;
            }
        }
        for code in rule.exit_code.iter().flat_map(|c| c.iter()) {
            if !code
                .trim()
                .parse::<i32>()
                .is_ok_and(|c| (0..=255).contains(&c))
            {
                d.error_with_help(
                    Code::P003,
                    code.span,
                    format!("`{}` is not an exit code", code.as_str()),
                    Some("exit codes are whole numbers from 0 to 255".into()),
                );
                valid = false;
            }
        }
        for state in rule.slurm_state.iter().flat_map(|s| s.iter()) {
            if !SLURM_END_STATES.contains(&state.as_str()) {
                d.error_with_help(
                    Code::P003,
                    state.span,
                    format!("`{}` is not a state a Slurm job ends in", state.as_str()),
                    crate::suggest::help(state.as_str(), SLURM_END_STATES),
                );
                valid = false;
            }
        }
        valid.then_some(rule)
    }
}

impl Decode for Uncategorized {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let f = d.fields(
            node,
            at,
            "`uncategorized`",
            &["owner", "severity", "action", "match"],
        )?;
        Some(Uncategorized {
            rules: f.or_default(d, "match"),
            owner: f.opt(d, "owner"),
            severity: f.opt(d, "severity"),
            action: f.opt(d, "action"),
        })
    }
}
