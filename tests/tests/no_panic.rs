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
