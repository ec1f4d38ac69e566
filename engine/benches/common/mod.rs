//! What the benchmarks share: the protocols, runs, incident and logs they measure, so that the
//! timed benchmarks and the instruction counts measure the same work.

// Each benchmark uses some of these.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};
use warden::classify::Incident;
use warden::machine::{Input, Instance, Machine};
use warden::protocol::{self, IncidentSeverity, Protocol};

/// The time every step is taken at.
pub fn now() -> DateTime<Utc> {
    "2026-01-19T12:00:00Z".parse().unwrap()
}

/// Phase 5B's implementation incident, as the classifier reports PyMC's `.logp` error.
pub fn incident() -> Incident {
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
        gate: None,
        chain: vec![],
    }
}

/// A protocol whose `exited` step goes through one transition with one guard, and a run of it.
pub fn one_guard() -> (Machine, Instance) {
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
    (machine, run)
}

/// Phase 5B, loaded.
pub fn phase5b() -> Protocol {
    protocol::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocols/phase5b.yaml"))
        .unwrap()
}

/// Phase 5B without its metric rules.
pub fn without_metric_rules() -> Protocol {
    let mut protocol = phase5b();
    for category in &mut protocol.categories {
        category.rules.retain(|rule| rule.metric.is_none());
    }
    protocol
}

/// Phase 5B compiled with its templates, and a run of model 1 started: the machine, and what
/// the start gave (the run's vars and cadence are its instance's).
pub fn phase5b_started() -> (Machine, warden::machine::Outcome) {
    let protocol = phase5b();
    let (templates, _) = protocol::load_templates(&protocol);
    let machine = Machine::new(protocol, &templates).unwrap();
    let vars = BTreeMap::from([("model".to_owned(), serde_json::json!(1))]);
    let started = machine.start("bench", &vars, now()).unwrap();
    (machine, started)
}

/// Phase 5B compiled, and a run of it watching a launched job.
pub fn phase5b_watching() -> (Machine, Instance) {
    let (machine, started) = phase5b_started();
    // The preflight gates pass, as the shell would find them.
    let results = started
        .checks
        .iter()
        .map(|c| warden::gate::GateResult::new(&c.gate, true, "passed"))
        .collect();
    let run = machine
        .step(&started.instance, Input::Gates { results }, now())
        .unwrap()
        .instance;
    let launched = Input::Launched {
        pid: 12345,
        resumed: false,
        command: None,
        slurm_job: None,
    };
    let run = machine.step(&run, launched, now()).unwrap().instance;
    (machine, run)
}

/// Line `i` of a log of progress lines as PyMC and PyTorch training scripts print them, with a
/// warning now and then.
pub fn plain_line(i: u64, log: &mut String) {
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

/// Line `i` of a log of JSON progress lines as the shared training protocol's `log_progress`
/// writes them.
pub fn json_line(i: u64, log: &mut String) {
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

/// Lines 1, 2, ... of `line`, until `enough(lines, bytes)` holds.
pub fn log(line: fn(u64, &mut String), enough: impl Fn(u64, usize) -> bool) -> Vec<u8> {
    let mut log = String::new();
    let mut i = 0;
    while !enough(i, log.len()) {
        i += 1;
        line(i, &mut log);
    }
    log.into_bytes()
}

/// Line `i` of a metric-heavy training log: of every ten lines, six `key=value` progress
/// lines, two JSON metric lines (as [`json_line`] writes them) and two `INFO` lines of Python's
/// logging.
pub fn metric_heavy_line(i: u64, log: &mut String) {
    match i % 10 {
        0..=5 => {
            let _ = writeln!(
                log,
                "step={i} epoch={} loss=0.{:04} lr=3.0e-4 grad_norm=1.{:03} tokens_per_s={}.5",
                i / 1000,
                i % 9973,
                i % 997,
                40_000 + i % 20_011
            );
        }
        6 | 7 => json_line(i, log),
        8 => {
            let _ = writeln!(
                log,
                "2026-01-19 12:{:02}:{:02},{:03} - train - INFO - Evaluating batch {}/400 of the validation set",
                i / 60 % 60,
                i % 60,
                i % 1000,
                i % 400
            );
        }
        _ => {
            let _ = writeln!(
                log,
                "2026-01-19 12:{:02}:{:02},{:03} - train - INFO - Saved checkpoint to output/implementation/models/model_1_last.pt",
                i / 60 % 60,
                i % 60,
                i % 1000
            );
        }
    }
}

/// A chain of `states` states, each watching the job: an event to the next state, a guarded
/// incident transition with a message, an exit to the end, and a timer over all of them.
pub fn generated(states: usize) -> String {
    let mut text = String::from(
        "protocol: generated\nroles: { trainer: {}, director: {} }\n\
         channels: [{ from: trainer, to: director }]\n\
         vars:\n  limit: { type: integer, default: 3 }\n  status_every: { type: duration, default: 30m }\n\
         events:\n  next: { from: [director], fields: { note: { type: string } } }\n\
         states:\n",
    );
    for i in 0..states {
        let _ = writeln!(
            text,
            "  s{i}: {{ {} }}",
            if i == 0 { "initial: true" } else { "" }
        );
    }
    text.push_str("  done: { final: true }\ntimers:\n  - { event: status_due, every: \"{{ status_every }}\", while: [");
    for i in 0..states {
        let _ = write!(text, "{}s{i}", if i == 0 { "" } else { ", " });
    }
    text.push_str("] }\ntransitions:\n");
    for i in 0..states {
        let next = if i + 1 == states {
            "done".to_owned()
        } else {
            format!("s{}", i + 1)
        };
        let _ = writeln!(
            text,
            "  - {{ from: s{i}, on: next, if: \"event.note != 'hold'\", to: {next} }}"
        );
        let _ = writeln!(
            text,
            "  - {{ from: s{i}, on: incident, if: \"incident.severity == 'critical' and counters.errors < limit\", to: s{i}, count: [errors], \
             send: [{{ from: trainer, to: director, text: \"{{{{ incident.exception }}}}: {{{{ incident.message }}}} in {{{{ state }}}}\" }}] }}"
        );
        let _ = writeln!(text, "  - {{ from: s{i}, on: exited, to: done }}");
    }
    text.push_str("  - { from: \"*\", on: status_due }\n");
    text
}
