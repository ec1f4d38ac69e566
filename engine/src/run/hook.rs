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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn the_hook_runs_once_for_each_role_with_the_message_in_its_environment() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path(), "r");
        let message = Message {
            seq: 3,
            at: "2026-01-19T12:00:00Z".parse().unwrap(),
            from: "model_trainer".into(),
            to: vec!["director".into(), "modeler".into()],
            template: Some("error_report".into()),
            transition: Some(0),
            text: String::new(),
        };
        let command =
            "echo \"$WARDEN_SEQ $WARDEN_FROM $WARDEN_TEMPLATE $WARDEN_MESSAGE\" > \"$WARDEN_ROLE\"";
        let mut hook = Hook::new(Some(command.into()), dir.path().to_path_buf());
        let failures = hook.fire(&run, &message, Path::new("messages/0003.md"));
        assert_eq!(failures, Vec::<String>::new());
        let deadline = Instant::now() + Duration::from_secs(10);
        for role in ["director", "modeler"] {
            let file = dir.path().join(role);
            while !file.exists() || std::fs::read_to_string(&file).unwrap().is_empty() {
                assert!(Instant::now() < deadline, "no hook ran for {role}");
                std::thread::sleep(Duration::from_millis(10));
            }
            assert_eq!(
                std::fs::read_to_string(&file).unwrap(),
                "3 model_trainer error_report messages/0003.md\n"
            );
        }
        while !hook.running.is_empty() {
            assert!(Instant::now() < deadline, "the hooks did not end");
            hook.reap();
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut none = Hook::new(None, dir.path().to_path_buf());
        assert!(none.fire(&run, &message, Path::new("m.md")).is_empty());
        assert!(none.running.is_empty());
    }
}
