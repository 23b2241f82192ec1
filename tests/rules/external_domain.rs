use super::harness::{findings, fired};

#[test]
fn fires_for_domains_outside_org_domains() {
    let found = findings("external_domain", "external-domain");
    // org_domains = ["acme.test", "ACME.co."].
    // 1: notacme.test (ends with the org domain's text, but not on a label boundary);
    // 2: acme.test.evil.example (pending; the org domain is a prefix, not a suffix);
    // 3: gmail.example (a personal address).
    // Near-misses: 4 acme.test (an org domain); 5 eu.acme.test (a subdomain); 6 ACME.TEST. (case
    // and a trailing dot ignored); 7 acme.co (the policy's "ACME.co." after lower-casing and
    // dropping the trailing dot); 8 evil.example is deactivated.
    assert_eq!(fired(&found), [6300000001, 6300000002, 6300000003]);
    insta::assert_json_snapshot!(found);
}

#[test]
fn stays_quiet_without_org_domains() {
    // No policy, so no org_domains: the rule cannot judge, even a plainly personal address.
    let found = findings("external_domain/org_domains_unset", "external-domain");
    assert_eq!(fired(&found), Vec::<u64>::new());
}
