use super::harness::{findings, fired};

#[test]
fn fires_when_an_idp_active_agent_is_not_assigned_the_app() {
    let found = findings("idp_not_assigned", "idp-not-assigned");
    // 2: only a Slack assignment; 3: its Freshdesk assignment has an "Unassigned on" date;
    // 9: staged in Okta but enabled in Entra (IdP-active), and assigned nothing.
    // Near-misses: 1 is assigned; 4 is assigned under its identity's secondEmail; 10 under the
    // "Application login" column; 5 is suspended in the IdP (terminated-active's case);
    // 6 resolves to no identity (orphaned-agent's case); 7 is pending; 8 is deactivated.
    assert_eq!(fired(&found), [8000000002, 8000000003, 8000000009]);
    insta::assert_json_snapshot!(found);
}

#[test]
fn stays_quiet_without_an_assignments_file() {
    // The same people, but no --assignments given: nothing to compare against.
    let found = findings("idp_not_assigned/without_assignments", "idp-not-assigned");
    assert!(fired(&found).is_empty(), "{found:#?}");
}
