//! Where the job runs: the protocol's `job.launcher`. A `local` job is a process group on
//! this machine, started by a waiter ([`super::lifecycle`]); a `slurm` job is a batch job on a
//! cluster ([`super::slurm`]). The supervisor drives either through [`Launcher`], with the same
//! calls at the same moments, and both answer with the same [`JobEvent`]s.
//!
//! A local job's end is learnt of every turn of the loop (its waiter writes a file); a Slurm
//! job's is asked of the cluster at a bounded rate: [`Launcher::next_poll`] says when the next
//! question is due, so that a loop that sleeps until its next deadline wakes for it.

use std::path::Path;
use std::time::{Duration, Instant};

use super::lifecycle::{JobEvent, Lifecycle};
use super::slurm::SlurmLifecycle;
use super::state::{Launch, RunState};
use super::store::RunDir;
use crate::machine::JobPlan;
use crate::protocol::Launcher as Kind;

/// The job of a run, wherever it runs.
pub(super) enum Launcher {
    /// A process group on this machine.
    Local(Lifecycle),
    /// A Slurm batch job.
    Slurm(SlurmLifecycle),
}

impl Launcher {
    /// The launcher `plan` names; local waiters are started with `waiter_command`.
    pub(super) fn new(waiter_command: Vec<String>, plan: &JobPlan) -> Launcher {
        match plan.launcher {
            Kind::Local => Launcher::Local(Lifecycle::new(waiter_command)),
            Kind::Slurm => Launcher::Slurm(SlurmLifecycle::new(plan.slurm_poll)),
        }
    }

    /// When the job's state is next to be asked of its scheduler; `None` when it need not be
    /// (a local job's end is seen every turn).
    pub(super) fn next_poll(&self) -> Option<Instant> {
        match self {
            Launcher::Local(_) => None,
            Launcher::Slurm(slurm) => slurm.next_poll(),
        }
    }

    /// Whether a stop is under way.
    pub(super) fn stopping(&self) -> bool {
        match self {
            Launcher::Local(local) => local.stopping(),
            Launcher::Slurm(slurm) => slurm.stopping(),
        }
    }

    /// Whether the job has ended and the journal does not know yet.
    pub(super) fn exited(&self) -> bool {
        match self {
            Launcher::Local(local) => local.exited(),
            Launcher::Slurm(slurm) => slurm.exited(),
        }
    }

    /// Whether something of `job` may still be running.
    pub(super) fn may_run(&mut self, run: &RunDir, job: &Launch) -> bool {
        match self {
            Launcher::Local(local) => !local.processes(run, job).is_empty(),
            Launcher::Slurm(slurm) => slurm.may_run(),
        }
    }

    /// After a restart of the supervisor: finds the job of the last launch again.
    pub(super) fn adopt(&mut self, run: &RunDir, job: &Launch, out: &mut Vec<JobEvent>) {
        match self {
            Launcher::Local(local) => local.adopt(run, job, out),
            Launcher::Slurm(slurm) => slurm.adopt(run, job, out),
        }
    }

    /// Learns of the job's end. Returns whether it ended by itself: not while a stop is under
    /// way or `stop_next`, when the end is the stop's.
    pub(super) fn watch(
        &mut self,
        run: &RunDir,
        job: Option<&Launch>,
        stop_next: bool,
        out: &mut Vec<JobEvent>,
    ) -> bool {
        match self {
            Launcher::Local(local) => local.watch(run, job, stop_next),
            Launcher::Slurm(slurm) => slurm.watch(run, job, stop_next, out),
        }
    }

    /// The job ended by itself (see [`Launcher::watch`]): its end is handed over.
    pub(super) fn finish(&mut self, run: &RunDir, job: &Launch, out: &mut Vec<JobEvent>) {
        match self {
            Launcher::Local(local) => local.finish(run, job, out),
            Launcher::Slurm(slurm) => slurm.finish(out),
        }
    }

    /// Goes on with a stop of `job` (none: nothing runs), started on the first call.
    pub(super) fn stop(
        &mut self,
        run: &RunDir,
        job: Option<&Launch>,
        grace: impl FnOnce() -> Duration,
        out: &mut Vec<JobEvent>,
    ) {
        match self {
            Launcher::Local(local) => local.stop(run, job, grace, out),
            Launcher::Slurm(slurm) => slurm.stop(run, job, grace, out),
        }
    }

    /// Starts the next launch of the job.
    pub(super) fn launch(&mut self, state: &RunState, log: &Path, out: &mut Vec<JobEvent>) {
        match self {
            Launcher::Local(local) => local.launch(state, log, out),
            Launcher::Slurm(slurm) => slurm.launch(state, log, out),
        }
    }
}
