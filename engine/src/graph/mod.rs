//! The protocol as a petgraph graph: its states are the nodes, its transitions the edges.
//!
//! This one graph is what every stage walks: `check` asks it what is reachable, which
//! transitions shadow each other and where the cycles are; `picture` draws it; and the
//! [`Machine`](crate::machine::Machine) finds the transitions an event may take by walking the
//! edges out of the current state. A transition from several states is one edge from each;
//! `"*"` is an edge from every non-final state; a targetless transition is an edge back to its
//! source. Edges that name an unknown state are left out (`check` reports them as P011).

mod picture;

use std::collections::HashSet;

use petgraph::graph::{DiGraph, EdgeReference, NodeIndex};
use petgraph::visit::{Bfs, Reversed, Walker};
use petgraph::Direction;

pub use picture::{label, render, render_with, Format, Highlight, Options, Rankdir};

use crate::protocol::Protocol;
use crate::span::Str;

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A state, as a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateNode {
    /// Its id.
    pub id: Str,
    /// Whether it ends the run.
    pub is_final: bool,
}

/// An event some transition is written `on`, interned: edges compare these, not names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId(u32);

/// A transition from one state, as an edge: 12 bytes, as a protocol's `from: "*"`
/// transitions add one for every state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    transition: u32,
    /// Its event, `None` for an eventless transition.
    pub event: Option<EventId>,
}

impl Edge {
    /// The transition's index in the protocol: its place in file order.
    pub fn transition(&self) -> usize {
        self.transition as usize
    }
}

/// The states and transitions of a protocol.
#[derive(Debug, Clone)]
pub struct StateGraph {
    graph: DiGraph<StateNode, Edge>,
    nodes: HashMap<Str, NodeIndex>,
    events: HashMap<Str, EventId>,
}

impl StateGraph {
    /// Builds the graph of `protocol`.
    pub fn new(protocol: &Protocol) -> StateGraph {
        let mut graph = DiGraph::with_capacity(protocol.states.len(), protocol.transitions.len());
        let mut nodes = HashMap::default();
        for (id, state) in protocol.states.iter() {
            nodes.entry(id.value.clone()).or_insert_with(|| {
                graph.add_node(StateNode {
                    id: id.value.clone(),
                    is_final: state.is_final,
                })
            });
        }
        let mut events = HashMap::default();
        for transition in &protocol.transitions {
            if let Some(on) = &transition.on {
                let next = EventId(u32::try_from(events.len()).unwrap_or(u32::MAX));
                events.entry(on.value.clone()).or_insert(next);
            }
        }
        // petgraph lists a node's edges newest first, so edges are added last transition first:
        // a state's edges then come in file order, the order in which candidates are tried.
        for (index, transition) in protocol.transitions.iter().enumerate().rev() {
            let event = transition.on.as_ref().map(|on| events[on.as_str()]);
            for (from, to) in protocol.edges(transition).into_iter().rev() {
                if let (Some(&from), Some(&to)) = (nodes.get(from), nodes.get(to)) {
                    let edge = Edge {
                        transition: u32::try_from(index).expect("fewer than 2^32 transitions"),
                        event,
                    };
                    graph.add_edge(from, to, edge);
                }
            }
        }
        // `from: "*"` adds an edge from every state: the edges can outnumber the transitions
        // many times, and the room the graph grew to is given back.
        graph.shrink_to_fit();
        StateGraph {
            graph,
            nodes,
            events,
        }
    }

    /// The petgraph graph, for the algorithms of `petgraph::algo` and `petgraph::visit`.
    pub fn graph(&self) -> &DiGraph<StateNode, Edge> {
        &self.graph
    }

    /// The node of a state.
    pub fn node(&self, state: &str) -> Option<NodeIndex> {
        self.nodes.get(state).copied()
    }

    /// The state a node stands for.
    pub fn state(&self, node: NodeIndex) -> &StateNode {
        &self.graph[node]
    }

    /// Whether `state` is declared final.
    pub fn is_final(&self, state: &str) -> bool {
        self.node(state)
            .is_some_and(|node| self.graph[node].is_final)
    }

    /// The id of an event some transition is written on; `None` if none is.
    pub fn event(&self, name: &str) -> Option<EventId> {
        self.events.get(name).copied()
    }

    /// The edges out of `node` on `event` (`None`: the eventless ones), in file order: the
    /// transitions a run in that state tries, first to last.
    pub fn candidates(
        &self,
        node: NodeIndex,
        event: Option<EventId>,
    ) -> impl Iterator<Item = EdgeReference<'_, Edge>> + '_ {
        self.graph
            .edges_directed(node, Direction::Outgoing)
            .filter(move |edge| edge.weight().event == event)
    }

    /// The transitions from `state` on `event` (`None`: eventless), in file order, by index.
    /// Empty for an unknown state, or an event no transition is written on.
    pub fn transitions_from<'g>(
        &'g self,
        state: &str,
        event: Option<&str>,
    ) -> impl Iterator<Item = usize> + 'g {
        let node = self.node(state);
        let event = match event {
            Some(name) => self.event(name).map(Some),
            None => Some(None),
        };
        let found = node.zip(event);
        found
            .into_iter()
            .flat_map(move |(node, event)| self.candidates(node, event))
            .map(|edge| edge.weight().transition())
    }

    /// Every edge, in file order of its transition, and for one transition in the order its
    /// `from` lists its states.
    pub fn edges_in_file_order(&self) -> impl Iterator<Item = EdgeReference<'_, Edge>> + '_ {
        self.graph.edge_references().rev()
    }

    /// The states reachable from `start` (itself included).
    pub fn reachable_from(&self, start: NodeIndex) -> HashSet<NodeIndex> {
        Bfs::new(&self.graph, start).iter(&self.graph).collect()
    }

    /// The states from which one of `targets` can be reached (the targets included).
    pub fn reaching(&self, targets: impl IntoIterator<Item = NodeIndex>) -> HashSet<NodeIndex> {
        let reversed = Reversed(&self.graph);
        let mut seen = HashSet::new();
        for target in targets {
            if seen.contains(&target) {
                continue;
            }
            seen.extend(Bfs::new(reversed, target).iter(reversed));
        }
        seen
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use petgraph::visit::EdgeRef;
    use std::path::Path;

    pub(in crate::graph) fn protocol(text: &str) -> Protocol {
        crate::protocol::parse(Path::new("p.yaml"), text.as_bytes()).unwrap()
    }

    /// States of every kind, transitions from one state, from `*` and eventless ones.
    pub(in crate::graph) const SMALL: &str = "protocol: p
states:
  a: { initial: true }
  b: {}
  c: { final: true }
  d: {}
transitions:
  - { from: a, to: b, on: go, if: \"x > 1\", do: [launch] }
  - { from: b, to: c }
  - { from: \"*\", to: c, on: stop }
";

    /// `SMALL`, and a targetless transition from two states and one to an undeclared state.
    fn more() -> Protocol {
        protocol(&format!(
            "{SMALL}  - {{ from: [b, a], on: go }}\n  - {{ from: a, to: nowhere, on: go }}\n"
        ))
    }

    #[test]
    fn reachability_both_ways() {
        let p = more();
        let g = StateGraph::new(&p);
        let reached = g.reachable_from(g.node("a").unwrap());
        assert!(reached.contains(&g.node("c").unwrap()));
        assert!(!reached.contains(&g.node("d").unwrap()));
        let reaching = g.reaching([g.node("c").unwrap()]);
        assert_eq!(reaching.len(), 4, "every state reaches c through `*`");
    }

    #[test]
    fn candidates_come_in_file_order_and_skip_unknown_states() {
        let g = StateGraph::new(&more());
        let from = |state, event| g.transitions_from(state, event).collect::<Vec<_>>();
        assert_eq!(
            from("a", Some("go")),
            [0, 3],
            "line 4 has no edge: `nowhere`"
        );
        assert_eq!(from("b", Some("go")), [3]);
        assert_eq!(from("b", None), [1]);
        assert_eq!(from("d", Some("stop")), [2]);
        assert_eq!(
            from("c", Some("stop")),
            Vec::<usize>::new(),
            "`*` is not final states"
        );
        assert_eq!(from("a", Some("unknown")), Vec::<usize>::new());
        assert_eq!(from("nowhere", Some("go")), Vec::<usize>::new());
    }

    #[test]
    fn a_targetless_transition_is_an_edge_back_to_its_source() {
        let g = StateGraph::new(&more());
        let b = g.node("b").unwrap();
        let edge = g
            .candidates(b, g.event("go"))
            .next()
            .expect("the targetless `go`");
        assert_eq!((edge.source(), edge.target()), (b, b));
    }

    #[test]
    fn edges_in_file_order_follow_the_transitions_and_their_from() {
        let g = StateGraph::new(&more());
        let order: Vec<(usize, &str)> = g
            .edges_in_file_order()
            .map(|e| (e.weight().transition(), g.state(e.source()).id.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                (0, "a"),
                (1, "b"),
                (2, "a"),
                (2, "b"),
                (2, "d"),
                (3, "b"),
                (3, "a")
            ]
        );
    }
}
