//! A run's state saved beside its journal, so that reading a run costs what happened lately,
//! not all that ever did.
//!
//! `state.json` holds the [`RunState`] as of a point of the journal: on its first line the mark
//! of that point, on its second the state without what grows with every input, then the `send`
//! requests taken (which only the supervisor reads) and the machine's history (which only what
//! steps the machine, renders or draws the run reads), a line each.
//! The mark says how long the journal was, and hashes its first line, its last line before the
//! point and the run's `protocol.json`. A reader takes the saved state only when all of these
//! hold for the journal it reads (the journal only ever grows, so they hold until the run is
//! replaced), and replays the entries after the point; a state that is missing, unreadable,
//! of another format or that does not hold is ignored, and the journal replayed from its
//! start. The journal stays the truth: deleting `state.json` loses nothing.
//!
//! The supervisor saves the state at its checkpoints once enough entries came since the last
//! save, and when the run ends. A state whose values would not read back as they are (an
//! undefined value, a string marked safe, a number JSON cannot hold) is not saved.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use minijinja::value::{Value, ValueKind};
use serde::{Deserialize, Serialize};

use super::state::{History, Parts, RunState};
use super::store::{MessageEntry, RunDir, Store};
use super::{io_error, RunError};

/// The format of `state.json` this version writes and reads.
const FORMAT: u32 = 1;

/// The supervisor saves the state once this many entries came since it last did.
pub const SAVE_EVERY: u64 = 1000;

/// The longest last line a mark covers; a state is not saved after a longer one.
const MAX_LINE: u64 = 64 * 1024;

/// FNV-1a, 64 bits: the same on every machine and in every version, which a hash of the
/// standard library is not promised to be. It tells files apart; it is no defence against
/// someone forging one, who could as well edit the journal.
pub fn hash(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Where in which journal a saved state was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// The format of the file.
    pub format: u32,
    /// The journal's length then, in bytes: it ended with a whole entry.
    pub journal_len: u64,
    /// The entries before that point.
    pub entries: u64,
    /// The hash of the journal's first line, with its line break.
    pub first_line: u64,
    /// The length of its last line before the point, with its line break.
    pub last_len: u64,
    /// The hash of that line.
    pub last_line: u64,
    /// The hash of the run's `protocol.json`.
    pub protocol: u64,
    /// How many entries the machine's history had.
    pub history: usize,
}

/// What of the state's line the commands on messages read.
#[derive(Deserialize)]
struct MessagesPart {
    messages: Vec<MessageEntry>,
    ended: Option<(chrono::DateTime<chrono::Utc>, String)>,
}

/// A saved state that holds for the run's journal, not read further yet.
pub struct Saved {
    /// Where it was.
    pub mark: Mark,
    rest: BufReader<std::fs::File>,
}

impl Saved {
    /// The state's line, unparsed.
    fn state_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.rest.read_line(&mut line) {
            Ok(_) if line.ends_with('\n') => Some(line),
            _ => None,
        }
    }

    /// The state, with the requests taken and the machine's history when `all` (else none).
    /// `None` when it does not read back, which is then as good as no saved state.
    pub(super) fn state(mut self, all: bool) -> Option<Loaded> {
        let parts = serde_json::from_str::<Parts>(&self.state_line()?).ok()?;
        if !all {
            return Some(Loaded {
                parts,
                requests: Default::default(),
                history: History::new(),
            });
        }
        let requests = serde_json::from_str(&self.state_line()?).ok()?;
        let history = serde_json::from_str::<History>(&self.state_line()?).ok()?;
        (history.len() == self.mark.history).then_some(Loaded {
            parts,
            requests,
            history,
        })
    }
}

/// A saved state, read.
pub(super) struct Loaded {
    /// All but the requests and the history.
    pub parts: Parts,
    /// The `send` requests taken.
    pub requests: std::collections::BTreeSet<String>,
    /// The machine's history.
    pub history: History,
}

/// The saved state of `run`, if there is one that holds for its journal and for the protocol
/// whose `protocol.json` hashes to `protocol`.
pub fn read(run: &RunDir, protocol: u64) -> Result<Option<Saved>, RunError> {
    let Ok(file) = super::files::open(&run.saved_state()) else {
        return Ok(None);
    };
    let mut saved = Saved {
        mark: Mark {
            format: 0,
            journal_len: 0,
            entries: 0,
            first_line: 0,
            last_len: 0,
            last_line: 0,
            protocol: 0,
            history: 0,
        },
        rest: BufReader::new(file),
    };
    let Some(Ok(mark)) = saved.state_line().map(|l| serde_json::from_str::<Mark>(&l)) else {
        return Ok(None);
    };
    if mark.format != FORMAT || mark.protocol != protocol || !holds(run, &mark)? {
        return Ok(None);
    }
    saved.mark = mark;
    Ok(Some(saved))
}

/// Whether `mark` is a point of `run`'s journal as it is: the journal is at least as long, its
/// first line and its line before the point are the ones hashed, and a line ends there.
fn holds(run: &RunDir, mark: &Mark) -> Result<bool, RunError> {
    let path = run.journal();
    // A journal that cannot be read is the replay's to report.
    let Ok(mut file) = super::files::open(&path) else {
        return Ok(false);
    };
    let len = file.metadata().map_err(io_error(&path))?.len();
    if len < mark.journal_len
        || mark.last_len == 0
        || mark.last_len > mark.journal_len
        || mark.last_len > MAX_LINE
    {
        return Ok(false);
    }
    let mut first = Vec::new();
    BufReader::new(&mut file)
        .take(mark.journal_len)
        .read_until(b'\n', &mut first)
        .map_err(io_error(&path))?;
    if hash(&first) != mark.first_line {
        return Ok(false);
    }
    // The line before the point, and the byte before it, which ends the line before that.
    let before = u64::from(mark.last_len < mark.journal_len);
    let start = mark.journal_len - mark.last_len - before;
    let mut last = vec![0; (mark.last_len + before) as usize];
    file.seek(SeekFrom::Start(start)).map_err(io_error(&path))?;
    file.read_exact(&mut last).map_err(io_error(&path))?;
    if before == 1 && last[0] != b'\n' {
        return Ok(false);
    }
    let line = &last[before as usize..];
    Ok(line.last() == Some(&b'\n') && hash(line) == mark.last_line)
}

/// The messages `run`'s journal lists and its final state, as of its saved state (if one
/// holds), and where in the journal that is: what follows is to be read from there. Reads
/// neither the protocol nor the machine's history.
pub fn messages(run: &RunDir) -> Result<(Vec<MessageEntry>, Option<String>, u64, u64), RunError> {
    let none = (Vec::new(), None, 0, 0);
    let protocol = match super::files::read(&run.snapshot()) {
        Ok(bytes) => hash(&bytes),
        Err(_) => return Ok(none),
    };
    let Some(mut saved) = read(run, protocol)? else {
        return Ok(none);
    };
    let Some(Ok(part)) = saved
        .state_line()
        .map(|l| serde_json::from_str::<MessagesPart>(&l))
    else {
        return Ok(none);
    };
    Ok((
        part.messages,
        part.ended.map(|(_, state)| state),
        saved.mark.journal_len,
        saved.mark.entries,
    ))
}

/// Whether `value` reads back from JSON as the same value.
fn plain(value: &Value) -> bool {
    match value.kind() {
        ValueKind::None | ValueKind::Bool => true,
        ValueKind::Number => {
            value.as_i64().is_some() || f64::try_from(value.clone()).is_ok_and(f64::is_finite)
        }
        ValueKind::String => !value.is_safe(),
        ValueKind::Seq => value
            .try_iter()
            .is_ok_and(|mut items| items.all(|v| plain(&v))),
        ValueKind::Map => value.try_iter().is_ok_and(|mut keys| {
            keys.all(|key| {
                key.kind() == ValueKind::String
                    && !key.is_safe()
                    && value.get_item(&key).is_ok_and(|v| plain(&v))
            })
        }),
        _ => false,
    }
}

/// Whether every value of `state` reads back as it is.
fn savable(state: &RunState) -> bool {
    let instance = state.instance();
    let all = |map: &std::collections::BTreeMap<String, Value>| map.values().all(plain);
    all(&instance.vars)
        && all(state.start_vars())
        && all(&instance.event.fields)
        && instance.pending.as_ref().is_none_or(|p| all(&p.fields))
        && instance.history.iter().all(|h| all(&h.fields))
}

/// Saves `state`, which must be the replay of `store`'s journal as it is, when
/// [`SAVE_EVERY`] entries came since it was last saved or read, or whatever came when
/// `always`. Returns whether it was saved.
pub fn save_if_due(store: &Store, state: &mut RunState, always: bool) -> Result<bool, RunError> {
    let due = state.unsaved() >= SAVE_EVERY || (always && state.unsaved() > 0);
    if !due {
        return Ok(false);
    }
    let saved = save(store.run(), store.journal_len(), state)?;
    if saved {
        state.mark_saved();
    }
    Ok(saved)
}

/// Saves `state` as the replay of the first `journal_len` bytes of `run`'s journal. Returns
/// whether it was saved: not when its values would not read back as they are, nor after a
/// line longer than 64 KiB.
pub fn save(run: &RunDir, journal_len: u64, state: &RunState) -> Result<bool, RunError> {
    if journal_len == 0 || !savable(state) {
        return Ok(false);
    }
    let path = run.journal();
    let mut file = super::files::open(&path).map_err(io_error(&path))?;
    let mut first = Vec::new();
    BufReader::new(&mut file)
        .take(journal_len)
        .read_until(b'\n', &mut first)
        .map_err(io_error(&path))?;
    let start = journal_len.saturating_sub(MAX_LINE + 1);
    let mut tail = vec![0; (journal_len - start) as usize];
    file.seek(SeekFrom::Start(start)).map_err(io_error(&path))?;
    file.read_exact(&mut tail).map_err(io_error(&path))?;
    if tail.last() != Some(&b'\n') {
        return Ok(false);
    }
    let body = &tail[..tail.len() - 1];
    let line = match body.iter().rposition(|&b| b == b'\n') {
        Some(newline) => &tail[newline + 1..],
        None if start == 0 => &tail[..],
        None => return Ok(false),
    };
    let snapshot = run.snapshot();
    let protocol = super::files::read(&snapshot).map_err(io_error(&snapshot))?;
    let (parts, requests, history) = state.parts();
    let mark = Mark {
        format: FORMAT,
        journal_len,
        entries: state.entries(),
        first_line: hash(&first),
        last_len: line.len() as u64,
        last_line: hash(line),
        protocol: hash(&protocol),
        history: history.len(),
    };
    let mut bytes = serde_json::to_vec(&mark).expect("a mark serializes");
    bytes.push(b'\n');
    serde_json::to_writer(&mut bytes, &parts).expect("a run's state serializes");
    bytes.push(b'\n');
    serde_json::to_writer(&mut bytes, requests).expect("requests serialize");
    bytes.push(b'\n');
    serde_json::to_writer(&mut bytes, history).expect("a history serializes");
    bytes.push(b'\n');
    let target = run.saved_state();
    super::write_atomic(&target, &bytes).map_err(io_error(&target))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use chrono::{DateTime, Utc};

    use super::*;
    use crate::machine::Input;
    use crate::run::snapshot::Snapshot;
    use crate::run::state::summary;
    use crate::run::store::{Entry, Started};

    /// A role's note loops on `watch` with a message; `history` is read by its template when
    /// `reads` is.
    fn protocol(reads: bool) -> String {
        let text = if reads {
            "seen {{ history | length }}"
        } else {
            "noted {{ event.fields.note }}"
        };
        format!(
            "protocol: p
roles: {{ op: {{}} }}
channels: [{{ from: op, to: op }}]
vars: {{ limit: {{ type: number, default: 2 }} }}
events: {{ note: {{ from: [op], fields: {{ note: {{ type: string }} }} }}, stop: {{ from: [op] }} }}
states:
  start: {{ initial: true }}
  watch: {{}}
  done: {{ final: true }}
transitions:
  - {{ from: start, to: watch, do: [launch] }}
  - {{ from: watch, on: note, set: {{ limit: \"limit + 1\" }}, send: [{{ from: op, to: op, text: \"{text}\" }}] }}
  - {{ from: watch, on: stop, to: done }}
"
        )
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        "2026-01-19T12:00:00Z".parse::<DateTime<Utc>>().unwrap()
            + chrono::TimeDelta::seconds(seconds)
    }

    /// A run of `protocol` under `root`, started, with its store and state.
    fn start(root: &Path, text: &str) -> (Store, RunState) {
        let parsed = crate::protocol::parse(&root.join("p.yaml"), text.as_bytes()).unwrap();
        let mut store = Store::create(root, "r").unwrap();
        Snapshot::of(&parsed).unwrap().write(store.run()).unwrap();
        let started = Started {
            at: at(0),
            protocol: "p.yaml".into(),
            vars: BTreeMap::new(),
            cwd: root.to_path_buf(),
            fresh: false,
            command: None,
            on_message: None,
        };
        store.append(&Entry::Started(Box::new(started))).unwrap();
        let state = RunState::replay(store.run()).unwrap();
        (store, state)
    }

    /// Journals a note as the supervisor does: the input and its outcome, then the messages.
    fn note(store: &mut Store, state: &mut RunState, n: i64) {
        let entry = Entry::Input {
            at: at(n),
            input: Box::new(Input::Send {
                event: "note".into(),
                sender: "op".into(),
                fields: BTreeMap::from([("note".into(), serde_json::json!(format!("n{n}")))]),
            }),
            line: None,
            request: Some(format!("req-{n}")),
        };
        let absorbed = state.absorb(&entry).unwrap();
        let outcome = Entry::Outcome(Box::new(summary(&absorbed, &state.instance().state)));
        store.append_all(&[entry, outcome.clone()]).unwrap();
        state.absorb(&outcome).unwrap();
        for message in state.take_unwritten() {
            let written = store.write_message(&message).unwrap();
            state.absorb(&Entry::Message(written)).unwrap();
        }
    }

    /// Everything of a state, history included, as JSON.
    fn everything(state: &RunState) -> serde_json::Value {
        let (parts, requests, history) = state.parts();
        serde_json::json!({ "parts": parts, "requests": requests, "history": history })
    }

    #[test]
    fn a_saved_state_and_the_entries_after_it_give_the_journal_s_replay() {
        for reads in [false, true] {
            let root = tempfile::tempdir().unwrap();
            let (mut store, mut state) = start(root.path(), &protocol(reads));
            for n in 1..=7 {
                note(&mut store, &mut state, n);
            }
            assert!(save(store.run(), store.journal_len(), &state).unwrap());
            for n in 8..=10 {
                note(&mut store, &mut state, n);
            }
            let run = store.run().clone();
            let resumed = RunState::replay(&run).unwrap();
            let recent = RunState::recent(&run).unwrap();
            assert_eq!(everything(&resumed), everything(&state));
            assert_eq!(resumed.entries(), state.entries());
            assert_eq!(resumed.messages().len(), 10);
            assert_eq!(resumed.instance().vars["limit"].to_string(), "12.0");
            // Without the history and the requests, all else is the same; a protocol that
            // reads the history has everything read for the entries after the saved state.
            let (mut a, mut b) = (everything(&recent), everything(&state));
            assert_eq!(a["parts"], b["parts"]);
            if reads {
                assert_eq!(a, b);
            } else {
                for apart in ["history", "requests"] {
                    assert_eq!(a[apart].as_array().unwrap().len(), 3, "{apart}");
                    a[apart].take();
                    b[apart].take();
                }
                assert_eq!(a, b);
            }
            std::fs::remove_file(run.saved_state()).unwrap();
            assert_eq!(
                everything(&RunState::replay(&run).unwrap()),
                everything(&state)
            );
        }
    }

    #[test]
    fn a_saved_state_that_does_not_hold_for_the_journal_is_ignored() {
        let root = tempfile::tempdir().unwrap();
        let (mut store, mut state) = start(root.path(), &protocol(false));
        for n in 1..=4 {
            note(&mut store, &mut state, n);
        }
        assert!(save(store.run(), store.journal_len(), &state).unwrap());
        let run = store.run().clone();
        let good = std::fs::read(run.saved_state()).unwrap();
        let protocol = hash(&std::fs::read(run.snapshot()).unwrap());
        assert!(read(&run, protocol).unwrap().is_some());
        assert!(
            read(&run, protocol ^ 1).unwrap().is_none(),
            "another protocol"
        );
        let journal = std::fs::read(run.journal()).unwrap();
        drop(store);

        // Another journal in its place, as long, its last line or its first not the same. (The
        // journal is only ever appended to: what lies between is not looked at.)
        let text = String::from_utf8(journal.clone()).unwrap();
        for (from, to) in [("0004-op", "0009-op"), ("12:00:00Z", "13:00:00Z")] {
            let edited = text.replacen(from, to, 1);
            assert_eq!(edited.len(), text.len());
            std::fs::write(run.journal(), &edited).unwrap();
            assert!(read(&run, protocol).unwrap().is_none(), "{from}");
            let replayed = RunState::replay(&run).unwrap();
            assert_ne!(everything(&replayed), everything(&state));
        }
        // A shorter one.
        std::fs::write(run.journal(), &journal[..journal.len() / 2]).unwrap();
        assert!(read(&run, protocol).unwrap().is_none());
        std::fs::write(run.journal(), &journal).unwrap();
        assert!(read(&run, protocol).unwrap().is_some());

        // A state file cut short, not JSON, or of another format: the journal is replayed.
        for bad in [
            good[..good.len() / 2].to_vec(),
            b"not json\n".to_vec(),
            String::from_utf8(good.clone())
                .unwrap()
                .replacen("\"format\":1", "\"format\":99", 1)
                .into_bytes(),
        ] {
            std::fs::write(run.saved_state(), &bad).unwrap();
            assert_eq!(
                everything(&RunState::replay(&run).unwrap()),
                everything(&state)
            );
            assert_eq!(
                everything(&RunState::recent(&run).unwrap())["parts"],
                everything(&state)["parts"]
            );
        }
    }

    #[test]
    fn a_torn_last_line_after_the_saved_state_is_left_out() {
        let root = tempfile::tempdir().unwrap();
        let (mut store, mut state) = start(root.path(), &protocol(false));
        note(&mut store, &mut state, 1);
        assert!(save(store.run(), store.journal_len(), &state).unwrap());
        let run = store.run().clone();
        let len = store.journal_len();
        drop(store);
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(run.journal())
            .unwrap()
            .write_all(b"{\"entry\":\"input\",\"at\":\"2026-01-")
            .unwrap();
        assert_eq!(
            everything(&RunState::replay(&run).unwrap()),
            everything(&state)
        );
        let (messages, ended, offset, _) = messages(&run).unwrap();
        assert_eq!(messages, state.messages());
        assert_eq!(ended, None);
        assert_eq!(offset, len);
    }

    #[test]
    fn a_state_is_saved_only_when_due_and_only_with_values_that_read_back() {
        let root = tempfile::tempdir().unwrap();
        let (mut store, mut state) = start(root.path(), &protocol(false));
        note(&mut store, &mut state, 1);
        assert!(!save_if_due(&store, &mut state, false).unwrap());
        assert!(save_if_due(&store, &mut state, true).unwrap());
        assert!(
            !save_if_due(&store, &mut state, true).unwrap(),
            "nothing new"
        );
        while state.unsaved() < SAVE_EVERY {
            note(&mut store, &mut state, 2);
        }
        assert!(save_if_due(&store, &mut state, false).unwrap());
        let resumed = RunState::replay(store.run()).unwrap();
        assert_eq!(resumed.unsaved(), 0);

        for value in [
            Value::UNDEFINED,
            Value::from_safe_string("<b>".into()),
            Value::from(f64::NAN),
            Value::from(vec![Value::UNDEFINED]),
        ] {
            assert!(!plain(&value), "{value:?}");
        }
        let map: BTreeMap<String, Value> = BTreeMap::from([(
            "a".into(),
            Value::from(vec![Value::from(1), Value::from("x")]),
        )]);
        for value in [
            Value::from(1),
            Value::from(2.5),
            Value::from("s"),
            Value::from(()),
            Value::from(true),
            Value::from(map),
        ] {
            assert!(plain(&value), "{value:?}");
            let back: Value =
                serde_json::from_str(&serde_json::to_string(&value).unwrap()).unwrap();
            assert_eq!(back, value);
            assert_eq!(back.kind(), value.kind());
        }
    }
}
