//! `warden rm` and `warden gc` with real runs: a live run (supervised, or whose job outlived
//! its supervisor) is never removed; an ended one is, by id or by age.
//!
//! Every process a test leaves behind is ended by PID when its workspace is dropped: the
//! supervisor holding the run's lock, and the job's process group, verified by start time.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use warden::run::job::signal_group;
use warden::run::store::{Entry, RunDir};
use warden_tests::{root, warden};

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            root().join("tests/fixtures/run/job.py"),
            dir.path().join("job.py"),
        )
        .unwrap();
        Workspace { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn warden(&self, args: &[&str]) -> Output {
        warden()
            .current_dir(self.path())
            .args(args)
            .output()
            .unwrap()
    }

    /// Starts a detached run of the test protocol with `job` as the job's script; returns its id.
    fn start(&self, id: &str, job: &[&str]) -> String {
        let protocol = root().join("tests/fixtures/run/watch.yaml");
        let mut args = vec!["run", protocol.to_str().unwrap(), "--detach", "--id", id];
        args.extend(["--", "python3", "job.py"]);
        args.extend(job);
        let output = self.warden(&args);
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout).trim().to_owned()
    }

    fn run_dir(&self, id: &str) -> RunDir {
        RunDir::new(&self.path().join(".warden/runs"), id)
    }

    /// Waits until the run has ended and its supervisor is gone.
    fn ended(&self, id: &str) {
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
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let root = self.path().join(".warden/runs");
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
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Polls `check` until it gives a value, for at most 30 seconds.
fn eventually<T>(mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_supervised_run_is_kept_and_an_ended_one_removed_by_id_or_age() {
    let workspace = Workspace::new();
    let live = workspace.start("live", &["until:go", "exit:0"]);
    let done = workspace.start("done", &["exit:0"]);
    workspace.ended(&done);
    let other = workspace.start("other", &["exit:0"]);
    workspace.ended(&other);

    // rm refuses the live run and goes on with the others.
    let output = workspace.warden(&["rm", &live, &done]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("error: run `live` is live: process "),
        "{}",
        text(&output.stderr)
    );
    assert!(
        text(&output.stdout).starts_with("removed done (ended in `done` at "),
        "{}",
        text(&output.stdout)
    );
    assert!(workspace.run_dir(&live).dir.is_dir());
    assert!(!workspace.run_dir(&done).dir.exists());
    let output = workspace.warden(&["rm", "done"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stderr), "error: there is no run `done`\n");

    // gc: the running one is not ended; the other ended less than a day ago.
    let output = workspace.warden(&["gc", "--older-than", "1d"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        text(&output.stdout),
        "removed 0 runs; kept 1 that ended within 1d, 1 not ended\n"
    );
    let output = workspace.warden(&["gc", "--older-than", "0s", "--dry-run"]);
    assert!(
        text(&output.stdout).starts_with("would remove other (ended in `done` at "),
        "{}",
        text(&output.stdout)
    );
    assert!(
        workspace.run_dir(&other).dir.is_dir(),
        "a dry run removes nothing"
    );
    let output = workspace.warden(&["gc", "--older-than", "0s"]);
    assert!(
        text(&output.stdout).ends_with("removed 1 run; kept 0 that ended within 0s, 1 not ended\n"),
        "{}",
        text(&output.stdout)
    );
    assert!(!workspace.run_dir(&other).dir.exists());
    assert!(workspace.run_dir(&live).dir.is_dir());
    let output = workspace.warden(&["gc", "--older-than", "soon"]);
    assert_eq!(output.status.code(), Some(2));

    // Once it has ended, the live run goes too.
    std::fs::write(workspace.path().join("go"), "").unwrap();
    workspace.ended(&live);
    let output = workspace.warden(&["rm", &live]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(!workspace.run_dir(&live).dir.exists());
}

#[test]
fn a_run_whose_job_outlived_its_supervisor_is_kept() {
    let workspace = Workspace::new();
    let id = workspace.start("orphan", &["until:go", "exit:0"]);
    let run = workspace.run_dir(&id);
    let job = eventually(|| {
        run.read_journal()
            .unwrap_or_default()
            .iter()
            .find_map(|e| match e {
                Entry::Launched { job, .. } => Some(*job),
                _ => None,
            })
    });
    let supervisor = eventually(|| run.supervisor());
    kill(Pid::from_raw(supervisor as i32), Signal::SIGKILL).unwrap();
    eventually(|| run.supervisor().is_none().then_some(()));
    let output = workspace.warden(&["rm", &id]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    assert!(
        text(&output.stderr).contains(&format!(
            "run `orphan` is live: its job (process {}) still runs",
            job.pid
        )),
        "{}",
        text(&output.stderr)
    );
    assert!(run.dir.is_dir());
    let output = workspace.warden(&["gc", "--older-than", "0s"]);
    assert!(
        text(&output.stdout).ends_with("1 not ended\n"),
        "{}",
        text(&output.stdout)
    );
    assert!(run.dir.is_dir());
}
