//! `decisions.json`: what the reviewers decided for each agent, recorded in
//! the run by `review import` and checked by the next period's `diff`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum DecisionKind {
    /// Access stays as it is.
    Keep,
    /// Access is to be removed (deactivate or delete the agent).
    Revoke,
    /// Access is to be reduced (a role or group removed).
    Modify,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Keep => "keep",
            DecisionKind::Revoke => "revoke",
            DecisionKind::Modify => "modify",
        }
    }
}

/// The workbook the decisions were imported from.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct WorkbookRef {
    pub path: String,
    pub sha256: String,
}

/// One reviewer's decision about one agent.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Decision {
    pub agent_id: u64,
    pub agent_email: String,
    pub decision: DecisionKind,
    pub reviewer: String,
    pub justification: String,
    /// The findings the reviewer saw on the row (finding ids).
    #[serde(default)]
    pub finding_ids: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Decisions {
    pub schema_version: u32,
    pub imported_at: jiff::Timestamp,
    pub workbook: WorkbookRef,
    /// The audit the decisions were made on; absent in files written
    /// before it was recorded (those are checked by their finding ids).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunBinding>,
    pub decisions: Vec<Decision>,
}

/// Ties decisions (or anything else recorded later in a run directory) to
/// the one audit they were made on.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct RunBinding {
    /// SHA-256 of the run's findings.json when the decisions were recorded.
    pub findings_sha256: String,
    /// SHA-256 of the snapshot file the audit read.
    pub snapshot_sha256: String,
}
