//! The protocol loader and `check`: whatever the bytes, `check` gives a report (only an
//! unreadable file is an error), every finding has a place inside the file it names, and the
//! report renders for people and for tools. A protocol `check` finds no error in compiles.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use warden::check;
use warden::diagnostic::{self, Color};
use warden::protocol::{self, LoadError};
use warden::Severity;

use crate::mutate::{self, Edit};

/// The shipped protocols: Phase 5B, the example run's, and every `check` fixture (each written
/// to show one rule), with their texts.
fn seeds() -> &'static [(PathBuf, String)] {
    static SEEDS: OnceLock<Vec<(PathBuf, String)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut files = vec![
            "protocols/phase5b.yaml".to_owned(),
            "tests/fixtures/run/watch.yaml".to_owned(),
        ];
        files.extend(crate::shipped_files("tests/check", ".yaml"));
        files
            .into_iter()
            .map(|file| (warden_tests::root().join(&file), crate::shipped(&file)))
            .collect()
    })
}

/// Checks `text` as the protocol at `path` and holds the report to the properties above.
fn check_holds(path: &Path, text: &str) -> Result<(), TestCaseError> {
    let report = match check::check_source(path, text) {
        Ok(report) => report,
        Err(LoadError::Io { .. }) => unreachable!("check_source reads no protocol file"),
        Err(other) => return Err(TestCaseError::fail(format!("not a report: {other}"))),
    };
    for finding in &report.diagnostics {
        prop_assert!(
            !finding.message.trim().is_empty(),
            "a finding without a message: {finding:?}"
        );
        prop_assert!(
            finding.line >= 1 && finding.column >= 1 && finding.len >= 1,
            "{finding:?}"
        );
        // The place is inside the file: the protocol, or a template it names.
        let source = report.sources.get(&finding.file);
        prop_assert!(
            source.is_some() || finding.file != path,
            "{finding:?}: the protocol's text is missing"
        );
        if let Some(source) = source {
            // Lines as YAML counts them: a lone `\r` ends one too.
            let index = warden::span::LineIndex::new(source);
            let lines = index.count();
            // The YAML parser puts an error at the end of the file on the line after the last.
            let end_of_file = finding.line == lines + 1 && finding.column == 1;
            prop_assert!(
                finding.line <= lines || end_of_file,
                "{finding:?} is past the end of {} lines",
                lines
            );
            let line = index.line(source, finding.line);
            let width = line.chars().count() as u32;
            prop_assert!(
                finding.column <= width + 1,
                "{finding:?} is past the end of its line ({width} characters): {line:?}"
            );
        }
        let shown = diagnostic::pretty(finding, &report.sources, Color::Never);
        prop_assert!(shown.contains(finding.code.as_str()), "{shown}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&diagnostic::to_json(&report.diagnostics))
            .map_err(|e| TestCaseError::fail(format!("the JSON report does not parse: {e}")))?;
    prop_assert!(json.is_array() || json.is_object());

    // No error: the protocol compiles (what `run` and `simulate` do with it).
    if report.count(Severity::Error) == 0 {
        let protocol = protocol::parse(path, text.as_bytes()).map_err(|e| {
            TestCaseError::fail(format!("check found no error, the loader did: {e}"))
        })?;
        let (templates, problems) = protocol::load_templates(&protocol);
        prop_assert!(
            problems.is_empty(),
            "check found no error, templates have: {problems:?}"
        );
        if let Err(error) = warden::machine::Machine::new(protocol, &templates) {
            return Err(TestCaseError::fail(format!(
                "check found no error, the protocol does not compile: {error}"
            )));
        }
    }
    Ok(())
}

fn seed() -> impl Strategy<Value = usize> {
    0..seeds().len()
}

fn phase5b_edits() -> impl Strategy<Value = Vec<Edit>> {
    mutate::edits(mutate::yaml_values(), 6)
}

proptest! {
    #![proptest_config(crate::config(48))]

    /// Arbitrary bytes: invalid UTF-8, control characters, nothing YAML.
    #[test]
    fn arbitrary_bytes_load_or_fail_with_a_place(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let path = Path::new("fuzz.yaml");
        match protocol::parse(path, &bytes) {
            Ok(_) => {}
            Err(LoadError::Invalid { diagnostics, .. }) => {
                prop_assert!(!diagnostics.is_empty());
                for d in &diagnostics {
                    prop_assert!(d.line >= 1 && d.column >= 1, "{d:?}");
                }
            }
            Err(other) => return Err(TestCaseError::fail(other.to_string())),
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            check_holds(path, text)?;
        }
    }

    /// A shipped protocol, edited: words swapped and replaced by hostile values, lines moved,
    /// nesting added.
    #[test]
    fn mutated_shipped_protocols_check_with_a_place(seed in seed(), edits in phase5b_edits()) {
        let (path, text) = &seeds()[seed];
        check_holds(path, &mutate::apply(text, &edits))?;
    }

    /// Deep nesting, block and flow, at the top and inside a protocol.
    #[test]
    fn deep_nesting_is_an_error_not_a_crash(
        style in mutate::nesting(true),
        depth in mutate::depth(),
        inside in any::<bool>(),
    ) {
        let nested = mutate::nested(style, depth);
        let text = if inside {
            format!("{}\nnested:\n{nested}", seeds()[0].1)
        } else {
            format!("protocol:\n{nested}")
        };
        check_holds(&seeds()[0].0, &text)?;
    }
}

proptest! {
    // Each case checks all of Phase 5B.
    #![proptest_config(crate::config(12))]

    /// A huge identifier where a template, a guard or a state names something.
    #[test]
    fn huge_identifiers_are_reported(at in 0usize..1_000_000, name in mutate::identifier()) {
        let (path, text) = &seeds()[0];
        let edit = [Edit::ReplaceWord(at, name)];
        check_holds(path, &mutate::apply(text, &edit))?;
    }
}
