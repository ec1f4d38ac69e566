//! Talking to a run from any shell: its status, the runs there are, a role's messages, waiting
//! for the next one, and sending an event. Everything here reads the run's files; the only
//! things written are a role's read mark and a `send` request, which the supervisor takes.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nix::fcntl::{Flock, FlockArg};
use serde::Serialize;

use super::follow::{Cancel, Changes};
use super::mailbox::{self, Reply, Request};
use super::snapshot::Snapshot;
use super::state::RunState;
use super::store::{Entry, MessageEntry, RunDir};
use super::{io_error, write_atomic, RunError};
use crate::protocol::Outcome;

/// The runs under `root`, oldest first.
pub fn runs(root: &Path) -> Result<Vec<(RunDir, DateTime<Utc>)>, RunError> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(root)(e)),
    };
    let mut runs = Vec::new();
    for entry in entries.flatten() {
        let Some(id) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        // A link is not a run of this folder, whatever it names.
        if !super::store::valid_id(&id) || entry.file_type().map_or(true, |t| t.is_symlink()) {
            continue;
        }
        let run = RunDir::new(root, &id);
        if let Some(at) = started_at(&run) {
            runs.push((run, at));
        }
    }
    runs.sort_by(|a, b| (a.1, &a.0.id).cmp(&(b.1, &b.0.id)));
    Ok(runs)
}

/// When `run` started, from its journal's first line.
fn started_at(run: &RunDir) -> Option<DateTime<Utc>> {
    let mut first = String::new();
    let file = super::files::open(&run.journal()).ok()?;
    std::io::BufRead::read_line(&mut std::io::BufReader::new(file), &mut first).ok()?;
    match serde_json::from_str(&first).ok()? {
        Entry::Started(started) => Some(started.at),
        _ => None,
    }
}

/// The run `id` under `root`, or the newest run when `id` is `None`.
pub fn resolve(root: &Path, id: Option<&str>) -> Result<RunDir, RunError> {
    match id {
        Some(id) => Ok(RunDir::existing(root, id)?),
        None => runs(root)?.pop().map(|(run, _)| run).ok_or_else(|| {
            RunError::Refused(format!(
                "there is no run under {}; start one with `warden run`",
                root.display()
            ))
        }),
    }
}

/// A run at a glance, for `warden status` and `warden list`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The run's id.
    pub id: String,
    /// The protocol's id and version.
    pub protocol: String,
    /// The current state.
    pub state: String,
    /// Whether the run has ended.
    pub ended: bool,
    /// How it ended, as its final state declares it; `None` while it runs.
    pub outcome: Option<Outcome>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How long it has run (until it ended, if it has), as `2h 30m`.
    pub elapsed: String,
    /// The supervisor's PID, when one runs.
    pub supervisor: Option<u32>,
    /// How the supervisor wakes (on events, or following a log by polling and why), when one
    /// runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wake: Option<String>,
    /// The job of the last launch.
    pub job: Option<JobStatus>,
    /// How many times the job was started again.
    pub restarts: u32,
    /// The timers running, with when they are due.
    pub timers: Vec<TimerStatus>,
    /// The last incident.
    pub last_incident: Option<IncidentStatus>,
    /// Messages sent, and unread ones by role.
    pub messages: usize,
    /// Unread messages by role.
    pub unread: BTreeMap<String, usize>,
    /// Job effects not carried out yet.
    pub pending_effects: Vec<String>,
    /// Inputs the machine failed on.
    pub failures: Vec<String>,
    /// The latest result of every gate checked so far.
    pub gates: Vec<GateStatus>,
    /// The job's artifacts, as last seen.
    pub artifacts: Vec<ArtifactStatus>,
    /// Incidents held until the run can take them, each in one line.
    pub held: Vec<String>,
}

/// A gate's latest result, for [`Status`].
#[derive(Debug, Clone, Serialize)]
pub struct GateStatus {
    /// The gate.
    pub gate: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why, or what it found.
    pub reason: String,
    /// When it was checked.
    pub at: DateTime<Utc>,
}

/// An artifact of the job, for [`Status`].
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactStatus {
    /// Its name.
    pub name: String,
    /// Its path.
    pub path: String,
    /// Whether it exists.
    pub exists: bool,
    /// How often it was seen to appear or change.
    pub changes: u64,
}

/// The job, for [`Status`].
#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    /// Its PID.
    pub pid: u32,
    /// Whether it is still running (PID and start time checked).
    pub running: bool,
    /// How long since it started, as `2h 30m`.
    pub uptime: String,
    /// The command.
    pub command: Vec<String>,
    /// Whether it resumed from the checkpoint.
    pub resumed: bool,
    /// Its exit code, once it exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it.
    pub signal: Option<i32>,
    /// For a job submitted to Slurm: its id and its state when the supervisor last asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slurm: Option<SlurmStatus>,
}

/// A Slurm job, for [`JobStatus`].
#[derive(Debug, Clone, Serialize)]
pub struct SlurmStatus {
    /// The Slurm job id.
    pub job_id: u64,
    /// Its state when last asked (`PENDING`, `RUNNING`, `PREEMPTED`, ...), if it was.
    pub state: Option<String>,
    /// Slurm's reason for the state, if it gave one.
    pub reason: Option<String>,
    /// When it was last asked.
    pub seen_at: Option<DateTime<Utc>>,
}

/// A timer, for [`Status`].
#[derive(Debug, Clone, Serialize)]
pub struct TimerStatus {
    /// The event it fires.
    pub event: String,
    /// When.
    pub due: Option<DateTime<Utc>>,
}

/// The last incident, for [`Status`].
#[derive(Debug, Clone, Serialize)]
pub struct IncidentStatus {
    /// Its category.
    pub category: String,
    /// The role that fixes it.
    pub owner: String,
    /// The exception.
    pub exception: Option<String>,
    /// Its message.
    pub message: String,
    /// The log line it was read at.
    pub line_number: u64,
}

fn human(duration: chrono::TimeDelta) -> String {
    crate::duration::format(duration.to_std().unwrap_or_default())
}

/// The status of `run` now.
pub fn status(run: &RunDir) -> Result<Status, RunError> {
    let state = RunState::recent(run)?;
    Ok(status_of(&state, Utc::now()))
}

/// The status of a run's state at `now`.
pub fn status_of(state: &RunState, now: DateTime<Utc>) -> Status {
    let instance = state.instance();
    let protocol = state.machine().protocol();
    let until = state.ended().map_or(now, |(at, _)| at);
    let supervisor = state.run().supervisor();
    let job = state.job().map(|job| {
        let slurm = job.slurm_job.map(|job_id| {
            let submission = super::slurm::read_submission(&state.run().dir, job.n);
            let submission = submission.filter(|s| s.job_id == job_id);
            SlurmStatus {
                job_id,
                state: submission.as_ref().and_then(|s| s.state.clone()),
                reason: submission.as_ref().and_then(|s| s.reason.clone()),
                seen_at: submission.as_ref().and_then(|s| s.seen_at),
            }
        });
        let running = !job.ended
            && match &slurm {
                Some(slurm) => slurm
                    .state
                    .as_deref()
                    .is_none_or(|s| !super::slurm::is_end_state(s)),
                None => job.job.is_current(),
            };
        JobStatus {
            pid: job.job.pid,
            running,
            uptime: human(if running { now } else { state.last_at() } - job.at),
            command: job.command.clone(),
            resumed: job.resumed,
            exit_code: instance.job.exit_code,
            signal: instance.job.signal,
            slurm,
        }
    });
    let mut unread = BTreeMap::new();
    for role in protocol.roles.keys() {
        let seen = read_mark(state.run(), role.as_str());
        let count = state
            .messages()
            .iter()
            .filter(|m| m.seq > seen && m.to.iter().any(|r| r == role.as_str()))
            .count();
        if count > 0 {
            unread.insert(role.to_string(), count);
        }
    }
    Status {
        id: state.run().id.clone(),
        protocol: match &protocol.version {
            Some(version) => format!("{} {}", protocol.id.value, version.value),
            None => protocol.id.to_string(),
        },
        state: instance.state.clone(),
        ended: state.ended().is_some(),
        outcome: state.ended().and_then(|(_, ended)| protocol.outcome(ended)),
        started_at: state.started().at,
        elapsed: human(until - state.started().at),
        supervisor,
        wake: supervisor.and_then(|_| super::wake::read_wake(state.run())),
        job,
        restarts: state.launches().saturating_sub(1),
        timers: instance
            .timers
            .iter()
            .map(|t| TimerStatus {
                event: t.event.clone(),
                due: t.due,
            })
            .collect(),
        last_incident: state.last_incident().map(|i| IncidentStatus {
            category: i.category.clone(),
            owner: i.owner.clone(),
            exception: i.exception.clone(),
            message: i.message.clone(),
            line_number: i.line_number,
        }),
        messages: state.messages().len(),
        unread,
        pending_effects: state.actions().map(|a| a.as_str().to_owned()).collect(),
        failures: state.failures().to_vec(),
        gates: instance
            .gates
            .values()
            .map(|record| GateStatus {
                gate: record.result.gate.clone(),
                passed: record.result.passed,
                reason: record.result.reason.clone(),
                at: record.at,
            })
            .collect(),
        artifacts: instance
            .job
            .artifacts
            .iter()
            .map(|(name, path)| {
                let seen = instance.artifacts.get(name).cloned().unwrap_or_default();
                ArtifactStatus {
                    name: name.clone(),
                    path: path.clone(),
                    exists: seen.exists,
                    changes: seen.changes,
                }
            })
            .collect(),
        held: instance
            .held
            .iter()
            .map(|i| format!("{} for {}: {}", i.category, i.owner, i.line))
            .collect(),
    }
}

/// A message for a role, with its text.
#[derive(Debug, Clone, Serialize)]
pub struct Delivered {
    /// The journal's entry for it.
    #[serde(flatten)]
    pub entry: MessageEntry,
    /// The file, in full.
    pub path: PathBuf,
    /// Whether the role had read it (through `wait`) before.
    pub read: bool,
    /// The text.
    pub text: String,
}

/// The last message `wait` delivered to `role` in `run`, by number (0: none).
pub fn read_mark(run: &RunDir, role: &str) -> u64 {
    super::files::read_to_string(&run.cursors().join(role))
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0)
}

/// Refuses a role the run's protocol does not have. Reads only the protocol, not the journal.
fn check_role(run: &RunDir, role: &str) -> Result<(), RunError> {
    let protocol = Snapshot::read(run)?.protocol()?;
    if protocol.roles.contains(role) {
        return Ok(());
    }
    let known: Vec<&str> = protocol.roles.keys().map(|r| r.as_str()).collect();
    Err(RunError::Refused(format!(
        "`{role}` is not a role of this run's protocol; its roles are {}",
        known.join(", ")
    )))
}

/// The message a journal entry records, if it records one.
fn message_of(entry: &Entry) -> Option<MessageEntry> {
    match entry {
        Entry::Message(message) => Some(message.clone()),
        _ => None,
    }
}

/// The messages the journal lists, in order, without replaying the run: those of its saved
/// state, if one holds, and those after it.
fn messages(run: &RunDir) -> Result<Vec<MessageEntry>, RunError> {
    let (mut messages, _, offset, lines) = super::saved::messages(run)?;
    let (tail, _) = run.read_journal_from(offset, lines as usize)?;
    messages.extend(tail.iter().filter_map(message_of));
    Ok(messages)
}

fn deliver(run: &RunDir, entry: &MessageEntry, read: bool) -> Result<Delivered, RunError> {
    let path = run.message_file(entry)?;
    let text = super::files::read_to_string(&path).map_err(io_error(&path))?;
    Ok(Delivered {
        entry: entry.clone(),
        path,
        read,
        text,
    })
}

/// The messages for `role` in `run`: the unread ones, or all with `all`. Reading them here
/// does not mark them read; `wait` does.
pub fn inbox(run: &RunDir, role: &str, all: bool) -> Result<Vec<Delivered>, RunError> {
    check_role(run, role)?;
    let seen = read_mark(run, role);
    messages(run)?
        .iter()
        .filter(|m| m.to.iter().any(|r| r == role) && (all || m.seq > seen))
        .map(|m| deliver(run, m, m.seq <= seen))
        .collect()
}

/// How a `wait` ended.
#[derive(Debug)]
pub enum Waited {
    /// A message arrived (or was waiting, unread).
    Message(Box<Delivered>),
    /// The run ended, in this state, with nothing unread for the role.
    Ended(String),
    /// The time given passed.
    TimedOut,
}

/// Blocks until there is a message for `role` in `run` that `wait` has not delivered yet,
/// delivers the oldest such one and marks it read; or until the run ends or `timeout` passes.
/// It wakes when the supervisor writes the journal; `poll` is how often it looks where no
/// event tells (a run on a network file system). `warned` is called once if no supervisor is
/// running while it waits.
pub fn wait(
    run: &RunDir,
    role: &str,
    timeout: Option<Duration>,
    poll: Duration,
    warned: impl FnMut(&str),
) -> Result<Waited, RunError> {
    let waited = wait_unless(run, role, timeout, poll, warned, &Cancel::new())?;
    Ok(waited.unwrap_or(Waited::TimedOut))
}

/// [`wait`], given up as soon as `cancel` is cancelled: then `None`, and nothing is marked read.
pub fn wait_unless(
    run: &RunDir,
    role: &str,
    timeout: Option<Duration>,
    poll: Duration,
    mut warned: impl FnMut(&str),
    cancel: &Cancel,
) -> Result<Option<Waited>, RunError> {
    check_role(run, role)?;
    let started = Instant::now();
    // Watched before the first read, so that no entry written after it goes unseen.
    let mut changes = Changes::new(run, poll);
    // The role's messages so far, from the run's saved state and the journal after it.
    let (mut known, ended, offset, _) = super::saved::messages(run)?;
    known.retain(|m| m.to.iter().any(|r| r == role));
    let mut journal = JournalReader::from(run.journal(), offset, ended);
    let mut warned_once = false;
    let mut last_check = Instant::now();
    loop {
        if cancel.is_cancelled() {
            return Ok(None);
        }
        let seen = read_mark(run, role);
        // What was read already is never delivered again.
        known.retain(|m| m.seq > seen);
        known.extend(
            journal
                .read()?
                .iter()
                .filter_map(message_of)
                .filter(|m| m.seq > seen && m.to.iter().any(|r| r == role)),
        );
        if let Some(entry) = known.first().cloned() {
            if let Some(delivered) = take(run, role, &entry)? {
                return Ok(Some(Waited::Message(Box::new(delivered))));
            }
            // Another `wait` for the role took it first: look again.
            continue;
        }
        if let Some(state) = journal.ended() {
            return Ok(Some(Waited::Ended(state.to_owned())));
        }
        let deadline = timeout.map(|t| started + t);
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(Some(Waited::TimedOut));
        }
        // Until it is known that no supervisor runs, it is asked once a second.
        let mut until = deadline;
        if !warned_once {
            if last_check.elapsed() >= SUPERVISOR_CHECK {
                last_check = Instant::now();
                if run.supervisor().is_none() {
                    warned_once = true;
                    warned(&run.id);
                }
            }
            let check = last_check + SUPERVISOR_CHECK;
            until = Some(until.map_or(check, |u| u.min(check)));
        }
        changes.wait(until, cancel);
    }
}

/// How often a wait asks whether a supervisor runs, until it finds none.
const SUPERVISOR_CHECK: Duration = Duration::from_secs(1);

/// Holds the lock on `role`'s read mark in `run` while it lives.
fn lock_mark(run: &RunDir, role: &str) -> Result<Flock<std::fs::File>, RunError> {
    let cursors = run.cursors();
    super::files::real_dir(&cursors).map_err(io_error(&cursors))?;
    let lock_path = cursors.join(format!(".{role}.lock"));
    let file = super::files::open_with(
        super::files::options()
            .create(true)
            .truncate(false)
            .write(true),
        &lock_path,
    )
    .map_err(io_error(&lock_path))?;
    Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, errno)| io_error(&lock_path)(errno.into()))
}

/// Marks `entry` read for `role` unless another reader did first; returns it if this one did.
fn take(run: &RunDir, role: &str, entry: &MessageEntry) -> Result<Option<Delivered>, RunError> {
    let _lock = lock_mark(run, role)?;
    if read_mark(run, role) >= entry.seq {
        return Ok(None);
    }
    let delivered = deliver(run, entry, false)?;
    let mark = run.cursors().join(role);
    write_atomic(&mark, format!("{}\n", entry.seq).as_bytes()).map_err(io_error(&mark))?;
    Ok(Some(delivered))
}

/// Undoes the read mark a `wait` of `role` set on delivering `delivered`, when the one who asked
/// for it can no longer take it (a cancelled request): the message is unread again, and the
/// next `wait` delivers it. Returns whether the mark was undone; it is not if another `wait`
/// for the role has delivered a later message since.
pub fn give_back(run: &RunDir, role: &str, delivered: &Delivered) -> Result<bool, RunError> {
    check_role(run, role)?;
    let _lock = lock_mark(run, role)?;
    let seq = delivered.entry.seq;
    if read_mark(run, role) != seq {
        return Ok(false);
    }
    // `wait` delivers a role's oldest unread message, so none of the role's lies between the
    // mark it moved from and this one: one before it is the same mark for the role.
    let mark = run.cursors().join(role);
    write_atomic(&mark, format!("{}\n", seq.saturating_sub(1)).as_bytes())
        .map_err(io_error(&mark))?;
    Ok(true)
}

/// The message numbered `seq` in `run`, with whether `role`, when given, has read it. A
/// message not addressed to `role` is refused as if it did not exist for it.
pub fn message(run: &RunDir, seq: u64, role: Option<&str>) -> Result<Delivered, RunError> {
    if let Some(role) = role {
        check_role(run, role)?;
    }
    let found = messages(run)?
        .into_iter()
        .find(|m| m.seq == seq && role.is_none_or(|role| m.to.iter().any(|r| r == role)));
    let Some(entry) = found else {
        return Err(RunError::Refused(format!(
            "run `{}` has no message {seq}{}",
            run.id,
            role.map_or_else(String::new, |role| format!(" for {role}"))
        )));
    };
    let read = role.is_some_and(|role| entry.seq <= read_mark(run, role));
    deliver(run, &entry, read)
}

/// The messages of `run` in order, as the journal lists them; only those to `role`, if given.
pub fn message_list(run: &RunDir, role: Option<&str>) -> Result<Vec<MessageEntry>, RunError> {
    if let Some(role) = role {
        check_role(run, role)?;
    }
    let mut all = messages(run)?;
    if let Some(role) = role {
        all.retain(|m| m.to.iter().any(|r| r == role));
    }
    Ok(all)
}

/// Reads a journal's entries as they are appended, never reading a byte twice.
pub struct JournalReader {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    ended: Option<String>,
}

impl JournalReader {
    /// Reads the journal at `path` from its start.
    pub fn new(path: PathBuf) -> JournalReader {
        JournalReader::from(path, 0, None)
    }

    /// Reads the journal at `path` from `offset`, the start of a line, after which the run had
    /// ended in state `ended` if it had.
    pub fn from(path: PathBuf, offset: u64, ended: Option<String>) -> JournalReader {
        JournalReader {
            path,
            offset,
            partial: Vec::new(),
            ended,
        }
    }

    /// The final state, once an `ended` entry was read.
    pub fn ended(&self) -> Option<&str> {
        self.ended.as_deref()
    }

    /// The entries appended since the last call.
    pub fn read(&mut self) -> Result<Vec<Entry>, RunError> {
        let mut file = super::files::open(&self.path).map_err(io_error(&self.path))?;
        file.seek(SeekFrom::Start(self.offset))
            .map_err(io_error(&self.path))?;
        let mut bytes = std::mem::take(&mut self.partial);
        let read = file.read_to_end(&mut bytes).map_err(io_error(&self.path))?;
        self.offset += read as u64;
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        self.partial = bytes.split_off(complete);
        let mut entries = Vec::new();
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            // Lines this version does not know are another version's business.
            if let Ok(entry) = serde_json::from_slice::<Entry>(line) {
                if let Entry::Ended { state, .. } = &entry {
                    self.ended = Some(state.clone());
                }
                entries.push(entry);
            }
        }
        Ok(entries)
    }
}

/// How a `send` went.
#[derive(Debug)]
pub enum Sent {
    /// The supervisor took the event and answered.
    Answered(Box<Reply>),
    /// The event is in the run's requests, but the supervisor did not answer in time.
    Queued(String),
}

/// Why an answered send did not do what it asked, in the words `warden send` says it: the
/// supervisor refused the event, the run failed on it, or no transition's condition held for
/// it. `None` when it was taken.
pub fn unmet(reply: &Reply, event: &str) -> Option<String> {
    if let Some(reason) = &reply.outcome.refused {
        return Some(format!("refused: {reason}"));
    }
    if let Some(error) = &reply.outcome.failed {
        return Some(format!("error: the run failed on `{event}`: {error}"));
    }
    if !reply.outcome.ignored.is_empty() {
        return Some(format!(
            "ignored: in state {}, no transition's condition held for `{event}`",
            reply.from
        ));
    }
    None
}

/// Sends `request` to `run`: checked against the protocol and the run's state first (a refusal
/// writes nothing), then left for the supervisor, whose answer is awaited up to `timeout`.
pub fn send(run: &RunDir, request: &Request, timeout: Duration) -> Result<Sent, RunError> {
    let state = RunState::replay(run)?;
    if let Some((_, final_state)) = state.ended() {
        return Err(RunError::Refused(format!(
            "run `{}` has ended, in state `{final_state}`",
            run.id
        )));
    }
    state
        .machine()
        .validate_send(&request.event, &request.sender, &request.fields)
        .map_err(RunError::Refused)?;
    let current = state.instance().state.as_str();
    let taking = state.machine().states_taking(&request.event);
    if !taking.contains(&current) {
        return Err(RunError::Refused(format!(
            "run `{}` is in state `{current}`, where no transition takes `{}`; it is taken in {}",
            run.id,
            request.event,
            if taking.is_empty() {
                "no state".to_owned()
            } else {
                taking.join(", ")
            }
        )));
    }
    if run.supervisor().is_none() {
        return Err(RunError::Refused(format!(
            "run `{0}` has no supervisor running; resume it with `warden run --resume {0}`, \
             then send again",
            run.id
        )));
    }
    let id = mailbox::post(run, request)?;
    Ok(match mailbox::await_reply(run, &id, timeout)? {
        Some(reply) => Sent::Answered(Box::new(reply)),
        None => Sent::Queued(id),
    })
}

/// Copies the job's log of `run` to `out`; with `follow`, goes on as it grows until the run
/// has ended and the log is read to its end. A reader that went away (`warden log | head`)
/// ends the copy, as it would `tail`.
pub fn copy_log(run: &RunDir, follow: bool, out: &mut impl std::io::Write) -> Result<(), RunError> {
    let path = RunState::replay(run)?.log_paths()?.swap_remove(0);
    let mut tail = super::tail::Tail::new(&path, 0);
    let mut journal = JournalReader::new(run.journal());
    let mut finished = false;
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        let (_, read) = tail.read(&mut buffer).map_err(io_error(&path))?;
        if read > 0 {
            if out.write_all(&buffer).and_then(|()| out.flush()).is_err() {
                return Ok(());
            }
        } else if !follow || finished {
            return Ok(());
        } else {
            // Once the run has ended, its job wrote all it will: read to the end, then stop.
            finished = journal.read().map_or(true, |_| journal.ended().is_some());
            if !finished {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// The most of a log's tail [`log_tail`] returns: what an agent reads at once.
pub const MAX_LOG_TAIL: u64 = 1 << 20;

/// The last `lines` lines of the job's log of `run` (all of them when it has fewer), as text:
/// bytes that are not UTF-8 are replaced. At most [`MAX_LOG_TAIL`] bytes are read, from the
/// end, so a long line may be cut at its start.
pub fn log_tail(run: &RunDir, lines: usize) -> Result<String, RunError> {
    let path = RunState::replay(run)?.log_paths()?.swap_remove(0);
    tail_of(&path, lines, MAX_LOG_TAIL)
}

/// The last `lines` lines of the file at `path`, reading at most `limit` bytes from its end.
fn tail_of(path: &Path, lines: usize, limit: u64) -> Result<String, RunError> {
    let mut file = match super::files::open(path) {
        Ok(file) => file,
        // The job has not written yet.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(io_error(path)(e)),
    };
    let len = file.seek(SeekFrom::End(0)).map_err(io_error(path))?;
    let mut tail: Vec<u8> = Vec::new();
    let mut start = len;
    let mut newlines = 0;
    const BLOCK: u64 = 64 * 1024;
    // Backwards, a block at a time, until what is read holds a newline more than the lines
    // asked for (the one that ends the line before them), or the file's start, or the limit.
    while start > 0 && newlines <= lines && len - start < limit {
        let from = start.saturating_sub(BLOCK).max(len.saturating_sub(limit));
        let mut block = vec![0; (start - from) as usize];
        file.seek(SeekFrom::Start(from)).map_err(io_error(path))?;
        file.read_exact(&mut block).map_err(io_error(path))?;
        newlines += memchr::memchr_iter(b'\n', &block).count();
        block.extend_from_slice(&tail);
        tail = block;
        start = from;
    }
    let text = String::from_utf8_lossy(&tail);
    let body = text.strip_suffix('\n').unwrap_or(&text);
    if body.is_empty() || lines == 0 {
        return Ok(String::new());
    }
    let kept: Vec<&str> = body.rsplit('\n').take(lines).collect();
    let mut out: String = kept.into_iter().rev().collect::<Vec<_>>().join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail(text: &[u8], lines: usize, limit: u64) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.log");
        std::fs::write(&path, text).unwrap();
        tail_of(&path, lines, limit).unwrap()
    }

    #[test]
    fn a_tail_is_the_last_lines_as_written() {
        assert_eq!(tail(b"a\nb\nc\n", 2, 1 << 20), "b\nc\n");
        assert_eq!(tail(b"a\nb\nc", 2, 1 << 20), "b\nc");
        assert_eq!(tail(b"a\nb\nc\n", 10, 1 << 20), "a\nb\nc\n");
        assert_eq!(tail(b"a\n\nc\n", 2, 1 << 20), "\nc\n");
        assert_eq!(tail(b"", 5, 1 << 20), "");
        assert_eq!(tail(b"a\n", 0, 1 << 20), "");
        assert_eq!(tail(b"caf\xe9\n", 1, 1 << 20), "caf\u{fffd}\n");
    }

    #[test]
    fn a_tail_reads_back_across_blocks_and_stops_at_its_limit() {
        let mut log = Vec::new();
        for n in 0..20_000 {
            log.extend_from_slice(format!("line {n:05} {}\n", "x".repeat(20)).as_bytes());
        }
        let last = tail(&log, 5_000, 1 << 20);
        assert_eq!(last.lines().count(), 5_000);
        assert!(last.starts_with("line 15000 "), "{}", &last[..20]);
        assert!(last.ends_with("line 19999 xxxxxxxxxxxxxxxxxxxx\n"));
        // The limit cuts the first line kept at its start.
        let cut = tail(&log, 5_000, 1000);
        assert_eq!(cut.len(), 1000);
        assert!(cut.ends_with("line 19999 xxxxxxxxxxxxxxxxxxxx\n"));
    }

    #[test]
    fn a_log_not_written_yet_has_an_empty_tail() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(tail_of(&dir.path().join("none.log"), 3, 100).unwrap(), "");
    }
}
