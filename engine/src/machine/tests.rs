//! The machine's rules on small protocols, then Phase 5B's main path on real output.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::classify::{Classifier, Finding};
use crate::protocol::{self, Effect};

fn t(minutes: i64) -> DateTime<Utc> {
    "2026-01-19T12:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(minutes)
}

fn machine(text: &str) -> Machine {
    let protocol = protocol::parse(Path::new("m.yaml"), text.as_bytes()).unwrap();
    Machine::new(protocol, &BTreeMap::new()).unwrap()
}

fn states(outcome: &Outcome) -> Vec<String> {
    outcome
        .transitions
        .iter()
        .map(|t| format!("{}->{}", t.from, t.to))
        .collect()
}

const SMALL: &str = r#"
protocol: small
roles: { trainer: {}, director: {} }
channels: [{ from: trainer, to: director }, { from: director, to: trainer }]
vars:
  limit: { type: integer, default: 2 }
  every: { type: duration, default: 30m }
events:
  fix: { from: [director], fields: { summary: { type: string, required: true }, big: { type: boolean } } }
states:
  start: { initial: true }
  watch: {}
  error: {}
  resume: {}
  done: { final: true }
  gave_up: { final: true }
timers:
  - { event: tick, every: "{{ every }}", while: [watch] }
  - { event: late, after: 1h, while: [watch, error, resume] }
transitions:
  - { from: start, to: watch, do: [launch] }
  - from: watch
    on: tick
    send: [{ from: trainer, to: director, text: "tick at {{ now }}, up {{ run.elapsed }}" }]
  - { from: watch, on: late, to: done }
  - from: watch
    on: incident
    to: error
    set: { seen: "incident.message" }
    send: [{ from: trainer, to: director, text: "{{ incident.exception }}: {{ seen }}" }]
  - from: error
    on: fix
    to: resume
    send: [{ from: director, to: trainer, text: "fix: {{ event.summary }} big={{ event.big }}" }]
  - { from: resume, if: "counters.restarts >= limit", to: gave_up }
  - { from: resume, to: watch, count: [restarts], do: [restart] }
  - { from: watch, on: exited, if: "job.exit_code == 0", to: done }
"#;

#[test]
fn start_takes_eventless_transitions_and_arms_timers() {
    let m = machine(SMALL);
    let out = m.start("r1", &BTreeMap::new(), t(0)).unwrap();
    assert_eq!(states(&out), ["start->watch"]);
    assert_eq!(out.effects().collect::<Vec<_>>(), [Effect::Launch]);
    assert_eq!(out.instance.state, "watch");
    assert_eq!(m.next_deadline(&out.instance), Some(t(30)));
}

#[test]
fn due_timers_fire_in_order_at_their_own_times() {
    let m = machine(SMALL);
    let run = m.start("r1", &BTreeMap::new(), t(0)).unwrap().instance;
    let out = m.step(&run, Input::Tick, t(75)).unwrap();
    // tick at 30 and 60 (self-transitions keep the timers); `late` is also due at 60 and fires
    // after `tick`, declared before it, and ends the run.
    let texts: Vec<&str> = out.messages().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "tick at 2026-01-19T12:30:00Z, up 30m",
            "tick at 2026-01-19T13:00:00Z, up 1h"
        ]
    );
    assert_eq!(
        states(&out),
        ["watch->watch", "watch->watch", "watch->done"]
    );
    assert_eq!(out.instance.state, "done");
    assert!(
        out.instance.timers.is_empty(),
        "a final state stops every timer"
    );
}

#[test]
fn timers_keep_running_across_states_in_their_while_set() {
    let m = machine(SMALL);
    let run = m.start("r1", &BTreeMap::new(), t(0)).unwrap().instance;
    let incident = Box::new(incident("ValueError", "bad", t(10)));
    let run = m
        .step(&run, Input::Incident(incident), t(10))
        .unwrap()
        .instance;
    assert_eq!(run.state, "error");
    let late = run.timers.iter().find(|t| t.event == "late").unwrap();
    assert_eq!(
        late.due,
        Some(t(60)),
        "not restarted by moving watch -> error"
    );
    assert!(
        !run.timers.iter().any(|t| t.event == "tick"),
        "tick is only active in watch"
    );
}

#[test]
fn set_then_count_then_render_then_effects() {
    let m = machine(SMALL);
    let run = m.start("r1", &BTreeMap::new(), t(0)).unwrap().instance;
    let out = m
        .step(
            &run,
            Input::Incident(Box::new(incident("KeyError", "'Gold'", t(5)))),
            t(5),
        )
        .unwrap();
    assert_eq!(out.messages().next().unwrap().text, "KeyError: 'Gold'");
    assert_eq!(out.messages().next().unwrap().seq, 1);
    let fields = BTreeMap::from([(
        "summary".to_owned(),
        serde_json::json!("renamed the column"),
    )]);
    let send = Input::Send {
        event: "fix".into(),
        sender: "director".into(),
        fields,
    };
    let out = m.step(&out.instance, send, t(7)).unwrap();
    assert_eq!(states(&out), ["error->resume", "resume->watch"]);
    assert_eq!(
        out.messages().next().unwrap().text,
        "fix: renamed the column big=None"
    );
    assert_eq!(out.effects().collect::<Vec<_>>(), [Effect::Restart]);
    assert_eq!(out.instance.counters["restarts"], 1);
}

#[test]
fn restarts_are_bounded_by_the_guard_tried_first() {
    let m = machine(SMALL);
    let mut run = m.start("r1", &BTreeMap::new(), t(0)).unwrap().instance;
    for round in 0..3 {
        let at = t(round * 2 + 1);
        run = m
            .step(&run, Input::Incident(Box::new(incident("E", "x", at))), at)
            .unwrap()
            .instance;
        let fields = BTreeMap::from([("summary".to_owned(), serde_json::json!("again"))]);
        let send = Input::Send {
            event: "fix".into(),
            sender: "director".into(),
            fields,
        };
        run = m.step(&run, send, at).unwrap().instance;
    }
    assert_eq!(run.state, "gave_up");
    assert_eq!(run.counters["restarts"], 2);
}

#[test]
fn refused_events_leave_the_instance_untouched() {
    let m = machine(SMALL);
    let run = m.start("r1", &BTreeMap::new(), t(0)).unwrap().instance;
    let run = m
        .step(
            &run,
            Input::Incident(Box::new(incident("E", "x", t(1)))),
            t(1),
        )
        .unwrap()
        .instance;
    let cases = [
        (
            "fix",
            "trainer",
            serde_json::json!({"summary": "x"}),
            "`trainer` may not send `fix`; it comes from director",
        ),
        (
            "fix",
            "director",
            serde_json::json!({}),
            "`fix` needs the field `summary`",
        ),
        (
            "fix",
            "director",
            serde_json::json!({"summary": "x", "size": 3}),
            "`fix` has no field `size`; its fields are summary, big",
        ),
        (
            "fix",
            "director",
            serde_json::json!({"summary": "x", "big": "maybe"}),
            "field `big`: expected boolean, found `\"maybe\"`",
        ),
        (
            "deploy",
            "director",
            serde_json::json!({}),
            "no event `deploy` can be sent; the protocol's events are fix",
        ),
        (
            "fix",
            "ghost",
            serde_json::json!({}),
            "`ghost` is not a role of this protocol",
        ),
    ];
    for (event, sender, fields, reason) in cases {
        let fields = serde_json::from_value(fields).unwrap();
        let out = m
            .step(
                &run,
                Input::Send {
                    event: event.into(),
                    sender: sender.into(),
                    fields,
                },
                t(2),
            )
            .unwrap();
        assert_eq!(out.refused.as_deref(), Some(reason));
        assert!(out.transitions.is_empty());
        assert_eq!(out.instance.history.len(), run.history.len());
        assert_eq!(out.instance.state, "error");
    }
}

#[test]
fn events_without_a_candidate_are_ignored_and_recorded() {
    let m = machine(SMALL);
    let run = m.start("r1", &BTreeMap::new(), t(0)).unwrap().instance;
    let out = m
        .step(
            &run,
            Input::Exited {
                exit_code: Some(1),
                signal: None,
                slurm_state: None,
            },
            t(1),
        )
        .unwrap();
    assert_eq!(out.ignored, ["exited"]);
    assert_eq!(out.instance.state, "watch");
    let last = out.instance.history.last().unwrap();
    assert_eq!(
        (last.event.as_deref(), last.transition),
        (Some("exited"), None)
    );
}

#[test]
fn a_final_state_absorbs_everything() {
    let m = machine(SMALL);
    let run = m.start("r1", &BTreeMap::new(), t(0)).unwrap().instance;
    let run = m
        .step(
            &run,
            Input::Exited {
                exit_code: Some(0),
                signal: None,
                slurm_state: None,
            },
            t(1),
        )
        .unwrap()
        .instance;
    assert_eq!(run.state, "done");
    let out = m
        .step(
            &run,
            Input::Incident(Box::new(incident("E", "x", t(2)))),
            t(2),
        )
        .unwrap();
    assert_eq!(out.instance.state, "done");
    assert_eq!(out.ignored, ["incident"]);
}

#[test]
fn vars_are_checked_and_typed_at_start() {
    let m = machine(SMALL);
    let given = |pairs: serde_json::Value| serde_json::from_value::<BTreeMap<_, _>>(pairs).unwrap();
    let error = m
        .start("r", &given(serde_json::json!({"limit": "two"})), t(0))
        .unwrap_err();
    assert!(
        matches!(&error, StartError::BadVar { name, reason }
            if name == "limit" && reason == "expected integer, found `\"two\"`"),
        "{error:?}"
    );
    let error = m
        .start("r", &given(serde_json::json!({"nope": 1})), t(0))
        .unwrap_err();
    assert!(
        matches!(&error, StartError::UnknownVar(name) if name == "nope"),
        "{error:?}"
    );
    let out = m
        .start(
            "r",
            &given(serde_json::json!({"every": "10m", "limit": "3"})),
            t(0),
        )
        .unwrap();
    assert_eq!(m.next_deadline(&out.instance), Some(t(10)));
}

#[test]
fn a_failing_guard_is_an_error_naming_the_transition_not_a_panic() {
    let m = machine(
        "protocol: p\nstates:\n  a: { initial: true }\n  b: { final: true }\ntransitions:\n  - { from: a, on: exited, if: \"job.pid > 'x'\", to: b }\n  - { from: a, if: \"nope.x\", to: b }\n",
    );
    let error = m.start("r", &BTreeMap::new(), t(0)).unwrap_err();
    assert!(
        matches!(&error, StartError::Step(StepError::Guard { line: 7, source })
            if source.kind() == minijinja::ErrorKind::UndefinedError),
        "{error:?}"
    );
    assert!(error.to_string().contains("undefined"), "{error}");
}

#[test]
fn an_endless_eventless_chain_is_an_error() {
    let m = machine(
        "protocol: p\nvars:\n  go: { type: boolean, default: true }\nstates:\n  a: { initial: true }\n  b: {}\n  c: { final: true }\ntransitions:\n  - { from: a, if: go, to: b }\n  - { from: b, if: go, to: a }\n  - { from: \"*\", on: exited, to: c }\n",
    );
    let error = m.start("r", &BTreeMap::new(), t(0)).unwrap_err();
    assert!(
        matches!(error, StartError::Step(StepError::EventlessLoop { .. })),
        "{error:?}"
    );
}

#[test]
fn silence_is_an_event_when_the_var_is_declared() {
    let text = r#"
protocol: quiet
roles: { trainer: {}, director: {} }
channels: [{ from: trainer, to: director }]
vars:
  silence: { type: duration, default: 10m }
states:
  watch: { initial: true }
transitions:
  - from: watch
    on: silence
    send: [{ from: trainer, to: director, text: "nothing for {{ silence }}" }]
"#;
    let m = machine(text);
    assert_eq!(
        m.silence(&m.start("r", &BTreeMap::new(), t(0)).unwrap().instance),
        Some(Duration::from_secs(600))
    );
    let run = m
        .start(
            "r",
            &BTreeMap::from([("silence".into(), serde_json::json!("90s"))]),
            t(0),
        )
        .unwrap()
        .instance;
    assert_eq!(m.silence(&run), Some(Duration::from_secs(90)));
    let outcome = m.step(&run, Input::Silence, t(2)).unwrap();
    let texts: Vec<&str> = outcome.messages().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["nothing for 1m 30s"]);
    // Without the var there is no silence to watch for.
    assert_eq!(
        m.silence(
            &machine(SMALL)
                .start("r", &BTreeMap::new(), t(0))
                .unwrap()
                .instance
        ),
        None
    );
}

fn incident(exception: &str, message: &str, at: DateTime<Utc>) -> Incident {
    Incident {
        category: "implementation".into(),
        owner: "code_translator".into(),
        severity: crate::protocol::IncidentSeverity::Critical,
        action: None,
        exception: Some(exception.into()),
        message: message.into(),
        line: format!("{exception}: {message}"),
        line_number: 3,
        file: None,
        code_line: None,
        before: vec![],
        after: vec![],
        traceback: vec![],
        metric: None,
        count: 1,
        first_seen: at,
        last_seen: at,
        gate: None,
        chain: vec![],
    }
}

/// Phase 5B with its real templates, driven through the seeds' first example: the PyMC `.logp`
/// AttributeError, delegated, fixed without a design change, resumed, and completed.
#[test]
fn phase5b_main_path_renders_every_message() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocols/phase5b.yaml");
    let protocol = protocol::load(&path).unwrap();
    let (templates, problems) = protocol::load_templates(&protocol);
    assert!(problems.is_empty());
    let mut classifier = Classifier::new(&protocol).unwrap();
    let m = Machine::new(protocol, &templates).unwrap();
    let vars = BTreeMap::from([("model".to_owned(), serde_json::json!(1))]);
    // The shell's answer to every check of the world: each passes.
    let answer = |checks: &[crate::gate::Check]| Input::Gates {
        results: checks
            .iter()
            .map(|c| crate::gate::GateResult::new(&c.gate, true, "passed"))
            .collect(),
    };
    let started = m.start("run-1", &vars, t(0)).unwrap();
    assert_eq!(started.checks.len(), 2, "the preflight gates are asked for");
    let mut run = m
        .step(&started.instance, answer(&started.checks), t(0))
        .unwrap()
        .instance;
    assert_eq!(run.state, "watch");
    let mut sent = Vec::new();
    let mut step = |run: &Instance, input: Input, at| {
        let mut out = m.step(run, input, at).unwrap();
        sent.extend(
            out.messages()
                .map(|m| m.template.clone().unwrap_or_default()),
        );
        while !out.checks.is_empty() {
            out = m.step(&out.instance, answer(&out.checks), at).unwrap();
            sent.extend(
                out.messages()
                    .map(|m| m.template.clone().unwrap_or_default()),
            );
        }
        out.instance
    };
    run = step(
        &run,
        Input::Launched {
            pid: 12345,
            resumed: false,
            command: None,
            slurm_job: None,
        },
        t(0),
    );
    run = step(&run, Input::Tick, t(180));
    let log = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/logs/pymc_logp_attribute_error.log"),
    )
    .unwrap();
    let mut findings = Vec::new();
    for line in log.lines() {
        classifier.push(line.as_bytes(), t(180), &mut findings);
    }
    classifier.flush(t(180), false, &mut findings);
    for finding in findings {
        if let Finding::Incident(incident) = finding {
            run = step(&run, Input::Incident(incident), t(180));
        }
    }
    assert_eq!(run.state, "error");
    run = step(
        &run,
        Input::Exited {
            exit_code: Some(1),
            signal: None,
            slurm_state: None,
        },
        t(180),
    );
    let send = |event: &str, sender: &str, fields: serde_json::Value| Input::Send {
        event: event.into(),
        sender: sender.into(),
        fields: serde_json::from_value(fields).unwrap(),
    };
    run = step(
        &run,
        send("delegate", "director", serde_json::json!({})),
        t(181),
    );
    assert_eq!(run.state, "fix");
    run = step(
        &run,
        send(
            "fix_submitted",
            "code_translator",
            serde_json::json!({"summary": "use pm.logp()", "design_change": false, "files": ["model_1.py (line 45)"]}),
        ),
        t(186),
    );
    assert_eq!(run.state, "watch");
    run = step(
        &run,
        Input::Launched {
            pid: 12346,
            resumed: true,
            command: None,
            slurm_job: None,
        },
        t(187),
    );
    let written = |name: &str, at| Input::Artifact {
        name: name.into(),
        exists: true,
        size: Some(1024),
        modified: Some(t(at)),
    };
    run = step(&run, written("checkpoint", 400), t(400));
    let summary = crate::classify::Record::from_iter([(
        "divergences".to_owned(),
        crate::classify::MetricValue::Int(0),
    )]);
    run = step(
        &run,
        Input::Log {
            last_line: Some("done".into()),
            records: vec![summary],
            // Two progress entries a minute apart, as the feed counts them.
            spacing: crate::classify::Spacing {
                records: 2,
                gaps: 1,
                min_gap: Some(60.0),
                max_gap: Some(60.0),
                ..Default::default()
            },
        },
        t(720),
    );
    run = step(&run, written("checkpoint", 720), t(720));
    run = step(&run, written("results", 721), t(721));
    run = step(
        &run,
        Input::Exited {
            exit_code: Some(0),
            signal: None,
            slurm_state: None,
        },
        t(750),
    );
    assert_eq!(run.state, "complete");
    assert_eq!(
        sent,
        [
            "training_started",
            "status_update",
            "status_update",
            "status_update",
            "status_update",
            "status_update",
            "status_update",
            "error_report",
            "delegate_fix",
            "fix_report",
            "action_command",
            "resume_notice",
            "completion_report",
            "worker_completion_report",
        ]
        .map(str::to_owned)
    );
}

#[test]
fn a_transition_to_an_undeclared_state_is_refused_at_compile_time() {
    let protocol = protocol::parse(
        Path::new("m.yaml"),
        b"protocol: p\nstates:\n  a: { initial: true }\n  b: { final: true }\ntransitions:\n  - { from: a, to: c, on: go }\n  - { from: a, to: b, on: go }\n",
    )
    .unwrap();
    let error = Machine::new(protocol, &BTreeMap::new()).err().unwrap();
    assert_eq!(
        error.to_string(),
        "the transition on line 6 names the unknown state `c`"
    );
}

const GATED: &str = r#"
protocol: gated
roles: { trainer: {}, director: {} }
channels: [{ from: trainer, to: director }]
vars:
  expected: { type: duration, default: 1h }
categories:
  - { id: results, owner: director, severity: critical, match: [{ line: "never" }] }
gates:
  long_enough:
    expr: "job.runtime.seconds >= 0.5 * expected.seconds"
    value: job.runtime
    category: results
  table:
    table: "results_{{ run.id }}.csv"
    columns: { score: { min: 0, below: "expected.hours * 2" } }
    category: results
    owner: trainer
events:
  go: { from: [director] }
states:
  start: { initial: true }
  watch: {}
  check: {}
  error: {}
  done: { final: true }
transitions:
  - { from: start, to: watch, do: [launch] }
  - { from: watch, on: exited, to: done, gates: [long_enough, table] }
  - { from: watch, on: go, to: check }
  - from: [watch, error]
    on: incident
    to: error
    send: [{ from: trainer, to: director, text: "{{ incident.gate }} for {{ incident.owner }}: {{ incident.message }}" }]
  - { from: check, on: go, to: watch, do: [restart] }
"#;

fn exited() -> Input {
    Input::Exited {
        exit_code: Some(0),
        signal: None,
        slurm_state: None,
    }
}

fn launched(pid: u32) -> Input {
    Input::Launched {
        pid,
        resumed: false,
        command: None,
        slurm_job: None,
    }
}

fn results(pass: bool) -> Input {
    Input::Gates {
        results: vec![crate::gate::GateResult::new("table", pass, "as found")],
    }
}

#[test]
fn a_gated_transition_waits_for_its_probes_and_is_taken_when_every_gate_passes() {
    let m = machine(GATED);
    let run = m.start("r", &BTreeMap::new(), t(0)).unwrap().instance;
    let run = m.step(&run, launched(7), t(0)).unwrap().instance;
    let asked = m.step(&run, exited(), t(40)).unwrap();
    assert!(asked.transitions.is_empty());
    assert_eq!(
        asked.checks.len(),
        1,
        "only the table is the shell's to check"
    );
    let crate::gate::Probe::Table {
        path,
        columns,
        rows,
        ..
    } = &asked.checks[0].probe
    else {
        panic!("{:?}", asked.checks[0].probe);
    };
    assert_eq!(path, "results_r.csv");
    assert_eq!(rows.min, Some(1.0), "a table has a row by default");
    assert_eq!(
        columns["score"].below,
        Some(2.0),
        "bounds are evaluated against the run"
    );
    assert!(matches!(
        m.step(&asked.instance, Input::Tick, t(41)),
        Err(StepError::AwaitingGates { .. })
    ));
    let taken = m.step(&asked.instance, results(true), t(40)).unwrap();
    assert_eq!(states(&taken), ["watch->done"]);
    let gates: Vec<(&str, bool)> = taken
        .gates
        .iter()
        .map(|g| (g.gate.as_str(), g.passed))
        .collect();
    assert_eq!(gates, [("long_enough", true), ("table", true)]);
    assert_eq!(taken.gates[0].value, serde_json::json!("40m"));
    assert!(matches!(
        m.step(&taken.instance, results(true), t(41)),
        Err(StepError::NoGatesPending)
    ));
}

#[test]
fn a_failed_gate_is_an_incident_of_its_category_in_the_current_state() {
    let m = machine(GATED);
    let run = m.start("r", &BTreeMap::new(), t(0)).unwrap().instance;
    let run = m.step(&run, launched(7), t(0)).unwrap().instance;
    // 10 minutes of an hour expected: `long_enough` fails, and so does the table.
    let asked = m.step(&run, exited(), t(10)).unwrap();
    let failed = m.step(&asked.instance, results(false), t(10)).unwrap();
    assert_eq!(states(&failed), ["watch->error"]);
    let incident = failed.instance.incident.as_deref().unwrap();
    assert_eq!(incident.gate.as_deref(), Some("long_enough"));
    assert_eq!(incident.category, "results");
    assert_eq!(incident.owner, "director", "the first failed gate's owner");
    assert_eq!(
        failed.transitions[0].messages[0].text,
        "long_enough for director: gate `long_enough` failed: \
         `job.runtime.seconds >= 0.5 * expected.seconds` does not hold (value: 10m); \
         gate `table` failed: as found"
    );
}

#[test]
fn an_incident_a_state_cannot_take_is_held_until_the_relaunched_job_runs() {
    let m = machine(GATED);
    let run = m.start("r", &BTreeMap::new(), t(0)).unwrap().instance;
    let run = m.step(&run, launched(7), t(0)).unwrap().instance;
    let run = m.step(&run, send_go(), t(1)).unwrap().instance;
    assert_eq!(run.state, "check");
    let held = m
        .step(
            &run,
            Input::Incident(Box::new(incident("ValueError", "nan", t(2)))),
            t(2),
        )
        .unwrap();
    assert_eq!(held.held.len(), 1, "{:?}", held.held);
    assert!(held.ignored.is_empty());
    // Back in `watch` with a restart under way: not yet.
    let back = m.step(&held.instance, send_go(), t(3)).unwrap();
    assert_eq!(states(&back), ["check->watch"]);
    assert_eq!(back.instance.held.len(), 1);
    let ticked = m.step(&back.instance, Input::Tick, t(4)).unwrap();
    assert_eq!(
        ticked.instance.held.len(),
        1,
        "a tick before the launch delivers nothing"
    );
    // The new process runs: the held incident is delivered, with the new job's facts.
    let relaunched = m.step(&ticked.instance, launched(8), t(5)).unwrap();
    assert_eq!(states(&relaunched), ["watch->error"]);
    assert!(relaunched.instance.held.is_empty());
    assert_eq!(relaunched.instance.job.pid, Some(8));
}

#[test]
fn the_job_runtime_adds_up_its_processes_and_stops_at_each_exit() {
    let m = machine(GATED);
    let run = m.start("r", &BTreeMap::new(), t(0)).unwrap().instance;
    let run = m.step(&run, launched(7), t(0)).unwrap().instance;
    let run = m.step(&run, send_go(), t(20)).unwrap().instance;
    let run = m.step(&run, send_go(), t(20)).unwrap().instance;
    // The restart's stop is over at once, the launch five minutes later.
    let run = m.step(&run, Input::Stopped, t(20)).unwrap().instance;
    let run = m.step(&run, launched(8), t(25)).unwrap().instance;
    // 20 minutes, then 15: the 5 minutes between do not count.
    let asked = m.step(&run, exited(), t(40)).unwrap();
    assert_eq!(
        asked.instance.job.runtime(t(90)),
        std::time::Duration::from_secs(35 * 60)
    );
    assert_eq!(
        asked.instance.job.uptime(t(90)),
        std::time::Duration::from_secs(15 * 60)
    );
}

#[test]
fn an_artifact_counts_each_change_it_was_seen_to_make() {
    let m = machine(GATED);
    let run = m.start("r", &BTreeMap::new(), t(0)).unwrap().instance;
    let seen = |run: &Instance, size: u64, at| {
        let input = Input::Artifact {
            name: "checkpoint".into(),
            exists: true,
            size: Some(size),
            modified: Some(t(at)),
        };
        m.step(run, input, t(at)).unwrap().instance
    };
    let run = seen(&run, 10, 1);
    let run = seen(&run, 10, 1);
    let run = seen(&run, 20, 2);
    let facts = &run.artifacts["checkpoint"];
    assert_eq!(facts.changes, 2, "the same file seen twice is one change");
    assert_eq!(facts.first_seen, Some(t(1)));
    assert_eq!(facts.last_change, Some(t(2)));
}

fn send_go() -> Input {
    Input::Send {
        event: "go".into(),
        sender: "director".into(),
        fields: BTreeMap::new(),
    }
}

#[test]
fn an_eventless_gate_that_fails_is_not_tried_again_until_the_next_input() {
    let m = machine(
        r#"
protocol: p
roles: { op: {} }
vars: { ready: { type: boolean, default: false } }
gates:
  ready: { expr: "ready", category: uncategorized }
events:
  go: { from: [op] }
states:
  start: { initial: true }
  done: { final: true }
transitions:
  - { from: start, to: done, gates: [ready] }
  - { from: start, on: go, set: { ready: "true" } }
"#,
    );
    let started = m.start("r", &BTreeMap::new(), t(0)).unwrap();
    assert_eq!(started.instance.state, "start");
    assert_eq!(started.gates.len(), 1, "tried once, not a hundred times");
    assert_eq!(
        started.held.len(),
        1,
        "its failure is kept: `start` takes no incident"
    );
    let input = Input::Send {
        event: "go".into(),
        sender: "op".into(),
        fields: BTreeMap::new(),
    };
    let went = m.step(&started.instance, input, t(1)).unwrap();
    assert_eq!(went.instance.state, "done", "the next input tries it again");
}

#[test]
fn an_artifact_left_from_before_the_run_is_seen_but_not_counted_as_a_change() {
    let m = machine(GATED);
    let run = m.start("r", &BTreeMap::new(), t(0)).unwrap().instance;
    let input = |modified| Input::Artifact {
        name: "checkpoint".into(),
        exists: true,
        size: Some(10),
        modified: Some(modified),
    };
    let run = m.step(&run, input(t(-600)), t(0)).unwrap().instance;
    assert_eq!(run.artifacts["checkpoint"].changes, 0);
    assert_eq!(run.artifacts["checkpoint"].first_seen, Some(t(0)));
    let run = m.step(&run, input(t(5)), t(5)).unwrap().instance;
    assert_eq!(
        run.artifacts["checkpoint"].changes, 1,
        "written again by this run"
    );
}

#[test]
fn timers_due_while_a_transition_waits_for_its_gates_fire_after_it() {
    let m = machine(
        r#"
protocol: p
roles: { op: {} }
categories:
  - { id: c, owner: op, severity: critical, match: [{ line: "never" }] }
gates:
  file: { files: [done.txt], category: c }
states:
  start: { initial: true }
  wait: {}
  checked: {}
  done: { final: true }
timers:
  - { event: first, after: 1h, while: [wait, checked] }
  - { event: second, after: 1h, while: [wait, checked] }
transitions:
  - { from: start, to: wait }
  - { from: wait, on: first, to: checked, gates: [file] }
  - { from: checked, on: second, to: done }
  - { from: [wait, checked], on: incident, to: done }
"#,
    );
    let run = m.start("r", &BTreeMap::new(), t(0)).unwrap().instance;
    let asked = m.step(&run, Input::Tick, t(60)).unwrap();
    assert_eq!(asked.checks.len(), 1);
    assert!(
        asked.ignored.is_empty(),
        "`second` waits: {:?}",
        asked.ignored
    );
    let results = Input::Gates {
        results: vec![crate::gate::GateResult::new("file", true, "1 file present")],
    };
    let taken = m.step(&asked.instance, results, t(60)).unwrap();
    assert_eq!(states(&taken), ["wait->checked"]);
    let fired = m.step(&taken.instance, Input::Tick, t(60)).unwrap();
    assert_eq!(
        states(&fired),
        ["checked->done"],
        "the second timer, at its own time"
    );
    assert_eq!(fired.transitions[0].at, t(60));
}

#[test]
fn a_message_that_fails_to_render_is_sent_marked_and_the_run_goes_on() {
    let m = machine(
        r#"
protocol: unrendered
roles: { trainer: {}, director: {}, modeler: {} }
channels: [{ from: trainer, to: [director, modeler] }]
states:
  start: { initial: true }
  watch: {}
  ended: { final: true }
transitions:
  - { from: start, to: watch, do: [launch] }
  - from: watch
    on: exited
    to: ended
    send:
      - { from: trainer, to: modeler, text: "it ended: {{ incident.category }}" }
      - { from: trainer, to: director, text: "exit {{ job.exit_code }}" }
"#,
    );
    let started = m.start("r1", &BTreeMap::new(), t(0)).unwrap();
    let exited = Input::Exited {
        exit_code: Some(1),
        signal: None,
        slurm_state: None,
    };
    let out = m.step(&started.instance, exited, t(5)).unwrap();
    assert_eq!(states(&out), ["watch->ended"], "the transition is taken");
    assert_eq!(out.instance.state, "ended");
    let messages: Vec<_> = out.messages().collect();
    assert_eq!(messages.len(), 2);
    let marked = messages[0];
    assert_eq!(
        marked.to,
        ["modeler", "director"],
        "the owner of the unknown is told"
    );
    assert!(
        marked
            .text
            .starts_with("> **Warden could not render this message.**"),
        "{}",
        marked.text
    );
    assert!(marked.text.contains("undefined value"), "{}", marked.text);
    assert!(
        marked.text.contains("`watch` to `ended`"),
        "{}",
        marked.text
    );
    assert_eq!(
        messages[1].text, "exit 1",
        "the other message is not touched"
    );
    assert_eq!(out.unrendered.len(), 1);
    assert!(
        out.unrendered[0].starts_with("message text of the transition on line 11"),
        "{}",
        out.unrendered[0]
    );
}

#[test]
fn a_timer_due_past_the_last_date_is_an_error_naming_it_not_a_panic() {
    let text = "protocol: p\nvars:\n  wait: { type: duration, default: 1h }\nstates:\n  a: { initial: true }\n  b: { final: true }\ntimers:\n  - { event: late, after: \"{{ wait }}\", while: [a] }\ntransitions:\n  - { from: a, on: late, to: b }\n";
    let m = machine(text);
    // Two hundred million years is a duration, but no date that far from now exists.
    let vars = BTreeMap::from([("wait".to_owned(), serde_json::json!("200000000y"))]);
    let error = m.start("r", &vars, t(0)).unwrap_err();
    assert!(
        matches!(
            &error,
            StartError::Step(StepError::Duration { line: 8, .. })
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("past the last date"), "{error}");
}

#[test]
fn a_repeating_timer_whose_next_time_is_past_the_last_date_stops() {
    let text = "protocol: p\nroles: { trainer: {}, director: {} }\nchannels: [{ from: trainer, to: director }]\nstates:\n  a: { initial: true }\ntimers:\n  - { event: tick, every: 100000y, while: [a] }\ntransitions:\n  - { from: a, on: tick, send: [{ from: trainer, to: director, text: tick }] }\n";
    let m = machine(text);
    let late = chrono::NaiveDate::from_ymd_opt(150_000, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let run = m.start("r", &BTreeMap::new(), late).unwrap().instance;
    let due = m.next_deadline(&run).unwrap();
    let out = m.step(&run, Input::Tick, due).unwrap();
    assert_eq!(out.messages().count(), 1);
    assert_eq!(m.next_deadline(&out.instance), None);
}

#[test]
fn a_stop_grace_longer_than_a_clock_can_count_is_the_longest_kept() {
    let text = "protocol: p\nvars:\n  grace: { type: duration, default: 30s }\njob:\n  command: [sleep, '1']\n  log: out.log\n  stop_grace: \"{{ grace }}\"\nstates:\n  a: { initial: true }\n  b: { final: true }\ntransitions:\n  - { from: a, on: exited, to: b }\n";
    let m = machine(text);
    let vars = BTreeMap::from([("grace".to_owned(), serde_json::json!("500000000000y"))]);
    let run = m.start("r", &vars, t(0)).unwrap().instance;
    let plan = m.job_plan(&run, t(0)).unwrap();
    assert_eq!(plan.stop_grace, MAX_STOP_GRACE);
    assert!(std::time::Instant::now()
        .checked_add(plan.stop_grace)
        .is_some());
}

#[test]
fn a_run_fires_a_repeating_timer_it_missed_many_times_once() {
    let text = r#"
protocol: p
roles: { trainer: {}, director: {} }
channels: [{ from: trainer, to: director }]
states:
  start: { initial: true }
  watch: {}
timers:
  - { event: tick, every: 10m, while: [watch] }
transitions:
  - { from: start, to: watch }
  - { from: watch, on: tick, send: [{ from: trainer, to: director, text: "tick at {{ now }}" }] }
"#;
    let each = machine(text);
    let run = each.start("r1", &BTreeMap::new(), t(0)).unwrap().instance;
    let out = each.step(&run, Input::Tick, t(65)).unwrap();
    assert_eq!(out.messages().count(), 6, "a scenario's clock fires each");

    let once = machine(text).fire_missed_once();
    let out = once.step(&run, Input::Tick, t(65)).unwrap();
    let texts: Vec<&str> = out.messages().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        ["tick at 2026-01-19T13:00:00Z"],
        "once, at the last time due"
    );
    assert_eq!(once.next_deadline(&out.instance), Some(t(70)));
}

#[test]
fn a_timer_every_millisecond_is_refused_when_it_starts() {
    let m = machine(SMALL);
    let vars = BTreeMap::from([("every".to_owned(), serde_json::json!("1ms"))]);
    let error = m.start("r1", &vars, t(0)).unwrap_err().to_string();
    assert!(error.contains("at most once a second"), "{error}");
}

#[test]
fn a_slurm_state_exit_rule_makes_the_end_an_incident_and_the_job_knows_its_slurm_job() {
    let m = machine(
        r#"
protocol: cluster
roles: { trainer: {}, director: {} }
channels: [{ from: trainer, to: director }]
categories:
  - id: resource
    owner: director
    severity: critical
    match: [{ slurm_state: [PREEMPTED, TIMEOUT] }]
states:
  start: { initial: true }
  watch: {}
  lost: { final: true }
  ended: { final: true }
transitions:
  - { from: start, to: watch, do: [launch] }
  - from: watch
    on: incident
    to: lost
    send: [{ from: trainer, to: director, text: "{{ incident.category }}: {{ incident.message }} (job {{ job.slurm_job }}, {{ job.slurm_state }})" }]
  - { from: watch, on: exited, to: ended }
"#,
    );
    let started = m.start("r1", &BTreeMap::new(), t(0)).unwrap();
    let launched = Input::Launched {
        pid: 0,
        resumed: false,
        command: None,
        slurm_job: Some(4242),
    };
    let running = m.step(&started.instance, launched, t(1)).unwrap();
    assert_eq!(running.instance.job.slurm_job, Some(4242));
    let ended = |state: &str| Input::Exited {
        exit_code: None,
        signal: Some(15),
        slurm_state: Some(state.into()),
    };
    let out = m.step(&running.instance, ended("PREEMPTED"), t(5)).unwrap();
    assert_eq!(states(&out), ["watch->lost"]);
    let text = &out.messages().next().unwrap().text;
    assert_eq!(
        text,
        "resource: the Slurm job ended PREEMPTED; the job was killed by signal 15 (SIGTERM) \
         (job 4242, PREEMPTED)"
    );
    // A state no rule names is an end like any other.
    let out = m.step(&running.instance, ended("CANCELLED"), t(5)).unwrap();
    assert_eq!(states(&out), ["watch->ended"]);
}

#[test]
fn a_guard_or_text_written_on_many_transitions_is_compiled_once_and_holds_for_each() {
    let m = machine(
        r#"
protocol: shared
roles: { director: {}, trainer: {} }
channels: [{ from: trainer, to: director }]
events:
  next: { from: [director], fields: { note: { type: string } } }
states:
  a: { initial: true }
  b: {}
  c: {}
  done: { final: true }
transitions:
  - { from: a, on: next, if: "event.note != 'hold'", to: b, send: [{ from: trainer, to: director, text: "{{ state }} to {{ target }}" }] }
  - { from: b, on: next, if: "event.note != 'hold'", to: c, send: [{ from: trainer, to: director, text: "{{ state }} to {{ target }}" }] }
  - { from: c, on: next, if: "event.note != 'hold'", to: done, send: [{ from: trainer, to: director, text: "{{ state }} to {{ target }}" }] }
"#,
    );
    let env = m.program.borrow_owner();
    let named = |prefix: &str| {
        env.templates()
            .filter(|(n, _)| n.starts_with(prefix))
            .count()
    };
    assert_eq!((named("guard:"), named("text:")), (1, 1));
    let next = |note: &str| Input::Send {
        event: "next".into(),
        sender: "director".into(),
        fields: BTreeMap::from([("note".to_owned(), serde_json::json!(note))]),
    };
    let mut run = m.start("r1", &BTreeMap::new(), t(0)).unwrap().instance;
    let mut texts = Vec::new();
    for (minute, note) in [(1, "go"), (2, "hold"), (3, "go"), (4, "go")] {
        let out = m.step(&run, next(note), t(minute)).unwrap();
        texts.extend(out.messages().map(|m| m.text.clone()));
        run = out.instance;
    }
    assert_eq!(texts, ["a to b", "b to c", "c to done"]);
    assert_eq!(run.state, "done");
}
