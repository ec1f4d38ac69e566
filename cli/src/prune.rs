//! `warden rm` and `warden gc`: printing only; the engine's `run::prune` decides.

use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, SecondsFormat, Utc};
use warden::run::prune::{self, Removed};

use crate::IO_ERROR;

fn ended(removed: &Removed) -> String {
    match (&removed.state, removed.ended_at) {
        (Some(state), Some(at)) => format!(
            " (ended in `{state}` at {})",
            at.to_rfc3339_opts(SecondsFormat::Secs, true)
        ),
        _ => String::new(),
    }
}

/// `warden rm RUN...`: every run given that is not live is removed; exit 1 when one is refused.
pub(crate) fn rm(dir: &Path, ids: &[String]) -> ExitCode {
    let mut worst = 0;
    for id in ids {
        match prune::remove(dir, id) {
            Ok(removed) => println!("removed {}{}", removed.id, ended(&removed)),
            Err(error) => {
                eprintln!("error: {error}");
                worst = worst.max(crate::runs::exit_code(&error));
            }
        }
    }
    ExitCode::from(worst)
}

/// `warden gc`: removes the runs that ended at least `older_than` ago.
pub(crate) fn gc(dir: &Path, older_than: &str, dry_run: bool, now: DateTime<Utc>) -> ExitCode {
    let age = match warden::duration::parse(older_than) {
        Ok(age) => age,
        Err(error) => {
            eprintln!("error: --older-than: {error}");
            return ExitCode::from(IO_ERROR);
        }
    };
    let collected = match prune::gc(dir, age, now, dry_run) {
        Ok(collected) => collected,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(IO_ERROR);
        }
    };
    let verb = if dry_run { "would remove" } else { "removed" };
    for removed in &collected.removed {
        println!("{verb} {}{}", removed.id, ended(removed));
    }
    for (id, why) in &collected.kept {
        println!("kept {id}: {why}");
    }
    let runs = |n: usize| format!("{n} run{}", if n == 1 { "" } else { "s" });
    println!(
        "{verb} {}; kept {} that ended within {older_than}, {} not ended{}",
        runs(collected.removed.len()),
        collected.recent,
        collected.unended,
        if collected.kept.is_empty() {
            String::new()
        } else {
            format!(", {} that could not be removed", collected.kept.len())
        }
    );
    ExitCode::SUCCESS
}
