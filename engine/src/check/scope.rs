//! Which names a guard, `set` expression or template can read, for P032.

use std::collections::{BTreeMap, BTreeSet};

use crate::context::{
    builtin_event, Shape, CADENCE_FIELDS, EVENT_FIELDS, INCIDENT_FIELDS, JOB_FIELDS, RUN_FIELDS,
};
use crate::expr::NameUse;
use crate::protocol::Protocol;
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
            names.insert(name.to_string(), Shape::Open);
        }
        names.insert("run".into(), Shape::record(RUN_FIELDS.iter().copied()));
        Scope { names }
    }

    /// What every transition sees: the vars, the names transitions `set`, and the reserved
    /// names, with `event` holding only what every event has. Gates see this too: their
    /// expressions and templates are evaluated in the state a transition is leaving.
    pub fn base(protocol: &Protocol) -> Scope {
        let mut scope = Scope::vars_only(protocol);
        for set in protocol.transitions.iter().flat_map(|t| t.set().keys()) {
            scope.names.insert(set.to_string(), Shape::Open);
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
        names.insert(
            "gates".into(),
            Shape::record(protocol.gates.keys().map(|k| k.as_str())),
        );
        let artifacts = protocol.job.iter().flat_map(|j| j.artifacts.keys());
        names.insert(
            "artifacts".into(),
            Shape::record(artifacts.map(|k| k.as_str())),
        );
        names.insert(
            "cadence".into(),
            Shape::record(CADENCE_FIELDS.iter().copied()),
        );
        names.insert("held".into(), Shape::Open);
        scope
    }

    /// This base scope, with `event` holding the fields of the event `on` (`None`: a
    /// transition without one).
    pub fn for_event(&self, protocol: &Protocol, on: Option<&str>) -> Scope {
        let mut scope = self.clone();
        let mut event: Vec<&str> = EVENT_FIELDS.to_vec();
        if let Some(on) = on {
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
                let (message, help) = match root.as_str() {
                    "counters" => (
                        format!("no transition counts `{attribute}`"),
                        suggest::did_you_mean(attribute, fields.iter().copied()).or_else(|| {
                            Some(format!("add `count: [{attribute}]` to a transition"))
                        }),
                    ),
                    "gates" => (
                        format!("no gate is named `{attribute}`"),
                        suggest::help(attribute, &fields)
                            .or_else(|| Some("declare it under `gates`".into())),
                    ),
                    "artifacts" => (
                        format!("the job has no artifact `{attribute}`"),
                        suggest::help(attribute, &fields)
                            .or_else(|| Some("declare it under `job.artifacts`".into())),
                    ),
                    _ => (
                        format!("`{root}` has no attribute `{attribute}`"),
                        suggest::help(attribute, &fields),
                    ),
                };
                Some((message, help))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::codes::Code;

    /// The P032 findings of a protocol whose one gated transition has `guard` and `text`.
    fn p032(guard: &str, text: &str) -> Vec<String> {
        let source = format!(
            "protocol: demo\n\
             roles: {{ trainer: {{}}, director: {{}} }}\n\
             channels: [{{ from: trainer, to: director }}]\n\
             job:\n  command: [train]\n  log: train.log\n  \
             artifacts: {{ checkpoint: ckpt.pt }}\n  cadence: {{ max: 10m }}\n\
             states:\n  start: {{ initial: true }}\n  done: {{ final: true }}\n\
             gates:\n  results: {{ table: results.csv, category: uncategorized }}\n\
             transitions:\n  \
             - from: start\n    on: exited\n    if: \"{guard}\"\n    gates: [results]\n    \
               to: done\n    send: [{{ from: trainer, to: director, text: \"{text}\" }}]\n  \
             - {{ from: start, on: incident, to: done }}\n"
        );
        crate::check::findings_of(&source, Code::P032)
            .iter()
            .map(|d| format!("{} | {}", d.message, d.help.as_deref().unwrap_or("")))
            .collect()
    }

    #[test]
    fn gates_artifacts_cadence_and_held() {
        let none = Vec::<String>::new();
        assert_eq!(
            p032("gates.results.rows > 0", "{{ gates.results.reason }}"),
            none
        );
        assert_eq!(
            p032(
                "artifacts.checkpoint.exists and cadence.too_far == 0",
                "{{ held | length }} {{ job.runtime }} {{ incident.gate }}"
            ),
            none
        );
        let typo = p032("gates.result.passed", "");
        assert_eq!(typo.len(), 1, "{typo:?}");
        assert!(typo[0].contains("no gate is named `result`"), "{typo:?}");
        assert!(typo[0].contains("did you mean `results`?"), "{typo:?}");
        let missing = p032("true", "{{ artifacts.model.path }} {{ cadence.gap }}");
        assert_eq!(missing.len(), 2, "{missing:?}");
        assert!(
            missing[0].contains("the job has no artifact `model`"),
            "{missing:?}"
        );
        assert!(
            missing[1].contains("`cadence` has no attribute `gap`"),
            "{missing:?}"
        );
    }

    #[test]
    fn gate_templates_see_the_run_but_job_templates_only_the_vars() {
        let source = "protocol: demo\n\
             job:\n  command: [train]\n  log: train.log\n  \
             artifacts: { checkpoint: \"{{ state }}.pt\" }\n  cadence: { max: \"{{ now }}\" }\n\
             states:\n  start: { initial: true }\n  done: { final: true }\n\
             gates:\n  \
               ran: { files: [\"{{ run.id }}/{{ state }}.out\"], category: uncategorized }\n  \
               fast: { command: [check, \"{{ gates.ran.files }}\"], timeout: \"{{ event.pid }}s\", \
                      category: uncategorized }\n  \
               sane: { expr: \"event.name == 'exited'\", value: \"event.exit_code\", \
                      category: uncategorized }\n\
             transitions:\n  \
             - { from: start, on: exited, to: done, gates: [ran, fast, sane] }\n  \
             - { from: start, on: incident, to: done }\n";
        let found: Vec<String> = crate::check::findings_of(source, Code::P032)
            .iter()
            .map(|d| d.message.clone())
            .collect();
        assert_eq!(
            found,
            [
                "`state` is not in the context (in job template)",
                "`now` is not in the context (in job template)",
                "`event` has no attribute `pid` (in `timeout` of gate `fast`)",
                "`event` has no attribute `exit_code` (in `value` of gate `sane`)",
            ]
        );
    }
}
