//! The account as the simulator serves it: the fixture indexed by id, group
//! membership derived from the agents' `group_ids`, and the owners of the
//! API keys.

use std::collections::HashMap;

use serde_json::Value;

use super::fixture::Fixture;

pub(crate) struct Org {
    pub(crate) agents: Vec<Value>,
    agent_index: HashMap<u64, usize>,
    pub(crate) roles: Vec<Value>,
    role_index: HashMap<u64, usize>,
    /// Groups without `agent_ids`; `members` holds them, in agent order.
    pub(crate) groups: Vec<Value>,
    group_index: HashMap<u64, usize>,
    members: Vec<Vec<u64>>,
    pub(crate) contacts: Vec<Value>,
    contact_index: HashMap<u64, usize>,
    pub(crate) account: Value,
    /// Id of the admin key's owner: the first Account Administrator.
    pub(crate) admin_owner: Option<u64>,
    /// Id of the agent key's owner: the first active agent without an
    /// administrator role.
    pub(crate) agent_owner: Option<u64>,
}

pub(crate) fn id_of(object: &Value) -> u64 {
    object.get("id").and_then(Value::as_u64).unwrap_or_default()
}

pub(crate) fn is_deactivated(agent: &Value) -> bool {
    agent.get("deactivated").and_then(Value::as_bool) == Some(true)
}

/// Not deactivated and a verified, active contact.
pub(crate) fn is_active(agent: &Value) -> bool {
    !is_deactivated(agent) && agent.pointer("/contact/active").and_then(Value::as_bool) == Some(true)
}

fn ids(value: Option<&Value>) -> Vec<u64> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

fn index(items: &[Value]) -> HashMap<u64, usize> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| (id_of(item), i))
        .collect()
}

impl Org {
    pub(crate) fn new(fixture: Fixture) -> Org {
        let Fixture {
            agents,
            roles,
            mut groups,
            contacts,
            account,
        } = fixture;
        let group_index = index(&groups);
        let mut members: Vec<Vec<u64>> = vec![Vec::new(); groups.len()];
        for agent in &agents {
            for group in ids(agent.get("group_ids")) {
                if let Some(&g) = group_index.get(&group) {
                    members[g].push(id_of(agent));
                }
            }
        }
        // A dataset that lists members on the group (bench) keeps them too.
        for (g, group) in groups.iter_mut().enumerate() {
            if let Some(listed) = group.as_object_mut().and_then(|o| o.remove("agent_ids")) {
                for id in ids(Some(&listed)) {
                    if !members[g].contains(&id) {
                        members[g].push(id);
                    }
                }
            }
        }
        let role_named = |names: &[&str]| -> Vec<u64> {
            roles
                .iter()
                .filter(|r| names.contains(&r.get("name").and_then(Value::as_str).unwrap_or("")))
                .map(id_of)
                .collect()
        };
        let owner_roles = role_named(&["Account Administrator"]);
        let admin_roles = role_named(&["Account Administrator", "Administrator"]);
        let holds =
            |agent: &Value, wanted: &[u64]| ids(agent.get("role_ids")).iter().any(|r| wanted.contains(r));
        let admin_owner = agents
            .iter()
            .find(|a| !is_deactivated(a) && holds(a, &owner_roles))
            .or_else(|| agents.iter().find(|a| !is_deactivated(a)))
            .or(agents.first())
            .map(id_of);
        let agent_owner = agents
            .iter()
            .find(|a| is_active(a) && !holds(a, &admin_roles))
            .map(id_of);
        Org {
            agent_index: index(&agents),
            role_index: index(&roles),
            contact_index: index(&contacts),
            agents,
            roles,
            groups,
            group_index,
            members,
            contacts,
            account,
            admin_owner,
            agent_owner,
        }
    }

    pub(crate) fn agent(&self, id: u64) -> Option<&Value> {
        self.agent_index.get(&id).map(|&i| &self.agents[i])
    }

    pub(crate) fn role(&self, id: u64) -> Option<&Value> {
        self.role_index.get(&id).map(|&i| &self.roles[i])
    }

    pub(crate) fn contact(&self, id: u64) -> Option<&Value> {
        self.contact_index.get(&id).map(|&i| &self.contacts[i])
    }

    /// The group without its members (`GET /groups` list form).
    pub(crate) fn group(&self, id: u64) -> Option<&Value> {
        self.group_index.get(&id).map(|&i| &self.groups[i])
    }

    /// Member agent ids of a group, in agent order.
    pub(crate) fn members(&self, id: u64) -> Option<&[u64]> {
        self.group_index.get(&id).map(|&i| self.members[i].as_slice())
    }

    /// The group with `agent_ids` (detail and `/admin/groups` form).
    pub(crate) fn group_with_members(&self, group: &Value) -> Value {
        let mut out = group.clone();
        let members = self.members(id_of(group)).unwrap_or_default();
        if let Some(object) = out.as_object_mut() {
            object.insert("agent_ids".to_owned(), Value::from(members.to_vec()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn membership_and_owners_are_derived() {
        let fixture = Fixture {
            agents: vec![
                json!({"id": 1, "role_ids": [10], "group_ids": [7], "deactivated": true,
                    "contact": {"active": false}}),
                json!({"id": 2, "role_ids": [11], "group_ids": [7], "contact": {"active": true}}),
                json!({"id": 3, "role_ids": [10], "group_ids": [], "contact": {"active": true}}),
            ],
            roles: vec![
                json!({"id": 10, "name": "Account Administrator"}),
                json!({"id": 11, "name": "Agent"}),
            ],
            groups: vec![json!({"id": 7, "name": "L1", "agent_ids": [3, 2]})],
            ..Fixture::default()
        };
        let org = Org::new(fixture);
        assert_eq!(org.members(7), Some(&[1, 2, 3][..]));
        assert!(org.group(7).is_some_and(|g| g.get("agent_ids").is_none()));
        let group = org.group(7).cloned().unwrap_or_default();
        assert_eq!(org.group_with_members(&group)["agent_ids"], json!([1, 2, 3]));
        assert_eq!(org.admin_owner, Some(3));
        assert_eq!(org.agent_owner, Some(2));
        assert!(org.agent(99).is_none());
    }
}
