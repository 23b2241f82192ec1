use super::harness::{findings, fired};

#[test]
fn fires_for_every_agent_of_a_shared_identity_or_folded_email() {
    let found = findings("duplicate_identity", "duplicate-identity");
    // 1 shares its Okta row with 3 (pending, matched by secondEmail) and its email with 2
    // (`Ann+Freshdesk@ACME.test` folds to ann@acme.test): one finding naming both.
    // 5 and 6 resolve to one Entra row (6 through alternateEmailAddress).
    // Near-misses: 4 (ann+old@, deactivated) and 8 (eve's second email, deactivated) are not
    // counted; 9 and 10 differ in domain; 11 and 12 are nothing but a +tag and are kept whole.
    assert_eq!(
        fired(&found),
        [6000000001, 6000000002, 6000000003, 6000000005, 6000000006]
    );
    assert_eq!(found[0]["values"]["other_agent_ids"], "6000000002; 6000000003");
    insta::assert_json_snapshot!(found);
}
