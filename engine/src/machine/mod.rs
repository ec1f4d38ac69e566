//! Running a protocol: a compiled [`Machine`] and the pure [`Machine::step`].
//!
//! `step` takes an [`Instance`], an [`Input`] and the time, and returns an [`Outcome`]: the next
//! instance, the transitions taken (eventless ones included), the messages rendered, the job
//! effects to carry out, and what was ignored or refused. It does no I/O, reads no clock and
//! draws no random number, so a run replays exactly from its inputs.

mod context;
mod guard;
mod instance;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use minijinja::value::Serde;
use minijinja::{Environment, Value};
use serde::Serialize;

pub use instance::{ActiveTimer, EventInfo, HistoryEntry, Instance, JobInfo, RunInfo};

use crate::classify::{Incident, Record};
use crate::expr::DurationValue;
use crate::protocol::{Effect, Protocol, TemplateSource, ValueType};

/// More eventless transitions in a row than this is a run-time error.
pub const MAX_EVENTLESS: usize = 100;

/// A protocol compiled for running: its guards and templates compiled once.
pub struct Machine {
    protocol: Arc<Protocol>,
    env: Environment<'static>,
    counters: BTreeSet<String>,
    candidates: crate::protocol::Candidates,
    /// The compiled guard of each transition, by name, with the top-level names it reads.
    guards: Vec<Option<Guard>>,
    /// The top-level names each message template reads, by its name in the environment: a
    /// message's context holds only those.
    reads: std::collections::HashMap<String, Vec<String>>,
}

/// The top-level names the compiled template `name` reads, sorted.
fn reads_of(env: &Environment<'static>, name: &str) -> Vec<String> {
    let mut reads: Vec<String> = env
        .get_template(name)
        .map(|t| t.undeclared_variables(false).into_iter().collect())
        .unwrap_or_default();
    reads.sort();
    reads
}

/// A guard: its template's name and the context names it reads, so that evaluating it builds
/// only those, and its native form when it has a common shape.
struct Guard {
    template: String,
    reads: Vec<String>,
    native: Option<guard::Node>,
}

/// What happens to a run. Inputs are what the journal records: replaying them replays the run.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "input", rename_all = "snake_case")]
pub enum Input {
    /// The job started.
    Launched {
        /// Its process id.
        pid: u32,
        /// Whether it resumed from the checkpoint.
        resumed: bool,
        /// The command as run, when it differs from the protocol's (resume arguments added, or
        /// a command given to `run`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<Vec<String>>,
    },
    /// The job ended by itself.
    Exited {
        /// Its exit code.
        exit_code: Option<i32>,
        /// The signal that ended it.
        signal: Option<i32>,
    },
    /// The classifier found an incident.
    Incident(Box<Incident>),
    /// The current incident happened again (counted, not an event).
    Repeated {
        /// How often since it was reported.
        count: u64,
        /// When it was last seen.
        last_seen: DateTime<Utc>,
    },
    /// Facts read from the log: its last line and the metric records since the last input.
    Log {
        /// The last line.
        last_line: Option<String>,
        /// Metric records, in order.
        records: Vec<Record>,
    },
    /// A role sends an event.
    Send {
        /// The event.
        event: String,
        /// The role.
        sender: String,
        /// Its fields.
        fields: BTreeMap<String, serde_json::Value>,
    },
    /// The job wrote nothing for the duration of the var `silence`.
    Silence,
    /// Time passed: fire the timers that are due.
    Tick,
}

/// What one step did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The instance after the step.
    #[serde(skip)]
    pub instance: Instance,
    /// The transitions taken, in order, each with the messages it rendered and its effects.
    pub transitions: Vec<Taken>,
    /// Events no transition took.
    pub ignored: Vec<String>,
    /// Why a role's event was refused; the instance is then unchanged.
    pub refused: Option<String>,
}

/// A transition taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Taken {
    /// Its index in the protocol.
    pub transition: usize,
    /// The state it left.
    pub from: String,
    /// The state it entered.
    pub to: String,
    /// The event, `None` for an eventless transition.
    pub event: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// The messages it rendered, in order.
    pub messages: Vec<Message>,
    /// The job effects it asks for, in order.
    pub effects: Vec<Effect>,
}

impl Outcome {
    /// Every message rendered, in order.
    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        self.transitions.iter().flat_map(|t| &t.messages)
    }

    /// Every job effect to carry out, in order.
    pub fn effects(&self) -> impl Iterator<Item = Effect> + '_ {
        self.transitions
            .iter()
            .flat_map(|t| t.effects.iter().copied())
    }
}

/// How long a stopped job has between SIGTERM and SIGKILL when the protocol does not say.
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(30);

/// The job of a run, rendered from its vars (see [`Machine::job_plan`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobPlan {
    /// Program and arguments (empty when the protocol has no `job`).
    pub command: Vec<String>,
    /// The log, `None` when the protocol has no `job`.
    pub log: Option<String>,
    /// Further files to follow.
    pub follow: Vec<String>,
    /// The checkpoint whose existence means the job can resume.
    pub checkpoint: Option<String>,
    /// Arguments appended to resume.
    pub resume_args: Vec<String>,
    /// Time between SIGTERM and SIGKILL.
    pub stop_grace: Duration,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Its number in the run, from 1.
    pub seq: u64,
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// The sending role.
    pub from: String,
    /// The receiving roles.
    pub to: Vec<String>,
    /// The template's name, `None` for inline text.
    pub template: Option<String>,
    /// The transition that sent it.
    pub transition: usize,
    /// The markdown text.
    pub text: String,
}

/// Why a protocol cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The protocol has no single initial state.
    #[error("the protocol has no single initial state")]
    NoInitialState,
    /// A message names a template that was not loaded.
    #[error("template `{0}` was not loaded")]
    MissingTemplate(String),
    /// A guard or template does not compile.
    #[error("{what} does not compile: {source}")]
    Template {
        /// Which.
        what: String,
        /// Why.
        #[source]
        source: minijinja::Error,
    },
}

/// Why a run cannot start.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StartError {
    /// A required var was not given.
    #[error("the var `{0}` is required")]
    MissingVar(String),
    /// A var that the protocol does not declare.
    #[error("the protocol has no var `{0}`")]
    UnknownVar(String),
    /// A var's value does not fit its type.
    #[error("var `{name}`: {reason}")]
    BadVar {
        /// The var.
        name: String,
        /// Why.
        reason: String,
    },
    /// The start failed in a step.
    #[error(transparent)]
    Step(#[from] StepError),
}

/// A failure while taking a step: a guard, expression or template that fails at run time.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StepError {
    /// A guard failed to evaluate.
    #[error("the guard of the transition on line {line} failed: {message}")]
    Guard {
        /// The transition's line in the protocol.
        line: u32,
        /// Why.
        message: String,
    },
    /// A `set` expression failed.
    #[error("`set: {key}` of the transition on line {line} failed: {message}")]
    Set {
        /// The transition's line.
        line: u32,
        /// The key.
        key: String,
        /// Why.
        message: String,
    },
    /// A message failed to render.
    #[error("message {what} of the transition on line {line} failed to render: {message}")]
    Render {
        /// The transition's line.
        line: u32,
        /// The template, or "text".
        what: String,
        /// Why.
        message: String,
    },
    /// A timer's duration failed to render or parse.
    #[error("the duration of the timer on line {line} failed: {message}")]
    Timer {
        /// The timer's line.
        line: u32,
        /// Why.
        message: String,
    },
    /// Eventless transitions did not stop.
    #[error("more than {MAX_EVENTLESS} eventless transitions in a row, last in `{state}`")]
    EventlessLoop {
        /// The state the loop was in.
        state: String,
    },
}

fn describe(error: &minijinja::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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
        let mut env = crate::expr::environment();
        let mut add = |name: String, source: String, what: String| {
            env.add_template_owned(name, source)
                .map_err(|source| CompileError::Template { what, source })
        };
        for (name, template) in templates {
            add(
                format!("message:{name}"),
                template.text.to_string(),
                format!("template `{name}`"),
            )?;
        }
        for (index, transition) in protocol.transitions.iter().enumerate() {
            let line = transition.span.line;
            if let Some(guard) = &transition.guard {
                add(
                    format!("guard:{index}"),
                    format!("{{% if {} %}}1{{% endif %}}", guard.as_str()),
                    format!("the guard on line {line}"),
                )?;
            }
            for (k, send) in transition.send.iter().enumerate() {
                if let Some(text) = &send.text {
                    add(
                        format!("text:{index}:{k}"),
                        text.value.clone(),
                        format!("the message text on line {}", text.span.line),
                    )?;
                } else if let Some(name) = &send.template {
                    if !templates.contains_key(name.as_str()) {
                        return Err(CompileError::MissingTemplate(name.value.clone()));
                    }
                }
            }
        }
        for (index, timer) in protocol.timers.iter().enumerate() {
            let duration = timer.every.as_ref().or(timer.after.as_ref());
            if let Some(duration) = duration {
                add(
                    format!("timer:{index}"),
                    duration.value.clone(),
                    format!("the timer on line {}", timer.span.line),
                )?;
            }
        }
        let counters = protocol
            .transitions
            .iter()
            .flat_map(|t| &t.count)
            .map(|c| c.value.clone())
            .collect();
        let candidates = crate::protocol::Candidates::new(&protocol);
        let guards = (0..protocol.transitions.len())
            .map(|index| {
                protocol.transitions[index].guard.as_ref().map(|source| {
                    let template = format!("guard:{index}");
                    let reads = reads_of(&env, &template);
                    let native = guard::compile(source);
                    Guard {
                        template,
                        reads,
                        native,
                    }
                })
            })
            .collect();
        let reads = env
            .templates()
            .map(|(name, _)| name)
            .filter(|name| name.starts_with("message:") || name.starts_with("text:"))
            .map(|name| (name.to_owned(), reads_of(&env, name)))
            .collect();
        Ok(Machine {
            protocol: Arc::new(protocol),
            env,
            counters,
            candidates,
            guards,
            reads,
        })
    }

    /// The protocol.
    pub fn protocol(&self) -> &Protocol {
        &self.protocol
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
                    return Err(StartError::MissingVar(name.value.clone()))
                }
                (None, None) => serde_json::Value::Null,
            };
            let value = typed(var.ty.value, &value).map_err(|reason| StartError::BadVar {
                name: name.value.clone(),
                reason,
            })?;
            vars.insert(name.value.clone(), value);
        }
        for key in protocol.transitions.iter().flat_map(|t| t.set.keys()) {
            vars.entry(key.value.clone()).or_insert(Value::from(()));
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
            state: initial.clone(),
            vars: Arc::new(vars),
            counters: Arc::new(self.counters.iter().map(|c| (c.clone(), 0)).collect()),
            timers: Vec::new(),
            job: Default::default(),
            incident: None,
            metrics: Default::default(),
            event: EventInfo {
                name: "start".into(),
                at: now,
                sender: None,
                fields: BTreeMap::new(),
            },
            history: imbl::Vector::new(),
            messages_sent: 0,
        };
        let mut step = Step::new(self, instance, now);
        step.describe_job()?;
        step.enter(&initial, &initial, true)?;
        step.eventless()?;
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
        match input {
            Input::Launched {
                pid,
                resumed,
                command,
            } => {
                let job = Arc::make_mut(&mut step.instance.job);
                if let Some(command) = command {
                    job.command = command;
                }
                job.pid = Some(pid);
                job.started_at = Some(now);
                job.exit_code = None;
                job.signal = None;
                job.resumed = resumed;
                let fields = BTreeMap::from([("pid".to_owned(), Value::from(pid))]);
                step.dispatch("launched", None, fields, None)?;
            }
            Input::Exited { exit_code, signal } => {
                let job = Arc::make_mut(&mut step.instance.job);
                job.exit_code = exit_code;
                job.signal = signal;
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
            Input::Log { last_line, records } => {
                if last_line.is_some() {
                    Arc::make_mut(&mut step.instance.job).last_line = last_line;
                }
                for record in records {
                    Arc::make_mut(&mut step.instance.metrics).extend(record);
                }
            }
            Input::Send {
                event,
                sender,
                fields,
            } => match self.check_send(&event, &sender, &fields) {
                Ok(fields) => step.dispatch(&event, Some(sender), fields, None)?,
                Err(reason) => {
                    let mut outcome = Step::new(self, instance.clone(), now).finish();
                    outcome.refused = Some(reason);
                    return Ok(outcome);
                }
            },
            Input::Silence => step.dispatch("silence", None, BTreeMap::new(), None)?,
            Input::Tick => step.fire_due_timers()?,
        }
        Ok(step.finish())
    }

    /// Renders the message template `name` against `instance` at `now`, as a transition from
    /// the current state to itself would (for authors, and to show what a role would get now).
    pub fn render(
        &self,
        instance: &Instance,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<String, StepError> {
        let template = format!("message:{name}");
        let context = match self.reads.get(&template) {
            Some(reads) => context::subset(self, instance, now, reads, &instance.state),
            None => context::build(self, instance, now, &instance.state),
        };
        self.env
            .get_template(&template)
            .and_then(|t| t.render(context))
            .map_err(|e| StepError::Render {
                line: 0,
                what: format!("`{name}`"),
                message: describe(&e),
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
        self.check_send(event, sender, fields).map(drop)
    }

    /// The states in which some transition takes `event`.
    pub fn states_taking(&self, event: &str) -> Vec<&str> {
        let protocol = &self.protocol;
        protocol
            .states
            .keys()
            .map(|state| state.as_str())
            .filter(|state| {
                !protocol.is_final(state) && !self.candidates.get(state, Some(event)).is_empty()
            })
            .collect()
    }

    /// The job as the run's vars make it: its command, log, followed files, checkpoint,
    /// resume arguments and stop grace, with every template rendered.
    pub fn job_plan(&self, instance: &Instance, now: DateTime<Utc>) -> Result<JobPlan, StepError> {
        let Some(job) = &self.protocol.job else {
            return Ok(JobPlan::default());
        };
        let context = context::build(self, instance, now, &instance.state);
        let render = |text: &str| {
            self.env
                .render_str(text, context.clone())
                .map_err(|e| StepError::Render {
                    line: job.span.line,
                    what: "of the job".into(),
                    message: describe(&e),
                })
        };
        let all = |texts: &[crate::span::Spanned<String>]| {
            texts
                .iter()
                .map(|text| render(text))
                .collect::<Result<Vec<_>, _>>()
        };
        let stop_grace = match &job.stop_grace {
            Some(text) => {
                crate::duration::parse(&render(text)?).map_err(|message| StepError::Render {
                    line: text.span.line,
                    what: "`stop_grace`".into(),
                    message,
                })?
            }
            None => DEFAULT_STOP_GRACE,
        };
        Ok(JobPlan {
            command: all(&job.command)?,
            log: Some(render(&job.log)?),
            follow: all(&job.follow)?,
            checkpoint: job
                .resume
                .as_ref()
                .map(|r| render(&r.when_exists))
                .transpose()?,
            resume_args: match &job.resume {
                Some(resume) => all(&resume.args)?,
                None => Vec::new(),
            },
            stop_grace,
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

    /// When the next timer is due, if one is active.
    pub fn next_deadline(&self, instance: &Instance) -> Option<DateTime<Utc>> {
        instance.timers.iter().filter_map(|t| t.due).min()
    }

    /// Checks a role's event against the protocol; returns its fields as template values.
    fn check_send(
        &self,
        event: &str,
        sender: &str,
        fields: &BTreeMap<String, serde_json::Value>,
    ) -> Result<BTreeMap<String, Value>, String> {
        let protocol = &self.protocol;
        let Some(def) = protocol.events.get(event) else {
            let known: Vec<&str> = protocol.events.keys().map(|k| k.as_str()).collect();
            return Err(format!(
                "no event `{event}` can be sent; the protocol's events are {}",
                known.join(", ")
            ));
        };
        if !protocol.roles.contains(sender) {
            return Err(format!("`{sender}` is not a role of this protocol"));
        }
        if !def.from.iter().any(|r| r == sender) {
            let allowed: Vec<&str> = def.from.iter().map(|r| r.as_str()).collect();
            return Err(format!(
                "`{sender}` may not send `{event}`; it comes from {}",
                allowed.join(", ")
            ));
        }
        if let Some(unknown) = fields.keys().find(|k| !def.fields.contains(k)) {
            let known: Vec<&str> = def.fields.keys().map(|k| k.as_str()).collect();
            return Err(format!(
                "`{event}` has no field `{unknown}`; its fields are {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ));
        }
        let mut values = BTreeMap::new();
        for (name, field) in def.fields.iter() {
            let value = match fields.get(name.as_str()) {
                Some(value) => typed(field.ty.value, value)
                    .map_err(|reason| format!("field `{}`: {reason}", name.as_str()))?,
                None if field.required => {
                    return Err(format!("`{event}` needs the field `{}`", name.as_str()))
                }
                None => Value::from(()),
            };
            values.insert(name.value.clone(), value);
        }
        Ok(values)
    }
}

/// `value` as a template value of type `ty`, or why it is not one.
fn typed(ty: ValueType, value: &serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    let wrong = || format!("expected {}, found `{value}`", ty.as_str());
    Ok(match (ty, value) {
        (_, J::Null) => Value::from(()),
        (ValueType::String, J::String(s)) => Value::from(s.as_str()),
        (ValueType::String, J::Number(n)) => Value::from(n.to_string()),
        (ValueType::Integer, J::Number(n)) => Value::from(n.as_i64().ok_or_else(wrong)?),
        (ValueType::Integer, J::String(s)) => {
            Value::from(s.trim().parse::<i64>().map_err(|_| wrong())?)
        }
        (ValueType::Number, J::Number(n)) => Value::from(n.as_f64().ok_or_else(wrong)?),
        (ValueType::Number, J::String(s)) => {
            Value::from(s.trim().parse::<f64>().map_err(|_| wrong())?)
        }
        (ValueType::Boolean, J::Bool(b)) => Value::from(*b),
        (ValueType::Boolean, J::String(s)) if s == "true" || s == "false" => {
            Value::from(s == "true")
        }
        (ValueType::Duration, J::String(s)) => DurationValue::value(crate::duration::parse(s)?),
        (ValueType::List, J::Array(_)) => Value::from(Serde(value)),
        (ValueType::List, J::String(s)) => Value::from(
            s.split(',')
                .map(|item| item.trim().to_owned())
                .filter(|item| !item.is_empty())
                .collect::<Vec<_>>(),
        ),
        _ => return Err(wrong()),
    })
}

/// One step in progress.
struct Step<'m> {
    machine: &'m Machine,
    instance: Instance,
    now: DateTime<Utc>,
    outcome: Outcome,
    /// The context as of the instance's last change, for a target, built on first use: the
    /// messages of one transition share it. Every change to what the context shows clears it
    /// (see `changed`).
    context: std::cell::RefCell<Option<(String, Value)>>,
    /// Single names of the context, built on demand for guards, cleared with it.
    names: std::cell::RefCell<BTreeMap<String, Value>>,
}

impl<'m> Step<'m> {
    fn new(machine: &'m Machine, instance: Instance, now: DateTime<Utc>) -> Step<'m> {
        Step {
            machine,
            outcome: Outcome {
                instance: Instance::placeholder(),
                transitions: Vec::new(),
                ignored: Vec::new(),
                refused: None,
            },
            instance,
            now,
            context: std::cell::RefCell::new(None),
            names: std::cell::RefCell::new(BTreeMap::new()),
        }
    }

    /// The instance or the time changed: the cached context is stale.
    fn changed(&mut self) {
        *self.context.get_mut() = None;
        self.names.get_mut().clear();
    }

    /// A context holding only `reads` (and `target`): what a guard needs, each name built once
    /// per change of the instance.
    /// The value of one top-level name of the context for a transition into `target`, built
    /// once per change of the instance.
    fn name_value(&self, name: &str, target: &str) -> Option<Value> {
        if name == "target" {
            return Some(Value::from(target));
        }
        let mut cache = self.names.borrow_mut();
        let value = match cache.get(name) {
            Some(value) => value.clone(),
            None => {
                let value = context::value_of(self.machine, &self.instance, self.now, name)
                    .unwrap_or(Value::UNDEFINED);
                cache.insert(name.to_owned(), value.clone());
                value
            }
        };
        (!value.is_undefined()).then_some(value)
    }

    fn context_of(&self, reads: &[String], target: &str) -> Value {
        let mut cache = self.names.borrow_mut();
        let mut names = Vec::with_capacity(reads.len() + 1);
        for name in reads {
            let value = match cache.get(name) {
                Some(value) => value.clone(),
                None => {
                    let value = context::value_of(self.machine, &self.instance, self.now, name);
                    let value = value.unwrap_or(Value::UNDEFINED);
                    cache.insert(name.clone(), value.clone());
                    value
                }
            };
            if !value.is_undefined() {
                names.push((name.clone(), value));
            }
        }
        names.push(("target".to_owned(), Value::from(target)));
        context::Names::value(names)
    }

    fn finish(mut self) -> Outcome {
        self.outcome.instance = self.instance;
        self.outcome
    }

    fn protocol(&self) -> &'m Protocol {
        &self.machine.protocol
    }

    fn context(&self, target: &str) -> Value {
        let mut cached = self.context.borrow_mut();
        match &*cached {
            Some((for_target, context)) if for_target == target => context.clone(),
            _ => {
                let context = context::build(self.machine, &self.instance, self.now, target);
                *cached = Some((target.to_owned(), context.clone()));
                context
            }
        }
    }

    /// Renders the job's command, log and checkpoint from the vars, for `job`.
    fn describe_job(&mut self) -> Result<(), StepError> {
        let Some(job) = &self.protocol().job else {
            return Ok(());
        };
        let context = self.context(&self.instance.state.clone());
        let render = |text: &str| {
            self.machine
                .env
                .render_str(text, context.clone())
                .map_err(|e| StepError::Render {
                    line: job.span.line,
                    what: "of the job".into(),
                    message: describe(&e),
                })
        };
        let command = job
            .command
            .iter()
            .map(|part| render(part))
            .collect::<Result<Vec<_>, _>>()?;
        let log = render(&job.log)?;
        let checkpoint = job
            .resume
            .as_ref()
            .map(|r| render(&r.when_exists))
            .transpose()?;
        let info = Arc::make_mut(&mut self.instance.job);
        info.command = command;
        info.log = log;
        info.checkpoint = checkpoint;
        Ok(())
    }

    /// Offers `event` to the current state's transitions; the first whose guard holds is taken,
    /// then the eventless ones after it.
    fn dispatch(
        &mut self,
        event: &str,
        sender: Option<String>,
        fields: BTreeMap<String, Value>,
        incident: Option<Arc<Incident>>,
    ) -> Result<(), StepError> {
        let from = self.instance.state.clone();
        if !self.protocol().is_final(&from) {
            self.instance.event = EventInfo {
                name: event.to_owned(),
                at: self.now,
                sender: sender.clone(),
                fields: fields.clone(),
            };
            self.changed();
            let chosen = self.choose(Some(event))?;
            if let Some(index) = chosen {
                self.take(index, incident, fields)?;
                return self.eventless();
            }
        }
        self.outcome.ignored.push(event.to_owned());
        self.instance.history.push_back(Arc::new(HistoryEntry {
            at: self.now,
            from: from.clone(),
            to: from,
            event: Some(event.to_owned()),
            transition: None,
            incident,
            fields,
        }));
        Ok(())
    }

    /// The first transition from the current state on `event` whose guard holds.
    fn choose(&self, event: Option<&str>) -> Result<Option<usize>, StepError> {
        let protocol = self.protocol();
        let state = self.instance.state.as_str();
        let candidates = self.machine.candidates.get(state, event);
        for &index in candidates {
            let Some(guard) = &self.machine.guards[index] else {
                return Ok(Some(index));
            };
            let transition = &protocol.transitions[index];
            let target = transition.to.as_ref().map_or(state, |to| to.as_str());
            if let Some(native) = &guard.native {
                let lookup = |name: &str| self.name_value(name, target);
                if let Some(holds) = guard::holds(native, &lookup) {
                    if holds {
                        return Ok(Some(index));
                    }
                    continue;
                }
            }
            let holds = self
                .machine
                .env
                .get_template(&guard.template)
                .and_then(|t| t.render(self.context_of(&guard.reads, target)))
                .map_err(|e| StepError::Guard {
                    line: transition.span.line,
                    message: describe(&e),
                })?;
            if holds == "1" {
                return Ok(Some(index));
            }
        }
        Ok(None)
    }

    /// Takes eventless transitions until none applies.
    fn eventless(&mut self) -> Result<(), StepError> {
        for _ in 0..MAX_EVENTLESS {
            if self.protocol().is_final(&self.instance.state) {
                return Ok(());
            }
            match self.choose(None)? {
                Some(index) => self.take(index, None, BTreeMap::new())?,
                None => return Ok(()),
            }
        }
        Err(StepError::EventlessLoop {
            state: self.instance.state.clone(),
        })
    }

    /// Takes transition `index`: `set`, `count`, `send`, `do`, then enters its target.
    fn take(
        &mut self,
        index: usize,
        incident: Option<Arc<Incident>>,
        fields: BTreeMap<String, Value>,
    ) -> Result<(), StepError> {
        let protocol = self.protocol();
        let transition = &protocol.transitions[index];
        let line = transition.span.line;
        let from = self.instance.state.clone();
        let to = transition
            .to
            .as_ref()
            .map_or_else(|| from.clone(), |to| to.value.clone());

        // `set`: every expression sees the context before any is assigned.
        if !transition.set.is_empty() {
            let context = self.context(&to);
            let mut values = Vec::with_capacity(transition.set.len());
            for (key, expression) in transition.set.iter() {
                let error = |e: minijinja::Error| StepError::Set {
                    line,
                    key: key.value.clone(),
                    message: describe(&e),
                };
                let value = self
                    .machine
                    .env
                    .compile_expression(expression)
                    .and_then(|e| e.eval(context.clone()))
                    .map_err(error)?;
                values.push((key.value.clone(), value));
            }
            Arc::make_mut(&mut self.instance.vars).extend(values);
            self.changed();
        }
        for counter in &transition.count {
            *Arc::make_mut(&mut self.instance.counters)
                .entry(counter.value.clone())
                .or_default() += 1;
            self.changed();
        }
        let mut messages = Vec::with_capacity(transition.send.len());
        if !transition.send.is_empty() {
            for (k, send) in transition.send.iter().enumerate() {
                let (name, what) = match &send.template {
                    Some(template) => (
                        format!("message:{}", template.as_str()),
                        format!("`{}`", template.as_str()),
                    ),
                    None => (format!("text:{index}:{k}"), "text".to_owned()),
                };
                // Only the names the message reads: a render does not build the rest.
                let context = match self.machine.reads.get(&name) {
                    Some(reads) => self.context_of(reads, &to),
                    None => self.context(&to),
                };
                let text = self
                    .machine
                    .env
                    .get_template(&name)
                    .and_then(|t| t.render(context))
                    .map_err(|e| StepError::Render {
                        line,
                        what,
                        message: describe(&e),
                    })?;
                self.instance.messages_sent += 1;
                messages.push(Message {
                    seq: self.instance.messages_sent,
                    at: self.now,
                    from: send.from.value.clone(),
                    to: send.to.iter().map(|r| r.value.clone()).collect(),
                    template: send.template.as_ref().map(|t| t.value.clone()),
                    transition: index,
                    text,
                });
            }
        }
        self.instance.history.push_back(Arc::new(HistoryEntry {
            at: self.now,
            from: from.clone(),
            to: to.clone(),
            event: transition.on.as_ref().map(|on| on.value.clone()),
            transition: Some(index),
            incident,
            fields,
        }));
        self.outcome.transitions.push(Taken {
            transition: index,
            from: from.clone(),
            to: to.clone(),
            event: transition.on.as_ref().map(|on| on.value.clone()),
            at: self.now,
            messages,
            effects: transition.effects.iter().map(|e| e.value).collect(),
        });
        self.enter(&from, &to, false)
    }

    /// Enters `to` from `from`: timers whose `while` covers both go on, the others stop or start.
    fn enter(&mut self, from: &str, to: &str, starting: bool) -> Result<(), StepError> {
        let protocol = self.protocol();
        self.instance.state = to.to_owned();
        self.changed();
        if protocol.is_final(to) {
            self.instance.timers.clear();
            return Ok(());
        }
        let mut timers = Vec::new();
        for (index, timer) in protocol.timers.iter().enumerate() {
            let covers = |state: &str| timer.while_in.iter().any(|s| s == state);
            if !covers(to) {
                continue;
            }
            let running = self.instance.timers.iter().find(|t| t.timer == index);
            match running {
                Some(active) if covers(from) && !starting => timers.push(active.clone()),
                _ => {
                    let period = self.duration(index)?;
                    timers.push(ActiveTimer {
                        timer: index,
                        event: timer.event.value.clone(),
                        due: Some(self.now + period),
                        every: timer
                            .every
                            .is_some()
                            .then(|| period.to_std().unwrap_or_default()),
                    });
                }
            }
        }
        self.instance.timers = timers;
        Ok(())
    }

    fn duration(&self, index: usize) -> Result<chrono::TimeDelta, StepError> {
        let timer = &self.protocol().timers[index];
        let error = |message: String| StepError::Timer {
            line: timer.span.line,
            message,
        };
        let text = self
            .machine
            .env
            .get_template(&format!("timer:{index}"))
            .and_then(|t| t.render(self.context(&self.instance.state)))
            .map_err(|e| error(describe(&e)))?;
        let duration: Duration = crate::duration::parse(&text).map_err(error)?;
        if duration.is_zero() && timer.every.is_some() {
            return Err(error("a timer cannot fire every 0s".into()));
        }
        chrono::TimeDelta::from_std(duration).map_err(|e| error(e.to_string()))
    }

    /// Fires every timer due by now, earliest first, each at its own due time.
    fn fire_due_timers(&mut self) -> Result<(), StepError> {
        let end = self.now;
        loop {
            let next = self
                .instance
                .timers
                .iter()
                .enumerate()
                .filter_map(|(i, t)| t.due.filter(|due| *due <= end).map(|due| (due, i)))
                .min();
            let Some((due, position)) = next else { break };
            let timer = &mut self.instance.timers[position];
            timer.due = timer
                .every
                .and_then(|every| chrono::TimeDelta::from_std(every).ok())
                .map(|every| due + every);
            let event = timer.event.clone();
            self.now = due;
            self.changed();
            self.dispatch(&event, None, BTreeMap::new(), None)?;
        }
        self.now = end;
        self.changed();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
