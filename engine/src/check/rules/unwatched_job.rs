//! P041 (warning): a state the job is launched into (by `launch` or `restart`) has no transition
//! on `incident`, or none on `exited`.
//!
//! **Why.** This is the failure Phase 5B exists to prevent: the training starts and nobody watches. A state that
//! runs the job must react to errors in its log and to the job ending, or both go unnoticed.
//!
//! **Example.**
//! ```yaml
//! - { from: start, to: running, do: [launch] }   # P041 if `running` has no `on: exited`
//! ```

use std::collections::BTreeSet;

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let mut reported = BTreeSet::new();
    let launches = cx.protocol.transitions.iter().filter(|t| t.starts_job());
    for (transition, state) in
        launches.flat_map(|t| cx.protocol.edges(t).into_iter().map(move |(_, to)| (t, to)))
    {
        if cx.protocol.is_final(state)
            || !cx.protocol.states.contains(state)
            || !reported.insert(state)
        {
            continue;
        }
        let at = transition.to.as_ref().map_or(transition.span, |to| to.span);
        let missing: Vec<&str> = ["incident", "exited"]
            .into_iter()
            .filter(|event| cx.candidates(state, Some(event)).next().is_none())
            .collect();
        if missing.is_empty() {
            continue;
        }
        let events = missing
            .iter()
            .map(|e| format!("`{e}`"))
            .collect::<Vec<_>>()
            .join(" or ");
        out.push(
            cx.at(
                Code::P041,
                at,
                format!("the job runs in `{state}`, which has no transition on {events}"),
            )
            .with_help(
                "an error in the log or the job ending would go unnoticed; add the transitions",
            ),
        );
    }
}
