//! Evaluating a gate's [`Probe`]: running its command, looking at its files, reading its table.
//!
//! Each kind has its module: [`command`] runs a program, [`files`] looks at files, [`table`]
//! reads a CSV or TSV file. Whatever goes wrong is a failed gate with a one-line reason that
//! names the command, the file, the column or the row; nothing here panics on what the world
//! holds.

mod command;
mod files;
mod table;

use std::path::Path;

use chrono::{DateTime, Utc};

use super::{GateResult, Probe};

/// Evaluates `probe` for `gate` in the working directory `cwd` at `now`. Never panics: whatever
/// goes wrong (a missing file, a malformed table, a command that cannot start or hangs) is a
/// failed gate with its reason.
pub fn evaluate(gate: &str, probe: &Probe, cwd: &Path, now: DateTime<Utc>) -> GateResult {
    // Nothing looks at the clock yet: times a probe compares with are resolved by the machine.
    let _ = now;
    match probe {
        Probe::Command {
            argv,
            shell,
            timeout,
        } => command::evaluate(gate, argv, *shell, *timeout, cwd),
        Probe::Files {
            paths,
            non_empty,
            modified_after,
        } => files::evaluate(gate, paths, *non_empty, *modified_after, cwd),
        Probe::Table {
            path,
            delimiter,
            rows,
            finite,
            varying,
            columns,
        } => table::evaluate(
            gate,
            &table::Spec {
                path,
                delimiter: *delimiter,
                rows,
                finite: *finite,
                varying: *varying,
                columns,
            },
            cwd,
        ),
    }
}

/// `text` as a one-line reason quotes it: control characters escaped, and at most `limit`
/// characters, the rest said as `…`.
fn shown(text: &str, limit: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == limit {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The first `limit` of `items` joined with ", ", then "and N more" for the rest.
fn first_few<S: AsRef<str>>(items: &[S], limit: usize) -> String {
    let mut out = items
        .iter()
        .take(limit)
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > limit {
        out.push_str(&format!(" and {} more", items.len() - limit));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_text_stays_on_one_line_and_short() {
        assert_eq!(shown("a\nb\tc", 10), "a\\nb\\tc");
        assert_eq!(shown("abcdef", 3), "abc…");
        assert_eq!(shown("abc", 3), "abc");
        assert_eq!(shown("ééé", 2), "éé…");
    }

    #[test]
    fn long_lists_are_cut_with_a_count() {
        assert_eq!(first_few(&["a", "b"], 3), "a, b");
        assert_eq!(
            first_few(&["a", "b", "c", "d", "e"], 3),
            "a, b, c and 2 more"
        );
    }
}
