//! A bound on how deeply a YAML file nests, checked before it is loaded.
//!
//! Loaders build their trees recursively, and libyaml (under serde_yaml) takes time quadratic in
//! the depth of flow collections: a file nested thousands deep would overflow the stack or stall.
//! No real protocol, scenario or context comes near [`MAX_DEPTH`]; every YAML file Warden reads is
//! refused with the place where it goes too deep. Scenarios and contexts are scanned here first,
//! as a stream of events (no tree, no recursion); a protocol's tree counts the depth itself as it
//! reads the same events, counting brackets as this module does for text that is not YAML.

use yaml_rust2::parser::{Event, Parser};

/// How many collections (mappings and sequences) may enclose one another in a YAML file.
pub const MAX_DEPTH: usize = 128;

/// Where a file goes deeper than [`MAX_DEPTH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep {
    /// 1-based line of the collection that opens level `MAX_DEPTH + 1`.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl std::fmt::Display for TooDeep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} column {}: the YAML nests deeper than {MAX_DEPTH} levels",
            self.line, self.column
        )
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Checks that `text` nests at most [`MAX_DEPTH`] collections deep. Text that is not YAML is
/// left to the loader to report, unless its brackets alone already nest too deep.
pub fn check(text: &str) -> Result<(), TooDeep> {
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        match parser.next_token() {
            Ok((Event::SequenceStart(..) | Event::MappingStart(..), at)) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    // yaml-rust2 counts columns from 0.
                    return Err(TooDeep {
                        line: to_u32(at.line()),
                        column: to_u32(at.col() + 1),
                    });
                }
            }
            Ok((Event::SequenceEnd | Event::MappingEnd, _)) => depth = depth.saturating_sub(1),
            Ok((Event::StreamEnd, _)) => return Ok(()),
            Ok(_) => {}
            // Another parser (libyaml, for scenarios and contexts) may read on where this one
            // stops: its brackets must not nest too deep either.
            Err(_) => return brackets(text),
        }
    }
}

/// A bound on the flow nesting of text that does not parse: brackets counted as if nothing were
/// quoted (so the count errs towards too deep, never towards too shallow, for real files).
pub(crate) fn brackets(text: &str) -> Result<(), TooDeep> {
    let mut depth = 0usize;
    for (number, line) in text.lines().enumerate() {
        for (column, c) in line.chars().enumerate() {
            match c {
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(TooDeep {
                            line: to_u32(number + 1),
                            column: to_u32(column + 1),
                        });
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    Ok(())
}

/// A YAML document nested `depth` deep, in block style (`- - - x`) or flow style (`[[[x]]]`),
/// for tests of every loader.
#[doc(hidden)]
pub fn nested(depth: usize, flow: bool) -> String {
    if flow {
        format!("{}x{}\n", "[".repeat(depth), "]".repeat(depth))
    } else {
        format!("{}x\n", "- ".repeat(depth))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_nesting_passes() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocols/phase5b.yaml"),
        )
        .unwrap();
        assert_eq!(check(&text), Ok(()));
        assert_eq!(check(&nested(MAX_DEPTH, false)), Ok(()));
        assert_eq!(check(&nested(MAX_DEPTH, true)), Ok(()));
    }

    #[test]
    fn deep_nesting_is_refused_where_it_goes_too_deep() {
        // Level 129 opens at character 2 * 128 + 1 of the block form, 129 of the flow form.
        assert_eq!(
            check(&nested(30_000, false)),
            Err(TooDeep {
                line: 1,
                column: 257
            })
        );
        assert_eq!(
            check(&nested(100_000, true)),
            Err(TooDeep {
                line: 1,
                column: 129
            })
        );
        let mapping = (0..200).fold(String::new(), |mut text, level| {
            text.push_str(&" ".repeat(level));
            text.push_str("a:\n");
            text
        });
        // A block mapping is placed at the `:` of its first key.
        assert_eq!(
            check(&mapping),
            Err(TooDeep {
                line: 129,
                column: 130
            })
        );
    }

    #[test]
    fn text_that_does_not_parse_is_bounded_by_its_brackets() {
        let broken = format!("a: b: c\n{}", nested(1000, true));
        assert!(check(&broken).is_err());
        assert_eq!(check("a: b: c\n[[x]]\n"), Ok(()));
    }
}
