//! P075 (warning): a gate can fail in a state where no transition takes the failure: the state
//! has no transition on `incident`, or only ones that require gates themselves.
//!
//! **Why.** When a gate fails, its transition is not taken and the failure is an `incident` of
//! the gate's category in the state the run is in. A state with no transition on `incident`
//! holds it (in `held`) until the run enters one that has, so nobody hears of it while the run
//! waits there. And a gate's failure never takes a transition that requires gates (a gate must
//! not stand between a run and its own failure): in a state whose every transition on
//! `incident` is gated, the failure is ignored, and only `history` records it.
//!
//! **Example.**
//! ```yaml
//! - { from: fix, on: fix_submitted, gates: [compiles], to: resume }   # P075 if `fix` has no
//! - { from: fix, on: rejected, to: escalate }                         # `on: incident`
//! ```

use std::collections::BTreeSet;

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    let mut reported = BTreeSet::new();
    for transition in p.transitions.iter() {
        let Some(gate) = transition.gates().first() else {
            continue;
        };
        for state in p.sources(transition) {
            if !p.states.contains(state) || p.is_final(state) || !reported.insert(state) {
                continue;
            }
            let mut on_incident = cx.candidates(state, Some("incident")).peekable();
            let (message, help) = if on_incident.peek().is_none() {
                (
                    format!(
                        "gate `{}` can fail in `{state}`, which has no transition on `incident`",
                        gate.as_str()
                    ),
                    format!(
                        "the failure is held until the run enters a state that takes incidents; \
                         add a transition from `{state}` on `incident`"
                    ),
                )
            } else if on_incident.all(|(_, t)| !t.gates().is_empty()) {
                (
                    format!(
                        "gate `{}` can fail in `{state}`, whose transitions on `incident` all \
                         require gates",
                        gate.as_str()
                    ),
                    format!(
                        "a gate's failure never takes a gated transition, so it would be ignored; \
                         add a transition from `{state}` on `incident` without `gates`"
                    ),
                )
            } else {
                continue;
            };
            out.push(cx.at(Code::P075, gate.span, message).with_help(help));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::codes::Code;

    /// The P075 findings, as `state: message`, of a protocol with these transitions.
    fn p075(transitions: &str) -> Vec<String> {
        let text = format!(
            "protocol: demo\n\
             events: {{ go: {{ from: director }} }}\n\
             roles: {{ director: {{}} }}\n\
             gates: {{ ok: {{ expr: \"true\", category: uncategorized }} }}\n\
             states:\n  a: {{ initial: true }}\n  b: {{}}\n  done: {{ final: true }}\n\
             transitions:\n{transitions}"
        );
        crate::check::findings_of(&text, Code::P075)
            .iter()
            .map(|d| d.message.clone())
            .collect()
    }

    #[test]
    fn an_ungated_transition_on_incident_takes_the_failure() {
        let found = p075(
            "  - { from: a, on: go, gates: [ok], to: b }\n  \
             - { from: a, on: incident, gates: [ok], to: b }\n  \
             - { from: a, on: incident, to: done }\n  \
             - { from: b, on: go, to: done }\n",
        );
        assert_eq!(found, Vec::<String>::new());
    }

    #[test]
    fn any_state_is_every_non_final_state_once() {
        let found = p075(
            "  - { from: \"*\", on: go, gates: [ok], to: done }\n  \
             - { from: a, on: go, gates: [ok], to: b }\n  \
             - { from: b, on: incident, to: done }\n",
        );
        assert_eq!(
            found,
            ["gate `ok` can fail in `a`, which has no transition on `incident`"]
        );
    }

    #[test]
    fn a_transition_on_incident_from_any_state_counts() {
        let found = p075(
            "  - { from: a, on: go, gates: [ok], to: b }\n  \
             - { from: \"*\", on: incident, to: done }\n  \
             - { from: b, on: go, to: done }\n",
        );
        assert_eq!(found, Vec::<String>::new());
    }
}
