//! The classifier: any bytes (invalid UTF-8, `\r`, lines past the 64 KiB it keeps,
//! traceback-shaped text, hostile numbers in metrics) are read without a panic, and the same
//! bytes read in any chunking give the same incidents, records and facts, at the same lines.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use warden::classify::{Fed, Feed, MAX_LINE_BYTES};
use warden::machine::Input;

/// The vars Phase 5B's metric rules read, as a run of model 1 starts with them.
fn vars() -> &'static BTreeMap<String, minijinja::Value> {
    static VARS: OnceLock<BTreeMap<String, minijinja::Value>> = OnceLock::new();
    VARS.get_or_init(|| {
        let vars = BTreeMap::from([("model".to_owned(), serde_json::json!(1))]);
        let start = crate::phase5b()
            .start("fuzz", &vars, DateTime::<Utc>::UNIX_EPOCH)
            .unwrap();
        (*start.instance.vars).clone()
    })
}

/// The real outputs of the detection corpus (`tests/corpus/*/*/output.log`).
fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let root = warden_tests::root().join("tests/corpus");
        let mut logs = Vec::new();
        for library in std::fs::read_dir(&root).unwrap().flatten() {
            let Ok(cases) = std::fs::read_dir(library.path()) else {
                continue;
            };
            for case in cases.flatten() {
                if let Ok(bytes) = std::fs::read(case.path().join("output.log")) {
                    logs.push(bytes);
                }
            }
        }
        logs.sort();
        assert!(logs.len() > 100, "the corpus is there");
        logs
    })
}

/// Reads `bytes` as the job's log, cut into chunks at `cuts` (byte offsets, any order), then
/// ends it; returns what the feed gave.
fn read(bytes: &[u8], cuts: &[usize]) -> Vec<Fed> {
    let at = DateTime::<Utc>::UNIX_EPOCH;
    let mut feed = Feed::new(crate::phase5b().rules(), vars(), 1);
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.push(bytes.len());
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for cut in cuts {
        feed.read(0, &bytes[start..cut], at, &mut out, None);
        start = cut;
    }
    feed.end(0, at, &mut out, None);
    feed.facts(&mut out);
    out
}

/// The classifier's properties for `bytes`.
fn classify_holds(bytes: &[u8], cuts: &[usize]) -> Result<(), TestCaseError> {
    let whole = read(bytes, &[]);
    let chunked = read(bytes, cuts);
    let breaks = bytes.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64;
    for fed in &whole {
        if let Input::Incident(incident) = &fed.input {
            prop_assert!(
                incident.line_number >= 1 && incident.line_number <= breaks + 1,
                "{incident:?}"
            );
            prop_assert!(incident.after.len() <= warden::classify::CONTEXT_LINES);
            prop_assert!(
                incident.line.len() <= MAX_LINE_BYTES * 3 + 64,
                "a line longer than kept"
            );
            prop_assert_eq!(fed.line.map(|l| l.line), Some(incident.line_number));
        }
    }
    // Compared as printed: a NaN in a record equals itself there.
    let whole: Vec<String> = whole.iter().map(|f| format!("{f:?}")).collect();
    let chunked: Vec<String> = chunked.iter().map(|f| format!("{f:?}")).collect();
    if whole != chunked {
        let first = whole
            .iter()
            .zip(&chunked)
            .position(|(a, b)| a != b)
            .unwrap_or(whole.len().min(chunked.len()));
        return Err(TestCaseError::fail(format!(
            "chunks at {cuts:?} give another reading from input {first}: {:?} instead of {:?}",
            chunked.get(first),
            whole.get(first)
        )));
    }
    Ok(())
}

/// Lines a log may hold, the hostile ones included.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    let texts: Vec<&[u8]> = vec![
        b"Traceback (most recent call last):",
        b"  File \"model_1.py\", line 45, in <module>",
        b"    log_prob = latent.logp(observed)",
        b"AttributeError: 'TensorVariable' object has no attribute 'logp'",
        b"During handling of the above exception, another exception occurred:",
        b"The above exception was the direct cause of the following exception:",
        b"KeyError: 'Gold'",
        b"MemoryError",
        b"RuntimeError: CUDA out of memory.",
        b"Killed",
        b"Segmentation fault (core dumped)",
        b"/x/y.py:12: UserWarning: careful",
        b"ERROR: something failed",
        b"{\"loss\": NaN, \"r_hat\": 1.4}",
        b"{\"timestamp\": 1768834800, \"epoch\": 398, \"loss\": 0.412}",
        b"{\"timestamp\": 1e20, \"epoch\": -1, \"eta\": 1e20}",
        b"{\"timestamp\": 18446744073709551616, \"r_hat\": 1e308}",
        b"r_hat=1.5 loss=nan eta=1e20",
        b"eta=1.8e19 elapsed=-1 step=18446744073709551616",
        b"epoch 3/10 loss: inf",
        b"| param | mean | r_hat |",
        b"|-------|------|-------|",
        b"| mu    | 0.1  | 1.8e19 |",
        b"              mean    sd  r_hat",
        b"mu            0.10  0.02   1.01",
        b"sigma          NaN  0.02   1e20",
        b"",
        b"   ",
        b"100%|##########| 10/10 [00:01<00:00]",
        b"\x1b[31mred\x1b[0m",
        b"\xff\xfe\x00invalid",
        b"\xe2\x82",
        b"\xf0\x9f\x98\x80 emoji",
    ];
    let huge = MAX_LINE_BYTES * 2 + 17;
    prop_oneof![
        24 => proptest::sample::select(texts).prop_map(<[u8]>::to_vec),
        6 => proptest::collection::vec(any::<u8>(), 0..64),
        1 => (MAX_LINE_BYTES - 4..huge, any::<u8>()).prop_map(|(n, b)| {
            let b = if b == b'\n' || b == b'\r' { b'x' } else { b };
            vec![b; n]
        }),
        1 => (1usize..2000).prop_map(|n| {
            let mut line = b"ValueError: ".to_vec();
            line.extend(std::iter::repeat_n(b'v', n * 50));
            line
        }),
    ]
}

/// How a line ends.
fn line_break() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![
        6 => Just(&b"\n"[..]),
        1 => Just(&b"\r\n"[..]),
        1 => Just(&b"\r"[..]),
        1 => Just(&b"\r\r\n"[..]),
        1 => Just(&b"\n\r"[..]),
        1 => Just(&b""[..]),
    ]
}

fn log() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec((piece(), line_break()), 0..40).prop_map(|parts| {
        parts
            .into_iter()
            .flat_map(|(piece, end)| piece.into_iter().chain(end.iter().copied()))
            .collect()
    })
}

/// A byte-level edit of a real log.
#[derive(Debug, Clone)]
enum ByteEdit {
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    /// Every `\n` from here on becomes this.
    Breaks(usize, &'static [u8]),
}

fn byte_edits() -> impl Strategy<Value = Vec<ByteEdit>> {
    let edit = prop_oneof![
        3 => (any::<usize>(), piece()).prop_map(|(at, p)| ByteEdit::Insert(at, p)),
        1 => (any::<usize>(), 0usize..200).prop_map(|(at, n)| ByteEdit::Remove(at, n)),
        1 => (any::<usize>(), line_break()).prop_map(|(at, b)| ByteEdit::Breaks(at, b)),
    ];
    proptest::collection::vec(edit, 0..6)
}

fn apply(bytes: &[u8], edits: &[ByteEdit]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    for edit in edits {
        match edit {
            ByteEdit::Insert(at, piece) => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, piece.iter().copied());
            }
            ByteEdit::Remove(at, n) => {
                let at = at % (bytes.len() + 1);
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
            ByteEdit::Breaks(at, with) => {
                let at = at % (bytes.len() + 1);
                let mut tail = Vec::new();
                for &b in &bytes[at..] {
                    if b == b'\n' {
                        tail.extend_from_slice(with);
                    } else {
                        tail.push(b);
                    }
                }
                bytes.truncate(at);
                bytes.extend(tail);
            }
        }
    }
    bytes
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        proptest::collection::vec(any::<usize>(), 0..12),
        // One byte at a time, for short inputs: every cut at once.
        Just((0..4096).collect()),
    ]
}

proptest! {
    #![proptest_config(crate::config(64))]

    /// Arbitrary bytes, in arbitrary chunks.
    #[test]
    fn arbitrary_bytes_read_alike_in_any_chunking(bytes in proptest::collection::vec(any::<u8>(), 0..4096), cuts in cuts()) {
        classify_holds(&bytes, &cuts)?;
    }

    /// Logs made of traceback lines, metrics with hostile numbers, tables, progress bars, odd
    /// line breaks and over-long lines.
    #[test]
    fn log_shaped_text_reads_alike_in_any_chunking(bytes in log(), cuts in cuts()) {
        classify_holds(&bytes, &cuts)?;
    }

    /// The real outputs of the corpus, edited.
    #[test]
    fn mutated_corpus_logs_read_alike_in_any_chunking(
        log in 0..corpus().len(),
        edits in byte_edits(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        classify_holds(&apply(&corpus()[log], &edits), &cuts)?;
    }
}
