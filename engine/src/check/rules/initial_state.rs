//! P010: no initial state, or more than one.
//!
//! **Why.** A run starts in the initial state; without exactly one, there is no start.
//!
//! **Example.**
//! ```yaml
//! states:
//!   start: { initial: true }
//!   watch: { initial: true }   # P010
//! ```

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::span::Span;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let initial: Vec<_> = cx
        .protocol
        .states
        .iter()
        .filter(|(_, s)| s.initial)
        .collect();
    match initial.as_slice() {
        [] => {
            let at = cx
                .protocol
                .states
                .keys()
                .next()
                .map_or(Span::start_of_file(), |k| k.span);
            out.push(
                cx.at(Code::P010, at, "no state is marked `initial: true`")
                    .with_help("mark the state a run starts in with `initial: true`"),
            );
        }
        [_] => {}
        [(first, _), rest @ ..] => {
            for (id, _) in rest {
                out.push(
                    cx.at(
                        Code::P010,
                        id.span,
                        format!("`{}` is a second initial state", id.as_str()),
                    )
                    .with_help(format!(
                        "`{}` (line {}) is initial already; a run has one start",
                        first.as_str(),
                        first.span.line()
                    )),
                );
            }
        }
    }
    for (id, state) in cx.protocol.states.iter() {
        if state.initial && state.is_final {
            out.push(cx.at(
                Code::P010,
                id.span,
                format!("`{}` is both initial and final", id.as_str()),
            ));
        }
    }
}
