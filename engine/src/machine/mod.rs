//! Running a protocol: a compiled [`Machine`] and the pure [`Machine::step`].
//!
//! `step` takes an [`Instance`], an [`Input`] and the time, and returns an [`Outcome`]: the next
//! instance, the transitions taken (eventless ones included), the messages rendered, the job
//! effects to carry out, and what was ignored or refused. It does no I/O, reads no clock and
//! draws no random number, so a run replays exactly from its inputs.
//!
//! A machine is the protocol's [`StateGraph`] and its templates, compiled once (`compile.rs`):
//! a step walks the edges out of the current state (`step.rs`).

mod compile;
mod context;
mod error;
mod gates;
mod guard;
mod instance;
mod outcome;
mod send;
pub use send::typed;
mod step;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use minijinja::Value;

pub use error::{CompileError, StartError, StepError, TemplateError};
pub use instance::{
    ActiveTimer, ArtifactFacts, CadenceFacts, EventInfo, GateRecord, HistoryEntry, Instance,
    JobFacts, Pending, RunInfo,
};
pub use outcome::{
    Input, JobPlan, Message, Outcome, Taken, DEFAULT_SLURM_POLL, DEFAULT_STOP_GRACE,
    MAX_STOP_GRACE, MIN_SLURM_POLL,
};

use crate::classify::{Incident, Rules};
use crate::expr::DurationValue;
use crate::graph::StateGraph;
use crate::protocol::{Protocol, TemplateSource};
use step::Step;

/// The shortest `every` of a timer: one that fires more often would flood the roles.
pub const MIN_EVERY: Duration = Duration::from_secs(1);

/// More eventless transitions in a row than this is a run-time error.
pub const MAX_EVENTLESS: usize = 100;

/// A protocol compiled for running: its state graph, and its guards, expressions and templates
/// compiled once.
pub struct Machine {
    protocol: Arc<Protocol>,
    graph: StateGraph,
    program: compile::Program,
    rules: Arc<Rules>,
    counters: BTreeSet<String>,
    /// How many timers one step may fire (see [`Machine::limit_firings`]).
    firing_limit: Option<usize>,
    /// Whether a repeating timer that fell due several times since the last step fires once
    /// (see [`Machine::fire_missed_once`]).
    missed_once: bool,
}

impl Machine {
    /// Compiles `protocol` with its `templates` (see [`crate::protocol::load_templates`]).
    pub fn new(
        protocol: Protocol,
        templates: &BTreeMap<String, TemplateSource>,
    ) -> Result<Machine, CompileError> {
        if protocol.initial_state().is_none() {
            return Err(CompileError::NoInitialState);
        }
        // The graph has no edge to or from an undeclared state: such a transition would never
        // be a candidate, silently.
        for transition in &protocol.transitions {
            let named = match &transition.from {
                crate::protocol::From::States(states) => states.iter().collect(),
                crate::protocol::From::Any(_) => Vec::new(),
            };
            if let Some(unknown) = named
                .into_iter()
                .chain(&transition.to)
                .find(|state| !protocol.states.contains(state.as_str()))
            {
                return Err(CompileError::UnknownState {
                    state: unknown.to_string(),
                    line: transition.span.line(),
                });
            }
        }
        for transition in &protocol.transitions {
            if let Some(gate) = transition
                .gates()
                .iter()
                .find(|gate| !protocol.gates.contains(gate.as_str()))
            {
                return Err(CompileError::UnknownGate {
                    gate: gate.to_string(),
                    line: transition.span.line(),
                });
            }
        }
        let program = compile::program(&protocol, templates)?;
        let rules = Rules::new(&protocol, program.borrow_owner().clone())?;
        let counters = protocol
            .transitions
            .iter()
            .flat_map(|t| &t.count)
            .map(|c| c.to_string())
            .collect();
        Ok(Machine {
            graph: StateGraph::new(&protocol),
            protocol: Arc::new(protocol),
            program,
            rules: Arc::new(rules),
            counters,
            firing_limit: None,
            missed_once: false,
        })
    }

    /// The message that tells the owner of uncategorized incidents (the director by default)
    /// that the run could not take an input, and the instance that counts it sent: `None` for
    /// an input that came at the wrong time, which is not the protocol's failure. The run stays
    /// where it was.
    pub fn failure_notice(
        &self,
        instance: &Instance,
        error: &StepError,
        now: DateTime<Utc>,
    ) -> Option<(Instance, Message)> {
        if matches!(
            error,
            StepError::AwaitingGates { .. } | StepError::NoGatesPending
        ) {
            return None;
        }
        let owner = self.rules.uncategorized_owner();
        let state = &instance.state;
        let text = format!(
            "> **Warden could not take what happened in `{state}`.**\n>\n> {error}\n>\n> The \
             run stays in `{state}`. Fix the protocol, or move the run on with an event \
             (`warden send`).\n"
        );
        let mut instance = instance.clone();
        instance.messages_sent += 1;
        let message = Message {
            seq: instance.messages_sent,
            at: now,
            from: "warden".to_owned(),
            to: vec![owner.to_owned()],
            template: None,
            transition: None,
            text,
        };
        Some((instance, message))
    }

    /// The machine, refusing a step that would fire timers more than `limit` times
    /// ([`StepError::TooManyFirings`]). A run has no limit: its clock fires timers as they fall
    /// due. A scenario's clock jumps, and a jump of years past a timer of minutes would render
    /// messages by the hundred thousand.
    pub fn limit_firings(mut self, limit: usize) -> Machine {
        self.firing_limit = Some(limit);
        self
    }

    /// The machine, firing a repeating timer that fell due several times since the last step
    /// (the machine was suspended, no supervisor ran for a day) once, at the last time it fell
    /// due, instead of once for every period missed: a run does not send a day of status
    /// reports at once. A scenario's clock fires each, as it jumps on purpose.
    pub fn fire_missed_once(mut self) -> Machine {
        self.missed_once = true;
        self
    }

    /// The protocol.
    pub fn protocol(&self) -> &Protocol {
        &self.protocol
    }

    /// The protocol's states and transitions.
    pub fn graph(&self) -> &StateGraph {
        &self.graph
    }

    /// The protocol's category rules, for the classifiers of a run's logs.
    pub fn rules(&self) -> &Arc<Rules> {
        &self.rules
    }

    fn compiled(&self) -> &compile::Compiled<'_> {
        self.program.borrow_dependent()
    }

    /// Starts a run: checks and types the `vars`, enters the initial state, and takes the
    /// eventless transitions from it.
    pub fn start(
        &self,
        run_id: &str,
        given: &BTreeMap<String, serde_json::Value>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StartError> {
        let protocol = &self.protocol;
        if let Some(unknown) = given.keys().find(|k| !protocol.vars.contains(k)) {
            return Err(StartError::UnknownVar(unknown.clone()));
        }
        let mut vars = BTreeMap::new();
        for (name, var) in protocol.vars.iter() {
            let value = match (given.get(name.as_str()), &var.default) {
                (Some(value), _) => value.clone(),
                (None, Some(default)) => default.value.clone(),
                (None, None) if var.required => {
                    return Err(StartError::MissingVar(name.to_string()))
                }
                (None, None) => serde_json::Value::Null,
            };
            let value = send::typed(var.ty.value, &value).map_err(|reason| StartError::BadVar {
                name: name.to_string(),
                reason,
            })?;
            vars.insert(name.to_string(), value);
        }
        for key in protocol.transitions.iter().flat_map(|t| t.set().keys()) {
            vars.entry(key.to_string()).or_insert(Value::from(()));
        }
        let initial = protocol
            .initial_state()
            .expect("checked in Machine::new")
            .value
            .clone();
        let instance = Instance {
            run: Arc::new(RunInfo {
                id: run_id.to_owned(),
                started_at: now,
            }),
            state: initial.to_string(),
            vars: Arc::new(vars),
            counters: Arc::new(self.counters.iter().map(|c| (c.clone(), 0)).collect()),
            event: EventInfo {
                name: "start".into(),
                at: now,
                sender: None,
                fields: BTreeMap::new(),
            },
            ..Instance::placeholder()
        };
        let mut step = Step::new(self, instance, now);
        step.describe_job()?;
        step.enter(&initial, &initial, true)?;
        step.eventless()?;
        step.deliver_held()?;
        Ok(step.finish())
    }

    /// Takes one step. A refused role event leaves the instance as it was.
    pub fn step(
        &self,
        instance: &Instance,
        input: Input,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StepError> {
        let mut step = Step::new(self, instance.clone(), now);
        if let Some(pending) = &instance.pending {
            if !matches!(input, Input::Gates { .. }) {
                return Err(StepError::AwaitingGates {
                    gates: pending.checks.iter().map(|c| c.gate.clone()).collect(),
                });
            }
        }
        match input {
            Input::Launched {
                pid,
                resumed,
                command,
                slurm_job,
            } => {
                step.instance.launching = false;
                let job = Arc::make_mut(&mut step.instance.job);
                if let Some(command) = command {
                    job.command = command;
                }
                if job.started_at.is_some() {
                    job.ran_before = job.ran_before.saturating_add(job.uptime(now));
                }
                job.pid = Some(pid);
                job.slurm_job = slurm_job;
                job.started_at = Some(now);
                job.ended_at = None;
                job.exit_code = None;
                job.signal = None;
                job.slurm_state = None;
                job.resumed = resumed;
                let fields = BTreeMap::from([("pid".to_owned(), Value::from(pid))]);
                step.dispatch("launched", None, fields, None)?;
            }
            Input::Exited {
                exit_code,
                signal,
                slurm_state,
            } => {
                // A launch that failed is reported as an exit.
                step.instance.launching = false;
                let job = Arc::make_mut(&mut step.instance.job);
                job.exit_code = exit_code;
                job.signal = signal;
                job.slurm_state = slurm_state.clone();
                job.ended_at = Some(now);
                // An end an exit rule classifies (killed by the OOM killer, a segfault) is an
                // incident first, as a traceback the job died with would be.
                let last_line = job.last_line.clone();
                if let Some(incident) = self.rules.exit_incident(
                    exit_code,
                    signal,
                    slurm_state.as_deref(),
                    last_line.as_deref(),
                    now,
                ) {
                    let incident: Arc<Incident> = Arc::new(incident);
                    step.instance.incident = Some(incident.clone());
                    step.dispatch("incident", None, BTreeMap::new(), Some(incident))?;
                }
                let optional = |v: Option<i32>| v.map_or(Value::from(()), Value::from);
                let fields = BTreeMap::from([
                    ("exit_code".to_owned(), optional(exit_code)),
                    ("signal".to_owned(), optional(signal)),
                ]);
                step.dispatch("exited", None, fields, None)?;
            }
            Input::Incident(incident) => {
                let incident: Arc<Incident> = Arc::from(incident);
                step.instance.incident = Some(incident.clone());
                step.dispatch("incident", None, BTreeMap::new(), Some(incident))?;
            }
            Input::Repeated { count, last_seen } => {
                if let Some(incident) = &mut step.instance.incident {
                    let incident = Arc::make_mut(incident);
                    incident.count = count;
                    incident.last_seen = last_seen;
                }
            }
            Input::Log {
                last_line,
                records,
                spacing,
            } => {
                if last_line.is_some() {
                    Arc::make_mut(&mut step.instance.job).last_line = last_line;
                }
                if !spacing.is_empty() {
                    Arc::make_mut(&mut step.instance.cadence)
                        .spacing
                        .extend(&spacing);
                }
                for record in records {
                    Arc::make_mut(&mut step.instance.metrics).extend(record);
                }
            }
            Input::Send {
                event,
                sender,
                fields,
            } => match send::check(&self.protocol, &event, &sender, &fields) {
                Ok(fields) => step.dispatch(&event, Some(sender), fields, None)?,
                Err(reason) => {
                    let mut outcome = Step::new(self, instance.clone(), now).finish();
                    outcome.refused = Some(reason);
                    return Ok(outcome);
                }
            },
            Input::Silence => step.dispatch("silence", None, BTreeMap::new(), None)?,
            Input::Tick => step.fire_due_timers()?,
            Input::Gates { results } => step.resume_pending(results)?,
            Input::Stopped => {
                let job = Arc::make_mut(&mut step.instance.job);
                if job.started_at.is_some() && job.ended_at.is_none() {
                    job.ended_at = Some(now);
                }
            }
            Input::Artifact {
                name,
                exists,
                size,
                modified,
            } => {
                // A file left from before the run (a checkpoint to resume from) is seen, but
                // it is not a change this run made.
                let started = step.instance.run.started_at;
                let fresh = modified.is_none_or(|m| m >= started);
                let artifacts = Arc::make_mut(&mut step.instance.artifacts);
                let seen = artifacts.entry(name).or_default();
                let changed = exists
                    && fresh
                    && (!seen.exists || seen.size != size || seen.modified != modified);
                seen.exists = exists;
                seen.size = size;
                seen.modified = modified;
                if exists {
                    seen.first_seen.get_or_insert(now);
                }
                if changed {
                    seen.changes += 1;
                    seen.last_change = Some(now);
                }
            }
        }
        // Incidents held until the run could take them, once it can.
        step.deliver_held()?;
        Ok(step.finish())
    }

    /// `instance` no longer waiting for its gates: what a run keeps when taking the gates'
    /// results failed (a message of the transition they let through did not render, say), so
    /// that the failure is reported and the run goes on in the state it was in.
    pub fn abandon_pending(&self, instance: &Instance) -> Instance {
        let mut instance = instance.clone();
        instance.pending = None;
        instance
    }

    /// Renders the message template `name` against `instance` at `now`, as a transition from
    /// the current state to itself would (for authors, and to show what a role would get now).
    pub fn render(
        &self,
        instance: &Instance,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<String, StepError> {
        let Some(message) = self.compiled().messages.get(name) else {
            let known = self.compiled().messages.keys().cloned().collect::<Vec<_>>();
            let error = minijinja::Error::new(
                minijinja::ErrorKind::TemplateNotFound,
                format!(
                    "no message template `{name}`; the protocol's are {}",
                    known.join(", ")
                ),
            );
            return Err(StepError::Render {
                line: 0,
                what: format!("`{name}`"),
                source: Arc::new(error),
            });
        };
        let value = |name: &str| context::value_of(self, instance, now, name);
        let context = context::subset(&message.reads, &instance.state, value);
        crate::expr::render(&message.template, context).map_err(|e| StepError::Render {
            line: 0,
            what: format!("`{name}`"),
            source: Arc::new(e),
        })
    }

    /// Checks a role's event against the protocol without taking it: the event exists, the
    /// role may send it, and its fields are there and of their types. The reason if not.
    pub fn validate_send(
        &self,
        event: &str,
        sender: &str,
        fields: &BTreeMap<String, serde_json::Value>,
    ) -> Result<(), String> {
        send::check(&self.protocol, event, sender, fields).map(drop)
    }

    /// The states in which some transition takes `event`.
    pub fn states_taking(&self, event: &str) -> Vec<&str> {
        self.protocol
            .states
            .keys()
            .map(|state| state.as_str())
            .filter(|state| {
                !self.graph.is_final(state)
                    && self
                        .graph
                        .transitions_from(state, Some(event))
                        .next()
                        .is_some()
            })
            .collect()
    }

    /// The job as the run's vars make it: its command, log, followed files, checkpoint,
    /// resume arguments and stop grace, with every template rendered.
    pub fn job_plan(&self, instance: &Instance, now: DateTime<Utc>) -> Result<JobPlan, StepError> {
        let (Some(job), Some(protocol_job)) = (&self.compiled().job, &self.protocol().job) else {
            return Ok(JobPlan::default());
        };
        let render = |render: &compile::Render<'_>| {
            let value = |name: &str| context::value_of(self, instance, now, name);
            let context = context::subset(&render.reads, &instance.state, value);
            crate::expr::render(&render.template, context).map_err(|e| StepError::Render {
                line: job.line,
                what: "of the job".into(),
                source: Arc::new(e),
            })
        };
        let all = |renders: &[compile::Render<'_>]| {
            renders.iter().map(render).collect::<Result<Vec<_>, _>>()
        };
        let stop_grace = match &job.stop_grace {
            Some((line, grace)) => {
                crate::duration::parse(&render(grace)?)
                    .map_err(|message| StepError::Duration {
                        what: "`stop_grace`",
                        line: *line,
                        message,
                    })?
                    // Longer than any clock can count to from now: a hundred years will do.
                    .min(MAX_STOP_GRACE)
            }
            None => DEFAULT_STOP_GRACE,
        };
        Ok(JobPlan {
            command: all(&job.command)?,
            log: Some(render(&job.log)?),
            follow: all(&job.follow)?,
            checkpoint: job.checkpoint.as_ref().map(render).transpose()?,
            resume_args: all(&job.resume_args)?,
            stop_grace,
            launcher: protocol_job
                .launcher
                .as_ref()
                .map(|l| l.value)
                .unwrap_or_default(),
            slurm_args: all(&job.slurm_args)?,
            slurm_poll: protocol_job
                .slurm
                .as_ref()
                .and_then(|s| s.poll.as_ref())
                .and_then(|p| crate::duration::parse(p.as_str()).ok())
                .unwrap_or(DEFAULT_SLURM_POLL)
                .max(MIN_SLURM_POLL),
        })
    }

    /// How long the job may write nothing before the `silence` event: the var `silence`, when
    /// the protocol declares it as a duration and the run has a value for it.
    pub fn silence(&self, instance: &Instance) -> Option<Duration> {
        instance
            .vars
            .get("silence")?
            .downcast_object_ref::<DurationValue>()
            .map(|d| d.0)
    }

    /// How the job's progress entries are timed, as the run's vars make `job.cadence`: for
    /// the run's [`Feed`](crate::classify::Feed).
    pub fn cadence(&self, instance: &Instance) -> Option<crate::classify::CadenceSpec> {
        let cadence = self.compiled().job.as_ref()?.cadence.as_ref()?;
        Some(crate::classify::CadenceSpec {
            key: cadence.key.clone(),
            min: instance.cadence.min,
            max: instance.cadence.max,
        })
    }

    /// When the next timer is due, if one is active.
    pub fn next_deadline(&self, instance: &Instance) -> Option<DateTime<Utc>> {
        instance.timers.iter().filter_map(|t| t.due).min()
    }
}

#[cfg(test)]
mod tests;
