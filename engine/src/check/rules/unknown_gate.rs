//! P070: a transition requires a gate (`gates: [NAME]`) that is not declared under `gates`.
//!
//! **Why.** A gate is declared once and named by the transitions that require it; a name that
//! matches no declaration is usually a typo, and the run refuses to start with it.
//!
//! **Example.**
//! ```yaml
//! gates:
//!   compiles: { command: [python, -m, py_compile, train.py], category: uncategorized }
//! transitions:
//!   - { from: fix, on: fix_submitted, gates: [compile], to: resume }   # P070
//! ```

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::suggest;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    let declared: Vec<&str> = p.gates.keys().map(|k| k.as_str()).collect();
    for name in p.transitions.iter().flat_map(|t| &t.gates) {
        if p.gates.contains(name) {
            continue;
        }
        let help = suggest::did_you_mean(name, declared.iter().copied())
            .unwrap_or_else(|| format!("declare `{}` under `gates`", name.as_str()));
        out.push(
            cx.at(
                Code::P070,
                name.span,
                format!("`{}` is not a declared gate", name.as_str()),
            )
            .with_help(help),
        );
    }
}
