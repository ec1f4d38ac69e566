//! A literal prefilter for a set of regular expressions: the strings one of which every match
//! of every pattern must hold, found with one vectorized multi-literal search. Most lines of a
//! training log hold none, and are passed over without running any pattern.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex_syntax::hir::literal::Extractor;
use regex_syntax::hir::{Hir, HirKind};

/// Literals shorter than this make a poor filter: nearly every line holds one.
const MIN_LITERAL: usize = 3;
/// A pattern's literal set larger than this (the case variants of a long word) is not used.
const MAX_LITERALS: usize = 64;

/// Tells which lines no pattern of a set can match.
#[derive(Clone, Debug)]
pub(super) struct LiteralGate {
    /// None when some pattern has no literal every match holds: every line is let through.
    literals: Option<AhoCorasick>,
    /// The literals searched for.
    strings: Option<Vec<Vec<u8>>>,
}

impl LiteralGate {
    /// The gate of `patterns` (which compile: the caller compiled them first).
    pub(super) fn new<'p>(patterns: impl Iterator<Item = &'p str>) -> LiteralGate {
        let mut all = Vec::new();
        for pattern in patterns {
            let Some(required) = regex_syntax::parse(pattern).ok().and_then(|h| required(&h))
            else {
                return LiteralGate {
                    literals: None,
                    strings: None,
                };
            };
            all.extend(required);
        }
        all.sort();
        all.dedup();
        // Literals are kept in lower case and looked for without regard to ASCII case: the
        // case variants of `(?i)maximum number` are one literal.
        // Few literals (up to 64) are searched for with SIMD (Teddy), nearly at memchr's speed.
        // (Teddy serves leftmost searches only.) The automaton behind it only confirms what
        // Teddy found, on the few lines that get here: a contiguous NFA, built in a fifth of
        // the instructions of the DFA that would be chosen otherwise.
        let literals = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&all)
            .ok();
        let strings = literals.is_some().then_some(all);
        LiteralGate { literals, strings }
    }

    /// The literals one of which a line must hold for some pattern to match it, or `None`
    /// when any line may match.
    pub(super) fn literals(&self) -> Option<&[Vec<u8>]> {
        self.strings.as_deref()
    }

    /// Whether some pattern may match `line`.
    #[inline]
    pub(super) fn may_match(&self, line: &str) -> bool {
        self.literals
            .as_ref()
            .is_none_or(|literals| literals.is_match(line))
    }
}

/// Strings one of which every match of `hir` holds, when there is such a small set of them.
fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Capture(capture) => required(&capture.sub),
        HirKind::Repetition(repetition) if repetition.min >= 1 => required(&repetition.sub),
        HirKind::Alternation(alternatives) => {
            let mut all = Vec::new();
            for alternative in alternatives {
                all.extend(required(alternative)?);
            }
            all.sort();
            all.dedup();
            (all.len() <= MAX_LITERALS).then_some(all)
        }
        HirKind::Concat(items) => {
            // Every match holds what any run of the concatenation starting at `start` begins
            // with; the best such set has the fewest literals, then the longest shortest one.
            let mut best: Option<Vec<Vec<u8>>> = None;
            let rank = |set: &Vec<Vec<u8>>| {
                let shortest = set.iter().map(Vec::len).min().unwrap_or(0);
                (set.len(), usize::MAX - shortest)
            };
            for start in 0..items.len() {
                let rest = Hir::concat(items[start..].to_vec());
                let Some(set) = prefixes(&rest).or_else(|| required(&items[start])) else {
                    continue;
                };
                if best.as_ref().is_none_or(|b| rank(&set) < rank(b)) {
                    best = Some(set);
                }
            }
            best
        }
        _ => prefixes(hir),
    }
}

/// The prefixes every match of `hir` starts with, when they are few and long enough.
fn prefixes(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let seq = Extractor::new().extract(hir);
    let mut literals: Vec<Vec<u8>> = seq
        .literals()?
        .iter()
        .map(|l| l.as_bytes().to_vec())
        .collect();
    literals.sort();
    literals.dedup();
    let usable = !literals.is_empty()
        && literals.len() <= MAX_LITERALS
        && literals.iter().all(|l| l.len() >= MIN_LITERAL);
    usable.then_some(literals)
}

#[cfg(test)]
mod tests {
    use super::LiteralGate;

    fn gate(patterns: &[&str]) -> LiteralGate {
        LiteralGate::new(patterns.iter().copied())
    }

    #[test]
    fn lines_without_a_required_literal_are_passed_over() {
        let g = gate(&[
            r"^(?:\S+ ){0,6}?(?:\[(?:ERROR|CRITICAL)\]:?|(?:ERROR|CRITICAL)(?: -|:)) (?P<message>\S.*)$",
            r"(?i)maximum number of (iterations|function evaluations)",
            r"RuntimeWarning: (invalid value|divide by zero) encountered in",
        ]);
        assert!(g.may_match("2026-01-19 12:00 - train - ERROR - boom"));
        assert!(
            g.may_match("Maximum Number Of Iterations has been exceeded"),
            "case variants"
        );
        assert!(g.may_match("x.py:3: RuntimeWarning: divide by zero encountered in log"));
        assert!(!g.may_match("Epoch 3/400 - step 12 - loss: 0.25 - lr: 3.0e-4"));
    }

    #[test]
    fn phase5b_line_rules_and_error_lines_have_a_gate() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocols/phase5b.yaml");
        let protocol = crate::protocol::load(&path).unwrap();
        let lines = protocol
            .rules()
            .filter_map(|(_, r)| r.line.as_ref())
            .map(|l| l.as_str());
        let patterns: Vec<&str> = lines
            .chain(protocol.error_lines.iter().map(|p| p.as_str()))
            .collect();
        for pattern in &patterns {
            assert!(
                gate(&[pattern]).literals.is_some(),
                "no literal every match of {pattern} holds"
            );
        }
    }

    #[test]
    fn a_pattern_with_no_required_literal_lets_every_line_through() {
        let g = gate(&[r"ERROR: ", r"^\d+$"]);
        assert!(g.may_match("Epoch 3/400"));
    }
}
