//! A `files` gate: files that must exist, hold something, and be newer than a time.

use std::io::ErrorKind;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use super::first_few;
use crate::gate::GateResult;

/// How many paths of each kind of problem a reason names.
const NAMED: usize = 5;

/// Looks at `paths`, each relative to `cwd` unless absolute.
///
/// A path is present when it is a regular file, or a symbolic link to one. Anything else is
/// missing, and the reason says what it is instead: a directory is not the file a gate waits
/// for (a checkpoint, a results table), and its size says nothing of what it holds. A present
/// file is empty when it holds no byte (checked with `non_empty`), and stale when it was last
/// modified at or before `modified_after` (checked when that is given).
///
/// Facts: `files`, one `{path, exists, size, modified}` per path in order (`size` in bytes and
/// `modified` in RFC 3339 UTC, both null for a missing file), and `missing`, `empty` and
/// `stale`, the paths with each problem. The value is the number of files present.
pub(super) fn evaluate(
    gate: &str,
    paths: &[String],
    non_empty: bool,
    modified_after: Option<DateTime<Utc>>,
    cwd: &Path,
) -> GateResult {
    let mut files = Vec::new();
    let mut missing = Vec::new();
    let mut missing_named = Vec::new();
    let mut empty = Vec::new();
    let mut stale = Vec::new();
    let mut stale_named = Vec::new();
    let mut present = 0usize;
    for path in paths {
        let full = cwd.join(path);
        let file = match std::fs::metadata(&full) {
            Ok(metadata) if metadata.is_file() => Some(metadata),
            Ok(metadata) => {
                let what = if metadata.is_dir() {
                    "a directory"
                } else {
                    "not a regular file"
                };
                missing_named.push(format!("{path} ({what})"));
                None
            }
            Err(error) if error.kind() == ErrorKind::NotFound => {
                let dangling = std::fs::symlink_metadata(&full).is_ok_and(|m| m.is_symlink());
                missing_named.push(if dangling {
                    format!("{path} (a symbolic link to nothing)")
                } else {
                    path.clone()
                });
                None
            }
            Err(error) => {
                missing_named.push(format!("{path} (cannot look at it: {error})"));
                None
            }
        };
        let Some(metadata) = file else {
            missing.push(path.clone());
            files.push(json!({"path": path, "exists": false, "size": null, "modified": null}));
            continue;
        };
        present += 1;
        let size = metadata.len();
        let modified = crate::gate::modified(&metadata);
        files.push(json!({
            "path": path,
            "exists": true,
            "size": size,
            "modified": modified.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }));
        if non_empty && size == 0 {
            empty.push(path.clone());
        }
        if let Some(after) = modified_after {
            match modified {
                Some(modified) if modified > after => {}
                Some(modified) => {
                    stale.push(path.clone());
                    stale_named.push(format!("{path} (modified {})", time(modified)));
                }
                None => {
                    stale.push(path.clone());
                    stale_named.push(format!("{path} (its modification time is unknown)"));
                }
            }
        }
    }

    let mut problems = Vec::new();
    if !missing_named.is_empty() {
        problems.push(format!("missing: {}", first_few(&missing_named, NAMED)));
    }
    if !empty.is_empty() {
        problems.push(format!("empty: {}", first_few(&empty, NAMED)));
    }
    if let (false, Some(after)) = (stale_named.is_empty(), modified_after) {
        problems.push(format!(
            "not modified since {}: {}",
            time(after),
            first_few(&stale_named, NAMED)
        ));
    }
    let passed = problems.is_empty();
    let reason = if passed {
        let noun = if present == 1 { "file" } else { "files" };
        format!("{present} {noun} present")
    } else {
        problems.join("; ")
    };
    GateResult::new(gate, passed, reason)
        .with_value(present)
        .with_fact("files", files)
        .with_fact("missing", missing)
        .with_fact("empty", empty)
        .with_fact("stale", stale)
}

/// A time as a reason shows it: RFC 3339 UTC, to the second.
fn time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use std::fs::{File, FileTimes};
    use std::time::SystemTime;

    use chrono::TimeZone;

    use super::*;
    use crate::gate::{evaluate, Probe};

    fn files(
        paths: &[&str],
        non_empty: bool,
        modified_after: Option<DateTime<Utc>>,
        cwd: &Path,
    ) -> GateResult {
        let probe = Probe::Files {
            paths: paths.iter().map(|p| p.to_string()).collect(),
            non_empty,
            modified_after,
        };
        evaluate("outputs", &probe, cwd, Utc::now())
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn touch(path: &Path, contents: &str, modified: DateTime<Utc>) {
        std::fs::write(path, contents).unwrap();
        let file = File::options().write(true).open(path).unwrap();
        file.set_times(FileTimes::new().set_modified(SystemTime::from(modified)))
            .unwrap();
    }

    #[test]
    fn present_files_pass_with_what_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let when = Utc.with_ymd_and_hms(2026, 1, 19, 12, 0, 0).unwrap();
        touch(&dir.path().join("a.csv"), "a,b\n", when);
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        touch(&dir.path().join("sub/b.pt"), "x", when);
        let absolute = dir.path().join("a.csv").display().to_string();
        let result = files(&["a.csv", "sub/b.pt", &absolute], true, None, dir.path());
        assert!(result.passed, "{result:?}");
        assert_eq!(result.reason, "3 files present");
        assert_eq!(result.value, json!(3));
        assert_eq!(
            result.facts["files"][0],
            json!({"path": "a.csv", "exists": true, "size": 4, "modified": "2026-01-19T12:00:00Z"})
        );
        assert_eq!(result.facts["missing"], json!([]));
        assert_eq!(result.facts["empty"], json!([]));
        assert_eq!(result.facts["stale"], json!([]));
        let one = files(&["a.csv"], false, None, dir.path());
        assert_eq!(one.reason, "1 file present");
    }

    #[test]
    fn missing_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("here.csv"), "x").unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        std::os::unix::fs::symlink("nowhere", dir.path().join("link")).unwrap();
        let result = files(
            &["a.csv", "here.csv", "b.pt", "out", "link"],
            false,
            None,
            dir.path(),
        );
        assert!(!result.passed);
        assert_eq!(
            result.reason,
            "missing: a.csv, b.pt, out (a directory), link (a symbolic link to nothing)"
        );
        assert_eq!(result.value, json!(1));
        assert_eq!(
            result.facts["missing"],
            json!(["a.csv", "b.pt", "out", "link"])
        );
        assert_eq!(
            result.facts["files"][0],
            json!({"path": "a.csv", "exists": false, "size": null, "modified": null})
        );
    }

    #[test]
    fn empty_files_fail_when_contents_are_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.csv"), "").unwrap();
        std::fs::write(dir.path().join("y.csv"), "1").unwrap();
        let result = files(&["x.csv", "y.csv"], true, None, dir.path());
        assert!(!result.passed);
        assert_eq!(result.reason, "empty: x.csv");
        assert_eq!(result.facts["empty"], json!(["x.csv"]));
        assert_eq!(result.value, json!(2));
        let lenient = files(&["x.csv", "y.csv"], false, None, dir.path());
        assert!(lenient.passed, "{lenient:?}");
    }

    #[test]
    fn stale_files_fail_and_fresh_ones_pass() {
        let dir = tempfile::tempdir().unwrap();
        let since = at("2026-01-19T12:00:00Z");
        touch(
            &dir.path().join("model_1_last.pt"),
            "w",
            at("2026-01-18T09:30:00Z"),
        );
        touch(&dir.path().join("model_2_last.pt"), "w", since);
        touch(
            &dir.path().join("model_3_last.pt"),
            "w",
            at("2026-01-19T12:00:01Z"),
        );
        let result = files(
            &["model_1_last.pt", "model_2_last.pt", "model_3_last.pt"],
            true,
            Some(since),
            dir.path(),
        );
        assert!(!result.passed);
        assert_eq!(
            result.reason,
            "not modified since 2026-01-19T12:00:00Z: model_1_last.pt (modified \
             2026-01-18T09:30:00Z), model_2_last.pt (modified 2026-01-19T12:00:00Z)"
        );
        assert_eq!(
            result.facts["stale"],
            json!(["model_1_last.pt", "model_2_last.pt"])
        );
        let fresh = files(&["model_3_last.pt"], true, Some(since), dir.path());
        assert!(fresh.passed, "{fresh:?}");
        assert_eq!(fresh.reason, "1 file present");
    }

    #[test]
    fn every_kind_of_problem_is_told() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("e"), "", at("2026-01-01T00:00:00Z"));
        let result = files(
            &["m", "e"],
            true,
            Some(at("2026-01-02T00:00:00Z")),
            dir.path(),
        );
        assert_eq!(
            result.reason,
            "missing: m; empty: e; not modified since 2026-01-02T00:00:00Z: e (modified \
             2026-01-01T00:00:00Z)"
        );
        let many: Vec<String> = (1..=7).map(|i| format!("f{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let result = files(&many, false, None, dir.path());
        assert_eq!(result.reason, "missing: f1, f2, f3, f4, f5 and 2 more");
    }
}
