//! A suite of scenarios, as `warden test` runs it: every scenario under some roots replayed and
//! its transcript compared with the one stored beside it, and, per protocol, which of its
//! transitions some scenario took (failed scenarios included).
//!
//! A transcript that is new or differs is written beside the stored one as a pending file
//! (`NAME.transcript.md.new`), to be accepted or rejected ([`Pending`]); with
//! [`Mode::Accept`] it is stored at once instead.
//!
//! The results are typed so that a front end only words them; each is handed over as soon as
//! its scenario is done, since a suite of long scenarios takes a while.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[cfg(test)]
use super::run;
use super::{diff, discover, run_keeping, transcript_path, ScenarioError};
use crate::graph;
use crate::protocol::Protocol;

/// Why a suite could not be run to its end.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// No scenario file is under the roots.
    #[error("no scenarios found (looked for scenarios/*.yaml)")]
    NoScenarios,
    /// A transcript could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A path given does not exist.
    #[error("{}: no such file or folder", .0.display())]
    NotFound(PathBuf),
    /// A transcript, stored or pending, could not be written or removed; the suite stops there.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The transcript file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What a suite does with a transcript that is new or differs from the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Writes it beside the stored one as pending, for review; the scenario fails.
    Compare,
    /// Stores it: the change is accepted.
    Accept,
}

/// What became of one scenario.
#[derive(Debug)]
pub enum Verdict {
    /// Its transcript is the stored one.
    Ok,
    /// Its transcript was new or differed, and was stored at this path ([`Mode::Accept`]).
    Accepted(PathBuf),
    /// It could not be replayed, or an expectation did not hold.
    Failed(ScenarioError),
    /// No transcript is stored: the new one is pending, to be reviewed.
    New {
        /// The pending transcript.
        pending: PathBuf,
    },
    /// Its transcript differs from the one stored; the new one is pending.
    Differs {
        /// The stored transcript.
        stored_path: PathBuf,
        /// The pending transcript.
        pending: PathBuf,
        /// A unified diff, stored against actual.
        diff: String,
    },
}

impl Verdict {
    /// Whether the scenario counts as failed.
    pub fn failed(&self) -> bool {
        matches!(
            self,
            Verdict::Failed(_) | Verdict::New { .. } | Verdict::Differs { .. }
        )
    }
}

/// A pending transcript: `NAME.transcript.md.new` beside the scenario `NAME.yaml`.
pub fn pending_path(scenario: &Path) -> PathBuf {
    scenario.with_extension("transcript.md.new")
}

/// A transcript waiting beside its scenario to be accepted or rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The scenario.
    pub scenario: PathBuf,
    /// The stored transcript (it may not exist yet).
    pub stored_path: PathBuf,
    /// The pending one.
    pub pending: PathBuf,
}

impl Pending {
    /// The pending transcript of `scenario`, if there is one.
    pub fn of(scenario: &Path) -> Option<Pending> {
        let pending = pending_path(scenario);
        pending.is_file().then(|| Pending {
            scenario: scenario.to_path_buf(),
            stored_path: transcript_path(scenario),
            pending,
        })
    }

    /// The stored transcript (`None` when there is none yet) and the pending one.
    pub fn texts(&self) -> Result<(Option<String>, String), SuiteError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| SuiteError::Read {
                path: path.to_path_buf(),
                source,
            })
        };
        let stored = if self.stored_path.exists() {
            Some(read(&self.stored_path)?)
        } else {
            None
        };
        Ok((stored, read(&self.pending)?))
    }

    /// Makes the pending transcript the stored one.
    pub fn accept(&self) -> Result<(), SuiteError> {
        std::fs::rename(&self.pending, &self.stored_path).map_err(|source| SuiteError::Write {
            path: self.stored_path.clone(),
            source,
        })
    }

    /// Deletes the pending transcript; the stored one stays as it is.
    pub fn reject(&self) -> Result<(), SuiteError> {
        remove(&self.pending)
    }
}

/// Removes a file that may not exist.
fn remove(path: &Path) -> Result<(), SuiteError> {
    match std::fs::remove_file(path) {
        Err(source) if source.kind() != std::io::ErrorKind::NotFound => Err(SuiteError::Write {
            path: path.to_path_buf(),
            source,
        }),
        _ => Ok(()),
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
                line: transition.span.line(),
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
    /// How many scenarios passed (or were accepted).
    pub fn passed(&self) -> usize {
        self.results.len() - self.failed()
    }

    /// How many scenarios failed.
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| r.verdict.failed()).count()
    }
}

/// Replays every scenario under `roots` (files, or folders searched for `scenarios/*.yaml`) and
/// compares each transcript with the one stored beside it; one that is new or differs is left
/// pending, or with [`Mode::Accept`] stored. `each` is given every result as soon as it is known.
pub fn test(
    roots: &[PathBuf],
    mode: Mode,
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
        let verdict = one(&file, mode, &mut taken)?;
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

/// Replays one scenario, adds the transitions it took to `taken` (also when it fails), and
/// compares, leaving a changed transcript pending, or accepts.
fn one(
    file: &Path,
    mode: Mode,
    taken: &mut BTreeMap<PathBuf, (Protocol, BTreeSet<usize>)>,
) -> Result<Verdict, SuiteError> {
    let replayed = match run_keeping(file) {
        Ok(replayed) => replayed,
        Err(error) => return Ok(Verdict::Failed(error)),
    };
    let protocol = replayed.prepared.protocol();
    taken
        .entry(protocol.path.clone())
        .or_insert_with(|| (protocol.clone(), BTreeSet::new()))
        .1
        .extend(replayed.transcript.taken.iter().copied());
    let pending = pending_path(file);
    if let Err(error) = replayed.result {
        // What a failed scenario printed is not a transcript to review.
        remove(&pending)?;
        return Ok(Verdict::Failed(error));
    }
    let text = replayed.transcript.to_text(protocol);
    let stored_path = transcript_path(file);
    let stored = match std::fs::read_to_string(&stored_path) {
        Ok(stored) => Some(stored),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(SuiteError::Read {
                path: stored_path,
                source,
            })
        }
    };
    if stored.as_deref() == Some(text.as_str()) {
        remove(&pending)?;
        return Ok(Verdict::Ok);
    }
    let write = |path: &Path| {
        std::fs::write(path, &text).map_err(|source| SuiteError::Write {
            path: path.to_path_buf(),
            source,
        })
    };
    if mode == Mode::Accept {
        write(&stored_path)?;
        remove(&pending)?;
        return Ok(Verdict::Accepted(stored_path));
    }
    write(&pending)?;
    Ok(match stored {
        None => Verdict::New { pending },
        Some(stored) => Verdict::Differs {
            diff: diff(&stored, &text),
            stored_path,
            pending,
        },
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

    /// The transcript `scenario` replays to.
    fn replayed(scenario: &Path) -> String {
        let (prepared, transcript) = run(scenario).unwrap();
        transcript.to_text(prepared.protocol())
    }

    fn stored_pymc() -> String {
        std::fs::read_to_string(root().join(format!("{PYMC}.transcript.md"))).unwrap()
    }

    fn suite(roots: &[PathBuf], mode: Mode) -> (SuiteReport, Vec<PathBuf>) {
        let mut seen = Vec::new();
        let report = test(roots, mode, |r| seen.push(r.scenario.clone())).unwrap();
        (report, seen)
    }

    #[test]
    fn a_scenario_matching_its_transcript_passes() {
        let scenario = root().join(format!("{PYMC}.yaml"));
        let (report, seen) = suite(std::slice::from_ref(&scenario), Mode::Compare);
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
    fn a_changed_transcript_differs_with_a_diff_and_is_left_pending() {
        let dir = tempfile::tempdir().unwrap();
        let stored = stored_pymc().replace("**PID**: 12345", "**PID**: 54321");
        let scenario = copied(dir.path(), Some(&stored));
        let (report, _) = suite(std::slice::from_ref(&scenario), Mode::Compare);
        let pending_path = dir.path().join("scenarios/s.transcript.md.new");
        match &report.results[0].verdict {
            Verdict::Differs {
                stored_path,
                pending,
                diff,
            } => {
                assert_eq!(stored_path, &dir.path().join("scenarios/s.transcript.md"));
                assert_eq!(pending, &pending_path);
                assert!(
                    diff.contains("-    **PID**: 54321\n+    **PID**: 12345"),
                    "{diff}"
                );
            }
            other => panic!("{other:?}"),
        }
        let new = replayed(&scenario);
        assert!(std::fs::read_to_string(&pending_path).unwrap() == new);
        assert_eq!((report.passed(), report.failed()), (0, 1));
        assert_eq!(
            report.coverage.len(),
            1,
            "a differing scenario still counts"
        );
        // Rejected: the pending file goes, the stored one stays.
        let pending = Pending::of(&scenario).expect("pending");
        assert!(pending.texts().unwrap() == (Some(stored.clone()), new.clone()));
        pending.reject().unwrap();
        assert!(!pending_path.exists() && Pending::of(&scenario).is_none());
        assert_eq!(
            std::fs::read_to_string(&pending.stored_path).unwrap(),
            stored
        );
        // Pending again, then accepted: the new transcript is the stored one, and passes.
        suite(std::slice::from_ref(&scenario), Mode::Compare);
        Pending::of(&scenario).expect("pending").accept().unwrap();
        assert!(!pending_path.exists());
        assert!(std::fs::read_to_string(&pending.stored_path).unwrap() == new);
        let (report, _) = suite(&[scenario], Mode::Compare);
        assert!(matches!(report.results[0].verdict, Verdict::Ok));
    }

    #[test]
    fn a_new_transcript_is_pending_and_accept_stores_it() {
        let dir = tempfile::tempdir().unwrap();
        let scenario = copied(dir.path(), None);
        let pending_path = dir.path().join("scenarios/s.transcript.md.new");
        let (report, _) = suite(std::slice::from_ref(&scenario), Mode::Compare);
        match &report.results[0].verdict {
            Verdict::New { pending } => assert_eq!(pending, &pending_path),
            other => panic!("a missing transcript is new, not a diff: {other:?}"),
        }
        assert_eq!(report.failed(), 1);
        let pending = Pending::of(&scenario).unwrap();
        assert!(pending.texts().unwrap() == (None, replayed(&scenario)));
        let (report, _) = suite(std::slice::from_ref(&scenario), Mode::Accept);
        let stored_path = dir.path().join("scenarios/s.transcript.md");
        match &report.results[0].verdict {
            Verdict::Accepted(path) => assert_eq!(path, &stored_path),
            other => panic!("{other:?}"),
        }
        assert_eq!(report.passed(), 1);
        assert!(!pending_path.exists(), "accepting clears the pending file");
        let (prepared, transcript) = run(&scenario).unwrap();
        assert_eq!(
            std::fs::read_to_string(&stored_path).unwrap(),
            transcript.to_text(prepared.protocol())
        );
        std::fs::write(&pending_path, "stale").unwrap();
        let (report, _) = suite(&[scenario], Mode::Accept);
        assert!(
            matches!(report.results[0].verdict, Verdict::Ok),
            "an unchanged transcript is not written again"
        );
        assert!(
            !pending_path.exists(),
            "a stale pending file goes once it matches"
        );
    }

    #[test]
    fn a_scenario_whose_expectation_fails_counts_in_coverage_and_leaves_nothing_pending() {
        let dir = tempfile::tempdir().unwrap();
        let scenario = copied(dir.path(), None);
        let text = std::fs::read_to_string(&scenario)
            .unwrap()
            .replace("expect: { state: complete }", "expect: { state: gave_up }");
        std::fs::write(&scenario, text).unwrap();
        std::fs::write(pending_path(&scenario), "stale").unwrap();
        let (report, _) = suite(std::slice::from_ref(&scenario), Mode::Compare);
        assert!(
            matches!(
                &report.results[0].verdict,
                Verdict::Failed(ScenarioError::Expectation { unmet }) if unmet.len() == 1
            ),
            "{:?}",
            report.results[0].verdict
        );
        assert!(Pending::of(&scenario).is_none());
        let (ok, _) = suite(&[root().join(format!("{PYMC}.yaml"))], Mode::Compare);
        assert_eq!(
            report.coverage, ok.coverage,
            "the failed scenario counts the same"
        );
    }

    #[test]
    fn a_scenario_that_cannot_be_replayed_fails() {
        let dir = tempfile::tempdir().unwrap();
        let scenarios = dir.path().join("scenarios");
        std::fs::create_dir(&scenarios).unwrap();
        std::fs::write(scenarios.join("bad.yaml"), "protocol: missing.yaml\n").unwrap();
        let (report, _) = suite(&[dir.path().to_path_buf()], Mode::Compare);
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
        let error = test(&[missing], Mode::Compare, |_| {}).unwrap_err();
        assert!(matches!(error, SuiteError::NotFound(_)), "{error}");
        assert!(error
            .to_string()
            .ends_with("no/such: no such file or folder"));
    }

    #[test]
    fn no_scenarios_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = test(&[dir.path().to_path_buf()], Mode::Compare, |_| {}).unwrap_err();
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
        let (report, seen) = suite(&[dir.path().to_path_buf()], Mode::Accept);
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
        let (report, _) = suite(&[dir.path().to_path_buf()], Mode::Accept);
        assert_eq!(report.coverage[0].taken, 2);
        assert_eq!(report.coverage[0].untaken.len(), 1);
        assert_eq!(report.coverage[0].untaken[0].line, 8);
    }
}
