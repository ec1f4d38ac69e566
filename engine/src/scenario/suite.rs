//! A suite of scenarios, as `warden test` runs it: every scenario under some roots replayed and
//! its transcript compared with the one stored beside it (or stored anew, to bless a change),
//! and, per protocol, which of its transitions some scenario took.
//!
//! The results are typed so that a front end only words them; each is handed over as soon as
//! its scenario is done, since a suite of long scenarios takes a while.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{diff, discover, run, transcript_path, ScenarioError};
use crate::graph;
use crate::protocol::Protocol;

/// Why a suite could not be run to its end.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// No scenario file is under the roots.
    #[error("no scenarios found (looked for scenarios/*.yaml)")]
    NoScenarios,
    /// A path given does not exist.
    #[error("{}: no such file or folder", .0.display())]
    NotFound(PathBuf),
    /// A blessed transcript could not be written; the suite stops there.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The transcript file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What became of one scenario.
#[derive(Debug)]
pub enum Verdict {
    /// Its transcript is the stored one.
    Ok,
    /// Its transcript was stored at this path (`bless`).
    Blessed(PathBuf),
    /// It could not be replayed.
    Failed(ScenarioError),
    /// Its transcript differs from the one stored (a missing file is an empty transcript).
    Differs {
        /// The stored transcript.
        stored_path: PathBuf,
        /// A unified diff, stored against actual.
        diff: String,
    },
}

impl Verdict {
    /// Whether the scenario counts as failed.
    pub fn failed(&self) -> bool {
        matches!(self, Verdict::Failed(_) | Verdict::Differs { .. })
    }
}

/// One scenario of a suite and what became of it.
#[derive(Debug)]
pub struct ScenarioResult {
    /// The scenario file.
    pub scenario: PathBuf,
    /// What became of it.
    pub verdict: Verdict,
}

/// A transition no scenario of its protocol took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untaken {
    /// Its index in the protocol's transitions.
    pub transition: usize,
    /// Its line in the protocol file.
    pub line: u32,
    /// Its event, guard and effects as `graph::label` writes them; empty when it has none.
    pub label: String,
}

/// Which transitions of one protocol the scenarios took, across all the scenarios replayed on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    /// The protocol file.
    pub protocol: PathBuf,
    /// How many distinct transitions were taken.
    pub taken: usize,
    /// How many transitions the protocol has.
    pub total: usize,
    /// The transitions not taken, in the protocol's order.
    pub untaken: Vec<Untaken>,
}

impl Coverage {
    fn new(protocol: &Protocol, taken: &BTreeSet<usize>) -> Coverage {
        let untaken = protocol
            .transitions
            .iter()
            .enumerate()
            .filter(|(index, _)| !taken.contains(index))
            .map(|(index, transition)| Untaken {
                transition: index,
                line: transition.span.line,
                label: graph::label(transition),
            })
            .collect();
        Coverage {
            protocol: protocol.path.clone(),
            taken: taken.len(),
            total: protocol.transitions.len(),
            untaken,
        }
    }
}

/// Everything a suite found.
#[derive(Debug)]
pub struct SuiteReport {
    /// Every scenario, in the order they ran (sorted by path within each root).
    pub results: Vec<ScenarioResult>,
    /// Per protocol a scenario replayed on, sorted by the protocol's path. A protocol whose
    /// scenarios all failed to replay has none.
    pub coverage: Vec<Coverage>,
}

impl SuiteReport {
    /// How many scenarios passed (or were blessed).
    pub fn passed(&self) -> usize {
        self.results.len() - self.failed()
    }

    /// How many scenarios failed.
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| r.verdict.failed()).count()
    }
}

/// Replays every scenario under `roots` (files, or folders searched for `scenarios/*.yaml`) and
/// compares each transcript with the one stored beside it, or with `bless` stores it instead.
/// `each` is given every result as soon as it is known.
pub fn test(
    roots: &[PathBuf],
    bless: bool,
    mut each: impl FnMut(&ScenarioResult),
) -> Result<SuiteReport, SuiteError> {
    let mut files = Vec::new();
    for root in roots {
        files.extend(scenarios_of(root)?);
    }
    if files.is_empty() {
        return Err(SuiteError::NoScenarios);
    }
    let mut results = Vec::with_capacity(files.len());
    // Transitions taken, per protocol file, across all its scenarios.
    let mut taken: BTreeMap<PathBuf, (Protocol, BTreeSet<usize>)> = BTreeMap::new();
    for file in files {
        let verdict = one(&file, bless, &mut taken)?;
        let result = ScenarioResult {
            scenario: file,
            verdict,
        };
        each(&result);
        results.push(result);
    }
    let coverage = taken
        .values()
        .map(|(protocol, taken)| Coverage::new(protocol, taken))
        .collect();
    Ok(SuiteReport { results, coverage })
}

/// The scenarios a path given to `warden test` stands for: a folder, every `scenarios/*.yaml`
/// under it; a protocol file, the scenarios beside it (`NAME/scenarios/`, else `scenarios/` in
/// its folder); any other file, itself.
fn scenarios_of(root: &Path) -> Result<Vec<PathBuf>, SuiteError> {
    if !root.exists() {
        return Err(SuiteError::NotFound(root.to_path_buf()));
    }
    let in_scenarios = root
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|n| n == "scenarios");
    if root.is_dir() || in_scenarios {
        return Ok(discover(root));
    }
    let dir = root.parent().unwrap_or(Path::new(""));
    let beside = root
        .file_stem()
        .map(|stem| dir.join(stem).join("scenarios"));
    for scenarios in beside.into_iter().chain([dir.join("scenarios")]) {
        if scenarios.is_dir() {
            return Ok(discover(&scenarios));
        }
    }
    Ok(vec![root.to_path_buf()])
}

/// Replays one scenario, adds the transitions it took to `taken`, and compares or blesses.
fn one(
    file: &Path,
    bless: bool,
    taken: &mut BTreeMap<PathBuf, (Protocol, BTreeSet<usize>)>,
) -> Result<Verdict, SuiteError> {
    let (prepared, transcript) = match run(file) {
        Ok(replayed) => replayed,
        Err(error) => return Ok(Verdict::Failed(error)),
    };
    let text = transcript.to_text(&prepared.protocol);
    let stored_path = transcript_path(file);
    taken
        .entry(prepared.protocol.path.clone())
        .or_insert_with(|| (prepared.protocol.clone(), BTreeSet::new()))
        .1
        .extend(transcript.taken.iter().copied());
    if bless {
        return match std::fs::write(&stored_path, &text) {
            Ok(()) => Ok(Verdict::Blessed(stored_path)),
            Err(source) => Err(SuiteError::Write {
                path: stored_path,
                source,
            }),
        };
    }
    let stored = std::fs::read_to_string(&stored_path).unwrap_or_default();
    let diff = diff(&stored, &text);
    Ok(if diff.is_empty() {
        Verdict::Ok
    } else {
        Verdict::Differs { stored_path, diff }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    const PYMC: &str = "protocols/phase5b/scenarios/pymc_logp_fixed_and_resumed";

    /// Phase 5B's scenario `pymc_logp_fixed_and_resumed` in `dir/scenarios`, its paths made
    /// absolute; `stored`, when given, beside it as its transcript.
    fn copied(dir: &Path, stored: Option<&str>) -> PathBuf {
        let scenarios = dir.join("scenarios");
        std::fs::create_dir_all(&scenarios).unwrap();
        let root = root();
        let scenario = std::fs::read_to_string(root.join(format!("{PYMC}.yaml")))
            .unwrap()
            .replace(
                "../../phase5b.yaml",
                &root.join("protocols/phase5b.yaml").display().to_string(),
            )
            .replace(
                "../../../tests/fixtures",
                &root.join("tests/fixtures").display().to_string(),
            );
        let path = scenarios.join("s.yaml");
        std::fs::write(&path, scenario).unwrap();
        if let Some(stored) = stored {
            std::fs::write(scenarios.join("s.transcript.md"), stored).unwrap();
        }
        path
    }

    fn stored_pymc() -> String {
        std::fs::read_to_string(root().join(format!("{PYMC}.transcript.md"))).unwrap()
    }

    fn suite(roots: &[PathBuf], bless: bool) -> (SuiteReport, Vec<PathBuf>) {
        let mut seen = Vec::new();
        let report = test(roots, bless, |r| seen.push(r.scenario.clone())).unwrap();
        (report, seen)
    }

    #[test]
    fn a_scenario_matching_its_transcript_passes() {
        let scenario = root().join(format!("{PYMC}.yaml"));
        let (report, seen) = suite(std::slice::from_ref(&scenario), false);
        assert_eq!(seen, std::slice::from_ref(&scenario));
        assert_eq!(report.results.len(), 1);
        assert_eq!(report.results[0].scenario, scenario);
        assert!(
            matches!(report.results[0].verdict, Verdict::Ok),
            "{:?}",
            report.results[0].verdict
        );
        assert_eq!((report.passed(), report.failed()), (1, 0));
        let coverage = &report.coverage[0];
        assert_eq!(
            coverage.protocol,
            protocol::normalize(&root().join("protocols/phase5b.yaml"))
        );
        assert_eq!(coverage.taken + coverage.untaken.len(), coverage.total);
        assert!(coverage.taken > 0 && !coverage.untaken.is_empty());
    }

    #[test]
    fn a_changed_transcript_differs_with_a_diff() {
        let dir = tempfile::tempdir().unwrap();
        let stored = stored_pymc().replace("**PID**: 12345", "**PID**: 54321");
        let scenario = copied(dir.path(), Some(&stored));
        let (report, _) = suite(std::slice::from_ref(&scenario), false);
        match &report.results[0].verdict {
            Verdict::Differs { stored_path, diff } => {
                assert_eq!(stored_path, &dir.path().join("scenarios/s.transcript.md"));
                assert!(
                    diff.contains("-    **PID**: 54321\n+    **PID**: 12345"),
                    "{diff}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!((report.passed(), report.failed()), (0, 1));
        assert_eq!(
            report.coverage.len(),
            1,
            "a differing scenario still counts"
        );
    }

    #[test]
    fn bless_writes_the_transcript_that_then_passes() {
        let dir = tempfile::tempdir().unwrap();
        let scenario = copied(dir.path(), None);
        let (report, _) = suite(std::slice::from_ref(&scenario), false);
        assert!(
            matches!(report.results[0].verdict, Verdict::Differs { .. }),
            "a missing transcript is an empty one"
        );
        let (report, _) = suite(std::slice::from_ref(&scenario), true);
        let stored_path = dir.path().join("scenarios/s.transcript.md");
        match &report.results[0].verdict {
            Verdict::Blessed(path) => assert_eq!(path, &stored_path),
            other => panic!("{other:?}"),
        }
        assert_eq!(report.passed(), 1);
        let (prepared, transcript) = run(&scenario).unwrap();
        assert_eq!(
            std::fs::read_to_string(&stored_path).unwrap(),
            transcript.to_text(&prepared.protocol)
        );
        let (report, _) = suite(&[scenario], false);
        assert!(matches!(report.results[0].verdict, Verdict::Ok));
    }

    #[test]
    fn a_scenario_that_cannot_be_replayed_fails() {
        let dir = tempfile::tempdir().unwrap();
        let scenarios = dir.path().join("scenarios");
        std::fs::create_dir(&scenarios).unwrap();
        std::fs::write(scenarios.join("bad.yaml"), "protocol: missing.yaml\n").unwrap();
        let (report, _) = suite(&[dir.path().to_path_buf()], false);
        assert!(matches!(
            report.results[0].verdict,
            Verdict::Failed(ScenarioError::Malformed { .. })
        ));
        assert_eq!((report.passed(), report.failed()), (0, 1));
        assert!(report.coverage.is_empty());
    }

    #[test]
    fn a_protocol_stands_for_its_scenarios_and_a_missing_path_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let protocol = dir.path().join("p.yaml");
        std::fs::write(&protocol, "protocol: p\n").unwrap();
        let own = dir.path().join("p/scenarios");
        std::fs::create_dir_all(&own).unwrap();
        std::fs::write(own.join("a.yaml"), "").unwrap();
        std::fs::create_dir(dir.path().join("scenarios")).unwrap();
        std::fs::write(dir.path().join("scenarios/b.yaml"), "").unwrap();
        assert_eq!(scenarios_of(&protocol).unwrap(), [own.join("a.yaml")]);
        std::fs::remove_dir_all(dir.path().join("p")).unwrap();
        let beside = dir.path().join("scenarios/b.yaml");
        assert_eq!(
            scenarios_of(&protocol).unwrap(),
            std::slice::from_ref(&beside)
        );
        assert_eq!(scenarios_of(&beside).unwrap(), [beside]);
        let missing = dir.path().join("no/such");
        let error = test(&[missing], false, |_| {}).unwrap_err();
        assert!(matches!(error, SuiteError::NotFound(_)), "{error}");
        assert!(error
            .to_string()
            .ends_with("no/such: no such file or folder"));
    }

    #[test]
    fn no_scenarios_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = test(&[dir.path().to_path_buf()], false, |_| {}).unwrap_err();
        assert!(matches!(error, SuiteError::NoScenarios));
        assert_eq!(
            error.to_string(),
            "no scenarios found (looked for scenarios/*.yaml)"
        );
    }

    #[test]
    fn coverage_counts_distinct_transitions_across_scenarios() {
        let dir = tempfile::tempdir().unwrap();
        let protocol = dir.path().join("p.yaml");
        std::fs::write(
            &protocol,
            "protocol: p
states:
  watch: { initial: true }
  done: { final: true }
transitions:
  - { from: watch, on: exited, if: \"job.exit_code == 0\", to: watch }
  - { from: watch, on: exited, to: done }
  - { from: watch, on: incident, to: done, do: [stop] }
",
        )
        .unwrap();
        let scenarios = dir.path().join("scenarios");
        std::fs::create_dir(&scenarios).unwrap();
        let scenario = |exit_code: i32| {
            format!(
                "protocol: ../p.yaml
start: 2026-01-19T12:00:00Z
steps:
  - {{ job: exited, exit_code: {exit_code} }}
"
            )
        };
        std::fs::write(scenarios.join("a.yaml"), scenario(0)).unwrap();
        std::fs::write(scenarios.join("b.yaml"), scenario(0)).unwrap();
        let (report, seen) = suite(&[dir.path().to_path_buf()], true);
        assert_eq!(seen, [scenarios.join("a.yaml"), scenarios.join("b.yaml")]);
        assert_eq!(
            report.coverage,
            [Coverage {
                protocol: protocol::normalize(&protocol),
                taken: 1,
                total: 3,
                untaken: vec![
                    Untaken {
                        transition: 1,
                        line: 7,
                        label: "exited".into()
                    },
                    Untaken {
                        transition: 2,
                        line: 8,
                        label: "incident / stop".into()
                    },
                ],
            }]
        );
        std::fs::write(scenarios.join("b.yaml"), scenario(1)).unwrap();
        let (report, _) = suite(&[dir.path().to_path_buf()], true);
        assert_eq!(report.coverage[0].taken, 2);
        assert_eq!(report.coverage[0].untaken.len(), 1);
        assert_eq!(report.coverage[0].untaken[0].line, 8);
    }
}
