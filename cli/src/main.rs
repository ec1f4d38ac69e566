//! The `warden` command: clap definitions and printing; every decision is the engine's.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use warden::check::{self, Report};
use warden::diagnostic::{self, Color};
use warden::graph;
use warden::protocol::{self, LoadError};
use warden::Severity;

/// Warden runs long jobs under declarative protocols: YAML state machines that watch the job,
/// classify what goes wrong, and tell each role what to do.
#[derive(Debug, Parser)]
#[command(name = "warden", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Lint protocol files: exit 0 when clean, 1 on findings, 2 when a file cannot be read.
    Check {
        /// Protocol files.
        #[arg(required = true, value_name = "PROTOCOL")]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
        /// Treat warnings as errors (`--deny warnings`).
        #[arg(long, value_enum, value_name = "LEVEL")]
        deny: Option<Deny>,
        /// When to colour the human format.
        #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
    },
    /// Draw a protocol's states and transitions.
    Graph {
        /// Protocol file.
        #[arg(value_name = "PROTOCOL")]
        file: PathBuf,
        /// Picture format.
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
    },
    /// Print the JSON Schema of the protocol file format.
    Schema,
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    /// rustc-like blocks with the source line and a caret.
    Human,
    /// One line per finding: `file:line:col: severity[code]: message`.
    Short,
    /// A JSON array of findings.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Deny {
    /// Warnings fail the check too.
    Warnings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    /// Colour on a terminal, unless NO_COLOR is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum GraphFormat {
    /// Mermaid stateDiagram-v2.
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// Exit codes: 0 clean, 1 findings or a refused action, 2 usage or I/O error.
const FINDINGS: u8 = 1;
const IO_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            files,
            format,
            deny,
            color,
        } => run_check(&files, format, deny.is_some(), color),
        Command::Graph { file, format } => run_graph(&file, format),
        Command::Schema => {
            print!("{}", warden::schema::protocol_schema());
            ExitCode::SUCCESS
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "warden", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
    }
}

fn run_check(
    files: &[PathBuf],
    format: CheckFormat,
    deny_warnings: bool,
    color: ColorChoice,
) -> ExitCode {
    let color = match color {
        ColorChoice::Always => Color::Always,
        ColorChoice::Never => Color::Never,
        ColorChoice::Auto
            if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() =>
        {
            Color::Always
        }
        ColorChoice::Auto => Color::Never,
    };
    let mut combined = Report::default();
    let mut unreadable = 0;
    for file in files {
        match check::check_path(file) {
            Ok(report) => {
                combined.diagnostics.extend(report.diagnostics);
                combined.sources.extend(report.sources);
            }
            Err(error) => {
                eprintln!("error: {error}");
                unreadable += 1;
            }
        }
    }
    let mut out = std::io::stdout().lock();
    let written = match format {
        CheckFormat::Json => writeln!(out, "{}", diagnostic::to_json(&combined.diagnostics)),
        CheckFormat::Short => combined
            .diagnostics
            .iter()
            .try_for_each(|d| writeln!(out, "{}", d.short())),
        CheckFormat::Human => combined
            .diagnostics
            .iter()
            .try_for_each(|d| write!(out, "{}", diagnostic::pretty(d, &combined.sources, color)))
            .and_then(|()| {
                writeln!(
                    out,
                    "{}",
                    summary(&combined, files.len() - unreadable, unreadable)
                )
            }),
    };
    if written.is_err() {
        return ExitCode::from(IO_ERROR);
    }
    if unreadable > 0 {
        ExitCode::from(IO_ERROR)
    } else if combined.fails(deny_warnings) {
        ExitCode::from(FINDINGS)
    } else {
        ExitCode::SUCCESS
    }
}

fn summary(report: &Report, checked: usize, unreadable: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let findings = if errors + warnings == 0 {
        "no findings".to_owned()
    } else {
        format!(
            "{}, {}",
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    };
    let mut line = format!("checked {}: {findings}", plural(checked, "protocol"));
    if unreadable > 0 {
        line.push_str(&format!("; {unreadable} could not be read"));
    }
    line
}

fn run_graph(file: &std::path::Path, format: GraphFormat) -> ExitCode {
    match protocol::load(file) {
        Ok(protocol) => {
            let format = match format {
                GraphFormat::Mermaid => graph::Format::Mermaid,
                GraphFormat::Dot => graph::Format::Dot,
            };
            print!("{}", graph::render(&protocol, format));
            ExitCode::SUCCESS
        }
        Err(LoadError::Invalid {
            source_text,
            diagnostics,
        }) => {
            let mut sources = diagnostic::Sources::default();
            if let Some(text) = source_text {
                sources.insert(file, text);
            }
            for d in &diagnostics {
                eprint!("{}", diagnostic::pretty(d, &sources, Color::Never));
            }
            eprintln!(
                "error: {} cannot be drawn until it loads; see `warden check`",
                file.display()
            );
            ExitCode::from(FINDINGS)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(IO_ERROR)
        }
    }
}
