//! Ignore comments: `# warden: ignore[P060]` in a protocol file suppresses the named warnings
//! on its line, or, alone on its line, on the line just below it.
//!
//! The comments are found in the protocol's text by a small YAML-aware scan: a `#` starts a
//! comment at the start of a line or after a space, outside quoted strings and block scalars
//! (`|`, `>`), as YAML has it, so a Markdown heading in a message's text is never read as one.
//! Only warnings can be ignored: an error means the protocol cannot run as written. What an
//! ignore comment names is checked ([`Code::P091`]), and one that suppresses nothing is itself
//! reported ([`Code::P090`]) so ignores do not outlive what they were written for.

use std::path::Path;

use super::rules::{malformed_ignore, unused_ignore};
use crate::codes::{Code, Severity};
use crate::diagnostic::Diagnostic;
use crate::span::{LineIndex, Span};

/// One `# warden: ignore[...]` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Directive {
    /// The line the comment is on.
    line: u32,
    /// Whether the comment is alone on its line, and so speaks of the line below.
    alone: bool,
    /// The codes it names, each where it is written.
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    code: Code,
    span: Span,
    used: bool,
}

impl Directive {
    /// The line whose findings the comment suppresses.
    fn target(&self) -> u32 {
        if self.alone {
            self.line + 1
        } else {
            self.line
        }
    }
}

/// A YAML comment: where its `#` is, whether only blanks come before it, and its text after
/// the `#` with the byte offset of that text in its line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Comment<'t> {
    line: u32,
    alone: bool,
    line_text: &'t str,
    /// Byte offset in `line_text` of the first character after `#`.
    offset: usize,
}

impl Comment<'_> {
    fn text(&self) -> &str {
        &self.line_text[self.offset..]
    }

    /// The 1-based column, in characters, of the byte `at` of the comment's text.
    fn column(&self, at: usize) -> u32 {
        let chars = self.line_text[..self.offset + at].chars().count();
        u32::try_from(chars + 1).unwrap_or(u32::MAX)
    }
}

/// Every comment of YAML `text`, in order.
fn comments<'t>(text: &'t str, index: &LineIndex) -> Vec<Comment<'t>> {
    let mut out = Vec::new();
    // A quoted scalar may go on over several lines.
    let mut quote: Option<char> = None;
    // Inside a block scalar: the indentation its lines must exceed.
    let mut block: Option<usize> = None;
    for number in 1..=index.count() {
        let line = index.line(text, number);
        let content = line.trim_start_matches([' ', '\t']);
        let indent = line.len() - content.len();
        if let Some(parent) = block {
            if content.is_empty() || indent > parent {
                continue;
            }
            block = None;
        }
        // A line can be long (a list of thousands of states on one line): it is walked in
        // place.
        let mut chars = line.char_indices().peekable();
        let mut escaped = false;
        let mut previous: Option<char> = None;
        let mut significant: Option<char> = None;
        let mut code_end = line.len();
        while let Some((byte, c)) = chars.next() {
            match quote {
                Some('\'') => {
                    // `''` is a quote inside the scalar; a lone `'` ends it.
                    if c == '\'' && chars.next_if(|&(_, next)| next == '\'').is_none() {
                        quote = None;
                    }
                }
                Some(_) => {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        quote = None;
                    }
                }
                None => {
                    let after_blank = previous.is_none_or(|p| p == ' ' || p == '\t');
                    if c == '#' && after_blank {
                        out.push(Comment {
                            line: number,
                            alone: significant.is_none(),
                            line_text: line,
                            offset: byte + 1,
                        });
                        code_end = byte;
                        break;
                    }
                    let starts_scalar = significant
                        .is_none_or(|s| matches!(s, '-' | ':' | '[' | '{' | ',' | '?'))
                        && previous
                            .is_none_or(|p| p.is_whitespace() || matches!(p, '[' | '{' | ','));
                    if matches!(c, '\'' | '"') && starts_scalar {
                        quote = Some(c);
                    }
                }
            }
            if !c.is_whitespace() {
                significant = Some(c);
            }
            previous = Some(c);
        }
        if quote.is_none() {
            block = block_scalar_parent(&line[..code_end], indent);
        }
    }
    out
}

/// If `code` (a line without its comment) ends with a block scalar's indicator (`|`, `>-`,
/// `|2`...), the indentation the scalar's lines must exceed.
fn block_scalar_parent(code: &str, indent: usize) -> Option<usize> {
    let code = code.trim_end();
    let head = code.trim_end_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit());
    let head = head.strip_suffix(['|', '>'])?;
    let owner = head.trim_end();
    let owned = owner.is_empty()
        || (owner.len() < head.len() && owner.ends_with(':'))
        || owner == "-"
        || owner.ends_with(" -")
        || owner.ends_with("\t-");
    if !owned {
        return None;
    }
    // The node that owns the scalar: the key after any `- ` that open sequence entries, or the
    // last `- ` itself when the scalar is an entry.
    let mut rest = code.trim_start_matches([' ', '\t']);
    let mut parent = indent;
    let mut before_last_dash = indent;
    while let Some(after) = rest.strip_prefix('-') {
        let trimmed = after.trim_start_matches([' ', '\t']);
        if trimmed.len() == after.len() {
            break;
        }
        before_last_dash = parent;
        parent += rest.len() - trimmed.len();
        rest = trimmed;
    }
    if rest.starts_with(['|', '>']) {
        parent = before_last_dash;
    }
    Some(parent)
}

/// The ignore comments of the protocol `text` read from `path`, and the findings about the
/// ones that are malformed.
pub(crate) fn directives(
    path: &Path,
    text: &str,
    lines: &LineIndex,
) -> (Vec<Directive>, Vec<Diagnostic>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for comment in comments(text, lines) {
        let body = comment.text();
        let trimmed = body.trim_start();
        let Some(rest) = trimmed.strip_prefix("warden:") else {
            continue;
        };
        let start = body.len() - trimmed.len();
        let at = |offset: usize, len: usize| {
            Span::new(
                comment.line,
                comment.column(offset),
                u32::try_from(body[offset..offset + len].chars().count()).unwrap_or(1),
            )
        };
        let whole = at(start, trimmed.trim_end().len());
        let after_colon = start + "warden:".len();
        let directive = rest.trim_start();
        let Some(list) = directive.strip_prefix("ignore[") else {
            problems.push(malformed_ignore::unknown_directive(path, whole));
            continue;
        };
        let list_start = after_colon + (rest.len() - directive.len()) + "ignore[".len();
        let Some(close) = list.find(']') else {
            problems.push(malformed_ignore::unclosed(path, whole));
            continue;
        };
        let mut entries = Vec::new();
        let mut item_start = list_start;
        for item in list[..close].split(',') {
            let name = item.trim();
            let offset = item_start + (item.len() - item.trim_start().len());
            item_start += item.len() + 1;
            if name.is_empty() {
                continue;
            }
            let span = at(offset, name.len());
            match Code::lookup(name) {
                None => problems.push(malformed_ignore::unknown_code(path, span, name)),
                Some(code) if matches!(code, Code::P090 | Code::P091) => {
                    problems.push(malformed_ignore::about_ignores(path, span, code));
                }
                Some(code) if code.severity() == Severity::Error => {
                    problems.push(malformed_ignore::an_error(path, span, code));
                }
                Some(code) => entries.push(Entry {
                    code,
                    span,
                    used: false,
                }),
            }
        }
        if list[..close].trim().is_empty() {
            problems.push(malformed_ignore::empty(path, whole));
            continue;
        }
        found.push(Directive {
            line: comment.line,
            alone: comment.alone,
            entries,
        });
    }
    (found, problems)
}

/// Removes the findings of `path` that its ignore comments suppress; returns how many. Every
/// code of a comment that suppressed nothing becomes a P090 finding.
pub(crate) fn suppress(
    diagnostics: &mut Vec<Diagnostic>,
    path: &Path,
    directives: &mut [Directive],
) -> usize {
    let before = diagnostics.len();
    diagnostics.retain(|d| {
        if d.file != path || d.severity != Severity::Warning {
            return true;
        }
        let mut suppressed = false;
        for directive in directives.iter_mut().filter(|x| x.target() == d.line) {
            for entry in directive.entries.iter_mut().filter(|e| e.code == d.code) {
                entry.used = true;
                suppressed = true;
            }
        }
        !suppressed
    });
    let suppressed = before - diagnostics.len();
    for directive in directives.iter() {
        for entry in directive.entries.iter().filter(|e| !e.used) {
            diagnostics.push(unused_ignore::finding(
                path,
                entry.span,
                entry.code,
                directive.target(),
            ));
        }
    }
    suppressed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment_lines(text: &str) -> Vec<(u32, bool, String)> {
        comments(text, &LineIndex::new(text))
            .into_iter()
            .map(|c| (c.line, c.alone, c.text().to_owned()))
            .collect()
    }

    #[test]
    fn comments_are_found_where_yaml_has_them() {
        let text = "a: 1 # one\n# two\nb: \"x # not\" # three\nc: 'it''s # not' # four\nd: x#not\n";
        assert_eq!(
            comment_lines(text),
            [
                (1, false, " one".to_owned()),
                (2, true, " two".to_owned()),
                (3, false, " three".to_owned()),
                (4, false, " four".to_owned()),
            ]
        );
    }

    #[test]
    fn block_scalars_and_multi_line_quotes_hold_no_comments() {
        let text = "\
doc: |
  # a heading
  text # still text
next: 1 # comment
- text: >-
    # folded
  other: 2 # after
- |
  # entry
q: \"open
  # inside
  closed\" # out
plain: don't # apostrophe
";
        assert_eq!(
            comment_lines(text),
            [
                (4, false, " comment".to_owned()),
                (7, false, " after".to_owned()),
                (12, false, " out".to_owned()),
                (13, false, " apostrophe".to_owned()),
            ]
        );
    }

    #[test]
    fn a_directive_names_codes_with_their_columns() {
        let text = "a: 1  # warden: ignore[P060, unused-event]\n";
        let (found, problems) = directives(Path::new("p.yaml"), text, &LineIndex::new(text));
        assert_eq!(problems, []);
        assert_eq!(found.len(), 1);
        assert!(!found[0].alone);
        let entries: Vec<_> = found[0].entries.iter().map(|e| (e.code, e.span)).collect();
        assert_eq!(
            entries,
            [
                (Code::P060, Span::new(1, 24, 4)),
                (Code::P022, Span::new(1, 30, 12))
            ]
        );
    }

    #[test]
    fn malformed_directives_are_findings_at_what_is_wrong() {
        let text = "\
# warden: ignore[P60]
# warden: ignore[P011]
# warden: ignroe[P060]
# warden: ignore[P060
# warden: ignore[]
# warden: ignore[P090]
";
        let (_, problems) = directives(Path::new("p.yaml"), text, &LineIndex::new(text));
        let found: Vec<_> = problems
            .iter()
            .map(|d| (d.code, d.line, d.column, d.len))
            .collect();
        assert_eq!(
            found,
            [
                (Code::P091, 1, 18, 3),
                (Code::P091, 2, 18, 4),
                (Code::P091, 3, 3, 20),
                (Code::P091, 4, 3, 19),
                (Code::P091, 5, 3, 16),
                (Code::P091, 6, 18, 4),
            ]
        );
        assert_eq!(problems[0].help.as_deref(), Some("did you mean `P060`?"));
    }

    fn warning(line: u32, code: Code) -> Diagnostic {
        Diagnostic::new(code, Path::new("p.yaml"), Span::new(line, 1, 1), "w")
    }

    #[test]
    fn a_comment_suppresses_its_line_or_alone_the_next() {
        let text = "a: 1 # warden: ignore[P060]\n# warden: ignore[P022, P033]\nb: 2\nc: 3\n";
        let (mut found, _) = directives(Path::new("p.yaml"), text, &LineIndex::new(text));
        let mut diagnostics = vec![
            warning(1, Code::P060),
            warning(1, Code::P012),
            warning(3, Code::P022),
            warning(4, Code::P033),
            warning(2, Code::P060),
        ];
        let suppressed = suppress(&mut diagnostics, Path::new("p.yaml"), &mut found);
        assert_eq!(suppressed, 2);
        let left: Vec<_> = diagnostics.iter().map(|d| (d.code, d.line)).collect();
        assert_eq!(
            left,
            [
                (Code::P012, 1),
                (Code::P033, 4),
                (Code::P060, 2),
                (Code::P090, 2)
            ]
        );
        assert_eq!(diagnostics[3].column, 24);
    }

    #[test]
    fn errors_and_other_files_are_never_suppressed() {
        let text = "# warden: ignore[P060]\nb: 2\n";
        let (mut found, _) = directives(Path::new("p.yaml"), text, &LineIndex::new(text));
        let mut diagnostics = vec![
            Diagnostic::new(Code::P060, Path::new("t.md.j2"), Span::new(2, 1, 1), "w"),
            Diagnostic::new(Code::P011, Path::new("p.yaml"), Span::new(2, 1, 1), "e"),
        ];
        assert_eq!(
            suppress(&mut diagnostics, Path::new("p.yaml"), &mut found),
            0
        );
        let left: Vec<_> = diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(left, [Code::P060, Code::P011, Code::P090]);
    }
}
