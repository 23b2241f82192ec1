use super::harness::{findings, fired};

#[test]
fn fires_when_every_identity_is_terminated() {
    let found = findings("terminated_active", "terminated-active");
    // 1: deprovisioned in Okta and disabled in Entra; 4: a pending invite suspended in Okta.
    // Near-misses: 2 is still enabled in Entra; 3 is deactivated; 5 has no identity (orphaned instead).
    assert_eq!(fired(&found), [5000000001, 5000000004]);
    insta::assert_json_snapshot!(found);
}
