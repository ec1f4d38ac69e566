//! P033 (warning): a guard, `set` expression or message reads a name that may not be there when
//! it runs.
//!
//! **What.** Three kinds of names are there on some paths only: an attribute of `incident`
//! before any incident has happened (on some path into the transition, the run may not have
//! taken an `incident` yet); an attribute of a name transitions `set`, which is `none` until
//! one does, where some path into the transition sets it nowhere; and `metrics.NAME`, which is
//! there once the job has logged `NAME`. A read is
//! fine inside `{% if ... %}` (or `... if ... else ...`) whose condition mentions it, after an
//! `and`/`or` whose left side does, and under a test or `default`:
//! `metrics.loss if metrics.loss is defined else "not reported"`. The paths into a transition
//! are followed through declared states only (a state no `states` entry declares is P011's).
//!
//! **Why.** Undefined names are errors. A guard or `set` that fails leaves the run where it was;
//! a message that fails is sent with its failure marked, in place of what it should have said,
//! and the owner of uncategorized incidents is told.
//!
//! **Example.**
//! ```yaml
//! - { from: watch, on: exited, to: done, send: [{ from: trainer, to: director, text: "{{ incident.category }}" }] }   # P033
//! ```

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use petgraph::visit::EdgeRef;
use petgraph::Direction;

use super::Cx;
use crate::check::guarded::{reads, Read};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::expr::{Kind, Position};
use crate::protocol::Transition;
use crate::span::{Span, Spanned, Str};

/// What is there on every path into a state: whether an incident has happened, and the names
/// set.
#[derive(Clone, PartialEq, Eq)]
struct Facts<'p> {
    incident: bool,
    set: BTreeSet<&'p str>,
}

impl<'p> Facts<'p> {
    /// What holds after `transition`, taken with these facts.
    fn after(&self, transition: &'p Transition) -> Facts<'p> {
        let mut after = self.clone();
        after.incident |= on_incident(transition);
        after
            .set
            .extend(transition.set().keys().map(|k| k.as_str()));
        after
    }

    /// What holds on both paths.
    fn meet(&self, other: &Facts<'p>) -> Facts<'p> {
        Facts {
            incident: self.incident && other.incident,
            set: self.set.intersection(&other.set).copied().collect(),
        }
    }
}

fn on_incident(transition: &Transition) -> bool {
    transition
        .on
        .as_ref()
        .is_some_and(|on| on.as_str() == "incident")
}

/// The facts on every path into each state reached from the initial one, by the state's node
/// in the state graph.
fn facts<'p>(cx: &Cx<'p>) -> Vec<Option<Facts<'p>>> {
    let p = cx.protocol;
    let graph = cx.graph.graph();
    let mut facts = vec![None; graph.node_count()];
    let Some(initial) = p.initial_state().and_then(|s| cx.graph.node(s)) else {
        return facts;
    };
    facts[initial.index()] = Some(Facts {
        incident: false,
        set: BTreeSet::new(),
    });
    let mut todo = vec![initial];
    while let Some(state) = todo.pop() {
        let Some(here) = facts[state.index()].clone() else {
            continue;
        };
        for edge in graph.edges_directed(state, Direction::Outgoing) {
            let after = here.after(&p.transitions[edge.weight().transition()]);
            let to = edge.target().index();
            let met = match &facts[to] {
                Some(old) => old.meet(&after),
                None => after,
            };
            if facts[to].as_ref() != Some(&met) {
                facts[to] = Some(met);
                todo.push(edge.target());
            }
        }
    }
    facts
}

/// Why a read may fail, if it may.
fn risk(path: &[String], facts: &Facts<'_>, set_names: &BTreeSet<&str>) -> Option<String> {
    let root = path.first()?.as_str();
    match root {
        "incident" if path.len() > 1 && !facts.incident => Some(
            "no incident may have happened yet on some path here; guard it: \
             `{% if incident %}`"
                .into(),
        ),
        "metrics" if path.len() > 1 => Some(format!(
            "it is there only once the job has logged `{}`; guard it: `{} is defined`",
            path[1],
            path[..2].join(".")
        )),
        name if path.len() > 1 && set_names.contains(name) && !facts.set.contains(name) => {
            Some(format!(
                "`{name}` is `none` until a transition sets it, and some path here sets none; \
                 guard it: `{{% if {name} %}}`"
            ))
        }
        _ => None,
    }
}

/// The reads found, each source analyzed once, each place reported once.
struct Finder<'p> {
    cx: &'p Cx<'p>,
    set_names: BTreeSet<&'p str>,
    analyzed: HashMap<(Kind, &'p str), Rc<Vec<Read>>>,
    reported: BTreeSet<(PathBuf, u32, u32)>,
    out: Vec<Diagnostic>,
}

impl<'p> Finder<'p> {
    fn unguarded(&mut self, source: &'p str, kind: Kind) -> Rc<Vec<Read>> {
        self.analyzed
            .entry((kind, source))
            .or_insert_with(|| {
                let found = reads(source, kind).into_iter().filter(|r| !r.guarded);
                Rc::new(found.collect())
            })
            .clone()
    }

    fn report(&mut self, file: &Path, span: Span, path: &[String], why: String, what: &str) {
        if self
            .reported
            .insert((file.to_path_buf(), span.line(), span.column()))
        {
            let message = format!("{what} reads `{}`, which may not be there", path.join("."));
            self.out
                .push(Diagnostic::new(Code::P033, file, span, message).with_help(why));
        }
    }

    /// A guard, `set` expression or message text written in the protocol.
    fn inline(&mut self, text: &'p Spanned<Str>, kind: Kind, facts: &Facts<'_>, what: &str) {
        for read in self.unguarded(text, kind).iter() {
            if let Some(why) = risk(&read.path, facts, &self.set_names) {
                let span = self.cx.in_expression(text.span, read.position);
                self.report(&self.cx.protocol.path, span, &read.path, why, what);
            }
        }
    }

    /// A template file.
    fn template(&mut self, path: &Path, text: &'p str, facts: &Facts<'_>, what: &str) {
        for read in self.unguarded(text, Kind::Template).iter() {
            if let Some(why) = risk(&read.path, facts, &self.set_names) {
                let Position { line, column, len } = read.position;
                self.report(path, Span::new(line, column, len), &read.path, why, what);
            }
        }
    }
}

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    let facts = facts(cx);
    let mut finder = Finder {
        cx,
        // Names transitions set that are not vars (a var is always there).
        set_names: p
            .transitions
            .iter()
            .flat_map(|t| t.set().keys())
            .map(|k| k.as_str())
            .filter(|name| !p.vars.contains(name))
            .collect(),
        analyzed: HashMap::new(),
        reported: BTreeSet::new(),
        out: Vec::new(),
    };
    for transition in &p.transitions {
        // What every state the transition leaves has in common.
        let Some(before) = p
            .sources(transition)
            .iter()
            .filter_map(|s| facts[cx.graph.node(s)?.index()].as_ref())
            .cloned()
            .reduce(|a, b| a.meet(&b))
        else {
            continue; // never taken: P012's
        };
        // Guards and `set` see the incident of an `incident` event; messages, what `set` set.
        let mut seen = before.clone();
        seen.incident |= on_incident(transition);
        let after = before.after(transition);
        if let Some(guard) = &transition.guard {
            finder.inline(guard, Kind::Expression, &seen, "the guard");
        }
        for (_, value) in transition.set().iter() {
            finder.inline(value, Kind::Expression, &seen, "the `set` expression");
        }
        for send in &transition.send {
            if let Some(text) = &send.text {
                finder.inline(text, Kind::Template, &after, "the message text");
            }
            let Some(name) = &send.template else { continue };
            let Some(template) = cx.templates.get(name.as_str()) else {
                continue;
            };
            let what = format!(
                "template `{}`, sent on the transition on line {},",
                name.as_str(),
                transition.span.line()
            );
            finder.template(&template.path, &template.text, &after, &what);
        }
    }
    out.extend(finder.out);
}

#[cfg(test)]
mod tests {
    use crate::codes::Code;

    fn found(text: &str) -> Vec<String> {
        let protocol = format!(
            "protocol: demo\nroles: {{ a: {{}} }}\nchannels: [{{ from: a, to: a }}]\n\
             events: {{ fix: {{ from: [a], fields: {{ summary: {{ type: string }} }} }} }}\n\
             states:\n  start: {{ initial: true }}\n  fixed: {{}}\n  done: {{ final: true }}\n\
             transitions:\n  - {{ from: start, on: fix, to: fixed, set: {{ fix: event }} }}\n  \
             - {{ from: [start, fixed], on: exited, to: done, send: [{{ from: a, to: a, text: \"{text}\" }}] }}\n"
        );
        crate::check::findings_of(&protocol, Code::P033)
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn a_set_name_is_none_until_set_so_only_its_attributes_may_fail() {
        assert_eq!(
            found("{{ fix.summary }}"),
            ["the message text reads `fix.summary`, which may not be there"]
        );
        assert_eq!(
            found("{% if fix %}{{ fix.summary }}{% endif %}"),
            Vec::<String>::new()
        );
        assert_eq!(found("{{ fix }}"), Vec::<String>::new(), "`none` renders");
        assert_eq!(
            found("{{ metrics.loss | default('?') }}"),
            Vec::<String>::new()
        );
        assert_eq!(
            found("{{ metrics.loss }}"),
            ["the message text reads `metrics.loss`, which may not be there"]
        );
    }
}
