//! P005: a var, a `set` key or an event field uses a name the context reserves.
//!
//! **Why.** Vars are top-level names in guards and templates, beside `run`, `state`, `target`,
//! `event`, `incident`, `job`, `counters`, `history` and `now`. A var named `job` would hide the
//! job, and an event field named `name` would hide the event's name.
//!
//! **Example.**
//! ```yaml
//! vars:
//!   job: { type: string }   # P005
//! ```

use super::Cx;
use crate::codes::Code;
use crate::context::{EVENT_FIELDS, RESERVED};
use crate::diagnostic::Diagnostic;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let reserved = |name: &str| RESERVED.contains(&name);
    for name in cx.protocol.vars.keys().filter(|n| reserved(n)) {
        out.push(
            cx.at(
                Code::P005,
                name.span,
                format!("`{}` is a reserved name and cannot be a var", name.as_str()),
            )
            .with_help(format!("the reserved names are {}", RESERVED.join(", "))),
        );
    }
    for transition in &cx.protocol.transitions {
        for name in transition.set().keys().filter(|n| reserved(n)) {
            out.push(
                cx.at(
                    Code::P005,
                    name.span,
                    format!("`set` cannot assign the reserved name `{}`", name.as_str()),
                )
                .with_help(format!("the reserved names are {}", RESERVED.join(", "))),
            );
        }
    }
    for (_, event) in cx.protocol.events.iter() {
        for field in event
            .fields
            .keys()
            .filter(|f| EVENT_FIELDS.contains(&f.as_str()))
        {
            out.push(
                cx.at(
                    Code::P005,
                    field.span,
                    format!("an event field cannot be named `{}`", field.as_str()),
                )
                .with_help(format!(
                    "every event already has {}",
                    EVENT_FIELDS.join(", ")
                )),
            );
        }
    }
}
