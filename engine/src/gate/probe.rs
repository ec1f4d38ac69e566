//! Evaluating a gate's [`Probe`]: running its command, looking at its files, reading its table.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::{GateResult, Probe};

/// Evaluates `probe` for `gate` in the working directory `cwd` at `now`. Never panics: whatever
/// goes wrong (a missing file, a malformed table, a command that cannot start or hangs) is a
/// failed gate with its reason.
pub fn evaluate(gate: &str, probe: &Probe, cwd: &Path, now: DateTime<Utc>) -> GateResult {
    let _ = (probe, cwd, now);
    GateResult::new(gate, false, "not evaluated yet")
}
