//! `warden check`'s memory and time on the generated protocols of `common::generated` with
//! 10,000 and 50,000 states (goal: <= 2 KiB per state, time linear in the states), measured two
//! ways:
//!
//! - as a whole process of the release binary: peak RSS and elapsed time are `/usr/bin/time`'s,
//!   the least of three runs. RSS counts the pages of the binary's code a check runs, shared
//!   and the same whatever the protocol's size: a ten-state check's RSS is printed beside.
//! - in this process: the peak of the heap `check_path` allocates (the file's text included),
//!   counted by a global allocator that tracks every allocation's size.
//!
//! Run with `cargo build --release -p warden-cli && cargo bench -p warden --bench check_memory`;
//! `WARDEN_BIN=path` measures another binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use peakmem_alloc::{PeakMemAlloc, PeakMemAllocTrait, INSTRUMENTED_SYSTEM};

mod common;

#[global_allocator]
static HEAP: &PeakMemAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// The least peak RSS (KiB) and elapsed time (s) of three `warden check` runs of `path`.
fn process(binary: &Path, path: &Path) -> (f64, f64) {
    let (mut kib, mut seconds) = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        let output = Command::new("/usr/bin/time")
            .args(["-f", "%e %M"])
            .arg(binary)
            .arg("check")
            .arg(path)
            .output()
            .expect("/usr/bin/time runs");
        assert!(output.status.success(), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mut figures = stderr.lines().last().unwrap().split(' ');
        seconds = seconds.min(figures.next().unwrap().parse().unwrap());
        kib = kib.min(figures.next().unwrap().parse().unwrap());
    }
    (kib, seconds)
}

/// The peak of the heap a check of `path` allocates in this process, in KiB.
fn heap(path: &Path) -> f64 {
    HEAP.reset_peak_memory();
    let report = warden::check::check_path(path).expect("the generated protocol loads");
    assert!(
        report.diagnostics.is_empty(),
        "{:?}",
        &report.diagnostics[..1]
    );
    let peak = HEAP.get_peak_memory();
    drop(report);
    peak as f64 / 1024.0
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this with no arguments too,
    // and should not spend half a minute: only a bench run measures.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let binary = std::env::var_os("WARDEN_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/warden"),
        PathBuf::from,
    );
    assert!(
        binary.exists(),
        "{} does not exist: build it with `cargo build --release -p warden-cli`",
        binary.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let write = |states: usize| {
        let path = dir.path().join(format!("generated-{states}.yaml"));
        let text = common::generated(states);
        std::fs::write(&path, &text).unwrap();
        (path, text.len())
    };
    let (small, _) = write(10);
    let (base, _) = process(&binary, &small);
    println!("binary: {}", binary.display());
    println!("a check of 10 states: {:.1} MiB of peak RSS", base / 1024.0);
    println!(
        "| states | file | peak RSS | per state | beyond 10 states', per state | peak heap | per state | time |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for states in [10_000, 50_000] {
        let (path, bytes) = write(states);
        let (kib, seconds) = process(&binary, &path);
        let heap = heap(&path);
        println!(
            "| {states} | {:.1} MB | {:.1} MiB | {:.2} KiB | {:.2} KiB | {:.1} MiB | {:.2} KiB | {seconds:.2} s |",
            bytes as f64 / 1e6,
            kib / 1024.0,
            kib / states as f64,
            (kib - base) / (states - 10) as f64,
            heap / 1024.0,
            heap / states as f64,
        );
    }
}
