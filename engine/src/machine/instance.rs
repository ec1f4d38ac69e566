//! The state of one run: everything a step reads and writes, and nothing else.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use minijinja::Value;
use serde::{Deserialize, Serialize};

use crate::classify::{Incident, Record};
use crate::gate::GateResult;

/// One run of a protocol, as of its last step. Cloning is cheap: what a step seldom changes is
/// shared until it changes (copy on write), and the history is a persistent vector that shares
/// its entries with earlier instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    /// The run.
    pub run: Arc<RunInfo>,
    /// The current state.
    pub state: String,
    /// Vars and the names transitions `set`.
    pub vars: Arc<BTreeMap<String, Value>>,
    /// Counters (every counter some transition counts, from 0).
    pub counters: Arc<BTreeMap<String, u64>>,
    /// Timers active in the current state.
    pub timers: Vec<ActiveTimer>,
    /// The job as last seen (shared until it changes: templates read it without copying).
    pub job: Arc<JobFacts>,
    /// The current or last incident.
    pub incident: Option<Arc<Incident>>,
    /// The latest value of every metric key read from the log.
    pub metrics: Arc<Record>,
    /// The event that started the current chain of transitions.
    pub event: EventInfo,
    /// Every transition taken and every event ignored. Entries are shared, not copied, when
    /// an instance is cloned (the vector's chunks hold pointers, not the entries themselves).
    pub history: imbl::Vector<Arc<HistoryEntry>>,
    /// Messages sent so far.
    pub messages_sent: u64,
    /// The latest result of every gate evaluated so far, by name.
    pub gates: Arc<BTreeMap<String, GateRecord>>,
    /// A transition chosen whose gates the shell is checking: the run waits for their results
    /// (`Input::Gates`) before anything else.
    pub pending: Option<Arc<Pending>>,
    /// Incidents that arrived in a state with no transition on `incident`, kept, in order,
    /// until the run enters a state that has one.
    pub held: Arc<Vec<Arc<Incident>>>,
    /// The job's artifacts as last seen, by name.
    pub artifacts: Arc<BTreeMap<String, ArtifactFacts>>,
    /// The spacing of the job's metric records.
    pub cadence: Arc<CadenceFacts>,
    /// A transition asked for `launch` or `restart` and the job has not started since:
    /// incidents held are offered once it has, when the job's facts are the new process's.
    pub launching: bool,
}

impl Instance {
    /// An empty instance, for an outcome under construction.
    pub(crate) fn placeholder() -> Instance {
        Instance {
            run: Arc::new(RunInfo {
                id: String::new(),
                started_at: DateTime::<Utc>::UNIX_EPOCH,
            }),
            state: String::new(),
            vars: Default::default(),
            counters: Default::default(),
            timers: Vec::new(),
            job: Default::default(),
            incident: None,
            metrics: Default::default(),
            event: EventInfo {
                name: String::new(),
                at: DateTime::<Utc>::UNIX_EPOCH,
                sender: None,
                fields: BTreeMap::new(),
            },
            history: imbl::Vector::new(),
            messages_sent: 0,
            gates: Default::default(),
            pending: None,
            held: Default::default(),
            artifacts: Default::default(),
            cadence: Default::default(),
            launching: false,
        }
    }

    /// Whether the run has ended in a final state.
    pub fn finished(&self, machine: &super::Machine) -> bool {
        machine.graph().is_final(&self.state)
    }
}

/// What a run is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    /// Its id.
    pub id: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
}

/// A timer active in the current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveTimer {
    /// Its index among the protocol's timers.
    pub timer: usize,
    /// The event it fires.
    pub event: String,
    /// When it fires next; `None` once an `after` timer has fired.
    pub due: Option<DateTime<Utc>>,
    /// Its period, for `every` timers.
    pub every: Option<std::time::Duration>,
}

/// The job, as the run knows it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JobFacts {
    /// The process id of the current or last process.
    pub pid: Option<u32>,
    /// The command it runs.
    pub command: Vec<String>,
    /// When the current or last process started.
    pub started_at: Option<DateTime<Utc>>,
    /// Its exit code, once it exited by itself.
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// The log file.
    pub log: String,
    /// The last line of the log.
    pub last_line: Option<String>,
    /// The resume checkpoint, when the job has one.
    pub checkpoint: Option<String>,
    /// Whether the current process was resumed from the checkpoint.
    pub resumed: bool,
    /// When the current or last process ended, once it did.
    pub ended_at: Option<DateTime<Utc>>,
    /// How long the job's earlier processes ran, together.
    pub ran_before: std::time::Duration,
    /// The artifacts' paths, by name.
    pub artifacts: BTreeMap<String, String>,
    /// The Slurm job id of the current or last launch, for a job on Slurm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slurm_job: Option<u64>,
    /// The state the last Slurm job ended in, once it ended by itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slurm_state: Option<String>,
}

impl JobFacts {
    /// How long the current or last process ran (or has run, while it runs).
    pub fn uptime(&self, now: DateTime<Utc>) -> std::time::Duration {
        self.started_at.map_or(Default::default(), |started| {
            (self.ended_at.unwrap_or(now) - started)
                .to_std()
                .unwrap_or_default()
        })
    }

    /// How long the job has run, every process together.
    pub fn runtime(&self, now: DateTime<Utc>) -> std::time::Duration {
        self.ran_before.saturating_add(self.uptime(now))
    }
}

/// A gate's latest result, and when it was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateRecord {
    /// What it found.
    pub result: GateResult,
    /// When.
    pub at: DateTime<Utc>,
}

/// A transition whose gates are being checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    /// The transition's index in the protocol.
    pub transition: usize,
    /// The state it enters.
    pub target: String,
    /// What the shell checks (the other gates are `expr` gates, which the machine evaluates).
    pub checks: Vec<crate::gate::Check>,
    /// The incident its event carried.
    pub incident: Option<Arc<Incident>>,
    /// Its event's fields.
    pub fields: BTreeMap<String, Value>,
}

/// An artifact of the job, as last seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArtifactFacts {
    /// Whether it exists.
    pub exists: bool,
    /// Its size in bytes.
    pub size: Option<u64>,
    /// When it was last modified.
    pub modified: Option<DateTime<Utc>>,
    /// How many times it was seen to appear or change.
    pub changes: u64,
    /// When it was first seen.
    pub first_seen: Option<DateTime<Utc>>,
    /// When it was last seen to appear or change.
    pub last_change: Option<DateTime<Utc>>,
}

/// The spacing of the job's progress entries, against `job.cadence`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CadenceFacts {
    /// Gaps shorter than this are too close (`job.cadence.min`).
    pub min: Option<std::time::Duration>,
    /// Gaps longer than this are too far (`job.cadence.max`).
    pub max: Option<std::time::Duration>,
    /// What the logs told of it so far.
    pub spacing: crate::classify::Spacing,
}

/// The event a transition reacts to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventInfo {
    /// Its name.
    pub name: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The role that sent it, for role events.
    pub sender: Option<String>,
    /// Its fields (every declared field, `none` when not given).
    pub fields: BTreeMap<String, Value>,
}

/// One entry of the history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// The state it happened in.
    pub from: String,
    /// The state after it (the same for a targetless transition or an ignored event).
    pub to: String,
    /// The event, `None` for an eventless transition.
    pub event: Option<String>,
    /// The transition's index, `None` when the event was ignored.
    pub transition: Option<usize>,
    /// The incident the event carried.
    pub incident: Option<Arc<Incident>>,
    /// The fields of a role event.
    pub fields: BTreeMap<String, Value>,
}
