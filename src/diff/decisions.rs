//! The reviewers' decisions of OLD (`decisions.json`) checked against NEW's
//! snapshot: was each revoke carried out, did each modify change anything.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::Serialize;

use super::side::{AccessDelta, AgentKey, Fate, Side};
use crate::model::AgentStatus;
use crate::rundir::{Decision, DecisionKind, WorkbookRef};

#[derive(Clone, Debug, Default, Serialize)]
pub struct DecisionChecks {
    /// Whether OLD's directory holds a decisions.json at all.
    pub recorded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workbook: Option<WorkbookRef>,
    /// Revokes whose agent is still active or pending in NEW: the access
    /// the reviewers decided to remove is still there.
    pub revokes_not_carried_out: Vec<DecisionCheck>,
    /// Revokes whose agent is deactivated, deleted or absent in NEW.
    pub revokes_carried_out: Vec<DecisionCheck>,
    pub modifies: Vec<DecisionCheck>,
    pub keeps: Vec<DecisionCheck>,
    /// Decisions that cannot be checked: their account was not audited by
    /// NEW, or OLD cannot tell which account the agent is in. Only where the
    /// diff compares several accounts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<DecisionCheck>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DecisionCheck {
    /// The agent's account; set only where the diff compares several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub agent_id: u64,
    pub agent_email: String,
    pub decision: DecisionKind,
    pub reviewer: String,
    pub justification: String,
    pub finding_ids: Vec<String>,
    /// The agent's status in OLD's snapshot (none if OLD's snapshot lacks it).
    pub before: Option<AgentStatus>,
    /// Where the agent is in NEW's snapshot.
    pub now: Now,
    pub outcome: Outcome,
    /// One line a reviewer can read: what was seen and why the outcome.
    pub detail: String,
    /// Roles, groups and scope between the snapshots (modify decisions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessDelta>,
    /// For a revoke carried out: by which evidence, and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carried_out: Option<CarriedOut>,
}

/// How a revoke is known to be carried out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CarriedOut {
    /// `remediation`: OLD's `remediation.json` (deskaudit wrote it and read
    /// it back); `snapshot`: NEW's snapshot shows the agent's access gone.
    pub by: &'static str,
    /// The verifying read, or NEW's collection.
    pub at: Timestamp,
}

/// The agent in NEW's snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Now {
    Active,
    Pending,
    Deactivated,
    /// Held as a contact: deleted since OLD.
    Deleted,
    /// Not in NEW's snapshot, not even as a contact.
    Absent,
    /// In an account NEW did not audit (or OLD cannot say which account).
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    CarriedOut,
    NotCarriedOut,
    Changed,
    Unchanged,
    /// A modify for an agent OLD's snapshot does not hold: nothing to compare.
    Unknown,
    Kept,
}

/// `several`: the sides are labelled with accounts; `one_sided`: the
/// accounts only one side audited.
pub fn check(old: &Side, new: &Side, several: bool, one_sided: &BTreeSet<String>) -> DecisionChecks {
    let Some(decisions) = &old.decisions else {
        return DecisionChecks::default();
    };
    let mut checks = DecisionChecks {
        recorded: true,
        imported_at: Some(decisions.imported_at),
        workbook: Some(decisions.workbook.clone()),
        ..DecisionChecks::default()
    };
    let mut sorted: Vec<&Decision> = decisions.decisions.iter().collect();
    sorted.sort_by_key(|d| d.agent_id);
    for d in sorted {
        let c = match account_of(d, old, several) {
            Ok(account) if one_sided.contains(&account) => unchecked(
                d,
                Some(account.clone()),
                format!("NEW did not audit account {account}: cannot be checked"),
            ),
            Ok(account) => check_one(d, &AgentKey::new(&account, d.agent_id), old, new),
            Err(why) => unchecked(d, None, why),
        };
        if c.now == Now::Unknown {
            checks.unchecked.push(c);
            continue;
        }
        match (d.decision, c.outcome) {
            (DecisionKind::Revoke, Outcome::NotCarriedOut) => checks.revokes_not_carried_out.push(c),
            (DecisionKind::Revoke, _) => checks.revokes_carried_out.push(c),
            (DecisionKind::Modify, _) => checks.modifies.push(c),
            (DecisionKind::Keep, _) => checks.keeps.push(c),
        }
    }
    checks
}

/// The account of the agent a decision is about: the one the decision
/// records, else (decisions.json from before decisions named it) the
/// account of a finding it cites, else the only account of OLD holding an
/// agent with its id. "" for a diff of one account.
fn account_of(d: &Decision, old: &Side, several: bool) -> Result<String, String> {
    if !several {
        return Ok(String::new());
    }
    if let Some(account) = d.account.as_deref().filter(|a| !a.is_empty()) {
        return Ok(account.to_owned());
    }
    let cited = old
        .findings
        .iter()
        .chain(&old.suppressed)
        .find(|f| f.agent_id == d.agent_id && d.finding_ids.contains(&f.finding_id));
    if let Some(f) = cited {
        return Ok(old.account_of(f));
    }
    let holding: Vec<&str> = old
        .population
        .agents
        .keys()
        .filter(|k| k.id == d.agent_id)
        .map(|k| k.account.as_str())
        .collect();
    match holding.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(format!("agent {} is in none of OLD's accounts", d.agent_id)),
        several => Err(format!(
            "agent id {} is in several of OLD's accounts ({}) and the decision cites no finding: cannot tell which",
            d.agent_id,
            several.join(", ")
        )),
    }
}

/// A decision the diff cannot check against NEW, and why.
fn unchecked(d: &Decision, account: Option<String>, detail: String) -> DecisionCheck {
    DecisionCheck {
        account,
        agent_id: d.agent_id,
        agent_email: d.agent_email.clone(),
        decision: d.decision,
        reviewer: d.reviewer.clone(),
        justification: d.justification.clone(),
        finding_ids: d.finding_ids.clone(),
        before: None,
        now: Now::Unknown,
        outcome: Outcome::Unknown,
        detail,
        access: None,
        carried_out: None,
    }
}

fn check_one(d: &Decision, key: &AgentKey, old: &Side, new: &Side) -> DecisionCheck {
    let before = old.population.agents.get(key);
    let fate = new.population.fate(key, before);
    let now = match fate {
        Fate::Present(a) => match a.status {
            AgentStatus::Active => Now::Active,
            AgentStatus::Pending => Now::Pending,
            AgentStatus::Deactivated => Now::Deactivated,
        },
        Fate::Deleted(..) => Now::Deleted,
        Fate::Missing => Now::Absent,
    };
    let gone = match fate {
        Fate::Present(a) if a.status == AgentStatus::Deactivated => Some("deactivated".to_owned()),
        Fate::Present(_) => None,
        Fate::Deleted(c, _) => Some(format!("deleted (now contact {})", c.id)),
        Fate::Missing => Some(
            "absent from NEW's snapshot and not found as a contact (removal cannot be confirmed)".to_owned(),
        ),
    };
    let mut access = None;
    let mut carried_out = None;
    let remediated = remediated(old, key);
    let (outcome, detail) = match d.decision {
        DecisionKind::Revoke => match (gone, remediated) {
            (Some(how), Some(at)) => {
                carried_out = Some(CarriedOut {
                    by: "remediation",
                    at,
                });
                (
                    Outcome::CarriedOut,
                    format!("{how}; verified by `remediate apply` at {at}"),
                )
            }
            (Some(how), None) => {
                carried_out = Some(CarriedOut {
                    by: "snapshot",
                    at: new.collected_at,
                });
                (Outcome::CarriedOut, format!("{how} in NEW's snapshot"))
            }
            (None, remediated) => (
                Outcome::NotCarriedOut,
                match remediated {
                    Some(at) => format!(
                        "still {} in NEW's snapshot, although `remediate apply` verified it removed at {at}: restored since",
                        now_str(now)
                    ),
                    None => format!("still {} in NEW's snapshot", now_str(now)),
                },
            ),
        },
        DecisionKind::Modify => match (before, fate) {
            (None, _) => (
                Outcome::Unknown,
                "not in OLD's snapshot: nothing to compare against".to_owned(),
            ),
            // Deactivating or deleting removes more access than the modify asked for.
            (Some(_), Fate::Deleted(..) | Fate::Missing) => (Outcome::Changed, gone.unwrap_or_default()),
            (Some(b), Fate::Present(a)) => {
                let delta = AccessDelta::between(b, a);
                let result = match (&gone, delta.is_empty()) {
                    (Some(how), true) => (Outcome::Changed, how.clone()),
                    (Some(how), false) => (Outcome::Changed, format!("{how}; {}", delta.describe())),
                    (None, false) => (Outcome::Changed, delta.describe()),
                    (None, true) => (
                        Outcome::Unchanged,
                        "roles, groups and ticket scope are the same as in OLD".to_owned(),
                    ),
                };
                access = Some(delta);
                result
            }
        },
        DecisionKind::Keep => (Outcome::Kept, format!("{} in NEW's snapshot", now_str(now))),
    };
    let account = (!key.account.is_empty()).then(|| key.account.clone());
    DecisionCheck {
        before: before.map(|b| b.status),
        now,
        outcome,
        access,
        carried_out,
        ..unchecked(d, account, detail)
    }
}

/// When OLD's own remediation verified the agent's access removed (done or
/// already done, by its read-back).
fn remediated(old: &Side, key: &AgentKey) -> Option<Timestamp> {
    use crate::remediate::Outcome as Done;
    let remediation = old.remediation.as_ref()?;
    // A remediation applies to one account: another account's agent of the same id is not it.
    if !key.account.is_empty() && remediation.domain != key.account {
        return None;
    }
    remediation
        .actions
        .iter()
        .find(|a| a.agent_id == key.id && matches!(a.outcome, Done::Done | Done::AlreadyDone))
        .and_then(|a| a.at)
}

pub fn now_str(now: Now) -> &'static str {
    match now {
        Now::Active => "active",
        Now::Pending => "pending",
        Now::Deactivated => "deactivated",
        Now::Deleted => "deleted",
        Now::Absent => "absent",
        Now::Unknown => "unknown",
    }
}
