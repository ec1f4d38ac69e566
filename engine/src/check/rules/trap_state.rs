//! P013: a non-final state from which no final state can be reached.
//!
//! **Why.** A run that enters it can never end: no completion, no termination, only a job left
//! running. Unreachable states are left to P012.
//!
//! **Example.**
//! ```yaml
//! transitions:
//!   - { from: error, on: retry, to: error }   # P013: `error` never leads to a final state
//! ```

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let Some(initial) = cx.protocol.initial_state().and_then(|i| cx.graph.node(i)) else {
        return;
    };
    let finals = cx
        .protocol
        .states
        .iter()
        .filter(|(_, s)| s.is_final)
        .filter_map(|(id, _)| cx.graph.node(id));
    let can_finish = cx.graph.reaching(finals);
    let reached = cx.graph.reachable_from(initial);
    for (id, state) in cx.protocol.states.iter() {
        let Some(node) = cx.graph.node(id) else {
            continue;
        };
        if !state.is_final && reached.contains(&node) && !can_finish.contains(&node) {
            out.push(
                cx.at(
                    Code::P013,
                    id.span,
                    format!("no final state can be reached from `{}`", id.as_str()),
                )
                .with_help(
                    "add a way out, such as `from: \"*\"` on a terminate event to a final state",
                ),
            );
        }
    }
}
