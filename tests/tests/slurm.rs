//! `job.launcher: slurm` against a real Slurm cluster: the one-node cluster on loopback of
//! `tests/slurm/cluster.sh start` (which `.ci/run` starts). The tests fail, saying how to start
//! it, when it does not answer. They take the cluster in turn: one of them preempts every job
//! of the `debug` partition.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use warden::machine::Input;
use warden::run::store::Entry;
use warden_tests::root;
use warden_tests::workspace::{eventually, text, Workspace};

const PROTOCOL: &str = "tests/fixtures/run/slurm.yaml";

/// The configuration `tests/slurm/cluster.sh` writes, unless `SLURM_CONF` names another.
const CLUSTER_CONF: &str = "/tmp/warden-slurm/slurm.conf";

static CLUSTER: Mutex<()> = Mutex::new(());

/// The cluster, to this test alone; fails when it does not answer.
fn cluster() -> (MutexGuard<'static, ()>, String) {
    let guard = CLUSTER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let conf = std::env::var("SLURM_CONF").unwrap_or_else(|_| CLUSTER_CONF.to_owned());
    let answer = Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .env("SLURM_CONF", &conf)
        .output();
    let up = answer.as_ref().is_ok_and(|o| {
        let states = String::from_utf8_lossy(&o.stdout);
        // Any state but those of a node that cannot run jobs (`down*`, `drained`, `unknown`).
        let usable = |s: &str| {
            !["down", "drain", "fail", "unk", "*"]
                .iter()
                .any(|b| s.contains(b))
        };
        o.status.success() && states.lines().next().is_some_and(usable)
    });
    assert!(
        up,
        "the Slurm test cluster does not answer (SLURM_CONF={conf}: {}); start it with \
         `tests/slurm/cluster.sh start` (needs `apt-get install -y slurm-wlm munge`)",
        match &answer {
            Ok(o) => format!("{}{}", text(&o.stdout).trim(), text(&o.stderr).trim()),
            Err(e) => e.to_string(),
        }
    );
    (guard, conf)
}

fn workspace(conf: &str) -> Workspace {
    Workspace::new().with_env("SLURM_CONF", conf)
}

fn start(workspace: &Workspace, options: &[&str], job: &[&str]) -> String {
    workspace.start_with(&root().join(PROTOCOL), options, job)
}

/// A Slurm command, against the test cluster.
fn slurm(conf: &str, program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("SLURM_CONF", conf)
        .output()
        .unwrap()
}

/// The Slurm job ids the run's journal records, one per launch.
fn slurm_jobs(workspace: &Workspace, id: &str) -> Vec<u64> {
    workspace
        .entries(id)
        .into_iter()
        .filter_map(|e| match e {
            Entry::Launched { slurm_job, .. } => Some(slurm_job.expect("a Slurm job id")),
            _ => None,
        })
        .collect()
}

/// Waits until `warden status` says the current Slurm job is in `state`; returns its id.
fn slurm_state(workspace: &Workspace, id: &str, state: &str) -> u64 {
    eventually(|| {
        let status = workspace.status(id);
        let slurm = &status["job"]["slurm"];
        (slurm["state"] == state).then(|| slurm["job_id"].as_u64().unwrap())
    })
}

/// The journaled ends of the job: their Slurm states.
fn exits(workspace: &Workspace, id: &str) -> Vec<Option<String>> {
    workspace
        .entries(id)
        .into_iter()
        .filter_map(|e| match e {
            Entry::Input { input, .. } => match *input {
                Input::Exited { slurm_state, .. } => Some(slurm_state),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Waits until the job wrote `line` to its log: it runs (Slurm reports a job RUNNING as soon
/// as it has its node, before its command started).
fn wrote(workspace: &Workspace, line: &str) {
    let log = workspace.path().join("job.log");
    eventually(|| {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.lines().any(|l| l == line).then_some(())
    });
}

fn send_terminate(workspace: &Workspace, id: &str) {
    let output = workspace.warden(&["send", id, "terminate", "--as", "operator"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
fn a_job_is_submitted_watched_and_its_error_reported_and_its_end_delivered() {
    let (_cluster, conf) = cluster();
    let workspace = workspace(&conf);
    let id = start(
        &workspace,
        &[],
        &["say:hello", "fatal:disk on fire", "until:go", "exit:0"],
    );
    assert!(workspace
        .next_message(&id)
        .contains("launched python3 job.py"));
    let report = workspace.next_message(&id);
    assert!(
        report.contains("failure at line 2: FATAL: disk on fire"),
        "{report}"
    );
    let job = slurm_state(&workspace, &id, "RUNNING");
    let human = text(&workspace.warden(&["status", &id]).stdout);
    assert!(
        human.contains(&format!("Slurm job {job}, RUNNING")),
        "{human}"
    );
    workspace.go("go");
    assert!(workspace.next_message(&id).contains("exited 0"));
    assert_eq!(workspace.ended(&id), "done");
    assert_eq!(slurm_jobs(&workspace, &id), [job]);
    assert_eq!(exits(&workspace, &id), [Some("COMPLETED".to_owned())]);
    // The job's output went to the run's log, through Slurm.
    let log = workspace.warden(&["log", &id]);
    assert_eq!(text(&log.stdout), "hello\nFATAL: disk on fire\n");
    let script =
        std::fs::read_to_string(workspace.run_dir(&id).dir.join("launch-1.sbatch")).unwrap();
    assert!(
        script.contains("exec 'python3' 'job.py' 'say:hello'"),
        "{script}"
    );
}

/// Kills the run's supervisor by its PID, and waits until it is gone.
fn kill_supervisor(workspace: &Workspace, id: &str) {
    let run = workspace.run_dir(id);
    let pid = run.supervisor().expect("a supervisor runs");
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    eventually(|| run.supervisor().is_none().then_some(()));
}

fn resume(workspace: &Workspace, id: &str) {
    let output = workspace.warden(&["run", "--resume", id, "--detach"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
fn a_killed_supervisor_re_adopts_the_same_slurm_job_on_resume() {
    let (_cluster, conf) = cluster();
    let workspace = workspace(&conf);
    let id = start(
        &workspace,
        &[],
        &["say:one", "until:go", "say:two", "exit:0"],
    );
    let job = slurm_state(&workspace, &id, "RUNNING");
    kill_supervisor(&workspace, &id);
    resume(&workspace, &id);
    workspace.go("go");
    assert_eq!(workspace.ended(&id), "done");
    // One sbatch: one job, and the same one.
    assert_eq!(slurm_jobs(&workspace, &id), [job]);
    assert_eq!(exits(&workspace, &id), [Some("COMPLETED".to_owned())]);
    let log = workspace.warden(&["log", &id]);
    assert_eq!(text(&log.stdout), "one\ntwo\n");
    let supervisor_log = std::fs::read_to_string(workspace.run_dir(&id).supervisor_log()).unwrap();
    assert!(
        supervisor_log.contains(&format!("supervising Slurm job {job} again")),
        "{supervisor_log}"
    );
}

#[test]
fn a_job_that_ended_while_no_supervisor_ran_has_its_exit_delivered() {
    let (_cluster, conf) = cluster();
    let workspace = workspace(&conf);
    let id = start(&workspace, &[], &["until:go", "exit:4"]);
    let job = slurm_state(&workspace, &id, "RUNNING");
    kill_supervisor(&workspace, &id);
    // Without a supervisor only the cluster knows whether the job runs: the run is kept.
    let rm = workspace.warden(&["rm", &id]);
    assert_eq!(rm.status.code(), Some(1), "{}", text(&rm.stderr));
    assert!(
        text(&rm.stderr).contains(&format!("its Slurm job {job} may still run")),
        "{}",
        text(&rm.stderr)
    );
    workspace.go("go");
    eventually(|| {
        let output = slurm(&conf, "scontrol", &["show", "job", "-o", &job.to_string()]);
        text(&output.stdout)
            .contains("JobState=FAILED")
            .then_some(())
    });
    resume(&workspace, &id);
    assert_eq!(workspace.ended(&id), "done");
    assert_eq!(slurm_jobs(&workspace, &id), [job]);
    assert_eq!(exits(&workspace, &id), [Some("FAILED".to_owned())]);
    assert_eq!(workspace.status(&id)["job"]["exit_code"], 4);
}

#[test]
fn a_stop_cancels_the_slurm_job() {
    let (_cluster, conf) = cluster();
    let workspace = workspace(&conf);
    let id = start(&workspace, &[], &["say:up", "until:never"]);
    let job = slurm_state(&workspace, &id, "RUNNING");
    wrote(&workspace, "up");
    send_terminate(&workspace, &id);
    assert_eq!(workspace.ended(&id), "stopped");
    let stopped: Vec<Option<i32>> = workspace
        .entries(&id)
        .into_iter()
        .filter_map(|e| match e {
            Entry::Stopped { signal, .. } => Some(signal),
            _ => None,
        })
        .collect();
    // The job's command ended by the SIGTERM Slurm was told to send.
    assert_eq!(stopped, [Some(15)]);
    let queue = slurm(&conf, "squeue", &["-h", "-j", &job.to_string(), "-o", "%T"]);
    assert_eq!(text(&queue.stdout).trim(), "", "the job left the queue");
    // Ended by the signal, before the grace was over and the job cancelled.
    let shown = text(&slurm(&conf, "scontrol", &["show", "job", "-o", &job.to_string()]).stdout);
    assert!(
        shown.contains("JobState=FAILED") && shown.contains("ExitCode=0:15"),
        "{shown}"
    );
}

/// Waits for the run's second launch to run; returns the two Slurm job ids.
fn relaunched(workspace: &Workspace, id: &str) -> (u64, u64) {
    let message = eventually(|| {
        let message = workspace.next_message(id);
        message.contains("relaunched").then_some(message)
    });
    assert!(
        message.contains("job.py checkpoint say:up until:go exit:0 --resume"),
        "{message}"
    );
    let jobs = slurm_jobs(workspace, id);
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    (jobs[0], jobs[1])
}

#[test]
fn a_preempted_job_is_a_resource_incident_and_resumes_from_its_checkpoint() {
    let (_cluster, conf) = cluster();
    let workspace = workspace(&conf);
    let id = start(
        &workspace,
        &[],
        &["checkpoint", "say:up", "until:go", "exit:0"],
    );
    let first = slurm_state(&workspace, &id, "RUNNING");
    wrote(&workspace, "up");
    // A job of the `urgent` partition, which needs the whole node: it preempts ours.
    let urgent = slurm(
        &conf,
        "sbatch",
        &[
            "--parsable",
            "--partition=urgent",
            "--exclusive",
            "--output=/dev/null",
            "--wrap",
            "sleep 1",
        ],
    );
    assert!(urgent.status.success(), "{}", text(&urgent.stderr));
    let (was, second) = relaunched(&workspace, &id);
    assert_eq!(was, first);
    assert_ne!(second, first);
    let messages: Vec<String> = std::fs::read_dir(workspace.run_dir(&id).messages())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("resource: the Slurm job ended PREEMPTED")),
        "{messages:?}"
    );
    slurm_state(&workspace, &id, "RUNNING");
    workspace.go("go");
    assert_eq!(workspace.ended(&id), "done");
    assert_eq!(
        exits(&workspace, &id),
        [Some("PREEMPTED".to_owned()), Some("COMPLETED".to_owned())]
    );
    let log = text(&workspace.warden(&["log", &id]).stdout);
    assert!(log.contains("DUE TO PREEMPTION"), "{log}");
    assert!(log.ends_with("resumed\nup\n"), "{log}");
}

#[test]
fn a_job_cancelled_from_outside_is_a_resource_incident_and_resumes() {
    let (_cluster, conf) = cluster();
    let workspace = workspace(&conf);
    let id = start(
        &workspace,
        &[],
        &["checkpoint", "say:up", "until:go", "exit:0"],
    );
    let first = slurm_state(&workspace, &id, "RUNNING");
    wrote(&workspace, "up");
    let cancelled = slurm(&conf, "scancel", &[&first.to_string()]);
    assert!(cancelled.status.success(), "{}", text(&cancelled.stderr));
    let (was, second) = relaunched(&workspace, &id);
    assert_eq!((was, second == first), (first, false));
    workspace.go("go");
    assert_eq!(workspace.ended(&id), "done");
    assert_eq!(
        exits(&workspace, &id),
        [Some("CANCELLED".to_owned()), Some("COMPLETED".to_owned())]
    );
}

#[test]
fn a_job_slurm_refuses_is_a_failed_launch_with_sbatch_s_reason() {
    let (_cluster, conf) = cluster();
    let workspace = workspace(&conf);
    let id = start(&workspace, &["--var", "partition=nowhere"], &["exit:0"]);
    assert_eq!(workspace.ended(&id), "done");
    let failed: Vec<String> = workspace
        .entries(&id)
        .into_iter()
        .filter_map(|e| match e {
            Entry::LaunchFailed { error, .. } => Some(error),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].starts_with("sbatch refused the job") && failed[0].contains("invalid partition"),
        "{}",
        failed[0]
    );
    assert!(slurm_jobs(&workspace, &id).is_empty());
    assert_eq!(workspace.status(&id)["job"], Value::Null);
    let supervisor_log = std::fs::read_to_string(workspace.run_dir(&id).supervisor_log()).unwrap();
    assert!(
        supervisor_log.contains("the job could not start: sbatch refused the job"),
        "{supervisor_log}"
    );
    assert!(!Path::new(&workspace.run_dir(&id).dir.join("launch-1.slurm.json")).exists());
}
