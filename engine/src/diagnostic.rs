//! Findings and how they are shown.
//!
//! A [`Diagnostic`] is a code plus a place. It renders three ways: one line for tools and grep
//! (`file:line:col: error[P011]: message`), a rustc-like block with the source line and a caret for
//! people, and JSON for machines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arcstr::ArcStr;

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term;
use serde::Serialize;

use crate::codes::{Code, Severity};
use crate::span::{LineIndex, Span};

/// One finding: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Its severity (always the code's).
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The file it is in: the protocol, or one of its templates.
    pub file: PathBuf,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// How to fix it, where that helps.
    pub help: Option<String>,
    /// Width of the marked text, in characters.
    #[serde(skip)]
    pub len: u32,
}

impl Diagnostic {
    /// A finding with `code` at `span` of `file`.
    pub fn new(code: Code, file: &Path, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            file: file.to_path_buf(),
            line: span.line(),
            column: span.column(),
            len: span.len(),
            help: None,
        }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds a help line if there is one.
    pub fn with_help_opt(mut self, help: Option<String>) -> Diagnostic {
        self.help = help;
        self
    }

    /// The one-line form: `file:line:col: error[P011]: message`.
    pub fn short(&self) -> String {
        format!(
            "{}:{}:{}: {}[{}]: {}",
            self.file.display(),
            self.line,
            self.column,
            self.severity,
            self.code,
            self.message
        )
    }

    /// The finding as a GitHub Actions workflow command, which the workflow's run shows as an
    /// annotation on the line: `::error file=F,line=L,col=C,endColumn=E,title=P032::message`.
    pub fn github(&self) -> String {
        let command = match self.severity {
            crate::codes::Severity::Error => "error",
            crate::codes::Severity::Warning => "warning",
        };
        let mut message = self.message.clone();
        if let Some(help) = &self.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        format!(
            "::{command} file={},line={},col={},endColumn={},title={}::{}",
            github_property(&self.file.display().to_string()),
            self.line,
            self.column,
            self.end_column(),
            self.code,
            github_data(&message)
        )
    }

    fn span(&self) -> Span {
        Span::new(self.line, self.column, self.len)
    }

    /// The line the marked text ends on: every finding marks text on one line.
    pub fn end_line(&self) -> u32 {
        self.line
    }

    /// The column just after the marked text, in characters (as SARIF counts an end).
    pub fn end_column(&self) -> u32 {
        self.column.saturating_add(self.len.max(1))
    }
}

/// Sorts findings the way they are shown: by file, then line, column and code.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.code, &a.message)
            .cmp(&(&b.file, b.line, b.column, b.code, &b.message))
    });
}

/// The texts of the files findings point into, so they can be shown with their source lines.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: BTreeMap<PathBuf, ArcStr>,
}

impl Sources {
    /// Remembers the text of `path`.
    pub fn insert(&mut self, path: &Path, text: ArcStr) {
        self.files.insert(path.to_path_buf(), text);
    }

    /// The text of `path`, if it was read.
    pub fn get(&self, path: &Path) -> Option<&str> {
        self.files.get(path).map(|text| &**text)
    }

    /// Adds every file of `other`.
    pub fn extend(&mut self, other: Sources) {
        self.files.extend(other.files);
    }
}

/// Whether the pretty form uses ANSI colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// Plain text.
    Never,
    /// ANSI escapes, for a terminal.
    Always,
}

/// Renders `diagnostic` as rustc does: a header, the source line with a caret, and a help line.
/// For many findings, [`pretty_all`] (or a [`Printer`]) indexes each file once instead of once
/// per finding.
pub fn pretty(diagnostic: &Diagnostic, sources: &Sources, color: Color) -> String {
    Printer::new(sources, color).pretty(diagnostic)
}

/// Every finding of `diagnostics` as [`pretty`] renders it, one after the other.
pub fn pretty_all(diagnostics: &[Diagnostic], sources: &Sources, color: Color) -> String {
    let printer = Printer::new(sources, color);
    diagnostics.iter().map(|d| printer.pretty(d)).collect()
}

/// Renders findings rustc-style, with the lines of every source file found once, when it is
/// made: rendering a finding costs its own lines, not a scan of its file, so that thousands of
/// findings in one file print in time linear in their number.
pub struct Printer<'s> {
    files: SimpleFiles<String, &'s str>,
    indexed: BTreeMap<&'s Path, (usize, LineIndex)>,
    color: Color,
}

impl<'s> Printer<'s> {
    /// Indexes every file of `sources`.
    pub fn new(sources: &'s Sources, color: Color) -> Printer<'s> {
        let mut files = SimpleFiles::new();
        let mut indexed = BTreeMap::new();
        for (path, text) in &sources.files {
            let id = files.add(path.display().to_string(), &**text);
            indexed.insert(path.as_path(), (id, LineIndex::new(text)));
        }
        Printer {
            files,
            indexed,
            color,
        }
    }

    /// Renders one finding.
    pub fn pretty(&self, diagnostic: &Diagnostic) -> String {
        let severity = match diagnostic.severity {
            Severity::Error => cs::Severity::Error,
            Severity::Warning => cs::Severity::Warning,
        };
        let mut rendered = cs::Diagnostic::new(severity)
            .with_code(diagnostic.code.as_str())
            .with_message(&diagnostic.message);
        if let Some(help) = &diagnostic.help {
            rendered = rendered.with_notes(vec![format!("help: {help}")]);
        }
        let file = self
            .indexed
            .get(diagnostic.file.as_path())
            .and_then(|(id, index)| {
                let text = self.files.get(*id).ok()?.source();
                (!text.is_empty()).then_some((*id, index, *text))
            });
        match file {
            Some((id, index, text)) => {
                let range = index.byte_range(text, diagnostic.span());
                rendered = rendered.with_labels(vec![cs::Label::primary(id, range)]);
            }
            None => {
                rendered = rendered.with_notes(vec![format!(
                    "at {}:{}:{}",
                    diagnostic.file.display(),
                    diagnostic.line,
                    diagnostic.column
                )]);
            }
        }
        rendered = rendered.with_notes(vec![docs_note(diagnostic.code)]);
        let config = term::Config {
            chars: term::Chars::ascii(),
            ..term::Config::default()
        };
        let out = match self.color {
            Color::Never => term::emit_into_string(&config, &self.files, &rendered),
            Color::Always => {
                let mut buffer = term::termcolor::Buffer::ansi();
                term::emit_to_write_style(&mut buffer, &config, &self.files, &rendered)
                    .map(|()| String::from_utf8_lossy(buffer.as_slice()).into_owned())
            }
        };
        // Rendering only fails when a span lies outside its file, which `byte_range` rules
        // out; the short form is the fallback all the same.
        out.unwrap_or_else(|_| format!("{}\n", diagnostic.short()))
    }
}

/// The note that ends every finding in the pretty form: where its code is documented.
fn docs_note(code: Code) -> String {
    format!("docs: {} (or `warden explain {code}`)", code.docs_link())
}

/// A finding as JSON shows it: its fields, where the marked text ends, and where its code is
/// documented.
#[derive(Serialize)]
struct Json<'d> {
    #[serde(flatten)]
    diagnostic: &'d Diagnostic,
    end_line: u32,
    end_column: u32,
    docs: String,
}

/// Renders findings as a JSON array of objects with code, severity, message, file, line, column,
/// help, end_line and end_column (the column just after the marked text), and docs (where the
/// code is documented, `docs/checks.md#p011-unknown-state`).
pub fn to_json(diagnostics: &[Diagnostic]) -> String {
    let findings: Vec<Json> = diagnostics
        .iter()
        .map(|diagnostic| Json {
            diagnostic,
            end_line: diagnostic.end_line(),
            end_column: diagnostic.end_column(),
            docs: diagnostic.code.docs_link(),
        })
        .collect();
    serde_json::to_string_pretty(&findings).expect("diagnostics serialize to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Diagnostic, Sources) {
        let path = Path::new("p.yaml");
        let mut sources = Sources::default();
        sources.insert(
            path,
            ArcStr::from("states:\n  watch: {}\n  bad: { initial: maybe }\n"),
        );
        let diagnostic = Diagnostic::new(
            Code::P003,
            path,
            Span::new(3, 19, 5),
            "expected a boolean, found `maybe`",
        )
        .with_help("write true or false");
        (diagnostic, sources)
    }

    #[test]
    fn short_form_is_file_line_col() {
        let (d, _) = sample();
        assert_eq!(
            d.short(),
            "p.yaml:3:19: error[P003]: expected a boolean, found `maybe`"
        );
    }

    #[test]
    fn many_findings_index_their_file_once() {
        let (d, sources) = sample();
        let many = vec![d; 500];
        let before = crate::span::indexed();
        let text = pretty_all(&many, &sources, Color::Never);
        assert_eq!(crate::span::indexed() - before, 1);
        assert_eq!(text.matches("error[P003]").count(), 500);
        assert_eq!(text, pretty(&many[0], &sources, Color::Never).repeat(500));
    }

    #[test]
    fn pretty_form_marks_the_value() {
        let (d, sources) = sample();
        let text = pretty(&d, &sources, Color::Never);
        assert!(text.contains("error[P003]: expected a boolean"), "{text}");
        assert!(text.contains("--> p.yaml:3:19"), "{text}");
        assert!(text.contains("^^^^^"), "{text}");
        assert!(text.contains("= help: write true or false"), "{text}");
        assert!(
            text.contains(
                "= docs: docs/checks.md#p003-malformed-value (or `warden explain P003`)\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_finding_without_its_source_still_ends_with_its_docs() {
        let (d, _) = sample();
        let text = pretty(&d, &Sources::default(), Color::Never);
        let at = text.find("= at p.yaml:3:19").expect(&text);
        let docs = text.find("= docs: docs/checks.md#p003").expect(&text);
        assert!(at < docs, "{text}");
    }

    #[test]
    fn json_names_where_the_code_is_documented() {
        let (d, _) = sample();
        let json: serde_json::Value = serde_json::from_str(&to_json(&[d])).unwrap();
        assert_eq!(json[0]["code"], "P003");
        assert_eq!(json[0]["help"], "write true or false");
        assert_eq!(json[0]["docs"], "docs/checks.md#p003-malformed-value");
        assert_eq!(
            (&json[0]["line"], &json[0]["column"]),
            (&3.into(), &19.into())
        );
        assert_eq!(
            (&json[0]["end_line"], &json[0]["end_column"]),
            (&3.into(), &24.into())
        );
    }
}

/// A workflow command's message, escaped as the runner reads it.
fn github_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value, escaped as the runner reads it.
fn github_property(text: &str) -> String {
    github_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod github_tests {
    use super::*;

    #[test]
    fn a_finding_is_a_workflow_command_with_its_text_escaped() {
        let mut finding = Diagnostic::new(
            crate::Code::P032,
            Path::new("a,b:c.yaml"),
            Span::new(3, 5, 4),
            "100% wrong",
        );
        finding.help = Some("did you mean `x`?".into());
        assert_eq!(
            finding.github(),
            "::error file=a%2Cb%3Ac.yaml,line=3,col=5,endColumn=9,title=P032::100%25 wrong%0Ahelp: \
             did you mean `x`?"
        );
    }
}
