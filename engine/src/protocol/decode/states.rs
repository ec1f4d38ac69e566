//! The machine itself: states, timers, transitions (with the states they leave from) and the
//! messages transitions send.
//!
//! A timer needs exactly one of `every` and `after`, and a message exactly one of `template` and
//! `text`; both are checked here, where the keys are read.

use crate::protocol::tree::{Node, Value};

use super::fields::{Decode, Decoder};
use crate::codes::Code;
use crate::protocol::model::*;
use crate::span::{Span, Spanned, Str};

impl Decode for From {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        if let Value::Scalar(s) = node.value() {
            if s.as_str() == "*" {
                return Some(From::Any(at));
            }
        }
        OneOrMany::<Spanned<Str>>::decode(d, node, at).map(|states| From::States(states.0))
    }
}

impl Decode for State {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let Some(f) = d.fields(node, at, "a state", &["initial", "final", "outcome", "doc"]) else {
            return Some(State::default());
        };
        let is_final = f.or_default(d, "final");
        let outcome: Option<Spanned<Outcome>> = f.opt(d, "outcome");
        if let (Some(outcome), false) = (&outcome, is_final) {
            d.error_with_help(
                Code::P003,
                f.key_span(d, "outcome").unwrap_or(outcome.span),
                "`outcome` is only for a final state, and this state is not final",
                Some("add `final: true`, or remove `outcome`".into()),
            );
        }
        Some(State {
            initial: f.or_default(d, "initial"),
            is_final,
            outcome,
            doc: f.opt(d, "doc"),
        })
    }
}

impl Decode for Timer {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let f = d.fields(node, at, "a timer", &["event", "every", "after", "while"])?;
        let event = f.req(d, "event");
        let every: Option<Spanned<Str>> = f.opt(d, "every");
        let after: Option<Spanned<Str>> = f.opt(d, "after");
        let while_in = f.req(d, "while");
        if every.is_some() == after.is_some() {
            d.error_with_help(
                Code::P050,
                at,
                "a timer needs exactly one of `every` and `after`",
                Some("`every` fires periodically, `after` once".into()),
            );
            return None;
        }
        Some(Timer {
            span: at,
            event: event?,
            every,
            after,
            while_in: while_in?,
        })
    }
}

impl Decode for Transition {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let f = d.fields(
            node,
            at,
            "a transition",
            &[
                "from", "to", "on", "if", "set", "count", "send", "do", "gates", "doc",
            ],
        )?;
        let from = f.req(d, "from");
        let to = f.opt(d, "to");
        let on = f.opt(d, "on");
        let guard = f.opt(d, "if");
        let set = f.or_default(d, "set");
        let count = f.or_default(d, "count");
        let send = f.or_default(d, "send");
        let effects = f.or_default(d, "do");
        let gates = f.or_default(d, "gates");
        let doc = f.opt(d, "doc");
        Some(
            Transition {
                span: at,
                from: from?,
                to,
                on,
                guard,
                count,
                send,
                effects,
                rare: None,
            }
            .with_rare_parts(RareParts { set, gates, doc }),
        )
    }
}

impl Decode for Send {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let f = d.fields(node, at, "a message", &["from", "to", "template", "text"])?;
        let from = f.req(d, "from");
        let to = f.req(d, "to");
        let template: Option<Spanned<Str>> = f.opt(d, "template");
        let text: Option<Spanned<Str>> = f.opt(d, "text");
        if template.is_some() == text.is_some() {
            let span = f.key_span(d, "text").unwrap_or(at);
            d.error_with_help(
                Code::P003,
                span,
                "a message needs exactly one of `template` and `text`",
                Some("`template: NAME` renders NAME.md.j2; `text:` is an inline template".into()),
            );
            return None;
        }
        Some(Send {
            span: at,
            from: from?,
            to: to?,
            template,
            text,
        })
    }
}
