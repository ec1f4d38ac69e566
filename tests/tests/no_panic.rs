//! The loader and the checker never panic, whatever the bytes: arbitrary input, and mutations of
//! the shipped protocol (which reach far deeper than random bytes do).

use std::path::Path;

use proptest::prelude::*;
use warden::check;
use warden::protocol;

fn phase5b() -> String {
    std::fs::read_to_string(warden_tests::root().join("protocols/phase5b.yaml")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = protocol::parse(Path::new("fuzz.yaml"), &bytes);
    }

    #[test]
    fn arbitrary_yaml_like_text(text in "[a-z_:{}\\[\\]\\-\"', #*|>\n ]{0,300}") {
        let _ = check::check_source(Path::new("fuzz.yaml"), &text);
    }

    #[test]
    fn mutated_phase5b(cut in 0usize..40_000, len in 0usize..64, insert in "[a-z{}:\\[\\]\"'\n -]{0,12}") {
        let text = phase5b();
        let mut cut = cut.min(text.len());
        while !text.is_char_boundary(cut) { cut -= 1; }
        let mut end = (cut + len).min(text.len());
        while !text.is_char_boundary(end) { end -= 1; }
        let mutated = format!("{}{}{}", &text[..cut], insert, &text[end..]);
        let path = warden_tests::root().join("protocols/mutated.yaml");
        let _ = check::check_source(&path, &mutated);
    }
}

fn classifier() -> warden::classify::Classifier {
    static PROTOTYPE: std::sync::OnceLock<warden::classify::Classifier> =
        std::sync::OnceLock::new();
    PROTOTYPE
        .get_or_init(|| {
            let path = warden_tests::root().join("protocols/phase5b.yaml");
            warden::classify::Classifier::new(&protocol::load(&path).unwrap()).unwrap()
        })
        .clone()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn classifier_takes_arbitrary_bytes(lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..40)) {
        let mut classifier = classifier();
        let mut out = Vec::new();
        let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        for line in &lines {
            classifier.push(line, at, &mut out);
        }
        classifier.flush(at, true, &mut out);
    }

    #[test]
    fn classifier_takes_tracebacks_mixed_with_noise(
        pieces in proptest::collection::vec(prop_oneof![
            Just("Traceback (most recent call last):".to_owned()),
            Just("  File \"m.py\", line 3, in <module>".to_owned()),
            Just("During handling of the above exception, another exception occurred:".to_owned()),
            Just(String::new()),
            Just("KeyError: 'Gold'".to_owned()),
            Just("{\"loss\": NaN, \"r_hat\": 1.4}".to_owned()),
            Just("r_hat=1.5 loss=nan".to_owned()),
            "[ -~]{0,40}",
        ], 0..60)
    ) {
        let mut classifier = classifier();
        let mut out = Vec::new();
        let mut at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        for piece in &pieces {
            classifier.push(piece.as_bytes(), at, &mut out);
            at += chrono::TimeDelta::seconds(7);
        }
        classifier.flush(at, true, &mut out);
        // Every line is accounted for: no incident claims a line past the end.
        for finding in &out {
            if let warden::classify::Finding::Incident(incident) = finding {
                prop_assert!(incident.line_number <= pieces.len() as u64);
                prop_assert!(incident.after.len() <= warden::classify::CONTEXT_LINES);
            }
        }
    }
}
