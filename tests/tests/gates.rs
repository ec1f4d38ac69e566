//! Gates on real runs: Phase 5B's exit criteria checked on the files a real training job
//! (examples/jobs/train.py) writes, and gates that hang or read malformed files.
//!
//! Each test runs `warden run` in the foreground in a temporary folder: the supervisor ends
//! when the run reaches a final state, or is stopped by the test once the run is where the test
//! expects it (by the PID the run's lock names, never by name).

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use warden::gate::GateResult;
use warden::machine::Input;
use warden::run::store::{Entry, RunDir};
use warden_tests::workspace::end_processes;
use warden_tests::{root, warden};

/// A folder laid out as Phase 5B expects, with `model_1.py` running the example job.
struct Training {
    dir: tempfile::TempDir,
}

impl Training {
    /// The example job with `args` (on a fresh start), and the features file.
    fn new(args: &[&str]) -> Training {
        let dir = tempfile::tempdir().unwrap();
        let code = dir.path().join("output/implementation/code");
        std::fs::create_dir_all(&code).unwrap();
        let data = dir.path().join("output/implementation/data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("features_1.pkl"), "features\n").unwrap();
        let train = root().join("examples/jobs/train.py");
        let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
        let script = format!(
            "import runpy, sys\n\
             sys.argv[1:1] = [\"--epochs\", \"4\", \"--epoch-seconds\", \"0.5\",\n\
             \"--checkpoint\", \"output/implementation/models/model_1_last.pt\",\n\
             \"--model-out\", \"output/implementation/models/model_1_full.pkl\",\n\
             \"--results\", \"output/results/results_1.csv\",\n\
             \"--diagnostics\", \"output/results/diagnostics_1.csv\", {}]\n\
             runpy.run_path({:?}, run_name=\"__main__\")\n",
            args.join(", "),
            train.display()
        );
        std::fs::write(code.join("model_1.py"), script).unwrap();
        Training { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs Phase 5B on it in the foreground with `vars`, until the run is in a state of
    /// `until` (or ends); returns the run.
    fn run(&self, vars: &[&str], until: &[&str]) -> RunDir {
        let protocol = root().join("protocols/phase5b.yaml");
        let mut args = vec![
            "run".to_owned(),
            protocol.display().to_string(),
            "--id".into(),
            "training".into(),
            "--var".into(),
            "model=1".into(),
        ];
        for var in vars {
            args.extend(["--var".to_owned(), (*var).to_owned()]);
        }
        supervise(self.path(), &args, until)
    }
}

impl Drop for Training {
    fn drop(&mut self) {
        end_processes(self.path());
    }
}

/// Runs `warden ARGS` in `dir` until the run `training` is in one of `until` or has ended.
fn supervise(dir: &Path, args: &[String], until: &[&str]) -> RunDir {
    let mut child: Child = warden()
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let run = RunDir::new(&dir.join(".warden/runs"), "training");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let state = state_of(&run);
        if state.as_deref().is_some_and(|s| until.contains(&s)) {
            // The supervisor has done what the test waits for: once it has written the
            // messages of what it journaled (it journals first), it is stopped by its PID.
            wait_for_messages(&run);
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            let _ = child.wait();
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the run did not get to {until:?}; it is in {state:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    run
}

/// Waits until the run's messages folder has not changed for a while (at most five seconds):
/// the supervisor writes a step's messages just after journaling the step.
fn wait_for_messages(run: &RunDir) {
    let count = || std::fs::read_dir(run.dir.join("messages")).map_or(0, |entries| entries.count());
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = count();
    let mut since = Instant::now();
    while Instant::now() < deadline && since.elapsed() < Duration::from_millis(300) {
        std::thread::sleep(Duration::from_millis(20));
        let now = count();
        if now != seen {
            seen = now;
            since = Instant::now();
        }
    }
}

/// The run's state as its journal's last outcome says.
fn state_of(run: &RunDir) -> Option<String> {
    run.read_journal()
        .ok()?
        .iter()
        .rev()
        .find_map(|entry| match entry {
            Entry::Outcome(outcome) => Some(outcome.state.clone()),
            Entry::Ended { state, .. } => Some(state.clone()),
            _ => None,
        })
}

/// Every gate result the run's journal holds, in order.
fn gate_results(run: &RunDir) -> Vec<GateResult> {
    run.read_journal()
        .unwrap()
        .into_iter()
        .filter_map(|entry| match entry {
            Entry::Input { input, .. } => match *input {
                Input::Gates { results } => Some(results),
                _ => None,
            },
            _ => None,
        })
        .flatten()
        .collect()
}

/// The text of the run's message from the template `template`, the last one if several.
fn message(run: &RunDir, template: &str) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(run.dir.join("messages"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(&format!("-{template}.md")))
        .collect();
    files.sort();
    let file = files
        .pop()
        .unwrap_or_else(|| panic!("no `{template}` message in {}", run.dir.display()));
    std::fs::read_to_string(file).unwrap()
}

/// The vars of a training that takes two seconds: expected to, with entries closer than 30 s.
const SHORT: &[&str] = &["expected=2s", "expected_max=5s", "log_gap_min=0s"];

#[test]
fn a_real_training_is_complete_once_its_files_pass_every_exit_criterion() {
    let training = Training::new(&[]);
    let run = training.run(SHORT, &[]);
    assert_eq!(state_of(&run).as_deref(), Some("complete"));
    let results = gate_results(&run);
    let names: Vec<&str> = results.iter().map(|r| r.gate.as_str()).collect();
    assert_eq!(
        names,
        [
            "model_compiles",
            "features_present",
            "outputs_fresh",
            "results_sane",
            "converged"
        ],
        "the gates that look at the world, in the order the transitions ask"
    );
    assert!(results.iter().all(|r| r.passed), "{results:#?}");
    let table = &results[3];
    assert_eq!(table.facts["rows"], 40);
    assert_eq!(table.facts["columns"].as_array().unwrap().len(), 6);

    let report = message(&run, "completion_report");
    for expected in [
        "- Results: output/results/results_1.csv (40 rows, 6 columns)",
        "R-hat at most 1.003, ESS at least",
        "over 8 parameters; 0 divergences",
        "✅ `log_cadence`: 4 progress entries",
    ] {
        assert!(report.contains(expected), "`{expected}` missing:\n{report}");
    }
    // The checkpoint is looked at while the job runs, not at every write of it.
    let saved: u32 = report
        .split("the checkpoint was saved ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no checkpoint count:\n{report}"));
    assert!((2..=4).contains(&saved), "saved {saved} times:\n{report}");
    let worker = message(&run, "worker_completion_report");
    assert!(
        worker.contains("- results_1.csv: ✅ Created (40 rows, 6 columns)"),
        "{worker}"
    );
    assert!(!worker.contains("[✅"), "no placeholder is left: {worker}");
}

#[test]
fn results_with_nan_fail_their_gate_and_the_director_is_told_why() {
    let training = Training::new(&["--bad-results", "nan"]);
    let run = training.run(SHORT, &["error"]);
    let sane = gate_results(&run)
        .into_iter()
        .find(|r| r.gate == "results_sane")
        .unwrap();
    assert!(!sane.passed);
    assert_eq!(
        sane.reason,
        "output/results/results_1.csv: column `p_top10`: 2 NaN (rows 4, 9)"
    );
    let report = message(&run, "error_report");
    assert!(
        report.contains("- **Gate**: `results_sane` (measured: 40)"),
        "{report}"
    );
    assert!(
        report.contains("column `p_top10`: 2 NaN (rows 4, 9)"),
        "{report}"
    );
    assert!(
        report.contains("- **Type**: Implementation error"),
        "{report}"
    );
}

#[test]
fn a_training_far_shorter_than_expected_is_rejected() {
    let training = Training::new(&[]);
    // Phase 5B's own expectation: 12 hours, of which at least 30%.
    let run = training.run(&["log_gap_min=0s"], &["error"]);
    let report = message(&run, "error_report");
    assert!(
        report.contains("- **Gate**: `trained_long_enough`"),
        "{report}"
    );
    assert!(
        report.contains("% of the expected 12h (at least 30% required)"),
        "{report}"
    );
}

#[test]
fn unconverged_diagnostics_fail_the_convergence_gate_with_the_measured_r_hat() {
    let training = Training::new(&["--diagnostics-rhat", "1.08"]);
    let run = training.run(SHORT, &["error", "emergency"]);
    let converged = gate_results(&run)
        .into_iter()
        .find(|r| r.gate == "converged")
        .unwrap();
    assert!(!converged.passed);
    assert!(
        converged
            .reason
            .contains("column `r_hat`: max 1.08 is not below 1.05"),
        "{}",
        converged.reason
    );
    assert_eq!(converged.facts["stats"]["r_hat"]["max"], 1.08);
}

/// A protocol whose start requires a gate command that never ends and a table that is
/// malformed; its failure ends the run in `refused`.
const HANGING: &str = r#"
protocol: hanging
roles: { operator: {} }
channels: [{ from: operator, to: operator }]
categories:
  - { id: setup, owner: operator, severity: critical, match: [{ line: "never matches this" }] }
gates:
  hangs:
    command: [sleep, "30"]
    timeout: 1s
    category: setup
  table:
    table: bad.csv
    category: setup
states:
  start: { initial: true }
  running: { final: true }
  refused: { final: true }
transitions:
  - { from: start, to: running, gates: [hangs, table] }
  - from: start
    on: incident
    to: refused
    send: [{ from: operator, to: operator, text: "{{ incident.message }}" }]
"#;

#[test]
fn a_hanging_gate_command_is_stopped_at_its_limit_and_a_malformed_table_fails_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hanging.yaml"), HANGING).unwrap();
    std::fs::write(dir.path().join("bad.csv"), "a,b,c\n1,2,3\n4,5\n").unwrap();
    let started = Instant::now();
    let args = ["run", "hanging.yaml", "--id", "training"].map(str::to_owned);
    let run = supervise(dir.path(), &args, &[]);
    let took = started.elapsed();
    assert_eq!(state_of(&run).as_deref(), Some("refused"));
    assert!(
        took < Duration::from_secs(20),
        "the gate hung the run for {took:?}"
    );
    let results = gate_results(&run);
    assert_eq!(results.len(), 2);
    assert!(!results[0].passed);
    assert_eq!(results[0].facts["timed_out"], true);
    assert!(
        results[0].reason.starts_with("timed out after 1s"),
        "{}",
        results[0].reason
    );
    assert!(!results[1].passed);
    assert_eq!(
        results[1].reason,
        "bad.csv line 3: found 2 fields, expected 3"
    );
    let text = message(&run, "text");
    assert!(
        text.contains("gate `hangs` failed: timed out after 1s"),
        "{text}"
    );
}
