//! "Did you mean" suggestions for misspelt keys and names.

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let budget = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(word, candidate), candidate))
        .filter(|&(distance, candidate)| distance <= budget && candidate != word)
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
    fn lists_candidates_when_nothing_is_close() {
        assert_eq!(
            help("zzz", &["a", "b"]).as_deref(),
            Some("expected one of `a`, `b`")
        );
        assert_eq!(help("ab", &["abc"]).as_deref(), Some("did you mean `abc`?"));
    }
}
