//! The waiter: a small process that starts the job, is its parent, and records its exit status.
//!
//! Only a process's parent learns how it ended. If the supervisor were the job's parent, a
//! supervisor killed with SIGKILL would take the job's exit status with it. So the supervisor
//! starts a waiter (`warden __waiter RUN_DIR N`) in a session of its own, and the waiter starts
//! the job in a process group of its own, writes the job's identity, waits for it, and writes
//! how it ended, as container runtimes' shims do. The job's signals never reach the waiter,
//! whose group is not the job's, and a terminal's Ctrl-C reaches neither.
//!
//! The exit status is the one thing only the waiter knows, so it does not give up on writing
//! it: while the run's directory cannot take the file (made read-only, full, the path taken)
//! it tries again, less and less often, for [`RECORD_FOR`], and the supervisor, which sees the
//! waiter still alive, waits for it.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::job::{GroupSpec, Identity, ProcessGroup};
use super::write_atomic;

/// What launch `n` runs, written by the supervisor before it starts the waiter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchSpec {
    /// Program and arguments.
    pub command: Vec<String>,
    /// The working directory.
    pub cwd: PathBuf,
    /// The file that receives stdout and stderr, appended to.
    pub log: PathBuf,
    /// Whether the command resumes from the checkpoint.
    #[serde(default)]
    pub resumed: bool,
}

/// The job of a launch as the waiter started it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identities {
    /// The job (leader of its process group).
    pub job: Identity,
    /// The waiter.
    pub waiter: Identity,
}

/// How a launch ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    /// When the waiter saw it.
    pub at: DateTime<Utc>,
    /// The exit code, if the job exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Why the job could not be started, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The files of one launch, in the run's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchFiles {
    /// What to run.
    pub spec: PathBuf,
    /// The job's identity, once started.
    pub started: PathBuf,
    /// How it ended.
    pub exit: PathBuf,
}

impl LaunchFiles {
    /// The files of launch `n` in `dir`.
    pub fn new(dir: &Path, n: u32) -> LaunchFiles {
        let file = |what: &str| dir.join(format!("launch-{n}.{what}.json"));
        LaunchFiles {
            spec: file("spec"),
            started: file("started"),
            exit: file("exit"),
        }
    }

    /// The job's identity, if the waiter has written it.
    pub fn read_started(&self) -> Option<Identities> {
        read_json(&self.started)
    }

    /// What the launch runs, if the supervisor has written it.
    pub fn read_spec(&self) -> Option<LaunchSpec> {
        read_json(&self.spec)
    }

    /// How the job ended, if the waiter has written it.
    pub fn read_exit(&self) -> Option<Exit> {
        read_json(&self.exit)
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    // Written atomically: the file is whole or absent.
    serde_json::from_slice(&super::files::read(path).ok()?).ok()
}

/// How long a waiter goes on trying to write the job's exit status.
pub const RECORD_FOR: Duration = Duration::from_secs(24 * 3600);

/// The longest pause between two tries.
const RETRY_AT_MOST_EVERY: Duration = Duration::from_secs(1);

/// Writes `bytes` to `path` atomically, trying again while it cannot, for up to `limit`, unless
/// the run's directory is gone (nobody would read it).
fn record_patiently(path: &Path, bytes: &[u8], limit: Duration) -> std::io::Result<()> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        let error = match write_atomic(path, bytes) {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        let gone = path.parent().is_none_or(|dir| !dir.is_dir());
        if gone || started.elapsed() >= limit {
            return Err(error);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(RETRY_AT_MOST_EVERY);
    }
}

/// The waiter's whole life, for `warden __waiter RUN_DIR N`. Returns its exit code.
pub fn main(dir: &Path, n: u32) -> i32 {
    // A session of its own: no terminal's signals, and not the supervisor's group.
    let _ = nix::unistd::setsid();
    let files = LaunchFiles::new(dir, n);
    let Some(spec) = read_json::<LaunchSpec>(&files.spec) else {
        return 2;
    };
    let record = |exit: &Exit| {
        let json = serde_json::to_vec(exit).expect("an exit serializes");
        record_patiently(&files.exit, &json, RECORD_FOR)
    };
    let job_spec = GroupSpec {
        command: spec.command,
        cwd: Some(spec.cwd),
        log: spec.log,
    };
    let mut job = match ProcessGroup::spawn(&job_spec) {
        Ok(job) => job,
        Err(error) => {
            let exit = Exit {
                at: Utc::now(),
                exit_code: None,
                signal: None,
                error: Some(error.to_string()),
            };
            return if record(&exit).is_ok() { 1 } else { 2 };
        }
    };
    let started = Identities {
        job: job.identity(),
        waiter: Identity::of(std::process::id()).unwrap_or(Identity {
            pid: std::process::id(),
            start_time: 0,
        }),
    };
    let json = serde_json::to_vec(&started).expect("an identity serializes");
    if write_atomic(&files.started, &json).is_err() {
        // Nobody could learn of the job: do not leave it running unseen.
        let _ = job.stop(std::time::Duration::from_secs(5));
        return 2;
    }
    let exit = match job.wait() {
        Ok(status) => Exit {
            at: Utc::now(),
            exit_code: status.code(),
            signal: status.signal(),
            error: None,
        },
        Err(error) => Exit {
            at: Utc::now(),
            exit_code: None,
            signal: None,
            error: Some(format!("cannot wait for the job: {error}")),
        },
    };
    if record(&exit).is_ok() {
        0
    } else {
        2
    }
}
