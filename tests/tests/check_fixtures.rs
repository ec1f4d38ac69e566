//! One fixture per check code in `tests/check/`: each must produce its code at the line and column
//! its `# expect:` header names, and its full output (pretty and JSON) is a reviewed snapshot.

use std::path::{Path, PathBuf};

use warden::check;
use warden::diagnostic::{self, Color};
use warden::Code;

/// `# expect: P011 9:36` or `# expect: P031 templates/broken.md.j2 4:26`.
struct Expectation {
    code: String,
    file: Option<String>,
    line: u32,
    column: u32,
}

fn expectations(text: &str) -> Vec<Expectation> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# expect: "))
        .map(|rest| {
            let parts: Vec<&str> = rest.split_whitespace().collect();
            let (file, position) = match parts.as_slice() {
                [_, position] => (None, *position),
                [_, file, position] => (Some(file.to_string()), *position),
                _ => panic!("malformed expectation: {rest}"),
            };
            let (line, column) = position.split_once(':').expect("line:column");
            Expectation {
                code: parts[0].to_owned(),
                file,
                line: line.parse().unwrap(),
                column: column.parse().unwrap(),
            }
        })
        .collect()
}

fn relative(path: &Path) -> PathBuf {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap()
        .to_path_buf()
}

#[test]
fn every_code_has_a_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("check");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for code in Code::ALL {
        assert!(
            names
                .iter()
                .any(|name| name.starts_with(&format!("{code}_"))),
            "no fixture for {code} in {}",
            dir.display()
        );
    }
}

#[test]
fn fixtures() {
    insta::glob!("../check", "*.yaml", |path| {
        let path = relative(path);
        let text = std::fs::read_to_string(&path).unwrap();
        let report = check::check_path(&path).unwrap();
        let expected = expectations(&text);
        if expected.is_empty() {
            assert_eq!(report.diagnostics, [], "{} should be clean", path.display());
        }
        for expectation in &expected {
            let file = match &expectation.file {
                Some(file) => path.parent().unwrap().join(file),
                None => path.clone(),
            };
            let found = report.diagnostics.iter().any(|d| {
                d.code.as_str() == expectation.code
                    && d.file == file
                    && (d.line, d.column) == (expectation.line, expectation.column)
            });
            assert!(
                found,
                "{}: expected {} at {}:{}:{}, found:\n{}",
                path.display(),
                expectation.code,
                file.display(),
                expectation.line,
                expectation.column,
                report
                    .diagnostics
                    .iter()
                    .map(|d| d.short())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        let pretty: String = report
            .diagnostics
            .iter()
            .map(|d| diagnostic::pretty(d, &report.sources, Color::Never))
            .collect();
        let json = diagnostic::to_json(&report.diagnostics);
        insta::assert_snapshot!(format!("{pretty}---- json ----\n{json}"));
    });
}

#[test]
fn phase5b_is_clean_even_with_warnings_denied() {
    let path = warden_tests::root().join("protocols/phase5b.yaml");
    let report = check::check_path(&path).unwrap();
    let found: Vec<String> = report.diagnostics.iter().map(|d| d.short()).collect();
    assert!(found.is_empty(), "{found:#?}");
    assert!(!report.fails(true));
}
