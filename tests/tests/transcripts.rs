//! Snapshot tests of transitions: every Phase 5B scenario replayed, its transcript (incidents,
//! transitions, every message in full, effects, what was ignored or refused) held by an insta
//! snapshot. The same text is stored beside each scenario as `NAME.transcript.md`, which
//! `warden test` compares for protocol authors; this test keeps the two identical, so reviewing
//! either reviews both (`cargo insta review`, then `warden test --bless`).

use warden::scenario;
use warden_tests::root;

#[test]
fn phase5b_scenario_transcripts() {
    let mut replayed = 0;
    insta::glob!("../../protocols/phase5b/scenarios", "*.yaml", |path| {
        let (prepared, transcript) = scenario::run(path).unwrap();
        let text = transcript.to_text(prepared.protocol());
        let stored = std::fs::read_to_string(scenario::transcript_path(path)).unwrap();
        assert!(
            stored == text,
            "{} differs from the transcript stored beside it:\n{}",
            path.display(),
            scenario::diff(&stored, &text)
        );
        insta::assert_snapshot!(text);
        replayed += 1;
    });
    let scenarios = scenario::discover(&root().join("protocols")).len();
    assert_eq!(replayed, scenarios, "every scenario has its snapshot");
}
