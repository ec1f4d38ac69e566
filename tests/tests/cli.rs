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
    assert_eq!(first["docs"], "docs/checks.md#p022-unused-event");
}

#[test]
fn unreadable_file_exits_2() {
    assert_cmd_snapshot!(warden().args(["check", "no/such/protocol.yaml"]));
}

#[test]
fn check_reads_a_protocol_from_standard_input_for_a_dash() {
    use std::io::Write;
    use std::process::Stdio;
    let run = |text: &str| {
        let mut child = warden()
            .args(["check", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let nightly = std::fs::read_to_string(warden_tests::root().join("examples/nightly.yaml"));
    let clean = run(&nightly.unwrap());
    assert_eq!(clean.status.code(), Some(0), "{clean:?}");
    let broken = run("protocol: [\n");
    assert_eq!(broken.status.code(), Some(1), "{broken:?}");
    let shown = String::from_utf8_lossy(&broken.stdout);
    assert!(shown.contains("<stdin>:2:1"), "{shown}");
}

#[test]
fn render_gives_the_vars_their_defaults_and_types() {
    let dir = tempfile::tempdir().unwrap();
    let job = "job: { checkpoint: c.pt, command: [python3, t.py], log: t.log, pid: 42, \
               started_at: \"2026-01-01T00:00:00Z\", resumed: false }";
    let context = dir.path().join("context.yaml");
    std::fs::write(&context, format!("model: 3\n{job}\n")).unwrap();
    let render = |context: &std::path::Path| {
        warden()
            .args([
                "render",
                "protocols/phase5b.yaml",
                "training_started",
                "--context",
            ])
            .arg(context)
            .output()
            .unwrap()
    };
    let output = render(&context);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(text.contains("**Expected time**: 12h–18h"), "{text}");
    std::fs::write(&context, format!("model: 3\nexpected: soon\n{job}\n")).unwrap();
    let output = render(&context);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("var `expected`: `soon` is not a duration"),
        "{error}"
    );
}

#[test]
fn check_github_format_is_one_workflow_command_a_finding() {
    let output = warden()
        .args([
            "check",
            "--format",
            "github",
            "tests/check/P041_unwatched_job.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "a warning alone: {output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].starts_with(
            "::warning file=tests/check/P041_unwatched_job.yaml,line=8,col=24,endColumn="
        ) && lines[0].contains(",title=P041::"),
        "{text}"
    );
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
    assert!(script.contains("explain"), "{script}");
}

#[test]
fn explain_prints_what_a_code_finds_why_and_an_example() {
    assert_cmd_snapshot!(warden().args(["explain", "P060"]));
}

#[test]
fn explain_finds_a_code_lowercase_or_by_name() {
    let by_code = warden().args(["explain", "P032"]).output().unwrap();
    assert_eq!(by_code.status.code(), Some(0));
    let text = String::from_utf8(by_code.stdout.clone()).unwrap();
    assert!(text.starts_with("P032: unknown-name (error)\n"), "{text}");
    // P032 is reported from guards and from templates: both rule files' docs are shown.
    assert!(text.contains("In the protocol file: guards"), "{text}");
    assert!(text.contains("In message templates:"), "{text}");
    assert!(text.contains("{{ modle }}"), "{text}");
    assert!(text.contains("docs/checks.md#p032-unknown-name"), "{text}");
    for name in ["p032", "unknown-name", "UNKNOWN_NAME"] {
        let output = warden().args(["explain", name]).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{name}");
        assert_eq!(output.stdout, by_code.stdout, "{name}");
    }
}

#[test]
fn explain_says_the_same_as_the_checks_page() {
    let page = std::fs::read_to_string(warden_tests::root().join("docs/checks.md")).unwrap();
    for code in ["P011", "P031", "P074"] {
        let output = warden().args(["explain", code]).output().unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        let why = text
            .lines()
            .find(|l| l.starts_with("**Why.**"))
            .unwrap_or_else(|| panic!("{code} has no why: {text}"));
        assert!(page.contains(why), "{code}: {why}");
    }
}

#[test]
fn explain_json_has_the_code_its_docs_and_link() {
    let output = warden()
        .args(["explain", "--format", "json", "unused-event"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["code"], "P022");
    assert_eq!(doc["name"], "unused-event");
    assert_eq!(doc["severity"], "warning");
    assert_eq!(doc["link"], "docs/checks.md#p022-unused-event");
    let first = &doc["docs"][0];
    assert!(
        first["text"].as_str().unwrap().contains("**Why.**"),
        "{doc}"
    );
    assert!(
        first["example"].as_str().unwrap().contains("on: aproved"),
        "{doc}"
    );
}

#[test]
fn explain_of_an_unknown_code_exits_2_with_a_suggestion() {
    assert_cmd_snapshot!(warden().args(["explain", "unknown-nmae"]));
    let output = warden().args(["explain", "P999"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("`P999` is not a check code"), "{stderr}");
    assert!(stderr.contains("docs/checks.md lists them all"), "{stderr}");
}

#[test]
fn simulate_prints_the_transcript_of_a_scenario() {
    let output = warden()
        .args([
            "simulate",
            "protocols/phase5b/scenarios/pymc_logp_fixed_and_resumed.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with(
        "## 0. start — 2026-01-19T12:00:00Z\ngate model_compiles: passed: exited with 0 in 0.2s\n"
    ));
    assert!(text.contains("\ntransition: start → watch (line "));
    assert!(text.contains("incident: implementation (critical) for code_translator"));
    assert!(text.ends_with("end: complete\n"));
}

#[test]
fn simulate_json_has_the_same_steps() {
    let output = warden()
        .args([
            "simulate",
            "--format",
            "json",
            "protocols/phase5b/scenarios/pymc_logp_fixed_and_resumed.yaml",
        ])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["state"], "complete");
    assert_eq!(json["steps"][0]["what"], "start");
}

#[test]
fn test_replays_every_scenario_against_its_transcript() {
    let output = warden().args(["test"]).output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{text}");
    let coverage = text
        .lines()
        .find(|l| l.starts_with("coverage protocols/phase5b.yaml: "))
        .unwrap_or_else(|| panic!("no coverage line:\n{text}"));
    let counts: Vec<&str> = coverage
        .split_whitespace()
        .filter(|w| w.parse::<u32>().is_ok())
        .collect();
    assert_eq!(counts.len(), 2, "{coverage}");
    assert_eq!(
        counts[0], counts[1],
        "every Phase 5B transition is taken by some scenario: {text}"
    );
    assert!(
        text.lines().last().unwrap().ends_with(" passed, 0 failed"),
        "{text}"
    );
}

#[test]
fn test_reports_a_changed_transcript_with_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir(&scenarios).unwrap();
    let root = warden_tests::root();
    let scenario = std::fs::read_to_string(
        root.join("protocols/phase5b/scenarios/pymc_logp_fixed_and_resumed.yaml"),
    )
    .unwrap()
    .replace(
        "../../phase5b.yaml",
        &root.join("protocols/phase5b.yaml").display().to_string(),
    )
    .replace(
        "../../../tests/fixtures",
        &root.join("tests/fixtures").display().to_string(),
    );
    std::fs::write(scenarios.join("s.yaml"), scenario).unwrap();
    let stored = std::fs::read_to_string(
        root.join("protocols/phase5b/scenarios/pymc_logp_fixed_and_resumed.transcript.md"),
    )
    .unwrap()
    .replace("**PID**: 12345", "**PID**: 54321");
    std::fs::write(scenarios.join("s.transcript.md"), stored).unwrap();
    let output = warden().arg("test").arg(dir.path()).output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("-    **PID**: 54321\n+    **PID**: 12345"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "0 passed, 1 failed\n1 pending transcript: `warden test --review` to review, \
             `--accept` to accept all\n"
        ),
        "{text}"
    );
    assert!(dir.path().join("scenarios/s.transcript.md.new").is_file());
}

fn render(context: &std::path::Path) -> std::process::Output {
    warden()
        .args([
            "render",
            "protocols/phase5b.yaml",
            "review_overdue",
            "--context",
        ])
        .arg(context)
        .output()
        .unwrap()
}

#[test]
fn render_one_template_for_authors() {
    let dir = tempfile::tempdir().unwrap();
    let context = dir.path().join("context.yaml");
    std::fs::write(&context, "model: 3\nfix: { sender: data_engineer, summary: dropped NaN rows, design_change: false }\n").unwrap();
    let output = render(&context);
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "review_window and run are not in this context"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("undefined"),
        "{text}"
    );
    std::fs::write(
        &context,
        "model: 3\nreview_window: 1h\nrun: { id: r1 }\nfix: { summary: dropped NaN rows }\n",
    )
    .unwrap();
    let output = render(&context);
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.starts_with("## ⚠️ Retroactive Review Overdue: Model 3\n"),
        "{text}"
    );
    assert!(text.contains("Fix: dropped NaN rows"), "{text}");
}

#[test]
fn a_reader_that_goes_away_ends_a_command_quietly() {
    // `warden simulate --format json | head`: the reader closes the pipe before the command
    // has written; the command ends by SIGPIPE, as other Unix tools do, and does not panic.
    // The pipe's reading end is closed before the command starts: closed after, it could
    // take all the command writes first, on a busy machine.
    use std::os::unix::process::ExitStatusExt;
    for args in [
        &[
            "simulate",
            "--format",
            "json",
            "protocols/phase5b/scenarios/pymc_logp_fixed_and_resumed.yaml",
        ][..],
        &["graph", "protocols/phase5b.yaml"][..],
        &[
            "check",
            "--format",
            "json",
            "tests/check/P044_catch_all.yaml",
        ][..],
    ] {
        let (reader, writer) = nix::unistd::pipe().unwrap();
        drop(reader);
        let output = warden()
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(
            output.status.signal(),
            Some(13),
            "{args:?}: ended by SIGPIPE"
        );
    }
}

#[test]
fn render_of_a_file_that_cannot_be_read_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = render(&dir.path().join("no-such-context.yaml"));
    assert_eq!(output.status.code(), Some(2), "an unreadable context");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot read"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let context = dir.path().join("context.yaml");
    std::fs::write(&context, "model: 3\n").unwrap();
    let output = warden()
        .args([
            "render",
            "protocols/phase5b.yaml",
            "no_such_template",
            "--context",
        ])
        .arg(&context)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "an unreadable template");
    let output = warden()
        .args([
            "render",
            "no/such/protocol.yaml",
            "review_overdue",
            "--context",
        ])
        .arg(&context)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "an unreadable protocol");
}

#[test]
fn yaml_nested_too_deep_is_refused_by_every_loader_with_its_place() {
    // Thousands of levels used to overflow the loader's stack (block style) or take minutes
    // (flow style, under libyaml). Each file is refused at the level past the limit.
    let dir = tempfile::tempdir().unwrap();
    let root = warden_tests::root();
    let good = root.join("protocols/phase5b.yaml");
    for (depth, flow) in [(30_000, false), (100_000, true)] {
        let deep = warden::nesting::nested(depth, flow);
        let protocol = dir.path().join("deep.yaml");
        std::fs::write(&protocol, format!("protocol: deep\ndoc:\n  {deep}")).unwrap();
        let context = dir.path().join("context.yaml");
        std::fs::write(&context, format!("model: 3\nfix:\n  {deep}")).unwrap();
        let scenario = dir.path().join("s.yaml");
        std::fs::write(
            &scenario,
            format!(
                "protocol: {}\nstart: 2026-01-19T12:00:00Z\nsteps:\n  {deep}",
                good.display()
            ),
        )
        .unwrap();
        let deep_protocol_scenario = dir.path().join("p.yaml");
        std::fs::write(
            &deep_protocol_scenario,
            "protocol: deep.yaml\nstart: 2026-01-19T12:00:00Z\nsteps: []\n",
        )
        .unwrap();
        let path = |p: &std::path::Path| p.display().to_string();
        let cases: [(Vec<String>, i32, String); 6] = [
            (
                vec!["check".into(), path(&protocol)],
                1,
                format!("{}:3:", protocol.display()),
            ),
            (
                vec!["graph".into(), path(&protocol)],
                1,
                format!("{}:3:", protocol.display()),
            ),
            (
                vec![
                    "render".into(),
                    path(&protocol),
                    "x".into(),
                    "--context".into(),
                    path(&context),
                ],
                1,
                format!("{} is not a valid protocol", protocol.display()),
            ),
            (
                vec![
                    "render".into(),
                    path(&good),
                    "review_overdue".into(),
                    "--context".into(),
                    path(&context),
                ],
                1,
                format!("{}: line 3 column ", context.display()),
            ),
            (
                vec!["simulate".into(), path(&scenario)],
                2,
                format!("{}: line 4 column ", scenario.display()),
            ),
            (
                vec!["simulate".into(), path(&deep_protocol_scenario)],
                1,
                "the protocol does not load".into(),
            ),
        ];
        for (args, code, place) in cases {
            let output = warden().args(&args).output().unwrap();
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(output.status.code(), Some(code), "{args:?}: {all}");
            assert!(all.contains(&place), "{args:?}: {all}");
            // `render` and `simulate` say a protocol does not load and leave the why to `check`.
            let loads_the_deep_protocol = (args[0] == "render" && args[1] == path(&protocol))
                || (args[0] == "simulate" && args[1] == path(&deep_protocol_scenario));
            if !loads_the_deep_protocol {
                assert!(
                    all.contains("nests deeper than 128 levels"),
                    "{args:?}: {all}"
                );
            }
        }
    }
}

#[test]
fn human_check_output_of_many_findings_is_each_finding_once() {
    // Thousands of findings in one file: each printed with its line, the file indexed once
    // (see the engine's `Printer`); here, that the output is whole and in order.
    let dir = tempfile::tempdir().unwrap();
    let protocol = dir.path().join("many.yaml");
    let mut text = String::from("protocol: many\nstates:\n  a: { initial: true }\n");
    for i in 0..2000 {
        text.push_str(&format!("  s{i}: {{ nope: 1 }}\n"));
    }
    std::fs::write(&protocol, text).unwrap();
    let output = warden()
        .args(["check", "--color", "never"])
        .arg(&protocol)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.matches("error[P002]").count(), 2000, "{stdout}");
    assert!(stdout.contains(&format!("--> {}:2003:", protocol.display())));
}

#[test]
fn render_ends_its_text_with_a_line_break_as_a_message_file_does() {
    let dir = tempfile::tempdir().unwrap();
    let scaffold = warden_tests::root().join("engine/scaffold");
    std::fs::copy(scaffold.join("hello.yaml"), dir.path().join("hello.yaml")).unwrap();
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    for name in ["status_update", "incident_report"] {
        // A template whose last line has no line break.
        std::fs::write(
            dir.path().join(format!("templates/{name}.md.j2")),
            format!("{name} without a final line break"),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("context.yaml"), "{}\n").unwrap();
    let output = warden()
        .current_dir(dir.path())
        .args([
            "render",
            "hello.yaml",
            "status_update",
            "--context",
            "context.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "status_update without a final line break\n"
    );
}
