//! `warden test --review`: each pending transcript shown as a diff against the stored one,
//! then accepted, rejected or skipped as the person at the terminal answers.

use std::fmt;
use std::io::{BufRead, Write};

use warden::scenario::{self, suite::Pending};

/// What a review did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) accepted: usize,
    pub(crate) rejected: usize,
    pub(crate) skipped: usize,
}

impl Tally {
    /// How many scenarios still do not match their stored transcript.
    pub(crate) fn left(&self) -> usize {
        self.rejected + self.skipped
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reviewed: {} accepted, {} rejected, {} skipped",
            self.accepted, self.rejected, self.skipped
        )
    }
}

/// One answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Accept,
    Reject,
    Skip,
    /// Skip this one and every one after it.
    Quit,
}

fn answer(line: &str) -> Option<Answer> {
    match line.trim().to_ascii_lowercase().as_str() {
        "a" | "accept" => Some(Answer::Accept),
        "r" | "reject" => Some(Answer::Reject),
        "s" | "skip" => Some(Answer::Skip),
        "q" | "quit" => Some(Answer::Quit),
        _ => None,
    }
}

/// Walks `pending` in order: shows each, asks on `input`, and does what is answered. The end
/// of `input` skips what is left.
pub(crate) fn walk(
    pending: &[Pending],
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<Tally, Box<dyn std::error::Error>> {
    let mut tally = Tally::default();
    let mut quit = false;
    for (index, one) in pending.iter().enumerate() {
        if quit {
            tally.skipped += 1;
            continue;
        }
        let (stored, new) = one.texts()?;
        writeln!(
            out,
            "\n── {} of {}: {} ──",
            index + 1,
            pending.len(),
            one.scenario.display()
        )?;
        match &stored {
            Some(stored) => {
                writeln!(out, "stored: {}", one.stored_path.display())?;
                write!(out, "{}", scenario::diff(stored, &new))?;
            }
            None => {
                writeln!(
                    out,
                    "new transcript (nothing stored at {} yet):",
                    one.stored_path.display()
                )?;
                for line in new.lines() {
                    writeln!(out, "+{line}")?;
                }
            }
        }
        let chosen = loop {
            write!(out, "accept (a), reject (r), skip (s), quit (q)? ")?;
            out.flush()?;
            let mut line = String::new();
            if input.read_line(&mut line)? == 0 {
                writeln!(out)?;
                break Answer::Quit;
            }
            match answer(&line) {
                Some(chosen) => break chosen,
                None => writeln!(out, "answer a, r, s or q")?,
            }
        };
        match chosen {
            Answer::Accept => {
                one.accept()?;
                tally.accepted += 1;
                writeln!(out, "accepted {}", one.stored_path.display())?;
            }
            Answer::Reject => {
                one.reject()?;
                tally.rejected += 1;
                writeln!(out, "rejected: removed {}", one.pending.display())?;
            }
            Answer::Skip => tally.skipped += 1,
            Answer::Quit => {
                tally.skipped += 1;
                quit = true;
            }
        }
    }
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Three scenarios in `dir`: `a` and `b` with a stored and a pending transcript, `c` with
    /// a pending one only.
    fn pending(dir: &Path) -> Vec<Pending> {
        let mut all = Vec::new();
        for (name, stored) in [("a", Some("one\ntwo\n")), ("b", Some("x\n")), ("c", None)] {
            let scenario = dir.join(format!("{name}.yaml"));
            std::fs::write(&scenario, "").unwrap();
            if let Some(stored) = stored {
                std::fs::write(scenario::transcript_path(&scenario), stored).unwrap();
            }
            let new = format!("one\n{name} new\n");
            std::fs::write(scenario::suite::pending_path(&scenario), new).unwrap();
            all.push(Pending::of(&scenario).unwrap());
        }
        all
    }

    fn read(path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }

    #[test]
    fn each_answer_does_what_it_says() {
        let dir = tempfile::tempdir().unwrap();
        let all = pending(dir.path());
        let mut out = Vec::new();
        let tally = walk(&all, &mut "what\na\nr\ns\n".as_bytes(), &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            tally,
            Tally {
                accepted: 1,
                rejected: 1,
                skipped: 1
            }
        );
        assert_eq!(tally.left(), 2);
        // Accepted: stored, nothing pending.
        assert_eq!(read(&all[0].stored_path).as_deref(), Some("one\na new\n"));
        assert!(read(&all[0].pending).is_none());
        // Rejected: the stored one as it was, nothing pending.
        assert_eq!(read(&all[1].stored_path).as_deref(), Some("x\n"));
        assert!(read(&all[1].pending).is_none());
        // Skipped: still pending, nothing stored.
        assert!(read(&all[2].stored_path).is_none());
        assert_eq!(read(&all[2].pending).as_deref(), Some("one\nc new\n"));
        assert!(out.contains("answer a, r, s or q\n"), "{out}");
        assert!(out.contains("-two\n+a new\n"), "the diff is shown: {out}");
        assert!(
            out.contains("new transcript (nothing stored at ") && out.contains("+one\n+c new\n"),
            "{out}"
        );
        assert!(out.contains("── 3 of 3: "), "{out}");
    }

    #[test]
    fn quit_and_the_end_of_input_skip_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let all = pending(dir.path());
        let tally = walk(&all, &mut "q\n".as_bytes(), &mut Vec::new()).unwrap();
        assert_eq!(tally.skipped, 3);
        let tally = walk(&all, &mut "accept\n".as_bytes(), &mut Vec::new()).unwrap();
        assert_eq!((tally.accepted, tally.skipped), (1, 2));
        assert!(all.iter().skip(1).all(|p| p.pending.exists()));
    }
}
