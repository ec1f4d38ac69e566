//! P014: a transition leaves a final state.
//!
//! **Why.** A final state ends the run; nothing after it is ever taken. (`from: "*"` does not
//! include final states.)
//!
//! **Example.**
//! ```yaml
//! states:
//!   complete: { final: true }
//! transitions:
//!   - { from: complete, on: status_due, to: complete }   # P014
//! ```

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::protocol::From;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    for transition in &cx.protocol.transitions {
        let From::States(states) = &transition.from else {
            continue;
        };
        for state in states.iter().filter(|s| cx.protocol.is_final(s)) {
            out.push(
                cx.at(
                    Code::P014,
                    state.span,
                    format!("`{}` is final: no transition may leave it", state.as_str()),
                )
                .with_help("remove the transition, or make the state non-final"),
            );
        }
    }
}
