//! P045 (warning): the job may end in a state that takes no `exited`, and then nothing can move
//! the run.
//!
//! **What.** A state the job is carried into while it runs (from a state it runs in, by a
//! transition that neither stops it nor is on `exited`), which no transition takes `exited`
//! from, and from which only the job's own events (`incident`, `exited`, `silence`,
//! `launched`) lead to a final state or to a new launch. States the job is launched into are
//! P041's. Paths are followed through declared states only: one through a state no `states`
//! entry declares is P011's first.
//!
//! **Why.** If the job ends there, its exit is ignored and the run waits for events a job that
//! is gone will never send: it is stranded, with no job and no end. A state that a role's event
//! or a timer can move on is not flagged: the run goes on without the job.
//!
//! **Example.**
//! ```yaml
//! - { from: running, on: incident, to: degraded }
//! - { from: degraded, on: incident, to: failed }   # P045: only the job moves `degraded` on
//! ```

use petgraph::graph::EdgeReference;
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::graph::Edge;
use crate::protocol::{Effect, Transition};

/// The events only a running job (or its supervisor watching it) gives.
const JOB_EVENTS: [&str; 4] = ["launched", "exited", "incident", "silence"];

/// Whether `transition` is on one of `events`.
fn on_any(transition: &Transition, events: &[&str]) -> bool {
    transition
        .on
        .as_ref()
        .is_some_and(|on| events.contains(&on.as_str()))
}

/// Whether the job still runs after `transition`, taken while it ran.
fn carries_job(transition: &Transition) -> bool {
    let stops = transition
        .effects
        .iter()
        .any(|e| matches!(e.value, Effect::Stop));
    transition.starts_job() || !(stops || on_any(transition, &["exited"]))
}

/// Whether the job may run in a state, and how it came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runs {
    No,
    /// A transition launches it there.
    Launched,
    /// Only carried there, running, from a state it runs in.
    Carried,
}

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    // The state graph's edges, walked forward and back: a protocol of thousands of states has
    // tens of thousands of them, and no other index of them is made.
    let graph = cx.graph.graph();
    let transition = |edge: EdgeReference<'_, Edge>| &p.transitions[edge.weight().transition()];

    // The states the job may run in: launched into (P041's), or carried into from one.
    let mut runs = vec![Runs::No; graph.node_count()];
    for edge in graph.edge_references() {
        if transition(edge).starts_job() {
            runs[edge.target().index()] = Runs::Launched;
        }
    }
    let mut todo: Vec<_> = graph
        .node_indices()
        .filter(|n| runs[n.index()] == Runs::Launched)
        .collect();
    while let Some(state) = todo.pop() {
        for edge in graph.edges_directed(state, Direction::Outgoing) {
            let to = edge.target();
            if carries_job(transition(edge)) && runs[to.index()] == Runs::No {
                runs[to.index()] = Runs::Carried;
                todo.push(to);
            }
        }
    }

    // The states a run with no job can still leave for a final state or a new launch, by
    // eventless transitions, timers and roles' events alone: back from such an edge.
    let without_job = |t: &Transition| !on_any(t, &JOB_EVENTS);
    let mut moves_on = vec![false; graph.node_count()];
    for edge in graph.edge_references() {
        let t = transition(edge);
        if without_job(t) && (t.starts_job() || graph[edge.target()].is_final) {
            moves_on[edge.source().index()] = true;
        }
    }
    let mut todo: Vec<_> = graph
        .node_indices()
        .filter(|n| moves_on[n.index()])
        .collect();
    while let Some(state) = todo.pop() {
        for edge in graph.edges_directed(state, Direction::Incoming) {
            let from = edge.source();
            if without_job(transition(edge)) && !moves_on[from.index()] {
                moves_on[from.index()] = true;
                todo.push(from);
            }
        }
    }

    for (id, state) in p.states.iter() {
        let Some(node) = cx.graph.node(id) else {
            continue;
        };
        if runs[node.index()] != Runs::Carried
            || state.is_final
            || cx.candidates(id, Some("exited")).next().is_some()
            || moves_on[node.index()]
        {
            continue;
        }
        // Named: the first transition in the file that carries the job there.
        let carrying = graph
            .edges_directed(node, Direction::Incoming)
            .filter(|edge| runs[edge.source().index()] != Runs::No)
            .filter(|&edge| carries_job(transition(edge)))
            .map(|edge| edge.weight().transition())
            .min();
        let Some(index) = carrying else {
            continue; // carried there, so never
        };
        let line = p.transitions[index].span.line();
        out.push(
            cx.at(
                Code::P045,
                id.span,
                format!(
                    "the job may end in `{}` (the transition on line {line} enters it while \
                     it runs), which takes no `exited`, and only the job's events lead on",
                    id.as_str()
                ),
            )
            .with_help(
                "if the job ends there the run is stranded; add a transition on `exited`, or a \
                 role's way out such as `from: \"*\"` on a terminate event",
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::codes::Code;

    #[test]
    fn the_transition_named_is_the_first_in_the_file_that_carries_the_job_there() {
        // Both launched states carry the job into `degraded`; `alpha`'s way is written first,
        // whichever of the two a walk of the states comes to first.
        let protocol = "protocol: demo\nstates:\n  idle: { initial: true }\n  alpha: {}\n  \
                        zeta: {}\n  degraded: {}\n  failed: { final: true }\n\
                        transitions:\n\
                        - { from: idle, on: a, to: alpha, do: [launch] }\n\
                        - { from: idle, on: z, to: zeta, do: [launch] }\n\
                        - { from: alpha, on: incident, to: degraded }\n\
                        - { from: zeta, on: incident, to: degraded }\n\
                        - { from: [alpha, zeta], on: exited, to: failed }\n\
                        - { from: degraded, on: incident, to: failed, do: [stop] }\n";
        let found = crate::check::findings_of(protocol, Code::P045);
        let messages: Vec<_> = found.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains("on line 11 enters it"), "{messages:?}");
    }
}
