//! What a scenario expects: the state, counters and messages after a step (a step's `expect:`)
//! or at the end (the scenario's `expect:`).

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::machine::{Instance, Message};
use crate::protocol::Protocol;

/// What must hold after a step, or at the end of the scenario.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The state the run is in.
    #[serde(default)]
    pub state: Option<String>,
    /// Counters and their values; a counter not named is not checked.
    #[serde(default)]
    pub counters: BTreeMap<String, u64>,
    /// The messages sent: in the step, for a step's `expect`; in the whole run, at the end.
    #[serde(default)]
    pub messages: Option<ExpectMessages>,
}

/// What the messages sent must be.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectMessages {
    /// How many messages were sent.
    #[serde(default)]
    pub count: Option<usize>,
    /// Messages that were sent, in this order (others may come between them).
    #[serde(default)]
    pub include: Vec<MessageMatch>,
}

/// A message that must have been sent: every field given must match it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageMatch {
    /// The sending role.
    #[serde(default)]
    pub from: Option<String>,
    /// A receiving role (the message may go to others too).
    #[serde(default)]
    pub to: Option<String>,
    /// The template it was rendered from.
    #[serde(default)]
    pub template: Option<String>,
    /// Text the message contains.
    #[serde(default)]
    pub contains: Option<String>,
}

impl MessageMatch {
    fn matches(&self, message: &Message) -> bool {
        self.from.as_ref().is_none_or(|from| *from == message.from)
            && self.to.as_ref().is_none_or(|to| message.to.contains(to))
            && self
                .template
                .as_ref()
                .is_none_or(|t| message.template.as_ref() == Some(t))
            && self
                .contains
                .as_ref()
                .is_none_or(|text| message.text.contains(text.as_str()))
    }
}

impl fmt::Display for MessageMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(from) = &self.from {
            parts.push(format!("from {from}"));
        }
        if let Some(to) = &self.to {
            parts.push(format!("to {to}"));
        }
        if let Some(template) = &self.template {
            parts.push(format!("from the template {template}"));
        }
        if let Some(text) = &self.contains {
            parts.push(format!("containing {text:?}"));
        }
        if parts.is_empty() {
            f.write_str("any message")
        } else {
            write!(f, "a message {}", parts.join(", "))
        }
    }
}

/// Where an expectation was, and what did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet {
    /// The step whose `expect` it is, from 1; `None` for the scenario's own.
    pub step: Option<usize>,
    /// What did not hold.
    pub what: String,
}

impl fmt::Display for Unmet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.step {
            Some(step) => write!(f, "after step {step}: {}", self.what),
            None => write!(f, "at the end: {}", self.what),
        }
    }
}

/// The unmet expectations, worded for an error.
pub(super) fn words(unmet: &[Unmet]) -> String {
    let listed: Vec<String> = unmet.iter().map(Unmet::to_string).collect();
    match listed.len() {
        1 => format!("expectation not met {}", listed[0]),
        n => format!("{n} expectations not met: {}", listed.join("; ")),
    }
}

impl Expect {
    /// What is wrong with the expectation itself: a state, counter, role or template the
    /// protocol does not have (it could never hold, or never fail).
    pub(super) fn problems(&self, protocol: &Protocol, instance: &Instance) -> Vec<String> {
        let mut problems = Vec::new();
        let unknown = |kind: &str, name: &str, known: Vec<&str>| {
            let help = crate::suggest::did_you_mean(name, known.iter().copied())
                .map_or_else(String::new, |help| format!("; {help}"));
            format!("the protocol has no {kind} `{name}`{help}")
        };
        if let Some(state) = &self.state {
            if !protocol.states.contains(state) {
                problems.push(unknown(
                    "state",
                    state,
                    protocol.states.keys().map(|k| k.value.as_str()).collect(),
                ));
            }
        }
        for counter in self.counters.keys() {
            if !instance.counters.contains_key(counter) {
                let known: Vec<&str> = instance.counters.keys().map(String::as_str).collect();
                let mut problem = unknown("counter", counter, known.clone());
                if known.is_empty() {
                    problem.push_str(" (no transition counts one)");
                }
                problems.push(problem);
            }
        }
        let templates: std::collections::BTreeSet<&str> = protocol
            .transitions
            .iter()
            .flat_map(|t| &t.send)
            .filter_map(|send| send.template.as_ref().map(|t| t.value.as_str()))
            .collect();
        for wanted in self.messages.iter().flat_map(|m| &m.include) {
            if let Some(template) = &wanted.template {
                if !templates.contains(template.as_str()) {
                    let mut problem = unknown(
                        "message template",
                        template,
                        templates.iter().copied().collect(),
                    );
                    problem.push_str(" (no transition sends it)");
                    problems.push(problem);
                }
            }
            for role in wanted.from.iter().chain(&wanted.to) {
                if !protocol.roles.contains(role) {
                    problems.push(unknown(
                        "role",
                        role,
                        protocol.roles.keys().map(|k| k.value.as_str()).collect(),
                    ));
                }
            }
        }
        problems
    }

    /// What does not hold of `instance`, given the messages sent (in the step or the run).
    pub(super) fn check(&self, instance: &Instance, messages: &[&Message]) -> Vec<String> {
        let mut unmet = Vec::new();
        if let Some(state) = &self.state {
            if *state != instance.state {
                unmet.push(format!(
                    "expected the state `{state}`, the run is in `{}`",
                    instance.state
                ));
            }
        }
        for (counter, expected) in &self.counters {
            let actual = instance.counters.get(counter).copied().unwrap_or(0);
            if actual != *expected {
                unmet.push(format!(
                    "expected the counter `{counter}` at {expected}, it is at {actual}"
                ));
            }
        }
        if let Some(expected) = &self.messages {
            if let Some(count) = expected.count {
                if count != messages.len() {
                    let plural = |n: usize| if n == 1 { "message" } else { "messages" };
                    unmet.push(format!(
                        "expected {count} {} sent, {} {} sent",
                        plural(count),
                        messages.len(),
                        if messages.len() == 1 { "was" } else { "were" }
                    ));
                }
            }
            // In order: each wanted message is looked for after the one the last matched.
            let mut rest = messages.iter();
            for wanted in &expected.include {
                if !rest.any(|message| wanted.matches(message)) {
                    let after = if expected.include.len() > 1 {
                        " (in the order listed)"
                    } else {
                        ""
                    };
                    unmet.push(format!("expected {wanted} sent{after}, none was"));
                    break;
                }
            }
        }
        unmet
    }
}
