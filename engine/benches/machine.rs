//! Machine speed: steps through a transition with one guard (goal >= 630k/s; Python's
//! `transitions` 0.9 does 63k/s on this machine kind), and Phase 5B error reports rendered
//! (goal >= 100k/s; Jinja2 3.1 renders 51k/s).
//!
//! Run with `cargo bench -p warden --bench machine`.

mod common;

use common::{incident, now, one_guard, phase5b_watching};
use divan::counter::ItemsCount;
use warden::machine::Input;

fn main() {
    divan::main();
}

#[divan::bench]
fn step_with_one_guard(bencher: divan::Bencher) {
    let (machine, run) = one_guard();
    bencher.counter(ItemsCount::new(1usize)).bench(|| {
        let input = Input::Exited {
            exit_code: Some(0),
            signal: None,
            slurm_state: None,
        };
        let out = machine.step(divan::black_box(&run), input, now()).unwrap();
        assert_eq!(out.transitions.len(), 1);
        out
    });
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
