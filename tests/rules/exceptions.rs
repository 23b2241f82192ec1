use super::harness::{findings, fired, suppressed};

#[test]
fn an_exception_in_force_suppresses_and_an_expired_one_is_reported() {
    // 1: excepted until 2027 (by email, any case): suppressed, with who and why.
    // 2: its exception (by id) expired 2026-09-01: still dormant, and expired-exception fires.
    // 3: excepted from another rule only: still dormant.
    let dormant = findings("exceptions", "dormant-agent");
    assert_eq!(fired(&dormant), [7000000002, 7000000003]);
    let hidden = suppressed("exceptions", "dormant-agent");
    assert_eq!(hidden.len(), 1);
    assert_eq!(hidden[0]["finding"]["agent_id"], 7000000001u64);
    assert_eq!(hidden[0]["exception"]["approver"], "Head of Support");
    let expired = findings("exceptions", "expired-exception");
    assert_eq!(fired(&expired), [7000000002]);
    insta::assert_json_snapshot!("suppressed", hidden);
    insta::assert_json_snapshot!("expired", expired);
}
