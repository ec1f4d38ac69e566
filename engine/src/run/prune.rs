//! Removing runs: `warden rm RUN...` one by one, and `warden gc` every run that ended long
//! enough ago.
//!
//! A run is removed holding its lock, the lock a supervisor holds: a run that is supervised is
//! refused (the kernel says so, which a stale lock file cannot fake), and no supervisor can take
//! it over (`warden run --resume`) while it goes. A run whose job still runs (its PID with its
//! start time) is refused too, though no supervisor holds it: removing it would lose the only
//! record of a process Warden started. Only the run's own folder goes; the job's log and
//! artifacts, where the protocol puts them outside it, stay.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::client;
use super::state::RunState;
use super::store::{RunDir, Store, StoreError};
use super::{io_error, RunError};

/// A run that was removed (or, in a dry run, would be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// Its id.
    pub id: String,
    /// Its final state, when it ended.
    pub state: Option<String>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
}

/// Whether a run may be removed now; `Err` says why not.
fn removable(state: &RunState) -> Result<(), String> {
    if let Some(job) = state.job_running() {
        if let Some(slurm_job) = job.slurm_job {
            // Only the cluster knows, and its end is not journaled: the run is kept.
            return Err(format!(
                "its Slurm job {slurm_job} may still run (its end is not in the journal); \
                 resume it to learn (`warden run --resume {}`), or cancel it",
                state.run().id
            ));
        }
        if job.job.is_current() {
            return Err(format!(
                "its job (process {}) still runs; stop it first (`warden run --resume {}`, then \
                 `warden send {} terminate` or what the protocol offers)",
                job.job.pid,
                state.run().id,
                state.run().id
            ));
        }
    }
    Ok(())
}

/// Removes the run `id` under `root`, unless it is live: supervised, or its job still runs
/// (refused, nothing removed).
pub fn remove(root: &Path, id: &str) -> Result<Removed, RunError> {
    let store = Store::open(root, id).map_err(|error| match error {
        StoreError::Locked { holder, .. } => RunError::Refused(format!(
            "run `{id}` is live: {} supervises it; it can be removed once it ends",
            holder.map_or_else(|| "a supervisor".to_owned(), |pid| format!("process {pid}"))
        )),
        error => error.into(),
    })?;
    let state = RunState::replay(store.run()).map_err(|error| {
        RunError::Refused(format!(
            "run `{id}`: cannot tell whether its job still runs, so it is kept ({error}); \
             remove {} by hand if it is not",
            store.run().dir.display()
        ))
    })?;
    removable(&state).map_err(|why| RunError::Refused(format!("run `{id}` is live: {why}")))?;
    let removed = summary(&state);
    // The lock is held until the folder is gone.
    std::fs::remove_dir_all(&store.run().dir).map_err(io_error(&store.run().dir))?;
    drop(store);
    Ok(removed)
}

fn summary(state: &RunState) -> Removed {
    Removed {
        id: state.run().id.clone(),
        state: state.ended().map(|(_, s)| s.to_owned()),
        ended_at: state.ended().map(|(at, _)| at),
    }
}

/// What `gc` found.
#[derive(Debug, Default)]
pub struct Collected {
    /// The runs removed (or, in a dry run, that would be), oldest first.
    pub removed: Vec<Removed>,
    /// Runs that ended less long ago than asked.
    pub recent: usize,
    /// Runs that have not ended (running, or stopped without ending: `warden run --resume`).
    pub unended: usize,
    /// Runs that could not be read or removed, with why; they are kept.
    pub kept: Vec<(String, String)>,
}

/// Removes every run under `root` that ended at least `older_than` before `now`; with
/// `dry_run`, only says which.
pub fn gc(
    root: &Path,
    older_than: Duration,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<Collected, RunError> {
    let cutoff = chrono::TimeDelta::from_std(older_than)
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
        .ok_or_else(|| RunError::Usage("`--older-than` is too long".to_owned()))?;
    let mut collected = Collected::default();
    for (run, _) in client::runs(root)? {
        let state = match RunState::replay(&run) {
            Ok(state) => state,
            Err(error) => {
                collected.kept.push((run.id.clone(), error.to_string()));
                continue;
            }
        };
        match state.ended() {
            None => collected.unended += 1,
            Some((at, _)) if at > cutoff => collected.recent += 1,
            Some(_) if dry_run => match live(&run, &state) {
                Ok(()) => collected.removed.push(summary(&state)),
                Err(why) => collected.kept.push((run.id.clone(), why)),
            },
            Some(_) => match remove(root, &run.id) {
                Ok(removed) => collected.removed.push(removed),
                Err(error) => collected.kept.push((run.id.clone(), error.to_string())),
            },
        }
    }
    Ok(collected)
}

/// For a dry run: what [`remove`] would refuse, without taking the lock.
fn live(run: &RunDir, state: &RunState) -> Result<(), String> {
    if let Some(pid) = run.supervisor() {
        return Err(format!("process {pid} supervises it"));
    }
    removable(state)
}
