//! Typed policy entries beyond thresholds: role mapping, exceptions, bounds.

use jiff::Timestamp;
use serde::Serialize;

use super::RoleRef;
use crate::model::TicketScope;

/// What people of one IdP department or group may hold in Freshdesk (`role-drift`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoleMapping {
    /// IdP department this entry applies to (case-insensitive), if any.
    pub department: Option<String>,
    /// IdP group this entry applies to (case-insensitive), if any.
    pub group: Option<String>,
    /// Roles people matching this entry may hold.
    pub roles: Vec<RoleRef>,
    /// Groups (by name) they may belong to; empty means any.
    pub groups: Vec<String>,
    /// The broadest ticket scope they may have; `None` means any.
    pub max_ticket_scope: Option<TicketScope>,
}

/// Who an exception is for: an agent's email (lower-cased) or id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AgentRef {
    Email(String),
    Id(u64),
}

/// An accepted risk: suppresses one rule's finding for one agent until it expires.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Exception {
    pub rule: String,
    pub agent: AgentRef,
    pub justification: String,
    pub approver: String,
    /// End of validity (a date means the end of that day, UTC).
    pub expires: Timestamp,
}

/// How many active holders of privileged roles the organisation expects.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AdminCount {
    pub min: Option<u32>,
    pub max: Option<u32>,
}
