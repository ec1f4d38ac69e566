//! The job's lifecycle under a supervisor: launching it through a waiter, finding it again
//! after the supervisor restarted, learning of its end, and stopping it (SIGTERM to its process
//! group, SIGKILL after the grace). What happened comes back as [`JobEvent`]s, which the
//! supervisor journals; nothing here writes the journal.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use nix::sys::signal::Signal;

use super::job::{signal_group, Identity};
use super::state::{Launch, RunState};
use super::store::RunDir;
use super::track::Tracked;
use super::waiter::{Exit, Identities, LaunchSpec};
use super::{io_error, write_atomic};

/// Something that happened to the job.
#[derive(Debug)]
pub(super) enum JobEvent {
    /// Launch `n` started the job.
    Launched {
        /// The launch's number.
        n: u32,
        /// The job and its waiter.
        started: Identities,
        /// The command it runs.
        command: Vec<String>,
        /// Whether it resumed from the checkpoint.
        resumed: bool,
        /// The Slurm job id, for a job submitted to Slurm.
        slurm_job: Option<u64>,
    },
    /// Launch `n` could not start the job.
    LaunchFailed {
        /// The launch's number.
        n: u32,
        /// Why.
        error: String,
    },
    /// A job still running was found again (after the supervisor's restart, or a launch that
    /// was started but not journaled).
    Adopted(u32),
    /// The job ended by itself.
    Ended(Exit),
    /// A stop is over; how the job ended, if it was running, and the processes of the job that
    /// outlived their SIGKILL (none, but for a process the kernel cannot end).
    Stopped(Option<Exit>, Vec<Identity>),
    /// A signal was sent to the job's process group.
    Signalled(u32, Signal),
    /// What a Slurm job did or was told: submitted, found again, its state, cancelled.
    Slurm(String),
    /// Something went wrong that the run survives.
    Warning(String),
}

/// A stop in progress.
struct Stopping {
    deadline: Instant,
    /// When SIGKILL was sent.
    killed: Option<Instant>,
}

/// How long processes sent SIGKILL have to be gone before those left are reported as having
/// escaped the stop.
const KILL_WAIT: Duration = Duration::from_secs(2);

/// The job of a run, as its supervisor drives it.
pub(super) struct Lifecycle {
    /// How to start a waiter: a program and its first arguments.
    waiter_command: Vec<String>,
    /// The waiter of the current launch, when this supervisor started it (to reap it).
    waiter: Option<Child>,
    /// How the current job ended, once its waiter said so and before the journal has it.
    exit: Option<Exit>,
    stopping: Option<Stopping>,
    last_waiter_check: Instant,
    /// Where the processes of the current launch are found.
    tracked: Option<(u32, Tracked)>,
}

impl Lifecycle {
    /// A lifecycle whose waiters are started with `waiter_command` (see
    /// [`super::supervisor::Options::waiter`]).
    pub(super) fn new(waiter_command: Vec<String>) -> Lifecycle {
        Lifecycle {
            waiter_command,
            waiter: None,
            exit: None,
            stopping: None,
            last_waiter_check: Instant::now(),
            tracked: None,
        }
    }

    /// Where the processes of `job` are found: its group, its waiter's descendants, and the
    /// cgroup its waiter recorded.
    pub(super) fn tracked(&mut self, run: &RunDir, job: &Launch) -> &Tracked {
        if self.tracked.as_ref().is_none_or(|(n, _)| *n != job.n) {
            let cgroup = run.launch(job.n).read_started().and_then(|s| s.cgroup);
            let tracked = Tracked {
                job: job.job,
                waiter: job.waiter,
                cgroup,
            };
            self.tracked = Some((job.n, tracked));
        }
        &self.tracked.as_ref().expect("set above").1
    }

    /// The live processes of `job`.
    pub(super) fn processes(&mut self, run: &RunDir, job: &Launch) -> Vec<Identity> {
        self.tracked(run, job).processes()
    }

    /// Whether a stop is under way.
    pub(super) fn stopping(&self) -> bool {
        self.stopping.is_some()
    }

    /// Whether the job has ended and the journal does not know yet.
    pub(super) fn exited(&self) -> bool {
        self.exit.is_some()
    }

    /// After a restart of the supervisor: finds the job of the last launch again.
    pub(super) fn adopt(&mut self, run: &RunDir, job: &Launch, out: &mut Vec<JobEvent>) {
        let files = run.launch(job.n);
        if let Some(exit) = files.read_exit() {
            // It ended while no supervisor ran; its waiter wrote down how.
            self.exit = Some(exit);
        } else if !both_gone(job) {
            // Running; or it ended a moment ago and its waiter, still there, is writing down
            // how: watched until it has ([`Lifecycle::watch`]).
            out.push(JobEvent::Adopted(job.job.pid));
        } else if let Some(exit) = files.read_exit() {
            // The waiter wrote it just before it ended, after the first look.
            self.exit = Some(exit);
        } else {
            self.exit = Some(lost_exit(&job.job));
            out.push(JobEvent::Warning(format!(
                "process {} is not the job any more and its waiter recorded no exit; \
                 the job is taken as ended with its status unknown",
                job.job.pid
            )));
        }
    }

    /// Learns of the job's end from its waiter. Returns how it ended when it ended by itself:
    /// not while a stop is under way or `stop_next`, when the end is the stop's.
    pub(super) fn watch(&mut self, run: &RunDir, job: Option<&Launch>, stop_next: bool) -> bool {
        if let Some(waiter) = &mut self.waiter {
            if matches!(waiter.try_wait(), Ok(Some(_))) {
                self.waiter = None;
            }
        }
        let Some(job) = job else {
            return false;
        };
        if self.exit.is_none() {
            let files = run.launch(job.n);
            self.exit = files.read_exit();
            if self.exit.is_none() && self.last_waiter_check.elapsed() >= Duration::from_secs(1) {
                self.last_waiter_check = Instant::now();
                // The end is lost only when the waiter is gone for sure and the job with it: a
                // `/proc` read that failed is no end, and a waiter killed by itself leaves its
                // job running, followed by its PID until it ends.
                if both_gone(job) {
                    // The waiter may have written the exit just before it ended.
                    self.exit = Some(files.read_exit().unwrap_or_else(|| lost_exit(&job.job)));
                }
            }
        }
        self.exit.is_some() && self.stopping.is_none() && !stop_next
    }

    /// The job ended by itself (see [`Lifecycle::watch`]): what its leader left of its group
    /// dies with it, and its end is handed over.
    pub(super) fn finish(&mut self, run: &RunDir, job: &Launch, out: &mut Vec<JobEvent>) {
        let tracked = self.tracked(run, job).clone();
        let left = tracked.processes();
        if !left.is_empty() {
            // Workers left behind by their leader die with it, and so do daemons it started.
            warn_outside(&tracked.outside_group(&left), out);
            signal(&job.job, Signal::SIGKILL, out);
            tracked.signal(&left, Signal::SIGKILL);
        }
        if let Some(exit) = self.exit.take() {
            out.push(JobEvent::Ended(exit));
        }
    }

    /// Goes on with a stop of `job` (none: nothing runs), started on the first call, when its
    /// `grace` is asked for.
    pub(super) fn stop(
        &mut self,
        run: &RunDir,
        job: Option<&Launch>,
        grace: impl FnOnce() -> Duration,
        out: &mut Vec<JobEvent>,
    ) {
        let Some(job) = job else {
            self.stopping = None;
            out.push(JobEvent::Stopped(None, Vec::new()));
            return;
        };
        if self.exit.is_none() {
            self.exit = run.launch(job.n).read_exit();
        }
        let tracked = self.tracked(run, job).clone();
        let left = tracked.processes();
        match &mut self.stopping {
            None => {
                self.stopping = Some(Stopping {
                    deadline: Instant::now() + grace(),
                    killed: None,
                });
                if !left.is_empty() {
                    let outside = tracked.outside_group(&left);
                    warn_outside(&outside, out);
                    signal(&job.job, Signal::SIGTERM, out);
                    tracked.signal(&outside, Signal::SIGTERM);
                }
            }
            Some(stopping) => {
                if self.exit.is_some() && left.is_empty() {
                    self.stopping = None;
                    tracked.remove_cgroup();
                    out.push(JobEvent::Stopped(self.exit.take(), Vec::new()));
                } else if let Some(killed) = stopping.killed {
                    // What was started since the SIGKILL, or is still dying.
                    tracked.signal(&left, Signal::SIGKILL);
                    if self.exit.is_none() && job.waiter.is_gone() && left.is_empty() {
                        self.exit = Some(lost_exit(&job.job));
                    } else if killed.elapsed() >= KILL_WAIT {
                        // Not gone after SIGKILL: reported, and the stop is over.
                        let exit = self.exit.take().or_else(|| run.launch(job.n).read_exit());
                        self.stopping = None;
                        out.push(JobEvent::Stopped(
                            Some(exit.unwrap_or_else(|| lost_exit(&job.job))),
                            left,
                        ));
                    }
                } else if Instant::now() >= stopping.deadline {
                    stopping.killed = Some(Instant::now());
                    signal(&job.job, Signal::SIGKILL, out);
                    tracked.signal(&left, Signal::SIGKILL);
                }
            }
        }
    }

    /// Starts launch `n` of the job through a waiter, resuming from the checkpoint when it
    /// exists (unless the run is fresh).
    pub(super) fn launch(&mut self, state: &RunState, log: &Path, out: &mut Vec<JobEvent>) {
        let n = state.launches() + 1;
        match self.spawn(state, n, log, out) {
            Ok((started, command, resumed)) => {
                self.exit = None;
                out.push(JobEvent::Launched {
                    n,
                    started,
                    command,
                    resumed,
                    slurm_job: None,
                });
            }
            Err(error) => out.push(JobEvent::LaunchFailed { n, error }),
        }
    }

    fn spawn(
        &mut self,
        state: &RunState,
        n: u32,
        log: &Path,
        out: &mut Vec<JobEvent>,
    ) -> Result<(Identities, Vec<String>, bool), String> {
        let run = state.run();
        let files = run.launch(n);
        if let (Some(spec), Some(started)) = (files.read_spec(), files.read_started()) {
            // A supervisor died after starting this launch and before journaling it: the job
            // is this one, not a new one.
            out.push(JobEvent::Adopted(started.job.pid));
            return Ok((started, spec.command, spec.resumed));
        }
        let spec = launch_spec(state, log)?;
        let json = serde_json::to_vec(&spec).expect("a launch spec serializes");
        write_atomic(&files.spec, &json).map_err(|e| io_error(&files.spec)(e).to_string())?;
        let (program, args) = self
            .waiter_command
            .split_first()
            .ok_or("no waiter program")?;
        let mut waiter = Command::new(program)
            .args(args)
            .arg(&run.dir)
            .arg(n.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the waiter `{program}`: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let result = loop {
            if let Some(started) = files.read_started() {
                break Ok(started);
            }
            if let Some(exit) = files.read_exit() {
                break Err(exit.error.unwrap_or_else(|| "the job did not start".into()));
            }
            if let Ok(Some(status)) = waiter.try_wait() {
                // It may have written its files just before it ended.
                if let Some(started) = files.read_started() {
                    break Ok(started);
                }
                break Err(format!(
                    "the waiter ended ({status}) without starting the job"
                ));
            }
            if Instant::now() >= deadline {
                // Our own child, by its handle: never by name.
                let _ = waiter.kill();
                let _ = waiter.wait();
                break Err("the waiter did not start the job within 10s".into());
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        self.waiter = Some(waiter);
        result.map(|started| (started, spec.command, spec.resumed))
    }
}

/// What launch `n` runs: the command given to `run` or the protocol's, with the resume
/// arguments when the checkpoint exists and the run is not fresh.
pub(super) fn launch_spec(state: &RunState, log: &Path) -> Result<LaunchSpec, String> {
    let started = state.started();
    let plan = state
        .machine()
        .job_plan(state.instance(), Utc::now())
        .map_err(|e| e.to_string())?;
    let mut command = started.command.clone().unwrap_or(plan.command);
    if command.is_empty() {
        return Err("the protocol has no `job.command` and none was given after `--`".into());
    }
    let resumed = !started.fresh
        && plan
            .checkpoint
            .as_ref()
            .is_some_and(|c| started.cwd.join(c).exists());
    if resumed {
        command.extend(plan.resume_args);
    }
    Ok(LaunchSpec {
        command,
        cwd: started.cwd.clone(),
        log: log.to_path_buf(),
        resumed,
        no_cgroup: false,
    })
}

fn signal(job: &Identity, signal: Signal, out: &mut Vec<JobEvent>) {
    match signal_group(*job, signal) {
        Ok(()) => out.push(JobEvent::Signalled(job.pid, signal)),
        Err(error) => out.push(JobEvent::Warning(error.to_string())),
    }
}

/// Says which processes of the job left its process group, if any did.
fn warn_outside(outside: &[Identity], out: &mut Vec<JobEvent>) {
    if !outside.is_empty() {
        out.push(JobEvent::Warning(format!(
            "{} of the job had left its process group; stopped with it",
            describe(outside)
        )));
    }
}

/// `process 12 (started at tick 345)`, `processes 12 (...), 13 (...)`.
pub(super) fn describe(processes: &[Identity]) -> String {
    let list: Vec<String> = processes
        .iter()
        .map(|p| format!("{} (started at tick {})", p.pid, p.start_time))
        .collect();
    let noun = if processes.len() == 1 {
        "process"
    } else {
        "processes"
    };
    format!("{noun} {}", list.join(", "))
}

/// Whether the job and its waiter are both gone for sure: an exit the waiter has not written
/// by now never will be.
fn both_gone(job: &Launch) -> bool {
    job.waiter.is_gone() && job.job.is_gone()
}

fn lost_exit(job: &Identity) -> Exit {
    Exit {
        at: Utc::now(),
        exit_code: None,
        signal: None,
        error: Some(format!(
            "the exit status of job {} was lost: its waiter ended without recording it",
            job.pid
        )),
        slurm_state: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process that has ended, and its identity.
    fn ended_process() -> Identity {
        let mut child = Command::new("true").spawn().expect("`true` runs");
        let identity = Identity::of(child.id()).expect("a running process");
        child.wait().expect("it ends");
        identity
    }

    fn launch(job: Identity, waiter: Identity) -> Launch {
        Launch {
            n: 1,
            at: Utc::now(),
            job,
            waiter,
            command: vec!["job".into()],
            resumed: false,
            ended: false,
            slurm_job: None,
        }
    }

    /// A job that ended a moment before its supervisor started again, its waiter still
    /// writing down how, is watched until the waiter has: its exit is not taken as lost.
    #[test]
    fn a_job_that_just_ended_is_watched_while_its_waiter_writes_its_exit() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::new(root.path(), "r");
        std::fs::create_dir_all(run.requests()).unwrap();
        // The waiter is this process: still there.
        let waiter = Identity::of(std::process::id()).unwrap();
        let job = launch(ended_process(), waiter);
        let mut lifecycle = Lifecycle::new(Vec::new());
        let mut out = Vec::new();
        lifecycle.adopt(&run, &job, &mut out);
        assert!(matches!(out[..], [JobEvent::Adopted(_)]), "{out:?}");
        assert!(!lifecycle.exited());
        let exit = Exit {
            at: Utc::now(),
            exit_code: Some(0),
            signal: None,
            error: None,
            slurm_state: None,
        };
        write_atomic(&run.launch(1).exit, &serde_json::to_vec(&exit).unwrap()).unwrap();
        assert!(lifecycle.watch(&run, Some(&job), false));
        let mut out = Vec::new();
        lifecycle.finish(&run, &job, &mut out);
        assert!(
            matches!(&out[..], [JobEvent::Ended(exit)] if exit.exit_code == Some(0)),
            "{out:?}"
        );
    }

    /// With its waiter gone too and nothing written, the job's end is lost, and said so.
    #[test]
    fn a_job_gone_with_its_waiter_and_no_exit_is_taken_as_ended_unknown() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::new(root.path(), "r");
        std::fs::create_dir_all(run.requests()).unwrap();
        let job = launch(ended_process(), ended_process());
        let mut lifecycle = Lifecycle::new(Vec::new());
        let mut out = Vec::new();
        lifecycle.adopt(&run, &job, &mut out);
        assert!(matches!(out[..], [JobEvent::Warning(_)]), "{out:?}");
        assert!(lifecycle.exited());
    }
}
