//! Durations as protocols write them (`90s`, `30m`, `12h`, `1h30m`) and as messages show them
//! (`2h 30m`).

use std::time::Duration;

/// Parses a duration such as `90s`, `30m`, `12h` or `1h30m`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    humantime::parse_duration(text).map_err(|error| match error {
        humantime::DurationError::Empty => "the duration is empty".to_owned(),
        humantime::DurationError::UnknownUnit { unit, .. } if unit.is_empty() => {
            format!("`{text}` has no unit")
        }
        other => format!("`{text}` is not a duration: {other}"),
    })
}

/// Formats a duration the way people read elapsed time: `2h 30m`, `26h`, `45m 10s`, `0s`, and
/// under a second `400ms` (so that a short duration a template renders parses back the same).
///
/// Hours are not folded into days: training runs are talked about in hours.
pub fn format(duration: Duration) -> String {
    let total = duration.as_secs();
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    match (hours, minutes, seconds) {
        (0, 0, 0) if duration.subsec_millis() > 0 => format!("{}ms", duration.subsec_millis()),
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_protocol_durations() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse("12h"), Ok(Duration::from_secs(43200)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse(" 24h "), Ok(Duration::from_secs(86400)));
        assert_eq!(parse("10"), Err("`10` has no unit".to_owned()));
        assert!(parse("soon").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn formats_in_hours_and_minutes() {
        let f = |s| format(Duration::from_secs(s));
        assert_eq!(f(0), "0s");
        assert_eq!(f(59), "59s");
        assert_eq!(f(90), "1m 30s");
        assert_eq!(f(1800), "30m");
        assert_eq!(f(9000), "2h 30m");
        assert_eq!(f(9059), "2h 30m");
        assert_eq!(f(86400), "24h");
        assert_eq!(f(93_600), "26h");
        assert_eq!(format(Duration::from_millis(400)), "400ms");
        assert_eq!(
            parse(&format(Duration::from_millis(400))),
            Ok(Duration::from_millis(400))
        );
        assert_eq!(format(Duration::from_millis(1400)), "1s");
    }
}
