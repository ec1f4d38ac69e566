//! The typed protocol: the file's shape, with the place of every node.
//!
//! The types mirror the YAML one to one, so that the JSON Schema derived from them
//! (`warden schema`) describes exactly what the loader accepts. Doc comments here are the
//! descriptions editors show.

use std::borrow::Cow;
/// Hash maps keyed by names from the protocol: a fast hasher (no attacker chooses the keys).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use arcstr::ArcStr;
use std::path::PathBuf;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use smallvec::SmallVec;
use thin_vec::ThinVec;

use crate::span::{Span, Spanned, Str};

/// A protocol: a workflow declared as a state machine.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields, title = "Warden protocol")]
pub struct Protocol {
    /// The file it was read from.
    #[schemars(skip)]
    pub path: PathBuf,
    /// The file's text.
    #[schemars(skip)]
    pub source: ArcStr,
    /// Protocol id: `[a-z][a-z0-9_-]*`.
    #[schemars(rename = "protocol", regex(pattern = r"^[a-z][a-z0-9_-]*$"))]
    pub id: Spanned<Str>,
    /// Version of the protocol, such as "2.5.8".
    pub version: Option<Spanned<Str>>,
    /// One-line title.
    pub title: Option<Spanned<Str>>,
    /// What the protocol is for, in prose.
    pub doc: Option<Spanned<Str>>,
    /// Folder of message templates, relative to this file; a template NAME is NAME.md.j2 there.
    pub templates: Option<Spanned<Str>>,
    /// The roles that take part, by id.
    #[schemars(default)]
    pub roles: Map<Role>,
    /// Who may send a message to whom; nothing else is allowed.
    #[schemars(default)]
    pub channels: Vec<Channel>,
    /// Run variables; templates and guards see them as top-level names.
    #[schemars(default)]
    pub vars: Map<Var>,
    /// The supervised process (used by `run`; ignored by check and simulate).
    pub job: Option<Job>,
    /// Events that roles send; job and timer events are built in.
    #[schemars(default)]
    pub events: Map<EventDef>,
    /// Ordered incident categories: the first with a matching rule wins.
    #[schemars(default)]
    pub categories: Vec<Category>,
    /// Owner and severity of a traceback that matches no category.
    pub uncategorized: Option<Uncategorized>,
    /// Regular expressions of lines that report an error in words (a logger's `ERROR` record,
    /// `Model 3 Failed: ...`): each such line is an incident, its `message` capture (else the
    /// whole line) classified as an exception's message.
    #[schemars(default)]
    pub error_lines: Vec<Spanned<Str>>,
    /// The states, by id.
    #[schemars(default)]
    pub states: Map<State>,
    /// Timers, active while the run is in one of their states.
    #[schemars(default)]
    pub timers: Vec<Timer>,
    /// The transitions, in priority order.
    #[schemars(default)]
    pub transitions: Vec<Transition>,
    /// Named checks that transitions require (`gates:` on a transition).
    #[schemars(default)]
    pub gates: Map<Gate>,
}

/// A role of the team.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Role {
    /// Display name.
    pub title: Option<Spanned<Str>>,
    /// What the role does.
    pub doc: Option<Spanned<Str>>,
}

/// Permission for messages from some roles to others.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Channel {
    /// Where the channel is written.
    #[schemars(skip)]
    pub span: Span,
    /// Sending role or roles.
    pub from: OneOrMany<Spanned<Str>>,
    /// Receiving role or roles.
    pub to: OneOrMany<Spanned<Str>>,
    /// Only on transitions into or out of these states.
    #[schemars(rename = "in")]
    pub in_states: Option<OneOrMany<Spanned<Str>>>,
}

/// The type of a variable or an event field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// Text.
    String,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// true or false.
    Boolean,
    /// A duration such as 90s, 30m, 12h or 1h30m.
    Duration,
    /// A list of values.
    List,
}

impl ValueType {
    /// The type as written.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Integer => "integer",
            ValueType::Number => "number",
            ValueType::Boolean => "boolean",
            ValueType::Duration => "duration",
            ValueType::List => "list",
        }
    }

    /// Every type, for messages.
    pub const ALL: [ValueType; 6] = [
        ValueType::String,
        ValueType::Integer,
        ValueType::Number,
        ValueType::Boolean,
        ValueType::Duration,
        ValueType::List,
    ];
}

/// A run variable.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Var {
    /// Its type.
    #[schemars(rename = "type")]
    pub ty: Spanned<ValueType>,
    /// Whether `run` must be given a value.
    #[schemars(default)]
    pub required: bool,
    /// The value when none is given.
    pub default: Option<Spanned<serde_json::Value>>,
    /// What it means.
    pub doc: Option<Spanned<Str>>,
}

/// The supervised job.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Job {
    /// Where `job:` is written.
    #[schemars(skip)]
    pub span: Span,
    /// Program and arguments, each a template over the vars (a single string is the program
    /// alone, not a shell command line).
    pub command: OneOrMany<Spanned<Str>>,
    /// The job's combined stdout and stderr, appended across restarts.
    pub log: Spanned<Str>,
    /// Further files the job writes, watched like the log.
    #[schemars(default)]
    pub follow: Vec<Spanned<Str>>,
    /// How to resume from a checkpoint.
    pub resume: Option<Resume>,
    /// Time between SIGTERM and SIGKILL when the job is stopped (default 30s).
    pub stop_grace: Option<Spanned<Str>>,
    /// Files the job writes (checkpoints, results) whose presence and changes the run tracks
    /// while the job runs: name → path, a template over the vars. Templates read them as
    /// `artifacts.NAME`.
    #[schemars(default)]
    pub artifacts: Map<Spanned<Str>>,
    /// The spacing expected between the job's metric records; records closer or further apart
    /// are counted in `cadence`.
    pub cadence: Option<Cadence>,
    /// Where the job runs: `local` (default), in a process group of Warden's machine, or
    /// `slurm`, submitted to a Slurm cluster with `sbatch`.
    pub launcher: Option<Spanned<Launcher>>,
    /// How the job is submitted to Slurm (with `launcher: slurm`).
    pub slurm: Option<SlurmJob>,
}

/// The states a Slurm job ends in, as `scontrol` and `sacct` name them.
pub const SLURM_END_STATES: &[&str] = &[
    "BOOT_FAIL",
    "CANCELLED",
    "COMPLETED",
    "DEADLINE",
    "FAILED",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PREEMPTED",
    "TIMEOUT",
];

/// Where the job runs.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, JsonSchema, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Launcher {
    /// A process group of its own on Warden's machine, started by a waiter.
    #[default]
    Local,
    /// A Slurm batch job: `sbatch`, watched with `scontrol`/`sacct`, stopped with `scancel`.
    Slurm,
}

impl Launcher {
    /// The launcher as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Launcher::Local => "local",
            Launcher::Slurm => "slurm",
        }
    }
}

/// How the job is submitted to Slurm.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SlurmJob {
    /// Where `slurm:` is written.
    #[schemars(skip)]
    pub span: Span,
    /// Extra `sbatch` arguments (`--partition=gpu`, `--time=24:00:00`, `--gres=gpu:1`), each a
    /// template over the vars. Warden sets `--parsable`, `--output`, `--error` and
    /// `--job-name` itself.
    #[schemars(default)]
    pub args: Vec<Spanned<Str>>,
    /// How often the job's state is asked of Slurm (default 5s, at least 1s).
    pub poll: Option<Spanned<Str>>,
}

/// The spacing expected between the job's metric records.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Cadence {
    /// Where `cadence:` is written.
    #[schemars(skip)]
    pub span: Span,
    /// Records closer together than this are too close (a duration or a template of one).
    pub min: Option<Spanned<Str>>,
    /// Records further apart than this are too far (a duration or a template of one).
    pub max: Option<Spanned<Str>>,
    /// The record key holding a progress entry's time, in seconds since the Unix epoch
    /// (default `timestamp`); records without it are not progress entries and are not timed.
    pub key: Option<Spanned<Str>>,
}

/// When a `files` gate's files must have been modified after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Since {
    /// The run's start.
    Run,
    /// The current (or last) launch of the job.
    Job,
    /// The gate's previous evaluation (the run's start, the first time).
    LastCheck,
}

impl Since {
    /// The word as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Since::Run => "run",
            Since::Job => "job",
            Since::LastCheck => "last_check",
        }
    }
}

/// A gate: a named check a transition requires before it is taken. Exactly one of `expr`,
/// `command`, `files` and `table` says what it checks; a failed gate is an incident of its
/// `category`.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Gate {
    /// Where the gate is written.
    #[schemars(skip)]
    pub span: Span,
    /// An expression over the run that must hold, like a guard.
    pub expr: Option<Spanned<Str>>,
    /// For `expr`: an expression whose value the result shows as what was measured.
    pub value: Option<Spanned<Str>>,
    /// For `expr`: the result's reason, a template rendered whether the gate passes or fails
    /// (default: the expression, and whether it holds).
    pub reason: Option<Spanned<Str>>,
    /// A program and its arguments, each a template; exit code 0 passes. Run in the run's
    /// working directory, never through a shell unless `shell` is true.
    pub command: Option<OneOrMany<Spanned<Str>>>,
    /// Run `command`, one string, with `/bin/sh -c`.
    #[schemars(default)]
    pub shell: bool,
    /// How long `command` may run before it is stopped and the gate fails (default 10m).
    pub timeout: Option<Spanned<Str>>,
    /// Files that must exist, each a template.
    pub files: Option<OneOrMany<Spanned<Str>>>,
    /// For `files`: each must hold at least one byte.
    #[schemars(default)]
    pub non_empty: bool,
    /// For `files`: each must have been modified after the run started (`run`), the job was
    /// last launched (`job`), or the gate was last checked (`last_check`).
    pub modified_after: Option<Spanned<Since>>,
    /// A CSV or TSV file (a template) whose values must be sane.
    pub table: Option<Spanned<Str>>,
    /// For `table`: the field delimiter, `","`, `"\t"`, `";"` or `"|"` (default: tab for `.tsv`
    /// and `.tab` files, else comma).
    pub delimiter: Option<Spanned<Str>>,
    /// For `table`: bounds on the number of data rows (default: at least 1).
    pub rows: Option<BoundsDef>,
    /// For `table`: no NaN, infinite or empty value in a numeric column (default true).
    pub finite: Option<Spanned<bool>>,
    /// For `table`: no numeric column whose values are all equal (default false).
    #[schemars(default)]
    pub varying: bool,
    /// For `table`: columns that must exist and be numeric, each within its bounds, by the
    /// name in the table's header.
    #[schemars(default)]
    pub columns: Columns,
    /// The category of the incident a failure raises: its owner, severity and action.
    pub category: Spanned<Str>,
    /// The role that fixes a failure, instead of the category's owner.
    pub owner: Option<Spanned<Str>>,
    /// The failure's severity, instead of the category's.
    pub severity: Option<Spanned<IncidentSeverity>>,
    /// The recommended first step on a failure, instead of the category's `action`.
    pub action: Option<Spanned<Str>>,
    /// What the gate checks, in words.
    pub doc: Option<Spanned<Str>>,
}

impl Gate {
    /// A `table` gate's bounds, each with where it is written: `rows`, then `columns.NAME`.
    pub fn bounds(&self) -> impl Iterator<Item = (String, &BoundsDef)> {
        let rows = self.rows.iter().map(|rows| ("rows".to_owned(), rows));
        let columns = self
            .columns
            .iter()
            .map(|(column, bounds)| (format!("columns.{}", column.as_str()), bounds));
        rows.chain(columns)
    }
}

/// Bounds on a number, each a number or an expression over the run: `min` and `max`
/// inclusive, `above` and `below` strict.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BoundsDef {
    /// Where the bounds are written.
    #[schemars(skip)]
    pub span: Span,
    /// At least this.
    pub min: Option<Bound>,
    /// At most this.
    pub max: Option<Bound>,
    /// More than this.
    pub above: Option<Bound>,
    /// Less than this.
    pub below: Option<Bound>,
}

impl BoundsDef {
    /// The bounds written, by name.
    pub fn each(&self) -> impl Iterator<Item = (&'static str, &Bound)> {
        [
            ("min", &self.min),
            ("max", &self.max),
            ("above", &self.above),
            ("below", &self.below),
        ]
        .into_iter()
        .filter_map(|(name, bound)| Some((name, bound.as_ref()?)))
    }
}

/// A table's columns, by the names in its header (any text, not only ids).
#[derive(Debug, Clone, Default)]
pub struct Columns(pub Map<BoundsDef>);

impl std::ops::Deref for Columns {
    type Target = Map<BoundsDef>;

    fn deref(&self) -> &Map<BoundsDef> {
        &self.0
    }
}

/// The schema of a signal or exit code rule's values: one or a list of names or numbers.
fn names_or_numbers(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [
            { "type": ["string", "integer"] },
            { "type": "array", "items": { "type": ["string", "integer"] } }
        ]
    })
}

impl JsonSchema for Columns {
    fn schema_name() -> Cow<'static, str> {
        "Columns".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let value = generator.subschema_for::<BoundsDef>();
        json_schema!({
            "type": "object",
            "additionalProperties": value
        })
    }
}

/// A bound: a number, or an expression over the run (`rhat_converged`, `expected.hours * 2`).
#[derive(Debug, Clone)]
pub struct Bound(pub Spanned<Str>);

impl JsonSchema for Bound {
    fn schema_name() -> Cow<'static, str> {
        "Bound".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A number, or an expression over the run that evaluates to one",
            "type": ["number", "string"]
        })
    }
}

/// Resuming the job from a checkpoint.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Resume {
    /// The checkpoint file; the job resumes when it exists.
    pub when_exists: Spanned<Str>,
    /// Arguments appended to the command to resume.
    #[schemars(default)]
    pub args: Vec<Spanned<Str>>,
}

/// An event that roles send.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct EventDef {
    /// The roles that may send it.
    pub from: OneOrMany<Spanned<Str>>,
    /// Its fields, by name.
    #[schemars(default)]
    pub fields: Map<FieldDef>,
    /// What it means.
    pub doc: Option<Spanned<Str>>,
}

/// A field of a role-sent event.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FieldDef {
    /// Its type.
    #[schemars(rename = "type")]
    pub ty: Spanned<ValueType>,
    /// Whether the sender must give it.
    #[schemars(default)]
    pub required: bool,
    /// What it means.
    pub doc: Option<Spanned<Str>>,
}

/// How bad an incident is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    JsonSchema,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum IncidentSeverity {
    /// The job cannot go on as it is.
    Critical,
    /// Something to look at; the job goes on.
    Warning,
    /// For the record.
    Info,
}

impl IncidentSeverity {
    /// The severity as written.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentSeverity::Critical => "critical",
            IncidentSeverity::Warning => "warning",
            IncidentSeverity::Info => "info",
        }
    }
}

/// An incident category.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Category {
    /// Where the category is written.
    #[schemars(skip)]
    pub span: Span,
    /// Category id.
    pub id: Spanned<Str>,
    /// The role that fixes incidents of this category.
    pub owner: Spanned<Str>,
    /// How bad its incidents are.
    pub severity: Spanned<IncidentSeverity>,
    /// Rules; an incident matching any of them belongs to the category.
    #[schemars(rename = "match")]
    pub rules: Vec<Rule>,
    /// Takes every exception no rule (of any category, or of `uncategorized`) matched: at
    /// most one category may.
    #[schemars(default)]
    pub catch_all: Option<Spanned<bool>>,
    /// The recommended first step, shown in reports as `incident.action`.
    pub action: Option<Spanned<Str>>,
    /// What the category covers.
    pub doc: Option<Spanned<Str>>,
}

impl Category {
    /// Whether the category takes the exceptions no rule matched.
    pub fn is_catch_all(&self) -> bool {
        self.catch_all.as_ref().is_some_and(|c| c.value)
    }
}

/// One matching rule of a category.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Rule {
    /// Where the rule is written.
    #[schemars(skip)]
    pub span: Span,
    /// Final exception type(s) of a traceback; `KeyError` also matches `builtins.KeyError`.
    pub exception: Option<OneOrMany<Spanned<Str>>>,
    /// Regular expression the exception message must match.
    pub message: Option<Spanned<Str>>,
    /// Regular expression some line of the traceback must match (a frame's file, say).
    pub traceback: Option<Spanned<Str>>,
    /// Regular expression matched against each line outside tracebacks.
    pub line: Option<Spanned<Str>>,
    /// Expression over the keys of a metric record (a JSON or key=value line).
    pub metric: Option<Spanned<Str>>,
    /// With `metric`: a glob of record keys (`*loss*`); the expression is evaluated for each
    /// key it matches, as `key` and `value`.
    pub each: Option<Spanned<Str>>,
    /// Signals that ended the job (`KILL`, `SIGSEGV`, `9`); an exit code above 128 is read as
    /// 128 + the signal, as shells, containers and Slurm report it.
    #[schemars(default, schema_with = "names_or_numbers")]
    pub signal: Option<OneOrMany<Spanned<Str>>>,
    /// Exit codes of the job.
    #[schemars(default, schema_with = "names_or_numbers")]
    pub exit_code: Option<OneOrMany<Spanned<Str>>>,
    /// The states a Slurm job ended in (`PREEMPTED`, `NODE_FAIL`, `TIMEOUT`, `OUT_OF_MEMORY`,
    /// `BOOT_FAIL`, `DEADLINE`, `CANCELLED`, `FAILED`), with `launcher: slurm`.
    pub slurm_state: Option<OneOrMany<Spanned<Str>>>,
    /// Severity of what this rule matches, instead of the category's.
    pub severity: Option<Spanned<IncidentSeverity>>,
}

/// Owner and severity of tracebacks that match no category, and rules for what is known to be
/// too weak evidence for any.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Uncategorized {
    /// Rules tried after every category's and before the catch-all category: what they match
    /// stays uncategorized.
    #[schemars(default, rename = "match")]
    pub rules: Vec<Rule>,
    /// The role told (default: director).
    pub owner: Option<Spanned<Str>>,
    /// Severity (default: critical).
    pub severity: Option<Spanned<IncidentSeverity>>,
    /// The recommended first step.
    pub action: Option<Spanned<Str>>,
}

/// A state.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct State {
    /// The state a run starts in; exactly one.
    #[schemars(default)]
    pub initial: bool,
    /// A state that ends the run.
    #[schemars(default, rename = "final")]
    pub is_final: bool,
    /// How a run that ends here ended: `success` (the default) or `failure`, which makes a
    /// foreground `warden run` exit 1. Only on a final state.
    pub outcome: Option<Spanned<Outcome>>,
    /// What the state means.
    pub doc: Option<Spanned<Str>>,
}

/// How a run ended, as its final state declares it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, JsonSchema, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The run did what it is for.
    #[default]
    Success,
    /// The run ended without doing it: `warden run` exits 1.
    Failure,
}

impl Outcome {
    /// The outcome as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// A timer.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Timer {
    /// Where the timer is written.
    #[schemars(skip)]
    pub span: Span,
    /// The event it fires.
    pub event: Spanned<Str>,
    /// Fires periodically from when it became active (a duration or a template of one).
    pub every: Option<Spanned<Str>>,
    /// Fires once, that long after it became active.
    pub after: Option<Spanned<Str>>,
    /// The states in which it is active.
    #[schemars(rename = "while")]
    pub while_in: OneOrMany<Spanned<Str>>,
}

/// The source of a transition.
#[derive(Debug, Clone)]
pub enum From {
    /// `"*"`: any non-final state.
    Any(Span),
    /// One or more named states; one is held in place.
    States(SmallVec<[Spanned<Str>; 1]>),
}

impl JsonSchema for From {
    fn schema_name() -> Cow<'static, str> {
        "From".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let states = generator.subschema_for::<OneOrMany<String>>();
        json_schema!({
            "description": "A state, a list of states, or \"*\" for any non-final state.",
            "anyOf": [states]
        })
    }
}

/// A job effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Start the job.
    Launch,
    /// SIGTERM to the job's process group, SIGKILL after `stop_grace`.
    Stop,
    /// Stop, then launch, resuming from the checkpoint when it exists.
    Restart,
}

impl Effect {
    /// The effect as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Launch => "launch",
            Effect::Stop => "stop",
            Effect::Restart => "restart",
        }
    }
}

/// A transition.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Transition {
    /// Where the transition is written.
    #[schemars(skip)]
    pub span: Span,
    /// Source state(s).
    pub from: From,
    /// Target state; none for a targetless transition, which stays in its source state (its
    /// effects and messages happen, its timers go on).
    pub to: Option<Spanned<Str>>,
    /// The event; none for an eventless transition, taken on entering `from`.
    pub on: Option<Spanned<Str>>,
    /// Guard: an expression that must hold.
    #[schemars(rename = "if")]
    pub guard: Option<Spanned<Str>>,
    /// Counters to increment.
    #[schemars(default, with = "Vec<String>")]
    pub count: ThinVec<Spanned<Str>>,
    /// Messages to render and send.
    #[schemars(default, with = "Vec<Send>")]
    pub send: ThinVec<Send>,
    /// Job effects.
    #[schemars(default, rename = "do", with = "Vec<Effect>")]
    pub effects: ThinVec<Spanned<Effect>>,
    /// `set`, `gates` and `doc`, which most transitions do without: held apart, so that a
    /// transition with none of them holds one empty pointer for the three.
    #[schemars(flatten)]
    pub(in crate::protocol) rare: Option<Box<RareParts>>,
}

/// The parts of a transition that most transitions do without.
#[derive(Debug, Clone, Default, JsonSchema)]
pub struct RareParts {
    /// Variables to set, each to an expression evaluated before the transition.
    #[schemars(default)]
    pub set: Map<Spanned<Str>>,
    /// Gates the transition requires: taken only when every one passes; when one fails, the
    /// transition is not taken and the failure is an `incident` in the current state.
    #[schemars(default, with = "Vec<String>")]
    pub gates: ThinVec<Spanned<Str>>,
    /// What the transition means.
    pub doc: Option<Spanned<Str>>,
}

impl RareParts {
    fn is_empty(&self) -> bool {
        self.set.is_empty() && self.gates.is_empty() && self.doc.is_none()
    }
}

impl Transition {
    /// Gives the transition its rare parts; none are held apart when all are empty.
    pub fn with_rare_parts(mut self, rare: RareParts) -> Transition {
        self.rare = (!rare.is_empty()).then(|| Box::new(rare));
        self
    }

    /// Variables to set, each to an expression evaluated before the transition.
    pub fn set(&self) -> &Map<Spanned<Str>> {
        static NONE: Map<Spanned<Str>> = Map {
            entries: ThinVec::new(),
            index: None,
        };
        self.rare.as_ref().map_or(&NONE, |rare| &rare.set)
    }

    /// Gates the transition requires: taken only when every one passes; when one fails, the
    /// transition is not taken and the failure is an `incident` in the current state.
    pub fn gates(&self) -> &[Spanned<Str>] {
        self.rare.as_ref().map_or(&[], |rare| &rare.gates)
    }

    /// What the transition means.
    pub fn doc(&self) -> Option<&Spanned<Str>> {
        self.rare.as_ref().and_then(|rare| rare.doc.as_ref())
    }

    /// Whether the transition does `launch` or `restart`.
    pub fn starts_job(&self) -> bool {
        self.effects
            .iter()
            .any(|e| matches!(e.value, Effect::Launch | Effect::Restart))
    }
}

/// A message sent on a transition.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Send {
    /// Where the message is written.
    #[schemars(skip)]
    pub span: Span,
    /// Sending role.
    pub from: Spanned<Str>,
    /// Receiving role(s).
    pub to: OneOrMany<Spanned<Str>>,
    /// Template name: the file NAME.md.j2 in the templates folder.
    pub template: Option<Spanned<Str>>,
    /// An inline template, instead of `template`.
    pub text: Option<Spanned<Str>>,
}

/// One value, or a list of them, as YAML allows either; one is held in place, with no
/// allocation of its own.
#[derive(Debug, Clone, Default)]
pub struct OneOrMany<T>(pub SmallVec<[T; 1]>);

impl<T> std::ops::Deref for OneOrMany<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: JsonSchema> JsonSchema for OneOrMany<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("OneOrMany_{}", T::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let one = generator.subschema_for::<T>();
        json_schema!({
            "anyOf": [one, { "type": "array", "items": one }]
        })
    }
}

/// A YAML mapping from ids to values, in file order, indexed by id once it has more than a few
/// (most mappings of a protocol have one or two entries, which are compared one by one).
#[derive(Debug, Clone)]
pub struct Map<T> {
    entries: ThinVec<(Spanned<Str>, T)>,
    index: Option<Box<HashMap<Str, usize>>>,
}

/// How many entries a map compares one by one before it is indexed.
const UNINDEXED: usize = 8;

impl<T> Default for Map<T> {
    fn default() -> Self {
        Map {
            entries: ThinVec::new(),
            index: None,
        }
    }
}

impl<T> FromIterator<(Spanned<Str>, T)> for Map<T> {
    /// Collects entries; of two with one key, the first is kept (the loader reports the second).
    fn from_iter<I: IntoIterator<Item = (Spanned<Str>, T)>>(entries: I) -> Self {
        let entries = entries.into_iter();
        let mut map = Map {
            entries: ThinVec::with_capacity(entries.size_hint().0),
            index: None,
        };
        for (key, value) in entries {
            if map.position(key.as_str()).is_some() {
                continue;
            }
            if map.index.is_none() && map.entries.len() == UNINDEXED {
                let index = map.entries.iter().enumerate();
                let index = index.map(|(i, (k, _))| (k.value.clone(), i)).collect();
                map.index = Some(Box::new(index));
            }
            if let Some(index) = &mut map.index {
                index.insert(key.value.clone(), map.entries.len());
            }
            map.entries.push((key, value));
        }
        map.entries.shrink_to_fit();
        map
    }
}

impl<T> Map<T> {
    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.entries.iter().position(|(k, _)| k.as_str() == key),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&T> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The entry of `key`, with the key's place.
    pub fn entry(&self, key: &str) -> Option<(&Spanned<Str>, &T)> {
        let (k, v) = &self.entries[self.position(key)?];
        Some((k, v))
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// The keys, in file order.
    pub fn keys(&self) -> impl Iterator<Item = &Spanned<Str>> {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The entries, in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&Spanned<Str>, &T)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<T: JsonSchema> JsonSchema for Map<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("Map_{}", T::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let value = generator.subschema_for::<T>();
        json_schema!({
            "type": "object",
            "propertyNames": { "pattern": "^[a-z][a-z0-9_]*$" },
            "additionalProperties": value
        })
    }
}

/// A signal's number from its name (`KILL`, `SIGKILL`) or number (`9`).
pub fn signal_number(text: &str) -> Option<i32> {
    let text = text.trim();
    if let Ok(number) = text.parse::<i32>() {
        return (1..=64).contains(&number).then_some(number);
    }
    let name = text.to_ascii_uppercase();
    let name = if name.starts_with("SIG") {
        name
    } else {
        format!("SIG{name}")
    };
    name.parse::<nix::sys::signal::Signal>()
        .ok()
        .map(|s| s as i32)
}

impl Rule {
    /// Whether the rule is about how the job ended (`signal`, `exit_code`, `slurm_state`).
    pub fn is_exit(&self) -> bool {
        self.signal.is_some() || self.exit_code.is_some() || self.slurm_state.is_some()
    }

    /// Whether the rule is about a traceback (`exception`, `message`, `traceback`).
    pub fn is_traceback(&self) -> bool {
        self.exception.is_some() || self.message.is_some() || self.traceback.is_some()
    }
}

impl Protocol {
    /// Every category rule, then the rules of `uncategorized`, with the category's index
    /// (`None` for `uncategorized`).
    pub fn rules(&self) -> impl Iterator<Item = (Option<usize>, &Rule)> {
        let categories = self
            .categories
            .iter()
            .enumerate()
            .flat_map(|(index, c)| c.rules.iter().map(move |r| (Some(index), r)));
        let uncategorized = self
            .uncategorized
            .iter()
            .flat_map(|u| u.rules.iter().map(|r| (None, r)));
        categories.chain(uncategorized)
    }

    /// The id of the initial state, when there is exactly one.
    pub fn initial_state(&self) -> Option<&Spanned<Str>> {
        let mut initial = self.states.iter().filter(|(_, s)| s.initial);
        match (initial.next(), initial.next()) {
            (Some((id, _)), None) => Some(id),
            _ => None,
        }
    }

    /// Whether `state` is declared final.
    pub fn is_final(&self, state: &str) -> bool {
        self.states.get(state).is_some_and(|s| s.is_final)
    }

    /// The outcome of a run that ends in `state`: `None` when `state` is not final.
    pub fn outcome(&self, state: &str) -> Option<Outcome> {
        let state = self.states.get(state).filter(|s| s.is_final)?;
        Some(
            state
                .outcome
                .as_ref()
                .map_or_else(Outcome::default, |o| o.value),
        )
    }

    /// The declared states a transition's `from` covers: `"*"` is every non-final state.
    pub fn sources<'p>(&'p self, transition: &'p Transition) -> Vec<&'p str> {
        match &transition.from {
            From::Any(_) => self
                .states
                .iter()
                .filter(|(_, s)| !s.is_final)
                .map(|(id, _)| id.as_str())
                .collect(),
            From::States(states) => states.iter().map(|s| s.as_str()).collect(),
        }
    }

    /// The (source, target) pairs of a transition: a targetless one stays where it is.
    pub fn edges<'p>(&'p self, transition: &'p Transition) -> Vec<(&'p str, &'p str)> {
        self.sources(transition)
            .into_iter()
            .map(|from| (from, transition.to.as_ref().map_or(from, |to| to.as_str())))
            .collect()
    }

    /// The folder templates are read from.
    pub fn templates_dir(&self) -> PathBuf {
        let base = self
            .path
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let dir = match &self.templates {
            Some(dir) => base.join(dir.as_str()),
            None => base.join("templates"),
        };
        normalize(&dir)
    }
}

/// Removes `.` and `name/..` pairs from a path without touching the file system, so that
/// `protocols/../templates` reads `templates` in messages.
pub fn normalize(path: &std::path::Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{normalize, Map, OneOrMany, Send, Span, Spanned, State, Transition, UNINDEXED};
    use std::path::Path;

    #[test]
    fn normalize_folds_parent_components() {
        assert_eq!(
            normalize(Path::new("protocols/../templates")),
            Path::new("templates")
        );
        assert_eq!(normalize(Path::new("./a/./b")), Path::new("a/b"));
        assert_eq!(normalize(Path::new("../t")), Path::new("../t"));
        assert_eq!(normalize(Path::new("/x/../y")), Path::new("/y"));
        assert_eq!(normalize(Path::new("a/..")), Path::new("."));
    }

    /// A protocol of 50,000 states holds 150,000 transitions and 50,000 messages: their sizes
    /// are most of what `warden check` holds (docs/benchmarks.md).
    #[test]
    fn the_parts_a_large_protocol_is_made_of_stay_small() {
        use std::mem::size_of;
        assert_eq!(size_of::<crate::span::Str>(), 8);
        assert_eq!(size_of::<Option<Spanned<crate::span::Str>>>(), 16);
        assert_eq!(size_of::<OneOrMany<Spanned<crate::span::Str>>>(), 24);
        assert!(
            size_of::<Transition>() <= 120,
            "{}",
            size_of::<Transition>()
        );
        assert!(size_of::<Send>() <= 80, "{}", size_of::<Send>());
        assert!(size_of::<Map<State>>() <= 16, "{}", size_of::<Map<State>>());
    }

    #[test]
    fn a_map_finds_its_keys_small_or_indexed_and_keeps_the_first_of_two() {
        for size in [3, UNINDEXED, UNINDEXED + 1, 40] {
            let entries = (0..size)
                .map(|i| (format!("k{i}"), i))
                .chain([("k1".to_owned(), 99)])
                .map(|(k, v)| {
                    (
                        Spanned::new(crate::span::Str::from(k), Span::start_of_file()),
                        v,
                    )
                });
            let map: Map<usize> = entries.collect();
            assert_eq!(map.len(), size, "{size}");
            assert_eq!(map.get("k1"), Some(&1), "{size}");
            assert_eq!(map.get(&format!("k{}", size - 1)), Some(&(size - 1)));
            assert!(!map.contains("k999"));
            assert_eq!(map.index.is_some(), size > UNINDEXED, "{size}");
            let keys: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
            assert_eq!(keys.len(), size);
            assert_eq!(keys[0], "k0");
        }
    }

    #[test]
    fn a_transition_holds_its_rare_parts_apart_only_when_it_has_some() {
        let text = "protocol: p\nroles: { r: {} }\ngates: { tests: { expr: \"true\", category: data } }\n\
                    states: { a: { initial: true }, b: { final: true } }\n\
                    transitions:\n\
                    \x20 - { from: a, on: go, to: b }\n\
                    \x20 - { from: a, on: stop, to: b, set: { why: \"'stop'\" }, gates: [tests], doc: Stops. }\n";
        let protocol = crate::protocol::parse(Path::new("p.yaml"), text.as_bytes()).unwrap();
        let [plain, rich] = &protocol.transitions[..] else {
            panic!("{:?}", protocol.transitions)
        };
        assert!(plain.rare.is_none());
        assert!(plain.set().is_empty() && plain.gates().is_empty() && plain.doc().is_none());
        assert!(rich.rare.is_some());
        let set: Vec<(&str, &str)> = rich
            .set()
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        assert_eq!(set, [("why", "'stop'")]);
        assert_eq!(rich.gates()[0].as_str(), "tests");
        assert_eq!(rich.doc().map(|doc| doc.as_str()), Some("Stops."));
    }
}
