//! P011: a transition (or a channel's `in`) names a state that is not declared.
//!
//! **Why.** A typo in `to:` would send the run nowhere.
//!
//! **Example.**
//! ```yaml
//! transitions:
//!   - { from: watch, on: incident, to: eror }   # P011: did you mean `error`?
//! ```

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::protocol::From;
use crate::span::{Spanned, Str};
use crate::suggest;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let states: Vec<&str> = cx.protocol.states.keys().map(|k| k.as_str()).collect();
    let mut report = |name: &Spanned<Str>, role: &str| {
        if !cx.protocol.states.contains(name) {
            let help = suggest::did_you_mean(name, states.iter().copied())
                .or_else(|| Some(format!("declare `{}` under `states`", name.as_str())));
            out.push(
                cx.at(
                    Code::P011,
                    name.span,
                    format!("{role} `{}` is not a declared state", name.as_str()),
                )
                .with_help_opt(help),
            );
        }
    };
    for transition in &cx.protocol.transitions {
        if let From::States(from) = &transition.from {
            for state in from {
                report(state, "source state");
            }
        }
        if let Some(to) = &transition.to {
            report(to, "target state");
        }
    }
    for channel in &cx.protocol.channels {
        for state in channel.in_states.iter().flat_map(|s| s.iter()) {
            report(state, "channel state");
        }
    }
}
