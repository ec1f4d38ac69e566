//! P042: a metric rule reads an attribute of the run's context (`metrics.r_hat`, `job.uptime`),
//! or an attribute of a var (`timeout.seconds`).
//!
//! **Why.** A metric rule is evaluated on each metric record as the log is read, and its names
//! are the record's keys, then the run's vars; it does not see `job`, `metrics`, `incident` or
//! any other name of the run's context. Every value it can read is plain (a number, text, a
//! boolean or none; a duration var is its seconds), so it has no attributes. Such a rule is
//! undefined on every record: it passes unnoticed and never matches.
//!
//! **Example.**
//! ```yaml
//! match:
//!   - { metric: "metrics.r_hat > 1.1" }          # P042: write `r_hat`
//!   - { metric: "elapsed > timeout.seconds" }    # P042: `timeout` is already its seconds
//! ```

use super::Cx;
use crate::codes::Code;
use crate::context::RESERVED;
use crate::diagnostic::Diagnostic;
use crate::expr::{Kind, NameUse};
use crate::protocol::ValueType;
use crate::span::{Spanned, Str};

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    for_each_metric_rule(cx, |metric, names| {
        for name in names {
            let [root, attribute, ..] = name.path.as_slice() else {
                continue;
            };
            let at = cx.in_expression(metric.span, name.position);
            let dotted = name.path.join(".");
            if RESERVED.contains(&root.as_str()) {
                let help = if root == "metrics" {
                    format!("a metric rule reads the record's own keys: write `{attribute}`")
                } else {
                    format!(
                        "a metric rule's names are the record's keys, then the vars; read \
                         `{root}` in a transition's guard instead"
                    )
                };
                out.push(
                    cx.at(
                        Code::P042,
                        at,
                        format!(
                            "a metric rule does not see the run's context: `{dotted}` is never \
                             defined there"
                        ),
                    )
                    .with_help(help),
                );
            } else if let Some(var) = cx.protocol.vars.get(root) {
                let (reads_as, help) = match var.ty.value {
                    ValueType::Duration => (
                        "a number, its seconds",
                        match attribute.as_str() {
                            "seconds" => Some(format!("write `{root}`")),
                            "minutes" => Some(format!("write `{root} / 60`")),
                            "hours" => Some(format!("write `{root} / 3600`")),
                            _ => None,
                        },
                    ),
                    ValueType::Integer | ValueType::Number => ("a number", None),
                    ValueType::String => ("text", None),
                    ValueType::Boolean => ("true or false", None),
                    ValueType::List => ("none (a metric rule does not see lists)", None),
                };
                out.push(
                    cx.at(
                        Code::P042,
                        at,
                        format!(
                            "`{root}` is a var, which a metric rule reads as {reads_as}: it has \
                             no attribute `{attribute}`"
                        ),
                    )
                    .with_help_opt(help),
                );
            }
        }
    });
}

/// Calls `f` with every metric rule of the protocol that parses and the names it reads (P031
/// reports one that does not).
pub(super) fn for_each_metric_rule(cx: &Cx, mut f: impl FnMut(&Spanned<Str>, &[NameUse])) {
    let rules = cx.protocol.rules().map(|(_, r)| r);
    for metric in rules.filter_map(|r| r.metric.as_ref()) {
        if let Ok(analysis) = &*cx.analyze(metric, Kind::Expression) {
            f(metric, &analysis.names);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The codes and columns `check` reports for the metric rule `rule` of a small protocol.
    fn findings(rule: &str) -> Vec<(String, u32)> {
        let text = format!(
            "protocol: p\nroles: {{ r: {{}} }}\nvars:\n  rhat_threshold: {{ type: number, default: 1.1 }}\n  timeout: {{ type: duration, default: 1h }}\n  seen: {{ type: list }}\ncategories:\n  - {{ id: c, owner: r, severity: warning, match: [{{ metric: \"{rule}\" }}] }}\nstates:\n  a: {{ initial: true }}\n  b: {{ final: true }}\ntransitions:\n  - {{ from: a, on: incident, to: b }}\n"
        );
        let report = crate::check::check_source(Path::new("p.yaml"), &text).unwrap();
        report
            .diagnostics
            .iter()
            .map(|d| (d.code.to_string(), d.column))
            .collect()
    }

    /// `code` at the column of `needle` in `rule`.
    fn at(code: &str, rule: &str, needle: &str) -> (String, u32) {
        // The column the rule starts at in `findings`' protocol.
        let start = 62;
        (code.to_owned(), start + rule.find(needle).unwrap() as u32)
    }

    #[test]
    fn record_keys_and_vars_are_what_a_metric_rule_reads() {
        let none: [(String, u32); 0] = [];
        assert_eq!(
            findings("r_hat > rhat_threshold and elapsed > timeout"),
            none
        );
        assert_eq!(findings("loss is nan or divergences > 10"), none);
        assert_eq!(findings("r_hat | abs > rhat_threshold"), none);
    }

    #[test]
    fn the_run_context_and_attributes_of_vars_are_errors() {
        for (rule, needle) in [
            ("job.uptime > 3600", "job.uptime"),
            // The bare `job` beside it is not reported again as P043.
            ("job and job.uptime > 3600", "job.uptime"),
            ("elapsed > timeout.hours", "timeout"),
            ("seen.x == 1", "seen"),
        ] {
            assert_eq!(findings(rule), [at("P042", rule, needle)], "{rule}");
        }
    }

    #[test]
    fn bare_reserved_names_and_near_misses_of_vars_are_warnings() {
        for (rule, needle) in [
            ("event == 'nan_loss'", "event"),
            ("r_hat > rhat_treshold", "rhat_treshold"),
            ("elapsed > timout.seconds", "timout"),
        ] {
            assert_eq!(findings(rule), [at("P043", rule, needle)], "{rule}");
        }
    }
}
