//! `warden check` speed: the shipped Phase 5B protocol, and generated protocols of 1,000 and
//! 10,000 states (goals: < 10 ms for phase5b as a whole process, < 1 s for 10,000 states);
//! and `warden graph` of the generated protocols.
//!
//! Run with `cargo bench -p warden --bench check`.

use std::path::{Path, PathBuf};

use warden::check;

mod common;
use common::generated;

fn main() {
    divan::main();
}

fn phase5b() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocols/phase5b.yaml")
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

/// `warden graph` of a generated protocol: one edge drawn for each pair of states, found by
/// their names, so linear in the transitions.
#[divan::bench(args = [1_000, 10_000], sample_count = 5, sample_size = 1)]
fn generated_graph(bencher: divan::Bencher, states: usize) {
    let text = generated(states);
    let protocol = warden::protocol::parse(Path::new("generated.yaml"), text.as_bytes()).unwrap();
    bencher
        .bench(|| warden::graph::render(divan::black_box(&protocol), warden::graph::Format::Dot));
}
