use super::harness::{findings, fired};

#[test]
fn fires_for_invites_pending_more_than_fourteen_days() {
    let found = findings("stale_invite", "stale-invite");
    // 1: invited 15 days before as-of.
    // Near-misses: 2 was invited 13 days ago; 3 exactly 14 days ago (not *more than* 14);
    // 4 is deactivated, however old; 5 accepted its invite long ago and is active.
    assert_eq!(fired(&found), [1200000001]);
    insta::assert_json_snapshot!(found);
}
