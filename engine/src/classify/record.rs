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
#[derive(Clone, Default)]
pub struct Record(Vec<(CompactString, Slot)>);

/// A value of a record: read already, or its text, read when it is first asked for.
#[derive(Clone)]
enum Slot {
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

    /// Makes this the text `text` of `kind`, unread, in the storage it has.
    fn set_raw(&mut self, text: &str, new_kind: Raw) {
        match self {
            Slot::Lazy { raw, kind, value } => {
                raw.clear();
                raw.push_str(text);
                *kind = new_kind;
                value.take();
            }
            Slot::Read(_) => *self = Slot::raw(text, new_kind),
        }
    }

    /// Makes this a copy of `other`, in the storage it has.
    fn copy_from(&mut self, other: &Slot) {
        match (&mut *self, other) {
            (
                Slot::Lazy { raw, kind, value },
                Slot::Lazy {
                    raw: text,
                    kind: new_kind,
                    value: read,
                },
            ) if read.get().is_none() => {
                raw.clone_from(text);
                *kind = *new_kind;
                value.take();
            }
            _ => *self = other.clone(),
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
        self.0.len() == other.0.len()
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
    /// An empty record.
    pub fn new() -> Record {
        Record::default()
    }

    /// An empty record, as a constant.
    pub(super) const fn empty() -> Record {
        Record(Vec::new())
    }

    /// An empty record with room for `capacity` keys.
    pub(super) fn with_capacity(capacity: usize) -> Record {
        Record(Vec::with_capacity(capacity))
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&MetricValue> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.value())
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// Sets `key` to `value`, replacing the value it had.
    pub fn insert(&mut self, key: impl Into<CompactString>, value: MetricValue) {
        self.put(key.into(), Slot::Read(value));
    }

    fn put(&mut self, key: CompactString, slot: Slot) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, old)) => *old = slot,
            None => self.0.push((key, slot)),
        }
    }

    /// Takes the values of `other`, which replace those of the same keys, unread as they are.
    pub fn extend(&mut self, other: Record) {
        // Records of one kind of line write their keys in the same order: each key is looked
        // for first just after where the last one was.
        let mut guess = 0;
        for (key, slot) in other.0 {
            if let Some((k, old)) = self.0.get_mut(guess) {
                if *k == key {
                    *old = slot;
                    guess += 1;
                    continue;
                }
            }
            match self.0.iter().position(|(k, _)| *k == key) {
                Some(at) => {
                    self.0[at].1 = slot;
                    guess = at + 1;
                }
                None => {
                    self.0.push((key, slot));
                    guess = self.0.len();
                }
            }
        }
    }

    /// Takes the values of `other` as [`Record::extend`] does, copied into the room this
    /// record has: merging the records of a log into one allocates only for a new key (or a
    /// value too long to be held inline).
    pub(super) fn extend_from(&mut self, other: &Record) {
        let mut guess = 0;
        for (key, slot) in &other.0 {
            let at = match self.0.get(guess) {
                Some((k, _)) if k == key => guess,
                _ => match self.0.iter().position(|(k, _)| k == key) {
                    Some(at) => at,
                    None => {
                        self.0.push((key.clone(), slot.clone()));
                        guess = self.0.len();
                        continue;
                    }
                },
            };
            self.0[at].1.copy_from(slot);
            guess = at + 1;
        }
    }

    /// The keys and values, in the order they were first written.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &MetricValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.value()))
    }

    /// The keys, in the order they were first written, none of their values read.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// The value of `key`, not read yet.
    pub(super) fn lazy_get(&self, key: &str) -> Option<LazyValue<'_>> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| LazyValue(v))
    }

    /// The keys with their values read only when asked for.
    pub(super) fn lazy_iter(&self) -> impl Iterator<Item = (&str, LazyValue<'_>)> {
        self.0.iter().map(|(k, v)| (k.as_str(), LazyValue(v)))
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it has no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Writes a record read from a line into the room a record had, pair by pair: the keys of a
/// log's records recur, in the same order, so a key already in its place is kept (no copy of
/// it is made) and its value's text is written into the storage the last value had.
pub(super) struct Fill<'r> {
    record: &'r mut Record,
    /// The pairs written so far.
    written: usize,
    /// The bits of [`key_bit`] of the keys written: a key whose bit is not there is new, and
    /// is not looked for among them.
    seen: u64,
}

impl<'r> Fill<'r> {
    /// Starts writing over `record`.
    pub(super) fn new(record: &'r mut Record) -> Fill<'r> {
        Fill {
            record,
            written: 0,
            seen: 0,
        }
    }

    /// Sets `key` to the text `raw` of `kind`, replacing the value it was given earlier on
    /// the line.
    pub(super) fn raw(&mut self, key: &str, raw: &str, kind: Raw) {
        if let Some(slot) = self.slot(key) {
            slot.set_raw(raw, kind);
        } else {
            self.place(key, Slot::raw(raw, kind));
        }
    }

    /// Sets `key` to `value`, as [`Fill::raw`] does.
    pub(super) fn read(&mut self, key: &str, value: MetricValue) {
        if let Some(slot) = self.slot(key) {
            *slot = Slot::Read(value);
        } else {
            self.place(key, Slot::Read(value));
        }
    }

    /// The slot of `key`: the one it was given earlier on the line, or the next one when the
    /// record had `key` there; `None` when `key` is to be placed.
    fn slot(&mut self, key: &str) -> Option<&mut Slot> {
        let bit = key_bit(key);
        let pairs = &mut self.record.0;
        if self.seen & bit != 0 {
            if let Some(at) = pairs[..self.written].iter().position(|(k, _)| k == key) {
                return Some(&mut pairs[at].1);
            }
        }
        self.seen |= bit;
        match pairs.get_mut(self.written) {
            Some((k, slot)) if k == key => {
                self.written += 1;
                Some(slot)
            }
            _ => None,
        }
    }

    /// Places the new `key` next, with `slot`.
    fn place(&mut self, key: &str, slot: Slot) {
        let pair = (CompactString::from(key), slot);
        match self.record.0.get_mut(self.written) {
            Some(old) => *old = pair,
            None => self.record.0.push(pair),
        }
        self.written += 1;
    }

    /// Ends the record: the pairs past those written are dropped. Whether it has any.
    pub(super) fn finish(self) -> bool {
        self.record.0.truncate(self.written);
        self.written > 0
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

/// A value of a record not read yet: [`LazyValue::get`] reads it.
#[derive(Clone, Copy)]
pub(super) struct LazyValue<'r>(&'r Slot);

impl<'r> LazyValue<'r> {
    /// The value.
    pub(super) fn get(self) -> &'r MetricValue {
        self.0.value()
    }

    /// The value when it is a whole number, or any other finite number, as a float; read
    /// without keeping what was read.
    pub(super) fn finite_number(self) -> Option<f64> {
        let value = match self.raw() {
            None => return number(self.get()),
            Some((_, Raw::Text)) => return None,
            Some((raw, Raw::Token)) => match Token::of(raw) {
                Token::Int(int) => MetricValue::Int(int),
                Token::Float(float) => MetricValue::Float(float),
                Token::Bool(_) | Token::Text(_) => return None,
            },
            Some((raw, kind)) => read_raw(raw, kind),
        };
        number(&value)
    }

    /// The text it was written as and how that reads, when it was not read yet.
    pub(super) fn raw(self) -> Option<(&'r str, Raw)> {
        match self.0 {
            Slot::Lazy { raw, kind, value } if value.get().is_none() => Some((raw.as_str(), *kind)),
            _ => None,
        }
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
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
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

// Python's json module writes NaN, Infinity and -Infinity, which JSON does not allow; they are
// rewritten to these marker strings before parsing.
const NAN: &str = "\u{0}NaN";
const INFINITY: &str = "\u{0}Infinity";
const NEG_INFINITY: &str = "\u{0}-Infinity";

/// Reads `line` as a metric record, if it is one.
pub fn parse(line: &str) -> Option<Record> {
    let mut record = Record::new();
    parse_into(line, &mut record).then_some(record)
}

/// Reads `line` as a metric record into `record`, in the room it has (see [`Fill`]); whether
/// it is one. When it is not, what `record` holds is not a record of anything.
pub(super) fn parse_into(line: &str, record: &mut Record) -> bool {
    let trimmed = line.trim();
    if trimmed.starts_with('{') {
        return parse_json(trimmed, record);
    }
    if memchr::memchr(b'=', trimmed.as_bytes()).is_some() {
        return parse_key_values(trimmed, record).is_some();
    }
    false
}

fn parse_json(text: &str, into: &mut Record) -> bool {
    if flat_json(text, into).is_some() {
        return true;
    }
    let read = match serde_json::from_str(text) {
        Ok(record) => Some(record),
        Err(_) if text.contains("NaN") || text.contains("Infinity") => {
            serde_json::from_str(&python_tokens_to_markers(text)).ok()
        }
        Err(_) => None,
    };
    read.map(|record| *into = record).is_some()
}

/// A flat JSON object of plain values, as progress lines write them, read by hand: the record
/// `serde_json` reads from it, in a fifth of the time. `None` for anything else (a nested value,
/// an escape, a control character, Python's bare `NaN`, an integer too long to be sure of, a
/// number out of range), which `serde_json` reads then, so the answer is always its answer.
/// The record is written into `into`.
fn flat_json(text: &str, into: &mut Record) -> Option<()> {
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
    let mut record = Fill::new(into);
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
                    "NaN" => record.read(key, MetricValue::Float(f64::NAN)),
                    "Infinity" => record.read(key, MetricValue::Float(f64::INFINITY)),
                    "-Infinity" => record.read(key, MetricValue::Float(f64::NEG_INFINITY)),
                    other => record.raw(key, other, Raw::Text),
                },
                b'-' | b'0'..=b'9' => {
                    let start = at;
                    if json_number(text, &mut at)? {
                        record.raw(key, &text[start..at], Raw::JsonNumber);
                    } else {
                        let value = read_raw(&text[start..at], Raw::JsonNumber);
                        // Out of range is an error to serde_json, not an infinity.
                        if !matches!(value, MetricValue::Float(f) if f.is_finite()) {
                            return None;
                        }
                        record.read(key, value);
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
                    record.read(key, value);
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
    (at == bytes.len()).then(|| {
        record.finish();
    })
}

/// The JSON string at `at` (its opening quote) when it has no escape and no control
/// character; `at` moves past its closing quote.
fn json_string<'t>(text: &'t str, at: &mut usize) -> Option<&'t str> {
    let start = *at + 1;
    let len = text.as_bytes()[start..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
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

/// `key=value key="quoted value" ...`: a record only when every token is such a pair.
fn parse_key_values(text: &str, into: &mut Record) -> Option<()> {
    let mut record = Fill::new(into);
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
            record.raw(key, &quoted[..end], Raw::Text);
            rest = &quoted[end + 1..];
        } else {
            let end = value_end(rest);
            record.raw(key, &rest[..end], Raw::Token);
            rest = &rest[end..];
        }
    }
    record.finish().then_some(())
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

    /// What serde_json alone reads from `text`, as `parse_json` did before it read flat objects
    /// by hand.
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

    fn parse_json(text: &str) -> Option<Record> {
        let mut record = Record::new();
        super::parse_json(text, &mut record).then_some(record)
    }

    fn flat_json(text: &str) -> Option<Record> {
        let mut record = Record::new();
        super::flat_json(text, &mut record).map(|()| record)
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
                same(&parse_json(text), &by_serde(text)),
                "{text}: {:?} against {:?}",
                parse_json(text),
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
                same(&parse_json(text), &by_serde(text)),
                "{}: {:?} against {:?}", text, parse_json(text), by_serde(text)
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
                super::super::metric::holds(&node, &lazy, &vars),
                super::super::metric::holds(&node, &eager, &vars),
                "{}: {}", line, rule
            );
            for ((key, value), (_, read_value)) in lazy.lazy_iter().zip(eager.lazy_iter()) {
                proptest::prop_assert_eq!(
                    super::super::metric::holds_each(&node, key, value, &vars),
                    super::super::metric::holds_each(&node, key, read_value, &vars),
                    "{}: {} for {}", line, rule, key
                );
                proptest::prop_assert_eq!(value.finite_number(), number(read_value.get()));
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
    /// A line of pairs of some keys, as `key=value` or as JSON, some of them read.
    fn line() -> impl proptest::strategy::Strategy<Value = (String, Vec<String>)> {
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
            proptest::collection::vec("(loss|lr|step|a|b)", 0..3),
        )
            .prop_map(|(pairs, json, read)| {
                let line = if json {
                    let body: Vec<String> = pairs
                        .iter()
                        .map(|(k, v)| match v.strip_prefix('"') {
                            Some(_) => format!("\"{k}\": {v}"),
                            None => format!("\"{k}\": \"{v}\""),
                        })
                        .collect();
                    format!("{{{}}}", body.join(", "))
                } else {
                    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    body.join(" ")
                };
                (line, read)
            })
    }

    proptest::proptest! {
        #[test]
        fn a_record_written_over_another_is_the_one_read_afresh(
            lines in proptest::collection::vec(line(), 1..8),
        ) {
            let mut reused = Record::new();
            let mut merged = Record::new();
            let mut merged_fresh = Record::new();
            for (line, read) in &lines {
                let fresh = parse(line);
                let is = parse_into(line, &mut reused);
                proptest::prop_assert_eq!(is, fresh.is_some(), "{}", line);
                if let Some(fresh) = fresh {
                    proptest::prop_assert!(same(&Some(reused.clone()), &Some(fresh.clone())), "{}", line);
                    // Values read before the record is merged are merged read.
                    for key in read {
                        let _ = reused.get(key);
                    }
                    merged.extend_from(&reused);
                    merged_fresh.extend(fresh);
                    proptest::prop_assert!(same(&Some(merged.clone()), &Some(merged_fresh.clone())), "{}", line);
                }
            }
        }
    }
}
