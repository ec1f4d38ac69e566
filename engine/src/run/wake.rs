//! How the supervisor waits: on the events of what it follows, not on a clock.
//!
//! One `epoll_wait(2)` waits on an inotify descriptor and, while a job runs, a pidfd of its waiter.
//! inotify watches the folder of each log (a log that does not exist yet, is rotated or
//! truncated is seen there, by its name), the run's folder (the waiter's `launch-N.*.json`
//! files) and the mailbox; the pidfd says when the waiter, which outlives the job, has ended.
//! The wait ends at the supervisor's next deadline (a timer, a log's quiet, the silence
//! watchdog), and at the safety tick at the latest: a look at everything that also catches
//! what no event tells. While every source has its event ([`Waker::evented`]) that look is
//! every [`EVENTED_TICK`]; while one has none (a log polled, a waiter with no pidfd, a log the
//! job writes on in another folder, where it was moved), every [`SAFETY_TICK`].
//!
//! inotify sees only what this machine's kernel writes. On a network file system (NFS,
//! SMB/CIFS, Lustre, GPFS, CephFS, 9p, FUSE...) a job on another node writes unseen, so a log
//! there is read every poll interval instead, and the supervisor says so (`warden status`).

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};

use super::job::Identity;
use super::store::RunDir;

/// The longest the supervisor waits without looking at everything, while some source has no
/// event of its own.
pub const SAFETY_TICK: Duration = Duration::from_secs(1);

/// The longest the supervisor waits without looking at everything while every source wakes it
/// by an event: the look is then only a safety net, and at one a second it was most of what
/// an idle run, or one whose job writes a line now and then, cost.
pub const EVENTED_TICK: Duration = Duration::from_secs(10);

/// The file where the supervisor says how it wakes, for `warden status`.
pub fn wake_file(run: &RunDir) -> PathBuf {
    run.dir.join("supervisor.wake")
}

/// How the supervisor of `run` says it wakes, when one runs.
pub fn read_wake(run: &RunDir) -> Option<String> {
    let text = super::files::read_to_string(&wake_file(run)).ok()?;
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// What a watched folder is to the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The folder of log `index`.
    Log(usize),
    /// The run's folder: the waiter's files.
    Launches,
    /// The mailbox.
    Requests,
}

#[derive(Debug)]
struct Watch {
    dir: PathBuf,
    kind: Kind,
    /// The names in `dir` that matter (a log's, and the names a rotation gives it, which start
    /// with it); none: all.
    name: Option<OsString>,
    wd: Option<WatchDescriptor>,
}

/// What woke the supervisor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Woke {
    /// The logs that changed, a bit for each (from the 64th on, one bit for all).
    pub logs: u64,
    /// The logs whose name was created, moved or deleted in their folder (a rotation, say),
    /// bits as in `logs`: where the file the path names may no longer be the one read.
    pub renamed: u64,
    /// The waiter wrote a file or ended.
    pub job: bool,
    /// The mailbox changed.
    pub requests: bool,
    /// Time to look at everything.
    pub all: bool,
}

impl Woke {
    /// The bit of log `index` in [`Woke::logs`].
    pub fn log_bit(index: usize) -> u64 {
        1 << index.min(63)
    }

    /// Everything is to be looked at.
    pub fn all() -> Woke {
        Woke {
            logs: u64::MAX,
            renamed: u64::MAX,
            job: true,
            requests: true,
            all: true,
        }
    }
}

/// The supervisor's wait.
#[derive(Debug)]
pub struct Waker {
    inotify: Option<Inotify>,
    watches: Vec<Watch>,
    /// Why each log is read by polling, if it is.
    polled: Vec<Option<String>>,
    /// Why inotify is not used at all, if it is not.
    no_inotify: Option<String>,
    /// The waiter watched, and its pidfd.
    waiter: Option<(Identity, Option<OwnedFd>)>,
    last_all: Instant,
    /// How long after `last_all` the next look at everything is.
    tick: Duration,
    events: EventBuffer,
    /// What the wait sleeps on: inotify, and the waiter's pidfd while there is one. Made once,
    /// so that a wait does not hand the kernel its descriptors again each time, as poll(2) does.
    epoll: Option<Epoll>,
}

/// The epoll data of the inotify descriptor and of the waiter's pidfd.
const INOTIFY: u64 = 0;
const WAITER: u64 = 1;

const LOG_EVENTS: AddWatchFlags = AddWatchFlags::IN_MODIFY
    .union(AddWatchFlags::IN_CREATE)
    .union(AddWatchFlags::IN_MOVED_TO)
    .union(AddWatchFlags::IN_MOVED_FROM)
    .union(AddWatchFlags::IN_DELETE)
    .union(AddWatchFlags::IN_ATTRIB)
    .union(AddWatchFlags::IN_CLOSE_WRITE)
    .union(AddWatchFlags::IN_DELETE_SELF)
    .union(AddWatchFlags::IN_MOVE_SELF);

/// The events of a log's folder that may part the log's path from the file read.
const RENAMED: AddWatchFlags = AddWatchFlags::IN_CREATE
    .union(AddWatchFlags::IN_MOVED_TO)
    .union(AddWatchFlags::IN_MOVED_FROM)
    .union(AddWatchFlags::IN_DELETE);

const FILE_EVENTS: AddWatchFlags = AddWatchFlags::IN_MOVED_TO
    .union(AddWatchFlags::IN_CREATE)
    .union(AddWatchFlags::IN_CLOSE_WRITE)
    .union(AddWatchFlags::IN_DELETE)
    .union(AddWatchFlags::IN_DELETE_SELF)
    .union(AddWatchFlags::IN_MOVE_SELF);

impl Waker {
    /// A wait on the logs at `logs` and on `run`'s waiter files and mailbox.
    pub fn new(logs: &[PathBuf], run: &RunDir) -> Waker {
        let (inotify, no_inotify) =
            match Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC) {
                Ok(inotify) => (Some(inotify), None),
                Err(error) => (None, Some(format!("inotify is not available: {error}"))),
            };
        let mut watches = Vec::new();
        let mut polled = Vec::new();
        for (index, log) in logs.iter().enumerate() {
            let dir = folder(log);
            let network = network_fs(&dir);
            polled.push(
                no_inotify
                    .clone()
                    .or(network.map(|fs| format!("{} is on {fs}", dir.display()))),
            );
            if network.is_none() {
                watches.push(Watch {
                    dir,
                    kind: Kind::Log(index),
                    name: log.file_name().map(OsStr::to_owned),
                    wd: None,
                });
            }
        }
        for (dir, kind) in [
            (run.dir.clone(), Kind::Launches),
            (run.requests(), Kind::Requests),
        ] {
            watches.push(Watch {
                dir,
                kind,
                name: None,
                wd: None,
            });
        }
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).ok();
        if let (Some(epoll), Some(inotify)) = (&epoll, &inotify) {
            let _ = epoll.add(inotify, EpollEvent::new(EpollFlags::EPOLLIN, INOTIFY));
        }
        let mut waker = Waker {
            epoll,
            inotify,
            watches,
            polled,
            no_inotify,
            waiter: None,
            last_all: Instant::now(),
            tick: SAFETY_TICK,
            events: EventBuffer::default(),
        };
        waker.arm();
        waker
    }

    /// Adds the watches missing: a folder that did not exist yet, or was replaced.
    fn arm(&mut self) {
        let Some(inotify) = &self.inotify else {
            return;
        };
        for watch in self.watches.iter_mut().filter(|w| w.wd.is_none()) {
            let flags = match watch.kind {
                Kind::Log(_) => LOG_EVENTS,
                Kind::Launches | Kind::Requests => FILE_EVENTS,
            } | AddWatchFlags::IN_ONLYDIR
                // A folder watched for two reasons (the job's log in the run's folder) has one
                // watch, for the events of both.
                | AddWatchFlags::from_bits_retain(nix::libc::IN_MASK_ADD);
            match inotify.add_watch(&watch.dir, flags) {
                Ok(wd) => {
                    watch.wd = Some(wd);
                    if let Kind::Log(index) = watch.kind {
                        self.polled[index] = None;
                    }
                }
                Err(error) => {
                    if let Kind::Log(index) = watch.kind {
                        // Read by polling until its folder can be watched.
                        let why = match error {
                            Errno::ENOENT => format!("{} does not exist yet", watch.dir.display()),
                            error => format!("cannot watch {}: {error}", watch.dir.display()),
                        };
                        self.polled[index] = Some(why);
                    }
                }
            }
        }
    }

    /// Whether some log is read by polling: the wait is then at most the poll interval.
    pub fn polling(&self) -> bool {
        self.polled.iter().any(Option::is_some)
    }

    /// Whether every source wakes the wait by an event of its own: each watched folder is
    /// watched (no log is polled), and the waiter, while there is one, has its pidfd.
    pub fn evented(&self) -> bool {
        self.epoll.is_some()
            && self.watches.iter().all(|w| w.wd.is_some())
            && !self.polling()
            && self.waiter.as_ref().is_none_or(|(_, fd)| fd.is_some())
    }

    /// Sets how long after the last look at everything the next one is: [`EVENTED_TICK`]
    /// when the caller knows nothing goes unseen (see [`Waker::evented`]), else
    /// [`SAFETY_TICK`].
    pub fn set_tick(&mut self, tick: Duration) {
        self.tick = tick;
    }

    /// How the supervisor wakes, in one line, for `warden status`.
    pub fn describe(&self, logs: &[PathBuf], poll: Duration) -> String {
        let every = crate::duration::format(poll);
        if let Some(why) = &self.no_inotify {
            return format!("polling every {every}: {why}");
        }
        let polled: Vec<String> = logs
            .iter()
            .zip(&self.polled)
            .filter_map(|(log, why)| Some(format!("{} ({})", log.display(), why.as_ref()?)))
            .collect();
        let job = match &self.waiter {
            Some((_, None)) => ", the job's end every second (no pidfd)",
            _ => "",
        };
        if polled.is_empty() {
            format!("on events (inotify){job}")
        } else {
            format!(
                "following by polling every {every}: {}{job}",
                polled.join(", ")
            )
        }
    }

    /// Watches `waiter` for its end (none: no job runs).
    pub fn watch_waiter(&mut self, waiter: Option<Identity>) {
        if self.waiter.as_ref().map(|(w, _)| *w) == waiter {
            return;
        }
        // The pidfd of the waiter before, if any, leaves the epoll set as it is closed.
        self.waiter = waiter.map(|waiter| {
            let fd = pidfd(waiter).filter(|fd| {
                self.epoll.as_ref().is_some_and(|epoll| {
                    epoll
                        .add(fd, EpollEvent::new(EpollFlags::EPOLLIN, WAITER))
                        .is_ok()
                })
            });
            (waiter, fd)
        });
    }

    /// Waits until something happens or `until`, and says what happened.
    pub fn wait(&mut self, until: Option<Instant>) -> Woke {
        let now = Instant::now();
        let look = self.last_all + self.tick;
        let until = until.map_or(look, |until| until.min(look));
        if now >= until {
            return self.deadline_reached();
        }
        // At most a tick (seconds): it fits.
        let timeout = (until - now).as_millis().saturating_add(1) as u16;
        let mut ready = [EpollEvent::empty(); 2];
        let Some(epoll) = &self.epoll else {
            // Nothing to wait on (no descriptor could be had): the deadline, then a look.
            std::thread::sleep(until - now);
            return self.deadline_reached();
        };
        let ready = match epoll.wait(&mut ready, EpollTimeout::from(timeout)) {
            Ok(n) => &ready[..n],
            // A signal (SIGTERM, say): the caller looks at its flag.
            Err(Errno::EINTR) => return Woke::default(),
            Err(_) => &ready[..0],
        };
        let mut woke = Woke::default();
        if ready.iter().any(|event| event.data() == WAITER) {
            // Readable for good: it is looked at no more (closed, it leaves the epoll set).
            if let Some((_, fd)) = &mut self.waiter {
                *fd = None;
            }
            woke.job = true;
        }
        if ready.is_empty() && Instant::now() >= until {
            return self.deadline_reached();
        }
        self.read_events(&mut woke);
        woke
    }

    /// The wait's end came with no event: a look at everything once the safety tick is due,
    /// else at what the caller's own deadline was for (which it knows).
    fn deadline_reached(&mut self) -> Woke {
        if Instant::now() >= self.last_all + self.tick {
            self.everything()
        } else {
            Woke::default()
        }
    }

    fn everything(&mut self) -> Woke {
        self.last_all = Instant::now();
        self.arm();
        Woke::all()
    }

    /// Takes the events waiting, and notes which sources they are of.
    fn read_events(&mut self, woke: &mut Woke) {
        let Some(inotify) = &self.inotify else {
            return;
        };
        let mut lost = false;
        let mut gone_watches = Vec::new();
        // One read: what is left keeps the descriptor ready, for the next wait, so a folder
        // written without pause (by the job, say) does not keep the loop here.
        for event in self.events.read(inotify) {
            if event.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
                *woke = Woke::all();
                continue;
            }
            let name = event.name;
            let gone = event.mask.intersects(
                AddWatchFlags::IN_IGNORED
                    | AddWatchFlags::IN_DELETE_SELF
                    | AddWatchFlags::IN_MOVE_SELF,
            );
            for watch in self
                .watches
                .iter_mut()
                .filter(|w| w.wd.is_some_and(|wd| wd.as_raw() == event.wd))
            {
                if gone {
                    // The folder is gone or was moved: watched again where its path is.
                    if let Some(wd) = watch.wd.take() {
                        gone_watches.push(wd);
                    }
                    lost = true;
                }
                let wanted = gone
                    || match &watch.kind {
                        Kind::Log(_) => watch
                            .name
                            .as_ref()
                            .is_none_or(|n| name.starts_with(n.as_bytes())),
                        // The waiter's files; not the journal or the supervisor's own log,
                        // which the supervisor writes itself.
                        Kind::Launches => name.starts_with(b"launch-"),
                        // Requests, not the supervisor's answers or files being written.
                        Kind::Requests => {
                            !name.starts_with(b".") && !name.ends_with(b".reply.json")
                        }
                    };
                match watch.kind {
                    Kind::Log(index) if wanted => {
                        woke.logs |= Woke::log_bit(index);
                        if gone || event.mask.intersects(RENAMED) {
                            woke.renamed |= Woke::log_bit(index);
                        }
                    }
                    Kind::Log(_) => {}
                    Kind::Launches => woke.job |= wanted,
                    Kind::Requests => woke.requests |= wanted,
                }
            }
        }
        for wd in gone_watches {
            let _ = inotify.rm_watch(wd);
        }
        if lost {
            self.arm();
        }
    }
}

/// The events waiting on an inotify descriptor, read into a buffer kept from one read to the
/// next. (nix's `read_events` clears a new 4 KiB buffer and allocates a name for each event at
/// every read: a quarter of the instructions a followed line cost the supervisor.)
pub(super) struct EventBuffer {
    bytes: Box<[u8]>,
}

impl std::fmt::Debug for EventBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventBuffer")
    }
}

impl Default for EventBuffer {
    fn default() -> EventBuffer {
        // Room for many events, and at least one with the longest name (NAME_MAX).
        EventBuffer {
            bytes: vec![0; 4096].into_boxed_slice(),
        }
    }
}

/// One inotify event, its name borrowed from the buffer (empty for the watched folder itself).
pub(super) struct RawEvent<'a> {
    pub wd: i32,
    pub mask: AddWatchFlags,
    pub name: &'a [u8],
}

/// The size of `struct inotify_event` before its name: wd, mask, cookie, len.
const EVENT_HEADER: usize = std::mem::size_of::<nix::libc::inotify_event>();

impl EventBuffer {
    /// The events one read of `inotify` takes (none when it has none waiting, or fails).
    pub fn read<'a>(&'a mut self, inotify: &Inotify) -> impl Iterator<Item = RawEvent<'a>> + 'a {
        let read = nix::unistd::read(inotify.as_fd(), &mut self.bytes).unwrap_or(0);
        let mut rest = &self.bytes[..read];
        std::iter::from_fn(move || {
            let header = rest.get(..EVENT_HEADER)?;
            let field =
                |at: usize| u32::from_ne_bytes(header[at..at + 4].try_into().expect("four bytes"));
            let len = field(12) as usize;
            let name = rest.get(EVENT_HEADER..EVENT_HEADER + len)?;
            rest = &rest[EVENT_HEADER + len..];
            // The name is padded with NULs to an alignment.
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            Some(RawEvent {
                wd: field(0) as i32,
                mask: AddWatchFlags::from_bits_retain(field(4)),
                name: &name[..end],
            })
        })
    }
}

/// A log's folder (`.` for a bare name).
fn folder(log: &Path) -> PathBuf {
    match log.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The network file system `dir` (or the nearest folder above it that exists) is on, if it
/// is on one: inotify does not see what other machines write there.
pub fn network_fs(dir: &Path) -> Option<&'static str> {
    let mut at = Some(dir);
    while let Some(dir) = at {
        if let Ok(fs) = nix::sys::statfs::statfs(dir) {
            return network_fs_name(fs.filesystem_type().0 as u64 & 0xffff_ffff);
        }
        at = dir.parent().filter(|p| !p.as_os_str().is_empty());
    }
    None
}

/// The name of the network file system of magic number `magic` (`statfs`'s `f_type`).
fn network_fs_name(magic: u64) -> Option<&'static str> {
    Some(match magic {
        0x6969 => "nfs",
        0x517b => "smb",
        0xff53_4d42 => "cifs",
        0xfe53_4d42 => "smb2",
        0x0bd0_0bd0 => "lustre",
        0x4750_4653 => "gpfs",
        0x00c3_6400 => "cephfs",
        0x0102_1997 => "9p",
        0x6573_5546 => "fuse",
        0x5346_414f | 0x6b41_4653 => "afs",
        0x0116_1970 => "gfs2",
        0x7461_636f => "ocfs2",
        0x1983_0326 => "beegfs",
        0xaad7_aaea => "panfs",
        0x564c => "ncp",
        0x7366_7673 => "cvfs",
        _ => return None,
    })
}

/// A pidfd of `process`, if the kernel has them and it is still that process.
fn pidfd(process: Identity) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a PID and flags and returns a new descriptor or -1.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, process.pid as i32, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the descriptor was just opened, and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // Opened after the PID could have been reused: it must still be the waiter.
    process.is_current().then_some(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn run_dir(root: &Path) -> RunDir {
        let run = RunDir::new(root, "r");
        std::fs::create_dir_all(run.requests()).unwrap();
        run
    }

    #[test]
    fn a_log_written_wakes_the_wait_and_an_unrelated_file_does_not() {
        let root = tempfile::tempdir().unwrap();
        let run = run_dir(root.path());
        let logs = tempfile::tempdir().unwrap();
        let log = logs.path().join("train.log");
        let mut waker = Waker::new(std::slice::from_ref(&log), &run);
        assert!(
            !waker.polling(),
            "{}",
            waker.describe(std::slice::from_ref(&log), Duration::from_millis(10))
        );
        assert_eq!(
            waker.describe(std::slice::from_ref(&log), Duration::from_millis(10)),
            "on events (inotify)"
        );
        std::fs::write(logs.path().join("checkpoint.pt"), "weights").unwrap();
        let soon = Instant::now() + Duration::from_millis(50);
        assert_eq!(waker.wait(Some(soon)), Woke::default(), "not a log");
        std::fs::write(&log, "epoch 1\n").unwrap();
        let started = Instant::now();
        let woke = waker.wait(Some(Instant::now() + Duration::from_secs(5)));
        assert!(woke.logs == 1 && !woke.requests && !woke.job, "{woke:?}");
        assert_eq!(woke.renamed, 1, "created");
        assert!(started.elapsed() < Duration::from_secs(5));
        std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .unwrap()
            .write_all(b"epoch 2\n")
            .unwrap();
        let woke = waker.wait(Some(Instant::now() + Duration::from_secs(5)));
        assert_eq!((woke.logs, woke.renamed), (1, 0), "written, not renamed");
        // A rotation's name starts with the log's.
        std::fs::rename(&log, logs.path().join("train.log.1")).unwrap();
        let woke = waker.wait(Some(Instant::now() + Duration::from_secs(5)));
        assert_eq!((woke.logs, woke.renamed), (1, 1));
        assert!(waker.evented());
    }

    #[test]
    fn a_request_and_a_waiter_file_wake_the_wait_and_the_supervisor_s_own_files_do_not() {
        let root = tempfile::tempdir().unwrap();
        let run = run_dir(root.path());
        let log = run.dir.join("job.log");
        let mut waker = Waker::new(std::slice::from_ref(&log), &run);
        std::fs::write(run.journal(), "{}\n").unwrap();
        std::fs::write(run.requests().join("1.reply.json"), "{}").unwrap();
        let soon = Instant::now() + Duration::from_millis(50);
        assert_eq!(waker.wait(Some(soon)), Woke::default());
        crate::run::write_atomic(&run.requests().join("1.json"), b"{}").unwrap();
        let woke = waker.wait(Some(Instant::now() + Duration::from_secs(5)));
        assert!(woke.requests && !woke.job, "{woke:?}");
        crate::run::write_atomic(&run.launch(1).exit, b"{}").unwrap();
        let woke = waker.wait(Some(Instant::now() + Duration::from_secs(5)));
        assert!(woke.job && !woke.requests, "{woke:?}");
    }

    #[test]
    fn a_log_whose_folder_does_not_exist_yet_is_polled_until_it_does() {
        let root = tempfile::tempdir().unwrap();
        let run = run_dir(root.path());
        let dir = root.path().join("outputs");
        let log = dir.join("train.log");
        let mut waker = Waker::new(std::slice::from_ref(&log), &run);
        assert!(waker.polling() && !waker.evented());
        let said = waker.describe(std::slice::from_ref(&log), Duration::from_millis(10));
        assert!(said.contains("does not exist yet"), "{said}");
        std::fs::create_dir(&dir).unwrap();
        // The safety tick watches it again.
        waker.last_all = Instant::now() - SAFETY_TICK;
        assert_eq!(waker.wait(None), Woke::all());
        assert!(!waker.polling() && waker.evented());
        std::fs::write(&log, "epoch 1\n").unwrap();
        assert_eq!(
            waker
                .wait(Some(Instant::now() + Duration::from_secs(5)))
                .logs,
            1
        );
    }

    #[test]
    fn the_end_of_a_watched_process_wakes_the_wait() {
        let root = tempfile::tempdir().unwrap();
        let run = run_dir(root.path());
        let mut waker = Waker::new(&[run.dir.join("job.log")], &run);
        let mut child = std::process::Command::new("sleep")
            .arg("0.05")
            .spawn()
            .unwrap();
        let identity = Identity::of(child.id()).unwrap();
        waker.watch_waiter(Some(identity));
        assert!(waker.evented(), "the waiter has its pidfd");
        let woke = waker.wait(Some(Instant::now() + Duration::from_secs(5)));
        // The pidfd's wake, not the safety tick's look at everything.
        assert!(woke.job && woke != Woke::all(), "{woke:?}");
        child.wait().unwrap();
    }

    #[test]
    fn the_look_at_everything_comes_at_the_tick_set() {
        let root = tempfile::tempdir().unwrap();
        let run = run_dir(root.path());
        let mut waker = Waker::new(&[run.dir.join("job.log")], &run);
        waker.set_tick(EVENTED_TICK);
        waker.last_all = Instant::now() - SAFETY_TICK;
        let soon = Instant::now() + Duration::from_millis(20);
        assert_eq!(waker.wait(Some(soon)), Woke::default(), "not due yet");
        waker.set_tick(SAFETY_TICK);
        assert_eq!(waker.wait(Some(soon)), Woke::all());
    }

    #[test]
    fn the_event_buffer_reads_each_event_of_a_read_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).unwrap();
        let wd = inotify
            .add_watch(dir.path(), AddWatchFlags::IN_CLOSE_WRITE)
            .unwrap();
        // Names of every length up to the longest a file may have, each padded differently.
        let names: Vec<String> = (1..=255)
            .step_by(7)
            .map(|n| "é".repeat(n / 2) + &"x".repeat(n % 2))
            .collect();
        for name in &names {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let mut buffer = EventBuffer::default();
        let mut seen = Vec::new();
        loop {
            let before = seen.len();
            for event in buffer.read(&inotify) {
                assert_eq!(event.wd, wd.as_raw());
                assert!(event.mask.contains(AddWatchFlags::IN_CLOSE_WRITE));
                seen.push(String::from_utf8(event.name.to_vec()).unwrap());
            }
            if seen.len() == before {
                break;
            }
        }
        assert_eq!(seen, names);
    }

    #[test]
    fn network_file_systems_are_named() {
        assert_eq!(network_fs_name(0x6969), Some("nfs"));
        assert_eq!(network_fs_name(0xff53_4d42), Some("cifs"));
        assert_eq!(network_fs_name(0x0bd0_0bd0), Some("lustre"));
        // ext4, tmpfs
        assert_eq!(network_fs_name(0xef53), None);
        assert_eq!(network_fs_name(0x0102_1994), None);
        assert_eq!(network_fs(Path::new("/proc/self")), None);
    }
}
