//! Scenarios: a run replayed on a virtual clock, and its transcript.
//!
//! A scenario file names a protocol, the run's vars and start time, and steps: time passing
//! (due timers fire), lines appended to the job's log (classified as in a real run), job events
//! and role events. Replaying it gives a transcript of everything that happened, in a stable
//! text form that `warden test` compares with the one stored beside the scenario ([`suite`]).

mod expect;
pub mod suite;

pub use expect::{Expect, ExpectMessages, MessageMatch, Unmet};

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::classify::{Fed, Feed};
use crate::gate::GateResult;
use crate::machine::{
    CompileError, Input, Instance, Machine, Message, Outcome, StartError, StepError,
};
use crate::protocol::{self, Protocol};

/// A scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The protocol, relative to the scenario file.
    pub protocol: PathBuf,
    /// What the scenario shows, in prose.
    #[serde(default)]
    pub doc: Option<String>,
    /// The run's vars.
    #[serde(default)]
    pub vars: BTreeMap<String, serde_json::Value>,
    /// When the run starts.
    pub start: DateTime<Utc>,
    /// The run's id (default `scenario`).
    #[serde(default)]
    pub run: Option<String>,
    /// What the gates that look at the world find (`command`, `files`, `table`), by gate:
    /// a scenario evaluates nothing outside it. A step's `gates` replace these from then on.
    #[serde(default)]
    pub gates: BTreeMap<String, GateSpec>,
    /// What happens, in order.
    pub steps: Vec<StepSpec>,
    /// What must hold at the end (its messages are every message the run sent).
    #[serde(default)]
    pub expect: Option<Expect>,
}

/// One step: time passes, then log lines, a job event or a role event.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Time passes first (due timers fire in order): `90s`, `3h`, `1h30m`.
    #[serde(default)]
    pub after: Option<String>,
    /// Lines appended to the job's log.
    #[serde(default)]
    pub log: Option<String>,
    /// A file whose lines are appended to the job's log, relative to the scenario.
    #[serde(default)]
    pub log_file: Option<PathBuf>,
    /// A job event: `launched` or `exited`.
    #[serde(default)]
    pub job: Option<JobStep>,
    /// For `launched`: the process id.
    #[serde(default)]
    pub pid: Option<u32>,
    /// For `launched`: whether it resumed from the checkpoint.
    #[serde(default)]
    pub resumed: Option<bool>,
    /// For `exited`: the exit code.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// For `exited`: the signal.
    #[serde(default)]
    pub signal: Option<i32>,
    /// For `launched`: the Slurm job id, for a job on Slurm.
    #[serde(default)]
    pub slurm_job: Option<u64>,
    /// For `exited`: the state a Slurm job ended in (`PREEMPTED`, `TIMEOUT`, ...).
    #[serde(default)]
    pub slurm_state: Option<String>,
    /// A role event's name.
    #[serde(default)]
    pub send: Option<String>,
    /// The role sending it.
    #[serde(default, rename = "as")]
    pub sender: Option<String>,
    /// Its fields.
    #[serde(default)]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Artifacts of the job written (created or changed) now, by name.
    #[serde(default)]
    pub touch: Vec<String>,
    /// Artifacts of the job removed now, by name.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Gate results from this step on (see [`Scenario::gates`]).
    #[serde(default)]
    pub gates: BTreeMap<String, GateSpec>,
    /// What must hold once the step is done (its messages are those the step sent).
    #[serde(default)]
    pub expect: Option<Expect>,
}

/// What a gate finds in a scenario: `pass`, `fail`, or the result in full.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum GateSpec {
    /// `pass` or `fail`.
    Word(GateWord),
    /// A result with its reason, value and facts.
    Result {
        /// Whether it passes.
        passed: bool,
        /// Why (default: `passed` or `failed`, "in the scenario").
        #[serde(default)]
        reason: Option<String>,
        /// The measured value.
        #[serde(default)]
        value: serde_json::Value,
        /// The facts its kind measures (`rows`, `stats`, `exit_code`, ...).
        #[serde(default)]
        facts: serde_json::Map<String, serde_json::Value>,
    },
}

/// A gate result in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GateWord {
    /// It passes.
    Pass,
    /// It fails.
    Fail,
}

impl GateSpec {
    fn result(&self, gate: &str) -> GateResult {
        let default_reason = |passed: bool| {
            if passed {
                "passed in the scenario"
            } else {
                "failed in the scenario"
            }
            .to_owned()
        };
        match self {
            GateSpec::Word(word) => {
                let passed = *word == GateWord::Pass;
                GateResult::new(gate, passed, default_reason(passed))
            }
            GateSpec::Result {
                passed,
                reason,
                value,
                facts,
            } => GateResult {
                gate: gate.to_owned(),
                passed: *passed,
                reason: reason.clone().unwrap_or_else(|| default_reason(*passed)),
                value: value.clone(),
                facts: facts.clone(),
            },
        }
    }
}

/// A job event in a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStep {
    /// The job started.
    Launched,
    /// The job ended.
    Exited,
}

/// Why a scenario could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The scenario file is malformed.
    #[error("{}: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line and column.
        message: String,
    },
    /// The protocol does not load or compile.
    #[error("{}: the protocol does not load: {source}", path.display())]
    Protocol {
        /// The protocol file.
        path: PathBuf,
        /// Why; `warden check` says more.
        #[source]
        source: ProtocolError,
    },
    /// The run did not start: its vars do not fit the protocol, or the start failed.
    #[error("step 0: {source}")]
    Start {
        /// Why.
        #[source]
        source: StartError,
    },
    /// A step failed at run time.
    #[error("step {step}: {source}")]
    Failed {
        /// The step's number, from 1.
        step: usize,
        /// Why.
        #[source]
        source: StepError,
    },
    /// A step is malformed.
    #[error("step {step}: {message}")]
    Step {
        /// The step's number, from 1.
        step: usize,
        /// What is wrong.
        message: String,
    },
    /// Expectations do not hold (the replay went on to its end: the transcript shows why).
    #[error("{}", expect::words(unmet))]
    Expectation {
        /// What did not hold, in the order of the steps, the scenario's own `expect` last.
        unmet: Vec<Unmet>,
    },
}

/// Why a scenario's protocol cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// It does not load.
    #[error(transparent)]
    Load(#[from] protocol::LoadError),
    /// A template it names is missing or unreadable (P030).
    #[error("{}", .0.message)]
    Template(Box<crate::Diagnostic>),
    /// It does not compile.
    #[error(transparent)]
    Compile(#[from] CompileError),
}

/// How many times the timers may fire in one step of a scenario: a step's `after` that jumps
/// years past a timer of minutes is a mistake, not a test, and would render a message for each.
pub const MAX_FIRINGS: usize = 1000;

/// Reads a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let malformed = |message: String| ScenarioError::Malformed {
        path: path.to_path_buf(),
        message,
    };
    crate::nesting::check(&text).map_err(|deep| malformed(deep.to_string()))?;
    serde_yaml::from_str(&text).map_err(|e| malformed(e.to_string()))
}

/// The record of one replayed scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Transcript {
    /// The protocol's id.
    pub protocol: String,
    /// The steps, the start first.
    pub steps: Vec<StepRecord>,
    /// The final state.
    pub state: String,
    /// The transitions taken, by index.
    #[serde(skip)]
    pub taken: BTreeSet<usize>,
    /// Every input the machine was given, in order, as a real run's journal records them.
    #[serde(skip)]
    pub inputs: Vec<Input>,
}

/// What one step did.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    /// What the step was.
    pub what: String,
    /// The virtual time after it.
    pub at: DateTime<Utc>,
    /// What happened, in order.
    pub entries: Vec<Entry>,
}

/// One thing that happened in a step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// The log produced an incident.
    Incident(IncidentSummary),
    /// The machine took a step.
    Outcome(Box<Outcome>),
}

/// An incident, as the transcript shows it.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentSummary {
    /// Category.
    pub category: String,
    /// Owner.
    pub owner: String,
    /// Severity.
    pub severity: String,
    /// Exception.
    pub exception: Option<String>,
    /// Message.
    pub message: String,
    /// Line in the log.
    pub line_number: u64,
}

/// A scenario's protocol, loaded and compiled.
pub struct Prepared {
    machine: Machine,
}

impl Prepared {
    /// The protocol: the machine's own, not a copy.
    pub fn protocol(&self) -> &Protocol {
        self.machine.protocol()
    }
}

/// Loads and compiles the protocol a scenario at `path` names.
pub fn prepare(path: &Path, scenario: &Scenario) -> Result<Prepared, ScenarioError> {
    let base = path.parent().unwrap_or(Path::new("."));
    let protocol_path = protocol::normalize(&base.join(&scenario.protocol));
    let failure = |source: ProtocolError| ScenarioError::Protocol {
        path: protocol_path.clone(),
        source,
    };
    let protocol = protocol::load(&protocol_path).map_err(|e| failure(e.into()))?;
    let (templates, mut problems) = protocol::load_templates(&protocol);
    if !problems.is_empty() {
        let first = problems.swap_remove(0);
        return Err(failure(ProtocolError::Template(Box::new(first))));
    }
    let machine = Machine::new(protocol, &templates)
        .map_err(|e| failure(e.into()))?
        .limit_firings(MAX_FIRINGS);
    Ok(Prepared { machine })
}

/// Replays the scenario at `path`; returns its protocol with the transcript.
pub fn run(path: &Path) -> Result<(Prepared, Transcript), ScenarioError> {
    let replayed = run_keeping(path)?;
    replayed.result?;
    Ok((replayed.prepared, replayed.transcript))
}

/// A scenario replayed, whether or not the replay succeeded.
pub struct Replayed {
    /// Its protocol.
    pub prepared: Prepared,
    /// The transcript: all of it, or up to the step that failed.
    pub transcript: Transcript,
    /// Whether the replay succeeded and every expectation held.
    pub result: Result<(), ScenarioError>,
}

/// Replays the scenario at `path`, keeping the protocol and the transcript when the replay
/// fails, so that a failure can be shown with what led to it. Fails itself only when the
/// scenario or its protocol cannot be read.
pub fn run_keeping(path: &Path) -> Result<Replayed, ScenarioError> {
    let scenario = load(path)?;
    let prepared = prepare(path, &scenario)?;
    let (transcript, result) = replay_partial(path, &scenario, &prepared);
    Ok(Replayed {
        prepared,
        transcript,
        result,
    })
}

/// Replays `scenario` (read from `path`) against `prepared`.
pub fn replay(
    path: &Path,
    scenario: &Scenario,
    prepared: &Prepared,
) -> Result<Transcript, ScenarioError> {
    let (transcript, result) = replay_partial(path, scenario, prepared);
    result.map(|()| transcript)
}

/// Replays `scenario` (read from `path`) against `prepared`, keeping the transcript when the
/// replay fails: it then holds the steps up to and including the one that failed, and the
/// transitions they took, so that a failure is shown with what led to it and still counts in
/// coverage.
pub fn replay_partial(
    path: &Path,
    scenario: &Scenario,
    prepared: &Prepared,
) -> (Transcript, Result<(), ScenarioError>) {
    let mut transcript = Transcript {
        protocol: prepared.protocol().id.to_string(),
        steps: Vec::new(),
        state: String::new(),
        taken: BTreeSet::new(),
        inputs: Vec::new(),
    };
    let result = replay_into(path, scenario, prepared, &mut transcript);
    transcript.taken = transcript
        .steps
        .iter()
        .flat_map(|s| &s.entries)
        .filter_map(|e| match e {
            Entry::Outcome(outcome) => Some(&**outcome),
            Entry::Incident(_) => None,
        })
        .flat_map(|o| &o.transitions)
        .map(|t| t.transition)
        .collect();
    (transcript, result)
}

/// When the `silence` event is due: the var `silence` after the job's last output (or its
/// start), while it runs and the quiet spell was not reported yet.
fn silence_due(
    machine: &Machine,
    instance: &Instance,
    quiet_since: Option<DateTime<Utc>>,
    reported: bool,
) -> Option<DateTime<Utc>> {
    let limit = machine.silence(instance)?;
    let running = instance.job.started_at.is_some() && instance.job.ended_at.is_none();
    if !running || reported {
        return None;
    }
    quiet_since?.checked_add_signed(chrono::TimeDelta::from_std(limit).ok()?)
}

fn replay_into(
    path: &Path,
    scenario: &Scenario,
    prepared: &Prepared,
    transcript: &mut Transcript,
) -> Result<(), ScenarioError> {
    let machine = &prepared.machine;
    let base = path.parent().unwrap_or(Path::new("."));
    let failed = |step: usize| move |message: String| ScenarioError::Step { step, message };
    let run_id = scenario.run.clone().unwrap_or_else(|| "scenario".into());
    let mut now = scenario.start;
    let start = machine
        .start(&run_id, &scenario.vars, now)
        .map_err(|source| ScenarioError::Start { source })?;
    // An expectation that names what the protocol does not have could never hold (or never
    // fail): it is an error of its step, found before anything runs.
    let expectations = scenario
        .steps
        .iter()
        .enumerate()
        .filter_map(|(n, s)| s.expect.as_ref().map(|e| (n + 1, e)))
        .chain(scenario.expect.as_ref().map(|e| (0, e)));
    for (step, expect) in expectations {
        if let Some(problem) = expect.problems(prepared.protocol(), &start.instance).pop() {
            return Err(if step == 0 {
                ScenarioError::Malformed {
                    path: path.to_path_buf(),
                    message: format!("expect: {problem}"),
                }
            } else {
                ScenarioError::Step {
                    step,
                    message: format!("expect: {problem}"),
                }
            });
        }
    }
    // The job's log is the scenario's only one: `follow` files have no steps.
    let mut feed = Feed::new(machine.rules(), &start.instance.vars, 1);
    let mut gates = scenario.gates.clone();
    feed.set_cadence(machine.cadence(&start.instance));
    let mut instance: Instance = start.instance.clone();
    let mut entries = Vec::new();
    let mut checks = start.checks.clone();
    entries.push(Entry::Outcome(Box::new(start)));
    let mut start_result = Ok(());
    while !checks.is_empty() {
        let input = match scripted(&gates, &checks) {
            Ok(results) => Input::Gates { results },
            Err(message) => {
                start_result = Err(failed(0)(message));
                break;
            }
        };
        transcript.inputs.push(input.clone());
        let outcome = match machine.step(&instance, input, now) {
            Ok(outcome) => outcome,
            Err(source) => {
                start_result = Err(ScenarioError::Failed { step: 0, source });
                break;
            }
        };
        instance = outcome.instance.clone();
        checks = outcome.checks.clone();
        entries.push(Entry::Outcome(Box::new(outcome)));
    }
    transcript.steps.push(StepRecord {
        what: "start".into(),
        at: now,
        entries,
    });
    transcript.state = instance.state.clone();
    start_result?;

    // Each write of an artifact gives it another size, so that every write is a change.
    let mut writes = 0u64;
    // The log-silence watchdog, as a run keeps it: the job's last output (or its start), and
    // whether the current quiet spell was reported.
    let mut quiet_since: Option<DateTime<Utc>> = None;
    let mut silence_reported = false;
    let mut unmet = Vec::new();
    for (number, spec) in scenario.steps.iter().enumerate() {
        let number = number + 1;
        let fail = failed(number);
        let mut record = StepRecord {
            what: describe(spec),
            at: now,
            entries: Vec::new(),
        };
        gates.extend(spec.gates.clone());
        let gates = &gates;
        let too_many = || ScenarioError::Step {
            step: number,
            message: format!(
                "`after: {}` fires the timers more than {MAX_FIRINGS} times, the most one step \
                 may; let less time pass in one step",
                spec.after.as_deref().unwrap_or("0s")
            ),
        };
        let mut fired = 0;
        let inputs = &mut transcript.inputs;
        let mut apply = |instance: &mut Instance, input: Input, at, record: &mut StepRecord| {
            if let Input::Incident(incident) = &input {
                record.entries.push(Entry::Incident(IncidentSummary {
                    category: incident.category.clone(),
                    owner: incident.owner.clone(),
                    severity: incident.severity.as_str().to_owned(),
                    exception: incident.exception.clone(),
                    message: incident.message.clone(),
                    line_number: incident.line_number,
                }));
            }
            let ticking = matches!(input, Input::Tick);
            let mut input = Some(input);
            let mut stops = false;
            // A step that asks for gates is answered at once, as a run's shell answers it;
            // the timers a pending transition held back fire after it.
            while let Some(next) = input.take() {
                inputs.push(next.clone());
                let outcome = machine
                    .step(instance, next, at)
                    .map_err(|source| match source {
                        StepError::TooManyFirings { .. } => too_many(),
                        source => ScenarioError::Failed {
                            step: number,
                            source,
                        },
                    })?;
                // Timers held back by gates fire over several machine steps: counted together.
                fired += outcome.fired;
                if fired > MAX_FIRINGS {
                    return Err(too_many());
                }
                *instance = outcome.instance.clone();
                stops |= outcome.effects().any(|e| {
                    matches!(
                        e,
                        crate::protocol::Effect::Stop | crate::protocol::Effect::Restart
                    )
                });
                if !outcome.checks.is_empty() {
                    let results = scripted(gates, &outcome.checks).map_err(failed(number))?;
                    input = Some(Input::Gates { results });
                } else if ticking && machine.next_deadline(instance).is_some_and(|due| due <= at) {
                    input = Some(Input::Tick);
                }
                let busy = !(outcome.transitions.is_empty()
                    && outcome.ignored.is_empty()
                    && outcome.refused.is_none()
                    && outcome.gates.is_empty()
                    && outcome.held.is_empty());
                if busy {
                    record.entries.push(Entry::Outcome(Box::new(outcome)));
                }
            }
            // As a run's shell stops the job when asked, once the step is done: its runtime
            // ends now.
            let running = instance.job.started_at.is_some() && instance.job.ended_at.is_none();
            if stops && running {
                inputs.push(Input::Stopped);
                let stopped = machine
                    .step(instance, Input::Stopped, at)
                    .map_err(|source| ScenarioError::Failed {
                        step: number,
                        source,
                    })?;
                *instance = stopped.instance;
            }
            Ok::<(), ScenarioError>(())
        };
        let mut body = || -> Result<(), ScenarioError> {
            if let Some(after) = &spec.after {
                let step = crate::duration::parse(after).map_err(&fail)?;
                let until = chrono::TimeDelta::from_std(step)
                    .ok()
                    .and_then(|step| now.checked_add_signed(step))
                    .ok_or_else(|| {
                        fail(format!(
                            "`after: {after}` goes past the last date Warden can keep"
                        ))
                    })?;
                // A job quiet for the var `silence` is reported when it has been, as the run's
                // watchdog does: the timers due before then fire first.
                let due = silence_due(machine, &instance, quiet_since, silence_reported);
                if let Some(due) = due.filter(|due| *due <= until).map(|due| due.max(now)) {
                    apply(&mut instance, Input::Tick, due, &mut record)?;
                    if silence_due(machine, &instance, quiet_since, silence_reported).is_some() {
                        silence_reported = true;
                        apply(&mut instance, Input::Silence, due, &mut record)?;
                    }
                }
                now = until;
                apply(&mut instance, Input::Tick, now, &mut record)?;
            }
            // As a real run reads them: the step's lines in the chunks a run's tail reads (a
            // log file is never held whole), then the log is quiet.
            let mut log = StepLog::default();
            let mut fed = Vec::new();
            if let Some(text) = &spec.log {
                log.read(&mut feed, text.as_bytes(), now, &mut fed);
            }
            if let Some(file) = &spec.log_file {
                let path = base.join(file);
                let io = |source| ScenarioError::Io {
                    path: path.clone(),
                    source,
                };
                let mut file = std::fs::File::open(&path).map_err(io)?;
                let mut chunk = vec![0; crate::run::tail::CHUNK];
                loop {
                    let read = match std::io::Read::read(&mut file, &mut chunk) {
                        Ok(0) => break,
                        Ok(read) => read,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(io(e)),
                    };
                    log.read(&mut feed, &chunk[..read], now, &mut fed);
                    for fed in fed.drain(..) {
                        apply(&mut instance, fed.input, now, &mut record)?;
                    }
                }
            }
            if log.wrote {
                // Output starts a new quiet spell.
                quiet_since = Some(now);
                silence_reported = false;
                // A step appends whole lines.
                if log.last != b'\n' {
                    log.read(&mut feed, b"\n", now, &mut fed);
                }
                feed.quiet(0, now, &mut fed);
                feed.facts(&mut fed);
                for fed in fed.drain(..) {
                    apply(&mut instance, fed.input, now, &mut record)?;
                }
            }
            for (names, exists) in [(&spec.touch, true), (&spec.remove, false)] {
                for name in names {
                    let known = instance.job.artifacts.contains_key(name);
                    if !known {
                        let names: Vec<&str> =
                            instance.job.artifacts.keys().map(String::as_str).collect();
                        return Err(fail(format!(
                            "the job has no artifact `{name}`; its artifacts are: {}",
                            if names.is_empty() {
                                "none".to_owned()
                            } else {
                                names.join(", ")
                            }
                        )));
                    }
                    writes += 1;
                    let input = Input::Artifact {
                        name: name.clone(),
                        exists,
                        size: exists.then_some(writes),
                        modified: exists.then_some(now),
                    };
                    apply(&mut instance, input, now, &mut record)?;
                }
            }
            if spec.job == Some(JobStep::Exited) {
                // As a real run learns of an end: the log is read to its end first, so the
                // traceback the job died with, even cut short, is an incident before the exit.
                let mut fed = Vec::new();
                feed.end(0, now, &mut fed, None);
                feed.facts(&mut fed);
                for fed in fed {
                    apply(&mut instance, fed.input, now, &mut record)?;
                }
            }
            if let Some(job) = spec.job {
                if job == JobStep::Launched {
                    feed.new_process();
                    // A new job's silence counts from its start.
                    quiet_since = Some(now);
                    silence_reported = false;
                }
                let input = match job {
                    JobStep::Launched => Input::Launched {
                        pid: spec.pid.unwrap_or(1),
                        resumed: spec.resumed.unwrap_or(false),
                        command: None,
                        slurm_job: spec.slurm_job,
                    },
                    JobStep::Exited => Input::Exited {
                        exit_code: spec.exit_code,
                        signal: spec.signal,
                        slurm_state: spec.slurm_state.clone(),
                    },
                };
                apply(&mut instance, input, now, &mut record)?;
            }
            if let Some(event) = &spec.send {
                let sender = spec
                    .sender
                    .clone()
                    .ok_or_else(|| fail(format!("`send: {event}` needs `as: ROLE`")))?;
                let input = Input::Send {
                    event: event.clone(),
                    sender,
                    fields: spec.fields.clone(),
                };
                apply(&mut instance, input, now, &mut record)?;
            }
            Ok(())
        };
        let result = body();
        record.at = now;
        if let Some(expect) = &spec.expect {
            if result.is_ok() {
                let sent: Vec<&Message> = messages_of(std::slice::from_ref(&record)).collect();
                unmet.extend(expect.check(&instance, &sent).into_iter().map(|what| {
                    expect::Unmet {
                        step: Some(number),
                        what,
                    }
                }));
            }
        }
        transcript.steps.push(record);
        transcript.state = instance.state.clone();
        result?;
    }
    if let Some(expect) = &scenario.expect {
        let sent: Vec<&Message> = messages_of(&transcript.steps).collect();
        unmet.extend(
            expect
                .check(&instance, &sent)
                .into_iter()
                .map(|what| expect::Unmet { step: None, what }),
        );
    }
    if unmet.is_empty() {
        Ok(())
    } else {
        Err(ScenarioError::Expectation { unmet })
    }
}

/// What a step appended to the job's log so far: whether anything, and its last byte.
#[derive(Default)]
struct StepLog {
    wrote: bool,
    last: u8,
}

impl StepLog {
    /// Appends `bytes` to the job's log, read at `at`.
    fn read(&mut self, feed: &mut Feed, bytes: &[u8], at: DateTime<Utc>, out: &mut Vec<Fed>) {
        if let Some(&last) = bytes.last() {
            self.wrote = true;
            self.last = last;
            feed.read(0, bytes, at, out, None);
        }
    }
}

/// Every message the steps sent, in order.
fn messages_of(steps: &[StepRecord]) -> impl Iterator<Item = &Message> {
    steps
        .iter()
        .flat_map(|s| &s.entries)
        .filter_map(|e| match e {
            Entry::Outcome(outcome) => Some(outcome.messages()),
            Entry::Incident(_) => None,
        })
        .flatten()
}

/// The scenario's results for the gates the machine asks about.
fn scripted(
    gates: &BTreeMap<String, GateSpec>,
    checks: &[crate::gate::Check],
) -> Result<Vec<GateResult>, String> {
    checks
        .iter()
        .map(|check| {
            gates
                .get(&check.gate)
                .map(|spec| spec.result(&check.gate))
                .ok_or_else(|| {
                    format!(
                        "the gate `{}` is checked here: give its result under `gates:` \
                         (`pass`, `fail`, or `{{ passed: .., reason: .., facts: .. }}`)",
                        check.gate
                    )
                })
        })
        .collect()
}

fn describe(spec: &StepSpec) -> String {
    let mut parts = Vec::new();
    if let Some(after) = &spec.after {
        parts.push(format!("after {after}"));
    }
    if let Some(log) = &spec.log {
        let lines = log.lines().count();
        let s = if lines == 1 { "" } else { "s" };
        parts.push(format!("log ({lines} line{s})"));
    }
    if let Some(file) = &spec.log_file {
        parts.push(format!("log from {}", file.display()));
    }
    if !spec.touch.is_empty() {
        parts.push(format!("{} written", spec.touch.join(", ")));
    }
    if !spec.remove.is_empty() {
        parts.push(format!("{} removed", spec.remove.join(", ")));
    }
    match spec.job {
        Some(JobStep::Launched) => parts.push(format!(
            "job launched ({}{})",
            match spec.slurm_job {
                Some(id) => format!("Slurm job {id}"),
                None => format!("pid {}", spec.pid.unwrap_or(1)),
            },
            if spec.resumed == Some(true) {
                ", resumed"
            } else {
                ""
            }
        )),
        Some(JobStep::Exited) => {
            let mut said = match (spec.exit_code, spec.signal) {
                (_, Some(signal)) => format!("job exited on signal {signal}"),
                (code, None) => format!("job exited with code {}", code.unwrap_or(0)),
            };
            if let Some(state) = &spec.slurm_state {
                said.push_str(&format!(", Slurm state {state}"));
            }
            parts.push(said);
        }
        None => {}
    }
    if let Some(event) = &spec.send {
        let fields: Vec<String> = spec
            .fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        parts.push(format!(
            "{} sends {event}{}",
            spec.sender.as_deref().unwrap_or("?"),
            if fields.is_empty() {
                String::new()
            } else {
                format!(" ({})", fields.join(", "))
            }
        ));
    }
    parts.join(", then ")
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Transcript {
    /// The transcript as text: every step, the incidents it produced, the transitions taken (with
    /// their line in the protocol), every message in full, the effects, and what was ignored or
    /// refused.
    pub fn to_text(&self, protocol: &Protocol) -> String {
        let mut out = String::new();
        for (number, step) in self.steps.iter().enumerate() {
            let _ = writeln!(out, "## {number}. {} — {}", step.what, time(step.at));
            for entry in &step.entries {
                match entry {
                    Entry::Incident(incident) => write_incident(&mut out, incident),
                    Entry::Outcome(outcome) => write_outcome(&mut out, protocol, outcome),
                }
            }
            out.push('\n');
        }
        let _ = writeln!(out, "end: {}", self.state);
        out
    }
}

fn write_incident(out: &mut String, incident: &IncidentSummary) {
    let exception = incident
        .exception
        .as_deref()
        .map_or_else(String::new, |e| format!("{e}: "));
    let _ = writeln!(
        out,
        "incident: {} ({}) for {}, log line {}: {exception}{}",
        incident.category,
        incident.severity,
        incident.owner,
        incident.line_number,
        incident.message
    );
}

fn write_outcome(out: &mut String, protocol: &Protocol, outcome: &Outcome) {
    if let Some(reason) = &outcome.refused {
        let _ = writeln!(out, "refused: {reason}");
    }
    for event in &outcome.ignored {
        let _ = writeln!(out, "ignored: {event}");
    }
    for gate in &outcome.gates {
        let verdict = if gate.passed { "passed" } else { "FAILED" };
        let _ = writeln!(out, "gate {}: {verdict}: {}", gate.gate, gate.reason);
    }
    for taken in &outcome.transitions {
        let line = protocol.transitions[taken.transition].span.line();
        let on = taken
            .event
            .as_deref()
            .map_or_else(String::new, |e| format!(" on {e}"));
        let _ = writeln!(
            out,
            "transition: {} → {}{on} (line {line}) at {}",
            taken.from,
            taken.to,
            time(taken.at)
        );
        for message in &taken.messages {
            let _ = writeln!(
                out,
                "\nmessage #{} {} → {} ({}):\n",
                message.seq,
                message.from,
                message.to.join(", "),
                message.template.as_deref().unwrap_or("text"),
            );
            for line in message.text.lines() {
                if line.trim().is_empty() {
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "    {line}");
                }
            }
            out.push('\n');
        }
        for effect in &taken.effects {
            let _ = writeln!(out, "effect: {}", effect.as_str());
        }
    }
    for held in &outcome.held {
        let _ = writeln!(out, "held: {held}");
    }
    for failure in &outcome.unrendered {
        let _ = writeln!(out, "unrendered: {failure}");
    }
}

/// A unified diff of a stored transcript against a new one, empty when they are equal.
pub fn diff(stored: &str, actual: &str) -> String {
    if stored == actual {
        return String::new();
    }
    similar::TextDiff::from_lines(stored, actual)
        .unified_diff()
        .context_radius(3)
        .header("stored", "actual")
        .to_string()
}

/// The transcript stored beside a scenario: `NAME.yaml` → `NAME.transcript.md`.
pub fn transcript_path(scenario: &Path) -> PathBuf {
    scenario.with_extension("transcript.md")
}

/// Every scenario file under `root` (a file, or a folder searched for `scenarios/*.yaml`).
pub fn discover(root: &Path) -> Vec<PathBuf> {
    if root.is_file() {
        return vec![root.to_path_buf()];
    }
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml")
                && path
                    .parent()
                    .and_then(Path::file_name)
                    .is_some_and(|n| n == "scenarios")
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROTOCOL: &str = "protocol: p\nroles: { trainer: {}, director: {} }\nchannels: [{ from: trainer, to: director }]\nstates:\n  watch: { initial: true }\ntimers:\n  - { event: tick, every: 30m, while: [watch] }\ntransitions:\n  - { from: watch, on: tick, send: [{ from: trainer, to: director, text: \"tick at {{ now }}\" }] }\n";

    /// Replays `steps` (the YAML of a scenario's `steps:`) against [`PROTOCOL`].
    fn replay(steps: &str) -> Result<Transcript, ScenarioError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.yaml"), PROTOCOL).unwrap();
        let scenario = dir.path().join("s.yaml");
        std::fs::write(
            &scenario,
            format!("protocol: p.yaml\nstart: 2026-01-19T12:00:00Z\nsteps:\n{steps}"),
        )
        .unwrap();
        run(&scenario).map(|(_, transcript)| transcript)
    }

    fn messages(transcript: &Transcript) -> usize {
        transcript
            .steps
            .iter()
            .flat_map(|s| &s.entries)
            .map(|e| match e {
                Entry::Outcome(o) => o.messages().count(),
                Entry::Incident(_) => 0,
            })
            .sum()
    }

    /// A protocol with the log-silence watchdog: quiet for an hour, the run stalls.
    const WATCHED: &str = "protocol: p
roles: { trainer: {}, director: {} }
channels: [{ from: trainer, to: director }]
vars:
  silence: { type: duration, default: 1h }
states:
  watch: { initial: true }
  stalled: {}
timers:
  - { event: tick, every: 30m, while: [watch] }
transitions:
  - { from: watch, on: tick, send: [{ from: trainer, to: director, text: \"tick at {{ now }}\" }] }
  - { from: watch, on: silence, to: stalled, count: [stalls], send: [{ from: trainer, to: director, text: \"quiet for {{ silence }}\" }] }
  - { from: stalled, on: launched, to: watch }
";

    /// Replays a scenario whose body (after `protocol:` and `start:`) is `body` against
    /// `protocol`; returns the transcript as text with the result.
    fn replay_text(protocol: &str, body: &str) -> (String, Result<(), ScenarioError>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.yaml"), protocol).unwrap();
        let scenario = dir.path().join("s.yaml");
        std::fs::write(
            &scenario,
            format!("protocol: p.yaml\nstart: 2026-01-19T12:00:00Z\n{body}"),
        )
        .unwrap();
        let replayed = run_keeping(&scenario).unwrap();
        let text = replayed.transcript.to_text(replayed.prepared.protocol());
        (text, replayed.result)
    }

    /// The transitions of a transcript's text, one a line.
    fn transitions(text: &str) -> Vec<&str> {
        text.lines()
            .filter(|l| l.starts_with("transition: "))
            .collect()
    }

    #[test]
    fn a_quiet_job_fires_silence_once_after_its_last_output_timers_first() {
        let (text, result) = replay_text(
            WATCHED,
            "steps:
  - job: launched
  - { after: 40m, log: \"epoch 1\" }
  - after: 50m
  - after: 20m
  - after: 5h
",
        );
        result.unwrap();
        assert_eq!(
            transitions(&text),
            [
                "transition: watch → watch on tick (line 12) at 2026-01-19T12:30:00Z",
                "transition: watch → watch on tick (line 12) at 2026-01-19T13:00:00Z",
                "transition: watch → watch on tick (line 12) at 2026-01-19T13:30:00Z",
                // An hour after the log's last line (12:40), not after the launch.
                "transition: watch → stalled on silence (line 13) at 2026-01-19T13:40:00Z",
            ],
            "{text}"
        );
        assert!(text.contains("quiet for 1h"), "{text}");
        assert!(text.ends_with("end: stalled\n"), "{text}");
    }

    #[test]
    fn silence_counts_from_the_launch_and_only_while_the_job_runs() {
        // Never launched: no silence however long.
        let (text, result) = replay_text(WATCHED, "steps:\n  - after: 3h\n");
        result.unwrap();
        assert!(!text.contains("silence"), "{text}");
        // Launched, then ended: quiet, but not running.
        let (text, result) = replay_text(
            WATCHED,
            "steps:\n  - job: launched\n  - { after: 10m, job: exited }\n  - after: 3h\n",
        );
        result.unwrap();
        assert!(!text.contains("on silence"), "{text}");
        // A new launch starts a new quiet spell, which is reported again.
        let (text, result) = replay_text(
            WATCHED,
            "steps:
  - job: launched
  - after: 61m
  - { after: 5m, job: launched }
  - after: 61m
expect: { state: stalled, counters: { stalls: 2 } }
",
        );
        result.unwrap();
        let silences: Vec<&str> = transitions(&text)
            .into_iter()
            .filter(|t| t.contains("on silence"))
            .collect();
        assert_eq!(
            silences,
            [
                "transition: watch → stalled on silence (line 13) at 2026-01-19T13:00:00Z",
                "transition: watch → stalled on silence (line 13) at 2026-01-19T14:06:00Z",
            ],
            "{text}"
        );
    }

    #[test]
    fn a_step_expect_checks_the_state_counters_and_messages_after_it() {
        let (_, result) = replay_text(
            WATCHED,
            "steps:
  - job: launched
  - after: 30m
    expect:
      state: watch
      counters: { stalls: 0 }
      messages: { count: 1, include: [{ from: trainer, to: director, contains: \"tick at\" }] }
  - after: 2h
    expect:
      state: stalled
      messages:
        count: 2
        include: [{ contains: \"tick at\" }, { contains: \"quiet for 1h\" }]
expect:
  messages: { count: 3 }
  counters: { stalls: 1 }
",
        );
        result.unwrap();
    }

    #[test]
    fn unmet_expectations_are_all_named_and_the_replay_goes_to_its_end() {
        let (text, result) = replay_text(
            WATCHED,
            "steps:
  - job: launched
  - after: 30m
    expect:
      state: stalled
      messages: { count: 2, include: [{ to: director, contains: \"quiet\" }] }
  - after: 2h
expect: { state: watch, counters: { stalls: 2 } }
",
        );
        let unmet = match result {
            Err(ScenarioError::Expectation { unmet }) => unmet,
            other => panic!("{other:?}"),
        };
        let words: Vec<String> = unmet.iter().map(ToString::to_string).collect();
        assert_eq!(
            words,
            [
                "after step 2: expected the state `stalled`, the run is in `watch`",
                "after step 2: expected 2 messages sent, 1 was sent",
                "after step 2: expected a message to director, containing \"quiet\" sent, none \
                 was",
                "at the end: expected the state `watch`, the run is in `stalled`",
                "at the end: expected the counter `stalls` at 2, it is at 1",
            ]
        );
        assert!(
            text.ends_with("end: stalled\n"),
            "the replay went on: {text}"
        );
        assert!(ScenarioError::Expectation { unmet }
            .to_string()
            .starts_with("5 expectations not met: after step 2: expected the state"));
    }

    #[test]
    fn an_expectation_naming_what_the_protocol_lacks_is_an_error_of_its_step() {
        let (_, result) = replay_text(
            WATCHED,
            "steps:\n  - after: 1m\n  - after: 1m\n    expect: { counters: { stall: 1 } }\n",
        );
        assert_eq!(
            result.unwrap_err().to_string(),
            "step 2: expect: the protocol has no counter `stall`; did you mean `stalls`?"
        );
        let (_, result) = replay_text(WATCHED, "steps: []\nexpect: { state: stalld }\n");
        assert!(result
            .unwrap_err()
            .to_string()
            .ends_with("expect: the protocol has no state `stalld`; did you mean `stalled`?"),);
        let (_, result) = replay_text(
            WATCHED,
            "steps: []\nexpect: { messages: { include: [{ to: directr }] } }\n",
        );
        assert!(result
            .unwrap_err()
            .to_string()
            .ends_with("the protocol has no role `directr`; did you mean `director`?"));
        let (_, result) = replay_text(
            WATCHED,
            "steps: []\nexpect: { messages: { include: [{ template: report }] } }\n",
        );
        assert!(result
            .unwrap_err()
            .to_string()
            .ends_with("the protocol has no message template `report` (no transition sends it)"));
    }

    #[test]
    fn a_step_that_fails_keeps_the_steps_before_it_in_the_transcript() {
        let (text, result) = replay_text(
            WATCHED,
            "steps:\n  - after: 30m\n  - { after: 1m, touch: [nothing] }\n  - after: 1h\n",
        );
        assert!(matches!(result, Err(ScenarioError::Step { step: 2, .. })));
        assert!(text.contains("## 1. after 30m"), "{text}");
        assert!(
            text.contains("## 2. after 1m, then nothing written"),
            "{text}"
        );
        assert!(!text.contains("## 3."), "{text}");
    }

    #[test]
    fn a_step_may_fire_the_timers_up_to_the_limit() {
        // 500h of a 30-minute timer: exactly the limit.
        let transcript = replay("  - after: 500h\n").unwrap();
        assert_eq!(messages(&transcript), MAX_FIRINGS);
    }

    #[test]
    fn a_step_that_fires_the_timers_too_often_is_refused_naming_it() {
        let error = replay("  - after: 1h\n  - after: 100000h\n").unwrap_err();
        assert!(
            matches!(&error, ScenarioError::Step { step: 2, .. }),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "step 2: `after: 100000h` fires the timers more than 1000 times, the most one step \
             may; let less time pass in one step"
        );
    }

    #[test]
    fn an_after_past_the_last_date_is_an_error_not_a_panic() {
        let error = replay("  - after: 200000000y\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "step 1: `after: 200000000y` goes past the last date Warden can keep"
        );
    }

    #[test]
    fn a_scenario_nested_too_deep_is_refused_where_it_goes_too_deep() {
        for flow in [false, true] {
            let deep = crate::nesting::nested(100_000, flow);
            let error = replay(&format!("  - fields:\n      x:\n        {deep}")).unwrap_err();
            assert!(
                matches!(&error, ScenarioError::Malformed { message, .. }
                    if message.starts_with("line 6 column ")
                        && message.ends_with("nests deeper than 128 levels")),
                "{error}"
            );
        }
    }
}
