//! An agent's access as remediation compares it: status, roles, groups and
//! ticket scope, read from a snapshot object or from `GET /agents/{id}`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{Agent, AgentStatus, ModelError};

/// What the review saw, or what a read shows now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentState {
    pub status: Status,
    /// Sorted.
    pub role_ids: Vec<u64>,
    /// Sorted.
    pub group_ids: Vec<u64>,
    /// The API's code: 1 Global, 2 Group, 3 Restricted.
    pub ticket_scope: Option<u8>,
    /// As the API gave it (the snapshot's, or the read's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

/// [`AgentStatus`] as plan and journal files spell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Pending,
    Deactivated,
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

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Pending => "pending",
            Status::Deactivated => "deactivated",
        }
    }
}

impl AgentState {
    /// From a typed agent and its raw object (for `updated_at`, which the
    /// model does not keep).
    pub fn of(agent: &Agent, raw: &Value) -> AgentState {
        let mut role_ids = agent.role_ids.clone();
        role_ids.sort_unstable();
        role_ids.dedup();
        let mut group_ids = agent.group_ids.clone();
        group_ids.sort_unstable();
        group_ids.dedup();
        AgentState {
            status: agent.status.into(),
            role_ids,
            group_ids,
            ticket_scope: agent.ticket_scope.map(scope_code),
            updated_at: raw
                .get("updated_at")
                .and_then(Value::as_str)
                .and_then(|t| crate::model::time::parse_timestamp(t).ok().flatten()),
        }
    }

    /// From `GET /api/v2/agents/{id}`'s body, read as the collector's objects are.
    pub fn from_api(raw: &Value) -> Result<AgentState, ModelError> {
        Ok(AgentState::of(&Agent::from_json(raw)?, raw))
    }

    /// The same access: status, roles, groups and scope (not `updated_at`).
    pub fn same_access(&self, other: &AgentState) -> bool {
        self.status == other.status
            && self.role_ids == other.role_ids
            && self.group_ids == other.group_ids
            && self.ticket_scope == other.ticket_scope
    }

    /// `changes` applied.
    pub fn with(&self, changes: &Changes) -> AgentState {
        AgentState {
            role_ids: changes.role_ids.clone().unwrap_or_else(|| self.role_ids.clone()),
            group_ids: changes
                .group_ids
                .clone()
                .unwrap_or_else(|| self.group_ids.clone()),
            ticket_scope: changes.ticket_scope.or(self.ticket_scope),
            ..self.clone()
        }
    }
}

/// `TicketScope` as the API's integer.
pub fn scope_code(scope: crate::model::TicketScope) -> u8 {
    match scope {
        crate::model::TicketScope::Global => 1,
        crate::model::TicketScope::Group => 2,
        crate::model::TicketScope::Restricted => 3,
    }
}

/// The fields an update changes; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_ids: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_ids: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_scope: Option<u8>,
}

/// A reviewer's target, by id (the names beside them are for people).
impl From<&crate::rundir::Target> for Changes {
    fn from(target: &crate::rundir::Target) -> Changes {
        Changes {
            role_ids: target.role_ids.clone(),
            group_ids: target.group_ids.clone(),
            ticket_scope: target.ticket_scope,
        }
    }
}

impl Changes {
    /// Only the fields of `wanted` that differ from `state` (sorted lists).
    pub fn needed(state: &AgentState, wanted: &Changes) -> Changes {
        let sorted = |ids: &Vec<u64>| {
            let mut ids = ids.clone();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        Changes {
            role_ids: wanted
                .role_ids
                .as_ref()
                .map(sorted)
                .filter(|ids| *ids != state.role_ids),
            group_ids: wanted
                .group_ids
                .as_ref()
                .map(sorted)
                .filter(|ids| *ids != state.group_ids),
            ticket_scope: wanted.ticket_scope.filter(|s| Some(*s) != state.ticket_scope),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.role_ids.is_none() && self.group_ids.is_none() && self.ticket_scope.is_none()
    }

    /// Whether `state` has every changed field at its target.
    pub fn reached_by(&self, state: &AgentState) -> bool {
        self.role_ids.as_ref().is_none_or(|ids| *ids == state.role_ids)
            && self.group_ids.as_ref().is_none_or(|ids| *ids == state.group_ids)
            && self.ticket_scope.is_none_or(|s| Some(s) == state.ticket_scope)
    }

    /// The body of `PUT /api/v2/agents/{id}`.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        if let Some(ids) = &self.role_ids {
            body.insert("role_ids".into(), ids.clone().into());
        }
        if let Some(ids) = &self.group_ids {
            body.insert("group_ids".into(), ids.clone().into());
        }
        if let Some(scope) = self.ticket_scope {
            body.insert("ticket_scope".into(), scope.into());
        }
        Value::Object(body)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn state(status: Status, roles: &[u64], groups: &[u64], scope: u8) -> AgentState {
        AgentState {
            status,
            role_ids: roles.to_vec(),
            group_ids: groups.to_vec(),
            ticket_scope: Some(scope),
            updated_at: None,
        }
    }

    #[test]
    fn an_api_object_reads_as_its_access() {
        let raw = json!({"id": 7, "role_ids": [3, 1, 3], "group_ids": [20], "ticket_scope": 2,
            "updated_at": "2026-09-01T10:00:00+05:30",
            "contact": {"email": "a@x.test", "active": true, "last_login_at": "2026-09-01T00:00:00Z"}});
        let got = AgentState::from_api(&raw).expect("reads");
        assert_eq!(got.status, Status::Active);
        assert_eq!(
            (got.role_ids, got.group_ids, got.ticket_scope),
            (vec![1, 3], vec![20], Some(2))
        );
        assert_eq!(got.updated_at, Some("2026-09-01T04:30:00Z".parse().expect("ts")));
        let deactivated = json!({"id": 7, "deactivated": true, "contact": {"email": "a@x.test"}});
        assert_eq!(
            AgentState::from_api(&deactivated).expect("reads").status,
            Status::Deactivated
        );
    }

    #[test]
    fn only_the_fields_that_change_are_kept() {
        let now = state(Status::Active, &[1, 2], &[10], 1);
        let wanted = Changes {
            role_ids: Some(vec![2, 1]),
            group_ids: Some(vec![11]),
            ticket_scope: Some(2),
        };
        let needed = Changes::needed(&now, &wanted);
        assert_eq!(needed.role_ids, None, "same roles in another order");
        assert_eq!(needed.group_ids, Some(vec![11]));
        assert_eq!(needed.ticket_scope, Some(2));
        assert_eq!(needed.body(), json!({"group_ids": [11], "ticket_scope": 2}));
        assert!(!needed.reached_by(&now));
        assert!(needed.reached_by(&now.with(&needed)));
        assert!(Changes::needed(&now.with(&needed), &wanted).is_empty());
        // The same access is compared without updated_at.
        let later = AgentState {
            updated_at: Some("2026-10-01T00:00:00Z".parse().expect("ts")),
            ..now.clone()
        };
        assert!(later.same_access(&now));
    }
}
