//! Timestamp parsing shared by the snapshot reader and the IdP readers.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// Values that exports write instead of "never" and that must read as no date.
const NEVER_SENTINELS: &[&str] = &[
    "",
    "never",
    "never logged in",
    "0001-01-01T00:00:00Z",
    "1970-01-01T00:00:00.000Z",
    "1970-01-01T00:00:00Z",
    "0000-00-00",
    "-",
    "--",
];

/// Civil (offset-less) formats seen in exports; read as UTC.
const CIVIL_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
];

/// Parses an RFC 3339 timestamp (with `Z` or an offset such as `+05:30`), or
/// one of the civil formats exports use, read as UTC. `Ok(None)` for "never".
pub fn parse_timestamp(raw: &str) -> Result<Option<Timestamp>, String> {
    let s = raw.trim();
    if NEVER_SENTINELS.iter().any(|n| s.eq_ignore_ascii_case(n)) {
        return Ok(None);
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok(Some(ts));
    }
    for fmt in CIVIL_FORMATS {
        if let Ok(dt) = DateTime::strptime(fmt, s) {
            return TimeZone::UTC
                .to_timestamp(dt)
                .map(Some)
                .map_err(|e| e.to_string());
        }
    }
    if let Ok(date) = s.parse::<jiff::civil::Date>() {
        return TimeZone::UTC
            .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
            .map(Some)
            .map_err(|e| e.to_string());
    }
    Err(format!(
        "`{s}` is not a date-time this tool reads (expected RFC 3339 such as 2026-09-14T08:12:00Z)"
    ))
}

/// Whole days from `earlier` to `later`, for messages (rules compare exact durations).
pub fn days_between(earlier: Timestamp, later: Timestamp) -> f64 {
    (later.as_second() - earlier.as_second()) as f64 / 86_400.0
}

/// True when `ts` lies more than `days` × 24 h before `as_of` (exact duration, not calendar days).
pub fn older_than_days(ts: Timestamp, as_of: Timestamp, days: u32) -> bool {
    as_of.as_second() - ts.as_second() > i64::from(days) * 86_400
        || (as_of.as_second() - ts.as_second() == i64::from(days) * 86_400
            && as_of.subsec_nanosecond() > ts.subsec_nanosecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        parse_timestamp(s).expect("parses").expect("not never")
    }

    #[test]
    fn reads_offsets_and_civil_formats() {
        let cases = [
            ("2026-10-01T00:00:00Z", "2026-10-01T00:00:00Z"),
            ("2026-10-01T05:30:00+05:30", "2026-10-01T00:00:00Z"),
            ("2026/04/10 04:05:20", "2026-04-10T04:05:20Z"),
            ("8/19/2021 1:25:31 PM", "2021-08-19T13:25:31Z"),
            ("2026-09-14 08:12:00", "2026-09-14T08:12:00Z"),
            ("2026-09-14", "2026-09-14T00:00:00Z"),
        ];
        for (raw, want) in cases {
            assert_eq!(ts(raw), want.parse::<Timestamp>().expect("valid"), "{raw}");
        }
    }

    #[test]
    fn never_sentinels_read_as_none() {
        for raw in [
            "",
            "Never logged in",
            "0001-01-01T00:00:00Z",
            "0000-00-00",
            " never ",
        ] {
            assert_eq!(parse_timestamp(raw), Ok(None), "{raw}");
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_timestamp("yesterday").is_err());
    }

    #[test]
    fn older_than_compares_exact_durations() {
        let as_of = ts("2026-10-01T00:00:00Z");
        assert!(!older_than_days(ts("2026-07-03T01:00:00Z"), as_of, 90));
        assert!(!older_than_days(ts("2026-07-03T00:00:00Z"), as_of, 90));
        assert!(older_than_days(ts("2026-07-02T23:00:00Z"), as_of, 90));
        // 2026-07-03T04:00+05:30 is 2026-07-02T22:30Z: the offset makes it older.
        assert!(older_than_days(ts("2026-07-03T04:00:00+05:30"), as_of, 90));
    }
}
