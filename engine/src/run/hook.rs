//! The `--on-message` hook: a shell command run for every role a new message is for, with the
//! message's facts in its environment. Hooks run beside the supervisor and are never waited on;
//! their ends are collected so that they leave no zombies.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::store::RunDir;
use crate::machine::Message;

/// The hook of a run, and the hooks still running.
pub struct Hook {
    command: Option<String>,
    cwd: PathBuf,
    running: Vec<Child>,
}

impl Hook {
    /// The hook `command` (none: no hook), run in `cwd`.
    pub fn new(command: Option<String>, cwd: PathBuf) -> Hook {
        Hook {
            command,
            cwd,
            running: Vec::new(),
        }
    }

    /// Runs the hook for each role `message`, written at `path`, is for. Returns why the hooks
    /// that could not be started could not.
    pub fn fire(&mut self, run: &RunDir, message: &Message, path: &Path) -> Vec<String> {
        let Some(command) = &self.command else {
            return Vec::new();
        };
        let mut failures = Vec::new();
        for role in &message.to {
            let spawned = Command::new("sh")
                .arg("-c")
                .arg(command)
                .env("WARDEN_RUN", &run.id)
                .env("WARDEN_RUN_DIR", &run.dir)
                .env("WARDEN_ROLE", role)
                .env("WARDEN_FROM", &message.from)
                .env("WARDEN_SEQ", message.seq.to_string())
                .env("WARDEN_TEMPLATE", message.template.as_deref().unwrap_or(""))
                .env("WARDEN_MESSAGE", path)
                .current_dir(&self.cwd)
                .stdin(Stdio::null())
                .spawn();
            match spawned {
                Ok(child) => self.running.push(child),
                Err(error) => failures.push(format!(
                    "cannot run the --on-message command for {role}: {error}"
                )),
            }
        }
        failures
    }

    /// Collects the hooks that ended.
    pub fn reap(&mut self) {
        self.running
            .retain_mut(|child| matches!(child.try_wait(), Ok(None)));
    }
}
