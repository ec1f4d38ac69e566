//! The supervisor as its users meet it, measured end to end with the release binary:
//!
//! 1. detection latency: from an error line appended to the job's log to its message file on
//!    disk (the incident classified, journaled and synced, the message rendered and written);
//! 2. `send`: from calling `warden send`'s client to the supervisor's answer, the event
//!    journaled and acted on;
//! 3. a 1 GiB log: the supervisor's throughput, CPU time and memory while the log grows;
//! 4. idle: the CPU time of one supervised run (supervisor and waiter) whose job writes
//!    nothing, beside supervisord's supervising the same sleeping job;
//! 5. many runs: 100 supervised runs at once, each job's log given a progress line every
//!    100 ms, their total CPU, detection latency meanwhile, and memory per run;
//! 6. `tail -F LOG | grep --line-buffered`'s latency from a line appended to it being printed,
//!    the floor of detection.
//!
//! Each runs a detached supervisor of `tests/fixtures/run/watch.yaml` over a job that only
//! sleeps; the benchmark itself writes the job's log. Run with
//! `cargo bench -p warden-tests --bench supervisor` (`-- quick` for a short run). supervisord
//! (`pip install supervisor`) is measured when it is installed.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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
        Bench::start_in(tempfile::tempdir().unwrap())
    }

    /// A run whose launch message is not waited for (many are started at once).
    fn start_in(dir: tempfile::TempDir) -> Bench {
        let bench = Bench::start_unwaited(dir);
        // The launch message is number 1.
        wait_for(&message(&bench.run, 1));
        bench
    }

    fn start_unwaited(dir: tempfile::TempDir) -> Bench {
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
        (
            status_field(self.supervisor, "VmRSS:"),
            status_field(self.supervisor, "VmHWM:"),
        )
    }

    /// The supervisor's CPU time so far (user and system), in seconds.
    fn cpu(&self) -> f64 {
        cpu_of(self.supervisor)
    }

    /// The waiter of the job.
    fn waiter(&self) -> u32 {
        let files = self.run.launch(1);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(started) = files.read_started() {
                return started.waiter.pid;
            }
            assert!(Instant::now() < deadline, "the job never started");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A field of `/proc/PID/status` or `/proc/PID/smaps_rollup`, in KiB.
fn proc_field(path: &str, name: &str) -> u64 {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn status_field(pid: u32, name: &str) -> u64 {
    proc_field(&format!("/proc/{pid}/status"), name)
}

/// The CPU time of process `pid` so far (user and system), in seconds: the scheduler's count
/// in nanoseconds (`/proc/PID/schedstat`), else `/proc/PID/stat`'s in clock ticks, too coarse
/// for an idle process.
fn cpu_of(pid: u32) -> f64 {
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/schedstat")) {
        if let Some(ns) = stat
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok())
        {
            return ns as f64 / 1e9;
        }
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
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

fn message(run: &RunDir, seq: u64) -> PathBuf {
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

/// The CPU time one supervised run whose job writes nothing takes, supervisor and waiter,
/// over `span`; and supervisord's, supervising the same sleeping job, over the same span.
fn idle(span: Duration) {
    let bench = Bench::start();
    let waiter = bench.waiter();
    // An agent blocked on `warden wait` for a role that is sent nothing.
    let mut reader = Command::new(binary())
        .current_dir(bench.dir.path())
        .args(["wait", "bench", "--role", "watcher", "--timeout", "1h"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Past the start's own work.
    std::thread::sleep(Duration::from_secs(2));
    let before = (bench.cpu(), cpu_of(waiter), cpu_of(reader.id()));
    std::thread::sleep(span);
    let after = (bench.cpu(), cpu_of(waiter), cpu_of(reader.id()));
    let per10 = 10.0 / span.as_secs_f64();
    println!(
        "idle, one supervised run over {:.0} s: {:.3} CPU s per 10 s (supervisor {:.3}, waiter {:.3})",
        span.as_secs_f64(),
        (after.0 - before.0 + after.1 - before.1) * per10,
        (after.0 - before.0) * per10,
        (after.1 - before.1) * per10,
    );
    println!(
        "idle, `warden wait` blocked on that run over {:.0} s: {:.3} CPU s per 10 s",
        span.as_secs_f64(),
        (after.2 - before.2) * per10,
    );
    // Started here, stopped by its PID.
    reader.kill().unwrap();
    reader.wait().unwrap();
    drop(bench);
    match supervisord_idle(span) {
        Some(cpu) => println!(
            "idle, supervisord supervising `sleep` over {:.0} s: {:.3} CPU s per 10 s",
            span.as_secs_f64(),
            cpu * per10
        ),
        None => println!("supervisord is not installed (`pip install supervisor`): not measured"),
    }
}

/// supervisord's CPU time over `span`, supervising a job that sleeps; `None` when it is not
/// installed. Started here with a config of its own, and stopped by its PID.
fn supervisord_idle(span: Duration) -> Option<f64> {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("supervisord.conf");
    let d = dir.path().display();
    std::fs::write(
        &config,
        format!(
            "[supervisord]\nnodaemon=true\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\n\
             [program:job]\ncommand=sleep 100000\nstdout_logfile={d}/job.log\nautorestart=false\n"
        ),
    )
    .unwrap();
    let mut child = Command::new("supervisord")
        .arg("-c")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let pid = child.id();
    // Up, and its job started.
    let log = dir.path().join("supervisord.log");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log).is_ok_and(|l| l.contains("entered RUNNING")) {
        if Instant::now() >= deadline || matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(2));
    let before = cpu_of(pid);
    std::thread::sleep(span);
    let cpu = cpu_of(pid) - before;
    // Our own child, by its PID: it stops its job and exits.
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = child.wait();
    Some(cpu)
}

/// `tail -F LOG | grep --line-buffered PATTERN`: from a line appended to the log to grep
/// printing it.
fn tail_grep(samples: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.log");
    let mut log = std::fs::File::create(&path).unwrap();
    let mut pipeline = Command::new("sh")
        .arg("-c")
        .arg("tail -n0 -F \"$0\" | grep --line-buffered '^FATAL: '")
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // A group of its own, to stop the pipeline by the PID it was started with.
        .process_group(0)
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(pipeline.stdout.take().unwrap());
    // Until tail follows the file: a line is printed.
    let mut line = String::new();
    loop {
        writeln!(log, "FATAL: ready?").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        // tail prints what it found; the first line read says it is up.
        if out.read_line(&mut line).is_ok() && !line.is_empty() {
            break;
        }
    }
    // What the readiness probes printed more.
    std::thread::sleep(Duration::from_millis(300));
    let mut random = Lcg(11);
    let mut latencies = Vec::new();
    let marker = "FATAL: error number";
    for i in 0..samples {
        std::thread::sleep(Duration::from_millis(random.next_below(20)));
        let start = Instant::now();
        writeln!(log, "{marker} {i}").unwrap();
        loop {
            line.clear();
            out.read_line(&mut line).unwrap();
            if line.trim_end() == format!("{marker} {i}") {
                break;
            }
        }
        latencies.push(start.elapsed());
    }
    let group = nix::unistd::Pid::from_raw(pipeline.id() as i32);
    let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGTERM);
    let _ = pipeline.wait();
    latencies.sort();
    println!(
        "tail -F | grep --line-buffered, line appended to line printed ({samples} lines): p50 {}, p99 {}, max {}",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap())
    );
}

/// `runs` supervised runs at once, each job's log given a progress line every 100 ms (by a
/// thread here, as the job would write it): the supervisors' and waiters' CPU over `span`,
/// the detection latency of errors written meanwhile, and the memory of a run.
fn many_runs(runs: usize, span: Duration) {
    let started = Instant::now();
    let benches: Vec<Bench> = (0..runs)
        .map(|_| Bench::start_unwaited(tempfile::tempdir().unwrap()))
        .collect();
    for bench in &benches {
        wait_for(&message(&bench.run, 1));
    }
    let waiters: Vec<u32> = benches.iter().map(Bench::waiter).collect();
    println!(
        "many runs: {runs} started in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (stop, writer) = progress_writer(benches.iter().map(Bench::log).collect());
    std::thread::sleep(Duration::from_secs(2));
    let cpu = |pids: &mut dyn Iterator<Item = u32>| pids.map(cpu_of).sum::<f64>();
    // First the load alone: the progress lines, nothing else.
    let before = (
        cpu(&mut benches.iter().map(|b| b.supervisor)),
        cpu(&mut waiters.iter().copied()),
    );
    let measuring = Instant::now();
    std::thread::sleep(span);
    let elapsed = measuring.elapsed().as_secs_f64();
    let share = |cpu: f64, elapsed: f64| cpu / elapsed * 100.0;
    println!(
        "many runs: {runs} runs, a progress line each every 100 ms, over {elapsed:.1} s: supervisors {:.1}% of a core, waiters {:.1}%",
        share(cpu(&mut benches.iter().map(|b| b.supervisor)) - before.0, elapsed),
        share(cpu(&mut waiters.iter().copied()) - before.1, elapsed),
    );
    // Then the same, with errors written meanwhile to measure detection.
    let before = (
        cpu(&mut benches.iter().map(|b| b.supervisor)),
        cpu(&mut waiters.iter().copied()),
    );
    // Errors in one run after another, at irregular intervals, while the CPU is counted.
    let mut random = Lcg(5);
    let mut latencies = Vec::new();
    let mut seq = vec![1u64; runs];
    let mut error_logs: Vec<std::fs::File> = benches.iter().map(Bench::log).collect();
    let measuring = Instant::now();
    let mut i = 0;
    while measuring.elapsed() < span {
        std::thread::sleep(Duration::from_millis(random.next_below(50)));
        let run = i % runs;
        seq[run] += 1;
        let expected = message(&benches[run].run, seq[run]);
        let start = Instant::now();
        let line = format!("FATAL: error number {i}\n");
        error_logs[run].write_all(line.as_bytes()).unwrap();
        wait_for(&expected);
        latencies.push(start.elapsed());
        i += 1;
    }
    let elapsed = measuring.elapsed().as_secs_f64();
    let after = (
        cpu(&mut benches.iter().map(|b| b.supervisor)),
        cpu(&mut waiters.iter().copied()),
    );
    let kib = |pids: &[u32], field: &str, file: &str| {
        pids.iter()
            .map(|pid| proc_field(&format!("/proc/{pid}/{file}"), field))
            .sum::<u64>() as f64
            / pids.len() as f64
    };
    let supervisors: Vec<u32> = benches.iter().map(|b| b.supervisor).collect();
    let rss = (
        kib(&supervisors, "VmRSS:", "status"),
        kib(&waiters, "VmRSS:", "status"),
    );
    let pss = (
        kib(&supervisors, "Pss:", "smaps_rollup"),
        kib(&waiters, "Pss:", "smaps_rollup"),
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    latencies.sort();
    println!(
        "  the same, {} errors written meanwhile ({:.0} a second): supervisors {:.1}% of a core, waiters {:.1}%",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        share(after.0 - before.0, elapsed),
        share(after.1 - before.1, elapsed),
    );
    println!(
        "  detection meanwhile ({} errors): p50 {}, p99 {}, max {}",
        latencies.len(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap())
    );
    let mib = |kib: f64| format!("{:.1} MiB", kib / 1024.0);
    println!(
        "  memory per run: RSS {} (supervisor {}, waiter {}); PSS {} (supervisor {}, waiter {})",
        mib(rss.0 + rss.1),
        mib(rss.0),
        mib(rss.1),
        mib(pss.0 + pss.1),
        mib(pss.0),
        mib(pss.1),
    );
    drop(benches);
    // The anchor, right after: a `tail -F` of each of as many logs under the same writer,
    // which wakes for each line as a supervisor does and does nothing with it. (Not alongside
    // the runs: each holds an inotify instance, and a user has 128 by default.)
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = (0..runs)
        .map(|i| dir.path().join(format!("{i}.log")))
        .collect();
    let logs = paths
        .iter()
        .map(|path| std::fs::File::create(path).unwrap())
        .collect();
    let mut tails: Vec<std::process::Child> = paths
        .iter()
        .map(|path| {
            Command::new("tail")
                .args(["-n0", "-F"])
                .arg(path)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let (stop, writer) = progress_writer(logs);
    std::thread::sleep(Duration::from_secs(2));
    let pids: Vec<u32> = tails.iter().map(std::process::Child::id).collect();
    let before = cpu(&mut pids.iter().copied());
    let measuring = Instant::now();
    std::thread::sleep(span);
    let share = (cpu(&mut pids.iter().copied()) - before) / measuring.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    // Started here, stopped by their PIDs.
    for tail in &mut tails {
        tail.kill().unwrap();
        tail.wait().unwrap();
    }
    println!(
        "  the same writer, `tail -n0 -F` of each of {runs} logs instead: {:.1}% of a core",
        share * 100.0
    );
}

/// A thread writing a progress line to each of `logs` in turn, each every 100 ms, until the
/// flag returned is set.
fn progress_writer(
    logs: Vec<std::fs::File>,
) -> (
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<()>,
) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut logs = logs;
            let mut step = 0u64;
            let gap = Duration::from_millis(100) / logs.len() as u32;
            let mut next = Instant::now();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                step += 1;
                for log in &mut logs {
                    // One write a line: two writers of one log interleave whole lines only.
                    let line = format!("step={step} loss=0.{step:04} lr=0.001 grad_norm=1.25\n");
                    log.write_all(line.as_bytes()).unwrap();
                    next += gap;
                    if let Some(pause) = next.checked_duration_since(Instant::now()) {
                        std::thread::sleep(pause);
                    }
                }
            }
        })
    };
    (stop, writer)
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    // `cargo bench` passes `--bench`; any filter is ignored: this runs as a whole.
    // A benchmark named after `only`, when given, is the one run.
    let only = std::env::args()
        .skip_while(|a| a != "only")
        .nth(1)
        .unwrap_or_default();
    let run = |name: &str| only.is_empty() || only == name;
    if run("detection") {
        detection(if quick { 50 } else { 500 });
    }
    if run("tail") {
        tail_grep(if quick { 50 } else { 500 });
    }
    if run("sends") {
        sends(if quick { 50 } else { 300 });
    }
    if run("idle") {
        idle(Duration::from_secs(if quick { 10 } else { 30 }));
    }
    if run("many") {
        many_runs(100, Duration::from_secs(if quick { 10 } else { 30 }));
    }
    if run("big") {
        big_log(if quick { 64 << 20 } else { 1 << 30 });
    }
}
