//! A protocol's category rules, compiled once per run and shared by every log it reads: the
//! traceback rules, one alternation and one set of every `line` rule, and the `metric` rules,
//! natively evaluated when they have a common shape and otherwise templates of the protocol's
//! one environment. A metric rule reads the record's keys, then the run's vars, which each
//! [`Classifier`](super::Classifier) is given.

use std::collections::BTreeSet;
use std::sync::Arc;

use minijinja::Environment;
use regex::{Regex, RegexSet};

use super::{metric, record, ClassifyError, Record};
use crate::protocol::{IncidentSeverity, Protocol};

/// The name of the template of metric rule `rule` (counted over the protocol) of category
/// `category`.
fn metric_template(category: usize, rule: usize) -> String {
    format!("metric:{category}:{rule}")
}

/// Adds the template of every `metric` rule of `protocol` to `env`, for [`Rules::new`].
pub(crate) fn add_metric_templates(
    env: &mut Environment<'static>,
    protocol: &Protocol,
) -> Result<(), ClassifyError> {
    let mut count = 0;
    for (index, category) in protocol.categories.iter().enumerate() {
        for metric in category
            .rules
            .iter()
            .filter(|r| r.line.is_none())
            .filter_map(|r| r.metric.as_ref())
        {
            let source = format!("{{% if {} %}}1{{% endif %}}", metric.value);
            env.add_template_owned(metric_template(index, count), source)
                .map_err(|source| ClassifyError::Metric {
                    category: category.id.value.clone(),
                    source,
                })?;
            count += 1;
        }
    }
    Ok(())
}

#[derive(Clone)]
pub(super) struct Category {
    pub(super) id: String,
    pub(super) owner: String,
    pub(super) severity: IncidentSeverity,
    pub(super) action: Option<String>,
}

#[derive(Clone)]
struct TracebackRule {
    category: usize,
    exceptions: Vec<String>,
    message: Option<Regex>,
    traceback: Option<Regex>,
    severity: Option<IncidentSeverity>,
}

#[derive(Clone)]
struct MetricRule {
    category: usize,
    /// The rule evaluated natively, when it has a simple shape.
    native: Option<metric::Node>,
    /// The rule as a template `{% if RULE %}1{% endif %}`, for the other shapes.
    template: String,
    /// The names the rule reads; without one of them, in the record or the vars, the template
    /// does not hold.
    keys: Vec<String>,
    severity: Option<IncidentSeverity>,
}

/// A protocol's category rules, compiled once.
pub struct Rules {
    pub(super) categories: Vec<Category>,
    pub(super) uncategorized: Category,
    tracebacks: Vec<TracebackRule>,
    /// All line rules as one alternation: a single regex gets a literal prefilter that a set
    /// does not, so most lines are rejected without running the set.
    any_line: Regex,
    lines: RegexSet,
    line_rules: Vec<(usize, Option<IncidentSeverity>)>,
    metrics: Vec<MetricRule>,
    /// Every name some metric rule reads: the only vars a classifier keeps.
    metric_names: BTreeSet<String>,
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
        let mut categories = Vec::new();
        let mut tracebacks = Vec::new();
        let mut patterns = Vec::new();
        let mut line_rules = Vec::new();
        let mut metrics = Vec::new();
        for (index, category) in protocol.categories.iter().enumerate() {
            let regex_error = |source| ClassifyError::Regex {
                category: category.id.value.clone(),
                source,
            };
            categories.push(Category {
                id: category.id.value.clone(),
                owner: category.owner.value.clone(),
                severity: category.severity.value,
                action: category.action.as_ref().map(|a| a.value.clone()),
            });
            for rule in &category.rules {
                let severity = rule.severity.as_ref().map(|s| s.value);
                if let Some(line) = &rule.line {
                    patterns.push(line.value.clone());
                    line_rules.push((index, severity));
                } else if let Some(metric) = &rule.metric {
                    let template = metric_template(index, metrics.len());
                    // Put there by `add_metric_templates`, under the same name.
                    let keys = env
                        .get_template(&template)
                        .map(|t| t.undeclared_variables(false).into_iter().collect())
                        .map_err(|source| ClassifyError::Metric {
                            category: category.id.value.clone(),
                            source,
                        })?;
                    metrics.push(MetricRule {
                        category: index,
                        native: metric::compile(&metric.value),
                        template,
                        keys,
                        severity,
                    });
                } else {
                    let compile = |pattern: &Option<crate::span::Spanned<String>>| {
                        pattern.as_ref().map(|p| Regex::new(p)).transpose()
                    };
                    tracebacks.push(TracebackRule {
                        category: index,
                        exceptions: rule
                            .exception
                            .iter()
                            .flat_map(|e| e.iter())
                            .map(|e| e.value.clone())
                            .collect(),
                        message: compile(&rule.message).map_err(regex_error)?,
                        traceback: compile(&rule.traceback).map_err(regex_error)?,
                        severity,
                    });
                }
            }
        }
        let set_error = |source| ClassifyError::Regex {
            category: "(line rules)".into(),
            source,
        };
        let lines = RegexSet::new(&patterns).map_err(set_error)?;
        let alternation = if patterns.is_empty() {
            // Matches nothing.
            "[^\\s\\S]".to_owned()
        } else {
            patterns
                .iter()
                .map(|p| format!("(?:{p})"))
                .collect::<Vec<_>>()
                .join("|")
        };
        let any_line = Regex::new(&alternation).map_err(set_error)?;
        let metric_names = metrics
            .iter()
            .flat_map(|m| m.keys.iter().cloned())
            .collect();
        let uncategorized = protocol.uncategorized.as_ref();
        Ok(Rules {
            categories,
            uncategorized: Category {
                id: "uncategorized".into(),
                owner: uncategorized
                    .and_then(|u| u.owner.as_ref())
                    .map_or_else(|| "director".to_owned(), |o| o.value.clone()),
                severity: uncategorized
                    .and_then(|u| u.severity.as_ref())
                    .map_or(IncidentSeverity::Critical, |s| s.value),
                action: uncategorized
                    .and_then(|u| u.action.as_ref())
                    .map(|a| a.value.clone()),
            },
            tracebacks,
            any_line,
            lines,
            line_rules,
            metrics,
            metric_names,
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

    /// Whether some metric rule reads `name`.
    pub(super) fn metric_reads(&self, name: &str) -> bool {
        self.metric_names.contains(name)
    }

    pub(super) fn match_traceback(
        &self,
        exception: Option<&str>,
        message: &str,
        lines: &[String],
    ) -> (Option<usize>, Option<IncidentSeverity>) {
        let matched = self.tracebacks.iter().find(|rule| {
            let type_ok = rule.exceptions.is_empty()
                || exception
                    .is_some_and(|e| rule.exceptions.iter().any(|r| exception_matches(r, e)));
            type_ok
                && rule.message.as_ref().is_none_or(|m| m.is_match(message))
                && rule
                    .traceback
                    .as_ref()
                    .is_none_or(|t| lines.iter().any(|l| t.is_match(l)))
        });
        matched.map_or((None, None), |rule| (Some(rule.category), rule.severity))
    }

    // Asked of every line of a log: inlined into the classifier, in another module.
    #[inline]
    pub(super) fn match_line(
        &self,
        line: &str,
    ) -> Option<(Option<usize>, Option<IncidentSeverity>)> {
        if !self.any_line.is_match(line) {
            return None;
        }
        let first = self.lines.matches(line).into_iter().next()?;
        let (category, severity) = self.line_rules[first];
        Some((Some(category), severity))
    }

    /// The first metric rule that holds for `record`, its names read from the record, then from
    /// the run's `vars`.
    pub(super) fn match_metric(
        &self,
        record: &Record,
        vars: &Record,
    ) -> Option<(Option<usize>, Option<IncidentSeverity>)> {
        let mut context = None;
        let rule = self.metrics.iter().find(|rule| {
            let native = rule.native.as_ref();
            if let Some(answer) = native.and_then(|n| metric::holds(n, record, vars)) {
                return answer;
            }
            let known = |k: &String| record.contains_key(k) || vars.contains_key(k);
            if !rule.keys.iter().all(known) {
                return false;
            }
            let context = context.get_or_insert_with(|| record::to_value_over(record, vars));
            self.env
                .get_template(&rule.template)
                .and_then(|t| t.render(context.clone()))
                .is_ok_and(|out| out == "1")
        })?;
        Some((Some(rule.category), rule.severity))
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
