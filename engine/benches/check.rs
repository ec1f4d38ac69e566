//! `warden check` speed: the shipped Phase 5B protocol, and generated protocols of 1,000 and
//! 10,000 states (goals: < 10 ms for phase5b as a whole process, < 1 s for 10,000 states).
//!
//! Run with `cargo bench -p warden --bench check`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use warden::check;

fn main() {
    divan::main();
}

fn phase5b() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocols/phase5b.yaml")
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

#[divan::bench]
fn phase5b_load_and_check() -> check::Report {
    check::check_path(divan::black_box(&phase5b())).unwrap()
}

#[divan::bench(args = [1_000, 10_000], sample_count = 5, sample_size = 1)]
fn generated_load_and_check(bencher: divan::Bencher, states: usize) {
    let text = generated(states);
    let path = Path::new("generated.yaml");
    bencher.bench(|| {
        let report = check::check_source(path, divan::black_box(&text)).unwrap();
        assert!(
            report.diagnostics.is_empty(),
            "{:?}",
            &report.diagnostics[..1]
        );
        report
    });
}
