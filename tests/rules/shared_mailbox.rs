use super::harness::{findings, fired};

#[test]
fn fires_for_shared_mailbox_local_parts() {
    let found = findings("shared_mailbox", "shared-mailbox");
    // 1: support@ (active); 2: Info+EU@ (pending; case ignored, `+tag` dropped);
    // 3: " No-Reply@" (whitespace trimmed, case ignored).
    // Near-misses: 4 supporter@ (a longer word, not the name); 5 jane.support@ (the name is only
    // part of the local part); 6 jane+support@ (the name is the tag, the local part is `jane`);
    // 7 billing@ is deactivated; 8 frontdesk@ is not in the default list.
    assert_eq!(fired(&found), [6200000001, 6200000002, 6200000003]);
    insta::assert_json_snapshot!(found);
}

#[test]
fn policy_names_replace_the_default_list() {
    let found = findings("shared_mailbox/custom_names", "shared-mailbox");
    // shared_mailbox_names = ["FrontDesk"]: 1 frontdesk@ fires (policy names are lower-cased);
    // near-miss: 2 support@ does not, since the policy's list replaces the default one.
    assert_eq!(fired(&found), [6210000001]);
    insta::assert_json_snapshot!(found);
}
