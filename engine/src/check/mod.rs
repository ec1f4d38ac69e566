//! Linting a protocol: every rule of PROTOCOL.md's table, one file each under `rules/`.
//!
//! [`check_path`] loads a file and runs every rule. Load errors (P001-P004) stop there: the rules
//! after them reason about a whole model, and a half-loaded one would only produce noise.

mod guarded;
mod ignore;
mod rules;
mod scope;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::rc::Rc;

use minijinja::Environment;

use crate::codes::{Code, Severity};
use crate::diagnostic::{self, Diagnostic, Sources};
use crate::expr;
use crate::graph::StateGraph;
use crate::protocol::{self, LoadError, Protocol, TemplateSource};
use crate::span::{LineIndex, Span, Str};

pub use scope::Scope;

/// The findings of one check, with the texts they point into.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every finding, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// The protocol's and templates' texts, to show source lines.
    pub sources: Sources,
    /// How many findings were suppressed, by ignore comments or [`Report::ignore`].
    pub ignored: usize,
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

    /// Drops the warnings whose code is in `codes` (project-wide ignores: `--ignore`, the
    /// config's `check.ignore`), counting them as ignored. Errors are never dropped.
    pub fn ignore(&mut self, codes: &[Code]) {
        let before = self.diagnostics.len();
        self.diagnostics
            .retain(|d| d.severity == Severity::Error || !codes.contains(&d.code));
        self.ignored += before - self.diagnostics.len();
    }

    /// Adds the findings of `other`, as when several files are checked at once.
    pub fn extend(&mut self, other: Report) {
        self.diagnostics.extend(other.diagnostics);
        self.sources.extend(other.sources);
        self.ignored += other.ignored;
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

/// The findings of `code` in the protocol `text`, for the rules' own tests.
#[cfg(test)]
pub(crate) fn findings_of(text: &str, code: crate::Code) -> Vec<Diagnostic> {
    let report = check_source(Path::new("demo.yaml"), text).expect("the test's protocol loads");
    report
        .diagnostics
        .into_iter()
        .filter(|d| d.code == code)
        .collect()
}

fn finish(path: &Path, loaded: Result<Protocol, LoadError>) -> Result<Report, LoadError> {
    match loaded {
        Ok(protocol) => Ok(check_protocol(&protocol)),
        Err(LoadError::Invalid {
            source_text,
            mut diagnostics,
        }) => {
            // Only errors stop the load, and errors cannot be ignored; whether an ignore comment
            // is needed, or well formed, is judged once the protocol loads and every rule ran.
            let mut sources = Sources::default();
            if let Some(text) = source_text {
                sources.insert(path, text);
            }
            diagnostic::sort(&mut diagnostics);
            Ok(Report {
                diagnostics,
                sources,
                ignored: 0,
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
    let (mut directives, malformed) =
        ignore::directives(&protocol.path, &protocol.source, &cx.lines);
    diagnostics.extend(malformed);
    diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    let ignored = ignore::suppress(&mut diagnostics, &protocol.path, &mut directives);
    diagnostic::sort(&mut diagnostics);
    let mut sources = Sources::default();
    sources.insert(&protocol.path, protocol.source.clone());
    for template in templates.values() {
        sources.insert(&template.path, template.text.clone());
    }
    Report {
        diagnostics,
        sources,
        ignored,
    }
}

/// What every rule sees: the protocol, its templates, its graph and the template environment,
/// with the indexes and caches that keep checking linear in the size of the protocol.
pub(crate) struct Cx<'p> {
    pub protocol: &'p Protocol,
    pub templates: &'p BTreeMap<String, TemplateSource>,
    pub template_problems: Vec<Diagnostic>,
    pub graph: StateGraph,
    pub env: Environment<'static>,
    lines: LineIndex,
    /// What every transition sees, before its event's fields.
    base_scope: Scope,
    /// The scope of each event's transitions (`None`: eventless), built once.
    scopes: RefCell<HashMap<Option<Str>, Rc<Scope>>>,
    /// Each source analyzed, by kind: looked up by the borrowed text, copied only when new.
    analyses: RefCell<HashMap<expr::Kind, HashMap<String, Rc<Analyzed>>>>,
    filters: RefCell<HashMap<String, bool>>,
    tests: RefCell<HashMap<String, bool>>,
}

/// A template or expression, analyzed.
pub(crate) type Analyzed = Result<expr::Analysis, expr::SyntaxError>;

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
            base_scope: Scope::base(protocol),
            scopes: RefCell::default(),
            analyses: RefCell::default(),
            filters: RefCell::default(),
            tests: RefCell::default(),
        }
    }

    /// A finding in the protocol file.
    pub fn at(&self, code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, &self.protocol.path, span, message)
    }

    /// Maps a position inside an expression written at `span` in the protocol to the file.
    pub fn in_expression(&self, span: Span, position: expr::Position) -> Span {
        let source = &self.protocol.source;
        let rest = self.lines.from_column(source, span.line(), span.column());
        let quoted = matches!(rest.chars().next(), Some('"' | '\''));
        let (line, column) = if position.line <= 1 {
            (
                span.line(),
                span.column() + u32::from(quoted) + position.column - 1,
            )
        } else {
            (
                span.line() + position.line - 1,
                span.column() + position.column - 1,
            )
        };
        let width = |line: u32| self.lines.line(source, line).chars().count() as u32;
        if position.line > 1 || column <= width(line) + 1 {
            return Span::new(line, column, position.len);
        }
        // Past the end of the line: a folded scalar (`>`, or plain or quoted over several
        // lines) joined the file's lines with spaces. Walk them, each giving its text and one
        // space (a blank line gives only the line break it stands for).
        let mut offset = position.column - 1;
        let mut line = span.line();
        let mut start = span.column() + u32::from(quoted);
        let mut text_width = width(line) + 1 - start;
        let last = self.lines.count();
        while offset > text_width && line < last {
            offset -= text_width + 1;
            loop {
                line += 1;
                let text = self.lines.line(source, line);
                let content = text.trim_start();
                if !content.is_empty() || line >= last {
                    start = (text.chars().count() - content.chars().count()) as u32 + 1;
                    text_width = content.chars().count() as u32;
                    break;
                }
            }
        }
        let column = start + offset.min(text_width);
        let len = position
            .len
            .min((text_width + 1).saturating_sub(offset))
            .max(1);
        Span::new(line, column, len)
    }

    /// The transitions that apply in `state` on `event` (`None`: eventless), in file order.
    pub fn candidates(
        &self,
        state: &str,
        event: Option<&str>,
    ) -> impl Iterator<Item = (usize, &'p protocol::Transition)> + '_ {
        self.graph
            .transitions_from(state, event)
            .map(|index| (index, &self.protocol.transitions[index]))
    }

    /// What every transition sees before its event's fields, and what gates see.
    pub fn base_scope(&self) -> &Scope {
        &self.base_scope
    }

    /// What a transition's guard, `set` expressions and messages can read: the same for every
    /// transition on one event, so built once for each.
    pub fn scope(&self, transition: &protocol::Transition) -> Rc<Scope> {
        let on = transition.on.as_ref().map(|on| on.value.clone());
        if let Some(scope) = self.scopes.borrow().get(&on) {
            return scope.clone();
        }
        let scope = Rc::new(self.base_scope.for_event(self.protocol, on.as_deref()));
        self.scopes.borrow_mut().insert(on, scope.clone());
        scope
    }

    /// `source` analyzed once, however many rules ask.
    pub fn analyze(&self, source: &str, kind: expr::Kind) -> Rc<Analyzed> {
        if let Some(analyzed) = self
            .analyses
            .borrow()
            .get(&kind)
            .and_then(|a| a.get(source))
        {
            return analyzed.clone();
        }
        let analyzed = Rc::new(expr::analyze(&self.env, source, kind));
        self.analyses
            .borrow_mut()
            .entry(kind)
            .or_default()
            .insert(source.to_owned(), analyzed.clone());
        analyzed
    }

    /// Whether the environment has the filter `name`.
    pub fn has_filter(&self, name: &str) -> bool {
        *self
            .filters
            .borrow_mut()
            .entry(name.to_owned())
            .or_insert_with(|| expr::has_filter(&self.env, name))
    }

    /// Whether the environment has the test `name`.
    pub fn has_test(&self, name: &str) -> bool {
        *self
            .tests
            .borrow_mut()
            .entry(name.to_owned())
            .or_insert_with(|| expr::has_test(&self.env, name))
    }

    /// The names a guard reads, when it parses.
    pub fn guard_names(&self, transition: &protocol::Transition) -> Vec<Vec<String>> {
        let Some(guard) = &transition.guard else {
            return Vec::new();
        };
        match &*self.analyze(guard, expr::Kind::Expression) {
            Ok(analysis) => analysis.names.iter().map(|n| n.path.clone()).collect(),
            Err(_) => Vec::new(),
        }
    }
}
