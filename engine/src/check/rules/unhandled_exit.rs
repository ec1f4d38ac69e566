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

/// Whether a run in `state`, with no job, can still end or launch it again: by eventless
/// transitions, timers and roles' events alone.
fn moves_on_without_job(cx: &Cx, state: &str) -> bool {
    let p = cx.protocol;
    let mut seen = BTreeSet::from([state]);
    let mut todo = vec![state];
    while let Some(state) = todo.pop() {
        for transition in &p.transitions {
            if transition
                .on
                .as_ref()
                .is_some_and(|on| JOB_EVENTS.contains(&on.as_str()))
            {
                continue;
            }
            for (from, to) in p.edges(transition) {
                if from != state {
                    continue;
                }
                if transition.starts_job() || p.is_final(to) {
                    return true;
                }
                if seen.insert(to) {
                    todo.push(to);
                }
            }
        }
    }
    false
}

/// Whether the job still runs after `transition`, taken while it ran.
fn carries_job(transition: &Transition) -> bool {
    let stops = transition
        .effects
        .iter()
        .any(|e| matches!(e.value, Effect::Stop));
    let on_exit = transition
        .on
        .as_ref()
        .is_some_and(|on| on.as_str() == "exited");
    transition.starts_job() || !(stops || on_exit)
}

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    // The states the job may run in, each with the transition that first carries it there.
    let mut running: BTreeMap<&str, (usize, bool)> = BTreeMap::new();
    for (index, transition) in p.transitions.iter().enumerate() {
        if transition.starts_job() {
            for (_, to) in p.edges(transition) {
                running.entry(to).or_insert((index, true));
            }
        }
    }
    loop {
        let mut grew = false;
        for (index, transition) in p.transitions.iter().enumerate() {
            if !carries_job(transition) {
                continue;
            }
            for (from, to) in p.edges(transition) {
                if running.contains_key(from) && !running.contains_key(to) {
                    running.insert(to, (index, false));
                    grew = true;
                }
            }
        }
        if !grew {
            break;
        }
    }
    for (id, state) in p.states.iter() {
        let Some(&(index, launched)) = running.get(id.as_str()) else {
            continue;
        };
        if launched
            || state.is_final
            || cx.candidates(id, Some("exited")).next().is_some()
            || moves_on_without_job(cx, id)
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
