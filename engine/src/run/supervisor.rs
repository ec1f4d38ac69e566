//! The supervisor: one loop over the run's event sources (the job's logs, the job, the
//! mailbox of role events, the timers and the log's silence), one handler that journals each
//! event and takes it through the machine, and the job effects the machine asks for.
//!
//! Every input is appended to the journal (and synced) before the machine takes it, through
//! [`RunState::absorb`], so the supervisor's state is always the journal's replay. Between turns
//! the loop sleeps in [`Waker::wait`] until a log, the mailbox or the waiter changes (inotify,
//! a pidfd) or its next deadline comes (`Supervisor::next_deadline`: a timer, the quiet that
//! completes an incident, the silence watchdog, the artifacts, the checkpoint), and at least
//! every ten seconds looks at everything (once a second while some source has no event, or a
//! status line is shown); a log on a network file system, where inotify does not see other
//! machines' writes, is read every [`Options::poll`] instead (see [`super::wake`]).
//! A turn reads the logs an event named, and the job's files and the mailbox only when an
//! event says they changed. An error line is classified as soon as it is read; an incident
//! still collecting context is reported once the log has been quiet for
//! [`Options::idle_flush`] (a traceback whose exception line was read last: for
//! [`Options::chain_wait`], since a chained one may follow). The job's lifecycle is
//! `lifecycle.rs`, the mailbox [`super::mailbox`], the `--on-message` hook `hook.rs`, and what
//! the logs say is read by the same [`Feed`] that scenarios replay through.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::hook::Hook;
use super::launcher::Launcher;
use super::lifecycle::JobEvent;
use super::mailbox::{self, Posted, Reply, Request};
pub use super::notice::{Notice, Observer, Quiet};
use super::snapshot::Snapshot;
use super::state::{Absorbed, Action, RunState};
use super::store::{self as journal, Entry, LogLine, RunDir, Started, Store};
use super::tail::{Event, Tail, CHUNK};
use super::waiter::Identities;
use super::wake::{Waker, Woke, EVENTED_TICK, SAFETY_TICK};
use super::RunError;
use crate::classify::{Fed, Feed};
use crate::machine::{Input, Outcome};

/// How the supervisor works.
#[derive(Debug, Clone)]
pub struct Options {
    /// How to start a waiter: a program and its first arguments; the run's directory and the
    /// launch number follow (`warden __waiter`).
    pub waiter: Vec<String>,
    /// How often a log is read where no event says it changed (a network file system, a
    /// folder that does not exist yet), and a stop under way is gone on with.
    pub poll: Duration,
    /// How long a log must be quiet before an incident still collecting its `after` lines is
    /// reported with the lines it has: the lines the job wrote with it.
    pub idle_flush: Duration,
    /// How long a log must be quiet before a traceback whose exception line was read last is
    /// taken as ended, since a chained one may still follow.
    pub chain_wait: Duration,
    /// How often the metrics and log offsets read are written down when nothing else is.
    pub checkpoint_every: Duration,
    /// Set (by a signal handler, say) to make the supervisor stop at its next turn, leaving the
    /// job running for `warden run --resume`.
    pub interrupt: Option<&'static std::sync::atomic::AtomicBool>,
}

/// How supervising ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// The run reached this final state, with the outcome it declares.
    Ended(String, crate::protocol::Outcome),
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
            idle_flush: Duration::from_millis(2),
            chain_wait: Duration::from_millis(15),
            checkpoint_every: Duration::from_secs(10),
            interrupt: None,
        }
    }
}

/// How often the job's artifacts are looked at while it runs (and always when it ends).
const ARTIFACTS_EVERY: Duration = Duration::from_millis(100);

/// How often they are looked at while no job runs, when only a person changes them: a run
/// waiting for a fix then wakes once a second, not ten times.
const ARTIFACTS_IDLE_EVERY: Duration = Duration::from_secs(1);

/// What a source of the loop tells the handler.
enum Happened {
    /// An input read from the logs (with the line an incident was read at).
    Read(Fed),
    /// An input from elsewhere: a timer, the log's silence. The log's facts come first.
    Input(Input),
    /// Something happened to the job.
    Job(JobEvent),
    /// A role's event was left in the mailbox.
    Request(Posted),
}

/// One log followed: the job's (source 0) or a `follow` file. What is read of it goes to the
/// run's [`Feed`].
struct Source {
    path: PathBuf,
    tail: Tail,
    last_data: Instant,
}

/// The supervisor of one run.
pub struct Supervisor<'o> {
    store: Store,
    state: RunState,
    sources: Vec<Source>,
    /// The logs' lines, classified, as inputs.
    feed: Feed,
    job: Launcher,
    hook: Hook,
    options: Options,
    observer: &'o mut dyn Observer,
    last_checkpoint: Instant,
    /// Whether the current quiet spell was reported as `silence`.
    silence_reported: bool,
    /// The deadline the last tick was for.
    ticked: Option<DateTime<Utc>>,
    /// When the job's artifacts were last looked at.
    artifacts_seen: Instant,
    /// While a role's event is taken: the outcome of each input journaled, the event's and
    /// its gates', for the answer.
    answered: Option<Vec<journal::Outcome>>,
    /// Whether the gates a run waits for are being checked.
    checking: bool,
    /// Entries of the mailbox that could be neither removed nor moved aside: warned of once,
    /// then left alone.
    stuck: BTreeSet<String>,
    /// The wait between turns.
    waker: Waker,
    /// How the supervisor wakes, as `warden status` was last told it.
    wake_said: String,
    /// How many times the journal was written: a turn that wrote it is followed by another.
    journaled: u64,
    /// What the current turn looks at.
    woke: Woke,
    /// The buffer the logs are read into.
    chunk: Vec<u8>,
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
        supervisor.check_gates()?;
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
        if let Some((_, final_state)) = state.ended() {
            return Err(RunError::Refused(format!(
                "run `{id}` has ended, in state `{final_state}`"
            )));
        }
        let mut supervisor = Supervisor::assemble(store, state, options, observer)?;
        supervisor.write_messages()?;
        // A supervisor that ended while its gates were checked left them unanswered.
        supervisor.check_gates()?;
        if let Some(job) = supervisor.state.job_running().cloned() {
            // The offset recorded is in the file the job writes to, wherever it is now.
            if let Some(started) = supervisor.store.run().launch(job.n).read_started() {
                supervisor.hold_log(&started);
            }
            let job = &job;
            let mut events = Vec::new();
            supervisor
                .job
                .adopt(supervisor.store.run(), job, &mut events);
            supervisor.handle_job(events)?;
        }
        Ok(supervisor)
    }

    fn assemble(
        store: Store,
        state: RunState,
        options: Options,
        observer: &'o mut dyn Observer,
    ) -> Result<Supervisor<'o>, RunError> {
        let paths = state.log_paths()?;
        let mut feed = Feed::new(state.machine().rules(), state.start_vars(), paths.len());
        feed.set_cadence(state.machine().cadence(state.instance()));
        feed.resume_cadence(state.instance().cadence.spacing.last);
        let waker = Waker::new(&paths, store.run());
        let mut sources = Vec::new();
        for (index, path) in paths.into_iter().enumerate() {
            let (offset, lines) = state.offset(index);
            feed.resume(index, lines, state.read_through(index));
            sources.push(Source {
                tail: Tail::new(&path, offset),
                path,
                last_data: Instant::now(),
            });
        }
        let hook = Hook::new(
            state.started().on_message.clone(),
            state.started().cwd.clone(),
        );
        let plan = state
            .machine()
            .job_plan(state.instance(), state.started().at)?;
        let now = Instant::now();
        Ok(Supervisor {
            store,
            state,
            sources,
            feed,
            job: Launcher::new(options.waiter.clone(), &plan),
            hook,
            options,
            observer,
            last_checkpoint: now,
            silence_reported: false,
            ticked: None,
            artifacts_seen: now,
            answered: None,
            checking: false,
            stuck: BTreeSet::new(),
            waker,
            wake_said: String::new(),
            journaled: 0,
            woke: Woke::all(),
            chunk: Vec::with_capacity(CHUNK + 64),
        })
    }

    /// Tells `warden status` how the supervisor wakes, when that changed: a log's folder that
    /// appeared is watched from then on, a job started has its waiter watched.
    fn say_wake(&mut self) {
        let paths: Vec<PathBuf> = self.sources.iter().map(|s| s.path.clone()).collect();
        let wake = self.waker.describe(&paths, self.options.poll);
        if wake == self.wake_said {
            return;
        }
        match super::write_atomic(&super::wake::wake_file(self.store.run()), wake.as_bytes()) {
            Ok(()) => self.wake_said = wake,
            Err(error) => {
                let warning = format!("cannot write how the supervisor wakes: {error}");
                self.observer.notice(Notice::Warning(warning));
                // Said once: the next change tries again.
                self.wake_said = wake;
            }
        }
    }

    /// The run's files.
    pub fn run_dir(&self) -> &RunDir {
        self.store.run()
    }

    /// Supervises the run until it ends, or until it is interrupted.
    pub fn run(mut self) -> Result<Finish, RunError> {
        use std::sync::atomic::Ordering;
        loop {
            // The look at everything (once a second while a status line is shown): the status
            // line is shown then, so that it costs no wake of its own.
            let looked_at_all = self.woke.all;
            let busy = self.turn()?;
            if self.state.finished() && !self.job.stopping() {
                return self.end();
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
            if looked_at_all || self.wake_said.is_empty() {
                self.say_wake();
                self.observer.idle(&self.state);
            }
            if busy {
                // The logs again, and whatever the turn's inputs asked for; the rest wakes
                // the loop by itself.
                self.woke = Woke {
                    logs: u64::MAX,
                    ..Woke::default()
                };
                continue;
            }
            // A Slurm job has no waiter on this machine: its end is polled for.
            let waiter = self
                .state
                .job_running()
                .filter(|job| job.slurm_job.is_none())
                .map(|job| job.waiter);
            self.waker.watch_waiter(waiter);
            // The look at everything is a safety net while every source has its event; it is
            // what shows the status line, and what reads a log moved where no event tells.
            let evented = self.waker.evented()
                && !self.observer.shows_status()
                && !self.sources.iter().any(|source| source.tail.away());
            self.waker
                .set_tick(if evented { EVENTED_TICK } else { SAFETY_TICK });
            // Nothing is left unsynced while the supervisor sleeps.
            self.store.sync()?;
            let until = self.next_deadline();
            self.woke = self.waker.wait(until);
        }
    }

    /// When the loop must look again though nothing happens: the earliest of the machine's
    /// next timer, the quiet that completes a log's incident, the silence watchdog, the
    /// artifacts' next look, and the poll interval while a log is polled and the job runs, or
    /// a stop is under way. The checkpoint and the status line have none: they wait for the
    /// look at everything, at most an [`EVENTED_TICK`] away ([`SAFETY_TICK`] while some source
    /// has no event or a status line is shown).
    fn next_deadline(&self) -> Option<Instant> {
        let now = Instant::now();
        let mut due: Option<Instant> = None;
        let mut at = |when: Instant| due = Some(due.map_or(when, |d| d.min(when)));
        // A polled log gains lines only while the job runs: else the look at everything, once
        // a second (the wake is not evented), reads it.
        if (self.waker.polling() && self.job_runs()) || self.job.stopping() {
            at(now + self.options.poll);
        }
        if let Some(poll) = self.job.next_poll() {
            at(poll);
        }
        if let Some(timer) = self.state.machine().next_deadline(self.state.instance()) {
            // A deadline ticked already waits for the machine to move on.
            if self.ticked != Some(timer) {
                at(now + (timer - Utc::now()).to_std().unwrap_or_default());
            }
        }
        for (index, source) in self.sources.iter().enumerate() {
            if let Some(wait) = self.settle_wait(index) {
                at(source.last_data + wait);
            }
        }
        if let Some(limit) = self.silence_limit() {
            if let Some(last) = self.last_data() {
                at(last + limit);
            }
        }
        if !self.state.instance().job.artifacts.is_empty() {
            at(self.artifacts_seen + self.artifacts_every());
        }
        due
    }

    /// One turn of the loop: each source in turn says what happened, and the handler takes it
    /// before the next source is asked, so that each sees the run as the one before left it.
    /// What the feed gives carries the log's facts as of then, so it is never in one batch with
    /// an input from another source, which takes the facts pending when it is handled.
    /// Returns whether there was something to do.
    fn turn(&mut self) -> Result<bool, RunError> {
        let mut happened = Vec::new();
        let journaled = self.journaled;
        let woke = std::mem::take(&mut self.woke);
        // A polled log is read at every turn.
        let polled = if self.waker.polling() { u64::MAX } else { 0 };
        let (_, mut busy) = self.read_logs(&mut happened, woke.logs | polled);
        for (index, source) in self.sources.iter_mut().enumerate() {
            if woke.renamed & Woke::log_bit(index) != 0 {
                source.tail.look_at_path();
            }
        }
        self.handle(&mut happened)?;
        if self.artifacts_seen.elapsed() >= self.artifacts_every() {
            self.watch_artifacts(&mut happened);
            self.handle(&mut happened)?;
        }
        // A Slurm job's state is asked of the cluster when its poll is due; no event says so.
        let poll_due = self
            .job
            .next_poll()
            .is_some_and(|due| due <= Instant::now());
        // A stop under way goes on at every turn, its deadlines being the poll interval.
        if woke.job || woke.all || poll_due || self.job.stopping() || self.job.exited() {
            self.watch_job(&mut happened);
            self.handle(&mut happened)?;
        }
        self.carry_out(&mut happened);
        self.handle(&mut happened)?;
        if woke.requests || woke.all {
            if let Some(warning) = mailbox::repair(self.store.run()) {
                self.observer.notice(Notice::Warning(warning));
            }
            let mut requests = mailbox::waiting(self.store.run());
            requests.retain(|(id, _)| !self.stuck.contains(id));
            busy |= !requests.is_empty();
            happened.extend(requests.into_iter().map(Happened::Request));
            self.handle(&mut happened)?;
        }
        self.due_timers(&mut happened);
        self.handle(&mut happened)?;
        self.quiet_logs(&mut happened);
        self.handle(&mut happened)?;
        self.watch_silence(&mut happened);
        self.handle(&mut happened)?;
        if self.last_checkpoint.elapsed() >= self.options.checkpoint_every {
            self.checkpoint()?;
        }
        self.hook.reap();
        // What was journaled may have given the job an effect to carry out.
        Ok(busy || self.journaled != journaled)
    }

    /// The handler: journals and takes, in order, everything the sources said.
    fn handle(&mut self, happened: &mut Vec<Happened>) -> Result<(), RunError> {
        for event in std::mem::take(happened) {
            match event {
                Happened::Read(Fed { input, line }) => {
                    if let Input::Incident(incident) = &input {
                        self.observer.notice(Notice::Incident(incident));
                    }
                    self.journal(input, line, None)?;
                }
                Happened::Input(input) => {
                    self.apply(input, None)?;
                }
                Happened::Job(event) => self.job_event(event)?,
                Happened::Request((id, request)) => self.take_request(&id, request)?,
            }
        }
        Ok(())
    }

    fn handle_job(&mut self, events: Vec<JobEvent>) -> Result<(), RunError> {
        let mut happened = events.into_iter().map(Happened::Job).collect();
        self.handle(&mut happened)
    }

    /// What happened to the job: journaled, shown, and, when the protocol has a word for it
    /// (`launched`, `exited`), taken through the machine.
    fn job_event(&mut self, event: JobEvent) -> Result<(), RunError> {
        match event {
            JobEvent::Launched {
                n,
                started,
                command,
                resumed,
                slurm_job,
            } => {
                // A new job's silence counts from its start, and its cadence from its first entry.
                for source in &mut self.sources {
                    source.last_data = Instant::now();
                }
                self.hold_log(&started);
                self.feed.new_process();
                self.silence_reported = false;
                self.record(Entry::Launched {
                    at: Utc::now(),
                    n,
                    job: started.job,
                    waiter: started.waiter,
                    command: command.clone(),
                    resumed,
                    slurm_job,
                })?;
                match slurm_job {
                    Some(id) => self.observer.notice(Notice::Slurm(&format!(
                        "job submitted to Slurm as job {id}{}: {}",
                        if resumed {
                            ", resuming from its checkpoint"
                        } else {
                            ""
                        },
                        command.join(" ")
                    ))),
                    None => self.observer.notice(Notice::Launched {
                        pid: started.job.pid,
                        command: &command,
                        resumed,
                    }),
                }
                let input = Input::Launched {
                    pid: started.job.pid,
                    resumed,
                    command: Some(command),
                    slurm_job,
                };
                self.apply(input, None)?;
            }
            JobEvent::LaunchFailed { n, error } => {
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
                    slurm_state: None,
                };
                self.apply(input, None)?;
            }
            JobEvent::Adopted(pid) => self.observer.notice(Notice::Adopted { pid }),
            JobEvent::Ended(exit) => {
                if let Some(error) = &exit.error {
                    self.observer.notice(Notice::Warning(error.clone()));
                }
                self.observer.notice(Notice::Exited {
                    exit_code: exit.exit_code,
                    signal: exit.signal,
                });
                let input = Input::Exited {
                    exit_code: exit.exit_code,
                    signal: exit.signal,
                    slurm_state: exit.slurm_state.clone(),
                };
                self.apply(input, None)?;
            }
            JobEvent::Stopped(exit, escaped) => {
                if exit.is_some() {
                    // What the job wrote before it stopped is read before its stop is recorded.
                    self.drain_logs()?;
                    self.release_log();
                }
                self.record(Entry::Stopped {
                    at: Utc::now(),
                    exit_code: exit.as_ref().and_then(|e| e.exit_code),
                    signal: exit.as_ref().and_then(|e| e.signal),
                    escaped: escaped.clone(),
                })?;
                if !escaped.is_empty() {
                    let warning = format!(
                        "{} of the job outlived SIGKILL: not stopped",
                        super::lifecycle::describe(&escaped)
                    );
                    self.observer.notice(Notice::Warning(warning));
                }
                if exit.is_some() {
                    self.observer.notice(Notice::Stopped);
                }
            }
            JobEvent::Signalled(pid, signal) => {
                self.observer.notice(Notice::Signalled { pid, signal })
            }
            JobEvent::Slurm(news) => self.observer.notice(Notice::Slurm(&news)),
            JobEvent::Warning(warning) => self.observer.notice(Notice::Warning(warning)),
        }
        Ok(())
    }

    /// The job's end, when it ended by itself: what it wrote last comes first (the traceback
    /// it died with is an incident, then the exit).
    fn watch_job(&mut self, happened: &mut Vec<Happened>) {
        let job = self.state.job_running();
        let stop_next = self.state.next_action() == Some(Action::Stop);
        let mut events = Vec::new();
        if !self
            .job
            .watch(self.store.run(), job, stop_next, &mut events)
        {
            happened.extend(events.into_iter().map(Happened::Job));
            return;
        }
        let job = job.cloned().expect("an end is of a running job");
        self.drain_into(happened);
        // What the job left behind is known before its end is taken.
        self.watch_artifacts(happened);
        self.release_log();
        self.job.finish(self.store.run(), &job, &mut events);
        happened.extend(events.into_iter().map(Happened::Job));
    }

    /// Carries out the next job effect, or goes on with a stop under way.
    fn carry_out(&mut self, happened: &mut Vec<Happened>) {
        let mut events = Vec::new();
        match self.state.next_action() {
            None => {}
            Some(Action::Launch) => {
                let log = self.sources[0].path.clone();
                self.job.launch(&self.state, &log, &mut events);
            }
            Some(Action::Stop) => {
                let state = &self.state;
                let grace = || stop_grace(state);
                let job = self.state.job_running();
                self.job.stop(self.store.run(), job, grace, &mut events);
            }
        }
        happened.extend(events.into_iter().map(Happened::Job));
    }

    /// The timers due. Once per deadline: a tick the machine fails on (a guard erring at run
    /// time) leaves the instance, and so the due timer, as it was; it is not retried each turn.
    fn due_timers(&mut self, happened: &mut Vec<Happened>) {
        if let Some(due) = self.state.machine().next_deadline(self.state.instance()) {
            if Utc::now() >= due && self.ticked != Some(due) {
                self.ticked = Some(due);
                happened.push(Happened::Input(Input::Tick));
            }
        }
    }

    /// The `silence` event: a running job that wrote nothing for the var `silence`. Once per
    /// quiet spell.
    fn watch_silence(&mut self, happened: &mut Vec<Happened>) {
        let Some(limit) = self.silence_limit() else {
            return;
        };
        if self.last_data().is_some_and(|t| t.elapsed() >= limit) {
            self.silence_reported = true;
            happened.push(Happened::Input(Input::Silence));
        }
    }

    /// The var `silence`, while a quiet spell of the running job is still to be reported.
    fn silence_limit(&self) -> Option<Duration> {
        let limit = self.state.machine().silence(self.state.instance())?;
        (self.job_runs() && !self.silence_reported).then_some(limit)
    }

    /// How often the artifacts are looked at now.
    fn artifacts_every(&self) -> Duration {
        if self.job_runs() {
            ARTIFACTS_EVERY
        } else {
            ARTIFACTS_IDLE_EVERY
        }
    }

    /// Whether a job runs: launched, and its end not seen yet.
    fn job_runs(&self) -> bool {
        self.state.job_running().is_some() && !self.job.exited()
    }

    /// When any log last gained something.
    fn last_data(&self) -> Option<Instant> {
        self.sources.iter().map(|s| s.last_data).max()
    }

    /// How long log `index` must be quiet before the incident it is collecting is reported: a
    /// moment for one collecting its `after` lines, a little longer for a traceback a chained
    /// one may follow; `None` when nothing waits.
    fn settle_wait(&self, index: usize) -> Option<Duration> {
        let chain = self.feed.settling(index)?;
        Some(if chain {
            self.options.chain_wait
        } else {
            self.options.idle_flush
        })
    }

    /// Reads what the logs gained. Returns whether there was anything, and whether there may
    /// be more than was read: a log read up to the bound of a turn.
    /// Only the logs of `only` ([`Woke::logs`]) are read.
    fn read_logs(&mut self, happened: &mut Vec<Happened>, only: u64) -> (bool, bool) {
        let mut busy = false;
        let mut more = false;
        // Kept from turn to turn: most turns read a line or two.
        let mut chunk = std::mem::take(&mut self.chunk);
        let mut fed = Vec::new();
        for index in 0..self.sources.len() {
            if only & Woke::log_bit(index) == 0 {
                continue;
            }
            // A bounded amount per turn, so a flood of output does not starve the rest.
            for round in 0..16 {
                chunk.clear();
                let source = &mut self.sources[index];
                let read = source.tail.read(&mut chunk);
                for warning in source.tail.take_warnings() {
                    self.observer.notice(Notice::Warning(warning));
                }
                let (event, read) = match read {
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
                if read < CHUNK {
                    // Read to its end: what it gains next wakes the loop.
                    break;
                }
                more |= round == 15;
            }
        }
        happened.extend(fed.into_iter().map(Happened::Read));
        self.chunk = chunk;
        (busy, more)
    }

    /// The incidents of a log that has been quiet a while: a moment for one collecting its
    /// `after` lines, a little longer for a traceback a chained one may follow.
    fn quiet_logs(&mut self, happened: &mut Vec<Happened>) {
        let mut fed = Vec::new();
        for index in 0..self.sources.len() {
            let Some(wait) = self.settle_wait(index) else {
                continue;
            };
            if self.sources[index].last_data.elapsed() >= wait {
                self.feed.quiet(index, Utc::now(), &mut fed);
            }
        }
        happened.extend(fed.into_iter().map(Happened::Read));
    }

    /// Reads the logs to their end and gives everything waiting: the job has ended.
    fn drain_into(&mut self, happened: &mut Vec<Happened>) {
        // To the end of each file, and to the end of a file rotated meanwhile.
        while self.read_logs(happened, u64::MAX).0 {}
        let mut fed = Vec::new();
        for index in 0..self.sources.len() {
            let observer = &mut *self.observer;
            let echoes = observer.wants_lines();
            let mut echo = |line: &str| observer.notice(Notice::Line(line));
            let echo = echoes.then_some(&mut echo as &mut dyn FnMut(&str));
            self.feed.end(index, Utc::now(), &mut fed, echo);
        }
        happened.extend(fed.into_iter().map(Happened::Read));
    }

    fn drain_logs(&mut self) -> Result<(), RunError> {
        let mut happened = Vec::new();
        self.drain_into(&mut happened);
        self.handle(&mut happened)
    }

    fn end(mut self) -> Result<Finish, RunError> {
        self.checkpoint()?;
        let state = self.state.instance().state.clone();
        self.record(Entry::Ended {
            at: Utc::now(),
            state: state.clone(),
        })?;
        self.save_state(true);
        self.observer.notice(Notice::Ended(&state));
        if let Some(job) = self.state.job_running().cloned() {
            if self.job.may_run(self.store.run(), &job) {
                let which = match job.slurm_job {
                    Some(id) => format!("Slurm job {id}"),
                    None => format!("pid {}", job.job.pid),
                };
                let warning = format!(
                    "the run ended with its job still running ({which}); the protocol did not stop it"
                );
                self.observer.notice(Notice::Warning(warning));
            }
        }
        let outcome = self.state.machine().protocol().outcome(&state);
        Ok(Finish::Ended(state, outcome.unwrap_or_default()))
    }

    /// The job's log is the file the job was started with, by its inode, until the job ends:
    /// a log rotated by renaming it is read on where the job writes.
    fn hold_log(&mut self, started: &Identities) {
        let Some(id) = started.log else {
            return;
        };
        let log = &mut self.sources[0];
        let mut places: Vec<PathBuf> = [started.job.pid, started.waiter.pid]
            .iter()
            .map(|pid| PathBuf::from(format!("/proc/{pid}/fd")))
            .collect();
        places.extend(log.path.parent().map(|dir| {
            if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir.to_path_buf()
            }
        }));
        log.tail.hold(id, places);
    }

    /// The job has ended and its log was read to its end: the path is followed again.
    fn release_log(&mut self) {
        self.sources[0].tail.release();
    }

    /// Appends `entry` to the journal and takes it into account.
    fn record(&mut self, entry: Entry) -> Result<Absorbed, RunError> {
        self.journaled += 1;
        self.store.append(&entry)?;
        self.state.absorb(&entry)
    }

    /// Journals an input that does not come from the logs, after the facts the logs told so
    /// far: guards and messages see the metrics and last line as of this input.
    fn apply(&mut self, input: Input, request: Option<String>) -> Result<Absorbed, RunError> {
        let mut fed = Vec::new();
        self.feed.facts(&mut fed);
        for Fed { input, line } in fed {
            self.journal(input, line, None)?;
        }
        self.journal(input, None, request)
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
        let answered = request.is_some();
        let entry = Entry::Input {
            at: Utc::now(),
            input: Box::new(input),
            line,
            request,
        };
        let absorbed = self.state.absorb(&entry)?;
        let outcome = Entry::Outcome(Box::new(super::state::summary(
            &absorbed,
            &self.state.instance().state,
        )));
        self.journaled += 1;
        // An input that moved the machine nowhere and asks for no check (the metrics before an
        // incident, say) acts on nothing outside the journal: it is synced with the entry after
        // it, or at the end of the turn, one sync where there were two.
        let acts = answered
            || match &absorbed {
                Absorbed::Stepped(outcome) => {
                    !outcome.transitions.is_empty() || !outcome.checks.is_empty()
                }
                Absorbed::Failed(..) | Absorbed::Recorded => true,
            };
        if acts {
            self.store.append_all(&[entry, outcome.clone()])?;
        } else {
            self.store.append_unsynced(&[entry, outcome.clone()])?;
        }
        self.state.absorb(&outcome)?;
        if let (Some(answered), Entry::Outcome(summary)) = (&mut self.answered, &outcome) {
            answered.push((**summary).clone());
        }
        match &absorbed {
            Absorbed::Stepped(outcome) => self.report(outcome),
            Absorbed::Failed(error, _) => self.observer.notice(Notice::Failed(&error.to_string())),
            Absorbed::Recorded => {}
        }
        self.write_messages()?;
        self.check_gates()?;
        Ok(absorbed)
    }

    /// Checks the gates the machine waits for, in the run's working directory, and gives it
    /// their results. The loop waits meanwhile: nothing else is taken before the results, and
    /// what the logs and the mailbox gain is read after.
    fn check_gates(&mut self) -> Result<(), RunError> {
        // One loop answers them all: the gates a result lets the run on to are asked of it.
        if self.checking {
            return Ok(());
        }
        self.checking = true;
        let answered = self.answer_gates();
        self.checking = false;
        // Timers due while the gates were checked fire now, those of one deadline included.
        self.ticked = None;
        answered
    }

    fn answer_gates(&mut self) -> Result<(), RunError> {
        while let Some(pending) = self.state.instance().pending.clone() {
            let cwd = self.state.started().cwd.clone();
            let results = pending
                .checks
                .iter()
                .map(|check| crate::gate::evaluate(&check.gate, &check.probe, &cwd, Utc::now()))
                .collect();
            let absorbed = self.journal(Input::Gates { results }, None, None)?;
            if matches!(absorbed, Absorbed::Failed(..)) {
                break;
            }
        }
        Ok(())
    }

    /// The artifacts that appeared, changed or vanished since they were last looked at.
    fn watch_artifacts(&mut self, happened: &mut Vec<Happened>) {
        self.artifacts_seen = Instant::now();
        let cwd = &self.state.started().cwd;
        let instance = self.state.instance();
        // Their paths as the run's start rendered them.
        for (name, path) in &instance.job.artifacts {
            let meta = std::fs::metadata(cwd.join(path))
                .ok()
                .filter(|m| m.is_file());
            let size = meta.as_ref().map(|m| m.len());
            let modified = meta.as_ref().and_then(crate::gate::modified);
            let seen = instance.artifacts.get(name);
            let was = seen.map_or((false, None, None), |s| (s.exists, s.size, s.modified));
            let now = (meta.is_some(), size, modified);
            if now != was && (now.0 || was.0) {
                happened.push(Happened::Input(Input::Artifact {
                    name: name.clone(),
                    exists: now.0,
                    size,
                    modified,
                }));
            }
        }
    }

    fn report(&mut self, outcome: &Outcome) {
        for gate in &outcome.gates {
            self.observer.notice(Notice::Gate(gate));
        }
        for held in &outcome.held {
            self.observer.notice(Notice::Held(held));
        }
        for failure in &outcome.unrendered {
            let warning = format!("{failure} (sent with the failure marked)");
            self.observer.notice(Notice::Warning(warning));
        }
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
        for message in self.state.take_unwritten() {
            let entry = self.store.write_message(&message)?;
            let path = self.store.run().dir.join(&entry.file);
            self.state.absorb(&Entry::Message(entry))?;
            self.observer.notice(Notice::Message {
                message: &message,
                path: &path,
            });
            for warning in self.hook.fire(self.store.run(), &message, &path) {
                self.observer.notice(Notice::Warning(warning));
            }
        }
        Ok(())
    }

    /// Takes a role's event from the mailbox and answers it; one taken before a restart of the
    /// supervisor (the journal says so) is only removed.
    fn take_request(&mut self, id: &str, request: Result<Request, String>) -> Result<(), RunError> {
        if self.state.took_request(id) {
            let closed = mailbox::close(self.store.run(), id, None);
            self.closed(id, closed);
            return Ok(());
        }
        let from = self.state.instance().state.clone();
        let request = match request {
            Ok(request) => request,
            Err(reason) => {
                // Not a request: refused, answered if it can be, and moved aside. What a role
                // leaves in the mailbox never ends the supervisor.
                let reply = Reply {
                    outcome: journal::Outcome {
                        refused: Some(reason.clone()),
                        state: from.clone(),
                        ..Default::default()
                    },
                    from,
                    files: Vec::new(),
                };
                let warning = match mailbox::reject(self.store.run(), id, &reply) {
                    Ok(aside) => format!(
                        "request {id} refused ({reason}); moved aside to {}",
                        aside.display()
                    ),
                    Err(error) => {
                        self.stuck.insert(id.to_owned());
                        format!("request {id} refused ({reason}), and left where it is: {error}")
                    }
                };
                self.observer.notice(Notice::Warning(warning));
                return Ok(());
            }
        };
        let input = Input::Send {
            event: request.event,
            sender: request.sender,
            fields: request.fields,
        };
        // What the event did, and the gates it waited for after it.
        self.answered = Some(Vec::new());
        let applied = self.apply(input, Some(id.to_owned()));
        let outcomes = self.answered.take().unwrap_or_default();
        applied?;
        let mut outcomes = outcomes.into_iter();
        let mut outcome = outcomes.next().unwrap_or_default();
        for later in outcomes {
            outcome.then(later);
        }
        let files = self
            .state
            .messages()
            .iter()
            .filter(|m| outcome.messages.contains(&m.seq))
            .map(|m| m.file.display().to_string())
            .collect();
        let reply = Reply {
            from,
            outcome,
            files,
        };
        let closed = mailbox::close(self.store.run(), id, Some(&reply));
        self.closed(id, closed);
        Ok(())
    }

    /// A request taken, or taken before a restart, that could not be answered or removed: the
    /// journal has it, so it is not taken again; warned of, and left alone if it stays.
    fn closed(&mut self, id: &str, closed: Result<(), RunError>) {
        if let Err(error) = closed {
            let path = mailbox::request_file(self.store.run(), id);
            if std::fs::symlink_metadata(&path).is_ok() {
                self.stuck.insert(id.to_owned());
            }
            let warning = format!("request {id} was taken, but: {error}");
            self.observer.notice(Notice::Warning(warning));
        }
    }

    /// Writes down the facts read and, for each log at rest, how far it was read.
    fn checkpoint(&mut self) -> Result<(), RunError> {
        self.last_checkpoint = Instant::now();
        let mut fed = Vec::new();
        self.feed.facts(&mut fed);
        for Fed { input, line } in fed {
            self.journal(input, line, None)?;
        }
        for source in 0..self.sources.len() {
            let now = (
                self.sources[source].tail.offset(),
                self.feed.lines_read(source),
            );
            if self.feed.at_rest(source) && now != self.state.offset(source) {
                self.record(Entry::Offset {
                    source,
                    offset: now.0,
                    lines: now.1,
                })?;
            }
        }
        // The state saved, and what an interrupted supervisor leaves, cover only synced entries.
        self.store.sync()?;
        self.save_state(false);
        Ok(())
    }

    /// Saves the run's state beside the journal when it is due (see [`super::saved`]): what
    /// reads the run then reads only the entries after it. A state that cannot be saved costs
    /// only that.
    fn save_state(&mut self, always: bool) {
        if let Err(error) = super::saved::save_if_due(&self.store, &mut self.state, always) {
            let warning = format!("the run's state was not saved beside its journal: {error}");
            self.observer.notice(Notice::Warning(warning));
        }
    }
}

/// How long a stopped job has between SIGTERM and SIGKILL, as the run's vars make it.
fn stop_grace(state: &RunState) -> Duration {
    state
        .machine()
        .job_plan(state.instance(), Utc::now())
        .map(|plan| plan.stop_grace)
        .unwrap_or(crate::machine::DEFAULT_STOP_GRACE)
}
