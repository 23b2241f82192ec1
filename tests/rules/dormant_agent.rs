use super::harness::{findings, fired};

#[test]
fn fires_past_the_threshold_by_exact_duration() {
    let found = findings("dormant_agent", "dormant-agent");
    // 1: 90 days and 1 hour; 4: occasional, 181 days (over 180); 6: never active, created
    // 153 days ago; 9: `2026-07-03T00:30:00+05:30` reads as a July 3rd date but is
    // 2026-07-02T19:00Z, 90 days 5 hours before as-of.
    // Near-misses: 2 is 89 days 23 hours; 3 is occasional at 120 days; 5 has an old
    // last_active_at but logged in 11 days ago; 7 was created a month ago and never used;
    // 8's `2026-07-02T18:00:00-07:00` looks like July 2nd but is 89 days 23 hours before as-of;
    // 10 is deactivated.
    assert_eq!(fired(&found), [1100000001, 1100000004, 1100000006, 1100000009]);
    insta::assert_json_snapshot!(found);
}
