//! The supervisor: one loop that follows the job's logs, the job's end, the roles' events and
//! the timers, feeds them to the machine, and carries out what the machine asks.
//!
//! Every input is appended to the journal (and synced) before the machine takes it, through
//! [`RunState::absorb`], so the supervisor's state is always the journal's replay. The loop
//! polls every few milliseconds: reading a file that has not grown costs one system call, and a
//! poll keeps following a log across truncation and rotation simple and exact. An error line is
//! classified as soon as it is read; an incident still collecting context is reported once the
//! log has been quiet for [`Options::idle_flush`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

use super::job::{group_exists, signal_group};
use super::snapshot::Snapshot;
use super::state::{Absorbed, Action, RunState};
use super::store::{Entry, LogLine, RunDir, Started, Store};
use super::tail::{Event, Tail, CHUNK};
use super::waiter::{Exit, LaunchSpec};
use super::{io_error, write_atomic, RunError};
use crate::classify::{Fed, Feed, Incident};
use crate::machine::{Input, Message, Outcome, Taken};

/// How the supervisor works.
#[derive(Debug, Clone)]
pub struct Options {
    /// How to start a waiter: a program and its first arguments; the run's directory and the
    /// launch number follow (`warden __waiter`).
    pub waiter: Vec<String>,
    /// How long the loop sleeps when nothing happened.
    pub poll: Duration,
    /// How long a log must be quiet before an incident still collecting its `after` lines is
    /// reported with the lines it has.
    pub idle_flush: Duration,
    /// How often the metrics and log offsets read are written down when nothing else is.
    pub checkpoint_every: Duration,
    /// Set (by a signal handler, say) to make the supervisor stop at its next turn, leaving the
    /// job running for `warden run --resume`.
    pub interrupt: Option<&'static std::sync::atomic::AtomicBool>,
}

/// How supervising ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// The run reached this final state.
    Ended(String),
    /// The supervisor was interrupted; the run goes on without it, its job included.
    Interrupted {
        /// The job still running, if one is.
        job: Option<u32>,
    },
}

impl Options {
    /// The defaults, with `waiter` as the waiter's command.
    pub fn new(waiter: Vec<String>) -> Options {
        Options {
            waiter,
            poll: Duration::from_millis(10),
            idle_flush: Duration::from_millis(30),
            checkpoint_every: Duration::from_secs(10),
            interrupt: None,
        }
    }
}

/// Something the supervisor did or saw, for whoever shows the run.
#[derive(Debug)]
pub enum Notice<'a> {
    /// A line of the job's log.
    Line(&'a str),
    /// The job started.
    Launched {
        /// Its PID.
        pid: u32,
        /// The command.
        command: &'a [String],
        /// Whether it resumed from the checkpoint.
        resumed: bool,
    },
    /// A job still running was found again after the supervisor's restart.
    Adopted {
        /// Its PID.
        pid: u32,
    },
    /// The job could not be started.
    LaunchFailed(&'a str),
    /// The job ended by itself.
    Exited {
        /// Its exit code.
        exit_code: Option<i32>,
        /// The signal that ended it.
        signal: Option<i32>,
    },
    /// A signal was sent to the job's process group.
    Signalled {
        /// The group.
        pid: u32,
        /// Which signal.
        signal: Signal,
    },
    /// The job was stopped.
    Stopped,
    /// An incident was found.
    Incident(&'a Incident),
    /// A transition was taken.
    Taken(&'a Taken),
    /// A message was written.
    Message {
        /// The message.
        message: &'a Message,
        /// Its file.
        path: &'a Path,
    },
    /// An event was ignored: no transition of the current state took it.
    Ignored {
        /// The event.
        event: &'a str,
        /// The state.
        state: &'a str,
    },
    /// A role's event was refused.
    Refused(&'a str),
    /// The machine failed on an input.
    Failed(&'a str),
    /// Something went wrong that the run survives.
    Warning(String),
    /// The run ended in this final state.
    Ended(&'a str),
}

/// Whoever shows a run as it goes: a terminal, a log, a test.
pub trait Observer {
    /// Something happened.
    fn notice(&mut self, notice: Notice<'_>);
    /// Nothing happened for a second; the run as it is now (for a status line).
    fn idle(&mut self, _state: &RunState) {}
    /// Whether it shows the job's log lines ([`Notice::Line`]); they are not made text for it
    /// otherwise.
    fn wants_lines(&self) -> bool {
        false
    }
}

/// An observer that shows nothing.
pub struct Quiet;

impl Observer for Quiet {
    fn notice(&mut self, _notice: Notice<'_>) {}
}

/// An event a role sends, as `warden send` leaves it in the run's `requests/` folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The event.
    pub event: String,
    /// The sending role.
    pub sender: String,
    /// Its fields.
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// What the supervisor did with a request, written beside it as `<id>.reply.json`: the
/// outcome the journal records for it, the state it was taken in, and the files of the messages
/// it caused.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reply {
    /// The state before.
    pub from: String,
    /// What the event did (`state` is the state after).
    #[serde(flatten)]
    pub outcome: super::store::Outcome,
    /// The messages it caused, as files relative to the run's directory.
    pub files: Vec<String>,
}

/// One log followed: the job's (source 0) or a `follow` file. What is read of it goes to the
/// run's [`Feed`].
struct Source {
    path: PathBuf,
    tail: Tail,
    last_data: Instant,
    /// The offset and line count last written down.
    recorded: (u64, u64),
}

/// A stop in progress.
struct Stopping {
    deadline: Instant,
    killed: bool,
}

/// The supervisor of one run.
pub struct Supervisor<'o> {
    store: Store,
    state: RunState,
    sources: Vec<Source>,
    /// The logs' lines, classified, as inputs.
    feed: Feed,
    options: Options,
    observer: &'o mut dyn Observer,
    /// The waiter of the current launch, when this supervisor started it (to reap it).
    waiter: Option<Child>,
    /// How the current job ended, once its waiter said so and before the journal has it.
    exit: Option<Exit>,
    stopping: Option<Stopping>,
    hooks: Vec<Child>,
    last_checkpoint: Instant,
    last_idle: Instant,
    last_waiter_check: Instant,
    /// Whether the current quiet spell was reported as `silence`.
    silence_reported: bool,
    /// The deadline the last tick was for.
    ticked: Option<DateTime<Utc>>,
}

impl<'o> Supervisor<'o> {
    /// Creates run `id` under `root`: checks the vars by starting the machine, then writes the
    /// snapshot and the journal's first entry. The logs are followed from their current end.
    pub fn create(
        root: &Path,
        id: &str,
        snapshot: &Snapshot,
        started: Started,
        options: Options,
        observer: &'o mut dyn Observer,
    ) -> Result<Supervisor<'o>, RunError> {
        let machine = snapshot.compile()?;
        // Bad vars are refused before anything is written.
        machine.start(id, &started.vars, started.at)?;
        let mut store = Store::create(root, id)?;
        snapshot.write(store.run())?;
        store.append(&Entry::Started(Box::new(started.clone())))?;
        let (mut state, outcome) = RunState::begin(store.run().clone(), machine, started)?;
        // The logs are read from their current end, as a resumed supervisor reads them from
        // its recorded offset: the same entry says so for both.
        let offsets: Vec<Entry> = state
            .log_paths()?
            .iter()
            .enumerate()
            .map(|(source, path)| Entry::Offset {
                source,
                offset: std::fs::metadata(path).map_or(0, |m| m.len()),
                lines: 0,
            })
            .collect();
        store.append_all(&offsets)?;
        for entry in &offsets {
            state.absorb(entry)?;
        }
        let mut supervisor = Supervisor::assemble(store, state, options, observer)?;
        supervisor.report(&outcome);
        supervisor.write_messages()?;
        Ok(supervisor)
    }

    /// Takes over run `id` under `root` after its supervisor ended: replays the journal,
    /// re-adopts the job if it still runs (its PID and start time verified), and reads the logs
    /// on from where they were read.
    pub fn resume(
        root: &Path,
        id: &str,
        options: Options,
        observer: &'o mut dyn Observer,
    ) -> Result<Supervisor<'o>, RunError> {
        let store = Store::open(root, id)?;
        let state = RunState::replay(store.run())?;
        if let Some((_, final_state)) = &state.ended {
            return Err(RunError::Refused(format!(
                "run `{id}` has ended, in state `{final_state}`"
            )));
        }
        let mut supervisor = Supervisor::assemble(store, state, options, observer)?;
        supervisor.write_messages()?;
        supervisor.adopt();
        Ok(supervisor)
    }

    fn assemble(
        store: Store,
        state: RunState,
        options: Options,
        observer: &'o mut dyn Observer,
    ) -> Result<Supervisor<'o>, RunError> {
        let paths = state.log_paths()?;
        let mut feed = Feed::new(state.machine.protocol(), paths.len())
            .map_err(|e| RunError::Protocol(e.to_string()))?;
        let mut sources = Vec::new();
        for (index, path) in paths.into_iter().enumerate() {
            let (offset, lines) = state.offsets.get(&index).copied().unwrap_or((0, 0));
            let skip_through = state.read_lines.get(&index).copied().unwrap_or(0);
            feed.resume(index, lines, skip_through);
            sources.push(Source {
                tail: Tail::new(&path, offset),
                path,
                last_data: Instant::now(),
                recorded: (offset, lines),
            });
        }
        let now = Instant::now();
        Ok(Supervisor {
            store,
            state,
            sources,
            feed,
            options,
            observer,
            waiter: None,
            exit: None,
            stopping: None,
            hooks: Vec::new(),
            last_checkpoint: now,
            last_idle: now,
            last_waiter_check: now,
            silence_reported: false,
            ticked: None,
        })
    }

    /// The run's files.
    pub fn run_dir(&self) -> &RunDir {
        self.store.run()
    }

    /// Supervises the run until it ends, or until it is interrupted.
    pub fn run(mut self) -> Result<Finish, RunError> {
        use std::sync::atomic::Ordering;
        loop {
            let busy = self.turn()?;
            if self.state.finished() && self.stopping.is_none() {
                return self.end().map(Finish::Ended);
            }
            if self
                .options
                .interrupt
                .is_some_and(|flag| flag.load(Ordering::Relaxed))
            {
                // What was read is written down; the rest is read again by the next supervisor.
                self.checkpoint()?;
                let job = self.state.job_running().map(|job| job.job.pid);
                return Ok(Finish::Interrupted { job });
            }
            if self.last_idle.elapsed() >= Duration::from_secs(1) {
                self.last_idle = Instant::now();
                self.observer.idle(&self.state);
            }
            if !busy {
                let mut pause = self.options.poll;
                if let Some(due) = self.state.machine.next_deadline(&self.state.instance) {
                    if let Ok(until) = (due - Utc::now()).to_std() {
                        pause = pause.min(until);
                    }
                }
                std::thread::sleep(pause);
            }
        }
    }

    /// One turn of the loop. Returns whether there was something to do.
    fn turn(&mut self) -> Result<bool, RunError> {
        let mut busy = self.read_logs()?;
        self.watch_job()?;
        self.carry_out()?;
        busy |= self.take_requests()?;
        if let Some(due) = self.state.machine.next_deadline(&self.state.instance) {
            // Once per deadline: a tick the machine fails on (a guard erring at run time)
            // leaves the instance, and so the due timer, as it was; it is not retried each turn.
            if Utc::now() >= due && self.ticked != Some(due) {
                self.ticked = Some(due);
                self.apply(Input::Tick, None, None)?;
            }
        }
        self.flush_quiet_logs()?;
        self.watch_silence()?;
        if self.last_checkpoint.elapsed() >= self.options.checkpoint_every {
            self.checkpoint()?;
        }
        self.hooks
            .retain_mut(|child| matches!(child.try_wait(), Ok(None)));
        Ok(busy)
    }

    fn end(mut self) -> Result<String, RunError> {
        self.checkpoint()?;
        let state = self.state.instance.state.clone();
        self.record(Entry::Ended {
            at: Utc::now(),
            state: state.clone(),
        })?;
        self.observer.notice(Notice::Ended(&state));
        if let Some(job) = self.state.job_running() {
            if group_exists(job.job) {
                let warning = format!(
                    "the run ended with its job still running (pid {}); the protocol did not stop it",
                    job.job.pid
                );
                self.observer.notice(Notice::Warning(warning));
            }
        }
        Ok(state)
    }

    /// Appends `entry` to the journal and takes it into account.
    fn record(&mut self, entry: Entry) -> Result<Absorbed, RunError> {
        self.store.append(&entry)?;
        self.state.absorb(&entry)
    }

    /// Journals `input`, steps the machine with it, and writes the messages it rendered.
    fn apply(
        &mut self,
        input: Input,
        line: Option<LogLine>,
        request: Option<String>,
    ) -> Result<Absorbed, RunError> {
        // Guards and messages see the metrics and last line as of this input.
        self.write_facts()?;
        self.journal(input, line, request)
    }

    /// Journals `input`, steps the machine with it, and writes the messages it rendered.
    fn journal(
        &mut self,
        input: Input,
        line: Option<LogLine>,
        request: Option<String>,
    ) -> Result<Absorbed, RunError> {
        // The machine is pure: its outcome is known before anything is written, and the input
        // and outcome go to disk together, before any of it is acted on.
        let entry = Entry::Input {
            at: Utc::now(),
            input: Box::new(input),
            line,
            request,
        };
        let absorbed = self.state.absorb(&entry)?;
        let outcome = Entry::Outcome(Box::new(super::state::summary(
            &absorbed,
            &self.state.instance.state,
        )));
        self.store.append_all(&[entry, outcome.clone()])?;
        self.state.absorb(&outcome)?;
        match &absorbed {
            Absorbed::Stepped(outcome) => self.report(outcome),
            Absorbed::Failed(error) => self.observer.notice(Notice::Failed(&error.to_string())),
            Absorbed::Recorded => {}
        }
        self.write_messages()?;
        Ok(absorbed)
    }

    fn report(&mut self, outcome: &Outcome) {
        for taken in &outcome.transitions {
            self.observer.notice(Notice::Taken(taken));
        }
        for event in &outcome.ignored {
            let state = outcome.instance.state.as_str();
            self.observer.notice(Notice::Ignored { event, state });
        }
        if let Some(reason) = &outcome.refused {
            self.observer.notice(Notice::Refused(reason));
        }
    }

    /// Writes the messages rendered and not yet written, and runs the `--on-message` hook.
    fn write_messages(&mut self) -> Result<(), RunError> {
        let messages = std::mem::take(&mut self.state.unwritten);
        for message in messages {
            let entry = self.store.write_message(&message)?;
            let Entry::Message { file, .. } = &entry else {
                unreachable!("write_message journals a message")
            };
            let path = self.store.run().dir.join(file);
            self.state.absorb(&entry)?;
            self.observer.notice(Notice::Message {
                message: &message,
                path: &path,
            });
            if let Some(command) = self.state.started.on_message.clone() {
                self.hook(&command, &message, &path);
            }
        }
        Ok(())
    }

    fn hook(&mut self, command: &str, message: &Message, path: &Path) {
        for role in &message.to {
            let spawned = Command::new("sh")
                .arg("-c")
                .arg(command)
                .env("WARDEN_RUN", &self.store.run().id)
                .env("WARDEN_RUN_DIR", &self.store.run().dir)
                .env("WARDEN_ROLE", role)
                .env("WARDEN_FROM", &message.from)
                .env("WARDEN_SEQ", message.seq.to_string())
                .env("WARDEN_TEMPLATE", message.template.as_deref().unwrap_or(""))
                .env("WARDEN_MESSAGE", path)
                .current_dir(&self.state.started.cwd)
                .stdin(Stdio::null())
                .spawn();
            match spawned {
                Ok(child) => self.hooks.push(child),
                Err(error) => self.observer.notice(Notice::Warning(format!(
                    "cannot run the --on-message command: {error}"
                ))),
            }
        }
    }

    /// Reads what the logs gained, classifies it, and takes the incidents found.
    fn read_logs(&mut self) -> Result<bool, RunError> {
        let mut busy = false;
        let mut chunk = Vec::with_capacity(CHUNK);
        for index in 0..self.sources.len() {
            let mut fed = Vec::new();
            // A bounded amount per turn, so a flood of output does not starve the rest.
            for _ in 0..16 {
                chunk.clear();
                let source = &mut self.sources[index];
                let (event, read) = match source.tail.read(&mut chunk) {
                    Ok(read) => read,
                    Err(error) => {
                        let warning = format!("cannot read {}: {error}", source.path.display());
                        self.observer.notice(Notice::Warning(warning));
                        break;
                    }
                };
                if read == 0 {
                    break;
                }
                busy = true;
                self.silence_reported = false;
                let at = Utc::now();
                source.last_data = Instant::now();
                let observer = &mut *self.observer;
                let echoes = observer.wants_lines();
                let mut echo = |line: &str| observer.notice(Notice::Line(line));
                if event != Event::Grew {
                    let echo = echoes.then_some(&mut echo as &mut dyn FnMut(&str));
                    self.feed.file_changed(index, at, &mut fed, echo);
                }
                let echo = echoes.then_some(&mut echo as &mut dyn FnMut(&str));
                self.feed.read(index, &chunk, at, &mut fed, echo);
            }
            self.take_fed(fed)?;
        }
        Ok(busy)
    }

    /// The `silence` event: a running job that wrote nothing for the var `silence`. Once per
    /// quiet spell.
    fn watch_silence(&mut self) -> Result<(), RunError> {
        let Some(limit) = self.state.machine.silence(&self.state.instance) else {
            return Ok(());
        };
        let quiet = self.sources.iter().map(|s| s.last_data.elapsed()).min();
        let running = self.state.job_running().is_some() && self.exit.is_none();
        if running && !self.silence_reported && quiet.is_some_and(|q| q >= limit) {
            self.silence_reported = true;
            self.apply(Input::Silence, None, None)?;
        }
        Ok(())
    }

    /// Reports the incidents of a log that has been quiet a while.
    fn flush_quiet_logs(&mut self) -> Result<(), RunError> {
        for index in 0..self.sources.len() {
            let quiet = self.sources[index].last_data.elapsed() >= self.options.idle_flush;
            if self.feed.is_idle(index) || !quiet {
                continue;
            }
            let mut fed = Vec::new();
            self.feed.quiet(index, Utc::now(), &mut fed);
            self.take_fed(fed)?;
        }
        Ok(())
    }

    /// Reads the logs to their end and reports everything waiting: the job has ended.
    fn drain_logs(&mut self) -> Result<(), RunError> {
        while self.read_logs()? {}
        for index in 0..self.sources.len() {
            let mut fed = Vec::new();
            let observer = &mut *self.observer;
            let echoes = observer.wants_lines();
            let mut echo = |line: &str| observer.notice(Notice::Line(line));
            let echo = echoes.then_some(&mut echo as &mut dyn FnMut(&str));
            self.feed.end(index, Utc::now(), &mut fed, echo);
            self.take_fed(fed)?;
        }
        Ok(())
    }

    /// Journals what the feed gave, in order.
    fn take_fed(&mut self, fed: Vec<Fed>) -> Result<(), RunError> {
        for Fed { input, line } in fed {
            if let Input::Incident(incident) = &input {
                self.observer.notice(Notice::Incident(incident));
            }
            self.journal(input, line, None)?;
        }
        Ok(())
    }

    /// Writes down the metrics, last line and repeat count read since the last input.
    fn write_facts(&mut self) -> Result<(), RunError> {
        let mut fed = Vec::new();
        self.feed.facts(&mut fed);
        self.take_fed(fed)
    }

    /// Writes down the facts read and, for each log at rest, how far it was read.
    fn checkpoint(&mut self) -> Result<(), RunError> {
        self.last_checkpoint = Instant::now();
        self.write_facts()?;
        for source in 0..self.sources.len() {
            let s = &self.sources[source];
            let now = (s.tail.offset(), self.feed.lines_read(source));
            if self.feed.at_rest(source) && now != s.recorded {
                self.record(Entry::Offset {
                    source,
                    offset: now.0,
                    lines: now.1,
                })?;
                self.sources[source].recorded = now;
            }
        }
        Ok(())
    }

    /// After a restart of the supervisor: finds the job of the last launch again.
    fn adopt(&mut self) {
        let Some(job) = self.state.job_running().cloned() else {
            return;
        };
        let files = self.store.run().launch(job.n);
        if let Some(exit) = files.read_exit() {
            // It ended while no supervisor ran; its waiter wrote down how.
            self.exit = Some(exit);
        } else if job.job.is_current() {
            self.observer.notice(Notice::Adopted { pid: job.job.pid });
        } else {
            self.exit = Some(lost_exit(&job.job));
            self.observer.notice(Notice::Warning(format!(
                "process {} is not the job any more and its waiter recorded no exit; \
                 the job is taken as ended with its status unknown",
                job.job.pid
            )));
        }
    }

    /// Learns of the job's end from its waiter; an end Warden did not cause is an `exited`.
    fn watch_job(&mut self) -> Result<(), RunError> {
        if let Some(waiter) = &mut self.waiter {
            if matches!(waiter.try_wait(), Ok(Some(_))) {
                self.waiter = None;
            }
        }
        let Some(job) = self.state.job_running().cloned() else {
            return Ok(());
        };
        if self.exit.is_none() {
            let files = self.store.run().launch(job.n);
            self.exit = files.read_exit();
            if self.exit.is_none() && self.last_waiter_check.elapsed() >= Duration::from_secs(1) {
                self.last_waiter_check = Instant::now();
                if !job.waiter.is_current() {
                    // The waiter may have written the exit just before it ended.
                    self.exit = Some(files.read_exit().unwrap_or_else(|| lost_exit(&job.job)));
                }
            }
        }
        let stop_under_way =
            self.stopping.is_some() || self.state.actions.front() == Some(&Action::Stop);
        if self.exit.is_none() || stop_under_way {
            return Ok(());
        }
        // What the job wrote last comes before its end: the traceback it died with is an
        // incident first, then the exit.
        self.drain_logs()?;
        if group_exists(job.job) {
            // Workers left behind by their leader die with it.
            self.signal(&job.job, Signal::SIGKILL);
        }
        let exit = self.exit.take().expect("checked above");
        if let Some(error) = &exit.error {
            self.observer.notice(Notice::Warning(error.clone()));
        }
        self.observer.notice(Notice::Exited {
            exit_code: exit.exit_code,
            signal: exit.signal,
        });
        self.apply(
            Input::Exited {
                exit_code: exit.exit_code,
                signal: exit.signal,
            },
            None,
            None,
        )?;
        Ok(())
    }

    fn signal(&mut self, job: &super::job::Identity, signal: Signal) {
        match signal_group(*job, signal) {
            Ok(()) => self.observer.notice(Notice::Signalled {
                pid: job.pid,
                signal,
            }),
            Err(error) => self.observer.notice(Notice::Warning(error.to_string())),
        }
    }

    /// Carries out the next job effect, or goes on with a stop under way.
    fn carry_out(&mut self) -> Result<(), RunError> {
        match self.state.actions.front() {
            None => Ok(()),
            Some(Action::Launch) => self.launch(),
            Some(Action::Stop) => self.stop(),
        }
    }

    fn stop(&mut self) -> Result<(), RunError> {
        let Some(job) = self.state.job_running().cloned() else {
            // Nothing runs: the stop is done at once.
            self.stopping = None;
            return self
                .record(Entry::Stopped {
                    at: Utc::now(),
                    exit_code: None,
                    signal: None,
                })
                .map(drop);
        };
        if self.exit.is_none() {
            self.exit = self.store.run().launch(job.n).read_exit();
        }
        match &mut self.stopping {
            None => {
                let grace = self.grace();
                self.stopping = Some(Stopping {
                    deadline: Instant::now() + grace,
                    killed: false,
                });
                if group_exists(job.job) {
                    self.signal(&job.job, Signal::SIGTERM);
                }
            }
            Some(stopping) => {
                if self.exit.is_some() && !group_exists(job.job) {
                    self.stopping = None;
                    self.drain_logs()?;
                    let exit = self.exit.take().expect("checked above");
                    self.record(Entry::Stopped {
                        at: Utc::now(),
                        exit_code: exit.exit_code,
                        signal: exit.signal,
                    })?;
                    self.observer.notice(Notice::Stopped);
                } else if !stopping.killed && Instant::now() >= stopping.deadline {
                    stopping.killed = true;
                    self.signal(&job.job, Signal::SIGKILL);
                } else if stopping.killed
                    && self.exit.is_none()
                    && !job.waiter.is_current()
                    && !group_exists(job.job)
                {
                    self.exit = Some(lost_exit(&job.job));
                }
            }
        }
        Ok(())
    }

    fn grace(&self) -> Duration {
        self.state
            .machine
            .job_plan(&self.state.instance, Utc::now())
            .map(|plan| plan.stop_grace)
            .unwrap_or(crate::machine::DEFAULT_STOP_GRACE)
    }

    /// Starts the job through a waiter, resuming from the checkpoint when it exists.
    fn launch(&mut self) -> Result<(), RunError> {
        let n = self.state.launches + 1;
        match self.spawn(n) {
            Ok((started, command, resumed)) => {
                self.exit = None;
                // A new job's silence counts from its start.
                for source in &mut self.sources {
                    source.last_data = Instant::now();
                }
                self.silence_reported = false;
                self.record(Entry::Job {
                    at: Utc::now(),
                    n,
                    job: started.job,
                    waiter: started.waiter,
                    command: command.clone(),
                    resumed,
                })?;
                self.observer.notice(Notice::Launched {
                    pid: started.job.pid,
                    command: &command,
                    resumed,
                });
                let input = Input::Launched {
                    pid: started.job.pid,
                    resumed,
                    command: Some(command),
                };
                self.apply(input, None, None)?;
            }
            Err(error) => {
                self.record(Entry::LaunchFailed {
                    at: Utc::now(),
                    n,
                    error: error.clone(),
                })?;
                self.observer.notice(Notice::LaunchFailed(&error));
                // As a shell reports a command it cannot run.
                let input = Input::Exited {
                    exit_code: Some(127),
                    signal: None,
                };
                self.apply(input, None, None)?;
            }
        }
        Ok(())
    }

    fn spawn(&mut self, n: u32) -> Result<(super::waiter::Identities, Vec<String>, bool), String> {
        let files = self.store.run().launch(n);
        if let (Some(spec), Some(started)) = (files.read_spec(), files.read_started()) {
            // A supervisor died after starting this launch and before journaling it: the job
            // is this one, not a new one.
            self.observer.notice(Notice::Adopted {
                pid: started.job.pid,
            });
            return Ok((started, spec.command, spec.resumed));
        }
        let started = &self.state.started;
        let plan = self
            .state
            .machine
            .job_plan(&self.state.instance, Utc::now())
            .map_err(|e| e.to_string())?;
        let mut command = started.command.clone().unwrap_or(plan.command);
        if command.is_empty() {
            return Err("the protocol has no `job.command` and none was given after `--`".into());
        }
        let resumed = !started.fresh
            && plan
                .checkpoint
                .as_ref()
                .is_some_and(|c| started.cwd.join(c).exists());
        if resumed {
            command.extend(plan.resume_args);
        }
        let run = self.store.run();
        let spec = LaunchSpec {
            command: command.clone(),
            cwd: started.cwd.clone(),
            log: self.sources[0].path.clone(),
            resumed,
        };
        let json = serde_json::to_vec(&spec).expect("a launch spec serializes");
        write_atomic(&files.spec, &json).map_err(|e| io_error(&files.spec)(e).to_string())?;
        let (program, args) = self
            .options
            .waiter
            .split_first()
            .ok_or("no waiter program")?;
        let mut waiter = Command::new(program)
            .args(args)
            .arg(&run.dir)
            .arg(n.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the waiter `{program}`: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let result = loop {
            if let Some(started) = files.read_started() {
                break Ok((started, command, resumed));
            }
            if let Some(exit) = files.read_exit() {
                break Err(exit.error.unwrap_or_else(|| "the job did not start".into()));
            }
            if let Ok(Some(status)) = waiter.try_wait() {
                // It may have written its files just before it ended.
                if let Some(started) = files.read_started() {
                    break Ok((started, command, resumed));
                }
                break Err(format!(
                    "the waiter ended ({status}) without starting the job"
                ));
            }
            if Instant::now() >= deadline {
                // Our own child, by its handle: never by name.
                let _ = waiter.kill();
                let _ = waiter.wait();
                break Err("the waiter did not start the job within 10s".into());
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        self.waiter = Some(waiter);
        result
    }

    /// Takes the events that `warden send` left, in the order they were sent.
    fn take_requests(&mut self) -> Result<bool, RunError> {
        let dir = self.store.run().requests();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(false);
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| !name.starts_with('.') && !name.ends_with(".reply.json"))
            .filter_map(|name| name.strip_suffix(".json").map(str::to_owned))
            .collect();
        ids.sort();
        for id in &ids {
            let path = dir.join(format!("{id}.json"));
            let reply = if self.state.requests.contains(id) {
                // Taken before the supervisor restarted; only its file was left.
                None
            } else {
                let request = std::fs::read(&path)
                    .map_err(|e| format!("cannot read the request: {e}"))
                    .and_then(|b| {
                        serde_json::from_slice::<Request>(&b)
                            .map_err(|e| format!("not a request: {e}"))
                    });
                Some(match request {
                    Ok(request) => self.take_request(id, request)?,
                    Err(reason) => Reply {
                        from: self.state.instance.state.clone(),
                        outcome: super::store::Outcome {
                            refused: Some(reason),
                            state: self.state.instance.state.clone(),
                            ..Default::default()
                        },
                        files: Vec::new(),
                    },
                })
            };
            if let Some(reply) = reply {
                let answer = dir.join(format!("{id}.reply.json"));
                let json = serde_json::to_vec(&reply).expect("a reply serializes");
                write_atomic(&answer, &json).map_err(io_error(&answer))?;
            }
            std::fs::remove_file(&path).map_err(io_error(&path))?;
        }
        Ok(!ids.is_empty())
    }

    fn take_request(&mut self, id: &str, request: Request) -> Result<Reply, RunError> {
        let from = self.state.instance.state.clone();
        let input = Input::Send {
            event: request.event,
            sender: request.sender,
            fields: request.fields,
        };
        self.apply(input, None, Some(id.to_owned()))?;
        let outcome = self.state.last_outcome.clone().unwrap_or_default();
        let files = self
            .state
            .messages
            .iter()
            .filter(|m| outcome.messages.contains(&m.seq))
            .map(|m| m.file.display().to_string())
            .collect();
        Ok(Reply {
            from,
            outcome,
            files,
        })
    }
}

fn lost_exit(job: &super::job::Identity) -> Exit {
    Exit {
        at: Utc::now(),
        exit_code: None,
        signal: None,
        error: Some(format!(
            "the exit status of job {} was lost: its waiter ended without recording it",
            job.pid
        )),
    }
}
