//! "Did you mean" suggestions for misspelt keys and names.

/// Words longer than this (in characters) get no suggestion: nobody mistypes a name that long,
/// and comparing costs the product of the two lengths.
pub const MAX_WORD: usize = 128;

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    closest_by(word, candidates, strsim::damerau_levenshtein)
}

/// [`closest`], measuring with `distance`. Only candidates whose length alone does not put
/// them out of reach are measured: the distance is at least the difference in length.
fn closest_by<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
    mut distance: impl FnMut(&str, &str) -> usize,
) -> Option<&'c str> {
    let length = word.chars().count();
    if length > MAX_WORD {
        return None;
    }
    let budget = (length / 3).max(1);
    candidates
        .into_iter()
        .filter(|candidate| *candidate != word)
        .filter(|candidate| candidate.chars().count().abs_diff(length) <= budget)
        .map(|candidate| (distance(word, candidate), candidate))
        .filter(|&(distance, _)| distance <= budget)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// "did you mean `best`?" for the closest candidate, if one is close enough.
pub fn did_you_mean<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<String> {
    closest(word, candidates).map(|best| format!("did you mean `{best}`?"))
}

/// A help line naming the closest candidate, or listing them all when none is close and the list
/// is short.
pub fn help(word: &str, candidates: &[&str]) -> Option<String> {
    if let Some(help) = did_you_mean(word, candidates.iter().copied()) {
        return Some(help);
    }
    match candidates.len() {
        0 => None,
        1..=12 => Some(format!(
            "expected one of {}",
            candidates
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        let states = ["watch", "error", "resume"];
        assert_eq!(closest("wach", states), Some("watch"));
        assert_eq!(closest("resmue", states), Some("resume"));
        assert_eq!(closest("complete", states), None);
    }

    #[test]
    fn only_words_and_candidates_within_reach_are_measured() {
        let mut measured = Vec::new();
        let mut count = |word: &str, candidate: &str| {
            measured.push(candidate.to_owned());
            strsim::damerau_levenshtein(word, candidate)
        };
        let huge = "x".repeat(1_000_000);
        let long_state = "y".repeat(1_000_000);
        let candidates = ["watch", "error", long_state.as_str()];
        assert_eq!(closest_by(&huge, candidates, &mut count), None);
        assert_eq!(closest_by("wach", candidates, &mut count), Some("watch"));
        assert_eq!(measured, ["watch", "error"]);
    }

    #[test]
    fn lists_candidates_when_nothing_is_close() {
        assert_eq!(
            help("zzz", &["a", "b"]).as_deref(),
            Some("expected one of `a`, `b`")
        );
        assert_eq!(help("ab", &["abc"]).as_deref(), Some("did you mean `abc`?"));
    }
}
