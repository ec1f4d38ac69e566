//! P003 beyond the file's shape: values that have the right YAML type but the wrong meaning.
//!
//! **Why.** A var's default must fit its type (`default: soon` for a duration fails at start-up),
//! and `stop_grace` must be a duration. A `command` gate with `shell: true` runs one command
//! line, its first item, with `/bin/sh -c`; further items would never run.
//!
//! **Example.**
//! ```yaml
//! vars:
//!   timeout: { type: duration, default: 24 }   # P003: `24` has no unit
//! ```

use serde_json::Value;

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::duration;
use crate::protocol::ValueType;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    for (name, var) in cx.protocol.vars.iter() {
        if var.required && var.default.is_some() {
            out.push(
                cx.at(
                    Code::P003,
                    name.span,
                    format!("`{}` is required and has a default", name.as_str()),
                )
                .with_help("a default makes the var optional; drop one of them"),
            );
        }
        let Some(default) = &var.default else {
            continue;
        };
        if let Some(problem) = mismatch(var.ty.value, &default.value) {
            out.push(cx.at(
                Code::P003,
                default.span,
                format!("default of `{}`: {problem}", name.as_str()),
            ));
        }
    }
    for (name, gate) in cx.protocol.gates.iter().filter(|(_, g)| g.shell) {
        let Some(extra) = gate.command.as_ref().and_then(|c| c.get(1)) else {
            continue;
        };
        let line = gate.command.iter().flat_map(|c| c.iter()).map(|c| {
            if c.contains(char::is_whitespace) && !c.contains('\'') {
                format!("'{}'", c.as_str())
            } else {
                c.to_string()
            }
        });
        out.push(
            cx.at(
                Code::P003,
                extra.span,
                format!(
                    "gate `{}` has `shell: true`, which runs only the first item of `command`",
                    name.as_str()
                ),
            )
            .with_help(format!(
                "write the command line as one string: `command: \"{}\"`",
                line.collect::<Vec<_>>().join(" ").escape_debug()
            )),
        );
    }
    if let Some(grace) = cx.protocol.job.as_ref().and_then(|j| j.stop_grace.as_ref()) {
        if let Err(error) = duration::parse(grace) {
            out.push(
                cx.at(Code::P003, grace.span, format!("`stop_grace`: {error}"))
                    .with_help("write durations like 90s, 30m, 12h or 1h30m"),
            );
        }
    }
}

/// Why `value` is not a `ty`, or `None` when it is.
pub(crate) fn mismatch(ty: ValueType, value: &Value) -> Option<String> {
    let ok = match (ty, value) {
        (ValueType::String, Value::String(_) | Value::Number(_) | Value::Bool(_)) => true,
        (ValueType::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
        (ValueType::Number, Value::Number(_)) => true,
        (ValueType::Boolean, Value::Bool(_)) => true,
        (ValueType::List, Value::Array(_)) => true,
        (ValueType::Duration, Value::String(text)) => {
            return duration::parse(text).err();
        }
        (ValueType::Duration, Value::Number(n)) => {
            return Some(format!("`{n}` has no unit (write 90s, 30m, 12h)"));
        }
        _ => false,
    };
    (!ok).then(|| format!("expected {}, found `{value}`", article(ty)))
}

fn article(ty: ValueType) -> &'static str {
    match ty {
        ValueType::String => "a string",
        ValueType::Integer => "an integer",
        ValueType::Number => "a number",
        ValueType::Boolean => "true or false",
        ValueType::Duration => "a duration",
        ValueType::List => "a list",
    }
}
