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
        let help = suggest::did_you_mean(category, known.iter().copied()).unwrap_or_else(|| {
            let ids: Vec<String> = known.iter().map(|id| format!("`{id}`")).collect();
            let one_of = if ids.len() > 1 { "one of " } else { "" };
            format!(
                "declare it under `categories`, or use {one_of}{}",
                ids.join(", ")
            )
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
            .with_help(help),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::codes::Code;

    fn help(category: &str) -> Vec<Option<String>> {
        let text = format!(
            "protocol: demo\n\
             roles: {{ director: {{}} }}\n\
             categories:\n  \
               - {{ id: data, owner: director, severity: critical, match: [{{ line: x }}] }}\n\
             gates: {{ ok: {{ expr: \"true\", category: {category} }} }}\n\
             states:\n  a: {{ initial: true }}\n  done: {{ final: true }}\n\
             transitions:\n  - {{ from: a, on: exited, gates: [ok], to: done }}\n  \
             - {{ from: a, on: incident, to: done }}\n"
        );
        crate::check::findings_of(&text, Code::P071)
            .iter()
            .map(|d| d.help.clone())
            .collect()
    }

    #[test]
    fn declared_categories_and_uncategorized_are_known() {
        assert_eq!(help("data"), [None; 0]);
        assert_eq!(help("uncategorized"), [None; 0]);
        assert_eq!(
            help("uncategorised"),
            [Some("did you mean `uncategorized`?".to_owned())]
        );
        assert_eq!(
            help("compilation"),
            [Some(
                "declare it under `categories`, or use one of `data`, `uncategorized`".to_owned()
            )]
        );
    }
}
