//! P060 (warning): the job can be restarted over and over with nothing to stop it.
//!
//! **What.** A cycle through a transition that does `restart`, where no transition on the cycle,
//! and no sibling tried before one (same state, same event), has a guard that reads `counters`
//! (or `job.restarts`).
//!
//! **Why.** A job that fails the same way at every start would be restarted forever, burning the
//! machine and flooding the roles with reports. Bound it: a transition tried first with
//! `if: "counters.restarts >= max_restarts"` that gives up.
//!
//! **Example.**
//! ```yaml
//! - { from: error, on: fix_submitted, to: watch, do: [restart] }   # P060 if watch leads back to error
//! ```

use std::collections::HashMap;

use petgraph::graph::DiGraph;
use petgraph::visit::{Bfs, Walker};

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::protocol::{Effect, Transition};

fn reads_counters(names: &[Vec<String>]) -> bool {
    names.iter().any(|path| {
        path.first().is_some_and(|root| root == "counters")
            || (path.len() >= 2 && path[0] == "job" && path[1] == "restarts")
    })
}

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    let counted: Vec<bool> = p
        .transitions
        .iter()
        .map(|t| reads_counters(&cx.guard_names(t)))
        .collect();

    // An edge is bounded when its own guard, or an earlier sibling's, reads the counters.
    let bounded = |index: usize, transition: &Transition, state: &str| {
        counted[index]
            || cx
                .candidates(state, transition.on.as_ref().map(|on| on.as_str()))
                .take_while(|&(i, _)| i < index)
                .any(|(i, _)| counted[i])
    };

    let mut graph = DiGraph::<(), usize>::new();
    let mut nodes = HashMap::new();
    for id in p.states.keys() {
        nodes.insert(id.as_str(), graph.add_node(()));
    }
    let mut restart_edges = Vec::new();
    for (index, transition) in p.transitions.iter().enumerate() {
        for (state, target) in p.edges(transition) {
            let (Some(&from), Some(&to)) = (nodes.get(state), nodes.get(target)) else {
                continue;
            };
            if bounded(index, transition, state) {
                continue;
            }
            graph.add_edge(from, to, index);
            if transition
                .effects
                .iter()
                .any(|e| e.value == Effect::Restart)
            {
                restart_edges.push((index, from, to));
            }
        }
    }
    let mut reported = std::collections::BTreeSet::new();
    for (index, from, to) in restart_edges {
        if reported.contains(&index) {
            continue;
        }
        if Bfs::new(&graph, to).iter(&graph).any(|n| n == from) {
            reported.insert(index);
            let transition = &p.transitions[index];
            let effect = transition
                .effects
                .iter()
                .find(|e| e.value == Effect::Restart)
                .map_or(transition.span, |e| e.span);
            out.push(
                cx.at(Code::P060, effect, "the job can be restarted without bound")
                    .with_help("try first a transition with a guard on the restart count, such as `if: \"counters.restarts >= max_restarts\"`, that gives up"),
            );
        }
    }
}
