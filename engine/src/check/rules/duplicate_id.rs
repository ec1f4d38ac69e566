//! P004: the same id given twice.
//!
//! **Why.** Roles, states, events and vars are YAML mapping keys, so a repeated one is caught as a
//! duplicate key when the file is read. Categories are a list (their order matters), so two with
//! one id are found here: the second could never be told apart from the first in a report.
//!
//! **Example.**
//! ```yaml
//! categories:
//!   - { id: data, owner: data_engineer, severity: critical, match: [...] }
//!   - { id: data, owner: modeler, severity: warning, match: [...] }   # P004
//! ```

use std::collections::HashMap;

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::protocol::is_id;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let mut seen = HashMap::new();
    for category in &cx.protocol.categories {
        let id = &category.id;
        if !is_id(id) {
            out.push(
                cx.at(
                    Code::P003,
                    id.span,
                    format!("`{}` is not a valid id", id.as_str()),
                )
                .with_help("ids are lowercase letters, digits and `_`, starting with a letter"),
            );
        }
        if id.as_str() == "uncategorized" {
            out.push(
                cx.at(
                    Code::P004,
                    id.span,
                    "`uncategorized` is the id of tracebacks no category matches",
                )
                .with_help("set its owner and severity with the top-level `uncategorized:` key"),
            );
        }
        if let Some(first) = seen.insert(id.as_str(), id.span) {
            out.push(
                cx.at(
                    Code::P004,
                    id.span,
                    format!("duplicate category id `{}`", id.as_str()),
                )
                .with_help(format!(
                    "`{}` is first defined on line {}",
                    id.as_str(),
                    first.line()
                )),
            );
        }
    }
}
