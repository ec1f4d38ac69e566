//! P044: more than one category is `catch_all: true`.
//!
//! **Why.** The catch-all category takes every exception no rule matched; with two, which one
//! takes an exception would depend on their order alone, and the second would never take any.
//!
//! **Example.**
//! ```yaml
//! categories:
//!   - { id: implementation, owner: dev, severity: critical, catch_all: true, match: [...] }
//!   - { id: data, owner: dev, severity: critical, catch_all: true, match: [...] }   # P044
//! ```

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let mut catch_alls = cx
        .protocol
        .categories
        .iter()
        .filter_map(|c| c.catch_all.as_ref().filter(|a| a.value).map(|a| (c, a)));
    let Some((first, _)) = catch_alls.next() else {
        return;
    };
    for (category, flag) in catch_alls {
        out.push(
            cx.at(
                Code::P044,
                flag.span,
                format!(
                    "`{}` is a second catch-all category: `{}` already takes every exception no rule matched",
                    category.id.as_str(),
                    first.id.as_str()
                ),
            )
            .with_help("keep `catch_all: true` on one category; give the others rules"),
        );
    }
}
