//! P031 and P032 in message templates: the template files and inline `text:`.
//!
//! **Why.** A message that fails to render is a message the role never gets. A template is checked
//! against the context of every transition that sends it: a template sent on `fix_submitted` may
//! read `event.summary`, but the same template sent on a timer may not. Findings point into the
//! template file, at the template's own line.
//!
//! **Example** (`templates/error_report.md.j2`):
//! ```jinja
//! **Model**: {{ modle }}        {# P032: did you mean `model`? #}
//! ```

use std::collections::BTreeSet;

use super::super::Cx;
use super::expressions::{lint, lint_in_protocol};
use crate::diagnostic::Diagnostic;
use crate::expr::Kind;
use crate::span::Span;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let p = cx.protocol;
    let mut seen = BTreeSet::new();
    for transition in &p.transitions {
        let scope = cx.scope(transition);
        for send in &transition.send {
            if let Some(text) = &send.text {
                lint_in_protocol(cx, text, Kind::Template, Some(&scope), "message text", out);
            }
            let Some(name) = &send.template else { continue };
            let Some(template) = cx.templates.get(name.as_str()) else {
                continue;
            };
            let what = format!(
                "template `{}`, sent on the transition at {}:{}",
                name.as_str(),
                p.path.display(),
                transition.span.line()
            );
            let place = |position: crate::expr::Position| {
                Span::new(position.line, position.column, position.len)
            };
            let mut found = Vec::new();
            lint(
                cx,
                &template.path,
                &template.text,
                Kind::Template,
                Some(&scope),
                &what,
                &place,
                &mut found,
            );
            // One template sent from many transitions: report each problem once, for the first.
            for diagnostic in found {
                let key = (
                    diagnostic.file.clone(),
                    diagnostic.line,
                    diagnostic.column,
                    diagnostic.code,
                );
                if seen.insert(key) {
                    out.push(diagnostic);
                }
            }
        }
    }
}
