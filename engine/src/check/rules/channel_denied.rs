//! P021: a message the channels do not allow.
//!
//! **Why.** The channels are the protocol's chain of command (in Phase 5B, everything goes through
//! the director). A channel with `in` is open only on transitions that enter or leave one of its
//! states; a transition from several states must satisfy it from each of them.
//!
//! **Example.**
//! ```yaml
//! channels:
//!   - { from: modeler, to: director }
//! transitions:
//!   - from: consult
//!     on: advice
//!     to: fix
//!     send: [{ from: modeler, to: code_translator, template: fix_request }]   # P021
//! ```

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::protocol::{Channel, Transition};

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    for transition in &p.transitions {
        let sources = p.sources(transition);
        for send in &transition.send {
            if !p.roles.contains(&send.from) {
                continue;
            }
            for to in send.to.iter().filter(|to| p.roles.contains(to)) {
                let open =
                    |c: &&Channel| opens(c, send.from.as_str(), to.as_str(), transition, &sources);
                if p.channels.iter().any(|c| open(&c)) {
                    continue;
                }
                let restricted: Vec<String> = p
                    .channels
                    .iter()
                    .filter(|c| {
                        c.from.iter().any(|f| f == &send.from) && c.to.iter().any(|t| t == to)
                    })
                    .filter_map(|c| c.in_states.as_ref())
                    .map(|states| {
                        states
                            .iter()
                            .map(|s| format!("`{}`", s.as_str()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .collect();
                let help = if restricted.is_empty() {
                    format!(
                        "no channel lets `{}` send to `{}`; add one under `channels`, or route the message through a role that may",
                        send.from.as_str(),
                        to.as_str()
                    )
                } else {
                    format!(
                        "the channel from `{}` to `{}` is open only on transitions into or out of {}",
                        send.from.as_str(),
                        to.as_str(),
                        restricted.join(" or ")
                    )
                };
                out.push(
                    cx.at(
                        Code::P021,
                        to.span,
                        format!(
                            "`{}` may not send a message to `{}` here",
                            send.from.as_str(),
                            to.as_str()
                        ),
                    )
                    .with_help(help),
                );
            }
        }
    }
}

fn opens(
    channel: &Channel,
    from: &str,
    to: &str,
    transition: &Transition,
    sources: &[&str],
) -> bool {
    let listed = channel.from.iter().any(|f| f == from) && channel.to.iter().any(|t| t == to);
    listed
        && match &channel.in_states {
            None => true,
            Some(states) => {
                let inside = |state: &str| states.iter().any(|s| s == state);
                let enters = transition.to.as_ref().is_some_and(|to| inside(to));
                enters || (!sources.is_empty() && sources.iter().all(|s| inside(s)))
            }
        }
}
