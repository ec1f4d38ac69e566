//! What a supervisor tells whoever shows a run as it goes (a terminal, a log, a test): the
//! [`Notice`]s of what it did and saw, through an [`Observer`].

use std::path::Path;

use nix::sys::signal::Signal;

use super::state::RunState;
use crate::classify::Incident;
use crate::gate::GateResult;
use crate::machine::{Message, Taken};

/// Something the supervisor did or saw, for whoever shows the run.
#[derive(Debug)]
pub enum Notice<'a> {
    /// A line of the job's log.
    Line(&'a str),
    /// The job started.
    Launched {
        /// Its PID.
        pid: u32,
        /// The command.
        command: &'a [String],
        /// Whether it resumed from the checkpoint.
        resumed: bool,
    },
    /// A job still running was found again after the supervisor's restart.
    Adopted {
        /// Its PID.
        pid: u32,
    },
    /// The job could not be started.
    LaunchFailed(&'a str),
    /// What a Slurm job did or was told: submitted, found again, its state, cancelled.
    Slurm(&'a str),
    /// The job ended by itself.
    Exited {
        /// Its exit code.
        exit_code: Option<i32>,
        /// The signal that ended it.
        signal: Option<i32>,
    },
    /// A signal was sent to the job's process group.
    Signalled {
        /// The group.
        pid: u32,
        /// Which signal.
        signal: Signal,
    },
    /// The job was stopped.
    Stopped,
    /// An incident was found.
    Incident(&'a Incident),
    /// A gate was checked.
    Gate(&'a GateResult),
    /// An incident was held: the state it arrived in has no transition on `incident`.
    Held(&'a str),
    /// A transition was taken.
    Taken(&'a Taken),
    /// A message was written.
    Message {
        /// The message.
        message: &'a Message,
        /// Its file.
        path: &'a Path,
    },
    /// An event was ignored: no transition of the current state took it.
    Ignored {
        /// The event.
        event: &'a str,
        /// The state.
        state: &'a str,
    },
    /// A role's event was refused.
    Refused(&'a str),
    /// The machine failed on an input.
    Failed(&'a str),
    /// Something went wrong that the run survives.
    Warning(String),
    /// The run ended in this final state.
    Ended(&'a str),
}

/// Whoever shows a run as it goes: a terminal, a log, a test.
pub trait Observer {
    /// Something happened.
    fn notice(&mut self, notice: Notice<'_>);
    /// Nothing happened for a second; the run as it is now (for a status line).
    fn idle(&mut self, _state: &RunState) {}
    /// Whether it shows a status line at [`Observer::idle`]: the supervisor then looks at
    /// everything once a second even when nothing else asks it to.
    fn shows_status(&self) -> bool {
        false
    }
    /// Whether it shows the job's log lines ([`Notice::Line`]); they are not made text for it
    /// otherwise.
    fn wants_lines(&self) -> bool {
        false
    }
}

/// An observer that shows nothing.
pub struct Quiet;

impl Observer for Quiet {
    fn notice(&mut self, _notice: Notice<'_>) {}
}
