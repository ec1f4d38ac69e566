//! How the run's own files are opened: never through a symbolic link, and only when they are
//! regular files. Anyone who can write in a run's directory (every role can: it leaves requests
//! there) could otherwise put a link where the supervisor writes, and have it truncate or
//! overwrite whatever the link names, or a fifo where it reads, and stall it.
//!
//! A file is opened with `O_NOFOLLOW` (a link as the last component is refused by the kernel)
//! and `O_NONBLOCK` (a fifo does not block the open), then refused unless it is a regular file.
//! A directory of the run (the run's own, `messages/`, `requests/`, `cursors/`) is refused
//! when it is a link; see [`real_dir`].

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::libc;

/// Why a file of the run is not opened: it is a symbolic link.
const LINK: &str = "is a symbolic link, which Warden never follows in a run's directory";

/// Options that never follow a link at the last component, and never block on a fifo.
pub(crate) fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    options
}

/// Opens `path` with `options` (from [`options`]): refused unless it is a regular file.
pub(crate) fn open_with(options: &OpenOptions, path: &Path) -> std::io::Result<File> {
    let file = options.open(path).map_err(explain)?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a regular file (a {})", kind_name(&kind)),
        ));
    }
    Ok(file)
}

/// Opens the regular file `path` for reading.
pub(crate) fn open(path: &Path) -> std::io::Result<File> {
    open_with(options().read(true), path)
}

/// Reads the regular file `path` whole.
pub(crate) fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads the regular file `path` whole, as text.
pub(crate) fn read_to_string(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read(path)?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Writes `bytes` to `path` so that a reader sees the old file or the whole new one, never
/// part of it, and a crash leaves one or the other. The new text is written to a hidden file
/// of this process beside it, created afresh (`O_EXCL`: never a file or link someone left
/// there), then renamed over `path`, which replaces a link at `path` and not what it names.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let partial = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    // One left by a process of the same PID that died while writing: its own, never another's.
    match std::fs::remove_file(&partial) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let written = open_with(options().write(true).create_new(true), &partial).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_data()
    });
    match written.and_then(|()| std::fs::rename(&partial, path)) {
        Ok(()) => Ok(()),
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

/// Refuses the directory `path` when it is a symbolic link or not a directory.
pub(crate) fn real_dir(path: &Path) -> std::io::Result<()> {
    let kind = std::fs::symlink_metadata(path)?.file_type();
    if kind.is_symlink() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, LINK));
    }
    if !kind.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a directory (a {})", kind_name(&kind)),
        ));
    }
    Ok(())
}

/// The longest file name most file systems take, in bytes.
const NAME_MAX: usize = 255;

/// Moves the entry `path` (a file, a link, a directory, anything) aside as `path.rejected`, or
/// `path.rejected-2`... when that is taken (a name too long for that is shortened first): never
/// over anything. Returns where it went.
pub(crate) fn set_aside(path: &Path) -> std::io::Result<std::path::PathBuf> {
    use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
    use std::os::unix::ffi::OsStrExt;
    let base = path.file_name().map_or(&[][..], |n| n.as_bytes());
    let mut n = 1;
    loop {
        let suffix = if n == 1 {
            ".rejected".to_owned()
        } else {
            format!(".rejected-{n}")
        };
        // A name near the file system's limit is shortened to leave room for the suffix.
        let keep = base.len().min(NAME_MAX - suffix.len());
        let mut name = base[..keep].to_vec();
        name.extend_from_slice(suffix.as_bytes());
        let aside = path.with_file_name(std::ffi::OsStr::from_bytes(&name));
        match renameat2(
            AT_FDCWD,
            path,
            AT_FDCWD,
            &aside,
            RenameFlags::RENAME_NOREPLACE,
        ) {
            Ok(()) => return Ok(aside),
            Err(nix::errno::Errno::EEXIST) if n < 1000 => n += 1,
            Err(errno) => return Err(errno.into()),
        }
    }
}

/// A link at the last component makes `open` fail with ELOOP: say so in words.
fn explain(error: std::io::Error) -> std::io::Error {
    if error.raw_os_error() == Some(libc::ELOOP) {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, LINK)
    } else {
        error
    }
}

fn kind_name(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "directory"
    } else if kind.is_symlink() {
        "symbolic link"
    } else if kind.is_fifo() {
        "fifo"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "device"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_fifos_and_directories_are_refused_and_their_targets_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "precious").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let error = read(&link).unwrap_err();
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        let error = open_with(options().write(true).truncate(true), &link).unwrap_err();
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");

        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // Without O_NONBLOCK this open would wait for a writer for ever.
        let error = read(&fifo).unwrap_err();
        assert!(
            error.to_string().contains("not a regular file (a fifo)"),
            "{error}"
        );
        let error = read(dir.path()).unwrap_err();
        assert!(error.to_string().contains("a directory"), "{error}");

        assert!(real_dir(dir.path()).is_ok());
        let dir_link = dir.path().join("dir-link");
        std::os::unix::fs::symlink(dir.path(), &dir_link).unwrap();
        let error = real_dir(&dir_link).unwrap_err();
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        assert!(real_dir(&target).is_err(), "a file is not a directory");
    }

    #[test]
    fn an_atomic_write_replaces_a_link_and_never_writes_through_one() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "precious").unwrap();
        let path = dir.path().join("cursor");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        // A link planted where the partial file goes is not written through either.
        let partial = dir
            .path()
            .join(format!(".cursor.{}.partial", std::process::id()));
        std::os::unix::fs::symlink(&target, &partial).unwrap();
        write_atomic(&path, b"7\n").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink());
        assert_eq!(read_to_string(&path).unwrap(), "7\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn entries_are_set_aside_never_over_another() {
        let dir = tempfile::tempdir().unwrap();
        let entry = dir.path().join("1.json");
        std::fs::create_dir(&entry).unwrap();
        assert_eq!(
            set_aside(&entry).unwrap(),
            dir.path().join("1.json.rejected")
        );
        std::fs::write(&entry, "x").unwrap();
        assert_eq!(
            set_aside(&entry).unwrap(),
            dir.path().join("1.json.rejected-2")
        );
        assert!(dir.path().join("1.json.rejected").is_dir());
        assert!(!entry.exists());
    }
}
