//! Reading a long run: `warden status`, `inbox`, `wait` and `list` on runs of 100,000 journal
//! entries, each as a whole process of the release binary, timed by hyperfine, with its peak
//! RSS from `/usr/bin/time` (goal: <= 20 ms each).
//!
//! The runs are made with the engine as a supervisor makes them: a role's `note` event, which a
//! targetless transition takes, journaled 49,998 times with its outcome through the run's store,
//! then one `ping`, which sends a message to `lead`. The state is saved as the supervisor saves
//! it at its checkpoints, every [`saved::SAVE_EVERY`] entries: the run `saved` had its state saved
//! after its last entry; the run `behind` has the most entries after its saved state a
//! supervisor leaves (999); `list` reads both.
//!
//! Run with `cargo bench -p warden-tests --bench reads`; `WARDEN_BIN=path` measures another
//! binary on the same runs (one from before the saved state, say). Needs `hyperfine`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use warden::machine::Input;
use warden::run::saved;
use warden::run::snapshot::Snapshot;
use warden::run::state::{summary, RunState};
use warden::run::store::{Entry, Started, Store};

const PROTOCOL: &str = "protocol: reads
roles: { op: {}, lead: {} }
channels: [{ from: op, to: lead }]
events:
  note: { from: [op], fields: { step: { type: integer } } }
  ping: { from: [op] }
states:
  watch: { initial: true }
  done: { final: true }
transitions:
  - { from: watch, on: note }
  - { from: watch, on: ping, send: [{ from: op, to: lead, text: \"ping at {{ event.at }}\" }] }
  - { from: watch, on: exited, to: done }
";

/// Journals a role's event as the supervisor does, the input and its outcome together, into
/// `batch`, which `flush` appends; the messages it rendered are written at once.
fn send(store: &mut Store, state: &mut RunState, batch: &mut Vec<Entry>, event: &str, n: u64) {
    let at = chrono::Utc::now();
    let entry = Entry::Input {
        at,
        input: Box::new(Input::Send {
            event: event.into(),
            sender: "op".into(),
            fields: match event {
                "note" => BTreeMap::from([("step".into(), serde_json::json!(n))]),
                _ => BTreeMap::new(),
            },
        }),
        line: None,
        request: Some(format!("{}-{n}", at.timestamp_millis())),
    };
    let absorbed = state.absorb(&entry).unwrap();
    let outcome = Entry::Outcome(Box::new(summary(&absorbed, &state.instance().state)));
    state.absorb(&outcome).unwrap();
    batch.extend([entry, outcome]);
    let messages = state.take_unwritten();
    if !messages.is_empty() {
        flush(store, batch);
    }
    for message in messages {
        let written = store.write_message(&message).unwrap();
        state.absorb(&Entry::Message(written)).unwrap();
    }
}

/// Appends `batch` in one write: a supervisor syncs every entry, which would make the journal
/// take minutes to write and measure nothing more.
fn flush(store: &mut Store, batch: &mut Vec<Entry>) {
    store.append_all(batch).unwrap();
    batch.clear();
}

/// A run `id` under `root` of `entries` journal entries, its state saved every
/// [`saved::SAVE_EVERY`] entries and then, with `save_last`, after its last.
fn make(root: &Path, protocol: &Path, id: &str, entries: u64, save_last: bool) {
    let parsed = warden::protocol::parse(protocol, PROTOCOL.as_bytes()).unwrap();
    let mut store = Store::create(root, id).unwrap();
    Snapshot::of(&parsed).unwrap().write(store.run()).unwrap();
    let started = Started {
        at: chrono::Utc::now(),
        protocol: protocol.to_path_buf(),
        vars: BTreeMap::new(),
        cwd: protocol.parent().unwrap().to_path_buf(),
        fresh: false,
        command: None,
        on_message: None,
    };
    store.append(&Entry::Started(Box::new(started))).unwrap();
    let mut state = RunState::replay(store.run()).unwrap();
    let mut n = 0;
    let mut batch = Vec::new();
    // The ping's three entries come last.
    while state.entries() + 3 < entries {
        n += 1;
        send(&mut store, &mut state, &mut batch, "note", n);
        // The supervisor's checkpoint, every 500 notes: it saves the state when it is due.
        if n % 500 == 0 {
            flush(&mut store, &mut batch);
            saved::save_if_due(&store, &mut state, false).unwrap();
        }
    }
    send(&mut store, &mut state, &mut batch, "ping", n + 1);
    flush(&mut store, &mut batch);
    assert_eq!(state.messages().len(), 1, "{:?}", state.failures());
    if save_last {
        saved::save_if_due(&store, &mut state, true).unwrap();
    }
    let lines = std::fs::read(store.run().journal())
        .unwrap()
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    println!(
        "run {id}: {lines} journal entries, {} after the saved state",
        state.unsaved()
    );
}

/// The mean and standard deviation of `command`'s time, and its mean CPU time (user and
/// system), in ms, by hyperfine. `prepare`, if given, runs before each.
fn hyperfine(dir: &Path, command: &str, prepare: Option<&str>) -> (f64, f64, f64) {
    let json = dir.join("hyperfine.json");
    let mut hyperfine = Command::new("hyperfine");
    if let Some(prepare) = prepare {
        hyperfine.args(["--prepare", prepare]);
    }
    let status = hyperfine
        .current_dir(dir)
        .args(["-N", "--warmup", "3", "--runs", "30", "--export-json"])
        .arg(&json)
        .arg(command)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("hyperfine runs (apt-get install hyperfine)");
    assert!(status.success(), "{command}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let result = &report["results"][0];
    let ms = |key: &str| result[key].as_f64().unwrap() * 1000.0;
    (ms("mean"), ms("stddev"), ms("user") + ms("system"))
}

/// The peak RSS of `command` in MiB, the most of three runs, by `/usr/bin/time`; `prepare`
/// runs before each.
fn peak_rss(dir: &Path, command: &str, prepare: Option<&str>) -> f64 {
    (0..3)
        .map(|_| {
            if let Some(prepare) = prepare {
                let mut words = prepare.split(' ');
                let status = Command::new(words.next().unwrap())
                    .args(words)
                    .current_dir(dir)
                    .status()
                    .unwrap();
                assert!(status.success(), "{prepare}");
            }
            let output = Command::new("/usr/bin/time")
                .current_dir(dir)
                .args(["-f", "%M"])
                .args(command.split(' '))
                .output()
                .unwrap();
            assert!(output.status.success(), "{command}: {output:?}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            let kib: f64 = stderr.lines().last().unwrap().trim().parse().unwrap();
            kib / 1024.0
        })
        .fold(0.0, f64::max)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this with no arguments too,
    // and should not spend a minute making journals: only a bench run measures.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let binary: PathBuf = match std::env::var_os("WARDEN_BIN") {
        Some(path) => PathBuf::from(path),
        None => warden_tests::binary().to_path_buf(),
    };
    let dir = tempfile::tempdir().unwrap();
    let protocol = dir.path().join("reads.yaml");
    std::fs::write(&protocol, PROTOCOL).unwrap();
    let root = dir.path().join(".warden/runs");
    make(&root, &protocol, "saved", 100_000, true);
    make(&root, &protocol, "behind", 100_000, false);
    let bin = binary.display();
    println!("binary: {bin}");
    println!("| command | mean ± σ | CPU | peak RSS |");
    println!("|---|---|---|---|");
    // `wait` finds the message unread each time: its read mark is taken away before.
    let unread = Some("rm -f .warden/runs/saved/cursors/lead .warden/runs/behind/cursors/lead");
    for (command, prepare) in [
        (format!("{bin} status saved"), None),
        (format!("{bin} status behind"), None),
        (format!("{bin} inbox saved --role lead"), None),
        (format!("{bin} inbox behind --role lead"), None),
        (
            format!("{bin} wait saved --role lead --timeout 10s"),
            unread,
        ),
        (
            format!("{bin} wait behind --role lead --timeout 10s"),
            unread,
        ),
        (format!("{bin} list"), None),
    ] {
        let (mean, sd, cpu) = hyperfine(dir.path(), &command, prepare);
        let rss = peak_rss(dir.path(), &command, prepare);
        let shown = command.replace(&bin.to_string(), "warden");
        println!("| `{shown}` | {mean:.1} ms ± {sd:.1} | {cpu:.1} ms | {rss:.1} MiB |");
    }
}
