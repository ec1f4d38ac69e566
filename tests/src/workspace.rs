//! A folder with the test job (tests/fixtures/run/job.py) in which real runs are started, and
//! whose runs' processes are ended by PID when it is dropped: a failed test must not leave its
//! processes behind.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use warden::run::job::signal_group;
use warden::run::store::{Entry, RunDir};

use crate::{root, warden};

/// The protocol of the supervisor tests.
pub const WATCH: &str = "tests/fixtures/run/watch.yaml";

/// A temporary folder holding `job.py`; its runs live in `.warden/runs`.
pub struct Workspace {
    dir: tempfile::TempDir,
    /// The environment every `warden` it runs gets, beside the test's own.
    env: Vec<(String, String)>,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            root().join("tests/fixtures/run/job.py"),
            dir.path().join("job.py"),
        )
        .unwrap();
        Workspace {
            dir,
            env: Vec::new(),
        }
    }

    /// The workspace, its `warden` commands run with `key` set to `value` (and so their
    /// supervisors and jobs).
    pub fn with_env(mut self, key: &str, value: &str) -> Workspace {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `warden ARGS` run in the workspace.
    pub fn warden(&self, args: &[&str]) -> Output {
        warden()
            .current_dir(self.path())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(args)
            .output()
            .unwrap()
    }

    /// Starts a detached run of [`WATCH`] with `options` and `job` as the job's script; returns
    /// its id.
    pub fn start(&self, options: &[&str], job: &[&str]) -> String {
        self.start_with(&root().join(WATCH), options, job)
    }

    /// Starts a detached run of `protocol`, as [`Workspace::start`].
    pub fn start_with(&self, protocol: &Path, options: &[&str], job: &[&str]) -> String {
        let mut args = vec!["run", protocol.to_str().unwrap(), "--detach"];
        args.extend(options);
        args.extend(["--", "python3", "job.py"]);
        args.extend(job);
        let output = self.warden(&args);
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout).trim().to_owned()
    }

    /// Lets the job go past `until:NAME`.
    pub fn go(&self, name: &str) {
        std::fs::write(self.path().join(name), "").unwrap();
    }

    pub fn run_dir(&self, id: &str) -> RunDir {
        RunDir::new(&self.path().join(".warden/runs"), id)
    }

    /// What `warden status ID --format json` says.
    pub fn status(&self, id: &str) -> Value {
        let output = self.warden(&["status", id, "--format", "json"]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// The next message for the operator, as `wait` prints it.
    pub fn next_message(&self, id: &str) -> String {
        let output = self.warden(&["wait", id, "--role", "operator", "--timeout", "30s"]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "no message: {}",
            text(&output.stderr)
        );
        text(&output.stdout)
    }

    /// Waits for the run's end; returns its final state.
    pub fn ended(&self, id: &str) -> String {
        eventually(|| {
            let status = self.status(id);
            (status["ended"] == true).then(|| status["state"].as_str().unwrap().to_owned())
        })
    }

    /// Waits until the run has ended and its supervisor is gone.
    pub fn ended_and_unsupervised(&self, id: &str) {
        let run = self.run_dir(id);
        eventually(|| {
            let ended = run
                .read_journal()
                .unwrap_or_default()
                .iter()
                .any(|e| matches!(e, Entry::Ended { .. }));
            (ended && run.supervisor().is_none()).then_some(())
        });
    }

    pub fn entries(&self, id: &str) -> Vec<Entry> {
        self.run_dir(id).read_journal().unwrap()
    }
}

impl Default for Workspace {
    fn default() -> Workspace {
        Workspace::new()
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        end_processes(self.path());
        cancel_slurm_jobs(self.path(), &self.env);
    }
}

/// Cancels, by id, the Slurm jobs the runs under `dir` submitted (a finished one is no matter).
fn cancel_slurm_jobs(dir: &Path, env: &[(String, String)]) {
    let root = dir.join(".warden/runs");
    let Ok(runs) = std::fs::read_dir(&root) else {
        return;
    };
    for run in runs.flatten() {
        let run = RunDir::new(&root, &run.file_name().to_string_lossy());
        for entry in run.read_journal().unwrap_or_default() {
            if let Entry::Launched {
                slurm_job: Some(id),
                ..
            } = entry
            {
                let _ = std::process::Command::new("scancel")
                    .envs(env.iter().map(|(k, v)| (k, v)))
                    .arg(id.to_string())
                    .output();
            }
        }
    }
}

/// Ends what the runs under `dir` left running, by PID. The supervisor is the lock's holder
/// (the kernel says so); the job's group is signalled only if its leader, when alive, has its
/// recorded start time.
pub fn end_processes(dir: &Path) {
    let root = dir.join(".warden/runs");
    let Ok(runs) = std::fs::read_dir(&root) else {
        return;
    };
    for run in runs.flatten() {
        let run = RunDir::new(&root, &run.file_name().to_string_lossy());
        if let Some(pid) = run.supervisor().filter(|&pid| pid > 0) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
        for entry in run.read_journal().unwrap_or_default() {
            if let Entry::Launched { job, .. } = entry {
                let _ = signal_group(job, Signal::SIGKILL);
            }
        }
    }
}

/// Bytes a process printed, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Polls `check` until it gives a value, for at most 30 seconds.
pub fn eventually<T>(mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}
