//! `warden check --format sarif`: a SARIF 2.1.0 log that the official schema accepts, with a rule
//! per code and a result per finding, placed where the finding is.

use std::path::Path;

use warden::Code;
use warden_tests::{root, warden};

fn sarif_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("tests/schemas/sarif-2.1.0.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_valid(log: &serde_json::Value) {
    let errors: Vec<String> = sarif_schema()
        .iter_errors(log)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

fn sarif(dir: &Path, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let output = warden()
        .current_dir(dir)
        .args(["check", "--format", "sarif"])
        .args(args)
        .output()
        .unwrap();
    let log = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code(), log)
}

#[test]
fn every_fixture_gives_a_log_the_sarif_schema_accepts() {
    let fixtures: Vec<String> = std::fs::read_dir(root().join("tests/check"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .map(|n| format!("tests/check/{n}"))
        .collect();
    let args: Vec<&str> = fixtures.iter().map(String::as_str).collect();
    let (status, log) = sarif(root(), &args);
    assert_eq!(status, Some(1), "the fixtures hold errors");
    assert_valid(&log);
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), Code::ALL.len());
    let results = run["results"].as_array().unwrap();
    for code in Code::ALL {
        assert!(
            results.iter().any(|r| r["ruleId"] == code.as_str()),
            "no result for {code}"
        );
    }
    for result in results {
        let rule = &rules[result["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], result["ruleId"]);
        assert_eq!(rule["defaultConfiguration"]["level"], result["level"]);
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(uri.starts_with("tests/check/"), "{uri}");
    }
}

#[test]
fn a_result_marks_the_finding_as_check_does() {
    let (status, log) = sarif(root(), &["tests/check/P060_unbounded_restart.yaml"]);
    assert_eq!(status, Some(0), "a warning");
    assert_valid(&log);
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "P060");
    assert_eq!(result["level"], "warning");
    assert_eq!(
        result["locations"][0]["physicalLocation"],
        serde_json::json!({
            "artifactLocation": {
                "uri": "tests/check/P060_unbounded_restart.yaml",
                "uriBaseId": "%SRCROOT%"
            },
            "region": { "startLine": 10, "startColumn": 48, "endLine": 10, "endColumn": 55 }
        })
    );
    let rule =
        &log["runs"][0]["tool"]["driver"]["rules"][result["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["shortDescription"]["text"], Code::P060.summary());
    assert!(rule["help"]["markdown"]
        .as_str()
        .unwrap()
        .contains("**Why.**"));
}

#[test]
fn rules_link_the_published_docs_the_config_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::copy(
        root().join("tests/check/P072_unused_gate.yaml"),
        dir.path().join("p.yaml"),
    )
    .unwrap();
    let (_, log) = sarif(dir.path(), &["p.yaml"]);
    assert_valid(&log);
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert!(rules.iter().all(|r| r.get("helpUri").is_none()));
    std::fs::write(
        dir.path().join(".warden.yaml"),
        "check:\n  docs_url: https://example.org/warden/docs/checks.md\n",
    )
    .unwrap();
    let (_, log) = sarif(dir.path(), &["p.yaml"]);
    assert_valid(&log);
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let p072 = rules.iter().find(|r| r["id"] == "P072").unwrap();
    assert_eq!(
        p072["helpUri"],
        "https://example.org/warden/docs/checks.md#p072-unused-gate"
    );
    assert_eq!(
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "p.yaml"
    );
}

#[test]
fn a_clean_protocol_is_a_log_with_no_results() {
    let (status, log) = sarif(root(), &["protocols/phase5b.yaml"]);
    assert_eq!(status, Some(0));
    assert_valid(&log);
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
    // The schema is strict enough to catch what a SARIF reader would refuse.
    let mut relative_help = log.clone();
    relative_help["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"] = "docs/checks.md".into();
    assert!(!sarif_schema().is_valid(&relative_help));
    let mut no_driver_name = log.clone();
    no_driver_name["runs"][0]["tool"]["driver"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    assert!(!sarif_schema().is_valid(&no_driver_name));
}
