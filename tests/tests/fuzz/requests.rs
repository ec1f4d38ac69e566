//! Request files: whatever a role leaves in a run's `requests/` (arbitrary bytes, a request
//! with hostile fields, a symlink out of the run, a directory, a FIFO), the mailbox lists it
//! without blocking, a request that parses is taken by the machine or refused, and every entry
//! can be answered and closed, so that the supervisor carries on.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::json;
use warden::machine::{Input, Instance};
use warden::run::mailbox::{self, Reply, Request};
use warden::run::store::RunDir;

fn now() -> DateTime<Utc> {
    "2026-01-19T12:00:00Z".parse().unwrap()
}

/// A run of Phase 5B in `error`, where most role events are taken.
fn instance() -> &'static Instance {
    static INSTANCE: OnceLock<Instance> = OnceLock::new();
    INSTANCE.get_or_init(|| {
        let m = crate::phase5b();
        let vars = BTreeMap::from([("model".to_owned(), json!(1))]);
        let mut outcome = m.start("fuzz", &vars, now()).unwrap();
        while !outcome.checks.is_empty() {
            let results = outcome
                .checks
                .iter()
                .map(|c| warden::gate::GateResult::new(&c.gate, true, "passed"))
                .collect();
            outcome = m
                .step(&outcome.instance, Input::Gates { results }, now())
                .unwrap();
        }
        let exited = Input::Exited {
            exit_code: Some(1),
            signal: None,
            slurm_state: None,
        };
        m.step(&outcome.instance, exited, now()).unwrap().instance
    })
}

/// What an entry of `requests/` is.
#[derive(Debug, Clone)]
enum Kind {
    /// A file with these bytes.
    File(Vec<u8>),
    /// A symlink to a file outside the run.
    LinkOut,
    /// A symlink to a directory.
    LinkToDir,
    /// A symlink to nothing.
    Dangling,
    /// A directory.
    Directory,
    /// A FIFO no one writes to.
    Fifo,
}

/// A request with hostile field values, as JSON bytes.
fn request_bytes() -> impl Strategy<Value = Vec<u8>> {
    let events: Vec<(String, String)> = crate::phase5b()
        .protocol()
        .events
        .iter()
        .flat_map(|(name, def)| {
            def.from
                .iter()
                .map(move |r| (name.to_string(), r.to_string()))
        })
        .collect();
    let field = prop_oneof![
        proptest::sample::select(vec![
            json!(1e20),
            json!(1.8e19),
            json!(-1),
            json!(u64::MAX),
            json!(null),
            json!(true),
            json!(""),
            json!("12h"),
            json!("1e20"),
            json!([]),
            json!({}),
            json!(["a", 1]),
            json!("{{ incident.category }}"),
            json!("```"),
        ]),
        (0usize..100_000).prop_map(|n| json!("x".repeat(n))),
    ];
    let names = prop_oneof![
        proptest::sample::select(vec![
            "summary",
            "design_change",
            "files",
            "note",
            "score",
            "algorithm_changed",
            "reason",
        ])
        .prop_map(str::to_owned),
        crate::mutate::identifier(),
    ];
    (
        proptest::sample::select(events),
        proptest::collection::btree_map(names, field, 0..6),
        any::<bool>(),
    )
        .prop_map(|((event, sender), fields, well_formed)| {
            let request = json!({ "event": event, "sender": sender, "fields": fields });
            let mut bytes = serde_json::to_vec(&request).unwrap();
            if !well_formed {
                bytes.truncate(bytes.len() / 2);
            }
            bytes
        })
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        4 => prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..512),
            request_bytes(),
        ]
        .prop_map(Kind::File),
        1 => Just(Kind::LinkOut),
        1 => Just(Kind::LinkToDir),
        1 => Just(Kind::Dangling),
        1 => Just(Kind::Directory),
        1 => Just(Kind::Fifo),
    ]
}

/// Entry names: ids as `send` writes them, and others a role could write, up to the
/// file-name limit (too long an id for its `<id>.reply.json`).
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (any::<u64>(), any::<u32>()).prop_map(|(n, pid)| format!("{n:020}-{pid}.json")),
        1 => proptest::sample::select(vec![
            ".hidden.json", "x.reply.json", "x.json.tmp", "no-suffix", "a b.json", "é.json",
            "..json", "-.json", ".json",
        ]).prop_map(str::to_owned),
        1 => (1usize..LONGEST_ID).prop_map(|n| format!("{}.json", "r".repeat(n))),
    ]
}

/// The longest id generated: `<id>.json` at the file-name limit.
const LONGEST_ID: usize = 255 - ".json".len();

fn place(run: &RunDir, outside: &std::path::Path, name: &str, kind: &Kind) {
    let path = run.requests().join(name);
    match kind {
        Kind::File(bytes) => std::fs::write(&path, bytes).unwrap(),
        Kind::LinkOut => std::os::unix::fs::symlink(outside.join("secret"), &path).unwrap(),
        Kind::LinkToDir => std::os::unix::fs::symlink(outside, &path).unwrap(),
        Kind::Dangling => std::os::unix::fs::symlink(outside.join("nothing"), &path).unwrap(),
        Kind::Directory => std::fs::create_dir(&path).unwrap(),
        Kind::Fifo => nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap(),
    }
}

proptest! {
    #![proptest_config(crate::config(64))]

    #[test]
    fn any_entry_in_requests_is_taken_or_refused_and_closed(
        entries in proptest::collection::btree_map(name(), kind(), 1..6)
    ) {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "SECRET").unwrap();
        let store = warden::run::store::Store::create(root.path(), "fuzz").unwrap();
        let run = store.run();
        for (name, kind) in &entries {
            place(run, outside.path(), name, kind);
        }
        let posted = mailbox::waiting(run);
        for (id, request) in &posted {
            prop_assert!(entries.contains_key(&format!("{id}.json")), "{id} was not placed");
            let reply = match request {
                Ok(Request { event, sender, fields }) => {
                    let input = Input::Send { event: event.clone(), sender: sender.clone(), fields: fields.clone() };
                    let state = match crate::phase5b().step(instance(), input, now()) {
                        Ok(outcome) => outcome.instance.state,
                        Err(error) => {
                            prop_assert!(!error.to_string().is_empty());
                            instance().state.clone()
                        }
                    };
                    Reply { from: instance().state.clone(), outcome: warden::run::store::Outcome { state, ..Default::default() }, files: vec![] }
                }
                Err(reason) => {
                    prop_assert!(!reason.contains("SECRET"), "{reason}");
                    let reply = Reply { from: instance().state.clone(), outcome: warden::run::store::Outcome { refused: Some(reason.clone()), ..Default::default() }, files: vec![] };
                    // What is not a request is moved aside, as the supervisor does.
                    if let Err(error) = mailbox::reject(run, id, &reply) {
                        return Err(TestCaseError::fail(format!("entry {id} cannot be moved aside: {error}")));
                    }
                    continue;
                }
            };
            if let Err(error) = mailbox::close(run, id, Some(&reply)) {
                return Err(TestCaseError::fail(format!("request {id} cannot be closed: {error}")));
            }
        }
        // Everything listed was closed: the supervisor is not given it again.
        let again: Vec<String> = mailbox::waiting(run).into_iter().map(|(id, _)| id).collect();
        let closed: Vec<&String> = posted.iter().map(|(id, _)| id).collect();
        prop_assert!(again.iter().all(|id| !closed.contains(&id)), "listed again: {again:?}");
        // What was placed outside the run is untouched.
        prop_assert_eq!(std::fs::read_to_string(outside.path().join("secret")).unwrap(), "SECRET");
    }
}
