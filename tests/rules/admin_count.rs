use super::harness::{findings, fired};

#[test]
fn fires_for_every_holder_when_there_are_too_many() {
    let found = findings("admin_count/too_many", "admin-count");
    // max 3; four active holders (Billing Manager is privileged in this policy), each listed.
    // Not counted: 5 is a pending invite, 6 is deactivated, 7 is a Supervisor.
    assert_eq!(fired(&found), [9200000001, 9200000002, 9200000003, 9200000004]);
    assert_eq!(found[0]["values"]["count"], "4");
    insta::assert_json_snapshot!(found);
}

#[test]
fn fires_for_the_single_holder_when_there_are_too_few() {
    let found = findings("admin_count/too_few", "admin-count");
    // min 2; the pending and the deactivated Administrator do not count, so one remains.
    assert_eq!(fired(&found), [9300000001]);
    insta::assert_json_snapshot!(found);
}

#[test]
fn stays_quiet_within_bounds_or_without_them() {
    // min 2, max 3, two active holders (the pending and deactivated ones not counted).
    let found = findings("admin_count", "admin-count");
    assert!(fired(&found).is_empty(), "{found:#?}");
    // No [admin_count] in the policy: the rule has nothing to check.
    let found = findings("deactivated_privileged", "admin-count");
    assert!(fired(&found).is_empty(), "{found:#?}");
}
