//! P091 (warning): a `# warden:` comment that is not a well-formed ignore: another word than
//! `ignore`, a list that is not closed or names no code, a name that is not a check code, or a
//! code that cannot be ignored there (an error, or P090 and P091 themselves).
//!
//! **Why.** A malformed ignore suppresses nothing, so the finding it was written for still shows
//! and the reason is not obvious. Only warnings can be ignored: an error means the protocol
//! cannot run as written, so it is fixed, not hidden. P090 and P091 are about ignore comments
//! themselves; `--ignore` or the config's `check.ignore` turns them off.
//!
//! **Example.**
//! ```yaml
//! transitions:
//!   - { from: watch, on: exited, to: watch, do: [restart] }   # warden: ignore[P60]  <- P091
//! ```

use std::path::Path;

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::span::Span;

const FORM: &str = "write `# warden: ignore[CODE, ...]`, such as `# warden: ignore[P060]`";

/// `# warden: something` that is not `ignore[...]`.
pub(crate) fn unknown_directive(path: &Path, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::P091,
        path,
        span,
        "a `warden:` comment that is not `ignore[...]`",
    )
    .with_help(FORM)
}

/// `# warden: ignore[P060` with no `]`.
pub(crate) fn unclosed(path: &Path, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::P091,
        path,
        span,
        "the ignore's list of codes has no `]`",
    )
    .with_help(FORM)
}

/// `# warden: ignore[]`.
pub(crate) fn empty(path: &Path, span: Span) -> Diagnostic {
    Diagnostic::new(Code::P091, path, span, "the ignore names no code").with_help(FORM)
}

/// A name in the list that is no code.
pub(crate) fn unknown_code(path: &Path, span: Span, name: &str) -> Diagnostic {
    let help = Code::did_you_mean(name).unwrap_or_else(|| {
        format!(
            "name a code such as `P060` or its name such as `unbounded-restart`; {} lists them",
            crate::codes::DOCS_PAGE
        )
    });
    Diagnostic::new(
        Code::P091,
        path,
        span,
        format!("`{name}` is not a check code"),
    )
    .with_help(help)
}

/// An error's code in the list.
pub(crate) fn an_error(path: &Path, span: Span, code: Code) -> Diagnostic {
    Diagnostic::new(
        Code::P091,
        path,
        span,
        format!("{code} is an error, and errors cannot be ignored"),
    )
    .with_help(format!(
        "fix what {code} reports (`warden explain {code}`); only warnings can be ignored"
    ))
}

/// P090 or P091 in the list.
pub(crate) fn about_ignores(path: &Path, span: Span, code: Code) -> Diagnostic {
    Diagnostic::new(
        Code::P091,
        path,
        span,
        format!("{code} is about ignore comments and cannot be ignored by one"),
    )
    .with_help(format!(
        "pass `--ignore {code}` or list it in `check.ignore` of the project's config"
    ))
}
