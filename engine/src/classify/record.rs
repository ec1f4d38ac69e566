//! Metric records: a JSON object line, or a line of `key=value` pairs.

use std::collections::BTreeMap;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// One value of a metric record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MetricValue {
    /// A whole number.
    Int(i64),
    /// Any other number, NaN and infinities included (written as Python's json writes them).
    #[serde(serialize_with = "float::serialize")]
    Float(f64),
    /// true or false.
    Bool(bool),
    /// Text.
    Text(String),
    /// JSON `null`, or a nested value kept as its JSON text.
    Null,
}

/// A metric record: its keys and values, in the order they were written.
///
/// A handful of pairs in a vector: a training log writes millions of these, and building and
/// searching a tree of them cost more than reading the JSON. Keys are unique; a key given
/// again replaces its value, as the latest metric is what counts.
///
/// A value read from a log is kept as its text and made a [`MetricValue`] the first time it is
/// read ([`Record::get`], [`Record::iter`]): most records of a training log are only merged
/// into the run's latest metrics, and most of their values are never read before a later
/// record replaces them. The value is the one an eager reading would have given.
///
/// Past [`Record::INDEXED`] keys a record also indexes them: the run's latest metrics gather
/// every key the log ever wrote, and a log that writes new keys without end (a key per step or
/// per sample) would otherwise make each merge search them all.
#[derive(Clone, Default)]
pub struct Record {
    pairs: Vec<(CompactString, Slot)>,
    /// Where each key is in `pairs`, once there are more than [`Record::INDEXED`].
    index: Option<Box<KeyIndex>>,
}

type KeyIndex = std::collections::HashMap<CompactString, usize, foldhash::fast::RandomState>;

/// A value of a record: read already, or its text, read when it is first asked for.
#[derive(Clone)]
pub(super) enum Slot {
    Read(MetricValue),
    Lazy {
        /// The text of the value, as the line wrote it (without quotes).
        raw: CompactString,
        kind: Raw,
        value: std::sync::OnceLock<MetricValue>,
    },
}

/// How a value's text reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Raw {
    /// A bare `key=value` token ([`MetricValue::from_token`]).
    Token,
    /// A JSON number that `flat_json` found well formed, without an exponent and of a size
    /// that cannot overflow: an integer of up to 18 digits, or a finite float.
    JsonNumber,
    /// Text, as it is (a JSON string without escapes, a quoted `key="value"`).
    Text,
}

impl Slot {
    fn raw(raw: &str, kind: Raw) -> Slot {
        Slot::Lazy {
            raw: CompactString::from(raw),
            kind,
            value: std::sync::OnceLock::new(),
        }
    }

    fn value(&self) -> &MetricValue {
        match self {
            Slot::Read(value) => value,
            Slot::Lazy { raw, kind, value } => value.get_or_init(|| read_raw(raw, *kind)),
        }
    }
}

/// The value the text `raw` of `kind` reads as.
pub(super) fn read_raw(raw: &str, kind: Raw) -> MetricValue {
    match kind {
        Raw::Token => MetricValue::from_token(raw),
        Raw::JsonNumber => {
            // Most numbers of progress lines are short decimals.
            if let Some(float) = decimal(raw) {
                return MetricValue::Float(float);
            }
            let integer = !raw.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
            match integer.then(|| raw.parse::<i64>().ok()).flatten() {
                Some(int) => MetricValue::Int(int),
                None => MetricValue::Float(raw.parse().unwrap_or(f64::NAN)),
            }
        }
        Raw::Text => MetricValue::Text(raw.to_owned()),
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Record) -> bool {
        self.pairs.len() == other.pairs.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|(a, b)| a.0 == b.0 && a.1 == b.1)
    }
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pairs: Vec<(&str, &MetricValue)> = self.iter().collect();
        f.debug_tuple("Record").field(&pairs).finish()
    }
}

impl Record {
    /// How many keys a record searches one by one; past them it indexes them.
    const INDEXED: usize = 32;

    /// An empty record.
    pub fn new() -> Record {
        Record::default()
    }

    /// An empty record, as a constant.
    pub(super) const fn empty() -> Record {
        Record {
            pairs: Vec::new(),
            index: None,
        }
    }

    /// An empty record with room for `capacity` keys.
    pub(super) fn with_capacity(capacity: usize) -> Record {
        Record {
            pairs: Vec::with_capacity(capacity),
            index: None,
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&MetricValue> {
        self.position(key).map(|at| self.pairs[at].1.value())
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Where `key` is among the pairs.
    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.pairs.iter().position(|(k, _)| k == key),
        }
    }

    /// Adds `key`, which the record does not have.
    fn push(&mut self, key: CompactString, slot: Slot) {
        if let Some(index) = &mut self.index {
            index.insert(key.clone(), self.pairs.len());
        }
        self.pairs.push((key, slot));
        if self.index.is_none() && self.pairs.len() > Self::INDEXED {
            let keys = self.pairs.iter().enumerate();
            self.index = Some(Box::new(keys.map(|(at, (k, _))| (k.clone(), at)).collect()));
        }
    }

    /// Sets `key` to `value`, replacing the value it had.
    pub fn insert(&mut self, key: impl Into<CompactString>, value: MetricValue) {
        self.put(key.into(), Slot::Read(value));
    }

    fn put(&mut self, key: CompactString, slot: Slot) {
        match self.position(&key) {
            Some(at) => self.pairs[at].1 = slot,
            None => self.push(key, slot),
        }
    }

    /// Takes the values of `other`, which replace those of the same keys, unread as they are.
    pub fn extend(&mut self, other: Record) {
        // Records of one kind of line write their keys in the same order: each key is looked
        // for first just after where the last one was.
        let mut guess = 0;
        for (key, slot) in other.pairs {
            if let Some((k, old)) = self.pairs.get_mut(guess) {
                if *k == key {
                    *old = slot;
                    guess += 1;
                    continue;
                }
            }
            match self.position(&key) {
                Some(at) => {
                    self.pairs[at].1 = slot;
                    guess = at + 1;
                }
                None => {
                    self.push(key, slot);
                    guess = self.pairs.len();
                }
            }
        }
    }

    /// The keys and values, in the order they were first written.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &MetricValue)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.value()))
    }

    /// The keys, in the order they were first written, none of their values read.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(k, _)| k.as_str())
    }

    /// The record as the rules read it.
    pub(super) fn view(&self) -> RecordRef<'_> {
        RecordRef::Kept(self)
    }

    /// The value of `key`, not read yet.
    pub(super) fn lazy_get(&self, key: &str) -> Option<LazyValue<'_>> {
        self.position(key)
            .map(|at| LazyValue::Slot(&self.pairs[at].1))
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether it has no keys.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// A whole number, or any other finite number, as a float.
fn number(value: &MetricValue) -> Option<f64> {
    match value {
        MetricValue::Int(int) => Some(*int as f64),
        MetricValue::Float(float) if float.is_finite() => Some(*float),
        _ => None,
    }
}

/// One of 64 bits for `key`: two keys of different bits differ.
pub(super) fn key_bit(key: &str) -> u64 {
    1 << key_slot(key)
}

/// One of 64 slots for `key`, by its length, first and last byte.
pub(super) fn key_slot(key: &str) -> usize {
    let bytes = key.as_bytes();
    let (first, last) = (
        bytes.first().copied().unwrap_or(0),
        bytes.last().copied().unwrap_or(0),
    );
    let mix = (bytes.len() as u32)
        .wrapping_mul(31)
        .wrapping_add(u32::from(first).wrapping_mul(7))
        .wrapping_add(u32::from(last));
    (mix % 64) as usize
}

/// A value of a record, not read yet, or read already: [`LazyValue::read`] reads it.
#[derive(Clone, Copy)]
pub(super) enum LazyValue<'r> {
    /// A value of a [`Record`].
    Slot(&'r Slot),
    /// A value of a [`LineRecord`] not read yet: the line, and where its text is in it.
    Line(&'r str, RawAt),
    /// A value of a [`LineRecord`] read already.
    Read(&'r MetricValue),
}

/// What a value is now: its text and how that reads, or a value read.
#[derive(Clone, Copy)]
pub(super) enum ValueRef<'r> {
    /// Its text, not read yet.
    Raw(&'r str, Raw),
    /// Read.
    Read(&'r MetricValue),
}

impl<'r> LazyValue<'r> {
    /// What it is now.
    pub(super) fn now(self) -> ValueRef<'r> {
        match self {
            LazyValue::Slot(Slot::Lazy { raw, kind, value }) => match value.get() {
                Some(read) => ValueRef::Read(read),
                None => ValueRef::Raw(raw.as_str(), *kind),
            },
            LazyValue::Slot(Slot::Read(value)) | LazyValue::Read(value) => ValueRef::Read(value),
            LazyValue::Line(line, RawAt { start, len, kind }) => {
                ValueRef::Raw(&line[start as usize..(start + len) as usize], kind)
            }
        }
    }

    /// The value: that of a record's slot kept read there, any other read for the asking.
    pub(super) fn read(self) -> std::borrow::Cow<'r, MetricValue> {
        use std::borrow::Cow;
        match self {
            LazyValue::Slot(slot) => Cow::Borrowed(slot.value()),
            LazyValue::Line(..) | LazyValue::Read(_) => match self.now() {
                ValueRef::Read(value) => Cow::Borrowed(value),
                ValueRef::Raw(raw, kind) => Cow::Owned(read_raw(raw, kind)),
            },
        }
    }

    /// The value when it is a whole number, or any other finite number, as a float; read
    /// without keeping what was read.
    pub(super) fn finite_number(self) -> Option<f64> {
        if let Some(float) = self.short_decimal() {
            return Some(float);
        }
        let value = match self.now() {
            ValueRef::Read(value) => return number(value),
            ValueRef::Raw(_, Raw::Text) => return None,
            ValueRef::Raw(raw, Raw::Token) => match Token::of(raw) {
                Token::Int(int) => MetricValue::Int(int),
                Token::Float(float) => MetricValue::Float(float),
                Token::Bool(_) | Token::Text(_) => return None,
            },
            ValueRef::Raw(raw, kind) => read_raw(raw, kind),
        };
        number(&value)
    }

    /// The text it was written as and how that reads, when it was not read yet.
    pub(super) fn raw(self) -> Option<(&'r str, Raw)> {
        match self.now() {
            ValueRef::Raw(raw, kind) => Some((raw, kind)),
            ValueRef::Read(_) => None,
        }
    }

    /// The value when it is a token or a JSON number not read yet, written as a short decimal
    /// ([`decimal`]): what both read as first, read from its bytes. Most numbers of progress
    /// lines are.
    #[inline]
    pub(super) fn short_decimal(self) -> Option<f64> {
        match self.raw_bytes()? {
            (bytes, Raw::Token | Raw::JsonNumber) => decimal_of(bytes),
            (_, Raw::Text) => None,
        }
    }

    /// [`LazyValue::raw`] as bytes: of a line's value, without its text's character
    /// boundaries asked again.
    #[inline]
    pub(super) fn raw_bytes(self) -> Option<(&'r [u8], Raw)> {
        match self {
            LazyValue::Line(line, RawAt { start, len, kind }) => Some((
                &line.as_bytes()[start as usize..(start + len) as usize],
                kind,
            )),
            other => other.raw().map(|(raw, kind)| (raw.as_bytes(), kind)),
        }
    }

    /// The value when it is text, without reading a number.
    pub(super) fn text(self) -> Option<&'r str> {
        match self.now() {
            ValueRef::Read(MetricValue::Text(text)) => Some(text),
            ValueRef::Raw(text, Raw::Text) => Some(text),
            ValueRef::Raw(raw, Raw::Token) => match Token::of(raw) {
                Token::Text(text) => Some(text),
                _ => None,
            },
            ValueRef::Read(_) | ValueRef::Raw(_, Raw::JsonNumber) => None,
        }
    }
}

/// A value of a line's record: where its text is in the line, or what it read as already
/// (Python's `NaN` and infinities, `true`, `false`, `null`, a number with an exponent), by
/// its place among the [`Pairs`]' values read. Plain data: the pairs of a line are let go of
/// without a value dropped.
#[derive(Clone, Copy, Debug)]
pub(super) enum Value {
    Raw(RawAt),
    Read(u32),
}

/// Where a value's text is in its line, and how it reads.
#[derive(Clone, Copy, Debug)]
pub(super) struct RawAt {
    start: u32,
    len: u32,
    kind: Raw,
}

/// A pair of a line's record: where its key is in the line, and its value.
#[derive(Clone, Debug)]
pub(super) struct Pair {
    key_start: u32,
    key_len: u32,
    value: Value,
}

impl Pair {
    /// Its key, in `line`.
    fn key<'l>(&self, line: &'l str) -> &'l str {
        &line[self.key_start as usize..(self.key_start + self.key_len) as usize]
    }
}

/// The pairs of the record a line is, where they are in it: what the rules read of every
/// record of a log, at no more cost than finding them (no key or value is copied). A
/// [`Record`] is made of it only for what is kept ([`LineRecord::to_record`]).
#[derive(Clone, Default)]
pub(super) struct Pairs {
    pairs: Vec<Pair>,
    /// The values read already of `pairs` ([`Value::Read`]): rare.
    read: Vec<MetricValue>,
    /// The bits of [`key_bit`] of the keys written by [`Pairs::set`]: a key whose bit is not
    /// there is new, and is not looked for among them. (The pairs [`key_values_of_shape`]
    /// writes leave it empty: a shape's keys are distinct, and nothing is set after them.)
    seen: u64,
}

impl Pairs {
    /// Sets `key`, a part of `line`, to `value`, replacing the value it was given earlier on
    /// the line (in the place it was given).
    #[inline(always)]
    fn set(&mut self, line: &str, key: &str, value: Value) {
        let bit = key_bit(key);
        if self.seen & bit != 0 {
            self.set_again(line, key, value);
            return;
        }
        self.seen |= bit;
        self.push(line, key, value);
    }

    /// [`Pairs::set`] of a key whose bit was seen: it may have been given before.
    #[cold]
    #[inline(never)]
    fn set_again(&mut self, line: &str, key: &str, value: Value) {
        match self.pairs.iter_mut().find(|p| p.key(line) == key) {
            Some(pair) => pair.value = value,
            None => self.push(line, key, value),
        }
    }

    /// A new pair of `key`, a part of `line`.
    #[inline(always)]
    fn push(&mut self, line: &str, key: &str, value: Value) {
        self.pairs.push(Pair {
            key_start: offset(line, key),
            key_len: key.len() as u32,
            value,
        });
    }

    /// The record of `line`, which these pairs were read from.
    pub(super) fn of<'l>(&'l self, line: &'l str) -> LineRecord<'l> {
        LineRecord {
            line,
            pairs: &self.pairs,
            read: &self.read,
        }
    }

    /// Sets `key` to the text `raw` of `kind`, both parts of `line`.
    fn raw(&mut self, line: &str, key: &str, raw: &str, kind: Raw) {
        let value = Value::Raw(RawAt {
            start: offset(line, raw),
            len: raw.len() as u32,
            kind,
        });
        self.set(line, key, value);
    }

    /// Sets `key`, a part of `line`, to `value`.
    fn read(&mut self, line: &str, key: &str, value: MetricValue) {
        self.read.push(value);
        self.set(line, key, Value::Read(self.read.len() as u32 - 1));
    }

    fn clear(&mut self) {
        // The room of a line of many pairs is not kept for every line after it.
        if self.pairs.capacity() > 256 {
            self.pairs = Vec::new();
        }
        self.pairs.clear();
        self.read.clear();
        self.seen = 0;
    }
}

/// Where `part`, a part of `text`, starts in it.
fn offset(text: &str, part: &str) -> u32 {
    let at = part.as_ptr() as usize - text.as_ptr() as usize;
    debug_assert!(at + part.len() <= text.len(), "a part of the text");
    at as u32
}

/// A line's record, read in place: the line and its [`Pairs`].
#[derive(Clone, Copy)]
pub(super) struct LineRecord<'l> {
    line: &'l str,
    pairs: &'l [Pair],
    /// The values of `pairs` read already.
    read: &'l [MetricValue],
}

impl<'l> LineRecord<'l> {
    /// The record, made to be kept.
    pub(super) fn to_record(self) -> Record {
        let mut record = Record::with_capacity(self.pairs.len());
        for pair in self.pairs {
            let slot = match self.value(pair).now() {
                ValueRef::Raw(raw, kind) => Slot::raw(raw, kind),
                ValueRef::Read(value) => Slot::Read(value.clone()),
            };
            // The keys of a line's pairs are unique.
            record.push(CompactString::from(pair.key(self.line)), slot);
        }
        record
    }

    /// The keys, in the order they were written.
    pub(super) fn keys(self) -> impl Iterator<Item = &'l str> {
        self.pairs.iter().map(move |p| p.key(self.line))
    }

    /// The value of `pair`, one of its pairs, not read yet.
    fn value(self, pair: &Pair) -> LazyValue<'l> {
        match pair.value {
            Value::Raw(raw) => LazyValue::Line(self.line, raw),
            Value::Read(at) => LazyValue::Read(&self.read[at as usize]),
        }
    }
}

/// The keys of a record with their values read only when asked for ([`RecordRef::lazy_iter`]).
pub(super) enum LazyPairs<'r> {
    Kept(std::slice::Iter<'r, (CompactString, Slot)>),
    Line(LineRecord<'r>, std::slice::Iter<'r, Pair>),
}

impl<'r> Iterator for LazyPairs<'r> {
    type Item = (&'r str, LazyValue<'r>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            LazyPairs::Kept(pairs) => pairs.next().map(|(k, v)| (k.as_str(), LazyValue::Slot(v))),
            LazyPairs::Line(line, pairs) => pairs.next().map(|p| (p.key(line.line), line.value(p))),
        }
    }
}

/// A record as the rules read it: one kept, or a line's read in place.
#[derive(Clone, Copy)]
pub(super) enum RecordRef<'r> {
    Kept(&'r Record),
    Line(LineRecord<'r>),
}

impl<'r> RecordRef<'r> {
    /// The value of `key`, not read yet.
    pub(super) fn lazy_get(self, key: &str) -> Option<LazyValue<'r>> {
        match self {
            RecordRef::Kept(record) => record.lazy_get(key),
            RecordRef::Line(line) => line
                .pairs
                .iter()
                .find(|p| p.key(line.line) == key)
                .map(|p| line.value(p)),
        }
    }

    /// The `at`th key.
    pub(super) fn key_at(self, at: usize) -> &'r str {
        match self {
            RecordRef::Kept(record) => &record.pairs[at].0,
            RecordRef::Line(line) => line.pairs[at].key(line.line),
        }
    }

    /// The value of the `at`th key, not read yet.
    pub(super) fn value_at(self, at: usize) -> LazyValue<'r> {
        match self {
            RecordRef::Kept(record) => LazyValue::Slot(&record.pairs[at].1),
            RecordRef::Line(line) => line.value(&line.pairs[at]),
        }
    }

    /// The keys with their values read only when asked for, in the order written.
    pub(super) fn lazy_iter(self) -> LazyPairs<'r> {
        match self {
            RecordRef::Kept(record) => LazyPairs::Kept(record.pairs.iter()),
            RecordRef::Line(line) => LazyPairs::Line(line, line.pairs.iter()),
        }
    }

    /// The keys, in the order written.
    pub(super) fn keys(self) -> impl Iterator<Item = &'r str> {
        self.lazy_iter().map(|(k, _)| k)
    }

    /// The record, made to be kept.
    pub(super) fn to_record(self) -> Record {
        match self {
            RecordRef::Kept(record) => record.clone(),
            RecordRef::Line(line) => line.to_record(),
        }
    }

    /// The value of `key`.
    pub(super) fn get(self, key: &str) -> Option<std::borrow::Cow<'r, MetricValue>> {
        self.lazy_get(key).map(LazyValue::read)
    }
}

impl<K: Into<CompactString>> FromIterator<(K, MetricValue)> for Record {
    fn from_iter<I: IntoIterator<Item = (K, MetricValue)>>(pairs: I) -> Record {
        let mut record = Record::new();
        for (key, value) in pairs {
            record.insert(key, value);
        }
        record
    }
}

impl std::ops::Index<&str> for Record {
    type Output = MetricValue;

    fn index(&self, key: &str) -> &MetricValue {
        self.get(key)
            .unwrap_or_else(|| panic!("the record has no key `{key}`"))
    }
}

impl Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.pairs.len()))?;
        for (key, value) in self.iter() {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RecordVisitor)
    }
}

/// Reads a JSON object straight into a [`Record`].
struct RecordVisitor;

impl<'de> serde::de::Visitor<'de> for RecordVisitor {
    type Value = Record;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a metric record")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Record, A::Error> {
        let mut record = Record::with_capacity(map.size_hint().unwrap_or(8));
        // Keys are short: held inline, they cost no allocation each.
        while let Some((key, value)) = map.next_entry::<CompactString, MetricValue>()? {
            record.insert(key, value);
        }
        Ok(record)
    }
}

impl MetricValue {
    /// The value as templates and rules see it (NaN and infinities stay floats).
    pub fn to_value(&self) -> minijinja::Value {
        use minijinja::Value;
        match self {
            MetricValue::Int(i) => Value::from(*i),
            MetricValue::Float(f) => Value::from(*f),
            MetricValue::Bool(b) => Value::from(*b),
            MetricValue::Text(s) => Value::from(s.as_str()),
            MetricValue::Null => Value::from(()),
        }
    }
}

/// A record as templates and rules see it: a mapping of its keys.
pub fn to_value(record: &Record) -> minijinja::Value {
    to_value_over(record, &Record::new())
}

/// What a metric rule's template sees: the keys of `record`, over the run's `vars` (a key of the
/// record hides a var of the same name).
pub(super) fn to_value_over(record: &Record, vars: &Record) -> minijinja::Value {
    let mut names: BTreeMap<String, minijinja::Value> = vars
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_value()))
        .collect();
    names.extend(record.iter().map(|(k, v)| (k.to_owned(), v.to_value())));
    minijinja::Value::from(names)
}

/// The defaults of `protocol`'s vars as metric rules see them: what a classifier made without a
/// run reads (a var without a default is not there).
pub(super) fn var_defaults(
    protocol: &crate::protocol::Protocol,
) -> impl Iterator<Item = (&str, MetricValue)> {
    protocol.vars.iter().filter_map(|(name, var)| {
        let default = &var.default.as_ref()?.value;
        Some((
            name.as_str(),
            MetricValue::from_default(var.ty.value, default)?,
        ))
    })
}

impl MetricValue {
    /// A run's var as metric rules see it: numbers, booleans and text as they are, a duration
    /// as its seconds (a float); none, a list, and anything else as none, as a nested array in
    /// a record reads.
    pub fn from_var(value: &minijinja::Value) -> MetricValue {
        use minijinja::value::ValueKind;
        if let Some(duration) = value.downcast_object_ref::<crate::expr::DurationValue>() {
            return MetricValue::Float(duration.0.as_secs_f64());
        }
        match value.kind() {
            ValueKind::Bool => MetricValue::Bool(value.is_true()),
            ValueKind::Number => match value.as_i64() {
                Some(int) if value.is_integer() => MetricValue::Int(int),
                _ => MetricValue::Float(f64::try_from(value.clone()).unwrap_or(f64::NAN)),
            },
            ValueKind::String => MetricValue::Text(value.as_str().unwrap_or_default().to_owned()),
            _ => MetricValue::Null,
        }
    }

    /// A var's default, as written in the protocol, as [`MetricValue::from_var`] reads the
    /// value a run gives it; `None` when it does not fit the var's type (P003 reports it).
    fn from_default(
        ty: crate::protocol::ValueType,
        default: &serde_json::Value,
    ) -> Option<MetricValue> {
        use crate::protocol::ValueType as T;
        use serde_json::Value as J;
        Some(match (ty, default) {
            (_, J::Null) | (T::List, _) => MetricValue::Null,
            (T::String, J::String(s)) => MetricValue::Text(s.clone()),
            (T::String, J::Number(n)) => MetricValue::Text(n.to_string()),
            (T::Integer, J::Number(n)) => MetricValue::Int(n.as_i64()?),
            (T::Integer, J::String(s)) => MetricValue::Int(s.trim().parse().ok()?),
            (T::Number, J::Number(n)) => MetricValue::Float(n.as_f64()?),
            (T::Number, J::String(s)) => MetricValue::Float(s.trim().parse().ok()?),
            (T::Boolean, J::Bool(b)) => MetricValue::Bool(*b),
            (T::Boolean, J::String(s)) if s == "true" || s == "false" => {
                MetricValue::Bool(s == "true")
            }
            (T::Duration, J::String(s)) => {
                MetricValue::Float(crate::duration::parse(s).ok()?.as_secs_f64())
            }
            _ => return None,
        })
    }
}

impl<'de> Deserialize<'de> for MetricValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// Reads a JSON value straight into a [`MetricValue`]: the markers written for Python's NaN and
/// infinities become floats again; nested arrays and objects are not metrics and read as null.
struct ValueVisitor;

impl<'de> serde::de::Visitor<'de> for ValueVisitor {
    type Value = MetricValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a metric value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<MetricValue, E> {
        Ok(MetricValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<MetricValue, E> {
        Ok(MetricValue::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<MetricValue, E> {
        Ok(i64::try_from(v).map_or(MetricValue::Float(v as f64), MetricValue::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<MetricValue, E> {
        Ok(MetricValue::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<MetricValue, E> {
        Ok(match v {
            NAN | "NaN" => MetricValue::Float(f64::NAN),
            INFINITY | "Infinity" => MetricValue::Float(f64::INFINITY),
            NEG_INFINITY | "-Infinity" => MetricValue::Float(f64::NEG_INFINITY),
            _ => MetricValue::Text(v.to_owned()),
        })
    }
    fn visit_unit<E>(self) -> Result<MetricValue, E> {
        Ok(MetricValue::Null)
    }
    fn visit_none<E>(self) -> Result<MetricValue, E> {
        Ok(MetricValue::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<MetricValue, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(MetricValue::Null)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<MetricValue, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(MetricValue::Null)
    }
}

mod float {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            serializer.serialize_f64(*value)
        } else if value.is_nan() {
            serializer.serialize_str("NaN")
        } else if *value > 0.0 {
            serializer.serialize_str("Infinity")
        } else {
            serializer.serialize_str("-Infinity")
        }
    }
}

impl MetricValue {
    /// A bare `key=value` token: a number when it reads as one, else text.
    fn from_token(token: &str) -> MetricValue {
        match Token::of(token) {
            Token::Int(int) => MetricValue::Int(int),
            Token::Float(float) => MetricValue::Float(float),
            Token::Bool(b) => MetricValue::Bool(b),
            Token::Text(text) => MetricValue::Text(text.to_owned()),
        }
    }
}

/// What a bare `key=value` token reads as, its text borrowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Token<'t> {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(&'t str),
}

impl<'t> Token<'t> {
    /// A number when it reads as one, else text.
    pub(super) fn of(token: &'t str) -> Token<'t> {
        // Most values of a progress line are short decimals: `0.4113`, `3.5`.
        if let Some(float) = decimal(token) {
            return Token::Float(float);
        }
        if let Ok(int) = token.parse::<i64>() {
            return Token::Int(int);
        }
        match token {
            "true" | "True" => return Token::Bool(true),
            "false" | "False" => return Token::Bool(false),
            "nan" | "NaN" => return Token::Float(f64::NAN),
            "inf" | "Infinity" => return Token::Float(f64::INFINITY),
            "-inf" | "-Infinity" => return Token::Float(f64::NEG_INFINITY),
            _ => {}
        }
        let numeric = token
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
        match token.parse::<f64>() {
            Ok(float) if numeric => Token::Float(float),
            _ => Token::Text(token),
        }
    }
}

/// The float `text` reads as when it is a short decimal with a point (`-?D+.D+`, fewer than
/// 16 digits in all): its digits as a whole number, exactly a float, divided by an exact power
/// of ten, which one correctly rounded division makes the float nearest to it, as
/// [`str::parse`] reads it. `None` for anything else, which [`str::parse`] is left to read.
pub(super) fn decimal(text: &str) -> Option<f64> {
    decimal_of(text.as_bytes())
}

/// [`decimal`] of a text's bytes.
fn decimal_of(bytes: &[u8]) -> Option<f64> {
    const POWERS: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let negative = bytes.first() == Some(&b'-');
    let digits = &bytes[usize::from(negative)..];
    // At most 15 digits: their number is below 2^53, so exactly a float.
    if digits.len() > 16 {
        return None;
    }
    // One pass: the digits' number, and where the one point is.
    let mut mantissa: u64 = 0;
    let mut point = None;
    for (at, &b) in digits.iter().enumerate() {
        match b {
            b'0'..=b'9' => mantissa = mantissa * 10 + u64::from(b - b'0'),
            b'.' if point.is_none() => point = Some(at),
            _ => return None,
        }
    }
    let point = point?;
    let fraction = digits.len() - point - 1;
    if point == 0 || fraction == 0 {
        return None;
    }
    let value = mantissa as f64 / POWERS[fraction];
    Some(if negative { -value } else { value })
}

// Python's json module writes NaN, Infinity and -Infinity, which JSON does not allow; they are
// rewritten to these marker strings before parsing.
const NAN: &str = "\u{0}NaN";
const INFINITY: &str = "\u{0}Infinity";
const NEG_INFINITY: &str = "\u{0}-Infinity";

/// Reads `line` as a metric record, if it is one.
pub fn parse(line: &str) -> Option<Record> {
    let mut pairs = Pairs::default();
    match scan(line, &mut pairs) {
        Scanned::No => None,
        Scanned::InPlace => Some(pairs.of(line).to_record()),
        Scanned::Kept(record) => Some(record),
    }
}

/// What a line is as a metric record ([`scan`]).
pub(super) enum Scanned {
    /// None.
    No,
    /// One, its pairs in the [`Pairs`] given: [`Pairs::of`] the line reads it.
    InPlace,
    /// One read by `serde_json` (a nested value, an escape, ...).
    Kept(Record),
}

/// Reads `line` as a metric record: a flat JSON object or a line of `key=value` pairs is read
/// in place, into `pairs` (what they held before is gone).
pub(super) fn scan(line: &str, pairs: &mut Pairs) -> Scanned {
    pairs.clear();
    let trimmed = line.trim();
    if trimmed.starts_with('{') {
        if flat_json(line, trimmed, pairs).is_some() {
            return Scanned::InPlace;
        }
        return match serde_json::from_str(trimmed) {
            Ok(record) => Scanned::Kept(record),
            Err(_) if trimmed.contains("NaN") || trimmed.contains("Infinity") => {
                serde_json::from_str(&python_tokens_to_markers(trimmed))
                    .map_or(Scanned::No, Scanned::Kept)
            }
            Err(_) => Scanned::No,
        };
    }
    let read = if trimmed.is_ascii() {
        ascii_key_values(line, trimmed, pairs)
    } else {
        memchr::memchr(b'=', trimmed.as_bytes())
            .and_then(|_| parse_key_values(line, trimmed, pairs))
    };
    match read {
        Some(()) => Scanned::InPlace,
        None => Scanned::No,
    }
}

/// A flat JSON object of plain values, as progress lines write them, read by hand: the record
/// `serde_json` reads from it, in a fifth of the time. `None` for anything else (a nested value,
/// an escape, a control character, Python's bare `NaN`, an integer too long to be sure of, a
/// number out of range), which `serde_json` reads then, so the answer is always its answer.
/// `text` is a part of `line`, whose pairs are written into `pairs`.
fn flat_json(line: &str, text: &str, pairs: &mut Pairs) -> Option<()> {
    let bytes = text.as_bytes();
    let mut at = 1;
    let skip_space = |at: &mut usize| {
        while bytes
            .get(*at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            *at += 1;
        }
    };
    if bytes.first() != Some(&b'{') {
        return None;
    }
    skip_space(&mut at);
    if bytes.get(at) == Some(&b'}') {
        at += 1;
    } else {
        loop {
            if bytes.get(at) != Some(&b'"') {
                return None;
            }
            let key = json_string(text, &mut at)?;
            skip_space(&mut at);
            if bytes.get(at) != Some(&b':') {
                return None;
            }
            at += 1;
            skip_space(&mut at);
            match bytes.get(at)? {
                b'"' => match json_string(text, &mut at)? {
                    "NaN" => pairs.read(line, key, MetricValue::Float(f64::NAN)),
                    "Infinity" => pairs.read(line, key, MetricValue::Float(f64::INFINITY)),
                    "-Infinity" => pairs.read(line, key, MetricValue::Float(f64::NEG_INFINITY)),
                    other => pairs.raw(line, key, other, Raw::Text),
                },
                b'-' | b'0'..=b'9' => {
                    let start = at;
                    if json_number(text, &mut at)? {
                        pairs.raw(line, key, &text[start..at], Raw::JsonNumber);
                    } else {
                        let value = read_raw(&text[start..at], Raw::JsonNumber);
                        // Out of range is an error to serde_json, not an infinity.
                        if !matches!(value, MetricValue::Float(f) if f.is_finite()) {
                            return None;
                        }
                        pairs.read(line, key, value);
                    }
                }
                _ => {
                    let rest = &text[at..];
                    let (value, len) = if rest.starts_with("true") {
                        (MetricValue::Bool(true), 4)
                    } else if rest.starts_with("false") {
                        (MetricValue::Bool(false), 5)
                    } else if rest.starts_with("null") {
                        (MetricValue::Null, 4)
                    } else {
                        return None;
                    };
                    at += len;
                    pairs.read(line, key, value);
                }
            }
            skip_space(&mut at);
            match bytes.get(at)? {
                b',' => {
                    at += 1;
                    skip_space(&mut at);
                }
                b'}' => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    skip_space(&mut at);
    (at == bytes.len()).then_some(())
}

/// The JSON string at `at` (its opening quote) when it has no escape and no control
/// character; `at` moves past its closing quote.
fn json_string<'t>(text: &'t str, at: &mut usize) -> Option<&'t str> {
    let start = *at + 1;
    let len = text.as_bytes()[start..]
        .iter()
        .position(|&b| BYTES[usize::from(b)] & STRING_END != 0)?;
    if text.as_bytes()[start + len] != b'"' {
        return None;
    }
    *at = start + len + 1;
    Some(&text[start..start + len])
}

/// Moves `at` past the JSON number there, as `serde_json` reads it: a whole number (of up to
/// 18 digits, not `-0`) an integer, any other a float, correctly rounded as both read it.
/// `None` when it is not one `serde_json` reads the same way (then it is the one to read the
/// line); else whether it can be read later: without an exponent, a number of this size is
/// never out of range, and [`read_raw`] reads it as `serde_json` does. A number with an
/// exponent is read at once, as it may be out of range (an error to `serde_json`).
fn json_number(text: &str, at: &mut usize) -> Option<bool> {
    let bytes = text.as_bytes();
    let start = *at;
    let mut end = start + usize::from(bytes[start] == b'-');
    let digits = |end: &mut usize| {
        let from = *end;
        while bytes.get(*end).is_some_and(u8::is_ascii_digit) {
            *end += 1;
        }
        *end - from
    };
    let whole = end;
    let whole_digits = digits(&mut end);
    if whole_digits == 0 || (bytes[whole] == b'0' && whole_digits > 1) {
        return None;
    }
    let mut integer = true;
    if bytes.get(end) == Some(&b'.') {
        end += 1;
        if digits(&mut end) == 0 {
            return None;
        }
        integer = false;
    }
    let mut exponent = false;
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        end += 1;
        if matches!(bytes.get(end), Some(b'+' | b'-')) {
            end += 1;
        }
        if digits(&mut end) == 0 {
            return None;
        }
        integer = false;
        exponent = true;
    }
    let number = &text[start..end];
    *at = end;
    if integer && (whole_digits > 18 || number == "-0") {
        return None;
    }
    Some(!exponent && whole_digits <= 300)
}

/// Replaces the bare tokens NaN, Infinity and -Infinity outside strings by marker strings.
fn python_tokens_to_markers(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let replaced = [
            ("-Infinity", NEG_INFINITY),
            ("Infinity", INFINITY),
            ("NaN", NAN),
        ]
        .into_iter()
        .find(|(token, _)| rest.starts_with(token));
        if let Some((token, marker)) = replaced {
            out.push('"');
            out.push_str(&marker.replace('\u{0}', "\\u0000"));
            out.push('"');
            rest = &rest[token.len()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Where a bare value ends: at the first whitespace (found byte by byte while the text is
/// ASCII, the common case).
fn value_end(rest: &str) -> usize {
    for (at, &b) in rest.as_bytes().iter().enumerate() {
        if b.is_ascii() {
            // Unicode's whitespace among ASCII: space, \t, \n, \x0b, \x0c, \r.
            if matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
                return at;
            }
        } else {
            return at
                + rest[at..]
                    .find(char::is_whitespace)
                    .unwrap_or(rest.len() - at);
        }
    }
    rest.len()
}

/// `text` without the whitespace it starts with, as [`str::trim_start`] strips it: its ASCII
/// whitespace byte by byte, the rest by the standard library.
fn trim_start(text: &str) -> &str {
    let ascii = text
        .bytes()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
        .unwrap_or(text.len());
    let rest = &text[ascii..];
    if rest.as_bytes().first().is_some_and(|b| !b.is_ascii()) {
        rest.trim_start()
    } else {
        rest
    }
}

/// What a byte is to the readers of records ([`BYTES`]): of a `key=value` pair's key, ...
const KEY: u8 = 1;
/// ... the space between pairs, ...
const SPACE: u8 = 2;
/// ... or what ends a JSON string read as it is written: its quote, an escape, a control
/// character (as bits: a control character may be a space too).
const STRING_END: u8 = 4;
/// The class of each byte, looked up once a byte by the readers of records.
static BYTES: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-' | b'/') {
            table[b] = KEY;
        }
        // Unicode's whitespace among ASCII, as `str::trim` strips it.
        if matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
            table[b] = SPACE;
        }
        if byte == b'"' || byte == b'\\' || byte < 0x20 {
            table[b] |= STRING_END;
        }
        b += 1;
    }
    table
};

/// [`parse_key_values`] of an ASCII `text`, in one pass over its bytes: a key is read up to
/// its `=`, a value up to the space after it, each byte looked at once.
fn ascii_key_values(line: &str, text: &str, pairs: &mut Pairs) -> Option<()> {
    let bytes = text.as_bytes();
    let class = |at: usize| bytes.get(at).map_or(0, |&b| BYTES[usize::from(b)]);
    let mut at = 0;
    loop {
        while class(at) & SPACE != 0 {
            at += 1;
        }
        if at == bytes.len() {
            break;
        }
        let key_start = at;
        while class(at) & KEY != 0 {
            at += 1;
        }
        if at == key_start || bytes.get(at) != Some(&b'=') {
            return None;
        }
        let key = &text[key_start..at];
        at += 1;
        if bytes.get(at) == Some(&b'"') {
            let end = at + 1 + memchr::memchr(b'"', &bytes[at + 1..])?;
            pairs.raw(line, key, &text[at + 1..end], Raw::Text);
            at = end + 1;
        } else {
            let value_start = at;
            while at < bytes.len() && class(at) & SPACE == 0 {
                at += 1;
            }
            pairs.raw(line, key, &text[value_start..at], Raw::Token);
        }
    }
    (!pairs.pairs.is_empty()).then_some(())
}

/// Whether a line of `key=value` pairs can be of the shape `keys` (as
/// [`shape_of`](super::latest::shape_of) writes them), read by [`key_values_of_shape`]: each
/// key is one [`ascii_key_values`] reads whole, not empty and of key bytes only (so that the
/// first byte after it, a `=`, ends it).
pub(super) fn key_values_shape(keys: &[u8]) -> bool {
    keys.strip_suffix(&[0]).is_some_and(|keys| {
        keys.split(|&b| b == 0)
            .all(|key| !key.is_empty() && key.iter().all(|&b| BYTES[usize::from(b)] & KEY != 0))
    })
}

/// The keys of a shape of `key=value` lines met before, made once to read its lines by
/// ([`key_values_of_shape`]): each key with its `=`, and its first sixteen bytes as two words
/// to compare with the line's.
#[derive(Clone, Debug)]
pub(super) struct KeyValueShape {
    /// Each key followed by its `=`, one after the other.
    text: Vec<u8>,
    keys: Vec<ShapeKey>,
}

/// A key of a [`KeyValueShape`].
#[derive(Clone, Debug)]
struct ShapeKey {
    /// Where the key and its `=` start in the shape's text.
    start: u32,
    /// The length of the key and its `=`.
    len: u32,
    /// Their first sixteen bytes as two words (the first byte the lowest), zero past their
    /// end.
    words: [u64; 2],
    /// The bytes of `words` that are theirs.
    masks: [u64; 2],
}

impl KeyValueShape {
    /// The shape of `keys`, as [`shape_of`](super::latest::shape_of) writes them, when a line
    /// of it can be read so ([`key_values_shape`]).
    pub(super) fn of(keys: &[u8]) -> Option<KeyValueShape> {
        if !key_values_shape(keys) {
            return None;
        }
        let mut shape = KeyValueShape {
            text: Vec::with_capacity(keys.len()),
            keys: Vec::new(),
        };
        for key in keys.split(|&b| b == 0).filter(|k| !k.is_empty()) {
            let start = shape.text.len();
            shape.text.extend_from_slice(key);
            shape.text.push(b'=');
            let with_equals = &shape.text[start..];
            let mut words = [0; 2];
            let mut masks = [0; 2];
            for (at, chunk) in with_equals.chunks(8).take(2).enumerate() {
                let mut word = [0; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                words[at] = u64::from_le_bytes(word);
                masks[at] = u64::MAX >> (64 - 8 * chunk.len());
            }
            shape.keys.push(ShapeKey {
                start: start as u32,
                len: with_equals.len() as u32,
                words,
                masks,
            });
        }
        Some(shape)
    }
}

/// [`scan`] of a line of `key=value` pairs written with the keys of a shape met before, in
/// its order. Reads what [`scan`] would read, without looking for a key twice or writing the
/// line's shape, or `None` when the line is not so written (another shape, a pair more or
/// fewer, JSON, bytes that are not ASCII): [`scan`] reads it then.
pub(super) fn key_values_of_shape(
    line: &str,
    shape: &KeyValueShape,
    pairs: &mut Pairs,
) -> Option<()> {
    // A line with other spaces than ASCII's at its ends is no line of printable ASCII.
    let text = line.trim_ascii();
    let bytes = text.as_bytes();
    // Most lines not of the shape are told by their first key (a JSON object, at its brace).
    let first = shape.keys.first()?;
    if !key_at(shape, first, bytes, 0) {
        return None;
    }
    // Tabs and other spaces, control bytes, and bytes that are not ASCII are rare in progress
    // lines: a line with any is read by the general reader. In the others the one space is
    // ' ', and a value ends at the next one, found eight bytes at a time.
    if !printable_ascii(bytes) {
        return None;
    }
    pairs.clear();
    pairs.pairs.reserve(shape.keys.len());
    let base = offset(line, text) as usize;
    let mut at = 0;
    for key in &shape.keys {
        while bytes.get(at) == Some(&b' ') {
            at += 1;
        }
        if !key_at(shape, key, bytes, at) {
            return None;
        }
        let key_start = at;
        at += key.len as usize;
        let (start, len, kind) = if bytes.get(at) == Some(&b'"') {
            let close = at + 1 + memchr::memchr(b'"', &bytes[at + 1..])?;
            let value = (at + 1, close - at - 1, Raw::Text);
            at = close + 1;
            value
        } else {
            let start = at;
            at = next_space(bytes, at);
            (start, at - start, Raw::Token)
        };
        // The shape's keys are distinct: none is looked for among those before.
        pairs.pairs.push(Pair {
            key_start: (base + key_start) as u32,
            key_len: key.len - 1,
            value: Value::Raw(RawAt {
                start: (base + start) as u32,
                len: len as u32,
                kind,
            }),
        });
    }
    while bytes.get(at) == Some(&b' ') {
        at += 1;
    }
    (at == bytes.len()).then_some(())
}

/// Whether `bytes` holds `key` of `shape`, with its `=`, at `at`: its first sixteen bytes
/// compared as two words where the line has sixteen there.
#[inline(always)]
fn key_at(shape: &KeyValueShape, key: &ShapeKey, bytes: &[u8], at: usize) -> bool {
    let len = key.len as usize;
    if at + 16 <= bytes.len() {
        let differ = (word(bytes, at) ^ key.words[0]) & key.masks[0]
            | (word(bytes, at + 8) ^ key.words[1]) & key.masks[1];
        differ == 0 && {
            let start = key.start as usize;
            len <= 16 || bytes.get(at + 16..at + len) == Some(&shape.text[start + 16..start + len])
        }
    } else {
        let start = key.start as usize;
        bytes.get(at..at + len) == Some(&shape.text[start..start + len])
    }
}

/// A one in each byte.
const ONES: u64 = 0x0101_0101_0101_0101;

/// Eight bytes of a text, as one number: the first byte the lowest.
fn word(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"))
}

/// Each byte's high bit, in a word.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Whether every byte of `bytes` is printable ASCII or DEL (0x20 to 0x7f): no control byte,
/// so no space but ' ', and nothing that is not ASCII.
fn printable_ascii(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let mut flagged = 0;
    for chunk in &mut words {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        // The high bit of a byte that is not ASCII, or (less 0x20 with a borrow, as a byte
        // below 0x20 makes it) of one that is below 0x20: a borrow into a byte comes only from
        // a byte below it that is flagged itself, so the word is flagged exactly when one is.
        flagged |= x | (x.wrapping_sub(0x2020_2020_2020_2020) & !x);
    }
    flagged & HIGH_BITS == 0 && words.remainder().iter().all(|&b| (0x20..0x80).contains(&b))
}

/// Where the first ' ' at or after `at` is in `bytes`, or its length: eight bytes at a time.
/// A value is a few bytes long, where `memchr`'s setup costs more than it saves: with it in
/// place of this, `instructions.sh feed-heavy` counted 3,042 instructions a line against 2,964.
fn next_space(bytes: &[u8], mut at: usize) -> usize {
    while at + 8 <= bytes.len() {
        let x = word(bytes, at) ^ 0x2020_2020_2020_2020;
        // A byte that was ' ' is 0 now: its high bit is the lowest set here (a borrow sets the
        // bits of bytes above a zero byte only, never below it).
        let spaces = x.wrapping_sub(ONES) & !x & HIGH_BITS;
        if spaces != 0 {
            return at + (spaces.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + bytes[at..]
        .iter()
        .position(|&b| b == b' ')
        .unwrap_or(bytes.len() - at)
}

/// `key=value key="quoted value" ...`: a record only when every token is such a pair. `text`
/// is a part of `line`, whose pairs are written into `pairs`.
fn parse_key_values(line: &str, text: &str, pairs: &mut Pairs) -> Option<()> {
    let mut rest = text;
    loop {
        rest = trim_start(rest);
        if rest.is_empty() {
            break;
        }
        let eq = memchr::memchr(b'=', rest.as_bytes())?;
        let key = &rest[..eq];
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/'))
        {
            return None;
        }
        rest = &rest[eq + 1..];
        // Held inline, as the key is: no allocation for a short value, and no number read
        // until the value is.
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = memchr::memchr(b'"', quoted.as_bytes())?;
            pairs.raw(line, key, &quoted[..end], Raw::Text);
            rest = &quoted[end + 1..];
        } else {
            let end = value_end(rest);
            pairs.raw(line, key, &rest[..end], Raw::Token);
            rest = &rest[end..];
        }
    }
    (!pairs.pairs.is_empty()).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(record: &Record, key: &str) -> f64 {
        match record[key] {
            MetricValue::Float(f) => f,
            MetricValue::Int(i) => i as f64,
            ref other => panic!("{key} is {other:?}"),
        }
    }

    proptest::proptest! {
        /// A short decimal reads as the standard library reads it, to the bit; anything else
        /// is left to it.
        #[test]
        fn a_short_decimal_reads_as_the_standard_library_reads_it(
            text in "-?[0-9]{1,9}\\.[0-9]{1,9}|-?[0-9]{0,3}\\.?[0-9]{0,3}[eE+x]?[0-9]{0,2}|-?[0-9.-]{1,8}",
        ) {
            match decimal(&text) {
                Some(float) => {
                    let parsed: f64 = text.parse().unwrap();
                    proptest::prop_assert_eq!(float.to_bits(), parsed.to_bits(), "{}", text);
                }
                None => {
                    // `-?D+.D+`, of at most 15 digits.
                    let unsigned = text.strip_prefix('-').unwrap_or(&text);
                    let short = unsigned.len() <= 16
                        && unsigned.split_once('.').is_some_and(|(whole, fraction)| {
                            [whole, fraction].iter().all(|part| {
                                !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit())
                            })
                        });
                    proptest::prop_assert!(!short, "{} is a short decimal", text);
                }
            }
        }
    }

    #[test]
    fn python_json_with_nan_and_infinity() {
        let r = parse(r#"{"epoch": 2, "loss": NaN, "elapsed_seconds": 120.0}"#).unwrap();
        assert!(float(&r, "loss").is_nan());
        assert_eq!(r["epoch"], MetricValue::Int(2));
        let r =
            parse(r#"{"loss": Infinity, "grad": -Infinity, "note": "NaN stays text"}"#).unwrap();
        assert_eq!(float(&r, "loss"), f64::INFINITY);
        assert_eq!(float(&r, "grad"), f64::NEG_INFINITY);
        assert_eq!(r["note"], MetricValue::Text("NaN stays text".into()));
    }

    #[test]
    fn key_value_lines() {
        let r =
            parse(r#"timestamp=2026-01-19T15:34:12.123 level=INFO message="Starting training...""#)
                .unwrap();
        assert_eq!(r["level"], MetricValue::Text("INFO".into()));
        assert_eq!(
            r["message"],
            MetricValue::Text("Starting training...".into())
        );
        assert_eq!(
            r["timestamp"],
            MetricValue::Text("2026-01-19T15:34:12.123".into())
        );
        let r = parse("step=9000 r_hat=1.35 ess=41 divergences=57 loss=nan").unwrap();
        assert_eq!(float(&r, "r_hat"), 1.35);
        assert_eq!(r["ess"], MetricValue::Int(41));
        assert!(float(&r, "loss").is_nan());
    }

    #[test]
    fn ordinary_lines_are_not_records() {
        assert_eq!(
            parse("Sampling 2 chains for 40 tune and 400 draw iterations"),
            None
        );
        assert_eq!(parse("x = 3 is fine"), None);
        assert_eq!(parse("{not json"), None);
        assert_eq!(parse("[1, 2]"), None);
        assert!(
            parse("val_error=0.3").is_some(),
            "a record, not an incident"
        );
    }

    #[test]
    fn a_key_given_again_replaces_its_value_in_place() {
        let mut r = parse(r#"{"epoch": 1, "loss": 0.5, "epoch": 2}"#).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r["epoch"], MetricValue::Int(2));
        r.extend(parse("loss=0.25 lr=0.1").unwrap());
        let keys: Vec<&str> = r.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["epoch", "loss", "lr"], "first-written order");
        assert_eq!(float(&r, "loss"), 0.25);
        assert!(!r.contains_key("val_loss"));
        // An object in JSON, and back.
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, r#"{"epoch":2,"loss":0.25,"lr":0.1}"#);
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), r);
    }

    /// What serde_json alone reads from `text`, as [`scan`] reads a JSON line that is no flat
    /// object.
    fn by_serde(text: &str) -> Option<Record> {
        match serde_json::from_str(text) {
            Ok(record) => Some(record),
            Err(_) if text.contains("NaN") || text.contains("Infinity") => {
                serde_json::from_str(&python_tokens_to_markers(text)).ok()
            }
            Err(_) => None,
        }
    }

    /// Records equal as their JSON is: NaN equals NaN, and -0.0 is not 0.0.
    fn same(a: &Option<Record>, b: &Option<Record>) -> bool {
        let show = |r: &Option<Record>| {
            r.as_ref().map(|r| {
                r.iter()
                    .map(|(k, v)| match v {
                        MetricValue::Float(f) => format!("{k}=f{:?}", f.to_bits()),
                        other => format!("{k}={other:?}"),
                    })
                    .collect::<Vec<_>>()
            })
        };
        show(a) == show(b)
    }

    fn flat_json(text: &str) -> Option<Record> {
        let mut pairs = Pairs::default();
        super::flat_json(text, text, &mut pairs).map(|()| pairs.of(text).to_record())
    }

    #[test]
    fn flat_json_is_read_as_serde_json_reads_it() {
        let cases = [
            r#"{"timestamp": 1768836852.5, "epoch": 3, "loss": 0.2531, "r_hat": 1.01}"#,
            r#"{}"#,
            r#"{ "a" : -12 , "b":1e3,"c":-0.0,"d":"NaN","e":"Infinity","f":"-Infinity"}"#,
            r#"{"a": true, "b": false, "c": null, "d": "text with spaces"}"#,
            r#"{"a": 123456789012345678, "b": 1234567890123456789, "c": 99999999999999999999}"#,
            r#"{"a": -0, "b": 0, "c": 01, "d": 1., "e": .5, "f": 1e, "g": 1e400, "h": 1e-400}"#,
            r#"{"a": 2.2250738585072011e-308, "b": 0.1000000000000000055511151231257827}"#,
            r#"{"a": "esc"aped", "b": 1}"#,
            r#"{"a": {"nested": 1}, "b": [1, 2]}"#,
            r#"{"loss": NaN, "x": Infinity}"#,
            r#"{"a": 1,}"#,
            r#"{"a": 1} trailing"#,
            r#"{"a": 1, "a": 2}"#,
            r#"{"a" 1}"#,
            r#"{"a": tru}"#,
            "{\"a\": \"tab\tinside\"}",
        ];
        for text in cases {
            assert!(
                same(&parse(text), &by_serde(text)),
                "{text}: {:?} against {:?}",
                parse(text),
                by_serde(text)
            );
        }
        assert!(
            flat_json(cases[0]).is_some(),
            "the common case is read by hand"
        );
    }

    proptest::proptest! {
        #[test]
        fn generated_json_lines_are_read_as_serde_json_reads_them(
            pairs in proptest::collection::vec(
                (
                    "[a-z_\"\\\\]{0,6}",
                    proptest::prop_oneof![
                        "-?[0-9]{1,20}",
                        "-?[0-9]{1,4}\\.[0-9]{0,20}([eE][-+]?[0-9]{1,3})?",
                        "\"[a-zA-Z \\\\\"NaInfty-]{0,10}\"",
                        proptest::strategy::Just("true".to_owned()),
                        proptest::strategy::Just("null".to_owned()),
                        proptest::strategy::Just("NaN".to_owned()),
                        proptest::strategy::Just("{}".to_owned()),
                    ],
                    "[ \t]{0,2}",
                ),
                0..6,
            ),
            tail in "[ }x]{0,2}",
        ) {
            let body: Vec<String> = pairs
                .iter()
                .map(|(k, v, space)| format!("\"{k}\"{space}:{space}{v}"))
                .collect();
            let text = format!("{{{}}}{tail}", body.join(","));
            let text = text.trim();
            proptest::prop_assert!(
                same(&parse(text), &by_serde(text)),
                "{}: {:?} against {:?}", text, parse(text), by_serde(text)
            );
        }
    }

    #[test]
    fn records_serialize_non_finite_numbers_as_python_does() {
        let r = parse(r#"{"loss": NaN}"#).unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"loss":"NaN"}"#);
    }

    /// A `key=value` token: numbers of every shape, Python's words, text, quoted text.
    fn token() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::prop_oneof![
            "-?[0-9]{1,20}",
            "[-+]?[0-9]{0,4}\\.?[0-9]{0,6}([eE][-+]?[0-9]{1,3})?",
            "(nan|NaN|inf|-inf|Infinity|-Infinity|true|False|[a-z.-]{1,6})",
            "\"[a-z =0-9.]{0,8}\"",
            "1[0-9]{300,320}\\.5",
        ]
    }

    /// The record an `each` rule is asked of, read by name: `key` and `value`.
    fn key_and_value(key: &str, value: LazyValue<'_>) -> Record {
        [
            ("key", MetricValue::Text(key.to_owned())),
            ("value", value.read().into_owned()),
        ]
        .into_iter()
        .collect()
    }

    /// What a record read eagerly holds: every value read as the line is, a key given again
    /// replacing its value where it was first written.
    fn eagerly(pairs: &[(String, String)]) -> Record {
        let mut record = Record::new();
        for (key, value) in pairs {
            let value = match value.strip_prefix('"') {
                Some(quoted) => MetricValue::Text(quoted.trim_end_matches('"').to_owned()),
                None => MetricValue::from_token(value),
            };
            record.insert(key.as_str(), value);
        }
        record
    }

    proptest::proptest! {
        #[test]
        fn a_lazy_record_holds_what_an_eager_reading_gives(
            pairs in proptest::collection::vec(("(loss|lr|step|a|b|val_loss|x_loss_y)", token()), 1..8),
            rule in proptest::sample::select(vec![
                "value is nan or value is infinite",
                "value is finite",
                "loss > 0.5 or step == 3",
                "lr is nan",
                "loss is infinite and a is defined",
                "b == 'x' or a < b",
            ]),
        ) {
            let line = pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ");
            let lazy = parse(&line).expect("a record");
            let eager = eagerly(&pairs);
            let vars = Record::new();
            let node = super::super::metric::compile(rule).expect("a native rule");
            // A rule reads the record unread as a rule reads it read.
            proptest::prop_assert_eq!(
                super::super::metric::holds(&node, lazy.view(), &vars),
                super::super::metric::holds(&node, eager.view(), &vars),
                "{}: {}", line, rule
            );
            // An `each` rule holds as the rule holds for a record of its `key` and `value`.
            let each = super::super::metric::compile_each(rule).expect("a native rule");
            for ((key, value), (_, read_value)) in lazy.view().lazy_iter().zip(eager.view().lazy_iter()) {
                proptest::prop_assert_eq!(
                    super::super::metric::holds_each(&each, key, value, &vars),
                    super::super::metric::holds_each(&each, key, read_value, &vars),
                    "{}: {} for {}", line, rule, key
                );
                proptest::prop_assert_eq!(
                    super::super::metric::holds_each(&each, key, read_value, &vars),
                    super::super::metric::holds(&node, key_and_value(key, read_value).view(), &vars),
                    "{}: {} for {}", line, rule, key
                );
                proptest::prop_assert_eq!(value.finite_number(), number(&read_value.read()));
            }
            // Merged into the latest values, unread, they are what they would have been read.
            let mut latest = parse("step=1 loss=2 extra=x").expect("a record");
            latest.extend(lazy.clone());
            let mut latest_eager = eagerly(&[("step".into(), "1".into()), ("loss".into(), "2".into()), ("extra".into(), "x".into())]);
            latest_eager.extend(eager.clone());
            proptest::prop_assert!(same(&Some(latest), &Some(latest_eager)), "{}", line);
            proptest::prop_assert!(same(&Some(lazy), &Some(eager)), "{}", line);
        }
    }
    /// A line of pairs of some keys, as `key=value` or as JSON, and the record it is.
    fn line() -> impl proptest::strategy::Strategy<Value = (String, Option<Record>)> {
        use proptest::strategy::Strategy;
        (
            proptest::collection::vec(
                (
                    "(loss|lr|step|a|b|a_much_longer_key_name_than_inline)",
                    token(),
                ),
                0..6,
            ),
            proptest::bool::ANY,
        )
            .prop_map(|(pairs, json)| {
                if json {
                    let body: Vec<String> = pairs
                        .iter()
                        .map(|(k, v)| {
                            let number = serde_json::from_str::<serde_json::Value>(v)
                                .is_ok_and(|v| v.is_number());
                            if number || v.starts_with('"') {
                                format!("\"{k}\": {v}")
                            } else {
                                format!("\"{k}\": \"{v}\"")
                            }
                        })
                        .collect();
                    let line = format!("{{{}}}", body.join(", "));
                    let record = by_serde(&line);
                    (line, record)
                } else {
                    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    let record = (!pairs.is_empty()).then(|| eagerly(&pairs));
                    (body.join(" "), record)
                }
            })
    }

    /// The shape of `line` as the classifier knows it, when [`scan`] reads it in place.
    fn shape_in_place(line: &str) -> Option<Vec<u8>> {
        let mut pairs = Pairs::default();
        let mut keys = Vec::new();
        matches!(scan(line, &mut pairs), Scanned::InPlace).then(|| {
            super::super::latest::shape_of(pairs.of(line).keys(), &mut keys);
            keys
        })
    }

    /// Lines of pairs of a few keys (shorter and longer than a word), so that two of them are
    /// often of one shape: quoted values, values holding `=` or bytes that are not ASCII, a key
    /// given twice, spaces of every kind, and some that are no record.
    const SHAPED: &str =
        "[ \t]{0,1}(([ab_]{1,2}|a_{3,7}b)=(\"[a-z0-9 ]{0,2}\"|[a-z0-9.=\"é]{0,3})[ \t\x0b]{1,2}){1,4}";

    #[test]
    fn a_key_that_only_starts_with_the_shape_s_is_another_shape() {
        let shape = shape_in_place("step=1 a=2 loss=3 grad_norm=4 epoch=5").unwrap();
        let mut pairs = Pairs::default();
        let line = "step=6 a=7 loss=8 grad_norm=9 epoch=10";
        let shape = KeyValueShape::of(&shape).unwrap();
        assert!(key_values_of_shape(line, &shape, &mut pairs).is_some());
        assert_eq!(pairs.of(line).to_record(), parse(line).unwrap());
        for line in [
            "step=6 ab=7 loss=8 grad_norm=9 epoch=10",
            "step=6 a=7 lossy=8 grad_norm=9 epoch=10",
            "step=6 a=7 loss=8 grad_norm2=9 epoch=10",
            "step=6 a_=7 loss=8 grad_norm=9 epoch=10",
            "step=6 a=7 loss=8 grad_norm=9 epoch=10 more=11",
            "step=6 a=7 loss=8 grad_norm=9",
        ] {
            assert!(
                key_values_of_shape(line, &shape, &mut pairs).is_none(),
                "{line}"
            );
        }
    }

    proptest::proptest! {
        /// The word-at-a-time searches answer as a byte loop does, wherever the bytes start
        /// and end in a word.
        #[test]
        fn the_word_at_a_time_searches_answer_as_a_byte_loop(
            bytes in proptest::collection::vec(
                proptest::sample::select(vec![b' ', b'a', b'=', b'\t', 0x1f, 0x20, 0x7f, 0x80, 0xc3, 0x00, b'~']),
                0..40,
            ),
            at in 0usize..40,
        ) {
            let printable = bytes.iter().all(|&b| (0x20..0x80).contains(&b));
            proptest::prop_assert_eq!(printable_ascii(&bytes), printable, "{:?}", bytes);
            let at = at.min(bytes.len());
            let space = bytes[at..].iter().position(|&b| b == b' ').map_or(bytes.len(), |i| at + i);
            proptest::prop_assert_eq!(next_space(&bytes, at), space, "{:?} from {}", bytes, at);
        }
    }

    proptest::proptest! {
        // Many cases: a later key that only starts with the shape's is a rare draw.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// A line read as a shape's ([`key_values_of_shape`]) is one [`scan`] reads in place, of
        /// that shape, to the same record; and a line written with a shape's keys in its order
        /// is read so. Lines are drawn at random, and written with the shape's keys: with plain
        /// values (which the shape reader must take), and with values holding `=`, quotes, DEL
        /// or nothing, one or two spaces apart (which it may leave to the general reader).
        #[test]
        fn a_line_read_as_a_shape_s_reads_as_scan_reads_it(
            shape_line in SHAPED,
            text in SHAPED,
            values in proptest::collection::vec("[a-z0-9.]{0,3}|\"[a-z ]{0,2}\"", 4),
            odd in proptest::collection::vec("[a-z0-9.=\"\x7f]{0,3}|\"[a-z =]{0,2}\"", 4),
            gaps in proptest::collection::vec(" {1,2}", 4),
        ) {
            let Some(keys) = shape_in_place(&shape_line).filter(|k| key_values_shape(k)) else {
                return Ok(());
            };
            let shape = KeyValueShape::of(&keys).expect("a shape of key=value lines");
            // Read as the shape's, a line is read as the general reader reads it.
            let same = |text: &str| -> Result<bool, proptest::test_runner::TestCaseError> {
                let mut fast = Pairs::default();
                if key_values_of_shape(text, &shape, &mut fast).is_none() {
                    return Ok(false);
                }
                let mut general = Pairs::default();
                proptest::prop_assert!(matches!(scan(text, &mut general), Scanned::InPlace), "{:?}", text);
                proptest::prop_assert_eq!(shape_in_place(text), Some(keys.clone()), "{:?}", text);
                proptest::prop_assert_eq!(fast.of(text).to_record(), general.of(text).to_record(), "{:?}", text);
                Ok(true)
            };
            same(&text)?;
            let write = |values: &[String], gaps: &[String]| {
                let mut line = String::new();
                let names = keys.split(|&b| b == 0).filter(|k| !k.is_empty());
                for (i, (key, value)) in names.zip(values).enumerate() {
                    if i > 0 {
                        line.push_str(&gaps[i % gaps.len()]);
                    }
                    line.push_str(&format!("{}={value}", String::from_utf8_lossy(key)));
                }
                line
            };
            let written = write(&values, &[" ".to_owned()]);
            proptest::prop_assert!(same(&written)?, "{:?} of {:?}", written, keys);
            same(&write(&odd, &gaps))?;
        }
    }

    proptest::proptest! {
        /// The one-pass reader of ASCII lines finds the pairs the general one finds, and
        /// refuses the lines it refuses.
        #[test]
        fn ascii_lines_of_pairs_read_as_the_general_reader_reads_them(
            text in "[ \t\x0b]{0,2}([a-z_./-]{0,3}[= \t\x0b\"]{0,2}[a-z0-9.\"]{0,3}[ \t\x0c\r]{0,2}){0,5}",
        ) {
            let (mut fast, mut general) = (Pairs::default(), Pairs::default());
            let read = ascii_key_values(&text, &text, &mut fast);
            proptest::prop_assert_eq!(read, parse_key_values(&text, &text, &mut general), "{:?}", text);
            if read.is_some() {
                proptest::prop_assert_eq!(fast.of(&text).to_record(), general.of(&text).to_record(), "{:?}", text);
            }
        }

        #[test]
        fn a_line_read_in_place_reads_as_its_record(
            lines in proptest::collection::vec(line(), 1..8),
            rule in proptest::sample::select(vec![
                "value is nan or value is infinite",
                "value > 0.5",
                "2 >= loss",
                "loss > 0.5 or step == 3",
                "lr is nan",
                "a_much_longer_key_name_than_inline == 'x' or a < b",
            ]),
        ) {
            let node = super::super::metric::compile(rule).expect("a native rule");
            let each = super::super::metric::compile_each(rule).expect("a native rule");
            let vars = Record::new();
            // One `Pairs` for every line, as a classifier reads a log.
            let mut pairs = Pairs::default();
            for (line, record) in &lines {
                let scanned = scan(line, &mut pairs);
                let read = match scanned {
                    Scanned::No => None,
                    Scanned::InPlace => Some(pairs.of(line).to_record()),
                    Scanned::Kept(ref record) => Some(record.clone()),
                };
                proptest::prop_assert!(same(&read, record), "{}: {:?} against {:?}", line, read, record);
                let (Scanned::InPlace, Some(record)) = (scanned, record) else { continue };
                let view = RecordRef::Line(pairs.of(line));
                proptest::prop_assert_eq!(view.keys().collect::<Vec<_>>(), record.keys().collect::<Vec<_>>());
                for (key, value) in record.view().lazy_iter() {
                    let in_place = view.lazy_get(key).expect("the key is there");
                    let of = |v: &MetricValue| same(&Some([(key, v.clone())].into_iter().collect()), &Some([(key, value.read().into_owned())].into_iter().collect()));
                    proptest::prop_assert!(of(&in_place.read()), "{}: {}", line, key);
                    proptest::prop_assert_eq!(in_place.finite_number().map(f64::to_bits), value.finite_number().map(f64::to_bits));
                    proptest::prop_assert_eq!(in_place.text(), value.text());
                    proptest::prop_assert_eq!(
                        super::super::metric::holds_each(&each, key, in_place, &vars),
                        super::super::metric::holds_each(&each, key, value, &vars),
                        "{}: {} for {}", line, rule, key
                    );
                }
                proptest::prop_assert_eq!(
                    super::super::metric::holds(&node, view, &vars),
                    super::super::metric::holds(&node, record.view(), &vars),
                    "{}: {}", line, rule
                );
                // Its names found by their places in the line's keys, as a shape's facts ask.
                let keys: Vec<&str> = view.keys().collect();
                let bound = super::super::metric::bind(&node, &keys, &vars);
                let answer = super::super::metric::holds(&node, record.view(), &vars);
                proptest::prop_assert_eq!(
                    super::super::metric::holds(&bound, view, &vars),
                    answer,
                    "{}: {} bound", line, rule
                );
                let quick = super::super::metric::quick(&bound)
                    .and_then(|quick| super::super::metric::quick_holds(quick, view, None));
                if quick.is_some() {
                    proptest::prop_assert_eq!(quick, answer, "{}: {} quick", line, rule);
                }
                let each_bound = super::super::metric::bind(&each, &[], &vars);
                for (key, in_place) in view.lazy_iter() {
                    let quick = super::super::metric::quick(&each_bound)
                        .and_then(|quick| super::super::metric::quick_holds(quick, view, Some(in_place)));
                    if quick.is_some() {
                        proptest::prop_assert_eq!(
                            quick,
                            super::super::metric::holds_each(&each, key, in_place, &vars),
                            "{}: {} for {}, quick", line, rule, key
                        );
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// A record answers as a list of pairs searched one by one would, before its keys are
        /// indexed and after: keys set one at a time or merged from another record, values
        /// replaced, the order of first writing kept.
        #[test]
        fn an_indexed_record_answers_as_a_list_of_pairs(
            writes in proptest::collection::vec(
                (proptest::bool::ANY, proptest::collection::vec((0u8..90, 0i64..5), 1..6)),
                0..40,
            ),
        ) {
            let mut record = Record::new();
            let mut model: Vec<(String, i64)> = Vec::new();
            for (merge, pairs) in writes {
                let pairs: Vec<(String, i64)> = pairs.into_iter().map(|(k, v)| (format!("k{k}"), v)).collect();
                if merge {
                    record.extend(pairs.iter().map(|(k, v)| (k.as_str(), MetricValue::Int(*v))).collect());
                } else {
                    for (k, v) in &pairs {
                        record.insert(k.as_str(), MetricValue::Int(*v));
                    }
                }
                for (k, v) in pairs {
                    match model.iter_mut().find(|(m, _)| *m == k) {
                        Some(pair) => pair.1 = v,
                        None => model.push((k, v)),
                    }
                }
            }
            let keys: Vec<&str> = model.iter().map(|(k, _)| k.as_str()).collect();
            proptest::prop_assert_eq!(record.keys().collect::<Vec<_>>(), keys);
            for k in 0..90 {
                let key = format!("k{k}");
                let expected = model.iter().find(|(m, _)| *m == key).map(|(_, v)| MetricValue::Int(*v));
                proptest::prop_assert_eq!(record.get(&key), expected.as_ref(), "{}", key);
                proptest::prop_assert_eq!(record.contains_key(&key), expected.is_some());
                proptest::prop_assert_eq!(record.lazy_get(&key).map(|v| v.read().into_owned()), expected);
            }
        }
    }
}
