//! A run seen through its protocol: `warden render --run RUN TEMPLATE`, a message template
//! rendered against the run's state as its journal makes it (vars, counters, incident, job,
//! gates, state), as a transition from the current state to itself would render it and as the
//! run writes a message's file; and `warden graph --run RUN`, the run drawn over its protocol.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::state::RunState;
use super::store::{file_text, RunDir};
use super::RunError;
use crate::graph::Highlight;
use crate::machine::Machine;

/// Renders the template `name` against `run`'s state: with the protocol and templates the run
/// started with, or, given `protocol`, with that file's (to see how a changed template reads for
/// the run). The time is the run's end once it has ended, else `now`.
pub fn render(
    run: &RunDir,
    protocol: Option<&Path>,
    name: &str,
    now: DateTime<Utc>,
) -> Result<String, RunError> {
    let state = RunState::replay(run)?;
    let at = state.ended().map_or(now, |(at, _)| at);
    let Some(path) = protocol else {
        let text = state.machine().render(state.instance(), name, at)?;
        return Ok(file_text(&text).into_owned());
    };
    let protocol = crate::protocol::load(path)?;
    let (templates, problems) = crate::protocol::load_templates(&protocol);
    if !problems.is_empty() {
        return Err(RunError::Invalid {
            path: path.to_path_buf(),
            diagnostics: problems,
        });
    }
    let machine = Machine::new(protocol, &templates)?;
    let text = machine.render(state.instance(), name, at)?;
    Ok(file_text(&text).into_owned())
}

/// `warden graph --run RUN`: the protocol the run started with, and the run drawn over it (its
/// current state, the states it has been in, the transitions it took).
pub fn highlight(run: &RunDir) -> Result<(crate::protocol::Protocol, Highlight), RunError> {
    let state = RunState::replay(run)?;
    let protocol = state.machine().protocol().clone();
    let initial = protocol.initial_state().map(|s| s.value.clone());
    let mut highlight = Highlight::of(state.instance(), initial.as_deref());
    highlight.ended = state.ended().is_some();
    Ok((protocol, highlight))
}
