//! The commands on runs: `run`, `status`, `list`, `inbox`, `wait`, `send`, `log`, and the
//! hidden `__waiter`. Printing only; the engine's `run` module does the work.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use warden::protocol::Outcome;
use warden::run::client::{self, Delivered, Sent, Status, Waited};
use warden::run::mailbox::Request;
use warden::run::start;
use warden::run::state::RunState;
use warden::run::store::StoreError;
use warden::run::supervisor::{Finish, Notice, Observer, Quiet, Supervisor};
use warden::run::RunError;

use crate::{FINDINGS, IO_ERROR};

/// `wait`: the run ended with nothing more for the role.
const WAIT_ENDED: u8 = 3;
/// `wait`: the time given passed.
const WAIT_TIMED_OUT: u8 = 4;
/// `run`: interrupted (SIGINT or SIGTERM), as shells report a command ended by SIGINT.
const INTERRUPTED_EXIT: u8 = 130;

/// What `warden run` was asked.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Protocol file (not with --resume).
    #[arg(value_name = "PROTOCOL", required_unless_present = "resume")]
    pub protocol: Option<PathBuf>,
    /// A protocol var, NAME=VALUE (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", conflicts_with = "resume")]
    pub vars: Vec<String>,
    /// The run's id (default: the protocol's id and the time).
    #[arg(long, value_name = "RUN", conflicts_with = "resume")]
    pub id: Option<String>,
    #[command(flatten)]
    pub runs: crate::Runs,
    /// Never resume the job from its checkpoint; start it afresh each time.
    #[arg(long, conflicts_with = "resume")]
    pub fresh: bool,
    /// Print the run's id and supervise in the background.
    #[arg(long)]
    pub detach: bool,
    /// Supervise an existing run again (after its supervisor ended), re-adopting its job.
    #[arg(long, value_name = "RUN")]
    pub resume: Option<String>,
    /// A shell command run for each new message, with WARDEN_RUN, WARDEN_ROLE,
    /// WARDEN_MESSAGE (the file), WARDEN_FROM, WARDEN_SEQ and WARDEN_TEMPLATE set.
    #[arg(long, value_name = "CMD", conflicts_with = "resume")]
    pub on_message: Option<String>,
    /// Run as the background supervisor `--detach` starts.
    #[arg(long, hide = true)]
    pub background: bool,
    /// The job's command, instead of the protocol's `job.command`.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

fn fail(error: &RunError) -> ExitCode {
    if let RunError::Invalid { diagnostics, .. } = error {
        for d in diagnostics {
            eprintln!("{}", d.short());
        }
    }
    eprintln!("error: {error}");
    ExitCode::from(exit_code(error))
}

/// The exit code of a command on runs that failed: 2 for I/O and usage, 1 for a refusal.
pub(crate) fn exit_code(error: &RunError) -> u8 {
    match error {
        RunError::Io { .. } | RunError::Journal { .. } | RunError::Usage(_) => IO_ERROR,
        RunError::Load(warden::protocol::LoadError::Io { .. }) => IO_ERROR,
        RunError::Store(
            StoreError::Io { .. }
            | StoreError::Corrupt { .. }
            | StoreError::BadId(_)
            | StoreError::ForeignMessage { .. },
        ) => IO_ERROR,
        _ => FINDINGS,
    }
}

pub fn run(args: RunArgs) -> ExitCode {
    if args.background {
        start::become_background();
    }
    if let (Some(id), true, false) = (&args.resume, args.detach, args.background) {
        let detached = start::resumable(&args.runs.dir, id)
            .and_then(|run| start::detach(&args.runs.dir, &run));
        return match detached {
            Ok(()) => {
                println!("{id}");
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error),
        };
    }
    let mut observer = Printer::new(args.background);
    let supervisor = match &args.resume {
        Some(id) => {
            start::options().and_then(|o| Supervisor::resume(&args.runs.dir, id, o, &mut observer))
        }
        None => {
            let Some(protocol) = &args.protocol else {
                eprintln!("error: give a protocol file, or `--resume RUN`");
                return ExitCode::from(IO_ERROR);
            };
            let new = start::NewRun {
                protocol: protocol.clone(),
                vars: args.vars.clone(),
                id: args.id.clone(),
                root: args.runs.dir.clone(),
                fresh: args.fresh,
                command: args.command.clone(),
                on_message: args.on_message.clone(),
            };
            let prepared = match start::prepare(&new) {
                Ok(prepared) => prepared,
                Err(error) => return fail(&error),
            };
            let id = prepared.id.clone();
            if args.detach {
                // Created here, so that a mistake is reported here; then a background
                // supervisor takes it over and carries out the start.
                let mut quiet = Quiet;
                let created = start::options().and_then(|o| {
                    let (snapshot, started) = (&prepared.snapshot, prepared.started);
                    Supervisor::create(&args.runs.dir, &id, snapshot, started, o, &mut quiet)
                        .map(|s| s.run_dir().clone())
                });
                return match created.and_then(|run| start::detach(&args.runs.dir, &run)) {
                    Ok(()) => {
                        println!("{id}");
                        ExitCode::SUCCESS
                    }
                    Err(error) => fail(&error),
                };
            }
            eprintln!("warden: run {id}; from another shell: warden status {id}");
            start::options().and_then(|o| {
                let (snapshot, started) = (&prepared.snapshot, prepared.started);
                Supervisor::create(&args.runs.dir, &id, snapshot, started, o, &mut observer)
            })
        }
    };
    let supervisor = match supervisor {
        Ok(supervisor) => supervisor,
        Err(error) => return fail(&error),
    };
    let id = supervisor.run_dir().id.clone();
    match supervisor.run() {
        Ok(Finish::Ended(state, outcome)) => {
            observer.clear();
            match outcome {
                Outcome::Success => ExitCode::SUCCESS,
                Outcome::Failure => {
                    eprintln!(
                        "warden: run {id} ended in `{state}`, declared `outcome: failure`; \
                         exit status 1"
                    );
                    ExitCode::from(FINDINGS)
                }
            }
        }
        Ok(Finish::Interrupted { job }) => {
            observer.clear();
            let job = match job {
                Some(pid) => format!("its job (pid {pid}) goes on; "),
                None => String::new(),
            };
            eprintln!(
                "warden: stopped supervising run {id}; {job}take it up again with \
                 `warden run --resume {id}`"
            );
            ExitCode::from(INTERRUPTED_EXIT)
        }
        Err(error) => {
            observer.clear();
            fail(&error)
        }
    }
}

/// Shows a run as it goes. On a terminal: the job's output, Warden's notices, and a status
/// line kept at the bottom. Otherwise: Warden's notices as plain timestamped lines.
struct Printer {
    terminal: bool,
    status: Option<String>,
}

impl Printer {
    fn new(background: bool) -> Printer {
        Printer {
            terminal: !background && std::io::stdout().is_terminal(),
            status: None,
        }
    }

    fn say(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        if self.terminal {
            let _ = write!(out, "\r\x1b[2K\x1b[1mwarden:\x1b[0m {text}\n");
            if let Some(status) = &self.status {
                let _ = write!(out, "{status}");
            }
        } else {
            let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
            let _ = writeln!(out, "{now} warden: {text}");
        }
        let _ = out.flush();
    }

    fn clear(&mut self) {
        if self.terminal && self.status.take().is_some() {
            print!("\r\x1b[2K");
            let _ = std::io::stdout().flush();
        }
    }
}

impl Observer for Printer {
    fn wants_lines(&self) -> bool {
        self.terminal
    }

    fn shows_status(&self) -> bool {
        self.terminal
    }

    fn notice(&mut self, notice: Notice<'_>) {
        let text = match notice {
            Notice::Line(line) => {
                if self.terminal {
                    let mut out = std::io::stdout().lock();
                    let _ = write!(out, "\r\x1b[2K{line}\n");
                    if let Some(status) = &self.status {
                        let _ = write!(out, "{status}");
                    }
                    let _ = out.flush();
                }
                return;
            }
            Notice::Launched {
                pid,
                command,
                resumed,
            } => format!(
                "job started, pid {pid}{}: {}",
                if resumed {
                    ", resuming from its checkpoint"
                } else {
                    ""
                },
                command.join(" ")
            ),
            Notice::Adopted { pid } => format!("job pid {pid} is still running; supervising it"),
            Notice::LaunchFailed(error) => format!("the job could not start: {error}"),
            Notice::Slurm(news) => news.to_owned(),
            Notice::Exited {
                exit_code,
                signal: Some(signal),
            } => format!(
                "the job was ended by signal {signal}{}",
                exit_code.map_or_else(String::new, |c| format!(" (code {c})"))
            ),
            Notice::Exited { exit_code, .. } => match exit_code {
                Some(code) => format!("the job exited with code {code}"),
                None => "the job ended; its exit status is unknown".to_owned(),
            },
            Notice::Signalled { pid, signal } => format!("sent {signal} to process group {pid}"),
            Notice::Stopped => "the job is stopped".to_owned(),
            Notice::Incident(incident) => format!(
                "incident on line {}: {}",
                incident.line_number,
                incident_text(
                    &incident.category,
                    &incident.owner,
                    incident.exception.as_deref(),
                    &incident.message
                )
            ),
            Notice::Gate(gate) => format!(
                "gate {} {}: {}",
                gate.gate,
                if gate.passed { "passed" } else { "FAILED" },
                gate.reason
            ),
            Notice::Held(held) => format!("incident held: {held}"),
            Notice::Taken(taken) => format!(
                "{} -> {}{}",
                taken.from,
                taken.to,
                taken
                    .event
                    .as_ref()
                    .map_or_else(String::new, |e| format!(" on {e}"))
            ),
            Notice::Message { message, path } => format!(
                "message {} from {} to {}: {}",
                message.seq,
                message.from,
                message.to.join(", "),
                path.display()
            ),
            Notice::Ignored { event, state } => format!("`{event}` ignored in state {state}"),
            Notice::Refused(reason) => format!("refused: {reason}"),
            Notice::Failed(error) => format!("error: {error}"),
            Notice::Warning(warning) => format!("warning: {warning}"),
            Notice::Ended(state) => format!("the run ended in state {state}"),
        };
        self.say(&text);
    }

    fn idle(&mut self, state: &RunState) {
        if !self.terminal {
            return;
        }
        let status = client::status_of(state, Utc::now());
        let mut line = format!("[{}] {} · {}", status.id, status.state, status.elapsed);
        if let Some(job) = status.job.as_ref().filter(|j| j.running) {
            match &job.slurm {
                Some(slurm) => line.push_str(&format!(" · Slurm job {}", slurm.job_id)),
                None => line.push_str(&format!(" · pid {}", job.pid)),
            }
        }
        let unread: usize = status.unread.values().sum();
        if unread > 0 {
            line.push_str(&format!(" · {unread} unread"));
        }
        if let Some(last) = &state.instance().job.last_line {
            line.push_str(&format!(" · {last}"));
        }
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(100usize);
        let line: String = line.chars().take(width.saturating_sub(1)).collect();
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "\r\x1b[2K\x1b[7m{line}\x1b[0m");
        let _ = out.flush();
        self.status = Some(format!("\x1b[7m{line}\x1b[0m"));
    }
}

/// An incident in one line: `implementation for code_translator: AttributeError: ...`.
fn incident_text(category: &str, owner: &str, exception: Option<&str>, message: &str) -> String {
    match exception {
        Some(exception) => format!("{category} for {owner}: {exception}: {message}"),
        None => format!("{category} for {owner}: {message}"),
    }
}

/// Prints `value` as pretty JSON, for `--format json`.
fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("what Warden prints serializes")
    );
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn status(dir: &Path, id: Option<&str>, json: bool) -> ExitCode {
    let status = match client::resolve(dir, id).and_then(|run| client::status(&run)) {
        Ok(status) => status,
        Err(error) => return fail(&error),
    };
    if json {
        print_json(&status);
        return ExitCode::SUCCESS;
    }
    print!("{}", status_table(&status));
    ExitCode::SUCCESS
}

fn status_table(s: &Status) -> String {
    let mut rows: Vec<(&str, String)> = vec![
        ("run", s.id.clone()),
        ("protocol", s.protocol.clone()),
        (
            "state",
            format!(
                "{} ({} {})",
                s.state,
                if s.ended {
                    "ended after"
                } else {
                    "running for"
                },
                s.elapsed
            ),
        ),
    ];
    if let Some(outcome) = s.outcome {
        rows.push(("outcome", outcome.as_str().to_owned()));
    }
    rows.push((
        "supervisor",
        match s.supervisor {
            Some(pid) => format!("pid {pid}"),
            None if s.ended => "none (the run has ended)".to_owned(),
            None => format!("none; resume with `warden run --resume {}`", s.id),
        },
    ));
    if let Some(wake) = &s.wake {
        rows.push(("wakes", wake.clone()));
    }
    if let Some(job) = &s.job {
        let how = if job.running {
            format!("running, up {}", job.uptime)
        } else {
            match (job.exit_code, job.signal) {
                (_, Some(signal)) => format!("ended by signal {signal}"),
                (Some(code), None) => format!("exited with code {code}"),
                (None, None) => "ended".to_owned(),
            }
        };
        let resumed = if job.resumed { ", resumed" } else { "" };
        let row = match &job.slurm {
            Some(slurm) => {
                let state = match (&slurm.state, &slurm.reason) {
                    (Some(state), Some(reason)) => format!("{state} ({reason})"),
                    (Some(state), None) => state.clone(),
                    (None, _) => "state not asked yet".to_owned(),
                };
                let seen = slurm.seen_at.map_or_else(String::new, |at| {
                    format!(" since {}", at.format("%H:%M:%S"))
                });
                format!("Slurm job {}, {state}{seen}; {how}{resumed}", slurm.job_id)
            }
            None => format!("pid {}, {how}{resumed}", job.pid),
        };
        rows.push(("job", row));
        rows.push(("command", job.command.join(" ")));
    }
    rows.push(("restarts", s.restarts.to_string()));
    for timer in &s.timers {
        rows.push((
            "timer",
            format!(
                "{} {}",
                timer.event,
                timer.due.map_or_else(
                    || "(not scheduled)".to_owned(),
                    |d| format!("at {}", time(d))
                )
            ),
        ));
    }
    if let Some(incident) = &s.last_incident {
        rows.push((
            "incident",
            format!(
                "{} (line {})",
                incident_text(
                    &incident.category,
                    &incident.owner,
                    incident.exception.as_deref(),
                    &incident.message
                ),
                incident.line_number
            ),
        ));
    }
    for held in &s.held {
        rows.push(("held", held.clone()));
    }
    for gate in &s.gates {
        let verdict = if gate.passed { "passed" } else { "FAILED" };
        rows.push(("gate", format!("{} {verdict}: {}", gate.gate, gate.reason)));
    }
    for artifact in &s.artifacts {
        let seen = if artifact.exists {
            format!("present, {} changes seen", artifact.changes)
        } else {
            "absent".to_owned()
        };
        rows.push((
            "artifact",
            format!("{} ({}): {seen}", artifact.name, artifact.path),
        ));
    }
    let unread: Vec<String> = s
        .unread
        .iter()
        .map(|(role, n)| format!("{role} {n}"))
        .collect();
    rows.push((
        "messages",
        if unread.is_empty() {
            format!("{} sent, none unread", s.messages)
        } else {
            format!("{} sent; unread: {}", s.messages, unread.join(", "))
        },
    ));
    if !s.pending_effects.is_empty() {
        rows.push(("pending", s.pending_effects.join(", ")));
    }
    for failure in &s.failures {
        rows.push(("failed", failure.clone()));
    }
    rows.iter()
        .map(|(k, v)| format!("{k:<10}  {v}\n"))
        .collect()
}

pub fn list(dir: &Path, json: bool) -> ExitCode {
    let runs = match client::runs(dir) {
        Ok(runs) => runs,
        Err(error) => return fail(&error),
    };
    let mut statuses = Vec::new();
    for (run, _) in &runs {
        match client::status(run) {
            Ok(status) => statuses.push(status),
            Err(error) => eprintln!("warning: run {}: {error}", run.id),
        }
    }
    if json {
        print_json(&statuses);
        return ExitCode::SUCCESS;
    }
    if statuses.is_empty() {
        println!("no runs under {}", dir.display());
        return ExitCode::SUCCESS;
    }
    let width = statuses
        .iter()
        .map(|s| s.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    println!(
        "{:<width$}  {:<14}  {:<20}  {:<10}  PROTOCOL",
        "ID", "STATE", "STARTED", "SUPERVISOR"
    );
    for s in &statuses {
        println!(
            "{:<width$}  {:<14}  {:<20}  {:<10}  {}",
            s.id,
            s.state,
            time(s.started_at),
            s.supervisor
                .map_or_else(|| "-".to_owned(), |pid| pid.to_string()),
            s.protocol
        );
    }
    ExitCode::SUCCESS
}

fn header(d: &Delivered) -> String {
    format!(
        "── {:04} · {} → {} · {} · {}{} ──",
        d.entry.seq,
        d.entry.from,
        d.entry.to.join(", "),
        d.entry.template.as_deref().unwrap_or("text"),
        time(d.entry.at),
        if d.read { "" } else { " · new" }
    )
}

pub fn inbox(dir: &Path, id: Option<&str>, role: &str, all: bool, json: bool) -> ExitCode {
    let messages = match client::resolve(dir, id).and_then(|run| client::inbox(&run, role, all)) {
        Ok(messages) => messages,
        Err(error) => return fail(&error),
    };
    if json {
        print_json(&messages);
        return ExitCode::SUCCESS;
    }
    if messages.is_empty() {
        println!("no {}messages for {role}", if all { "" } else { "unread " });
    }
    for message in &messages {
        println!("{}\n{}", header(message), message.text);
    }
    ExitCode::SUCCESS
}

pub fn wait(
    dir: &Path,
    id: Option<&str>,
    role: &str,
    timeout: Option<&str>,
    json: bool,
) -> ExitCode {
    let timeout = match timeout.map(warden::duration::parse).transpose() {
        Ok(timeout) => timeout,
        Err(error) => {
            eprintln!("error: `--timeout`: {error}");
            return ExitCode::from(IO_ERROR);
        }
    };
    let run = match client::resolve(dir, id) {
        Ok(run) => run,
        Err(error) => return fail(&error),
    };
    let warned = |id: &str| {
        eprintln!(
            "warden: run {id} has no supervisor running; waiting until \
             `warden run --resume {id}` takes it up"
        );
    };
    let waited = client::wait(&run, role, timeout, Duration::from_millis(10), warned);
    match waited {
        Ok(Waited::Message(message)) => {
            if json {
                print_json(&message);
            } else {
                println!("{}\n{}", header(&message), message.text);
            }
            ExitCode::SUCCESS
        }
        Ok(Waited::Ended(state)) => {
            eprintln!(
                "warden: run {} ended in state {state}; no more messages for {role}",
                run.id
            );
            ExitCode::from(WAIT_ENDED)
        }
        Ok(Waited::TimedOut) => {
            eprintln!("warden: no message for {role} in time");
            ExitCode::from(WAIT_TIMED_OUT)
        }
        Err(error) => fail(&error),
    }
}

pub fn send(
    dir: &Path,
    id: &str,
    event: &str,
    sender: &str,
    fields: &[String],
    timeout: &str,
) -> ExitCode {
    let timeout = match warden::duration::parse(timeout) {
        Ok(timeout) => timeout,
        Err(error) => {
            eprintln!("error: `--timeout`: {error}");
            return ExitCode::from(IO_ERROR);
        }
    };
    let values = match start::pairs(fields, "--field") {
        Ok(values) => values,
        Err(error) => return fail(&error),
    };
    let request = Request {
        event: event.to_owned(),
        sender: sender.to_owned(),
        fields: values,
    };
    let sent = client::resolve(dir, Some(id)).and_then(|run| client::send(&run, &request, timeout));
    match sent {
        Ok(Sent::Answered(reply)) => {
            if let Some(unmet) = client::unmet(&reply, event) {
                eprintln!("{unmet}");
                return ExitCode::from(FINDINGS);
            }
            println!("{}", reply.outcome.taken.join(", "));
            for gate in &reply.outcome.gates {
                println!("gate {gate}");
            }
            for message in &reply.files {
                println!("message: {message}");
            }
            ExitCode::SUCCESS
        }
        Ok(Sent::Queued(request)) => {
            eprintln!(
                "warden: sent (request {request}); the supervisor has not answered yet and will \
                 take it in order"
            );
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error),
    }
}

pub fn log(dir: &Path, id: Option<&str>, follow: bool) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let copied = client::resolve(dir, id).and_then(|run| client::copy_log(&run, follow, &mut out));
    match copied {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// `warden render [PROTOCOL] TEMPLATE --run RUN`: the template against the run's state.
pub fn render(dir: &Path, id: &str, protocol: Option<&Path>, template: &str) -> ExitCode {
    let rendered = client::resolve(dir, Some(id))
        .and_then(|run| warden::run::preview::render(&run, protocol, template, Utc::now()));
    match rendered {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error),
    }
}

/// `warden graph --run RUN`: the run's protocol with the run drawn over it.
pub fn graph(
    dir: &Path,
    id: &str,
    format: warden::graph::Format,
    mut options: warden::graph::Options,
) -> ExitCode {
    let drawn =
        client::resolve(dir, Some(id)).and_then(|run| warden::run::preview::highlight(&run));
    match drawn {
        Ok((protocol, highlight)) => {
            options.run = Some(highlight);
            print!(
                "{}",
                warden::graph::render_with(&protocol, format, &options)
            );
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error),
    }
}
