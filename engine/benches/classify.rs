//! Classification throughput on a synthetic training log, with the Phase 5B rules:
//! plain progress lines with the metric rules removed (goal >= 1 GB/s per core), JSON
//! progress lines with them (goal >= 200 MB/s), and a metric-heavy log (`key=value` and JSON
//! metric lines and `INFO` lines) with them, which `tests/benches/scan.rs` holds against grep.
//!
//! Run with `cargo bench -p warden --bench classify`.

mod common;

use chrono::{DateTime, Utc};
use common::{json_line, log, metric_heavy_line, phase5b, plain_line, without_metric_rules};
use divan::counter::BytesCount;
use warden::classify::Classifier;

fn main() {
    divan::main();
}

const SIZE: usize = 32 * 1024 * 1024;

/// A log of about `SIZE` bytes of `line`.
fn sized(line: fn(u64, &mut String)) -> Vec<u8> {
    log(line, |_, bytes| bytes >= SIZE)
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
    let log = sized(plain_line);
    let classifier = Classifier::new(&without_metric_rules()).unwrap();
    bencher
        .counter(BytesCount::new(log.len()))
        .bench(|| run(&classifier, divan::black_box(&log)));
}

#[divan::bench(sample_count = 5)]
fn json_lines_with_metric_rules(bencher: divan::Bencher) {
    let log = sized(json_line);
    let classifier = Classifier::new(&phase5b()).unwrap();
    bencher
        .counter(BytesCount::new(log.len()))
        .bench(|| run(&classifier, divan::black_box(&log)));
}

#[divan::bench(sample_count = 5)]
fn metric_heavy_log_with_metric_rules(bencher: divan::Bencher) {
    let log = sized(metric_heavy_line);
    let classifier = Classifier::new(&phase5b()).unwrap();
    bencher
        .counter(BytesCount::new(log.len()))
        .bench(|| run(&classifier, divan::black_box(&log)));
}
