//! Gates in a step: a transition chosen is taken only when every gate it requires passes.
//!
//! `expr` gates are evaluated here, against the context a guard would see. For the others the
//! step renders a [`Probe`] and stops: the run is [`Pending`] until the shell gives their
//! results ([`Input::Gates`](super::Input::Gates)). Then every result is recorded in `gates`,
//! and either the transition is taken or, when a gate failed, the failure is an incident of the
//! gate's category, offered to the current state like any other (where a state cannot take
//! it, it is held).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use minijinja::Value;

use super::compile::{Bounds, CompiledGate, Expr, GateCheck};
use super::instance::{GateRecord, Pending};
use super::step::{Chosen, Step};
use super::StepError;
use crate::classify::Incident;
use crate::expr::DurationValue;
use crate::gate::{self, Check, GateResult, Probe};
use crate::protocol::Since;

/// How long a `command` gate may run when its `timeout` is not given.
pub const DEFAULT_GATE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

impl Step<'_> {
    /// Takes `chosen` if it requires no gate; else evaluates its gates, or asks the shell to.
    pub(super) fn attempt(
        &mut self,
        chosen: Chosen,
        incident: Option<Arc<Incident>>,
        fields: BTreeMap<String, Value>,
    ) -> Result<(), StepError> {
        let transition = &self.compiled().transitions[chosen.transition];
        if transition.gates.is_empty() {
            return self.take(chosen, incident, fields);
        }
        let target = self.machine.graph.state(chosen.target).id.clone();
        let mut checks = Vec::new();
        for name in &transition.gates {
            let gate = self.gate(name, transition.line)?;
            if let Some(probe) = self.probe(name, gate, &target)? {
                checks.push(Check {
                    gate: name.clone(),
                    probe,
                });
            }
        }
        if checks.is_empty() {
            return self.judge(chosen, incident, fields, Vec::new());
        }
        self.instance.pending = Some(Arc::new(Pending {
            transition: chosen.transition,
            target: target.to_string(),
            checks: checks.clone(),
            incident,
            fields,
        }));
        self.outcome.checks = checks;
        self.changed();
        Ok(())
    }

    /// Takes up the transition that waited for `results`.
    pub(super) fn resume_pending(&mut self, results: Vec<GateResult>) -> Result<(), StepError> {
        let Some(pending) = self.instance.pending.take() else {
            return Err(StepError::NoGatesPending);
        };
        self.changed();
        let target = self
            .machine
            .graph
            .node(&pending.target)
            .expect("a pending transition's target is a state of the graph");
        let chosen = Chosen {
            transition: pending.transition,
            target,
        };
        self.judge(
            chosen,
            pending.incident.clone(),
            pending.fields.clone(),
            results,
        )?;
        self.eventless()
    }

    /// Records every gate of `chosen` (the `expr` ones evaluated now, the others from
    /// `given`), then takes it, or offers the failure as an incident.
    fn judge(
        &mut self,
        chosen: Chosen,
        incident: Option<Arc<Incident>>,
        fields: BTreeMap<String, Value>,
        given: Vec<GateResult>,
    ) -> Result<(), StepError> {
        let transition = &self.compiled().transitions[chosen.transition];
        let target = self.machine.graph.state(chosen.target).id.clone();
        let mut results = Vec::with_capacity(transition.gates.len());
        for name in &transition.gates {
            let gate = self.gate(name, transition.line)?;
            let result = match &gate.check {
                GateCheck::Expr {
                    source,
                    holds,
                    value,
                    reason,
                } => {
                    let expr = ExprGate {
                        source,
                        holds,
                        value: value.as_deref(),
                        reason: reason.as_deref(),
                    };
                    self.evaluate(name, gate, &expr, &target)?
                }
                _ => given
                    .iter()
                    .find(|r| r.gate == *name)
                    .cloned()
                    .unwrap_or_else(|| GateResult::new(name, false, "no result was given")),
            };
            results.push(result);
        }
        let records = Arc::make_mut(&mut self.instance.gates);
        for result in &results {
            let record = GateRecord {
                result: result.clone(),
                at: self.now,
            };
            records.insert(result.gate.clone(), record);
        }
        self.changed();
        self.outcome.gates.extend(results.iter().cloned());
        let failed: Vec<&GateResult> = results.iter().filter(|r| !r.passed).collect();
        let Some(first) = failed.first() else {
            return self.take(chosen, incident, fields);
        };
        let gate = self.gate(&first.gate, transition.line)?;
        let incident = Arc::new(self.failure(gate, &first.gate, &failed));
        self.gate_failed_in = Some(self.instance.state.clone());
        self.instance.incident = Some(incident.clone());
        self.changed();
        self.offer("incident", None, BTreeMap::new(), Some(incident), true)
    }

    fn gate(&self, name: &str, line: u32) -> Result<&CompiledGate<'_>, StepError> {
        // Machine::new refuses a transition that requires an undeclared gate.
        self.compiled()
            .gates
            .get(name)
            .ok_or_else(|| StepError::GateValue {
                gate: name.to_owned(),
                line,
                message: "the gate is not declared".into(),
            })
    }

    /// The incident of failed gates: the first one's category, every one's reason.
    fn failure(&self, gate: &CompiledGate<'_>, name: &str, failed: &[&GateResult]) -> Incident {
        let (owner, severity, action) = self
            .machine
            .rules
            .category(&gate.category)
            .map(|(o, s, a)| (o.to_owned(), s, a.map(str::to_owned)))
            .unwrap_or_else(|| {
                let fallback = crate::protocol::IncidentSeverity::Critical;
                ("director".to_owned(), fallback, None)
            });
        let message = failed
            .iter()
            .map(|r| format!("gate `{}` failed: {}", r.gate, r.reason))
            .collect::<Vec<_>>()
            .join("; ");
        let mut incident = Incident::new(
            &gate.category,
            gate.owner.as_deref().unwrap_or(&owner),
            gate.severity.unwrap_or(severity),
            gate.action.as_deref().or(action.as_deref()),
            message,
            self.now,
        );
        incident.gate = Some(name.to_owned());
        incident
    }

    /// An `expr` gate's result.
    fn evaluate(
        &self,
        name: &str,
        gate: &CompiledGate<'_>,
        expr: &ExprGate<'_, '_>,
        target: &str,
    ) -> Result<GateResult, StepError> {
        let ExprGate {
            source,
            holds,
            value,
            reason: template,
        } = *expr;
        let eval = |expr: &Expr<'_>, what: &str| {
            expr.expression
                .eval(self.context_of(&expr.reads, target))
                .map_err(|e| StepError::Gate {
                    gate: name.to_owned(),
                    line: gate.line,
                    what: what.to_owned(),
                    source: Arc::new(e),
                })
        };
        let passed = eval(holds, "its `expr`")?.is_true();
        let measured = value.map(|v| eval(v, "its `value`")).transpose()?;
        let reason = match template {
            Some(template) => self
                .render(template, target)
                .map_err(|e| StepError::Gate {
                    gate: name.to_owned(),
                    line: gate.line,
                    what: "its `reason`".to_owned(),
                    source: Arc::new(e),
                })?
                .trim()
                .to_owned(),
            None => {
                let verdict = if passed { "holds" } else { "does not hold" };
                match &measured {
                    Some(measured) => format!("`{source}` {verdict} (value: {measured})"),
                    None => format!("`{source}` {verdict}"),
                }
            }
        };
        let mut result = GateResult::new(name, passed, reason);
        if let Some(measured) = &measured {
            result.value = json(measured);
        }
        Ok(result)
    }

    /// What the shell must look at for gate `name`, `None` for an `expr` gate.
    fn probe(
        &self,
        name: &str,
        gate: &CompiledGate<'_>,
        target: &str,
    ) -> Result<Option<Probe>, StepError> {
        let line = gate.line;
        let render = |render: &super::compile::Render<'_>, what: &str| {
            self.render(render, target).map_err(|e| StepError::Gate {
                gate: name.to_owned(),
                line,
                what: what.to_owned(),
                source: Arc::new(e),
            })
        };
        let all = |renders: &[super::compile::Render<'_>], what: &str| {
            renders
                .iter()
                .map(|r| render(r, what))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Some(match &gate.check {
            GateCheck::Expr { .. } => return Ok(None),
            GateCheck::Command {
                argv,
                shell,
                timeout,
            } => {
                let timeout = match timeout {
                    Some(timeout) => {
                        let text = render(timeout, "its `timeout`")?;
                        crate::duration::parse(&text).map_err(|message| StepError::GateValue {
                            gate: name.to_owned(),
                            line,
                            message: format!("`timeout`: {message}"),
                        })?
                    }
                    None => DEFAULT_GATE_TIMEOUT,
                };
                Probe::Command {
                    argv: all(argv, "its `command`")?,
                    shell: *shell,
                    timeout,
                }
            }
            GateCheck::Files {
                paths,
                non_empty,
                modified_after,
            } => {
                let run_start = self.instance.run.started_at;
                let since = modified_after.map(|since| match since {
                    Since::Run => run_start,
                    Since::Job => self.instance.job.started_at.unwrap_or(run_start),
                    Since::LastCheck => self.instance.gates.get(name).map_or(run_start, |r| r.at),
                });
                Probe::Files {
                    paths: all(paths, "its `files`")?,
                    non_empty: *non_empty,
                    modified_after: since,
                }
            }
            GateCheck::Table {
                path,
                delimiter,
                rows,
                finite,
                varying,
                columns,
            } => {
                let path = render(path, "its `table`")?;
                let delimiter = delimiter.unwrap_or_else(|| {
                    let tab = [".tsv", ".tab"].iter().any(|ext| path.ends_with(ext));
                    if tab {
                        b'\t'
                    } else {
                        b','
                    }
                });
                let rows = match rows {
                    Some(rows) => self.bounds(name, gate, rows, "rows", target)?,
                    None => gate::Bounds {
                        min: Some(1.0),
                        ..Default::default()
                    },
                };
                let mut bounded = BTreeMap::new();
                for (column, bounds) in columns {
                    let what = format!("columns.{column}");
                    bounded.insert(
                        column.clone(),
                        self.bounds(name, gate, bounds, &what, target)?,
                    );
                }
                Probe::Table {
                    path,
                    delimiter,
                    rows,
                    finite: *finite,
                    varying: *varying,
                    columns: bounded,
                }
            }
        }))
    }

    /// Bounds with every expression evaluated to a number (a duration counts its seconds).
    fn bounds(
        &self,
        name: &str,
        gate: &CompiledGate<'_>,
        bounds: &Bounds<'_>,
        what: &str,
        target: &str,
    ) -> Result<gate::Bounds, StepError> {
        let number = |bound: &Option<Expr<'_>>, key: &str| -> Result<Option<f64>, StepError> {
            let Some(expr) = bound else { return Ok(None) };
            let value = expr
                .expression
                .eval(self.context_of(&expr.reads, target))
                .map_err(|e| StepError::Gate {
                    gate: name.to_owned(),
                    line: gate.line,
                    what: format!("`{what}.{key}`"),
                    source: Arc::new(e),
                })?;
            number_of(&value)
                .map(Some)
                .ok_or_else(|| StepError::GateValue {
                    gate: name.to_owned(),
                    line: gate.line,
                    message: format!("`{what}.{key}` is {value}, not a number"),
                })
        };
        Ok(gate::Bounds {
            min: number(&bounds.min, "min")?,
            max: number(&bounds.max, "max")?,
            above: number(&bounds.above, "above")?,
            below: number(&bounds.below, "below")?,
        })
    }
}

/// An `expr` gate, compiled.
#[derive(Clone, Copy)]
struct ExprGate<'g, 'env> {
    source: &'g str,
    holds: &'g Expr<'env>,
    value: Option<&'g Expr<'env>>,
    reason: Option<&'g super::compile::Render<'env>>,
}

/// A number, from a number or a duration (its seconds).
fn number_of(value: &Value) -> Option<f64> {
    if let Some(duration) = value.downcast_object_ref::<DurationValue>() {
        return Some(duration.0.as_secs_f64());
    }
    f64::try_from(value.clone()).ok()
}

/// A measured value as JSON: numbers, booleans, strings and none as they are, anything else
/// (a duration, a time) as it renders.
fn json(value: &Value) -> serde_json::Value {
    use minijinja::value::ValueKind;
    match value.kind() {
        ValueKind::None | ValueKind::Undefined => serde_json::Value::Null,
        ValueKind::Bool => serde_json::Value::Bool(value.is_true()),
        ValueKind::Number => serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
        _ => serde_json::Value::String(value.to_string()),
    }
}
