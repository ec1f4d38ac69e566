//! Pictures of the state graph, for people: Mermaid (as GitHub renders it in markdown) and
//! Graphviz DOT.

use std::collections::{BTreeMap, BTreeSet, HashMap};
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

/// Which way the picture runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rankdir {
    /// Top to bottom: the default, which keeps a protocol of many states narrow enough to read.
    #[default]
    TopBottom,
    /// Left to right.
    LeftRight,
}

/// A run drawn over its protocol: where it is, where it has been, and the path it took.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Highlight {
    /// The run's id.
    pub run: String,
    /// The state it is in.
    pub current: String,
    /// Whether it has ended.
    pub ended: bool,
    /// Every state it has been in, the current one included.
    pub visited: BTreeSet<String>,
    /// How many times each transition was taken from each state: by the transition's index
    /// and the state it left.
    pub taken: BTreeMap<(usize, String), usize>,
}

impl Highlight {
    /// The highlight of a run as `instance` holds it: its current state, and every transition
    /// its history took.
    pub fn of(instance: &crate::machine::Instance, initial: Option<&str>) -> Highlight {
        let mut highlight = Highlight {
            run: instance.run.id.clone(),
            current: instance.state.clone(),
            ..Highlight::default()
        };
        highlight.visited.extend(initial.map(str::to_owned));
        highlight.visited.insert(instance.state.clone());
        for entry in instance.history.iter() {
            if let Some(transition) = entry.transition {
                *highlight
                    .taken
                    .entry((transition, entry.from.clone()))
                    .or_default() += 1;
                highlight.visited.insert(entry.from.clone());
                highlight.visited.insert(entry.to.clone());
            }
        }
        highlight
    }
}

/// How to draw: the direction, whether guards are shown, and a run to draw over the protocol.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Which way the picture runs.
    pub rankdir: Rankdir,
    /// Leave the guards (`[...]`) out of the edges' labels.
    pub no_guards: bool,
    /// A run to highlight.
    pub run: Option<Highlight>,
}

/// The label of a transition's edge: `event [guard] / effects`.
pub fn label(transition: &Transition) -> String {
    label_parts(transition, true).join(" ")
}

/// The parts of a transition's label: its event, `[guard]` (when `guards`), `/ effects`.
fn label_parts(transition: &Transition, guards: bool) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(on) = &transition.on {
        parts.push(on.to_string());
    }
    if let Some(guard) = transition.guard.as_ref().filter(|_| guards) {
        let guard: String = guard.split_whitespace().collect::<Vec<_>>().join(" ");
        let short: String = guard.chars().take(48).collect();
        let ellipsis = if short.len() < guard.len() { "…" } else { "" };
        parts.push(format!("[{short}{ellipsis}]"));
    }
    if !transition.effects.is_empty() {
        let effects: Vec<_> = transition.effects.iter().map(|e| e.as_str()).collect();
        parts.push(format!("/ {}", effects.join(", ")));
    }
    parts
}

/// Draws the protocol's states and transitions. Transitions from `"*"` start at a pseudo-state
/// named "any state" rather than at every state, to keep the picture readable.
pub fn render(protocol: &Protocol, format: Format) -> String {
    render_with(protocol, format, &Options::default())
}

/// [`render`], drawn as `options` say.
pub fn render_with(protocol: &Protocol, format: Format, options: &Options) -> String {
    match format {
        Format::Mermaid => mermaid(protocol, options),
        Format::Dot => dot(protocol, options),
    }
}

const ANY: &str = "any_state";

/// An edge to draw: the labels of its transitions, each as its parts, and how many times the
/// run drawn over it took one of them.
struct Drawn {
    from: String,
    to: String,
    labels: Vec<Vec<String>>,
    taken: usize,
}

/// The edges to draw, one per pair of states: the labels of parallel transitions in file
/// order, each once.
fn edges(protocol: &Protocol, options: &Options) -> Vec<Drawn> {
    let graph = StateGraph::new(protocol);
    let mut edges: Vec<Drawn> = Vec::new();
    // Where each pair of states is drawn in `edges`: found at once, however many there are.
    let mut drawn: HashMap<(String, String), usize> = HashMap::new();
    let mut add = |from: &str, to: &str, label: Vec<String>, taken: usize| {
        let key = (from.to_owned(), to.to_owned());
        match drawn.get(&key) {
            Some(&at) => {
                let edge = &mut edges[at];
                if !edge.labels.contains(&label) {
                    edge.labels.push(label);
                }
                edge.taken += taken;
            }
            None => {
                drawn.insert(key, edges.len());
                edges.push(Drawn {
                    from: from.to_owned(),
                    to: to.to_owned(),
                    labels: vec![label],
                    taken,
                });
            }
        }
    };
    let mut drawn_from_any = None;
    for edge in graph.edges_in_file_order() {
        let index = edge.weight().transition();
        let transition = &protocol.transitions[index];
        let label = label_parts(transition, !options.no_guards);
        let (from, to) = (
            &graph.state(edge.source()).id,
            &graph.state(edge.target()).id,
        );
        let taken = |from: &str| {
            options
                .run
                .as_ref()
                .map_or(0, |run| run.taken_from(index, from))
        };
        match (&transition.from, &transition.to) {
            // One edge from "any state", not one from each.
            (From::Any(_), _) if drawn_from_any == Some(index) => {}
            (From::Any(_), target) => {
                drawn_from_any = Some(index);
                let to = target.as_ref().map_or(ANY, |_| to.as_str());
                add(ANY, to, label, taken(ANY));
            }
            _ => add(from, to, label, taken(from)),
        }
    }
    edges
        .into_iter()
        .map(|mut drawn| {
            drawn.labels.retain(|l| !l.is_empty());
            drawn
        })
        .collect()
}

impl Highlight {
    /// How many times the run took transition `index` from `from` (`any_state`: from any
    /// state). A transition from several states is one edge from each: it counts on the edge
    /// from the state the run left.
    fn taken_from(&self, index: usize, from: &str) -> usize {
        self.taken
            .iter()
            .filter(|((taken, left), _)| *taken == index && (from == ANY || left == from))
            .map(|(_, count)| count)
            .sum()
    }

    /// A line saying where the run is.
    fn caption(&self) -> String {
        let taken: usize = self.taken.values().sum();
        let s = if taken == 1 { "" } else { "s" };
        format!(
            "run {}: {} `{}` after {taken} transition{s}",
            self.run,
            if self.ended { "ended in" } else { "in" },
            self.current
        )
    }
}

/// How many characters a line of an edge's label holds, top to bottom, before it wraps.
const WRAP: usize = 26;

/// `text` in lines of at most `width` characters, broken between words (a longer word has a
/// line of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

/// The suffix of a taken edge's label.
fn taken_mark(taken: usize) -> String {
    match taken {
        0 => String::new(),
        1 => "(taken)".to_owned(),
        n => format!("(taken {n}×)"),
    }
}

fn mermaid(protocol: &Protocol, options: &Options) -> String {
    let escape = |text: &str| {
        text.replace('#', "#35;")
            .replace(';', "#59;")
            .replace('"', "#quot;")
            .replace(':', "#58;")
    };
    let mut out = String::from("stateDiagram-v2\n");
    if options.rankdir == Rankdir::LeftRight {
        out.push_str("    direction LR\n");
    }
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
    for drawn in edges(protocol, options) {
        let mut label: Vec<String> = drawn.labels.iter().map(|l| l.join(" ")).collect();
        let mark = taken_mark(drawn.taken);
        if !mark.is_empty() {
            label.push(mark);
        }
        let (from, to) = (&drawn.from, &drawn.to);
        if label.is_empty() {
            let _ = writeln!(out, "    {from} --> {to}");
        } else {
            let _ = writeln!(out, "    {from} --> {to} : {}", escape(&label.join("; ")));
        }
    }
    for (id, state) in protocol.states.iter() {
        if state.is_final {
            let _ = writeln!(out, "    {} --> [*]", id.as_str());
        }
    }
    if let Some(run) = &options.run {
        // stateDiagram-v2 styles states, not transitions: the path is in the labels.
        let _ = writeln!(
            out,
            "    note right of {}: {}",
            run.current,
            escape(&run.caption())
        );
        out.push_str("    classDef current fill:#ffd54f,stroke:#e65100,stroke-width:3px\n");
        out.push_str("    classDef visited fill:#bbdefb,stroke:#1565c0\n");
        let visited: Vec<&str> = protocol
            .states
            .keys()
            .map(|k| k.as_str())
            .filter(|s| run.visited.contains(*s) && *s != run.current)
            .collect();
        if !visited.is_empty() {
            let _ = writeln!(out, "    class {} visited", visited.join(","));
        }
        if protocol.states.contains(&run.current) {
            let _ = writeln!(out, "    class {} current", run.current);
        }
    }
    out
}

fn dot(protocol: &Protocol, options: &Options) -> String {
    // A line break in a label is DOT's `\n`.
    let quote = |text: &str| {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        format!("\"{escaped}\"")
    };
    let mut out = format!("digraph {} {{\n", quote(protocol.id.as_str()));
    let rankdir = match options.rankdir {
        Rankdir::TopBottom => "TB",
        Rankdir::LeftRight => "LR",
    };
    let _ = writeln!(out, "    rankdir={rankdir};");
    out.push_str("    node [shape=box, style=rounded];\n");
    if options.rankdir == Rankdir::TopBottom {
        out.push_str("    edge [fontsize=10];\n");
    }
    if let Some(run) = &options.run {
        let _ = writeln!(out, "    label={};\n    labelloc=t;", quote(&run.caption()));
    }
    for (id, state) in protocol.states.iter() {
        let mut attrs = Vec::new();
        if state.initial {
            attrs.push("penwidth=2");
        }
        if state.is_final {
            attrs.push("peripheries=2");
        }
        if let Some(run) = &options.run {
            if run.current == id.as_str() {
                attrs.push("style=\"rounded,filled\", fillcolor=\"#ffd54f\", color=\"#e65100\", penwidth=3");
            } else if run.visited.contains(id.as_str()) {
                attrs.push("style=\"rounded,filled\", fillcolor=\"#bbdefb\", color=\"#1565c0\"");
            }
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
    for drawn in edges(protocol, options) {
        // One line a transition, its parts on lines of their own when the picture runs top to
        // bottom, so that an edge is as narrow as its longest part.
        let sep = match options.rankdir {
            Rankdir::TopBottom => "\n",
            Rankdir::LeftRight => " ",
        };
        let lines: Vec<String> = drawn
            .labels
            .iter()
            .map(|parts| match options.rankdir {
                Rankdir::TopBottom => parts
                    .iter()
                    .flat_map(|part| wrap(part, WRAP))
                    .collect::<Vec<_>>()
                    .join(sep),
                Rankdir::LeftRight => parts.join(sep),
            })
            .collect();
        // Top to bottom, a transition ends its last line with `;` when another follows.
        let mut label = lines.join(if sep == " " { "; " } else { ";\n" });
        let mark = taken_mark(drawn.taken);
        if !mark.is_empty() {
            if !label.is_empty() {
                label.push_str(if sep == " " { " " } else { "\n" });
            }
            label.push_str(&mark);
        }
        let style = if drawn.taken > 0 {
            ", color=\"#1565c0\", fontcolor=\"#1565c0\", penwidth=2.5"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "    {} -> {} [label={}{style}];",
            quote(&drawn.from),
            quote(&drawn.to),
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
        // Top to bottom by default: each part of a label on a line of its own.
        assert!(out.contains("    rankdir=TB;\n"), "{out}");
        assert!(out.contains("\"a\" -> \"b\" [label=\"go\\n[x > 1]\\n/ launch\"];"));
        assert!(out.contains("\"c\" [peripheries=2];"));
        assert!(out.contains("__start -> \"a\";"));
    }

    #[test]
    fn left_to_right_keeps_labels_on_one_line_and_guards_can_be_left_out() {
        let p = protocol(SMALL);
        let options = Options {
            rankdir: Rankdir::LeftRight,
            no_guards: true,
            run: None,
        };
        let out = render_with(&p, Format::Dot, &options);
        assert!(out.contains("    rankdir=LR;\n"), "{out}");
        assert!(
            out.contains("\"a\" -> \"b\" [label=\"go / launch\"];"),
            "{out}"
        );
        let out = render_with(&p, Format::Mermaid, &options);
        assert!(
            out.starts_with("stateDiagram-v2\n    direction LR\n"),
            "{out}"
        );
        assert!(out.contains("    a --> b : go / launch\n"), "{out}");
        assert!(!out.contains("x > 1"), "{out}");
    }

    #[test]
    fn long_label_parts_wrap_between_words() {
        assert_eq!(
            wrap("[incident.severity in ['critical', 'warning']]", 26),
            ["[incident.severity in", "['critical', 'warning']]"]
        );
        assert_eq!(wrap("a_single_word_longer_than_the_width", 10).len(), 1);
        assert_eq!(wrap("", 10), Vec::<String>::new());
    }

    /// A run of [`SMALL`] that took `go` from a to b twice, then `stop` from b, and ended in c.
    fn run_of_small() -> Highlight {
        Highlight {
            run: "r1".into(),
            current: "c".into(),
            ended: true,
            visited: ["a", "b", "c"].into_iter().map(String::from).collect(),
            taken: BTreeMap::from([((0, "a".to_owned()), 2), ((2, "b".to_owned()), 1)]),
        }
    }

    #[test]
    fn a_run_is_drawn_over_its_protocol() {
        let p = protocol(SMALL);
        let options = Options {
            run: Some(run_of_small()),
            ..Options::default()
        };
        let out = render_with(&p, Format::Dot, &options);
        assert!(
            out.contains("    label=\"run r1: ended in `c` after 3 transitions\";\n"),
            "{out}"
        );
        assert!(
            out.contains("\"c\" [peripheries=2, style=\"rounded,filled\", fillcolor=\"#ffd54f\""),
            "{out}"
        );
        assert!(
            out.contains("\"a\" [penwidth=2, style=\"rounded,filled\", fillcolor=\"#bbdefb\""),
            "{out}"
        );
        assert!(
            out.contains("\"d\" [];"),
            "a state never visited is plain: {out}"
        );
        assert!(
            out.contains(
                "\"a\" -> \"b\" [label=\"go\\n[x > 1]\\n/ launch\\n(taken 2×)\", color=\"#1565c0\""
            ),
            "{out}"
        );
        assert!(
            out.contains("\"any_state\" -> \"c\" [label=\"stop\\n(taken)\", color="),
            "a `*` transition counts from wherever it was taken: {out}"
        );
        assert!(
            out.contains("\"b\" -> \"c\" [label=\"\"];"),
            "not taken: {out}"
        );
        let out = render_with(&p, Format::Mermaid, &options);
        assert!(
            out.contains("    a --> b : go [x > 1] / launch#59; (taken 2×)\n"),
            "{out}"
        );
        assert!(out.contains("    b --> c\n"), "{out}");
        assert!(
            out.contains("    class a,b visited\n    class c current\n"),
            "{out}"
        );
        assert!(
            out.contains("    note right of c: run r1#58; ended in `c` after 3 transitions\n"),
            "{out}"
        );
    }

    #[test]
    fn a_transition_from_several_states_counts_where_it_was_taken() {
        let p = protocol(
            "protocol: p
states:
  a: { initial: true }
  b: {}
  c: { final: true }
transitions:
  - { from: a, to: b, on: go }
  - { from: [a, b], to: c, on: stop }
",
        );
        let run = Highlight {
            run: "r".into(),
            current: "c".into(),
            taken: BTreeMap::from([((0, "a".to_owned()), 1), ((1, "b".to_owned()), 1)]),
            ..Highlight::default()
        };
        let options = Options {
            run: Some(run),
            ..Options::default()
        };
        let out = render_with(&p, Format::Mermaid, &options);
        assert!(out.contains("    a --> c : stop\n"), "{out}");
        assert!(out.contains("    b --> c : stop#59; (taken)\n"), "{out}");
    }
}
