//! P015 (warning): a transition that can never be taken, because an earlier transition from the
//! same state on the same event has no guard.
//!
//! **Why.** Candidates are tried in file order and the first whose guard holds is taken; one
//! without a guard always holds. A transition from several states (or `"*"`) is reported only when
//! it is shadowed in every one of them.
//!
//! **Example.**
//! ```yaml
//! transitions:
//!   - { from: watch, on: incident, to: error }
//!   - { from: watch, on: incident, if: "incident.severity == 'warning'", to: watch }   # P015
//! ```

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    for (index, transition) in cx.protocol.transitions.iter().enumerate() {
        let event = transition.on.as_ref().map(|on| on.as_str());
        let sources = cx.protocol.sources(transition);
        let shadows: Vec<_> = sources
            .iter()
            .filter(|state| cx.protocol.states.contains(state))
            .map(|state| {
                cx.candidates(state, event)
                    .take_while(|&(i, _)| i < index)
                    .find(|(_, earlier)| earlier.guard.is_none())
                    .map(|(_, earlier)| (*state, earlier.span.line()))
            })
            .collect();
        if shadows.is_empty() || shadows.iter().any(Option::is_none) {
            continue;
        }
        let (state, line) = shadows[0].expect("checked above");
        let on = event.map_or_else(|| "with no event".to_owned(), |e| format!("on `{e}`"));
        out.push(
            cx.at(Code::P015, transition.span, "this transition can never be taken")
                .with_help(format!(
                    "the transition on line {line} from `{state}` {on} has no guard and is tried first; \
                     give it an `if`, or move this one above it"
                )),
        );
    }
}
