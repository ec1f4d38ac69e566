//! The run store: a directory per run, `.warden/runs/<id>/` by default.
//!
//! `journal.jsonl` is the truth: every input of the run is appended and synced to disk before it
//! is acted on, so replaying the journal gives the run's state after any crash. Beside it,
//! `messages/` holds each rendered message as `NNNN-<from>-to-<to>-<template>.md`, written
//! atomically, and `lock` is held by the one supervisor of the run: a second one refuses.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::machine::{Input, Message};

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum Entry {
    /// The run started.
    Started {
        /// When.
        at: DateTime<Utc>,
        /// The protocol file.
        protocol: PathBuf,
        /// The vars given.
        vars: BTreeMap<String, serde_json::Value>,
    },
    /// An input, recorded before the machine takes it.
    Input {
        /// When it happened.
        at: DateTime<Utc>,
        /// What it was.
        input: Box<Input>,
    },
    /// A message the run sent, once its file is written.
    Message {
        /// Its number.
        seq: u64,
        /// The roles it went to.
        to: Vec<String>,
        /// Its file, relative to the run's directory.
        file: PathBuf,
    },
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

impl RunDir {
    /// The run `id` under `root` (`.warden/runs` by default).
    pub fn new(root: &Path, id: &str) -> RunDir {
        RunDir {
            id: id.to_owned(),
            dir: root.join(id),
        }
    }

    /// The journal.
    pub fn journal(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }

    /// The folder of message files.
    pub fn messages(&self) -> PathBuf {
        self.dir.join("messages")
    }

    /// The lock file.
    pub fn lock(&self) -> PathBuf {
        self.dir.join("lock")
    }

    /// Reads the journal. A last line cut short (the supervisor died while writing it) is left
    /// out, since it was never acted on; any other bad line is an error.
    pub fn read_journal(&self) -> Result<Vec<Entry>, StoreError> {
        let path = self.journal();
        let file = File::open(&path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => StoreError::NoRun(self.id.clone()),
            _ => StoreError::Io {
                path: path.clone(),
                source,
            },
        })?;
        let mut entries = Vec::new();
        let mut lines = BufReader::new(file).lines().enumerate().peekable();
        while let Some((index, line)) = lines.next() {
            let line = line.map_err(io(&path))?;
            match serde_json::from_str(&line) {
                Ok(entry) => entries.push(entry),
                Err(_) if lines.peek().is_none() => break,
                Err(error) => {
                    return Err(StoreError::Corrupt {
                        path,
                        line: index + 1,
                        message: error.to_string(),
                    })
                }
            }
        }
        Ok(entries)
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
    _lock: Flock<File>,
}

impl Store {
    /// Creates the run `id` under `root` and takes its lock.
    pub fn create(root: &Path, id: &str) -> Result<Store, StoreError> {
        let run = RunDir::new(root, id);
        std::fs::create_dir_all(root).map_err(io(root))?;
        match std::fs::create_dir(&run.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::Exists(id.to_owned()))
            }
            Err(e) => return Err(io(&run.dir)(e)),
        }
        std::fs::create_dir(run.messages()).map_err(io(&run.messages()))?;
        Store::open_locked(run)
    }

    /// Opens the existing run `id` under `root` to go on supervising it.
    pub fn open(root: &Path, id: &str) -> Result<Store, StoreError> {
        let run = RunDir::new(root, id);
        if !run.journal().exists() {
            return Err(StoreError::NoRun(id.to_owned()));
        }
        Store::open_locked(run)
    }

    fn open_locked(run: RunDir) -> Result<Store, StoreError> {
        let lock_path = run.lock();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                let holder = std::fs::read_to_string(&lock_path)
                    .ok()
                    .and_then(|text| text.trim().parse().ok());
                return Err(StoreError::Locked {
                    id: run.id.clone(),
                    holder,
                });
            }
            Err((_, errno)) => return Err(io(&lock_path)(errno.into())),
        };
        lock.set_len(0).map_err(io(&lock_path))?;
        writeln!(lock, "{}", std::process::id()).map_err(io(&lock_path))?;
        let journal_path = run.journal();
        let journal = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&journal_path)
            .map_err(io(&journal_path))?;
        cut_partial_line(&journal).map_err(io(&journal_path))?;
        Ok(Store {
            run,
            journal,
            _lock: lock,
        })
    }

    /// The run's files.
    pub fn run(&self) -> &RunDir {
        &self.run
    }

    /// Appends `entry` to the journal and syncs it to disk before returning.
    pub fn append(&mut self, entry: &Entry) -> Result<(), StoreError> {
        let mut line = serde_json::to_string(entry).expect("journal entries serialize");
        line.push('\n');
        let path = self.run.journal();
        self.journal.write_all(line.as_bytes()).map_err(io(&path))?;
        self.journal.sync_data().map_err(io(&path))
    }

    /// Writes `message` to its file (atomically: a reader never sees half a message) and
    /// records it in the journal. Returns the file's path.
    pub fn write_message(&mut self, message: &Message) -> Result<PathBuf, StoreError> {
        let name = format!(
            "{:04}-{}-to-{}-{}.md",
            message.seq,
            message.from,
            message.to.join("+"),
            message.template.as_deref().unwrap_or("text")
        );
        let path = self.run.messages().join(&name);
        let partial = self.run.messages().join(format!(".{name}.partial"));
        let mut file = File::create(&partial).map_err(io(&partial))?;
        file.write_all(message.text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(io(&partial))?;
        std::fs::rename(&partial, &path).map_err(io(&path))?;
        self.append(&Entry::Message {
            seq: message.seq,
            to: message.to.clone(),
            file: PathBuf::from("messages").join(name),
        })?;
        Ok(path)
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
            Entry::Started {
                at: now(),
                protocol: "protocols/phase5b.yaml".into(),
                vars: BTreeMap::from([("model".into(), serde_json::json!(1))]),
            },
            Entry::Input {
                at: now(),
                input: Box::new(Input::Launched {
                    pid: 12345,
                    resumed: false,
                }),
            },
            Entry::Input {
                at: now(),
                input: Box::new(Input::Send {
                    event: "delegate".into(),
                    sender: "director".into(),
                    fields: BTreeMap::new(),
                }),
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
        drop(Store::create(root.path(), "r1").unwrap());
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
    fn messages_are_written_whole_and_journaled() {
        let root = tempfile::tempdir().unwrap();
        let mut store = Store::create(root.path(), "r1").unwrap();
        let message = Message {
            seq: 7,
            at: now(),
            from: "model_trainer".into(),
            to: vec!["director".into()],
            template: Some("error_report".into()),
            transition: 3,
            text: "## Phase 5B Error Report\n".into(),
        };
        let path = store.write_message(&message).unwrap();
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
            Some(Entry::Message { seq: 7, .. })
        ));
    }
}
