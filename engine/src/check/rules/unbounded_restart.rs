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

use std::collections::BTreeSet;

use petgraph::algo::kosaraju_scc;
use petgraph::graph::EdgeReference;
use petgraph::visit::{EdgeFiltered, EdgeRef};

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::graph::Edge;
use crate::protocol::{Effect, Transition};

fn reads_counters(names: &[Vec<String>]) -> bool {
    names.iter().any(|path| {
        path.first().is_some_and(|root| root == "counters")
            || (path.len() >= 2 && path[0] == "job" && path[1] == "restarts")
    })
}

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    let restarts = |t: &Transition| t.effects.iter().any(|e| e.value == Effect::Restart);
    // With no restart there is nothing to bound, and no components to find (one for each
    // state).
    if !p.transitions.iter().any(restarts) {
        return;
    }
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

    // The unbounded edges: a restart edge on one of their cycles restarts forever.
    let graph = cx.graph.graph();
    let unbounded = |edge: EdgeReference<'_, Edge>| {
        let index = edge.weight().transition();
        let state = &cx.graph.state(edge.source()).id;
        !bounded(index, &p.transitions[index], state)
    };
    let unbounded_graph = EdgeFiltered::from_fn(graph, unbounded);
    let mut component = vec![0; graph.node_count()];
    for (id, members) in kosaraju_scc(&unbounded_graph).into_iter().enumerate() {
        for node in members {
            component[node.index()] = id;
        }
    }
    let restart_edges = cx
        .graph
        .edges_in_file_order()
        .filter(|&edge| restarts(&p.transitions[edge.weight().transition()]) && unbounded(edge));
    let mut reported = BTreeSet::new();
    for edge in restart_edges {
        let (index, from, to) = (edge.weight().transition(), edge.source(), edge.target());
        if component[from.index()] != component[to.index()] || !reported.insert(index) {
            continue;
        }
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
