//! `warden check`'s memory and time as a whole process of the release binary, on the generated
//! protocols of `common::generated` with 10,000 and 50,000 states (goal: <= 2 KiB of peak RSS per state,
//! time linear in the states). Peak RSS and elapsed time are `/usr/bin/time`'s, the least of
//! three runs.
//!
//! Run with `cargo build --release -p warden-cli && cargo bench -p warden --bench check_memory`;
//! `WARDEN_BIN=path` measures another binary.

use std::path::PathBuf;
use std::process::Command;

mod common;

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
    println!("binary: {}", binary.display());
    println!("| states | file | peak RSS | per state | time |");
    println!("|---|---|---|---|---|");
    for states in [10_000, 50_000] {
        let path = dir.path().join(format!("generated-{states}.yaml"));
        let text = common::generated(states);
        std::fs::write(&path, &text).unwrap();
        let (mut seconds, mut kib) = (f64::MAX, f64::MAX);
        for _ in 0..3 {
            let output = Command::new("/usr/bin/time")
                .args(["-f", "%e %M"])
                .arg(&binary)
                .arg("check")
                .arg(&path)
                .output()
                .expect("/usr/bin/time runs");
            assert!(output.status.success(), "{output:?}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            let mut figures = stderr.lines().last().unwrap().split(' ');
            seconds = seconds.min(figures.next().unwrap().parse().unwrap());
            kib = kib.min(figures.next().unwrap().parse().unwrap());
        }
        println!(
            "| {states} | {:.1} MB | {:.0} MiB | {:.1} KiB | {seconds:.2} s |",
            text.len() as f64 / 1e6,
            kib / 1024.0,
            kib / states as f64
        );
    }
}
