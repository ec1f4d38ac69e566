//! P031 and P032 in the protocol file: guards, `set` expressions, metric rules, gates and the
//! job's templates.
//!
//! **Why.** A guard that does not parse, or reads a name the context does not have, fails at run
//! time, hours into a job, exactly when a decision is needed. Names are checked against what the
//! transition can see: the vars, `set` keys, `run`, `state`, `target`, `event` (with the fields of
//! the transition's event), `incident`, `job`, `counters` (those some transition counts),
//! `gates` (the declared gates), `artifacts` (the job's), `cadence`, `held`, `history` and `now`.
//! A gate's `expr`, `value` and bounds, and its `reason`, `command`, `files`, `table` and
//! `timeout` templates, see the same names but only the fields every event has: a gate is checked for
//! whichever transition requires it. The job's templates (its command, log, artifacts and
//! cadence) see only the vars and `run`.
//!
//! **Example.**
//! ```yaml
//! - { from: watch, on: incident, if: "incident.severty == 'critical'", to: error }   # P032
//! - { from: watch, on: incident, if: "incident.severity ==", to: error }             # P031
//! ```

use std::path::Path;

use super::super::{Cx, Scope};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::expr::{Kind, Position};
use crate::span::{Span, Spanned, Str};

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    for transition in &p.transitions {
        let scope = cx.scope(transition);
        if let Some(guard) = &transition.guard {
            lint_in_protocol(cx, guard, Kind::Expression, Some(&scope), "guard", out);
        }
        for (_, value) in transition.set().iter() {
            lint_in_protocol(
                cx,
                value,
                Kind::Expression,
                Some(&scope),
                "`set` expression",
                out,
            );
        }
    }
    for rule in p.rules().map(|(_, r)| r) {
        if let Some(metric) = &rule.metric {
            // A metric rule reads the keys of a metric record, which only the job knows, then
            // the vars: its names are P042's and P043's.
            lint_in_protocol(cx, metric, Kind::Expression, None, "metric rule", out);
        }
    }
    gates(cx, out);
    if let Some(job) = &p.job {
        let scope = Scope::vars_only(p);
        let cadence = job.cadence.iter().flat_map(|c| c.min.iter().chain(&c.max));
        let templates = job
            .command
            .iter()
            .chain(std::iter::once(&job.log))
            .chain(&job.follow)
            .chain(
                job.resume
                    .iter()
                    .flat_map(|r| std::iter::once(&r.when_exists).chain(&r.args)),
            )
            .chain(job.artifacts.iter().map(|(_, path)| path))
            .chain(cadence)
            .chain(job.slurm.iter().flat_map(|s| &s.args));
        for template in templates {
            lint_in_protocol(
                cx,
                template,
                Kind::Template,
                Some(&scope),
                "job template",
                out,
            );
        }
    }
}

/// A gate's expressions and templates, in the scope every transition shares: a gate is checked
/// for whichever transition requires it, so it cannot read one event's fields.
fn gates(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let scope = cx.base_scope();
    for (name, gate) in cx.protocol.gates.iter() {
        let name = name.as_str();
        let expression = |key: &str, text: &Spanned<Str>, out: &mut Vec<Diagnostic>| {
            let what = format!("`{key}` of gate `{name}`");
            lint_in_protocol(cx, text, Kind::Expression, Some(scope), &what, out);
        };
        for (key, text) in [("expr", &gate.expr), ("value", &gate.value)] {
            if let Some(text) = text {
                expression(key, text, out);
            }
        }
        for (place, bounds) in gate.bounds() {
            for (key, bound) in bounds.each() {
                // A number written wrong (`1,000`, `5%`) is P074's, not P031's.
                if !malformed_number(cx, &bound.0) {
                    expression(&format!("{place}.{key}"), &bound.0, out);
                }
            }
        }
        let templates = [
            ("reason", gate.reason.as_slice()),
            ("command", gate.command.as_deref().unwrap_or_default()),
            ("files", gate.files.as_deref().unwrap_or_default()),
            ("table", gate.table.as_slice()),
            ("timeout", gate.timeout.as_slice()),
        ];
        for (key, texts) in templates {
            let what = format!("`{key}` of gate `{name}`");
            for text in texts {
                lint_in_protocol(cx, text, Kind::Template, Some(scope), &what, out);
            }
        }
    }
}

/// Whether a bound starts like a number but is none, nor an expression (`1,000`, `5%`, `.inf`):
/// reported here as not a number rather than as a syntax error.
pub(super) fn malformed_number(cx: &Cx, text: &str) -> bool {
    let text = text.trim();
    let rest = text.trim_start_matches(['-', '+', '.']);
    let numeric = rest.starts_with(|c: char| c.is_ascii_digit()) || rest.is_empty();
    numeric && !text.is_empty() && cx.analyze(text, Kind::Expression).is_err()
}

/// Lints an expression or template written inline in the protocol file.
pub(super) fn lint_in_protocol(
    cx: &Cx,
    text: &Spanned<Str>,
    kind: Kind,
    scope: Option<&Scope>,
    what: &str,
    out: &mut Vec<Diagnostic>,
) {
    let place = |position: Position| cx.in_expression(text.span, position);
    lint(cx, &cx.protocol.path, text, kind, scope, what, &place, out);
}

/// Lints `source`: syntax (P031), then the names, filters and tests it uses (P032). `place` maps a
/// position inside the source to the file.
#[allow(clippy::too_many_arguments)]
pub(super) fn lint(
    cx: &Cx,
    file: &Path,
    source: &str,
    kind: Kind,
    scope: Option<&Scope>,
    what: &str,
    place: &dyn Fn(Position) -> Span,
    out: &mut Vec<Diagnostic>,
) {
    let analyzed = cx.analyze(source, kind);
    let analysis = match &*analyzed {
        Ok(analysis) => analysis,
        Err(error) => {
            out.push(Diagnostic::new(
                Code::P031,
                file,
                place(error.position),
                format!("syntax error in {what}: {}", error.message),
            ));
            return;
        }
    };
    if let Some(scope) = scope {
        for name in &analysis.names {
            if let Some((message, help)) = scope.problem(name) {
                out.push(
                    Diagnostic::new(
                        Code::P032,
                        file,
                        place(name.position),
                        format!("{message} (in {what})"),
                    )
                    .with_help_opt(help),
                );
            }
        }
    }
    for filter in analysis.filters.iter().filter(|f| !cx.has_filter(&f.name)) {
        let known = FILTERS.iter().copied().filter(|f| cx.has_filter(f));
        out.push(
            Diagnostic::new(
                Code::P032,
                file,
                place(filter.position),
                format!("unknown filter `{}` (in {what})", filter.name),
            )
            .with_help_opt(crate::suggest::did_you_mean(&filter.name, known)),
        );
    }
    for test in analysis.tests.iter().filter(|t| !cx.has_test(&t.name)) {
        let known = TESTS.iter().copied().filter(|t| cx.has_test(t));
        out.push(
            Diagnostic::new(
                Code::P032,
                file,
                place(test.position),
                format!("unknown test `{}` (in {what})", test.name),
            )
            .with_help_opt(crate::suggest::did_you_mean(&test.name, known)),
        );
    }
}

/// Filters a did-you-mean may offer: minijinja's and Warden's, each kept only if the
/// environment has it.
const FILTERS: &[&str] = &[
    "abs",
    "attr",
    "batch",
    "bool",
    "capitalize",
    "count",
    "default",
    "dictsort",
    "duration",
    "escape",
    "fence",
    "first",
    "float",
    "groupby",
    "indent",
    "int",
    "items",
    "join",
    "last",
    "length",
    "lines",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "select",
    "selectattr",
    "slice",
    "sort",
    "split",
    "string",
    "sum",
    "title",
    "tojson",
    "trim",
    "unique",
    "upper",
    "urlencode",
];

/// Tests a did-you-mean may offer, kept the same way.
const TESTS: &[&str] = &[
    "boolean",
    "defined",
    "divisibleby",
    "endingwith",
    "eq",
    "even",
    "false",
    "filter",
    "finite",
    "float",
    "ge",
    "gt",
    "in",
    "infinite",
    "integer",
    "iterable",
    "le",
    "lower",
    "lt",
    "mapping",
    "nan",
    "ne",
    "none",
    "number",
    "odd",
    "sameas",
    "sequence",
    "startingwith",
    "string",
    "test",
    "true",
    "undefined",
    "upper",
];

#[cfg(test)]
mod tests {
    use crate::codes::Code;

    #[test]
    fn a_gate_s_reason_is_checked_like_its_other_templates() {
        let text = "protocol: demo\n\
                    gates: { ok: { expr: \"true\", reason: \"{% a not x %}\", category: uncategorized } }\n\
                    states:\n  a: { initial: true }\n  done: { final: true }\n\
                    transitions:\n  - { from: a, on: exited, gates: [ok], to: done }\n  \
                    - { from: a, on: incident, to: done }\n";
        let found = crate::check::findings_of(text, Code::P031);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].message.contains("`reason` of gate `ok`"),
            "{found:#?}"
        );
    }

    #[test]
    fn unknown_filters_and_tests_get_a_did_you_mean() {
        let text = "protocol: demo\nroles: { a: {} }\nchannels: [{ from: a, to: a }]\n\
                    states:\n  start: { initial: true }\n  done: { final: true }\n\
                    transitions:\n  - { from: start, on: exited, to: done, if: \"1 is nann\", \
                    send: [{ from: a, to: a, text: \"{{ 5 | durration }}\" }] }\n";
        let help: Vec<Option<String>> = crate::check::findings_of(text, Code::P032)
            .into_iter()
            .map(|d| d.help)
            .collect();
        assert_eq!(
            help,
            [
                Some("did you mean `nan`?".to_owned()),
                Some("did you mean `duration`?".to_owned())
            ]
        );
    }

    #[test]
    fn a_finding_in_a_folded_scalar_is_placed_on_the_file_s_own_line() {
        // `>-` joins the two lines with a space: the error is on the file's second line.
        let text = "protocol: demo\n\
                    gates:\n  ok:\n    expr: \"true\"\n    category: uncategorized\n    \
                    reason: >-\n      {% if true %}yes\n      {%a else %}no{% endif %}\n\
                    states:\n  a: { initial: true }\n  done: { final: true }\n\
                    transitions:\n  - { from: a, on: exited, gates: [ok], to: done }\n  \
                    - { from: a, on: incident, to: done }\n";
        let found = crate::check::findings_of(text, Code::P031);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!((found[0].line, found[0].column), (8, 9), "{found:#?}");
    }
}
