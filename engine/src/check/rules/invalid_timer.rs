//! P050: a timer that names an unknown state or has an invalid duration.
//!
//! **Why.** A timer outside every state never fires; a duration that does not parse (`30 mins`),
//! or an `every` under a second (which would flood the roles with messages), fails when the run
//! starts. A duration written as a template (`"{{
//! status_every }}"`) is checked with the var's default.
//!
//! **Example.**
//! ```yaml
//! timers:
//!   - { event: status_due, every: 30 mins, while: [wach] }   # P050 twice
//! ```

use super::super::{Cx, Scope};
use super::expressions::lint_in_protocol;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::duration;
use crate::expr::Kind;
use crate::protocol::ValueType;
use crate::span::{Spanned, Str};
use crate::suggest;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    let states: Vec<&str> = p.states.keys().map(|k| k.as_str()).collect();
    let scope = Scope::vars_only(p);
    for timer in &p.timers {
        for state in timer.while_in.iter() {
            if !p.states.contains(state) {
                out.push(
                    cx.at(
                        Code::P050,
                        state.span,
                        format!("timer state `{}` is not a declared state", state.as_str()),
                    )
                    .with_help_opt(suggest::did_you_mean(state, states.iter().copied())),
                );
            }
        }
        let (key, text) = match (&timer.every, &timer.after) {
            (Some(every), _) => ("every", every),
            (None, Some(after)) => ("after", after),
            (None, None) => continue,
        };
        if text.contains("{{") || text.contains("{%") {
            let before = out.len();
            lint_in_protocol(
                cx,
                text,
                Kind::Template,
                Some(&scope),
                "timer duration",
                out,
            );
            if out.len() == before {
                check_templated(cx, key, text, out);
            }
        } else {
            check_literal(cx, key, text, out);
        }
    }
}

fn check_literal(cx: &Cx, key: &str, text: &Spanned<Str>, out: &mut Vec<Diagnostic>) {
    match duration::parse(text) {
        Ok(d) if d < crate::machine::MIN_EVERY && key == "every" => out.push(
            cx.at(
                Code::P050,
                text.span,
                format!("a timer cannot fire `every` {}", duration::format(d)),
            )
            .with_help("a timer fires at most once a second"),
        ),
        Ok(_) => {}
        Err(error) => out.push(
            cx.at(Code::P050, text.span, format!("invalid duration: {error}"))
                .with_help("write durations like 90s, 30m, 12h or 1h30m"),
        ),
    }
}

/// `"{{ var }}"`: the var must be a duration; its default, if any, must parse.
fn check_templated(cx: &Cx, key: &str, text: &Spanned<Str>, out: &mut Vec<Diagnostic>) {
    let inner = text
        .trim()
        .trim_start_matches("{{")
        .trim_end_matches("}}")
        .trim();
    let Some(var) = cx.protocol.vars.get(inner) else {
        return;
    };
    if var.ty.value != ValueType::Duration {
        out.push(
            cx.at(
                Code::P050,
                text.span,
                format!(
                    "`{inner}` is a {} var, not a duration",
                    var.ty.value.as_str()
                ),
            )
            .with_help(format!("declare `{inner}` with `type: duration`")),
        );
        return;
    }
    if let Some(default) = var
        .default
        .as_ref()
        .and_then(|d| d.as_str().map(|s| Spanned::new(Str::from(s), d.span)))
    {
        check_literal(cx, key, &default, out);
    }
}

#[cfg(test)]
mod tests {
    use crate::codes::Code;

    fn findings(every: &str) -> Vec<String> {
        let text = format!(
            "protocol: demo\n\
             states:\n  a: {{ initial: true }}\n  done: {{ final: true }}\n\
             timers: [{{ event: tick, every: {every}, while: [a] }}]\n\
             transitions:\n  - {{ from: a, on: tick, to: done }}\n"
        );
        crate::check::findings_of(&text, Code::P050)
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn a_timer_fires_at_most_once_a_second() {
        assert_eq!(findings("1s"), Vec::<String>::new());
        assert_eq!(findings("0s"), ["a timer cannot fire `every` 0s"]);
        assert_eq!(findings("500ms"), ["a timer cannot fire `every` 500ms"]);
    }
}
