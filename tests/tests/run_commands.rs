//! Commands on real runs: `warden rm` and `warden gc` (a live run, supervised or whose job
//! outlived its supervisor, is never removed; an ended one is, by id or by age), and
//! `warden render --run` (a template against the run's state).
//!
//! Every process a test leaves behind is ended by PID when its workspace is dropped: the
//! supervisor holding the run's lock, and the job's process group, verified by start time.

use std::path::Path;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use warden::run::store::Entry;
use warden_tests::workspace::{eventually, text, Workspace};

#[test]
fn a_supervised_run_is_kept_and_an_ended_one_removed_by_id_or_age() {
    let workspace = Workspace::new();
    let live = workspace.start(&["--id", "live"], &["until:go", "exit:0"]);
    let done = workspace.start(&["--id", "done"], &["exit:0"]);
    workspace.ended_and_unsupervised(&done);
    let other = workspace.start(&["--id", "other"], &["exit:0"]);
    workspace.ended_and_unsupervised(&other);

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
    let output = workspace.warden(&["rm", "../done"]);
    assert_eq!(output.status.code(), Some(2), "a path is not a run id");

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
    workspace.ended_and_unsupervised(&live);
    let output = workspace.warden(&["rm", &live]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(!workspace.run_dir(&live).dir.exists());
}

#[test]
fn a_run_whose_job_outlived_its_supervisor_is_kept() {
    let workspace = Workspace::new();
    let id = workspace.start(&["--id", "orphan"], &["until:go", "exit:0"]);
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

/// A protocol whose incident report is a template, with the template.
fn templated(dir: &Path, report: &str) -> std::path::PathBuf {
    let protocol = dir.join("report.yaml");
    std::fs::write(
        &protocol,
        "protocol: report
templates: templates
roles: { operator: {}, watcher: {} }
channels: [{ from: watcher, to: operator }]
vars:
  every: { type: duration, default: 1h }
job: { command: [python3, job.py], log: job.log }
categories:
  - { id: failure, owner: operator, severity: critical, match: [{ line: \"^FATAL: \" }] }
states:
  start: { initial: true }
  watch: {}
  done: { final: true }
transitions:
  - { from: start, to: watch, do: [launch] }
  - { from: watch, on: incident, count: [reports], send: [{ from: watcher, to: operator, template: report }] }
  - { from: watch, on: exited, to: done }
",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("templates/report.md.j2"), report).unwrap();
    protocol
}

#[test]
fn render_run_renders_a_template_against_the_run_s_state() {
    let workspace = Workspace::new();
    let report = "{{ state }}: {{ incident.category }} at line {{ incident.line_number }}: \
                  {{ incident.message }}; reports {{ counters.reports }}; every {{ every }}; \
                  pid {{ job.pid }}\n";
    let protocol = templated(workspace.path(), report);
    let id = workspace.start_with(
        &protocol,
        &["--id", "r"],
        &["say:hello", "fatal:disk full", "until:go", "exit:0"],
    );
    let run = workspace.run_dir(&id);
    eventually(|| {
        let messages = std::fs::read_dir(run.messages()).ok()?.count();
        (messages == 1).then_some(())
    });
    let pid = eventually(|| {
        run.read_journal()
            .unwrap_or_default()
            .iter()
            .find_map(|e| match e {
                Entry::Launched { job, .. } => Some(job.pid),
                _ => None,
            })
    });
    let output = workspace.warden(&["render", "report", "--run", &id]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        format!("watch: failure at line 2: FATAL: disk full; reports 1; every 1h; pid {pid}\n")
    );
    // The protocol's file as it is now, against the same run.
    std::fs::write(
        workspace.path().join("templates/report.md.j2"),
        "now: {{ incident.message | upper }} ({{ counters.reports }})\n",
    )
    .unwrap();
    let output = workspace.warden(&["render", "report.yaml", "report", "--run", &id]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "now: FATAL: DISK FULL (1)\n");
    // The run's own copy is what it started with.
    let output = workspace.warden(&["render", "report", "--run", &id]);
    assert!(text(&output.stdout).starts_with("watch: failure"));
    // An unknown template, an unknown run, neither --run nor --context.
    let output = workspace.warden(&["render", "reprot", "--run", &id]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("no message template `reprot`; the protocol's are report"),
        "{}",
        text(&output.stderr)
    );
    let output = workspace.warden(&["render", "report", "--run", "nope"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stderr), "error: there is no run `nope`\n");
    let output = workspace.warden(&["render", "report"]);
    assert_eq!(output.status.code(), Some(2));

    // The run drawn over its protocol: in `watch`, having come from `start`.
    let output = workspace.warden(&["graph", "--run", &id, "--format", "dot"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let dot = text(&output.stdout);
    assert!(
        dot.contains("label=\"run r: in `watch` after 2 transitions\""),
        "{dot}"
    );
    assert!(
        dot.contains("\"watch\" [style=\"rounded,filled\", fillcolor=\"#ffd54f\""),
        "{dot}"
    );
    assert!(
        dot.contains("\"start\" -> \"watch\" [label=\"/ launch\\n(taken)\", color="),
        "{dot}"
    );
    assert!(
        dot.contains("\"watch\" -> \"watch\" [label=\"incident\\n(taken)\", color="),
        "{dot}"
    );
    assert!(
        dot.contains("\"watch\" -> \"done\" [label=\"exited\"];"),
        "{dot}"
    );
    let output = workspace.warden(&["graph", "report.yaml", "--run", &id]);
    assert_eq!(output.status.code(), Some(2), "PROTOCOL or --run, not both");
    let output = workspace.warden(&["graph"]);
    assert_eq!(output.status.code(), Some(2));
    std::fs::write(workspace.path().join("go"), "").unwrap();
    workspace.ended_and_unsupervised(&id);
}
