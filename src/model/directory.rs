//! The typed population: agents, roles and groups from one snapshot.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use jiff::Timestamp;
use rayon::prelude::*;
use serde_json::Value;

use super::agent::{Agent, Slim};
use super::error::ModelError;
use super::lenient::as_u64;
use super::snapshot::{LeanSnapshot, Snapshot, SnapshotMeta};

#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    pub id: u64,
    pub name: String,
    pub default: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub id: u64,
    pub name: String,
}

/// A role or group of one account: the ids of different Freshdesk
/// accounts may collide, so the directory keys them by both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InAccount {
    /// Index into `Directory::accounts`.
    pub account: usize,
    pub id: u64,
}

/// Agents in snapshot order, roles and groups by (account, id).
#[derive(Clone, Debug)]
pub struct Directory {
    /// The accounts' domains (`meta.domain`), in the order of the snapshots.
    pub accounts: Vec<String>,
    pub agents: Vec<Agent>,
    pub roles: BTreeMap<InAccount, Role>,
    pub groups: BTreeMap<InAccount, Group>,
    /// The latest of the snapshots' collection times.
    pub collected_at: Timestamp,
}

impl Directory {
    pub fn from_snapshot(snapshot: &Snapshot) -> Result<Directory, ModelError> {
        let groups: Vec<GroupRead> = snapshot.groups.iter().map(GroupRead::new).collect();
        let members = Members::new(&groups);
        let agents = in_order(
            snapshot
                .agents
                .par_iter()
                .map(|raw| agent(Slim::from_value(raw), &members))
                .collect(),
        )?;
        let roles = snapshot.roles.iter().map(role).collect();
        Directory::assemble(agents, roles, groups, &snapshot.meta)
    }

    /// As [`Directory::from_snapshot`], parsing each object from its slice of
    /// the file, agents straight into the model. Where that fails, an error
    /// in the document itself comes first (see [`LeanSnapshot::recheck`]).
    pub fn from_lean(snapshot: &LeanSnapshot) -> Result<Directory, ModelError> {
        Directory::read_lean(snapshot).or_else(|e| {
            snapshot.recheck()?;
            Err(e)
        })
    }

    fn read_lean(snapshot: &LeanSnapshot) -> Result<Directory, ModelError> {
        let parse = |raw: &str| {
            serde_json::from_str::<Value>(raw)
                .map_err(|e| ModelError::field("object", "?", "json", &e.to_string()))
        };
        // Each role and group is cut down to what the directory keeps as
        // soon as it is parsed (a group lists its members: in parallel).
        let roles = snapshot
            .roles
            .iter()
            .map(|raw| parse(raw).map(|v| role(&v)))
            .collect::<Result<Vec<_>, _>>()?;
        let groups = in_order(
            snapshot
                .groups
                .par_iter()
                .map(|raw| parse(raw).map(|v| GroupRead::new(&v)))
                .collect(),
        )?;
        let members = Members::new(&groups);
        let agents = in_order(
            snapshot
                .agents
                .par_iter()
                .map(|raw| {
                    let slim = Slim::from_text(raw)
                        .map_err(|e| ModelError::field("agent", "?", "json", &e.to_string()))?;
                    agent(slim, &members)
                })
                .collect(),
        )?;
        Directory::assemble(agents, roles, groups, &snapshot.meta)
    }

    /// The roles' and groups' own errors come after the agents'.
    fn assemble(
        agents: Vec<Agent>,
        roles: Vec<Result<Role, ModelError>>,
        groups: Vec<GroupRead>,
        meta: &SnapshotMeta,
    ) -> Result<Directory, ModelError> {
        let roles = roles.into_iter().collect::<Result<Vec<_>, _>>()?;
        let groups = groups
            .into_iter()
            .map(|read| read.group)
            .collect::<Result<Vec<_>, _>>()?;
        one_entry_per_id("agent", agents.iter().map(|a| a.id))?;
        one_entry_per_id("role", roles.iter().map(|r| r.id))?;
        one_entry_per_id("group", groups.iter().map(|g| g.id))?;
        let key = |id| InAccount { account: 0, id };
        let roles = roles.into_iter().map(|r| (key(r.id), r)).collect();
        let groups = groups.into_iter().map(|g| (key(g.id), g)).collect();
        Ok(Directory {
            accounts: vec![meta.domain.clone()],
            agents,
            roles,
            groups,
            collected_at: meta.collected_at,
        })
    }

    /// One directory of several accounts' directories (one snapshot each),
    /// in the order given: agents keep their ids, and each its account;
    /// roles and groups are keyed by account. Refused: one account twice.
    pub fn merge(parts: Vec<Directory>) -> Result<Directory, ModelError> {
        let mut merged = Directory {
            accounts: Vec::new(),
            agents: Vec::new(),
            roles: BTreeMap::new(),
            groups: BTreeMap::new(),
            collected_at: Timestamp::UNIX_EPOCH,
        };
        for part in parts {
            let account = merged.accounts.len();
            for domain in part.accounts {
                if merged.accounts.contains(&domain) {
                    return Err(ModelError::field(
                        "snapshot",
                        &domain,
                        "meta.domain",
                        "this account's snapshot is given twice",
                    ));
                }
                merged.accounts.push(domain);
            }
            let rekey = |k: InAccount| InAccount {
                account: account + k.account,
                id: k.id,
            };
            merged.agents.extend(part.agents.into_iter().map(|mut a| {
                a.account += account;
                a
            }));
            merged
                .roles
                .extend(part.roles.into_iter().map(|(k, r)| (rekey(k), r)));
            merged
                .groups
                .extend(part.groups.into_iter().map(|(k, g)| (rekey(k), g)));
            merged.collected_at = merged.collected_at.max(part.collected_at);
        }
        Ok(merged)
    }

    /// More than one account: what is per account must then say which.
    pub fn several_accounts(&self) -> bool {
        self.accounts.len() > 1
    }

    /// The agent's account's domain.
    pub fn account_of(&self, agent: &Agent) -> &str {
        self.accounts.get(agent.account).map_or("", String::as_str)
    }

    /// Role names, or `#id` for a role the snapshot does not describe.
    pub fn role_name(&self, key: InAccount) -> String {
        self.roles
            .get(&key)
            .map_or_else(|| format!("#{}", key.id), |r| r.name.clone())
    }

    pub fn group_name(&self, key: InAccount) -> String {
        self.groups
            .get(&key)
            .map_or_else(|| format!("#{}", key.id), |g| g.name.clone())
    }
}

/// A second entry with an id already seen would inflate the population (and
/// give two findings one `finding_id`), or silently replace a role or group.
fn one_entry_per_id(kind: &'static str, ids: impl Iterator<Item = u64>) -> Result<(), ModelError> {
    let mut seen = std::collections::HashMap::new();
    for (at, id) in ids.enumerate() {
        if let Some(first) = seen.insert(id, at) {
            return Err(ModelError::Duplicate {
                kind,
                id,
                first: first + 1,
                second: at + 1,
            });
        }
    }
    Ok(())
}

/// The results in order, or the first error in order. (Collecting a
/// parallel iterator into a `Result` returns whichever error it meets, and
/// goes through a list of chunks: twice the memory at the end.)
fn in_order<T>(results: Vec<Result<T, ModelError>>) -> Result<Vec<T>, ModelError> {
    results.into_iter().collect()
}

fn role(raw: &Value) -> Result<Role, ModelError> {
    let (id, name) = id_and_name("role", raw)?;
    let default = raw.get("default").and_then(Value::as_bool).unwrap_or(false);
    Ok(Role { id, name, default })
}

/// What the directory keeps of one group object.
struct GroupRead {
    /// The group, or why it has no id or name.
    group: Result<Group, ModelError>,
    /// Its id and the agents its `agent_ids` name, where it has an id.
    members: Option<(u64, Vec<u64>)>,
}

impl GroupRead {
    fn new(raw: &Value) -> GroupRead {
        let members = raw.get("id").and_then(as_u64).map(|gid| {
            let agent_ids = raw.get("agent_ids").and_then(Value::as_array);
            (gid, agent_ids.into_iter().flatten().filter_map(as_u64).collect())
        });
        GroupRead {
            group: id_and_name("group", raw).map(|(id, name)| Group { id, name }),
            members,
        }
    }
}

/// Where an agent object has no `group_ids` (the documented list), its
/// groups are the ones whose `agent_ids` name it: worked out from the groups
/// the first time an agent needs it.
struct Members<'g> {
    groups: &'g [GroupRead],
    of: OnceLock<BTreeMap<u64, Vec<u64>>>,
}

impl<'g> Members<'g> {
    fn new(groups: &'g [GroupRead]) -> Members<'g> {
        Members {
            groups,
            of: OnceLock::new(),
        }
    }

    fn groups_of(&self, agent: u64) -> Vec<u64> {
        let of = self.of.get_or_init(|| {
            let mut of: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
            for (gid, agents) in self.groups.iter().filter_map(|g| g.members.as_ref()) {
                for &aid in agents {
                    of.entry(aid).or_default().push(*gid);
                }
            }
            of
        });
        of.get(&agent).cloned().unwrap_or_default()
    }
}

fn agent(slim: Slim, members: &Members) -> Result<Agent, ModelError> {
    let lists_groups = slim.lists_groups();
    let mut agent = slim.into_agent()?;
    if !lists_groups {
        agent.group_ids = members.groups_of(agent.id);
    }
    Ok(agent)
}

fn id_and_name(kind: &'static str, raw: &Value) -> Result<(u64, String), ModelError> {
    let id = raw
        .get("id")
        .and_then(as_u64)
        .ok_or_else(|| ModelError::field(kind, "?", "id", "missing or not an integer"))?;
    let name = raw
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ModelError::field(kind, &id.to_string(), "name", "missing or not a string"))?;
    Ok((id, name.to_owned()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::snapshot::{SCHEMA_VERSION, SnapshotMeta};

    fn snapshot(agents: Vec<Value>, roles: Vec<Value>, groups: Vec<Value>) -> Snapshot {
        Snapshot {
            schema_version: SCHEMA_VERSION,
            meta: SnapshotMeta::default(),
            agents,
            roles,
            groups,
            contacts: Vec::new(),
        }
    }

    fn lean(snapshot: &Snapshot) -> Result<Directory, ModelError> {
        let bytes = serde_json::to_vec_pretty(snapshot).expect("json");
        Directory::from_lean(&LeanSnapshot::from_slice("snap.json", &bytes)?)
    }

    fn both(snapshot: &Snapshot) -> Result<String, String> {
        let whole = Directory::from_snapshot(snapshot).map(|d| format!("{d:?}"));
        let lean = lean(snapshot).map(|d| format!("{d:?}"));
        let (whole, lean) = (whole.map_err(|e| e.to_string()), lean.map_err(|e| e.to_string()));
        assert_eq!(whole, lean);
        whole
    }

    #[test]
    fn membership_comes_from_the_groups_only_where_group_ids_is_absent() {
        let snap = snapshot(
            vec![
                json!({"id": 1, "group_ids": [10]}),
                json!({"id": 2}),
                json!({"id": 3, "group_ids": null}),
                json!({"id": "4"}),
            ],
            vec![json!({"id": 1, "name": "Admin", "default": true})],
            vec![
                json!({"id": 10, "name": "A", "agent_ids": [2, "4", "x", null, -1]}),
                json!({"id": " 11", "name": "B", "agent_ids": [2]}),
                json!({"id": 12, "name": "C", "agent_ids": "not a list"}),
            ],
        );
        both(&snap).expect("valid");
        let directory = lean(&snap).expect("valid");
        let groups: Vec<(u64, Vec<u64>)> = directory
            .agents
            .iter()
            .map(|a| (a.id, a.group_ids.clone()))
            .collect();
        assert_eq!(
            groups,
            [(1, vec![10]), (2, vec![10, 11]), (3, vec![]), (4, vec![10])]
        );
        let key = |id| InAccount { account: 0, id };
        assert_eq!(directory.group_name(key(11)), "B");
        assert_eq!(directory.role_name(key(1)), "Admin");
        assert_eq!(directory.role_name(key(2)), "#2");
    }

    #[test]
    fn several_accounts_keep_colliding_ids_apart() {
        let of = |domain: &str, role: &str, at: &str| {
            let mut snap = snapshot(
                vec![json!({"id": 7, "role_ids": [1], "group_ids": [3]})],
                vec![json!({"id": 1, "name": role})],
                vec![json!({"id": 3, "name": "Tier 1"})],
            );
            snap.meta.domain = domain.to_owned();
            snap.meta.collected_at = at.parse().expect("time");
            Directory::from_snapshot(&snap).expect("valid")
        };
        let acme = of("acme", "Admin", "2026-12-01T00:00:00Z");
        let eu = of("acme-eu", "Agent", "2026-12-02T00:00:00Z");
        assert!(!acme.several_accounts());
        let merged = Directory::merge(vec![acme, eu]).expect("two accounts");
        assert!(merged.several_accounts());
        assert_eq!(merged.accounts, ["acme", "acme-eu"]);
        let agents: Vec<(usize, u64, &str)> = merged
            .agents
            .iter()
            .map(|a| (a.account, a.id, merged.account_of(a)))
            .collect();
        assert_eq!(agents, [(0, 7, "acme"), (1, 7, "acme-eu")]);
        let role = |agent: &Agent| merged.role_name(agent.in_account(agent.role_ids[0]));
        assert_eq!(role(&merged.agents[0]), "Admin");
        assert_eq!(role(&merged.agents[1]), "Agent");
        assert_eq!((merged.roles.len(), merged.groups.len()), (2, 2));
        assert_eq!(merged.collected_at.to_string(), "2026-12-02T00:00:00Z");

        let twice = Directory::merge(vec![
            of("acme", "Admin", "2026-12-01T00:00:00Z"),
            of("acme", "Admin", "2026-12-01T00:00:00Z"),
        ])
        .expect_err("one account twice");
        assert!(twice.to_string().contains("given twice"), "{twice}");
    }

    #[test]
    fn errors_come_in_order_agents_first() {
        let role_without_name = vec![json!({"id": 1})];
        let two_bad_agents = vec![
            json!({"id": 5, "occasional": 1}),
            json!({"id": 6, "occasional": 1}),
        ];
        let err = both(&snapshot(two_bad_agents, role_without_name.clone(), Vec::new())).expect_err("bad");
        assert_eq!(err, "agent 5: field `occasional`: not true or false");
        let err = both(&snapshot(vec![json!({"id": 5})], role_without_name, Vec::new())).expect_err("bad");
        assert_eq!(err, "role 1: field `name`: missing or not a string");
        let err = both(&snapshot(
            Vec::new(),
            Vec::new(),
            vec![json!({"name": "G"}), json!({"id": 2})],
        ))
        .expect_err("bad");
        assert_eq!(err, "group ?: field `id`: missing or not an integer");
    }

    #[test]
    fn duplicate_ids_are_refused_not_counted_twice() {
        let agents = vec![json!({"id": 7}), json!({"id": 8}), json!({"id": "7"})];
        let err = both(&snapshot(agents, Vec::new(), Vec::new())).expect_err("duplicate agent");
        assert!(
            err.starts_with("agent 7 appears more than once (entries 1 and 3)"),
            "{err}"
        );
        let roles = vec![json!({"id": 1, "name": "A"}), json!({"id": 1, "name": "B"})];
        let err = both(&snapshot(Vec::new(), roles, Vec::new())).expect_err("duplicate role");
        assert!(
            err.starts_with("role 1 appears more than once (entries 1 and 2)"),
            "{err}"
        );
        let groups = vec![json!({"id": 3, "name": "A"}), json!({"id": 3, "name": "A"})];
        let err = both(&snapshot(Vec::new(), Vec::new(), groups)).expect_err("duplicate group");
        assert!(err.starts_with("group 3 appears more than once"), "{err}");
    }

    #[test]
    fn an_object_the_document_accepts_but_a_value_does_not() {
        // serde_json skips a lone surrogate in a raw value, but not in a `Value`.
        let text = format!(
            r#"{{"schema_version": {SCHEMA_VERSION}, "meta": {}, "agents": [{{"id": 1}}], "roles": [],
                "groups": [{{"id": 2, "name": "G", "description": "\ud800"}}]}}"#,
            serde_json::to_string(&SnapshotMeta::default()).expect("json")
        );
        let lean = LeanSnapshot::from_slice("snap.json", text.as_bytes()).expect("the document is valid");
        let err = Directory::from_lean(&lean)
            .expect_err("the group is not")
            .to_string();
        assert!(
            err.starts_with("object ?: field `json`: unexpected end of hex escape"),
            "{err}"
        );
    }
}
