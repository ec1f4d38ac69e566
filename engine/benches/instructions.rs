//! Instruction counts: the benchmarks of `machine.rs` and `classify.rs` as a plain program that
//! does its setup and then `N` iterations of one of them, for `valgrind --tool=callgrind`.
//! Timings on the reference machine move by a third from run to run; instruction counts do not,
//! so they are what a change to the machine or the classifier is judged by.
//!
//! `instructions WHAT N`, WHAT one of:
//!
//! - `step`: a step through one transition with one guard (`step_with_one_guard`);
//! - `render`: Phase 5B's error report rendered (`phase5b_error_report_render`);
//! - `incident`: a whole Phase 5B incident step, error report included (`phase5b_error_report`);
//! - `classify-json`: JSON progress lines, with the metric rules; an iteration is a line;
//! - `classify-plain`: plain progress lines, metric rules removed; an iteration is a line.
//!
//! An iteration is the body of the divan benchmark it copies, except that the time passed to
//! the machine is parsed once in the setup, not once per iteration. The setup does not depend
//! on `N` (the classifier's logs are always 50,000 lines), so the instructions of `N` iterations
//! less those of 0 are the iterations' own; `bash engine/benches/instructions.sh` prints that
//! difference divided by `N` for each.
//! Run by `cargo bench` (which passes only `--bench`), it does nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use warden::classify::{Classifier, Incident};
use warden::machine::{Input, Instance, Machine};
use warden::protocol::{self, IncidentSeverity, Protocol};

const USAGE: &str =
    "usage: instructions WHAT N (WHAT: step, render, incident, classify-json, classify-plain)";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--bench") {
        args.remove(0);
    }
    let (what, n) = match args.as_slice() {
        // `cargo bench` with no benchmark named, or `cargo test --benches`.
        [] => return ExitCode::SUCCESS,
        [what, n] => match n.parse::<usize>() {
            Ok(n) => (what.as_str(), n),
            Err(_) => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match what {
        "step" => step(n),
        "render" => render(n),
        "incident" => incident_step(n),
        "classify-json" => classify(&phase5b(), &json_log(), n),
        "classify-plain" => classify(&without_metric_rules(), &plain_log(), n),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

fn now() -> DateTime<Utc> {
    "2026-01-19T12:00:00Z".parse().unwrap()
}

/// The incident of `machine.rs`.
fn incident() -> Incident {
    Incident {
        category: "implementation".into(),
        owner: "code_translator".into(),
        severity: IncidentSeverity::Critical,
        action: Some("@code_translator: investigate and fix the code.".into()),
        exception: Some("AttributeError".into()),
        message: "'TensorVariable' object has no attribute 'logp'".into(),
        line: "AttributeError: 'TensorVariable' object has no attribute 'logp'".into(),
        line_number: 3,
        file: Some("output/implementation/code/model_1.py".into()),
        code_line: Some(45),
        before: vec!["Sampling 4 chains".into(); 5],
        after: vec![],
        traceback: vec![
            "Traceback (most recent call last):".into(),
            "  File \"output/implementation/code/model_1.py\", line 45, in <module>".into(),
            "    log_prob = latent_var.logp(observed)".into(),
            "AttributeError: 'TensorVariable' object has no attribute 'logp'".into(),
        ],
        metric: None,
        count: 1,
        first_seen: now(),
        last_seen: now(),
    }
}

/// `step_with_one_guard` of `machine.rs`.
fn step(n: usize) {
    let text = "protocol: bench
vars: { limit: { type: integer, default: 3 } }
states:
  watch: { initial: true }
  done: { final: true }
transitions:
  - { from: watch, on: exited, if: \"job.exit_code == 0\", to: watch }
  - { from: watch, on: incident, to: done }
";
    let protocol = protocol::parse(Path::new("bench.yaml"), text.as_bytes()).unwrap();
    let machine = Machine::new(protocol, &BTreeMap::new()).unwrap();
    let run = machine
        .start("bench", &BTreeMap::new(), now())
        .unwrap()
        .instance;
    let at = now();
    for _ in 0..n {
        let input = Input::Exited {
            exit_code: Some(0),
            signal: None,
        };
        let out = machine.step(black_box(&run), input, at).unwrap();
        assert_eq!(out.transitions.len(), 1);
        black_box(out);
    }
}

/// Phase 5B compiled, and a run of it watching a launched job (as in `machine.rs`).
fn phase5b_watching() -> (Machine, Instance) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocols/phase5b.yaml");
    let protocol = protocol::load(&path).unwrap();
    let (templates, _) = protocol::load_templates(&protocol);
    let machine = Machine::new(protocol, &templates).unwrap();
    let vars = BTreeMap::from([("model".to_owned(), serde_json::json!(1))]);
    let run = machine.start("bench", &vars, now()).unwrap().instance;
    let run = machine
        .step(
            &run,
            Input::Launched {
                pid: 12345,
                resumed: false,
                command: None,
            },
            now(),
        )
        .unwrap()
        .instance;
    (machine, run)
}

/// `phase5b_error_report_render` of `machine.rs`.
fn render(n: usize) {
    let (machine, run) = phase5b_watching();
    let run = machine
        .step(&run, Input::Incident(Box::new(incident())), now())
        .unwrap()
        .instance;
    let at = now();
    for _ in 0..n {
        let text = machine.render(black_box(&run), "error_report", at).unwrap();
        assert!(text.starts_with("## Phase 5B Error Report"));
        black_box(text);
    }
}

/// `phase5b_error_report` of `machine.rs`.
fn incident_step(n: usize) {
    let (machine, run) = phase5b_watching();
    let incident = incident();
    let at = now();
    for _ in 0..n {
        let out = machine
            .step(
                black_box(&run),
                Input::Incident(Box::new(incident.clone())),
                at,
            )
            .unwrap();
        assert_eq!(
            out.messages().next().unwrap().template.as_deref(),
            Some("error_report")
        );
        black_box(out);
    }
}

/// How many lines the setup writes; more iterations than this go round them again.
const LINES: usize = 50_000;

fn phase5b() -> Protocol {
    protocol::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocols/phase5b.yaml"))
        .unwrap()
}

fn without_metric_rules() -> Protocol {
    let mut protocol = phase5b();
    for category in &mut protocol.categories {
        category.rules.retain(|rule| rule.metric.is_none());
    }
    protocol
}

/// The first `LINES` lines of `plain_log` in `classify.rs`.
fn plain_log() -> Vec<u8> {
    let mut log = String::new();
    for i in 1..=LINES as u64 {
        if i % 10_000 == 0 {
            log.push_str("/venv/lib/python3.11/site-packages/torch/nn/modules/module.py:1511: UserWarning: a deprecated option\n");
        } else {
            let _ = writeln!(
                log,
                "Epoch {}/400 - step {i} - loss: 0.{:04} - val_loss: 0.{:04} - lr: 3.0e-4 - 212ms/step",
                i / 1000,
                i % 9973,
                i % 8971
            );
        }
    }
    log.into_bytes()
}

/// The first `LINES` lines of `json_log` in `classify.rs`.
fn json_log() -> Vec<u8> {
    let mut log = String::new();
    for i in 1..=LINES as u64 {
        let _ = writeln!(
            log,
            "{{\"timestamp\": {}.5, \"epoch\": {}, \"loss\": 0.{:04}, \"elapsed_seconds\": {}.0, \"r_hat\": 1.0{}}}",
            1_768_836_852 + 60 * i,
            i / 100,
            i % 9973,
            60 * i,
            i % 9
        );
    }
    log.into_bytes()
}

/// `n` lines of `log` classified as `classify.rs`'s `run` reads a log: 64 KiB at a time, a
/// partial last line carried over; past the end of `log`, from its start again.
fn classify(protocol: &Protocol, log: &[u8], n: usize) {
    let mut classifier = Classifier::new(protocol).unwrap();
    // Where each line ends, so that `n` lines are a prefix of the log (or of a pass over it).
    let ends: Vec<usize> = line_ends(log);
    let at = DateTime::<Utc>::UNIX_EPOCH;
    let mut out = Vec::new();
    let mut found = 0;
    let mut carry = Vec::new();
    let mut left = n;
    while left > 0 {
        let lines = left.min(ends.len());
        let pass = &log[..ends[lines - 1]];
        for chunk in pass.chunks(64 * 1024) {
            carry.extend_from_slice(black_box(chunk));
            let used = classifier.push_chunk(&carry, at, &mut out);
            carry.drain(..used);
            found += out.len();
            out.clear();
        }
        left -= lines;
    }
    classifier.flush(at, true, &mut out);
    black_box(found + out.len());
}

/// The offset just past each newline of `log`.
fn line_ends(log: &[u8]) -> Vec<usize> {
    log.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect()
}
