//! The sections of a protocol about who takes part and what runs: roles, channels, vars, the
//! job (with its resume) and the events roles send (with their fields).

use crate::protocol::tree::Node;

use super::fields::{Decode, Decoder};
use crate::protocol::model::*;
use crate::span::{Span, Spanned, Str};

impl Decode for Role {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let Some(f) = d.fields(node, at, "a role", &["title", "doc"]) else {
            return Some(Role::default());
        };
        Some(Role {
            title: f.opt(d, "title"),
            doc: f.opt(d, "doc"),
        })
    }
}

impl Decode for Channel {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let f = d.fields(node, at, "a channel", &["from", "to", "in"])?;
        let from = f.req(d, "from");
        let to = f.req(d, "to");
        let in_states = f.opt(d, "in");
        Some(Channel {
            span: at,
            from: from?,
            to: to?,
            in_states,
        })
    }
}

impl Decode for Var {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let f = d.fields(
            node,
            at,
            "a variable",
            &["type", "required", "default", "doc"],
        )?;
        let ty = f.req(d, "type");
        let required = f.or_default(d, "required");
        let default = f.opt(d, "default");
        let doc = f.opt(d, "doc");
        Some(Var {
            ty: ty?,
            required,
            default,
            doc,
        })
    }
}

impl Decode for Job {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let f = d.fields(
            node,
            at,
            "the job",
            &[
                "command",
                "log",
                "follow",
                "resume",
                "stop_grace",
                "artifacts",
                "cadence",
                "launcher",
                "slurm",
            ],
        )?;
        let command = f.req::<OneOrMany<Spanned<Str>>>(d, "command");
        let log = f.req(d, "log");
        let follow = f.or_default(d, "follow");
        let resume = f.opt(d, "resume");
        let stop_grace = f.opt(d, "stop_grace");
        let artifacts = f.or_default(d, "artifacts");
        let cadence = f.opt(d, "cadence");
        let launcher = f.opt(d, "launcher");
        let slurm = f.opt(d, "slurm");
        Some(Job {
            span: f.span(),
            command: command?,
            log: log?,
            follow,
            resume,
            stop_grace,
            artifacts,
            cadence,
            launcher,
            slurm,
        })
    }
}

impl Decode for SlurmJob {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let f = d.fields(node, at, "`slurm`", &["args", "poll"])?;
        let args = f.or_default(d, "args");
        let poll = f.opt(d, "poll");
        Some(SlurmJob {
            span: f.span(),
            args,
            poll,
        })
    }
}

impl Decode for Resume {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let f = d.fields(node, at, "`resume`", &["when_exists", "args"])?;
        let when_exists = f.req(d, "when_exists");
        let args = f.or_default(d, "args");
        Some(Resume {
            when_exists: when_exists?,
            args,
        })
    }
}

impl Decode for EventDef {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let f = d.fields(node, at, "an event", &["from", "fields", "doc"])?;
        let from = f.req(d, "from");
        let fields = f.or_default(d, "fields");
        let doc = f.opt(d, "doc");
        Some(EventDef {
            from: from?,
            fields,
            doc,
        })
    }
}

impl Decode for FieldDef {
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self> {
        let f = d.fields(node, at, "an event field", &["type", "required", "doc"])?;
        let ty = f.req(d, "type");
        let required = f.or_default(d, "required");
        let doc = f.opt(d, "doc");
        Some(FieldDef {
            ty: ty?,
            required,
            doc,
        })
    }
}
