//! P074: a gate's `timeout` or table bound, or the job's `cadence`, that cannot work.
//!
//! **Why.** These values are read only when a gate is checked or the job is launched, hours
//! into a run, and one that cannot be read makes that step fail: the run stays where it is, and
//! the transition is never taken. Such are a `timeout` that is not a duration (`600`, `half an
//! hour`), a table bound that is neither a number nor an expression over the run (`1,000`, `5%`,
//! `true`, a string var), and a `cadence` `min` or `max` that is not a duration. Others can be
//! read but cannot work: a zero `timeout` stops the command at once, numeric bounds that leave
//! no value between them (`min: 10, max: 5`, `above: 1, below: 1`) fail every table, and a
//! cadence whose `min` exceeds its `max`, or whose `max` is zero, counts every gap between
//! records. A duration written as a template of one var (`"{{ check_timeout }}"`) is checked by
//! the var's type, its default standing for its value.
//!
//! **Example.**
//! ```yaml
//! gates:
//!   compiles: { command: [make, check], timeout: 600, category: uncategorized }   # P074
//!   results:
//!     table: results.csv
//!     rows: { min: 100, max: 10 }                                                # P074
//!     category: uncategorized
//! ```

use std::time::Duration;

use minijinja::Value;

use super::expressions::malformed_number;
use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::duration;
use crate::expr::{DurationValue, Kind};
use crate::protocol::{BoundsDef, ValueType};
use crate::span::{Span, Spanned, Str};

const DURATION_HELP: &str = "write durations like 90s, 30m, 12h or 1h30m";

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    for (name, gate) in p.gates.iter() {
        let name = name.as_str();
        if let Some(timeout) = &gate.timeout {
            match duration_of(cx, timeout) {
                Err(problem) => {
                    out.push(problem.report(cx, &format!("`timeout` of gate `{name}`")))
                }
                Ok(Some(d)) if d.is_zero() => out.push(
                    cx.at(
                        Code::P074,
                        timeout.span,
                        format!(
                            "`timeout` of gate `{name}` is zero: the command is stopped at once"
                        ),
                    )
                    .with_help("give the command time to run, or leave `timeout` out (10m)"),
                ),
                Ok(_) => {}
            }
        }
        for (place, bounds) in gate.bounds() {
            check_bounds(cx, name, &place, bounds, out);
        }
    }
    if let Some(cadence) = p.job.as_ref().and_then(|j| j.cadence.as_ref()) {
        let mut known = |key: &str, text: &Option<Spanned<Str>>| {
            let text = text.as_ref()?;
            match duration_of(cx, text) {
                Ok(d) => d.map(|d| (d, text.span)),
                Err(problem) => {
                    out.push(problem.report(cx, &format!("`cadence.{key}`")));
                    None
                }
            }
        };
        let min = known("min", &cadence.min);
        let max = known("max", &cadence.max);
        match (min, max) {
            (_, Some((max, at))) if max.is_zero() => out.push(
                cx.at(
                    Code::P074,
                    at,
                    "`cadence.max` is zero: every gap between records would be too far",
                )
                .with_help("records further apart than `max` are counted; give it a duration"),
            ),
            (Some((min, _)), Some((max, at))) if min > max => out.push(
                cx.at(
                    Code::P074,
                    at,
                    format!(
                        "`cadence.max` ({}) is less than `cadence.min` ({}): every gap between \
                         records would be too close or too far",
                        duration::format(max),
                        duration::format(min)
                    ),
                )
                .with_help("records closer than `min` or further apart than `max` are counted"),
            ),
            _ => {}
        }
    }
}

/// Why a duration cannot be read, and where.
struct Problem {
    span: Span,
    message: String,
    help: Option<String>,
}

impl Problem {
    fn report(self, cx: &Cx, what: &str) -> Diagnostic {
        cx.at(Code::P074, self.span, format!("{what}: {}", self.message))
            .with_help_opt(self.help)
    }
}

/// A duration written as a literal or as `"{{ var }}"` (then the var's default, if it has one):
/// `Ok(None)` when it is only known at run time.
fn duration_of(cx: &Cx, text: &Spanned<Str>) -> Result<Option<Duration>, Problem> {
    if !(text.contains("{{") || text.contains("{%")) {
        return duration::parse(text).map(Some).map_err(|message| Problem {
            span: text.span,
            message,
            help: Some(DURATION_HELP.into()),
        });
    }
    let inner = text
        .trim()
        .strip_prefix("{{")
        .and_then(|t| t.strip_suffix("}}"))
        .map(str::trim);
    let Some((var_name, var)) = inner.and_then(|n| Some((n, cx.protocol.vars.get(n)?))) else {
        return Ok(None);
    };
    if var.ty.value != ValueType::Duration {
        return Err(Problem {
            span: text.span,
            message: format!(
                "`{var_name}` is a {} var, not a duration",
                var.ty.value.as_str()
            ),
            help: Some(format!("declare `{var_name}` with `type: duration`")),
        });
    }
    // A default that is not a duration is P003's; one that is tells what the run will use.
    Ok(var
        .default
        .as_ref()
        .and_then(|d| duration::parse(d.as_str()?).ok()))
}

/// What a bound is, as far as can be told before the run.
enum BoundValue {
    /// A constant number.
    Number(f64),
    /// Not a number, and why.
    Invalid(String),
    /// An expression over the run.
    Unknown,
}

fn bound_value(cx: &Cx, text: &str) -> BoundValue {
    let trimmed = text.trim();
    if malformed_number(cx, text) {
        return BoundValue::Invalid(format!("`{trimmed}` is not a number"));
    }
    let analyzed = cx.analyze(text, Kind::Expression);
    let Ok(analysis) = &*analyzed else {
        return BoundValue::Unknown;
    };
    if let [name] = analysis.names.as_slice() {
        if name.path.len() == 1 && name.path[0] == trimmed {
            return match cx.protocol.vars.get(trimmed) {
                Some(var)
                    if !matches!(
                        var.ty.value,
                        ValueType::Integer | ValueType::Number | ValueType::Duration
                    ) =>
                {
                    BoundValue::Invalid(format!(
                        "`{trimmed}` is a {} var, not a number",
                        var.ty.value.as_str()
                    ))
                }
                _ => BoundValue::Unknown,
            };
        }
    }
    if !analysis.names.is_empty() {
        return BoundValue::Unknown;
    }
    let value = cx
        .env
        .compile_expression(text)
        .and_then(|expression| expression.eval(()));
    match value {
        Ok(value) => match number_of(&value) {
            Some(number) => BoundValue::Number(number),
            None => BoundValue::Invalid(format!("`{trimmed}` is {value:?}, not a number")),
        },
        Err(error) => BoundValue::Invalid(format!("`{trimmed}` cannot be evaluated: {error}")),
    }
}

/// A number, from a number or a duration (its seconds), as the machine reads a bound.
fn number_of(value: &Value) -> Option<f64> {
    if let Some(duration) = value.downcast_object_ref::<DurationValue>() {
        return Some(duration.0.as_secs_f64());
    }
    f64::try_from(value.clone()).ok()
}

fn check_bounds(cx: &Cx, gate: &str, place: &str, bounds: &BoundsDef, out: &mut Vec<Diagnostic>) {
    let mut numbers = Vec::new();
    for (key, bound) in bounds.each() {
        match bound_value(cx, &bound.0) {
            BoundValue::Number(number) => numbers.push((key, number, bound.0.span)),
            BoundValue::Invalid(why) => out.push(
                cx.at(
                    Code::P074,
                    bound.0.span,
                    format!("`{place}.{key}` of gate `{gate}`: {why}"),
                )
                .with_help("a bound is a number (100, 0.5, 1e-3) or an expression over the run"),
            ),
            BoundValue::Unknown => {}
        }
    }
    let get = |key: &str| numbers.iter().find(|(k, ..)| *k == key);
    // (lower, upper, whether equal values leave nothing between them)
    let pairs = [
        ("min", "max", false),
        ("above", "below", true),
        ("min", "below", true),
        ("above", "max", true),
    ];
    for (lower, upper, strict) in pairs {
        let (Some((_, low, _)), Some((_, high, at))) = (get(lower), get(upper)) else {
            continue;
        };
        if low > high || (strict && low == high) {
            out.push(
                cx.at(
                    Code::P074,
                    *at,
                    format!(
                        "`{place}` of gate `{gate}`: no value is {} {low} and {} {high}",
                        word(lower),
                        word(upper)
                    ),
                )
                .with_help("`min` and `max` are inclusive, `above` and `below` strict"),
            );
            return;
        }
    }
}

fn word(key: &str) -> &'static str {
    match key {
        "min" => "at least",
        "max" => "at most",
        "above" => "above",
        _ => "below",
    }
}

#[cfg(test)]
mod tests {
    use crate::codes::Code;

    /// The P074 messages for a protocol with `gates` and `job` as given.
    fn p074(gates: &str, job: &str) -> Vec<String> {
        let text = format!(
            "protocol: demo\n\
             vars:\n  name: {{ type: string, default: x }}\n  \
             wait: {{ type: duration, default: 0s }}\n  \
             limit: {{ type: integer, default: 3 }}\n\
             {job}\
             states:\n  start: {{ initial: true }}\n  done: {{ final: true }}\n\
             gates:\n{gates}\
             transitions:\n  - {{ from: start, on: exited, to: done, gates: [g] }}\n  \
             - {{ from: start, on: incident, to: done }}\n"
        );
        crate::check::findings_of(&text, Code::P074)
            .iter()
            .map(|d| d.message.clone())
            .collect()
    }

    #[test]
    fn timeouts() {
        let gate = |timeout: &str| {
            p074(
                &format!(
                    "  g: {{ command: [make], timeout: {timeout}, category: uncategorized }}\n"
                ),
                "",
            )
        };
        assert_eq!(gate("90s"), Vec::<String>::new());
        assert_eq!(gate("\"{{ limit }}\"").len(), 1);
        assert!(gate("\"{{ wait }}\"")[0].contains("is zero"));
        assert!(gate("half an hour")[0].contains("is not a duration"));
        assert!(gate("0s")[0].contains("is zero"));
        assert!(gate("600")[0].contains("has no unit"));
        // A template the run fills in is not known here.
        assert_eq!(gate("\"{{ run.id }}s\""), Vec::<String>::new());
    }

    #[test]
    fn bounds() {
        let gate = |rows: &str| {
            p074(
                &format!("  g: {{ table: t.csv, rows: {rows}, category: uncategorized }}\n"),
                "",
            )
        };
        assert_eq!(gate("{ min: 1, max: 1 }"), Vec::<String>::new());
        assert_eq!(
            gate("{ min: limit, below: \"limit * 2\" }"),
            Vec::<String>::new()
        );
        assert!(gate("{ min: 1, max: 0 }")[0].contains("at least 1 and at most 0"));
        assert!(gate("{ above: 1, below: 1 }")[0].contains("above 1 and below 1"));
        assert!(gate("{ min: 2, below: 2 }")[0].contains("at least 2 and below 2"));
        assert!(gate("{ above: 3, max: 3 }")[0].contains("above 3 and at most 3"));
        assert!(gate("{ min: \"1,000\" }")[0].contains("`1,000` is not a number"));
        assert!(gate("{ max: \"5%\" }")[0].contains("not a number"));
        assert!(gate("{ max: \"true\" }")[0].contains("not a number"));
        assert!(gate("{ max: \"'3'\" }")[0].contains("not a number"));
        assert!(gate("{ max: name }")[0].contains("string var"));
        assert_eq!(gate("{ min: 1e-3, max: -.5e1 }").len(), 1);
    }

    #[test]
    fn cadence() {
        let job = |cadence: &str| {
            p074(
                "  g: { expr: \"true\", category: uncategorized }\n",
                &format!("job:\n  command: [train]\n  log: train.log\n  cadence: {cadence}\n"),
            )
        };
        assert_eq!(job("{ min: 1m, max: 1h }"), Vec::<String>::new());
        assert!(job("{ min: 1h, max: 1m }")[0].contains("less than `cadence.min`"));
        assert!(job("{ max: 0s }")[0].contains("is zero"));
        assert!(job("{ min: soon }")[0].starts_with("`cadence.min`:"));
        assert!(job("{ max: \"{{ name }}\" }")[0].contains("string var"));
    }
}
