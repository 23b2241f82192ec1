use super::harness::{findings, fired};

#[test]
fn fires_for_roles_scopes_and_groups_the_mapping_does_not_grant() {
    let found = findings("role_drift", "role-drift");
    // 2: Billing, holds Administrator; 3: Support with Global scope (max group);
    // 4: Support, member of Escalations; 6: department Marketing, which no entry covers.
    // Near-misses: 11's identity names no department or group at all, so there is
    // nothing to compare it with; 1 holds what Support allows; 5 is an Administrator through the IdP group
    // "Freshdesk Admins", whose entry bounds neither groups nor scope (entries add up);
    // 10's department "BILLING" matches case-insensitively; 12 holds no role; 7 is
    // deactivated; 8 is pending; 9 resolves to no identity (orphaned-agent's case).
    assert_eq!(fired(&found), [7000000002, 7000000003, 7000000004, 7000000006]);
    insta::assert_json_snapshot!(found);
}

#[test]
fn stays_quiet_without_a_role_mapping() {
    // The duplicate-identity fixture has departments but no policy file.
    let found = findings("duplicate_identity", "role-drift");
    assert!(fired(&found).is_empty(), "{found:#?}");
}
