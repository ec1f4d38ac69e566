//! Gates: named checks a transition requires before it is taken.
//!
//! A gate is declared once under the protocol's `gates:` and named by the transitions that
//! require it. An `expr` gate is an expression over the run, evaluated by the machine like a
//! guard. The other kinds look at the world: a `command` runs a program, `files` looks at
//! files, `table` reads a CSV or TSV file. For those the machine renders a [`Probe`] (every
//! template filled in, every bound a number, every time resolved) and waits; the shell
//! evaluates it ([`evaluate`]) and gives the [`GateResult`]s back as an input, so a run's
//! journal holds what its gates found and a replay never looks at the world again. Scenarios
//! give the results instead of evaluating.

mod probe;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use probe::evaluate;

/// The most output a `command` gate keeps: its last bytes, after a marker of what was cut.
pub const OUTPUT_LIMIT: usize = 16 * 1024;

/// A gate's check of the world, rendered by the machine for the shell to carry out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// The gate's name.
    pub gate: String,
    /// What to look at.
    pub probe: Probe,
}

/// What the shell looks at for one gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Probe {
    /// Run a program; exit code 0 passes.
    Command {
        /// Program and arguments; with `shell`, one shell command line.
        argv: Vec<String>,
        /// Run `argv[0]` with `/bin/sh -c` instead of as a program.
        shell: bool,
        /// Stopped (its process group, SIGTERM then SIGKILL) and failed after this long.
        timeout: Duration,
    },
    /// Files that must exist.
    Files {
        /// The paths, relative to the run's working directory.
        paths: Vec<String>,
        /// Each must hold at least one byte.
        non_empty: bool,
        /// Each must have been modified after this time.
        modified_after: Option<DateTime<Utc>>,
    },
    /// A CSV or TSV table whose values must be sane.
    Table {
        /// The file, relative to the run's working directory.
        path: String,
        /// The field delimiter (`b','`, or `b'\t'` for TSV).
        delimiter: u8,
        /// Bounds on the number of data rows (the header row is not counted).
        rows: Bounds,
        /// No NaN, infinite or empty cell in a numeric column.
        finite: bool,
        /// No numeric column with zero variance (all its values equal), given two rows or more.
        varying: bool,
        /// Columns that must exist, each numeric and within its bounds.
        columns: BTreeMap<String, Bounds>,
    },
}

/// Bounds on a number: `min` and `max` inclusive, `above` and `below` strict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    /// At least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// At most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// More than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    /// Less than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
}

impl Bounds {
    /// Whether these are no bounds at all.
    pub fn is_empty(&self) -> bool {
        *self == Bounds::default()
    }

    /// The first bound `value` breaks, said as "is not below 1.05", or `None` when it is within
    /// all of them. NaN is within none.
    pub fn broken(&self, value: f64) -> Option<String> {
        let checks = [
            (self.min, "at least", value >= self.min.unwrap_or(f64::NAN)),
            (self.max, "at most", value <= self.max.unwrap_or(f64::NAN)),
            (self.above, "above", value > self.above.unwrap_or(f64::NAN)),
            (self.below, "below", value < self.below.unwrap_or(f64::NAN)),
        ];
        checks
            .into_iter()
            .find(|(bound, _, holds)| bound.is_some() && !holds)
            .map(|(bound, word, _)| format!("is not {word} {}", number(bound.unwrap_or_default())))
    }
}

/// A file's modification time as a time of the run, `None` when it is unknown or out of the
/// range of dates (a file can claim any time).
pub fn modified(metadata: &std::fs::Metadata) -> Option<DateTime<Utc>> {
    let since = metadata.modified().ok()?;
    let (seconds, nanos) = match since.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => (i64::try_from(after.as_secs()).ok()?, after.subsec_nanos()),
        Err(before) => {
            let before = before.duration();
            (-i64::try_from(before.as_secs()).ok()?, 0)
        }
    };
    DateTime::from_timestamp(seconds, nanos)
}

/// A number as a report shows it: integers without a fraction, others as Rust prints them.
pub fn number(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// What a gate found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    /// The gate's name.
    pub gate: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed, or what it found when it passed, in one line.
    pub reason: String,
    /// The measured value: the exit code, the number of rows or of files present, or an `expr`
    /// gate's `value`.
    pub value: serde_json::Value,
    /// Everything else it measured, by kind (see docs/protocol.md): templates read these as
    /// `gates.NAME.KEY`.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub facts: serde_json::Map<String, serde_json::Value>,
}

impl GateResult {
    /// A result of `gate`.
    pub fn new(gate: &str, passed: bool, reason: impl Into<String>) -> GateResult {
        GateResult {
            gate: gate.to_owned(),
            passed,
            reason: reason.into(),
            value: serde_json::Value::Null,
            facts: serde_json::Map::new(),
        }
    }

    /// With the measured `value`.
    pub fn with_value(mut self, value: impl Into<serde_json::Value>) -> GateResult {
        self.value = value.into();
        self
    }

    /// With one more fact.
    pub fn with_fact(mut self, key: &str, value: impl Into<serde_json::Value>) -> GateResult {
        self.facts.insert(key.to_owned(), value.into());
        self
    }
}
