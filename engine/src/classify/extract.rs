//! Metrics in lines that are not records: `epoch 1 loss=inf lr=0.01`, a progress bar's postfix
//! (`train_loss=inf.0, val_loss=nan.0`), "Monitored metric val_loss = nan is not finite",
//! Python's dict repr (`{'loss': nan}`), "Number of divergences: 113", and the summary tables
//! samplers print (a header with an `r_hat` column, then a row per parameter).
//!
//! Only the keys some metric rule names, or an `each` rule's glob matches, are read: a word
//! no rule reads is never a metric, so prose cannot raise a false alarm. Lines that do not
//! hold one of those keys at all are passed over by one literal search.

use std::collections::{BTreeSet, HashMap};
use std::sync::{LazyLock, OnceLock};

use regex::{Regex, RegexBuilder};

use super::record::{MetricValue, Record};
use super::rules::Glob;

/// A `key = value` (or `key: value`, `key is value`) pair anywhere in a line: the key a name
/// (quoted or not), the value a number,
/// `nan` or `inf` in any of the spellings libraries print (`nan.0`, `Infinity`, `tensor(nan)`).
const PAIR: &str = r#"\b([A-Za-z_][\w.\-/]*)['"]?(?:[ \t]*[=:][ \t]*|[ \t]+is[ \t]+)(?:tensor\()?['"]?([-+]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|(?:nan|inf|infinity)(?:\.0+)?))\b"#;

/// [`PAIR`] compiled, case-insensitive: shared by every extractor, compiled when first asked.
static PAIR_REGEX: LazyLock<Regex> = LazyLock::new(|| {
    RegexBuilder::new(PAIR)
        .case_insensitive(true)
        .build()
        .expect("valid regex")
});

/// Reads the metrics rules read out of free text.
#[derive(Clone)]
pub struct Extractor {
    /// The names rules read, by their lower case.
    names: HashMap<String, String>,
    /// The globs of `each` rules, case ignored.
    globs: Vec<Glob>,
    /// A line holding none of `literals` holds no key to read: their alternation,
    /// case-insensitive, compiled when first asked (most lines are passed over before, by
    /// the classifier's search for every literal); `None` when there are none.
    prefilter: OnceLock<Option<Regex>>,
    /// The literals, in lower case.
    literals: Vec<String>,
}

impl Extractor {
    /// An extractor of the keys `names` and of those the `each` rules' `globs` match.
    pub(super) fn new(names: &BTreeSet<String>, globs: Vec<Glob>) -> Extractor {
        let names: HashMap<String, String> = names
            .iter()
            .map(|n| (n.to_ascii_lowercase(), n.clone()))
            .collect();
        let mut literals: Vec<String> = names.keys().cloned().collect();
        literals.extend(globs.iter().map(Glob::literal));
        literals.retain(|l| !l.is_empty());
        Extractor {
            names,
            globs,
            prefilter: OnceLock::new(),
            literals,
        }
    }

    /// The literals, in lower case, one of which (without regard to case) a line must hold for
    /// [`Extractor::may_hold`] to say it may hold a key.
    pub(super) fn literals(&self) -> &[String] {
        &self.literals
    }

    /// Whether `line` may hold a key to read.
    pub(super) fn may_hold(&self, line: &str) -> bool {
        let prefilter = self.prefilter.get_or_init(|| {
            (!self.literals.is_empty()).then(|| {
                let alternation = self
                    .literals
                    .iter()
                    .map(|l| regex::escape(l))
                    .collect::<Vec<_>>()
                    .join("|");
                RegexBuilder::new(&alternation)
                    .case_insensitive(true)
                    .build()
                    .expect("escaped literals compile")
            })
        });
        prefilter.as_ref().is_some_and(|p| p.is_match(line))
    }

    /// The name a key read from text is kept under: the rule's spelling of a name it reads,
    /// the key as written when an `each` glob matches it, else none.
    fn name(&self, key: &str) -> Option<String> {
        if let Some(name) = self.names.get(&key.to_ascii_lowercase()) {
            return Some(name.clone());
        }
        self.globs
            .iter()
            .any(|g| g.is_match(key))
            .then(|| key.to_owned())
    }

    /// The keys rules read, and their values, anywhere in `line` (one that
    /// [`Extractor::may_hold`] some).
    pub(super) fn pairs(&self, line: &str) -> Option<Record> {
        let mut record = Record::new();
        for caps in PAIR_REGEX.captures_iter(line) {
            if let (Some(name), Some(value)) = (self.name(&caps[1]), number(&caps[2])) {
                record.insert(name, value);
            }
        }
        (!record.is_empty()).then_some(record)
    }

    /// The columns of a table whose header `line` is: a line of two or more words, none a
    /// number, one of them a key rules read. Each column is the name it is kept under, or
    /// none for a column no rule reads.
    pub(super) fn header(&self, line: &str) -> Option<Vec<Option<String>>> {
        let words: Vec<&str> = line.split_whitespace().collect();
        // Column names: words like `r_hat`, `hdi_3%`, `95.0%`, `ess_bulk`; not numbers, and not
        // the pieces of a dict or a sentence (`{'loss':`, `train_loss=2.5,`).
        let column = |w: &&str| {
            number(w).is_none()
                && w.chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '%' | '-' | '[' | ']'))
        };
        if words.len() < 2 || !words.iter().all(column) {
            return None;
        }
        let columns: Vec<Option<String>> = words.iter().map(|w| self.name(w)).collect();
        columns.iter().any(Option::is_some).then_some(columns)
    }

    /// A row of the table of `columns`: a label of up to three words, then a number for each
    /// column. The record holds the columns rules read.
    pub(super) fn row(&self, columns: &[Option<String>], line: &str) -> Option<Record> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let label = words.len().checked_sub(columns.len())?;
        if label > 3 || words.is_empty() {
            return None;
        }
        let mut record = Record::new();
        for (column, word) in columns.iter().zip(&words[label..]) {
            let value = number(word)?;
            if let Some(name) = column {
                record.insert(name.as_str(), value);
            }
        }
        Some(record)
    }
}

/// A number as a log writes it: an integer, a decimal, `nan`, `inf` or `-inf` (also `nan.0`,
/// `Infinity`, `NaN`).
pub(super) fn number(word: &str) -> Option<MetricValue> {
    let word = word.trim_end_matches(',');
    let lower = word.to_ascii_lowercase();
    let bare = lower
        .strip_suffix(".0")
        .filter(|b| b.ends_with("nan") || b.ends_with("inf"))
        .unwrap_or(&lower);
    let special = match bare.trim_start_matches('+') {
        "nan" | "-nan" => Some(f64::NAN),
        "inf" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    };
    if let Some(value) = special {
        return Some(MetricValue::Float(value));
    }
    if let Ok(int) = word.parse::<i64>() {
        return Some(MetricValue::Int(int));
    }
    let numeric = word
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    match word.parse::<f64>() {
        Ok(value) if numeric => Some(MetricValue::Float(value)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extractor(names: &[&str], globs: &[&str]) -> Extractor {
        let names = names.iter().map(|n| n.to_string()).collect();
        Extractor::new(&names, globs.iter().map(|g| Glob::new(g)).collect())
    }

    fn show(record: Option<Record>) -> String {
        record.map_or_else(|| "none".into(), |r| serde_json::to_string(&r).unwrap())
    }

    #[test]
    fn pairs_are_read_anywhere_in_a_line_but_only_for_keys_rules_read() {
        let x = extractor(&["loss", "divergences", "r_hat"], &["*val_loss*"]);
        let cases = [
            ("epoch 1 loss=inf lr=0.01", r#"{"loss":"Infinity"}"#),
            (
                "Epoch 0: 100%|##| 2/2 [00:00<00:00, v_num=0, train_loss=inf.0, val_loss=nan.0]",
                r#"{"val_loss":"NaN"}"#,
            ),
            (
                "Monitored metric val_loss = nan is not finite. Previous best value was inf.",
                r#"{"val_loss":"NaN"}"#,
            ),
            (
                "{'loss': nan, 'grad_norm': nan, 'epoch': 1.0}",
                r#"{"loss":"NaN"}"#,
            ),
            ("Number of divergences: 113", r#"{"divergences":113}"#),
            (
                "trial rejected: validation loss is nan (shift=0.3)",
                r#"{"loss":"NaN"}"#,
            ),
            ("step 3 loss: tensor(0.25, grad_fn=<X>)", r#"{"loss":0.25}"#),
            ("the loss was high", "none"),
            ("train_loss_v2=3", "none"),
            ("learning rate 0.01, no key here", "none"),
        ];
        for (line, expected) in cases {
            assert_eq!(show(x.pairs(line)), expected, "{line}");
        }
    }

    #[test]
    fn a_summary_table_is_read_a_row_at_a_time() {
        let x = extractor(&["r_hat"], &[]);
        let header =
            "                mean       std    median      5.0%     95.0%     n_eff     r_hat";
        let columns = x.header(header).expect("a header");
        let row =
            "        mu      4.36      3.23      4.39     -0.87      9.56    163.84      1.53";
        assert_eq!(show(x.row(&columns, row)), r#"{"r_hat":1.53}"#);
        assert_eq!(show(x.row(&columns, "Number of divergences: 113")), "none");
        assert_eq!(x.header("mean sd 1.0"), None, "a number is no column name");
        assert_eq!(x.header("mean sd median"), None, "no column a rule reads");
        assert_eq!(
            x.header("{'r_hat': 1.2, 'x': 3}"),
            None,
            "a dict is no header"
        );
    }

    #[test]
    fn numbers_in_the_spellings_logs_use() {
        for (word, expected) in [
            ("nan.0", "NaN"),
            ("-inf", "-Infinity"),
            ("Infinity", "Infinity"),
            ("1e-3", "0.001"),
            ("12", "12"),
        ] {
            let value = number(word).unwrap();
            assert_eq!(
                serde_json::to_string(&value).unwrap().trim_matches('"'),
                expected
            );
        }
        assert_eq!(number("12s"), None);
        assert_eq!(number("hdi_3%"), None);
    }
}

#[cfg(test)]
mod glob_tests {
    use super::Glob;

    #[test]
    fn globs_match_keys_without_regard_to_case() {
        let loss = Glob::new("*loss*");
        for key in ["loss", "val_loss", "Train_Loss_step", "LOSS"] {
            assert!(loss.is_match(key), "{key}");
        }
        for key in ["los", "accuracy", ""] {
            assert!(!loss.is_match(key), "{key}");
        }
        let suffix = Glob::new("*_?hat");
        assert!(suffix.is_match("beta_rhat"));
        assert!(!suffix.is_match("beta_hat"));
        assert!(Glob::new("a*b*c").is_match("aXbYbZc"));
        // `*text*` is asked as a search for the text.
        let val = Glob::new("*Val_Loss*");
        for (key, holds) in [
            ("val_loss", true),
            ("X_VAL_LOSS_2", true),
            ("val_los", false),
        ] {
            assert_eq!(val.is_match(key), holds, "{key}");
        }
        assert!(!Glob::new("a*b*c").is_match("aXbYbZ"));
        assert_eq!(Glob::new("*val_loss?").literal(), "val_loss");
    }

    proptest::proptest! {
        /// `*text*` is asked as a search for the text, a word at a time when the text is of
        /// lowercase letters: the answer is that of the key's lowercase holding it.
        #[test]
        fn a_search_for_a_glob_s_text_is_the_key_holding_it(
            inner in "(loss|lo|lossy|l|[a-z]{4,7}|[a-z_]{1,6})",
            key in "[a-zA-Z_ loSsLOé@`,lL0-9]{0,14}",
        ) {
            let holds = key.to_ascii_lowercase().contains(inner.as_str());
            proptest::prop_assert_eq!(Glob::new(&format!("*{inner}*")).is_match(&key), holds);
            proptest::prop_assert_eq!(
                Glob::new(&format!("*{}*", inner.to_ascii_uppercase())).is_match(&key),
                holds
            );
        }
    }
}
