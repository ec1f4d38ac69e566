//! From the bytes of a run's logs to the machine's inputs: the one policy that a real run's
//! supervisor and a scenario's replay both follow, so that scenarios test what real runs do.
//!
//! A [`Feed`] assembles lines from the chunks it is given (a partial last line waits for the
//! rest; a line is kept up to [`MAX_LINE_BYTES`] and the rest counted as cut; a `\r` before the
//! line break is dropped), classifies them, and keeps the facts the log tells: the job's last
//! line that is not blank (of the job's own log only) and the latest value of every metric.
//! Those facts are inputs too, given just before the input they must be current for: before an
//! incident, here, and before any other input, by the caller asking for [`Feed::facts`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Classifier, Finding, Record, Rules, Stamp, MAX_LINE_BYTES};
use crate::machine::Input;

/// How much of the log's last line the facts keep.
pub const LAST_LINE_BYTES: usize = 2000;

/// Where in which log an input was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// The log: 0 for the job's log, then the protocol's `follow` files in order.
    pub source: usize,
    /// The line's number in it, from 1.
    pub line: u64,
}

/// An input read from the logs, with the line an incident was read at.
#[derive(Debug, Clone, PartialEq)]
pub struct Fed {
    /// The input.
    pub input: Input,
    /// For an incident: where it was read.
    pub line: Option<LogLine>,
}

/// The logs of one run, being read.
#[derive(Clone)]
pub struct Feed {
    sources: Vec<Source>,
    facts: Facts,
    /// How progress entries are timed, when the job has a cadence.
    cadence: Option<CadenceSpec>,
    /// The time of the current process's last progress entry.
    last_entry: Option<f64>,
    /// Entries up to this line of the job's log were counted by an earlier reader.
    cadence_through: u64,
}

/// One log being read.
#[derive(Clone)]
struct Source {
    classifier: Classifier,
    /// The start of a line whose end has not been read yet (at most [`MAX_LINE_BYTES`]).
    partial: Vec<u8>,
    /// How many bytes of that line were dropped beyond [`MAX_LINE_BYTES`].
    cut: usize,
    /// Incidents up to this line were taken before (by a supervisor that restarted): not again.
    skip_through: u64,
}

/// How the job's progress entries are spaced: the records that carry their time under `key`
/// (seconds since the epoch), against `min` and `max`.
#[derive(Debug, Clone, PartialEq)]
pub struct CadenceSpec {
    /// The record key of an entry's time.
    pub key: String,
    /// Entries closer together than this are too close.
    pub min: Option<std::time::Duration>,
    /// Entries further apart than this are too far.
    pub max: Option<std::time::Duration>,
}

/// The spacing of progress entries read since the facts were last given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Spacing {
    /// Entries read.
    pub records: u64,
    /// Gaps between consecutive entries of one process.
    pub gaps: u64,
    /// Gaps shorter than the cadence's `min`.
    pub too_close: u64,
    /// Gaps longer than the cadence's `max`.
    pub too_far: u64,
    /// The shortest gap, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_gap: Option<f64>,
    /// The longest gap, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_gap: Option<f64>,
    /// The first gap out of bounds: when it ended (seconds since the epoch) and how long it
    /// was (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_violation: Option<(f64, f64)>,
    /// The last entry counted: its line in the job's log and its time, so that a supervisor
    /// that reads the log again after a restart counts no entry twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<(u64, f64)>,
}

impl Spacing {
    /// Whether nothing was read.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Takes the spacing read after this into account.
    pub fn extend(&mut self, later: &Spacing) {
        self.records += later.records;
        self.gaps += later.gaps;
        self.too_close += later.too_close;
        self.too_far += later.too_far;
        self.min_gap = fold(self.min_gap, later.min_gap, f64::min);
        self.max_gap = fold(self.max_gap, later.max_gap, f64::max);
        self.first_violation = self.first_violation.or(later.first_violation);
        self.last = later.last.or(self.last);
    }
}

fn fold(a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(f(a, b)),
        (a, b) => a.or(b),
    }
}

/// What the logs told since the facts were last given.
#[derive(Clone, Default)]
struct Facts {
    /// The job's last line that was not blank, as read (made text only when given).
    last_line: Vec<u8>,
    record: Record,
    spacing: Spacing,
    repeated: Option<(u64, DateTime<Utc>)>,
    dirty: bool,
}

impl Facts {
    /// Keeps `line` as the job's last line, unless it is blank; says whether it was kept.
    fn keep_last_line(&mut self, line: &[u8]) -> bool {
        if !line.iter().any(|b| !b.is_ascii_whitespace()) {
            return false;
        }
        let kept = line.len().min(LAST_LINE_BYTES);
        self.last_line.clear();
        self.last_line.extend_from_slice(&line[..kept]);
        self.dirty = true;
        true
    }
}

impl Feed {
    /// A feed of `sources` logs (the job's, then the `follow` files), classified by `rules`
    /// (a [`Machine`](crate::machine::Machine)'s), whose metric rules read `vars`: the run's as
    /// it started ([`Instance::vars`](crate::machine::Instance::vars) of the start's outcome).
    /// A var a transition sets later is still read with its starting value.
    pub fn new(
        rules: &Arc<Rules>,
        vars: &BTreeMap<String, minijinja::Value>,
        sources: usize,
    ) -> Feed {
        let classifier = Classifier::with_rules(rules.clone()).with_vars(vars);
        let source = Source {
            classifier,
            partial: Vec::new(),
            cut: 0,
            skip_through: 0,
        };
        Feed {
            sources: vec![source; sources.max(1)],
            facts: Facts::default(),
            cadence: None,
            last_entry: None,
            cadence_through: 0,
        }
    }

    /// Times the job's progress entries against `cadence` (the run's `job.cadence`).
    pub fn set_cadence(&mut self, cadence: Option<CadenceSpec>) {
        // The job's own log: a followed file's entries would interleave with it.
        let key = cadence.as_ref().map(|c| c.key.as_str());
        self.sources[0].classifier.set_stamp(key);
        self.cadence = cadence;
    }

    /// A new process of the job started: the gap to its first entry is not the job's cadence,
    /// and an error it reports is a new incident, even one the last process reported a moment
    /// ago (a retry that fails again).
    pub fn new_process(&mut self) {
        self.last_entry = None;
        for source in &mut self.sources {
            source.classifier.new_process();
        }
    }

    /// Goes on counting after `last`, the last entry an earlier reader counted (its line in the
    /// job's log and its time): entries up to that line are not counted again.
    pub fn resume_cadence(&mut self, last: Option<(u64, f64)>) {
        if let Some((line, at)) = last {
            self.cadence_through = line;
            self.last_entry = Some(at);
        }
    }

    /// Counts the gap before a progress entry of the job's log, stamped as `stamp` says.
    fn space(&mut self, stamp: Stamp) {
        let Some(cadence) = &self.cadence else { return };
        let Stamp { line_number, at } = stamp;
        if line_number <= self.cadence_through {
            return;
        }
        let spacing = &mut self.facts.spacing;
        spacing.records += 1;
        if let Some(last) = self.last_entry {
            let gap = (at - last).max(0.0);
            spacing.gaps += 1;
            spacing.min_gap = fold(spacing.min_gap, Some(gap), f64::min);
            spacing.max_gap = fold(spacing.max_gap, Some(gap), f64::max);
            let close = cadence.min.is_some_and(|min| gap < min.as_secs_f64());
            let far = cadence.max.is_some_and(|max| gap > max.as_secs_f64());
            spacing.too_close += u64::from(close);
            spacing.too_far += u64::from(far);
            if (close || far) && spacing.first_violation.is_none() {
                spacing.first_violation = Some((at, gap));
            }
        }
        self.last_entry = Some(at);
        spacing.last = Some((line_number, at));
        self.facts.dirty = true;
    }

    /// Goes on with `source` where an earlier reader left it: `lines` lines were read before
    /// the offset it is read from, and incidents up to line `skip_through` were taken already.
    pub fn resume(&mut self, source: usize, lines: u64, skip_through: u64) {
        let source = &mut self.sources[source];
        source.classifier.resume_at_line(lines);
        source.skip_through = skip_through;
    }

    /// Reads `bytes` appended to `source` at `at`. Lines of the job's log (source 0) are also
    /// given to `echo`, without their line break, when there is one.
    pub fn read(
        &mut self,
        source: usize,
        bytes: &[u8],
        at: DateTime<Utc>,
        out: &mut Vec<Fed>,
        mut echo: Option<&mut dyn FnMut(&str)>,
    ) {
        let mut start = 0;
        // A lone `\r` ends a line too: progress bars redraw with it and never end theirs.
        for end in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            let s = &mut self.sources[source];
            if echo.is_none() && s.partial.is_empty() && s.cut == 0 {
                // Whole lines from here on, none echoed: read as blocks.
                start = self.read_block(source, bytes, start, at, out);
                break;
            }
            let open = bytes[end] == b'\r';
            let nothing_since = start == end && s.partial.is_empty() && s.cut == 0;
            if !open && nothing_since && s.classifier.mid_line() {
                // The `\n` of a `\r\n`.
                s.classifier.end_open_line();
            } else {
                self.keep(source, &bytes[start..end]);
                let echo = echo.as_mut().map(|e| &mut **e as &mut dyn FnMut(&str));
                self.end_line(source, open, at, out, echo);
            }
            start = end + 1;
        }
        self.keep(source, &bytes[start..]);
    }

    /// Reads the whole lines of `bytes` from `start` on, a block at a time (as
    /// [`Classifier::push_lines`] ends them: before an incident, the facts are as of its
    /// line); returns where the last of them ended.
    fn read_block(
        &mut self,
        source: usize,
        bytes: &[u8],
        start: usize,
        at: DateTime<Utc>,
        out: &mut Vec<Fed>,
    ) -> usize {
        let whole =
            memchr::memrchr2(b'\n', b'\r', &bytes[start..]).map_or(start, |e| start + e + 1);
        let mut from = start;
        while from < whole {
            let mut findings = Vec::new();
            let block = &bytes[from..whole];
            let read = self.sources[source]
                .classifier
                .push_lines(block, at, &mut findings);
            if read == 0 {
                break;
            }
            if source == 0 {
                // The last line that is not blank, as `end_line` keeps it: the lines read end
                // with a line end, and each is what lies between two.
                let lines = &block[..read];
                let mut end = read - 1;
                loop {
                    let begin = memchr::memrchr2(b'\n', b'\r', &lines[..end]).map_or(0, |e| e + 1);
                    if self
                        .facts
                        .keep_last_line(&lines[begin..end.min(begin + MAX_LINE_BYTES)])
                        || begin == 0
                    {
                        break;
                    }
                    end = begin - 1;
                }
            }
            from += read;
            self.take(source, findings, out);
        }
        whole
    }

    /// `source` was truncated or replaced (rotated): a partial line was the old file's last.
    pub fn file_changed(
        &mut self,
        source: usize,
        at: DateTime<Utc>,
        out: &mut Vec<Fed>,
        echo: Option<&mut dyn FnMut(&str)>,
    ) {
        if !self.sources[source].partial.is_empty() {
            self.end_line(source, false, at, out, echo);
        }
    }

    /// `source` has been quiet a while: incidents still waiting for their `after` lines are
    /// given with the lines they have, and a traceback whose exception line was read is ended.
    pub fn quiet(&mut self, source: usize, at: DateTime<Utc>, out: &mut Vec<Fed>) {
        let mut findings = Vec::new();
        self.sources[source]
            .classifier
            .flush(at, false, &mut findings);
        self.take(source, findings, out);
    }

    /// `source` will not grow (the job ended): its partial line is its last, and everything
    /// waiting is given, a traceback cut short as it is.
    pub fn end(
        &mut self,
        source: usize,
        at: DateTime<Utc>,
        out: &mut Vec<Fed>,
        echo: Option<&mut dyn FnMut(&str)>,
    ) {
        let s = &self.sources[source];
        if !s.partial.is_empty() || s.cut > 0 {
            self.end_line(source, false, at, out, echo);
        }
        let mut findings = Vec::new();
        self.sources[source]
            .classifier
            .flush(at, true, &mut findings);
        self.take(source, findings, out);
    }

    /// The facts read since they were last given, as inputs: the metrics and last line, then
    /// the current incident's repeat count. Nothing when nothing is new.
    pub fn facts(&mut self, out: &mut Vec<Fed>) {
        if !self.facts.dirty {
            return;
        }
        let facts = std::mem::take(&mut self.facts);
        let records = if facts.record.is_empty() {
            Vec::new()
        } else {
            vec![facts.record]
        };
        let last_line = (!facts.last_line.is_empty()).then(|| {
            let text = String::from_utf8_lossy(&facts.last_line);
            text.trim_end_matches('\r').to_owned()
        });
        let spacing = facts.spacing;
        if last_line.is_some() || !records.is_empty() || !spacing.is_empty() {
            let input = Input::Log {
                last_line,
                records,
                spacing,
            };
            out.push(Fed { input, line: None });
        }
        if let Some((count, last_seen)) = facts.repeated {
            let input = Input::Repeated { count, last_seen };
            out.push(Fed { input, line: None });
        }
    }

    /// Whether everything read of `source` is classified and nothing waits: a point to resume
    /// from.
    pub fn at_rest(&self, source: usize) -> bool {
        let s = &self.sources[source];
        s.partial.is_empty() && s.cut == 0 && s.classifier.is_idle() && !s.classifier.mid_line()
    }

    /// Whether `source` has nothing waiting to be completed by later lines or by quiet.
    pub fn is_idle(&self, source: usize) -> bool {
        self.sources[source].classifier.is_idle()
    }

    /// What of `source` waits for its quiet (see [`super::Classifier::settling`]): `None`,
    /// nothing; `Some(true)`, a traceback a chained one may still follow.
    pub fn settling(&self, source: usize) -> Option<bool> {
        self.sources[source].classifier.settling()
    }

    /// How many whole lines of `source` were read.
    pub fn lines_read(&self, source: usize) -> u64 {
        self.sources[source].classifier.lines_read()
    }

    /// Keeps the start of a line, at most [`MAX_LINE_BYTES`]; counts the rest as cut.
    fn keep(&mut self, source: usize, bytes: &[u8]) {
        let s = &mut self.sources[source];
        let room = MAX_LINE_BYTES.saturating_sub(s.partial.len());
        let kept = room.min(bytes.len());
        s.partial.extend_from_slice(&bytes[..kept]);
        s.cut += bytes.len() - kept;
    }

    /// A whole line was read (`open`: it ended at a `\r`): classify it, and keep it as the
    /// last line of the job's log.
    fn end_line(
        &mut self,
        source: usize,
        open: bool,
        at: DateTime<Utc>,
        out: &mut Vec<Fed>,
        echo: Option<&mut dyn FnMut(&str)>,
    ) {
        let mut findings = Vec::new();
        let s = &mut self.sources[source];
        if open {
            s.classifier.push_open(&s.partial, s.cut, at, &mut findings);
        } else {
            s.classifier.push_cut(&s.partial, s.cut, at, &mut findings);
        }
        if source == 0 {
            if let Some(echo) = echo {
                let line = String::from_utf8_lossy(&s.partial);
                echo(line.strip_suffix('\r').unwrap_or(&line));
            }
            self.facts.keep_last_line(&s.partial);
        }
        let s = &mut self.sources[source];
        s.partial.clear();
        s.cut = 0;
        self.take(source, findings, out);
    }

    fn take(&mut self, source: usize, findings: Vec<Finding>, out: &mut Vec<Fed>) {
        for finding in findings {
            match finding {
                Finding::Metric { record, stamps, .. } => {
                    // Only the job's log is stamped (`set_cadence`).
                    for stamp in stamps {
                        self.space(stamp);
                    }
                    self.facts.record.extend(record);
                    self.facts.dirty = true;
                }
                Finding::Repeated {
                    count, last_seen, ..
                } => {
                    self.facts.repeated = Some((count, last_seen));
                    self.facts.dirty = true;
                }
                Finding::Incident(incident) => {
                    let line = incident.line_number;
                    if line <= self.sources[source].skip_through {
                        continue;
                    }
                    // Guards and messages see the facts as of the incident.
                    self.facts(out);
                    out.push(Fed {
                        input: Input::Incident(incident),
                        line: Some(LogLine { source, line }),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const PROTOCOL: &str = "protocol: p
categories:
  - id: implementation
    owner: code_translator
    severity: critical
    match: [{ exception: [AttributeError] }]
  - id: divergence
    owner: code_translator
    severity: warning
    match: [{ metric: '(loss | abs) > 5' }]
states:
  a: { initial: true }
  b: { final: true }
transitions:
  - { from: a, to: b, on: terminate }
events:
  terminate: { from: [r] }
roles:
  r: {}
";

    fn feed() -> Feed {
        let protocol = crate::protocol::parse(Path::new("p.yaml"), PROTOCOL.as_bytes()).unwrap();
        let machine = crate::machine::Machine::new(protocol, &Default::default()).unwrap();
        Feed::new(machine.rules(), &Default::default(), 2)
    }

    fn at() -> DateTime<Utc> {
        "2026-01-19T12:00:00Z".parse().unwrap()
    }

    const LOG: &[u8] = b"step=1 loss=0.5\r\nTraceback (most recent call last):\n  File \"m.py\", line 3, in <module>\nAttributeError: 'X' object has no attribute 'y'\nstep=2 loss=0.4\n   \n";

    /// What a feed gives for `log` read in chunks of `size`, the log then quiet.
    fn inputs(log: &[u8], size: usize) -> Vec<Fed> {
        let mut feed = feed();
        let mut out = Vec::new();
        for chunk in log.chunks(size) {
            feed.read(0, chunk, at(), &mut out, None);
        }
        feed.quiet(0, at(), &mut out);
        feed.facts(&mut out);
        out
    }

    #[test]
    fn the_inputs_do_not_depend_on_how_the_log_was_chunked() {
        let whole = inputs(LOG, LOG.len());
        for size in [1, 2, 3, 7, 64] {
            assert_eq!(inputs(LOG, size), whole, "chunks of {size}");
        }
    }

    #[test]
    fn facts_come_before_the_incident_and_blank_lines_are_not_the_last_line() {
        let fed = inputs(LOG, LOG.len());
        let kinds: Vec<String> = fed
            .iter()
            .map(|f| match &f.input {
                Input::Log {
                    last_line, records, ..
                } => {
                    format!("log {last_line:?} {}", records.len())
                }
                Input::Incident(i) => format!("incident {:?} at {:?}", i.exception, f.line),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                // The incident waited for its `after` lines until the log was quiet: the
                // facts are those of then, the blank last line left out.
                "log Some(\"step=2 loss=0.4\") 1".to_owned(),
                format!(
                    "incident Some(\"AttributeError\") at {:?}",
                    Some(LogLine { source: 0, line: 4 })
                ),
            ]
        );
    }

    #[test]
    fn a_partial_line_waits_and_an_end_completes_it() {
        let mut feed = feed();
        let mut out = Vec::new();
        let mut echoed = Vec::new();
        feed.read(0, b"half a li", at(), &mut out, None);
        assert!(!feed.at_rest(0));
        feed.read(
            0,
            b"ne\nrest",
            at(),
            &mut out,
            Some(&mut |l: &str| echoed.push(l.to_owned())),
        );
        assert_eq!(echoed, ["half a line"]);
        feed.end(
            0,
            at(),
            &mut out,
            Some(&mut |l: &str| echoed.push(l.to_owned())),
        );
        assert_eq!(echoed, ["half a line", "rest"]);
        assert!(feed.at_rest(0));
        assert_eq!(feed.lines_read(0), 2);
    }

    #[test]
    fn a_long_line_is_cut_and_other_logs_do_not_set_the_last_line() {
        let mut feed = feed();
        let mut out = Vec::new();
        let long = vec![b'x'; MAX_LINE_BYTES + 10];
        feed.read(1, &long, at(), &mut out, None);
        feed.read(1, b"\n", at(), &mut out, None);
        feed.facts(&mut out);
        assert_eq!(
            out,
            [],
            "a followed file's lines are not the job's last line"
        );
        feed.read(0, &long, at(), &mut out, None);
        feed.read(0, b"\n", at(), &mut out, None);
        feed.facts(&mut out);
        let Some(Fed {
            input:
                Input::Log {
                    last_line: Some(line),
                    ..
                },
            ..
        }) = out.first()
        else {
            panic!("no last line: {out:?}")
        };
        assert_eq!(line.len(), LAST_LINE_BYTES);
    }

    #[test]
    fn a_metric_rule_that_needs_its_template_is_evaluated_in_the_machines_environment() {
        let mut feed = feed();
        let mut out = Vec::new();
        feed.read(0, b"step=1 loss=-9\nstep=2 loss=1\n", at(), &mut out, None);
        feed.quiet(0, at(), &mut out);
        let categories: Vec<&str> = out
            .iter()
            .filter_map(|f| match &f.input {
                Input::Incident(incident) => Some(incident.category.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            categories,
            ["divergence"],
            "a filter is not evaluated natively"
        );
    }

    #[test]
    fn incidents_taken_before_a_restart_are_not_given_again() {
        let mut feed = feed();
        feed.resume(0, 0, 4);
        let mut out = Vec::new();
        feed.read(0, LOG, at(), &mut out, None);
        feed.quiet(0, at(), &mut out);
        assert!(
            !out.iter().any(|f| matches!(f.input, Input::Incident(_))),
            "{out:?}"
        );
    }

    fn spacing(fed: &[Fed]) -> Spacing {
        let mut total = Spacing::default();
        for fed in fed {
            if let Input::Log { spacing, .. } = &fed.input {
                total.extend(spacing);
            }
        }
        total
    }

    #[test]
    fn progress_entries_are_spaced_once_even_when_a_new_reader_reads_them_again() {
        let cadence = CadenceSpec {
            key: "timestamp".into(),
            min: Some(std::time::Duration::from_secs(30)),
            max: Some(std::time::Duration::from_secs(120)),
        };
        let log =
            b"{\"timestamp\": 1000, \"loss\": 1}\n{\"timestamp\": 1060}\n{\"timestamp\": 1065}\n";
        let mut first = feed();
        first.set_cadence(Some(cadence.clone()));
        let mut out = Vec::new();
        first.read(0, log, at(), &mut out, None);
        first.facts(&mut out);
        let counted = spacing(&out);
        assert_eq!(
            (counted.records, counted.gaps, counted.too_close),
            (3, 2, 1)
        );
        assert_eq!(counted.last, Some((3, 1065.0)));

        // A supervisor restarted reads the log from its start again, then one more entry.
        let mut again = feed();
        again.set_cadence(Some(cadence));
        again.resume_cadence(counted.last);
        let mut out = Vec::new();
        again.read(0, log, at(), &mut out, None);
        again.read(0, b"{\"timestamp\": 1300}\n", at(), &mut out, None);
        again.facts(&mut out);
        let more = spacing(&out);
        assert_eq!((more.records, more.gaps, more.too_far), (1, 1, 1));
        assert_eq!(more.max_gap, Some(235.0));
    }
}
