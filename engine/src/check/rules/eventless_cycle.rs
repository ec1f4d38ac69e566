//! P016: a cycle of eventless transitions with no guard.
//!
//! **Why.** An eventless transition is taken as soon as its state is entered; if a chain of them
//! leads back with nothing to stop it, the run loops forever (at run time: an error after 100
//! transitions in a row).
//!
//! **Example.**
//! ```yaml
//! transitions:
//!   - { from: resume, to: check }
//!   - { from: check, to: resume }   # P016
//! ```

use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let mut graph = DiGraph::<&str, usize>::new();
    let mut nodes = std::collections::HashMap::new();
    let mut node = |graph: &mut DiGraph<&str, usize>, id: &'_ str| {
        *nodes
            .entry(id.to_owned())
            .or_insert_with(|| graph.add_node(""))
    };
    for (index, transition) in cx.protocol.transitions.iter().enumerate() {
        if transition.on.is_some() || transition.guard.is_some() {
            continue;
        }
        for (from, to) in cx.protocol.edges(transition) {
            let (from, to) = (node(&mut graph, from), node(&mut graph, to));
            graph.add_edge(from, to, index);
        }
    }
    for component in tarjan_scc(&graph) {
        let cyclic = component.len() > 1 || graph.find_edge(component[0], component[0]).is_some();
        if !cyclic {
            continue;
        }
        let mut members: Vec<usize> = graph
            .edge_indices()
            .filter(|&e| {
                let (a, b) = graph.edge_endpoints(e).expect("edge exists");
                component.contains(&a) && component.contains(&b)
            })
            .map(|e| graph[e])
            .collect();
        members.sort_unstable();
        members.dedup();
        let first = &cx.protocol.transitions[members[0]];
        let lines: Vec<String> = members
            .iter()
            .map(|&i| cx.protocol.transitions[i].span.line.to_string())
            .collect();
        out.push(
            cx.at(Code::P016, first.span, "eventless transitions without guards form a cycle")
                .with_help(format!(
                    "the transitions on lines {} follow each other forever; give one an `if` or an `on`",
                    lines.join(", ")
                )),
        );
    }
}
