//! Warden's fuzzing harness: property tests that feed every loader and reader of untrusted input
//! arbitrary bytes and structure-aware mutations of the files Warden ships, and check that each
//! gives a value or a clear error, never a panic, a hang or an unbounded cost.
//!
//! The targets, one module each: the protocol loader and `check` ([`protocol`]), expressions and
//! templates ([`templates`]), the classifier ([`classifier`]), scenario and render-context files
//! ([`scenario`]), journal replay ([`journal`]) and request files ([`requests`]).
//!
//! By default every target runs a few hundred cases at most, so that `cargo test --workspace`
//! stays fast. `WARDEN_FUZZ_CASES=N` (or proptest's own `PROPTEST_CASES`) runs N cases of every
//! target instead: `docs/fuzzing.md` has the commands for a campaign of hours.
//!
//! # Known bugs
//!
//! A class of input that still crashes or stalls Warden is kept out of the generators by one of
//! the `KNOWN_*` constants below, each naming the bug it stands for. The property tests are
//! written for the fixed behaviour: once the bug is fixed, set its constant to `false` (or
//! remove it) and the class is generated again.

mod classifier;
mod journal;
mod mutate;
mod protocol;
mod requests;
mod scenario;
mod templates;

use proptest::test_runner::Config;

/// `Duration::from_secs_f64` panics on a float of about 1.8e19 or more ("cannot convert float
/// seconds to Duration"): the `duration` filter reaches it with any such number.
/// While true, no number >= 1.8e19 is given to the `duration` filter.
pub const KNOWN_DURATION_PANIC: bool = false;

/// A block-style YAML nested some thousands of levels deep overflows the stack of the protocol
/// loader (SIGABRT), which kills the whole test process. While true, block nesting stays under
/// [`SAFE_DEPTH`] levels in protocols.
pub const KNOWN_DEEP_NESTING_OVERFLOW: bool = false;

/// Scenario and render-context files (read with serde_yaml) take quadratic time in the depth of
/// flow nesting: 100,000 levels take over a minute. While true, their nesting stays under
/// [`SAFE_DEPTH`] levels.
pub const KNOWN_DEEP_FLOW_QUADRATIC: bool = false;

/// Template output has no bound in bytes (fuel bounds steps): `{{ "x" * 1000000000 }}` is one
/// step and a gigabyte. While true, templates repeat strings and build ranges only a little.
pub const KNOWN_UNBOUNDED_TEMPLATE_OUTPUT: bool = false;

/// A megabyte identifier in a template takes `check` seconds (the did-you-mean search). While
/// true, identifiers stay under [`SAFE_IDENTIFIER`] bytes.
pub const KNOWN_HUGE_IDENTIFIER_SLOW: bool = false;

/// A message whose text reads a name that is undefined on the path taken (`incident.category`
/// before any incident) fails to render and strands the run in its state. While true, the
/// messages of the stranding test read only names that are defined.
pub const KNOWN_UNRENDERABLE_MESSAGE_STRANDS_RUN: bool = false;

/// A scenario step's `after: 100000h` with a 30-minute timer renders some 200,000 messages
/// without a cap; `status_every: 1ms` and a step of 3 hours render ten million, until memory
/// runs out. While true, scenario steps wait at most [`SAFE_AFTER_HOURS`] hours, no duration
/// var of a scenario is under a minute, and no journal entry is dated later than that after
/// the run's start.
pub const KNOWN_UNBOUNDED_SCENARIO_TIMERS: bool = false;

/// A duration that fits `TimeDelta` but not the calendar (`after: 10000000000h`, a timer of
/// `10000000000h`) overflows `DateTime + TimeDelta`, which panics. While true, no duration of
/// more than [`SAFE_AFTER_HOURS`] hours reaches a scenario step or a timer.
pub const KNOWN_TIME_OVERFLOW_PANIC: bool = false;

/// An entry of `requests/` that is not a readable file (a directory, a FIFO) makes the
/// supervisor's mailbox fail to close it (a FIFO blocks its read for ever). While true, the
/// request tests place only regular files and symlinks there.
pub const KNOWN_REQUEST_ENTRY_NOT_A_FILE: bool = false;

/// A journal's message entry can name any path (`../../x`, `/etc/passwd`), and `inbox` prints
/// that file. While true, forged message paths are not read through `inbox`.
pub const KNOWN_JOURNAL_PATH_ESCAPE: bool = false;

/// `check` does not compile a gate's `reason` template: one with a syntax error
/// (`{% a not x %}`) passes `check` with no error, and then the protocol does not compile
/// (`run` and `simulate` refuse it). While true, a compile error in a gate's `reason` after a
/// clean `check` is let pass.
pub const KNOWN_CHECK_MISSES_GATE_REASON: bool = false;

/// A request file whose name is near the file-name limit (a 250-byte id) cannot be answered:
/// its `<id>.reply.json` is too long a name, closing it fails and the supervisor exits. While
/// true, request names leave room for the reply's suffix.
pub const KNOWN_LONG_REQUEST_NAME: bool = false;

/// minijinja builds a repeated list (`[1] * 100000000`) whole, in one instruction, before any
/// fuel or output bound of Warden's applies: gigabytes from a few bytes of template. Its
/// operators cannot be replaced from outside. While true, lists are repeated at most 100,000
/// times.
pub const KNOWN_LIST_REPEAT_MEMORY: bool = true;

/// The deepest nesting generated while a nesting bug is known.
pub const SAFE_DEPTH: usize = 200;

/// The longest identifier generated while [`KNOWN_HUGE_IDENTIFIER_SLOW`] holds.
pub const SAFE_IDENTIFIER: usize = 256;

/// The longest wait of a scenario step while [`KNOWN_UNBOUNDED_SCENARIO_TIMERS`] or
/// [`KNOWN_TIME_OVERFLOW_PANIC`] holds.
pub const SAFE_AFTER_HOURS: u64 = 100;

/// The deepest nesting generated once the nesting bugs are fixed: the campaign's.
pub const DEEP: usize = 100_000;

/// The proptest configuration of a target that runs `default` cases in CI: `WARDEN_FUZZ_CASES`
/// (then `PROPTEST_CASES`) overrides it, for long campaigns.
pub fn config(default: u32) -> Config {
    let cases = ["WARDEN_FUZZ_CASES", "PROPTEST_CASES"]
        .iter()
        .find_map(|name| std::env::var(name).ok()?.trim().parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        // Shrinking a slow input can take longer than finding it.
        max_shrink_iters: 2_000,
        ..Config::default()
    }
}

/// A shipped file's text, relative to the workspace root.
pub fn shipped(path: &str) -> String {
    std::fs::read_to_string(warden_tests::root().join(path))
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// The shipped files under `dir` (relative to the workspace root) whose names end in `suffix`,
/// sorted, as paths relative to the root.
pub fn shipped_files(dir: &str, suffix: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(warden_tests::root().join(dir))
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.ends_with(suffix).then(|| format!("{dir}/{name}"))
        })
        .collect();
    files.sort();
    files
}
