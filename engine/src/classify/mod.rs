//! From log lines to incidents and metric records. Pure: lines and their times in, events out.
//!
//! A Python traceback, chained ones included ("During handling of the above exception...", "The
//! above exception was the direct cause..."), is one incident whose exception is the final one.
//! A line outside tracebacks is an incident when a `line` rule matches it; a JSON or `key=value`
//! line is a metric record, and an incident when a `metric` rule holds for it. An incident waits
//! for the five lines after it (its `after` context) or for [`Classifier::flush`]. Words like
//! "Error" in an ordinary line are never incidents by themselves.

mod feed;
mod metric;
mod record;
mod rules;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};

pub use feed::{CadenceSpec, Fed, Feed, LogLine, Spacing, LAST_LINE_BYTES};
pub use record::{to_value as record_value, MetricValue, Record};
pub(crate) use rules::add_metric_templates;
pub use rules::Rules;

use crate::protocol::{IncidentSeverity, Protocol};

/// Lines kept before and after an incident.
pub const CONTEXT_LINES: usize = 5;
/// Longer lines are cut to this many bytes and marked.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// A repeat of an incident this soon after it was reported is counted, not reported again.
pub const REPEAT_WINDOW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

const TRACEBACK_HEADER: &str = "Traceback (most recent call last):";
const CHAIN_HEADERS: [&str; 2] = [
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
];

/// Something that went wrong in the job, classified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Category id, or `uncategorized`.
    pub category: String,
    /// The role that fixes it.
    pub owner: String,
    /// How bad it is.
    pub severity: IncidentSeverity,
    /// The recommended first step, from the category.
    pub action: Option<String>,
    /// The exception (or warning) type, when there is one.
    pub exception: Option<String>,
    /// The exception's message, or the matched line.
    pub message: String,
    /// The log line that raised it: a traceback's final `Type: message` line, or the matched line.
    pub line: String,
    /// That line's number in the log, from 1.
    pub line_number: u64,
    /// The source file of the innermost traceback frame (or of a warning).
    pub file: Option<String>,
    /// The line in that file.
    pub code_line: Option<u64>,
    /// Up to five lines before it (before the traceback's start).
    pub before: Vec<String>,
    /// Up to five lines after it.
    pub after: Vec<String>,
    /// The traceback's lines, empty for a line or metric incident.
    pub traceback: Vec<String>,
    /// The metric record, for a metric rule.
    pub metric: Option<Record>,
    /// How many times it was seen in its reporting window.
    pub count: u64,
    /// When it was first seen.
    pub first_seen: DateTime<Utc>,
    /// When it was last seen.
    pub last_seen: DateTime<Utc>,
    /// The gate whose failure it is, for an incident a failed gate raised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
}

/// What the classifier finds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// A new incident.
    Incident(Box<Incident>),
    /// An incident reported less than a minute ago happened again.
    Repeated {
        /// Its category.
        category: String,
        /// Its exception.
        exception: Option<String>,
        /// Its message.
        message: String,
        /// How many times it has been seen since it was reported.
        count: u64,
        /// This time.
        last_seen: DateTime<Utc>,
    },
    /// A metric record.
    Metric {
        /// Its line number.
        line_number: u64,
        /// Its keys and values.
        record: Record,
    },
}

/// Why a protocol's rules cannot be compiled (`warden check` reports these first).
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    /// A regular expression does not compile.
    #[error("category `{category}`: invalid regular expression: {source}")]
    Regex {
        /// The category.
        category: String,
        /// The error.
        #[source]
        source: regex::Error,
    },
    /// A metric rule does not compile.
    #[error("category `{category}`: invalid metric rule: {source}")]
    Metric {
        /// The category.
        category: String,
        /// The error.
        #[source]
        source: minijinja::Error,
    },
}

/// The state of one log stream being classified.
#[derive(Clone)]
pub struct Classifier {
    rules: Arc<Rules>,
    /// The run's vars that metric rules read, converted once: a name no rule reads is left out,
    /// so that looking up a key the record lacks costs little.
    vars: Arc<Record>,
    exception_line: Regex,
    warning_line: Regex,
    frame_line: Regex,
    line_number: u64,
    recent: VecDeque<String>,
    traceback: Option<Traceback>,
    pending: Vec<Incident>,
    /// When each incident was last reported, and how often it was seen since.
    reported: HashMap<IncidentKey, (DateTime<Utc>, u64)>,
}

/// What makes two incidents the same one: category, exception and message.
#[derive(Clone, PartialEq, Eq, Hash)]
struct IncidentKey {
    category: String,
    exception: Option<String>,
    message: String,
}

#[derive(Clone)]
struct Traceback {
    lines: Vec<String>,
    before: Vec<String>,
    frame: Option<(String, u64)>,
    phase: Phase,
    started: DateTime<Utc>,
}

#[derive(Clone)]
enum Phase {
    /// Reading frames until the exception line.
    Frames,
    /// After an exception line: a chain may follow. Holds the lines read since.
    Ended {
        exception_line: String,
        line_number: u64,
        held: Vec<String>,
    },
}

impl Classifier {
    /// Compiles the protocol's categories, on their own, its metric rules reading the defaults
    /// of its vars (a var without one is not there): a run's classifiers share the rules its
    /// [`Machine`](crate::machine::Machine) compiled and read the run's vars
    /// ([`Classifier::with_rules`], [`Classifier::with_vars`]).
    pub fn new(protocol: &Protocol) -> Result<Classifier, ClassifyError> {
        let mut env = crate::expr::environment();
        add_metric_templates(&mut env, protocol)?;
        let rules = Rules::new(protocol, Arc::new(env))?;
        let classifier = Classifier::with_rules(Arc::new(rules));
        Ok(classifier.with_var_record(record::var_defaults(protocol)))
    }

    /// A classifier of a log by `rules`, its metric rules reading no vars until
    /// [`Classifier::with_vars`] gives them.
    pub fn with_rules(rules: Arc<Rules>) -> Classifier {
        Classifier {
            rules,
            vars: Arc::default(),
            exception_line: Regex::new(r"^([A-Za-z_][A-Za-z0-9_.]*)(?::\s?(.*))?$")
                .expect("valid regex"),
            warning_line: Regex::new(
                r"^(.+?):(\d+): ([A-Za-z_][A-Za-z0-9_.]*(?:Warning|Error)): (.*)$",
            )
            .expect("valid regex"),
            frame_line: Regex::new(r#"^\s*File "(.+)", line (\d+)"#).expect("valid regex"),
            line_number: 0,
            recent: VecDeque::with_capacity(CONTEXT_LINES + 1),
            traceback: None,
            pending: Vec::new(),
            reported: HashMap::new(),
        }
    }

    /// This classifier with its metric rules reading `vars` (a run's: the
    /// [`Instance`](crate::machine::Instance)'s vars as the run started) where the record does
    /// not have a name. They are converted once, here: see [`MetricValue::from_var`].
    pub fn with_vars(self, vars: &BTreeMap<String, minijinja::Value>) -> Classifier {
        let vars = vars
            .iter()
            .map(|(k, v)| (k.as_str(), MetricValue::from_var(v)));
        self.with_var_record(vars)
    }

    fn with_var_record<'v>(
        mut self,
        vars: impl Iterator<Item = (&'v str, MetricValue)>,
    ) -> Classifier {
        let rules = &self.rules;
        self.vars = Arc::new(vars.filter(|(k, _)| rules.metric_reads(k)).collect());
        self
    }

    /// The number of lines read so far.
    pub fn lines_read(&self) -> u64 {
        self.line_number
    }

    /// Reads every complete line of `chunk` (each ending in `\n`), written at `at`, and returns
    /// how many bytes that was: a partial last line is left for the caller to complete with the
    /// next chunk.
    pub fn push_chunk(&mut self, chunk: &[u8], at: DateTime<Utc>, out: &mut Vec<Finding>) -> usize {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', chunk) {
            self.push(&chunk[start..end], at, out);
            start = end + 1;
        }
        start
    }

    /// Whether nothing is waiting to be completed: no traceback being read and no incident
    /// collecting its `after` lines. A stream read up to here can be resumed from here.
    pub fn is_idle(&self) -> bool {
        self.traceback.is_none() && self.pending.is_empty()
    }

    /// Counts the lines read as `lines`: for a stream resumed at a line boundary, so that line
    /// numbers go on from where they were.
    pub fn resume_at_line(&mut self, lines: u64) {
        self.line_number = lines;
    }

    /// Reads one line (without its line break), written at `at`.
    pub fn push(&mut self, bytes: &[u8], at: DateTime<Utc>, out: &mut Vec<Finding>) {
        self.push_cut(bytes, 0, at, out);
    }

    /// Reads one line of which only the start, `head`, was kept: `cut` more bytes followed it.
    /// For readers that do not hold a whole over-long line in memory.
    pub fn push_cut(&mut self, head: &[u8], cut: usize, at: DateTime<Utc>, out: &mut Vec<Finding>) {
        self.line_number += 1;
        let line = decode_line(head, cut);
        let line = line.as_ref();
        // Every line is context for the incidents still collecting theirs.
        for incident in &mut self.pending {
            incident.after.push(line.to_owned());
        }
        if let Some(mut traceback) = self.traceback.take() {
            match self.continue_traceback(&mut traceback, line) {
                Continue::Inside => {
                    self.traceback = Some(traceback);
                    self.emit_complete(out, false);
                    return;
                }
                Continue::Finished(held) => {
                    let mut after = held.clone();
                    after.push(line.to_owned());
                    self.finish_traceback(traceback, after, at, out);
                    for held in &held {
                        self.outside(held, at, out);
                    }
                }
            }
        }
        self.outside(line, at, out);
        self.emit_complete(out, false);
    }

    /// Completes what is waiting: a traceback whose exception line was read, and incidents still
    /// collecting their `after` lines. With `end`, the stream is over: a traceback cut short is
    /// reported as it is.
    pub fn flush(&mut self, at: DateTime<Utc>, end: bool, out: &mut Vec<Finding>) {
        if let Some(traceback) = self.traceback.take() {
            match &traceback.phase {
                Phase::Ended { held, .. } => {
                    let held = held.clone();
                    self.finish_traceback(traceback, held, at, out);
                }
                Phase::Frames if end => self.finish_traceback(traceback, Vec::new(), at, out),
                Phase::Frames => self.traceback = Some(traceback),
            }
        }
        self.emit_complete(out, true);
    }

    fn outside(&mut self, line: &str, at: DateTime<Utc>, out: &mut Vec<Finding>) {
        if line.trim_start().starts_with(TRACEBACK_HEADER) {
            self.traceback = Some(Traceback {
                lines: vec![line.to_owned()],
                before: self.recent.iter().cloned().collect(),
                frame: None,
                phase: Phase::Frames,
                started: at,
            });
            return;
        }
        if let Some(record) = looks_like_record(line)
            .then(|| record::parse(line))
            .flatten()
        {
            if let Some((category, severity)) = self.rules.match_metric(&record, &self.vars) {
                let mut incident =
                    self.incident(category, severity, None, line.to_owned(), line, at);
                incident.metric = Some(record.clone());
                self.report(incident, out);
            }
            out.push(Finding::Metric {
                line_number: self.line_number,
                record,
            });
        } else if let Some((category, severity)) = self.rules.match_line(line) {
            let mut incident = match self.warning_line.captures(line) {
                Some(caps) => {
                    let mut incident = self.incident(
                        category,
                        severity,
                        Some(caps[3].to_owned()),
                        caps[4].to_owned(),
                        line,
                        at,
                    );
                    incident.file = Some(caps[1].to_owned());
                    incident.code_line = caps[2].parse().ok();
                    incident
                }
                None => self.incident(category, severity, None, line.to_owned(), line, at),
            };
            incident.line_number = self.line_number;
            self.report(incident, out);
        }
        self.remember(line);
    }

    /// Reads `line` as part of `traceback`, or says the traceback ended before it (handing back
    /// the lines held while that was undecided).
    fn continue_traceback(&mut self, traceback: &mut Traceback, line: &str) -> Continue {
        match &mut traceback.phase {
            Phase::Frames => {
                let indented = line.starts_with([' ', '\t']);
                if indented || line.trim_start().starts_with(TRACEBACK_HEADER) || line.is_empty() {
                    if let Some(caps) = self.frame_line.captures(line) {
                        traceback.frame = Some((caps[1].to_owned(), caps[2].parse().unwrap_or(0)));
                    }
                } else {
                    traceback.phase = Phase::Ended {
                        exception_line: line.to_owned(),
                        line_number: self.line_number,
                        held: Vec::new(),
                    };
                }
                traceback.lines.push(line.to_owned());
                self.remember(line);
                Continue::Inside
            }
            Phase::Ended { held, .. } => {
                if line.trim().is_empty() && held.is_empty() {
                    held.push(line.to_owned());
                    return Continue::Inside;
                }
                if CHAIN_HEADERS.contains(&line.trim()) {
                    traceback.lines.append(held);
                    traceback.lines.push(line.to_owned());
                    traceback.phase = Phase::Frames;
                    traceback.frame = None;
                    self.remember(line);
                    return Continue::Inside;
                }
                Continue::Finished(std::mem::take(held))
            }
        }
    }

    fn finish_traceback(
        &mut self,
        traceback: Traceback,
        after: Vec<String>,
        at: DateTime<Utc>,
        out: &mut Vec<Finding>,
    ) {
        let (exception_line, line_number, complete) = match traceback.phase {
            Phase::Ended {
                exception_line,
                line_number,
                ..
            } => (exception_line, line_number, true),
            Phase::Frames => (
                traceback.lines.last().cloned().unwrap_or_default(),
                self.line_number,
                false,
            ),
        };
        let (exception, message) = match self.exception_line.captures(exception_line.trim()) {
            Some(caps) if complete => (
                Some(caps[1].to_owned()),
                caps.get(2)
                    .map_or_else(String::new, |m| m.as_str().to_owned()),
            ),
            _ => (None, exception_line.trim().to_owned()),
        };
        let (category, severity) =
            self.rules
                .match_traceback(exception.as_deref(), &message, &traceback.lines);
        let mut incident = self.incident(
            category,
            severity,
            exception,
            message,
            &exception_line,
            traceback.started.min(at),
        );
        incident.line_number = line_number;
        incident.before = traceback.before;
        incident.traceback = traceback.lines;
        if let Some((file, line)) = traceback.frame {
            incident.file = Some(file);
            incident.code_line = Some(line);
        }
        incident.after = after;
        self.report(incident, out);
    }

    fn incident(
        &self,
        category: Option<usize>,
        severity: Option<IncidentSeverity>,
        exception: Option<String>,
        message: String,
        line: &str,
        at: DateTime<Utc>,
    ) -> Incident {
        let category = category.map_or(&self.rules.uncategorized, |c| &self.rules.categories[c]);
        Incident {
            category: category.id.clone(),
            owner: category.owner.clone(),
            severity: severity.unwrap_or(category.severity),
            action: category.action.clone(),
            exception,
            message,
            line: line.to_owned(),
            line_number: self.line_number,
            file: None,
            code_line: None,
            before: self.recent.iter().cloned().collect(),
            after: Vec::new(),
            traceback: Vec::new(),
            metric: None,
            count: 1,
            first_seen: at,
            last_seen: at,
            gate: None,
        }
    }

    /// Reports `incident`, or counts it when the same one was reported less than a minute ago.
    fn report(&mut self, incident: Incident, out: &mut Vec<Finding>) {
        let key = IncidentKey {
            category: incident.category.clone(),
            exception: incident.exception.clone(),
            message: incident.message.clone(),
        };
        let at = incident.first_seen;
        if let Some((reported_at, count)) = self.reported.get_mut(&key) {
            if at - *reported_at < REPEAT_WINDOW {
                *count += 1;
                out.push(Finding::Repeated {
                    category: key.category,
                    exception: key.exception,
                    message: key.message,
                    count: *count,
                    last_seen: at,
                });
                return;
            }
        }
        self.reported.insert(key, (at, 1));
        self.pending.push(incident);
    }

    fn emit_complete(&mut self, out: &mut Vec<Finding>, all: bool) {
        let mut index = 0;
        while index < self.pending.len() {
            if all || self.pending[index].after.len() >= CONTEXT_LINES {
                let mut incident = self.pending.remove(index);
                incident.after.truncate(CONTEXT_LINES);
                out.push(Finding::Incident(Box::new(incident)));
            } else {
                index += 1;
            }
        }
    }

    /// Keeps `line` among the last five, reusing the oldest one's buffer.
    fn remember(&mut self, line: &str) {
        let mut slot = if self.recent.len() == CONTEXT_LINES {
            self.recent.pop_front().unwrap_or_default()
        } else {
            String::new()
        };
        slot.clear();
        slot.push_str(line);
        self.recent.push_back(slot);
    }
}

enum Continue {
    Inside,
    Finished(Vec<String>),
}

/// A line as text: invalid UTF-8 replaced, a line over 64 KiB cut and marked. `cut` bytes
/// that followed `bytes` were dropped already.
fn decode_line(bytes: &[u8], cut: usize) -> std::borrow::Cow<'_, str> {
    let bytes = if cut == 0 {
        bytes.strip_suffix(b"\r").unwrap_or(bytes)
    } else {
        bytes
    };
    if bytes.len() <= MAX_LINE_BYTES && cut == 0 {
        // Validation's fast path first: the lossy conversion walks every line byte by byte.
        return match std::str::from_utf8(bytes) {
            Ok(line) => std::borrow::Cow::Borrowed(line),
            Err(_) => String::from_utf8_lossy(bytes),
        };
    }
    let kept = bytes.len().min(MAX_LINE_BYTES);
    let mut line = String::from_utf8_lossy(&bytes[..kept]).into_owned();
    line.push_str(&format!(" […cut: {} more bytes]", bytes.len() - kept + cut));
    std::borrow::Cow::Owned(line)
}

fn looks_like_record(line: &str) -> bool {
    let trimmed = line.trim_start();
    // memchr's vectorized search: every line of a log is asked this.
    trimmed.starts_with('{')
        || (!trimmed.starts_with(' ') && memchr::memchr(b'=', trimmed.as_bytes()).is_some())
}

#[cfg(test)]
mod tests;
