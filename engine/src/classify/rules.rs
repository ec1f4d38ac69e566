//! A protocol's category rules, compiled once per run and shared by every log it reads: the
//! traceback rules, one alternation and one set of every `line` rule, and the `metric` rules,
//! natively evaluated when they have a common shape and otherwise templates of the protocol's
//! one environment. A metric rule reads the record's keys, then the run's vars, which each
//! [`Classifier`](super::Classifier) is given.

use std::collections::BTreeSet;
use std::sync::Arc;

use minijinja::Environment;
use regex::Regex;

use super::record::RecordRef;
use super::{metric, record, ClassifyError, Incident, MetricValue, Record};
use crate::protocol::{IncidentSeverity, Protocol};

/// The name of the template of metric rule `rule` (counted over the protocol) of category
/// `category`.
fn metric_template(category: Option<usize>, rule: usize) -> String {
    match category {
        Some(category) => format!("metric:{category}:{rule}"),
        None => format!("metric:uncategorized:{rule}"),
    }
}

/// Adds the template of every `metric` rule of `protocol` to `env`, for [`Rules::new`].
pub(crate) fn add_metric_templates(
    env: &mut Environment<'static>,
    protocol: &Protocol,
) -> Result<(), ClassifyError> {
    let mut count = 0;
    for (index, rule) in protocol.rules() {
        if let Some(metric) = &rule.metric {
            let source = format!("{{% if {} %}}1{{% endif %}}", metric.value);
            crate::expr::placeable(&source)
                .and_then(|()| env.add_template_owned(metric_template(index, count), source))
                .map_err(|source| ClassifyError::Metric {
                    category: category_name(protocol, index),
                    source,
                })?;
            count += 1;
        }
    }
    Ok(())
}

fn category_name(protocol: &Protocol, index: Option<usize>) -> String {
    index.map_or_else(
        || "uncategorized".to_owned(),
        |i| protocol.categories[i].id.to_string(),
    )
}

#[derive(Clone)]
pub(super) struct Category {
    pub(super) id: String,
    pub(super) owner: String,
    pub(super) severity: IncidentSeverity,
    pub(super) action: Option<String>,
}

/// What a rule classifies as: a category's index, or `None` for `uncategorized`.
pub(super) type Class = (Option<usize>, Option<IncidentSeverity>);

#[derive(Clone)]
struct TracebackRule {
    category: Option<usize>,
    exceptions: Vec<String>,
    message: Option<LazyRegex>,
    traceback: Option<LazyRegex>,
    severity: Option<IncidentSeverity>,
}

/// A traceback rule's pattern, or an `error_lines` one, compiled the first time a traceback
/// or a line that may report an error asks it. Most logs raise few exceptions, and compiling
/// every pattern of Phase 5B (case-insensitive, Unicode word boundaries) took most of the
/// instructions a run or a simulation spent before reading a line. Parsed when the rules are
/// made, so that a pattern that is not a regular expression is an error then; one too big
/// for the regex crate's size limit (`warden check` reports it as P040) matches nothing.
#[derive(Clone)]
struct LazyRegex {
    pattern: String,
    regex: std::sync::OnceLock<Option<Regex>>,
}

impl LazyRegex {
    fn new(pattern: &str) -> Result<LazyRegex, regex::Error> {
        regex_syntax::Parser::new()
            .parse(pattern)
            .map_err(|e| regex::Error::Syntax(e.to_string()))?;
        Ok(LazyRegex {
            pattern: pattern.to_owned(),
            regex: std::sync::OnceLock::new(),
        })
    }

    fn regex(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| Regex::new(&self.pattern).ok())
            .as_ref()
    }

    fn is_match(&self, text: &str) -> bool {
        self.regex().is_some_and(|regex| regex.is_match(text))
    }
}

impl TracebackRule {
    /// Whether an exception of type `exception` whose text is `message` is one this rule
    /// reads: of one of its types (any, when it names none), its message matching.
    fn raises(&self, exception: Option<&str>, message: &str) -> bool {
        let type_ok = self.exceptions.is_empty()
            || exception.is_some_and(|e| self.exceptions.iter().any(|r| exception_matches(r, e)));
        type_ok && self.message.as_ref().is_none_or(|m| m.is_match(message))
    }
}

/// What the lines and exceptions a long traceback left out matched, by traceback rule.
#[derive(Clone, Debug, Default)]
pub(super) struct LeftOut {
    /// Whether a line left out matched the rule's `traceback` pattern.
    lines: Vec<bool>,
    /// Whether an exception left out is of the rule's types, with its message.
    raised: Vec<bool>,
    /// Whether an exception left out had a type.
    typed: bool,
}

#[derive(Clone)]
struct ExitRule {
    category: Option<usize>,
    signals: Vec<i32>,
    codes: Vec<i32>,
    /// The states of a Slurm job's end.
    slurm_states: Vec<String>,
    severity: Option<IncidentSeverity>,
}

#[derive(Clone)]
struct MetricRule {
    category: Option<usize>,
    /// For a rule evaluated once for each key of a record that matches a glob: the glob.
    each: Option<Glob>,
    /// The rule evaluated natively, when it has a simple shape.
    native: Option<metric::Node>,
    /// The rule as a template `{% if RULE %}1{% endif %}`, for the other shapes.
    template: String,
    /// The names the rule reads; without one of them, in the record or the vars, the template
    /// does not hold.
    keys: Vec<String>,
    /// The names it cannot hold without (see [`metric::needed`]; a template rule reads all it
    /// names): a record without one of them, when the vars lack it too, is not asked. Empty
    /// for an `each` rule, whose `key` and `value` are no record's keys.
    needed: Vec<String>,
    severity: Option<IncidentSeverity>,
}

/// A protocol's category rules, compiled once.
pub struct Rules {
    pub(super) categories: Vec<Category>,
    pub(super) uncategorized: Category,
    tracebacks: Vec<TracebackRule>,
    /// All line rules as one alternation: whether a line is some line rule's, asked of the
    /// lines the literals let through.
    any_line: Regex,
    /// Each line rule's pattern, asked in order of a line `any_line` matched: the first that
    /// matches is its rule. Compiled when first asked, as most logs match few of them.
    lines: Vec<LazyRegex>,
    line_rules: Vec<Class>,
    /// The category that takes the exceptions no rule matched.
    catch_all: Option<usize>,
    exits: Vec<ExitRule>,
    /// The protocol's `error_lines`.
    error_lines: Vec<LazyRegex>,
    /// The literals every match of a line rule or an error line holds: most lines hold none,
    /// and are told so by one search.
    any_report: super::gate::LiteralGate,
    metrics: Vec<MetricRule>,
    /// Every name some metric rule reads: the only vars a classifier keeps.
    metric_names: BTreeSet<String>,
    /// What reads metrics out of lines that are not records: the keys rules name, and the
    /// keys `each` rules' globs match.
    pub(super) extract: super::extract::Extractor,
    /// What a line must hold, one of them, to be more than context while nothing waits for
    /// later lines: see [`candidates`].
    pub(super) candidates: Option<Candidates>,
    /// The environment the metric rules' templates are in.
    env: Arc<Environment<'static>>,
}

impl Rules {
    /// Compiles `protocol`'s categories. Their metric rules are templates of `env`, where
    /// [`add_metric_templates`] put them.
    pub(crate) fn new(
        protocol: &Protocol,
        env: Arc<Environment<'static>>,
    ) -> Result<Rules, ClassifyError> {
        let categories = protocol
            .categories
            .iter()
            .map(|category| Category {
                id: category.id.to_string(),
                owner: category.owner.to_string(),
                severity: category.severity.value,
                action: category.action.as_ref().map(|a| a.to_string()),
            })
            .collect();
        let mut tracebacks = Vec::new();
        let mut patterns = Vec::new();
        let mut line_rules = Vec::new();
        let mut metrics = Vec::new();
        let mut exits = Vec::new();
        for (index, rule) in protocol.rules() {
            let regex_error = |source| ClassifyError::Regex {
                category: category_name(protocol, index),
                source,
            };
            let severity = rule.severity.as_ref().map(|s| s.value);
            if let Some(line) = &rule.line {
                patterns.push(line.value.clone());
                line_rules.push((index, severity));
            } else if let Some(metric) = &rule.metric {
                let template = metric_template(index, metrics.len());
                // Put there by `add_metric_templates`, under the same name.
                // Sorted: an incident's message lists what the rule read in this order.
                let keys = env
                    .get_template(&template)
                    .map(|t| {
                        let names: BTreeSet<String> =
                            t.undeclared_variables(false).into_iter().collect();
                        names.into_iter().collect()
                    })
                    .map_err(|source| ClassifyError::Metric {
                        category: category_name(protocol, index),
                        source,
                    })?;
                let each = rule.each.as_ref().map(|glob| Glob::new(glob));
                let native = match each {
                    Some(_) => metric::compile_each(&metric.value),
                    None => metric::compile(&metric.value),
                };
                metrics.push(MetricRule {
                    category: index,
                    each,
                    native,
                    template,
                    keys,
                    needed: Vec::new(),
                    severity,
                });
            } else if rule.is_exit() {
                let numbers = |list: &Option<
                    crate::protocol::OneOrMany<crate::span::Spanned<crate::span::Str>>,
                >,
                               parse: fn(&str) -> Option<i32>| {
                    list.iter()
                        .flat_map(|l| l.iter())
                        .filter_map(|v| parse(v))
                        .collect()
                };
                exits.push(ExitRule {
                    category: index,
                    signals: numbers(&rule.signal, crate::protocol::signal_number),
                    codes: numbers(&rule.exit_code, |c| c.trim().parse().ok()),
                    slurm_states: rule
                        .slurm_state
                        .iter()
                        .flat_map(|l| l.iter())
                        .map(|s| s.to_string())
                        .collect(),
                    severity,
                });
            } else {
                let compile = |pattern: &Option<crate::span::Spanned<crate::span::Str>>| {
                    pattern.as_ref().map(|p| LazyRegex::new(p)).transpose()
                };
                tracebacks.push(TracebackRule {
                    category: index,
                    exceptions: rule
                        .exception
                        .iter()
                        .flat_map(|e| e.iter())
                        .map(|e| e.to_string())
                        .collect(),
                    message: compile(&rule.message).map_err(regex_error)?,
                    traceback: compile(&rule.traceback).map_err(regex_error)?,
                    severity,
                });
            }
        }
        let set_error = |source| ClassifyError::Regex {
            category: "(line rules)".into(),
            source,
        };
        let any_line =
            Regex::new(&alternation_of(patterns.iter().map(|p| p.as_str()))).map_err(set_error)?;
        let lines = patterns
            .iter()
            .map(|p| LazyRegex::new(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(set_error)?;
        let error_line_error = |source| ClassifyError::Regex {
            category: "(error_lines)".into(),
            source,
        };
        let error_lines = protocol
            .error_lines
            .iter()
            .map(|p| LazyRegex::new(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(error_line_error)?;
        let any_report = super::gate::LiteralGate::new(
            patterns
                .iter()
                .map(|p| p.as_str())
                .chain(protocol.error_lines.iter().map(|p| p.as_str())),
        );
        let metric_names: BTreeSet<String> = metrics
            .iter()
            .flat_map(|m| m.keys.iter().cloned())
            .collect();
        for rule in metrics.iter_mut().filter(|rule| rule.each.is_none()) {
            rule.needed = match &rule.native {
                Some(native) => metric::needed(native)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                None => rule.keys.clone(),
            };
        }
        // What an `each` rule reads of a key is `key` and `value`, not names in the log.
        let named = metrics
            .iter()
            .flat_map(|m| {
                m.keys
                    .iter()
                    .filter(|k| m.each.is_none() || !matches!(k.as_str(), "key" | "value"))
            })
            .cloned()
            .collect::<BTreeSet<_>>();
        // A metric a gate or a guard reads (`metrics.divergences == 0`) is read out of text too.
        let named = named
            .into_iter()
            .chain(metrics_read_by_expressions(protocol))
            .collect::<BTreeSet<_>>();
        let globs = metrics.iter().filter_map(|m| m.each.clone()).collect();
        let extract = super::extract::Extractor::new(&named, globs);
        let candidates = candidates(&any_report, &extract);
        let uncategorized = protocol.uncategorized.as_ref();
        Ok(Rules {
            categories,
            uncategorized: Category {
                id: "uncategorized".into(),
                owner: uncategorized
                    .and_then(|u| u.owner.as_ref())
                    .map_or_else(|| "director".to_owned(), |o| o.to_string()),
                severity: uncategorized
                    .and_then(|u| u.severity.as_ref())
                    .map_or(IncidentSeverity::Critical, |s| s.value),
                action: uncategorized
                    .and_then(|u| u.action.as_ref())
                    .map(|a| a.to_string()),
            },
            tracebacks,
            any_line,
            lines,
            line_rules,
            catch_all: protocol.categories.iter().position(|c| c.is_catch_all()),
            exits,
            error_lines,
            any_report,
            metrics,
            metric_names,
            extract,
            candidates,
            env,
        })
    }

    /// The owner, severity and action of the category `id` (`uncategorized` included), for an
    /// incident that is not read from a log (a failed gate's).
    pub fn category(&self, id: &str) -> Option<(&str, IncidentSeverity, Option<&str>)> {
        std::iter::once(&self.uncategorized)
            .chain(&self.categories)
            .find(|c| c.id == id)
            .map(|c| (c.owner.as_str(), c.severity, c.action.as_deref()))
    }

    /// The role told of what no category owns (default: director): incidents no rule
    /// classifies, and messages that fail to render.
    pub fn uncategorized_owner(&self) -> &str {
        &self.uncategorized.owner
    }

    /// An incident of `category` (`None`: uncategorized), with nothing of a log's context yet.
    pub(super) fn incident(
        &self,
        category: Option<usize>,
        severity: Option<IncidentSeverity>,
        exception: Option<String>,
        message: String,
        line: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Incident {
        let category = category.map_or(&self.uncategorized, |c| &self.categories[c]);
        let mut incident = Incident::new(
            &category.id,
            &category.owner,
            severity.unwrap_or(category.severity),
            category.action.as_deref(),
            message,
            at,
        );
        incident.exception = exception;
        incident.line = line.to_owned();
        incident
    }

    /// The incident of a job that ended with `exit_code` or by `signal`, when an exit rule
    /// classifies that end; `last_line` is the job's last line, as context.
    pub fn exit_incident(
        &self,
        exit_code: Option<i32>,
        signal: Option<i32>,
        slurm_state: Option<&str>,
        last_line: Option<&str>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Option<Incident> {
        let (category, severity) = self.match_exit(exit_code, signal, slurm_state)?;
        let name = |signal: i32| {
            nix::sys::signal::Signal::try_from(signal).map_or_else(
                |_| format!("signal {signal}"),
                |s| format!("signal {signal} ({s})"),
            )
        };
        let message = match (signal, exit_code) {
            (Some(signal), _) => format!("the job was killed by {}", name(signal)),
            (None, Some(code)) if (129..=192).contains(&code) => format!(
                "the job exited with code {code}: killed by {}, as shells and schedulers report it",
                name(code - 128)
            ),
            (None, Some(code)) => format!("the job exited with code {code}"),
            (None, None) => "the job ended".to_owned(),
        };
        // Slurm's word for the end comes first: a preempted job is killed by a signal too.
        let message = match slurm_state {
            Some(state) => format!("the Slurm job ended {state}; {message}"),
            None => message,
        };
        // Not read from the log: no line number; the job's last line is its line.
        Some(self.incident(
            category,
            severity,
            None,
            message,
            last_line.unwrap_or(""),
            at,
        ))
    }

    /// Whether some metric rule reads `name`.
    pub(super) fn metric_reads(&self, name: &str) -> bool {
        self.metric_names.contains(name)
    }

    /// The class of a traceback whose exceptions (in the order printed: a chain's, a wrapped
    /// one's) are `raised`, each its type and text, and whose lines are `lines`, with what a
    /// long one `left_out` (none for an error reported in words): the first rule some
    /// exception of the chain satisfies, else the catch-all category when an exception has a
    /// type, else uncategorized.
    pub(super) fn match_traceback(
        &self,
        raised: &[(Option<&str>, &str)],
        lines: &[String],
        left_out: &LeftOut,
    ) -> Class {
        let matched = self.tracebacks.iter().enumerate().find(|&(at, rule)| {
            let raised_ok = left_out.raised.get(at) == Some(&true)
                || raised
                    .iter()
                    .any(|&(exception, message)| rule.raises(exception, message));
            raised_ok
                && rule.traceback.as_ref().is_none_or(|t| {
                    left_out.lines.get(at) == Some(&true) || lines.iter().any(|l| t.is_match(l))
                })
        });
        match matched {
            Some((_, rule)) => (rule.category, rule.severity),
            None if left_out.typed || raised.iter().any(|(e, _)| e.is_some()) => {
                (self.catch_all, None)
            }
            None => (None, None),
        }
    }

    /// Notes, for [`Rules::match_traceback`], which rules' `traceback` patterns `line`, a line
    /// a long traceback leaves out, matches.
    pub(super) fn leave_out_line(&self, line: &str, left_out: &mut LeftOut) {
        left_out.lines.resize(self.tracebacks.len(), false);
        for (matched, rule) in left_out.lines.iter_mut().zip(&self.tracebacks) {
            *matched |= rule.traceback.as_ref().is_some_and(|t| t.is_match(line));
        }
    }

    /// Notes which rules' exception types and messages an exception a long chain leaves out,
    /// of type `exception` with the text `message`, satisfies.
    pub(super) fn leave_out_exception(
        &self,
        exception: Option<&str>,
        message: &str,
        left_out: &mut LeftOut,
    ) {
        left_out.raised.resize(self.tracebacks.len(), false);
        left_out.typed |= exception.is_some();
        for (matched, rule) in left_out.raised.iter_mut().zip(&self.tracebacks) {
            *matched |= rule.raises(exception, message);
        }
    }

    /// The class of a job that ended with `exit_code`, by `signal` or (on Slurm) in
    /// `slurm_state`, when an exit rule says.
    pub(super) fn match_exit(
        &self,
        exit_code: Option<i32>,
        signal: Option<i32>,
        slurm_state: Option<&str>,
    ) -> Option<Class> {
        // Shells, containers and Slurm report a job a signal ended as 128 + the signal.
        let signal = signal.or(exit_code
            .filter(|c| (129..=192).contains(c))
            .map(|c| c - 128));
        let rule = self.exits.iter().find(|rule| {
            signal.is_some_and(|s| rule.signals.contains(&s))
                || exit_code.is_some_and(|c| rule.codes.contains(&c))
                || slurm_state.is_some_and(|s| rule.slurm_states.iter().any(|r| r == s))
        })?;
        Some((rule.category, rule.severity))
    }

    /// Whether `line` may be a line rule's or an error report: when not, neither is asked.
    #[inline]
    pub(super) fn may_report(&self, line: &str) -> bool {
        self.any_report.may_match(line)
    }

    /// The message of a line some `error_lines` pattern matches: its `message` capture, else
    /// the whole line. Asked only of lines [`Rules::may_report`] lets through.
    pub(super) fn match_error_line<'l>(&self, line: &'l str) -> Option<&'l str> {
        let caps = self
            .error_lines
            .iter()
            .find_map(|p| p.regex()?.captures(line))?;
        Some(caps.name("message").map_or(line, |m| m.as_str()))
    }

    // Asked of every line of a log: inlined into the classifier, in another module.
    #[inline]
    pub(super) fn match_line(&self, line: &str) -> Option<Class> {
        if !self.any_line.is_match(line) {
            return None;
        }
        let first = self.lines.iter().position(|p| p.is_match(line))?;
        Some(self.line_rules[first])
    }

    /// The first metric rule that holds for `record`, its names read from the record, then from
    /// the run's `vars`, with what it read of the record (for an `each` rule: the key it held
    /// for). `facts` are [`Rules::key_facts`] of the record's keys over the same `vars`: the
    /// rules they ask, in order, are the only ones asked.
    pub(super) fn match_metric(
        &self,
        record: RecordRef<'_>,
        facts: &KeyFacts,
        vars: &Record,
    ) -> Option<MetricMatch> {
        let mut context = None;
        for ask in &facts.asks {
            let rule = &self.metrics[ask.rule];
            if let Some(at) = ask.key {
                let value = record.value_at(at);
                let quick = ask
                    .quick
                    .and_then(|quick| metric::quick_holds(quick, record, Some(value)));
                // Most answers are the quick form's, and false: the key is read for the others.
                if quick == Some(false) {
                    continue;
                }
                let key = record.key_at(at);
                let native = ask.native.as_ref();
                let answer =
                    quick.or_else(|| native.and_then(|n| metric::holds_each(n, key, value, vars)));
                let holds = match answer {
                    Some(answer) => answer,
                    None => {
                        let one: Record = [
                            ("key", MetricValue::Text(key.to_owned())),
                            ("value", value.read().into_owned()),
                        ]
                        .into_iter()
                        .collect();
                        self.holds(rule, None, one.view(), vars, &mut None)
                    }
                };
                if holds {
                    return Some(MetricMatch {
                        class: (rule.category, rule.severity),
                        read: vec![(key.to_owned(), value.read().into_owned())],
                    });
                }
            } else if ask
                .quick
                .and_then(|quick| metric::quick_holds(quick, record, None))
                .unwrap_or_else(|| {
                    self.holds(rule, ask.native.as_ref(), record, vars, &mut context)
                })
            {
                let read = rule
                    .keys
                    .iter()
                    .filter_map(|k| record.get(k).map(|v| (k.clone(), v.into_owned())))
                    .collect();
                return Some(MetricMatch {
                    class: (rule.category, rule.severity),
                    read,
                });
            }
        }
        None
    }

    /// What the rules make of `record`'s keys over `vars`, and where among them `stamp` is.
    pub(super) fn key_facts(
        &self,
        record: RecordRef<'_>,
        stamp: Option<&str>,
        vars: &Record,
    ) -> KeyFacts {
        let keys: Vec<&str> = record.keys().collect();
        let there = |name: &String| keys.contains(&name.as_str()) || vars.contains_key(name);
        let mut asks = Vec::new();
        for (at, rule) in self.metrics.iter().enumerate() {
            match &rule.each {
                Some(glob) => {
                    // Its names other than `key` and `value` are the vars'.
                    let native = rule.native.as_ref().map(|n| metric::bind(n, &[], vars));
                    let quick = native.as_ref().and_then(metric::quick);
                    let matched = keys.iter().enumerate().filter(|(_, k)| glob.is_match(k));
                    asks.extend(matched.map(|(key, _)| Ask {
                        rule: at,
                        key: Some(key),
                        native: native.clone(),
                        quick,
                    }));
                }
                // A rule that cannot hold without a name neither the keys nor the vars have
                // is not asked.
                None if rule.needed.iter().all(there) => {
                    let native = rule.native.as_ref().map(|n| metric::bind(n, &keys, vars));
                    asks.push(Ask {
                        rule: at,
                        key: None,
                        quick: native.as_ref().and_then(metric::quick),
                        native,
                    });
                }
                None => {}
            }
        }
        KeyFacts {
            asks,
            stamp: stamp.and_then(|stamp| keys.iter().position(|&k| k == stamp)),
            leveled: keys.iter().any(|k| super::LEVELS.contains(k)),
        }
    }

    /// Whether `rule` holds for `record` over `vars`: by `native`, its native form (bound to
    /// the record's keys, or not), when that can tell, else by its template.
    fn holds(
        &self,
        rule: &MetricRule,
        native: Option<&metric::Node>,
        record: RecordRef<'_>,
        vars: &Record,
        context: &mut Option<minijinja::Value>,
    ) -> bool {
        if let Some(answer) = native.and_then(|n| metric::holds(n, record, vars)) {
            return answer;
        }
        let known = |k: &String| record.lazy_get(k).is_some() || vars.contains_key(k);
        if !rule.keys.iter().all(known) {
            return false;
        }
        let context = context.get_or_insert_with(|| match record {
            RecordRef::Kept(record) => record::to_value_over(record, vars),
            RecordRef::Line(line) => record::to_value_over(&line.to_record(), vars),
        });
        self.env
            .get_template(&rule.template)
            .and_then(|t| t.render(context.clone()))
            .is_ok_and(|out| out == "1")
    }
}

/// What the rules make of a record's keys, in their order, and where the stamp key is among
/// them ([`Rules::key_facts`]): the same for
/// every record that writes those keys in that order, as the progress lines of a log do, so
/// a classifier makes them once for each such shape of its lines.
#[derive(Clone, Default, Debug, PartialEq)]
pub(super) struct KeyFacts {
    /// The metric rules a record of the keys is asked, in order.
    asks: Vec<Ask>,
    /// Which key is the classifier's stamp key ([`Classifier::set_stamp`]).
    ///
    /// [`Classifier::set_stamp`]: super::Classifier::set_stamp
    pub(super) stamp: Option<usize>,
    /// Whether a key names a level (`level`, `levelname`, ...), which may make the record an
    /// error report: most shapes have none, and their records are not asked.
    pub(super) leveled: bool,
}

/// A metric rule a record of some keys is asked: an `each` rule for one key its glob matches,
/// or a rule over the whole record. Rules that cannot hold without a name neither the keys
/// nor the vars have are not asked.
#[derive(Clone, Debug, PartialEq)]
struct Ask {
    /// Its place among [`Rules::metrics`].
    rule: usize,
    /// For an `each` rule: the key it is asked for, by its place among the keys.
    key: Option<usize>,
    /// Its native form, its names found among the keys and the vars ([`metric::bind`]).
    native: Option<metric::Node>,
    /// That form, when it has a shape asked without walking it ([`metric::quick`]).
    quick: Option<metric::Quick>,
}

/// A metric rule that held: its class, and the keys of the record it read with their values.
pub(super) struct MetricMatch {
    pub(super) class: Class,
    pub(super) read: Vec<(String, MetricValue)>,
}

/// The search that finds, over a whole block of lines, those that may be more than context to
/// a classifier that waits for nothing (no traceback, incident or table being read): a line
/// that holds none of its literals is no record (it has no `=` and no `{`), holds no traceback
/// header, is no line rule's and no error report (it holds none of [`LiteralGate`]'s literals)
/// and holds no key the extractor reads. Without regard to ASCII case, as the extractor's keys
/// are looked for (a superset of the others). `None` when the gate lets every line through, or
/// a literal is not ASCII (then a line's ASCII case would not be all its case): every line is
/// read on its own.
///
/// [`LiteralGate`]: super::gate::LiteralGate
fn candidates(
    reports: &super::gate::LiteralGate,
    extract: &super::extract::Extractor,
) -> Option<Candidates> {
    let mut literals: Vec<Vec<u8>> = vec![
        b"=".to_vec(),
        b"{".to_vec(),
        super::TRACEBACK_HEADER.as_bytes().to_vec(),
    ];
    literals.extend(reports.literals()?.iter().cloned());
    literals.extend(extract.literals().iter().map(|l| l.as_bytes().to_vec()));
    if literals.iter().any(|l| !l.is_ascii() || l.is_empty()) {
        return None;
    }
    let patterns: Vec<String> = literals
        .iter()
        .map(|literal| regex_syntax::escape(std::str::from_utf8(literal).expect("ASCII")))
        .collect();
    // `=` and `{` are looked for by memchr: Teddy takes many literals of two bytes and more.
    let mut lowered: Vec<Vec<u8>> = literals
        .iter()
        .filter(|l| !matches!(l.as_slice(), b"=" | b"{"))
        .map(|l| l.to_ascii_lowercase())
        .collect();
    lowered.sort_unstable();
    lowered.dedup();
    let packed = aho_corasick::packed::Config::new()
        .builder()
        .extend(&lowered)
        .build();
    Some(Candidates {
        patterns,
        dfa: std::sync::OnceLock::new(),
        packed,
        overlap: lowered.iter().map(Vec::len).max().unwrap_or(1) - 1,
    })
}

/// The literals one of which a line must hold to be more than context, searched for in many
/// lines at once, without regard to ASCII case. A literal holds no line end, so the first
/// line that holds one holds both the match that starts first and the one that ends first.
/// The search is a vectorized one, a window at a time: `=` and `{` by memchr, the others by
/// aho-corasick's Teddy (up to 64 of them) over the window's bytes lowered to ASCII lower
/// case. A lazy DFA of all the literals, case-insensitive, took about 10 instructions a byte
/// passed over (an Aho-Corasick automaton 18); it is the search where Teddy cannot be had
/// (more literals, a short one, or no SSSE3 or NEON), built when first asked.
#[derive(Clone, Debug)]
pub(super) struct Candidates {
    /// The literals, escaped, case-insensitive: the lazy DFA's patterns.
    patterns: Vec<String>,
    /// The lazy DFA of `patterns`; `None` if it could not be built (not expected).
    dfa: std::sync::OnceLock<Option<regex_automata::hybrid::dfa::DFA>>,
    /// The literals but `=` and `{`, in lower case, searched for together.
    packed: Option<aho_corasick::packed::Searcher>,
    /// The longest literal's length, less one: how far a window's search starts back in the
    /// window before it, so that a literal across the two is found whole.
    overlap: usize,
}

/// What a classifier's candidate searches keep from one to the next: the lazy DFA's states
/// (once it is asked), and the room of the window of bytes lowered.
#[derive(Clone)]
pub(super) struct CandidateCache {
    dfa: Option<regex_automata::hybrid::dfa::Cache>,
    lowered: Vec<u8>,
}

/// The bytes of the first window lowered and searched: a few lines of a log; each next window
/// is twice the one before.
const FIRST_WINDOW: usize = 256;

impl Candidates {
    /// [`Candidates::first_end`] by the lazy DFA: the end of the literal that ends first; 0
    /// when the DFA could not be built or gave up.
    pub(super) fn first_end_by_dfa(
        &self,
        cache: &mut CandidateCache,
        haystack: &[u8],
    ) -> Option<usize> {
        let dfa = self.dfa.get_or_init(|| {
            let syntax = regex_automata::util::syntax::Config::new()
                .case_insensitive(true)
                .unicode(false)
                .utf8(false);
            regex_automata::hybrid::dfa::DFA::builder()
                .syntax(syntax)
                .build_many(&self.patterns)
                .ok()
        });
        let Some(dfa) = dfa else {
            return Some(0);
        };
        let dfa_cache = cache.dfa.get_or_insert_with(|| dfa.create_cache());
        let input = regex_automata::Input::new(haystack).earliest(true);
        match dfa.try_search_fwd(dfa_cache, &input) {
            Ok(found) => found.map(|half| half.offset()),
            Err(_) => Some(0),
        }
    }

    /// Whether the literals are searched for by Teddy, not by the lazy DFA.
    #[cfg(test)]
    pub(super) fn is_vectorized(&self) -> bool {
        self.packed.is_some()
    }

    /// What a classifier's searches keep, made empty.
    pub(super) fn cache(&self) -> CandidateCache {
        CandidateCache {
            dfa: None,
            lowered: Vec::new(),
        }
    }

    /// Where the first literal found in `haystack` ends, if one is: the one that starts first,
    /// or the one that ends first (both on the first line that holds one); 0 when the search
    /// could not tell (the lazy DFA gave up: not expected), so that the lines are then read
    /// one by one.
    pub(super) fn first_end(&self, cache: &mut CandidateCache, haystack: &[u8]) -> Option<usize> {
        let Some(packed) = &self.packed else {
            return self.first_end_by_dfa(cache, haystack);
        };
        // The bytes before `from` hold no literal whole.
        let mut from: usize = 0;
        let mut window = FIRST_WINDOW;
        loop {
            let to = haystack.len().min(from.saturating_add(window));
            let start = from.saturating_sub(self.overlap);
            cache.lowered.clear();
            cache
                .lowered
                .extend(haystack[start..to].iter().map(u8::to_ascii_lowercase));
            let byte = memchr::memchr2(b'=', b'{', &haystack[from..to]).map(|at| from + at);
            let found = packed.find(&cache.lowered);
            match (byte, found) {
                // Whichever starts first. A literal that starts before the `=` and ends past
                // the window holds it (no literal holds a line end): its line is the same.
                (Some(at), Some(found)) if start + found.start() < at => {
                    return Some(start + found.end());
                }
                (Some(at), _) => return Some(at + 1),
                (None, Some(found)) => return Some(start + found.end()),
                (None, None) => {}
            }
            if to == haystack.len() {
                return None;
            }
            from = to;
            window = window.saturating_mul(2);
        }
    }
}

/// The names of `metrics` the protocol's gates and guards read (`metrics.divergences`,
/// `metrics['r_hat']`). An attribute is an identifier as the template engine reads one, in
/// ASCII; so is the word boundary before `metrics` (Unicode ones took 6.8M instructions to
/// compile, an eighth of a simulation's start).
pub(super) fn metrics_read_by_expressions(protocol: &Protocol) -> BTreeSet<String> {
    let pattern =
        Regex::new(r#"(?-u:\b)metrics(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[['"]([^'"]+)['"]\])"#)
            .expect("valid regex");
    let gates = protocol.gates.iter().flat_map(|(_, g)| {
        [&g.expr, &g.value, &g.reason]
            .into_iter()
            .flatten()
            .map(|s| s.value.as_str())
    });
    let guards = protocol
        .transitions
        .iter()
        .filter_map(|t| t.guard.as_ref())
        .map(|g| g.value.as_str());
    gates
        .chain(guards)
        .flat_map(|text| pattern.captures_iter(text))
        .filter_map(|caps| caps.get(1).or(caps.get(2)).map(|m| m.as_str().to_owned()))
        .collect()
}

/// A glob of record keys: `*` any text, `?` one character, case ignored. Asked of every key
/// of every record, so matched by hand rather than by a regular expression.
#[derive(Clone, Debug)]
pub(super) struct Glob(Vec<u8>);

impl Glob {
    pub(super) fn new(glob: &str) -> Glob {
        Glob(glob.to_ascii_lowercase().into_bytes())
    }

    pub(super) fn is_match(&self, key: &str) -> bool {
        let (pattern, text) = (&self.0, key.as_bytes());
        // `*text*`, the usual glob: whether the key holds the text, case ignored.
        if let Some(inner) = pattern
            .strip_prefix(b"*")
            .and_then(|p| p.strip_suffix(b"*"))
            .filter(|inner| !inner.is_empty() && !inner.iter().any(|&c| c == b'*' || c == b'?'))
        {
            let first = inner[0];
            if text.len() < inner.len() {
                return false;
            }
            // Keys are short: a loop over where the text may start, its first byte compared
            // first, is faster than a vectorized search set up for each key.
            return (0..=text.len() - inner.len()).any(|at| {
                text[at].to_ascii_lowercase() == first
                    && text[at + 1..at + inner.len()].eq_ignore_ascii_case(&inner[1..])
            });
        }
        let (mut p, mut t) = (0, 0);
        // The last `*` seen, and where in the text it was tried from.
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match pattern.get(p) {
                Some(b'*') => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(&c) if c == b'?' || c == text[t].to_ascii_lowercase() => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    // Let the `*` take one more character, and try again after it.
                    Some((at, from)) => {
                        p = at + 1;
                        t = from + 1;
                        star = Some((at, from + 1));
                    }
                    None => return false,
                },
            }
        }
        pattern[p..].iter().all(|&c| c == b'*')
    }

    /// The longest run of the glob without wildcards: a key it matches holds it.
    pub(super) fn literal(&self) -> String {
        let longest = self
            .0
            .split(|&c| c == b'*' || c == b'?')
            .max_by_key(|part| part.len())
            .unwrap_or_default();
        String::from_utf8_lossy(longest).into_owned()
    }
}

/// Patterns as one alternation, each a non-capturing group with its named groups made plain
/// (a name may be given once in a pattern), or a pattern that matches nothing for none.
fn alternation_of<'p>(patterns: impl Iterator<Item = &'p str>) -> String {
    let named = Regex::new(r"\(\?P?<[A-Za-z_][A-Za-z0-9_]*>").expect("valid regex");
    let alternatives: Vec<String> = patterns
        .map(|p| format!("(?:{})", named.replace_all(p, "(")))
        .collect();
    if alternatives.is_empty() {
        // Matches nothing.
        r"[^\s\S]".to_owned()
    } else {
        alternatives.join("|")
    }
}

/// A rule's exception name matches the exception's: `KeyError` matches `KeyError` and
/// `builtins.KeyError`; a dotted name matches only itself.
pub(super) fn exception_matches(rule: &str, exception: &str) -> bool {
    exception == rule
        || (!rule.contains('.')
            && exception
                .strip_suffix(rule)
                .is_some_and(|prefix| prefix.ends_with('.')))
}
