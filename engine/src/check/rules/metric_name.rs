//! P043 (warning): a metric rule reads a reserved name (`job`, `now`, `state`...) as a plain
//! name, or a name that is not a var but is a near miss of one (`rhat_treshold` beside the var
//! `rhat_threshold`).
//!
//! **Why.** A metric rule's names are the record's keys, then the run's vars. A name that is
//! neither is undefined on every record that lacks such a key, and the rule never holds: a
//! misspelt var passes unnoticed, as does a name of the run's context, which metric rules do not
//! see. Record keys are known only when the job writes them, so these are warnings: a record
//! may have a key of that name (structlog's JSON lines have `event`, say).
//!
//! **Example.**
//! ```yaml
//! vars:
//!   rhat_threshold: { type: number, default: 1.1 }
//! ...
//!   - { metric: "r_hat > rhat_treshold" }   # P043: did you mean the var `rhat_threshold`?
//!   - { metric: "now > deadline" }           # P043: `now` is the run's, not the record's
//! ```

use super::metric_context::for_each_metric_rule;
use super::Cx;
use crate::codes::Code;
use crate::context::RESERVED;
use crate::diagnostic::Diagnostic;
use crate::suggest;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let vars: Vec<&str> = cx.protocol.vars.keys().map(|k| k.as_str()).collect();
    for_each_metric_rule(cx, |metric, names| {
        for name in names {
            let root = name.path[0].as_str();
            let at = cx.in_expression(metric.span, name.position);
            if RESERVED.contains(&root) {
                // With an attribute, it is P042's; read bare, it may be a record key.
                let with_attribute = names.iter().any(|n| n.path.len() > 1 && n.path[0] == root);
                if name.path.len() == 1 && !with_attribute {
                    out.push(
                        cx.at(
                            Code::P043,
                            at,
                            format!(
                                "`{root}` in a metric rule is a key of the record, not the run's \
                                 `{root}`: metric rules do not see the run's context"
                            ),
                        )
                        .with_help(format!(
                            "read the run's `{root}` in a transition's guard; if the job's \
                             records have a key `{root}`, this is what the rule reads"
                        )),
                    );
                }
            } else if !cx.protocol.vars.contains(root) {
                if let Some(var) = suggest::closest(root, vars.iter().copied()) {
                    out.push(
                        cx.at(
                            Code::P043,
                            at,
                            format!(
                                "`{root}` is not a var: the rule reads it only from records \
                                 that have a key `{root}`"
                            ),
                        )
                        .with_help(format!("did you mean the var `{var}`?")),
                    );
                }
            }
        }
    });
}
