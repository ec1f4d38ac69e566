//! A message that fails to render does not strand a run: the transition is taken, the message
//! goes out with its failure marked, and the owner of uncategorized incidents is told.

use std::path::Path;
use std::process::Output;

use warden_tests::warden;

const PROTOCOL: &str = r#"
protocol: unrendered
roles: { trainer: {}, director: {}, modeler: {} }
channels: [{ from: trainer, to: [director, modeler] }]
job:
  command: [sh, -c, "echo working; exit 3"]
  log: job.log
events:
  terminate: { from: [director] }
states:
  start: { initial: true }
  watch: {}
  ended: { final: true }
transitions:
  - { from: start, to: watch, do: [launch] }
  - { from: watch, on: incident }
  - { from: "*", on: terminate, to: ended, do: [stop] }
  - from: watch
    on: exited
    to: ended
    send: [{ from: trainer, to: modeler, text: "it ended: {{ incident.category }}" }]
"#;

fn run(dir: &Path, args: &[&str]) -> Output {
    warden().current_dir(dir).args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn an_exit_whose_message_reads_a_missing_incident_still_ends_the_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.yaml"), PROTOCOL).unwrap();
    let output = run(dir.path(), &["run", "p.yaml", "--id", "r1"]);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout(&output).contains("failed to render"), "{output:?}");

    let status = run(dir.path(), &["status", "r1", "--format", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["state"], "ended", "{status:#}");
    let failures = status["failures"].to_string();
    assert!(
        failures.contains("sent with the failure marked"),
        "{failures}"
    );

    for role in ["modeler", "director"] {
        let inbox = run(dir.path(), &["inbox", "r1", "--role", role, "--all"]);
        let text = stdout(&inbox);
        assert!(
            text.contains("Warden could not render this message")
                && text.contains("`incident.category` is undefined"),
            "{role}: {text}"
        );
    }
}

#[test]
fn a_guard_that_fails_on_exit_keeps_the_run_in_its_state_and_tells_the_director() {
    let dir = tempfile::tempdir().unwrap();
    let protocol = PROTOCOL
        .replace(
            "on: exited\n    to: ended",
            "on: exited\n    if: \"metrics.loss < 1\"\n    to: ended",
        )
        .replace("{{ incident.category }}", "{{ job.exit_code }}");
    std::fs::write(dir.path().join("p.yaml"), protocol).unwrap();
    let output = run(dir.path(), &["run", "p.yaml", "--id", "r1", "--detach"]);
    assert!(output.status.success(), "{output:?}");

    let wait = run(
        dir.path(),
        &["wait", "r1", "--role", "director", "--timeout", "30s"],
    );
    let notice = stdout(&wait);
    assert!(
        notice.contains("Warden could not take what happened in `watch`")
            && notice.contains("the guard of the transition on line 18 failed"),
        "{wait:?}"
    );
    let status = run(dir.path(), &["status", "r1", "--format", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["state"], "watch", "{status:#}");
    // The run waits for a role's event.
    let send = ["send", "r1", "terminate", "--as", "director"];
    let sent = run(dir.path(), &send);
    assert!(sent.status.success(), "{sent:?}");
    let wait = run(
        dir.path(),
        &["wait", "r1", "--role", "director", "--timeout", "30s"],
    );
    assert_eq!(wait.status.code(), Some(3), "the run ended: {wait:?}");
}
