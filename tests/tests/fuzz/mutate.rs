//! Structure-aware mutations of text files: edits that keep most of a shipped file intact, so
//! that the input gets past the parser into the code behind it, and the campaign's classes of
//! hostile values to put in.

use proptest::prelude::*;

/// One edit of a text.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Replaces the `i`th word with the `j`th word of the same text (a state name with another,
    /// `12h` with `0.3`, a key with a key of another section).
    SwapWord(usize, usize),
    /// Replaces the `i`th word with a text.
    ReplaceWord(usize, String),
    /// Replaces `len` bytes at byte `at` with a text.
    Splice {
        /// Where, in bytes (moved back to a character boundary).
        at: usize,
        /// How many bytes are removed.
        len: usize,
        /// What is put there.
        text: String,
    },
    /// Repeats the `i`th line `times` more times.
    DuplicateLine(usize, usize),
    /// Removes the `i`th line.
    DeleteLine(usize),
    /// Moves the `i`th line before the `j`th.
    MoveLine(usize, usize),
    /// Indents (or, when negative, dedents) the `i`th line by `by` spaces.
    Indent(usize, i8),
    /// Appends a text at the end.
    Append(String),
}

/// The byte ranges of the words of `text`: runs of letters, digits and `_.+-`, which covers
/// names, numbers and durations.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let part = c.is_alphanumeric() || "_.+-".contains(c);
        match (part, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, text.len()));
    }
    words
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// `text` with `edits` applied in order (indices taken modulo what there is).
pub fn apply(text: &str, edits: &[Edit]) -> String {
    let mut text = text.to_owned();
    for edit in edits {
        match edit {
            Edit::SwapWord(i, _) | Edit::ReplaceWord(i, _) if !words(&text).is_empty() => {
                let words = words(&text);
                let (start, end) = words[i % words.len()];
                let with = match edit {
                    Edit::SwapWord(_, j) => {
                        let (s, e) = words[j % words.len()];
                        text[s..e].to_owned()
                    }
                    Edit::ReplaceWord(_, with) => with.clone(),
                    _ => unreachable!(),
                };
                text.replace_range(start..end, &with);
            }
            Edit::SwapWord(..) | Edit::ReplaceWord(..) => {}
            Edit::Splice {
                at,
                len,
                text: with,
            } => {
                let at = floor_boundary(&text, *at % (text.len() + 1));
                let end = floor_boundary(&text, at.saturating_add(*len));
                text.replace_range(at..end, with);
            }
            Edit::Append(with) => text.push_str(with),
            Edit::DuplicateLine(..)
            | Edit::DeleteLine(..)
            | Edit::MoveLine(..)
            | Edit::Indent(..) => {
                let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
                let n = lines.len();
                match edit {
                    Edit::DuplicateLine(i, times) => {
                        let line = lines[i % n].clone();
                        for _ in 0..*times {
                            lines.insert(i % n, line.clone());
                        }
                    }
                    Edit::DeleteLine(i) => {
                        lines.remove(i % n);
                    }
                    Edit::MoveLine(i, j) => {
                        let line = lines.remove(i % n);
                        lines.insert(j % n, line);
                    }
                    Edit::Indent(i, by) => {
                        let line = &mut lines[i % n];
                        if *by >= 0 {
                            line.insert_str(0, &" ".repeat(*by as usize));
                        } else {
                            let spaces = line.len() - line.trim_start_matches(' ').len();
                            line.replace_range(..spaces.min(by.unsigned_abs() as usize), "");
                        }
                    }
                    _ => unreachable!(),
                }
                text = lines.join("\n");
            }
        }
    }
    text
}

/// Up to `max` edits, putting in texts drawn from `values`.
pub fn edits(values: BoxedStrategy<String>, max: usize) -> impl Strategy<Value = Vec<Edit>> {
    let index = || 0usize..1_000_000;
    let edit = prop_oneof![
        3 => (index(), index()).prop_map(|(i, j)| Edit::SwapWord(i, j)),
        3 => (index(), values.clone()).prop_map(|(i, v)| Edit::ReplaceWord(i, v)),
        2 => (index(), 0usize..16, values.clone()).prop_map(|(at, len, text)| Edit::Splice { at, len, text }),
        1 => (index(), 0usize..8, "[ -~]{0,8}").prop_map(|(at, len, text)| Edit::Splice { at, len, text }),
        1 => (index(), 1usize..4).prop_map(|(i, t)| Edit::DuplicateLine(i, t)),
        1 => index().prop_map(Edit::DeleteLine),
        1 => (index(), index()).prop_map(|(i, j)| Edit::MoveLine(i, j)),
        1 => (index(), -4i8..5).prop_map(|(i, by)| Edit::Indent(i, by)),
        1 => values.prop_map(Edit::Append),
    ];
    proptest::collection::vec(edit, 1..=max)
}

/// Numbers that have broken conversions: past `u64`, past what a `Duration` holds in seconds
/// (about 1.8e19), negative, not numbers at all.
pub fn hostile_numbers() -> Vec<&'static str> {
    vec![
        "-1",
        "-0",
        "0",
        "0.0",
        "1e-308",
        "4.9e-324",
        "1.5",
        "9007199254740993",
        "2147483648",
        "-9223372036854775808",
        "1e18",
        ".nan",
        ".NaN",
        "NaN",
        ".inf",
        "-.inf",
        "inf",
        "0x10",
        "0o17",
        "1_000",
        "1.8e19",
        "1.8446744073709552e19",
        "18446744073709551616",
        "99999999999999999999",
        "1e20",
        "1e308",
        "1.7976931348623157e308",
    ]
}

/// Durations as a protocol or scenario writes them, hostile ones included: malformed, under a
/// second, waits of a hundred thousand hours (a timer's catching up), past the calendar and
/// past `u64`.
pub fn hostile_durations() -> Vec<&'static str> {
    vec![
        "0s",
        "1ms",
        "90s",
        "30m",
        "1h30m",
        "12h",
        "24h",
        "1 h",
        "h",
        "-1h",
        "100000h",
        "1000000h",
        "10000000000h",
        "2562047788015215h",
        "99999999999999999999h",
    ]
}

/// How deep a nesting goes: shallow, anything up to [`crate::DEEP`] levels, or that deep.
pub fn depth() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..32, 1usize..=crate::DEEP, Just(crate::DEEP)]
}

/// Styles of YAML nesting.
#[derive(Debug, Clone, Copy)]
pub enum Nesting {
    /// `- - - x`: block sequences, one level per two bytes.
    BlockSequence,
    /// `a:\n a:\n  a: x`: block mappings (quadratic in size, so kept shallower).
    BlockMapping,
    /// `[[[x]]]`.
    FlowSequence,
    /// `{a: {a: x}}`.
    FlowMapping,
}

/// A YAML value nested `depth` levels, to follow `key:` and a line break.
pub fn nested(style: Nesting, depth: usize) -> String {
    match style {
        Nesting::BlockSequence => format!("{}x\n", "- ".repeat(depth)),
        Nesting::BlockMapping => {
            let depth = depth.min(2_000);
            let mut text = String::new();
            for level in 0..depth {
                text.push_str(&" ".repeat(level + 1));
                text.push_str("a:\n");
            }
            text.push_str(&" ".repeat(depth + 1));
            text.push_str("x\n");
            text
        }
        Nesting::FlowSequence => format!(" {}x{}\n", "[".repeat(depth), "]".repeat(depth)),
        Nesting::FlowMapping => format!(" {}x{}\n", "{a: ".repeat(depth), "}".repeat(depth)),
    }
}

/// A nesting style: any, or (unless `block`) a flow style only.
pub fn nesting(block: bool) -> BoxedStrategy<Nesting> {
    if block {
        prop_oneof![
            Just(Nesting::BlockSequence),
            Just(Nesting::BlockMapping),
            Just(Nesting::FlowSequence),
            Just(Nesting::FlowMapping)
        ]
        .boxed()
    } else {
        prop_oneof![Just(Nesting::FlowSequence), Just(Nesting::FlowMapping)].boxed()
    }
}

/// An identifier, huge ones included: up to a megabyte.
pub fn identifier() -> impl Strategy<Value = String> {
    let max = 1 << 20;
    prop_oneof![
        4 => "[a-z_][a-z0-9_]{0,12}",
        1 => (1usize..=max, "[a-z_]").prop_map(|(n, c)| c.repeat(n)),
        1 => Just("x".repeat(max)),
    ]
}

/// YAML scalars and fragments that have broken loaders: anchors, tags, merge keys, odd
/// characters, template delimiters.
pub fn yaml_fragments() -> Vec<&'static str> {
    vec![
        "~",
        "null",
        "true",
        "yes",
        "''",
        "\"\"",
        "[]",
        "{}",
        "[",
        "{",
        "}",
        "]",
        ": ",
        "- ",
        "? ",
        "#",
        "|",
        ">-",
        "&a",
        "*a",
        "&a x",
        "<<: *a",
        "!!str",
        "!!binary",
        "!custom",
        "---",
        "...",
        "%YAML 1.2",
        "\t",
        "\r",
        "\r\n",
        "\u{feff}",
        "\u{0}",
        "\u{85}",
        "\u{2028}",
        "é",
        "😀",
        "\"\\u0000\"",
        "'it''s'",
        "{{",
        "}}",
        "{%",
        "%}",
        "{#",
        "{{ x }}",
        "{{ incident.category }}",
        "{{ metrics.x }}",
        "`",
        "```",
    ]
}

/// The hostile values of every class, for mutating a YAML file: numbers, durations,
/// fragments, identifiers, and values nested up to [`crate::DEEP`] levels, flow and block.
pub fn yaml_values() -> BoxedStrategy<String> {
    let scalars: Vec<String> = hostile_numbers()
        .into_iter()
        .chain(hostile_durations())
        .chain(yaml_fragments())
        .map(str::to_owned)
        .collect();
    prop_oneof![
        6 => proptest::sample::select(scalars),
        2 => identifier(),
        1 => (nesting(false), depth()).prop_map(|(style, depth)| format!("\n{}", nested(style, depth))),
        1 => (nesting(true), depth()).prop_map(|(style, depth)| format!("\nnested:\n{}", nested(style, depth))),
        1 => "[ -~\t\n]{0,16}",
    ]
    .boxed()
}
