//! `warden test` as a protocol author reviews transcripts: new and changed ones left pending,
//! `--review` refused without a terminal, `--accept` (and `--bless`) storing them; `simulate`
//! showing the replay of a scenario whose expectation fails.

use std::path::Path;
use std::process::Output;

use warden_tests::warden;

const PROTOCOL: &str = "protocol: p
roles: { trainer: {}, director: {} }
channels: [{ from: trainer, to: director }]
vars:
  silence: { type: duration, default: 1h }
states:
  watch: { initial: true }
  stalled: {}
timers:
  - { event: tick, every: 30m, while: [watch] }
transitions:
  - { from: watch, on: tick, send: [{ from: trainer, to: director, text: \"tick at {{ now }}\" }] }
  - { from: watch, on: silence, to: stalled, send: [{ from: trainer, to: director, text: \"quiet for {{ silence }}\" }] }
  - { from: stalled, on: launched, to: watch }
";

/// A protocol in `dir` and a scenario of it in `dir/scenarios/s.yaml` whose steps are `steps`.
fn project(dir: &Path, steps: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("p.yaml"), PROTOCOL).unwrap();
    std::fs::create_dir_all(dir.join("scenarios")).unwrap();
    let scenario = dir.join("scenarios/s.yaml");
    std::fs::write(
        &scenario,
        format!("protocol: ../p.yaml\nstart: 2026-01-19T12:00:00Z\nsteps:\n{steps}"),
    )
    .unwrap();
    scenario
}

fn test(dir: &Path, flags: &[&str]) -> (Output, String) {
    let output = warden()
        .arg("test")
        .args(flags)
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    (output, stdout)
}

#[test]
fn a_new_transcript_is_pending_until_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = project(dir.path(), "  - job: launched\n  - after: 90m\n");
    let stored = dir.path().join("scenarios/s.transcript.md");
    let pending = dir.path().join("scenarios/s.transcript.md.new");
    let (output, stdout) = test(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("s.yaml: new transcript, review it: ")
            && stdout.contains("1 pending transcript: `warden test --review` to review"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("+## 0. start"),
        "no diff for a new one: {stdout}"
    );
    assert!(!stored.exists());
    let new = std::fs::read_to_string(&pending).unwrap();
    assert!(
        new.contains("transition: watch → stalled on silence (line 13) at 2026-01-19T13:00:00Z"),
        "{new}"
    );

    // --review asks on a terminal, and this is not one.
    let (output, stdout) = test(dir.path(), &["--review"]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("standard input is not one"), "{stderr}");
    assert!(stderr.contains("`warden test --accept`"), "{stderr}");
    assert!(stdout.is_empty(), "nothing replayed: {stdout}");

    // --bless is --accept: the pending transcript becomes the stored one.
    let (output, stdout) = test(dir.path(), &["--bless"]);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("accepted "), "{stdout}");
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), new);
    assert!(!pending.exists());

    // A change differs with a diff, pending again; --accept stores it.
    std::fs::write(
        &scenario,
        std::fs::read_to_string(&scenario)
            .unwrap()
            .replace("after: 90m", "after: 20m"),
    )
    .unwrap();
    let (output, stdout) = test(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("the transcript differs from "), "{stdout}");
    assert!(
        stdout.contains("-transition: watch → stalled on silence"),
        "{stdout}"
    );
    assert!(pending.exists());
    let (output, stdout) = test(dir.path(), &["--accept"]);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(!pending.exists());
    let (output, stdout) = test(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.ends_with("1 passed, 0 failed\n"), "{stdout}");
}

#[test]
fn simulate_shows_the_replay_of_an_unmet_step_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = project(
        dir.path(),
        "  - job: launched\n  - after: 30m\n    expect: { state: stalled, messages: { count: 0 } }\n  - after: 1h\n",
    );
    let output = warden().arg("simulate").arg(&scenario).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("tick at 2026-01-19T12:30:00Z"), "{stdout}");
    assert!(
        stdout.ends_with("end: stalled\n"),
        "the whole replay: {stdout}"
    );
    assert_eq!(
        stderr,
        "error: 2 expectations not met: after step 2: expected the state `stalled`, the run is in \
         `watch`; after step 2: expected 0 messages sent, 1 was sent\n"
    );
    // A run that does not start has no transcript to show.
    std::fs::write(
        &scenario,
        "protocol: ../p.yaml\nvars: { nope: 1 }\nstart: 2026-01-19T12:00:00Z\nsteps: []\n",
    )
    .unwrap();
    let output = warden().arg("simulate").arg(&scenario).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: step 0: the protocol has no var `nope`\n"
    );
}

/// Runs `warden test --review DIR` with its standard input a terminal (a pseudo-terminal that
/// Python opens), typing `answers`; returns what it printed.
fn review_on_a_terminal(dir: &Path, answers: &str) -> (Option<i32>, String) {
    const DRIVER: &str = "
import os, pty, subprocess, sys
master, slave = pty.openpty()
child = subprocess.Popen(sys.argv[1:], stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
os.close(slave)
os.write(master, os.environ['ANSWERS'].encode())
out = child.stdout.read()
sys.stdout.buffer.write(out)
sys.exit(child.wait())
";
    let output = std::process::Command::new("python3")
        .args(["-c", DRIVER])
        .arg(warden_tests::binary())
        .args(["test", "--review"])
        .arg(dir)
        .env("ANSWERS", answers)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn review_on_a_terminal_accepts_rejects_and_skips() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = project(dir.path(), "  - job: launched\n  - after: 90m\n");
    let stored = dir.path().join("scenarios/s.transcript.md");
    let pending = dir.path().join("scenarios/s.transcript.md.new");
    // Skipped: still pending, exit 1.
    let (code, out) = review_on_a_terminal(dir.path(), "s\n");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("new transcript (nothing stored at "), "{out}");
    assert!(
        out.contains("accept (a), reject (r), skip (s), quit (q)? "),
        "{out}"
    );
    assert!(
        out.contains("reviewed: 0 accepted, 0 rejected, 1 skipped"),
        "{out}"
    );
    assert!(pending.exists() && !stored.exists());
    // Accepted: stored, exit 0.
    let (code, out) = review_on_a_terminal(dir.path(), "a\n");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("reviewed: 1 accepted, 0 rejected, 0 skipped"),
        "{out}"
    );
    assert!(stored.exists() && !pending.exists());
    // A change, rejected: the stored transcript stays, the pending one goes, exit 1.
    let before = std::fs::read_to_string(&stored).unwrap();
    std::fs::write(
        &scenario,
        std::fs::read_to_string(&scenario)
            .unwrap()
            .replace("after: 90m", "after: 20m"),
    )
    .unwrap();
    let (code, out) = review_on_a_terminal(dir.path(), "r\n");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("-transition: watch → stalled on silence"),
        "the diff: {out}"
    );
    assert!(out.contains("rejected: removed "), "{out}");
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), before);
    assert!(!pending.exists());
}
