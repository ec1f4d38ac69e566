//! P090 (warning): an ignore comment, `# warden: ignore[CODE]`, names a code that it suppresses
//! no finding of: there is no finding with that code on the comment's line (or, for a comment
//! alone on its line, on the line below).
//!
//! **Why.** An ignore outlives what it was written for: once the protocol is fixed, or the line
//! moves, it hides nothing today and would hide a new finding tomorrow. Remove the code, or the
//! comment. The check runs only on a protocol that loads; `--ignore P090` (or `P090` in the
//! config's `check.ignore`) turns it off.
//!
//! **Example.**
//! ```yaml
//! transitions:
//!   # warden: ignore[P060]                  # P090: nothing restarts here
//!   - { from: start, to: watch, do: [launch] }
//! ```

use std::path::Path;

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::span::Span;

/// The finding for `code`, named at `span` by an ignore comment, that suppressed nothing on
/// `line`.
pub(crate) fn finding(path: &Path, span: Span, code: Code, line: u32) -> Diagnostic {
    Diagnostic::new(
        Code::P090,
        path,
        span,
        format!("this ignore suppresses nothing: there is no {code} finding on line {line}"),
    )
    .with_help(format!("remove `{code}` from the comment, or the comment"))
}
