//! How a reader of a run (`warden wait`, the MCP server's `warden_wait`) waits for it to
//! change: on inotify, woken when the supervisor appends to the journal, not on a clock.
//!
//! The run's folder is watched for writes to `journal.jsonl` and for the folder going away. On a
//! network file system, where inotify does not see what another machine writes, or where
//! inotify cannot be had, the wait is the poll interval the caller gives. A [`Cancel`] ends a
//! wait at once from another thread: it is an eventfd the same `poll(2)` waits on.

use std::ffi::OsString;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use super::store::RunDir;
use super::wake::EventBuffer;

/// A way to end a wait from another thread: [`Cancel::cancel`] sets a flag and wakes the
/// [`Changes::wait`] it was given to.
#[derive(Debug)]
pub struct Cancel {
    cancelled: AtomicBool,
    wake: Option<EventFd>,
}

impl Default for Cancel {
    fn default() -> Cancel {
        Cancel::new()
    }
}

impl Cancel {
    /// A wait not cancelled yet.
    pub fn new() -> Cancel {
        Cancel {
            cancelled: AtomicBool::new(false),
            // Without one, a cancel is seen at the wait's next look (its poll interval).
            wake: EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
                .ok(),
        }
    }

    /// Ends the wait: it returns without taking anything.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        if let Some(wake) = &self.wake {
            let _ = wake.write(1);
        }
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

/// What a reader waits on: the run's journal being written.
pub struct Changes {
    inotify: Option<Inotify>,
    /// The journal's name in the run's folder.
    journal: OsString,
    poll: Duration,
    events: EventBuffer,
}

impl Changes {
    /// Watches `run`'s folder. Made before the reader first reads the journal, so that nothing
    /// written after that read goes unseen. `poll` is how long a wait is when no event can
    /// tell: on a network file system, or without inotify.
    pub fn new(run: &RunDir, poll: Duration) -> Changes {
        let network = super::wake::network_fs(&run.dir).is_some();
        let inotify = (!network)
            .then(|| Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).ok())
            .flatten()
            .filter(|inotify| {
                let events = AddWatchFlags::IN_MODIFY
                    | AddWatchFlags::IN_CLOSE_WRITE
                    | AddWatchFlags::IN_CREATE
                    | AddWatchFlags::IN_MOVED_TO
                    | AddWatchFlags::IN_DELETE_SELF
                    | AddWatchFlags::IN_MOVE_SELF
                    | AddWatchFlags::IN_ONLYDIR;
                inotify.add_watch(&run.dir, events).is_ok()
            });
        let journal = run.journal().file_name().unwrap_or_default().to_owned();
        Changes {
            inotify,
            journal,
            poll,
            events: EventBuffer::default(),
        }
    }

    /// Whether the wait is woken by events (else it looks every poll interval).
    pub fn by_events(&self) -> bool {
        self.inotify.is_some()
    }

    /// Waits until the journal is written, `cancel` is cancelled or `until` comes (none: no
    /// limit), whichever is first. It may return early: the caller looks and waits again.
    pub fn wait(&mut self, until: Option<Instant>, cancel: &Cancel) {
        let limit = match (&self.inotify, until) {
            (Some(_), until) => until,
            (None, Some(until)) => Some(until.min(Instant::now() + self.poll)),
            (None, None) => Some(Instant::now() + self.poll),
        };
        loop {
            if cancel.is_cancelled() {
                return;
            }
            let timeout = match limit {
                None => PollTimeout::NONE,
                Some(limit) => {
                    let left = limit.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return;
                    }
                    // Rounded up, so that the wait does not end just before `limit`.
                    let ms = left.as_millis().saturating_add(1);
                    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
                }
            };
            let mut fds = Vec::with_capacity(2);
            if let Some(inotify) = &self.inotify {
                fds.push(PollFd::new(inotify.as_fd(), PollFlags::POLLIN));
            }
            if let Some(wake) = &cancel.wake {
                fds.push(PollFd::new(wake.as_fd(), PollFlags::POLLIN));
            }
            match nix::poll::poll(&mut fds, timeout) {
                Ok(0) | Err(Errno::EINTR) => return,
                Ok(_) => {
                    drop(fds);
                    if self.journal_written() {
                        return;
                    }
                }
                Err(_) => {
                    std::thread::sleep(self.poll);
                    return;
                }
            }
        }
    }

    /// Takes the events waiting: whether one is a write to the journal, or the folder is gone
    /// (then the wait looks every poll interval from now on, and the look finds it gone).
    fn journal_written(&mut self) -> bool {
        let Some(inotify) = &self.inotify else {
            return true;
        };
        let (mut written, mut gone) = (false, false);
        loop {
            let mut any = false;
            for event in self.events.read(inotify) {
                any = true;
                gone |= event.mask.intersects(
                    AddWatchFlags::IN_IGNORED
                        | AddWatchFlags::IN_DELETE_SELF
                        | AddWatchFlags::IN_MOVE_SELF,
                );
                written |= event.mask.contains(AddWatchFlags::IN_Q_OVERFLOW)
                    || event.name == self.journal.as_encoded_bytes();
            }
            if !any {
                break;
            }
        }
        if gone {
            self.inotify = None;
        }
        written || gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Arc;

    fn run_dir(root: &std::path::Path) -> RunDir {
        let run = RunDir::new(root, "r");
        std::fs::create_dir_all(&run.dir).unwrap();
        std::fs::write(run.journal(), "").unwrap();
        run
    }

    fn append(run: &RunDir, line: &str) {
        let mut journal = std::fs::OpenOptions::new()
            .append(true)
            .open(run.journal())
            .unwrap();
        journal.write_all(line.as_bytes()).unwrap();
    }

    #[test]
    fn a_journal_write_ends_the_wait_and_the_run_s_other_files_do_not() {
        let root = tempfile::tempdir().unwrap();
        let run = run_dir(root.path());
        // A poll interval far beyond the test: only an event can end these waits early.
        let mut changes = Changes::new(&run, Duration::from_secs(3600));
        assert!(changes.by_events());
        let cancel = Cancel::new();
        std::fs::write(run.dir.join("supervisor.wake"), "on events").unwrap();
        std::fs::write(run.dir.join("launch-1.started.json"), "{}").unwrap();
        let started = Instant::now();
        changes.wait(Some(started + Duration::from_millis(200)), &cancel);
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "woken by a file that is not the journal"
        );
        let writer = {
            let run = run.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                append(&run, "{}\n");
            })
        };
        let started = Instant::now();
        changes.wait(Some(started + Duration::from_secs(30)), &cancel);
        assert!(started.elapsed() < Duration::from_secs(30), "never woken");
        writer.join().unwrap();
    }

    #[test]
    fn a_cancel_from_another_thread_ends_the_wait_at_once() {
        let root = tempfile::tempdir().unwrap();
        let run = run_dir(root.path());
        let mut changes = Changes::new(&run, Duration::from_secs(3600));
        let cancel = Arc::new(Cancel::new());
        let canceller = {
            let cancel = cancel.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                cancel.cancel();
            })
        };
        let started = Instant::now();
        changes.wait(None, &cancel);
        assert!(cancel.is_cancelled());
        assert!(started.elapsed() < Duration::from_secs(60));
        canceller.join().unwrap();
        // Cancelled for good: a later wait returns at once, too.
        let started = Instant::now();
        changes.wait(Some(started + Duration::from_secs(60)), &cancel);
        assert!(started.elapsed() < Duration::from_secs(60));
    }

    #[test]
    fn a_run_folder_removed_ends_the_wait_and_the_next_ones_poll() {
        let root = tempfile::tempdir().unwrap();
        let run = run_dir(root.path());
        let poll = Duration::from_millis(20);
        let mut changes = Changes::new(&run, poll);
        std::fs::remove_dir_all(&run.dir).unwrap();
        let cancel = Cancel::new();
        let started = Instant::now();
        changes.wait(Some(started + Duration::from_secs(60)), &cancel);
        assert!(started.elapsed() < Duration::from_secs(60), "never woken");
        assert!(!changes.by_events());
        // From now on the wait is the poll interval, whatever the deadline.
        let started = Instant::now();
        changes.wait(Some(started + Duration::from_secs(60)), &cancel);
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}
