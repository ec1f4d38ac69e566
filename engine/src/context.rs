//! The names guards, `set` expressions and templates can see.
//!
//! Defined once, here, so that what `check` accepts (P032) and what a run provides cannot drift
//! apart. Every var is a top-level name too, and so is every key a transition `set`s.

/// The reserved top-level names; a var may not use one. Besides those PROTOCOL.md lists,
/// `metrics` holds the latest value of every key of the metric records (JSON or `key=value`
/// lines) read from the job's log so far, such as `metrics.r_hat`.
pub const RESERVED: &[&str] = &[
    "run",
    "state",
    "target",
    "event",
    "incident",
    "job",
    "counters",
    "history",
    "metrics",
    "now",
    "gates",
    "artifacts",
    "cadence",
    "held",
];

/// Attributes of a gate's result, `gates.NAME` (besides the facts its kind measures, see
/// docs/protocol.md).
pub const GATE_FIELDS: &[&str] = &["passed", "reason", "value", "at"];

/// Attributes of an artifact, `artifacts.NAME`.
pub const ARTIFACT_FIELDS: &[&str] = &[
    "path",
    "exists",
    "size",
    "modified",
    "changes",
    "first_seen",
    "last_change",
];

/// Attributes of `cadence`.
pub const CADENCE_FIELDS: &[&str] = &[
    "min",
    "max",
    "records",
    "gaps",
    "too_close",
    "too_far",
    "min_gap",
    "max_gap",
    "first_violation",
];

/// Attributes of `run`.
pub const RUN_FIELDS: &[&str] = &["id", "started_at", "elapsed", "protocol", "version"];

/// Attributes of `job`. Besides PROTOCOL.md's, `checkpoint` is the job's resume checkpoint path
/// (none without `resume`) and `resumed` whether the running process was started from it;
/// `slurm_job` is the Slurm job id of a job on Slurm (none for a local one) and `slurm_state`
/// the state it ended in.
pub const JOB_FIELDS: &[&str] = &[
    "pid",
    "command",
    "started_at",
    "uptime",
    "exit_code",
    "signal",
    "restarts",
    "log",
    "last_line",
    "checkpoint",
    "resumed",
    "ended_at",
    "runtime",
    "slurm_job",
    "slurm_state",
];

/// Attributes of `incident` (and of each incident in `history`). `line` is the log line that
/// raised it (a traceback's final `Type: message` line) and `line_number` its number in the log;
/// `file` and `code_line` are the source file and line of a traceback's innermost frame.
pub const INCIDENT_FIELDS: &[&str] = &[
    "category",
    "owner",
    "severity",
    "action",
    "exception",
    "message",
    "line",
    "line_number",
    "file",
    "code_line",
    "before",
    "after",
    "traceback",
    "metric",
    "count",
    "first_seen",
    "last_seen",
    "gate",
];

/// Attributes every `event` has.
pub const EVENT_FIELDS: &[&str] = &["name", "at", "sender"];

/// The events the engine itself produces, with the attributes each adds to `event`.
pub const BUILTIN_EVENTS: &[(&str, &[&str])] = &[
    ("launched", &["pid"]),
    ("exited", &["exit_code", "signal"]),
    ("incident", &[]),
    ("silence", &[]),
];

/// The attributes a built-in event adds, if `name` is one.
pub fn builtin_event(name: &str) -> Option<&'static [&'static str]> {
    BUILTIN_EVENTS
        .iter()
        .find(|(event, _)| *event == name)
        .map(|(_, fields)| *fields)
}

/// What a top-level name holds, as far as checking attribute access goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// Any attribute may be read (a var, a list, a value set at run time).
    Open,
    /// A plain value with no attributes (a state name, a time).
    Scalar,
    /// A record with exactly these attributes.
    Record(Vec<String>),
}

impl Shape {
    /// A record of `fields`.
    pub fn record<'a>(fields: impl IntoIterator<Item = &'a str>) -> Shape {
        Shape::Record(fields.into_iter().map(str::to_owned).collect())
    }
}
