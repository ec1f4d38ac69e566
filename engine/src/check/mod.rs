//! Linting a protocol: every rule of PROTOCOL.md's table, one file each under `rules/`.
//!
//! [`check_path`] loads a file and runs every rule. Load errors (P001-P004) stop there: the rules
//! after them reason about a whole model, and a half-loaded one would only produce noise.

mod rules;
mod scope;

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::Environment;

use crate::codes::{Code, Severity};
use crate::diagnostic::{self, Diagnostic, Sources};
use crate::expr;
use crate::graph::StateGraph;
use crate::protocol::{self, LoadError, Protocol, TemplateSource};
use crate::span::{LineIndex, Span};

pub use scope::Scope;

/// The findings of one check, with the texts they point into.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every finding, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// The protocol's and templates' texts, to show source lines.
    pub sources: Sources,
}

impl Report {
    /// How many findings have `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }

    /// Whether the check fails: any error, or any warning when warnings are denied.
    pub fn fails(&self, deny_warnings: bool) -> bool {
        self.count(Severity::Error) > 0 || (deny_warnings && self.count(Severity::Warning) > 0)
    }
}

/// Loads the protocol at `path` and runs every check. Only an unreadable file is an `Err`.
pub fn check_path(path: &Path) -> Result<Report, LoadError> {
    finish(path, protocol::load(path))
}

/// Checks protocol text as if read from `path` (templates are read relative to it).
pub fn check_source(path: &Path, text: &str) -> Result<Report, LoadError> {
    finish(path, protocol::parse(path, text.as_bytes()))
}

fn finish(path: &Path, loaded: Result<Protocol, LoadError>) -> Result<Report, LoadError> {
    match loaded {
        Ok(protocol) => Ok(check_protocol(&protocol)),
        Err(LoadError::Invalid {
            source_text,
            mut diagnostics,
        }) => {
            let mut sources = Sources::default();
            if let Some(text) = source_text {
                sources.insert(path, text);
            }
            diagnostic::sort(&mut diagnostics);
            Ok(Report {
                diagnostics,
                sources,
            })
        }
        Err(io) => Err(io),
    }
}

/// Runs every check on a loaded protocol, reading its templates.
pub fn check_protocol(protocol: &Protocol) -> Report {
    let (templates, template_problems) = protocol::load_templates(protocol);
    let cx = Cx::new(protocol, &templates, template_problems);
    let mut diagnostics = Vec::new();
    for rule in rules::ALL {
        rule(&cx, &mut diagnostics);
    }
    diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    let mut sources = Sources::default();
    sources.insert(&protocol.path, protocol.source.clone());
    for template in templates.values() {
        sources.insert(&template.path, template.text.clone());
    }
    Report {
        diagnostics,
        sources,
    }
}

/// What every rule sees: the protocol, its templates, its graph and the template environment.
pub(crate) struct Cx<'p> {
    pub protocol: &'p Protocol,
    pub templates: &'p BTreeMap<String, TemplateSource>,
    pub template_problems: Vec<Diagnostic>,
    pub graph: StateGraph<'p>,
    pub env: Environment<'static>,
    lines: LineIndex,
}

impl<'p> Cx<'p> {
    fn new(
        protocol: &'p Protocol,
        templates: &'p BTreeMap<String, TemplateSource>,
        template_problems: Vec<Diagnostic>,
    ) -> Cx<'p> {
        Cx {
            protocol,
            templates,
            template_problems,
            graph: StateGraph::new(protocol),
            env: expr::environment(),
            lines: LineIndex::new(&protocol.source),
        }
    }

    /// A finding in the protocol file.
    pub fn at(&self, code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, &self.protocol.path, span, message)
    }

    /// Maps a position inside an expression written at `span` in the protocol to the file.
    pub fn in_expression(&self, span: Span, position: expr::Position) -> Span {
        let line_text = self.lines.line(&self.protocol.source, span.line);
        let quoted = matches!(
            line_text.chars().nth(span.column as usize - 1),
            Some('"' | '\'')
        );
        if position.line <= 1 {
            let column = span.column + u32::from(quoted) + position.column - 1;
            Span::new(span.line, column, position.len)
        } else {
            Span::new(
                span.line + position.line - 1,
                span.column + position.column - 1,
                position.len,
            )
        }
    }

    /// The transitions that apply in `state` on `event` (`None`: eventless), in file order.
    pub fn candidates<'a>(
        &'a self,
        state: &'a str,
        event: Option<&'a str>,
    ) -> impl Iterator<Item = (usize, &'p protocol::Transition)> + 'a {
        self.protocol
            .transitions
            .iter()
            .enumerate()
            .filter(move |(_, t)| {
                t.on.as_ref().map(|on| on.as_str()) == event
                    && self.protocol.sources(t).contains(&state)
            })
    }

    /// The names a guard reads, when it parses.
    pub fn guard_names(&self, transition: &protocol::Transition) -> Vec<Vec<String>> {
        transition
            .guard
            .as_ref()
            .and_then(|guard| expr::analyze(&self.env, guard, expr::Kind::Expression).ok())
            .map(|analysis| analysis.names.into_iter().map(|n| n.path).collect())
            .unwrap_or_default()
    }
}
