//! P022 (warning): an event declared (or fired by a timer) that no transition uses, or a
//! transition on an event that is neither built in, declared, nor a timer's.
//!
//! **Why.** The first is a message roles can send that does nothing; the second a transition that
//! can never fire, usually a typo.
//!
//! **Example.**
//! ```yaml
//! events:
//!   approved: { from: [time_validator] }
//! transitions:
//!   - { from: revalidate, on: aproved, to: resume }   # P022 (twice: both sides)
//! ```

use std::collections::HashSet;

use super::Cx;
use crate::codes::Code;
use crate::context::BUILTIN_EVENTS;
use crate::diagnostic::Diagnostic;
use crate::suggest;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    let used: HashSet<&str> = p
        .transitions
        .iter()
        .filter_map(|t| t.on.as_ref())
        .map(|on| on.as_str())
        .collect();
    let timer_events: Vec<&str> = p.timers.iter().map(|t| t.event.as_str()).collect();
    let mut known: Vec<&str> = BUILTIN_EVENTS.iter().map(|(name, _)| *name).collect();
    known.extend(p.events.keys().map(|k| k.as_str()));
    known.extend(timer_events.iter().copied());

    for name in p.events.keys().filter(|name| !used.contains(name.as_str())) {
        out.push(
            cx.at(
                Code::P022,
                name.span,
                format!("no transition uses the event `{}`", name.as_str()),
            )
            .with_help(
                "roles can send it but nothing happens; add a transition `on` it, or remove it",
            ),
        );
    }
    for timer in p.timers.iter().filter(|t| !used.contains(t.event.as_str())) {
        out.push(
            cx.at(
                Code::P022,
                timer.event.span,
                format!(
                    "no transition uses the timer event `{}`",
                    timer.event.as_str()
                ),
            )
            .with_help(
                "the timer fires for nothing; add a transition `on` it, or remove the timer",
            ),
        );
    }
    for on in p.transitions.iter().filter_map(|t| t.on.as_ref()) {
        if !known.contains(&on.as_str()) {
            let help = suggest::did_you_mean(on, known.iter().copied())
                .unwrap_or_else(|| "declare it under `events`, or fire it from a timer".into());
            out.push(
                cx.at(
                    Code::P022,
                    on.span,
                    format!(
                        "`{}` is not a built-in event, a declared event, or a timer's event",
                        on.as_str()
                    ),
                )
                .with_help(help),
            );
        }
    }
}
