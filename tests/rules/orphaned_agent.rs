use super::harness::{findings, fired};

#[test]
fn fires_when_no_identity_matches() {
    let found = findings("orphaned_agent", "orphaned-agent");
    // 1: active, in no export; 2: pending invite, in no export; 6: sam+freshdesk@ while Okta has
    // sam@ (a `+tag` is not removed when matching identities, so it resolves to nothing).
    // Near-misses: 3 is deactivated; 4 Jane.Doe@ACME.TEST matches Okta's jane.doe@acme.test once
    // lower-cased; 5 resolves to a deprovisioned identity (terminated-active, not orphaned).
    assert_eq!(fired(&found), [6400000001, 6400000002, 6400000006]);
    insta::assert_json_snapshot!(found);
}
