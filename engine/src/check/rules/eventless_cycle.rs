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

use petgraph::algo::kosaraju_scc;
use petgraph::visit::{EdgeFiltered, EdgeRef};

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let transitions = &cx.protocol.transitions;
    // With no unguarded eventless transition there is no cycle of them, and no components
    // to find (one for each state).
    if !transitions
        .iter()
        .any(|t| t.on.is_none() && t.guard.is_none())
    {
        return;
    }
    let unguarded_eventless = |edge: petgraph::graph::EdgeReference<'_, crate::graph::Edge>| {
        let transition = &transitions[edge.weight().transition()];
        transition.on.is_none() && transition.guard.is_none()
    };
    let graph = cx.graph.graph();
    let eventless = EdgeFiltered::from_fn(graph, unguarded_eventless);
    for component in kosaraju_scc(&eventless) {
        let looped = |node| {
            graph
                .edges(node)
                .any(|edge| edge.target() == node && unguarded_eventless(edge))
        };
        if component.len() == 1 && !looped(component[0]) {
            continue;
        }
        let inside = |edge: &petgraph::graph::EdgeReference<'_, crate::graph::Edge>| {
            component.contains(&edge.source()) && component.contains(&edge.target())
        };
        let mut members: Vec<usize> = component
            .iter()
            .flat_map(|&node| graph.edges(node))
            .filter(|edge| unguarded_eventless(*edge) && inside(edge))
            .map(|edge| edge.weight().transition())
            .collect();
        members.sort_unstable();
        members.dedup();
        let first = &cx.protocol.transitions[members[0]];
        let lines: Vec<String> = members
            .iter()
            .map(|&i| cx.protocol.transitions[i].span.line().to_string())
            .collect();
        out.push(
            cx.at(Code::P016, first.span, "eventless transitions without guards form a cycle")
                .with_help(match lines.as_slice() {
                    [line] => format!(
                        "the transition on line {line} follows itself forever; give it an `if` or an `on`"
                    ),
                    _ => format!(
                        "the transitions on lines {} follow each other forever; give one an `if` or an `on`",
                        lines.join(", ")
                    ),
                }),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::codes::Code;

    fn help(transitions: &str) -> Vec<Option<String>> {
        let text = format!(
            "protocol: demo\nstates:\n  a: {{ initial: true }}\n  b: {{}}\n  \
             c: {{}}\n  done: {{ final: true }}\ntransitions:\n{transitions}  \
             - {{ from: [b, c], on: go, to: done }}\n"
        );
        crate::check::findings_of(&text, Code::P016)
            .into_iter()
            .map(|d| d.help)
            .collect()
    }

    #[test]
    fn a_cycle_of_one_transition_and_of_several_are_told_apart() {
        let one = help("  - { from: a, to: b }\n  - { from: b, to: b }\n");
        assert_eq!(
            one,
            [Some(
                "the transition on line 9 follows itself forever; give it an `if` or an `on`"
                    .to_owned()
            )]
        );
        let two = help("  - { from: a, to: b }\n  - { from: b, to: c }\n  - { from: c, to: b }\n");
        assert_eq!(
            two,
            [Some(
                "the transitions on lines 9, 10 follow each other forever; give one an `if` or \
                 an `on`"
                    .to_owned()
            )]
        );
    }
}
