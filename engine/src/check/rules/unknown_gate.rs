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
    for name in p.transitions.iter().flat_map(|t| t.gates()) {
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::check::check_source;
    use crate::codes::Code;

    #[test]
    fn with_no_gate_close_the_help_says_to_declare_one() {
        let text = "protocol: demo\n\
             states:\n  a: { initial: true }\n  done: { final: true }\n\
             transitions:\n  - { from: a, on: exited, gates: [compiles], to: done }\n  \
             - { from: a, on: incident, to: done }\n";
        let report = check_source(Path::new("demo.yaml"), text).unwrap();
        let found: Vec<_> = report
            .diagnostics
            .iter()
            .map(|d| (d.code, d.help.clone()))
            .collect();
        assert_eq!(
            found,
            [(
                Code::P070,
                Some("declare `compiles` under `gates`".to_owned())
            )]
        );
    }
}
