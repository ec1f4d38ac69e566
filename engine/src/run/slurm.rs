//! A job on a Slurm cluster (`job.launcher: slurm`), through the cluster's own tools.
//!
//! Launch `n` is a batch script Warden writes into the run's directory (`launch-N.sbatch`: `cd`
//! to the run's working directory, `exec` the command) and submits with `sbatch --parsable`,
//! the job's output and errors appended to the run's log (`--output`, `--error`,
//! `--open-mode=append`), which must be on storage both the compute node and the supervisor
//! see. The job id Slurm answers is written durably to `launch-N.slurm.json` before the launch
//! is journaled, so a supervisor that dies in between finds the job again instead of
//! submitting a second one; a supervisor that dies before even that finds it by its name,
//! `warden-RUN-N`. Its state is asked with `scontrol show job` at most every `job.slurm.poll`
//! (when Slurm has forgotten the job, of `sacct`), and its end is `exited` with the exit code
//! and signal of Slurm's `ExitCode=N:S` and the state it ended in. It is stopped with
//! `scancel --signal=TERM`, then, after the stop grace, `scancel`: Slurm's job is the unit, as
//! the process group is for a local job, and nothing else ever signals it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::job::Identity;
use super::lifecycle::{launch_spec, JobEvent};
use super::state::{Launch, RunState};
use super::store::RunDir;
use super::waiter::{Exit, Identities, LaunchSpec};
use super::write_atomic;

/// What launch `n` was submitted as, written before the launch is journaled; the state last
/// seen is added as it changes, for `warden status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// The Slurm job id.
    pub job_id: u64,
    /// When `sbatch` accepted it.
    pub submitted_at: DateTime<Utc>,
    /// Its name in Slurm (`warden-RUN-N`).
    pub name: String,
    /// The batch script.
    pub script: PathBuf,
    /// Its state when it was last asked (`PENDING`, `RUNNING`, `COMPLETED`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Slurm's reason for the state, when it gives one (`Resources`, `Priority`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the job was first seen in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_at: Option<DateTime<Utc>>,
}

/// The file of launch `n`'s submission in the run's directory `dir`.
pub fn submission_file(dir: &Path, n: u32) -> PathBuf {
    dir.join(format!("launch-{n}.slurm.json"))
}

/// Launch `n`'s submission, if it was submitted to Slurm.
pub fn read_submission(dir: &Path, n: u32) -> Option<Submission> {
    super::waiter::read_json(&submission_file(dir, n))
}

/// Whether a job in Slurm state `state` is over: one of [`crate::protocol::SLURM_END_STATES`],
/// or revoked in favour of a sibling on another cluster, or held after a special exit.
pub fn is_end_state(state: &str) -> bool {
    crate::protocol::SLURM_END_STATES.contains(&state)
        || matches!(state, "REVOKED" | "SPECIAL_EXIT")
}

/// A Slurm job's state as `scontrol` or `sacct` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// `PENDING`, `RUNNING`, `COMPLETED`, `PREEMPTED`, ...
    pub state: String,
    /// The exit code of `ExitCode=N:S`.
    pub exit_code: Option<i32>,
    /// The signal of `ExitCode=N:S`, when one ended the job.
    pub signal: Option<i32>,
    /// Slurm's reason (`None` is no reason).
    pub reason: Option<String>,
}

impl Report {
    /// Whether the job is over ([`is_end_state`]).
    pub fn ended(&self) -> bool {
        is_end_state(&self.state)
    }

    fn exit(&self) -> Exit {
        Exit {
            at: Utc::now(),
            exit_code: if self.signal.is_some() {
                None
            } else {
                self.exit_code
            },
            signal: self.signal,
            error: None,
            slurm_state: Some(self.state.clone()),
        }
    }
}

/// `N:S` (exit code, signal; `0` is none) as Slurm writes it.
fn parse_exit_code(text: &str) -> (Option<i32>, Option<i32>) {
    let mut parts = text.split(':');
    let code = parts.next().and_then(|c| c.trim().parse().ok());
    let signal = parts
        .next()
        .and_then(|s| s.trim().parse().ok())
        .filter(|s| *s != 0);
    (code, signal)
}

/// The state of `scontrol show job -o ID`'s answer (`JobState=`, `Reason=`, `ExitCode=`).
pub fn parse_scontrol(text: &str) -> Option<Report> {
    let field = |key: &str| {
        text.split_whitespace()
            .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
    };
    let state = field("JobState")?.to_owned();
    let (exit_code, signal) = field("ExitCode").map_or((None, None), parse_exit_code);
    let reason = field("Reason")
        .filter(|r| *r != "None" && *r != "(null)")
        .map(str::to_owned);
    Some(Report {
        state,
        exit_code,
        signal,
        reason,
    })
}

/// The state of `sacct -n -P -o State,ExitCode -j ID`'s answer: its first line is the job's
/// (those after, its steps'). `CANCELLED by 0` is `CANCELLED`.
pub fn parse_sacct(text: &str) -> Option<Report> {
    let line = text.lines().find(|l| !l.trim().is_empty())?;
    let (state, exit) = line.split_once('|')?;
    let state = state.split_whitespace().next()?.trim_end_matches('+');
    let (exit_code, signal) = parse_exit_code(exit);
    Some(Report {
        state: state.to_owned(),
        exit_code,
        signal,
        reason: None,
    })
}

/// A word quoted for `sh`.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The batch script of a launch: to the working directory, then the command in the shell's
/// place, so that Slurm's signals reach it.
pub fn batch_script(spec: &LaunchSpec) -> String {
    let command: Vec<String> = spec.command.iter().map(|w| quote(w)).collect();
    format!(
        "#!/bin/sh\n\
         # One launch of a Warden run's job, submitted with sbatch.\n\
         cd {} || exit 1\n\
         exec {}\n",
        quote(&spec.cwd.to_string_lossy()),
        command.join(" ")
    )
}

/// What asking Slurm about a job gave.
#[derive(Debug)]
enum Asked {
    /// Its state.
    Known(Report),
    /// Neither `scontrol` nor `sacct` knows the job (it ended longer ago than `MinJobAge`, and
    /// there is no accounting).
    Forgotten,
    /// The tools could not be asked (the controller is down, say): why.
    Failed(String),
}

fn run(program: &str, args: &[&str]) -> Result<Output, String> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{program}`: {e}"))
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).trim().to_owned()
}

/// The state of job `id`: `scontrol show job`, then `sacct` once the controller forgot it.
fn ask(id: u64) -> Asked {
    let id = id.to_string();
    let output = match run("scontrol", &["show", "job", "-o", &id]) {
        Ok(output) => output,
        Err(error) => return Asked::Failed(error),
    };
    if output.status.success() {
        return match parse_scontrol(&String::from_utf8_lossy(&output.stdout)) {
            Some(report) => Asked::Known(report),
            None => Asked::Failed("`scontrol show job` gave no JobState".into()),
        };
    }
    let error = stderr_of(&output);
    if !error.contains("Invalid job id") {
        return Asked::Failed(format!("`scontrol show job {id}` failed: {error}"));
    }
    match run("sacct", &["-n", "-P", "-o", "State,ExitCode", "-j", &id]) {
        Ok(output) if output.status.success() => {
            match parse_sacct(&String::from_utf8_lossy(&output.stdout)) {
                Some(report) => Asked::Known(report),
                None => Asked::Forgotten,
            }
        }
        // No accounting ("Slurm accounting storage is disabled"): nobody knows.
        _ => Asked::Forgotten,
    }
}

/// A stop in progress.
struct Stopping {
    /// When the grace is over and the job is cancelled.
    deadline: Instant,
    /// When `scancel` (without a signal) was sent.
    cancelled: Option<Instant>,
}

/// How long a cancelled job has to be reported ended before the stop is given up as over with
/// its end unknown: longer than Slurm's own `KillWait` (30s by default).
const CANCEL_WAIT: Duration = Duration::from_secs(120);

/// How often the state is asked while a stop is under way.
const STOP_POLL: Duration = Duration::from_secs(1);

/// The job of a run on Slurm, as its supervisor drives it.
pub(super) struct SlurmLifecycle {
    poll: Duration,
    next_poll: Instant,
    /// How the current job ended, once Slurm said so and before the journal has it.
    exit: Option<Exit>,
    /// Its state when last asked.
    last: Option<Report>,
    stopping: Option<Stopping>,
    /// Whether asking Slurm failed the last time (warned of once per spell).
    failing: bool,
    /// Whether a job is watched: launched or adopted, and its end not handed over.
    watching: bool,
}

/// A Slurm job has no local process: its identities are PID 0, which nothing signals.
const NO_PROCESS: Identity = Identity {
    pid: 0,
    start_time: 0,
};

impl SlurmLifecycle {
    /// A lifecycle that asks Slurm about the job every `poll`.
    pub(super) fn new(poll: Duration) -> SlurmLifecycle {
        SlurmLifecycle {
            poll,
            next_poll: Instant::now(),
            exit: None,
            last: None,
            stopping: None,
            failing: false,
            watching: false,
        }
    }

    /// When the job's state is next to be asked, while there is a job to ask about.
    pub(super) fn next_poll(&self) -> Option<Instant> {
        (self.watching && self.exit.is_none()).then_some(self.next_poll)
    }

    pub(super) fn stopping(&self) -> bool {
        self.stopping.is_some()
    }

    pub(super) fn exited(&self) -> bool {
        self.exit.is_some()
    }

    /// Whether the job may still be running in Slurm.
    pub(super) fn may_run(&self) -> bool {
        self.exit.is_none() && self.last.as_ref().is_none_or(|r| !r.ended())
    }

    /// After a restart of the supervisor: the job of the last launch is asked about at once.
    pub(super) fn adopt(&mut self, _run: &RunDir, job: &Launch, out: &mut Vec<JobEvent>) {
        match job.slurm_job {
            Some(id) => {
                self.watching = true;
                self.next_poll = Instant::now();
                out.push(JobEvent::Slurm(format!("supervising Slurm job {id} again")));
            }
            None => {
                self.exit = Some(unknown_end(
                    "the journal names no Slurm job for the last launch; \
                     the job is taken as ended with its status unknown"
                        .into(),
                ));
            }
        }
    }

    /// Asks Slurm about the job when a poll is due, and learns of its end. Returns whether it
    /// ended by itself: not while a stop is under way or `stop_next`.
    pub(super) fn watch(
        &mut self,
        run: &RunDir,
        job: Option<&Launch>,
        stop_next: bool,
        out: &mut Vec<JobEvent>,
    ) -> bool {
        let Some(job) = job else {
            return false;
        };
        if self.exit.is_none() && Instant::now() >= self.next_poll {
            self.next_poll = Instant::now() + self.poll;
            self.ask(run, job, out);
        }
        self.exit.is_some() && self.stopping.is_none() && !stop_next
    }

    fn ask(&mut self, run: &RunDir, job: &Launch, out: &mut Vec<JobEvent>) {
        let Some(id) = job.slurm_job else {
            self.exit = Some(unknown_end("the launch has no Slurm job id".into()));
            return;
        };
        match ask(id) {
            Asked::Known(report) => {
                self.failing = false;
                let changed = self.last.as_ref().is_none_or(|l| l.state != report.state);
                if changed {
                    let why = report
                        .reason
                        .as_ref()
                        .map_or_else(String::new, |r| format!(" ({r})"));
                    out.push(JobEvent::Slurm(format!(
                        "Slurm job {id} is {}{why}",
                        report.state
                    )));
                    record_state(run, job.n, &report, out);
                }
                if report.ended() {
                    self.exit = Some(report.exit());
                }
                self.last = Some(report);
            }
            Asked::Forgotten => {
                self.exit = Some(unknown_end(format!(
                    "Slurm no longer knows job {id} (it ended longer ago than MinJobAge, and \
                     there is no accounting to ask): its exit status is unknown"
                )));
            }
            Asked::Failed(error) => {
                if !self.failing {
                    self.failing = true;
                    out.push(JobEvent::Warning(format!(
                        "cannot ask Slurm about job {id}: {error}; asking again every {}",
                        crate::duration::format(self.poll)
                    )));
                }
            }
        }
    }

    /// The job ended by itself: its end is handed over.
    pub(super) fn finish(&mut self, out: &mut Vec<JobEvent>) {
        self.watching = false;
        if let Some(exit) = self.exit.take() {
            out.push(JobEvent::Ended(exit));
        }
    }

    /// Goes on with a stop of `job` (none: nothing runs): `scancel --signal=TERM` on the first
    /// call, `scancel` once `grace` is over, and the stop is over when Slurm reports the end.
    pub(super) fn stop(
        &mut self,
        run: &RunDir,
        job: Option<&Launch>,
        grace: impl FnOnce() -> Duration,
        out: &mut Vec<JobEvent>,
    ) {
        let Some((job, id)) = job.and_then(|j| Some((j, j.slurm_job?))) else {
            self.stopping = None;
            self.watching = false;
            out.push(JobEvent::Stopped(self.exit.take(), Vec::new()));
            return;
        };
        match &mut self.stopping {
            None => {
                if self.exit.is_some() {
                    self.watching = false;
                    out.push(JobEvent::Stopped(self.exit.take(), Vec::new()));
                    return;
                }
                let pending = self.last.as_ref().is_some_and(|r| r.state == "PENDING");
                let mut stopping = Stopping {
                    deadline: Instant::now() + grace(),
                    cancelled: None,
                };
                if pending {
                    // Nothing runs yet that a signal could reach.
                    cancel(id, None, out);
                    stopping.cancelled = Some(Instant::now());
                } else {
                    cancel(id, Some("TERM"), out);
                }
                self.stopping = Some(stopping);
                self.next_poll = Instant::now() + STOP_POLL.min(self.poll);
            }
            Some(_) => {
                if self.exit.is_none() && Instant::now() >= self.next_poll {
                    self.next_poll = Instant::now() + STOP_POLL.min(self.poll);
                    self.ask(run, job, out);
                }
                let Some(stopping) = &mut self.stopping else {
                    return;
                };
                if self.exit.is_some() {
                    self.stopping = None;
                    self.watching = false;
                    out.push(JobEvent::Stopped(self.exit.take(), Vec::new()));
                } else if let Some(cancelled) = stopping.cancelled {
                    if cancelled.elapsed() >= CANCEL_WAIT {
                        self.stopping = None;
                        self.watching = false;
                        out.push(JobEvent::Warning(format!(
                            "Slurm job {id} was cancelled {}s ago and is still not reported \
                             ended; the stop is taken as over",
                            CANCEL_WAIT.as_secs()
                        )));
                        let exit = unknown_end(format!("Slurm job {id} did not report its end"));
                        out.push(JobEvent::Stopped(Some(exit), Vec::new()));
                    }
                } else if Instant::now() >= stopping.deadline {
                    stopping.cancelled = Some(Instant::now());
                    cancel(id, None, out);
                }
            }
        }
    }

    /// Submits launch `n` of the job, resuming from the checkpoint when it exists (unless the
    /// run is fresh), or finds the job a supervisor that died submitted for it.
    pub(super) fn launch(&mut self, state: &RunState, log: &Path, out: &mut Vec<JobEvent>) {
        let n = state.launches() + 1;
        self.exit = None;
        self.last = None;
        self.failing = false;
        self.next_poll = Instant::now() + self.poll;
        match submit(state, n, log, out) {
            Ok((id, spec)) => {
                self.watching = true;
                out.push(JobEvent::Launched {
                    n,
                    started: Identities {
                        job: NO_PROCESS,
                        waiter: NO_PROCESS,
                        log: None,
                        cgroup: None,
                    },
                    command: spec.command,
                    resumed: spec.resumed,
                    slurm_job: Some(id),
                })
            }
            Err(error) => out.push(JobEvent::LaunchFailed { n, error }),
        }
    }
}

/// `scancel` of job `id`, with `--signal` when given (to the batch script and every step:
/// `--full`). What it answers is told, never acted on: the next poll sees the job's state.
fn cancel(id: u64, signal: Option<&str>, out: &mut Vec<JobEvent>) {
    let id_text = id.to_string();
    let signal_arg = signal.map(|s| format!("--signal={s}"));
    let mut args: Vec<&str> = Vec::new();
    if let Some(arg) = &signal_arg {
        args.push("--full");
        args.push(arg);
    }
    args.push(&id_text);
    let how = signal.map_or_else(|| "cancelled".to_owned(), |s| format!("sent SIG{s}"));
    match run("scancel", &args) {
        Ok(output) if output.status.success() => {
            out.push(JobEvent::Slurm(format!("Slurm job {id} {how} (scancel)")))
        }
        Ok(output) => out.push(JobEvent::Warning(format!(
            "scancel {} failed: {}",
            args.join(" "),
            stderr_of(&output)
        ))),
        Err(error) => out.push(JobEvent::Warning(error)),
    }
}

fn record_state(run: &RunDir, n: u32, report: &Report, out: &mut Vec<JobEvent>) {
    let Some(mut submission) = read_submission(&run.dir, n) else {
        return;
    };
    submission.state = Some(report.state.clone());
    submission.reason = report.reason.clone();
    submission.seen_at = Some(Utc::now());
    let json = serde_json::to_vec(&submission).expect("a submission serializes");
    if let Err(error) = write_atomic(&submission_file(&run.dir, n), &json) {
        out.push(JobEvent::Warning(format!(
            "cannot record the state of Slurm job {}: {error}",
            submission.job_id
        )));
    }
}

fn unknown_end(error: String) -> Exit {
    Exit {
        at: Utc::now(),
        exit_code: None,
        signal: None,
        error: Some(error),
        slurm_state: None,
    }
}

/// Submits launch `n`, or finds the job submitted for it before the supervisor restarted.
fn submit(
    state: &RunState,
    n: u32,
    log: &Path,
    out: &mut Vec<JobEvent>,
) -> Result<(u64, LaunchSpec), String> {
    let run = state.run();
    let files = run.launch(n);
    let name = format!("warden-{}-{n}", run.id);
    if let (Some(spec), Some(submission)) = (files.read_spec(), read_submission(&run.dir, n)) {
        // Submitted, and the supervisor died before journaling it: the job is this one.
        out.push(JobEvent::Slurm(format!(
            "Slurm job {} was submitted for launch {n} before the supervisor restarted; \
             supervising it",
            submission.job_id
        )));
        return Ok((submission.job_id, spec));
    }
    if let Some(spec) = files.read_spec() {
        // It died between `sbatch` and writing down the job id: the job has the launch's name.
        if let Some(id) = find_by_name(&name) {
            out.push(JobEvent::Slurm(format!(
                "Slurm job {id} ({name}) was submitted before the supervisor restarted; \
                 supervising it"
            )));
            write_submission(run, n, id, &name, &files.spec.with_extension("sbatch"))?;
            return Ok((id, spec));
        }
    }
    let spec = launch_spec(state, log)?;
    let plan = state
        .machine()
        .job_plan(state.instance(), Utc::now())
        .map_err(|e| e.to_string())?;
    let json = serde_json::to_vec(&spec).expect("a launch spec serializes");
    write_atomic(&files.spec, &json).map_err(|e| format!("{}: {e}", files.spec.display()))?;
    // sbatch runs in the job's working directory: the paths it is given are absolute.
    let script = std::path::absolute(run.dir.join(format!("launch-{n}.sbatch")))
        .map_err(|e| format!("{}: {e}", run.dir.display()))?;
    write_atomic(&script, batch_script(&spec).as_bytes())
        .map_err(|e| format!("{}: {e}", script.display()))?;
    if let Some(dir) = spec.log.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let log = std::path::absolute(&spec.log).map_err(|e| format!("{}: {e}", spec.log.display()))?;
    let log = log.to_string_lossy();
    let output = Command::new("sbatch")
        .arg("--parsable")
        .arg(format!("--job-name={name}"))
        .arg(format!("--output={log}"))
        .arg(format!("--error={log}"))
        .arg("--open-mode=append")
        .args(&plan.slurm_args)
        .arg(&script)
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `sbatch`: {e}"))?;
    if !output.status.success() {
        let error = stderr_of(&output);
        return Err(format!(
            "sbatch refused the job ({}): {}",
            output.status,
            if error.is_empty() {
                "no reason given"
            } else {
                &error
            }
        ));
    }
    let answer = String::from_utf8_lossy(&output.stdout);
    // `--parsable` answers `ID` or `ID;CLUSTER`.
    let id = answer
        .trim()
        .split(';')
        .next()
        .and_then(|id| id.parse::<u64>().ok())
        .ok_or_else(|| format!("sbatch answered no job id: `{}`", answer.trim()))?;
    if let Err(error) = write_submission(run, n, id, &name, &script) {
        // Nobody could learn of the job: it does not run unseen.
        cancel(id, None, out);
        return Err(error);
    }
    Ok((id, spec))
}

fn write_submission(
    run: &RunDir,
    n: u32,
    id: u64,
    name: &str,
    script: &Path,
) -> Result<(), String> {
    let submission = Submission {
        job_id: id,
        submitted_at: Utc::now(),
        name: name.to_owned(),
        script: script.to_path_buf(),
        state: None,
        reason: None,
        seen_at: None,
    };
    let path = submission_file(&run.dir, n);
    let json = serde_json::to_vec(&submission).expect("a submission serializes");
    write_atomic(&path, &json).map_err(|e| format!("{}: {e}", path.display()))
}

/// The job Slurm knows by `name`, if exactly one is still pending or running.
fn find_by_name(name: &str) -> Option<u64> {
    let output = run("squeue", &["-h", "-o", "%i", &format!("--name={name}")]).ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut ids = text.lines().filter_map(|l| l.trim().parse::<u64>().ok());
    match (ids.next(), ids.next()) {
        (Some(id), None) => Some(id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scontrol_gives_the_state_the_exit_code_and_the_signal() {
        let text = "JobId=7 JobName=warden-r-1 UserId=root(0) JobState=PREEMPTED Reason=None \
                    Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 ExitCode=0:15 \
                    RunTime=00:00:04 Command=/tmp/my dir/launch-1.sbatch";
        assert_eq!(
            parse_scontrol(text),
            Some(Report {
                state: "PREEMPTED".into(),
                exit_code: Some(0),
                signal: Some(15),
                reason: None,
            })
        );
        let failed =
            parse_scontrol("JobId=3 JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0").unwrap();
        assert!(failed.ended());
        assert_eq!(failed.exit().exit_code, Some(3));
        assert_eq!(failed.exit().signal, None);
        assert_eq!(failed.reason.as_deref(), Some("NonZeroExitCode"));
        let pending = parse_scontrol("JobId=4 JobState=PENDING Reason=Resources").unwrap();
        assert!(!pending.ended());
        assert_eq!(
            parse_scontrol("slurm_load_jobs error: Invalid job id"),
            None
        );
    }

    #[test]
    fn sacct_gives_the_job_line_before_its_steps() {
        let text = "CANCELLED by 0|0:15\nCANCELLED|0:15\n";
        let report = parse_sacct(text).unwrap();
        assert_eq!(report.state, "CANCELLED");
        assert_eq!(report.exit().signal, Some(15));
        assert_eq!(report.exit().slurm_state.as_deref(), Some("CANCELLED"));
        assert_eq!(
            parse_sacct("OUT_OF_MEMORY+|0:125").unwrap().state,
            "OUT_OF_MEMORY"
        );
        assert_eq!(parse_sacct(""), None);
    }

    #[test]
    fn the_batch_script_quotes_every_word() {
        let spec = LaunchSpec {
            command: vec!["python".into(), "it's.py".into(), "--lr=1e-3 ; rm".into()],
            cwd: PathBuf::from("/work/my project"),
            log: PathBuf::from("/work/train.log"),
            resumed: false,
            no_cgroup: false,
        };
        let script = batch_script(&spec);
        assert!(script.starts_with("#!/bin/sh\n"), "{script}");
        assert!(
            script.contains("cd '/work/my project' || exit 1\n"),
            "{script}"
        );
        assert!(
            script.contains(r"exec 'python' 'it'\''s.py' '--lr=1e-3 ; rm'"),
            "{script}"
        );
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "set -- {}; printf '%s|' \"$@\"",
                &script[script.find("exec ").unwrap() + 5..].trim()
            ))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "python|it's.py|--lr=1e-3 ; rm|"
        );
    }
}
