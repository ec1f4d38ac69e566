//! Why a protocol cannot be compiled, a run cannot start, or a step fails. A failure in a
//! template keeps minijinja's error, with its kind, line, span and cause, as its source.

use std::sync::Arc;

use super::MAX_EVENTLESS;

/// Why a protocol cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The protocol has no single initial state.
    #[error("the protocol has no single initial state")]
    NoInitialState,
    /// A transition names a state the protocol does not declare (`check` reports it as P011).
    #[error("the transition on line {line} names the unknown state `{state}`")]
    UnknownState {
        /// The state.
        state: String,
        /// The transition's line.
        line: u32,
    },
    /// A message names a template that was not loaded.
    #[error("template `{0}` was not loaded")]
    MissingTemplate(String),
    /// A guard, expression or template does not compile.
    #[error("{what} does not compile: {source}")]
    Template {
        /// Which.
        what: String,
        /// Why.
        #[source]
        source: minijinja::Error,
    },
    /// A transition requires a gate the protocol does not declare (`check` reports it).
    #[error("the transition on line {line} requires the unknown gate `{gate}`")]
    UnknownGate {
        /// The gate.
        gate: String,
        /// The transition's line.
        line: u32,
    },
    /// A category rule does not compile.
    #[error(transparent)]
    Rules(#[from] crate::classify::ClassifyError),
}

/// Why a run cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A required var was not given.
    #[error("the var `{0}` is required")]
    MissingVar(String),
    /// A var that the protocol does not declare.
    #[error("the protocol has no var `{0}`")]
    UnknownVar(String),
    /// A var's value does not fit its type.
    #[error("var `{name}`: {reason}")]
    BadVar {
        /// The var.
        name: String,
        /// Why.
        reason: String,
    },
    /// The start failed in a step.
    #[error(transparent)]
    Step(#[from] StepError),
}

/// A template error, shared: a step's error is kept in its outcome and may be cloned.
pub type TemplateError = Arc<minijinja::Error>;

/// A failure while taking a step: a guard, expression or template that fails at run time.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StepError {
    /// A guard failed to evaluate.
    #[error(
        "the guard of the transition on line {line} failed: {}",
        describe(source)
    )]
    Guard {
        /// The transition's line in the protocol.
        line: u32,
        /// Why.
        #[source]
        source: TemplateError,
    },
    /// A `set` expression failed.
    #[error(
        "`set: {key}` of the transition on line {line} failed: {}",
        describe(source)
    )]
    Set {
        /// The transition's line.
        line: u32,
        /// The key.
        key: String,
        /// Why.
        #[source]
        source: TemplateError,
    },
    /// A message, or a field of the job, failed to render.
    #[error(
        "message {what} of the transition on line {line} failed to render: {}",
        describe(source)
    )]
    Render {
        /// The transition's line (the job's, for a field of the job).
        line: u32,
        /// The template, or "text".
        what: String,
        /// Why.
        #[source]
        source: TemplateError,
    },
    /// A duration (a timer's, or `stop_grace`) rendered to something that is not one.
    #[error("the duration of {what} on line {line} failed: {message}")]
    Duration {
        /// Whose duration: `the timer`, `stop_grace`.
        what: &'static str,
        /// The line it is written on.
        line: u32,
        /// Why.
        message: String,
    },
    /// A timer's duration failed to render.
    #[error(
        "the duration of the timer on line {line} failed: {}",
        describe(source)
    )]
    Timer {
        /// The timer's line.
        line: u32,
        /// Why.
        #[source]
        source: TemplateError,
    },
    /// A gate's expression, or one of its bounds or templates, failed to evaluate.
    #[error(
        "gate `{gate}` (line {line}) failed to evaluate {what}: {}",
        describe(source)
    )]
    Gate {
        /// The gate.
        gate: String,
        /// Its line.
        line: u32,
        /// What: `expr`, a bound, a path.
        what: String,
        /// Why.
        #[source]
        source: TemplateError,
    },
    /// A gate's bound or timeout is not what it must be (a number, a duration).
    #[error("gate `{gate}` (line {line}): {message}")]
    GateValue {
        /// The gate.
        gate: String,
        /// Its line.
        line: u32,
        /// Why.
        message: String,
    },
    /// An input other than the gates' results while the run waits for them.
    #[error("the run is waiting for the results of gates {}", gates.join(", "))]
    AwaitingGates {
        /// The gates it waits for.
        gates: Vec<String>,
    },
    /// Gates' results while the run waits for none.
    #[error("gate results were given, but no gate is being checked")]
    NoGatesPending,
    /// Eventless transitions did not stop.
    #[error("more than {MAX_EVENTLESS} eventless transitions in a row, last in `{state}`")]
    EventlessLoop {
        /// The state the loop was in.
        state: String,
    },
    /// The timers fired more often than the machine allows one step (a scenario's).
    #[error("the timers fired {limit} times in one step and are due again at {due}")]
    TooManyFirings {
        /// The most firings one step may have.
        limit: usize,
        /// When the next one was due.
        due: chrono::DateTime<chrono::Utc>,
    },
}

/// An error and its causes, on one line.
fn describe(error: &minijinja::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
