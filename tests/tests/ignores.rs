//! Ignoring warnings: comments in the protocol, `--ignore`, and the project's `.warden.yaml`.

use std::path::Path;
use std::process::Output;

use warden_tests::{root, warden};

/// A project folder (a repository root, so no config above it is found) with the P060 fixture.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::create_dir(dir.path().join("protocols")).unwrap();
    std::fs::copy(
        root().join("tests/check/P060_unbounded_restart.yaml"),
        dir.path().join("protocols/p.yaml"),
    )
    .unwrap();
    dir
}

fn check(dir: &Path, args: &[&str]) -> Output {
    warden()
        .current_dir(dir)
        .args(["check", "--color", "never"])
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

const RESTART: &str = "  - { from: watch, on: exited, to: watch, do: [restart] }";

#[test]
fn a_comment_satisfies_deny_warnings_where_a_person_decides() {
    let dir = project();
    let protocol = dir.path().join("protocols/p.yaml");
    let denied = check(dir.path(), &["--deny", "warnings", "protocols/p.yaml"]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(stdout(&denied).contains("warning[P060]"));

    edit(
        &protocol,
        RESTART,
        &format!("  # warden: ignore[P060] a person asks for the restart\n{RESTART}"),
    );
    let above = check(dir.path(), &["--deny", "warnings", "protocols/p.yaml"]);
    assert_eq!(above.status.code(), Some(0), "{}", stdout(&above));
    assert_eq!(
        stdout(&above),
        "checked 1 protocol: no findings (1 ignored)\n"
    );

    edit(
        &protocol,
        &format!("  # warden: ignore[P060] a person asks for the restart\n{RESTART}"),
        &format!("{RESTART}  # warden: ignore[unbounded-restart]"),
    );
    let same_line = check(dir.path(), &["--deny", "warnings", "protocols/p.yaml"]);
    assert_eq!(same_line.status.code(), Some(0), "{}", stdout(&same_line));
}

#[test]
fn an_ignore_on_the_wrong_line_suppresses_nothing_and_says_so() {
    let dir = project();
    let protocol = dir.path().join("protocols/p.yaml");
    edit(
        &protocol,
        RESTART,
        &format!("  # warden: ignore[P060]\n\n{RESTART}"),
    );
    let output = check(dir.path(), &["--format", "short", "protocols/p.yaml"]);
    assert_eq!(output.status.code(), Some(0), "warnings only");
    assert_eq!(
        stdout(&output),
        "protocols/p.yaml:10:20: warning[P090]: this ignore suppresses nothing: there is no \
         P060 finding on line 11\n\
         protocols/p.yaml:12:48: warning[P060]: the job can be restarted without bound\n"
    );
}

#[test]
fn the_ignore_flag_takes_codes_names_and_comma_lists() {
    let dir = project();
    for args in [
        &["--ignore", "P060"][..],
        &["--ignore", "unbounded-restart"],
        &["--ignore", "P012,P060"],
        &["--ignore", "P012", "--ignore", "P060"],
    ] {
        let mut all = args.to_vec();
        all.extend(["--deny", "warnings", "protocols/p.yaml"]);
        let output = check(dir.path(), &all);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stdout(&output)
        );
        assert!(stdout(&output).ends_with("no findings (1 ignored)\n"));
    }
}

#[test]
fn the_ignore_flag_refuses_errors_and_unknown_codes() {
    let dir = project();
    let error = check(dir.path(), &["--ignore", "P011", "protocols/p.yaml"]);
    assert_eq!(error.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&error.stderr);
    assert!(
        stderr.contains("P011 is an error, and errors cannot be ignored"),
        "{stderr}"
    );
    let unknown = check(dir.path(), &["--ignore", "P60", "protocols/p.yaml"]);
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("did you mean `P060`?"), "{stderr}");
}

#[test]
fn the_project_config_is_found_from_the_protocol_upward() {
    let dir = project();
    std::fs::write(
        dir.path().join(".warden.yaml"),
        "check:\n  ignore: [P060]\n",
    )
    .unwrap();
    // From the project's root, and from elsewhere: the config is found from the protocol.
    let output = check(dir.path(), &["--deny", "warnings", "protocols/p.yaml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let elsewhere = tempfile::tempdir().unwrap();
    let protocol = dir.path().join("protocols/p.yaml");
    let output = check(
        elsewhere.path(),
        &["--deny", "warnings", protocol.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    // `--config` names another file instead.
    std::fs::write(dir.path().join("strict.yaml"), "check: { ignore: [] }\n").unwrap();
    let output = check(
        dir.path(),
        &[
            "--config",
            "strict.yaml",
            "--deny",
            "warnings",
            "protocols/p.yaml",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
}

#[test]
fn a_wrong_config_is_named_with_its_line_and_exits_2() {
    let dir = project();
    std::fs::write(
        dir.path().join(".warden.yaml"),
        "check:\n  ignore: [P060]\n  deny: warnings\n",
    )
    .unwrap();
    let output = check(dir.path(), &["protocols/p.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(".warden.yaml:3:"), "{stderr}");
    assert!(stderr.contains("unknown field `deny`"), "{stderr}");
}

#[test]
fn a_protocol_that_does_not_load_reports_no_unused_ignore() {
    let dir = project();
    let protocol = dir.path().join("protocols/p.yaml");
    // An unknown key stops the load, so no rule ran that the comment could be needed for.
    edit(
        &protocol,
        "  done: { final: true }",
        "  done: { final: true }\n  # warden: ignore[P012]\n  spare: {}\nbogus: 1",
    );
    let output = check(dir.path(), &["--format", "short", "protocols/p.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("error[P002]"), "{text}");
    assert!(!text.contains("P090"), "{text}");
}
