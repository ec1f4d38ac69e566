//! Every process of a job, including those that left its process group.
//!
//! A job's process group holds what it starts, unless a process leaves it: a daemon forks,
//! calls `setsid` and forks again, and is in no group Warden knows, its parent gone. Two
//! mechanisms keep such processes in view:
//!
//! - a **cgroup v2** of the job's own, when the hierarchy is mounted and the waiter may create
//!   a cgroup below its own: the job is moved into it before it runs its program, and every
//!   process it starts is a member, whatever its group or session;
//! - the waiter is a **child subreaper** (`PR_SET_CHILD_SUBREAPER`), always: a descendant
//!   whose parent dies is given to the waiter rather than to init, so every descendant of the
//!   job is a descendant of the waiter as long as the waiter runs.
//!
//! The job's processes are the members of its group, of its cgroup, and the waiter's
//! descendants. Each is known by its PID and start time, and signalled only if its PID still
//! has that start time: nothing else is ever signalled.

use std::io::Write;
use std::path::{Path, PathBuf};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::job::{group_members, Identity};

/// Where the job's processes are found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    /// The job: the leader of its process group.
    pub job: Identity,
    /// Its waiter: the job's parent, and the subreaper of its descendants.
    pub waiter: Identity,
    /// The job's cgroup, if it has one.
    pub cgroup: Option<PathBuf>,
}

/// What the kernel says of a process in `/proc/PID/stat`.
struct Stat {
    state: char,
    parent: u32,
    group: u32,
}

fn stat(pid: u32) -> Option<Stat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    let group = fields.next()?.parse().ok()?;
    Some(Stat {
        state,
        parent,
        group,
    })
}

fn all_pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .collect()
}

/// The live descendants of `ancestor` (zombies left out), from `/proc`.
pub fn descendants(ancestor: u32) -> Vec<u32> {
    let stats: Vec<(u32, Stat)> = all_pids()
        .into_iter()
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .collect();
    let mut found = vec![ancestor];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        next += 1;
        for (pid, stat) in &stats {
            if stat.parent == parent && !found.contains(pid) {
                found.push(*pid);
            }
        }
    }
    found
        .into_iter()
        .skip(1)
        .filter(|pid| stats.iter().any(|(p, s)| p == pid && s.state != 'Z'))
        .collect()
}

impl Tracked {
    /// The live processes of the job, each with its start time: the members of its process
    /// group (while its leader, if alive, is the job), of its cgroup, and the waiter's
    /// descendants (while the waiter is the recorded one). The waiter is not one of them.
    pub fn processes(&self) -> Vec<Identity> {
        let mut pids = Vec::new();
        if Identity::of(self.job.pid).is_none_or(|now| now == self.job) {
            pids.extend(group_members(self.job.pid));
        }
        if let Some(cgroup) = self.cgroup.as_deref().filter(|dir| is_job_cgroup(dir)) {
            pids.extend(cgroup_members(cgroup));
        }
        if self.waiter.is_current() {
            pids.extend(descendants(self.waiter.pid));
        }
        pids.sort_unstable();
        pids.dedup();
        pids.into_iter()
            .filter(|&pid| pid != self.waiter.pid)
            .filter(|&pid| stat(pid).is_some_and(|s| s.state != 'Z'))
            .filter_map(Identity::of)
            .collect()
    }

    /// The processes of [`Tracked::processes`] that are not in the job's process group: they
    /// left it (`setsid`, `setpgid`).
    pub fn outside_group(&self, processes: &[Identity]) -> Vec<Identity> {
        processes
            .iter()
            .filter(|p| stat(p.pid).is_some_and(|s| s.group != self.job.pid))
            .copied()
            .collect()
    }

    /// Sends `signal` to each of `processes` whose PID still has its start time; with SIGKILL,
    /// the whole cgroup is killed too where the kernel can (`cgroup.kill`). Returns how many
    /// were signalled.
    pub fn signal(&self, processes: &[Identity], signal: Signal) -> usize {
        if signal == Signal::SIGKILL {
            if let Some(cgroup) = self.cgroup.as_deref().filter(|dir| is_job_cgroup(dir)) {
                kill_cgroup(cgroup);
            }
        }
        processes.iter().filter(|p| signal_one(**p, signal)).count()
    }

    /// Removes the job's cgroup once it is empty (the kernel refuses otherwise). Returns
    /// whether no cgroup is left.
    pub fn remove_cgroup(&self) -> bool {
        match self.cgroup.as_deref().filter(|dir| is_job_cgroup(dir)) {
            Some(dir) => remove_cgroup(dir),
            None => true,
        }
    }
}

/// Sends `signal` to `process` if its PID still has its start time. Returns whether it did.
pub fn signal_one(process: Identity, signal: Signal) -> bool {
    process.is_current() && kill(Pid::from_raw(process.pid as i32), signal).is_ok()
}

/// The prefix of the name of every cgroup Warden creates.
const PREFIX: &str = "warden-";

/// A cgroup Warden created for a job: in a cgroup2 file system, named by Warden. A recorded
/// path that is not one is never used.
fn is_job_cgroup(dir: &Path) -> bool {
    let named = dir
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(PREFIX));
    named
        && nix::sys::statfs::statfs(dir)
            .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

/// The live members of a cgroup.
fn cgroup_members(dir: &Path) -> Vec<u32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

/// Kills every member of the cgroup at once (`cgroup.kill`, Linux 5.14).
fn kill_cgroup(dir: &Path) {
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.kill"))
    {
        let _ = file.write_all(b"1");
    }
}

fn remove_cgroup(dir: &Path) -> bool {
    match std::fs::remove_dir(dir) {
        Ok(()) => true,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// The directory of this process's cgroup in the cgroup v2 hierarchy, if it is mounted.
fn own_cgroup() -> Option<PathBuf> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup.lines().find_map(|line| line.strip_prefix("0::"))?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts.lines().find_map(|line| {
        let (mount, fs) = line.split_once(" - ")?;
        if fs.split_whitespace().next() != Some("cgroup2") {
            return None;
        }
        // Fields 4 and 5: the mount's root in the hierarchy, and where it is mounted.
        let mut fields = mount.split_whitespace().skip(3);
        let root = unescape(fields.next()?);
        let point = unescape(fields.next()?);
        let below = Path::new(path).strip_prefix(&root).ok()?;
        Some(PathBuf::from(point).join(below))
    })
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|digits| {
            let digits = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(digits, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A cgroup created for a job, with its `cgroup.procs` open to move the job into it.
#[derive(Debug)]
pub struct JobCgroup {
    /// Its directory.
    pub dir: PathBuf,
    /// Its `cgroup.procs`, open for writing: the job writes `0` to it to move itself in.
    pub procs: std::fs::File,
}

impl JobCgroup {
    /// Creates a cgroup named `warden-NAME` below this process's own, if the cgroup v2
    /// hierarchy is mounted and writable here; `None` otherwise.
    pub fn create(name: &str) -> Option<JobCgroup> {
        let dir = own_cgroup()?.join(format!("{PREFIX}{name}"));
        std::fs::create_dir(&dir).ok()?;
        match std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.procs"))
        {
            Ok(procs) => Some(JobCgroup { dir, procs }),
            Err(_) => {
                remove_cgroup(&dir);
                None
            }
        }
    }

    /// Whether `pid` is a member (a zombie too, which `cgroup.procs` leaves out).
    pub fn holds(&self, pid: u32) -> bool {
        let Some(name) = self.dir.file_name().and_then(|n| n.to_str()) else {
            return false;
        };
        std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.strip_prefix("0::"))
            .any(|path| Path::new(path).file_name() == Some(name.as_ref()))
    }

    /// Removes it, once empty: a process reaped a moment ago may take the kernel a moment to
    /// let go of.
    pub fn remove(&self) -> bool {
        for _ in 0..100 {
            if remove_cgroup(&self.dir) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape(r"/sys/fs/my\040cgroup"), "/sys/fs/my cgroup");
        assert_eq!(unescape(r"/a\\b"), r"/a\\b");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn a_path_that_is_not_a_warden_cgroup_is_never_used() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("warden-1-2");
        std::fs::create_dir(&fake).unwrap();
        std::fs::write(
            fake.join("cgroup.procs"),
            format!("{}\n", std::process::id()),
        )
        .unwrap();
        let tracked = Tracked {
            job: Identity {
                pid: u32::MAX - 1,
                start_time: 1,
            },
            waiter: Identity {
                pid: u32::MAX - 2,
                start_time: 1,
            },
            cgroup: Some(fake),
        };
        assert_eq!(
            tracked.processes(),
            vec![],
            "not a cgroup: its `cgroup.procs` is not read"
        );
    }
}
