//! Pictures of the state graph, for people: Mermaid (as GitHub renders it in markdown) and
//! Graphviz DOT.

use std::fmt::Write as _;

use petgraph::visit::EdgeRef;

use super::StateGraph;
use crate::protocol::{From, Protocol, Transition};

/// A picture format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A Mermaid `stateDiagram-v2`, as GitHub renders in markdown.
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// The label of a transition's edge: `event [guard] / effects`.
pub fn label(transition: &Transition) -> String {
    let mut label = String::new();
    if let Some(on) = &transition.on {
        label.push_str(on);
    }
    if let Some(guard) = &transition.guard {
        let guard: String = guard.split_whitespace().collect::<Vec<_>>().join(" ");
        let short: String = guard.chars().take(48).collect();
        let ellipsis = if short.len() < guard.len() { "…" } else { "" };
        if !label.is_empty() {
            label.push(' ');
        }
        let _ = write!(label, "[{short}{ellipsis}]");
    }
    if !transition.effects.is_empty() {
        let effects: Vec<_> = transition.effects.iter().map(|e| e.as_str()).collect();
        if !label.is_empty() {
            label.push(' ');
        }
        let _ = write!(label, "/ {}", effects.join(", "));
    }
    label
}

/// Draws the protocol's states and transitions. Transitions from `"*"` start at a pseudo-state
/// named "any state" rather than at every state, to keep the picture readable.
pub fn render(protocol: &Protocol, format: Format) -> String {
    match format {
        Format::Mermaid => mermaid(protocol),
        Format::Dot => dot(protocol),
    }
}

const ANY: &str = "any_state";

/// The edges to draw, one per pair of states: the labels of parallel transitions are joined
/// with `; ` in file order.
fn edges(protocol: &Protocol) -> Vec<(String, String, String)> {
    let graph = StateGraph::new(protocol);
    let mut edges: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut add = |from: &str, to: &str, label: &str| match edges
        .iter_mut()
        .find(|(f, t, _)| f == from && t == to)
    {
        Some((_, _, labels)) => {
            if !labels.iter().any(|l| l == label) {
                labels.push(label.to_owned());
            }
        }
        None => edges.push((from.to_owned(), to.to_owned(), vec![label.to_owned()])),
    };
    let mut drawn_from_any = None;
    for edge in graph.edges_in_file_order() {
        let index = edge.weight().transition;
        let transition = &protocol.transitions[index];
        let label = label(transition);
        let (from, to) = (
            &graph.state(edge.source()).id,
            &graph.state(edge.target()).id,
        );
        match (&transition.from, &transition.to) {
            // One edge from "any state", not one from each.
            (From::Any(_), _) if drawn_from_any == Some(index) => {}
            (From::Any(_), target) => {
                drawn_from_any = Some(index);
                add(ANY, target.as_ref().map_or(ANY, |_| to.as_str()), &label);
            }
            _ => add(from, to, &label),
        }
    }
    edges
        .into_iter()
        .map(|(from, to, labels)| {
            let labels: Vec<String> = labels.into_iter().filter(|l| !l.is_empty()).collect();
            (from, to, labels.join("; "))
        })
        .collect()
}

fn mermaid(protocol: &Protocol) -> String {
    let escape = |text: &str| {
        text.replace('#', "#35;")
            .replace(';', "#59;")
            .replace('"', "#quot;")
            .replace(':', "#58;")
    };
    let mut out = String::from("stateDiagram-v2\n");
    for (id, state) in protocol.states.iter() {
        if state.initial {
            let _ = writeln!(out, "    [*] --> {}", id.as_str());
        }
    }
    if protocol
        .transitions
        .iter()
        .any(|t| matches!(t.from, From::Any(_)))
    {
        let _ = writeln!(out, "    state \"any state\" as {ANY}");
    }
    for (from, to, label) in edges(protocol) {
        if label.is_empty() {
            let _ = writeln!(out, "    {from} --> {to}");
        } else {
            let _ = writeln!(out, "    {from} --> {to} : {}", escape(&label));
        }
    }
    for (id, state) in protocol.states.iter() {
        if state.is_final {
            let _ = writeln!(out, "    {} --> [*]", id.as_str());
        }
    }
    out
}

fn dot(protocol: &Protocol) -> String {
    let quote = |text: &str| format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = format!("digraph {} {{\n", quote(protocol.id.as_str()));
    out.push_str("    rankdir=LR;\n    node [shape=box, style=rounded];\n");
    for (id, state) in protocol.states.iter() {
        let mut attrs = Vec::new();
        if state.initial {
            attrs.push("penwidth=2");
        }
        if state.is_final {
            attrs.push("peripheries=2");
        }
        let _ = writeln!(out, "    {} [{}];", quote(id.as_str()), attrs.join(", "));
    }
    if protocol
        .transitions
        .iter()
        .any(|t| matches!(t.from, From::Any(_)))
    {
        let _ = writeln!(
            out,
            "    {} [label=\"any state\", shape=note, style=dashed];",
            quote(ANY)
        );
    }
    if let Some(initial) = protocol.initial_state() {
        out.push_str("    __start [shape=point];\n");
        let _ = writeln!(out, "    __start -> {};", quote(initial.as_str()));
    }
    for (from, to, label) in edges(protocol) {
        let _ = writeln!(
            out,
            "    {} -> {} [label={}];",
            quote(&from),
            quote(&to),
            quote(&label)
        );
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::tests::{protocol, SMALL};

    #[test]
    fn mermaid_marks_initial_final_and_labels() {
        let p = protocol(SMALL);
        let out = render(&p, Format::Mermaid);
        assert_eq!(
            out,
            "stateDiagram-v2
    [*] --> a
    state \"any state\" as any_state
    a --> b : go [x > 1] / launch
    b --> c
    any_state --> c : stop
    c --> [*]
"
        );
    }

    #[test]
    fn dot_quotes_everything() {
        let p = protocol(SMALL);
        let out = render(&p, Format::Dot);
        assert!(out.contains("\"a\" -> \"b\" [label=\"go [x > 1] / launch\"];"));
        assert!(out.contains("\"c\" [peripheries=2];"));
        assert!(out.contains("__start -> \"a\";"));
    }
}
