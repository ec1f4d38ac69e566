//! Source positions.
//!
//! Every node of a protocol that a diagnostic can name carries the place it was read from, captured
//! by the loader; nothing searches for a position after loading.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::ops::Deref;

use arcstr::ArcStr;
use schemars::{JsonSchema, Schema, SchemaGenerator};

/// A place in a source file: 1-based line and column (in characters) and a length in characters
/// (at least 1) for the caret under it.
///
/// Packed into 64 bits, as every string of a loaded protocol carries one: the line and the column
/// in 26 bits each (up to 67,108,863; a position past that is held as the largest), the length in
/// 12 (a caret wider than 4,095 characters is drawn 4,095 wide). Spans order by line, then
/// column, then length.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(u64);

impl Default for Span {
    fn default() -> Span {
        Span::start_of_file()
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Span")
            .field("line", &self.line())
            .field("column", &self.column())
            .field("len", &self.len())
            .finish()
    }
}

impl Span {
    const POSITION_BITS: u32 = 26;
    const LEN_BITS: u32 = 12;
    /// The largest line or column a span holds.
    pub const MAX_POSITION: u32 = (1 << Span::POSITION_BITS) - 1;
    /// The widest a span's caret is drawn.
    pub const MAX_LEN: u32 = (1 << Span::LEN_BITS) - 1;

    /// A span of `len` characters at `line`:`column`; each is at least 1, and at most
    /// [`Span::MAX_POSITION`] (line and column) or [`Span::MAX_LEN`] (length).
    pub fn new(line: u32, column: u32, len: u32) -> Span {
        let line = u64::from(line.clamp(1, Span::MAX_POSITION));
        let column = u64::from(column.clamp(1, Span::MAX_POSITION));
        let len = u64::from(len.clamp(1, Span::MAX_LEN));
        Span(line << (Span::POSITION_BITS + Span::LEN_BITS) | column << Span::LEN_BITS | len)
    }

    /// The first character of the file.
    pub fn start_of_file() -> Span {
        Span::new(1, 1, 1)
    }

    /// The 1-based line.
    pub fn line(self) -> u32 {
        (self.0 >> (Span::POSITION_BITS + Span::LEN_BITS)) as u32
    }

    /// The 1-based column, counted in characters.
    pub fn column(self) -> u32 {
        (self.0 >> Span::LEN_BITS) as u32 & Span::MAX_POSITION
    }

    /// The width of the marked text in characters; at least 1.
    #[allow(clippy::len_without_is_empty)] // a span is never empty
    pub fn len(self) -> u32 {
        self.0 as u32 & Span::MAX_LEN
    }
}

/// A value together with the place it was read from.
///
/// Equality and hashing look at the value only, so a `Spanned<Str>` compares like its string.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Wraps `value` read at `span`.
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

impl<T> Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Spanned<T> {}

impl PartialEq<str> for Spanned<Str> {
    fn eq(&self, other: &str) -> bool {
        *self.value == *other
    }
}

impl Spanned<Str> {
    /// The string value.
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

/// A string of a protocol: shared, so that the state ids, events, roles and guards that recur
/// across a protocol's thousands of transitions are held once (the loader reads each distinct
/// string into one allocation), and a copy costs a count, not an allocation. One pointer wide:
/// its length is held with its text.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Str(ArcStr);

impl Str {
    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Str {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl From<&str> for Str {
    fn from(text: &str) -> Str {
        Str(text.into())
    }
}

impl From<String> for Str {
    fn from(text: String) -> Str {
        Str(text.into())
    }
}

impl serde::Serialize for Str {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl JsonSchema for Str {
    fn inline_schema() -> bool {
        String::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        String::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        String::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        String::json_schema(generator)
    }
}

impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

#[cfg(test)]
thread_local! {
    static INDEXED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many texts this thread has indexed, for tests that a text is indexed once.
#[cfg(test)]
pub(crate) fn indexed() -> usize {
    INDEXED.with(std::cell::Cell::get)
}

/// Line starts of a text, to turn (line, column) positions into byte offsets and back.
///
/// A start is 32 bits: the lines of a text that start past 4 GiB are not indexed, and read as
/// past its end (empty), as a span's line and column stop at [`Span::MAX_POSITION`].
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<u32>,
    /// Whether each line is ASCII, where a column is a byte offset and needs no walk.
    ascii: Vec<bool>,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> LineIndex {
        #[cfg(test)]
        INDEXED.with(|n| n.set(n.get() + 1));
        // Line breaks as YAML counts them: `\n`, `\r\n`, and a lone `\r`.
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        starts.extend(
            memchr::memchr2_iter(b'\n', b'\r', bytes)
                .filter(|&i| bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n'))
                .map_while(|i| u32::try_from(i + 1).ok()),
        );
        starts.shrink_to_fit();
        let ascii = (0..starts.len())
            .map(|i| text.as_bytes()[LineIndex::range(&starts, text, i)].is_ascii())
            .collect();
        LineIndex { starts, ascii }
    }

    /// The byte range of 0-based line `i` of `text` indexed by `starts`, its line break
    /// included.
    fn range(starts: &[u32], text: &str, i: usize) -> std::ops::Range<usize> {
        let end = starts.get(i + 1).map_or(text.len(), |&next| next as usize);
        starts[i] as usize..end
    }

    /// The text of 1-based `line` from 1-based `column` (in characters) to the end of the line.
    pub fn from_column<'t>(&self, text: &'t str, line: u32, column: u32) -> &'t str {
        let line_text = self.line(text, line);
        let skip = column.saturating_sub(1) as usize;
        let offset = if self
            .ascii
            .get((line as usize).wrapping_sub(1))
            .copied()
            .unwrap_or(false)
        {
            skip.min(line_text.len())
        } else {
            line_text
                .char_indices()
                .nth(skip)
                .map_or(line_text.len(), |(i, _)| i)
        };
        &line_text[offset..]
    }

    /// The byte offset in `text` of 1-based `line` and `column` (in characters), clamped to the
    /// line's end; the text's end past its last line.
    pub fn offset(&self, text: &str, line: u32, column: u32) -> usize {
        let Some(&start) = self.starts.get((line as usize).wrapping_sub(1)) else {
            return text.len();
        };
        start as usize + (self.line(text, line).len() - self.from_column(text, line, column).len())
    }

    /// How many lines the text has.
    pub fn count(&self) -> u32 {
        u32::try_from(self.starts.len()).unwrap_or(u32::MAX)
    }

    /// The text of 1-based `line`, without its line break (`\n`, `\r\n` or `\r`); empty past
    /// the end.
    pub fn line<'t>(&self, text: &'t str, line: u32) -> &'t str {
        let i = (line as usize).wrapping_sub(1);
        if i >= self.starts.len() {
            return "";
        }
        let range = LineIndex::range(&self.starts, text, i);
        let with_break = &text[range];
        let without = with_break.strip_suffix('\n').unwrap_or(with_break);
        without.strip_suffix('\r').unwrap_or(without)
    }

    /// The byte range that `span` covers in `text`, clamped to its line.
    pub fn byte_range(&self, text: &str, span: Span) -> std::ops::Range<usize> {
        let Some(&line_start) = self.starts.get((span.line() as usize).wrapping_sub(1)) else {
            return text.len()..text.len();
        };
        let line_start = line_start as usize;
        let line = self.line(text, span.line());
        let char_offset = |chars: usize| {
            line.char_indices()
                .nth(chars)
                .map_or(line.len(), |(i, _)| i)
        };
        let start = char_offset(span.column() as usize - 1);
        let end = char_offset((span.column() + span.len()) as usize - 1).max(start);
        line_start + start..line_start + end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_carriage_return_ends_a_line_as_in_yaml() {
        let text = "a: 1\rb: 2\r\nc: 3\n";
        let index = LineIndex::new(text);
        assert_eq!(index.count(), 4);
        assert_eq!(index.line(text, 1), "a: 1");
        assert_eq!(index.line(text, 2), "b: 2");
        assert_eq!(index.line(text, 3), "c: 3");
        assert_eq!(index.from_column(text, 2, 4), "2");
        assert_eq!((index.line(text, 0), index.line(text, 5)), ("", ""));
        assert_eq!(index.from_column(text, 0, 1), "");
        assert_eq!(index.offset(text, 9, 1), text.len());
        let unended = "a\r\n\r\nlast";
        let index = LineIndex::new(unended);
        assert_eq!(index.count(), 3);
        assert_eq!(
            (index.line(unended, 2), index.line(unended, 3)),
            ("", "last")
        );
        assert_eq!(index.offset(unended, 3, 3), 7);
    }

    #[test]
    fn a_span_holds_its_line_column_and_length_and_orders_by_them() {
        let span = Span::new(40_000, 400_000, 12);
        assert_eq!(
            (span.line(), span.column(), span.len()),
            (40_000, 400_000, 12)
        );
        assert_eq!(Span::new(0, 0, 0), Span::start_of_file());
        let largest = Span::new(u32::MAX, u32::MAX, u32::MAX);
        assert_eq!(
            (largest.line(), largest.column(), largest.len()),
            (Span::MAX_POSITION, Span::MAX_POSITION, Span::MAX_LEN)
        );
        let mut spans = [
            Span::new(2, 1, 1),
            Span::new(1, 9, 1),
            Span::new(1, 2, 7),
            Span::new(1, 2, 3),
        ];
        spans.sort();
        let order: Vec<_> = spans
            .iter()
            .map(|s| (s.line(), s.column(), s.len()))
            .collect();
        assert_eq!(order, [(1, 2, 3), (1, 2, 7), (1, 9, 1), (2, 1, 1)]);
        assert_eq!(std::mem::size_of::<Span>(), 8);
    }

    #[test]
    fn byte_range_counts_characters_not_bytes() {
        let text = "a: ✅ done\nb: x\n";
        let index = LineIndex::new(text);
        let range = index.byte_range(text, Span::new(1, 6, 4));
        assert_eq!(&text[range], "done");
        let range = index.byte_range(text, Span::new(2, 4, 1));
        assert_eq!(&text[range], "x");
    }

    #[test]
    fn from_column_counts_characters_on_any_line() {
        let text = "ascii: value\nemoji: ✅ ok\n";
        let index = LineIndex::new(text);
        assert_eq!(index.from_column(text, 1, 8), "value");
        assert_eq!(index.from_column(text, 2, 10), "ok");
        assert_eq!(index.from_column(text, 2, 99), "");
        assert_eq!(index.from_column(text, 9, 1), "");
    }

    #[test]
    fn offset_turns_a_line_and_column_in_characters_into_bytes() {
        let text = "ab: c\r\né: ✅ x\ny\n";
        let index = LineIndex::new(text);
        assert_eq!(index.offset(text, 1, 5), 4);
        assert_eq!(&text[index.offset(text, 2, 6)..], "x\ny\n");
        assert_eq!(&text[index.offset(text, 3, 1)..], "y\n");
        assert_eq!(index.offset(text, 2, 99), text.find("\ny").unwrap());
        assert_eq!(index.offset(text, 9, 1), text.len());
        assert_eq!(index.offset(text, 0, 1), text.len());
    }

    #[test]
    fn byte_range_past_the_end_is_empty_not_a_panic() {
        let text = "a\n";
        let index = LineIndex::new(text);
        assert_eq!(index.byte_range(text, Span::new(9, 9, 9)), 2..2);
        assert_eq!(index.byte_range(text, Span::new(1, 40, 3)), 1..1);
    }
}
