//! A run's state, derived from its journal one entry at a time.
//!
//! The supervisor appends an entry, then absorbs it; after a crash, and for the commands that
//! need a run's state from another shell (`status`, `send`), the same [`RunState::absorb`]
//! replays the journal. So what a
//! resumed supervisor believes is exactly what the one before it had written down: the
//! machine's instance, the messages whose files are not written yet, the job effects not yet
//! carried out, the job of the last launch, and how far each log was read.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::job::Identity;
use super::snapshot::Snapshot;
use super::store::{self, Entry, MessageEntry, RunDir, Started};
use super::RunError;
use crate::machine::{Input, Instance, Machine, Message, Outcome, StepError};
use crate::protocol::Effect;

/// A job effect still to carry out. `restart` is a stop, then a launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Start the job.
    Launch,
    /// Stop the job.
    Stop,
}

impl Action {
    /// The effect's name, as protocols write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Launch => Effect::Launch.as_str(),
            Action::Stop => Effect::Stop.as_str(),
        }
    }
}

/// The last launch of the job, as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Launch {
    /// The launch's number, from 1.
    pub n: u32,
    /// When it started.
    pub at: DateTime<Utc>,
    /// The job's process and group.
    pub job: Identity,
    /// Its waiter.
    pub waiter: Identity,
    /// The command run.
    pub command: Vec<String>,
    /// Whether it resumed from the checkpoint.
    pub resumed: bool,
    /// Whether its end is in the journal (an `exited` input, or a stop).
    pub ended: bool,
    /// The Slurm job id, when it was submitted to Slurm.
    pub slurm_job: Option<u64>,
}

/// What absorbing an entry did.
#[derive(Debug)]
pub enum Absorbed {
    /// It was not an input.
    Recorded,
    /// The machine took the input.
    Stepped(Box<Outcome>),
    /// The machine failed on the input (a guard or `set` failing at run time); the run stays
    /// as it was, as it did when the input was first taken, and the owner of uncategorized
    /// incidents is sent the notice, if there is one.
    Failed(StepError, Option<Message>),
}

/// The journal's record of what an input did.
pub fn summary(absorbed: &Absorbed, state: &str) -> store::Outcome {
    let mut summary = store::Outcome {
        state: state.to_owned(),
        ..store::Outcome::default()
    };
    match absorbed {
        Absorbed::Stepped(outcome) => {
            summary.taken = outcome
                .transitions
                .iter()
                .map(|t| format!("{} -> {}", t.from, t.to))
                .collect();
            summary.ignored = outcome.ignored.clone();
            summary.refused = outcome.refused.clone();
            summary.effects = outcome.effects().map(|e| e.as_str().to_owned()).collect();
            summary.messages = outcome.messages().map(|m| m.seq).collect();
            summary.unrendered = outcome.unrendered.clone();
            summary.gates = outcome
                .gates
                .iter()
                .map(|g| {
                    let verdict = if g.passed { "passed" } else { "failed" };
                    format!("{}: {verdict}: {}", g.gate, g.reason)
                })
                .collect();
        }
        Absorbed::Failed(error, notice) => {
            summary.failed = Some(error.to_string());
            summary.messages = notice.iter().map(|m| m.seq).collect();
        }
        Absorbed::Recorded => {}
    }
    summary
}

/// Everything known about a run from its journal.
pub struct RunState {
    /// The run's files.
    run: RunDir,
    /// The compiled protocol.
    machine: Machine,
    /// How it started.
    started: Started,
    /// The machine's instance.
    instance: Instance,
    /// The vars as the run started with them: what its metric rules read.
    start_vars: Arc<BTreeMap<String, minijinja::Value>>,
    /// The messages written, in order.
    messages: Vec<MessageEntry>,
    /// Messages rendered whose files are not written yet (the supervisor died in between).
    unwritten: Vec<Message>,
    /// Job effects not carried out yet, in order.
    actions: VecDeque<Action>,
    /// How many launches there were.
    launches: u32,
    /// The job of the last launch.
    job: Option<Launch>,
    /// How far each log was read: byte offset and lines, by source.
    offsets: BTreeMap<usize, (u64, u64)>,
    /// The last line of each log that gave an input, by source.
    read_lines: BTreeMap<usize, u64>,
    /// The `send` requests taken.
    requests: BTreeSet<String>,
    /// The last incident reported.
    last_incident: Option<Box<crate::classify::Incident>>,
    /// Inputs on which the machine failed, with why.
    failures: Vec<String>,
    /// When and in which state the run ended.
    ended: Option<(DateTime<Utc>, String)>,
    /// When the last entry was written.
    last_at: DateTime<Utc>,
    /// The outcome of the last input, as this replay came to it.
    last_outcome: Option<store::Outcome>,
    /// The journal's entries taken into account, the start among them.
    entries: u64,
    /// Of them, those the run's saved state covered when it was last read or written.
    saved_entries: u64,
}

/// What of a [`RunState`] is saved beside the journal (see [`super::saved`]): all but the run's
/// files and its machine, which come from the run's directory, and the `send` requests taken
/// and the machine's history, which are saved on their own.
#[derive(Serialize)]
pub(super) struct PartsRef<'a> {
    started: &'a Started,
    /// The instance without its history.
    instance: Instance,
    start_vars: &'a BTreeMap<String, minijinja::Value>,
    messages: &'a [MessageEntry],
    unwritten: &'a [Message],
    actions: &'a VecDeque<Action>,
    launches: u32,
    job: &'a Option<Launch>,
    offsets: &'a BTreeMap<usize, (u64, u64)>,
    read_lines: &'a BTreeMap<usize, u64>,
    last_incident: &'a Option<Box<crate::classify::Incident>>,
    failures: &'a [String],
    ended: &'a Option<(DateTime<Utc>, String)>,
    last_at: DateTime<Utc>,
    last_outcome: &'a Option<store::Outcome>,
    entries: u64,
}

/// The machine's history.
pub(super) type History = imbl::Vector<Arc<crate::machine::HistoryEntry>>;

/// [`PartsRef`], read back.
#[derive(Deserialize)]
pub(super) struct Parts {
    started: Started,
    instance: Instance,
    start_vars: Arc<BTreeMap<String, minijinja::Value>>,
    messages: Vec<MessageEntry>,
    unwritten: Vec<Message>,
    actions: VecDeque<Action>,
    launches: u32,
    job: Option<Launch>,
    offsets: BTreeMap<usize, (u64, u64)>,
    read_lines: BTreeMap<usize, u64>,
    last_incident: Option<Box<crate::classify::Incident>>,
    failures: Vec<String>,
    ended: Option<(DateTime<Utc>, String)>,
    last_at: DateTime<Utc>,
    last_outcome: Option<store::Outcome>,
    entries: u64,
}

impl RunState {
    /// Starts a run's state from its first entry; returns the start's outcome.
    pub fn begin(
        run: RunDir,
        machine: Machine,
        started: Started,
    ) -> Result<(RunState, Outcome), RunError> {
        let outcome = machine.start(&run.id, &started.vars, started.at)?;
        let mut state = RunState {
            run,
            machine,
            instance: outcome.instance.clone(),
            start_vars: outcome.instance.vars.clone(),
            messages: Vec::new(),
            unwritten: Vec::new(),
            actions: VecDeque::new(),
            launches: 0,
            job: None,
            offsets: BTreeMap::new(),
            read_lines: BTreeMap::new(),
            requests: BTreeSet::new(),
            last_incident: None,
            failures: Vec::new(),
            ended: None,
            last_at: started.at,
            last_outcome: None,
            entries: 1,
            saved_entries: 0,
            started,
        };
        state.follow_outcome(&outcome);
        Ok((state, outcome))
    }

    /// Rebuilds the state of `run` from its snapshot and journal: from the state saved beside
    /// the journal and the entries after it, when that state is there and holds for this
    /// journal (see [`super::saved`]), or else from the journal's start. Either way it is the
    /// same state.
    pub fn replay(run: &RunDir) -> Result<RunState, RunError> {
        RunState::load(run, true)
    }

    /// [`RunState::replay`] for what reads a run's state but neither the machine's history nor
    /// which `send` requests were taken (`status`, `list`): what the saved state holds of these
    /// is left unread when nothing replayed after it needs it, so the instance's history and
    /// the requests may be empty or hold only the latest.
    pub fn recent(run: &RunDir) -> Result<RunState, RunError> {
        RunState::load(run, false)
    }

    fn load(run: &RunDir, history: bool) -> Result<RunState, RunError> {
        let (snapshot, protocol_hash) = Snapshot::read_hashed(run)?;
        let machine = snapshot.compile()?;
        let reads_history = snapshot.mentions("history");
        if let Some(saved) = super::saved::read(run, protocol_hash)? {
            // The entries after the saved state step the machine with their inputs; what
            // steps reads the history only through the name `history`.
            let (tail, _) =
                run.read_journal_from(saved.mark.journal_len, saved.mark.entries as usize)?;
            let steps = tail
                .iter()
                .any(|e| matches!(e, Entry::Input { .. } | Entry::Stopped { .. }));
            let history = history || (steps && reads_history);
            if let Some(read) = saved.state(history) {
                let mut state = RunState::from_parts(run.clone(), machine, read);
                for entry in &tail {
                    state.absorb(entry)?;
                }
                return Ok(state);
            }
        }
        let mut entries = run.read_journal()?.into_iter();
        let Some(Entry::Started(started)) = entries.next() else {
            return Err(RunError::Journal {
                path: run.journal(),
                message: "the journal does not begin with the run's start".into(),
            });
        };
        let (mut state, _) = RunState::begin(run.clone(), machine, *started)?;
        for entry in entries {
            state.absorb(&entry)?;
        }
        Ok(state)
    }

    /// What of the state is saved, with the requests taken and the machine's history apart.
    pub(super) fn parts(&self) -> (PartsRef<'_>, &BTreeSet<String>, &History) {
        // Cloning an instance shares what it holds.
        let mut instance = self.instance.clone();
        instance.history = imbl::Vector::new();
        let parts = PartsRef {
            started: &self.started,
            instance,
            start_vars: &self.start_vars,
            messages: &self.messages,
            unwritten: &self.unwritten,
            actions: &self.actions,
            launches: self.launches,
            job: &self.job,
            offsets: &self.offsets,
            read_lines: &self.read_lines,
            last_incident: &self.last_incident,
            failures: &self.failures,
            ended: &self.ended,
            last_at: self.last_at,
            last_outcome: &self.last_outcome,
            entries: self.entries,
        };
        (parts, &self.requests, &self.instance.history)
    }

    /// The state saved as `parts`, with the requests taken and the machine's `history`.
    fn from_parts(run: RunDir, machine: Machine, parts: super::saved::Loaded) -> RunState {
        let super::saved::Loaded {
            parts,
            requests,
            history,
        } = parts;
        let mut instance = parts.instance;
        instance.history = history;
        RunState {
            run,
            machine,
            started: parts.started,
            instance,
            start_vars: parts.start_vars,
            messages: parts.messages,
            unwritten: parts.unwritten,
            actions: parts.actions,
            launches: parts.launches,
            job: parts.job,
            offsets: parts.offsets,
            read_lines: parts.read_lines,
            requests,
            last_incident: parts.last_incident,
            failures: parts.failures,
            ended: parts.ended,
            last_at: parts.last_at,
            last_outcome: parts.last_outcome,
            entries: parts.entries,
            saved_entries: parts.entries,
        }
    }

    /// The journal's entries taken into account, the start among them.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// How many entries were taken into account since the saved state was last read or
    /// written.
    pub fn unsaved(&self) -> u64 {
        self.entries - self.saved_entries
    }

    /// The saved state now covers every entry taken into account.
    pub(super) fn mark_saved(&mut self) {
        self.saved_entries = self.entries;
    }

    /// The run's files.
    pub fn run(&self) -> &RunDir {
        &self.run
    }

    /// The compiled protocol.
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// How the run started.
    pub fn started(&self) -> &Started {
        &self.started
    }

    /// The machine's instance.
    pub fn instance(&self) -> &Instance {
        &self.instance
    }

    /// The vars as the run started with them, which its metric rules read (a var a transition
    /// sets later keeps its starting value there).
    pub fn start_vars(&self) -> &BTreeMap<String, minijinja::Value> {
        &self.start_vars
    }

    /// The messages written, in order.
    pub fn messages(&self) -> &[MessageEntry] {
        &self.messages
    }

    /// The messages rendered whose files are not written yet, handed over to be written.
    pub fn take_unwritten(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.unwritten)
    }

    /// The job effects not carried out yet, in order.
    pub fn actions(&self) -> impl Iterator<Item = Action> + '_ {
        self.actions.iter().copied()
    }

    /// The next job effect to carry out.
    pub fn next_action(&self) -> Option<Action> {
        self.actions.front().copied()
    }

    /// How many launches there were.
    pub fn launches(&self) -> u32 {
        self.launches
    }

    /// The last launch of the job.
    pub fn job(&self) -> Option<&Launch> {
        self.job.as_ref()
    }

    /// How far log `source` was read: the byte offset and the lines before it.
    pub fn offset(&self, source: usize) -> (u64, u64) {
        self.offsets.get(&source).copied().unwrap_or((0, 0))
    }

    /// The last line of log `source` that gave an input (0: none).
    pub fn read_through(&self, source: usize) -> u64 {
        self.read_lines.get(&source).copied().unwrap_or(0)
    }

    /// Whether the `send` request `id` was taken.
    pub fn took_request(&self, id: &str) -> bool {
        self.requests.contains(id)
    }

    /// The last incident reported.
    pub fn last_incident(&self) -> Option<&crate::classify::Incident> {
        self.last_incident.as_deref()
    }

    /// The inputs the machine failed on, with why.
    pub fn failures(&self) -> &[String] {
        &self.failures
    }

    /// When and in which state the run ended.
    pub fn ended(&self) -> Option<(DateTime<Utc>, &str)> {
        self.ended.as_ref().map(|(at, state)| (*at, state.as_str()))
    }

    /// When the last entry was written.
    pub fn last_at(&self) -> DateTime<Utc> {
        self.last_at
    }

    /// The outcome of the last input, as this replay came to it.
    pub fn last_outcome(&self) -> Option<&store::Outcome> {
        self.last_outcome.as_ref()
    }

    /// Takes one journal entry into account.
    pub fn absorb(&mut self, entry: &Entry) -> Result<Absorbed, RunError> {
        self.entries += 1;
        match entry {
            Entry::Started(_) => {
                return Err(RunError::Journal {
                    path: self.run.journal(),
                    message: "the run starts twice".into(),
                })
            }
            Entry::Input {
                at,
                input,
                line,
                request,
            } => return Ok(self.input(*at, input, *line, request.as_deref())),
            Entry::Outcome(recorded) => self.outcome(recorded),
            Entry::Message(message) => self.message(message),
            Entry::Launched {
                at,
                n,
                job,
                waiter,
                command,
                resumed,
                slurm_job,
            } => self.launched(Launch {
                n: *n,
                at: *at,
                job: *job,
                waiter: *waiter,
                command: command.clone(),
                resumed: *resumed,
                ended: false,
                slurm_job: *slurm_job,
            }),
            Entry::LaunchFailed { at, n, .. } => self.launch_failed(*at, *n),
            Entry::Stopped { at, .. } => self.stopped(*at),
            Entry::Offset {
                source,
                offset,
                lines,
            } => {
                self.offsets.insert(*source, (*offset, *lines));
            }
            Entry::Ended { at, state } => {
                self.last_at = *at;
                self.ended = Some((*at, state.clone()));
            }
        }
        Ok(Absorbed::Recorded)
    }

    /// An input: the machine takes it, as it did when it was journaled.
    fn input(
        &mut self,
        at: DateTime<Utc>,
        input: &Input,
        line: Option<crate::classify::LogLine>,
        request: Option<&str>,
    ) -> Absorbed {
        self.last_at = at;
        if let Some(line) = line {
            let last = self.read_lines.entry(line.source).or_default();
            *last = (*last).max(line.line);
        }
        if let Some(request) = request {
            self.requests.insert(request.to_owned());
        }
        match input {
            Input::Exited { .. } => {
                if let Some(job) = &mut self.job {
                    job.ended = true;
                }
            }
            Input::Incident(incident) => self.last_incident = Some(incident.clone()),
            _ => {}
        }
        let absorbed = match self.machine.step(&self.instance, input.clone(), at) {
            Ok(outcome) => {
                self.instance = outcome.instance.clone();
                let unrendered = outcome.unrendered.iter();
                self.failures
                    .extend(unrendered.map(|f| format!("{f} (sent with the failure marked)")));
                self.follow_outcome(&outcome);
                Absorbed::Stepped(Box::new(outcome))
            }
            Err(error) => {
                if matches!(input, Input::Gates { .. }) {
                    // A run that cannot take its gates' results waits for them no longer.
                    self.instance = self.machine.abandon_pending(&self.instance);
                }
                self.failures.push(error.to_string());
                let notice = self.machine.failure_notice(&self.instance, &error, at);
                let notice = notice.map(|(instance, notice)| {
                    self.instance = instance;
                    self.unwritten.push(notice.clone());
                    notice
                });
                Absorbed::Failed(error, notice)
            }
        };
        self.last_outcome = Some(summary(&absorbed, &self.instance.state));
        absorbed
    }

    /// What the input before did, as recorded: a replay that comes to another is reported.
    fn outcome(&mut self, recorded: &store::Outcome) {
        if self.last_outcome.as_ref() != Some(recorded) {
            // The protocol is the run's own copy, so only a bug gets here.
            self.failures.push(format!(
                "replaying the journal gave another outcome than it records: {:?} \
                 instead of {recorded:?}",
                self.last_outcome
            ));
        }
    }

    /// A message's file was written.
    fn message(&mut self, message: &MessageEntry) {
        self.unwritten.retain(|m| m.seq != message.seq);
        self.messages.push(message.clone());
    }

    /// The job was started.
    fn launched(&mut self, launch: Launch) {
        self.last_at = launch.at;
        self.launches = launch.n;
        self.done(Action::Launch);
        self.job = Some(launch);
    }

    /// The job could not be started.
    fn launch_failed(&mut self, at: DateTime<Utc>, n: u32) {
        self.last_at = at;
        self.launches = n;
        self.done(Action::Launch);
    }

    /// A stop was carried out.
    fn stopped(&mut self, at: DateTime<Utc>) {
        self.last_at = at;
        if let Some(job) = &mut self.job {
            job.ended = true;
        }
        // The job's runtime stops here, in the same entry that says so: the machine takes it
        // as an input, live and in every replay alike. It is not an event and cannot fail but
        // while gates are checked, when the stop waits with everything else.
        if let Ok(outcome) = self
            .machine
            .step(&self.instance, crate::machine::Input::Stopped, at)
        {
            self.instance = outcome.instance;
        }
        self.done(Action::Stop);
    }

    /// The logs the run follows: the job's own (where its output goes), then the protocol's
    /// `follow` files, with relative paths taken from the run's working directory.
    pub fn log_paths(&self) -> Result<Vec<PathBuf>, RunError> {
        let plan = self.machine.job_plan(&self.instance, self.started.at)?;
        let cwd = &self.started.cwd;
        let log = match &plan.log {
            Some(log) => cwd.join(log),
            None => self.run.job_log(),
        };
        Ok(std::iter::once(log)
            .chain(plan.follow.iter().map(|f| cwd.join(f)))
            .collect())
    }

    /// Whether the job of the last launch may still be running: launched, and its end not in
    /// the journal.
    pub fn job_running(&self) -> Option<&Launch> {
        self.job.as_ref().filter(|job| !job.ended)
    }

    /// Whether the run is over: in a final state with every job effect carried out.
    pub fn finished(&self) -> bool {
        self.instance.finished(&self.machine) && self.actions.is_empty()
    }

    fn follow_outcome(&mut self, outcome: &Outcome) {
        self.unwritten.extend(outcome.messages().cloned());
        for effect in outcome.effects() {
            match effect {
                Effect::Launch => self.actions.push_back(Action::Launch),
                Effect::Stop => self.actions.push_back(Action::Stop),
                Effect::Restart => {
                    self.actions.push_back(Action::Stop);
                    self.actions.push_back(Action::Launch);
                }
            }
        }
    }

    /// An action was carried out: the first one of its kind still to do.
    fn done(&mut self, action: Action) {
        if let Some(index) = self.actions.iter().position(|a| *a == action) {
            self.actions.remove(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::classify::LogLine;
    use crate::protocol;

    const PROTOCOL: &str = "protocol: p
roles: { op: {} }
channels: [{ from: op, to: op }]
events: { again: { from: [op] } }
states:
  start: { initial: true }
  watch: {}
  done: { final: true }
transitions:
  - { from: start, to: watch, do: [launch] }
  - { from: watch, on: again, do: [restart], send: [{ from: op, to: op, text: again }] }
  - { from: watch, on: exited, to: done }
";

    fn at(seconds: i64) -> DateTime<Utc> {
        "2026-01-19T12:00:00Z".parse::<DateTime<Utc>>().unwrap()
            + chrono::TimeDelta::seconds(seconds)
    }

    fn started() -> Started {
        Started {
            at: at(0),
            protocol: "p.yaml".into(),
            vars: BTreeMap::new(),
            cwd: "/".into(),
            fresh: false,
            command: None,
            on_message: None,
        }
    }

    fn begin() -> RunState {
        let protocol = protocol::parse(Path::new("p.yaml"), PROTOCOL.as_bytes()).unwrap();
        let machine = Machine::new(protocol, &BTreeMap::new()).unwrap();
        let started = started();
        RunState::begin(RunDir::new(Path::new("/runs"), "r"), machine, started)
            .unwrap()
            .0
    }

    fn input(seconds: i64, input: Input) -> Entry {
        Entry::Input {
            at: at(seconds),
            input: Box::new(input),
            line: None,
            request: None,
        }
    }

    fn identity(pid: u32) -> super::super::job::Identity {
        super::super::job::Identity { pid, start_time: 7 }
    }

    fn launched(n: u32, seconds: i64) -> Entry {
        Entry::Launched {
            at: at(seconds),
            n,
            job: identity(100 + n),
            waiter: identity(200 + n),
            command: vec!["train".into()],
            resumed: n > 1,
            slurm_job: None,
        }
    }

    #[test]
    fn a_journal_written_before_slurm_replays_and_a_slurm_launch_keeps_its_job_id() {
        // As a version without the Slurm launcher wrote them: no `slurm_job`, no `slurm_state`.
        let old = r#"{"entry":"job","at":"2026-01-01T00:00:00Z","n":1,"job":{"pid":101,"start_time":5},"waiter":{"pid":100,"start_time":4},"command":["train"],"resumed":false}"#;
        let Entry::Launched { slurm_job, .. } = serde_json::from_str(old).unwrap() else {
            panic!("not a launch");
        };
        assert_eq!(slurm_job, None);
        let exited = r#"{"input":"exited","exit_code":0,"signal":null}"#;
        let input: Input = serde_json::from_str(exited).unwrap();
        assert!(matches!(
            input,
            Input::Exited {
                slurm_state: None,
                ..
            }
        ));
        let mut state = begin();
        let mut launch = launched(1, 10);
        if let Entry::Launched { slurm_job, .. } = &mut launch {
            *slurm_job = Some(4242);
        }
        state.absorb(&launch).unwrap();
        assert_eq!(state.job_running().and_then(|j| j.slurm_job), Some(4242));
    }

    #[test]
    fn a_stop_entry_ends_the_jobs_runtime_where_it_was_written() {
        let mut state = begin();
        state.absorb(&launched(1, 0)).unwrap();
        let launched_input = Input::Launched {
            pid: 101,
            resumed: false,
            command: None,
            slurm_job: None,
        };
        state.absorb(&input(0, launched_input)).unwrap();
        state
            .absorb(&Entry::Stopped {
                at: at(60),
                exit_code: None,
                signal: Some(15),
                escaped: Vec::new(),
            })
            .unwrap();
        let job = &state.instance().job;
        assert_eq!(job.ended_at, Some(at(60)));
        assert_eq!(job.runtime(at(600)), std::time::Duration::from_secs(60));
    }

    #[test]
    fn effects_wait_until_their_entries_say_they_were_carried_out() {
        let mut state = begin();
        assert_eq!(state.instance().state, "watch");
        assert_eq!(state.actions().collect::<Vec<_>>(), [Action::Launch]);
        state.absorb(&launched(1, 1)).unwrap();
        assert_eq!(state.next_action(), None);
        assert_eq!(state.launches(), 1);
        assert_eq!(state.job_running().map(|j| j.job.pid), Some(101));

        let send = Input::Send {
            event: "again".into(),
            sender: "op".into(),
            fields: BTreeMap::new(),
        };
        let absorbed = state
            .absorb(&Entry::Input {
                at: at(2),
                input: Box::new(send),
                line: None,
                request: Some("req-1".into()),
            })
            .unwrap();
        assert!(matches!(absorbed, Absorbed::Stepped(_)));
        assert!(state.took_request("req-1") && !state.took_request("req-2"));
        // restart is a stop, then a launch.
        assert_eq!(
            state.actions().collect::<Vec<_>>(),
            [Action::Stop, Action::Launch]
        );
        state
            .absorb(&Entry::Stopped {
                at: at(3),
                exit_code: None,
                signal: Some(15),
                escaped: Vec::new(),
            })
            .unwrap();
        assert!(
            state.job_running().is_none(),
            "a stopped job is not running"
        );
        state.absorb(&launched(2, 4)).unwrap();
        assert_eq!(state.next_action(), None);
        assert!(state.job().is_some_and(|j| j.resumed && !j.ended));
        assert_eq!(state.last_at(), at(4));
    }

    #[test]
    fn messages_stay_unwritten_until_their_entry_and_logs_resume_where_they_were_read() {
        let mut state = begin();
        state.absorb(&launched(1, 1)).unwrap();
        state
            .absorb(&input(
                2,
                Input::Send {
                    event: "again".into(),
                    sender: "op".into(),
                    fields: BTreeMap::new(),
                },
            ))
            .unwrap();
        let unwritten = state.take_unwritten();
        assert_eq!(unwritten.len(), 1);
        let entry = MessageEntry {
            seq: unwritten[0].seq,
            at: at(2),
            from: "op".into(),
            to: vec!["op".into()],
            template: None,
            file: "messages/0001-op-to-op-text.md".into(),
        };
        state.absorb(&Entry::Message(entry.clone())).unwrap();
        assert_eq!(state.messages(), [entry]);

        state
            .absorb(&Entry::Offset {
                source: 1,
                offset: 4096,
                lines: 80,
            })
            .unwrap();
        assert_eq!(state.offset(1), (4096, 80));
        assert_eq!(state.offset(0), (0, 0));
        let incident_at = Entry::Input {
            at: at(3),
            input: Box::new(Input::Tick),
            line: Some(LogLine {
                source: 0,
                line: 42,
            }),
            request: None,
        };
        state.absorb(&incident_at).unwrap();
        assert_eq!(state.read_through(0), 42);
    }

    #[test]
    fn a_replay_that_disagrees_with_the_recorded_outcome_is_reported() {
        let mut state = begin();
        state.absorb(&launched(1, 1)).unwrap();
        let exited = input(
            2,
            Input::Exited {
                exit_code: Some(0),
                signal: None,
                slurm_state: None,
            },
        );
        state.absorb(&exited).unwrap();
        assert!(state.job().is_some_and(|j| j.ended));
        let recorded = state.last_outcome().cloned().unwrap();
        assert_eq!(recorded.taken, ["watch -> done"]);
        state.absorb(&Entry::Outcome(Box::new(recorded))).unwrap();
        assert_eq!(state.failures(), Vec::<String>::new());
        let wrong = journal_outcome("watch");
        state.absorb(&Entry::Outcome(Box::new(wrong))).unwrap();
        assert_eq!(state.failures().len(), 1, "{:?}", state.failures());
        assert!(state.finished());
        state
            .absorb(&Entry::Ended {
                at: at(5),
                state: "done".into(),
            })
            .unwrap();
        assert_eq!(state.ended(), Some((at(5), "done")));
        assert!(state
            .absorb(&Entry::Started(Box::new(state.started().clone())))
            .is_err());
    }

    fn journal_outcome(state: &str) -> store::Outcome {
        store::Outcome {
            state: state.into(),
            ..Default::default()
        }
    }

    #[test]
    fn metric_rules_read_the_vars_the_run_started_with() {
        let text = PROTOCOL.replace(
            "states:",
            "vars: { limit: { type: number, default: 2 } }\nstates:",
        );
        let text = text.replace("do: [restart], send", "set: { limit: \"limit + 1\" }, send");
        let protocol = protocol::parse(Path::new("p.yaml"), text.as_bytes()).unwrap();
        let machine = Machine::new(protocol, &BTreeMap::new()).unwrap();
        let started = started();
        let (mut state, _) =
            RunState::begin(RunDir::new(Path::new("/runs"), "r"), machine, started).unwrap();
        let send = Input::Send {
            event: "again".into(),
            sender: "op".into(),
            fields: BTreeMap::new(),
        };
        state.absorb(&input(1, send)).unwrap();
        let limit = |vars: &BTreeMap<String, minijinja::Value>| vars["limit"].to_string();
        assert_eq!(limit(&state.instance().vars), "3.0");
        assert_eq!(limit(state.start_vars()), "2.0");
    }
}
