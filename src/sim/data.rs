//! The account as the simulator serves it: the fixture indexed by id, group
//! membership derived from the agents' `group_ids`, and the owners of the
//! API keys. Writes change it through the methods at the end (see `writes`).

use std::collections::HashMap;

use serde_json::Value;

use super::fixture::{Fixture, adjust_total};

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

pub(crate) fn ids(value: Option<&Value>) -> Vec<u64> {
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

/// Changes made by writes. Indexes are rebuilt where positions move:
/// writes are rare next to reads, so they pay, not the reads.
impl Org {
    pub(crate) fn agent_mut(&mut self, id: u64) -> Option<&mut Value> {
        self.agent_index.get(&id).map(|&i| &mut self.agents[i])
    }

    /// The agent whose `contact.email` is `email`, compared trimmed and
    /// case-insensitively.
    pub(crate) fn agent_with_email(&self, email: &str) -> Option<&Value> {
        let wanted = email.trim();
        self.agents.iter().find(|agent| {
            agent
                .pointer("/contact/email")
                .and_then(Value::as_str)
                .is_some_and(|e| e.trim().eq_ignore_ascii_case(wanted))
        })
    }

    /// A fresh id above every agent and contact id, and above 2^32 as
    /// Freshdesk's are (so a client that keeps ids in 32 bits fails here).
    pub(crate) fn next_id(&self) -> u64 {
        let agents = self.agent_index.keys();
        let contacts = self.contact_index.keys();
        agents
            .chain(contacts)
            .copied()
            .max()
            .unwrap_or(0)
            .max(u64::from(u32::MAX))
            .saturating_add(1)
    }

    /// Adds a new agent at the end, with memberships from its `group_ids`.
    pub(crate) fn push_agent(&mut self, agent: Value) {
        let id = id_of(&agent);
        let groups = ids(agent.get("group_ids"));
        self.agent_index.insert(id, self.agents.len());
        self.agents.push(agent);
        self.set_membership(id, &groups);
    }

    /// Removes an agent from the account and from every group.
    pub(crate) fn remove_agent(&mut self, id: u64) -> Option<Value> {
        let position = self.agent_index.remove(&id)?;
        let agent = self.agents.remove(position);
        self.agent_index = index(&self.agents);
        for members in &mut self.members {
            members.retain(|&m| m != id);
        }
        Some(agent)
    }

    /// Makes `groups` exactly the groups the agent is a member of; a group
    /// it joins lists it in agent order, as derived memberships are.
    pub(crate) fn set_membership(&mut self, id: u64, groups: &[u64]) {
        let order = |m: &u64| self.agent_index.get(m).copied().unwrap_or(usize::MAX);
        let own = order(&id);
        for (g, group) in self.groups.iter().enumerate() {
            let wanted = groups.contains(&id_of(group));
            let members = &self.members[g];
            match (wanted, members.contains(&id)) {
                (true, false) => {
                    let at = members
                        .iter()
                        .position(|m| order(m) > own)
                        .unwrap_or(members.len());
                    self.members[g].insert(at, id);
                }
                (false, true) => self.members[g].retain(|&m| m != id),
                _ => {}
            }
        }
    }

    /// Removes a contact (made an agent again).
    pub(crate) fn remove_contact(&mut self, id: u64) -> Option<Value> {
        let position = self.contact_index.remove(&id)?;
        let contact = self.contacts.remove(position);
        self.contact_index = index(&self.contacts);
        Some(contact)
    }

    /// Adds a contact, replacing one with the same id.
    pub(crate) fn put_contact(&mut self, contact: Value) {
        match self.contact_index.get(&id_of(&contact)) {
            Some(&i) => self.contacts[i] = contact,
            None => {
                self.contact_index.insert(id_of(&contact), self.contacts.len());
                self.contacts.push(contact);
            }
        }
    }

    /// Moves one agent in the account's `total_agents` from the kind it was
    /// counted as before a write to the kind it is counted as after.
    pub(crate) fn recount(&mut self, before: Option<&'static str>, after: Option<&'static str>) {
        if before == after {
            return;
        }
        if let Some(kind) = before {
            adjust_total(&mut self.account, kind, -1);
        }
        if let Some(kind) = after {
            adjust_total(&mut self.account, kind, 1);
        }
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

    #[test]
    fn agents_come_and_go_with_their_memberships() {
        let fixture = Fixture {
            agents: vec![
                json!({"id": 1, "group_ids": [7], "contact": {"email": "a@x.test"}}),
                json!({"id": 3, "group_ids": [], "contact": {"email": "c@x.test"}}),
            ],
            groups: vec![json!({"id": 7}), json!({"id": 8})],
            contacts: vec![json!({"id": 9})],
            ..Fixture::default()
        };
        let mut org = Org::new(fixture);
        assert_eq!(org.next_id(), u64::from(u32::MAX) + 1);
        org.set_membership(3, &[7, 8]);
        org.push_agent(json!({"id": 2, "group_ids": [7], "contact": {"email": "b@x.test"}}));
        assert_eq!(org.members(7), Some(&[1, 3, 2][..]));
        assert_eq!(org.agent_with_email(" B@X.test ").map(id_of), Some(2));
        assert_eq!(org.remove_agent(3).map(|a| id_of(&a)), Some(3));
        assert_eq!(
            (org.members(7), org.members(8)),
            (Some(&[1, 2][..]), Some(&[][..]))
        );
        assert_eq!(org.agent(2).map(id_of), Some(2), "index rebuilt after removal");
        org.put_contact(json!({"id": 9, "email": "new"}));
        org.put_contact(json!({"id": 3}));
        assert_eq!(
            (org.contacts.len(), org.contact(9).map(|c| c["email"].clone())),
            (2, Some(json!("new")))
        );
        let big = Org::new(Fixture {
            agents: vec![json!({"id": 80_000_000_000_u64, "contact": {}})],
            ..Fixture::default()
        });
        assert_eq!(big.next_id(), 80_000_000_001);
    }
}
