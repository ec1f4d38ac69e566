//! P020: a role that is not declared, in channels, events, categories, gates or messages.
//!
//! **Why.** Messages are addressed to roles; an undeclared one is a message nobody reads.
//!
//! **Example.**
//! ```yaml
//! categories:
//!   - { id: data, owner: data_engineeer, severity: critical, match: [...] }   # P020
//! ```

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::span::{Spanned, Str};
use crate::suggest;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    let roles: Vec<&str> = p.roles.keys().map(|k| k.as_str()).collect();
    let mut report = |role: &Spanned<Str>| {
        if !p.roles.contains(role) {
            let help = suggest::did_you_mean(role, roles.iter().copied())
                .or_else(|| Some(format!("declare `{}` under `roles`", role.as_str())));
            out.push(
                cx.at(
                    Code::P020,
                    role.span,
                    format!("`{}` is not a declared role", role.as_str()),
                )
                .with_help_opt(help),
            );
        }
    };
    for channel in &p.channels {
        channel
            .from
            .iter()
            .chain(channel.to.iter())
            .for_each(&mut report);
    }
    for (_, event) in p.events.iter() {
        event.from.iter().for_each(&mut report);
    }
    for category in &p.categories {
        report(&category.owner);
    }
    if let Some(owner) = p.uncategorized.as_ref().and_then(|u| u.owner.as_ref()) {
        report(owner);
    }
    for owner in p.gates.iter().filter_map(|(_, gate)| gate.owner.as_ref()) {
        report(owner);
    }
    for send in p.transitions.iter().flat_map(|t| &t.send) {
        report(&send.from);
        send.to.iter().for_each(&mut report);
    }
}
