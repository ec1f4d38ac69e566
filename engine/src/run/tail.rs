//! Following a file as it grows, like `tail -F`: across truncation and rotation, never
//! re-reading what was read, in fixed-size chunks so memory stays flat however long it grows.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How much is read at a time.
pub const CHUNK: usize = 64 * 1024;

/// What changed about the file since the last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Bytes were appended (or nothing happened).
    Grew,
    /// The file became shorter than what was read: it is read again from its start.
    Truncated,
    /// Another file now has the path (log rotation): the old one was read to its end first.
    Rotated,
}

/// A file as the file system knows it, whatever its name: its device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileId {
    /// The device.
    pub dev: u64,
    /// The inode.
    pub ino: u64,
}

impl FileId {
    /// The identity of an open file.
    pub fn of(file: &File) -> std::io::Result<FileId> {
        Ok(FileId::of_meta(&file.metadata()?))
    }

    fn of_meta(meta: &std::fs::Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// The file a writer (the job) writes to, and where to look for it when the path is no longer
/// it: the writer's open files (`/proc/PID/fd`), the directory a rotation renamed it in.
#[derive(Debug)]
struct Writer {
    id: FileId,
    places: Vec<PathBuf>,
}

impl Writer {
    /// The writer's file, opened where one of the places has it.
    fn find(&self) -> Option<File> {
        self.places.iter().find_map(|place| {
            std::fs::read_dir(place).ok()?.flatten().find_map(|entry| {
                let path = entry.path();
                let meta = std::fs::metadata(&path).ok()?;
                if !meta.is_file() || FileId::of_meta(&meta) != self.id {
                    return None;
                }
                let file = File::open(&path).ok()?;
                (FileId::of(&file).ok()? == self.id).then_some(file)
            })
        })
    }
}

/// A file followed from an offset.
#[derive(Debug)]
pub struct Tail {
    path: PathBuf,
    file: Option<File>,
    id: FileId,
    offset: u64,
    /// The last bytes read (up to [`FINGERPRINT`]), just before `offset`.
    last: Vec<u8>,
    /// The file the job writes to, read to its end whatever has the path, until released.
    writer: Option<Writer>,
    /// Whether the path was seen to be another file than the writer's.
    parted: bool,
    /// Whether, when last looked at ([`Tail::look_at_path`]), the path did not name the file
    /// read: a file the job writes on where no event of the path's folder tells.
    away: bool,
    /// What the reader should be told.
    warnings: Vec<String>,
}

impl Tail {
    /// Follows `path` from byte `offset` (0 for a new run; the recorded offset when a run is
    /// resumed). The file need not exist yet.
    pub fn new(path: &Path, offset: u64) -> Tail {
        Tail {
            path: path.to_path_buf(),
            file: None,
            id: FileId { dev: 0, ino: 0 },
            offset,
            last: Vec::new(),
            writer: None,
            parted: false,
            away: false,
            warnings: Vec::new(),
        }
    }

    /// The writer of the file (the job, whose stdout it is) writes to the file `id`: that file
    /// is read, to its end, whatever has the path, until [`Tail::release`]. When the path is
    /// not that file, it is looked for in `places`: directories of open files
    /// (`/proc/PID/fd`) or of names (where a rotation renamed it). The offset given to
    /// [`Tail::new`] is the writer's file's, if the tail opens no file before.
    pub fn hold(&mut self, id: FileId, places: Vec<PathBuf>) {
        self.writer = Some(Writer { id, places });
        self.parted = false;
        self.away = false;
    }

    /// The writer is done with its file (the job ended and all it wrote was read): once read
    /// to its end, the path is followed again.
    pub fn release(&mut self) {
        self.writer = None;
    }

    /// Looks whether the path still names the file read, after its folder said the name was
    /// created, moved or deleted (one `stat`; the reads themselves look only when they find
    /// nothing new). See [`Tail::away`].
    pub fn look_at_path(&mut self) {
        self.away = self.file.is_some() && self.path_id() != Some(self.id);
    }

    /// Whether the file read was, when last looked at, not the one the path names (moved into
    /// another folder, say, while the job writes on to it): what it gains wakes nothing, and it
    /// must be read at times.
    pub fn away(&self) -> bool {
        self.away
    }

    /// What the reader should be told (the path and the writer's file parted ways, say),
    /// each once.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// The offset of the next byte to read, in the file now followed.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Appends to `out` at most [`CHUNK`] bytes that are new since the last read. Returns what
    /// happened and how many bytes were read (0: nothing new for now).
    pub fn read(&mut self, out: &mut Vec<u8>) -> std::io::Result<(Event, usize)> {
        if self.file.is_none() {
            match self.open_next()? {
                Some(file) => {
                    self.id = FileId::of(&file)?;
                    self.file = Some(file);
                }
                None => return Ok((Event::Grew, 0)),
            }
        }
        let mut event = Event::Grew;
        let file = self.file.as_mut().expect("opened above");
        let start = out.len();
        // One read from just before the offset: the bytes read last, then what is new. The
        // file was truncated when it is now shorter than what was read, or (truncated and
        // written again past where it was read, between two reads) the bytes just before the
        // offset are not the ones read there.
        let keep = self.last.len();
        let truncated = if keep == 0 {
            // No bytes to recognize (a run resumed at its recorded offset): its length tells.
            self.offset > 0 && file.metadata()?.len() < self.offset
        } else {
            let got = read_at(file, self.offset - keep as u64, keep + CHUNK, out)?;
            let same = got >= keep && out[start..start + keep] == self.last[..];
            out.drain(start..start + keep.min(got));
            !same
        };
        if truncated {
            out.truncate(start);
            self.offset = 0;
            self.last.clear();
            event = Event::Truncated;
        }
        if keep == 0 || truncated {
            read_at(file, self.offset, CHUNK, out)?;
        }
        let read = out.len() - start;
        self.offset += read as u64;
        if read > 0 {
            self.remember(&out[start..]);
            return Ok((event, read));
        }
        // Nothing more in this file. While the writer writes to it, it stays the one read.
        if self.writer.as_ref().is_some_and(|w| w.id == self.id) {
            if !self.parted && self.path_id().is_some_and(|at_path| at_path != self.id) {
                self.parted = true;
                self.warnings.push(format!(
                    "{} is another file now (rotated?); the job still writes to the one it was: \
                     that one is read until the job ends, then {} again",
                    self.path.display(),
                    self.path.display()
                ));
            }
            return Ok((event, 0));
        }
        // The path still names this file and no writer is followed elsewhere: nothing to open
        // (one `stat` a turn, as an idle log costs).
        if self.writer.is_none() && self.path_id() == Some(self.id) {
            return Ok((event, 0));
        }
        // Has another file taken its place (log rotation, or the writer's file)?
        let next = match self.open_next()? {
            Some(next) => {
                let id = FileId::of(&next)?;
                (id != self.id).then_some((next, id))
            }
            None => None,
        };
        match next {
            Some((next, id)) => {
                self.id = id;
                self.file = Some(next);
                let file = self.file.as_mut().expect("just set");
                let start = out.len();
                let read = read_at(file, 0, CHUNK, out)?;
                self.offset = read as u64;
                self.last.clear();
                self.remember(&out[start..]);
                Ok((Event::Rotated, read))
            }
            None => Ok((event, 0)),
        }
    }

    /// The identity of the file the path names now, if one does.
    fn path_id(&self) -> Option<FileId> {
        std::fs::metadata(&self.path)
            .ok()
            .map(|meta| FileId::of_meta(&meta))
    }

    /// The file to read next: the writer's, wherever it is, else the one at the path.
    fn open_next(&mut self) -> std::io::Result<Option<File>> {
        let at_path = match open_quietly(&self.path) {
            Ok(file) => Some(file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let Some(writer) = &self.writer else {
            return Ok(at_path);
        };
        if let Some(file) = &at_path {
            if FileId::of(file)? == writer.id {
                return Ok(at_path);
            }
        }
        if let Some(file) = writer.find() {
            return Ok(Some(file));
        }
        // Gone (deleted, and the job no longer holds it): the path is all there is.
        self.warnings.push(format!(
            "the file the job writes its output to is not {} any more and cannot be found; \
             following {}",
            self.path.display(),
            self.path.display()
        ));
        self.writer = None;
        Ok(at_path)
    }
}

/// How many of the last bytes read are kept to recognize the file later.
const FINGERPRINT: usize = 32;

impl Tail {
    fn remember(&mut self, read: &[u8]) {
        self.last
            .extend_from_slice(&read[read.len().saturating_sub(FINGERPRINT)..]);
        let excess = self.last.len().saturating_sub(FINGERPRINT);
        self.last.drain(..excess);
    }
}

/// Appends to `out` at most `len` bytes of `file` from `offset`, in one read (a file being
/// written may have more by the time it returns: its next change says so). Returns how many.
/// The bytes are read into `out`'s spare capacity, which is not zeroed first: most reads of a
/// followed log bring a line or two, and clearing a whole chunk for each was most of their cost.
fn read_at(file: &File, offset: u64, len: usize, out: &mut Vec<u8>) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    let start = out.len();
    out.reserve(len);
    let spare = out.spare_capacity_mut();
    let offset = nix::libc::off_t::try_from(offset)
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    let read = loop {
        // SAFETY: `spare` is writable memory of at least `len` bytes (reserved above), owned by
        // `out` and borrowed by nothing else; pread writes at most `len` bytes there.
        let n =
            unsafe { nix::libc::pread(file.as_raw_fd(), spare.as_mut_ptr().cast(), len, offset) };
        match usize::try_from(n) {
            Ok(n) => break n,
            Err(_) => {
                let error = std::io::Error::last_os_error();
                if error.kind() != std::io::ErrorKind::Interrupted {
                    return Err(error);
                }
            }
        }
    };
    // SAFETY: pread initialized the first `read` bytes of the spare capacity.
    unsafe { out.set_len(start + read) };
    Ok(read)
}

/// Opens `path` for reading without updating its access time where the file system allows it
/// (reading a file as it is appended to would otherwise write its inode at every read).
fn open_quietly(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let noatime = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOATIME)
        .open(path);
    match noatime {
        // Only the file's owner may ask that.
        Err(e) if e.raw_os_error() == Some(nix::libc::EPERM) => File::open(path),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, bytes: &[u8]) {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
    }

    fn drain(tail: &mut Tail) -> (Vec<Event>, Vec<u8>) {
        let mut out = Vec::new();
        let mut events = Vec::new();
        loop {
            let (event, read) = tail.read(&mut out).unwrap();
            if event != Event::Grew {
                events.push(event);
            }
            if read == 0 {
                return (events, out);
            }
        }
    }

    #[test]
    fn reads_only_what_is_new() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("train.log");
        let mut tail = Tail::new(&log, 0);
        assert_eq!(
            drain(&mut tail),
            (vec![], vec![]),
            "a missing file is waited for"
        );
        append(&log, b"epoch 1\n");
        assert_eq!(drain(&mut tail).1, b"epoch 1\n");
        append(&log, b"epoch 2\n\xff\xfe raw bytes\n");
        assert_eq!(drain(&mut tail).1, b"epoch 2\n\xff\xfe raw bytes\n");
        assert_eq!(tail.offset(), 29);
    }

    #[test]
    fn resumes_from_a_recorded_offset() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("train.log");
        append(&log, b"read before the crash\nnew\n");
        let mut tail = Tail::new(&log, 22);
        assert_eq!(drain(&mut tail).1, b"new\n");
    }

    #[test]
    fn a_truncated_file_is_read_again_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("train.log");
        append(&log, b"a long first run of the job\n");
        let mut tail = Tail::new(&log, 0);
        drain(&mut tail);
        std::fs::write(&log, b"restarted\n").unwrap();
        assert_eq!(
            drain(&mut tail),
            (vec![Event::Truncated], b"restarted\n".to_vec())
        );
    }

    #[test]
    fn a_file_truncated_and_written_past_the_offset_between_two_reads_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("train.log");
        append(&log, b"short\n");
        let mut tail = Tail::new(&log, 0);
        drain(&mut tail);
        // Longer than what was read: only the bytes before the offset tell.
        std::fs::write(&log, b"FATAL: after truncation\n").unwrap();
        assert_eq!(
            drain(&mut tail),
            (
                vec![Event::Truncated],
                b"FATAL: after truncation\n".to_vec()
            )
        );
        // Appending is not truncating.
        append(&log, b"more\n");
        assert_eq!(drain(&mut tail), (vec![], b"more\n".to_vec()));
    }

    #[test]
    fn a_rotated_file_is_read_to_its_end_then_the_new_one_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("train.log");
        append(&log, b"old 1\n");
        let mut tail = Tail::new(&log, 0);
        drain(&mut tail);
        append(&log, b"old 2\n");
        std::fs::rename(&log, dir.path().join("train.log.1")).unwrap();
        append(&log, b"new 1\n");
        assert_eq!(
            drain(&mut tail),
            (vec![Event::Rotated], b"old 2\nnew 1\n".to_vec())
        );
    }

    fn id_of(path: &Path) -> FileId {
        FileId::of(&File::open(path).unwrap()).unwrap()
    }

    #[test]
    fn a_log_moved_away_is_read_where_its_writer_writes_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("train.log");
        let rotated = dir.path().join("train.log.1");
        append(&log, b"old 1\n");
        let mut tail = Tail::new(&log, 0);
        tail.hold(id_of(&log), vec![dir.path().to_path_buf()]);
        drain(&mut tail);
        // logrotate's `create`: renamed, and a new empty file at the path.
        std::fs::rename(&log, &rotated).unwrap();
        append(&log, b"");
        assert_eq!(
            drain(&mut tail),
            (vec![], vec![]),
            "the writer's file stays"
        );
        let warnings = tail.take_warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("is another file now"), "{warnings:?}");
        append(&rotated, b"old 2\n");
        append(&log, b"new 1\n");
        assert_eq!(drain(&mut tail), (vec![], b"old 2\n".to_vec()));
        assert_eq!(tail.take_warnings(), Vec::<String>::new(), "warned once");
        // The writer is done: the rest of its file, then the path's.
        append(&rotated, b"old 3\n");
        tail.release();
        assert_eq!(
            drain(&mut tail),
            (vec![Event::Rotated], b"old 3\nnew 1\n".to_vec())
        );
    }

    #[test]
    fn a_file_read_where_its_path_no_longer_names_it_is_away_until_the_path_is_followed_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.log");
        append(&path, b"one\n");
        let mut tail = Tail::new(&path, 0);
        tail.hold(id_of(&path), vec![dir.path().to_path_buf()]);
        drain(&mut tail);
        tail.look_at_path();
        assert!(!tail.away());
        // Moved into another folder: the writer writes on to it there.
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::rename(&path, elsewhere.join("job.log")).unwrap();
        tail.look_at_path();
        assert!(tail.away());
        append(&elsewhere.join("job.log"), b"two\n");
        assert_eq!(drain(&mut tail).1, b"two\n");
        // Released, and a new file at the path: that one is followed, and is where it is.
        tail.release();
        append(&path, b"three\n");
        let (events, read) = drain(&mut tail);
        assert_eq!((events, read), (vec![Event::Rotated], b"three\n".to_vec()));
        // As the supervisor looks after reading a log whose name its folder said was created.
        tail.look_at_path();
        assert!(!tail.away());
    }

    #[test]
    fn a_writer_s_file_rotated_before_it_was_opened_is_found_by_its_inode() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("train.log");
        let rotated = dir.path().join("train.log.1");
        append(&log, b"read before the crash\nnew\n");
        let id = id_of(&log);
        std::fs::rename(&log, &rotated).unwrap();
        append(&log, b"the new file\n");
        // A supervisor taking the run over, at the offset recorded in the job's file.
        let mut tail = Tail::new(&log, 22);
        tail.hold(id, vec![dir.path().to_path_buf()]);
        assert_eq!(drain(&mut tail).1, b"new\n");
    }

    #[test]
    fn a_writer_s_file_truncated_under_it_is_read_again_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("train.log");
        append(&log, b"a long first part of the log\n");
        let mut tail = Tail::new(&log, 0);
        tail.hold(id_of(&log), vec![dir.path().to_path_buf()]);
        drain(&mut tail);
        // logrotate's `copytruncate`: the same file, emptied.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&log)
            .unwrap()
            .set_len(0)
            .unwrap();
        append(&log, b"after\n");
        assert_eq!(
            drain(&mut tail),
            (vec![Event::Truncated], b"after\n".to_vec())
        );
    }

    #[test]
    fn a_writer_s_file_that_cannot_be_found_leaves_the_path_followed_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("train.log");
        append(&log, b"old\n");
        // Deleted, but open (so that its inode is not given to the new file): nowhere to find.
        let _open = File::open(&log).unwrap();
        let id = id_of(&log);
        std::fs::remove_file(&log).unwrap();
        append(&log, b"new\n");
        let mut tail = Tail::new(&log, 0);
        tail.hold(id, vec![dir.path().to_path_buf()]);
        assert_eq!(drain(&mut tail).1, b"new\n");
        assert_eq!(tail.take_warnings().len(), 1);
    }

    #[test]
    fn a_ten_megabyte_line_comes_in_bounded_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("train.log");
        append(&log, &vec![b'x'; 10 * 1024 * 1024]);
        let mut tail = Tail::new(&log, 0);
        let mut out = Vec::new();
        let (_, read) = tail.read(&mut out).unwrap();
        assert_eq!(read, CHUNK, "never more than a chunk at a time");
        assert_eq!(drain(&mut tail).1.len() + read, 10 * 1024 * 1024);
    }
}
