//! The supervised job: started in a process group of its own, known by its PID and start time,
//! and signalled only through that group.
//!
//! Nothing here finds processes by name or pattern. A job is identified by the PID Warden
//! started and the start time the kernel recorded for it; before signalling a job it did not
//! just start (a re-adopted one), Warden checks that the PID still belongs to that process, so a
//! recycled PID is never signalled. Signals go to the job's process group, so the job's
//! children (DataLoader workers, say) stop with it and nothing outside it is touched; the
//! processes that leave the group are found by [`super::track`].

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use super::tail::FileId;
use super::track::JobCgroup;

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    /// Program and arguments.
    pub command: Vec<String>,
    /// The working directory (default: Warden's).
    pub cwd: Option<PathBuf>,
    /// The file that receives stdout and stderr, appended to.
    pub log: PathBuf,
}

/// A process as the kernel knows it: its PID and when it started, in clock ticks since boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The process id, which is also the id of the job's process group.
    pub pid: u32,
    /// Field 22 of `/proc/PID/stat`: the start time, which a recycled PID does not share.
    pub start_time: u64,
}

impl Identity {
    /// The identity of the running process `pid`, if there is one.
    pub fn of(pid: u32) -> Option<Identity> {
        Identity::read(pid).ok().flatten()
    }

    /// The identity of `pid` from one read of `/proc/PID/stat`: `None` when the file is there
    /// but does not parse, an error when it cannot be read.
    fn read(pid: u32) -> std::io::Result<Option<Identity>> {
        use std::io::Read;
        // One read: the line is a few hundred bytes (the command name is at most 16), and
        // reading to the end in growing pieces took six.
        let mut file = std::fs::File::open(format!("/proc/{pid}/stat"))?;
        let mut buffer = [0u8; 1024];
        let read = loop {
            match file.read(&mut buffer) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                read => break read?,
            }
        };
        let mut bytes = buffer[..read].to_vec();
        if read == buffer.len() {
            file.read_to_end(&mut bytes)?;
        }
        let stat = String::from_utf8_lossy(&bytes);
        // The command name (field 2) is in parentheses and may hold spaces or parentheses.
        let start_time = stat
            .rfind(')')
            .and_then(|end| stat[end + 1..].split_whitespace().nth(19))
            .and_then(|field| field.parse().ok());
        Ok(start_time.map(|start_time| Identity { pid, start_time }))
    }

    /// Whether `pid` still names the process this identity was taken from.
    pub fn is_current(&self) -> bool {
        Identity::of(self.pid).is_some_and(|now| now == *self)
    }

    /// Whether the process this identity was taken from is gone for sure: its PID names no
    /// process, or one with another start time. A `/proc` that cannot be read just now (a
    /// loaded machine) says nothing, and is not taken for an end.
    pub fn is_gone(&self) -> bool {
        match Identity::read(self.pid) {
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
            Ok(now) => now.is_some_and(|now| now != *self),
        }
    }

    fn group(&self) -> Pid {
        Pid::from_raw(self.pid as i32)
    }
}

/// Why a job could not be started or signalled.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The command is empty.
    #[error("the job has no command")]
    NoCommand,
    /// The log could not be opened.
    #[error("cannot open the job's log {}: {source}", path.display())]
    Log {
        /// The log.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The program could not be started.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The PID no longer belongs to the job: it exited and the PID may have been reused.
    #[error("process {pid} is not the job any more (its start time differs); not signalling it")]
    NotTheJob {
        /// The PID.
        pid: u32,
    },
    /// A signal could not be sent.
    #[error("cannot signal the process group {pid}: {source}")]
    Signal {
        /// The group.
        pid: u32,
        /// Why.
        #[source]
        source: Errno,
    },
}

/// A job Warden started and is the parent of: the leader of a process group of its own.
#[derive(Debug)]
pub struct ProcessGroup {
    child: Child,
    identity: Identity,
    log: FileId,
    /// The job's log, kept open while the job is known: it can be found by its inode
    /// (`/proc/PID/fd`) after a rotation even when the job closed its own output.
    _held_log: std::fs::File,
}

impl ProcessGroup {
    /// Starts `spec` in a new process group, stdout and stderr appended to its log.
    pub fn spawn(spec: &GroupSpec) -> Result<ProcessGroup, ProcessError> {
        ProcessGroup::spawn_in(spec, None)
    }

    /// Starts `spec` as [`ProcessGroup::spawn`] does, moved into `cgroup` (if given) before it
    /// runs its program, so that everything it starts is a member too.
    pub fn spawn_in(
        spec: &GroupSpec,
        cgroup: Option<&JobCgroup>,
    ) -> Result<ProcessGroup, ProcessError> {
        let (program, args) = spec.command.split_first().ok_or(ProcessError::NoCommand)?;
        let log = open_log(&spec.log)?;
        let log_id = FileId::of(&log).map_err(|source| ProcessError::Log {
            path: spec.log.clone(),
            source,
        })?;
        let clone = || {
            log.try_clone().map_err(|source| ProcessError::Log {
                path: spec.log.clone(),
                source,
            })
        };
        let err = clone()?;
        let held_log = clone()?;
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            // Its own group: signals reach its children, and never Warden's own group.
            .process_group(0);
        if let Some(cwd) = &spec.cwd {
            command.current_dir(cwd);
        }
        if let Some(cgroup) = cgroup {
            let procs = cgroup
                .procs
                .try_clone()
                .map_err(|source| ProcessError::Spawn {
                    program: program.clone(),
                    source,
                })?;
            // SAFETY: between fork and exec the closure only makes one write(2) system call,
            // which is async-signal-safe, and allocates nothing. Writing 0 moves the writer.
            unsafe {
                command.pre_exec(move || {
                    // Not being moved leaves the job to the subreaper: it still runs.
                    let _ = (&procs).write(b"0");
                    Ok(())
                });
            }
        }
        let child = command.spawn().map_err(|source| ProcessError::Spawn {
            program: program.clone(),
            source,
        })?;
        let pid = child.id();
        // The child is ours and not yet reaped, so its PID cannot be reused before we read it.
        let identity = Identity::of(pid).unwrap_or(Identity { pid, start_time: 0 });
        Ok(ProcessGroup {
            child,
            identity,
            log: log_id,
            _held_log: held_log,
        })
    }

    /// The job's identity.
    pub fn identity(&self) -> Identity {
        self.identity
    }

    /// The file the job's stdout and stderr go to.
    pub fn log(&self) -> FileId {
        self.log
    }

    /// Its exit status, if it has exited (the process is then reaped).
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Waits for the job to exit and reaps it.
    pub fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait()
    }

    /// Stops the job: SIGTERM to its process group, SIGKILL after `grace` if anything of the
    /// group is left, then reaps it. Returns its exit status.
    pub fn stop(&mut self, grace: Duration) -> Result<ExitStatus, ProcessError> {
        signal_group(self.identity, Signal::SIGTERM)?;
        let deadline = Instant::now() + grace;
        let mut status = None;
        while Instant::now() < deadline {
            if status.is_none() {
                status = self.child.try_wait().ok().flatten();
            }
            if status.is_some() && !group_exists(self.identity) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if group_exists(self.identity) {
            signal_group(self.identity, Signal::SIGKILL)?;
        }
        let status = match status {
            Some(status) => status,
            None => self.child.wait().map_err(|source| ProcessError::Spawn {
                program: "(wait)".into(),
                source,
            })?,
        };
        // Stragglers that ignored SIGTERM and outlived the leader get SIGKILL too, and the stop
        // is over when they are gone: a process killed a moment ago may still be exiting.
        if group_exists(self.identity) {
            signal_group(self.identity, Signal::SIGKILL)?;
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while group_exists(self.identity) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(status)
    }
}

fn open_log(path: &Path) -> Result<std::fs::File, ProcessError> {
    let error = |source| ProcessError::Log {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(error)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(error)
}

/// Whether any live process of the job's group is left. Zombies are not: they are dead, and
/// wait only for their parent (or init, for orphans) to collect their status.
pub fn group_exists(identity: Identity) -> bool {
    if identity.pid == 0 {
        return false;
    }
    // The group has members at all (cheap); are any of them alive? (A program started through
    // a wrapper script, pyenv's shims say, leaves orphaned zombies that init reaps when it gets
    // to them.)
    killpg(identity.group(), None).is_ok() && !group_members(identity.pid).is_empty()
}

/// The live processes (zombies left out) whose process group is `pgid`, from `/proc`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some(close) = stat.rfind(')') else {
                return false;
            };
            // After the command name: state (field 3), parent (4), process group (5).
            let mut fields = stat[close + 1..].split_whitespace();
            let state = fields.next();
            let group = fields.nth(1).and_then(|g| g.parse::<u32>().ok());
            group == Some(pgid) && state != Some("Z")
        })
        .collect()
}

/// Sends `signal` to the job's process group. For a group whose leader is gone, the group id
/// cannot be reused while any member lives, so it still names the job; while the leader lives,
/// its start time must match.
pub fn signal_group(identity: Identity, signal: Signal) -> Result<(), ProcessError> {
    // PID 0 is no process (a Slurm job has no local one), and killpg(0) would signal Warden's
    // own group.
    if identity.pid == 0 || Identity::of(identity.pid).is_some_and(|now| now != identity) {
        return Err(ProcessError::NotTheJob { pid: identity.pid });
    }
    match killpg(identity.group(), signal) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(source) => Err(ProcessError::Signal {
            pid: identity.pid,
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_in(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("logs/job.log")
    }

    #[test]
    fn a_job_and_its_workers_stop_together_and_nothing_else_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        // Like a training script with DataLoader workers: children that ignore SIGTERM.
        let spec = GroupSpec {
            command: vec![
                "sh".into(),
                "-c".into(),
                "for i in 1 2 3; do sh -c 'trap \"\" TERM; sleep 300' & done; echo started; wait"
                    .into(),
            ],
            cwd: None,
            log: log_in(&dir),
        };
        let mut bystander = Command::new("sleep")
            .arg("300")
            .process_group(0)
            .spawn()
            .unwrap();
        let mut job = ProcessGroup::spawn(&spec).unwrap();
        let pgid = job.identity().pid;
        let deadline = Instant::now() + Duration::from_secs(5);
        while group_members(pgid).len() < 7 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            group_members(pgid).len(),
            7,
            "sh, three workers and their sleeps"
        );
        job.stop(Duration::from_millis(300)).unwrap();
        assert_eq!(group_members(pgid), Vec::<u32>::new(), "no orphans left");
        assert!(
            bystander.try_wait().unwrap().is_none(),
            "the bystander was not signalled"
        );
        bystander.kill().unwrap();
        bystander.wait().unwrap();
        assert_eq!(std::fs::read_to_string(log_in(&dir)).unwrap(), "started\n");
    }

    #[test]
    fn the_log_is_appended_to_across_starts() {
        let dir = tempfile::tempdir().unwrap();
        let spec = |word: &str| GroupSpec {
            command: vec![
                "sh".into(),
                "-c".into(),
                format!("echo {word}; echo {word}-err >&2"),
            ],
            cwd: None,
            log: log_in(&dir),
        };
        for word in ["first", "second"] {
            let mut job = ProcessGroup::spawn(&spec(word)).unwrap();
            let status = loop {
                if let Some(status) = job.try_wait().unwrap() {
                    break status;
                }
                std::thread::sleep(Duration::from_millis(5));
            };
            assert!(status.success());
        }
        assert_eq!(
            std::fs::read_to_string(log_in(&dir)).unwrap(),
            "first\nfirst-err\nsecond\nsecond-err\n"
        );
    }

    #[test]
    fn a_recycled_pid_is_not_signalled() {
        let mut own = Command::new("sleep")
            .arg("300")
            .process_group(0)
            .spawn()
            .unwrap();
        let real = Identity::of(own.id()).unwrap();
        assert!(real.is_current() && !real.is_gone());
        let stale = Identity {
            start_time: real.start_time.wrapping_sub(1),
            ..real
        };
        assert!(stale.is_gone(), "another process has the PID");
        assert!(matches!(
            signal_group(stale, Signal::SIGKILL),
            Err(ProcessError::NotTheJob { .. })
        ));
        assert!(own.try_wait().unwrap().is_none(), "still running");
        own.kill().unwrap();
        own.wait().unwrap();
        assert!(!real.is_current(), "gone once reaped");
        assert!(real.is_gone());
    }

    #[test]
    fn pid_zero_names_no_job_and_is_never_signalled() {
        let nobody = Identity {
            pid: 0,
            start_time: 0,
        };
        assert!(!group_exists(nobody));
        // Were PID 0 let through, `killpg(0)` would signal the test's own group: SIGCONT,
        // harmless to a running group, so that a broken guard fails this assert and nothing else.
        assert!(matches!(
            signal_group(nobody, Signal::SIGCONT),
            Err(ProcessError::NotTheJob { pid: 0 })
        ));
    }

    #[test]
    fn an_unknown_program_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let spec = GroupSpec {
            command: vec!["/nonexistent/train".into()],
            cwd: None,
            log: log_in(&dir),
        };
        let error = ProcessGroup::spawn(&spec).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("cannot start `/nonexistent/train`"),
            "{error}"
        );
        assert!(matches!(
            ProcessGroup::spawn(&GroupSpec {
                command: vec![],
                ..spec
            }),
            Err(ProcessError::NoCommand)
        ));
    }
}
