use super::harness::{findings, fired};

#[test]
fn fires_when_identities_are_staged_and_none_active() {
    let found = findings("pre_start_access", "pre-start-access");
    // 1: staged in Okta (its only identity); 2: Okta "Pending user action" (staged) and disabled in
    // Entra, so none is active (matched by its lower-cased email).
    // Near-misses: 3 is staged in Okta but enabled in Entra (one active identity is enough);
    // 4 is a pending invite (not yet `active`); 5 is deactivated; 6 resolves only to deprovisioned
    // identities (terminated-active instead); 7 has no identity at all (orphaned-agent instead).
    assert_eq!(fired(&found), [6000000001, 6000000002]);
    insta::assert_json_snapshot!(found);
}
