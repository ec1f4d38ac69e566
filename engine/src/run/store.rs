//! The run store: a directory per run, `.warden/runs/<id>/` by default.
//!
//! `journal.jsonl` is the truth: every input of the run is appended and synced to disk before it
//! is acted on (one nothing acts on, with the next), so replaying the journal gives the run's
//! state after any crash. Beside it,
//! `messages/` holds each rendered message as `NNNN-<from>-to-<to>-<template>.md`, written
//! atomically, and `lock` is held by the one supervisor of the run: a second one refuses.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg};
use nix::libc;
use serde::{Deserialize, Serialize};

pub use crate::classify::LogLine;
use crate::machine::{Input, Message};
use crate::run::job::Identity;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum Entry {
    /// The run started. Always the first entry.
    Started(Box<Started>),
    /// An input, recorded before the machine takes it.
    Input {
        /// When it happened.
        at: DateTime<Utc>,
        /// What it was.
        input: Box<Input>,
        /// The log line it came from, for an incident.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<LogLine>,
        /// The `send` request it came from, for a role's event.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<String>,
    },
    /// What the machine did with the input before it: written with it, before anything is
    /// acted on. A replay that comes to another outcome is reported, not trusted silently.
    Outcome(Box<Outcome>),
    /// A message the run sent, once its file is written.
    Message(MessageEntry),
    /// The job was started: launch number `n`, by the waiter that records its exit.
    #[serde(rename = "job")]
    Launched {
        /// When.
        at: DateTime<Utc>,
        /// The launch's number, from 1.
        n: u32,
        /// The job's process (and process group).
        job: Identity,
        /// The waiter: the job's parent, which records its exit status.
        waiter: Identity,
        /// The command run.
        command: Vec<String>,
        /// Whether it resumed from the checkpoint.
        resumed: bool,
        /// The Slurm job id, when the job was submitted to Slurm (its `job` and `waiter` are
        /// then PID 0: no local process).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slurm_job: Option<u64>,
    },
    /// The job could not be started.
    LaunchFailed {
        /// When.
        at: DateTime<Utc>,
        /// The launch's number.
        n: u32,
        /// Why.
        error: String,
    },
    /// The job was stopped by Warden (a `stop` effect, or the stop half of `restart`). Its end
    /// is not an `exited` event.
    Stopped {
        /// When it was over.
        at: DateTime<Utc>,
        /// Its exit code, if it was running and exited.
        exit_code: Option<i32>,
        /// The signal that ended it.
        signal: Option<i32>,
        /// The processes of the job still running after SIGKILL (none, but for a process the
        /// kernel cannot end).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        escaped: Vec<Identity>,
    },
    /// How far a log was read: every line before `offset` was classified and nothing of it is
    /// waiting. A resumed supervisor reads on from here.
    Offset {
        /// The log: 0 for the job's log, then the protocol's `follow` files in order.
        source: usize,
        /// The byte offset.
        offset: u64,
        /// The lines before it.
        lines: u64,
    },
    /// The run reached a final state and its supervisor finished.
    Ended {
        /// When.
        at: DateTime<Utc>,
        /// The final state.
        state: String,
    },
}

/// A message as the journal lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageEntry {
    /// Its number.
    pub seq: u64,
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// The sending role.
    pub from: String,
    /// The roles it went to.
    pub to: Vec<String>,
    /// Its template, `None` for inline text.
    pub template: Option<String>,
    /// Its file, relative to the run's directory.
    pub file: PathBuf,
}

/// What one input did, as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Outcome {
    /// The transitions taken, as `from -> to`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taken: Vec<String>,
    /// Events no transition took.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
    /// Why a role's event was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Why the machine failed on the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// The job effects asked for, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub effects: Vec<String>,
    /// The numbers of the messages rendered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<u64>,
    /// The gates checked, as `name: passed|failed: reason`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<String>,
    /// Why messages failed to render (each was sent with its failure marked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unrendered: Vec<String>,
    /// The state after.
    pub state: String,
}

impl Outcome {
    /// This outcome, then `later`'s: what an input and the gate results it waited for did.
    pub fn then(&mut self, later: Outcome) {
        self.taken.extend(later.taken);
        self.ignored.extend(later.ignored);
        self.refused = self.refused.take().or(later.refused);
        self.failed = self.failed.take().or(later.failed);
        self.effects.extend(later.effects);
        self.messages.extend(later.messages);
        self.gates.extend(later.gates);
        self.unrendered.extend(later.unrendered);
        self.state = later.state;
    }
}

/// How a run was started: everything needed to supervise it again after a crash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Started {
    /// When.
    pub at: DateTime<Utc>,
    /// The protocol file, as given.
    pub protocol: PathBuf,
    /// The vars given.
    pub vars: BTreeMap<String, serde_json::Value>,
    /// The working directory the job runs in and relative paths are read from.
    pub cwd: PathBuf,
    /// Never resume from a checkpoint (`run --fresh`).
    #[serde(default)]
    pub fresh: bool,
    /// The command given after `--`, instead of the protocol's `job.command`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// A shell command run for each new message (`run --on-message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_message: Option<String>,
}

/// Why the store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Another supervisor holds the run.
    #[error("run `{id}` is already supervised{}; a run has one supervisor", holder.map_or_else(String::new, |pid| format!(" by process {pid}")))]
    Locked {
        /// The run.
        id: String,
        /// The process holding the lock, as it wrote itself down.
        holder: Option<u32>,
    },
    /// A run with this id exists already.
    #[error(
        "run `{0}` exists already; resume it with `warden run --resume {0}`, or choose another id"
    )]
    Exists(String),
    /// The run does not exist.
    #[error("there is no run `{0}`")]
    NoRun(String),
    /// The name given is not one a run can have.
    #[error("`{0}` is not a run id: use letters, digits, `-`, `_` and `.` only")]
    BadId(String),
    /// The journal names a message file outside the run's `messages/` folder.
    #[error("{}: message {seq} names `{}`, which is not a file of the run's messages/ folder", journal.display(), file.display())]
    ForeignMessage {
        /// The journal.
        journal: PathBuf,
        /// The message's number.
        seq: u64,
        /// The file it names.
        file: PathBuf,
    },
    /// A journal line is not an entry (other than a last line cut short by a crash).
    #[error("{}:{line}: not a journal entry: {message}", path.display())]
    Corrupt {
        /// The journal.
        path: PathBuf,
        /// The line.
        line: usize,
        /// Why.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The files of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    /// The run's id.
    pub id: String,
    /// Its directory.
    pub dir: PathBuf,
}

/// Whether `id` can name a run: letters, digits, `-`, `_` and `.`, not starting with `.`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl RunDir {
    /// The run `id` under `root` (`.warden/runs` by default).
    pub fn new(root: &Path, id: &str) -> RunDir {
        RunDir {
            id: id.to_owned(),
            dir: root.join(id),
        }
    }

    /// The existing run `id` under `root`, for a command on it: `id` must be a run id (never a
    /// path: `../x` is refused), and the run's directory, its journal and its `messages/` and
    /// `requests/` folders must not be symbolic links.
    pub fn existing(root: &Path, id: &str) -> Result<RunDir, StoreError> {
        if !valid_id(id) {
            return Err(StoreError::BadId(id.to_owned()));
        }
        let run = RunDir::new(root, id);
        match std::fs::symlink_metadata(run.journal()) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NoRun(id.to_owned()))
            }
            _ => {}
        }
        run.check_dirs()?;
        Ok(run)
    }

    /// Refuses the run when its directory or one of its folders is a symbolic link (or not a
    /// directory): nothing of a run is ever read or written through a link.
    pub fn check_dirs(&self) -> Result<(), StoreError> {
        for dir in [self.dir.clone(), self.messages(), self.requests()] {
            super::files::real_dir(&dir).map_err(io(&dir))?;
        }
        Ok(())
    }

    /// The file of the message `entry`, which must be a file of the run's `messages/` folder:
    /// a journal entry naming any other file (`../../etc/passwd`, an absolute path) is refused.
    pub fn message_file(&self, entry: &MessageEntry) -> Result<PathBuf, StoreError> {
        use std::path::Component;
        let mut parts = entry.file.components();
        let inside = matches!(
            (parts.next(), parts.next(), parts.next()),
            (Some(Component::Normal(dir)), Some(Component::Normal(name)), None)
                if dir == "messages" && !name.to_string_lossy().starts_with('.')
        );
        if !inside {
            return Err(StoreError::ForeignMessage {
                journal: self.journal(),
                seq: entry.seq,
                file: entry.file.clone(),
            });
        }
        Ok(self.dir.join(&entry.file))
    }

    /// The journal.
    pub fn journal(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }

    /// The folder of message files.
    pub fn messages(&self) -> PathBuf {
        self.dir.join("messages")
    }

    /// The protocol as the run follows it (see [`super::snapshot`]).
    pub fn snapshot(&self) -> PathBuf {
        self.dir.join("protocol.json")
    }

    /// The run's state as of a point of the journal (see [`super::saved`]).
    pub fn saved_state(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// The folder where `warden send` leaves events for the supervisor, and finds its answers.
    pub fn requests(&self) -> PathBuf {
        self.dir.join("requests")
    }

    /// The folder of each role's read mark: the last message `wait` delivered to it.
    pub fn cursors(&self) -> PathBuf {
        self.dir.join("cursors")
    }

    /// The files of launch `n`: what to run, then the job's identity and its exit status, each
    /// written by its waiter.
    pub fn launch(&self, n: u32) -> super::waiter::LaunchFiles {
        super::waiter::LaunchFiles::new(&self.dir, n)
    }

    /// The supervisor's own output, when it runs in the background.
    pub fn supervisor_log(&self) -> PathBuf {
        self.dir.join("supervisor.log")
    }

    /// The job's log when the protocol does not name one.
    pub fn job_log(&self) -> PathBuf {
        self.dir.join("job.log")
    }

    /// The lock file.
    pub fn lock(&self) -> PathBuf {
        self.dir.join("lock")
    }

    /// The process supervising the run, if one is: the run's lock is held (the kernel says so,
    /// which a stale lock file cannot fake) and the holder wrote its PID in it.
    pub fn supervisor(&self) -> Option<u32> {
        let file = super::files::open(&self.lock()).ok()?;
        let mut probe = whole_file(libc::F_WRLCK);
        fcntl(&file, FcntlArg::F_OFD_GETLK(&mut probe)).ok()?;
        if probe.l_type == libc::F_UNLCK as libc::c_short {
            return None;
        }
        let text = super::files::read_to_string(&self.lock()).ok()?;
        // A supervisor that has the lock but has not written its PID yet is still a supervisor.
        Some(text.trim().parse().unwrap_or(0))
    }

    /// Reads the journal. A last line cut short (the supervisor died while writing it) is left
    /// out, since it was never acted on; any other bad line is an error.
    pub fn read_journal(&self) -> Result<Vec<Entry>, StoreError> {
        Ok(self.read_journal_from(0, 0)?.0)
    }

    /// Reads the journal from byte `offset`, the start of a line, which `lines` whole lines
    /// come before (for the line numbers of errors): the entries from there, and the offset
    /// just after the last whole one. A last line cut short is left out, as by
    /// [`RunDir::read_journal`].
    pub fn read_journal_from(
        &self,
        offset: u64,
        lines: usize,
    ) -> Result<(Vec<Entry>, u64), StoreError> {
        use std::io::{Seek, SeekFrom};
        let path = self.journal();
        let mut file = super::files::open(&path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => StoreError::NoRun(self.id.clone()),
            _ => StoreError::Io {
                path: path.clone(),
                source,
            },
        })?;
        file.seek(SeekFrom::Start(offset)).map_err(io(&path))?;
        let mut entries = Vec::new();
        let mut end = offset;
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        let mut index = lines;
        loop {
            line.clear();
            let read = reader.read_until(b'\n', &mut line).map_err(io(&path))?;
            if read == 0 {
                break;
            }
            let whole = line.last() == Some(&b'\n');
            let body = if whole { &line[..read - 1] } else { &line[..] };
            match serde_json::from_slice::<Entry>(body) {
                Ok(entry) => {
                    entries.push(entry);
                    // Only a line with its line break is behind for good: one without is
                    // cut by the next supervisor.
                    if whole {
                        end += read as u64;
                    }
                }
                Err(_) if reader.fill_buf().map_err(io(&path))?.is_empty() => break,
                Err(error) => {
                    return Err(StoreError::Corrupt {
                        path,
                        line: index + 1,
                        message: error.to_string(),
                    })
                }
            }
            index += 1;
        }
        Ok((entries, end))
    }
}

/// A lock request for all of a file.
fn whole_file(kind: libc::c_int) -> libc::flock {
    libc::flock {
        l_type: kind as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    }
}

/// Cuts a last line left without its line break by a supervisor that died while writing it, so
/// that the next entry starts on a line of its own instead of joining (and losing) it.
fn cut_partial_line(journal: &File) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let len = journal.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut reader = journal;
    let mut tail = Vec::new();
    let start = len.saturating_sub(64 * 1024);
    reader.seek(SeekFrom::Start(start))?;
    reader.read_to_end(&mut tail)?;
    if tail.last() == Some(&b'\n') {
        return Ok(());
    }
    let keep = match tail.iter().rposition(|&b| b == b'\n') {
        Some(newline) => start + newline as u64 + 1,
        None if start == 0 => 0,
        // A single line longer than 64 KiB is not an entry this store wrote.
        None => return Ok(()),
    };
    journal.set_len(keep)?;
    journal.sync_data()
}

/// A run's store, held by its supervisor.
#[derive(Debug)]
pub struct Store {
    run: RunDir,
    journal: File,
    /// The journal's length: every byte of it is a whole entry this store or one before it
    /// wrote.
    len: u64,
    /// Whether entries were written since the last sync.
    unsynced: bool,
    /// Holds an open-file-description lock on the whole file, released when it is closed.
    _lock: File,
}

impl Store {
    /// Creates the run `id` under `root` and takes its lock.
    pub fn create(root: &Path, id: &str) -> Result<Store, StoreError> {
        if !valid_id(id) {
            return Err(StoreError::BadId(id.to_owned()));
        }
        let run = RunDir::new(root, id);
        std::fs::create_dir_all(root).map_err(io(root))?;
        match std::fs::create_dir(&run.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::Exists(id.to_owned()))
            }
            Err(e) => return Err(io(&run.dir)(e)),
        }
        for dir in [run.messages(), run.requests(), run.cursors()] {
            std::fs::create_dir(&dir).map_err(io(&dir))?;
        }
        Store::open_locked(run)
    }

    /// Opens the existing run `id` under `root` to go on supervising it.
    pub fn open(root: &Path, id: &str) -> Result<Store, StoreError> {
        let run = RunDir::existing(root, id)?;
        Store::open_locked(run)
    }

    fn open_locked(run: RunDir) -> Result<Store, StoreError> {
        let lock_path = run.lock();
        // Never through a link: a `lock` replaced by one would have its target truncated.
        let mut lock = super::files::open_with(
            super::files::options()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true),
            &lock_path,
        )
        .map_err(io(&lock_path))?;
        match fcntl(&lock, FcntlArg::F_OFD_SETLK(&whole_file(libc::F_WRLCK))) {
            Ok(_) => {}
            Err(Errno::EAGAIN | Errno::EACCES) => {
                return Err(StoreError::Locked {
                    id: run.id.clone(),
                    holder: run.supervisor(),
                })
            }
            Err(errno) => return Err(io(&lock_path)(errno.into())),
        }
        lock.set_len(0).map_err(io(&lock_path))?;
        writeln!(lock, "{}", std::process::id()).map_err(io(&lock_path))?;
        let journal_path = run.journal();
        let journal = super::files::open_with(
            super::files::options().create(true).read(true).append(true),
            &journal_path,
        )
        .map_err(io(&journal_path))?;
        cut_partial_line(&journal).map_err(io(&journal_path))?;
        let len = journal.metadata().map_err(io(&journal_path))?.len();
        Ok(Store {
            run,
            journal,
            len,
            unsynced: false,
            _lock: lock,
        })
    }

    /// The run's files.
    pub fn run(&self) -> &RunDir {
        &self.run
    }

    /// The journal's length in bytes: where the next entry goes.
    pub fn journal_len(&self) -> u64 {
        self.len
    }

    /// Appends `entry` to the journal and syncs it to disk before returning.
    pub fn append(&mut self, entry: &Entry) -> Result<(), StoreError> {
        self.append_all(std::slice::from_ref(entry))
    }

    /// Appends `entries` to the journal in one write and syncs them to disk before returning,
    /// with any written before them unsynced.
    pub fn append_all(&mut self, entries: &[Entry]) -> Result<(), StoreError> {
        self.append_unsynced(entries)?;
        self.sync()
    }

    /// Appends `entries` to the journal in one write, to be synced by the next
    /// [`Store::append_all`] or [`Store::sync`]: for entries nothing outside the journal follows
    /// from. A reader sees them at once; a crash of the machine before the sync may lose them,
    /// never a later entry without them.
    pub fn append_unsynced(&mut self, entries: &[Entry]) -> Result<(), StoreError> {
        let mut lines = String::new();
        for entry in entries {
            lines.push_str(&serde_json::to_string(entry).expect("journal entries serialize"));
            lines.push('\n');
        }
        let path = self.run.journal();
        self.journal
            .write_all(lines.as_bytes())
            .map_err(io(&path))?;
        self.len += lines.len() as u64;
        self.unsynced = true;
        Ok(())
    }

    /// Syncs what was appended unsynced, if anything was.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if self.unsynced {
            let path = self.run.journal();
            self.journal.sync_data().map_err(io(&path))?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Writes `message` to its file (atomically: a reader never sees half a message) and
    /// records it in the journal. Returns the journal's entry, which names the file.
    pub fn write_message(&mut self, message: &Message) -> Result<MessageEntry, StoreError> {
        let name = format!(
            "{:04}-{}-to-{}-{}.md",
            message.seq,
            message.from,
            message.to.join("+"),
            message.template.as_deref().unwrap_or("text")
        );
        // A `messages/` replaced by a link since the run was opened is refused, not followed.
        let dir = self.run.messages();
        super::files::real_dir(&dir).map_err(io(&dir))?;
        let path = dir.join(&name);
        super::write_atomic(&path, file_text(&message.text).as_bytes()).map_err(io(&path))?;
        let entry = MessageEntry {
            seq: message.seq,
            at: message.at,
            from: message.from.clone(),
            to: message.to.clone(),
            template: message.template.clone(),
            file: PathBuf::from("messages").join(name),
        };
        self.append(&Entry::Message(entry.clone()))?;
        Ok(entry)
    }
}

/// A message's text as its file holds it: a text file ends with a line break, whatever the
/// template's last line did.
pub fn file_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.ends_with('\n') {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(format!("{text}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-01-19T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn entries_are_journaled_and_read_back() {
        let root = tempfile::tempdir().unwrap();
        let mut store = Store::create(root.path(), "r1").unwrap();
        let entries = [
            Entry::Started(Box::new(Started {
                at: now(),
                protocol: "protocols/phase5b.yaml".into(),
                vars: BTreeMap::from([("model".into(), serde_json::json!(1))]),
                cwd: "/work".into(),
                fresh: false,
                command: None,
                on_message: None,
            })),
            Entry::Input {
                at: now(),
                input: Box::new(Input::Launched {
                    pid: 12345,
                    resumed: false,
                    command: None,
                    slurm_job: None,
                }),
                line: None,
                request: None,
            },
            Entry::Input {
                at: now(),
                input: Box::new(Input::Send {
                    event: "delegate".into(),
                    sender: "director".into(),
                    fields: BTreeMap::new(),
                }),
                line: None,
                request: Some("1-2".into()),
            },
            Entry::Offset {
                source: 0,
                offset: 4096,
                lines: 80,
            },
        ];
        for entry in &entries {
            store.append(entry).unwrap();
        }
        assert_eq!(store.run().read_journal().unwrap(), entries);
    }

    #[test]
    fn a_second_supervisor_refuses_and_names_the_first() {
        let root = tempfile::tempdir().unwrap();
        let _first = Store::create(root.path(), "r1").unwrap();
        let error = Store::open(root.path(), "r1").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "run `r1` is already supervised by process {}; a run has one supervisor",
                std::process::id()
            )
        );
        assert!(matches!(
            Store::create(root.path(), "r1"),
            Err(StoreError::Exists(_))
        ));
    }

    #[test]
    fn the_lock_is_released_with_its_supervisor() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::create(root.path(), "r1").unwrap();
        let run = store.run().clone();
        assert_eq!(run.supervisor(), Some(std::process::id()));
        drop(store);
        assert_eq!(
            run.supervisor(),
            None,
            "the lock file stays, the lock does not"
        );
        assert!(Store::open(root.path(), "r1").is_ok());
        assert!(matches!(
            Store::open(root.path(), "nope"),
            Err(StoreError::NoRun(_))
        ));
    }

    #[test]
    fn a_last_line_cut_short_by_a_crash_is_left_out_and_cut_on_reopening() {
        let root = tempfile::tempdir().unwrap();
        let entry = Entry::Input {
            at: now(),
            input: Box::new(Input::Tick),
            line: None,
            request: None,
        };
        let journal = {
            let mut store = Store::create(root.path(), "r1").unwrap();
            store.append(&entry).unwrap();
            store.run().journal()
        };
        // The supervisor dies while writing its second entry.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&journal)
            .unwrap()
            .write_all(b"{\"entry\":\"input\",\"at\":\"2026-01-")
            .unwrap();
        let run = RunDir::new(root.path(), "r1");
        assert_eq!(run.read_journal().unwrap(), std::slice::from_ref(&entry));
        // The next supervisor's entries follow the last whole one, none lost.
        let mut store = Store::open(root.path(), "r1").unwrap();
        store.append(&entry).unwrap();
        assert_eq!(run.read_journal().unwrap(), [entry.clone(), entry.clone()]);
    }

    #[test]
    fn a_bad_line_before_the_last_is_damage_not_a_crash() {
        let root = tempfile::tempdir().unwrap();
        let mut store = Store::create(root.path(), "r1").unwrap();
        let entry = Entry::Input {
            at: now(),
            input: Box::new(Input::Tick),
            line: None,
            request: None,
        };
        store.append(&entry).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(store.run().journal())
            .unwrap()
            .write_all(b"not json\n")
            .unwrap();
        store.append(&entry).unwrap();
        let error = store.run().read_journal().unwrap_err();
        assert!(
            matches!(error, StoreError::Corrupt { line: 2, .. }),
            "{error}"
        );
    }

    #[test]
    fn a_message_file_ends_with_a_line_break() {
        let root = tempfile::tempdir().unwrap();
        let mut store = Store::create(root.path(), "r1").unwrap();
        let message = Message {
            seq: 1,
            at: now(),
            from: "warden".into(),
            to: vec!["director".into()],
            template: None,
            transition: None,
            text: "no line break".into(),
        };
        let entry = store.write_message(&message).unwrap();
        let written = std::fs::read_to_string(store.run().dir.join(&entry.file)).unwrap();
        assert_eq!(written, "no line break\n");
    }

    #[test]
    fn messages_are_written_whole_and_journaled() {
        let root = tempfile::tempdir().unwrap();
        let mut store = Store::create(root.path(), "r1").unwrap();
        let message = Message {
            seq: 7,
            at: now(),
            from: "model_trainer".into(),
            to: vec!["director".into()],
            template: Some("error_report".into()),
            transition: Some(3),
            text: "## Phase 5B Error Report\n".into(),
        };
        let entry = store.write_message(&message).unwrap();
        let path = store.run().dir.join(&entry.file);
        assert_eq!(
            path.file_name().unwrap(),
            "0007-model_trainer-to-director-error_report.md"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), message.text);
        let names: Vec<_> = std::fs::read_dir(store.run().messages())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no partial file left behind: {names:?}");
        assert!(matches!(
            store.run().read_journal().unwrap().last(),
            Some(Entry::Message(MessageEntry { seq: 7, .. }))
        ));
    }

    #[test]
    fn a_lock_replaced_by_a_link_is_refused_and_its_target_kept() {
        let root = tempfile::tempdir().unwrap();
        drop(Store::create(root.path(), "r1").unwrap());
        let run = RunDir::new(root.path(), "r1");
        let target = root.path().join("precious");
        std::fs::write(&target, "data").unwrap();
        std::fs::remove_file(run.lock()).unwrap();
        std::os::unix::fs::symlink(&target, run.lock()).unwrap();
        let error = Store::open(root.path(), "r1").unwrap_err();
        assert!(
            error.to_string().ends_with(
                "lock: is a symbolic link, which Warden never follows in a run's directory"
            ),
            "{error}"
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "data");
        assert_eq!(run.supervisor(), None);
    }

    #[test]
    fn a_run_whose_folders_are_links_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let mut store = Store::create(root.path(), "r1").unwrap();
        let run = store.run().clone();
        // Replaced while the run is supervised: the next message is not written through it.
        std::fs::remove_dir(run.messages()).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), run.messages()).unwrap();
        let message = Message {
            seq: 1,
            at: now(),
            from: "a".into(),
            to: vec!["b".into()],
            template: None,
            transition: Some(0),
            text: "hello".into(),
        };
        let error = store.write_message(&message).unwrap_err();
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
        drop(store);
        let error = Store::open(root.path(), "r1").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(&format!("{}: is a symbolic link", run.messages().display())),
            "{error}"
        );
        // A run's directory that is a link is refused too.
        std::fs::remove_file(run.messages()).unwrap();
        std::fs::create_dir(run.messages()).unwrap();
        assert!(Store::open(root.path(), "r1").is_ok());
        std::os::unix::fs::symlink(&run.dir, root.path().join("r2")).unwrap();
        let error = RunDir::existing(root.path(), "r2").unwrap_err();
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
    }

    #[test]
    fn a_run_is_named_by_an_id_never_a_path() {
        let root = tempfile::tempdir().unwrap();
        drop(Store::create(root.path(), "r1").unwrap());
        for id in ["../r1", "r1/.", "/tmp", "", ".r1"] {
            let error = RunDir::existing(&root.path().join("sub"), id).unwrap_err();
            assert!(matches!(error, StoreError::BadId(_)), "{id}: {error}");
            assert!(matches!(
                Store::open(root.path(), id),
                Err(StoreError::BadId(_))
            ));
            assert!(matches!(
                Store::create(root.path(), id),
                Err(StoreError::BadId(_))
            ));
        }
        assert_eq!(
            RunDir::existing(root.path(), "../x")
                .unwrap_err()
                .to_string(),
            "`../x` is not a run id: use letters, digits, `-`, `_` and `.` only"
        );
        assert!(RunDir::existing(root.path(), "r1").is_ok());
    }

    #[test]
    fn a_message_file_is_one_of_the_run_s_messages() {
        let run = RunDir::new(Path::new("/runs"), "r1");
        let entry = |file: &str| MessageEntry {
            seq: 3,
            at: now(),
            from: "a".into(),
            to: vec!["b".into()],
            template: None,
            file: file.into(),
        };
        assert_eq!(
            run.message_file(&entry("messages/0003-a-to-b-text.md"))
                .unwrap(),
            Path::new("/runs/r1/messages/0003-a-to-b-text.md")
        );
        for forged in [
            "/etc/passwd",
            "../../etc/passwd",
            "messages/../../x",
            "messages/../lock",
            "journal.jsonl",
            "messages/sub/x.md",
            "messages/.hidden",
            "messages",
            "./messages/x.md",
        ] {
            let error = run.message_file(&entry(forged)).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains(&format!("message 3 names `{forged}`")),
                "{forged}: {error}"
            );
        }
    }
}
