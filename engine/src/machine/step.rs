//! One step in progress: an event offered to the edges out of the current state, the first
//! whose guard holds taken (`set`, `count`, `send`, `do`, then its target entered), the
//! eventless transitions after it, and the timers that entering a state starts or stops.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use minijinja::Value;
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;

use super::compile::{Compiled, Render};
use super::instance::{ActiveTimer, EventInfo, HistoryEntry, Instance};
use super::{context, guard, Machine, Message, Outcome, StepError, Taken, MAX_EVENTLESS};
use crate::classify::Incident;

/// A transition chosen: its index in the protocol, and the state it enters.
#[derive(Clone, Copy)]
pub(super) struct Chosen {
    pub(super) transition: usize,
    pub(super) target: NodeIndex,
}

/// One step in progress.
pub(super) struct Step<'m> {
    pub(super) machine: &'m Machine,
    pub(super) instance: Instance,
    pub(super) now: DateTime<Utc>,
    pub(super) outcome: Outcome,
    /// Single names of the context, built on demand and kept until the instance or the time
    /// changes (see `changed`): the guards and messages of one transition share them.
    names: RefCell<BTreeMap<String, Value>>,
    /// The state a gate failed in during this step: its eventless transitions are not tried
    /// again until the next input (they would choose the same gated transition again).
    pub(super) gate_failed_in: Option<String>,
}

impl<'m> Step<'m> {
    pub(super) fn new(machine: &'m Machine, instance: Instance, now: DateTime<Utc>) -> Step<'m> {
        Step {
            machine,
            outcome: Outcome {
                instance: Instance::placeholder(),
                transitions: Vec::new(),
                ignored: Vec::new(),
                refused: None,
                gates: Vec::new(),
                checks: Vec::new(),
                held: Vec::new(),
                unrendered: Vec::new(),
                fired: 0,
            },
            instance,
            now,
            names: RefCell::new(BTreeMap::new()),
            gate_failed_in: None,
        }
    }

    /// The instance or the time changed: the names built are stale.
    pub(super) fn changed(&mut self) {
        self.names.get_mut().clear();
    }

    pub(super) fn compiled(&self) -> &'m Compiled<'m> {
        self.machine.compiled()
    }

    /// The value of one top-level name of the context for a transition into `target`, built
    /// once per change of the instance; `None` for a name the context does not have.
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

    /// A context holding only `reads` (and `target`), from the names built.
    pub(super) fn context_of(&self, reads: &[String], target: &str) -> Value {
        context::subset(reads, target, |name| self.name_value(name, target))
    }

    pub(super) fn render(
        &self,
        render: &Render<'_>,
        target: &str,
    ) -> Result<String, minijinja::Error> {
        crate::expr::render(&render.template, self.context_of(&render.reads, target))
    }

    pub(super) fn finish(mut self) -> Outcome {
        self.outcome.instance = self.instance;
        self.outcome
    }

    /// The node of the current state.
    fn node(&self) -> Option<NodeIndex> {
        self.machine.graph.node(&self.instance.state)
    }

    fn is_final(&self, node: Option<NodeIndex>) -> bool {
        node.is_some_and(|node| self.machine.graph.state(node).is_final)
    }

    /// Renders the job's command, log and checkpoint from the vars, for `job`.
    pub(super) fn describe_job(&mut self) -> Result<(), StepError> {
        let Some(job) = &self.compiled().job else {
            return Ok(());
        };
        let state = self.instance.state.clone();
        let render = |render: &Render<'_>| {
            self.render(render, &state).map_err(|e| StepError::Render {
                line: job.line,
                what: "of the job".into(),
                source: Arc::new(e),
            })
        };
        let command = job.command.iter().map(render).collect::<Result<_, _>>()?;
        let log = render(&job.log)?;
        let checkpoint = job.checkpoint.as_ref().map(render).transpose()?;
        let artifacts = job
            .artifacts
            .iter()
            .map(|(name, path)| Ok((name.clone(), render(path)?)))
            .collect::<Result<_, StepError>>()?;
        if let Some(cadence) = &job.cadence {
            let duration = |render: &Option<Render<'_>>| -> Result<_, StepError> {
                let Some(render) = render else {
                    return Ok(None);
                };
                let text = self.render(render, &state).map_err(|e| StepError::Render {
                    line: cadence.line,
                    what: "`cadence`".into(),
                    source: Arc::new(e),
                })?;
                crate::duration::parse(&text)
                    .map(Some)
                    .map_err(|message| StepError::Duration {
                        what: "`cadence`",
                        line: cadence.line,
                        message,
                    })
            };
            let (min, max) = (duration(&cadence.min)?, duration(&cadence.max)?);
            let facts = Arc::make_mut(&mut self.instance.cadence);
            facts.min = min;
            facts.max = max;
        }
        let info = Arc::make_mut(&mut self.instance.job);
        info.command = command;
        info.log = log;
        info.checkpoint = checkpoint;
        info.artifacts = artifacts;
        Ok(())
    }

    /// Offers `event` to the current state's transitions; the first whose guard holds is taken,
    /// then the eventless ones after it. An incident in a state with no transition on
    /// `incident` is held until the run enters one that has.
    pub(super) fn dispatch(
        &mut self,
        event: &str,
        sender: Option<String>,
        fields: BTreeMap<String, Value>,
        incident: Option<Arc<Incident>>,
    ) -> Result<(), StepError> {
        self.offer(event, sender, fields, incident, false)
    }

    /// [`dispatch`](Self::dispatch); for the incident of a failed gate, `gated` transitions
    /// are passed over, so that a gate never stands between a run and its own failure.
    pub(super) fn offer(
        &mut self,
        event: &str,
        sender: Option<String>,
        fields: BTreeMap<String, Value>,
        incident: Option<Arc<Incident>>,
        failed_gate: bool,
    ) -> Result<(), StepError> {
        // A failed gate's incident, held and offered later, still passes over gated transitions.
        let failed_gate = failed_gate || incident.as_ref().is_some_and(|i| i.gate.is_some());
        let from = self.instance.state.clone();
        let node = self.node();
        if !self.is_final(node) {
            self.instance.event = EventInfo {
                name: event.to_owned(),
                at: self.now,
                sender: sender.clone(),
                fields: fields.clone(),
            };
            self.changed();
            // An event no transition is written on has no candidates anywhere.
            if let (Some(node), Some(id)) = (node, self.machine.graph.event(event)) {
                if let Some(chosen) = self.choose(node, Some(id), failed_gate)? {
                    self.attempt(chosen, incident, fields)?;
                    return self.eventless();
                }
            }
            if let Some(incident) = incident.as_ref().filter(|_| !self.takes_incidents()) {
                self.hold(incident.clone());
                return Ok(());
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

    /// Whether the current state has a transition on `incident`.
    fn takes_incidents(&self) -> bool {
        let state = &self.instance.state;
        self.machine
            .graph
            .transitions_from(state, Some("incident"))
            .next()
            .is_some()
    }

    /// Keeps `incident` until a state can take it.
    fn hold(&mut self, incident: Arc<Incident>) {
        let summary = format!(
            "{} ({}) for {}: {} (held in `{}`)",
            incident.category,
            incident.severity.as_str(),
            incident.owner,
            incident.line,
            self.instance.state
        );
        self.outcome.held.push(summary);
        Arc::make_mut(&mut self.instance.held).push(incident);
        self.changed();
    }

    /// Offers the incidents held, oldest first, once the run is in a state that takes
    /// incidents and is not waiting for gates. Not while a launch is under way: they are offered
    /// once the job has started, when the job's facts are the new process's.
    pub(super) fn deliver_held(&mut self) -> Result<(), StepError> {
        while !self.instance.launching
            && self.instance.pending.is_none()
            && !self.instance.held.is_empty()
            && !self.is_final(self.node())
            && self.takes_incidents()
        {
            let incident = Arc::make_mut(&mut self.instance.held).remove(0);
            self.instance.incident = Some(incident.clone());
            self.changed();
            self.offer("incident", None, BTreeMap::new(), Some(incident), false)?;
        }
        Ok(())
    }

    /// The first edge out of `node` on `event` whose guard holds.
    fn choose(
        &self,
        node: NodeIndex,
        event: Option<crate::graph::EventId>,
        skip_gated: bool,
    ) -> Result<Option<Chosen>, StepError> {
        let graph = &self.machine.graph;
        for edge in graph.candidates(node, event) {
            let chosen = Chosen {
                transition: edge.weight().transition(),
                target: edge.target(),
            };
            let compiled = &self.compiled().transitions[chosen.transition];
            if skip_gated && !compiled.gates.is_empty() {
                continue;
            }
            let Some(guard) = &compiled.guard else {
                return Ok(Some(chosen));
            };
            let target = graph.state(chosen.target).id.as_str();
            if let Some(native) = &guard.native {
                let lookup = |name: &str| self.name_value(name, target);
                if let Some(holds) = guard::holds(native, &lookup) {
                    if holds {
                        return Ok(Some(chosen));
                    }
                    continue;
                }
            }
            let holds = self
                .render(&guard.render, target)
                .map_err(|e| StepError::Guard {
                    line: compiled.line,
                    source: Arc::new(e),
                })?;
            if holds == "1" {
                return Ok(Some(chosen));
            }
        }
        Ok(None)
    }

    /// Takes eventless transitions until none applies (or one waits for its gates).
    pub(super) fn eventless(&mut self) -> Result<(), StepError> {
        for _ in 0..MAX_EVENTLESS {
            if self.instance.pending.is_some() {
                return Ok(());
            }
            if self.gate_failed_in.as_ref() == Some(&self.instance.state) {
                return Ok(());
            }
            let node = self.node();
            let Some(node) = node.filter(|_| !self.is_final(node)) else {
                return Ok(());
            };
            match self.choose(node, None, false)? {
                Some(chosen) => self.attempt(chosen, None, BTreeMap::new())?,
                None => return Ok(()),
            }
        }
        Err(StepError::EventlessLoop {
            state: self.instance.state.clone(),
        })
    }

    /// Takes a transition: `set`, `count`, `send`, `do`, then enters its target.
    pub(super) fn take(
        &mut self,
        chosen: Chosen,
        incident: Option<Arc<Incident>>,
        fields: BTreeMap<String, Value>,
    ) -> Result<(), StepError> {
        let index = chosen.transition;
        let transition = &self.compiled().transitions[index];
        let line = transition.line;
        let from = self.instance.state.clone();
        let to = self.machine.graph.state(chosen.target).id.clone();

        // `set`: every expression sees the context before any is assigned.
        if !transition.set.is_empty() {
            let mut values = Vec::with_capacity(transition.set.len());
            for set in &transition.set {
                let value = set
                    .expression
                    .eval(self.context_of(&set.reads, &to))
                    .map_err(|e| StepError::Set {
                        line,
                        key: set.key.clone(),
                        source: Arc::new(e),
                    })?;
                values.push((set.key.clone(), value));
            }
            Arc::make_mut(&mut self.instance.vars).extend(values);
            self.changed();
        }
        for counter in &transition.count {
            *Arc::make_mut(&mut self.instance.counters)
                .entry(counter.clone())
                .or_default() += 1;
            self.changed();
        }
        let mut messages = Vec::with_capacity(transition.send.len());
        for send in &transition.send {
            let mut roles = send.to.clone();
            let text = match self.render(&send.body, &to) {
                Ok(text) => text,
                // A message that cannot be rendered does not stop the run: the transition is
                // taken, and the message goes out with its failure marked, to the owner of
                // uncategorized incidents too.
                Err(error) => {
                    let failure = StepError::Render {
                        line,
                        what: send.what.clone(),
                        source: Arc::new(error),
                    }
                    .to_string();
                    let owner = self.machine.rules.uncategorized_owner();
                    if !roles.iter().any(|role| role == owner) {
                        roles.push(owner.to_owned());
                    }
                    let text = unrendered(&failure, &from, &to, owner);
                    self.outcome.unrendered.push(failure);
                    text
                }
            };
            self.instance.messages_sent += 1;
            messages.push(Message {
                seq: self.instance.messages_sent,
                at: self.now,
                from: send.from.clone(),
                to: roles,
                template: send.template.clone(),
                transition: Some(index),
                text,
            });
        }
        self.instance.history.push_back(Arc::new(HistoryEntry {
            at: self.now,
            from: from.clone(),
            to: to.to_string(),
            event: transition.event.clone(),
            transition: Some(index),
            incident,
            fields,
        }));
        if transition.effects.iter().any(|e| {
            matches!(
                e,
                crate::protocol::Effect::Launch | crate::protocol::Effect::Restart
            )
        }) {
            self.instance.launching = true;
        }
        self.outcome.transitions.push(Taken {
            transition: index,
            from: from.clone(),
            to: to.to_string(),
            event: transition.event.clone(),
            at: self.now,
            messages,
            effects: transition.effects.clone(),
        });
        self.enter(&from, &to, false)
    }

    /// Enters `to` from `from`: timers whose `while` covers both go on, the others stop or start.
    pub(super) fn enter(&mut self, from: &str, to: &str, starting: bool) -> Result<(), StepError> {
        let protocol = self.machine.protocol();
        self.instance.state = to.to_owned();
        self.changed();
        if self.machine.graph.is_final(to) {
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
                    // A duration can be long enough to pass the last date there is.
                    let due =
                        self.now
                            .checked_add_signed(period)
                            .ok_or_else(|| StepError::Duration {
                                what: "the timer",
                                line: timer.span.line(),
                                message: format!(
                                    "{} from now is past the last date Warden can keep",
                                    crate::duration::format(period.to_std().unwrap_or_default())
                                ),
                            })?;
                    timers.push(ActiveTimer {
                        timer: index,
                        event: timer.event.to_string(),
                        due: Some(due),
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
        let timer = &self.machine.protocol().timers[index];
        let line = timer.span.line();
        let invalid = |message: String| StepError::Duration {
            what: "the timer",
            line,
            message,
        };
        let Some(render) = &self.compiled().timers[index] else {
            return Err(invalid("the timer has neither `every` nor `after`".into()));
        };
        let text = self
            .render(render, &self.instance.state)
            .map_err(|e| StepError::Timer {
                line,
                source: Arc::new(e),
            })?;
        let duration: Duration = crate::duration::parse(&text).map_err(invalid)?;
        if duration < super::MIN_EVERY && timer.every.is_some() {
            let every = crate::duration::format(duration);
            return Err(invalid(format!(
                "a timer cannot fire every {every}: at most once a second"
            )));
        }
        chrono::TimeDelta::from_std(duration).map_err(|e| invalid(e.to_string()))
    }

    /// Fires every timer due by now, earliest first, each at its own due time.
    pub(super) fn fire_due_timers(&mut self) -> Result<(), StepError> {
        let end = self.now;
        loop {
            let next = self
                .instance
                .timers
                .iter()
                .enumerate()
                .filter_map(|(i, t)| t.due.filter(|due| *due <= end).map(|due| (due, i)))
                .min();
            let Some((mut due, position)) = next else {
                break;
            };
            // A transition waits for its gates: the other timers fire once it is taken up.
            if self.instance.pending.is_some() {
                break;
            }
            if let Some(limit) = self.machine.firing_limit {
                if self.outcome.fired >= limit {
                    return Err(StepError::TooManyFirings { limit, due });
                }
            }
            self.outcome.fired += 1;
            let timer = &mut self.instance.timers[position];
            if self.machine.missed_once {
                if let Some(last) = timer.every.and_then(|every| last_due(due, every, end)) {
                    due = last;
                }
            }
            timer.due = timer
                .every
                .and_then(|every| chrono::TimeDelta::from_std(every).ok())
                // Past the last date there is, it is never due again.
                .and_then(|every| due.checked_add_signed(every));
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

/// The last time at or before `end` that a timer due at `due`, every `every`, falls due.
fn last_due(due: DateTime<Utc>, every: Duration, end: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let every = i64::try_from(every.as_millis()).ok().filter(|ms| *ms > 0)?;
    let periods = (end - due).num_milliseconds() / every;
    let skip = chrono::TimeDelta::try_milliseconds(periods.checked_mul(every)?)?;
    due.checked_add_signed(skip)
}

/// The text sent in place of a message that failed to render.
fn unrendered(failure: &str, from: &str, to: &str, owner: &str) -> String {
    format!(
        "> **Warden could not render this message.**\n>\n> {failure}\n>\n> The transition \
         from `{from}` to `{to}` was taken all the same, and `{owner}` is told. Fix the \
         template; `warden check` shows where it may read a name that is not there.\n"
    )
}
