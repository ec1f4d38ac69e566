//! Findings as SARIF 2.1.0, the format code scanning services read (GitHub's among them).
//!
//! One run, whose tool is `warden` with a rule for every code (its name, summary, severity, its
//! documentation as help, and `helpUri` when the project says where `docs/checks.md` is
//! published), and one result per finding with its code, level, message and region. Columns
//! count characters (`columnKind: unicodeCodePoints`) and `endColumn` is the column just after
//! the marked text, as SARIF defines it. File names are URIs relative to the folder `warden
//! check` ran in (`uriBaseId: %SRCROOT%`), so a service that knows the checkout's root places
//! them; a file outside that folder is named by a `file://` URI.

use std::path::{Component, Path};

use serde_json::{json, Value};

use crate::codes::{Code, Severity};
use crate::diagnostic::Diagnostic;

/// The SARIF version written.
pub const VERSION: &str = "2.1.0";

/// The JSON Schema the output follows.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The code's documentation in Markdown: what it finds, why, and an example.
fn help_markdown(code: Code) -> String {
    let mut text = format!("**{code}: {}** ({})\n\n", code.slug(), code.summary());
    for doc in code.docs() {
        text.push_str(&doc.text);
        text.push_str("\n\n");
        if let Some(example) = &doc.example {
            text.push_str(example);
            text.push_str("\n\n");
        }
    }
    text.push_str(&format!("`warden explain {code}` prints this page."));
    text
}

fn rule(code: Code, docs_url: Option<&str>) -> Value {
    let mut rule = json!({
        "id": code.as_str(),
        "name": code.slug(),
        "shortDescription": { "text": code.summary() },
        "defaultConfiguration": { "level": level(code.severity()) },
        "help": { "text": help_markdown(code), "markdown": help_markdown(code) },
    });
    if let Some(url) = docs_url {
        let base = url.split('#').next().unwrap_or(url);
        rule["helpUri"] = Value::String(format!("{base}#{}", code.anchor()));
    }
    rule
}

/// `path` as a URI reference: relative to `base` when it is under it (or relative already),
/// else a `file://` URI; `None` for the second part when the URI is absolute.
fn artifact_uri(path: &Path, base: Option<&Path>) -> (String, bool) {
    let relative = if path.is_absolute() {
        base.and_then(|base| path.strip_prefix(base).ok())
    } else {
        Some(path)
    };
    match relative {
        Some(relative) => {
            let parts: Vec<String> = relative
                .components()
                .filter(|c| !matches!(c, Component::CurDir))
                .map(|c| percent_encode(&c.as_os_str().to_string_lossy()))
                .collect();
            (parts.join("/"), true)
        }
        None => {
            let parts: Vec<String> = path
                .components()
                .filter(|c| !matches!(c, Component::RootDir))
                .map(|c| percent_encode(&c.as_os_str().to_string_lossy()))
                .collect();
            (format!("file:///{}", parts.join("/")), false)
        }
    }
}

/// Escapes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn result(diagnostic: &Diagnostic, base: Option<&Path>) -> Value {
    let mut message = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let (uri, relative) = artifact_uri(&diagnostic.file, base);
    let mut artifact = json!({ "uri": uri });
    if relative {
        artifact["uriBaseId"] = Value::String("%SRCROOT%".into());
    }
    let rule_index = Code::ALL
        .iter()
        .position(|&c| c == diagnostic.code)
        .unwrap_or_default();
    json!({
        "ruleId": diagnostic.code.as_str(),
        "ruleIndex": rule_index,
        "level": level(diagnostic.severity),
        "message": { "text": message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": artifact,
                "region": {
                    "startLine": diagnostic.line,
                    "startColumn": diagnostic.column,
                    "endLine": diagnostic.end_line(),
                    "endColumn": diagnostic.end_column(),
                }
            }
        }]
    })
}

/// The SARIF log of `diagnostics`: file names relative to `base` (the folder checked from),
/// rules linking `docs_url#anchor` when given.
pub fn render(diagnostics: &[Diagnostic], base: Option<&Path>, docs_url: Option<&str>) -> String {
    let log = json!({
        "$schema": SCHEMA,
        "version": VERSION,
        "runs": [{
            "tool": {
                "driver": {
                    "name": "warden",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": Code::ALL.iter().map(|&c| rule(c, docs_url)).collect::<Vec<_>>(),
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": diagnostics.iter().map(|d| result(d, base)).collect::<Vec<_>>(),
        }]
    });
    serde_json::to_string_pretty(&log).expect("SARIF serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Span;

    #[test]
    fn a_finding_is_a_result_with_its_rule_and_region() {
        let finding = Diagnostic::new(
            Code::P060,
            Path::new("protocols/my file.yaml"),
            Span::new(10, 48, 7),
            "the job can be restarted without bound",
        )
        .with_help("bound it");
        let log: Value =
            serde_json::from_str(&render(&[finding], None, Some("https://x.org/c.md"))).unwrap();
        let run = &log["runs"][0];
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(run["tool"]["driver"]["name"], "warden");
        let result = &run["results"][0];
        assert_eq!(result["ruleId"], "P060");
        assert_eq!(result["level"], "warning");
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        let rule = &run["tool"]["driver"]["rules"][index];
        assert_eq!(rule["id"], "P060");
        assert_eq!(rule["helpUri"], "https://x.org/c.md#p060-unbounded-restart");
        assert_eq!(
            rule["shortDescription"]["text"],
            Code::P060.summary(),
            "{rule}"
        );
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(
            location["artifactLocation"]["uri"],
            "protocols/my%20file.yaml"
        );
        assert_eq!(
            location["region"],
            json!({ "startLine": 10, "startColumn": 48, "endLine": 10, "endColumn": 55 })
        );
        assert_eq!(
            result["message"]["text"],
            "the job can be restarted without bound\nhelp: bound it"
        );
    }

    #[test]
    fn files_outside_the_base_are_file_uris() {
        let base = Path::new("/work/project");
        assert_eq!(
            artifact_uri(Path::new("/work/project/./p.yaml"), Some(base)),
            ("p.yaml".to_owned(), true)
        );
        assert_eq!(
            artifact_uri(Path::new("/elsewhere/ü.yaml"), Some(base)),
            ("file:///elsewhere/%C3%BC.yaml".to_owned(), false)
        );
        assert_eq!(
            artifact_uri(Path::new("./a/b.yaml"), Some(base)),
            ("a/b.yaml".to_owned(), true)
        );
    }

    #[test]
    fn without_a_docs_url_rules_carry_their_docs_only() {
        let log: Value = serde_json::from_str(&render(&[], None, None)).unwrap();
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), Code::ALL.len());
        assert!(rules.iter().all(|r| r.get("helpUri").is_none()));
        let markdown = rules[0]["help"]["markdown"].as_str().unwrap();
        assert!(markdown.contains("**Why.**"), "{markdown}");
    }
}
