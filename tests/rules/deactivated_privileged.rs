use super::harness::{findings, fired};

#[test]
fn fires_for_deactivated_agents_still_holding_a_privileged_role() {
    let found = findings("deactivated_privileged", "deactivated-privileged");
    // 1: `deactivated: true`, Administrator; 2: inactive after having been active (so
    // deactivated), Account Administrator next to Agent; 6: Billing Manager, privileged by id.
    // Near-misses: 3 holds Supervisor only; 4 is active and 5 pending (privileged-agent's cases).
    assert_eq!(fired(&found), [9000000001, 9000000002, 9000000006]);
    assert_eq!(found[1]["values"]["privileged_roles"], "Account Administrator");
    insta::assert_json_snapshot!(found);
}
