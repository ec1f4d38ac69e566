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

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use super::job::{GroupSpec, Identity, ProcessGroup};
use super::tail::FileId;
use super::track::JobCgroup;
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
    /// Never put the job in a cgroup of its own, even where one can be created: its
    /// descendants are then tracked by the waiter alone, as their subreaper.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_cgroup: bool,
}

/// The job of a launch as the waiter started it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identities {
    /// The job (leader of its process group).
    pub job: Identity,
    /// The waiter.
    pub waiter: Identity,
    /// The file the job's stdout and stderr go to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<FileId>,
    /// The cgroup the job was put in, if one could be created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<PathBuf>,
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
    /// The state a Slurm job ended in, as Slurm names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_state: Option<String>,
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

pub(super) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    // Written atomically: the file is whole or absent.
    serde_json::from_slice(&super::files::read(path).ok()?).ok()
}

/// How long a waiter goes on trying to write the job's exit status.
pub const RECORD_FOR: Duration = Duration::from_secs(24 * 3600);

/// The longest pause between two tries.
const RETRY_AT_MOST_EVERY: Duration = Duration::from_secs(1);

/// Whether the file at `path` still holds what the waiter wrote or read there, as `ours`
/// judges its bytes: `Some(false)` once it is gone or holds another's, `None` while it cannot
/// be read (the directory made unreadable: it may still be this run's).
fn still_ours(path: &Path, ours: impl Fn(&[u8]) -> bool) -> Option<bool> {
    match super::files::read(path) {
        Ok(bytes) => Some(ours(&bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Some(false),
        Err(_) => None,
    }
}

/// Writes `bytes` to `path` atomically, trying again while it cannot, for up to `limit`, unless
/// the run's directory is gone (nobody would read it) or is another run's: a run removed
/// and started again under its id while the waiter waited. `ours` tells which: before each
/// try, whether the directory still holds this launch (`Some(false)`: it does not).
fn record_patiently(
    path: &Path,
    bytes: &[u8],
    limit: Duration,
    ours: impl Fn() -> Option<bool>,
) -> std::io::Result<()> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        if ours() == Some(false) {
            return Err(std::io::Error::other(
                "the run's directory holds another run's launch now",
            ));
        }
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
    // The job's descendants whose parent dies are given to the waiter rather than to init: a
    // daemon that leaves the job's group and session stays in view, and is reaped here.
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let files = LaunchFiles::new(dir, n);
    let Ok(spec_bytes) = super::files::read(&files.spec) else {
        return 2;
    };
    let Ok(spec) = serde_json::from_slice::<LaunchSpec>(&spec_bytes) else {
        return 2;
    };
    let waiter = Identity::of(std::process::id()).unwrap_or(Identity {
        pid: std::process::id(),
        start_time: 0,
    });
    // The exit is this launch's while the run's directory holds it: until the job is started,
    // the spec the waiter read; after, the identity it wrote.
    let record = |exit: &Exit, started: bool| {
        let json = serde_json::to_vec(exit).expect("an exit serializes");
        let ours = || {
            if started {
                still_ours(&files.started, |bytes| {
                    serde_json::from_slice::<Identities>(bytes).is_ok_and(|i| i.waiter == waiter)
                })
            } else {
                still_ours(&files.spec, |bytes| bytes == spec_bytes.as_slice())
            }
        };
        record_patiently(&files.exit, &json, RECORD_FOR, ours)
    };
    let cgroup = if spec.no_cgroup {
        None
    } else {
        JobCgroup::create(&format!("{}-{}", waiter.pid, waiter.start_time))
    };
    let job_spec = GroupSpec {
        command: spec.command,
        cwd: Some(spec.cwd),
        log: spec.log,
    };
    let mut job = match ProcessGroup::spawn_in(&job_spec, cgroup.as_ref()) {
        Ok(job) => job,
        Err(error) => {
            if let Some(cgroup) = &cgroup {
                cgroup.remove();
            }
            let exit = Exit {
                at: Utc::now(),
                exit_code: None,
                signal: None,
                error: Some(error.to_string()),
                slurm_state: None,
            };
            return if record(&exit, false).is_ok() { 1 } else { 2 };
        }
    };
    // A job that could not move itself in is tracked by the subreaper alone.
    let cgroup = cgroup.filter(|cgroup| cgroup.holds(job.identity().pid) || !cgroup.remove());
    let started = Identities {
        job: job.identity(),
        waiter,
        log: Some(job.log()),
        cgroup: cgroup.as_ref().map(|c| c.dir.clone()),
    };
    let json = serde_json::to_vec(&started).expect("an identity serializes");
    if write_atomic(&files.started, &json).is_err() {
        // Nobody could learn of the job: do not leave it running unseen.
        let _ = job.stop(std::time::Duration::from_secs(5));
        return 2;
    }
    let exit = match wait_for(job.identity().pid) {
        Ok(status) => status,
        Err(error) => Exit {
            at: Utc::now(),
            exit_code: None,
            signal: None,
            error: Some(format!("cannot wait for the job: {error}")),
            slurm_state: None,
        },
    };
    let recorded = record(&exit, true);
    // What the job left running (stopped by the supervisor, or ending by itself) is reaped as
    // it ends, so that it stays the waiter's until the last of it.
    while let Ok(_) | Err(Errno::EINTR) = waitpid(None, None) {}
    if let Some(cgroup) = &cgroup {
        cgroup.remove();
    }
    if recorded.is_ok() {
        0
    } else {
        2
    }
}

/// Waits for the job, reaping on the way the orphans of its descendants, given to the waiter.
fn wait_for(job: u32) -> nix::Result<Exit> {
    let job = Pid::from_raw(job as i32);
    loop {
        let (exit_code, signal) = match waitpid(None, None) {
            Ok(WaitStatus::Exited(pid, code)) if pid == job => (Some(code), None),
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == job => (None, Some(signal as i32)),
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(error) => return Err(error),
        };
        return Ok(Exit {
            at: Utc::now(),
            exit_code,
            signal,
            error: None,
            slurm_state: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit_file(dir: &Path) -> PathBuf {
        dir.join("launch-1.exit.json")
    }

    #[test]
    fn an_exit_is_written_only_while_the_directory_holds_the_launch() {
        let dir = tempfile::tempdir().unwrap();
        let started = dir.path().join("launch-1.started.json");
        let ours = || still_ours(&started, |bytes| bytes == b"me");
        // The run was removed and started again: its launch is not there yet, or another's.
        assert_eq!(ours(), Some(false));
        let refused = record_patiently(&exit_file(dir.path()), b"{}", Duration::ZERO, ours);
        assert!(refused.is_err());
        std::fs::write(&started, "another").unwrap();
        let refused = record_patiently(&exit_file(dir.path()), b"{}", Duration::ZERO, ours);
        assert!(refused.is_err());
        assert!(!exit_file(dir.path()).exists());
        // Its own launch: written.
        std::fs::write(&started, "me").unwrap();
        record_patiently(&exit_file(dir.path()), b"{}", Duration::ZERO, ours).unwrap();
        assert_eq!(std::fs::read(exit_file(dir.path())).unwrap(), b"{}");
    }

    #[test]
    fn a_launch_that_cannot_be_read_is_not_taken_for_another() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the file should be cannot be read as one: it may still be this run.
        let started = dir.path().join("launch-1.started.json");
        std::fs::create_dir(&started).unwrap();
        assert_eq!(still_ours(&started, |_| true), None);
        record_patiently(&exit_file(dir.path()), b"{}", Duration::ZERO, || {
            still_ours(&started, |_| false)
        })
        .unwrap();
    }
}
