//! The `warden` command: clap definitions and printing; every decision is the engine's.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use warden::check::{self, Report};
use warden::diagnostic::{self, Color};
use warden::expr::RenderError;
use warden::graph;
use warden::protocol::{self, LoadError};
use warden::scenario::suite::{Mode, Pending, Verdict};
use warden::scenario::{self};
use warden::Severity;

mod mcp;
mod prune;
mod review;
mod runs;

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
        /// Protocol files; `-` reads one from standard input (its templates are looked for
        /// from the current directory).
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
        /// Never report this warning (`P060` or `unbounded-restart`); repeatable, or a comma
        /// list. Adds to the config's `check.ignore`.
        #[arg(long, value_name = "CODE", value_delimiter = ',')]
        ignore: Vec<warden::config::IgnoredCode>,
        /// The project's config file (default: the first `.warden.yaml` from each protocol's
        /// folder up to the repository's root).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Draw a protocol's states and transitions, or a run over its protocol (--run).
    Graph {
        /// Protocol file (not with --run: the run's own protocol is drawn).
        #[arg(
            value_name = "PROTOCOL",
            required_unless_present = "run",
            conflicts_with = "run"
        )]
        file: Option<PathBuf>,
        /// Picture format.
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
        /// Highlight this run: its current state, the states it has been in, and the
        /// transitions it took (with how many times).
        #[arg(long, value_name = "RUN")]
        run: Option<String>,
        /// Leave the guards out of the edges' labels.
        #[arg(long)]
        no_guards: bool,
        /// Which way the picture runs: TB (top to bottom) or LR (left to right).
        #[arg(long, value_enum, default_value_t = RankdirChoice::Tb, ignore_case = true)]
        rankdir: RankdirChoice,
        #[command(flatten)]
        runs: Runs,
    },
    /// Replay a scenario on a virtual clock and print its transcript.
    Simulate {
        /// Scenario file.
        #[arg(value_name = "SCENARIO")]
        scenario: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TranscriptFormat::Text)]
        format: TranscriptFormat,
    },
    /// Replay every scenario and compare each transcript with the one stored beside it.
    ///
    /// A transcript that is new or differs is written beside the stored one as
    /// NAME.transcript.md.new, pending: review it with --review, or store them all with
    /// --accept. Exit codes: 0 all passed, 1 a failure or a transcript pending, 2 no scenario
    /// found, a file unreadable, or --review without a terminal.
    Test {
        /// Scenario files, protocol files (their scenarios: NAME/scenarios/ or scenarios/
        /// beside them), or folders searched for `scenarios/*.yaml` (default: protocols/ if
        /// there is one, else the current folder).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Store every transcript that is new or differs (`--bless` is the same).
        #[arg(long, visible_alias = "bless", conflicts_with = "review")]
        accept: bool,
        /// After the replay, walk the pending transcripts on the terminal: accept, reject or
        /// skip each (standard input must be a terminal; see --accept).
        #[arg(long)]
        review: bool,
    },
    /// Render one template of a protocol against a context read from a YAML or JSON file, or
    /// against a run's state (--run).
    #[command(
        override_usage = "warden render PROTOCOL TEMPLATE --context FILE\n       \
                                warden render [PROTOCOL] TEMPLATE --run RUN [--dir DIR]"
    )]
    Render {
        /// The protocol file, then the template name (the file NAME.md.j2 in the protocol's
        /// templates folder). With --run, the protocol may be left out: the run's own is used.
        #[arg(value_name = "PROTOCOL")]
        first: String,
        /// The template name, after PROTOCOL.
        #[arg(value_name = "TEMPLATE")]
        template: Option<String>,
        /// The context: a YAML or JSON mapping of names to values.
        #[arg(
            long,
            value_name = "FILE",
            alias = "vars",
            conflicts_with = "run",
            required_unless_present = "run"
        )]
        context: Option<PathBuf>,
        /// Render against this run's state as its journal makes it (vars, counters, incident,
        /// job, gates, state).
        #[arg(long, value_name = "RUN")]
        run: Option<String>,
        #[command(flatten)]
        runs: Runs,
    },
    /// Supervise a job under a protocol: start it, watch its log, tell each role what to do.
    ///
    /// The run is kept in DIR/ID: its journal, its messages and its job's identity. From
    /// another shell, `status`, `inbox`, `wait`, `send` and `log` talk to it by id.
    Run(runs::RunArgs),
    /// Show a run: state, job, restarts, timers, last incident, unread messages.
    Status {
        #[command(flatten)]
        selector: RunSelector,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// List the runs.
    List {
        #[command(flatten)]
        runs: Runs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Show a role's unread messages (all of them with --all) without marking them read.
    Inbox {
        /// The role.
        #[arg(long)]
        role: String,
        /// Every message for the role, read or not.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        selector: RunSelector,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TranscriptFormat::Text)]
        format: TranscriptFormat,
    },
    /// Block until a message for a role arrives, print it and mark it read.
    ///
    /// A message already waiting unread is delivered at once, oldest first. Exit codes: 0 a
    /// message, 3 the run ended, 4 the timeout passed, 1 refused (unknown role), 2 I/O.
    Wait {
        /// The role.
        #[arg(long)]
        role: String,
        /// Give up after this long (`90s`, `30m`, `2h`).
        #[arg(long, value_name = "DURATION")]
        timeout: Option<String>,
        #[command(flatten)]
        selector: RunSelector,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TranscriptFormat::Text)]
        format: TranscriptFormat,
    },
    /// Send an event to a run as a role.
    ///
    /// The event is checked against the protocol and the run's state first: an unknown event,
    /// a role that may not send it, a missing or mistyped field, or a state that does not take
    /// it is refused (exit 1) and nothing is written. Otherwise the supervisor takes it and
    /// says what it did.
    Send {
        /// The run.
        #[arg(value_name = "RUN")]
        run: String,
        /// The event.
        #[arg(value_name = "EVENT")]
        event: String,
        /// The sending role.
        #[arg(long = "as", value_name = "ROLE")]
        sender: String,
        /// A field, NAME=VALUE (repeatable).
        #[arg(long = "field", value_name = "NAME=VALUE")]
        fields: Vec<String>,
        /// How long to wait for the supervisor's answer.
        #[arg(long, value_name = "DURATION", default_value = "10s")]
        timeout: String,
        #[command(flatten)]
        runs: Runs,
    },
    /// Print a run's job log; with --follow, keep printing until the run ends.
    Log {
        /// Keep printing as the log grows.
        #[arg(long, short)]
        follow: bool,
        #[command(flatten)]
        selector: RunSelector,
    },
    /// Serve the runs to agents: a Model Context Protocol server on standard input and output.
    ///
    /// Its tools are the commands on runs (warden_list, warden_status, warden_inbox,
    /// warden_wait, warden_send, warden_log), under the same rules; its resources are each
    /// run's protocol (warden://RUN/protocol) and messages (warden://RUN/messages/NNNN).
    /// See docs/agents.md for registering it with an agent.
    Mcp(mcp::McpArgs),
    /// Remove runs that ended (or whose supervisor and job are both gone): their folders.
    ///
    /// A live run is refused (exit 1): one a supervisor holds, or whose job still runs.
    Rm {
        /// The runs.
        #[arg(value_name = "RUN", required = true)]
        ids: Vec<String>,
        #[command(flatten)]
        runs: Runs,
    },
    /// Remove every run that ended at least --older-than ago; running ones are never touched.
    Gc {
        /// How long ago a run must have ended (`7d`, `12h`, `30m`).
        #[arg(long, value_name = "DURATION", default_value = "7d")]
        older_than: String,
        /// Only say which runs would be removed.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        runs: Runs,
    },
    /// Start a job and record its exit status (started by `run`; not for direct use).
    #[command(name = "__waiter", hide = true)]
    Waiter {
        /// The run's directory.
        dir: PathBuf,
        /// The launch number.
        n: u32,
    },
    /// Print what a check code finds, why, and an example (exit 2 for an unknown code).
    Explain {
        /// The code (`P032`, `p032`) or its name (`unknown-name`).
        #[arg(value_name = "CODE")]
        code: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TranscriptFormat::Text)]
        format: TranscriptFormat,
    },
    /// Start a project: a small protocol, its templates, a job and scenarios with their
    /// transcripts, which pass `check --deny warnings` and `test` as written.
    ///
    /// Refuses (exit 1, nothing written) when one of its files is already there, unless
    /// --force.
    Init {
        /// The folder to write into (created if need be).
        #[arg(value_name = "DIR", default_value = ".")]
        dir: PathBuf,
        /// Replace the scaffold's files that are already there.
        #[arg(long)]
        force: bool,
    },
    /// Print the JSON Schema of the protocol file format.
    Schema,
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Where runs are kept: `--dir`, for every command that reads or writes runs.
#[derive(Debug, Args)]
pub(crate) struct Runs {
    /// Where runs are kept.
    #[arg(long, value_name = "DIR", default_value = warden::run::DEFAULT_ROOT)]
    pub(crate) dir: PathBuf,
}

/// Which run a command is about: an optional id (the newest run when absent) and where runs are
/// kept. Commands flatten it where they list `--dir` among their options, so help keeps its
/// order; the positional RUN is listed apart from the options wherever it is declared.
#[derive(Debug, Args)]
struct RunSelector {
    /// The run (default: the newest).
    #[arg(value_name = "RUN")]
    run: Option<String>,
    #[command(flatten)]
    runs: Runs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    /// rustc-like blocks with the source line and a caret.
    Human,
    /// One line per finding: `file:line:col: severity[code]: message`.
    Short,
    /// A JSON array of findings.
    Json,
    /// GitHub Actions workflow commands (`::error file=...,line=...::...`): annotations on the
    /// lines of a pull request.
    Github,
    /// SARIF 2.1.0, for code scanning (GitHub's `upload-sarif`).
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TranscriptFormat {
    /// Readable text, as stored by `warden test`.
    Text,
    /// JSON.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    /// Aligned text.
    Table,
    /// JSON.
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
enum RankdirChoice {
    /// Top to bottom.
    #[value(name = "TB")]
    Tb,
    /// Left to right.
    #[value(name = "LR")]
    Lr,
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

/// A command whose reader went away (`warden simulate | head`) ends as other Unix tools do, by
/// SIGPIPE, instead of panicking on the broken pipe. `run` is left as it is: it goes on
/// supervising the job whatever becomes of its output, which it writes ignoring errors.
fn end_quietly_on_a_closed_pipe() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // SAFETY: the default disposition runs no code in this process; no handler is installed.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

fn main() -> ExitCode {
    // The waiter lives as long as the job, one per run: it does without the parser of every
    // command, and the memory that takes.
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == "__waiter") {
        if let (Some(dir), Some(Some(n)), None) = (
            args.next(),
            args.next().map(|n| n.to_str().and_then(|n| n.parse().ok())),
            args.next(),
        ) {
            let code = warden::run::waiter::main(std::path::Path::new(&dir), n);
            return ExitCode::from(code.clamp(0, 255) as u8);
        }
    }
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run(_)) {
        end_quietly_on_a_closed_pipe();
    }
    match cli.command {
        Command::Check {
            files,
            format,
            deny,
            color,
            ignore,
            config,
        } => run_check(
            &files,
            format,
            deny.is_some(),
            color,
            &CheckIgnores {
                codes: ignore.iter().map(|c| c.0).collect(),
                config,
            },
        ),
        Command::Graph {
            file,
            format,
            run,
            no_guards,
            rankdir,
            runs: kept,
        } => {
            let format = match format {
                GraphFormat::Mermaid => graph::Format::Mermaid,
                GraphFormat::Dot => graph::Format::Dot,
            };
            let options = graph::Options {
                rankdir: match rankdir {
                    RankdirChoice::Tb => graph::Rankdir::TopBottom,
                    RankdirChoice::Lr => graph::Rankdir::LeftRight,
                },
                no_guards,
                run: None,
            };
            match (run, file) {
                (Some(run), _) => runs::graph(&kept.dir, &run, format, options),
                (None, Some(file)) => run_graph(&file, format, &options),
                (None, None) => {
                    eprintln!("error: `warden graph` needs PROTOCOL, or --run RUN");
                    ExitCode::from(IO_ERROR)
                }
            }
        }
        Command::Simulate { scenario, format } => run_simulate(&scenario, format),
        Command::Test {
            paths,
            accept,
            review,
        } => run_test(&paths, accept, review),
        Command::Render {
            first,
            template,
            context,
            run,
            runs: kept,
        } => {
            let (protocol, template) = match template {
                Some(template) => (Some(PathBuf::from(first)), template),
                None => (None, first),
            };
            match (run, context, protocol) {
                (Some(run), _, protocol) => {
                    runs::render(&kept.dir, &run, protocol.as_deref(), &template)
                }
                (None, Some(context), Some(protocol)) => run_render(&protocol, &template, &context),
                (None, _, _) => {
                    eprintln!(
                        "error: `warden render` needs PROTOCOL TEMPLATE with --context FILE, \
                         or TEMPLATE with --run RUN"
                    );
                    ExitCode::from(IO_ERROR)
                }
            }
        }
        Command::Run(args) => runs::run(args),
        Command::Status { selector, format } => runs::status(
            &selector.runs.dir,
            selector.run.as_deref(),
            format == ListFormat::Json,
        ),
        Command::List { runs: kept, format } => runs::list(&kept.dir, format == ListFormat::Json),
        Command::Inbox {
            role,
            all,
            selector,
            format,
        } => runs::inbox(
            &selector.runs.dir,
            selector.run.as_deref(),
            &role,
            all,
            format == TranscriptFormat::Json,
        ),
        Command::Wait {
            role,
            timeout,
            selector,
            format,
        } => runs::wait(
            &selector.runs.dir,
            selector.run.as_deref(),
            &role,
            timeout.as_deref(),
            format == TranscriptFormat::Json,
        ),
        Command::Send {
            run,
            event,
            sender,
            fields,
            timeout,
            runs: kept,
        } => runs::send(&kept.dir, &run, &event, &sender, &fields, &timeout),
        Command::Log { follow, selector } => {
            runs::log(&selector.runs.dir, selector.run.as_deref(), follow)
        }
        Command::Mcp(args) => mcp::mcp(args),
        Command::Rm { ids, runs: kept } => prune::rm(&kept.dir, &ids),
        Command::Gc {
            older_than,
            dry_run,
            runs: kept,
        } => prune::gc(&kept.dir, &older_than, dry_run, chrono::Utc::now()),
        Command::Waiter { dir, n } => {
            ExitCode::from(warden::run::waiter::main(&dir, n).clamp(0, 255) as u8)
        }
        Command::Explain { code, format } => run_explain(&code, format),
        Command::Init { dir, force } => run_init(&dir, force),
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

/// Checks one protocol file, or the text on standard input for `-`, named `<stdin>`.
fn check_one(file: &Path) -> Result<Report, warden::protocol::LoadError> {
    if file != Path::new("-") {
        return check::check_path(file);
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|source| {
        warden::protocol::LoadError::Io {
            path: file.to_path_buf(),
            source,
        }
    })?;
    check::check_source(Path::new("<stdin>"), &text)
}

/// What `check` ignores beyond the comments in the files: `--ignore` and the config.
struct CheckIgnores {
    codes: Vec<warden::Code>,
    config: Option<PathBuf>,
}

/// The config that applies to `file`: `--config`, else the one found for it; read once each.
fn config_for<'c>(
    file: &Path,
    explicit: Option<&Path>,
    read: &'c mut std::collections::BTreeMap<PathBuf, warden::config::Config>,
) -> Result<Option<&'c warden::config::Config>, warden::config::ConfigError> {
    let protocol = (file != Path::new("-")).then_some(file);
    let Some(path) = explicit
        .map(Path::to_path_buf)
        .or_else(|| warden::config::find(protocol))
    else {
        return Ok(None);
    };
    if !read.contains_key(&path) {
        let config = warden::config::load(&path)?;
        read.insert(path.clone(), config);
    }
    Ok(read.get(&path))
}

fn run_check(
    files: &[PathBuf],
    format: CheckFormat,
    deny_warnings: bool,
    color: ColorChoice,
    ignores: &CheckIgnores,
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
    let mut configs = std::collections::BTreeMap::new();
    let mut docs_url = None;
    for file in files {
        let config = match config_for(file, ignores.config.as_deref(), &mut configs) {
            Ok(config) => config,
            Err(error) => {
                eprintln!("error: {error}");
                unreadable += 1;
                continue;
            }
        };
        let mut codes = ignores.codes.clone();
        if let Some(config) = config {
            codes.extend(config.check.ignored());
            docs_url = docs_url.or(config.check.docs_url.clone());
        }
        match check_one(file) {
            Ok(mut report) => {
                report.ignore(&codes);
                combined.extend(report);
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
        CheckFormat::Github => combined
            .diagnostics
            .iter()
            .try_for_each(|d| writeln!(out, "{}", d.github())),
        CheckFormat::Sarif => {
            let cwd = std::env::current_dir().ok();
            writeln!(
                out,
                "{}",
                warden::sarif::render(&combined.diagnostics, cwd.as_deref(), docs_url.as_deref())
            )
        }
        CheckFormat::Human => {
            let printer = diagnostic::Printer::new(&combined.sources, color);
            combined
                .diagnostics
                .iter()
                .try_for_each(|d| write!(out, "{}", printer.pretty(d)))
        }
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
    if report.ignored > 0 {
        line.push_str(&format!(" ({} ignored)", report.ignored));
    }
    if unreadable > 0 {
        line.push_str(&format!("; {unreadable} could not be read"));
    }
    line
}

fn run_explain(name: &str, format: TranscriptFormat) -> ExitCode {
    let Some(code) = warden::Code::lookup(name) else {
        eprintln!("error: `{name}` is not a check code");
        match warden::Code::did_you_mean(name) {
            Some(help) => eprintln!("help: {help}"),
            None => eprintln!(
                "help: give a code such as `P032` or its name such as `unknown-name`; {} lists them all",
                warden::codes::DOCS_PAGE
            ),
        }
        return ExitCode::from(IO_ERROR);
    };
    let docs = code.docs();
    match format {
        TranscriptFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "code": code,
                "name": code.slug(),
                "severity": code.severity(),
                "summary": code.summary(),
                "docs": docs,
                "link": code.docs_link(),
            }))
            .expect("docs serialize")
        ),
        TranscriptFormat::Text => {
            println!("{code}: {} ({})", code.slug(), code.severity());
            println!("Finds: {}.", code.summary());
            for doc in &docs {
                println!("\n{}", doc.text);
                if let Some(example) = &doc.example {
                    println!("\n{example}");
                }
            }
            println!("\nSee {} for what `warden check` prints.", code.docs_link());
        }
    }
    ExitCode::SUCCESS
}

fn run_init(dir: &Path, force: bool) -> ExitCode {
    use warden::scaffold::{self, InitError};
    match scaffold::create(dir, force) {
        Ok(written) => {
            for path in &written {
                println!("created {}", path.display());
            }
            let cd = if dir == Path::new(".") {
                String::new()
            } else {
                format!("cd {} && ", dir.display())
            };
            println!(
                "next: {cd}warden check --deny warnings {} && warden test",
                scaffold::PROTOCOL
            );
            ExitCode::SUCCESS
        }
        Err(error @ InitError::Exists { .. }) => {
            eprintln!("error: {error}");
            eprintln!("help: pass --force to replace them, or give another folder");
            ExitCode::from(FINDINGS)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(IO_ERROR)
        }
    }
}

fn run_graph(file: &std::path::Path, format: graph::Format, options: &graph::Options) -> ExitCode {
    match protocol::load(file) {
        Ok(protocol) => {
            print!("{}", graph::render_with(&protocol, format, options));
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
            eprint!(
                "{}",
                diagnostic::pretty_all(&diagnostics, &sources, Color::Never)
            );
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

fn run_simulate(path: &std::path::Path, format: TranscriptFormat) -> ExitCode {
    match scenario::run_keeping(path) {
        Ok(replayed) => {
            // A replay that failed, or whose expectations did not hold, is shown up to where
            // it failed, then the error says why; one that did not start shows nothing.
            let started = !replayed.transcript.steps.is_empty();
            match format {
                _ if !started => {}
                TranscriptFormat::Text => {
                    print!(
                        "{}",
                        replayed.transcript.to_text(replayed.prepared.protocol())
                    )
                }
                TranscriptFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&replayed.transcript)
                        .expect("transcripts serialize")
                ),
            }
            match replayed.result {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::from(failure_code(&error))
                }
            }
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(failure_code(&error))
        }
    }
}

fn failure_code(error: &scenario::ScenarioError) -> u8 {
    match error {
        scenario::ScenarioError::Io { .. } | scenario::ScenarioError::Malformed { .. } => IO_ERROR,
        _ => FINDINGS,
    }
}

fn run_test(paths: &[PathBuf], accept: bool, review: bool) -> ExitCode {
    if review && !std::io::stdin().is_terminal() {
        eprintln!(
            "error: `warden test --review` asks about each pending transcript on a terminal, \
             and standard input is not one"
        );
        eprintln!("help: `warden test --accept` accepts them all without asking");
        return ExitCode::from(IO_ERROR);
    }
    // From the project's root, its protocols; from anywhere else, what is under it.
    let roots = if paths.is_empty() {
        let protocols = PathBuf::from("protocols");
        vec![if protocols.is_dir() {
            protocols
        } else {
            PathBuf::from(".")
        }]
    } else {
        paths.to_vec()
    };
    let mode = if accept { Mode::Accept } else { Mode::Compare };
    let report = scenario::suite::test(&roots, mode, |result| {
        let file = result.scenario.display();
        match &result.verdict {
            Verdict::Ok => println!("ok   {file}"),
            Verdict::Accepted(stored_path) => println!("accepted {}", stored_path.display()),
            Verdict::Failed(error) => println!("FAIL {file}: {error}"),
            Verdict::New { pending } => println!(
                "NEW  {file}: new transcript, review it: {} (`warden test --review`)",
                pending.display()
            ),
            Verdict::Differs {
                stored_path,
                pending,
                diff,
            } => {
                println!(
                    "FAIL {file}: the transcript differs from {} (the new one is {})",
                    stored_path.display(),
                    pending.display()
                );
                print!("{diff}");
            }
        }
    });
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(IO_ERROR);
        }
    };
    for coverage in &report.coverage {
        println!(
            "coverage {}: {} of {} transitions taken",
            coverage.protocol.display(),
            coverage.taken,
            coverage.total
        );
        for untaken in &coverage.untaken {
            println!(
                "  not taken: line {} ({})",
                untaken.line,
                if untaken.label.is_empty() {
                    "eventless"
                } else {
                    &untaken.label
                }
            );
        }
    }
    println!("{} passed, {} failed", report.passed(), report.failed());
    let pending: Vec<Pending> = report
        .results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::New { .. } | Verdict::Differs { .. }))
        .filter_map(|r| Pending::of(&r.scenario))
        .collect();
    let mut left = pending.len();
    if review && !pending.is_empty() {
        let stdin = std::io::stdin();
        match review::walk(&pending, &mut stdin.lock(), &mut std::io::stdout()) {
            Ok(tally) => {
                println!("{tally}");
                left = tally.left();
            }
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::from(IO_ERROR);
            }
        }
    } else if !pending.is_empty() {
        let s = if pending.len() == 1 { "" } else { "s" };
        println!(
            "{} pending transcript{s}: `warden test --review` to review, `--accept` to accept all",
            pending.len()
        );
    }
    let replay_failed = report
        .results
        .iter()
        .any(|r| matches!(r.verdict, Verdict::Failed(_)));
    if replay_failed || left > 0 {
        ExitCode::from(FINDINGS)
    } else {
        ExitCode::SUCCESS
    }
}

fn run_render(
    protocol_path: &std::path::Path,
    template: &str,
    context: &std::path::Path,
) -> ExitCode {
    match warden::expr::render_template(protocol_path, template, context) {
        Ok(text) => {
            // As a run writes the message's file, and as `render --run` prints it.
            print!("{}", warden::run::store::file_text(&text));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            // A file that cannot be read is an I/O error, as for every other command.
            ExitCode::from(match error {
                RenderError::Io { .. } | RenderError::Load(LoadError::Io { .. }) => IO_ERROR,
                _ => FINDINGS,
            })
        }
    }
}
