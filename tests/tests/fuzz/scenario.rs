//! Scenario and render-context files: whatever the text, a scenario loads and replays, or
//! fails with an error; a render context loads and the template renders, or fails with an
//! error. Seeds are the shipped Phase 5B scenarios and templates.

use std::path::PathBuf;
use std::sync::OnceLock;

use proptest::prelude::*;
use warden::scenario::{self, Prepared};

use crate::mutate::{self, Edit};

fn phase5b_path() -> PathBuf {
    warden_tests::root().join("protocols/phase5b.yaml")
}

/// Phase 5B, prepared once for every scenario that names it.
fn phase5b() -> &'static Prepared {
    static PREPARED: OnceLock<Prepared> = OnceLock::new();
    PREPARED.get_or_init(|| {
        let seed = warden_tests::root().join("protocols/phase5b/scenarios/emergency_declined.yaml");
        let scenario = scenario::load(&seed).unwrap();
        scenario::prepare(&seed, &scenario).unwrap()
    })
}

/// The shipped scenarios, their relative paths made absolute so that a copy anywhere reads the
/// same protocol and logs.
fn seeds() -> &'static [String] {
    static SEEDS: OnceLock<Vec<String>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let root = warden_tests::root();
        crate::shipped_files("protocols/phase5b/scenarios", ".yaml")
            .iter()
            .map(|file| {
                crate::shipped(file)
                    .replace("../../phase5b.yaml", &phase5b_path().display().to_string())
                    .replace("../../../tests/", &format!("{}/tests/", root.display()))
            })
            .collect()
    })
}

/// Loads the scenario `text` from a file and replays it.
fn replay_holds(text: &str) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.yaml");
    std::fs::write(&path, text).unwrap();
    let scenario = match scenario::load(&path) {
        Ok(scenario) => scenario,
        Err(error) => {
            prop_assert!(!error.to_string().is_empty());
            return Ok(());
        }
    };
    let prepared;
    let prepared =
        if warden::protocol::normalize(&dir.path().join(&scenario.protocol)) == phase5b_path() {
            phase5b()
        } else {
            match scenario::prepare(&path, &scenario) {
                Ok(p) => {
                    prepared = p;
                    &prepared
                }
                Err(error) => {
                    prop_assert!(!error.to_string().is_empty());
                    return Ok(());
                }
            }
        };
    match scenario::replay(&path, &scenario, prepared) {
        Ok(transcript) => {
            let text = transcript.to_text(prepared.protocol());
            prop_assert!(!text.is_empty());
        }
        Err(error) => prop_assert!(!error.to_string().is_empty()),
    }
    Ok(())
}

/// Values to put into a scenario: the YAML ones, with metric lines and log text.
fn scenario_values() -> BoxedStrategy<String> {
    prop_oneof![
        4 => mutate::yaml_values(),
        1 => proptest::sample::select(vec![
            "\n  - log: \"eta=1e20 r_hat=1.8e19 loss=nan\"\n",
            "\n  - log: |\n      {\"timestamp\": 1e20, \"eta\": 1e20, \"r_hat\": 1e308}\n",
            "\n  - log: \"Traceback (most recent call last):\"\n",
            "\n  - job: exited\n    signal: 9\n",
            "\n  - job: launched\n    pid: 4294967295\n",
            "\n  - send: delegate\n    as: director\n",
            "\n  - send: fix_submitted\n    as: code_translator\n    fields: { summary: x, design_change: 1e20 }\n",
            "\n  - after: 30m\n",
        ]).prop_map(str::to_owned),
    ]
    .boxed()
}

/// A scenario's text with the var `name` set to `value` in its one-line `vars:` mapping.
fn with_var(text: &str, name: &str, value: &str) -> String {
    let key = format!("{name}: ");
    if let Some(at) = text.find(&key) {
        let start = at + key.len();
        let end = text[start..]
            .find([',', '}', '\n'])
            .map_or(text.len(), |e| start + e);
        return format!("{}{value}{}", &text[..start], &text[end..]);
    }
    text.replacen("vars: { ", &format!("vars: {{ {key}{value}, "), 1)
}

/// YAML text of a render context: a mapping of hostile values, nested.
fn context_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        proptest::sample::select(mutate::hostile_numbers()).prop_map(str::to_owned),
        proptest::sample::select(mutate::hostile_durations()).prop_map(str::to_owned),
        proptest::sample::select(mutate::yaml_fragments()).prop_map(|f| format!("{f:?}")),
        "[a-z ]{0,12}",
    ];
    let value = leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4)
                .prop_map(|v| format!("[{}]", v.join(", "))),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..4).prop_map(|m| {
                let pairs: Vec<String> = m.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{{{}}}", pairs.join(", "))
            }),
        ]
    });
    let names = [
        "x", "incident", "job", "run", "vars", "metrics", "event", "gates", "state",
    ];
    proptest::collection::btree_map(proptest::sample::select(names.to_vec()), value, 0..8).prop_map(
        |m| {
            m.into_iter()
                .map(|(k, v)| format!("{k}: {v}\n"))
                .collect::<String>()
        },
    )
}

fn templates() -> &'static [String] {
    static TEMPLATES: OnceLock<Vec<String>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut templates: Vec<String> = crate::shipped_files("templates", ".md.j2")
            .iter()
            .map(|f| crate::shipped(f))
            .collect();
        templates.push("{{ x | duration }} {{ x.a | duration }}".to_owned());
        templates
            .push("{{ x | fence }}{{ x | tojson }}{% for k in x %}{{ k }}{% endfor %}".to_owned());
        templates
    })
}

/// The protocol of the stranding test: a message on the job's exit that reads `name`.
fn stranding_protocol(name: &str) -> String {
    format!(
        "protocol: strand
roles: {{ op: {{}} }}
channels: [{{ from: op, to: op }}]
states:
  start: {{ initial: true }}
  watch: {{}}
  done: {{ final: true }}
transitions:
  - {{ from: start, to: watch, do: [launch] }}
  - {{ from: watch, on: exited, to: done, send: [{{ from: op, to: op, text: \"the job ended: {{{{ {name} }}}}\" }}] }}
"
    )
}

proptest! {
    #![proptest_config(crate::config(48))]

    /// Arbitrary text as a scenario file.
    #[test]
    fn arbitrary_text_is_a_scenario_or_an_error(text in "[ -~\n\t]{0,400}") {
        replay_holds(&text)?;
    }

    /// The shipped scenarios, mutated: steps moved, durations and numbers replaced by hostile
    /// ones, metric lines with 1e20, nesting.
    #[test]
    fn mutated_shipped_scenarios_replay_or_fail(seed in 0..seeds().len(), edits in mutate::edits(scenario_values(), 6)) {
        replay_holds(&mutate::apply(&seeds()[seed], &edits))?;
    }

    /// A step waits any duration, and a var of type duration (a timer's period) holds any:
    /// `after: 100000h` under a 30-minute timer, durations past the calendar.
    #[test]
    fn any_wait_and_any_timer_period_replay_or_fail(
        seed in 0..seeds().len(),
        after in proptest::sample::select(mutate::hostile_durations()),
        period in proptest::sample::select(mutate::hostile_durations()),
        var in proptest::sample::select(vec!["status_every", "timeout", "expected", "review_window"]),
    ) {
        let text = seeds()[seed].replacen("  - after: ", &format!("  - after: {after}\n  - after: "), 1);
        replay_holds(&text)?;
        replay_holds(&with_var(&seeds()[seed], var, period))?;
    }

    /// Deep flow nesting in a scenario's vars.
    #[test]
    fn deeply_nested_scenarios_are_errors(
        style in mutate::nesting(true),
        depth in mutate::depth(),
    ) {
        let text = format!("{}\nnested:\n{}", seeds()[0], mutate::nested(style, depth));
        replay_holds(&text)?;
        if matches!(style, mutate::Nesting::FlowSequence | mutate::Nesting::FlowMapping) {
            let deep = mutate::nested(style, depth);
            let text = seeds()[0].replacen("vars: {", &format!("vars: {{ deep: {}, ", deep.trim()), 1);
            replay_holds(&text)?;
        }
    }

    /// Render contexts (`warden render --context`): generated YAML, mutated, and deeply nested.
    #[test]
    fn render_contexts_load_or_fail(
        template in 0..templates().len(),
        context in context_text(),
        edits in proptest::collection::vec(
            (0usize..1_000_000, mutate::yaml_values())
                .prop_map(|(i, v)| Edit::ReplaceWord(i, v)),
            0..3,
        ),
    ) {
        let context = mutate::apply(&context, &edits);
        match warden::expr::render_with_context(&templates()[template], &context) {
            Ok(out) => prop_assert!(out.len() <= crate::templates::OUTPUT_BOUND),
            Err(error) => prop_assert!(!error.is_empty()),
        }
    }

    /// A message on the job's exit that reads a name undefined on that path (no incident, no
    /// metric record yet) does not strand the run: it leaves the state the job ended in.
    #[test]
    fn a_message_that_fails_to_render_does_not_strand_the_run(
        name in proptest::sample::select(vec![
            "job.exit_code", "run.id", "incident.category", "incident.line", "metrics.x",
            "gates.model_compiles.value", "event.fields.note",
        ]),
        exit_code in prop_oneof![Just(0), Just(1), Just(-1), any::<i32>()],
    ) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("strand.yaml"), stranding_protocol(name)).unwrap();
        let path = dir.path().join("strand.scenario.yaml");
        std::fs::write(&path, format!(
            "protocol: strand.yaml\nstart: 2026-01-19T12:00:00Z\nsteps:\n  - job: launched\n    pid: 7\n  - after: 1m\n    job: exited\n    exit_code: {exit_code}\n"
        )).unwrap();
        match scenario::run(&path) {
            Ok((_, transcript)) => prop_assert_ne!(transcript.state, "watch", "the run stays in the state its job ended in"),
            Err(error) => return Err(TestCaseError::fail(format!("the replay failed: {error}"))),
        }
    }
}

#[test]
fn the_seeds_name_phase5b_by_its_full_path() {
    assert_eq!(
        with_var("vars: { a: 1, b: 2 }", "a", "3h"),
        "vars: { a: 3h, b: 2 }"
    );
    assert_eq!(
        with_var("vars: { a: 1 }", "c", "3h"),
        "vars: { c: 3h, a: 1 }"
    );
    let full = phase5b_path().display().to_string();
    assert!(seeds().iter().all(|s| s.contains(&full)));
    // And each seed replays as shipped from anywhere, its logs found through full paths.
    let dir = tempfile::tempdir().unwrap();
    for (n, seed) in seeds().iter().enumerate() {
        let path = dir.path().join(format!("{n}.yaml"));
        std::fs::write(&path, seed).unwrap();
        let scenario = scenario::load(&path).unwrap();
        if let Err(error) = scenario::replay(&path, &scenario, phase5b()) {
            panic!("seed {n} does not replay: {error}");
        }
    }
}
