//! A `table` gate: a CSV or TSV file with a header row, whose numbers must be sane.
//!
//! The file is read once, a row at a time, keeping running figures per column (count, min,
//! max, mean and variance by Welford's method, NaN and infinite counts with their first rows),
//! so a results file of a gigabyte costs no more memory than one of a kilobyte.
//!
//! Cells are read the way pandas reads them: a column is numeric when every cell in it is a
//! number or missing. A number is what `f64` parses, `nan`, `inf`, `-inf` and `Infinity` in any
//! case included; a missing cell is an empty one (pandas writes NaN so) or one of pandas'
//! default NA words (`NA`, `N/A`, `null`, `None`, …), and counts as NaN. Header names are
//! pandas' too: an empty one is `Unnamed: N` (the index column `DataFrame.to_csv` writes), and
//! a repeated one gets `.1`, `.2`, … after it.
//!
//! Rows are counted from 1 for the first data row (the header is not a row), and reasons say
//! `row N`; a malformed file is told by its line (`line N`, the header being line 1).

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::path::Path;

use serde_json::{json, Value};

use super::{first_few, shown};
use crate::gate::{number, Bounds, GateResult};

/// How many row numbers a problem keeps and names.
const ROWS_NAMED: usize = 5;

/// How many problems a reason names.
const REASON_PROBLEMS: usize = 3;

/// How many problems the `problems` fact keeps.
const PROBLEMS_KEPT: usize = 50;

/// How many characters of a cell or a name a reason quotes.
const QUOTE_LIMIT: usize = 60;

/// The cells pandas reads as NaN by default (besides the ones `f64` parses as NaN).
const NA_WORDS: &[&str] = &[
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
    "NULL", "None", "n/a", "null",
];

/// What a table gate asks of its file.
pub(super) struct Spec<'a> {
    /// The file, relative to the working directory unless absolute.
    pub path: &'a str,
    /// The field delimiter.
    pub delimiter: u8,
    /// Bounds on the number of data rows.
    pub rows: &'a Bounds,
    /// No NaN, infinite or empty cell in a numeric column.
    pub finite: bool,
    /// No numeric column whose values are all equal.
    pub varying: bool,
    /// Columns that must exist, be numeric and lie within their bounds.
    pub columns: &'a BTreeMap<String, Bounds>,
}

/// Reads the table `spec` names, relative to `cwd`, and checks it.
///
/// Facts: `path` (as the gate gives it), `rows` (the number of data rows; null when the file
/// could not be read through), `columns` (the header's names), `stats` (for each numeric
/// column, `{min, max, mean, std, nan, inf}`: `std` the sample standard deviation, null under
/// two finite values; the four figures over the finite values only, null when there is none;
/// `nan` the NaN and missing cells, `inf` the infinite ones), and `problems` (every problem
/// found, at most 50; the reason names the first three). The value is the number of rows.
///
/// `varying` fails a numeric column with two finite values or more, all equal (its finite
/// values have zero variance); with fewer there is nothing to vary, which `finite` is there
/// to catch.
pub(super) fn evaluate(gate: &str, spec: &Spec<'_>, cwd: &Path) -> GateResult {
    let table = match read(spec, &cwd.join(spec.path)) {
        Ok(table) => table,
        Err(malformed) => {
            return GateResult::new(gate, false, malformed.problem.clone())
                .with_fact("path", spec.path)
                .with_fact("rows", Value::Null)
                .with_fact("columns", malformed.columns)
                .with_fact("stats", serde_json::Map::new())
                .with_fact("problems", vec![malformed.problem]);
        }
    };
    let problems = check(spec, &table);
    let passed = problems.is_empty();
    let reason = if passed {
        let rows = plural(table.rows, "row", "rows");
        let columns = plural(table.columns.len() as u64, "column", "columns");
        format!("{rows}, {columns}")
    } else {
        let mut reason = format!(
            "{}: {}",
            spec.path,
            problems[..problems.len().min(REASON_PROBLEMS)].join("; ")
        );
        if problems.len() > REASON_PROBLEMS {
            reason.push_str(&format!(" (and {} more)", problems.len() - REASON_PROBLEMS));
        }
        reason
    };
    let stats: serde_json::Map<String, Value> = table
        .columns
        .iter()
        .filter(|column| column.is_numeric())
        .map(|column| (column.name.clone(), column.stats()))
        .collect();
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    GateResult::new(gate, passed, reason)
        .with_value(table.rows)
        .with_fact("path", spec.path)
        .with_fact("rows", table.rows)
        .with_fact("columns", names)
        .with_fact("stats", stats)
        .with_fact(
            "problems",
            problems.into_iter().take(PROBLEMS_KEPT).collect::<Vec<_>>(),
        )
}

/// A table read through: its columns' figures and its number of data rows.
struct Table {
    columns: Vec<Column>,
    rows: u64,
}

/// A file that could not be read as a table.
struct Malformed {
    /// Why, naming the file and, where there is one, the line.
    problem: String,
    /// The header's names, if it was read.
    columns: Vec<String>,
}

/// Reads the file at `full` through, a row at a time.
fn read(spec: &Spec<'_>, full: &Path) -> Result<Table, Malformed> {
    let path = spec.path;
    let malformed = |problem: String| Malformed {
        problem,
        columns: Vec::new(),
    };
    // Not a FIFO or a device, which could keep the gate waiting for ever.
    if let Ok(metadata) = std::fs::metadata(full) {
        if metadata.is_dir() {
            return Err(malformed(format!("cannot read {path}: it is a directory")));
        }
        if !metadata.is_file() {
            return Err(malformed(format!("cannot read {path}: not a regular file")));
        }
    }
    let file = File::open(full).map_err(|e| malformed(format!("cannot read {path}: {e}")))?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(spec.delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(file);
    let header = reader
        .byte_headers()
        .map_err(|e| malformed(describe(path, &e)))?
        .clone();
    if header.is_empty() {
        let empty = std::fs::metadata(full).is_ok_and(|m| m.len() == 0);
        return Err(malformed(if empty {
            format!("{path} is empty")
        } else {
            format!("{path} has no header row")
        }));
    }
    let mut columns: Vec<Column> = names(&header).into_iter().map(Column::new).collect();
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                return Err(Malformed {
                    problem: describe(path, &error),
                    columns: columns.into_iter().map(|c| c.name).collect(),
                })
            }
        }
        rows += 1;
        for (column, cell) in columns.iter_mut().zip(record.iter()) {
            column.add(rows, cell);
        }
    }
    Ok(Table { columns, rows })
}

/// A reading error as a reason tells it.
fn describe(path: &str, error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => {
            let line = pos
                .as_ref()
                .map_or_else(String::new, |pos| format!(" line {}", pos.line()));
            format!("{path}{line}: found {len} fields, expected {expected_len}")
        }
        csv::ErrorKind::Io(error) => format!("cannot read {path}: {error}"),
        _ => {
            let line = error
                .position()
                .map_or_else(String::new, |pos| format!(" line {}", pos.line()));
            format!("{path}{line}: {error}")
        }
    }
}

/// The columns' names as pandas gives them: `Unnamed: N` for an empty one, and `.1`, `.2`, …
/// after a repeated one.
fn names(header: &csv::ByteRecord) -> Vec<String> {
    let mut seen = HashSet::new();
    header
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            let name = String::from_utf8_lossy(raw);
            let name = name.strip_prefix('\u{feff}').unwrap_or(&name);
            let mut name = if name.is_empty() {
                format!("Unnamed: {i}")
            } else {
                name.to_owned()
            };
            if seen.contains(&name) {
                let base = name.clone();
                let mut k = 1;
                while seen.contains(&name) {
                    name = format!("{base}.{k}");
                    k += 1;
                }
            }
            seen.insert(name.clone());
            name
        })
        .collect()
}

/// What a column held, kept as its rows go by.
struct Column {
    name: String,
    /// The first cell that is not a number, with its row; the column is not numeric then.
    not_numeric: Option<(u64, String)>,
    /// Its finite values: how many, their extremes, mean and sum of squared deviations.
    finite: u64,
    min: f64,
    max: f64,
    mean: f64,
    m2: f64,
    /// Whether every finite value equals the first.
    first: Option<f64>,
    all_equal: bool,
    /// Missing and NaN cells (the empty among them counted apart too), and their first rows.
    nan: u64,
    empty: u64,
    nan_rows: Vec<u64>,
    /// Infinite values, by sign, and their first rows.
    positive_inf: u64,
    negative_inf: u64,
    inf_rows: Vec<u64>,
}

impl Column {
    fn new(name: String) -> Column {
        Column {
            name,
            not_numeric: None,
            finite: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            mean: 0.0,
            m2: 0.0,
            first: None,
            all_equal: true,
            nan: 0,
            empty: 0,
            nan_rows: Vec::new(),
            positive_inf: 0,
            negative_inf: 0,
            inf_rows: Vec::new(),
        }
    }

    fn is_numeric(&self) -> bool {
        self.not_numeric.is_none()
    }

    /// Takes in the cell of data row `row`.
    fn add(&mut self, row: u64, cell: &[u8]) {
        if !self.is_numeric() {
            return;
        }
        let cell = cell.trim_ascii();
        if cell.is_empty() {
            self.empty += 1;
            self.missing(row);
            return;
        }
        let Ok(text) = std::str::from_utf8(cell) else {
            self.not_numeric = Some((row, String::from_utf8_lossy(cell).into_owned()));
            return;
        };
        if NA_WORDS.contains(&text) {
            self.missing(row);
            return;
        }
        match text.parse::<f64>() {
            Ok(value) if value.is_nan() => self.missing(row),
            Ok(value) if value.is_infinite() => {
                if value > 0.0 {
                    self.positive_inf += 1;
                } else {
                    self.negative_inf += 1;
                }
                keep_row(&mut self.inf_rows, row);
            }
            Ok(value) => self.value(value),
            Err(_) => self.not_numeric = Some((row, text.to_owned())),
        }
    }

    fn missing(&mut self, row: u64) {
        self.nan += 1;
        keep_row(&mut self.nan_rows, row);
    }

    fn value(&mut self, value: f64) {
        self.finite += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        let delta = value - self.mean;
        self.mean += delta / self.finite as f64;
        self.m2 += delta * (value - self.mean);
        match self.first {
            None => self.first = Some(value),
            Some(first) => self.all_equal &= first == value,
        }
    }

    fn inf(&self) -> u64 {
        self.positive_inf + self.negative_inf
    }

    /// The `stats` fact of a numeric column.
    fn stats(&self) -> Value {
        let some = self.finite > 0;
        let figure = |value: f64| if some { json!(value) } else { Value::Null };
        let std = if self.finite >= 2 {
            json!((self.m2 / (self.finite - 1) as f64).sqrt())
        } else {
            Value::Null
        };
        json!({
            "min": figure(self.min),
            "max": figure(self.max),
            "mean": figure(self.mean),
            "std": std,
            "nan": self.nan,
            "inf": self.inf(),
        })
    }

    /// The NaN problem, if there are NaN or missing cells.
    fn nan_problem(&self) -> Option<String> {
        (self.nan > 0).then(|| {
            let what = if self.empty == self.nan {
                "empty"
            } else if self.empty == 0 {
                "NaN"
            } else {
                "NaN or empty"
            };
            format!(
                "column `{}`: {} {what} ({})",
                shown(&self.name, QUOTE_LIMIT),
                self.nan,
                rows(&self.nan_rows, self.nan)
            )
        })
    }

    /// The infinite-value problem, if there are any.
    fn inf_problem(&self) -> Option<String> {
        (self.inf() > 0).then(|| {
            format!(
                "column `{}`: {} inf ({})",
                shown(&self.name, QUOTE_LIMIT),
                self.inf(),
                rows(&self.inf_rows, self.inf())
            )
        })
    }

    /// The problems with `bounds`: its lowest value against the lower ones, its highest against
    /// the upper ones; infinite values count unless `finite_only`.
    fn bound_problems(&self, bounds: &Bounds, finite_only: bool) -> Vec<String> {
        let counted = |infinite: u64| !finite_only && infinite > 0;
        let low = if counted(self.negative_inf) {
            Some(f64::NEG_INFINITY)
        } else {
            (self.finite > 0).then_some(self.min)
        };
        let high = if counted(self.positive_inf) {
            Some(f64::INFINITY)
        } else {
            (self.finite > 0).then_some(self.max)
        };
        let lower = Bounds {
            min: bounds.min,
            above: bounds.above,
            ..Bounds::default()
        };
        let upper = Bounds {
            max: bounds.max,
            below: bounds.below,
            ..Bounds::default()
        };
        let name = shown(&self.name, QUOTE_LIMIT);
        [("min", low, lower), ("max", high, upper)]
            .into_iter()
            .filter_map(|(word, value, bounds)| {
                let value = value?;
                let broken = bounds.broken(value)?;
                Some(format!(
                    "column `{name}`: {word} {} {broken}",
                    number(value)
                ))
            })
            .collect()
    }
}

/// Keeps `row` among the first [`ROWS_NAMED`].
fn keep_row(rows: &mut Vec<u64>, row: u64) {
    if rows.len() < ROWS_NAMED {
        rows.push(row);
    }
}

/// "row 4" or "rows 4, 9" or "rows 1, 2, 3, 4, 5, …" for `count` rows whose first are `first`.
fn rows(first: &[u64], count: u64) -> String {
    let list: Vec<String> = first.iter().map(u64::to_string).collect();
    let more = if count > first.len() as u64 {
        ", …"
    } else {
        ""
    };
    let word = if count == 1 { "row" } else { "rows" };
    format!("{word} {}{more}", list.join(", "))
}

/// "1 row", "3 rows".
fn plural(count: u64, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// Every problem of `table` against `spec`, the most telling first: the row count, then the
/// columns the gate names, then the NaN and infinite values of the others, then zero variance.
fn check(spec: &Spec<'_>, table: &Table) -> Vec<String> {
    let mut problems = Vec::new();
    let rows = table.rows as f64;
    if let Some(broken) = spec.rows.broken(rows) {
        problems.push(format!("row count {} {broken}", table.rows));
    }
    let by_name: BTreeMap<&str, &Column> = table
        .columns
        .iter()
        .map(|column| (column.name.as_str(), column))
        .collect();
    for (name, bounds) in spec.columns {
        let Some(column) = by_name.get(name.as_str()) else {
            let names: Vec<String> = table
                .columns
                .iter()
                .map(|c| shown(&c.name, QUOTE_LIMIT))
                .collect();
            problems.push(format!(
                "no column `{}`; the columns are {}",
                shown(name, QUOTE_LIMIT),
                first_few(&names, 20)
            ));
            continue;
        };
        if let Some((row, text)) = &column.not_numeric {
            problems.push(format!(
                "column `{}` is not numeric: row {row} holds `{}`",
                shown(name, QUOTE_LIMIT),
                shown(text, QUOTE_LIMIT)
            ));
            continue;
        }
        if spec.finite || !bounds.is_empty() {
            problems.extend(column.nan_problem());
        }
        if spec.finite {
            problems.extend(column.inf_problem());
        }
        problems.extend(column.bound_problems(bounds, spec.finite));
    }
    if spec.finite {
        for column in &table.columns {
            if column.is_numeric() && !spec.columns.contains_key(&column.name) {
                problems.extend(column.nan_problem());
                problems.extend(column.inf_problem());
            }
        }
    }
    if spec.varying && table.rows >= 2 {
        for column in &table.columns {
            if let (true, true, Some(first)) =
                (column.is_numeric(), column.finite >= 2, column.first)
            {
                if column.all_equal {
                    let finite = if column.nan + column.inf() > 0 {
                        " finite"
                    } else {
                        ""
                    };
                    problems.push(format!(
                        "column `{}` has zero variance (every{finite} value {})",
                        shown(&column.name, QUOTE_LIMIT),
                        number(first)
                    ));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::{evaluate, Probe};
    use chrono::Utc;

    /// What a test asks of its table.
    #[derive(Default)]
    struct Ask {
        delimiter: Option<u8>,
        rows: Bounds,
        finite: bool,
        varying: bool,
        columns: Vec<(&'static str, Bounds)>,
    }

    fn table(name: &str, contents: &[u8], ask: Ask) -> GateResult {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), contents).unwrap();
        let probe = Probe::Table {
            path: name.to_owned(),
            delimiter: ask.delimiter.unwrap_or(b','),
            rows: ask.rows,
            finite: ask.finite,
            varying: ask.varying,
            columns: ask
                .columns
                .into_iter()
                .map(|(name, bounds)| (name.to_owned(), bounds))
                .collect(),
        };
        evaluate("sane", &probe, dir.path(), Utc::now())
    }

    fn strict() -> Ask {
        Ask {
            finite: true,
            varying: true,
            ..Ask::default()
        }
    }

    fn problems(result: &GateResult) -> Vec<&str> {
        result.facts["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect()
    }

    #[test]
    fn a_clean_table_passes_with_its_stats() {
        let csv = b"step,loss,acc,name\n1,0.5,0.1,a\n2,0.25,0.2,b\n3,0.125,0.3,c\n4,1e-3,0.4,d\n";
        let result = table(
            "results.csv",
            csv,
            Ask {
                rows: Bounds {
                    min: Some(4.0),
                    ..Bounds::default()
                },
                columns: vec![
                    (
                        "loss",
                        Bounds {
                            below: Some(1.0),
                            above: Some(0.0),
                            ..Bounds::default()
                        },
                    ),
                    ("acc", Bounds::default()),
                ],
                ..strict()
            },
        );
        assert!(result.passed, "{result:?}");
        assert_eq!(result.reason, "4 rows, 4 columns");
        assert_eq!(result.value, json!(4));
        assert_eq!(result.facts["rows"], 4);
        assert_eq!(result.facts["path"], "results.csv");
        assert_eq!(
            result.facts["columns"],
            json!(["step", "loss", "acc", "name"])
        );
        assert_eq!(result.facts["problems"], json!([]));
        let stats = &result.facts["stats"];
        assert_eq!(stats.as_object().unwrap().len(), 3, "`name` is not numeric");
        let step = &stats["step"];
        assert_eq!(
            (&step["min"], &step["max"], &step["mean"]),
            (&json!(1.0), &json!(4.0), &json!(2.5))
        );
        let std = step["std"].as_f64().unwrap();
        assert!(
            (std - (5.0f64 / 3.0).sqrt()).abs() < 1e-12,
            "sample std: {std}"
        );
        assert_eq!((&step["nan"], &step["inf"]), (&json!(0), &json!(0)));
        assert_eq!(stats["loss"]["min"], json!(0.001));
        let mean = stats["loss"]["mean"].as_f64().unwrap();
        assert!((mean - 0.876 / 4.0).abs() < 1e-12, "{mean}");
    }

    #[test]
    fn nan_cells_fail_a_finite_table_with_their_rows() {
        let csv = b"a,stake\n1,2\n2,NaN\n3,4\n4,nan\n5,6\n";
        let result = table("t.csv", csv, strict());
        assert!(!result.passed);
        assert_eq!(result.reason, "t.csv: column `stake`: 2 NaN (rows 2, 4)");
        assert_eq!(result.facts["stats"]["stake"]["nan"], 2);
        assert_eq!(result.facts["stats"]["stake"]["max"], json!(6.0));
        let lenient = table("t.csv", csv, Ask::default());
        assert!(lenient.passed, "{lenient:?}");
        // pandas' NA words are missing values too, and missing is not "not numeric".
        let words = table("t.csv", b"a,b\n1,NA\n2,null\n3,\n4,1\n", strict());
        assert_eq!(
            words.reason,
            "t.csv: column `b`: 3 NaN or empty (rows 1, 2, 3)"
        );
    }

    #[test]
    fn infinite_values_fail_a_finite_table() {
        let csv = b"a,b\n1,inf\n2,-inf\n3,Infinity\n4,1\n5,-INF\n6,2\n7,+inf\n8,3\n";
        let result = table("t.csv", csv, strict());
        assert!(!result.passed);
        assert_eq!(
            result.reason,
            "t.csv: column `b`: 5 inf (rows 1, 2, 3, 5, 7)"
        );
        let stats = &result.facts["stats"]["b"];
        assert_eq!(stats["inf"], 5);
        assert_eq!((&stats["min"], &stats["max"]), (&json!(1.0), &json!(3.0)));
        let many = table(
            "t.csv",
            b"b\ninf\ninf\ninf\ninf\ninf\ninf\n",
            Ask {
                finite: true,
                ..Ask::default()
            },
        );
        assert_eq!(
            many.reason,
            "t.csv: column `b`: 6 inf (rows 1, 2, 3, 4, 5, …)"
        );
        assert_eq!(many.facts["stats"]["b"]["min"], Value::Null);
        assert!(table("t.csv", csv, Ask::default()).passed);
    }

    #[test]
    fn an_empty_cell_is_missing() {
        let result = table("t.csv", b"a,b\n1,\n2,3\n3,4\n", strict());
        assert!(!result.passed);
        assert_eq!(result.reason, "t.csv: column `b`: 1 empty (row 1)");
        assert_eq!(result.facts["stats"]["b"]["nan"], 1);
        assert_eq!(result.facts["stats"]["b"]["mean"], json!(3.5));
    }

    #[test]
    fn a_constant_column_has_zero_variance() {
        let csv = b"a,medals\n1,3\n2,3\n3,3.0\n";
        let result = table("t.csv", csv, strict());
        assert!(!result.passed);
        assert_eq!(
            result.reason,
            "t.csv: column `medals` has zero variance (every value 3)"
        );
        assert_eq!(result.facts["stats"]["medals"]["std"], json!(0.0));
        let one_row = table("t.csv", b"a,medals\n1,3\n", strict());
        assert!(one_row.passed, "{one_row:?}");
        assert_eq!(one_row.reason, "1 row, 2 columns");
        assert_eq!(one_row.facts["stats"]["medals"]["std"], Value::Null);
        let with_nan = table(
            "t.csv",
            b"a,medals\n1,3\n2,\n3,3\n",
            Ask {
                varying: true,
                ..Ask::default()
            },
        );
        assert_eq!(
            with_nan.reason,
            "t.csv: column `medals` has zero variance (every finite value 3)"
        );
        assert!(table("t.csv", csv, Ask::default()).passed);
    }

    #[test]
    fn columns_out_of_their_bounds_fail_with_the_extreme() {
        let csv = b"r_hat,ess\n1.01,500\n1.08,300\n1.02,800\n";
        let ask = || Ask {
            columns: vec![
                (
                    "r_hat",
                    Bounds {
                        below: Some(1.05),
                        ..Bounds::default()
                    },
                ),
                (
                    "ess",
                    Bounds {
                        min: Some(400.0),
                        max: Some(1000.0),
                        ..Bounds::default()
                    },
                ),
            ],
            ..Ask::default()
        };
        let result = table("fit.csv", csv, ask());
        assert!(!result.passed);
        assert_eq!(
            result.reason,
            "fit.csv: column `ess`: min 300 is not at least 400; column `r_hat`: max 1.08 is not \
             below 1.05"
        );
        let within = table("fit.csv", b"r_hat,ess\n1.01,500\n1.04,1000\n", ask());
        assert!(within.passed, "{within:?}");
        // NaN and infinite values are not within bounds.
        let nan = table("fit.csv", b"r_hat,ess\n1.01,500\nnan,inf\n", ask());
        assert_eq!(
            problems(&nan),
            [
                "column `ess`: max inf is not at most 1000",
                "column `r_hat`: 1 NaN (row 2)"
            ]
        );
    }

    #[test]
    fn a_named_column_must_exist_and_be_numeric() {
        let missing = table(
            "t.csv",
            b"a,b,c\n1,2,3\n",
            Ask {
                columns: vec![("ess_bulk", Bounds::default())],
                ..Ask::default()
            },
        );
        assert!(!missing.passed);
        assert_eq!(
            missing.reason,
            "t.csv: no column `ess_bulk`; the columns are a, b, c"
        );
        let text = table(
            "t.csv",
            b"name,x\n1,1\nabc,2\n",
            Ask {
                columns: vec![("name", Bounds::default())],
                ..strict()
            },
        );
        assert!(!text.passed);
        assert_eq!(
            text.reason,
            "t.csv: column `name` is not numeric: row 2 holds `abc`"
        );
        assert!(text.facts["stats"].get("name").is_none());
    }

    #[test]
    fn a_ragged_row_is_told_by_its_line() {
        let csv = b"a,b,c,d,e\n1,2,3,4,5\n1,2,3,4,5\n1,2,3\n1,2,3,4,5\n";
        let result = table("results_1.csv", csv, Ask::default());
        assert!(!result.passed);
        assert_eq!(
            result.reason,
            "results_1.csv line 4: found 3 fields, expected 5"
        );
        assert_eq!(result.facts["rows"], Value::Null);
        assert_eq!(result.facts["columns"], json!(["a", "b", "c", "d", "e"]));
        assert_eq!(problems(&result), [result.reason.as_str()]);
    }

    #[test]
    fn an_empty_or_absent_file_fails() {
        let empty = table("t.csv", b"", Ask::default());
        assert!(!empty.passed);
        assert_eq!(empty.reason, "t.csv is empty");
        let blank = table("t.csv", b"\n\n", Ask::default());
        assert_eq!(blank.reason, "t.csv has no header row");
        let dir = tempfile::tempdir().unwrap();
        let probe = Probe::Table {
            path: "gone.csv".into(),
            delimiter: b',',
            rows: Bounds::default(),
            finite: false,
            varying: false,
            columns: BTreeMap::new(),
        };
        let gone = evaluate("sane", &probe, dir.path(), Utc::now());
        assert!(!gone.passed);
        assert_eq!(
            gone.reason,
            "cannot read gone.csv: No such file or directory (os error 2)"
        );
        std::fs::create_dir(dir.path().join("out.csv")).unwrap();
        let probe = Probe::Table {
            path: "out.csv".into(),
            delimiter: b',',
            rows: Bounds::default(),
            finite: false,
            varying: false,
            columns: BTreeMap::new(),
        };
        let directory = evaluate("sane", &probe, dir.path(), Utc::now());
        assert_eq!(directory.reason, "cannot read out.csv: it is a directory");
        // A header and no rows is a table of no rows.
        let header_only = table("t.csv", b"a,b\n", strict());
        assert!(header_only.passed, "{header_only:?}");
        assert_eq!(header_only.reason, "0 rows, 2 columns");
        let too_few = table(
            "t.csv",
            b"a,b\n",
            Ask {
                rows: Bounds {
                    min: Some(1.0),
                    ..Bounds::default()
                },
                ..Ask::default()
            },
        );
        assert_eq!(too_few.reason, "t.csv: row count 0 is not at least 1");
    }

    #[test]
    fn a_tsv_is_read_with_its_delimiter() {
        let tsv = b"epoch\tloss\n1\t0.9\n2\t0.4\n";
        let result = table(
            "log.tsv",
            tsv,
            Ask {
                delimiter: Some(b'\t'),
                columns: vec![(
                    "loss",
                    Bounds {
                        max: Some(1.0),
                        ..Bounds::default()
                    },
                )],
                ..strict()
            },
        );
        assert!(result.passed, "{result:?}");
        assert_eq!(result.facts["columns"], json!(["epoch", "loss"]));
        assert_eq!(result.facts["stats"]["loss"]["max"], json!(0.9));
        // Read as CSV it is one column, and `loss` is not in it.
        let as_csv = table(
            "log.tsv",
            tsv,
            Ask {
                columns: vec![("loss", Bounds::default())],
                ..Ask::default()
            },
        );
        assert!(!as_csv.passed);
        assert_eq!(
            as_csv.reason,
            "log.tsv: no column `loss`; the columns are epoch\\tloss"
        );
    }

    #[test]
    fn many_problems_are_all_kept_and_the_first_told() {
        let csv = b"a,b,c,d,e\n1,nan,,inf,1\n1,nan,,inf,1\n";
        let result = table("t.csv", csv, strict());
        assert!(!result.passed);
        assert_eq!(
            problems(&result),
            [
                "column `b`: 2 NaN (rows 1, 2)",
                "column `c`: 2 empty (rows 1, 2)",
                "column `d`: 2 inf (rows 1, 2)",
                "column `a` has zero variance (every value 1)",
                "column `e` has zero variance (every value 1)",
            ]
        );
        assert_eq!(
            result.reason,
            "t.csv: column `b`: 2 NaN (rows 1, 2); column `c`: 2 empty (rows 1, 2); column `d`: \
             2 inf (rows 1, 2) (and 2 more)"
        );
    }

    #[test]
    fn names_and_cells_are_read_as_pandas_does() {
        let csv = b"\xef\xbb\xbf,a,a, x \n0, 1 ,2,\xff\n1,2,3,ok\n";
        let result = table("t.csv", csv, Ask::default());
        assert!(result.passed, "{result:?}");
        assert_eq!(
            result.facts["columns"],
            json!(["Unnamed: 0", "a", "a.1", " x "])
        );
        assert_eq!(result.facts["stats"]["a"]["min"], json!(1.0));
        let text = table(
            "t.csv",
            csv,
            Ask {
                columns: vec![(" x ", Bounds::default())],
                ..Ask::default()
            },
        );
        assert_eq!(
            text.reason,
            "t.csv: column ` x ` is not numeric: row 1 holds `\u{fffd}`"
        );
    }

    #[test]
    fn a_large_table_is_read_a_row_at_a_time() {
        let mut csv = b"i,x\n".to_vec();
        for i in 0..100_000 {
            csv.extend(format!("{i},{}\n", i % 7).as_bytes());
        }
        let result = table("big.csv", &csv, strict());
        assert!(result.passed, "{}", result.reason);
        assert_eq!(result.reason, "100000 rows, 2 columns");
        assert_eq!(result.facts["stats"]["i"]["max"], json!(99999.0));
        let mean = result.facts["stats"]["i"]["mean"].as_f64().unwrap();
        assert!((mean - 49999.5).abs() < 1e-6, "{mean}");
    }
}
