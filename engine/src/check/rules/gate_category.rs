//! P071: a gate's `category` is neither a declared category id nor `uncategorized`.
//!
//! **Why.** A gate's failure is an incident of its category: the category says who is told, how
//! bad it is and what to do first. An unknown category would send the failure to the director as
//! critical with no advice, whatever the gate meant. (A gate's `owner` that is not a role is
//! P020.)
//!
//! **Example.**
//! ```yaml
//! categories:
//!   - { id: code_error, owner: code_translator, severity: critical, match: [...] }
//! gates:
//!   compiles: { command: [make, check], category: code_eror }   # P071
//! ```

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::suggest;

/// The category of what matches no declared category, which a gate may name too.
const UNCATEGORIZED: &str = "uncategorized";

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    let mut known: Vec<&str> = p.categories.iter().map(|c| c.id.as_str()).collect();
    known.push(UNCATEGORIZED);
    for (name, gate) in p.gates.iter() {
        let category = &gate.category;
        if known.contains(&category.as_str()) {
            continue;
        }
        let help = suggest::help(category, &known).map(|help| {
            if help.starts_with("did you mean") {
                help
            } else {
                format!("declare it under `categories`, or {help}")
            }
        });
        out.push(
            cx.at(
                Code::P071,
                category.span,
                format!(
                    "gate `{}` names the category `{}`, which is not declared",
                    name.as_str(),
                    category.as_str()
                ),
            )
            .with_help_opt(help),
        );
    }
}
