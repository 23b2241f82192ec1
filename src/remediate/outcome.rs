//! `remediation.json`, beside the plan: what `apply` did, action by action,
//! and how each result is known. A versioned document (`schema_version` 1),
//! described in docs/remediation.md and checked by docs/remediation.schema.json.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::plan::ActionKind;
use super::state::AgentState;
use crate::rundir::DecisionKind;

pub const OUTCOME_JSON: &str = "remediation.json";
pub const SCHEMA_VERSION: u32 = 1;

/// How one action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Written (by this run or, after a lost answer, an earlier one) and
    /// read back in its target state; or, where no read can tell, answered 2xx.
    Done,
    /// Already in its target state when read: nothing written.
    AlreadyDone,
    /// Its access changed since the review: nothing written.
    Drifted,
    /// Not carried out: the last privileged holder, or the API key's own agent.
    Blocked,
    /// Written and refused, or not verified: see the reason.
    Failed,
    NothingToDo,
    Manual,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Done,
        Outcome::AlreadyDone,
        Outcome::Drifted,
        Outcome::Blocked,
        Outcome::Failed,
        Outcome::NothingToDo,
        Outcome::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::AlreadyDone => "already-done",
            Outcome::Drifted => "drifted",
            Outcome::Blocked => "blocked",
            Outcome::Failed => "failed",
            Outcome::NothingToDo => "nothing-to-do",
            Outcome::Manual => "manual",
        }
    }

    /// Settled for good: a re-run leaves it alone and sends nothing for it.
    /// (Drifted, blocked and failed actions are looked at again: a re-run
    /// reads first, so that is safe.)
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Outcome::Done | Outcome::AlreadyDone | Outcome::NothingToDo | Outcome::Manual
        )
    }
}

/// One action's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionOutcome {
    pub seq: u32,
    /// The action's account, in a plan of several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub agent_id: u64,
    pub agent_email: String,
    pub decision: DecisionKind,
    pub action: ActionKind,
    pub outcome: Outcome,
    /// A read after the write showed the target state (false where the
    /// write's 2xx answer is the only evidence, or nothing was written).
    pub verified: bool,
    /// When the outcome was established (the verifying read, for `done`).
    pub at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The agent as last read (`null`: HTTP 404, no such agent; absent for
    /// actions that needed no read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_back: Option<Option<AgentState>>,
    /// Writes sent for it, all runs of `apply` together.
    pub writes: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Remediation {
    pub schema_version: u32,
    pub plan_id: String,
    pub domain: String,
    pub approver: String,
    /// The id of the agent whose API key applied the plan (of `domain`).
    pub key_owner: u64,
    /// With several accounts: each account's key owner (an account whose
    /// key could not be used is absent).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub key_owners: BTreeMap<String, u64>,
    /// The first `apply` of this plan.
    pub started_at: Timestamp,
    /// The run that completed it.
    pub finished_at: Timestamp,
    pub actions: Vec<ActionOutcome>,
    /// Actions by outcome, every outcome listed.
    pub summary: BTreeMap<String, u64>,
}

impl Remediation {
    pub fn summarise(actions: &[ActionOutcome]) -> BTreeMap<String, u64> {
        let mut summary: BTreeMap<String, u64> =
            Outcome::ALL.iter().map(|o| (o.as_str().to_owned(), 0)).collect();
        for a in actions {
            *summary.entry(a.outcome.as_str().to_owned()).or_default() += 1;
        }
        summary
    }

    /// Exit 0 when every action settled well, 1 when any drifted, was
    /// blocked or failed.
    pub fn exit_code(&self) -> u8 {
        u8::from(
            self.actions
                .iter()
                .any(|a| matches!(a.outcome, Outcome::Drifted | Outcome::Blocked | Outcome::Failed)),
        )
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}
