//! The template context of a transition, built from an instance: the names `context.rs` at the
//! crate root defines, with times in ISO 8601 UTC and durations as duration values.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use minijinja::value::{Enumerator, Object, ObjectExt, ObjectRepr, Value};

use super::instance::{HistoryEntry, Instance};
use crate::expr::DurationValue;

/// A time as templates see it: `2026-01-19T15:34:12Z`.
pub fn time(at: DateTime<Utc>) -> Value {
    Value::from(at.to_rfc3339_opts(SecondsFormat::Secs, true))
}

fn since(start: DateTime<Utc>, now: DateTime<Utc>) -> Value {
    DurationValue::value((now - start).to_std().unwrap_or_default())
}

/// An incident in a template: its fields, times as text, its record with NaN kept.
pub fn incident(incident: &crate::classify::Incident) -> Value {
    let mut value: BTreeMap<String, Value> = BTreeMap::new();
    let text = |s: &Option<String>| s.as_deref().map_or(Value::from(()), Value::from);
    // Values, not strings: iterating a list of strings makes a value of each line every time.
    let lines = |lines: &[String]| {
        Value::from(
            lines
                .iter()
                .map(|line| Value::from(line.as_str()))
                .collect::<Vec<_>>(),
        )
    };
    value.insert("category".into(), Value::from(incident.category.as_str()));
    value.insert("owner".into(), Value::from(incident.owner.as_str()));
    value.insert("severity".into(), Value::from(incident.severity.as_str()));
    value.insert("action".into(), text(&incident.action));
    value.insert("exception".into(), text(&incident.exception));
    value.insert("message".into(), Value::from(incident.message.as_str()));
    value.insert("line".into(), Value::from(incident.line.as_str()));
    value.insert("line_number".into(), Value::from(incident.line_number));
    value.insert("file".into(), text(&incident.file));
    value.insert(
        "code_line".into(),
        incident.code_line.map_or(Value::from(()), Value::from),
    );
    value.insert("before".into(), lines(&incident.before));
    value.insert("after".into(), lines(&incident.after));
    value.insert("traceback".into(), lines(&incident.traceback));
    value.insert(
        "metric".into(),
        incident
            .metric
            .as_ref()
            .map_or(Value::from(()), crate::classify::record_value),
    );
    value.insert("count".into(), Value::from(incident.count));
    value.insert("first_seen".into(), time(incident.first_seen));
    value.insert("last_seen".into(), time(incident.last_seen));
    value.insert("gate".into(), text(&incident.gate));
    Value::from(value)
}

/// `job`, read lazily: a guard on `job.exit_code` does not format the start time.
#[derive(Debug)]
struct JobView {
    job: Arc<super::instance::JobFacts>,
    restarts: u64,
    now: DateTime<Utc>,
}

impl JobView {
    const FIELDS: &'static [&'static str] = crate::context::JOB_FIELDS;
}

impl Object for JobView {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let job = &self.job;
        let optional = |v: Option<i32>| v.map_or(Value::from(()), Value::from);
        let text = |v: &Option<String>| v.as_deref().map_or(Value::from(()), Value::from);
        Some(match key.as_str()? {
            "pid" => job.pid.map_or(Value::from(()), Value::from),
            "command" => Value::from(job.command.clone()),
            "started_at" => job.started_at.map_or(Value::from(()), time),
            "uptime" => DurationValue::value(job.uptime(self.now)),
            "runtime" => DurationValue::value(job.runtime(self.now)),
            "ended_at" => job.ended_at.map_or(Value::from(()), time),
            "exit_code" => optional(job.exit_code),
            "signal" => optional(job.signal),
            "restarts" => Value::from(self.restarts),
            "log" => Value::from(job.log.as_str()),
            "last_line" => text(&job.last_line),
            "checkpoint" => text(&job.checkpoint),
            "resumed" => Value::from(job.resumed),
            "slurm_job" => job.slurm_job.map_or(Value::from(()), Value::from),
            "slurm_state" => text(&job.slurm_state),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(Self::FIELDS)
    }
}

/// `run`, read lazily: `run.id` formats no times.
#[derive(Debug)]
struct RunView {
    id: String,
    started_at: DateTime<Utc>,
    now: DateTime<Utc>,
    protocol: String,
    version: Option<String>,
}

impl Object for RunView {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "id" => Value::from(self.id.as_str()),
            "started_at" => time(self.started_at),
            "elapsed" => since(self.started_at, self.now),
            "protocol" => Value::from(self.protocol.as_str()),
            "version" => self.version.as_deref().map_or(Value::from(()), Value::from),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(crate::context::RUN_FIELDS)
    }
}

/// The history, read lazily: templates that never look at it do not pay for it.
#[derive(Debug)]
struct History(imbl::Vector<Arc<HistoryEntry>>);

impl Object for History {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let entry = self.0.get(key.as_usize()?)?;
        let event = entry.event.as_deref().map_or(Value::from(()), Value::from);
        let mut value = BTreeMap::from([
            ("at", time(entry.at)),
            ("from", Value::from(entry.from.as_str())),
            ("to", Value::from(entry.to.as_str())),
            ("event", event),
            ("ignored", Value::from(entry.transition.is_none())),
            (
                "incident",
                entry.incident.as_deref().map_or(Value::from(()), incident),
            ),
        ]);
        value.insert(
            "fields",
            Value::from(entry.fields.clone().into_iter().collect::<BTreeMap<_, _>>()),
        );
        Some(Value::from(value))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.len())
    }
}

/// `gates`: every gate of the protocol by name, its latest result or none before its first.
/// A result is its facts, with `passed`, `reason`, `value` and `at` over them. Read lazily: a
/// template that names `gates` builds only the results it reads.
#[derive(Debug)]
struct GatesView {
    /// The protocol, whose gates are the names.
    protocol: Arc<crate::protocol::Protocol>,
    gates: Arc<BTreeMap<String, super::instance::GateRecord>>,
}

impl Object for GatesView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        if !self.protocol.gates.contains(name) {
            return None;
        }
        Some(self.gates.get(name).map_or(Value::from(()), |record| {
            let result = &record.result;
            let mut map: BTreeMap<String, Value> = result
                .facts
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(minijinja::value::Serde(v))))
                .collect();
            map.insert("passed".into(), Value::from(result.passed));
            map.insert("reason".into(), Value::from(result.reason.as_str()));
            map.insert(
                "value".into(),
                Value::from(minijinja::value::Serde(&result.value)),
            );
            map.insert("at".into(), time(record.at));
            Value::from(map)
        }))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.mapped_enumerator(|this| {
            Box::new(this.protocol.gates.keys().map(|n| Value::from(n.as_str())))
        })
    }
}

fn gates(machine: &super::Machine, instance: &Instance) -> Value {
    Value::from_object(GatesView {
        protocol: machine.protocol.clone(),
        gates: instance.gates.clone(),
    })
}

/// `artifacts`: every artifact of the job by name, as last seen.
fn artifacts(instance: &Instance) -> Value {
    let optional_time = |t: Option<DateTime<Utc>>| t.map_or(Value::from(()), time);
    let artifacts = instance.job.artifacts.iter().map(|(name, path)| {
        let seen = instance.artifacts.get(name).cloned().unwrap_or_default();
        let value = BTreeMap::from([
            ("path", Value::from(path.as_str())),
            ("exists", Value::from(seen.exists)),
            ("size", seen.size.map_or(Value::from(()), Value::from)),
            ("modified", optional_time(seen.modified)),
            ("changes", Value::from(seen.changes)),
            ("first_seen", optional_time(seen.first_seen)),
            ("last_change", optional_time(seen.last_change)),
        ]);
        (name.clone(), Value::from(value))
    });
    Value::from(artifacts.collect::<BTreeMap<_, _>>())
}

/// `cadence`: the spacing of the job's progress entries.
fn cadence(facts: &super::instance::CadenceFacts) -> Value {
    let duration = |d: Option<std::time::Duration>| d.map_or(Value::from(()), DurationValue::value);
    let seconds =
        |s: Option<f64>| duration(s.and_then(|s| std::time::Duration::try_from_secs_f64(s).ok()));
    let spacing = &facts.spacing;
    let violation = spacing
        .first_violation
        .map_or(Value::from(()), |(at, gap)| {
            let at = DateTime::from_timestamp_millis((at * 1000.0) as i64);
            Value::from(BTreeMap::from([
                ("at", at.map_or(Value::from(()), time)),
                ("gap", seconds(Some(gap))),
            ]))
        });
    Value::from(BTreeMap::from([
        ("min", duration(facts.min)),
        ("max", duration(facts.max)),
        ("records", Value::from(spacing.records)),
        ("gaps", Value::from(spacing.gaps)),
        ("too_close", Value::from(spacing.too_close)),
        ("too_far", Value::from(spacing.too_far)),
        ("min_gap", seconds(spacing.min_gap)),
        ("max_gap", seconds(spacing.max_gap)),
        ("first_violation", violation),
    ]))
}

/// The value of one top-level name (not `target`, which each transition adds), or `None` for a
/// name the context does not have.
pub fn value_of(
    machine: &super::Machine,
    instance: &Instance,
    now: DateTime<Utc>,
    name: &str,
) -> Option<Value> {
    let protocol = machine.protocol();
    let job = &instance.job;
    Some(match name {
        "run" => Value::from_object(RunView {
            id: instance.run.id.clone(),
            started_at: instance.run.started_at,
            now,
            protocol: protocol.id.to_string(),
            version: protocol.version.as_ref().map(|v| v.to_string()),
        }),
        "state" => Value::from(instance.state.as_str()),
        "event" => {
            let mut event: BTreeMap<String, Value> = instance.event.fields.clone();
            event.insert("name".into(), Value::from(instance.event.name.as_str()));
            event.insert("at".into(), time(instance.event.at));
            event.insert(
                "sender".into(),
                instance
                    .event
                    .sender
                    .as_deref()
                    .map_or(Value::from(()), Value::from),
            );
            Value::from(event)
        }
        "incident" => instance
            .incident
            .as_deref()
            .map_or(Value::from(()), incident),
        "job" => Value::from_object(JobView {
            job: job.clone(),
            restarts: instance.counters.get("restarts").copied().unwrap_or(0),
            now,
        }),
        "counters" => Value::from(
            instance
                .counters
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(*v)))
                .collect::<BTreeMap<_, _>>(),
        ),
        "history" => Value::from_object(History(instance.history.clone())),
        "metrics" => crate::classify::record_value(&instance.metrics),
        "gates" => gates(machine, instance),
        "artifacts" => artifacts(instance),
        "cadence" => cadence(&instance.cadence),
        "held" => Value::from(
            instance
                .held
                .iter()
                .map(|held| incident(held))
                .collect::<Vec<_>>(),
        ),
        "now" => time(now),
        var => instance.vars.get(var)?.clone(),
    })
}

/// The context for a transition into `target` with only the top-level names in `reads` (what a
/// compiled template reads), each the `value` of its name (see [`value_of`]).
pub fn subset(reads: &[String], target: &str, value: impl Fn(&str) -> Option<Value>) -> Value {
    let mut names = Vec::with_capacity(reads.len() + 1);
    for name in reads {
        if let Some(value) = value(name) {
            names.push((name.clone(), value));
        }
    }
    names.push(("target".to_owned(), Value::from(target)));
    Names::value(names)
}

/// A context of a few names: looked up by comparing strings, which for the handful of names a
/// template reads is faster than building and searching a map of values.
#[derive(Debug)]
pub struct Names(Vec<(String, Value)>);

impl Names {
    /// The names as a context value.
    pub fn value(names: Vec<(String, Value)>) -> Value {
        Value::from_object(Names(names))
    }
}

impl Object for Names {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        self.0
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.mapped_enumerator(|this| {
            Box::new(this.0.iter().map(|(name, _)| Value::from(name.as_str())))
        })
    }
}
