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
//! # Known limitations
//!
//! The generators run every class of the campaign, the hostile ones included, save one that
//! Warden cannot bound: minijinja's list repetition, kept out by [`KNOWN_LIST_REPEAT_MEMORY`],
//! which says what it keeps out and why. The property tests are written for the bounded
//! behaviour: once the limitation is lifted, remove the constant and the class is generated
//! again.

mod classifier;
mod journal;
mod mutate;
mod protocol;
mod requests;
mod scenario;
mod templates;

use proptest::test_runner::Config;

/// minijinja builds a repeated list (`[1] * 100000000`) whole, in one instruction, before any
/// fuel or output bound of Warden's applies: gigabytes from a few bytes of template. Its
/// operators cannot be replaced from outside. While true, lists are repeated at most 100,000
/// times.
pub const KNOWN_LIST_REPEAT_MEMORY: bool = true;

/// The deepest nesting generated: the campaign's.
pub const DEEP: usize = 100_000;

/// The shipped Phase 5B protocol, compiled once.
pub fn phase5b() -> &'static warden::machine::Machine {
    static MACHINE: std::sync::OnceLock<warden::machine::Machine> = std::sync::OnceLock::new();
    MACHINE.get_or_init(|| {
        let protocol =
            warden::protocol::load(&warden_tests::root().join("protocols/phase5b.yaml")).unwrap();
        let (templates, _) = warden::protocol::load_templates(&protocol);
        warden::machine::Machine::new(protocol, &templates).unwrap()
    })
}

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
