//! P072 (warning): a gate that no transition requires.
//!
//! **Why.** A gate is checked only when a transition that names it in `gates:` is chosen; one
//! that no transition names is never checked, so what it was meant to guarantee is not.
//!
//! **Example.**
//! ```yaml
//! gates:
//!   results_sane: { table: "results/{{ run.id }}.csv", category: uncategorized }   # P072
//! transitions:
//!   - { from: watch, on: exited, to: done }   # should say `gates: [results_sane]`
//! ```

use std::collections::HashSet;

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    let required: HashSet<&str> = p
        .transitions
        .iter()
        .flat_map(|t| t.gates())
        .map(|g| g.as_str())
        .collect();
    for name in p.gates.keys().filter(|n| !required.contains(n.as_str())) {
        out.push(
            cx.at(
                Code::P072,
                name.span,
                format!("no transition requires the gate `{}`", name.as_str()),
            )
            .with_help("it is never checked; name it in a transition's `gates`, or remove it"),
        );
    }
}
