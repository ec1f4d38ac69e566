//! From log lines to incidents and metric records. Pure: lines and their times in, events out.
//!
//! A line ends at `\n` or at a lone `\r` (a progress bar's redraw); line numbers count `\n`.
//! A Python traceback, found anywhere in a line (after a progress bar, say), chained ones
//! ("During handling of the above exception...", "The above exception was the direct
//! cause...") and wrapped ones (a traceback printed in an exception's message, as a DataLoader
//! worker's "Original Traceback") included, is one incident: its rules may match any exception
//! of the chain, and it carries the root cause's type and message. A line outside tracebacks is
//! an incident when a `line` rule matches it, or when it reports an error in words (the
//! protocol's `error_lines`, or a structured line whose level is `ERROR`). A JSON or `key=value`
//! line is a metric record, as are the keys rules read anywhere in other lines and the rows of
//! a summary table with a column rules read; a record is an incident when a `metric` rule holds
//! for it. An incident waits for the five lines after it (its `after` context) or for
//! [`Classifier::flush`]. Words like "Error" in an ordinary line are never incidents by
//! themselves.

mod ends;
mod extract;
mod feed;
mod gate;
mod latest;
mod metric;
mod record;
mod rules;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use regex::Regex;
use serde::{Deserialize, Serialize};

use ends::Ends;
pub use feed::{CadenceSpec, Fed, Feed, LogLine, Spacing, LAST_LINE_BYTES};
pub use record::{to_value as record_value, MetricValue, Record};
use record::{RecordRef, Scanned};
pub(crate) use rules::add_metric_templates;
pub use rules::Rules;

use crate::protocol::{IncidentSeverity, Protocol};

/// Lines kept before and after an incident.
pub const CONTEXT_LINES: usize = 5;
/// Longer lines are cut to this many bytes and marked.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// A repeat of an incident this soon after it was reported, by the same process of the job, is
/// counted, not reported again.
pub const REPEAT_WINDOW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// Lines after an exception's line read as its message going on, at most.
pub const MAX_CONTINUATION: usize = 50;
/// The lines a traceback keeps from its start and from its end; those between are read, not
/// kept.
const HEAD_LINES: usize = 100;
const TAIL_LINES: usize = 400;
/// The exceptions a chain keeps from its start (the root cause) and from its end.
const HEAD_RAISED: usize = 50;
const TAIL_RAISED: usize = 50;

const TRACEBACK_HEADER: &str = "Traceback (most recent call last):";

// The patterns every classifier reads some lines by, shared and compiled the first time one
// is asked: most logs have no traceback, and compiling them for each classifier took more
// instructions than the rest of its making.

/// `source`, one of the patterns below, compiled.
fn pattern(source: &str) -> Regex {
    Regex::new(source).expect("a valid pattern")
}

/// A traceback's `Type: message` line.
static EXCEPTION_LINE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^([A-Za-z_][A-Za-z0-9_.]*)(?::\s?(.*))?$"));

/// An exception's `Type: message` anywhere in a line that reports an error in words.
static TYPED_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?:^|[\s:(\[])((?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Fault)):\s*(.*)$",
    )
});

/// Python's `file:line: Category: message` warning line.
static WARNING_LINE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^(.+?):(\d+): ([A-Za-z_][A-Za-z0-9_.]*(?:Warning|Error)): (.*)$"));

/// A traceback's `File "...", line N` frame line.
static FRAME_LINE: LazyLock<Regex> = LazyLock::new(|| pattern(r#"^\s*File "(.+)", line (\d+)"#));

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
    /// Every exception of a chained or wrapped traceback, in the order printed (empty for one
    /// exception): `exception` and `message` are its root cause's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<Raised>,
}

impl Incident {
    /// An incident of `category`, whose owner, severity and action are given, seen once at
    /// `at`, its line its message, with nothing of a log's context.
    pub fn new(
        category: &str,
        owner: &str,
        severity: IncidentSeverity,
        action: Option<&str>,
        message: String,
        at: DateTime<Utc>,
    ) -> Incident {
        Incident {
            category: category.to_owned(),
            owner: owner.to_owned(),
            severity,
            action: action.map(str::to_owned),
            exception: None,
            line: message.clone(),
            message,
            line_number: 0,
            file: None,
            code_line: None,
            before: Vec::new(),
            after: Vec::new(),
            traceback: Vec::new(),
            metric: None,
            count: 1,
            first_seen: at,
            last_seen: at,
            gate: None,
            chain: Vec::new(),
        }
    }
}

/// One exception of a traceback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Raised {
    /// Its type.
    pub exception: Option<String>,
    /// Its message (the first line of it).
    pub message: String,
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
    /// The metric records read since the last `Metric` finding, merged (a key where it was first
    /// written, with the last value written): given before any other finding, and at the end
    /// of every read, so that what follows sees the records before it.
    Metric {
        /// The line number of the last of them.
        line_number: u64,
        /// Their keys and values.
        record: Record,
        /// The value of the classifier's stamp key ([`Classifier::set_stamp`]) in each of
        /// them that has it as a number, in the order read.
        stamps: Vec<Stamp>,
    },
}

/// A metric record's time: the number its stamp key holds, and its line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stamp {
    /// The line number.
    pub line_number: u64,
    /// The value.
    pub at: f64,
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
    /// The shape of the line being read ([`latest::shape_of`]).
    keys: Vec<u8>,
    /// The pairs of the last line read as a record, kept for their room: the next line's are
    /// read into it.
    pairs: record::Pairs,
    /// The records read since they were last given ([`Finding::Metric`]).
    latest: latest::Latest,
    /// The key whose value stamps each record ([`Finding::Metric`]'s `stamps`).
    stamp: Option<CompactString>,
    /// The traceback header, searched for anywhere in every line.
    header: memchr::memmem::Finder<'static>,
    /// The states the search for candidate lines made ([`rules::Candidates`]), made at its
    /// first search.
    candidate_cache: Option<rules::CandidateCache>,
    line_number: u64,
    /// The last line read ended at a `\r`: the line it is part of goes on, unless a `\n`
    /// follows at once (`\r\n` is one line end).
    open_line: bool,
    recent: Recent,
    traceback: Option<Traceback>,
    table: Option<Table>,
    pending: Vec<Incident>,
    /// The line of the last error report in words: a traceback on the next line is what it
    /// reported (`logger.exception`), and takes its place.
    error_line: Option<u64>,
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
    /// Its lines: the first and the last of a long one.
    lines: Ends<String, HEAD_LINES, TAIL_LINES>,
    /// What the rules made of the lines and exceptions left out.
    left_out: rules::LeftOut,
    before: Vec<String>,
    /// The innermost frame read since the last exception line.
    frame: Option<(String, u64)>,
    /// The exceptions read so far, in the order printed: the first and the last of a long
    /// chain.
    raised: Ends<Exception, HEAD_RAISED, TAIL_RAISED>,
    /// The next exception is printed inside the last one's message (it is the one wrapped).
    nested: bool,
    /// The last exception line and its number.
    last: Option<(String, u64)>,
    phase: Phase,
    started: DateTime<Utc>,
}

#[derive(Clone)]
struct Exception {
    exception: Option<String>,
    message: String,
    /// Lines of the message after its first.
    more: Vec<String>,
    /// Printed inside the previous exception's message: the exception that one wraps.
    nested: bool,
    frame: Option<(String, u64)>,
}

impl Exception {
    /// Its message, all of its lines.
    fn text(&self) -> String {
        let mut text = self.message.clone();
        for more in &self.more {
            text.push('\n');
            text.push_str(more);
        }
        text
    }
}

#[derive(Clone)]
enum Phase {
    /// Reading frames until the exception line.
    Frames,
    /// After an exception line: its message may go on, and a chain may follow. Holds the lines
    /// read since.
    Ended { held: Vec<String> },
}

/// A summary table being read: its columns (the name a rule reads, or none), and the class of
/// each incident one of its rows raised, with that incident's key: the other rows of the class
/// count as repeats.
#[derive(Clone)]
struct Table {
    columns: Vec<Option<String>>,
    reported: Vec<(Option<usize>, IncidentKey)>,
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
            keys: Vec::new(),
            pairs: record::Pairs::default(),
            latest: latest::Latest::default(),
            stamp: None,
            header: memchr::memmem::Finder::new(TRACEBACK_HEADER.as_bytes()),
            candidate_cache: None,
            line_number: 0,
            open_line: false,
            recent: Recent::default(),
            traceback: None,
            table: None,
            pending: Vec::new(),
            error_line: None,
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
        // What the rules make of a shape's keys reads the vars.
        self.latest.forget_facts();
        self
    }

    /// Gives the value of `key` in each metric record as its stamp ([`Finding::Metric`]),
    /// when it is a number: the time a progress entry says it was written, for the cadence
    /// of a log. `None`: no stamps.
    pub fn set_stamp(&mut self, key: Option<&str>) {
        self.stamp = key.map(CompactString::from);
        // What was made of the shapes read says where the stamp key was.
        self.latest.forget_facts();
    }

    /// The number of lines read so far (a line a `\r` left open counts).
    pub fn lines_read(&self) -> u64 {
        self.line_number
    }

    /// Whether the last line read ended at a `\r`, so that what follows is still its line.
    pub fn mid_line(&self) -> bool {
        self.open_line
    }

    /// A new process of the job writes to this log from here: what it reports is new, even
    /// when the last process reported the same a moment ago.
    pub fn new_process(&mut self) {
        self.reported.clear();
    }

    /// Reads every complete line of `chunk` (each ending in `\n` or `\r`), written at `at`, and
    /// returns how many bytes that was: a partial last line is left for the caller to complete
    /// with the next chunk.
    pub fn push_chunk(&mut self, chunk: &[u8], at: DateTime<Utc>, out: &mut Vec<Finding>) -> usize {
        let mut start = 0;
        loop {
            let read = self.push_lines(&chunk[start..], at, out);
            if read == 0 {
                return start;
            }
            start += read;
        }
    }

    /// Reads the whole lines at the start of `block` (each ending in `\n` or `\r`, as
    /// [`Classifier::push_chunk`] reads them) up to the first after which `out` holds more
    /// than metric records (an incident or a repeat, for a caller to act on before it reads
    /// on), and returns how many bytes that was.
    ///
    /// While nothing waits for later lines (no traceback, no incident collecting its `after`
    /// lines, no table), most lines of a training log are only context: they hold none of the
    /// literals a rule reads. One search over the block finds the next line that holds one;
    /// the lines before it are counted and kept as context, at memchr's speed, and nothing
    /// else is asked of them. A line that is not ASCII is read on its own (a case-insensitive
    /// key may be written with other letters there).
    pub fn push_lines(&mut self, block: &[u8], at: DateTime<Utc>, out: &mut Vec<Finding>) -> usize {
        let rules = Arc::clone(&self.rules);
        // The block's text, validated once rather than line by line: as far as it is UTF-8
        // (its last line may be cut inside a character).
        let text = match std::str::from_utf8(block) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&block[..e.valid_up_to()]).unwrap_or_default(),
        };
        // Where the next traceback header of the block starts, searched for once for many
        // lines: `None` before the first search, `usize::MAX` when the block has no more.
        let mut header: Option<usize> = None;
        let mut start = 0;
        while start < block.len() {
            // The end of the line that starts here, if it has one yet.
            let mut end = memchr::memchr2(b'\n', b'\r', &block[start..]);
            // A line that holds a `=` or a `{`, two of the literals, is one the search would
            // stop at: told so by memchr, as most lines of a metric-heavy log are.
            let record_like = || {
                let line = &block[start..start + end.unwrap_or(block.len() - start)];
                memchr::memchr2(b'=', b'{', line).is_some()
            };
            if let Some(candidates) = rules
                .candidates
                .as_ref()
                .filter(|_| self.waits_for_nothing() && !record_like())
            {
                let cache = self
                    .candidate_cache
                    .get_or_insert_with(|| candidates.cache());
                // The end of the first literal: its last byte is on the line that holds it.
                let next = candidates
                    .first_end(cache, &block[start..])
                    .map_or(block.len(), |end| start + end.saturating_sub(1));
                // The start of the line that holds it; the lines before it are context.
                let line = memchr::memrchr2(b'\n', b'\r', &block[start..next])
                    .map_or(start, |end| start + end + 1);
                let found = out.len();
                let read = self.pass_over(&block[start..line], text.get(start..line), at, out);
                start += read;
                if reported(&out[found..]) {
                    break;
                }
                if start < line {
                    // A line read on its own left something waiting.
                    continue;
                }
                // Passed over up to the line that holds a literal, whose end is further on.
                if read > 0 {
                    end = memchr::memchr2(b'\n', b'\r', &block[start..]);
                }
            }
            let Some(end) = end else {
                break;
            };
            let open = block[start + end] == b'\r';
            let found = out.len();
            let known = text.get(start..start + end).map(|line| {
                let next = match header {
                    Some(next) if next >= start => next,
                    _ => self
                        .header
                        .find(&block[start..])
                        .map_or(usize::MAX, |at| start + at),
                };
                header = Some(next);
                Known {
                    text: line,
                    // A header holds no line end: one that starts on the line is on it.
                    header: next < start + end,
                }
            });
            let shaped = match known {
                Some(Known {
                    text,
                    header: false,
                }) if !open => self.line_of_known_shape(text, at, out),
                _ => false,
            };
            if !shaped {
                self.push_line(&block[start..start + end], known, open, at, out);
            }
            start += end + 1;
            if reported(&out[found..]) {
                break;
            }
        }
        self.give_records(out);
        start
    }

    /// Reads `line`, a whole line of a block ended by `\n` that holds no traceback header, when
    /// it is a progress line of the shape of the last one and nothing waits for later lines:
    /// as [`Classifier::segment`] would, without asking what else it may start. Returns
    /// whether it was read; if not, nothing was.
    fn line_of_known_shape(
        &mut self,
        line: &str,
        at: DateTime<Utc>,
        out: &mut Vec<Finding>,
    ) -> bool {
        if self.open_line || line.len() > MAX_LINE_BYTES || !self.waits_for_nothing() {
            return false;
        }
        let mut pairs = std::mem::take(&mut self.pairs);
        let shape = self.latest.read_as_shape(line, &mut pairs);
        if let Some(shape) = shape {
            self.line_number += 1;
            self.line_in_place(line, &pairs, Some(shape), at, out);
            self.remember(line);
        }
        self.pairs = pairs;
        shape.is_some()
    }

    /// No traceback, incident or table is being read: a line that holds nothing a rule reads
    /// is only context.
    fn waits_for_nothing(&self) -> bool {
        self.is_idle() && self.table.is_none()
    }

    /// One whole line of a block, ended by `\r` when `open`, with what the block knows of it.
    fn push_line(
        &mut self,
        line: &[u8],
        known: Option<Known<'_>>,
        open: bool,
        at: DateTime<Utc>,
        out: &mut Vec<Finding>,
    ) {
        if open {
            self.segment(line, known, 0, true, at, out);
        } else if line.is_empty() && self.open_line {
            self.end_open_line();
        } else {
            self.segment(line, known, 0, false, at, out);
        }
    }

    /// Passes over whole lines that hold none of the literals a rule reads, while nothing
    /// waits: each is counted as [`Classifier::segment`] counts it, and the last five are kept
    /// as context. A line that is not ASCII, or is cut for its length (the mark of the cut is
    /// text), is read on its own; when that leaves something waiting, or reports, the lines
    /// after it are left to the caller. Returns how many bytes were read.
    fn pass_over(
        &mut self,
        lines: &[u8],
        text: Option<&str>,
        at: DateTime<Utc>,
        out: &mut Vec<Finding>,
    ) -> usize {
        let ascii = lines.is_ascii();
        // Where the last lines that are context start and end, not yet kept.
        let mut kept = Kept::default();
        let mut start = 0;
        for end in memchr::memchr2_iter(b'\n', b'\r', lines) {
            let line = &lines[start..end];
            let open = lines[end] == b'\r';
            if !open && line.is_empty() && self.open_line {
                // The `\n` of a `\r\n`.
                self.open_line = false;
            } else if line.len() <= MAX_LINE_BYTES && (ascii || line.is_ascii()) {
                if !self.open_line {
                    self.line_number += 1;
                }
                self.open_line = open;
                kept.push(start, end);
            } else {
                self.keep_context(lines, text, &mut kept);
                let found = out.len();
                self.push_line(line, None, open, at, out);
                if reported(&out[found..]) || !self.waits_for_nothing() {
                    return end + 1;
                }
            }
            start = end + 1;
        }
        self.keep_context(lines, text, &mut kept);
        start
    }

    /// Keeps the ASCII lines of `lines` at `kept` as context, in order; `text` is `lines`
    /// when it is known to be UTF-8.
    fn keep_context(&mut self, lines: &[u8], text: Option<&str>, kept: &mut Kept) {
        for (start, end) in kept.take() {
            // ASCII: the line is its text.
            let line = match text.and_then(|text| text.get(start..end)) {
                Some(line) => line,
                None => std::str::from_utf8(&lines[start..end]).unwrap_or_default(),
            };
            self.remember(line);
        }
    }

    /// Whether nothing is waiting to be completed: no traceback being read and no incident
    /// collecting its `after` lines. A stream read up to here can be resumed from here.
    pub fn is_idle(&self) -> bool {
        self.traceback.is_none() && self.pending.is_empty()
    }

    /// What waits for the stream's quiet to be completed: `None` when nothing does (a
    /// traceback still reading its frames ends by what it reads, or with the stream); else
    /// whether it is a traceback whose exception line was the last read, which a chained one
    /// ("During handling of the above exception...") may still follow.
    pub fn settling(&self) -> Option<bool> {
        let chain = self
            .traceback
            .as_ref()
            .is_some_and(|t| matches!(t.phase, Phase::Ended { .. }));
        (chain || !self.pending.is_empty()).then_some(chain)
    }

    /// Counts the lines read as `lines`: for a stream resumed at a line boundary, so that line
    /// numbers go on from where they were.
    pub fn resume_at_line(&mut self, lines: u64) {
        self.line_number = lines;
        self.open_line = false;
    }

    /// Reads one line (without its line break), written at `at`.
    pub fn push(&mut self, bytes: &[u8], at: DateTime<Utc>, out: &mut Vec<Finding>) {
        self.push_cut(bytes, 0, at, out);
    }

    /// Reads one line that ended at `\n`, of which only the start, `head`, was kept: `cut` more
    /// bytes followed it. For readers that do not hold a whole over-long line in memory.
    pub fn push_cut(&mut self, head: &[u8], cut: usize, at: DateTime<Utc>, out: &mut Vec<Finding>) {
        self.segment(head, None, cut, false, at, out);
        self.give_records(out);
    }

    /// Reads one line that ended at a `\r`: a progress bar's redraw, or the first half of a
    /// `\r\n` (then [`Classifier::end_open_line`] follows).
    pub fn push_open(
        &mut self,
        head: &[u8],
        cut: usize,
        at: DateTime<Utc>,
        out: &mut Vec<Finding>,
    ) {
        self.segment(head, None, cut, true, at, out);
        self.give_records(out);
    }

    /// The `\n` of a `\r\n`: the line the `\r` ended is over.
    pub fn end_open_line(&mut self) {
        self.open_line = false;
    }

    /// One line, `head` (of which `cut` bytes were dropped), with what its block knows of it.
    fn segment(
        &mut self,
        head: &[u8],
        known: Option<Known<'_>>,
        cut: usize,
        open: bool,
        at: DateTime<Utc>,
        out: &mut Vec<Finding>,
    ) {
        if !self.open_line {
            self.line_number += 1;
        }
        self.open_line = open;
        let (line, header) = match known {
            Some(Known { text, header }) if cut == 0 && text.len() <= MAX_LINE_BYTES => (
                std::borrow::Cow::Borrowed(text.strip_suffix('\r').unwrap_or(text)),
                Some(header),
            ),
            _ => (decode_line(head, cut), None),
        };
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
                    // Held lines were the exception's message or blank: context, nothing more.
                    for held in &held {
                        self.remember(held);
                    }
                }
            }
        }
        self.outside(line, header, at, out);
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
        if end {
            self.table = None;
        }
        self.emit_complete(out, true);
        self.give_records(out);
    }

    /// A record line read in place, into `pairs`, of the shape kept at `shape` if one is (else
    /// of the keys in `self.keys`).
    fn line_in_place(
        &mut self,
        line: &str,
        pairs: &record::Pairs,
        shape: Option<usize>,
        at: DateTime<Utc>,
        out: &mut Vec<Finding>,
    ) {
        let record = RecordRef::Line(pairs.of(line));
        // What the rules make of the keys: made once for a shape of lines.
        let facts = shape
            .and_then(|at| self.latest.take_facts(at))
            .unwrap_or_else(|| {
                self.rules
                    .key_facts(record, self.stamp.as_deref(), &self.vars)
            });
        self.record_line(record, &facts, line, at, out);
        // A long line is kept as its record, not as a line to read again.
        if line.len() <= latest::LINE_BYTES {
            self.latest
                .add_line(line, shape, &self.keys, facts, self.line_number);
        } else {
            if let Some(at) = shape {
                self.latest.put_facts(at, facts);
            }
            let record = pairs.of(line).to_record();
            self.latest.add_record(record, self.line_number);
        }
    }

    /// A line read outside a traceback; `header` says whether it holds a traceback header,
    /// when its block knows.
    fn outside(
        &mut self,
        line: &str,
        header: Option<bool>,
        at: DateTime<Utc>,
        out: &mut Vec<Finding>,
    ) {
        // Also where a progress bar left the line unfinished: `...loss=2.61]Traceback (most...`.
        if header.unwrap_or_else(|| self.header.find(line.as_bytes()).is_some()) {
            self.table = None;
            self.withdraw_error_line();
            self.traceback = Some(Traceback {
                lines: Ends::of(line.to_owned()),
                left_out: rules::LeftOut::default(),
                before: self.recent.lines(),
                frame: None,
                raised: Ends::default(),
                nested: false,
                last: None,
                phase: Phase::Frames,
                started: at,
            });
            return;
        }
        if let Some(table) = &self.table {
            let row = self.rules.extract.row(&table.columns, line);
            match row {
                Some(record) => {
                    self.table_row(record, line, at, out);
                    self.remember(line);
                    return;
                }
                None => self.table = None,
            }
        }
        if looks_like_record(line) {
            let mut pairs = std::mem::take(&mut self.pairs);
            // Most progress lines are of the shape of the line of their form before: read as
            // that shape's, their keys are neither looked for nor written down again.
            let found = match self.latest.read_as_shape(line, &mut pairs) {
                Some(shape) => {
                    self.line_in_place(line, &pairs, Some(shape), at, out);
                    true
                }
                None => match record::scan(line, &mut pairs) {
                    Scanned::No => false,
                    Scanned::InPlace => {
                        latest::shape_of(pairs.of(line).keys(), &mut self.keys);
                        let shape = self.latest.find(&self.keys);
                        self.line_in_place(line, &pairs, shape, at, out);
                        true
                    }
                    Scanned::Kept(record) => {
                        let facts =
                            self.rules
                                .key_facts(record.view(), self.stamp.as_deref(), &self.vars);
                        self.record_line(record.view(), &facts, line, at, out);
                        self.latest.add_record(record, self.line_number);
                        true
                    }
                },
            };
            self.pairs = pairs;
            if found {
                self.remember(line);
                return;
            }
        }
        // Most lines are neither reports nor hold a metric: one literal search each says so.
        let reports = self.rules.may_report(line);
        if let Some((category, severity)) = reports.then(|| self.rules.match_line(line)).flatten() {
            let mut incident = match WARNING_LINE.captures(line) {
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
        } else if let Some(message) = reports.then(|| self.rules.match_error_line(line)).flatten() {
            self.error_report(message, line, at, out);
        } else if self.rules.extract.may_hold(line) {
            if let Some(columns) = self.rules.extract.header(line) {
                self.table = Some(Table {
                    columns,
                    reported: Vec::new(),
                });
            } else if let Some(record) = self.rules.extract.pairs(line) {
                let facts = self
                    .rules
                    .key_facts(record.view(), self.stamp.as_deref(), &self.vars);
                self.metric(record.view(), &facts, line, at, out);
                self.latest.add_record(record, self.line_number);
            }
        }
        self.remember(line);
    }

    /// `line`, which is the metric record `record`: an error report when its level says so,
    /// and a metric.
    fn record_line(
        &mut self,
        record: RecordRef<'_>,
        facts: &rules::KeyFacts,
        line: &str,
        at: DateTime<Utc>,
        out: &mut Vec<Finding>,
    ) {
        // Most shapes have no level key: their records are no error reports.
        let reported = facts.leveled.then(|| error_level_message(record)).flatten();
        if let Some(message) = reported {
            let message = message.to_owned();
            self.error_report(&message, line, at, out);
        }
        self.metric(record, facts, line, at, out);
    }

    /// A metric record read from `line`: an incident when a metric rule holds for it. Its
    /// stamp is kept; the caller keeps its values.
    fn metric(
        &mut self,
        record: RecordRef<'_>,
        facts: &rules::KeyFacts,
        line: &str,
        at: DateTime<Utc>,
        out: &mut Vec<Finding>,
    ) {
        if let Some(found) = self.rules.match_metric(record, facts, &self.vars) {
            let incident = self.metric_incident(&found, record.to_record(), line, None, at);
            self.report(incident, out);
        }
        self.stamp(record, facts);
    }

    /// Keeps the stamp of `record`, read from the current line, when it has one (`facts` say
    /// where it is).
    fn stamp(&mut self, record: RecordRef<'_>, facts: &rules::KeyFacts) {
        let Some(key) = facts.stamp else { return };
        if let Some(at) = record.value_at(key).finite_number() {
            self.latest.add_stamp(Stamp {
                line_number: self.line_number,
                at,
            });
        }
    }

    /// Gives the records read since they were last given, merged, as one [`Finding::Metric`]:
    /// before anything else is given, and at the end of every read.
    fn give_records(&mut self, out: &mut Vec<Finding>) {
        if self.latest.is_empty() {
            return;
        }
        let (record, line_number, stamps) = self.latest.take();
        out.push(Finding::Metric {
            line_number,
            record,
            stamps,
        });
    }

    /// A row of the table being read: its first incident of a class is reported, the others
    /// counted on it.
    fn table_row(&mut self, record: Record, line: &str, at: DateTime<Utc>, out: &mut Vec<Finding>) {
        let facts = self
            .rules
            .key_facts(record.view(), self.stamp.as_deref(), &self.vars);
        if let Some(found) = self.rules.match_metric(record.view(), &facts, &self.vars) {
            let class = found.class.0;
            let table = self.table.as_ref().expect("a table is being read");
            let earlier = table.reported.iter().find(|(c, _)| *c == class);
            match earlier.map(|(_, key)| key.clone()) {
                Some(key) => self.repeat(key, at, out),
                None => {
                    let words = line.split_whitespace().count();
                    let label_words = words.saturating_sub(table.columns.len());
                    let label: Vec<&str> = line.split_whitespace().take(label_words).collect();
                    let label = (!label.is_empty()).then(|| label.join(" "));
                    let incident = self.metric_incident(&found, record.clone(), line, label, at);
                    let key = IncidentKey::of(&incident);
                    if let Some(table) = &mut self.table {
                        table.reported.push((class, key));
                    }
                    self.report(incident, out);
                }
            }
        }
        self.stamp(record.view(), &facts);
        self.latest.add_record(record, self.line_number);
    }

    fn metric_incident(
        &self,
        found: &rules::MetricMatch,
        record: Record,
        line: &str,
        label: Option<String>,
        at: DateTime<Utc>,
    ) -> Incident {
        let (category, severity) = found.class;
        let mut message = found
            .read
            .iter()
            .map(|(key, value)| format!("{key} = {}", show_value(value)))
            .collect::<Vec<_>>()
            .join(", ");
        if message.is_empty() {
            message = line.trim().to_owned();
        }
        if let Some(label) = label {
            message = format!("{message} ({label})");
        }
        let mut incident = self.incident(category, severity, None, message, line, at);
        incident.metric = Some(record);
        incident
    }

    /// A traceback starts: an error reported in words on the line before it (as
    /// `logger.exception` writes one) is that traceback's, and is withdrawn for it.
    fn withdraw_error_line(&mut self) {
        let Some(line) = self.error_line.take() else {
            return;
        };
        if line + 1 < self.line_number {
            return;
        }
        if let Some(index) = self.pending.iter().rposition(|i| i.line_number == line) {
            let incident = self.pending.remove(index);
            self.reported.remove(&IncidentKey::of(&incident));
        }
    }

    /// A line that reports an error in words, its message `text`: classified as an exception's
    /// message would be, with the type it names when it names one.
    fn error_report(&mut self, text: &str, line: &str, at: DateTime<Utc>, out: &mut Vec<Finding>) {
        self.error_line = Some(self.line_number);
        let (exception, message) = match TYPED_MESSAGE.captures(text) {
            Some(caps) => (Some(caps[1].to_owned()), caps[2].trim().to_owned()),
            None => (None, text.trim().to_owned()),
        };
        let (category, severity) = self.rules.match_traceback(
            &[(exception.as_deref(), &message)],
            &[],
            &rules::LeftOut::default(),
        );
        let incident = self.incident(category, severity, exception, message, line, at);
        self.report(incident, out);
    }

    /// Adds `line` to the traceback's lines; a line a long one leaves out is read by the
    /// rules first.
    fn keep_line(&self, traceback: &mut Traceback, line: &str) {
        if let Some(out) = traceback.lines.push(line.to_owned()) {
            self.rules.leave_out_line(&out, &mut traceback.left_out);
        }
    }

    /// Reads `line` as part of `traceback`, or says the traceback ended before it (handing back
    /// the lines held while that was undecided).
    fn continue_traceback(&mut self, traceback: &mut Traceback, line: &str) -> Continue {
        match &mut traceback.phase {
            Phase::Frames => {
                let indented = line.starts_with([' ', '\t']);
                if indented || line.trim_start().starts_with(TRACEBACK_HEADER) || line.is_empty() {
                    if let Some(caps) = FRAME_LINE.captures(line) {
                        traceback.frame = Some((caps[1].to_owned(), caps[2].parse().unwrap_or(0)));
                    }
                } else {
                    let trimmed = line.trim();
                    let (exception, message) = match EXCEPTION_LINE.captures(trimmed) {
                        Some(caps) => (
                            Some(caps[1].to_owned()),
                            caps.get(2)
                                .map_or_else(String::new, |m| m.as_str().to_owned()),
                        ),
                        None => (None, trimmed.to_owned()),
                    };
                    let left_out = traceback.raised.push(Exception {
                        exception,
                        message,
                        more: Vec::new(),
                        nested: std::mem::take(&mut traceback.nested),
                        frame: traceback.frame.take(),
                    });
                    if let Some(e) = left_out {
                        let text = e.text();
                        let left = &mut traceback.left_out;
                        self.rules
                            .leave_out_exception(e.exception.as_deref(), &text, left);
                    }
                    traceback.last = Some((line.to_owned(), self.line_number));
                    traceback.phase = Phase::Ended { held: Vec::new() };
                }
                self.keep_line(traceback, line);
                self.remember(line);
                Continue::Inside
            }
            Phase::Ended { held } => {
                let trimmed = line.trim();
                let chained = CHAIN_HEADERS.contains(&trimmed);
                // A traceback in the exception's message: the exception it wraps.
                let wrapped = !chained
                    && memchr::memmem::find(line.as_bytes(), TRACEBACK_HEADER.as_bytes()).is_some();
                if chained || wrapped {
                    for held in std::mem::take(held) {
                        self.keep_line(traceback, &held);
                    }
                    self.keep_line(traceback, line);
                    traceback.phase = Phase::Frames;
                    traceback.frame = None;
                    traceback.nested = wrapped;
                    self.remember(line);
                    return Continue::Inside;
                }
                if held.len() < MAX_CONTINUATION
                    && (trimmed.is_empty() || !self.starts_something(line))
                {
                    // The exception's message goes on (blank lines included: scikit-learn's
                    // "All the 5 fits failed." has them before the traceback it wraps).
                    held.push(line.to_owned());
                    if let Some(last) = traceback.raised.last_mut() {
                        last.more.push(line.to_owned());
                    }
                    return Continue::Inside;
                }
                Continue::Finished(std::mem::take(held))
            }
        }
    }

    /// Whether `line` is something of its own rather than an exception's message going on: a
    /// metric record, a line a rule matches, an error report.
    fn starts_something(&self, line: &str) -> bool {
        (looks_like_record(line) && record::parse(line).is_some())
            || (self.rules.may_report(line)
                && (self.rules.match_line(line).is_some()
                    || self.rules.match_error_line(line).is_some()))
    }

    fn finish_traceback(
        &mut self,
        traceback: Traceback,
        after: Vec<String>,
        at: DateTime<Utc>,
        out: &mut Vec<Finding>,
    ) {
        let (line, line_number) = traceback.last.clone().unwrap_or_else(|| {
            (
                traceback.lines.last().cloned().unwrap_or_default(),
                self.line_number,
            )
        });
        let raised_left_out = traceback.raised.left_out();
        let mut raised = traceback.raised.into_vec();
        if raised.is_empty() {
            // Cut short before its exception line.
            raised.push(Exception {
                exception: None,
                message: line.trim().to_owned(),
                more: Vec::new(),
                nested: false,
                frame: traceback.frame.clone(),
            });
        }
        let texts: Vec<String> = raised.iter().map(Exception::text).collect();
        let views: Vec<(Option<&str>, &str)> = raised
            .iter()
            .zip(&texts)
            .map(|(e, text)| (e.exception.as_deref(), text.as_str()))
            .collect();
        let left_out = traceback.lines.left_out();
        let mut lines = traceback.lines.into_vec();
        let (category, severity) = self
            .rules
            .match_traceback(&views, &lines, &traceback.left_out);
        let root = root_cause(&raised);
        let cause = &raised[root];
        let message = if cause.message.trim().is_empty() {
            // `raise ValueError("\n...")`: the message starts on the next line.
            cause
                .more
                .iter()
                .map(|m| m.trim())
                .find(|m| !m.is_empty())
                .unwrap_or_default()
                .to_owned()
        } else {
            cause.message.clone()
        };
        let mut incident = self.incident(
            category,
            severity,
            cause.exception.clone(),
            message,
            &line,
            traceback.started.min(at),
        );
        incident.line_number = line_number;
        incident.before = traceback.before;
        if left_out > 0 {
            let said = format!("    [... {left_out} lines of the traceback left out ...]");
            lines.insert(HEAD_LINES, said);
        }
        incident.traceback = lines;
        // Where the job's code was when the traceback ended: the last exception's innermost
        // frame (a wrapped worker's frames come last, a chain's cause is inside a library).
        let frame = raised.last().and_then(|e| e.frame.clone());
        if let Some((file, line)) = frame.or(traceback.frame) {
            incident.file = Some(file);
            incident.code_line = Some(line);
        }
        if raised.len() > 1 {
            incident.chain = raised
                .iter()
                .map(|e| Raised {
                    exception: e.exception.clone(),
                    message: e.message.clone(),
                })
                .collect();
            if raised_left_out > 0 {
                let said = Raised {
                    exception: None,
                    message: format!(
                        "[... {raised_left_out} exceptions of the chain left out ...]"
                    ),
                };
                incident.chain.insert(HEAD_RAISED, said);
            }
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
        let mut incident = self
            .rules
            .incident(category, severity, exception, message, line, at);
        incident.line_number = self.line_number;
        incident.before = self.recent.lines();
        incident
    }

    /// Reports `incident`, or counts it when the same one was reported less than a minute ago.
    fn report(&mut self, incident: Incident, out: &mut Vec<Finding>) {
        let key = IncidentKey::of(&incident);
        let at = incident.first_seen;
        if let Some((reported_at, _)) = self.reported.get(&key) {
            if at - *reported_at < REPEAT_WINDOW {
                self.repeat(key, at, out);
                return;
            }
        }
        self.reported.insert(key, (at, 1));
        self.pending.push(incident);
    }

    /// The incident of `key`, reported before, was seen again.
    fn repeat(&mut self, key: IncidentKey, at: DateTime<Utc>, out: &mut Vec<Finding>) {
        if let Some((_, count)) = self.reported.get_mut(&key) {
            *count += 1;
            let count = *count;
            self.give_records(out);
            out.push(Finding::Repeated {
                category: key.category,
                exception: key.exception,
                message: key.message,
                count,
                last_seen: at,
            });
        }
    }

    fn emit_complete(&mut self, out: &mut Vec<Finding>, all: bool) {
        let mut index = 0;
        while index < self.pending.len() {
            if all || self.pending[index].after.len() >= CONTEXT_LINES {
                let mut incident = self.pending.remove(index);
                incident.after.truncate(CONTEXT_LINES);
                self.give_records(out);
                out.push(Finding::Incident(Box::new(incident)));
            } else {
                index += 1;
            }
        }
    }

    /// Keeps `line` among the last five, in the oldest one's buffer.
    fn remember(&mut self, line: &str) {
        self.recent.push(line);
    }
}

/// The last [`CONTEXT_LINES`] lines read: a ring of buffers, each written over in turn.
#[derive(Clone, Default)]
struct Recent {
    lines: [String; CONTEXT_LINES],
    /// Where the next line is written: the oldest line's place, once the ring is full.
    next: usize,
    /// How many lines it holds.
    len: usize,
}

impl Recent {
    fn push(&mut self, line: &str) {
        let slot = &mut self.lines[self.next];
        slot.clear();
        slot.push_str(line);
        self.next = (self.next + 1) % CONTEXT_LINES;
        self.len = (self.len + 1).min(CONTEXT_LINES);
    }

    /// The lines, the oldest first.
    fn lines(&self) -> Vec<String> {
        let first = (self.next + CONTEXT_LINES - self.len) % CONTEXT_LINES;
        (0..self.len)
            .map(|at| self.lines[(first + at) % CONTEXT_LINES].clone())
            .collect()
    }
}

/// What a block knows of one of its lines.
#[derive(Clone, Copy)]
struct Known<'b> {
    /// The line, UTF-8.
    text: &'b str,
    /// Whether it holds a traceback header.
    header: bool,
}

/// Whether `found` holds more than metric records: something to act on.
fn reported(found: &[Finding]) -> bool {
    found.iter().any(|f| !matches!(f, Finding::Metric { .. }))
}

/// Where the last lines passed over start and end: the five that may be context.
#[derive(Default)]
struct Kept {
    lines: [(usize, usize); CONTEXT_LINES],
    count: usize,
}

impl Kept {
    fn push(&mut self, start: usize, end: usize) {
        self.lines[self.count % CONTEXT_LINES] = (start, end);
        self.count += 1;
    }

    /// The lines, oldest first; none are left.
    fn take(&mut self) -> impl Iterator<Item = (usize, usize)> + use<> {
        let (lines, count) = (self.lines, std::mem::take(&mut self.count));
        (count.saturating_sub(CONTEXT_LINES)..count).map(move |i| lines[i % CONTEXT_LINES])
    }
}

impl IncidentKey {
    fn of(incident: &Incident) -> IncidentKey {
        IncidentKey {
            category: incident.category.clone(),
            exception: incident.exception.clone(),
            message: incident.message.clone(),
        }
    }
}

/// The exception the others of a traceback come from: the first printed (a chain prints the
/// cause first), or, when that one's message holds another traceback, the one it wraps.
fn root_cause(raised: &[Exception]) -> usize {
    let mut root = 0;
    while raised.get(root + 1).is_some_and(|e| e.nested) {
        root += 1;
    }
    root
}

/// The keys that name a structured line's level, the first one a record has being its level.
const LEVELS: [&str; 4] = ["level", "levelname", "severity", "lvl"];

/// The message of a structured line whose level says it is an error (`level=ERROR`,
/// `{"levelname": "CRITICAL", ...}`).
fn error_level_message(record: RecordRef<'_>) -> Option<&str> {
    // One pass over the record (most have no level at all): the first of LEVELS it has.
    // Keys first: no value is read of a record without a level.
    let level = record
        .lazy_iter()
        .filter_map(|(k, v)| Some((LEVELS.iter().position(|l| *l == k)?, v)))
        .filter_map(|(rank, v)| Some((rank, v.text()?)))
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, level)| level)?;
    if !["error", "critical", "fatal"]
        .iter()
        .any(|l| level.eq_ignore_ascii_case(l))
    {
        return None;
    }
    ["message", "msg", "error", "err", "exception", "event"]
        .iter()
        .find_map(|k| {
            let message = record.lazy_get(k)?.text()?;
            (!message.trim().is_empty()).then_some(message)
        })
}

/// A metric value as an incident's message shows it.
fn show_value(value: &MetricValue) -> String {
    match value {
        MetricValue::Int(i) => i.to_string(),
        MetricValue::Float(f) if f.is_nan() => "nan".into(),
        MetricValue::Float(f) if f.is_infinite() => {
            if *f > 0.0 {
                "inf".into()
            } else {
                "-inf".into()
            }
        }
        MetricValue::Float(f) => f.to_string(),
        MetricValue::Bool(b) => b.to_string(),
        MetricValue::Text(t) => t.clone(),
        MetricValue::Null => "none".into(),
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
