//! P080: the job's `launcher` and its `slurm` settings do not fit together.
//!
//! **Why.** Warden submits a `launcher: slurm` job with `sbatch`, and reads what it writes
//! from the file it gave `--output` and `--error`: an argument in `slurm.args` that sets the
//! output, the error file, the job's name or `--parsable` again would send the log where the
//! supervisor does not read, or make the job id unreadable. `slurm:` settings under a `local`
//! launcher (the default) are never used, and say the author meant a cluster. The state is
//! asked of the cluster's controller every `slurm.poll`: less than a second loads it for
//! nothing, and a value that is not a duration cannot be used at all.
//!
//! **Example.**
//! ```yaml
//! job:
//!   command: [python, train.py]
//!   log: train.log
//!   slurm: { args: [--partition=gpu] }     # P080: the launcher is `local`
//! ```

use super::Cx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::machine::MIN_SLURM_POLL;
use crate::protocol::Launcher;

/// The `sbatch` options Warden gives itself, long and short.
const OWN_OPTIONS: &[(&str, Option<&str>)] = &[
    ("--output", Some("-o")),
    ("--error", Some("-e")),
    ("--job-name", Some("-J")),
    ("--parsable", None),
    ("--open-mode", None),
    ("--wrap", None),
];

pub(crate) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    let Some(job) = &cx.protocol.job else {
        return;
    };
    let Some(slurm) = &job.slurm else {
        return;
    };
    let launcher = job.launcher.as_ref().map(|l| l.value).unwrap_or_default();
    if launcher != Launcher::Slurm {
        let at = job.launcher.as_ref().map_or(slurm.span, |l| l.span);
        out.push(
            cx.at(
                Code::P080,
                at,
                "`job.slurm` is given but the job's launcher is `local`: it is never used",
            )
            .with_help("add `launcher: slurm` to `job` to submit the job to Slurm"),
        );
    }
    for arg in &slurm.args {
        let text = arg.as_str().trim();
        let own = OWN_OPTIONS.iter().find(|(long, short)| {
            text == *long
                || text.starts_with(&format!("{long}="))
                || short.is_some_and(|s| text.starts_with(s))
        });
        if let Some((long, _)) = own {
            out.push(
                cx.at(
                    Code::P080,
                    arg.span,
                    format!("`{text}`: Warden sets `{long}` itself"),
                )
                .with_help(
                    "the job's output goes to `job.log`, which the supervisor reads; \
                     remove the argument",
                ),
            );
        }
    }
    if let Some(poll) = &slurm.poll {
        match crate::duration::parse(poll.as_str()) {
            Err(message) => out.push(
                cx.at(Code::P080, poll.span, format!("`slurm.poll`: {message}"))
                    .with_help("write durations like 5s, 30s or 1m"),
            ),
            Ok(every) if every < MIN_SLURM_POLL => out.push(
                cx.at(
                    Code::P080,
                    poll.span,
                    format!(
                        "`slurm.poll` ({}) is less than a second; Warden asks at most once a second",
                        poll.as_str()
                    ),
                )
                .with_help("Slurm's controller serves the whole cluster; 5s (the default) is plenty"),
            ),
            Ok(_) => {}
        }
    }
}
