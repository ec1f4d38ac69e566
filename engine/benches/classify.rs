//! Classification throughput on a synthetic training log, with the Phase 5B rules:
//! plain progress lines with the metric rules removed (goal >= 1 GB/s per core), and JSON
//! progress lines with them (goal >= 200 MB/s).
//!
//! Run with `cargo bench -p warden --bench classify`.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};
use divan::counter::BytesCount;
use warden::classify::Classifier;
use warden::protocol::{self, Protocol};

fn main() {
    divan::main();
}

const SIZE: usize = 32 * 1024 * 1024;

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

/// Progress lines as PyMC and PyTorch training scripts print them, with a warning now and then.
fn plain_log() -> Vec<u8> {
    let mut log = String::with_capacity(SIZE + 256);
    let mut i = 0u64;
    while log.len() < SIZE {
        i += 1;
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

/// JSON progress lines as the shared training protocol's `log_progress` writes them.
fn json_log() -> Vec<u8> {
    let mut log = String::with_capacity(SIZE + 256);
    let mut i = 0u64;
    while log.len() < SIZE {
        i += 1;
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

fn run(classifier: &Classifier, log: &[u8]) -> usize {
    let mut classifier = classifier.clone();
    let mut out = Vec::new();
    let at = DateTime::<Utc>::UNIX_EPOCH;
    let mut found = 0;
    // As a tail loop reads the log: 64 KiB at a time, a partial last line carried over.
    let mut carry = Vec::new();
    for chunk in log.chunks(64 * 1024) {
        carry.extend_from_slice(chunk);
        let used = classifier.push_chunk(&carry, at, &mut out);
        carry.drain(..used);
        found += out.len();
        out.clear();
    }
    classifier.flush(at, true, &mut out);
    found + out.len()
}

#[divan::bench(sample_count = 5)]
fn plain_log_without_metric_rules(bencher: divan::Bencher) {
    let log = plain_log();
    let classifier = Classifier::new(&without_metric_rules()).unwrap();
    bencher
        .counter(BytesCount::new(log.len()))
        .bench(|| run(&classifier, divan::black_box(&log)));
}

#[divan::bench(sample_count = 5)]
fn json_lines_with_metric_rules(bencher: divan::Bencher) {
    let log = json_log();
    let classifier = Classifier::new(&phase5b()).unwrap();
    bencher
        .counter(BytesCount::new(log.len()))
        .bench(|| run(&classifier, divan::black_box(&log)));
}
