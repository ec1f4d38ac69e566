//! Files generated from the code stay in step with it: the JSON Schema, the README's picture of
//! Phase 5B, and docs/checks.md. Run with UPDATE_GENERATED=1 to rewrite them after a change.

use std::fmt::Write as _;
use std::path::Path;

use warden::graph;
use warden::Code;
use warden_tests::{root, warden};

fn compare_or_update(path: &Path, expected: &str) {
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(path, expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is out of date; run `UPDATE_GENERATED=1 cargo test -p warden-tests --test generated` \
         and review the diff",
        path.display()
    );
}

#[test]
fn schema_file_is_current() {
    compare_or_update(
        &root().join("schema/protocol.schema.json"),
        &warden::schema::protocol_schema(),
    );
}

#[test]
fn shipped_protocols_name_the_schema() {
    for entry in std::fs::read_dir(root().join("protocols")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.starts_with(
                    "# yaml-language-server: $schema=../schema/protocol.schema.json\n"
                ),
                "{} lacks the schema modeline",
                path.display()
            );
        }
    }
}

#[test]
fn readme_shows_the_current_phase5b_graph() {
    let protocol = warden::protocol::load(&root().join("protocols/phase5b.yaml")).unwrap();
    let picture = graph::render(&protocol, graph::Format::Mermaid);
    let readme_path = root().join("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let start = readme
        .find("```mermaid\n")
        .expect("README has a mermaid block")
        + 11;
    let end = start + readme[start..].find("```").unwrap();
    let updated = format!("{}{picture}{}", &readme[..start], &readme[end..]);
    compare_or_update(&readme_path, &updated);
}

#[test]
fn checks_doc_shows_every_code_with_its_real_output() {
    let mut page = String::from(
        "# Checks\n\n\
         `warden check` loads a protocol, then runs every rule below. Errors make it exit 1;\n\
         warnings too with `--deny warnings`. Every section shows a protocol that breaks the rule\n\
         (a fixture from `tests/check/`) and what `warden check` prints for it.\n\n\
         `warden explain CODE` (`P032`, `p032` or `unknown-name`) prints a section's text with the\n\
         rule's own example, and every finding `warden check` prints ends with a link to its code's\n\
         section here (`docs` in `--format json`).\n\n\
         ## Output formats\n\n\
         `--format human` (the default) prints the blocks shown below; `short` one line a finding,\n\
         `file:line:col: severity[code]: message`; `json` an array of objects with `code`,\n\
         `severity`, `message`, `file`, `line`, `column`, `end_line`, `end_column`, `help` and\n\
         `docs`; `github` GitHub Actions workflow commands (`::warning file=F,line=L,col=C,...`),\n\
         which a workflow's run shows on the lines of a pull request; `sarif` a SARIF 2.1.0 log for\n\
         code scanning (`github/codeql-action/upload-sarif`), with a rule for every code below.\n\n\
         Lines and columns are 1-based and columns count characters. A finding marks text on one\n\
         line: `end_column` (SARIF's `endColumn`) is the column just after it. A value is marked\n\
         as written (through its closing quote, or the first line of a plain one); a mapping or\n\
         list (a state, a transition) through its closing bracket when that is on its first line,\n\
         else through the end of its first line; a YAML syntax error at the one character where\n\
         reading stopped. SARIF names files relative to the folder `warden check` ran in\n\
         (`uriBaseId: %SRCROOT%`): run it from the repository's root. Its rules carry their\n\
         documentation as `help`, and a `helpUri` when the config's `check.docs_url` says where this\n\
         page is published.\n\n\
         ## Ignoring a warning\n\n\
         A warning that is right in general but not in one place is ignored there with a comment\n\
         that names its code (or the code's name), several separated by commas: at the end of the\n\
         finding's line, or alone on the line just above it.\n\n\
         ```yaml\n\
         transitions:\n  \
         # warden: ignore[P060] a person asks for every restart\n  \
         - { from: error, on: fix_submitted, to: watch, do: [restart] }\n  \
         - { from: watch, on: exited, to: watch, do: [restart] }   # warden: ignore[P060, P033]\n\
         ```\n\n\
         Only warnings can be ignored; an error means the protocol cannot run as written. An ignore\n\
         that suppresses nothing is itself a warning (P090), and so is a `# warden:` comment that is\n\
         not a well-formed ignore (P091). Text after the `]` is free: say why.\n\n\
         Project-wide, `warden check --ignore P060` (repeatable, or `--ignore P060,P012`) and the\n\
         project's config file ignore a code everywhere. The config is `.warden.yaml`, the first\n\
         found from each protocol's folder up to the repository's root (the folder holding `.git`),\n\
         or the file `--config FILE` names:\n\n\
         ```yaml\n\
         check:\n  \
         ignore: [P072, unused-event]      # codes or names of warnings\n  \
         docs_url: https://example.org/warden/docs/checks.md   # SARIF's helpUri, optional\n\
         ```\n\n\
         A key the config does not have, a name that is no code, or an error's code is refused with\n\
         its line (exit 2). The summary line counts what was ignored: `checked 1 protocol: no\n\
         findings (2 ignored)`.\n\n\
         ## Codes\n\n\
         This page is generated from the rules' own documentation (the module docs of\n\
         `engine/src/check/rules/*.rs`, which the engine carries) and the fixtures' real\n\
         output by `tests/tests/generated.rs`, which fails when it is out of date.\n\n\
         | code | severity | finding |\n|---|---|---|\n",
    );
    for code in Code::ALL {
        let _ = writeln!(
            page,
            "| [{code}](#{}) | {} | {} |",
            code.anchor(),
            code.severity(),
            code.summary()
        );
    }
    let fixtures = root().join("tests/check");
    let mut names: Vec<String> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    for code in Code::ALL {
        let _ = write!(page, "\n## {code}: {}\n\n", code.slug());
        let _ = writeln!(page, "Severity: {}.\n", code.severity());
        for doc in code.docs() {
            let _ = writeln!(page, "{}\n", doc.text);
        }
        for name in names.iter().filter(|n| n.starts_with(&format!("{code}_"))) {
            let relative = format!("tests/check/{name}");
            let text = std::fs::read_to_string(root().join(&relative)).unwrap();
            let shown: String = text
                .lines()
                .filter(|l| !l.starts_with("# expect:"))
                .map(|l| format!("{l}\n"))
                .collect();
            let run = warden()
                .args(["check", "--color", "never", &relative])
                .output()
                .unwrap();
            assert_eq!(
                run.status.code(),
                Some(if code.severity() == warden::Severity::Error {
                    1
                } else {
                    0
                }),
                "{relative}"
            );
            let output = String::from_utf8(run.stdout).unwrap();
            assert!(
                output.contains(&format!("[{code}]")),
                "{relative} does not report {code}:\n{output}"
            );
            let _ = write!(page, "`{relative}`:\n\n```yaml\n{shown}```\n\n```console\n$ warden check {relative}\n{output}```\n\n");
        }
    }
    compare_or_update(&root().join("docs/checks.md"), &page);
}

fn yaml_as_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

#[test]
fn the_schema_accepts_every_shipped_protocol_and_rejects_unknown_keys() {
    let schema: serde_json::Value =
        serde_json::from_str(&warden::schema::protocol_schema()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let accepted = [
        "protocols/phase5b.yaml",
        "examples/nightly.yaml",
        "tests/check/clean.yaml",
    ];
    for path in accepted {
        let errors: Vec<String> = validator
            .iter_errors(&yaml_as_json(&root().join(path)))
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{path}: {errors:#?}");
    }
    let unknown_key = yaml_as_json(&root().join("tests/check/P002_unknown_key.yaml"));
    assert!(!validator.is_valid(&unknown_key));
}

#[test]
fn readme_example_is_the_checked_example_file() {
    let example = std::fs::read_to_string(root().join("examples/nightly.yaml")).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```yaml\n{example}```")),
        "README's protocol example differs from examples/nightly.yaml"
    );
    let report = warden::check::check_path(&root().join("examples/nightly.yaml")).unwrap();
    assert!(report.diagnostics.is_empty(), "{:#?}", report.diagnostics);
}

#[test]
fn readme_counts_the_checks_there_are() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let claim = format!("{} checks with stable codes", Code::ALL.len());
    assert!(readme.contains(&claim), "README.md should say \"{claim}\"");
}
