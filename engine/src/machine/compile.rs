//! Compiling a protocol for running. Every guard, `set` expression, message, timer duration and
//! field of the job is compiled once, into the protocol's one template environment, and the
//! compiled transitions hold the handles of their templates: a step looks nothing up by name
//! and parses nothing. A guard or message text written on many transitions is compiled once,
//! under the name of the first.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use minijinja::{Environment, Expression, Template};

use super::{guard, CompileError};
use crate::protocol::{Effect, Protocol, TemplateSource};
use crate::span::{Spanned, Str};

/// What a template of the environment is. Its name in the environment is made from this, and
/// is what minijinja's errors name.
#[derive(Debug, Clone, Copy)]
enum Key<'a> {
    /// A message template of the templates folder.
    Message(&'a str),
    /// The inline `text:` of a transition's `send`.
    Text { transition: usize, send: usize },
    /// A transition's `if`.
    Guard(usize),
    /// A timer's `every` or `after`.
    Timer(usize),
    /// A field of `job`.
    Job(JobField),
    /// A template of a gate: the gate's index, the key, and the item's index in it.
    Gate(usize, &'static str, usize),
}

/// A field of `job` that is a template.
#[derive(Debug, Clone, Copy)]
enum JobField {
    Command(usize),
    Log,
    Follow(usize),
    Checkpoint,
    ResumeArg(usize),
    StopGrace,
    Artifact(usize),
    CadenceMin,
    CadenceMax,
    SlurmArg(usize),
}

impl fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Message(name) => write!(f, "message:{name}"),
            Key::Text { transition, send } => write!(f, "text:{transition}:{send}"),
            Key::Guard(transition) => write!(f, "guard:{transition}"),
            Key::Timer(timer) => write!(f, "timer:{timer}"),
            Key::Job(JobField::Command(i)) => write!(f, "job.command:{i}"),
            Key::Job(JobField::Log) => write!(f, "job.log"),
            Key::Job(JobField::Follow(i)) => write!(f, "job.follow:{i}"),
            Key::Job(JobField::Checkpoint) => write!(f, "job.resume.when_exists"),
            Key::Job(JobField::ResumeArg(i)) => write!(f, "job.resume.args:{i}"),
            Key::Job(JobField::StopGrace) => write!(f, "job.stop_grace"),
            Key::Job(JobField::Artifact(i)) => write!(f, "job.artifacts:{i}"),
            Key::Job(JobField::CadenceMin) => write!(f, "job.cadence.min"),
            Key::Job(JobField::CadenceMax) => write!(f, "job.cadence.max"),
            Key::Job(JobField::SlurmArg(i)) => write!(f, "job.slurm.args:{i}"),
            Key::Gate(gate, key, i) => write!(f, "gate:{gate}.{key}:{i}"),
        }
    }
}

self_cell::self_cell!(
    /// The protocol's template environment, with the compiled pieces that borrow from it. The
    /// environment is shared: the category rules' metric templates are in it too.
    pub(super) struct Program {
        owner: Arc<Environment<'static>>,
        #[covariant]
        dependent: Compiled,
    }
);

/// Everything of a protocol that a step evaluates, compiled.
pub(super) struct Compiled<'env> {
    /// By the transition's index in the protocol.
    pub transitions: Vec<CompiledTransition<'env>>,
    /// Each timer's duration, by the timer's index.
    pub timers: Vec<Option<Render<'env>>>,
    /// The message templates, by name.
    pub messages: BTreeMap<String, Render<'env>>,
    /// The job's fields, when the protocol has a `job`.
    pub job: Option<JobTemplates<'env>>,
    /// The gates, by name.
    pub gates: BTreeMap<String, CompiledGate<'env>>,
}

/// An expression, with the top-level names it reads.
pub(super) struct Expr<'env> {
    pub expression: Expression<'env, 'static>,
    pub reads: Vec<String>,
}

/// A gate, compiled.
pub(super) struct CompiledGate<'env> {
    /// Where it is written.
    pub line: u32,
    pub category: String,
    pub owner: Option<String>,
    pub severity: Option<crate::protocol::IncidentSeverity>,
    pub action: Option<String>,
    pub check: GateCheck<'env>,
}

/// What a gate checks, compiled.
pub(super) enum GateCheck<'env> {
    Expr {
        source: String,
        holds: Box<Expr<'env>>,
        value: Option<Box<Expr<'env>>>,
        reason: Option<Box<Render<'env>>>,
    },
    Command {
        argv: Vec<Render<'env>>,
        shell: bool,
        timeout: Option<Render<'env>>,
    },
    Files {
        paths: Vec<Render<'env>>,
        non_empty: bool,
        modified_after: Option<crate::protocol::Since>,
    },
    Table {
        path: Render<'env>,
        delimiter: Option<u8>,
        rows: Option<Box<Bounds<'env>>>,
        finite: bool,
        varying: bool,
        columns: Vec<(String, Bounds<'env>)>,
    },
}

/// Bounds, each an expression.
#[derive(Default)]
pub(super) struct Bounds<'env> {
    pub min: Option<Expr<'env>>,
    pub max: Option<Expr<'env>>,
    pub above: Option<Expr<'env>>,
    pub below: Option<Expr<'env>>,
}

/// A template, with the top-level names it reads: the context it is given holds only those.
#[derive(Clone)]
pub(super) struct Render<'env> {
    pub template: Template<'env, 'env>,
    pub reads: Vec<String>,
}

/// A transition, as a step takes it.
pub(super) struct CompiledTransition<'env> {
    /// Where it is written.
    pub line: u32,
    /// Its event.
    pub event: Option<String>,
    pub guard: Option<Guard<'env>>,
    /// The `set` keys, in file order.
    pub set: Vec<Set<'env>>,
    pub count: Vec<String>,
    pub send: Vec<Send<'env>>,
    pub effects: Vec<Effect>,
    /// The gates it requires, in order.
    pub gates: Vec<String>,
}

/// A `set` key, with its expression and the top-level names the expression reads.
pub(super) struct Set<'env> {
    pub key: String,
    pub expression: Expression<'env, 'static>,
    pub reads: Vec<String>,
}

/// A guard: its template, and its native form when it has a common shape (see [`guard`]).
#[derive(Clone)]
pub(super) struct Guard<'env> {
    pub render: Render<'env>,
    pub native: Option<guard::Node>,
}

/// A message a transition sends.
pub(super) struct Send<'env> {
    pub from: String,
    pub to: Vec<String>,
    /// The template's name, `None` for inline text.
    pub template: Option<String>,
    /// How errors name it: the template's name in backquotes, or `text`.
    pub what: String,
    pub body: Render<'env>,
}

/// The templates of `job`.
pub(super) struct JobTemplates<'env> {
    /// Where `job` is written.
    pub line: u32,
    pub command: Vec<Render<'env>>,
    pub log: Render<'env>,
    pub follow: Vec<Render<'env>>,
    pub checkpoint: Option<Render<'env>>,
    pub resume_args: Vec<Render<'env>>,
    /// `stop_grace`, with its line.
    pub stop_grace: Option<(u32, Render<'env>)>,
    /// The artifacts' paths, by name.
    pub artifacts: Vec<(String, Render<'env>)>,
    /// `cadence`: its `min` and `max`, and the record key of a record's time.
    pub cadence: Option<CadenceTemplates<'env>>,
    /// `slurm.args`.
    pub slurm_args: Vec<Render<'env>>,
}

/// The templates of `job.cadence`.
pub(super) struct CadenceTemplates<'env> {
    pub line: u32,
    pub min: Option<Render<'env>>,
    pub max: Option<Render<'env>>,
    pub key: String,
}

/// Compiles every template of `protocol` into one environment.
pub(super) fn program(
    protocol: &Protocol,
    templates: &BTreeMap<String, TemplateSource>,
) -> Result<Program, CompileError> {
    let mut env = crate::expr::environment();
    let mut add = |key: Key<'_>, source: String, what: String| {
        crate::expr::placeable(&source)
            .and_then(|()| env.add_template_owned(key.to_string(), source))
            .map_err(|source| CompileError::Template { what, source })
    };
    for (name, template) in templates {
        let what = format!("template `{name}`");
        add(Key::Message(name), template.text.to_string(), what)?;
    }
    let firsts = Firsts::of(protocol);
    for (index, transition) in protocol.transitions.iter().enumerate() {
        if let Some(guard) = transition
            .guard
            .as_ref()
            .filter(|_| firsts.guard[index] == index)
        {
            let source = format!("{{% if {} %}}1{{% endif %}}", guard.as_str());
            let what = format!("the guard on line {}", transition.span.line());
            add(Key::Guard(index), source, what)?;
        }
        for (k, send) in transition.send.iter().enumerate() {
            if let Some(text) = &send.text {
                if firsts.text(index, k) != (index, k) {
                    continue;
                }
                let key = Key::Text {
                    transition: index,
                    send: k,
                };
                let what = format!("the message text on line {}", text.span.line());
                add(key, text.to_string(), what)?;
            } else if let Some(name) = &send.template {
                if !templates.contains_key(name.as_str()) {
                    return Err(CompileError::MissingTemplate(name.to_string()));
                }
            }
        }
    }
    for (index, timer) in protocol.timers.iter().enumerate() {
        if let Some(duration) = timer.every.as_ref().or(timer.after.as_ref()) {
            let what = format!("the timer on line {}", timer.span.line());
            add(Key::Timer(index), duration.to_string(), what)?;
        }
    }
    if let Some(job) = &protocol.job {
        let mut field = |field: JobField, text: &Spanned<Str>| {
            let what = format!("`{}` on line {}", Key::Job(field), text.span.line());
            add(Key::Job(field), text.to_string(), what)
        };
        for (i, part) in job.command.iter().enumerate() {
            field(JobField::Command(i), part)?;
        }
        field(JobField::Log, &job.log)?;
        for (i, file) in job.follow.iter().enumerate() {
            field(JobField::Follow(i), file)?;
        }
        if let Some(resume) = &job.resume {
            field(JobField::Checkpoint, &resume.when_exists)?;
            for (i, arg) in resume.args.iter().enumerate() {
                field(JobField::ResumeArg(i), arg)?;
            }
        }
        if let Some(grace) = &job.stop_grace {
            field(JobField::StopGrace, grace)?;
        }
        for (i, (_, path)) in job.artifacts.iter().enumerate() {
            field(JobField::Artifact(i), path)?;
        }
        if let Some(cadence) = &job.cadence {
            if let Some(min) = &cadence.min {
                field(JobField::CadenceMin, min)?;
            }
            if let Some(max) = &cadence.max {
                field(JobField::CadenceMax, max)?;
            }
        }
        for (i, arg) in job.slurm.iter().flat_map(|s| &s.args).enumerate() {
            field(JobField::SlurmArg(i), arg)?;
        }
    }
    for (index, (name, gate)) in protocol.gates.iter().enumerate() {
        let mut part = |key: &'static str, i: usize, text: &Spanned<Str>| {
            let what = format!(
                "`{key}` of gate `{}` on line {}",
                name.as_str(),
                text.span.line()
            );
            add(Key::Gate(index, key, i), text.to_string(), what)
        };
        for (i, arg) in gate.command.iter().flat_map(|c| c.iter()).enumerate() {
            part("command", i, arg)?;
        }
        if let Some(timeout) = &gate.timeout {
            part("timeout", 0, timeout)?;
        }
        if let Some(reason) = &gate.reason {
            part("reason", 0, reason)?;
        }
        for (i, file) in gate.files.iter().flat_map(|c| c.iter()).enumerate() {
            part("files", i, file)?;
        }
        if let Some(table) = &gate.table {
            part("table", 0, table)?;
        }
    }
    crate::classify::add_metric_templates(&mut env, protocol)?;
    Program::try_new(Arc::new(env), |env| compiled(env, protocol, &firsts))
}

/// For each guard and inline message text, the first transition (and message) written with the
/// same text: generated protocols write one guard on thousands of transitions.
struct Firsts {
    /// By transition: the first with its guard's text (itself when it has none).
    guard: Vec<usize>,
    /// By transition and message, for the messages of inline text that are not their own first.
    text: HashMap<(usize, usize), (usize, usize)>,
}

impl Firsts {
    fn of(protocol: &Protocol) -> Firsts {
        let mut guards: HashMap<&str, usize> = HashMap::new();
        let mut texts: HashMap<&str, (usize, usize)> = HashMap::new();
        let mut text = HashMap::new();
        let guard = protocol
            .transitions
            .iter()
            .enumerate()
            .map(|(index, transition)| {
                for (k, send) in transition.send.iter().enumerate() {
                    if let Some(body) = &send.text {
                        let first = *texts.entry(body.as_str()).or_insert((index, k));
                        if first != (index, k) {
                            text.insert((index, k), first);
                        }
                    }
                }
                match &transition.guard {
                    Some(source) => *guards.entry(source.as_str()).or_insert(index),
                    None => index,
                }
            })
            .collect();
        Firsts { guard, text }
    }

    /// The first message written with the text of message `send` of `transition`.
    fn text(&self, transition: usize, send: usize) -> (usize, usize) {
        self.text
            .get(&(transition, send))
            .copied()
            .unwrap_or((transition, send))
    }
}

/// The handles of the templates `program` added (the first of each shared text, as `firsts`
/// says), and the `set` expressions.
fn compiled<'env>(
    env: &'env Environment<'static>,
    protocol: &Protocol,
    firsts: &Firsts,
) -> Result<Compiled<'env>, CompileError> {
    let render = |key: Key<'_>| -> Result<Render<'env>, CompileError> {
        let name = key.to_string();
        let template = env
            .get_template(&name)
            .map_err(|source| CompileError::Template {
                what: format!("`{name}`"),
                source,
            })?;
        let mut reads: Vec<String> = template.undeclared_variables(false).into_iter().collect();
        reads.sort();
        Ok(Render { template, reads })
    };
    let mut messages = BTreeMap::new();
    for (name, _) in env.templates() {
        if let Some(message) = name.strip_prefix("message:") {
            messages.insert(message.to_owned(), render(Key::Message(message))?);
        }
    }
    // The guards and texts rendered so far, by the first transition that has each.
    let mut guards: HashMap<usize, Guard<'env>> = HashMap::new();
    let mut texts: HashMap<(usize, usize), Render<'env>> = HashMap::new();
    let mut transitions = Vec::with_capacity(protocol.transitions.len());
    for (index, transition) in protocol.transitions.iter().enumerate() {
        let line = transition.span.line();
        let guard = match &transition.guard {
            Some(source) => Some(match guards.entry(firsts.guard[index]) {
                Entry::Occupied(known) => known.get().clone(),
                Entry::Vacant(new) => new
                    .insert(Guard {
                        render: render(Key::Guard(firsts.guard[index]))?,
                        native: guard::compile(source),
                    })
                    .clone(),
            }),
            None => None,
        };
        let mut set = Vec::with_capacity(transition.set().len());
        for (key, expression) in transition.set().iter() {
            let compiled = crate::expr::placeable(expression)
                .and_then(|()| env.compile_expression_owned(expression.to_string()))
                .map_err(|source| CompileError::Template {
                    what: format!("`set: {}` on line {line}", key.as_str()),
                    source,
                })?;
            let mut reads: Vec<String> = compiled.undeclared_variables(false).into_iter().collect();
            reads.sort();
            set.push(Set {
                key: key.to_string(),
                expression: compiled,
                reads,
            });
        }
        let mut send = Vec::with_capacity(transition.send.len());
        for (k, message) in transition.send.iter().enumerate() {
            let (body, what) = match &message.template {
                Some(name) => (
                    messages
                        .get(name.as_str())
                        .cloned()
                        .ok_or_else(|| CompileError::MissingTemplate(name.to_string()))?,
                    format!("`{}`", name.as_str()),
                ),
                None => {
                    let (transition, send) = firsts.text(index, k);
                    let body = match texts.entry((transition, send)) {
                        Entry::Occupied(known) => known.get().clone(),
                        Entry::Vacant(new) => {
                            new.insert(render(Key::Text { transition, send })?).clone()
                        }
                    };
                    (body, "text".to_owned())
                }
            };
            send.push(Send {
                from: message.from.to_string(),
                to: message.to.iter().map(|r| r.to_string()).collect(),
                template: message.template.as_ref().map(|t| t.to_string()),
                what,
                body,
            });
        }
        transitions.push(CompiledTransition {
            line,
            event: transition.on.as_ref().map(|on| on.to_string()),
            guard,
            set,
            count: transition.count.iter().map(|c| c.to_string()).collect(),
            send,
            effects: transition.effects.iter().map(|e| e.value).collect(),
            gates: transition.gates().iter().map(|g| g.to_string()).collect(),
        });
    }
    let timers = protocol
        .timers
        .iter()
        .enumerate()
        .map(|(index, timer)| {
            let written = timer.every.is_some() || timer.after.is_some();
            written.then(|| render(Key::Timer(index))).transpose()
        })
        .collect::<Result<_, _>>()?;
    let job = match &protocol.job {
        Some(job) => {
            let all = |field: fn(usize) -> JobField, count: usize| {
                (0..count)
                    .map(|i| render(Key::Job(field(i))))
                    .collect::<Result<Vec<_>, _>>()
            };
            let resume = job.resume.as_ref();
            Some(JobTemplates {
                line: job.span.line(),
                command: all(JobField::Command, job.command.len())?,
                log: render(Key::Job(JobField::Log))?,
                follow: all(JobField::Follow, job.follow.len())?,
                checkpoint: resume
                    .map(|_| render(Key::Job(JobField::Checkpoint)))
                    .transpose()?,
                resume_args: all(JobField::ResumeArg, resume.map_or(0, |r| r.args.len()))?,
                stop_grace: match &job.stop_grace {
                    Some(grace) => {
                        Some((grace.span.line(), render(Key::Job(JobField::StopGrace))?))
                    }
                    None => None,
                },
                artifacts: job
                    .artifacts
                    .keys()
                    .enumerate()
                    .map(|(i, name)| {
                        Ok((name.to_string(), render(Key::Job(JobField::Artifact(i)))?))
                    })
                    .collect::<Result<_, CompileError>>()?,
                cadence: match &job.cadence {
                    Some(cadence) => Some(CadenceTemplates {
                        line: cadence.span.line(),
                        min: cadence
                            .min
                            .as_ref()
                            .map(|_| render(Key::Job(JobField::CadenceMin)))
                            .transpose()?,
                        max: cadence
                            .max
                            .as_ref()
                            .map(|_| render(Key::Job(JobField::CadenceMax)))
                            .transpose()?,
                        key: cadence
                            .key
                            .as_ref()
                            .map_or_else(|| "timestamp".to_owned(), |k| k.to_string()),
                    }),
                    None => None,
                },
                slurm_args: all(
                    JobField::SlurmArg,
                    job.slurm.as_ref().map_or(0, |s| s.args.len()),
                )?,
            })
        }
        None => None,
    };
    let expr = |what: String, source: &str| -> Result<Expr<'env>, CompileError> {
        let expression = crate::expr::placeable(source)
            .and_then(|()| env.compile_expression_owned(source.to_owned()))
            .map_err(|source| CompileError::Template { what, source })?;
        let mut reads: Vec<String> = expression.undeclared_variables(false).into_iter().collect();
        reads.sort();
        Ok(Expr { expression, reads })
    };
    let mut gates = BTreeMap::new();
    for (index, (name, gate)) in protocol.gates.iter().enumerate() {
        let line = gate.span.line();
        let what = |key: &str| format!("`{key}` of gate `{}` on line {line}", name.as_str());
        let bounds = |def: &crate::protocol::BoundsDef| -> Result<Bounds<'env>, CompileError> {
            let one = |bound: &Option<crate::protocol::Bound>, key: &str| {
                bound
                    .as_ref()
                    .map(|b| expr(what(key), b.0.as_str()))
                    .transpose()
            };
            Ok(Bounds {
                min: one(&def.min, "min")?,
                max: one(&def.max, "max")?,
                above: one(&def.above, "above")?,
                below: one(&def.below, "below")?,
            })
        };
        let parts = |key: &'static str, count: usize| {
            (0..count)
                .map(|i| render(Key::Gate(index, key, i)))
                .collect::<Result<Vec<_>, _>>()
        };
        let check = if let Some(source) = &gate.expr {
            GateCheck::Expr {
                source: source.to_string(),
                holds: Box::new(expr(what("expr"), source.as_str())?),
                value: gate
                    .value
                    .as_ref()
                    .map(|v| expr(what("value"), v.as_str()).map(Box::new))
                    .transpose()?,
                reason: gate
                    .reason
                    .as_ref()
                    .map(|_| render(Key::Gate(index, "reason", 0)).map(Box::new))
                    .transpose()?,
            }
        } else if let Some(command) = &gate.command {
            GateCheck::Command {
                argv: parts("command", command.len())?,
                shell: gate.shell,
                timeout: gate
                    .timeout
                    .as_ref()
                    .map(|_| render(Key::Gate(index, "timeout", 0)))
                    .transpose()?,
            }
        } else if let Some(files) = &gate.files {
            GateCheck::Files {
                paths: parts("files", files.len())?,
                non_empty: gate.non_empty,
                modified_after: gate.modified_after.as_ref().map(|m| m.value),
            }
        } else {
            let mut columns = Vec::with_capacity(gate.columns.len());
            for (column, def) in gate.columns.iter() {
                columns.push((column.to_string(), bounds(def)?));
            }
            GateCheck::Table {
                path: render(Key::Gate(index, "table", 0))?,
                delimiter: gate
                    .delimiter
                    .as_ref()
                    .and_then(|d| d.as_str().bytes().next()),
                rows: gate
                    .rows
                    .as_ref()
                    .map(|rows| bounds(rows).map(Box::new))
                    .transpose()?,
                finite: gate.finite.as_ref().is_none_or(|f| f.value),
                varying: gate.varying,
                columns,
            }
        };
        gates.insert(
            name.to_string(),
            CompiledGate {
                line,
                category: gate.category.to_string(),
                owner: gate.owner.as_ref().map(|o| o.to_string()),
                severity: gate.severity.as_ref().map(|s| s.value),
                action: gate.action.as_ref().map(|a| a.to_string()),
                check,
            },
        );
    }
    Ok(Compiled {
        transitions,
        timers,
        messages,
        job,
        gates,
    })
}
