//! Machine speed: steps through a transition with one guard (goal >= 630k/s; Python's
//! `transitions` 0.9 does 63k/s on this machine kind), and Phase 5B error reports rendered
//! (goal >= 100k/s; Jinja2 3.1 renders 51k/s).
//!
//! Run with `cargo bench -p warden --bench machine`.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use divan::counter::ItemsCount;
use warden::classify::Incident;
use warden::machine::{Input, Machine};
use warden::protocol::{self, IncidentSeverity};

fn main() {
    divan::main();
}

fn now() -> DateTime<Utc> {
    "2026-01-19T12:00:00Z".parse().unwrap()
}

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

#[divan::bench]
fn step_with_one_guard(bencher: divan::Bencher) {
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
    bencher.counter(ItemsCount::new(1usize)).bench(|| {
        let input = Input::Exited {
            exit_code: Some(0),
            signal: None,
        };
        let out = machine.step(divan::black_box(&run), input, now()).unwrap();
        assert_eq!(out.transitions.len(), 1);
        out
    });
}

/// Phase 5B compiled, and a run of it watching a launched job.
fn phase5b_watching() -> (Machine, warden::machine::Instance) {
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

#[divan::bench]
fn phase5b_error_report_render(bencher: divan::Bencher) {
    let (machine, run) = phase5b_watching();
    let run = machine
        .step(&run, Input::Incident(Box::new(incident())), now())
        .unwrap()
        .instance;
    bencher.counter(ItemsCount::new(1usize)).bench(|| {
        let text = machine
            .render(divan::black_box(&run), "error_report", now())
            .unwrap();
        assert!(text.starts_with("## Phase 5B Error Report"));
        text
    });
}

#[divan::bench]
fn phase5b_error_report(bencher: divan::Bencher) {
    let (machine, run) = phase5b_watching();
    let incident = incident();
    bencher.counter(ItemsCount::new(1usize)).bench(|| {
        let out = machine
            .step(
                divan::black_box(&run),
                Input::Incident(Box::new(incident.clone())),
                now(),
            )
            .unwrap();
        assert_eq!(
            out.messages().next().unwrap().template.as_deref(),
            Some("error_report")
        );
        out
    });
}
