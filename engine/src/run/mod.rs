//! The shell around the pure core: everything that touches processes, files and time for
//! `warden run`. Only this module and the CLI do I/O on behalf of a run.
//!
//! A run is a directory (see [`store`]) whose journal is the truth. [`start`] decides what a new
//! run is; the [`supervisor`] appends every input to the journal before acting on it and derives
//! its state from the journal with [`state::RunState::absorb`], the same code that rebuilds a
//! run after a crash and that the commands needing a run's state from another shell
//! ([`client`]) use. Roles' events reach it through the run's [`mailbox`]. The job is started by
//! a [`waiter`], its parent, which records its exit status whether or not a supervisor runs;
//! [`job`] knows processes only by PID and start time, and [`track`] finds every process of
//! the job, those that left its group too: nothing else is ever signalled. A job on a Slurm
//! cluster ([`slurm`]) is submitted, watched and cancelled through Slurm's own tools instead;
//! the supervisor drives either kind through one launcher (`launcher.rs`).

pub mod client;
pub mod describe;
mod files;
pub mod follow;
mod hook;
pub mod job;
mod launcher;
mod lifecycle;
pub mod mailbox;
mod notice;
pub mod preview;
pub mod prune;
pub mod saved;
pub mod slurm;
pub mod snapshot;
pub mod start;
pub mod state;
pub mod store;
pub mod supervisor;
pub mod tail;
pub mod track;
pub mod waiter;
pub mod wake;

use std::path::{Path, PathBuf};

/// Where runs are kept unless `--dir` says otherwise, relative to the working directory.
pub const DEFAULT_ROOT: &str = ".warden/runs";

/// Why a run cannot go on, or a command on it cannot be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The protocol does not load.
    #[error(transparent)]
    Load(#[from] crate::protocol::LoadError),
    /// The protocol does not compile.
    #[error(transparent)]
    Compile(#[from] crate::machine::CompileError),
    /// A template of the protocol failed at run time (rendering the job's fields, say).
    #[error(transparent)]
    Step(#[from] crate::machine::StepError),
    /// The run's vars do not fit the protocol.
    #[error(transparent)]
    Start(#[from] crate::machine::StartError),
    /// The job cannot be started or signalled.
    #[error(transparent)]
    Job(#[from] job::ProcessError),
    /// The journal does not describe a run this version can follow.
    #[error("{}: {message}", path.display())]
    Journal {
        /// The journal.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// What was asked cannot be done (the reason says why); nothing was written.
    #[error("{0}")]
    Refused(String),
    /// The protocol has `check` errors, and is not run.
    #[error("{} has errors; see `warden check {0}`", path.display())]
    Invalid {
        /// The protocol file.
        path: PathBuf,
        /// What `check` found.
        diagnostics: Vec<crate::Diagnostic>,
    },
    /// An argument is malformed.
    #[error("{0}")]
    Usage(String),
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) use files::write_atomic;
