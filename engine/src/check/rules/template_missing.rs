//! P030: a message names a template file that does not exist.
//!
//! **Why.** `template: NAME` renders `NAME.md.j2` from the protocol's `templates` folder; without
//! the file, the message cannot be written.
//!
//! **Example.**
//! ```yaml
//! send: [{ from: model_trainer, to: director, template: eror_report }]   # P030
//! ```

use super::Cx;
use crate::diagnostic::Diagnostic;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    out.extend(cx.template_problems.iter().cloned());
}
