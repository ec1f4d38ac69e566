//! The latest values of a log's records, kept as lines until they are given.
//!
//! A training log writes a record on most of its lines, and most of its keys again on every
//! one: only the latest value of a key is kept, so most values are replaced before anything
//! reads them. Records are kept here as the last line of each shape (the keys a line writes,
//! in their order): a later line of the same shape replaces all the values of the earlier,
//! so only its text is kept, and records are made of the lines only when the values are
//! given ([`Latest::take`]), a few per block of a log instead of one per line.

use super::record::{self, Pairs, Record};
use super::rules::KeyFacts;
use super::Stamp;

/// How many shapes are kept as lines. A line of another shape makes every line kept a record
/// (merged into the older records), and takes the place of the one written longest ago.
const SHAPES: usize = 8;

/// The longest line kept as a line ([`Latest::add_line`]); a longer one is added as its record,
/// so that what is kept of a log stays small.
pub(super) const LINE_BYTES: usize = 4096;

/// The records read since the last [`Latest::take`], merged, and what the rules make of the
/// keys of each shape kept (made once for a shape, not for every line of it).
#[derive(Clone, Default)]
pub(super) struct Latest {
    /// The last line of each shape, with the shape's keys and what the rules make of them.
    shapes: Vec<Shape>,
    /// The records older than every line of `shapes` not given yet, merged.
    older: Record,
    /// How many records were added: each is known by its place in that count (a line
    /// number does not tell them apart: a line a `\r` redraws is read again under its number).
    added: u64,
    /// The records up to this one are given.
    given: u64,
    /// The line number of the last record.
    last_line: u64,
    /// Whether anything was added since the last take.
    fresh: bool,
    /// The stamps of the records added since the last take, in order.
    stamps: Vec<Stamp>,
    /// The shape the last line was of, looked at first.
    hit: usize,
    /// The shape the last line of `key=value` pairs was of.
    last_key_values: usize,
}

#[derive(Clone)]
struct Shape {
    keys: Vec<u8>,
    line: String,
    /// Which record its line is, in [`Latest::added`]'s count.
    last: u64,
    /// Which record the first line of the shape not given yet is: its keys come in the
    /// merged record where they were first written.
    first: u64,
    /// What the rules make of its keys; taken while a line of the shape is read
    /// ([`Latest::take_facts`]), or forgotten ([`Latest::forget_facts`]).
    facts: Option<KeyFacts>,
    /// Its keys as a line of `key=value` pairs writes them, when it can be read so
    /// ([`record::key_values_of_shape`]).
    key_values: Option<record::KeyValueShape>,
}

/// Writes a record's `keys` into `shape` (cleared first) as [`Latest`] knows a shape by: each
/// followed by a `\0`, which a key never holds.
pub(super) fn shape_of<'k>(keys: impl IntoIterator<Item = &'k str>, shape: &mut Vec<u8>) {
    shape.clear();
    for key in keys {
        shape.extend_from_slice(key.as_bytes());
        shape.push(0);
    }
}

impl Latest {
    /// Where the shape of `keys` ([`shape_of`]) is kept, if it is; the shape of the last line
    /// is looked at first.
    pub(super) fn find(&mut self, keys: &[u8]) -> Option<usize> {
        let at = self
            .shapes
            .get(self.hit)
            .filter(|s| s.keys == keys)
            .map(|_| self.hit)
            .or_else(|| self.shapes.iter().position(|s| s.keys == keys))?;
        self.hit = at;
        Some(at)
    }

    /// Reads `line` into `pairs` as a line of the shape the last line of `key=value` pairs was
    /// of, when it is written with that shape's keys in its order
    /// ([`record::key_values_of_shape`]); returns where that shape is kept. `None`: it is read
    /// as any line is ([`record::scan`]). (JSON lines are read as any line is: a reader of
    /// them against a shape's keys, tried, cost more than it saved.)
    pub(super) fn read_as_shape(&mut self, line: &str, pairs: &mut Pairs) -> Option<usize> {
        let at = self.last_key_values;
        let shape = self.shapes.get(at)?.key_values.as_ref()?;
        record::key_values_of_shape(line, shape, pairs).map(|()| at)
    }

    /// Notes that the line just read, `line`, was of the shape kept at `at`.
    fn note_form(&mut self, line: &str, at: usize) {
        if !line.trim_start().starts_with('{') {
            self.last_key_values = at;
        }
    }

    /// What the rules make of the keys of the shape kept at `at`, taken to read a line of it
    /// (it comes back with the line, [`Latest::add_line`], or [`Latest::put_facts`]).
    pub(super) fn take_facts(&mut self, at: usize) -> Option<KeyFacts> {
        self.shapes[at].facts.take()
    }

    /// Gives back what [`Latest::take_facts`] took.
    pub(super) fn put_facts(&mut self, at: usize, facts: KeyFacts) {
        self.shapes[at].facts = Some(facts);
    }

    /// Forgets what the rules made of the shapes' keys, which are made anew for their next
    /// lines (the stamp key changed).
    pub(super) fn forget_facts(&mut self) {
        for shape in &mut self.shapes {
            shape.facts = None;
        }
    }

    /// Adds the record `line` is (line `line_number`), of the shape kept at `shape` as
    /// [`Latest::find`] said, or of a new one of `keys`, whose keys the rules make `facts` of.
    pub(super) fn add_line(
        &mut self,
        line: &str,
        shape: Option<usize>,
        keys: &[u8],
        facts: KeyFacts,
        line_number: u64,
    ) {
        self.added += 1;
        self.last_line = line_number;
        self.fresh = true;
        let added = self.added;
        if let Some(at) = shape {
            let given = self.given;
            let shape = &mut self.shapes[at];
            shape.line.clear();
            shape.line.push_str(line);
            if shape.last <= given {
                shape.first = added;
            }
            shape.last = added;
            shape.facts = Some(facts);
            self.note_form(line, at);
            return;
        }
        let key_values = record::KeyValueShape::of(keys);
        let shape = Shape {
            keys: keys.to_vec(),
            line: line.to_owned(),
            last: added,
            first: added,
            facts: Some(facts),
            key_values,
        };
        if self.shapes.len() < SHAPES {
            self.shapes.push(shape);
            self.hit = self.shapes.len() - 1;
            self.note_form(line, self.hit);
            return;
        }
        // A line of a new shape when every place is taken: the lines kept are made records
        // first, and the one written longest ago gives its place.
        self.give_lines(added - 1);
        let oldest = (0..self.shapes.len())
            .min_by_key(|&at| self.shapes[at].last)
            .expect("shapes are kept");
        self.shapes[oldest] = shape;
        self.hit = oldest;
        self.note_form(line, oldest);
    }

    /// Adds `record`, read from line `line_number` (after every line added before it).
    pub(super) fn add_record(&mut self, record: Record, line_number: u64) {
        self.give_lines(self.added);
        self.older.extend(record);
        self.added += 1;
        self.given = self.added;
        self.last_line = line_number;
        self.fresh = true;
    }

    /// Adds the stamp of the last record.
    pub(super) fn add_stamp(&mut self, stamp: Stamp) {
        self.stamps.push(stamp);
    }

    /// Whether nothing was added since the last [`Latest::take`].
    pub(super) fn is_empty(&self) -> bool {
        !self.fresh
    }

    /// The records added since the last take, merged, the line number of the last of them,
    /// and their stamps.
    pub(super) fn take(&mut self) -> (Record, u64, Vec<Stamp>) {
        self.give_lines(self.added);
        self.fresh = false;
        (
            std::mem::take(&mut self.older),
            self.last_line,
            std::mem::take(&mut self.stamps),
        )
    }

    /// Makes the lines kept and not given yet records, merged into `older` as the records of
    /// every line would have been, one after the other (each key where it was first written,
    /// with the last value written); the records up to `through`, the last of them, are given.
    fn give_lines(&mut self, through: u64) {
        let given = self.given;
        let mut pending = self.shapes.iter().filter(|s| s.last > given);
        // Most often one shape was written since the last take (a block of progress lines,
        // or the one line a turn of a supervisor read).
        if let (Some(only), None) = (pending.next(), pending.next()) {
            self.older.extend(record_of(&only.line));
            self.given = through;
            return;
        }
        let mut lines: Vec<&Shape> = self.shapes.iter().filter(|s| s.last > given).collect();
        debug_assert!(lines.iter().all(|s| s.last <= through));
        // The keys in the order they were first written...
        lines.sort_unstable_by_key(|s| s.first);
        for shape in &lines {
            self.older.extend(record_of(&shape.line));
        }
        // ... and their last values, when a later line of one shape wrote a key of another.
        if !lines.is_sorted_by_key(|s| s.last) {
            lines.sort_unstable_by_key(|s| s.last);
            for shape in &lines {
                self.older.extend(record_of(&shape.line));
            }
        }
        self.given = through;
    }
}

/// The record `line` is: it was read as one when it was added.
fn record_of(line: &str) -> Record {
    record::parse(line).expect("a line added is a record")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What is done to a [`Latest`]: a line added, a record added, or the records taken.
    #[derive(Debug, Clone)]
    enum Step {
        Line(String),
        Record(String),
        Take,
    }

    /// A `key=value` line of some of a dozen keys (more shapes than are kept as lines).
    fn line() -> impl Strategy<Value = String> {
        proptest::collection::vec((0..12u8, 0..100u32), 1..5).prop_map(|pairs| {
            let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("k{k}={v}")).collect();
            pairs.join(" ")
        })
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            8 => line().prop_map(Step::Line),
            1 => line().prop_map(Step::Record),
            1 => Just(Step::Take),
        ]
    }

    fn shown(record: &Record) -> Vec<String> {
        record.iter().map(|(k, v)| format!("{k}={v:?}")).collect()
    }

    proptest! {
        /// What is taken is the records added since the last take merged one after the
        /// other, each key where it was first written with its last value.
        #[test]
        fn what_is_taken_is_every_record_merged_in_order(
            steps in proptest::collection::vec(step(), 1..60),
        ) {
            let mut latest = Latest::default();
            let mut expected = Record::new();
            let mut line_number = 0;
            for step in steps.into_iter().chain([Step::Take]) {
                match step {
                    Step::Line(line) => {
                        line_number += 1;
                        let record = record::parse(&line).unwrap();
                        let mut keys = Vec::new();
                        shape_of(record.keys(), &mut keys);
                        let shape = latest.find(&keys);
                        latest.add_line(&line, shape, &keys, KeyFacts::default(), line_number);
                        expected.extend(record);
                    }
                    Step::Record(line) => {
                        line_number += 1;
                        let record = record::parse(&line).unwrap();
                        expected.extend(record.clone());
                        latest.add_record(record, line_number);
                    }
                    Step::Take => {
                        let empty = latest.is_empty();
                        let (taken, last, _) = latest.take();
                        prop_assert_eq!(empty, expected.is_empty());
                        prop_assert_eq!(shown(&taken), shown(&expected));
                        if !empty {
                            prop_assert_eq!(last, line_number);
                        }
                        expected = Record::new();
                    }
                }
            }
        }
    }
}
