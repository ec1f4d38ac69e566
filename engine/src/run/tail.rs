//! Following a file as it grows, like `tail -F`: across truncation and rotation, never
//! re-reading what was read, in fixed-size chunks so memory stays flat however long it grows.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

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

/// A file followed from an offset.
#[derive(Debug)]
pub struct Tail {
    path: PathBuf,
    file: Option<File>,
    inode: u64,
    offset: u64,
    /// The last bytes read (up to [`FINGERPRINT`]), just before `offset`.
    last: Vec<u8>,
}

impl Tail {
    /// Follows `path` from byte `offset` (0 for a new run; the recorded offset when a run is
    /// resumed). The file need not exist yet.
    pub fn new(path: &Path, offset: u64) -> Tail {
        Tail {
            path: path.to_path_buf(),
            file: None,
            inode: 0,
            offset,
            last: Vec::new(),
        }
    }

    /// The offset of the next byte to read, in the file now followed.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Appends to `out` at most [`CHUNK`] bytes that are new since the last read. Returns what
    /// happened and how many bytes were read (0: nothing new for now).
    pub fn read(&mut self, out: &mut Vec<u8>) -> std::io::Result<(Event, usize)> {
        if self.file.is_none() {
            match File::open(&self.path) {
                Ok(file) => {
                    self.inode = file.metadata()?.ino();
                    self.file = Some(file);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Event::Grew, 0)),
                Err(e) => return Err(e),
            }
        }
        let mut event = Event::Grew;
        let file = self.file.as_mut().expect("opened above");
        let len = file.metadata()?.len();
        // Truncated: shorter than what was read, or (truncated and written again past where
        // it was read, between two polls) the bytes just before the offset are not the ones
        // read there.
        if len < self.offset || (len > self.offset && !same_before(file, self.offset, &self.last)?)
        {
            self.offset = 0;
            self.last.clear();
            event = Event::Truncated;
        }
        let start = out.len();
        let read = read_at(file, self.offset, out)?;
        self.offset += read as u64;
        if read > 0 {
            self.remember(&out[start..]);
            return Ok((event, read));
        }
        // Nothing more in this file: has another taken its path?
        match std::fs::metadata(&self.path) {
            Ok(meta) if meta.ino() != self.inode => {
                let file = File::open(&self.path)?;
                self.inode = file.metadata()?.ino();
                self.file = Some(file);
                self.offset = 0;
                let file = self.file.as_mut().expect("just set");
                let start = out.len();
                let read = read_at(file, 0, out)?;
                self.offset = read as u64;
                self.last.clear();
                self.remember(&out[start..]);
                Ok((Event::Rotated, read))
            }
            _ => Ok((event, 0)),
        }
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

/// Whether the bytes before `offset` in `file` are still `last`.
fn same_before(file: &File, offset: u64, last: &[u8]) -> std::io::Result<bool> {
    use std::os::unix::fs::FileExt;
    if last.is_empty() || offset < last.len() as u64 {
        return Ok(true);
    }
    let mut now = vec![0; last.len()];
    match file.read_exact_at(&mut now, offset - last.len() as u64) {
        Ok(()) => Ok(now == last),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

fn read_at(file: &mut File, offset: u64, out: &mut Vec<u8>) -> std::io::Result<usize> {
    file.seek(SeekFrom::Start(offset))?;
    let start = out.len();
    let read = file.take(CHUNK as u64).read_to_end(out)?;
    debug_assert_eq!(out.len() - start, read);
    Ok(read)
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
