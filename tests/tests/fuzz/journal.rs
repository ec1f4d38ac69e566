//! Journal replay: whatever a run's `journal.jsonl` holds (lines cut short, fields of the wrong
//! type, hostile numbers and dates, entries out of order, forged message paths), reading it,
//! replaying the run's state from it and reporting its status give a value or an error, never a
//! panic; and `inbox` never reads a file outside the run's directory.
//!
//! The seed is a real run's journal: the inputs of a shipped scenario, as the supervisor
//! journals them, with the entries around them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};
use warden::machine::Input;
use warden::run::client;
use warden::run::job::Identity;
use warden::run::snapshot::Snapshot;
use warden::run::state::RunState;
use warden::run::store::{Entry, LogLine, MessageEntry, RunDir, Started};

const START: &str = "2026-01-19T12:00:00Z";

fn start() -> DateTime<Utc> {
    START.parse().unwrap()
}

/// The journal of a run of Phase 5B through a shipped scenario, one JSON value per line.
fn seed() -> &'static [Value] {
    static SEED: OnceLock<Vec<Value>> = OnceLock::new();
    SEED.get_or_init(|| {
        let scenario = warden_tests::root()
            .join("protocols/phase5b/scenarios/pymc_logp_fixed_and_resumed.yaml");
        let (_, transcript) = warden::scenario::run(&scenario).unwrap();
        let mut entries = vec![Entry::Started(Box::new(Started {
            at: start(),
            protocol: warden_tests::root().join("protocols/phase5b.yaml"),
            vars: BTreeMap::from([("model".to_owned(), json!(1))]),
            cwd: PathBuf::from("."),
            fresh: false,
            command: None,
            on_message: None,
        }))];
        let mut launches = 0;
        let mut messages = 0;
        for (i, input) in transcript.inputs.iter().enumerate() {
            let at = start() + TimeDelta::minutes(i as i64);
            let line = matches!(input, Input::Incident(_)).then_some(LogLine {
                source: 0,
                line: 40 + i as u64,
            });
            let request = matches!(input, Input::Send { .. }).then(|| format!("{i:020}-1"));
            if let Input::Launched { pid, resumed, .. } = input {
                launches += 1;
                entries.push(Entry::Launched {
                    at,
                    n: launches,
                    job: Identity {
                        pid: *pid,
                        start_time: 1000,
                    },
                    waiter: Identity {
                        pid: pid - 1,
                        start_time: 999,
                    },
                    command: vec!["python".into(), "model_1.py".into()],
                    resumed: *resumed,
                    slurm_job: None,
                });
            }
            entries.push(Entry::Input {
                at,
                input: Box::new(input.clone()),
                line,
                request,
            });
            entries.push(Entry::Outcome(Box::default()));
            if i % 3 == 0 {
                messages += 1;
                entries.push(Entry::Message(MessageEntry {
                    seq: messages,
                    at,
                    from: "warden".into(),
                    to: vec!["director".into()],
                    template: Some("status_update".into()),
                    file: PathBuf::from(format!(
                        "messages/{messages:04}-warden-to-director-status_update.md"
                    )),
                }));
                entries.push(Entry::Offset {
                    source: 0,
                    offset: 1000 * i as u64,
                    lines: 10 * i as u64,
                });
            }
        }
        let end = start() + TimeDelta::hours(1);
        entries.push(Entry::Stopped {
            at: end,
            exit_code: Some(0),
            signal: None,
            escaped: Vec::new(),
        });
        entries.push(Entry::LaunchFailed {
            at: end,
            n: launches + 1,
            error: "no such file".into(),
        });
        entries.push(Entry::Outcome(Box::default()));
        entries.push(Entry::Ended {
            at: end,
            state: "complete".into(),
        });
        entries
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect()
    })
}

/// The run directory of one case, its snapshot taken of Phase 5B once.
fn run_dir(root: &Path) -> RunDir {
    static SNAPSHOT: OnceLock<Vec<u8>> = OnceLock::new();
    let snapshot = SNAPSHOT.get_or_init(|| {
        let snapshot =
            Snapshot::take(&warden_tests::root().join("protocols/phase5b.yaml")).unwrap();
        serde_json::to_vec(&snapshot).unwrap()
    });
    let run = RunDir::new(root, "fuzz");
    for dir in [
        run.dir.clone(),
        run.messages(),
        run.requests(),
        run.cursors(),
    ] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(run.snapshot(), snapshot).unwrap();
    run
}

/// JSON values that break readers: numbers past every width, dates at the ends of the
/// calendar, paths out of the run's directory, huge strings, the wrong types.
fn hostile_json() -> impl Strategy<Value = Value> {
    let dates = vec![
        "1970-01-01T00:00:00Z",
        "2026-01-19T11:59:59Z",
        "2026-01-19T12:00:00.999999999+14:00",
        "not a date",
        "",
        "9999-12-31T23:59:59Z",
        "+262143-12-31T23:59:59Z",
    ];
    let paths = vec![
        "messages/../../outside.md",
        "../outside.md",
        "/etc/hostname",
        "messages",
        "",
        "messages/\u{0}.md",
        "journal.jsonl",
    ];
    prop_oneof![
        3 => proptest::sample::select(vec![
            json!(-1), json!(0), json!(1), json!(u64::MAX), json!(i64::MIN), json!(u32::MAX),
            json!(1e20), json!(1.8e19), json!(1e308), json!(-1e308), json!(0.5), json!(4294967296u64),
        ]),
        2 => proptest::sample::select(dates).prop_map(|d| json!(d)),
        2 => proptest::sample::select(paths).prop_map(|p| json!(p)),
        1 => (0usize..100_000).prop_map(|n| json!("x".repeat(n))),
        1 => proptest::sample::select(vec![
            json!(null), json!(true), json!([]), json!({}), json!("incident"), json!("send"),
            json!("launched"), json!("director"), json!("watch"), json!("complete"),
            json!([1, 2]), json!({ "entry": "started" }),
        ]),
    ]
}

/// An edit of a journal.
#[derive(Debug, Clone)]
enum JournalEdit {
    /// Replaces the `node`th value of line `line` (in document order) with `with`.
    Replace {
        line: usize,
        node: usize,
        with: Value,
    },
    /// Removes the `node`th key of line `line`.
    RemoveKey { line: usize, node: usize },
    /// Removes line `line`.
    Delete(usize),
    /// Repeats line `line`.
    Duplicate(usize),
    /// Moves line `from` before line `to`.
    Move { from: usize, to: usize },
    /// Swaps in the message entry of a forged path.
    ForgedMessage { line: usize, file: String },
}

fn journal_edits() -> impl Strategy<Value = Vec<JournalEdit>> {
    let i = || 0usize..100_000;
    let edit = prop_oneof![
        4 => (i(), i(), hostile_json()).prop_map(|(line, node, with)| JournalEdit::Replace { line, node, with }),
        1 => (i(), i()).prop_map(|(line, node)| JournalEdit::RemoveKey { line, node }),
        1 => i().prop_map(JournalEdit::Delete),
        1 => i().prop_map(JournalEdit::Duplicate),
        1 => (i(), i()).prop_map(|(from, to)| JournalEdit::Move { from, to }),
        1 => (i(), proptest::sample::select(vec![
            "messages/../../outside.md", "../outside.md", "/etc/hostname", "messages/../journal.jsonl",
        ])).prop_map(|(line, file)| JournalEdit::ForgedMessage { line, file: file.to_owned() }),
    ];
    proptest::collection::vec(edit, 0..6)
}

/// How many values `value` holds, itself included.
fn count(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count).sum(),
        Value::Object(map) => map.values().map(count).sum(),
        _ => 0,
    }
}

/// Replaces the `k`th value of `value` in document order (itself first) with `with`.
fn replace_nth(value: &mut Value, k: &mut usize, with: &Value) -> bool {
    if *k == 0 {
        *value = with.clone();
        return true;
    }
    *k -= 1;
    match value {
        Value::Array(items) => items.iter_mut().any(|v| replace_nth(v, k, with)),
        Value::Object(map) => map.values_mut().any(|v| replace_nth(v, k, with)),
        _ => false,
    }
}

fn apply(lines: &[Value], edits: &[JournalEdit]) -> Vec<Value> {
    let mut lines = lines.to_vec();
    for edit in edits {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match edit {
            JournalEdit::Replace { line, node, with } => {
                let line = &mut lines[line % n];
                let mut k = node % count(line);
                replace_nth(line, &mut k, with);
            }
            JournalEdit::RemoveKey { line, node } => {
                if let Value::Object(map) = &mut lines[line % n] {
                    if !map.is_empty() {
                        let key = map.keys().nth(node % map.len()).unwrap().clone();
                        map.remove(&key);
                    }
                }
            }
            JournalEdit::Delete(line) => {
                lines.remove(line % n);
            }
            JournalEdit::Duplicate(line) => {
                let copy = lines[line % n].clone();
                lines.insert(line % n, copy);
            }
            JournalEdit::Move { from, to } => {
                let moved = lines.remove(from % n);
                lines.insert(to % n, moved);
            }
            JournalEdit::ForgedMessage { line, file } => {
                let forged = json!({
                    "entry": "message", "seq": 1, "at": START, "from": "warden",
                    "to": ["director"], "template": null, "file": file,
                });
                lines.insert(line % n, forged);
            }
        }
    }
    lines
}

/// The journal text of `lines`, with raw damage: a line cut at a byte, bytes put in.
fn text(lines: &[Value], cut: Option<(usize, usize)>, junk: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let mut json = serde_json::to_vec(line).unwrap();
        if let Some((at_line, at)) = cut {
            if at_line % lines.len().max(1) == i {
                json.truncate(at % (json.len() + 1));
                json.extend_from_slice(junk);
            }
        }
        bytes.extend(json);
        bytes.push(b'\n');
    }
    bytes
}

/// Reads, replays and reports on the journal `bytes`, and reads every inbox of the run: no
/// message read comes from outside the run's directory, forged paths and all.
fn replay_holds(bytes: &[u8]) -> Result<(), TestCaseError> {
    let root = tempfile::tempdir().unwrap();
    let run = run_dir(root.path());
    std::fs::write(run.journal(), bytes).unwrap();
    std::fs::write(root.path().join("outside.md"), "OUTSIDE").unwrap();
    let lines = bytes.split(|&b| b == b'\n').count();
    match run.read_journal() {
        Ok(_) => {}
        Err(warden::run::store::StoreError::Corrupt { line, .. }) => {
            prop_assert!(line >= 1 && line <= lines, "line {line} of {lines}")
        }
        Err(other) => prop_assert!(!other.to_string().is_empty()),
    }
    let _ = client::JournalReader::new(run.journal()).read();
    // Replaying compiles the run's protocol first, which costs more than the rest: a journal
    // that does not begin with a start is refused by it after that, as read above.
    let starts = matches!(run.read_journal().as_deref(), Ok([Entry::Started(_), ..]));
    if !starts {
        // Nothing to replay.
    } else if let Ok(state) = RunState::replay(&run) {
        let _ = client::status_of(&state, start());
        let _ = client::status_of(&state, DateTime::<Utc>::MAX_UTC);
        let _ = state.log_paths();
        let _ = state.finished();
    }
    for role in ["director", "nobody"] {
        if let Ok(delivered) = client::inbox(&run, role, true) {
            for message in delivered {
                prop_assert!(
                    !message.text.contains("OUTSIDE"),
                    "inbox read {}",
                    message.path.display()
                );
                let inside = message
                    .path
                    .canonicalize()
                    .is_ok_and(|p| p.starts_with(run.dir.canonicalize().unwrap()));
                prop_assert!(inside, "inbox read {}", message.path.display());
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(crate::config(24))]

    /// Arbitrary bytes as a journal.
    #[test]
    fn arbitrary_bytes_replay_or_fail(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        replay_holds(&bytes)?;
    }

    /// The seed journal, its entries edited, reordered, repeated and cut.
    #[test]
    fn mutated_journals_replay_or_fail(
        edits in journal_edits(),
        cut in proptest::option::of((any::<usize>(), any::<usize>())),
        junk in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let lines = apply(seed(), &edits);
        replay_holds(&text(&lines, cut, &junk))?;
    }
}

#[test]
fn the_seed_journal_replays_to_its_end() {
    let root = tempfile::tempdir().unwrap();
    let run = run_dir(root.path());
    std::fs::write(run.journal(), text(seed(), None, &[])).unwrap();
    let state = RunState::replay(&run).unwrap();
    assert_eq!(state.ended().map(|(_, s)| s), Some("complete"));
}
