//! The population between two snapshots: agents added, removed (deleted or
//! missing), and changes of status or access for agents in both.

use std::collections::BTreeSet;

use serde::Serialize;

use super::side::{AccessDelta, AgentState, Fate, MatchedBy, Population};
use crate::model::AgentStatus;

#[derive(Clone, Debug, Default, Serialize)]
pub struct AgentChanges {
    /// In NEW's snapshot, not in OLD's.
    pub added: Vec<AgentSummary>,
    /// In OLD's snapshot, not among NEW's agents (as OLD saw them).
    pub removed: Vec<RemovedAgent>,
    pub status_changed: Vec<StatusChange>,
    /// Roles, groups or ticket scope differ (compared by id).
    pub access_changed: Vec<AccessChange>,
}

/// One agent as one snapshot describes it.
#[derive(Clone, Debug, Serialize)]
pub struct AgentSummary {
    /// The agent's account; set only where the diff compares several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub agent_id: u64,
    pub agent_email: String,
    pub agent_name: String,
    pub status: AgentStatus,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    pub ticket_scope: String,
}

impl AgentSummary {
    pub fn of(a: &AgentState) -> AgentSummary {
        AgentSummary {
            account: label(a),
            agent_id: a.id,
            agent_email: a.email.clone(),
            agent_name: a.name.clone(),
            status: a.status,
            roles: a.roles.values().cloned().collect(),
            groups: a.groups.values().cloned().collect(),
            ticket_scope: a.ticket_scope.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RemovedAgent {
    #[serde(flatten)]
    pub agent: AgentSummary,
    pub reason: RemovalReason,
    /// The contact the deleted agent became, and how it was matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<MatchedBy>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RemovalReason {
    /// NEW's snapshot holds the agent as a contact: Freshdesk demotes a deleted agent.
    Deleted,
    /// Nowhere in NEW's snapshot: either NEW was collected without
    /// `--previous` or its population is incomplete.
    Missing,
}

#[derive(Clone, Debug, Serialize)]
pub struct StatusChange {
    /// The agent's account; set only where the diff compares several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub agent_id: u64,
    pub agent_email: String,
    pub agent_name: String,
    pub before: AgentStatus,
    pub after: AgentStatus,
}

#[derive(Clone, Debug, Serialize)]
pub struct AccessChange {
    /// The agent's account; set only where the diff compares several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub agent_id: u64,
    pub agent_email: String,
    pub agent_name: String,
    /// NEW's status.
    pub status: AgentStatus,
    #[serde(flatten)]
    pub delta: AccessDelta,
}

/// The account label of an agent: none when the diff compares one account.
pub fn label(a: &AgentState) -> Option<String> {
    (!a.account.is_empty()).then(|| a.account.clone())
}

/// Agents of an account audited on one side only (`one_sided`) are not
/// compared: the account as a whole is reported added or removed instead.
pub fn compare(old: &Population, new: &Population, one_sided: &BTreeSet<String>) -> AgentChanges {
    let mut changes = AgentChanges::default();
    let compared = |a: &AgentState| !one_sided.contains(&a.account);
    for (key, a) in &new.agents {
        if compared(a) && !old.agents.contains_key(key) {
            changes.added.push(AgentSummary::of(a));
        }
    }
    for (key, before) in old.agents.iter().filter(|(_, a)| compared(a)) {
        let id = &key.id;
        let after = match new.fate(key, Some(before)) {
            Fate::Present(after) => after,
            Fate::Deleted(contact, how) => {
                changes.removed.push(RemovedAgent {
                    agent: AgentSummary::of(before),
                    reason: RemovalReason::Deleted,
                    contact_id: Some(contact.id),
                    matched_by: Some(how),
                });
                continue;
            }
            Fate::Missing => {
                changes.removed.push(RemovedAgent {
                    agent: AgentSummary::of(before),
                    reason: RemovalReason::Missing,
                    contact_id: None,
                    matched_by: None,
                });
                continue;
            }
        };
        if before.status != after.status {
            changes.status_changed.push(StatusChange {
                account: label(after),
                agent_id: *id,
                agent_email: after.email.clone(),
                agent_name: after.name.clone(),
                before: before.status,
                after: after.status,
            });
        }
        let delta = AccessDelta::between(before, after);
        if !delta.is_empty() {
            changes.access_changed.push(AccessChange {
                account: label(after),
                agent_id: *id,
                agent_email: after.email.clone(),
                agent_name: after.name.clone(),
                status: after.status,
                delta,
            });
        }
    }
    changes
}
