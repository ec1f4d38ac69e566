//! The reading of YAML nodes in general: a decoder that keeps every diagnostic with its place,
//! the spans of scalars as written, and a mapping's keys read by name.
//!
//! Every section of a protocol decodes itself through these, so an unknown key, a missing key or
//! a node of the wrong kind is reported the same way, at its own line and column, wherever it is.

use std::collections::HashSet;
use std::path::Path;

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::protocol::tree::{Mapping, Node, Scalar, Value};
use crate::span::{LineIndex, Span, Str};
use crate::suggest;

/// Reads nodes of one file, collecting diagnostics.
pub(crate) struct Decoder<'s> {
    path: &'s Path,
    text: &'s str,
    lines: &'s LineIndex,
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// Every distinct string read so far, held once however often the protocol repeats it.
    strings: HashSet<Str>,
}

impl<'s> Decoder<'s> {
    pub(crate) fn new(path: &'s Path, text: &'s str, lines: &'s LineIndex) -> Self {
        Decoder {
            path,
            text,
            lines,
            diagnostics: Vec::new(),
            strings: HashSet::new(),
        }
    }

    /// `text` as a protocol's string: the one read before, if the protocol had it already.
    pub(crate) fn string(&mut self, text: &str) -> Str {
        if let Some(known) = self.strings.get(text) {
            return known.clone();
        }
        let new = Str::from(text);
        self.strings.insert(new.clone());
        new
    }

    pub(crate) fn error(&mut self, code: Code, span: Span, message: impl Into<String>) {
        let diagnostic = Diagnostic::new(code, self.path, span, message);
        self.diagnostics.push(diagnostic);
    }

    pub(crate) fn error_with_help(
        &mut self,
        code: Code,
        span: Span,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let diagnostic = Diagnostic::new(code, self.path, span, message).with_help_opt(help);
        self.diagnostics.push(diagnostic);
    }

    /// The span of a scalar as written: through its closing quote, or the plain text's first line.
    pub(crate) fn scalar_span(&self, node: Scalar<'_>) -> Span {
        let (line, column) = (node.node().line(), node.node().column());
        let rest = self.lines.from_column(self.text, line, column);
        let len = match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => quoted_len(rest, quote),
            _ => {
                let first_line = node.as_str().lines().next().unwrap_or("");
                if !first_line.is_empty() && rest.starts_with(first_line) {
                    first_line.chars().count()
                } else {
                    let token = rest.split([',', ']', '}', '#']).next().unwrap_or(rest);
                    token.trim_end().chars().count()
                }
            }
        };
        Span::new(line, column, u32::try_from(len).unwrap_or(1))
    }

    /// The span of any node. A container is marked on its first line: a flow mapping or
    /// sequence through its closing bracket when that is on the same line, else (and for a
    /// block container) through the end of that line's text, before any comment.
    pub(crate) fn span_of(&self, node: Node<'_>) -> Span {
        match node.value() {
            Value::Scalar(scalar) => self.scalar_span(scalar),
            _ => {
                let (line, column) = (node.line(), node.column());
                let rest = self.lines.from_column(self.text, line, column);
                let len = u32::try_from(container_len(rest)).unwrap_or(1);
                Span::new(line, column, len)
            }
        }
    }

    /// Whether `node` is an empty value (`key:` with nothing, `~` or `null`).
    pub(super) fn is_null(&self, node: Node<'_>) -> bool {
        match node.value() {
            Value::Scalar(s) => {
                matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL") && !s.is_quoted()
            }
            _ => false,
        }
    }

    /// Opens a mapping node as a set of known keys; reports every key not in `known`.
    pub(crate) fn fields<'n>(
        &mut self,
        node: Node<'n>,
        at: Span,
        what: &'static str,
        known: &'static [&'static str],
    ) -> Option<Fields<'n>> {
        let map = match node.value() {
            Value::Mapping(map) => Some(map),
            _ if self.is_null(node) => None,
            _ => {
                self.error(
                    Code::P003,
                    at,
                    format!("expected {what} (a mapping), found {}", describe(node)),
                );
                return None;
            }
        };
        if let Some(map) = map {
            for (key, _) in map.iter() {
                if !known.contains(&key.as_str()) {
                    let span = self.scalar_span(key);
                    self.error_with_help(
                        Code::P002,
                        span,
                        format!("unknown key `{}` in {what}", key.as_str()),
                        suggest::help(key.as_str(), known),
                    );
                }
            }
        }
        Some(Fields { map, at, what })
    }
}

fn quoted_len(rest: &str, quote: char) -> usize {
    let mut chars = rest.chars().skip(1).peekable();
    let mut count = 1;
    while let Some(c) = chars.next() {
        count += 1;
        let escaped = quote == '"' && c == '\\';
        let doubled = quote == '\'' && c == quote && chars.peek() == Some(&quote);
        if escaped || doubled {
            if chars.next().is_some() {
                count += 1;
            }
        } else if c == quote {
            return count;
        }
    }
    count
}

pub(super) fn describe(node: Node<'_>) -> String {
    match node.value() {
        Value::Scalar(s) => format!("`{}`", truncate(s.as_str())),
        Value::Mapping(_) => "a mapping".into(),
        Value::Sequence(_) => "a list".into(),
    }
}

pub(super) fn truncate(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// The keys of one mapping, read by name.
pub(crate) struct Fields<'n> {
    map: Option<Mapping<'n>>,
    at: Span,
    what: &'static str,
}

impl<'n> Fields<'n> {
    /// Where the mapping is.
    pub(crate) fn span(&self) -> Span {
        self.at
    }

    fn lookup(&self, d: &Decoder, key: &str) -> Option<(Node<'n>, Span)> {
        let (_, v) = self.map?.iter().find(|(k, _)| k.as_str() == key)?;
        if d.is_null(v) {
            return None;
        }
        Some((v, d.span_of(v)))
    }

    /// Whether `key` is given (present and not empty).
    pub(crate) fn has(&self, d: &Decoder, key: &str) -> bool {
        self.lookup(d, key).is_some()
    }

    /// The span of `key` itself, when present.
    pub(crate) fn key_span(&self, d: &Decoder, key: &str) -> Option<Span> {
        let (k, _) = self.map?.iter().find(|(k, _)| k.as_str() == key)?;
        Some(d.scalar_span(k))
    }

    /// An optional key: absent, empty, or malformed (reported) gives `None`.
    pub(crate) fn opt<T: Decode>(&self, d: &mut Decoder, key: &str) -> Option<T> {
        let (node, span) = self.lookup(d, key)?;
        T::decode(d, node, span)
    }

    /// An optional key with a default when absent.
    pub(crate) fn or_default<T: Decode + Default>(&self, d: &mut Decoder, key: &str) -> T {
        self.opt(d, key).unwrap_or_default()
    }

    /// A required key: reports its absence.
    pub(crate) fn req<T: Decode>(&self, d: &mut Decoder, key: &str) -> Option<T> {
        match self.lookup(d, key) {
            Some((node, span)) => T::decode(d, node, span),
            None => {
                d.error(
                    Code::P003,
                    self.at,
                    format!("{} is missing the required key `{key}`", self.what),
                );
                None
            }
        }
    }
}

/// A type read from a YAML node of the protocol's tree.
pub(crate) trait Decode: Sized {
    /// Reads `node`, written at `at`; reports problems to `d` and returns `None` when unusable.
    fn decode(d: &mut Decoder, node: Node<'_>, at: Span) -> Option<Self>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_lengths_include_both_quotes_and_escapes() {
        assert_eq!(quoted_len(r#""a b" rest"#, '"'), 5);
        assert_eq!(quoted_len(r#""a\"b""#, '"'), 6);
        assert_eq!(quoted_len("'it''s' x", '\''), 7);
        assert_eq!(quoted_len("'open", '\''), 5);
    }
}

/// The width in characters of a container that starts `rest` (the rest of its first line): a
/// flow one through its matching bracket on that line, else the line's text before a comment.
fn container_len(rest: &str) -> usize {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut previous = ' ';
    let mut end = 0;
    let flow = rest.starts_with(['{', '[']);
    for (count, c) in rest.chars().enumerate() {
        match quote {
            Some('\'') if c == '\'' => quote = None,
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some('"') if c == '"' => quote = None,
            Some(_) => {}
            None if c == '#' && previous.is_whitespace() => break,
            None if matches!(c, '\'' | '"') && matches!(previous, ' ' | '[' | '{' | ',') => {
                quote = Some(c);
            }
            None if flow && matches!(c, '{' | '[') => depth += 1,
            None if flow && matches!(c, '}' | ']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return count + 1;
                }
            }
            None => {}
        }
        if !c.is_whitespace() {
            end = count + 1;
        }
        previous = c;
    }
    end.max(1)
}

#[cfg(test)]
mod container_tests {
    use super::container_len;

    #[test]
    fn a_container_is_marked_through_its_bracket_or_its_line() {
        assert_eq!(container_len("{ from: a, to: b }  # c"), 18);
        assert_eq!(container_len("[a, \"]\", 'b]']"), 14);
        assert_eq!(container_len("{ from: a,"), 10);
        assert_eq!(container_len("from: watch   # comment"), 11);
        assert_eq!(container_len(""), 1);
    }
}
