//! What goes into a step and what comes out: the [`Input`]s a journal records, the
//! [`Outcome`] of a step with the transitions [`Taken`] and the [`Message`]s rendered, and the
//! [`JobPlan`] a run's vars make of the protocol's `job`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Instance;
use crate::classify::{Incident, Record, Spacing};
use crate::gate::{Check, GateResult};
use crate::protocol::Effect;

/// What happens to a run. Inputs are what the journal records: replaying them replays the run.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "input", rename_all = "snake_case")]
pub enum Input {
    /// The job started.
    Launched {
        /// Its process id.
        pid: u32,
        /// Whether it resumed from the checkpoint.
        resumed: bool,
        /// The command as run, when it differs from the protocol's (resume arguments added, or
        /// a command given to `run`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<Vec<String>>,
        /// The Slurm job id, for a job submitted to Slurm (its `pid` is then 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slurm_job: Option<u64>,
    },
    /// The job ended by itself.
    Exited {
        /// Its exit code.
        exit_code: Option<i32>,
        /// The signal that ended it.
        signal: Option<i32>,
        /// The state a Slurm job ended in (`COMPLETED`, `PREEMPTED`, `TIMEOUT`, ...).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slurm_state: Option<String>,
    },
    /// The classifier found an incident.
    Incident(Box<Incident>),
    /// The current incident happened again (counted, not an event).
    Repeated {
        /// How often since it was reported.
        count: u64,
        /// When it was last seen.
        last_seen: DateTime<Utc>,
    },
    /// Facts read from the log: its last line and the metric records since the last input.
    Log {
        /// The last line.
        last_line: Option<String>,
        /// Metric records, in order.
        records: Vec<Record>,
        /// How the job's progress entries among them were spaced.
        #[serde(default, skip_serializing_if = "Spacing::is_empty")]
        spacing: Spacing,
    },
    /// A role sends an event.
    Send {
        /// The event.
        event: String,
        /// The role.
        sender: String,
        /// Its fields.
        fields: BTreeMap<String, serde_json::Value>,
    },
    /// The job wrote nothing for the duration of the var `silence`.
    Silence,
    /// Time passed: fire the timers that are due.
    Tick,
    /// The job was stopped by Warden (a `stop` effect, or the stop half of `restart`): not an
    /// event, but the end of its process's runtime. A run's journal says it with its `stopped`
    /// entry, which the run's state gives the machine as this input.
    Stopped,
    /// What the gates the machine asked for found (see [`Outcome::checks`]).
    Gates {
        /// One result per gate asked for.
        results: Vec<GateResult>,
    },
    /// An artifact of the job was seen to appear, change or vanish.
    Artifact {
        /// Its name in `job.artifacts`.
        name: String,
        /// Whether it exists.
        exists: bool,
        /// Its size in bytes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
        /// When it was last modified.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        modified: Option<DateTime<Utc>>,
    },
}

/// What one step did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The instance after the step.
    #[serde(skip)]
    pub instance: Instance,
    /// The transitions taken, in order, each with the messages it rendered and its effects.
    pub transitions: Vec<Taken>,
    /// Events no transition took.
    pub ignored: Vec<String>,
    /// Why a role's event was refused; the instance is then unchanged.
    pub refused: Option<String>,
    /// Gates found while the step chose its transitions, in the order they were evaluated.
    pub gates: Vec<GateResult>,
    /// Checks of the world the machine waits for: the shell evaluates each and gives the
    /// results back as [`Input::Gates`], before any other input.
    pub checks: Vec<Check>,
    /// Incidents kept because the state had no transition on `incident`, each in one line.
    pub held: Vec<String>,
    /// Messages that failed to render: each was sent all the same, its failure marked, to its
    /// roles and to the owner of uncategorized incidents. Each names the template and why.
    pub unrendered: Vec<String>,
    /// How many times timers fired.
    #[serde(skip)]
    pub fired: usize,
}

/// A transition taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Taken {
    /// Its index in the protocol.
    pub transition: usize,
    /// The state it left.
    pub from: String,
    /// The state it entered.
    pub to: String,
    /// The event, `None` for an eventless transition.
    pub event: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// The messages it rendered, in order.
    pub messages: Vec<Message>,
    /// The job effects it asks for, in order.
    pub effects: Vec<Effect>,
}

impl Outcome {
    /// Every message rendered, in order.
    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        self.transitions.iter().flat_map(|t| &t.messages)
    }

    /// Every job effect to carry out, in order.
    pub fn effects(&self) -> impl Iterator<Item = Effect> + '_ {
        self.transitions
            .iter()
            .flat_map(|t| t.effects.iter().copied())
    }
}

/// How long a stopped job has between SIGTERM and SIGKILL when the protocol does not say.
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(30);

/// The longest `stop_grace` kept: a longer one (a var can make it anything) is this long, so that
/// a deadline counted from now always exists.
pub const MAX_STOP_GRACE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The job of a run, rendered from its vars (see [`Machine::job_plan`](super::Machine::job_plan)).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobPlan {
    /// Program and arguments (empty when the protocol has no `job`).
    pub command: Vec<String>,
    /// The log, `None` when the protocol has no `job`.
    pub log: Option<String>,
    /// Further files to follow.
    pub follow: Vec<String>,
    /// The checkpoint whose existence means the job can resume.
    pub checkpoint: Option<String>,
    /// Arguments appended to resume.
    pub resume_args: Vec<String>,
    /// Time between SIGTERM and SIGKILL.
    pub stop_grace: Duration,
    /// Where the job runs.
    pub launcher: crate::protocol::Launcher,
    /// With `launcher: slurm`: the extra `sbatch` arguments.
    pub slurm_args: Vec<String>,
    /// With `launcher: slurm`: how often the job's state is asked of Slurm.
    pub slurm_poll: Duration,
}

/// How often a Slurm job's state is asked when the protocol does not say.
pub const DEFAULT_SLURM_POLL: Duration = Duration::from_secs(5);

/// The shortest `job.slurm.poll`: asking more often loads the cluster's controller for nothing.
pub const MIN_SLURM_POLL: Duration = Duration::from_secs(1);

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Message {
    /// Its number in the run, from 1.
    pub seq: u64,
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// The sending role.
    pub from: String,
    /// The receiving roles.
    pub to: Vec<String>,
    /// The template's name, `None` for inline text.
    pub template: Option<String>,
    /// The transition that sent it, `None` for Warden's own notice of a step that failed.
    pub transition: Option<usize>,
    /// The markdown text.
    pub text: String,
}
