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
//! - `classify-plain`: plain progress lines, metric rules removed; an iteration is a line;
//! - `classify-heavy`: a metric-heavy log (`key=value`, JSON and `INFO` lines), with the metric
//!   rules; an iteration is a line;
//! - `feed-heavy`: the same log on a run's path, as `tests/benches/scan.rs` reads it: through a
//!   [`Feed`] with a run's vars and cadence, its records merged into the facts and timed, the
//!   facts taken after every chunk; an iteration is a line.
//!
//! An iteration is the body of the divan benchmark it copies, except that the time passed to
//! the machine is parsed once in the setup, not once per iteration. The setup does not depend
//! on `N` (the classifier's logs are always 50,000 lines), so the instructions of `N` iterations
//! less those of 0 are the iterations' own; `bash engine/benches/instructions.sh` prints that
//! difference divided by `N` for each.
//! Run by `cargo bench` (which passes only `--bench`), it does nothing.

mod common;

use std::hint::black_box;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use common::{
    incident, json_line, log, metric_heavy_line, now, one_guard, phase5b, phase5b_started,
    phase5b_watching, plain_line, without_metric_rules,
};
use warden::classify::{Classifier, Feed};
use warden::machine::Input;
use warden::protocol::Protocol;

const USAGE: &str =
    "usage: instructions WHAT N (WHAT: step, render, incident, classify-json, classify-plain, classify-heavy, feed-heavy)";

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
        "classify-json" => classify(&phase5b(), &first_lines(json_line), n),
        "classify-plain" => classify(&without_metric_rules(), &first_lines(plain_line), n),
        "classify-heavy" => classify(&phase5b(), &first_lines(metric_heavy_line), n),
        "feed-heavy" => feed(&first_lines(metric_heavy_line), n),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

/// `step_with_one_guard` of `machine.rs`.
fn step(n: usize) {
    let (machine, run) = one_guard();
    let at = now();
    for _ in 0..n {
        let input = Input::Exited {
            exit_code: Some(0),
            signal: None,
            slurm_state: None,
        };
        let out = machine.step(black_box(&run), input, at).unwrap();
        assert_eq!(out.transitions.len(), 1);
        black_box(out);
    }
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

/// The first `LINES` lines of a log of `classify.rs`.
fn first_lines(line: fn(u64, &mut String)) -> Vec<u8> {
    log(line, |lines, _| lines >= LINES as u64)
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

/// `n` lines of `log` read on a run's path: through a [`Feed`] of Phase 5B with the vars and
/// cadence of a run of model 1, 64 KiB at a time, the facts taken after each chunk as a
/// supervisor takes them every turn; past the end of `log`, from its start again.
fn feed(log: &[u8], n: usize) {
    let (machine, started) = phase5b_started();
    let mut feed = Feed::new(machine.rules(), &started.instance.vars, 1);
    feed.set_cadence(machine.cadence(&started.instance));
    let ends: Vec<usize> = line_ends(log);
    let at = DateTime::<Utc>::UNIX_EPOCH;
    let mut fed = Vec::new();
    let mut inputs = 0;
    let mut left = n;
    while left > 0 {
        let lines = left.min(ends.len());
        for chunk in log[..ends[lines - 1]].chunks(64 * 1024) {
            feed.read(0, black_box(chunk), at, &mut fed, None);
            feed.facts(&mut fed);
            inputs += fed.len();
            fed.clear();
        }
        left -= lines;
    }
    feed.end(0, at, &mut fed, None);
    black_box(inputs + fed.len());
}

/// The offset just past each newline of `log`.
fn line_ends(log: &[u8]) -> Vec<usize> {
    log.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect()
}
