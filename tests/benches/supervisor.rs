//! The supervisor as its users meet it, measured end to end with the release binary:
//!
//! 1. detection latency: from an error line appended to the job's log to its message file on
//!    disk (the incident classified, journaled and synced, the message rendered and written);
//! 2. `send`: from calling `warden send`'s client to the supervisor's answer, the event
//!    journaled and acted on;
//! 3. a 1 GiB log: the supervisor's throughput, CPU time and memory while the log grows.
//!
//! Each runs a detached supervisor of `tests/fixtures/run/watch.yaml` over a job that only
//! sleeps; the benchmark itself writes the job's log. Run with
//! `cargo bench -p warden-tests --bench supervisor` (`-- quick` for a short run).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use warden::run::client::{self, Sent};
use warden::run::mailbox::Request;
use warden::run::store::RunDir;
use warden_tests::{binary, root};

struct Bench {
    dir: tempfile::TempDir,
    run: RunDir,
    supervisor: u32,
}

impl Bench {
    fn start() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let protocol = root().join("tests/fixtures/run/watch.yaml");
        let output = Command::new(binary())
            .current_dir(dir.path())
            .args([
                "run",
                protocol.to_str().unwrap(),
                "--detach",
                "--id",
                "bench",
            ])
            .args(["--", "sleep", "100000"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let run = RunDir::new(&dir.path().join(".warden/runs"), "bench");
        let supervisor = run.supervisor().expect("the supervisor runs");
        // The launch message is number 1.
        wait_for(&message(&run, 1));
        Bench {
            dir,
            run,
            supervisor,
        }
    }

    fn log(&self) -> std::fs::File {
        std::fs::File::options()
            .append(true)
            .create(true)
            .open(self.dir.path().join("job.log"))
            .unwrap()
    }

    /// The supervisor's resident memory now and at its peak, in KiB.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.supervisor)).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// The supervisor's CPU time so far (user and system), in seconds.
    fn cpu(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.supervisor)).unwrap();
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        ticks as f64 / 100.0
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        // Stop the job through the protocol, then wait for the supervisor to finish.
        let request = Request {
            event: "terminate".into(),
            sender: "operator".into(),
            fields: BTreeMap::new(),
        };
        let _ = client::send(&self.run, &request, Duration::from_secs(10));
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.run.supervisor().is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn message(run: &RunDir, seq: u64) -> std::path::PathBuf {
    run.messages()
        .join(format!("{seq:04}-watcher-to-operator-text.md"))
}

fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} never came", path.display());
        std::thread::sleep(Duration::from_micros(100));
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A small deterministic generator, to space the writes irregularly against the poll.
struct Lcg(u64);

impl Lcg {
    fn next_below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn detection(samples: usize) {
    let bench = Bench::start();
    let mut log = bench.log();
    let mut random = Lcg(7);
    let mut latencies = Vec::new();
    for i in 0..samples {
        std::thread::sleep(Duration::from_millis(random.next_below(20)));
        let expected = message(&bench.run, i as u64 + 2);
        let start = Instant::now();
        writeln!(log, "FATAL: error number {i}").unwrap();
        wait_for(&expected);
        latencies.push(start.elapsed());
    }
    latencies.sort();
    println!(
        "detection, error line to message file ({samples} errors): p50 {}, p99 {}, max {}",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap())
    );
}

fn sends(samples: usize) {
    let bench = Bench::start();
    let mut delays = Vec::new();
    for i in 0..samples {
        let request = Request {
            event: "note".into(),
            sender: "operator".into(),
            fields: BTreeMap::from([("text".to_owned(), serde_json::json!(format!("n{i}")))]),
        };
        let start = Instant::now();
        let sent = client::send(&bench.run, &request, Duration::from_secs(10)).unwrap();
        delays.push(start.elapsed());
        assert!(matches!(sent, Sent::Answered(_)), "{sent:?}");
    }
    delays.sort();
    println!(
        "send, client call to the supervisor's answer ({samples} events): p50 {}, p99 {}, max {}",
        ms(percentile(&delays, 0.5)),
        ms(percentile(&delays, 0.99)),
        ms(*delays.last().unwrap())
    );
}

fn big_log(bytes: u64) {
    let bench = Bench::start();
    let mut log = bench.log();
    // Progress lines as a training job writes them, and a plain line now and then.
    let mut block = Vec::new();
    let mut epoch = 0u64;
    while block.len() < 1 << 20 {
        epoch += 1;
        writeln!(
            block,
            "{{\"timestamp\": 1795332576.1179755, \"epoch\": {epoch}, \"loss\": 0.{epoch:05}, \
             \"elapsed_seconds\": {epoch}.25, \"r_hat\": 1.0{epoch:03}}}"
        )
        .unwrap();
        if epoch % 10 == 0 {
            writeln!(
                block,
                "Sampling 4 chains for 1_000 tune and 1_000 draw iterations"
            )
            .unwrap();
        }
    }
    let cpu_before = bench.cpu();
    let (rss_before, _) = bench.memory();
    let start = Instant::now();
    let mut written = 0u64;
    let mut samples = Vec::new();
    while written < bytes {
        log.write_all(&block).unwrap();
        written += block.len() as u64;
        if written % (64 << 20) < block.len() as u64 {
            samples.push(bench.memory().0);
        }
    }
    let last = bench.run.messages();
    writeln!(log, "FATAL: the end").unwrap();
    wait_for(&last.join("0002-watcher-to-operator-text.md"));
    let elapsed = start.elapsed();
    let cpu = bench.cpu() - cpu_before;
    let (rss_after, peak) = bench.memory();
    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
    println!(
        "a {:.2} GiB log: read in {:.1} s ({:.0} MB/s), supervisor CPU {:.1} s ({:.0} MB per CPU second)",
        written as f64 / (1u64 << 30) as f64,
        elapsed.as_secs_f64(),
        written as f64 / 1e6 / elapsed.as_secs_f64(),
        cpu,
        written as f64 / 1e6 / cpu,
    );
    println!(
        "  supervisor memory: {} before, {} after, peak {}; every 64 MiB: {}",
        mib(rss_before),
        mib(rss_after),
        mib(peak),
        samples
            .iter()
            .map(|kib| format!("{:.1}", *kib as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(" ")
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    // `cargo bench` passes `--bench`; any filter is ignored: this runs as a whole.
    detection(if quick { 50 } else { 500 });
    sends(if quick { 50 } else { 300 });
    big_log(if quick { 64 << 20 } else { 1 << 30 });
}
