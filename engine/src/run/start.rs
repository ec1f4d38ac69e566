//! Starting a run, here or in the background: what `warden run` decides before a supervisor
//! takes over. A protocol with `check` errors is not run; `--var` and `--field` pairs become
//! values; a run's id follows one rule; and a detached run gets a supervisor of its own in a
//! session of its own, returned from once it holds the run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

use super::snapshot::Snapshot;
use super::store::{RunDir, Started, StoreError};
use super::supervisor::Options;
use super::RunError;
use crate::protocol::LoadError;

/// What `warden run` was asked to start.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// The protocol file.
    pub protocol: PathBuf,
    /// The vars, `NAME=VALUE`.
    pub vars: Vec<String>,
    /// The run's id; by default the protocol's id and the time.
    pub id: Option<String>,
    /// Where runs are kept.
    pub root: PathBuf,
    /// Never resume from a checkpoint.
    pub fresh: bool,
    /// The job's command, instead of the protocol's (empty: the protocol's).
    pub command: Vec<String>,
    /// The `--on-message` command.
    pub on_message: Option<String>,
}

/// A run ready to be created: its id, its protocol as it will be kept, and its start.
#[derive(Debug)]
pub struct Prepared {
    /// The run's id.
    pub id: String,
    /// The protocol and its templates.
    pub snapshot: Snapshot,
    /// How it starts.
    pub started: Started,
}

/// `NAME=VALUE` pairs as values (strings: the protocol's types are applied when they are
/// taken). `flag` names the option in the error, as `--var`.
pub fn pairs(
    pairs: &[String],
    flag: &str,
) -> Result<BTreeMap<String, serde_json::Value>, RunError> {
    let mut values = BTreeMap::new();
    for pair in pairs {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(RunError::Usage(format!(
                "`{flag} {pair}`: write NAME=VALUE"
            )));
        };
        values.insert(name.to_owned(), serde_json::Value::String(value.to_owned()));
    }
    Ok(values)
}

/// Checks and reads what a new run needs; writes nothing.
pub fn prepare(new: &NewRun) -> Result<Prepared, RunError> {
    // Read and parsed once: checked, then kept as the run's own copy.
    let invalid = |diagnostics| RunError::Invalid {
        path: new.protocol.clone(),
        diagnostics,
    };
    let protocol = match crate::protocol::load(&new.protocol) {
        Ok(protocol) => protocol,
        Err(LoadError::Invalid { diagnostics, .. }) => return Err(invalid(diagnostics)),
        Err(error) => return Err(error.into()),
    };
    let report = crate::check::check_protocol(&protocol);
    if report.fails(false) {
        return Err(invalid(report.diagnostics));
    }
    let vars = pairs(&new.vars, "--var")?;
    let snapshot = Snapshot::of(&protocol)?;
    // Bad vars are refused here, before the run has an id to print or a folder; the run's
    // clock starts after this check.
    let name = new.id.as_deref().unwrap_or(&protocol.id.value);
    snapshot.compile()?.start(name, &vars, Utc::now())?;
    let cwd = std::env::current_dir().map_err(super::io_error(Path::new(".")))?;
    let at = Utc::now();
    let id = match &new.id {
        Some(id) if valid_id(id) => id.clone(),
        Some(id) => {
            return Err(RunError::Usage(format!(
                "`--id {id}`: use letters, digits, `-`, `_` and `.` only"
            )))
        }
        None => fresh_id(&new.root, &protocol.id.value, at),
    };
    let started = Started {
        at,
        protocol: std::path::absolute(&new.protocol).unwrap_or_else(|_| new.protocol.clone()),
        vars,
        cwd,
        fresh: new.fresh,
        command: (!new.command.is_empty()).then(|| new.command.clone()),
        on_message: new.on_message.clone(),
    };
    Ok(Prepared {
        id,
        snapshot,
        started,
    })
}

pub use super::store::valid_id;

/// `<protocol>-<YYYYMMDD-HHMMSS>`, with `-2`, `-3`... when taken.
pub fn fresh_id(root: &Path, protocol: &str, at: DateTime<Utc>) -> String {
    let base = format!("{protocol}-{}", at.format("%Y%m%d-%H%M%S"));
    let mut id = base.clone();
    let mut n = 2;
    while root.join(&id).exists() {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

/// Set by SIGINT and SIGTERM: the supervisor stops at its next turn and leaves the job running.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn interrupted(_: nix::libc::c_int) {
    // Only an atomic store: nothing else is safe in a signal handler.
    INTERRUPTED.store(true, Ordering::Relaxed);
}

fn this_program() -> Result<PathBuf, RunError> {
    std::env::current_exe().map_err(super::io_error(Path::new("/proc/self/exe")))
}

/// A supervisor's options in this process, the `warden` binary: waiters are `warden __waiter`,
/// and SIGINT or SIGTERM ends the supervisor (not the job) at its next turn.
pub fn options() -> Result<Options, RunError> {
    let program = this_program()?;
    let mut options = Options::new(vec![program.display().to_string(), "__waiter".to_owned()]);
    let action = SigAction::new(
        SigHandler::Handler(interrupted),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        if unsafe { sigaction(signal, &action) }.is_ok() {
            options.interrupt = Some(&INTERRUPTED);
        }
    }
    Ok(options)
}

/// Makes this process the background supervisor: a session of its own, so that the terminal
/// that started it may close.
pub fn become_background() {
    let _ = nix::unistd::setsid();
}

/// Refuses to hand run `id` to a background supervisor when it has one, or is no run.
pub fn resumable(root: &Path, id: &str) -> Result<RunDir, RunError> {
    let run = RunDir::existing(root, id)?;
    if let Some(pid) = run.supervisor() {
        return Err(StoreError::Locked {
            id: id.to_owned(),
            holder: Some(pid),
        }
        .into());
    }
    Ok(run)
}

/// Starts `warden run --background --resume RUN` for `run` under `root`, its output in the
/// run's `supervisor.log`, and returns once it holds the run's lock, so that `send` and
/// `status` find the run supervised.
pub fn detach(root: &Path, run: &RunDir) -> Result<(), RunError> {
    let log_path = run.supervisor_log();
    let open_error = super::io_error(&log_path);
    let log = super::files::open_with(super::files::options().create(true).append(true), &log_path)
        .map_err(open_error)?;
    let err = log.try_clone().map_err(super::io_error(&log_path))?;
    let mut child = std::process::Command::new(this_program()?)
        .args(["run", "--background", "--resume", &run.id, "--dir"])
        .arg(root)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(super::io_error(Path::new("warden")))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while run.supervisor().is_none() {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(RunError::Refused(format!(
                "the background supervisor ended at once ({status}); see {}",
                log_path.display()
            )));
        }
        if Instant::now() >= deadline {
            return Err(RunError::Refused(format!(
                "the background supervisor did not start within 10s; see {}",
                log_path.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_pairs() {
        assert!(valid_id("phase5b-20260119-120000") && valid_id("a.b_c"));
        assert!(!valid_id("") && !valid_id(".hidden") && !valid_id("a/b"));
        let root = tempfile::tempdir().unwrap();
        let at: DateTime<Utc> = "2026-01-19T12:00:00Z".parse().unwrap();
        assert_eq!(fresh_id(root.path(), "p", at), "p-20260119-120000");
        std::fs::create_dir(root.path().join("p-20260119-120000")).unwrap();
        assert_eq!(fresh_id(root.path(), "p", at), "p-20260119-120000-2");
        let values = pairs(&["model=1".into(), "note=a=b".into()], "--var").unwrap();
        assert_eq!(values["note"], "a=b");
        let error = pairs(&["model".into()], "--var").unwrap_err();
        assert_eq!(error.to_string(), "`--var model`: write NAME=VALUE");
    }
}
