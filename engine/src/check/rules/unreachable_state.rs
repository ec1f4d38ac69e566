//! P012 (warning): a state no path from the initial state reaches.
//!
//! **Why.** Nothing a run does can enter it: either a transition into it is missing, or it is
//! left over.
//!
//! **Example.**
//! ```yaml
//! states:
//!   start: { initial: true }
//!   done: { final: true }
//!   limbo: {}            # P012: no transition enters it
//! ```

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let Some(initial) = cx.protocol.initial_state() else {
        return;
    };
    let Some(start) = cx.graph.node(initial) else {
        return;
    };
    let reached = cx.graph.reachable_from(start);
    for id in cx.protocol.states.keys() {
        if cx
            .graph
            .node(id)
            .is_some_and(|node| !reached.contains(&node))
        {
            out.push(
                cx.at(
                    Code::P012,
                    id.span,
                    format!(
                        "state `{}` cannot be reached from `{}`",
                        id.as_str(),
                        initial.as_str()
                    ),
                )
                .with_help("add a transition into it, or remove it"),
            );
        }
    }
}
