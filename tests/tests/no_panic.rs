//! The loader and the checker never panic, whatever the bytes: arbitrary input, and mutations of
//! the shipped protocol (which reach far deeper than random bytes do).

use std::path::Path;

use proptest::prelude::*;
use warden::check;
use warden::protocol;

fn phase5b() -> String {
    std::fs::read_to_string(warden_tests::root().join("protocols/phase5b.yaml")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = protocol::parse(Path::new("fuzz.yaml"), &bytes);
    }

    #[test]
    fn arbitrary_yaml_like_text(text in "[a-z_:{}\\[\\]\\-\"', #*|>\n ]{0,300}") {
        let _ = check::check_source(Path::new("fuzz.yaml"), &text);
    }

    #[test]
    fn mutated_phase5b(cut in 0usize..40_000, len in 0usize..64, insert in "[a-z{}:\\[\\]\"'\n -]{0,12}") {
        let text = phase5b();
        let mut cut = cut.min(text.len());
        while !text.is_char_boundary(cut) { cut -= 1; }
        let mut end = (cut + len).min(text.len());
        while !text.is_char_boundary(end) { end -= 1; }
        let mutated = format!("{}{}{}", &text[..cut], insert, &text[end..]);
        let path = warden_tests::root().join("protocols/mutated.yaml");
        let _ = check::check_source(&path, &mutated);
    }
}

fn classifier() -> warden::classify::Classifier {
    static PROTOTYPE: std::sync::OnceLock<warden::classify::Classifier> =
        std::sync::OnceLock::new();
    PROTOTYPE
        .get_or_init(|| {
            let path = warden_tests::root().join("protocols/phase5b.yaml");
            warden::classify::Classifier::new(&protocol::load(&path).unwrap()).unwrap()
        })
        .clone()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn classifier_takes_arbitrary_bytes(lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..40)) {
        let mut classifier = classifier();
        let mut out = Vec::new();
        let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        for line in &lines {
            classifier.push(line, at, &mut out);
        }
        classifier.flush(at, true, &mut out);
    }

    #[test]
    fn classifier_takes_tracebacks_mixed_with_noise(
        pieces in proptest::collection::vec(prop_oneof![
            Just("Traceback (most recent call last):".to_owned()),
            Just("  File \"m.py\", line 3, in <module>".to_owned()),
            Just("During handling of the above exception, another exception occurred:".to_owned()),
            Just(String::new()),
            Just("KeyError: 'Gold'".to_owned()),
            Just("{\"loss\": NaN, \"r_hat\": 1.4}".to_owned()),
            Just("r_hat=1.5 loss=nan".to_owned()),
            "[ -~]{0,40}",
        ], 0..60)
    ) {
        let mut classifier = classifier();
        let mut out = Vec::new();
        let mut at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        for piece in &pieces {
            classifier.push(piece.as_bytes(), at, &mut out);
            at += chrono::TimeDelta::seconds(7);
        }
        classifier.flush(at, true, &mut out);
        // Every line is accounted for: no incident claims a line past the end.
        for finding in &out {
            if let warden::classify::Finding::Incident(incident) = finding {
                prop_assert!(incident.line_number <= pieces.len() as u64);
                prop_assert!(incident.after.len() <= warden::classify::CONTEXT_LINES);
            }
        }
    }
}

mod machine_sequences {
    use std::collections::BTreeMap;

    use chrono::{DateTime, TimeDelta, Utc};
    use proptest::prelude::*;
    use warden::classify::Incident;
    use warden::machine::{Input, Machine};
    use warden::protocol::{self, IncidentSeverity};

    fn machine() -> &'static Machine {
        static MACHINE: std::sync::OnceLock<Machine> = std::sync::OnceLock::new();
        MACHINE.get_or_init(|| {
            let protocol =
                protocol::load(&warden_tests::root().join("protocols/phase5b.yaml")).unwrap();
            let (templates, _) = protocol::load_templates(&protocol);
            Machine::new(protocol, &templates).unwrap()
        })
    }

    fn incident(category: &str, severity: IncidentSeverity, metric: Option<f64>) -> Incident {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        Incident {
            category: category.into(),
            owner: "director".into(),
            severity,
            action: Some("look".into()),
            exception: (category != "convergence").then(|| "ValueError".into()),
            message: "m".into(),
            line: "ValueError: m".into(),
            line_number: 7,
            file: Some("model_1.py".into()),
            code_line: Some(45),
            before: vec!["a".into()],
            after: vec![],
            traceback: vec!["Traceback (most recent call last):".into()],
            metric: metric.map(|r| {
                warden::classify::Record::from_iter([(
                    "r_hat".to_owned(),
                    warden::classify::MetricValue::Float(r),
                )])
            }),
            count: 1,
            first_seen: at,
            last_seen: at,
            gate: None,
            chain: vec![],
        }
    }

    /// Inputs any run can receive, role events included with and without their fields.
    fn input() -> impl Strategy<Value = Input> {
        let events = machine().protocol().events.iter().map(|(name, def)| {
            (
                name.value.clone(),
                def.from.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            )
        });
        let sends: Vec<(String, String)> = events
            .flat_map(|(event, senders)| senders.into_iter().map(move |s| (event.to_string(), s)))
            .collect();
        prop_oneof![
            (1u32..99999, any::<bool>()).prop_map(|(pid, resumed)| Input::Launched {
                pid,
                resumed,
                command: None,
                slurm_job: None,
            }),
            prop_oneof![Just(Some(0)), Just(Some(1)), Just(None)].prop_map(|code| Input::Exited {
                exit_code: code,
                signal: code.is_none().then_some(9),
                slurm_state: None,
            }),
            prop_oneof![
                Just(incident("implementation", IncidentSeverity::Critical, None)),
                Just(incident("data", IncidentSeverity::Warning, None)),
                Just(incident(
                    "convergence",
                    IncidentSeverity::Warning,
                    Some(1.42)
                )),
                Just(incident("convergence", IncidentSeverity::Warning, None)),
                Just(incident("uncategorized", IncidentSeverity::Critical, None)),
            ]
            .prop_map(|i| Input::Incident(Box::new(i))),
            Just(Input::Tick),
            (
                proptest::sample::select(sends),
                any::<bool>(),
                "[a-z ]{0,12}"
            )
                .prop_map(|((event, sender), full, text)| {
                    let mut fields = BTreeMap::new();
                    if full {
                        let def = machine().protocol().events.get(&event).unwrap();
                        for (name, field) in def.fields.iter() {
                            let value = match field.ty.value {
                                protocol::ValueType::Boolean => {
                                    serde_json::json!(text.len() % 2 == 0)
                                }
                                protocol::ValueType::Number | protocol::ValueType::Integer => {
                                    serde_json::json!(3)
                                }
                                protocol::ValueType::List => serde_json::json!([text.clone()]),
                                _ => serde_json::json!(text.clone()),
                            };
                            fields.insert(name.to_string(), value);
                        }
                    }
                    Input::Send {
                        event,
                        sender,
                        fields,
                    }
                }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn any_sequence_of_inputs_runs_phase5b_without_error(
            steps in proptest::collection::vec((input(), 0i64..(26 * 60), any::<bool>()), 1..40)
        ) {
            let m = machine();
            let vars = BTreeMap::from([("model".to_owned(), serde_json::json!(1))]);
            let mut now = "2026-01-19T12:00:00Z".parse::<DateTime<Utc>>().unwrap();
            // The shell's answer to the gates a step asks about: all pass, or all fail.
            let answer = |mut outcome: warden::machine::Outcome, pass: bool, now| {
                while !outcome.checks.is_empty() {
                    let results = outcome
                        .checks
                        .iter()
                        .map(|c| warden::gate::GateResult::new(&c.gate, pass, "as the test says"))
                        .collect();
                    outcome = m.step(&outcome.instance, Input::Gates { results }, now)?;
                }
                Ok::<_, warden::machine::StepError>(outcome)
            };
            let mut run = answer(m.start("prop", &vars, now).unwrap(), true, now).unwrap().instance;
            for (input, minutes, pass) in steps {
                now += TimeDelta::minutes(minutes);
                let was_final = run.finished(m);
                let before = run.state.clone();
                let outcome = m
                    .step(&run, Input::Tick, now)
                    .and_then(|o| answer(o, pass, now))
                    .and_then(|o| m.step(&o.instance, input, now))
                    .and_then(|o| answer(o, pass, now));
                let outcome = match outcome {
                    Ok(outcome) => outcome,
                    Err(error) => return Err(TestCaseError::fail(format!("{error} (in {before})"))),
                };
                run = outcome.instance;
                prop_assert!(m.protocol().states.contains(&run.state), "undeclared state {}", run.state);
                if was_final {
                    prop_assert_eq!(&run.state, &before, "a final state absorbs everything");
                }
            }
        }
    }
}

/// A table gate reads whatever file it is given without panicking, and passes only a table
/// that has a row and whose bounded column holds only numbers within the bounds.
mod tables {
    use std::collections::BTreeMap;

    use chrono::Utc;
    use proptest::prelude::*;
    use warden::gate::{evaluate, Bounds, Probe};

    fn cells() -> impl Strategy<Value = Vec<u8>> {
        let cell = prop_oneof![
            Just(b"1".to_vec()),
            Just(b"-2.5".to_vec()),
            Just(b"nan".to_vec()),
            Just(b"inf".to_vec()),
            Just(b"NA".to_vec()),
            Just(b"".to_vec()),
            Just(b"\"a,b\"".to_vec()),
            Just(b"\"open".to_vec()),
            Just(vec![0xff, 0xfe]),
            Just(b"x".to_vec()),
        ];
        let separator = prop_oneof![
            Just(b",".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r\n".to_vec())
        ];
        proptest::collection::vec((cell, separator), 0..40).prop_map(|parts| {
            parts
                .into_iter()
                .flat_map(|(c, s)| c.into_iter().chain(s))
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn any_file(header in prop_oneof![Just(b"v,w\n".to_vec()), Just(Vec::new())], body in cells(), finite: bool, varying: bool) {
            let dir = tempfile::tempdir().unwrap();
            let bytes: Vec<u8> = header.into_iter().chain(body).collect();
            std::fs::write(dir.path().join("t.csv"), &bytes).unwrap();
            let probe = Probe::Table {
                path: "t.csv".into(),
                delimiter: b',',
                rows: Bounds { min: Some(1.0), ..Default::default() },
                finite,
                varying,
                columns: BTreeMap::from([("v".to_owned(), Bounds { min: Some(-3.0), below: Some(2.0), ..Default::default() })]),
            };
            let result = evaluate("table", &probe, dir.path(), Utc::now());
            prop_assert!(!result.reason.is_empty());
            if result.passed {
                prop_assert!(result.facts["rows"].as_u64().unwrap() >= 1);
                let stats = &result.facts["stats"]["v"];
                prop_assert!(stats["min"].as_f64().unwrap() >= -3.0, "{result:?}");
                prop_assert!(stats["max"].as_f64().unwrap() < 2.0, "{result:?}");
            }
        }
    }
}
