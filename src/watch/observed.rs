//! What one complete poll saw, cut down to what the events compare: each
//! agent's access (status, roles, groups, ticket scope, email), the roles
//! and groups by id, the open findings when the rules ran, and the agents
//! earlier polls saw deleted.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::{Agent, AgentStatus, Directory, ModelError, Snapshot};

/// An agent's status as watch reports it: the contract's three, and
/// `deleted` for an agent gone from the account (a documented `DELETE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Pending,
    Deactivated,
    Deleted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Pending => "pending",
            Status::Deactivated => "deactivated",
            Status::Deleted => "deleted",
        }
    }
}

impl From<AgentStatus> for Status {
    fn from(status: AgentStatus) -> Status {
        match status {
            AgentStatus::Active => Status::Active,
            AgentStatus::Pending => Status::Pending,
            AgentStatus::Deactivated => Status::Deactivated,
        }
    }
}

/// A role or group: its id, and its name as the same poll saw it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Named {
    pub id: u64,
    pub name: String,
}

/// One agent's access as one poll saw it (an event's `before` or `after`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentView {
    pub id: u64,
    pub status: Status,
    /// As Freshdesk gives it (the identity key is this, trimmed and lower-cased).
    pub email: Option<String>,
    pub name: String,
    /// Sorted by id, each id once.
    pub roles: Vec<Named>,
    pub groups: Vec<Named>,
    /// `Global`, `Group` or `Restricted`.
    pub ticket_scope: Option<String>,
    pub occasional: bool,
    #[serde(rename = "type")]
    pub agent_type: Option<String>,
}

impl AgentView {
    fn new(agent: &Agent, directory: &Directory) -> AgentView {
        let named = |ids: &[u64], name: &dyn Fn(u64) -> String| {
            let mut ids = ids.to_vec();
            ids.sort_unstable();
            ids.dedup();
            ids.into_iter().map(|id| Named { id, name: name(id) }).collect()
        };
        AgentView {
            id: agent.id,
            status: agent.status.into(),
            email: agent.email.clone(),
            name: agent.name.clone(),
            roles: named(&agent.role_ids, &|id| directory.role_name(agent.in_account(id))),
            groups: named(&agent.group_ids, &|id| directory.group_name(agent.in_account(id))),
            ticket_scope: agent.ticket_scope.map(|s| s.as_str().to_owned()),
            occasional: agent.occasional,
            agent_type: agent.agent_type.clone(),
        }
    }

    /// The identity key: the email trimmed and lower-cased (a change of case
    /// alone is no change of identity).
    pub fn key(&self) -> Option<String> {
        self.email.as_deref().map(|e| e.trim().to_lowercase())
    }

    pub fn role_ids(&self) -> Vec<u64> {
        self.roles.iter().map(|r| r.id).collect()
    }

    pub fn group_ids(&self) -> Vec<u64> {
        self.groups.iter().map(|g| g.id).collect()
    }

    /// Whether the agent can use, or start using, the account.
    pub fn holds_access(&self) -> bool {
        matches!(self.status, Status::Active | Status::Pending)
    }
}

/// An open finding as one poll's rules found it (`finding_id` as in findings.csv).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingView {
    pub finding_id: String,
    pub rule: String,
    pub severity: String,
    pub agent_id: u64,
    pub agent_email: Option<String>,
    pub detail: String,
}

/// One complete poll, reduced.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    pub domain: String,
    /// The collection's start: every object was read at or after it.
    pub started_at: Timestamp,
    /// The collection's finish (`collected_at`): every object was read at or before it.
    pub collected_at: Timestamp,
    /// The snapshot's `meta.data_sha256`.
    pub snapshot_sha256: String,
    pub agents: BTreeMap<u64, AgentView>,
    pub roles: BTreeMap<u64, String>,
    pub groups: BTreeMap<u64, String>,
    /// `None` when the rules did not run (no `--idp`).
    pub findings: Option<BTreeMap<String, FindingView>>,
    /// Agents an earlier poll saw deleted, as last seen: one that comes
    /// back is reactivated, not created.
    pub deleted: BTreeMap<u64, AgentView>,
}

impl Observed {
    /// The poll a complete snapshot records (no findings, nothing deleted yet).
    pub fn from_snapshot(snapshot: &Snapshot) -> Result<Observed, ModelError> {
        let directory = Directory::from_snapshot(snapshot)?;
        let agents = directory
            .agents
            .iter()
            .map(|a| (a.id, AgentView::new(a, &directory)))
            .collect();
        Ok(Observed {
            domain: snapshot.meta.domain.clone(),
            started_at: snapshot.meta.started_at,
            collected_at: snapshot.meta.collected_at,
            snapshot_sha256: snapshot.meta.data_sha256.clone(),
            agents,
            roles: directory.roles.values().map(|r| (r.id, r.name.clone())).collect(),
            groups: directory
                .groups
                .values()
                .map(|g| (g.id, g.name.clone()))
                .collect(),
            findings: None,
            deleted: BTreeMap::new(),
        })
    }

    /// The same poll with the rules' findings (`None`: the rules did not run).
    pub fn with_findings(mut self, findings: Option<Vec<FindingView>>) -> Observed {
        self.findings = findings.map(|all| all.into_iter().map(|f| (f.finding_id.clone(), f)).collect());
        self
    }

    /// Agents by status, for the baseline: (active, pending, deactivated).
    pub fn population(&self) -> (u64, u64, u64) {
        self.agents
            .values()
            .fold((0, 0, 0), |(a, p, d), agent| match agent.status {
                Status::Active => (a + 1, p, d),
                Status::Pending => (a, p + 1, d),
                Status::Deactivated | Status::Deleted => (a, p, d + 1),
            })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::snapshot::{SCHEMA_VERSION, SnapshotMeta};

    /// A sealed snapshot of `agents` with two roles and two groups.
    pub(crate) fn snapshot(agents: Vec<Value>, at: &str) -> Snapshot {
        let at: Timestamp = at.parse().expect("timestamp");
        let mut snapshot = Snapshot {
            schema_version: SCHEMA_VERSION,
            meta: SnapshotMeta {
                domain: "acme".into(),
                started_at: at - jiff::SignedDuration::from_mins(5),
                collected_at: at,
                ..SnapshotMeta::default()
            },
            agents,
            roles: vec![
                json!({"id": 10, "name": "Administrator"}),
                json!({"id": 11, "name": "Agent"}),
            ],
            groups: vec![
                json!({"id": 20, "name": "Tier 1"}),
                json!({"id": 21, "name": "Tier 2"}),
            ],
            contacts: Vec::new(),
        };
        snapshot.seal();
        snapshot
    }

    #[test]
    fn an_agent_is_reduced_to_its_access_with_names_from_the_same_poll() {
        let agent = json!({"id": 7, "role_ids": [11, 10, 11, 99], "group_ids": [21],
            "ticket_scope": 1, "occasional": true, "type": "support_agent",
            "contact": {"email": "Kim@Acme.test", "name": "Kim", "active": false, "last_login_at": "2026-01-01T00:00:00Z"}});
        let observed =
            Observed::from_snapshot(&snapshot(vec![agent], "2026-06-01T00:00:00Z")).expect("valid");
        let view = &observed.agents[&7];
        assert_eq!(view.status, Status::Deactivated);
        assert_eq!(view.key().as_deref(), Some("kim@acme.test"));
        assert_eq!(view.role_ids(), [10, 11, 99]);
        assert_eq!(view.roles[2].name, "#99", "a role the snapshot does not describe");
        assert_eq!(
            view.groups,
            [Named {
                id: 21,
                name: "Tier 2".into()
            }]
        );
        assert_eq!(view.ticket_scope.as_deref(), Some("Global"));
        assert_eq!(observed.population(), (0, 0, 1));
        assert_eq!(
            observed.started_at,
            "2026-05-31T23:55:00Z".parse::<Timestamp>().expect("ts")
        );
        let text = serde_json::to_value(view).expect("json");
        assert_eq!(text["status"], "deactivated");
        assert_eq!(text["type"], "support_agent");
        let back: AgentView = serde_json::from_value(text).expect("reads back");
        assert_eq!(&back, view);
    }
}
