//! Findings matched by `finding_id` (a hash of rule and agent id, stable
//! across runs): new, resolved, accepted by an exception, persisting. Where
//! several accounts are compared, by (account, rule, agent id) instead: a
//! finding's id hashes its account only in a run of several, so the same
//! finding of a run of one account and of a run of several has two ids.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::side::{AgentKey, Fate, Side};
use crate::rules::Severity;
use crate::rundir::FindingRecord;

#[derive(Clone, Debug, Default, Serialize)]
pub struct FindingChanges {
    /// In NEW's findings, not in OLD's.
    pub new: Vec<FindingChange>,
    /// In OLD's findings, in neither NEW's findings nor NEW's suppressed ones.
    pub resolved: Vec<FindingChange>,
    /// In OLD's findings, suppressed by a policy exception in NEW: accepted, not fixed.
    pub accepted: Vec<FindingChange>,
    /// In both runs' findings.
    pub persisting: Vec<FindingChange>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FindingChange {
    pub finding_id: String,
    pub rule: String,
    /// The agent's account; set only where the diff compares several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// NEW's severity, or OLD's for a resolved finding.
    pub severity: String,
    /// OLD's severity, set only when it differs from NEW's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_severity: Option<String>,
    pub agent_id: u64,
    pub agent_email: String,
    pub agent_name: String,
    /// The agent's status in the run the record comes from.
    pub agent_status: String,
    pub detail: String,
    /// Why a finding is resolved; set on resolved findings only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// Context a reviewer needs (an exception that expired, a rule not run, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Why a finding of OLD is gone from NEW.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The agent is still there and the rule no longer fires.
    ConditionCleared,
    AgentDeactivated,
    /// Deleted since OLD: NEW's snapshot holds the agent as a contact.
    AgentDeleted,
    /// Not in NEW's snapshot at all, not even as a contact: unconfirmed.
    AgentMissing,
    /// NEW did not run the rule (disabled, or its input not given).
    RuleNotRun,
    /// NEW did not audit the agent's account at all: unconfirmed.
    AccountNotAudited,
}

impl Resolution {
    pub fn describe(self) -> &'static str {
        match self {
            Resolution::ConditionCleared => "the rule no longer fires",
            Resolution::AgentDeactivated => "agent deactivated",
            Resolution::AgentDeleted => "agent deleted (now a contact)",
            Resolution::AgentMissing => "UNCONFIRMED: agent missing from NEW's snapshot",
            Resolution::RuleNotRun => "UNCONFIRMED: NEW did not run this rule",
            Resolution::AccountNotAudited => "UNCONFIRMED: NEW did not audit this account",
        }
    }
}

/// How a finding is matched across the runs: `(finding_id, "", 0)` for one
/// account, `(account, rule, agent id)` for several.
type Key = (String, String, u64);

/// `several`: the sides are labelled with accounts; `one_sided`: the
/// accounts only one side audited.
pub fn compare(old: &Side, new: &Side, several: bool, one_sided: &BTreeSet<String>) -> FindingChanges {
    let key_of = |side: &Side, f: &FindingRecord| -> Key {
        if several {
            (side.account_of(f), f.rule.clone(), f.agent_id)
        } else {
            (f.finding_id.clone(), String::new(), 0)
        }
    };
    let account = |side: &Side, f: &FindingRecord| several.then(|| side.account_of(f));
    let by_key = |side: &Side, records: &[FindingRecord]| -> BTreeMap<Key, FindingRecord> {
        records.iter().map(|f| (key_of(side, f), f.clone())).collect()
    };
    let (old_f, old_s) = (by_key(old, &old.findings), by_key(old, &old.suppressed));
    let (new_f, new_s) = (by_key(new, &new.findings), by_key(new, &new.suppressed));
    // An empty `rules_run` means the run did not record it: assume every rule ran.
    let ran = |side: &Side, rule: &str| side.rules_run.is_empty() || side.rules_run.iter().any(|r| r == rule);

    let mut changes = FindingChanges::default();
    for (id, f) in &new_f {
        match old_f.get(id) {
            Some(before) => changes
                .persisting
                .push(change(f, account(new, f), Some(before), None, None)),
            None => {
                let note = if several && one_sided.contains(&new.account_of(f)) {
                    Some(format!("OLD did not audit account {}", new.account_of(f)))
                } else if old_s.contains_key(id) {
                    Some("suppressed by an exception in OLD: the exception expired or was removed".to_owned())
                } else if !ran(old, &f.rule) {
                    Some("OLD did not run this rule".to_owned())
                } else {
                    None
                };
                changes.new.push(change(f, account(new, f), None, None, note));
            }
        }
    }
    for (id, f) in &old_f {
        if new_f.contains_key(id) {
            continue;
        }
        if let Some(accepted) = new_s.get(id) {
            changes.accepted.push(change(
                accepted,
                account(new, accepted),
                Some(f),
                None,
                exception_note(accepted),
            ));
            continue;
        }
        let agent = AgentKey::new(if several { id.0.as_str() } else { "" }, f.agent_id);
        let resolution = if several && one_sided.contains(&agent.account) {
            Resolution::AccountNotAudited
        } else if !ran(new, &f.rule) {
            Resolution::RuleNotRun
        } else {
            let old_agent = old.population.agents.get(&agent);
            match new.population.fate(&agent, old_agent) {
                Fate::Present(a) if a.status == crate::model::AgentStatus::Deactivated => {
                    Resolution::AgentDeactivated
                }
                Fate::Present(_) => Resolution::ConditionCleared,
                Fate::Deleted(..) => Resolution::AgentDeleted,
                // A finding not about a listed agent (none in OLD either) simply cleared.
                Fate::Missing if old_agent.is_none() => Resolution::ConditionCleared,
                Fate::Missing => Resolution::AgentMissing,
            }
        };
        changes
            .resolved
            .push(change(f, account(old, f), None, Some(resolution), None));
    }
    for list in [
        &mut changes.new,
        &mut changes.resolved,
        &mut changes.accepted,
        &mut changes.persisting,
    ] {
        list.sort_by(|a, b| order(a).cmp(&order(b)));
    }
    changes
}

/// The findings files' order: severity (critical first), rule, account, agent id.
fn order(f: &FindingChange) -> (std::cmp::Reverse<Option<Severity>>, &str, Option<&str>, u64) {
    (
        std::cmp::Reverse(f.severity.parse().ok()),
        &f.rule,
        f.account.as_deref(),
        f.agent_id,
    )
}

fn change(
    f: &FindingRecord,
    account: Option<String>,
    before: Option<&FindingRecord>,
    resolution: Option<Resolution>,
    note: Option<String>,
) -> FindingChange {
    FindingChange {
        finding_id: f.finding_id.clone(),
        rule: f.rule.clone(),
        account,
        severity: f.severity.clone(),
        old_severity: before
            .filter(|b| b.severity != f.severity)
            .map(|b| b.severity.clone()),
        agent_id: f.agent_id,
        agent_email: f.agent_email.clone(),
        agent_name: f.agent_name.clone(),
        agent_status: f.agent_status.clone(),
        detail: f.detail.clone(),
        resolution,
        note,
    }
}

/// `accepted by <approver> until <expires>: <justification>`, read leniently
/// from the suppressed record's `exception` object.
fn exception_note(f: &FindingRecord) -> Option<String> {
    let exception = f.rest.get("exception")?;
    let field = |key: &str| {
        exception
            .get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("?")
    };
    Some(format!(
        "accepted by {} until {}: {}",
        field("approver"),
        field("expires"),
        field("justification")
    ))
}
