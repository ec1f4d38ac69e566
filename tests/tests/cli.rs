//! The command line as a user sees it: exit codes, stdout and stderr together.

use insta_cmd::assert_cmd_snapshot;
use warden_tests::warden;

#[test]
fn check_clean_protocol_exits_0() {
    assert_cmd_snapshot!(warden().args(["check", "protocols/phase5b.yaml"]));
}

#[test]
fn check_findings_exit_1_with_rustc_like_output() {
    assert_cmd_snapshot!(warden().args(["check", "tests/check/P011_unknown_state.yaml"]));
}

#[test]
fn warnings_pass_unless_denied() {
    let fixture = "tests/check/P012_unreachable_state.yaml";
    let status = warden().args(["check", fixture]).status().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_cmd_snapshot!(
        warden().args(["check", "--deny", "warnings", "--format", "short", fixture])
    );
}

#[test]
fn check_json_is_an_array_of_findings() {
    let output = warden()
        .args([
            "check",
            "--format",
            "json",
            "tests/check/P022_unused_event.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "warnings only");
    let findings: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let first = &findings[0];
    assert_eq!(first["code"], "P022");
    assert_eq!(first["severity"], "warning");
    assert_eq!(first["file"], "tests/check/P022_unused_event.yaml");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(5), Some(3))
    );
    assert!(first["help"].is_string());
}

#[test]
fn unreadable_file_exits_2() {
    assert_cmd_snapshot!(warden().args(["check", "no/such/protocol.yaml"]));
}

#[test]
fn usage_error_exits_2() {
    assert_cmd_snapshot!(warden().args(["check", "--format", "xml", "protocols/phase5b.yaml"]));
}

#[test]
fn several_files_are_checked_together() {
    assert_cmd_snapshot!(warden().args([
        "check",
        "--format",
        "short",
        "tests/check/P014_final_state_exit.yaml",
        "tests/check/P041_unwatched_job.yaml",
    ]));
}

#[test]
fn graph_of_an_invalid_protocol_is_refused() {
    assert_cmd_snapshot!(warden().args(["graph", "tests/check/P001_yaml_syntax.yaml"]));
}

#[test]
fn graph_dot() {
    assert_cmd_snapshot!(warden().args(["graph", "--format", "dot", "tests/check/clean.yaml"]));
}

#[test]
fn completions_are_generated() {
    let output = warden().args(["completions", "bash"]).output().unwrap();
    assert!(output.status.success());
    let script = String::from_utf8(output.stdout).unwrap();
    assert!(script.contains("_warden()"), "{script}");
    assert!(script.contains("--deny"), "{script}");
}
