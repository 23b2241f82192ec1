use super::harness::{findings, fired};

#[test]
fn fires_for_occasional_agents_and_collaborators_with_global_scope() {
    let found = findings("broad_ticket_scope", "broad-ticket-scope");
    // 1: occasional support agent, Global; 2: collaborator, Global; 3: both occasional and a
    // collaborator, Global (one finding, listing both of its roles).
    // Near-misses: 4 is occasional but scoped to Group; 5 is a full-time support agent with Global
    // scope; 6 is a full-time field agent with Global scope; 7 is a collaborator with Global scope
    // but only pending; 8 is occasional with Global scope but deactivated; 9 is a collaborator
    // scoped to Restricted.
    assert_eq!(fired(&found), [6100000001, 6100000002, 6100000003]);
    insta::assert_json_snapshot!(found);
}
