//! The example training job run for real under `run::job`, its log classified by Phase 5B's
//! rules: each way it fails is the incident the protocol expects, and it resumes from its
//! checkpoint.

use std::path::Path;
use std::time::{Duration, Instant};

use warden::classify::{Classifier, Finding};
use warden::run::job::{GroupSpec, ProcessGroup};
use warden_tests::root;

fn run_job(dir: &Path, args: &[&str]) -> (i32, String) {
    let mut command = vec![
        "python3".to_owned(),
        root().join("examples/jobs/train.py").display().to_string(),
    ];
    command.extend(["--epochs", "3", "--epoch-seconds", "0"].map(str::to_owned));
    command.extend(args.iter().map(|a| (*a).to_owned()));
    let log = dir.join("train.log");
    let mut job = ProcessGroup::spawn(&GroupSpec {
        command,
        cwd: Some(dir.to_path_buf()),
        log: log.clone(),
    })
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = job.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the example job did not finish");
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.code().unwrap_or(-1),
        std::fs::read_to_string(log).unwrap(),
    )
}

fn first_incident(log: &str) -> Option<(String, Option<String>)> {
    let protocol = warden::protocol::load(&root().join("protocols/phase5b.yaml")).unwrap();
    let mut classifier = Classifier::new(&protocol).unwrap();
    let mut findings = Vec::new();
    let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    classifier.push_chunk(log.as_bytes(), at, &mut findings);
    classifier.flush(at, true, &mut findings);
    findings.into_iter().find_map(|f| match f {
        Finding::Incident(incident) => Some((incident.category, incident.exception)),
        _ => None,
    })
}

#[test]
fn each_way_the_example_fails_is_the_incident_phase5b_expects() {
    let cases = [
        ("logp", "implementation", Some("AttributeError"), 1),
        ("config", "implementation", Some("AttributeError"), 1),
        ("memory", "resource", Some("MemoryError"), 1),
        ("nan", "convergence", None, 0),
        ("rhat", "convergence", None, 0),
    ];
    for (mode, category, exception, code) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (exit, log) = run_job(dir.path(), &["--fail", mode, "--fail-after", "1"]);
        assert_eq!(exit, code, "{mode}: {log}");
        let found = first_incident(&log);
        assert_eq!(
            found,
            Some((category.to_owned(), exception.map(str::to_owned))),
            "{mode}: {log}"
        );
    }
}

#[test]
fn the_example_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (exit, log) = run_job(
        dir.path(),
        &[
            "--fail",
            "logp",
            "--fail-after",
            "1",
            "--checkpoint",
            "ck.json",
        ],
    );
    assert_eq!(exit, 1, "{log}");
    let (exit, log) = run_job(
        dir.path(),
        &["--resume", "ck.json", "--checkpoint", "ck.json"],
    );
    assert_eq!(exit, 0, "{log}");
    assert!(log.contains("resuming from ck.json at epoch 1\n"), "{log}");
    assert!(
        log.ends_with("training complete\n"),
        "the log is appended to across starts: {log}"
    );
    assert_eq!(
        first_incident(&log).map(|(c, _)| c),
        Some("implementation".to_owned()),
        "the first run's error is still in the log"
    );
}
