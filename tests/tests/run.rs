//! `warden run` with real processes: a detached supervisor, its job (tests/fixtures/run/job.py,
//! scripted by its arguments), and the commands that talk to the run from other processes.
//!
//! The job waits for files the test creates (`until:NAME`), so each test decides when the job
//! moves on. Every process a test leaves behind is ended by PID when its workspace is dropped:
//! the supervisor holding the run's lock, and the job's process group, verified by start time.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use warden::run::job::group_members;
use warden::run::store::Entry;
use warden_tests::workspace::{end_processes, eventually, text, Workspace};
use warden_tests::{root, warden};

fn supervisor_pid(workspace: &Workspace, id: &str) -> u32 {
    workspace.status(id)["supervisor"]
        .as_u64()
        .expect("a supervisor runs") as u32
}

/// The journal holds each message once, numbered 1, 2, 3... with its file written.
fn assert_messages_whole(workspace: &Workspace, id: &str) -> usize {
    let run = workspace.run_dir(id);
    let seqs: Vec<u64> = workspace
        .entries(id)
        .iter()
        .filter_map(|e| match e {
            Entry::Message(warden::run::store::MessageEntry { seq, file, .. }) => {
                assert!(
                    run.dir.join(file).is_file(),
                    "{} is missing",
                    file.display()
                );
                Some(*seq)
            }
            _ => None,
        })
        .collect();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "every message once, in order");
    let files = std::fs::read_dir(run.messages()).unwrap().count();
    assert_eq!(files, seqs.len(), "a file for each message and no other");
    seqs.len()
}

#[test]
fn an_error_line_is_reported_and_the_run_ends_with_the_job() {
    let workspace = Workspace::new();
    let id = workspace.start(
        &[
            "--on-message",
            "echo \"$WARDEN_RUN $WARDEN_ROLE $WARDEN_SEQ $(basename $WARDEN_MESSAGE)\" >> hook.log",
        ],
        &["say:hello", "fatal:disk on fire", "until:go", "exit:0"],
    );
    assert!(workspace
        .next_message(&id)
        .contains("launched python3 job.py"));
    // A run that goes on has no outcome yet.
    assert_eq!(workspace.status(&id)["outcome"], Value::Null);
    let report = workspace.next_message(&id);
    assert!(
        report.contains("failure at line 2: FATAL: disk on fire"),
        "{report}"
    );
    workspace.go("go");
    assert!(workspace.next_message(&id).contains("exited 0"));
    // Nothing more: `wait` says the run ended (exit code 3).
    let output = workspace.warden(&["wait", &id, "--role", "operator", "--timeout", "30s"]);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    assert_eq!(workspace.ended(&id), "done");
    assert_eq!(workspace.status(&id)["outcome"], "success");
    assert_eq!(assert_messages_whole(&workspace, &id), 3);
    // A journal whose outcome does not follow from its inputs is reported, not trusted.
    let journal = workspace.run_dir(&id).journal();
    let original = std::fs::read_to_string(&journal).unwrap();
    let tampered = original.replacen("\"state\":\"done\"", "\"state\":\"watch\"", 1);
    assert_ne!(original, tampered);
    std::fs::write(&journal, tampered).unwrap();
    let failures = workspace.status(&id)["failures"].to_string();
    assert!(
        failures.contains("another outcome than it records"),
        "{failures}"
    );
    std::fs::write(&journal, original).unwrap();
    let hooks = std::fs::read_to_string(workspace.path().join("hook.log")).unwrap();
    let mut lines: Vec<&str> = hooks.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            format!("{id} operator 1 0001-watcher-to-operator-text.md"),
            format!("{id} operator 2 0002-watcher-to-operator-text.md"),
            format!("{id} operator 3 0003-watcher-to-operator-text.md"),
        ]
    );
    // The log is the job's output.
    let log = workspace.warden(&["log", &id]);
    assert_eq!(text(&log.stdout), "hello\nFATAL: disk on fire\n");
}

#[test]
fn a_refused_send_writes_nothing_and_an_accepted_one_is_acted_on() {
    let workspace = Workspace::new();
    let id = workspace.start(&[], &["until:go", "exit:0"]);
    workspace.next_message(&id);
    let journal = workspace.run_dir(&id).journal();
    let before = std::fs::read(&journal).unwrap();
    let refusals: [(&[&str], &str); 6] = [
        (
            &["bogus", "--as", "operator"],
            "no event `bogus` can be sent",
        ),
        (
            &["note", "--as", "watcher", "--field", "text=hi"],
            "`watcher` may not send `note`",
        ),
        (&["note", "--as", "nobody"], "`nobody` is not a role"),
        (
            &["note", "--as", "operator"],
            "`note` needs the field `text`",
        ),
        (
            &[
                "note",
                "--as",
                "operator",
                "--field",
                "text=hi",
                "--field",
                "count=many",
            ],
            "field `count`: expected integer",
        ),
        (
            &[
                "note",
                "--as",
                "operator",
                "--field",
                "text=hi",
                "--field",
                "colour=red",
            ],
            "`note` has no field `colour`",
        ),
    ];
    for (args, reason) in refusals {
        let mut command = vec!["send", id.as_str()];
        command.extend(args);
        let output = workspace.warden(&command);
        assert_eq!(output.status.code(), Some(1), "{args:?} was not refused");
        assert!(
            text(&output.stderr).contains(reason),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    // A request that did not come from `warden send` is answered, not taken.
    let requests = workspace.run_dir(&id).requests();
    std::fs::write(requests.join("0-forged.json"), "{\"event\": 3}").unwrap();
    let answer = requests.join("0-forged.reply.json");
    eventually(|| answer.exists().then_some(()));
    let reply: Value = serde_json::from_slice(&std::fs::read(&answer).unwrap()).unwrap();
    assert!(
        reply["refused"]
            .as_str()
            .unwrap()
            .starts_with("not a request"),
        "{reply}"
    );
    std::fs::remove_file(&answer).unwrap();
    assert_eq!(
        std::fs::read(&journal).unwrap(),
        before,
        "the journal is unchanged"
    );
    // Not deleted: what was left there is kept aside, where it is never taken again.
    let left: Vec<_> = std::fs::read_dir(&requests)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["0-forged.json.rejected"], "no request was left");

    let output = workspace.warden(&[
        "send", &id, "note", "--as", "operator", "--field", "text=hi", "--field", "count=3",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("watch -> watch"));
    assert!(workspace.next_message(&id).contains("noted hi 3"));
    workspace.go("go");
    assert_eq!(workspace.ended(&id), "done");
    // Once ended, nothing more is taken.
    let output = workspace.warden(&[
        "send",
        &id,
        "note",
        "--as",
        "operator",
        "--field",
        "text=late",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("has ended"));
}

#[test]
fn a_second_supervisor_for_a_run_refuses() {
    let workspace = Workspace::new();
    let id = workspace.start(&[], &["until:go", "exit:0"]);
    let first = supervisor_pid(&workspace, &id);
    let output = workspace.warden(&["run", "--resume", &id]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains(&format!(
            "run `{id}` is already supervised by process {first}"
        )),
        "{}",
        text(&output.stderr)
    );
    workspace.go("go");
    assert_eq!(workspace.ended(&id), "done");
}

#[test]
fn a_supervisor_killed_with_sigkill_is_resumed_without_losing_or_repeating_anything() {
    let workspace = Workspace::new();
    let id = workspace.start(
        &[],
        &["say:up", "until:go1", "fatal:one", "until:go2", "exit:3"],
    );
    assert!(workspace.next_message(&id).contains("launched"));
    let job_pid = workspace.status(&id)["job"]["pid"].as_u64().unwrap();

    // Killed while the job runs: the next supervisor finds the same job running.
    kill(
        Pid::from_raw(supervisor_pid(&workspace, &id) as i32),
        Signal::SIGKILL,
    )
    .unwrap();
    eventually(|| workspace.run_dir(&id).supervisor().is_none().then_some(()));
    let output = workspace.warden(&["run", "--resume", &id, "--detach"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let status = workspace.status(&id);
    assert_eq!(status["job"]["pid"].as_u64(), Some(job_pid), "re-adopted");
    assert_eq!(status["job"]["running"], true);
    workspace.go("go1");
    assert!(workspace.next_message(&id).contains("FATAL: one"));

    // Killed again; the job ends while no supervisor runs. Its waiter records the exit.
    kill(
        Pid::from_raw(supervisor_pid(&workspace, &id) as i32),
        Signal::SIGKILL,
    )
    .unwrap();
    eventually(|| workspace.run_dir(&id).supervisor().is_none().then_some(()));
    workspace.go("go2");
    let exit = workspace.run_dir(&id).launch(1).exit;
    eventually(|| exit.exists().then_some(()));
    let output = workspace.warden(&["run", "--resume", &id, "--detach"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(workspace.next_message(&id).contains("exited 3"));
    assert_eq!(workspace.ended(&id), "done");

    assert_eq!(assert_messages_whole(&workspace, &id), 3);
    // Each supervisor's outcomes are the ones a replay of the whole journal comes to.
    assert_eq!(workspace.status(&id)["failures"], serde_json::json!([]));
    let entries = workspace.entries(&id);
    let inputs = entries
        .iter()
        .filter(|e| matches!(e, Entry::Input { .. }))
        .count();
    let outcomes = entries
        .iter()
        .filter(|e| matches!(e, Entry::Outcome(_)))
        .count();
    assert_eq!(inputs, outcomes, "an outcome beside every input");
    let count = |wanted: &str| {
        entries
            .iter()
            .filter(|e| {
                matches!(e, Entry::Input { input, .. }
                    if serde_json::to_value(input).unwrap()["input"] == wanted)
            })
            .count()
    };
    assert_eq!(count("incident"), 1, "the incident once");
    assert_eq!(count("exited"), 1, "the exit once");
    assert_eq!(count("launched"), 1, "one launch");
}

#[test]
fn logs_are_followed_across_truncation_and_rotation() {
    let workspace = Workspace::new();
    let id = workspace.start(
        &[],
        &[
            "fatal:first",
            "follow:FATAL: in metrics",
            "until:go1",
            "fatal:after truncation",
            "truncate-follow",
            "follow:FATAL: metrics after truncation",
            "until:go2",
            "rotate-follow",
            "follow:FATAL: metrics after rotation",
            "until:go3",
            "exit:0",
        ],
    );
    workspace.next_message(&id);
    let mut reports = vec![workspace.next_message(&id), workspace.next_message(&id)];
    // The job's log is truncated under it, as `logrotate copytruncate` does.
    std::fs::File::create(workspace.path().join("job.log")).unwrap();
    workspace.go("go1");
    reports.push(workspace.next_message(&id));
    reports.push(workspace.next_message(&id));
    workspace.go("go2");
    reports.push(workspace.next_message(&id));
    workspace.go("go3");
    assert!(workspace.next_message(&id).contains("exited 0"));
    let all = reports.join("");
    for expected in [
        "FATAL: first",
        "FATAL: in metrics",
        "FATAL: after truncation",
        "FATAL: metrics after truncation",
        "FATAL: metrics after rotation",
    ] {
        assert!(all.contains(expected), "{expected} missing from {all}");
    }
    assert_eq!(workspace.ended(&id), "done");
}

#[test]
fn a_log_moved_away_and_created_again_is_read_where_the_job_writes() {
    let workspace = Workspace::new();
    // As logrotate's default does: the log is renamed, and an empty one is created at its
    // path, while the job writes on to the renamed one.
    let id = workspace.start(
        &[],
        &[
            "say:before rotation",
            "rotate-log",
            "until:go1",
            "fatal:after rotation",
            "until:go2",
            "exit:0",
        ],
    );
    workspace.next_message(&id);
    let supervisor_log = workspace.run_dir(&id).supervisor_log();
    eventually(|| {
        std::fs::read_to_string(&supervisor_log)
            .unwrap_or_default()
            .contains("job.log is another file now")
            .then_some(())
    });
    workspace.go("go1");
    let report = workspace.next_message(&id);
    assert!(
        report.contains("failure at line 2: FATAL: after rotation"),
        "{report}"
    );
    workspace.go("go2");
    assert!(workspace.next_message(&id).contains("exited 0"));
    assert_eq!(workspace.ended(&id), "done");
}

#[test]
fn a_log_moved_into_another_folder_is_read_where_the_job_writes_within_seconds() {
    let workspace = Workspace::new();
    // No event of job.log's folder tells what the moved file gains: the supervisor looks at
    // it once a second, not at its ten-second look at everything.
    let id = workspace.start(
        &[],
        &[
            "say:before the move",
            "move-log:elsewhere",
            // The move is seen before the line is written.
            "sleep:1",
            "until:go1",
            "fatal:after the move",
            "until:go2",
            "exit:0",
        ],
    );
    workspace.next_message(&id);
    workspace.go("go1");
    let output = workspace.warden(&["wait", &id, "--role", "operator", "--timeout", "5s"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report = text(&output.stdout);
    assert!(
        report.contains("failure at line 2: FATAL: after the move"),
        "{report}"
    );
    workspace.go("go2");
    assert!(workspace.next_message(&id).contains("exited 0"));
    assert_eq!(workspace.ended(&id), "done");
}

/// A process the test saw, killed by its PID (verified by its start time) if a failed test
/// leaves it running.
struct Survivor(warden::run::job::Identity);

impl Drop for Survivor {
    fn drop(&mut self) {
        warden::run::track::signal_one(self.0, Signal::SIGKILL);
    }
}

/// The process whose PID the job wrote to `file`.
fn daemon_in(dir: &Path, file: &str) -> Survivor {
    let path = dir.join(file);
    let pid = eventually(|| std::fs::read_to_string(&path).ok()?.trim().parse().ok());
    Survivor(warden::run::job::Identity::of(pid).expect("the daemon runs"))
}

#[test]
fn a_daemon_that_left_the_job_s_group_and_session_is_stopped_with_it() {
    let workspace = Workspace::new();
    let id = workspace.start(&[], &["daemon:daemon.pid", "say:ready", "until:never"]);
    workspace.next_message(&id);
    let daemon = daemon_in(workspace.path(), "daemon.pid");
    let pgid = workspace.status(&id)["job"]["pid"].as_u64().unwrap() as u32;
    assert!(
        !group_members(pgid).contains(&daemon.0.pid),
        "the daemon is not in the job's group"
    );
    let output = workspace.warden(&["send", &id, "terminate", "--as", "operator"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(workspace.ended(&id), "stopped");
    assert!(
        !daemon.0.is_current(),
        "the daemon {:?} survived the stop",
        daemon.0
    );
    let supervisor_log = std::fs::read_to_string(workspace.run_dir(&id).supervisor_log()).unwrap();
    assert!(
        supervisor_log.contains(&format!(
            "process {} (started at tick {}) of the job had left its process group",
            daemon.0.pid, daemon.0.start_time
        )),
        "{supervisor_log}"
    );
    let escaped = workspace
        .entries(&id)
        .into_iter()
        .find_map(|entry| match entry {
            Entry::Stopped { escaped, .. } => Some(escaped),
            _ => None,
        });
    assert_eq!(escaped, Some(vec![]), "nothing escaped the stop");
}

/// Starts a waiter for a job that leaves a daemon behind, with or without a cgroup, and
/// stops everything the waiter tracks.
fn a_waiter_tracks_a_daemon(no_cgroup: bool) {
    use warden::run::track::Tracked;
    use warden::run::waiter::{LaunchFiles, LaunchSpec};
    let workspace = Workspace::new();
    let files = LaunchFiles::new(workspace.path(), 1);
    let spec = LaunchSpec {
        command: ["python3", "job.py", "daemon:daemon.pid", "until:never"]
            .map(String::from)
            .to_vec(),
        cwd: workspace.path().to_path_buf(),
        log: workspace.path().join("job.log"),
        resumed: false,
        no_cgroup,
    };
    std::fs::write(&files.spec, serde_json::to_vec(&spec).unwrap()).unwrap();
    let mut waiter = warden()
        .args(["__waiter", workspace.path().to_str().unwrap(), "1"])
        .spawn()
        .unwrap();
    let started = eventually(|| files.read_started());
    let _job = Survivor(started.job);
    let daemon = daemon_in(workspace.path(), "daemon.pid");
    if no_cgroup {
        assert_eq!(started.cgroup, None);
    } else if let Some(probe) =
        warden::run::track::JobCgroup::create(&format!("probe-{}", std::process::id()))
    {
        // Where this test can make a cgroup, so could the waiter, and the daemon is in it.
        probe.remove();
        let cgroup = started.cgroup.as_ref().expect("the job has a cgroup");
        let members = std::fs::read_to_string(cgroup.join("cgroup.procs")).unwrap();
        assert!(
            members.lines().any(|pid| pid == daemon.0.pid.to_string()),
            "{members}"
        );
    }
    // Its parent gone, the daemon was given to the waiter, its subreaper. (The daemon writes
    // its PID before its parent exits: on a loaded machine the test may read its parent first.)
    let parent = || {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", daemon.0.pid)).unwrap();
        stat[stat.rfind(')').unwrap() + 1..]
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u32>()
            .unwrap()
    };
    eventually(|| (parent() == started.waiter.pid).then_some(()));
    let tracked = Tracked {
        job: started.job,
        waiter: started.waiter,
        cgroup: started.cgroup.clone(),
    };
    let processes = tracked.processes();
    assert!(processes.contains(&daemon.0), "{processes:?}");
    assert!(processes.contains(&started.job), "{processes:?}");
    assert_eq!(tracked.outside_group(&processes), vec![daemon.0]);
    tracked.signal(&processes, Signal::SIGKILL);
    // The waiter records the job's end, reaps the rest, and removes the cgroup.
    let status = waiter.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(!daemon.0.is_current(), "the daemon survived");
    assert_eq!(files.read_exit().unwrap().signal, Some(9));
    if let Some(cgroup) = &started.cgroup {
        assert!(!cgroup.exists(), "{} is left", cgroup.display());
    }
}

#[test]
fn the_waiter_as_subreaper_keeps_a_daemon_in_view_without_a_cgroup() {
    a_waiter_tracks_a_daemon(true);
}

#[test]
fn the_waiter_keeps_a_daemon_in_view_with_a_cgroup_where_one_can_be_made() {
    a_waiter_tracks_a_daemon(false);
}

#[test]
fn invalid_utf8_and_a_10_mb_line_do_not_stop_the_watch() {
    let workspace = Workspace::new();
    let id = workspace.start(
        &[],
        &[
            "invalid",
            "long:10485760",
            "fatal:after the flood",
            "until:go",
            "exit:0",
        ],
    );
    workspace.next_message(&id);
    let report = workspace.next_message(&id);
    assert!(
        report.contains("failure at line 3: FATAL: after the flood"),
        "{report}"
    );
    workspace.go("go");
    assert_eq!(workspace.ended(&id), "done");
}

#[test]
fn a_stop_leaves_no_process_of_the_job_and_touches_nothing_else() {
    let workspace = Workspace::new();
    let mut bystander = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let id = workspace.start(
        &[],
        &["workers:2", "ignore-term", "say:ready", "until:never"],
    );
    workspace.next_message(&id);
    let log = workspace.path().join("job.log");
    eventually(|| {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("ready")
            .then_some(())
    });
    let pgid = workspace.status(&id)["job"]["pid"].as_u64().unwrap() as u32;
    assert_eq!(group_members(pgid).len(), 3, "the job and its two workers");
    let output = workspace.warden(&["send", &id, "terminate", "--as", "operator"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    // All three ignore SIGTERM: SIGKILL follows after the protocol's 2s grace.
    assert_eq!(workspace.ended(&id), "stopped");
    assert_eq!(group_members(pgid), Vec::<u32>::new(), "no orphans");
    assert!(
        bystander.try_wait().unwrap().is_none(),
        "the bystander lives"
    );
    bystander.kill().unwrap();
    bystander.wait().unwrap();
}

fn relaunch(fresh: bool) -> String {
    let workspace = Workspace::new();
    let options: &[&str] = if fresh { &["--fresh"] } else { &[] };
    let id = workspace.start(options, &["checkpoint", "say:up", "until:go", "exit:0"]);
    assert!(!workspace.next_message(&id).contains("--resume"));
    let log = workspace.path().join("job.log");
    // Restart once the checkpoint is written.
    eventually(|| {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("up")
            .then_some(())
    });
    let output = workspace.warden(&["send", &id, "relaunch", "--as", "operator"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let second = workspace.next_message(&id);
    workspace.go("go");
    assert!(workspace.next_message(&id).contains("exited 0"));
    assert_eq!(workspace.ended(&id), "done");
    assert_eq!(workspace.status(&id)["restarts"], 1);
    let log = std::fs::read_to_string(&log).unwrap();
    assert_eq!(log.matches("up\n").count(), 2, "two launches: {log}");
    assert_eq!(log.contains("resumed"), !fresh, "{log}");
    second
}

#[test]
fn a_restart_resumes_from_the_checkpoint() {
    let second = relaunch(false);
    assert!(
        second.contains("launched python3 job.py checkpoint say:up until:go exit:0 --resume"),
        "{second}"
    );
}

#[test]
fn a_restart_with_fresh_starts_afresh() {
    let second = relaunch(true);
    assert!(!second.contains("--resume"), "{second}");
}

#[test]
fn commands_on_runs_name_what_is_wrong() {
    let workspace = Workspace::new();
    let output = workspace.warden(&["status"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("there is no run under .warden/runs"));
    let output = workspace.warden(&["status", "nope"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("there is no run `nope`"));
    let protocol = root().join("tests/fixtures/run/watch.yaml");
    let output = workspace.warden(&["run", protocol.to_str().unwrap(), "--var", "x=1"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stderr), "error: the protocol has no var `x`\n");
    // Refused before the run has an id: none is printed, as if there were such a run.
    let output = workspace.warden(&["run", protocol.to_str().unwrap(), "--var", "every=soon"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "{}", text(&output.stdout));
    assert!(
        text(&output.stderr).starts_with("error: var `every`: `soon` is not a duration"),
        "{}",
        text(&output.stderr)
    );
    assert!(
        !workspace.path().join(".warden/runs").exists() || {
            std::fs::read_dir(workspace.path().join(".warden/runs"))
                .unwrap()
                .count()
                == 0
        }
    );
    let id = workspace.start(&["--id", "r1"], &["until:go", "exit:0"]);
    assert_eq!(id, "r1");
    let output = workspace.warden(&["wait", "r1", "--role", "nobody"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("`nobody` is not a role"));
    workspace.next_message("r1");
    let output = workspace.warden(&["wait", "r1", "--role", "operator", "--timeout", "100ms"]);
    assert_eq!(output.status.code(), Some(4), "timed out");
    workspace.go("go");
    assert_eq!(workspace.ended("r1"), "done");
    let list = workspace.warden(&["list"]);
    assert!(text(&list.stdout).contains("r1"), "{}", text(&list.stdout));
}

/// A protocol whose job's exit code decides the final state: `done` on 0, `failed` (declared
/// `outcome: failure`) otherwise.
const OUTCOMES: &str = "\
protocol: outcomes
job: { command: [sh, -c, 'exit 0'], log: job.log }
states:
  start: { initial: true }
  watch: {}
  done: { final: true }
  failed: { final: true, outcome: failure }
transitions:
  - { from: start, to: watch, do: [launch] }
  - { from: watch, on: exited, if: \"job.exit_code == 0\", to: done }
  - { from: watch, on: exited, to: failed }
";

#[test]
fn a_foreground_run_exits_1_when_it_ends_in_a_failure_state_and_0_on_success() {
    let workspace = Workspace::new();
    std::fs::write(workspace.path().join("outcomes.yaml"), OUTCOMES).unwrap();
    for (code, id, state, outcome, exit) in [
        ("0", "ok", "done", "success", 0),
        ("3", "bad", "failed", "failure", 1),
    ] {
        let script = format!("exit {code}");
        let output = workspace.warden(&[
            "run",
            "outcomes.yaml",
            "--id",
            id,
            "--",
            "sh",
            "-c",
            &script,
        ]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(exit), "{stderr}");
        assert_eq!(
            stderr.contains(&format!(
                "run {id} ended in `{state}`, declared `outcome: failure`; exit status 1"
            )),
            exit == 1,
            "{stderr}"
        );
        let status = workspace.status(id);
        assert_eq!(status["state"], state);
        assert_eq!(status["outcome"], outcome);
        let human = text(&workspace.warden(&["status", id]).stdout);
        assert!(
            human
                .lines()
                .any(|line| line.starts_with("outcome") && line.trim_end().ends_with(outcome)),
            "{human}"
        );
    }
}

#[test]
fn the_readme_example_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(root().join("examples/phase5b-demo.sh"))
        .env("WARDEN_DEMO_DIR", dir.path())
        .output()
        .unwrap();
    end_processes(dir.path());
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    for expected in [
        "## Phase 5B Training Started",
        "## Phase 5B Error Report",
        "AttributeError: 'TensorVariable' object has no attribute 'logp'",
        "## Phase 5B Fix Request",
        "error -> categorize, categorize -> fix",
        "fix -> resume, resume -> watch",
        "--resume output/implementation/models/model_1_last.pt",
        "### Errors Encountered and Resolved",
        "state       complete",
    ] {
        assert!(stdout.contains(expected), "`{expected}` missing:\n{stdout}");
    }
}

#[test]
fn timers_fire_on_the_clock_and_silence_is_reported_once() {
    let workspace = Workspace::new();
    let id = workspace.start(
        &["--var", "every=1s", "--var", "silence=2s"],
        &["say:hello", "until:go", "exit:0"],
    );
    workspace.next_message(&id);
    // Timed from the run's start as journaled, which no delay in the messages can move.
    let journal = std::fs::read_to_string(workspace.run_dir(&id).journal()).unwrap();
    let first: Value = serde_json::from_str(journal.lines().next().unwrap()).unwrap();
    let started: chrono::DateTime<chrono::Utc> = first["at"].as_str().unwrap().parse().unwrap();
    let mut ticks = 0;
    let mut silences = 0;
    let next = |ticks: &mut u32, silences: &mut u32| {
        let message = workspace.next_message(&id);
        if message.contains("tick at") {
            *ticks += 1;
        } else {
            assert!(message.contains("nothing for 2s"), "{message}");
            *silences += 1;
        }
    };
    // The silence comes 2s after the job's one line, however late a loaded machine let the
    // job write it.
    while ticks < 3 || silences == 0 {
        next(&mut ticks, &mut silences);
    }
    // Three ticks a second apart take three seconds.
    let elapsed = chrono::Utc::now() - started;
    assert!(elapsed >= chrono::TimeDelta::seconds(3), "{elapsed:?}");
    // Three ticks more, longer than the silence, hold no second report of the same spell.
    let more = ticks + 3;
    while ticks < more {
        next(&mut ticks, &mut silences);
    }
    assert_eq!(silences, 1);
    workspace.go("go");
    assert_eq!(workspace.ended(&id), "done");
}

#[test]
fn an_interrupted_supervisor_leaves_the_job_running_for_the_next() {
    let workspace = Workspace::new();
    let protocol = root().join("tests/fixtures/run/watch.yaml");
    let supervisor = warden()
        .current_dir(workspace.path())
        .args(["run", protocol.to_str().unwrap(), "--id", "fg"])
        .args(["--", "python3", "job.py", "until:go", "exit:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The run exists once `status` can read it (its journal is created a moment before).
    eventually(|| {
        let status = workspace.warden(&["status", "fg"]);
        status.status.success().then_some(())
    });
    workspace.next_message("fg");
    let job = workspace.status("fg")["job"]["pid"].as_u64().unwrap();
    // As Ctrl-C or `kill` would: our own child, by its PID.
    kill(Pid::from_raw(supervisor.id() as i32), Signal::SIGTERM).unwrap();
    let output = supervisor.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "stopped supervising run fg; its job (pid {job}) goes on; take it up again with \
             `warden run --resume fg`"
        )),
        "{stderr}"
    );
    let status = workspace.status("fg");
    assert_eq!(status["supervisor"], Value::Null);
    assert_eq!(status["job"]["running"], true);
    let output = workspace.warden(&["run", "--resume", "fg", "--detach"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    workspace.go("go");
    assert!(workspace.next_message("fg").contains("exited 0"));
    assert_eq!(workspace.ended("fg"), "done");
}

#[test]
fn log_follow_prints_the_job_s_output_until_the_run_ends() {
    let workspace = Workspace::new();
    let id = workspace.start(&[], &["say:first", "until:go", "say:second", "exit:0"]);
    workspace.next_message(&id);
    let follower = warden()
        .current_dir(workspace.path())
        .args(["log", &id, "--follow"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    workspace.go("go");
    assert_eq!(workspace.ended(&id), "done");
    let output = follower.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(text(&output.stdout), "first\nsecond\n");
}

/// The inputs a run's log gave the machine, with the times an incident was seen left out (a
/// real run reads on the wall clock, a scenario on its virtual one).
fn log_inputs(inputs: impl IntoIterator<Item = warden::machine::Input>) -> Vec<Value> {
    use warden::machine::Input;
    inputs
        .into_iter()
        .filter(|input| {
            matches!(
                input,
                Input::Log { .. } | Input::Incident(_) | Input::Repeated { .. }
            )
        })
        .map(|input| {
            let mut value = serde_json::to_value(&input).unwrap();
            for time in ["first_seen", "last_seen"] {
                value.as_object_mut().unwrap().remove(time);
            }
            value
        })
        .collect()
}

/// One policy turns log output into the machine's inputs: a scenario that logs what a real job
/// printed gives the machine exactly the inputs the real run journals, trailing blank lines
/// included.
#[test]
fn a_scenario_and_a_real_run_of_the_same_output_give_the_same_inputs() {
    let captured = |name: &str| {
        let mut output = std::fs::read(root().join("tests/fixtures/logs").join(name)).unwrap();
        output.extend_from_slice(b"\n   \n\n");
        output
    };
    // A job killed in the middle of writing its traceback.
    let cut_short = b"epoch 1 done\nTraceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n    step()\n".to_vec();
    for (fixture, output) in [
        (
            "config_missing_attribute.log",
            captured("config_missing_attribute.log"),
        ),
        ("json_metrics_nan.log", captured("json_metrics_nan.log")),
        ("key_value_log.log", captured("key_value_log.log")),
        ("a traceback cut short", cut_short),
    ] {
        let workspace = Workspace::new();
        std::fs::write(workspace.path().join("output.log"), &output).unwrap();
        // What Phase 5B's preflight checks look for before it launches the job.
        for (file, text) in [
            (
                "output/implementation/code/model_1.py",
                "print('model 1')\n",
            ),
            ("output/implementation/data/features_1.pkl", "features\n"),
        ] {
            let path = workspace.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }

        let protocol = root().join("protocols/phase5b.yaml");
        let protocol = protocol.to_str().unwrap();
        let started = workspace.warden(&[
            "run",
            protocol,
            "--var",
            "model=1",
            "--id",
            "real",
            "--detach",
            "--",
            "sh",
            "-c",
            "cat output.log; exit 1",
        ]);
        assert!(started.status.success(), "{}", text(&started.stderr));
        let journaled = eventually(|| {
            let inputs: Vec<_> = workspace
                .entries("real")
                .into_iter()
                .filter_map(|entry| match entry {
                    Entry::Input { input, .. } => Some(*input),
                    _ => None,
                })
                .collect();
            let exited = inputs
                .iter()
                .any(|i| matches!(i, warden::machine::Input::Exited { .. }));
            exited.then_some(inputs)
        });

        let scenario = workspace.path().join("same.yaml");
        std::fs::write(
            &scenario,
            format!(
                "protocol: {protocol}\nvars: {{ model: 1 }}\nstart: 2026-01-19T12:00:00Z\n\
                 gates: {{ model_compiles: pass, features_present: pass }}\n\
                 steps:\n  - job: launched\n  - log_file: output.log\n  - {{ job: exited, exit_code: 1 }}\n"
            ),
        )
        .unwrap();
        let (_, transcript) = warden::scenario::run(&scenario).unwrap();

        let real = log_inputs(journaled);
        assert!(!real.is_empty(), "{fixture}: the log gave no input");
        assert_eq!(
            log_inputs(transcript.inputs),
            real,
            "{fixture}: the scenario and the real run disagree"
        );
    }
}

#[test]
fn a_crash_during_a_progress_bar_and_a_death_without_a_word_are_incidents() {
    // The traceback lands on the line the bar left unfinished; the exception no rule names
    // goes to the catch-all category.
    let workspace = Workspace::new();
    let id = workspace.start(&[], &["say:up", "bar-crash"]);
    assert!(workspace.next_message(&id).contains("launched"));
    let report = workspace.next_message(&id);
    assert!(
        report.contains("crash at line 7: 'NoneType' object has no attribute 'shape'"),
        "{report}"
    );
    assert!(workspace.next_message(&id).contains("exited 1"));

    // SIGKILL, as the OOM killer sends it: the exit rule makes it an incident before the exit.
    let workspace = Workspace::new();
    let id = workspace.start(&[], &["say:up", "kill:9"]);
    assert!(workspace.next_message(&id).contains("launched"));
    let report = workspace.next_message(&id);
    assert!(
        report.contains("killed at line 0: the job was killed by signal 9 (SIGKILL)"),
        "{report}"
    );
    assert_eq!(workspace.ended(&id), "done");
}

#[test]
fn what_is_left_in_the_mailbox_that_is_not_a_request_is_moved_aside_and_the_run_goes_on() {
    let workspace = Workspace::new();
    let id = workspace.start(&["--id", "r1"], &["until:go", "exit:0"]);
    assert!(workspace.next_message(&id).contains("launched"));
    let run = workspace.run_dir(&id);
    let requests = run.requests();
    let target = workspace.path().join("precious.json");
    std::fs::write(
        &target,
        r#"{"event":"note","sender":"operator","fields":{}}"#,
    )
    .unwrap();
    // Each sorts before any request `send` writes, so each is taken first.
    std::fs::create_dir(requests.join("0-dir.json")).unwrap();
    nix::unistd::mkfifo(&requests.join("0-fifo.json"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    std::os::unix::fs::symlink(&target, requests.join("0-link.json")).unwrap();
    std::fs::write(requests.join("0-garbage.json"), [0xff, 0xfe, b'{']).unwrap();

    // The supervisor is still there, and takes the next event.
    let output = workspace.warden(&[
        "send", &id, "note", "--as", "operator", "--field", "text=hi",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(workspace.next_message(&id).contains("noted hi"));
    for name in ["0-dir", "0-fifo", "0-link", "0-garbage"] {
        let aside = requests.join(format!("{name}.json.rejected"));
        assert!(
            std::fs::symlink_metadata(&aside).is_ok(),
            "{name} moved aside"
        );
        assert!(!requests.join(format!("{name}.json")).exists());
    }
    assert!(
        std::fs::read_to_string(&target).unwrap().contains("note"),
        "what the link named is untouched"
    );
    let log = std::fs::read_to_string(run.supervisor_log()).unwrap();
    assert!(
        log.contains("request 0-dir refused (cannot read the request: not a regular file (a directory)); moved aside to"),
        "{log}"
    );
    assert!(
        log.contains("request 0-garbage refused (not a request"),
        "{log}"
    );
    assert!(workspace.status(&id)["supervisor"].is_u64());
    workspace.go("go");
    assert_eq!(workspace.ended(&id), "done");
}

#[test]
fn run_names_and_a_journal_s_message_files_never_reach_outside_the_run() {
    let workspace = Workspace::new();
    let id = workspace.start(&["--id", "r1"], &["exit:0"]);
    assert_eq!(workspace.ended(&id), "done");
    let dir = ".warden/runs";
    for args in [
        &["status", "../runs/r1"][..],
        &["inbox", "../runs/r1", "--role", "operator"][..],
        &["wait", "/tmp", "--role", "operator"][..],
        &["log", "r1/."][..],
        &["send", "../x", "note", "--as", "operator"][..],
        &["run", "--resume", "../r1"][..],
        &["run", "--resume", "../r1", "--detach"][..],
    ] {
        let mut args = args.to_vec();
        args.extend(["--dir", dir]);
        let output = workspace.warden(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            text(&output.stderr).contains("is not a run id: use letters, digits"),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }

    // A forged entry names a file outside the run's messages: it is never printed.
    assert!(workspace.next_message(&id).contains("launched"));
    assert!(workspace.next_message(&id).contains("exited 0"));
    std::fs::write(workspace.path().join("secret.txt"), "TOPSECRET").unwrap();
    let secret = workspace.path().join("secret.txt");
    for file in ["../../../secret.txt", secret.to_str().unwrap()] {
        let forged = serde_json::json!({
            "entry": "message", "seq": 99, "at": "2026-01-19T12:00:00Z", "from": "watcher",
            "to": ["operator"], "template": null, "file": file,
        });
        let journal = workspace.run_dir(&id).journal();
        let mut text_of = std::fs::read_to_string(&journal).unwrap();
        let original = text_of.clone();
        text_of.push_str(&format!("{forged}\n"));
        std::fs::write(&journal, text_of).unwrap();
        for args in [
            &["inbox", "r1", "--role", "operator", "--all"][..],
            &["wait", "r1", "--role", "operator", "--timeout", "1s"][..],
        ] {
            let output = workspace.warden(args);
            assert_eq!(output.status.code(), Some(2), "{args:?}");
            assert!(!text(&output.stdout).contains("TOPSECRET"), "{args:?}");
            assert!(
                text(&output.stderr).contains(&format!(
                    "message 99 names `{file}`, which is not a file of the run's messages/ folder"
                )),
                "{args:?}: {}",
                text(&output.stderr)
            );
        }
        std::fs::write(&journal, original).unwrap();
    }
}

#[test]
fn an_exit_status_the_run_s_directory_cannot_take_yet_is_kept_until_it_can() {
    let workspace = Workspace::new();
    let id = workspace.start(&["--id", "r1"], &["until:go", "exit:7"]);
    assert!(workspace.next_message(&id).contains("launched"));
    let (job, waiter) = workspace
        .entries(&id)
        .into_iter()
        .find_map(|e| match e {
            Entry::Launched { job, waiter, .. } => Some((job, waiter)),
            _ => None,
        })
        .unwrap();
    kill(
        Pid::from_raw(supervisor_pid(&workspace, &id) as i32),
        Signal::SIGKILL,
    )
    .unwrap();
    eventually(|| workspace.run_dir(&id).supervisor().is_none().then_some(()));
    // The exit file's path is taken (a read-only directory does the same, except for root,
    // whom permissions do not stop): the waiter cannot write it when the job ends.
    let exit = workspace.run_dir(&id).launch(1).exit;
    std::fs::create_dir(&exit).unwrap();
    workspace.go("go");
    eventually(|| (!job.is_current()).then_some(()));
    // The job is reaped, so its waiter has tried; it is still there, trying again.
    std::thread::sleep(Duration::from_millis(300));
    let still_trying = waiter.is_current();
    std::fs::remove_dir(&exit).unwrap();
    assert!(still_trying, "the waiter gave up on the exit status");
    let recorded = eventually(|| workspace.run_dir(&id).launch(1).read_exit());
    assert_eq!(recorded.exit_code, Some(7));
    let output = workspace.warden(&["run", "--resume", &id, "--detach"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(workspace.next_message(&id).contains("exited 7"));
    assert_eq!(workspace.ended(&id), "done");
    assert_eq!(workspace.status(&id)["job"]["exit_code"], 7);
}

/// A log whose folder does not exist yet is read by polling, and `status` says so; once the
/// folder appears it is watched, and `status` says the supervisor wakes on events again.
#[test]
fn status_says_how_the_supervisor_wakes_as_that_changes() {
    let workspace = Workspace::new();
    let protocol = std::fs::read_to_string(root().join("tests/fixtures/run/watch.yaml"))
        .unwrap()
        .replace("follow: [metrics.log]", "follow: [later/metrics.log]");
    assert!(protocol.contains("later/metrics.log"));
    let path = workspace.path().join("later.yaml");
    std::fs::write(&path, protocol).unwrap();
    let id = workspace.start_with(&path, &[], &["until:go", "exit:0"]);
    let polling = eventually(|| {
        let wake = workspace.status(&id)["wake"].as_str()?.to_owned();
        wake.contains("polling").then_some(wake)
    });
    assert!(polling.contains("does not exist yet"), "{polling}");
    std::fs::create_dir(workspace.path().join("later")).unwrap();
    let wake = eventually(|| {
        let wake = workspace.status(&id)["wake"].as_str()?.to_owned();
        (!wake.contains("polling")).then_some(wake)
    });
    assert!(wake.starts_with("on events (inotify)"), "{wake}");
    workspace.go("go");
    assert_eq!(workspace.ended(&id), "done");
}
