//! Classification's CPU time against `grep -F`'s and ripgrep's on a metric-heavy training log
//! (of every ten lines six `key=value` progress lines, two JSON metric lines and two `INFO`
//! lines), through the shipped `protocols/phase5b.yaml`, measured in the same run:
//!
//! - `grep -F -c Traceback LOG` and `rg -F -c Traceback LOG`: the anchors;
//! - the run's path in process: the log read in the tail's chunks through a [`Feed`], as a
//!   run's supervisor reads it (the run's vars, its cadence);
//! - `warden simulate` of a scenario whose step's `log_file` is the log, with the release binary:
//!   its CPU time and its peak resident memory.
//!
//! Each is measured `ROUNDS` times, alternated, and its least CPU time kept (the machine is
//! shared: the least is the one least disturbed). Children's CPU and memory are their own, from
//! `wait4` (a child's peak memory includes what the bench held when it started the child, a
//! few MiB: grep's shows how much). Run with `cargo bench -p warden-tests --bench scan` (a 200 MB log; `-- quick` for a
//! 64 MiB one). Needs `grep` and `rg` on the PATH. With `WARDEN_BEFORE=PATH`, the `warden` at
//! PATH (another build) is simulated alongside.

#[path = "../../engine/benches/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};
use warden::classify::Feed;
use warden::machine::Machine;
use warden::run::tail::CHUNK;
use warden_tests::{binary, root};

const ROUNDS: usize = 5;

/// What a child used: its CPU time (user and system) and its peak resident memory.
#[derive(Clone, Copy)]
struct Usage {
    cpu: Duration,
    max_rss_kib: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this with no arguments too,
    // and should not spend minutes: only a bench run measures.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let quick = args.iter().any(|a| a == "quick");
    let size = if quick { 64 << 20 } else { 200_000_000 };
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("train.log");
    let lines = write_log(&log_path, size);
    let scenario = write_scenario(dir.path(), &log_path);
    let bytes = std::fs::metadata(&log_path).unwrap().len();
    println!(
        "metric-heavy log: {:.1} MB, {lines} lines; best of {ROUNDS} alternated rounds",
        bytes as f64 / 1e6
    );

    let log_arg = log_path.to_str().unwrap();
    let grep = || {
        child(
            Command::new("grep").args(["-F", "-c", "Traceback", log_arg]),
            &[0, 1],
        )
    };
    let rg = || {
        child(
            Command::new("rg").args(["-F", "-c", "Traceback", log_arg]),
            &[0, 1],
        )
    };
    let simulate_with = |warden: &Path| {
        let mut command = Command::new(warden);
        command
            .args(["simulate", scenario.to_str().unwrap()])
            .current_dir(dir.path());
        child(&mut command, &[0])
    };
    let simulate = || simulate_with(binary());
    // Another build of `warden` to hold this one against, measured alongside.
    let before = std::env::var_os("WARDEN_BEFORE").map(std::path::PathBuf::from);
    let (machine, vars, cadence) = phase5b();
    let feed = || {
        let mut feed = Feed::new(machine.rules(), &vars, 1);
        feed.set_cadence(cadence.clone());
        in_process(|| read_through(&mut feed, &log_path))
    };
    // Built before anything is timed.
    let _ = binary();
    let mut best: BTreeMap<&str, Usage> = BTreeMap::new();
    let mut keep = |name, usage: Usage| {
        let entry = best.entry(name).or_insert(usage);
        if usage.cpu < entry.cpu {
            entry.cpu = usage.cpu;
        }
        entry.max_rss_kib = entry.max_rss_kib.max(usage.max_rss_kib);
    };
    for _ in 0..ROUNDS {
        keep("grep -F -c", grep());
        keep("rg -F -c", rg());
        keep("run's path (Feed, in process)", feed());
        keep("warden simulate", simulate());
        if let Some(before) = &before {
            keep("warden simulate ($WARDEN_BEFORE)", simulate_with(before));
        }
    }
    let grep = best["grep -F -c"].cpu.as_secs_f64();
    println!(
        "\n{:<32} {:>9} {:>13} {:>9} {:>12}",
        "what", "CPU s", "MB/CPU-s", "x grep", "peak RSS"
    );
    for (name, usage) in &best {
        let cpu = usage.cpu.as_secs_f64();
        let rss = if name.starts_with("run's path") {
            "(in process)".to_owned()
        } else {
            format!("{:.1} MiB", usage.max_rss_kib as f64 / 1024.0)
        };
        println!(
            "{name:<32} {cpu:>9.3} {:>13.0} {:>9.1} {rss:>12}",
            bytes as f64 / 1e6 / cpu,
            cpu / grep,
        );
    }
}

/// Phase 5B compiled, with the vars and cadence of a run of model 1.
fn phase5b() -> (
    Machine,
    BTreeMap<String, minijinja::Value>,
    Option<warden::classify::CadenceSpec>,
) {
    let (machine, started) = common::phase5b_started();
    let cadence = machine.cadence(&started.instance);
    assert!(cadence.is_some(), "Phase 5B times its progress entries");
    let vars = (*started.instance.vars).clone();
    (machine, vars, cadence)
}

/// Writes a metric-heavy log of at least `size` bytes at `path`, a line at a time (a child's
/// peak memory counts what its parent held when it was started: the bench holds little).
/// Returns how many lines it has.
fn write_log(path: &Path, size: usize) -> u64 {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut line = String::new();
    let (mut bytes, mut i) = (0, 0);
    while bytes < size {
        i += 1;
        line.clear();
        common::metric_heavy_line(i, &mut line);
        file.write_all(line.as_bytes()).unwrap();
        bytes += line.len();
    }
    file.flush().unwrap();
    i
}

/// Reads `path` into `feed` as a run's supervisor reads a log: a chunk at a time, then the end.
fn read_through(feed: &mut Feed, path: &Path) -> usize {
    let at = DateTime::<Utc>::UNIX_EPOCH;
    let mut file = std::fs::File::open(path).unwrap();
    let mut chunk = vec![0; CHUNK];
    let mut fed = Vec::new();
    let mut inputs = 0;
    loop {
        let read = file.read(&mut chunk).unwrap();
        if read == 0 {
            break;
        }
        feed.read(0, &chunk[..read], at, &mut fed, None);
        inputs += fed.len();
        fed.clear();
    }
    feed.end(0, at, &mut fed, None);
    feed.facts(&mut fed);
    inputs + fed.len()
}

/// This process's CPU time spent in `work`.
fn in_process<T>(work: impl FnOnce() -> T) -> Usage {
    let before = self_cpu();
    std::hint::black_box(work());
    Usage {
        cpu: self_cpu() - before,
        max_rss_kib: 0,
    }
}

fn self_cpu() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()), 0);
        usage.assume_init()
    };
    cpu_of(&usage)
}

fn cpu_of(usage: &libc::rusage) -> Duration {
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Runs `command` to its end, its output discarded, and gives what it used; its exit code
/// must be one of `codes` (grep and rg exit with 1 when they count nothing, which is what
/// they are asked to do here).
fn child(command: &mut Command, codes: &[i32]) -> Usage {
    let spawned = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let pid = spawned.id() as libc::pid_t;
    let mut stderr = String::new();
    let mut spawned = spawned;
    if let Some(mut err) = spawned.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: wait4 fills the status and the usage of the child it reaps, which is ours.
    let usage = unsafe {
        assert_eq!(libc::wait4(pid, &mut status, 0, usage.as_mut_ptr()), pid);
        usage.assume_init()
    };
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    assert!(
        code.is_some_and(|code| codes.contains(&code)),
        "{command:?} failed ({status}): {stderr}"
    );
    Usage {
        cpu: cpu_of(&usage),
        max_rss_kib: usage.ru_maxrss as u64,
    }
}

/// A Phase 5B scenario whose job writes the log at `log` and exits with 0, and completes: the
/// gates its exit criteria check on files are given, the others are the log's.
fn write_scenario(dir: &Path, log: &Path) -> std::path::PathBuf {
    let protocol = root().join("protocols/phase5b.yaml");
    let text = format!(
        "protocol: {protocol}
vars: {{ model: 1 }}
start: 2026-01-19T12:00:00Z
gates:
  model_compiles: {{ passed: true, reason: \"exited with 0\" }}
  features_present: {{ passed: true, reason: \"1 file present\", value: 1 }}
  outputs_fresh: pass
  results_sane: pass
  converged: pass
steps:
  - job: launched
    pid: 12345
  - after: 1h
    log_file: {log}
  - job: exited
    exit_code: 0
",
        protocol = protocol.display(),
        log = log.display(),
    );
    let path = dir.join("metric_heavy.yaml");
    std::fs::write(&path, text).unwrap();
    path
}
