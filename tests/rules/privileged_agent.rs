use super::harness::{findings, fired};

#[test]
fn fires_for_administrators_with_access() {
    let found = findings("privileged_agent", "privileged-agent");
    // 1: Account Administrator; 2: a pending invite as Administrator.
    // Near-misses: 3 is a Supervisor; 4 is a deactivated Administrator (deactivated-privileged's
    // case); 5's Billing Manager is not privileged by default; 6 is a plain Agent.
    assert_eq!(fired(&found), [1300000001, 1300000002]);
    insta::assert_json_snapshot!(found);
}

#[test]
fn policy_adds_a_role_by_name() {
    // Same agents; the policy lists Billing Manager next to the two default names.
    let found = findings("privileged_agent/billing_policy", "privileged-agent");
    assert_eq!(fired(&found), [1300000001, 1300000002, 1300000005]);
    insta::assert_json_snapshot!(found);
}
