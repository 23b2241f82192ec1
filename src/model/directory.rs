//! The typed population: agents, roles and groups from one snapshot.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use rayon::prelude::*;
use serde_json::Value;
use serde_json::value::RawValue;

use super::agent::{Agent, as_u64};
use super::snapshot::{LeanSnapshot, Snapshot};

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{file}:{line}:{column}: {reason}")]
    Parse {
        file: String,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("{kind} {id}: field `{field}`: {reason}")]
    Field {
        kind: &'static str,
        id: String,
        field: String,
        reason: String,
    },
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

impl ModelError {
    pub(crate) fn field(kind: &'static str, id: &str, field: &str, reason: &str) -> ModelError {
        ModelError::Field {
            kind,
            id: id.to_owned(),
            field: field.to_owned(),
            reason: reason.to_owned(),
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> ModelError {
        ModelError::Io {
            file: path.display().to_string(),
            source,
        }
    }
}

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

/// Agents in snapshot order, roles and groups by id.
#[derive(Clone, Debug)]
pub struct Directory {
    pub agents: Vec<Agent>,
    pub roles: BTreeMap<u64, Role>,
    pub groups: BTreeMap<u64, Group>,
    pub collected_at: Timestamp,
}

impl Directory {
    pub fn from_snapshot(snapshot: &Snapshot) -> Result<Directory, ModelError> {
        let groups_of = groups_of(snapshot.groups.iter());
        let agents = snapshot
            .agents
            .par_iter()
            .map(|raw| agent(raw, &groups_of))
            .collect::<Result<Vec<_>, ModelError>>()?;
        Directory::assemble(
            agents,
            &snapshot.roles,
            &snapshot.groups,
            snapshot.meta.collected_at,
        )
    }

    /// As [`Directory::from_snapshot`], parsing each object from its slice of the file.
    pub fn from_lean(snapshot: &LeanSnapshot) -> Result<Directory, ModelError> {
        let parse = |raw: &&RawValue| {
            serde_json::from_str::<Value>(raw.get())
                .map_err(|e| ModelError::field("object", "?", "json", &e.to_string()))
        };
        let roles = snapshot.roles.iter().map(parse).collect::<Result<Vec<_>, _>>()?;
        let groups = snapshot.groups.iter().map(parse).collect::<Result<Vec<_>, _>>()?;
        let groups_of = groups_of(groups.iter());
        let agents = snapshot
            .agents
            .par_iter()
            .map(|raw| {
                let slim = Agent::slim_json(raw.get())
                    .map_err(|e| ModelError::field("agent", "?", "json", &e.to_string()))?;
                agent(&slim, &groups_of)
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Directory::assemble(agents, &roles, &groups, snapshot.meta.collected_at)
    }

    fn assemble(
        agents: Vec<Agent>,
        roles: &[Value],
        groups: &[Value],
        collected_at: Timestamp,
    ) -> Result<Directory, ModelError> {
        let roles = roles
            .iter()
            .map(|raw| {
                let (id, name) = id_and_name("role", raw)?;
                let default = raw.get("default").and_then(Value::as_bool).unwrap_or(false);
                Ok((id, Role { id, name, default }))
            })
            .collect::<Result<_, ModelError>>()?;
        let groups = groups
            .iter()
            .map(|raw| {
                let (id, name) = id_and_name("group", raw)?;
                Ok((id, Group { id, name }))
            })
            .collect::<Result<_, ModelError>>()?;
        Ok(Directory {
            agents,
            roles,
            groups,
            collected_at,
        })
    }

    /// Role names, or `#id` for a role the snapshot does not describe.
    pub fn role_name(&self, id: u64) -> String {
        self.roles
            .get(&id)
            .map_or_else(|| format!("#{id}"), |r| r.name.clone())
    }

    pub fn group_name(&self, id: u64) -> String {
        self.groups
            .get(&id)
            .map_or_else(|| format!("#{id}"), |g| g.name.clone())
    }
}

/// Where an agent object has no `group_ids` (the documented list), its
/// groups are the ones whose `agent_ids` name it.
fn groups_of<'v>(groups: impl Iterator<Item = &'v Value>) -> BTreeMap<u64, Vec<u64>> {
    let mut groups_of: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for group in groups {
        let Some(gid) = group.get("id").and_then(as_u64) else {
            continue;
        };
        for member in group
            .get("agent_ids")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(aid) = as_u64(member) {
                groups_of.entry(aid).or_default().push(gid);
            }
        }
    }
    groups_of
}

fn agent(raw: &Value, groups_of: &BTreeMap<u64, Vec<u64>>) -> Result<Agent, ModelError> {
    let mut agent = Agent::from_json(raw)?;
    if raw.get("group_ids").is_none() {
        agent.group_ids = groups_of.get(&agent.id).cloned().unwrap_or_default();
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
