//! Which names a guard, `set` expression or template can read, for P032.

use std::collections::{BTreeMap, BTreeSet};

use crate::context::{builtin_event, Shape, EVENT_FIELDS, INCIDENT_FIELDS, JOB_FIELDS, RUN_FIELDS};
use crate::expr::NameUse;
use crate::protocol::{Protocol, Transition};
use crate::suggest;

/// The top-level names of a context and what each holds.
#[derive(Debug, Clone)]
pub struct Scope {
    names: BTreeMap<String, Shape>,
}

impl Scope {
    /// What templates of the job (command, log, checkpoint paths) and timer durations see: the
    /// vars and `run`.
    pub fn vars_only(protocol: &Protocol) -> Scope {
        let mut names = BTreeMap::new();
        for name in protocol.vars.keys() {
            names.insert(name.value.clone(), Shape::Open);
        }
        names.insert("run".into(), Shape::record(RUN_FIELDS.iter().copied()));
        Scope { names }
    }

    /// What every transition sees: the vars, the names transitions `set`, and the reserved
    /// names, with `event` holding only what every event has.
    pub fn base(protocol: &Protocol) -> Scope {
        let mut scope = Scope::vars_only(protocol);
        for set in protocol.transitions.iter().flat_map(|t| t.set.keys()) {
            scope.names.insert(set.value.clone(), Shape::Open);
        }
        let counters: BTreeSet<&str> = protocol
            .transitions
            .iter()
            .flat_map(|t| &t.count)
            .map(|c| c.as_str())
            .collect();
        let names = &mut scope.names;
        names.insert("state".into(), Shape::Scalar);
        names.insert("target".into(), Shape::Scalar);
        names.insert("now".into(), Shape::Scalar);
        names.insert("history".into(), Shape::Open);
        names.insert("metrics".into(), Shape::Open);
        names.insert("event".into(), Shape::record(EVENT_FIELDS.iter().copied()));
        names.insert(
            "incident".into(),
            Shape::record(INCIDENT_FIELDS.iter().copied()),
        );
        names.insert("job".into(), Shape::record(JOB_FIELDS.iter().copied()));
        names.insert("counters".into(), Shape::record(counters));
        let gates = protocol.gates.keys().map(|g| g.as_str());
        names.insert("gates".into(), Shape::record(gates));
        let artifacts = protocol.job.iter().flat_map(|j| j.artifacts.keys());
        names.insert(
            "artifacts".into(),
            Shape::record(artifacts.map(|a| a.as_str())),
        );
        names.insert(
            "cadence".into(),
            Shape::record(crate::context::CADENCE_FIELDS.iter().copied()),
        );
        names.insert("held".into(), Shape::Open);
        scope
    }

    /// This base scope, with `event` holding the fields of `transition`'s event.
    pub fn for_event(&self, protocol: &Protocol, transition: &Transition) -> Scope {
        let mut scope = self.clone();
        let mut event: Vec<&str> = EVENT_FIELDS.to_vec();
        if let Some(on) = &transition.on {
            if let Some(fields) = builtin_event(on) {
                event.extend(fields.iter().copied());
            } else if let Some(def) = protocol.events.get(on) {
                event.extend(def.fields.keys().map(|k| k.as_str()));
            }
        }
        scope.names.insert("event".into(), Shape::record(event));
        scope
    }

    /// Why `name` cannot be read here (a message and a help line), or `None` when it can.
    pub fn problem(&self, name: &NameUse) -> Option<(String, Option<String>)> {
        let root = name.path.first()?;
        let Some(shape) = self.names.get(root) else {
            let known: Vec<&str> = self.names.keys().map(String::as_str).collect();
            return Some((
                format!("`{root}` is not in the context"),
                suggest::did_you_mean(root, known.iter().copied()).or_else(|| {
                    Some("declare it under `vars`, or set it with a transition's `set`".into())
                }),
            ));
        };
        let attribute = name.path.get(1)?;
        match shape {
            Shape::Open => None,
            Shape::Scalar => Some((format!("`{root}` has no attribute `{attribute}`"), None)),
            Shape::Record(fields) if fields.iter().any(|f| f == attribute) => None,
            Shape::Record(fields) => {
                let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
                let message = if root == "counters" {
                    format!("no transition counts `{attribute}`")
                } else {
                    format!("`{root}` has no attribute `{attribute}`")
                };
                let help = if root == "counters" {
                    suggest::did_you_mean(attribute, fields.iter().copied())
                        .or_else(|| Some(format!("add `count: [{attribute}]` to a transition")))
                } else {
                    suggest::help(attribute, &fields)
                };
                Some((message, help))
            }
        }
    }
}
