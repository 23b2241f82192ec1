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
    /// The agent's account (its domain): agent ids of different accounts
    /// may collide. Absent in files written before decisions named it,
    /// which were made on runs of one account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub agent_id: u64,
    pub agent_email: String,
    pub decision: DecisionKind,
    pub reviewer: String,
    pub justification: String,
    /// The findings the reviewer saw on the row (finding ids).
    #[serde(default)]
    pub finding_ids: Vec<String>,
    /// What a `modify` changes the agent's access to; absent on `keep` and
    /// `revoke`, on a `modify` the reviewer gave no target (carried out by
    /// hand), and in files written before targets existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
}

/// A `modify`'s target, resolved against the run's snapshot when imported,
/// so a later step needs neither the workbook nor the snapshot's names. Each
/// field is absent when unchanged. The ids carry the API's field names and
/// form (`role_ids`, `group_ids` sorted and without repeats; `ticket_scope`
/// 1 Global, 2 Group, 3 Restricted); the `*_names` beside them are the
/// reviewer's own words, for people and evidence only.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Target {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_ids: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_ids: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_scope: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_scope_name: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = r#"{"agent_id":7,"agent_email":"a@t.test","decision":"modify","reviewer":"r@t.test","justification":"why","finding_ids":[]}"#;

    /// A decisions.json written before targets read and write unchanged.
    #[test]
    fn a_decision_without_a_target_reads_and_writes_as_before() {
        let decision: Decision = serde_json::from_str(OLD).expect("reads");
        assert_eq!(decision.target, None);
        assert_eq!(serde_json::to_string(&decision).expect("writes"), OLD);
    }

    #[test]
    fn a_target_writes_only_the_fields_that_change() {
        for (target, json) in [
            (
                Target {
                    role_ids: Some(vec![2]),
                    role_names: Some(vec!["agent".into()]),
                    ..Target::default()
                },
                r#"{"role_ids":[2],"role_names":["agent"]}"#,
            ),
            (
                Target {
                    group_ids: Some(vec![10, 11]),
                    group_names: Some(vec!["Tier 1".into(), "Billing".into()]),
                    ticket_scope: Some(2),
                    ticket_scope_name: Some("group".into()),
                    ..Target::default()
                },
                r#"{"group_ids":[10,11],"group_names":["Tier 1","Billing"],"ticket_scope":2,"ticket_scope_name":"group"}"#,
            ),
        ] {
            let written = serde_json::to_string(&target).expect("writes");
            assert_eq!(written, json);
            assert_eq!(serde_json::from_str::<Target>(&written).expect("reads"), target);
        }
    }
}
