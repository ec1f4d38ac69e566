//! The classifier on what real libraries print (`tests/fixtures/logs/`, captured by
//! `capture.py`) under the Phase 5B rules, and on the edge cases of a log stream.

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};

use super::rules::exception_matches;
use super::*;

fn phase5b() -> Protocol {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocols/phase5b.yaml");
    crate::protocol::load(&path).unwrap()
}

fn t0() -> DateTime<Utc> {
    "2026-01-19T12:00:00Z".parse().unwrap()
}

/// Feeds `text` one line a second and returns what was found, the stream then ended.
fn classify(text: &str) -> Vec<Finding> {
    classify_bytes(text.as_bytes())
}

fn classify_bytes(bytes: &[u8]) -> Vec<Finding> {
    let mut classifier = Classifier::new(&phase5b()).unwrap();
    let mut out = Vec::new();
    let mut at = t0();
    for line in bytes.split(|&b| b == b'\n') {
        classifier.push(line, at, &mut out);
        at += TimeDelta::seconds(1);
    }
    classifier.flush(at, true, &mut out);
    merged(out)
}

/// `found` with the records of consecutive [`Finding::Metric`]s merged into one, as a feed
/// merges them: how they are grouped depends on how the log was read (a read gives the records
/// it read as one), what they hold does not.
fn merged(found: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for finding in found {
        if let (
            Some(Finding::Metric {
                line_number,
                record,
                stamps,
            }),
            Finding::Metric {
                line_number: later,
                record: more,
                stamps: more_stamps,
            },
        ) = (out.last_mut(), &finding)
        {
            *line_number = *later;
            record.extend(more.clone());
            stamps.extend(more_stamps);
            continue;
        }
        out.push(finding);
    }
    out
}

fn incidents(findings: &[Finding]) -> Vec<&Incident> {
    findings
        .iter()
        .filter_map(|f| match f {
            Finding::Incident(incident) => Some(&**incident),
            _ => None,
        })
        .collect()
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/logs")
        .join(format!("{name}.log"));
    std::fs::read_to_string(path).unwrap()
}

/// What one captured log must classify as.
struct Expected {
    fixture: &'static str,
    category: &'static str,
    severity: &'static str,
    exception: Option<&'static str>,
    /// The start of the message.
    message: &'static str,
    /// The end of the innermost frame's file.
    file: Option<&'static str>,
    code_line: Option<u64>,
}

const REAL_LOGS: &[Expected] = &[
    Expected {
        fixture: "torch_cpu_out_of_memory",
        category: "resource",
        severity: "critical",
        exception: Some("RuntimeError"),
        message: "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory",
        file: Some("<string>"),
        code_line: Some(4),
    },
    Expected {
        // The code asks for a GPU the machine does not have: the code is what to change.
        fixture: "torch_no_cuda",
        category: "implementation",
        severity: "critical",
        exception: Some("RuntimeError"),
        message: "Found no NVIDIA driver on your system.",
        file: Some("torch/cuda/__init__.py"),
        code_line: Some(616),
    },
    Expected {
        // NaN in the gradients: the training diverged.
        fixture: "torch_nan_anomaly",
        category: "convergence",
        severity: "warning",
        exception: Some("RuntimeError"),
        message: "Function 'SqrtBackward0' returned nan values in its 0th output.",
        file: Some("torch/autograd/graph.py"),
        code_line: Some(1113),
    },
    Expected {
        fixture: "pymc_logp_attribute_error",
        category: "implementation",
        severity: "critical",
        exception: Some("AttributeError"),
        message: "'TensorVariable' object has no attribute 'logp'. Did you mean: 'log'?",
        file: Some("<string>"),
        code_line: Some(5),
    },
    Expected {
        fixture: "config_missing_attribute",
        category: "implementation",
        severity: "critical",
        exception: Some("AttributeError"),
        message: "'Model3Config' object has no attribute 'n_sports'",
        file: Some("<string>"),
        code_line: Some(8),
    },
    Expected {
        fixture: "name_error",
        category: "implementation",
        severity: "critical",
        exception: Some("NameError"),
        message: "name 'prepare_factor_model' is not defined",
        file: Some("<string>"),
        code_line: Some(2),
    },
    Expected {
        fixture: "pandas_missing_column",
        category: "data",
        severity: "critical",
        exception: Some("KeyError"),
        message: "'Gold'",
        file: Some("pandas/core/indexes/base.py"),
        code_line: Some(3823),
    },
    Expected {
        fixture: "pandas_empty_data",
        category: "data",
        severity: "critical",
        exception: Some("pandas.errors.EmptyDataError"),
        message: "No columns to parse from file",
        file: Some("pandas/_libs/parsers.pyx"),
        code_line: Some(735),
    },
    Expected {
        fixture: "sklearn_nan_input",
        category: "data",
        severity: "critical",
        exception: Some("ValueError"),
        message: "Input X contains NaN.",
        file: Some("sklearn/utils/validation.py"),
        code_line: Some(186),
    },
    Expected {
        fixture: "sklearn_feature_mismatch",
        category: "data",
        severity: "critical",
        exception: Some("ValueError"),
        message: "X has 12 features, but LinearRegression is expecting 15 features as input.",
        file: Some("sklearn/utils/validation.py"),
        code_line: Some(2926),
    },
    Expected {
        fixture: "numpy_broadcast_shapes",
        category: "implementation",
        severity: "critical",
        exception: Some("ValueError"),
        message: "operands could not be broadcast together with shapes (234,15) (234,12)",
        file: Some("<string>"),
        code_line: Some(3),
    },
    Expected {
        fixture: "numpy_array_memory_error",
        category: "resource",
        severity: "critical",
        exception: Some("numpy._core._exceptions._ArrayMemoryError"),
        message: "Unable to allocate 728. TiB",
        file: Some("<string>"),
        code_line: Some(3),
    },
    Expected {
        fixture: "memory_error",
        category: "resource",
        severity: "critical",
        exception: Some("MemoryError"),
        message: "",
        file: Some("<string>"),
        code_line: Some(2),
    },
    Expected {
        fixture: "io_no_space",
        category: "resource",
        severity: "critical",
        exception: Some("OSError"),
        message: "[Errno 28] No space left on device",
        file: Some("<string>"),
        code_line: Some(3),
    },
    Expected {
        // The message goes on with the log-probabilities at the start, one of them nan: data
        // first, as a NaN in the observed data is what most often makes it so.
        fixture: "pymc_sampling_error_nan",
        category: "data",
        severity: "critical",
        exception: Some("pymc.exceptions.SamplingError"),
        message: "Initial evaluation of model at starting point failed!",
        file: Some("pymc/model/core.py"),
        code_line: Some(1783),
    },
    Expected {
        fixture: "sklearn_convergence_warning",
        category: "convergence",
        severity: "warning",
        exception: Some("ConvergenceWarning"),
        message: "lbfgs failed to converge after 2 iteration(s) (status=1):",
        file: Some("sklearn/linear_model/_logistic.py"),
        code_line: Some(599),
    },
    Expected {
        fixture: "statsmodels_convergence_warning",
        category: "convergence",
        severity: "warning",
        exception: Some("ConvergenceWarning"),
        message: "Maximum Likelihood optimization failed to converge.",
        file: Some("statsmodels/discrete/discrete_model.py"),
        code_line: Some(268),
    },
    Expected {
        fixture: "scipy_max_iterations",
        category: "convergence",
        severity: "warning",
        exception: Some("RuntimeWarning"),
        message: "Maximum number of iterations has been exceeded.",
        file: Some("<string>"),
        code_line: Some(3),
    },
];

#[test]
fn real_library_output_is_classified_as_phase5b_says() {
    assert_eq!(
        REAL_LOGS.len(),
        18,
        "one row for each captured traceback and warning log"
    );
    for expected in REAL_LOGS {
        let Expected {
            fixture: name,
            category,
            severity,
            exception,
            message,
            file,
            code_line,
        } = *expected;
        let findings = classify(&fixture(name));
        let found = incidents(&findings);
        assert_eq!(found.len(), 1, "{name}: {found:#?}");
        let incident = found[0];
        assert_eq!(incident.category, category, "{name}");
        assert_eq!(incident.severity.as_str(), severity, "{name}");
        assert_eq!(incident.exception.as_deref(), exception, "{name}");
        assert!(
            incident.message.starts_with(message),
            "{name}: {:?}",
            incident.message
        );
        match file {
            Some(file) => assert!(
                incident.file.as_deref().is_some_and(|f| f.ends_with(file)),
                "{name}: {:?}",
                incident.file
            ),
            None => assert_eq!(incident.file, None),
        }
        assert_eq!(incident.code_line, code_line, "{name}");
    }
}

#[test]
fn a_chained_traceback_is_one_incident_with_the_final_exception() {
    let findings = classify(&fixture("pandas_missing_column"));
    let found = incidents(&findings);
    assert_eq!(found.len(), 1);
    let traceback = &found[0].traceback;
    assert!(traceback[0].starts_with("Traceback"));
    assert!(traceback
        .iter()
        .any(|l| l == "The above exception was the direct cause of the following exception:"));
    assert_eq!(traceback.last().unwrap(), "KeyError: 'Gold'");
    assert_eq!(found[0].line, "KeyError: 'Gold'");
    assert_eq!(found[0].line_number, 20);
}

#[test]
fn a_multi_line_exception_message_continues_in_the_after_context() {
    let findings = classify(&fixture("sklearn_nan_input"));
    let incident = incidents(&findings)[0];
    assert!(incident.after[0].starts_with("LogisticRegression does not accept missing values"));
}

#[test]
fn pymc_sampling_warnings_are_three_incidents_and_the_blas_notice_is_none() {
    let findings = classify(&fixture("pymc_divergences_rhat"));
    let found = incidents(&findings);
    let messages: Vec<&str> = found.iter().map(|i| i.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "There were 11 divergences after tuning. Increase `target_accept` or reparameterize.",
            "The rhat statistic is larger than 1.01 for some parameters. This indicates problems during sampling. See https://arxiv.org/abs/1903.08008 for details",
            "The effective sample size per chain is smaller than 100 for some parameters.  A higher number is needed for reliable rhat and ess computation. See https://arxiv.org/abs/1903.08008 for details",
        ]
    );
    assert!(found
        .iter()
        .all(|i| i.category == "convergence" && i.exception.is_none()));
}

#[test]
fn numpy_runtime_warnings_are_data_warnings_with_their_source_line() {
    let findings = classify(&fixture("numpy_invalid_value_warning"));
    let found = incidents(&findings);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].message, "invalid value encountered in divide");
    assert_eq!(
        (found[0].category.as_str(), found[0].severity),
        ("data", IncidentSeverity::Warning)
    );
    assert_eq!(found[1].message, "divide by zero encountered in log");
    assert_eq!(found[1].code_line, Some(4));
}

#[test]
fn python_json_nan_and_infinity_trip_the_metric_rule() {
    let findings = classify(&fixture("json_metrics_nan"));
    let found = incidents(&findings);
    assert_eq!(found.len(), 2, "{found:#?}");
    // A loss that turns NaN or infinite after finite ones: training diverged.
    assert!(found.iter().all(|i| i.category == "convergence"));
    assert_eq!(found[0].message, "loss = nan");
    assert_eq!(found[1].message, "loss = inf");
    let loss = |i: &Incident| match i.metric.as_ref().unwrap()["loss"] {
        MetricValue::Float(f) => f,
        _ => panic!(),
    };
    assert!(loss(found[0]).is_nan());
    assert_eq!(loss(found[1]), f64::INFINITY);
    // The records read one after the other are given merged, the latest values of their
    // keys; the incidents waited for the lines after theirs.
    let kinds: Vec<String> = findings
        .iter()
        .map(|f| match f {
            Finding::Metric {
                line_number,
                record,
                ..
            } => format!("records to line {line_number}, epoch {:?}", record["epoch"]),
            Finding::Incident(i) => format!("incident at line {}", i.line_number),
            Finding::Repeated { .. } => "repeated".to_owned(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "records to line 4, epoch Int(3)",
            "incident at line 3",
            "incident at line 4"
        ]
    );
}

#[test]
fn key_value_r_hat_above_the_threshold_is_a_convergence_incident() {
    let findings = classify(&fixture("key_value_log"));
    let found = incidents(&findings);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].category, "convergence");
    assert_eq!(found[0].line_number, 3);
    assert_eq!(
        found[0].metric.as_ref().unwrap()["r_hat"],
        MetricValue::Float(1.35)
    );
}

#[test]
fn ordinary_lines_with_error_words_are_not_incidents() {
    let log = "epoch 3 val_error=0.3\nFailed to import optional dependency 'numba'; using the slow path\n\
               Error bars computed from 400 draws\nRuntimeError count: 0\n";
    assert_eq!(incidents(&classify(log)).len(), 0);
}

#[test]
fn context_is_five_lines_before_and_after() {
    let mut log = String::new();
    for i in 1..=8 {
        log.push_str(&format!("step {i}\n"));
    }
    log.push_str(
        "There were 3 divergences after tuning. Increase `target_accept` or reparameterize.\n",
    );
    for i in 9..=16 {
        log.push_str(&format!("step {i}\n"));
    }
    let findings = classify(&log);
    let incident = incidents(&findings)[0];
    assert_eq!(
        incident.before,
        ["step 4", "step 5", "step 6", "step 7", "step 8"]
    );
    assert_eq!(
        incident.after,
        ["step 9", "step 10", "step 11", "step 12", "step 13"]
    );
    assert_eq!(incident.line_number, 9);
}

#[test]
fn an_incident_waits_for_its_after_lines_or_a_flush() {
    let mut classifier = Classifier::new(&phase5b()).unwrap();
    let mut out = Vec::new();
    for line in fixture("name_error").lines() {
        classifier.push(line.as_bytes(), t0(), &mut out);
    }
    assert!(incidents(&out).is_empty(), "a chain could still follow");
    classifier.flush(t0(), false, &mut out);
    assert_eq!(incidents(&out).len(), 1, "an idle flush completes it");
}

#[test]
fn a_repeat_within_a_minute_is_counted_not_reported() {
    let warning = "/x.py:1: ConvergenceWarning: lbfgs failed to converge";
    let mut classifier = Classifier::new(&phase5b()).unwrap();
    let mut out = Vec::new();
    classifier.push(warning.as_bytes(), t0(), &mut out);
    classifier.push(warning.as_bytes(), t0() + TimeDelta::seconds(30), &mut out);
    classifier.push(warning.as_bytes(), t0() + TimeDelta::seconds(61), &mut out);
    classifier.flush(t0() + TimeDelta::seconds(62), true, &mut out);
    assert_eq!(
        incidents(&out).len(),
        2,
        "reported at 0s and again after a minute"
    );
    assert!(out
        .iter()
        .any(|f| matches!(f, Finding::Repeated { count: 2, .. })));
}

#[test]
fn an_unmatched_traceback_is_uncategorized_never_dropped() {
    let log = "Traceback (most recent call last):\n  File \"model_1.py\", line 9, in <module>\nKeyboardInterrupt\n";
    let findings = classify(log);
    let incident = incidents(&findings)[0];
    assert_eq!(incident.category, "uncategorized");
    assert_eq!(incident.owner, "director");
    assert_eq!(incident.severity, IncidentSeverity::Critical);
}

#[test]
fn a_traceback_cut_off_by_the_end_of_the_stream_is_still_reported() {
    let log = "Traceback (most recent call last):\n  File \"model_1.py\", line 9, in <module>";
    let findings = classify(log);
    let incident = incidents(&findings)[0];
    assert_eq!(incident.category, "uncategorized");
    assert_eq!(incident.exception, None);
}

#[test]
fn invalid_utf8_is_replaced_not_fatal() {
    let mut log = b"epoch 1 \xff\xfe ok\nTraceback (most recent call last):\n  File \"m.py\", line 2, in <module>\nValueError: bad byte \xc3\x28 in input\n".to_vec();
    log.extend_from_slice(b"after\n");
    let findings = classify_bytes(&log);
    let incident = incidents(&findings)[0];
    assert_eq!(incident.message, "bad byte \u{fffd}( in input");
    assert_eq!(incident.before, ["epoch 1 \u{fffd}\u{fffd} ok"]);
}

#[test]
fn a_line_read_in_part_reads_as_the_whole_line_would() {
    let protocol = phase5b();
    let at = DateTime::<Utc>::UNIX_EPOCH;
    let line = vec![b'x'; 3 * MAX_LINE_BYTES];
    let tail = b"\nTraceback (most recent call last):\n  File \"m.py\", line 2, in <module>\nMemoryError\n";
    let context = |push: &dyn Fn(&mut Classifier, &mut Vec<Finding>)| {
        let mut classifier = Classifier::new(&protocol).unwrap();
        let mut out = Vec::new();
        push(&mut classifier, &mut out);
        classifier.push_chunk(&tail[1..], at, &mut out);
        classifier.flush(at, true, &mut out);
        incidents(&out)[0].before.clone()
    };
    let whole = context(&|c, out| c.push(&line, at, out));
    let in_part =
        context(&|c, out| c.push_cut(&line[..MAX_LINE_BYTES], 2 * MAX_LINE_BYTES, at, out));
    assert_eq!(whole, in_part);
    assert!(whole[0].ends_with(&format!("[…cut: {} more bytes]", 2 * MAX_LINE_BYTES)));
}

#[test]
fn a_ten_megabyte_line_is_cut_and_marked() {
    let mut log = vec![b'x'; 10 * 1024 * 1024];
    log.extend_from_slice(b"\nTraceback (most recent call last):\n  File \"m.py\", line 2, in <module>\nMemoryError\n");
    let findings = classify_bytes(&log);
    let incident = incidents(&findings)[0];
    assert_eq!(incident.category, "resource");
    let cut = &incident.before[0];
    assert!(cut.len() < MAX_LINE_BYTES + 64);
    assert!(cut.ends_with(&format!(
        "[…cut: {} more bytes]",
        10 * 1024 * 1024 - MAX_LINE_BYTES
    )));
}

#[test]
fn chunks_leave_a_partial_last_line_to_the_caller() {
    let mut classifier = Classifier::new(&phase5b()).unwrap();
    let mut out = Vec::new();
    let used = classifier.push_chunk(b"step 1\nstep 2\nTraceb", t0(), &mut out);
    assert_eq!(used, 14);
    assert_eq!(classifier.lines_read(), 2);
    let rest =
        b"Traceback (most recent call last):\n  File \"m.py\", line 1, in <module>\nNameError: x\n";
    assert_eq!(classifier.push_chunk(rest, t0(), &mut out), rest.len());
    classifier.flush(t0(), true, &mut out);
    let found = incidents(&out);
    assert_eq!(found[0].before, ["step 1", "step 2"]);
    assert_eq!(found[0].line_number, 5);
}

mod metric_rules_read_vars {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use minijinja::Value;

    use super::super::metric;
    use super::*;
    use crate::expr::DurationValue;

    /// A protocol whose one category has `rules` (metric rules), and `vars`.
    fn protocol(vars: &str, rules: &[&str]) -> Protocol {
        let rules: Vec<String> = rules
            .iter()
            .map(|r| format!("{{ metric: \"{r}\" }}"))
            .collect();
        let text = format!(
            "protocol: p\nvars: {{ {vars} }}\ncategories:\n  - {{ id: c, owner: r, severity: warning, match: [{}] }}\nstates:\n  a: {{ initial: true }}\n  b: {{ final: true }}\ntransitions: [{{ from: a, to: b, on: incident }}]\n",
            rules.join(", ")
        );
        crate::protocol::parse(Path::new("p.yaml"), text.as_bytes()).unwrap()
    }

    /// The lines of `lines` that are incidents, by number from 1.
    fn matched(classifier: &mut Classifier, lines: &[&str]) -> Vec<u64> {
        let mut out = Vec::new();
        for line in lines {
            classifier.push(line.as_bytes(), t0(), &mut out);
        }
        classifier.flush(t0(), true, &mut out);
        incidents(&out).iter().map(|i| i.line_number).collect()
    }

    fn vars(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    const NATIVE: &str = "r_hat > rhat_threshold";
    const TEMPLATE: &str = "r_hat | abs > rhat_threshold";

    #[test]
    fn the_rules_here_take_both_paths() {
        assert!(metric::compile(NATIVE).is_some());
        assert!(
            metric::compile(TEMPLATE).is_none(),
            "a filter: the template"
        );
    }

    #[test]
    fn a_var_is_the_threshold_natively_and_in_the_template() {
        for rule in [NATIVE, TEMPLATE] {
            let p = protocol("rhat_threshold: { type: number, default: 1.1 }", &[rule]);
            let run = vars(&[
                ("rhat_threshold", Value::from(1.2)),
                ("model", Value::from(3)),
            ]);
            let mut classifier = Classifier::new(&p).unwrap().with_vars(&run);
            let kept: Vec<&str> = classifier.vars.iter().map(|(k, _)| k).collect();
            assert_eq!(kept, ["rhat_threshold"], "only the vars some rule reads");
            let lines = ["r_hat=1.19", "r_hat=1.2", "r_hat=1.21", "step=3"];
            assert_eq!(matched(&mut classifier, &lines), [3], "{rule}");
            // Without a run: the default, 1.1.
            let mut classifier = Classifier::new(&p).unwrap();
            let lines = ["r_hat=1.09", "r_hat=1.1", "r_hat=1.11"];
            assert_eq!(matched(&mut classifier, &lines), [3], "{rule}");
            // No value at all: the name is undefined and the rule never holds.
            let rules = Classifier::new(&p).unwrap().rules;
            let mut classifier = Classifier::with_rules(rules);
            assert_eq!(matched(&mut classifier, &["r_hat=9"]), [0; 0], "{rule}");
        }
    }

    #[test]
    fn a_record_key_hides_a_var_of_the_same_name() {
        for rule in [NATIVE, TEMPLATE] {
            let p = protocol("rhat_threshold: { type: number, default: 1.1 }", &[rule]);
            let mut classifier = Classifier::new(&p).unwrap();
            let lines = [
                "r_hat=1.5 rhat_threshold=2",
                "r_hat=1.5",
                "r_hat=1.05 rhat_threshold=1.0",
            ];
            assert_eq!(matched(&mut classifier, &lines), [2, 3], "{rule}");
        }
    }

    #[test]
    fn a_duration_var_reads_as_its_seconds() {
        for rule in ["elapsed > timeout", "elapsed | abs > timeout"] {
            let p = protocol("timeout: { type: duration, default: 90s }", &[rule]);
            let lines = ["elapsed=89.5", "elapsed=90", "elapsed=90.5"];
            let mut classifier = Classifier::new(&p).unwrap();
            assert_eq!(matched(&mut classifier, &lines), [3], "{rule}");
            let run = vars(&[("timeout", DurationValue::value(Duration::from_secs(60)))]);
            let mut classifier = Classifier::new(&p).unwrap().with_vars(&run);
            let lines = ["elapsed=59", "elapsed=61"];
            assert_eq!(matched(&mut classifier, &lines), [2], "{rule}");
        }
        assert_eq!(
            MetricValue::from_var(&DurationValue::value(Duration::from_millis(1500))),
            MetricValue::Float(1.5)
        );
    }

    #[test]
    fn vars_read_as_plain_values_and_lists_as_none() {
        let p = protocol(
            "n: { type: integer, default: 3 }, on: { type: boolean, default: true }, \
             name: { type: string, default: m3 }, seen: { type: list, default: [a] }, \
             unset: { type: string }",
            &[
                "k == n and on",
                "k == 4 and name == 'm3'",
                "k == 5 and seen is none",
                "k == 6 and unset is defined",
            ],
        );
        let lines = ["k=3", "k=4", "k=5", "k=6"];
        let mut classifier = Classifier::new(&p).unwrap();
        assert_eq!(
            matched(&mut classifier, &lines),
            [1, 2, 3],
            "a var without a default is not there"
        );
        let run = vars(&[
            ("n", Value::from(3)),
            ("on", Value::from(true)),
            ("name", Value::from("m3")),
            ("seen", Value::from(vec!["a"])),
            ("unset", Value::from(())),
        ]);
        let mut classifier = Classifier::new(&p).unwrap().with_vars(&run);
        assert_eq!(matched(&mut classifier, &lines), [1, 2, 3, 4]);
    }
}

#[test]
fn exception_names_match_qualified_or_not() {
    assert!(exception_matches("KeyError", "KeyError"));
    assert!(exception_matches("KeyError", "builtins.KeyError"));
    assert!(!exception_matches("KeyError", "MyKeyError"));
    assert!(exception_matches(
        "torch.OutOfMemoryError",
        "torch.OutOfMemoryError"
    ));
    assert!(!exception_matches(
        "torch.OutOfMemoryError",
        "OutOfMemoryError"
    ));
}

mod native_metric_rules {
    use super::super::metric;
    use super::super::record::{MetricValue, Record};
    use proptest::prelude::*;

    /// The rules the native evaluator must agree with minijinja on.
    const RULES: &[&str] = &[
        "loss is nan or loss is infinite",
        "loss is infinite or loss is nan",
        "loss is nan or auroc is infinite",
        "(loss is nan or loss is infinite) == false",
        "auroc >= 1.0",
        "r_hat > 1.1",
        "train_loss == 0",
        "val_loss - train_loss > 0.1",
        "core_lr_auc > 0.8",
        "not (r_hat < 1.05) and ess is defined",
        "loss is not finite",
        "-loss > 2 or train_loss * 2 == 3 or auroc / loss < 0.5",
        "level == 'ERROR' or level != 'INFO'",
        "r_hat is undefined",
        "loss == true",
        // Vars, which records may hide.
        "r_hat > rhat_threshold",
        "rhat_threshold < r_hat",
        "1.0 <= auroc",
        "0 != train_loss",
        "loss < limit or level == mode",
        "not (r_hat <= rhat_threshold) and limit is defined",
    ];

    fn template_holds(rule: &str, record: &Record, vars: &Record) -> bool {
        let env = crate::expr::environment();
        let context = super::super::record::to_value_over(record, vars);
        env.render_str(&format!("{{% if {rule} %}}1{{% endif %}}"), context)
            .is_ok_and(|out| out == "1")
    }

    fn value() -> impl Strategy<Value = MetricValue> {
        prop_oneof![
            Just(MetricValue::Float(f64::NAN)),
            Just(MetricValue::Float(f64::INFINITY)),
            Just(MetricValue::Float(f64::NEG_INFINITY)),
            Just(MetricValue::Int(0)),
            Just(MetricValue::Int(1)),
            Just(MetricValue::Bool(true)),
            Just(MetricValue::Null),
            Just(MetricValue::Text("INFO".into())),
            Just(MetricValue::Text("ERROR".into())),
            (-3.0f64..3.0).prop_map(MetricValue::Float),
            (-5i64..5).prop_map(MetricValue::Int),
        ]
    }

    fn record() -> impl Strategy<Value = Record> {
        let keys = [
            "loss",
            "auroc",
            "r_hat",
            "train_loss",
            "val_loss",
            "core_lr_auc",
            "ess",
            "level",
            "limit",
        ];
        pairs(&keys, 0..8)
    }

    /// A run's vars: some of them keys that records have too.
    fn vars() -> impl Strategy<Value = Record> {
        pairs(&["rhat_threshold", "limit", "mode", "r_hat", "level"], 0..5)
    }

    fn pairs(keys: &[&'static str], len: std::ops::Range<usize>) -> impl Strategy<Value = Record> {
        proptest::collection::vec((proptest::sample::select(keys.to_vec()), value()), len)
            .prop_map(|pairs| pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    #[test]
    fn every_phase5b_and_test_rule_compiles_natively() {
        for rule in RULES {
            assert!(metric::compile(rule).is_some(), "{rule}");
        }
        assert!(
            metric::compile("x | abs > 1").is_none(),
            "filters go to the template"
        );
    }

    #[test]
    fn a_name_asked_for_nan_or_infinite_is_one_test() {
        for rule in [
            "loss is nan or loss is infinite",
            "loss is infinite or loss is nan",
        ] {
            let node = metric::compile(rule).unwrap();
            assert!(
                matches!(node, metric::Node::Test(metric::Test::NanOrInfinite, _)),
                "{rule}: {node:?}"
            );
        }
        for rule in [
            "loss is nan or auroc is infinite",
            "loss is nan or loss is nan",
        ] {
            let node = metric::compile(rule).unwrap();
            assert!(matches!(node, metric::Node::Binary(..)), "{rule}: {node:?}");
        }
    }

    #[test]
    fn nan_equals_nothing_natively_as_in_templates() {
        let record: Record = [
            ("a", MetricValue::Float(f64::NAN)),
            ("b", MetricValue::Float(f64::NAN)),
        ]
        .into_iter()
        .collect();
        for (rule, holds) in [("a == b", false), ("a != b", true), ("a <= b", true)] {
            let node = metric::compile(rule).unwrap();
            assert_eq!(
                metric::holds(&node, record.view(), &Record::new()),
                Some(holds),
                "{rule}"
            );
            assert_eq!(
                template_holds(rule, &record, &Record::new()),
                holds,
                "{rule}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn native_and_template_agree(record in record(), vars in vars()) {
            for rule in RULES {
                let node = metric::compile(rule).unwrap();
                // `None`: the native evaluator hands this record to the template.
                if let Some(answer) = metric::holds(&node, record.view(), &vars) {
                    prop_assert_eq!(
                        answer,
                        template_holds(rule, &record, &vars),
                        "{} on {:?} over {:?}",
                        rule,
                        record,
                        vars
                    );
                }
            }
        }

        /// A rule bound to a record's keys and the vars ([`metric::bind`]), as a shape's facts
        /// hold it, answers as the rule does for that record: its names found by their places,
        /// the vars read once. An `each` rule's too, bound to the vars alone.
        #[test]
        fn a_rule_bound_to_the_keys_answers_as_the_rule(record in record(), vars in vars()) {
            let keys: Vec<&str> = record.keys().collect();
            for rule in RULES {
                let node = metric::compile(rule).unwrap();
                let bound = metric::bind(&node, &keys, &vars);
                let answer = metric::holds(&node, record.view(), &vars);
                prop_assert_eq!(
                    metric::holds(&bound, record.view(), &vars),
                    answer,
                    "{} on {:?} over {:?}", rule, record, vars
                );
                // Asked in its quick form, when it has one and that can tell.
                let quick = metric::quick(&bound)
                    .and_then(|quick| metric::quick_holds(quick, record.view(), None));
                if quick.is_some() {
                    prop_assert_eq!(quick, answer, "{} on {:?} over {:?}, quick", rule, record, vars);
                }
                let each = metric::compile_each(rule).unwrap();
                let bound = metric::bind(&each, &[], &vars);
                for (key, value) in record.view().lazy_iter() {
                    let answer = metric::holds_each(&each, key, value, &vars);
                    prop_assert_eq!(
                        metric::holds_each(&bound, key, value, &vars),
                        answer,
                        "{} for {} over {:?}", rule, key, vars
                    );
                    let quick = metric::quick(&bound)
                        .and_then(|quick| metric::quick_holds(quick, record.view(), Some(value)));
                    if quick.is_some() {
                        prop_assert_eq!(quick, answer, "{} for {} over {:?}, quick", rule, key, vars);
                    }
                }
            }
        }

        /// A record without a name a rule cannot hold without (the vars lacking it too) is
        /// not asked: neither evaluator would say it holds.
        #[test]
        fn a_rule_does_not_hold_without_a_name_it_needs(record in record(), vars in vars()) {
            for rule in RULES {
                let node = metric::compile(rule).unwrap();
                let missing = metric::needed(&node)
                    .into_iter()
                    .any(|n| !record.contains_key(n) && !vars.contains_key(n));
                if missing {
                    prop_assert_ne!(metric::holds(&node, record.view(), &vars), Some(true), "{}", rule);
                    prop_assert!(!template_holds(rule, &record, &vars), "{}", rule);
                }
            }
        }
    }

    #[test]
    fn the_names_a_rule_needs() {
        for (rule, needed) in [
            ("r_hat > rhat_threshold", &["r_hat", "rhat_threshold"][..]),
            ("loss is nan or loss is infinite", &["loss"]),
            ("r_hat is undefined", &[]),
            ("not (r_hat < 1.05) and ess is defined", &["ess", "r_hat"]),
            ("loss < limit or level == mode", &[]),
            ("a > 1 or a < -1", &["a"]),
        ] {
            let node = metric::compile(rule).unwrap();
            assert_eq!(metric::needed(&node), needed, "{rule}");
        }
    }
}

/// A log of the corpus (`tests/corpus/GROUP/CASE/output.log`): real output of a library.
fn corpus(case: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/corpus")
        .join(case)
        .join("output.log");
    std::fs::read(path).unwrap()
}

/// What a classifier finds in `log` read as one chunk, then the stream's end.
fn classify_chunk(log: &[u8]) -> Vec<Finding> {
    let mut classifier = Classifier::new(&phase5b()).unwrap();
    let mut out = Vec::new();
    let used = classifier.push_chunk(log, t0(), &mut out);
    if used < log.len() {
        classifier.push(&log[used..], t0(), &mut out);
    }
    classifier.flush(t0(), true, &mut out);
    out
}

#[test]
fn a_traceback_after_a_progress_bar_redraw_is_found_and_lines_count_line_breaks() {
    let log = b"epoch 1:  10%|#  | loss=2.70\repoch 1:  50%|## | loss=2.61]Traceback (most recent call last):\n  File \"t.py\", line 3, in <module>\nAttributeError: 'X' object has no attribute 'y'\nnext\r\n";
    let findings = classify_chunk(log);
    let found = incidents(&findings);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].category, "implementation");
    assert_eq!(found[0].exception.as_deref(), Some("AttributeError"));
    assert_eq!(
        found[0].line_number, 3,
        "a \\r does not start a new line number"
    );
    assert_eq!(found[0].before, ["epoch 1:  10%|#  | loss=2.70"]);
    assert_eq!(found[0].after, ["next"], "\\r\\n is one line end");
}

#[test]
fn a_wrapped_remote_traceback_is_one_incident_carrying_its_root_cause() {
    let findings = classify_chunk(&corpus("tabular/sklearn_gridsearch_loky_remote_traceback"));
    let found = incidents(&findings);
    assert_eq!(found.len(), 1, "{found:#?}");
    let incident = found[0];
    assert_eq!(incident.exception.as_deref(), Some("ValueError"));
    assert!(incident.message.starts_with("Solver lbfgs supports only"));
    assert_eq!(incident.chain.len(), 2);
    assert_eq!(
        incident.line_number, 70,
        "the line that ended the traceback"
    );
}

#[test]
fn an_exception_whose_message_starts_on_the_next_line_is_not_empty() {
    let log = "Traceback (most recent call last):\n  File \"cv.py\", line 9, in <module>\nValueError: \nAll the 5 fits failed.\nIt is very likely that your model is misconfigured.\n";
    let found = classify(log);
    let incident = incidents(&found)[0];
    assert_eq!(incident.message, "All the 5 fits failed.");
}

#[test]
fn an_error_logged_just_before_its_traceback_is_that_traceback() {
    let findings = classify_chunk(&corpus("tabular/logging_exception_feature_count_mismatch"));
    let found = incidents(&findings);
    assert_eq!(found[0].category, "data", "{found:#?}");
    assert!(found[0]
        .exception
        .as_deref()
        .is_some_and(|e| e.ends_with("LightGBMError")));
    assert!(
        !found
            .iter()
            .any(|i| i.message.starts_with("holdout evaluation failed")),
        "the ERROR line is the traceback's, not an incident of its own"
    );
}

#[test]
fn errors_reported_in_words_are_classified_by_their_message() {
    let log = "timestamp=2026-01-19T15:34:15.456 level=ERROR message=\"AttributeError: 'TensorVariable' object has no attribute 'logp'\"\n\
               timestamp=2026-01-19T15:34:15.457 level=ERROR line=45\n\
               Model 3 Failed: 'Model3Config' object has no attribute 'n_sports'\n";
    let findings = classify(log);
    let found = incidents(&findings);
    let seen: Vec<(&str, Option<&str>)> = found
        .iter()
        .map(|i| (i.category.as_str(), i.exception.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("implementation", Some("AttributeError")),
            ("implementation", None)
        ],
        "an ERROR record without a message is context, not an incident"
    );
    assert_eq!(
        found[1].message,
        "'Model3Config' object has no attribute 'n_sports'"
    );
}

#[test]
fn metrics_are_read_out_of_free_text_for_the_keys_rules_read() {
    let log = "epoch 1 loss=0.93 lr=0.01\nepoch 2 loss=inf lr=0.01\nthe loss was high and nan words are prose\n";
    let findings = classify(log);
    let found = incidents(&findings);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].category, "convergence");
    assert_eq!(found[0].message, "loss = inf");
    assert_eq!(found[0].line_number, 2);
}

#[test]
fn a_summary_table_is_one_incident_its_other_rows_counted() {
    let findings = classify_chunk(&corpus("bayes/numpyro_funnel_unconverged"));
    let found = incidents(&findings);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].category, "convergence");
    assert_eq!(found[0].message, "r_hat = 1.21 (tau)");
    let divergences = findings.iter().find_map(|f| match f {
        Finding::Metric { record, .. } => record.get("divergences").cloned(),
        _ => None,
    });
    assert_eq!(
        divergences,
        Some(MetricValue::Int(8)),
        "read for the gate that checks it"
    );
}

#[test]
fn the_same_error_from_a_new_process_is_a_new_incident() {
    let warning = "/x.py:1: ConvergenceWarning: lbfgs failed to converge";
    let mut classifier = Classifier::new(&phase5b()).unwrap();
    let mut out = Vec::new();
    classifier.push(warning.as_bytes(), t0(), &mut out);
    classifier.new_process();
    classifier.push(warning.as_bytes(), t0() + TimeDelta::seconds(5), &mut out);
    classifier.flush(t0() + TimeDelta::seconds(6), true, &mut out);
    assert_eq!(
        incidents(&out).len(),
        2,
        "a retry that fails again is reported"
    );
}

#[test]
fn how_the_job_ended_is_classified_by_the_exit_rules() {
    let classifier = Classifier::new(&phase5b()).unwrap();
    let rules = &classifier.rules;
    let category = |code: Option<i32>, signal: Option<i32>| {
        rules
            .exit_incident(code, signal, None, Some("last"), t0())
            .map(|i| (i.category, i.message))
    };
    assert_eq!(
        category(None, Some(9)),
        Some((
            "resource".into(),
            "the job was killed by signal 9 (SIGKILL)".into()
        ))
    );
    assert_eq!(
        category(Some(137), None).unwrap().0,
        "resource",
        "as a shell or Slurm reports it"
    );
    assert_eq!(category(Some(139), None).unwrap().0, "implementation");
    assert_eq!(category(None, Some(11)).unwrap().0, "implementation");
    assert_eq!(category(Some(2), None), None, "no rule names exit code 2");
    assert_eq!(category(Some(0), None), None);
}

#[test]
fn an_exception_no_rule_matches_goes_to_the_catch_all_category() {
    let log = "Traceback (most recent call last):\n  File \"t.py\", line 3, in <module>\nxgboost.core.XGBoostError: [10:00:00] src/learner.cc:123: Check failed: something\n";
    let incident = incidents(&classify(log))[0].clone();
    assert_eq!(incident.category, "implementation");
    let weak = "Traceback (most recent call last):\n  File \"t.py\", line 3, in <module>\nOSError: [Errno 5] Input/output error\n";
    let incident = incidents(&classify(weak))[0].clone();
    assert_eq!(
        incident.category, "uncategorized",
        "too weak for a category"
    );
}

#[test]
fn a_loggers_error_records_are_reports_and_the_word_error_in_prose_is_not() {
    let reports = [
        "ERROR:root:training failed",
        "2026-01-19 15:34:15,456 - train - ERROR - training failed",
        "2026-01-19 15:34:15,456 ERROR training failed",
        "[2026-01-19 15:34:15] trainer CRITICAL training failed",
        "[ERROR] training failed",
        "ERROR: training failed",
    ];
    for line in reports {
        let found = classify(line);
        let found = incidents(&found);
        assert_eq!(found.len(), 1, "{line}");
        assert_eq!(found[0].message, "training failed", "{line}");
    }
    for line in [
        "Epoch 1 ERROR rate 0.1 improved",
        "validation_0-error:0.12",
        "mean squared error: 0.3",
        "E0000 00:00:1796177945.631836 cuda_driver.cc:282] failed call to cuInit",
    ] {
        assert!(incidents(&classify(line)).is_empty(), "{line}");
    }
}

/// The lines passed over in blocks by [`Classifier::push_lines`] change nothing: a feed that
/// reads whole blocks (no echo) gives what a feed that reads every line on its own (echoing
/// them) gives, and a classifier given chunks what one given each line finds, on generated
/// logs of every kind of line the rules read, ended by `\n`, `\r` and `\r\n`, in any chunks.
mod passing_over {
    use super::*;
    use proptest::prelude::*;

    const LINES: &[&[u8]] = &[
        b"step=12 epoch=1 loss=0.5 lr=3.0e-4",
        b"step=13 loss=nan lr=3.0e-4",
        // Of the first line's shape, a traceback header in a value.
        b"step=14 epoch=1 loss=0.5 lr=\"Traceback (most recent call last):\"",
        b"{\"timestamp\": 1768836852.5, \"epoch\": 3, \"loss\": 0.25, \"r_hat\": 1.0}",
        b"{\"timestamp\": 1768836912.5, \"epoch\": 4, \"loss\": 0.25, \"r_hat\": 1.3}",
        b"{\"level\": \"ERROR\", \"message\": \"the loader died\"}",
        b"2026-01-19 12:00:00,123 - train - INFO - Evaluating batch 3/400 of the validation set",
        b"2026-01-19 12:00:01,123 - train - INFO - Saved checkpoint",
        b"2026-01-19 12:00:02,123 - train - ERROR - the loader died",
        b"Traceback (most recent call last):",
        b"  File \"model.py\", line 3, in <module>",
        b"AttributeError: 'X' object has no attribute 'y'",
        b"During handling of the above exception, another exception occurred:",
        b"There were 12 divergences after tuning. Increase `target_accept`.",
        b"Epoch 1: 100%|##| 2/2 [00:00<00:00, train_loss=inf.0, val_loss=nan.0]",
        b"Monitored metric Val_Loss = nan is not finite",
        b"                mean       std     r_hat",
        b"        mu      4.36      3.23      1.53",
        b"Number of divergences: 113",
        b"naive INFO line without anything",
        "na\u{ef}ve INFO line \u{2713}".as_bytes(),
        "The lo\u{17f}s is nan".as_bytes(),
        b"\xff\xfe not UTF-8 \xc3",
        b"",
        b"   ",
        b"Sampling 4 chains for 1_000 tune and 1_000 draw iterations",
    ];

    fn log() -> impl Strategy<Value = Vec<u8>> {
        let line = (0..LINES.len() + 1, 0..3usize);
        proptest::collection::vec(line, 0..60).prop_map(|lines| {
            let mut log = Vec::new();
            for (index, end) in lines {
                match LINES.get(index) {
                    Some(line) => log.extend_from_slice(line),
                    // A line cut for its length, a key past the cut.
                    None => {
                        log.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 10));
                        log.extend_from_slice(b" cut: 3");
                    }
                }
                log.extend_from_slice([&b"\n"[..], b"\r", b"\r\n"][end]);
            }
            log
        })
    }

    /// Phase 5B's machine and a run of it started, made once.
    fn run() -> &'static (crate::machine::Machine, crate::machine::Instance) {
        static RUN: std::sync::OnceLock<(crate::machine::Machine, crate::machine::Instance)> =
            std::sync::OnceLock::new();
        RUN.get_or_init(|| {
            let protocol = phase5b();
            let (templates, _) = crate::protocol::load_templates(&protocol);
            let machine = crate::machine::Machine::new(protocol, &templates).unwrap();
            let vars = BTreeMap::from([("model".to_owned(), serde_json::json!(1))]);
            let instance = machine.start("p", &vars, t0()).unwrap().instance;
            (machine, instance)
        })
    }

    /// A classifier of Phase 5B's rules, compiled once.
    fn classifier() -> Classifier {
        Classifier::with_rules(run().0.rules().clone()).with_vars(&run().1.vars)
    }

    fn feed(echo: bool, log: &[u8], chunk: usize) -> (Vec<String>, u64) {
        let (machine, instance) = run();
        let mut feed = Feed::new(machine.rules(), &instance.vars, 1);
        feed.set_cadence(machine.cadence(instance));
        let mut out = Vec::new();
        let mut echoed = |_: &str| {};
        let mut at = t0();
        for chunk in log.chunks(chunk) {
            let echo = echo.then_some(&mut echoed as &mut dyn FnMut(&str));
            feed.read(0, chunk, at, &mut out, echo);
            at += TimeDelta::seconds(1);
        }
        feed.quiet(0, at, &mut out);
        feed.facts(&mut out);
        let echo = echo.then_some(&mut echoed as &mut dyn FnMut(&str));
        feed.end(0, at, &mut out, echo);
        feed.facts(&mut out);
        let shown = out.iter().map(|fed| format!("{fed:?}")).collect();
        (shown, feed.lines_read(0))
    }

    /// What a classifier finds in `log` given in chunks of `chunk` bytes, all at one time
    /// (as the lines of a chunk are).
    fn by_chunks(log: &[u8], chunk: usize) -> Vec<String> {
        let mut classifier = classifier();
        let mut out = Vec::new();
        let mut carry = Vec::new();
        for chunk in log.chunks(chunk) {
            carry.extend_from_slice(chunk);
            let used = classifier.push_chunk(&carry, t0(), &mut out);
            carry.drain(..used);
        }
        assert!(carry.is_empty(), "every generated line ends");
        classifier.flush(t0(), true, &mut out);
        merged(out).iter().map(|f| format!("{f:?}")).collect()
    }

    /// What a classifier finds in `log` given each line on its own.
    fn by_lines(log: &[u8]) -> Vec<String> {
        let mut classifier = classifier();
        let mut out = Vec::new();
        let mut start = 0;
        for end in memchr::memchr2_iter(b'\n', b'\r', log) {
            classifier.push_line(&log[start..end], None, log[end] == b'\r', t0(), &mut out);
            start = end + 1;
        }
        classifier.flush(t0(), true, &mut out);
        merged(out).iter().map(|f| format!("{f:?}")).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn a_feed_reading_blocks_gives_what_one_reading_lines_gives(
            log in log(),
            chunk in 1..400usize,
        ) {
            prop_assert_eq!(feed(false, &log, chunk), feed(true, &log, chunk));
        }

        #[test]
        fn a_classifier_given_chunks_finds_what_one_given_lines_finds(
            log in log(),
            chunk in 1..400usize,
        ) {
            prop_assert_eq!(by_chunks(&log, chunk), by_lines(&log));
        }
    }

    proptest! {
        /// The vectorized search for candidate lines finds the line the lazy DFA finds: the
        /// first that holds a literal, in any ASCII case, wherever the literals fall among the
        /// windows it searches (logs of a few to some thousands of bytes).
        #[test]
        fn the_vectorized_candidate_search_finds_the_line_the_dfa_finds(
            parts in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "", "\n", "x", " - INFO - saved ", "Loss", "LOSS", "lo", "ss", "=",
                        "{", "r_Hat", "ERROR ", "error ", "Traceback (most recent call last):",
                        "The rhat statistic is larger than", "ut-of-support values", "reache",
                    ]),
                    0..300usize,
                ),
                0..40,
            ),
        ) {
            let candidates = classifier().rules.candidates.clone().unwrap();
            let mut haystack = Vec::new();
            for (part, filler) in parts {
                haystack.extend_from_slice(part.as_bytes());
                haystack.extend(std::iter::repeat_n(b'.', filler % 7 * filler));
            }
            let line_of = |end: Option<usize>| {
                end.map(|end| {
                    memchr::memrchr(b'\n', &haystack[..end.saturating_sub(1)]).map_or(0, |at| at + 1)
                })
            };
            let mut cache = candidates.cache();
            let fast = line_of(candidates.first_end(&mut cache, &haystack));
            let dfa = line_of(candidates.first_end_by_dfa(&mut cache, &haystack));
            prop_assert_eq!(fast, dfa, "{:?}", String::from_utf8_lossy(&haystack));
        }
    }

    #[test]
    fn phase5b_has_a_block_search() {
        let classifier = classifier();
        assert!(
            classifier.rules.candidates.is_some(),
            "every rule of Phase 5B has literals: its lines are passed over in blocks"
        );
        assert!(
            classifier
                .rules
                .candidates
                .as_ref()
                .unwrap()
                .is_vectorized()
                || !cfg!(any(target_arch = "x86_64", target_arch = "aarch64")),
            "Phase 5B's literals are searched for by Teddy"
        );
        // Lines of nothing a rule reads are read in one go.
        let log = [LINES[6], LINES[7], LINES[19]].join(&b'\n');
        let mut log = log;
        log.push(b'\n');
        let mut out = Vec::new();
        let mut c = classifier.clone();
        assert_eq!(c.push_lines(&log, t0(), &mut out), log.len());
        assert_eq!(c.lines_read(), 3);
        assert!(out.is_empty());
    }
}

mod each_rules_remember_shapes {
    use super::super::record;
    use super::*;

    fn classifier() -> Classifier {
        let text = "protocol: p\ncategories:\n  - { id: a, owner: r, severity: warning, match: [{ metric: \"value > 1\", each: \"*loss*\" }] }\n  - { id: b, owner: r, severity: warning, match: [{ metric: \"step > 5\" }, { metric: \"value < 0\", each: \"*acc?\" }, { metric: \"value == 7\", each: \"l*\" }] }\nstates:\n  a: { initial: true }\n  b: { final: true }\ntransitions: [{ from: a, to: b, on: incident }]\n";
        let protocol = crate::protocol::parse(Path::new("p.yaml"), text.as_bytes()).unwrap();
        Classifier::new(&protocol).unwrap()
    }

    proptest::proptest! {
        /// What a classifier remembers of a shape of keys is what the rules make of the keys
        /// anew, and the rules answer the same with either: lines of a dozen shapes (more than
        /// are remembered) of keys that share a length and letters, the stamp key among some.
        #[test]
        fn a_remembered_shape_is_what_its_keys_are_to_the_rules(
            shapes in proptest::collection::vec(
                proptest::collection::vec(
                    "(loss|lxss|lass|val_loss|acc1|accx|step|l|lr|LOSS|xacc9)",
                    1..6,
                ),
                12,
            ),
            lines in proptest::collection::vec((0..12usize, "(-1|0|2|7|x)"), 1..60),
        ) {
            let mut classifier = classifier();
            classifier.set_stamp(Some("step"));
            let rules = classifier.rules.clone();
            let mut remembered_once = false;
            for (n, (shape, value)) in lines.iter().enumerate() {
                let line = shapes[*shape]
                    .iter()
                    .map(|k| format!("{k}={value}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                let record = record::parse(&line).expect("a record");
                let mut keys = Vec::new();
                super::super::latest::shape_of(record.keys(), &mut keys);
                let vars = classifier.vars.clone();
                let anew = rules.key_facts(record.view(), Some("step"), &vars);
                let at = classifier.latest.find(&keys);
                if let Some(remembered) = at.and_then(|at| classifier.latest.take_facts(at)) {
                    remembered_once = true;
                    proptest::prop_assert_eq!(&remembered, &anew, "{}", line);
                    let found = |facts| rules.match_metric(record.view(), facts, &vars);
                    proptest::prop_assert_eq!(
                        found(&remembered).map(|m| (m.class.0, m.read)),
                        found(&anew).map(|m| (m.class.0, m.read)),
                        "{}", line
                    );
                }
                classifier.latest.add_line(&line, at, &keys, anew, n as u64 + 1);
            }
            // A shape met again is remembered, unless a dozen others came between.
            let again = lines.windows(2).any(|w| w[0].0 == w[1].0);
            proptest::prop_assert!(remembered_once || !again);
        }
    }
}

#[test]
fn a_long_traceback_keeps_its_ends_and_is_classified_by_every_line() {
    use super::{HEAD_LINES, TAIL_LINES};
    let frames = |count: usize, at: usize| {
        let mut log = String::from("Traceback (most recent call last):\n");
        for i in 0..count {
            let file = if i == at {
                "/venv/lib/torch/utils/data/_utils/fetch.py"
            } else {
                "model_1.py"
            };
            log.push_str(&format!(
                "  File \"{file}\", line {i}, in f\n    return f(x)\n"
            ));
        }
        log + "KeyError: 'Gold'\n"
    };
    // The frame of the DataLoader's fetch is what tells the rule's category: read in a short
    // traceback, and left out of the middle of a long one.
    let short = classify(&frames(3, 1));
    let long = classify(&frames(5_000, 1_000));
    let (short, long) = (incidents(&short)[0], incidents(&long)[0]);
    assert_eq!(long.category, short.category);
    assert_ne!(
        long.category,
        incidents(&classify(&frames(3, 9)))[0].category
    );
    assert_eq!(long.traceback.len(), HEAD_LINES + 1 + TAIL_LINES);
    assert_eq!(long.traceback[0], "Traceback (most recent call last):");
    assert_eq!(
        long.traceback[HEAD_LINES],
        "    [... 9502 lines of the traceback left out ...]"
    );
    assert_eq!(long.traceback.last().unwrap(), "KeyError: 'Gold'");
    assert_eq!(
        (long.exception.as_deref(), long.line_number),
        (Some("KeyError"), 10_002)
    );
}

#[test]
fn a_long_chain_keeps_its_ends_and_is_classified_by_every_exception() {
    use super::{HEAD_RAISED, TAIL_RAISED};
    // `count` exceptions, the one at `at` raised as `one`, the others as `other`.
    let written = |count: usize, at: usize, one: &str, other: &str| {
        let mut log = String::new();
        for i in 0..count {
            let raised = if i == at { one } else { other };
            log.push_str("Traceback (most recent call last):\n  File \"/venv/lib/pandas/core/frame.py\", line 9, in f\n");
            log.push_str(&format!("{raised}\n"));
            if i + 1 < count {
                log.push_str(
                    "\nDuring handling of the above exception, another exception occurred:\n\n",
                );
            }
        }
        log
    };
    let chain = |count, at| written(count, at, "KeyError: 'Gold'", "OSError: again");
    // Phase 5B reads a KeyError raised in pandas as a data error: the KeyError is read in a
    // short chain, and left out of the middle of a long one.
    let short = classify(&chain(3, 1));
    let long = classify(&chain(1_000, 500));
    let (short, long) = (incidents(&short)[0], incidents(&long)[0]);
    assert_eq!(long.category, short.category);
    assert_ne!(
        long.category,
        incidents(&classify(&chain(3, 9)))[0].category
    );
    assert_eq!(long.chain.len(), HEAD_RAISED + 1 + TAIL_RAISED);
    assert_eq!(
        long.chain[HEAD_RAISED].message,
        "[... 900 exceptions of the chain left out ...]"
    );
    assert_eq!(
        long.chain.last().unwrap().exception.as_deref(),
        Some("OSError")
    );
    // An exception of a type no rule names is the catch-all's; a chain with none of a type is
    // uncategorized. Left out, the typed one still counts.
    let typed = |count, at| {
        let log = written(count, at, "WeirdError: x", "the worker stopped");
        incidents(&classify(&log))[0].category.clone()
    };
    assert_eq!(typed(1_000, 500), typed(3, 1));
    assert_ne!(typed(3, 1), "uncategorized");
    assert_eq!(typed(1_000, 1_000), "uncategorized");
}

/// The context ring gives the last five lines read, the oldest first, before and after it
/// wraps around.
#[test]
fn the_context_ring_keeps_the_last_five_lines_in_order() {
    let mut recent = super::Recent::default();
    assert!(recent.lines().is_empty());
    for n in 1..=3 {
        recent.push(&format!("line {n}"));
    }
    assert_eq!(recent.lines(), ["line 1", "line 2", "line 3"]);
    for n in 4..=12 {
        recent.push(&format!("line {n}"));
    }
    assert_eq!(
        recent.lines(),
        ["line 8", "line 9", "line 10", "line 11", "line 12"]
    );
}

/// A traceback rule's or an `error_lines` pattern is compiled when it is first asked, but one
/// that is no regular expression is an error when the classifier is made, as the regex crate
/// words it.
#[test]
fn a_bad_pattern_is_an_error_when_the_classifier_is_made() {
    let protocol = |rule: &str, error_lines: &str| {
        format!(
            "protocol: p\n{error_lines}categories:\n  - {{ id: a, owner: r, severity: warning, match: [{rule}] }}\nstates:\n  a: {{ initial: true }}\n  b: {{ final: true }}\ntransitions: [{{ from: a, to: b, on: incident }}]\n"
        )
    };
    // The pattern is bad on purpose.
    #[allow(clippy::invalid_regex)]
    let expected = regex::Regex::new("(unclosed").unwrap_err().to_string();
    for text in [
        protocol("{ message: \"(unclosed\" }", ""),
        protocol("{ traceback: \"(unclosed\" }", ""),
        protocol("{ line: \"x\" }", "error_lines: [\"(unclosed\"]\n"),
    ] {
        let protocol = crate::protocol::parse(Path::new("p.yaml"), text.as_bytes()).unwrap();
        match Classifier::new(&protocol) {
            Err(ClassifyError::Regex { source, .. }) => {
                assert_eq!(source.to_string(), expected, "{text}");
            }
            Err(other) => panic!("{text}: {other}"),
            Ok(_) => panic!("{text}: a bad pattern was taken"),
        }
    }
    // A good one is compiled when asked, and read as before.
    let text = protocol(
        "{ exception: ValueError, message: \"(?i)bad (input|value)\" }",
        "",
    );
    let protocol = crate::protocol::parse(Path::new("p.yaml"), text.as_bytes()).unwrap();
    let mut classifier = Classifier::new(&protocol).unwrap();
    let mut out = Vec::new();
    let log = b"Traceback (most recent call last):\n  File \"t.py\", line 1, in <module>\nValueError: Bad Value here\n";
    classifier.push_chunk(log, t0(), &mut out);
    classifier.flush(t0(), true, &mut out);
    let categories: Vec<&str> = out
        .iter()
        .filter_map(|f| match f {
            Finding::Incident(incident) => Some(incident.category.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(categories, ["a"]);
}

/// A line two line rules match is the first one's, as the rules are written; each rule's
/// pattern is compiled when first asked, and a line only the second matches is the second's.
#[test]
fn a_line_two_line_rules_match_is_the_first_rules() {
    let text = "protocol: p\ncategories:\n  - { id: first, owner: r, severity: warning, match: [{ line: \"disk (full|quota)\" }] }\n  - { id: second, owner: r, severity: warning, match: [{ line: \"quota exceeded\" }] }\nstates:\n  a: { initial: true }\n  b: { final: true }\ntransitions: [{ from: a, to: b, on: incident }]\n";
    let protocol = crate::protocol::parse(Path::new("p.yaml"), text.as_bytes()).unwrap();
    let categories = |log: &[u8]| {
        let mut classifier = Classifier::new(&protocol).unwrap();
        let mut out = Vec::new();
        classifier.push_chunk(log, t0(), &mut out);
        classifier.flush(t0(), true, &mut out);
        out.into_iter()
            .filter_map(|f| match f {
                Finding::Incident(incident) => Some(incident.category),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        categories(b"warning: disk quota exceeded on /data\n"),
        ["first"]
    );
    assert_eq!(
        categories(b"warning: inode quota exceeded on /data\n"),
        ["second"]
    );
    assert!(categories(b"all is well\n").is_empty());
}

/// The metrics gates and guards read are read out of text too: an attribute or a quoted key
/// of `metrics`, not a name that only ends with `metrics`.
#[test]
fn the_metrics_expressions_read_are_found_by_attribute_and_by_key() {
    let names = super::rules::metrics_read_by_expressions(&phase5b());
    assert!(names.contains("divergences"), "{names:?}");
    let text = "protocol: p\nstates:\n  a: { initial: true }\n  b: { final: true }\ntransitions:\n  - { from: a, to: b, on: incident, if: \"metrics['r_hat'] < 1.01 and metrics.ess_bulk > 400 and my_metrics.loss > 1 and metrics.lr9 is defined\" }\n";
    let protocol = crate::protocol::parse(Path::new("p.yaml"), text.as_bytes()).unwrap();
    let names = super::rules::metrics_read_by_expressions(&protocol);
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["ess_bulk", "lr9", "r_hat"]
    );
}
