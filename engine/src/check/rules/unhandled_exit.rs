//! P045 (warning): the job may end in a state that takes no `exited`, and then nothing can move
//! the run.
//!
//! **What.** A state the job is carried into while it runs (from a state it runs in, by a
//! transition that neither stops it nor is on `exited`), which no transition takes `exited`
//! from, and from which only the job's own events (`incident`, `exited`, `silence`,
//! `launched`) lead to a final state or to a new launch. States the job is launched into are
//! P041's.
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

use std::collections::{BTreeMap, BTreeSet};

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
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

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    // Every edge once, by its source and by its target.
    let mut edges: Vec<(&str, &str, usize)> = Vec::new();
    for (index, transition) in p.transitions.iter().enumerate() {
        edges.extend(
            p.edges(transition)
                .into_iter()
                .map(|(from, to)| (from, to, index)),
        );
    }
    let mut by_source: BTreeMap<&str, Vec<(&str, usize)>> = BTreeMap::new();
    let mut by_target: BTreeMap<&str, Vec<(&str, usize)>> = BTreeMap::new();
    for &(from, to, index) in &edges {
        by_source.entry(from).or_default().push((to, index));
        by_target.entry(to).or_default().push((from, index));
    }

    // The states the job may run in, each with the transition that first carries it there.
    let mut running: BTreeMap<&str, (usize, bool)> = BTreeMap::new();
    for &(_, to, index) in &edges {
        if p.transitions[index].starts_job() {
            running.entry(to).or_insert((index, true));
        }
    }
    let mut todo: Vec<&str> = running.keys().copied().collect();
    while let Some(state) = todo.pop() {
        for &(to, index) in by_source.get(state).into_iter().flatten() {
            if carries_job(&p.transitions[index]) && !running.contains_key(to) {
                running.insert(to, (index, false));
                todo.push(to);
            }
        }
    }

    // The states a run with no job can still leave for a final state or a new launch, by
    // eventless transitions, timers and roles' events alone: back from such an edge.
    let without_job = |index: usize| !on_any(&p.transitions[index], &JOB_EVENTS);
    let mut moves_on: BTreeSet<&str> = edges
        .iter()
        .filter(|&&(_, to, index)| {
            without_job(index) && (p.transitions[index].starts_job() || p.is_final(to))
        })
        .map(|&(from, _, _)| from)
        .collect();
    let mut todo: Vec<&str> = moves_on.iter().copied().collect();
    while let Some(state) = todo.pop() {
        for &(from, index) in by_target.get(state).into_iter().flatten() {
            if without_job(index) && moves_on.insert(from) {
                todo.push(from);
            }
        }
    }

    for (id, state) in p.states.iter() {
        let Some(&(index, launched)) = running.get(id.as_str()) else {
            continue;
        };
        if launched
            || state.is_final
            || cx.candidates(id, Some("exited")).next().is_some()
            || moves_on.contains(id.as_str())
        {
            continue;
        }
        let line = p.transitions[index].span.line;
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
