//! `warden init`: a small project to start from, written into a folder.
//!
//! The files are those of `engine/scaffold/`, carried in the binary: a protocol with two roles,
//! a category, a timer and two message templates, a stand-in job, and two scenarios with their
//! stored transcripts. As written, the protocol passes `warden check --deny warnings` and its
//! scenarios pass `warden test` with every transition taken; a test holds them to it.

use std::path::{Path, PathBuf};

/// Every file of the scaffold: its path in the new project, and its text.
pub const FILES: &[(&str, &str)] = &[
    ("hello.yaml", include_str!("../scaffold/hello.yaml")),
    ("job.py", include_str!("../scaffold/job.py")),
    (
        "templates/status_update.md.j2",
        include_str!("../scaffold/templates/status_update.md.j2"),
    ),
    (
        "templates/incident_report.md.j2",
        include_str!("../scaffold/templates/incident_report.md.j2"),
    ),
    (
        "scenarios/fails_once_then_finishes.yaml",
        include_str!("../scaffold/scenarios/fails_once_then_finishes.yaml"),
    ),
    (
        "scenarios/fails_once_then_finishes.transcript.md",
        include_str!("../scaffold/scenarios/fails_once_then_finishes.transcript.md"),
    ),
    (
        "scenarios/gives_up_when_restarts_run_out.yaml",
        include_str!("../scaffold/scenarios/gives_up_when_restarts_run_out.yaml"),
    ),
    (
        "scenarios/gives_up_when_restarts_run_out.transcript.md",
        include_str!("../scaffold/scenarios/gives_up_when_restarts_run_out.transcript.md"),
    ),
];

/// The scaffold's protocol file, relative to the project's folder.
pub const PROTOCOL: &str = "hello.yaml";

/// Why a scaffold was not written.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// Some of its files are there already; nothing was written.
    #[error(
        "{} already exist{}: {}",
        if .paths.len() == 1 { "a file" } else { "files" },
        if .paths.len() == 1 { "s" } else { "" },
        .paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    Exists {
        /// The files in the way.
        paths: Vec<PathBuf>,
    },
    /// A folder or file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

/// Writes the scaffold into `dir` (created if need be) and returns the files written. Without
/// `force`, a file already there stops it before anything is written; with it, those files are
/// replaced (and nothing else in `dir` is touched).
pub fn create(dir: &Path, force: bool) -> Result<Vec<PathBuf>, InitError> {
    let targets: Vec<(PathBuf, &str)> = FILES
        .iter()
        .map(|(path, text)| (dir.join(path), *text))
        .collect();
    if !force {
        let existing: Vec<PathBuf> = targets
            .iter()
            .filter(|(path, _)| path.symlink_metadata().is_ok())
            .map(|(path, _)| path.clone())
            .collect();
        if !existing.is_empty() {
            return Err(InitError::Exists { paths: existing });
        }
    }
    let mut written = Vec::new();
    for (path, text) in targets {
        let io = |source| InitError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| InitError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, text).map_err(io)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_scaffold_folder_is_carried() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scaffold");
        let mut on_disk = Vec::new();
        let mut folders = vec![root.clone()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else {
                    let relative = path.strip_prefix(&root).unwrap();
                    on_disk.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut carried: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        carried.sort();
        assert_eq!(on_disk, carried);
    }

    #[test]
    fn nothing_is_overwritten_without_force() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates/status_update.md.j2"), "mine").unwrap();
        let error = create(dir.path(), false).unwrap_err();
        assert!(matches!(&error, InitError::Exists { paths } if paths.len() == 1));
        assert!(
            error.to_string().starts_with("a file already exists: "),
            "{error}"
        );
        assert!(!dir.path().join(PROTOCOL).exists(), "nothing written");
        let written = create(dir.path(), true).unwrap();
        assert_eq!(written.len(), FILES.len());
        let replaced = std::fs::read_to_string(dir.path().join("templates/status_update.md.j2"));
        assert_ne!(replaced.unwrap(), "mine");
    }

    #[test]
    fn the_scaffold_checks_clean() {
        let dir = tempfile::tempdir().unwrap();
        create(dir.path(), false).unwrap();
        let report = crate::check::check_path(&dir.path().join(PROTOCOL)).unwrap();
        assert_eq!(report.diagnostics, [], "the scaffold has findings");
    }
}
