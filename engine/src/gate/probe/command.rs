//! A `command` gate: runs a program, and passes when it exits with 0.
//!
//! The program runs in the run's working directory, in a process group of its own, with stdin
//! from `/dev/null` and stdout and stderr into one pipe, so its output is kept in the order it
//! was written. Only the last [`OUTPUT_LIMIT`] bytes are kept, after a marker of how many were
//! cut. The pipe is read without blocking while the program runs, so a program that writes
//! more than a pipe holds never waits on Warden, and a process that keeps the pipe open never
//! holds Warden past the timeout.
//!
//! The command is its process group. At the timeout the group gets SIGTERM, and SIGKILL after
//! [`GRACE`] for whatever is left of it. When the program exits by itself, whatever it left
//! running in its group (a background process, say) is stopped the same way: at once if the
//! output pipe is closed, or once the pipe has stayed open [`LINGER`] past the program's exit.
//! A gate's check leaves nothing running. Signals go only to the group this started, through
//! [`signal_group`], which checks the leader's identity first.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::signal::Signal;
use nix::unistd::pipe2;

use super::shown;
use crate::gate::{GateResult, OUTPUT_LIMIT};
use crate::run::job::{group_exists, signal_group, Identity};

/// How long a process group has between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

/// How long the output pipe may stay open after the program exited before what holds it open
/// is stopped.
const LINGER: Duration = Duration::from_millis(500);

/// How long to sleep when there is nothing to read and nothing has exited.
const IDLE: Duration = Duration::from_millis(5);

/// The most characters of the output's last line a reason quotes.
const LINE_LIMIT: usize = 200;

/// Runs `argv` (with `shell`, the one command line `argv[0]` with `/bin/sh -c`) in `cwd`.
///
/// Facts: `exit_code` (null when it did not exit by itself or never started), `signal` (the
/// number of the signal that ended it, or null), `timed_out`, `output` (the last bytes of
/// stdout and stderr together, invalid UTF-8 replaced) and `seconds` (wall time). The value is
/// the exit code.
pub(super) fn evaluate(
    gate: &str,
    argv: &[String],
    shell: bool,
    timeout: Duration,
    cwd: &Path,
) -> GateResult {
    let start = Instant::now();
    let ran = run(argv, shell, timeout, cwd, start);
    let seconds = start.elapsed().as_secs_f64();
    let ran = match ran {
        Ok(ran) => ran,
        Err(reason) => {
            return GateResult::new(gate, false, reason)
                .with_fact("exit_code", serde_json::Value::Null)
                .with_fact("signal", serde_json::Value::Null)
                .with_fact("timed_out", false)
                .with_fact("output", "")
                .with_fact("seconds", seconds);
        }
    };
    let exit_code = ran.status.and_then(|status| status.code());
    let signal = ran.status.and_then(|status| status.signal());
    let last = last_line(&ran.body).map(|line| format!(": {line}"));
    let last = last.as_deref().unwrap_or("");
    let (passed, reason) = match (ran.timed_out, exit_code, signal) {
        (true, _, _) => (
            false,
            format!("timed out after {}", crate::duration::format(timeout)),
        ),
        (false, Some(0), _) => {
            let leftovers = if ran.stopped_leftovers {
                " (what it left running was stopped)"
            } else {
                ""
            };
            (true, format!("exited with 0 in {seconds:.1}s{leftovers}"))
        }
        (false, Some(code), _) => (false, format!("exited with {code}{last}")),
        (false, None, Some(signal)) => {
            let name = Signal::try_from(signal).map_or("an unknown signal", Signal::as_str);
            (false, format!("killed by {name} (signal {signal}){last}"))
        }
        (false, None, None) => (
            false,
            format!(
                "`{}` ended, but its exit status could not be read",
                ran.program
            ),
        ),
    };
    GateResult::new(gate, passed, reason)
        .with_value(exit_code)
        .with_fact("exit_code", exit_code)
        .with_fact("signal", signal)
        .with_fact("timed_out", ran.timed_out)
        .with_fact("output", ran.output)
        .with_fact("seconds", seconds)
}

/// What a command did.
struct Ran {
    /// The program, as reasons name it.
    program: String,
    /// How it ended; `None` if that could not be read.
    status: Option<ExitStatus>,
    /// Whether it was stopped at the timeout.
    timed_out: bool,
    /// Whether processes it left running after it exited were stopped.
    stopped_leftovers: bool,
    /// Its output, after the marker of what was cut.
    output: String,
    /// Its output without the marker.
    body: String,
}

/// Starts the command and sees it to its end, or returns why it could not start.
fn run(
    argv: &[String],
    shell: bool,
    timeout: Duration,
    cwd: &Path,
    start: Instant,
) -> Result<Ran, String> {
    let (program, args): (&str, Vec<&str>) = if shell {
        match argv {
            [line] => ("/bin/sh", vec!["-c", line.as_str()]),
            _ => {
                return Err(format!(
                    "a shell command is one command line, but argv has {} elements",
                    argv.len()
                ))
            }
        }
    } else {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| "the command is empty".to_owned())?;
        (program.as_str(), args.iter().map(String::as_str).collect())
    };
    let cannot_start = |why: &dyn std::fmt::Display| format!("cannot start `{program}`: {why}");
    if !cwd.is_dir() {
        return Err(cannot_start(&format_args!(
            "the working directory {} is not a directory",
            cwd.display()
        )));
    }
    // Close-on-exec, so that no other process started meanwhile holds the pipe open; the child
    // gets the write end as its stdout and stderr all the same.
    let (read, write) = pipe2(OFlag::O_CLOEXEC)
        .map_err(|e| cannot_start(&format_args!("cannot make a pipe for its output: {e}")))?;
    // Only the read end: the write end is the child's, and must block as pipes do.
    fcntl(&read, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
        .map_err(|e| cannot_start(&format_args!("cannot make a pipe for its output: {e}")))?;
    let write_err = write
        .try_clone()
        .map_err(|e| cannot_start(&format_args!("cannot make a pipe for its output: {e}")))?;
    let mut command = Command::new(program);
    command
        .args(&args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(write))
        .stderr(Stdio::from(write_err))
        // Its own group: signals reach its children, and never Warden's own group.
        .process_group(0);
    let spawned = command.spawn();
    // Warden's copies of the write end go with the command, so that the pipe ends when the
    // last process that holds it does.
    drop(command);
    let mut child = spawned.map_err(|e| cannot_start(&e))?;
    let pid = child.id();
    // The child is ours and not yet reaped, so its PID cannot be reused before this reads it.
    let identity = Identity::of(pid).unwrap_or(Identity { pid, start_time: 0 });

    let mut output = Output {
        pipe: Some(File::from(read)),
        tail: Tail::default(),
    };
    // A limit too far to represent is no limit: a hundred years will do.
    let deadline = start
        .checked_add(timeout)
        .unwrap_or_else(|| start + Duration::from_secs(100 * 365 * 24 * 3600));
    let mut status = None;
    let mut exited_at = None;
    let mut timed_out = false;
    let mut stopped_leftovers = false;
    loop {
        let got = output.read();
        if status.is_none() {
            match child.try_wait() {
                Ok(Some(exited)) => status = Some(exited),
                Ok(None) => {}
                // Cannot happen for a child of ours; stop it all the same and say so.
                Err(_) => {
                    stopped_leftovers = stop(&mut child, identity, &mut status, &mut output);
                    break;
                }
            }
        }
        let now = Instant::now();
        if status.is_some() {
            let exited_at = *exited_at.get_or_insert(now);
            if output.pipe.is_none() || now >= (exited_at + LINGER).min(deadline) {
                if group_exists(identity) {
                    stopped_leftovers = stop(&mut child, identity, &mut status, &mut output);
                }
                break;
            }
        } else if now >= deadline {
            timed_out = true;
            stop(&mut child, identity, &mut status, &mut output);
            break;
        }
        if !got {
            std::thread::sleep(IDLE);
        }
    }
    // Whatever is still in the pipe; bounded, in case something outside the group writes on.
    for _ in 0..64 {
        if !output.read() {
            break;
        }
    }
    let (output, body) = output.tail.text();
    Ok(Ran {
        program: program.to_owned(),
        status,
        timed_out,
        stopped_leftovers,
        output,
        body,
    })
}

/// Stops the command's process group: SIGTERM, then SIGKILL after [`GRACE`] for whatever is
/// left of it, reaping the leader if it was not yet; the output is read meanwhile. Returns
/// whether anything was left to stop. Over when the group is gone (or, for processes that
/// somehow outlive SIGKILL, after another [`GRACE`]).
fn stop(
    child: &mut Child,
    identity: Identity,
    status: &mut Option<ExitStatus>,
    output: &mut Output,
) -> bool {
    if !group_exists(identity) && status.is_some() {
        return false;
    }
    // A refusal (the leader's PID names another process now) leaves nothing of ours to signal.
    let _ = signal_group(identity, Signal::SIGTERM);
    wait_until(Instant::now() + GRACE, child, identity, status, output);
    if group_exists(identity) {
        let _ = signal_group(identity, Signal::SIGKILL);
    }
    if status.is_none() {
        *status = child.wait().ok();
    }
    // Stragglers killed a moment ago may still be exiting.
    wait_until(Instant::now() + GRACE, child, identity, status, output);
    true
}

/// Reads the output and reaps the leader until the group is gone, or until `deadline`.
fn wait_until(
    deadline: Instant,
    child: &mut Child,
    identity: Identity,
    status: &mut Option<ExitStatus>,
    output: &mut Output,
) {
    while Instant::now() < deadline {
        let got = output.read();
        if status.is_none() {
            *status = child.try_wait().ok().flatten();
        }
        if status.is_some() && !group_exists(identity) {
            return;
        }
        if !got {
            std::thread::sleep(IDLE);
        }
    }
}

/// The read end of the command's output pipe, and what was read from it.
struct Output {
    /// `None` once the pipe is at its end (or unreadable).
    pipe: Option<File>,
    tail: Tail,
}

impl Output {
    /// Reads what the pipe holds now, without waiting, and at most 1 MiB so that the caller
    /// keeps an eye on the clock. Returns whether anything was read.
    fn read(&mut self) -> bool {
        let Some(pipe) = &mut self.pipe else {
            return false;
        };
        let mut buffer = [0u8; 64 * 1024];
        let mut got = false;
        let mut ended = false;
        for _ in 0..16 {
            match pipe.read(&mut buffer) {
                Ok(0) => {
                    ended = true;
                    break;
                }
                Ok(n) => {
                    self.tail.push(&buffer[..n]);
                    got = true;
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    ended = true;
                    break;
                }
            }
        }
        if ended {
            self.pipe = None;
        }
        got
    }
}

/// The last [`OUTPUT_LIMIT`] bytes of a stream, and how long it was.
#[derive(Default)]
struct Tail {
    kept: Vec<u8>,
    total: u64,
}

impl Tail {
    fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        self.kept.extend_from_slice(bytes);
        // Cut in batches, so that a chatty program does not cost a move per read.
        if self.kept.len() > 2 * OUTPUT_LIMIT {
            let cut = self.kept.len() - OUTPUT_LIMIT;
            self.kept.drain(..cut);
        }
    }

    /// The kept bytes as text, invalid UTF-8 replaced, after a marker of how many were cut;
    /// and the same without the marker.
    fn text(&self) -> (String, String) {
        let mut kept = &self.kept[self.kept.len().saturating_sub(OUTPUT_LIMIT)..];
        let mut cut = self.total - kept.len() as u64;
        if cut > 0 {
            // Not half a character: the cut may have fallen inside one.
            let partial = kept
                .iter()
                .take(3)
                .take_while(|&&byte| byte & 0xC0 == 0x80)
                .count();
            kept = &kept[partial..];
            cut += partial as u64;
        }
        let body = String::from_utf8_lossy(kept).into_owned();
        let text = if cut > 0 {
            format!("[… {cut} bytes cut]\n{body}")
        } else {
            body.clone()
        };
        (text, body)
    }
}

/// The output's last line that is not blank, as a reason quotes it. A line redrawn with
/// carriage returns (a progress bar) counts as what it showed last.
fn last_line(output: &str) -> Option<String> {
    output
        .lines()
        .rev()
        .find_map(|line| line.rsplit('\r').find(|part| !part.trim().is_empty()))
        .map(|line| shown(line.trim(), LINE_LIMIT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::{evaluate, Probe};
    use chrono::Utc;

    fn command(argv: &[&str], shell: bool, timeout: Duration, cwd: &Path) -> GateResult {
        let probe = Probe::Command {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            shell,
            timeout,
        };
        evaluate("check", &probe, cwd, Utc::now())
    }

    fn sh(line: &str, timeout: Duration, cwd: &Path) -> GateResult {
        command(&[line], true, timeout, cwd)
    }

    const LONG: Duration = Duration::from_secs(20);

    #[test]
    fn a_command_that_exits_with_0_passes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("marker"), "x").unwrap();
        let result = command(&["ls", "marker"], false, LONG, dir.path());
        assert!(result.passed, "{result:?}");
        assert!(
            result.reason.starts_with("exited with 0 in "),
            "{}",
            result.reason
        );
        assert!(result.reason.ends_with('s'), "{}", result.reason);
        assert_eq!(result.value, serde_json::json!(0));
        assert_eq!(result.facts["exit_code"], 0);
        assert_eq!(result.facts["signal"], serde_json::Value::Null);
        assert_eq!(result.facts["timed_out"], false);
        assert_eq!(result.facts["output"], "marker\n", "ran in cwd");
        assert!(result.facts["seconds"].as_f64().unwrap() >= 0.0);
    }

    #[test]
    fn a_failing_command_gives_its_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let result = sh(
            "echo starting; echo 'r_hat too high' >&2; echo; exit 3",
            LONG,
            dir.path(),
        );
        assert!(!result.passed);
        assert_eq!(result.reason, "exited with 3: r_hat too high");
        assert_eq!(result.value, serde_json::json!(3));
        assert_eq!(
            result.facts["output"], "starting\nr_hat too high\n\n",
            "stdout and stderr together, in order"
        );
        let quiet = sh("exit 1", LONG, dir.path());
        assert_eq!(quiet.reason, "exited with 1");
        let progress = sh("printf 'step 1\\rstep 2\\r\\n'; exit 1", LONG, dir.path());
        assert_eq!(progress.reason, "exited with 1: step 2");
    }

    #[test]
    fn a_command_killed_by_a_signal_fails() {
        let dir = tempfile::tempdir().unwrap();
        let result = sh("echo dying; kill -KILL $$", LONG, dir.path());
        assert!(!result.passed);
        assert_eq!(result.reason, "killed by SIGKILL (signal 9): dying");
        assert_eq!(result.facts["signal"], 9);
        assert_eq!(result.facts["exit_code"], serde_json::Value::Null);
        assert_eq!(result.value, serde_json::Value::Null);
    }

    #[test]
    fn a_program_that_cannot_start_fails() {
        let dir = tempfile::tempdir().unwrap();
        let result = command(&["warden-no-such-program"], false, LONG, dir.path());
        assert!(!result.passed);
        assert_eq!(
            result.reason,
            "cannot start `warden-no-such-program`: No such file or directory (os error 2)"
        );
        assert_eq!(result.facts["exit_code"], serde_json::Value::Null);
        assert_eq!(result.facts["timed_out"], false);
        let gone = dir.path().join("gone");
        let result = command(&["true"], false, LONG, &gone);
        assert!(!result.passed);
        assert!(
            result
                .reason
                .starts_with("cannot start `true`: the working directory "),
            "{}",
            result.reason
        );
        let empty = command(&[], false, LONG, dir.path());
        assert_eq!(
            (empty.passed, empty.reason.as_str()),
            (false, "the command is empty")
        );
        let two = command(&["true", "false"], true, LONG, dir.path());
        assert!(!two.passed);
        assert_eq!(
            two.reason,
            "a shell command is one command line, but argv has 2 elements"
        );
    }

    #[test]
    fn without_shell_a_command_line_is_not_run_by_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let result = command(&["echo", "a; touch injected"], false, LONG, dir.path());
        assert!(result.passed, "{result:?}");
        assert_eq!(result.facts["output"], "a; touch injected\n");
        assert!(!dir.path().join("injected").exists());
        let whole = command(&["true; touch injected"], false, LONG, dir.path());
        assert!(!whole.passed);
        assert!(
            whole
                .reason
                .starts_with("cannot start `true; touch injected`"),
            "{}",
            whole.reason
        );
        assert!(!dir.path().join("injected").exists());
        let shell = sh("true; touch injected", LONG, dir.path());
        assert!(shell.passed, "{shell:?}");
        assert!(dir.path().join("injected").exists(), "with shell it is");
    }

    #[test]
    fn a_hanging_command_is_stopped_at_its_timeout_with_its_group() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pgid"), "").unwrap();
        let start = Instant::now();
        // A child that ignores SIGTERM, so the group needs SIGKILL too.
        let result = sh(
            "echo $$ > pgid; (trap '' TERM; sleep 30) & sleep 30",
            Duration::from_millis(300),
            dir.path(),
        );
        let took = start.elapsed();
        assert!(!result.passed);
        assert_eq!(result.reason, "timed out after 300ms");
        assert_eq!(result.facts["timed_out"], true);
        assert_eq!(result.facts["signal"], 15, "the shell took SIGTERM");
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took < Duration::from_secs(10), "{took:?}");
        let pgid: i32 = std::fs::read_to_string(dir.path().join("pgid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(
            crate::run::job::group_members(pgid as u32),
            Vec::<u32>::new(),
            "nothing of the group is alive"
        );
        // The orphans killed last are gone for good once init has collected them (which some
        // inits do only every few seconds).
        let group = nix::unistd::Pid::from_raw(pgid);
        let collected = Instant::now() + Duration::from_secs(10);
        while nix::sys::signal::killpg(group, None).is_ok() && Instant::now() < collected {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            nix::sys::signal::killpg(group, None),
            Err(nix::errno::Errno::ESRCH),
            "the process group is gone"
        );
    }

    #[test]
    fn a_background_process_holding_the_pipe_does_not_hold_the_gate() {
        let dir = tempfile::tempdir().unwrap();
        let start = Instant::now();
        let result = sh(
            "echo $$ > pgid; sleep 30 & echo hi",
            Duration::from_secs(3),
            dir.path(),
        );
        let took = start.elapsed();
        assert!(took < Duration::from_secs(3), "{took:?}");
        assert!(result.passed, "{result:?}");
        assert!(
            result
                .reason
                .ends_with("(what it left running was stopped)"),
            "{}",
            result.reason
        );
        assert_eq!(result.facts["output"], "hi\n");
        let pgid: u32 = std::fs::read_to_string(dir.path().join("pgid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(crate::run::job::group_members(pgid).is_empty());

        // And one whose leader hangs too is still stopped at its timeout.
        let start = Instant::now();
        let result = sh(
            "sleep 30 & echo hi; sleep 30",
            Duration::from_millis(300),
            dir.path(),
        );
        assert!(!result.passed);
        assert_eq!(result.reason, "timed out after 300ms");
        assert_eq!(result.facts["output"], "hi\n");
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn long_output_keeps_its_tail_after_a_marker() {
        let dir = tempfile::tempdir().unwrap();
        // 200,000 numbered lines: far more than a pipe holds and than the limit.
        let result = sh("seq 1 200000; echo done >&2", LONG, dir.path());
        assert!(result.passed, "{}", result.reason);
        let output = result.facts["output"].as_str().unwrap();
        let full: String = (1..=200000).map(|i| format!("{i}\n")).collect::<String>() + "done\n";
        let cut = full.len() - OUTPUT_LIMIT;
        let (marker, body) = output.split_once('\n').unwrap();
        assert_eq!(marker, format!("[… {cut} bytes cut]"));
        assert_eq!(body, &full[cut..]);
        assert!(body.ends_with("199999\n200000\ndone\n"));
    }

    #[test]
    fn the_tail_replaces_invalid_utf8_and_never_starts_in_a_character() {
        let mut tail = Tail::default();
        tail.push(b"\xff ok\n");
        assert_eq!(tail.text().0, "\u{fffd} ok\n");
        // The last OUTPUT_LIMIT bytes begin with the second byte of the `é`.
        let mut tail = Tail::default();
        tail.push("é".as_bytes());
        tail.push(&vec![b'a'; OUTPUT_LIMIT - 1]);
        let (text, body) = tail.text();
        assert_eq!(body, "a".repeat(OUTPUT_LIMIT - 1));
        assert_eq!(text, format!("[… 2 bytes cut]\n{body}"));
        let mut tail = Tail::default();
        tail.push("é".repeat(OUTPUT_LIMIT).as_bytes());
        let (text, body) = tail.text();
        assert_eq!(body.len(), OUTPUT_LIMIT);
        assert!(text.starts_with(&format!("[… {OUTPUT_LIMIT} bytes cut]\né")));
    }

    #[test]
    fn the_last_line_is_the_last_that_shows_something() {
        assert_eq!(last_line("a\nb\n\n  \n"), Some("b".into()));
        assert_eq!(last_line("10%\r50%\r100%\r\n"), Some("100%".into()));
        assert_eq!(last_line(" \n"), None);
        assert_eq!(last_line(&"x".repeat(300)).unwrap().chars().count(), 201);
    }
}
