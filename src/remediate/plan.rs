//! `remediate plan`: the reviewers' decisions of one run, turned into the
//! writes that would carry them out, each with the agent's state as the
//! review saw it. A plan is data: it is read by a second person, approved by
//! its id (the SHA-256 of its content) and only then applied.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::RemediateError;
use super::state::{AgentState, Changes, Status};
use crate::model::{Directory, InAccount, Snapshot};
use crate::policy::Policy;
use crate::rundir::{DecisionKind, Decisions, RunDir};

pub const SCHEMA_VERSION: u32 = 1;
/// Where `remediate plan` writes by default, in the run directory.
pub const PLAN_JSON: &str = "remediation-plan.json";

/// What an action does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// `DELETE /api/v2/agents/{id}`.
    Deactivate,
    /// `PUT /api/v2/agents/{id}` with the fields that change.
    Update,
    /// Keep, or revoke of an agent already deactivated: nothing to write.
    NothingToDo,
    /// A modify without a target: a person must do it in Freshdesk.
    Manual,
    /// Carrying it out would leave a privileged role with no active holder.
    Blocked,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Deactivate => "deactivate",
            ActionKind::Update => "update",
            ActionKind::NothingToDo => "nothing-to-do",
            ActionKind::Manual => "manual",
            ActionKind::Blocked => "blocked",
        }
    }

    /// Whether applying it sends a write.
    pub fn writes(self) -> bool {
        matches!(self, ActionKind::Deactivate | ActionKind::Update)
    }
}

/// One decided agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// 1-based, in plan order.
    pub seq: u32,
    /// The agent's account (its domain), in a plan of several accounts;
    /// absent in a plan of one, whose `domain` says it (so such a plan, and
    /// its id, reads as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub agent_id: u64,
    pub agent_email: String,
    pub agent_name: String,
    pub decision: DecisionKind,
    pub action: ActionKind,
    /// The agent as the review saw it (the run's snapshot).
    pub before: AgentState,
    /// For `update`: the fields that change. For `deactivate`: none (the
    /// target is a deactivated agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
    pub reviewer: String,
    pub justification: String,
    /// Why an action writes nothing (`nothing-to-do`, `manual`, `blocked`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The run a plan was made from, by hash: a plan never applies another
/// run's decisions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRun {
    pub as_of: jiff::Timestamp,
    pub snapshot_sha256: String,
    pub findings_sha256: String,
    pub decisions_sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub schema_version: u32,
    /// SHA-256 of the plan's canonical content (this field empty): what the
    /// approver quotes.
    pub plan_id: String,
    /// The Freshdesk account (subdomain) the actions are for; with several,
    /// the first (as run.json's snapshot), and `accounts` lists them all.
    pub domain: String,
    /// Every account's domain, in the run's order, when there are several.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    pub run: PlanRun,
    pub actions: Vec<Action>,
}

impl Plan {
    /// The plan's id: SHA-256 of its compact JSON with `plan_id` empty.
    pub fn compute_id(&self) -> String {
        let unsigned = Plan {
            plan_id: String::new(),
            ..self.clone()
        };
        // Plain structs, strings, numbers and timestamps serialise infallibly.
        let bytes = serde_json::to_vec(&unsigned).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }

    /// Parses a plan file and checks it is whole: its id is its content's.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Plan, RemediateError> {
        let plan: Plan = serde_json::from_slice(bytes).map_err(|e| RemediateError::Parse {
            file: file.to_owned(),
            line: e.line(),
            column: e.column(),
            reason: e.to_string(),
        })?;
        if plan.schema_version != SCHEMA_VERSION {
            return Err(RemediateError::Plan {
                file: file.to_owned(),
                reason: format!(
                    "schema_version {} is not supported (this deskaudit reads {SCHEMA_VERSION})",
                    plan.schema_version
                ),
            });
        }
        let computed = plan.compute_id();
        if computed != plan.plan_id {
            return Err(RemediateError::Plan {
                file: file.to_owned(),
                reason: format!(
                    "its content no longer matches its plan_id {} (the content hashes to {computed}): it was changed after `remediate plan` wrote it. Plan again",
                    plan.plan_id
                ),
            });
        }
        Ok(plan)
    }

    /// Pretty JSON with a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    pub fn count(&self, kind: ActionKind) -> usize {
        self.actions.iter().filter(|a| a.action == kind).count()
    }

    /// The account `action` is for.
    pub fn account_of<'p>(&'p self, action: &'p Action) -> &'p str {
        action.account.as_deref().unwrap_or(&self.domain)
    }

    /// Every account the plan's actions are for, in the run's order.
    pub fn all_accounts(&self) -> Vec<&str> {
        if self.accounts.is_empty() {
            vec![self.domain.as_str()]
        } else {
            self.accounts.iter().map(String::as_str).collect()
        }
    }

    /// The plan's accounts `has` does not hold: nothing of a plan with any
    /// such may be sent (each account's actions need that account's client).
    pub fn accounts_missing(&self, has: impl Fn(&str) -> bool) -> Vec<&str> {
        self.all_accounts().into_iter().filter(|d| !has(d)).collect()
    }

    /// `plan_id` as the approver may quote it: whole, or its first 12 hex digits.
    pub fn is_approved_by(&self, quoted: &str) -> bool {
        let quoted = quoted.trim().to_ascii_lowercase();
        quoted.len() >= 12
            && quoted.bytes().all(|b| b.is_ascii_hexdigit())
            && self.plan_id.starts_with(&quoted)
    }
}

/// The targets a reviewer gave a `modify`, as the planner needs them, by
/// the decision's account (as decisions.json has it) and agent id.
pub type Targets = BTreeMap<(Option<String>, u64), Changes>;

/// The plan for the decisions recorded in `run` (which must have them).
pub fn build(run: &RunDir, policy: &Policy, targets: &Targets) -> Result<Plan, RemediateError> {
    let decisions = run.decisions()?.ok_or_else(|| RemediateError::Plan {
        file: run.dir.join(crate::rundir::DECISIONS_JSON).display().to_string(),
        reason: "no decisions recorded: run `deskaudit review import` first".into(),
    })?;
    let decisions_bytes =
        std::fs::read(run.dir.join(crate::rundir::DECISIONS_JSON)).map_err(|source| RemediateError::Io {
            file: run.dir.join(crate::rundir::DECISIONS_JSON).display().to_string(),
            source,
        })?;
    let (directory, snapshots) = run.directory()?;
    let snapshots: Vec<&Snapshot> = snapshots.iter().map(|a| &a.snapshot).collect();
    let actions = actions(&snapshots, &directory, &decisions, policy, targets).map_err(|reason| {
        RemediateError::Plan {
            file: run.dir.join(crate::rundir::DECISIONS_JSON).display().to_string(),
            reason,
        }
    })?;
    let mut plan = Plan {
        schema_version: SCHEMA_VERSION,
        plan_id: String::new(),
        domain: directory.accounts.first().cloned().unwrap_or_default(),
        accounts: if directory.several_accounts() {
            directory.accounts.clone()
        } else {
            Vec::new()
        },
        run: PlanRun {
            as_of: run.run.as_of,
            snapshot_sha256: run.run.inputs.snapshot.sha256.clone(),
            findings_sha256: run.findings_sha256.clone(),
            decisions_sha256: hex::encode(Sha256::digest(&decisions_bytes)),
        },
        actions,
    };
    plan.plan_id = plan.compute_id();
    Ok(plan)
}

/// An agent of the run: its account (an index into `Directory::accounts`) and id.
type AgentKey = (usize, u64);

/// One action per decision, in account then agent-id order, with the
/// privileged-holder guard applied in that order. `snapshots`: one per
/// account, in the directory's order.
fn actions(
    snapshots: &[&Snapshot],
    directory: &Directory,
    decisions: &Decisions,
    policy: &Policy,
    targets: &Targets,
) -> Result<Vec<Action>, String> {
    let raw: BTreeMap<AgentKey, &serde_json::Value> = snapshots
        .iter()
        .enumerate()
        .flat_map(|(account, s)| {
            s.agents
                .iter()
                .filter_map(move |a| Some(((account, crate::model::Agent::from_json(a).ok()?.id), a)))
        })
        .collect();
    let agents: BTreeMap<AgentKey, &crate::model::Agent> =
        directory.agents.iter().map(|a| ((a.account, a.id), a)).collect();
    let mut guard = PrivilegedGuard::new(directory, policy);
    let mut decided = Vec::new();
    for d in &decisions.decisions {
        decided.push((decision_account(directory, d)?, d));
    }
    decided.sort_by_key(|(account, d)| (*account, d.agent_id));
    let mut actions = Vec::new();
    for (account, d) in decided {
        let key = (account, d.agent_id);
        let Some(agent) = agents.get(&key) else {
            continue;
        };
        let before = AgentState::of(agent, raw.get(&key).copied().unwrap_or(&serde_json::Value::Null));
        let (mut kind, mut changes, mut reason) = match d.decision {
            DecisionKind::Keep => (
                ActionKind::NothingToDo,
                None,
                Some("kept: access stays as it is".to_owned()),
            ),
            DecisionKind::Revoke if before.status == Status::Deactivated => (
                ActionKind::NothingToDo,
                None,
                Some("already deactivated in the run's snapshot".to_owned()),
            ),
            DecisionKind::Revoke => (ActionKind::Deactivate, None, None),
            DecisionKind::Modify => match targets.get(&(d.account.clone(), d.agent_id)) {
                None => (
                    ActionKind::Manual,
                    None,
                    Some("a modify without a target: change it in Freshdesk by hand".to_owned()),
                ),
                Some(wanted) => {
                    let needed = Changes::needed(&before, wanted);
                    if needed.is_empty() {
                        (
                            ActionKind::NothingToDo,
                            None,
                            Some("the target is the agent's state already".to_owned()),
                        )
                    } else {
                        (ActionKind::Update, Some(needed), None)
                    }
                }
            },
        };
        if kind.writes()
            && let Some(why) = guard.take(agent, &before, changes.as_ref())
        {
            kind = ActionKind::Blocked;
            changes = None;
            reason = Some(why);
        }
        actions.push(Action {
            seq: actions.len() as u32 + 1,
            account: directory
                .several_accounts()
                .then(|| directory.account_of(agent).to_owned()),
            agent_id: d.agent_id,
            agent_email: agent.email.clone().unwrap_or_default(),
            agent_name: agent.name.clone(),
            decision: d.decision,
            action: kind,
            before,
            changes,
            reviewer: d.reviewer.clone(),
            justification: d.justification.clone(),
            reason,
        });
    }
    Ok(actions)
}

/// The decision's account: the run's only one for a decision that names
/// none (decisions.json from before decisions named it).
fn decision_account(directory: &Directory, d: &crate::rundir::Decision) -> Result<usize, String> {
    match &d.account {
        None if !directory.several_accounts() => Ok(0),
        None => Err(format!(
            "the decision on agent {} names no account, but the run reviews several ({}): import the workbook again",
            d.agent_id,
            directory.accounts.join(", ")
        )),
        Some(domain) => directory
            .accounts
            .iter()
            .position(|a| a == domain)
            .ok_or_else(|| {
                format!(
                    "the decision on agent {} is for the account `{domain}`, which is not in the run ({})",
                    d.agent_id,
                    directory.accounts.join(", ")
                )
            }),
    }
}

/// Active holders of each privileged role (of each account: each account
/// keeps its own holder), as the plan's actions would leave them.
struct PrivilegedGuard<'d> {
    directory: &'d Directory,
    holders: BTreeMap<InAccount, BTreeSet<u64>>,
}

impl<'d> PrivilegedGuard<'d> {
    fn new(directory: &'d Directory, policy: &Policy) -> PrivilegedGuard<'d> {
        let privileged: BTreeSet<InAccount> = directory
            .roles
            .iter()
            .filter(|(_, r)| policy.is_privileged(r.id, Some(&r.name)))
            .map(|(key, _)| *key)
            .collect();
        let mut holders: BTreeMap<InAccount, BTreeSet<u64>> = BTreeMap::new();
        for agent in directory
            .agents
            .iter()
            .filter(|a| a.status == crate::model::AgentStatus::Active)
        {
            for role in agent.role_ids.iter().map(|r| agent.in_account(*r)) {
                if privileged.contains(&role) {
                    holders.entry(role).or_default().insert(agent.id);
                }
            }
        }
        PrivilegedGuard { directory, holders }
    }

    /// Takes the action into account, or says why it would leave a
    /// privileged role without an active holder (and then leaves it out).
    fn take(
        &mut self,
        agent: &crate::model::Agent,
        before: &AgentState,
        changes: Option<&Changes>,
    ) -> Option<String> {
        if before.status != Status::Active {
            return None;
        }
        let keeps = |role: u64| match changes {
            // A deactivation removes every role.
            None => false,
            Some(c) => c.role_ids.as_ref().is_none_or(|ids| ids.contains(&role)),
        };
        let lost: Vec<InAccount> = self
            .holders
            .iter()
            .filter(|(role, holders)| {
                role.account == agent.account && holders.contains(&agent.id) && !keeps(role.id)
            })
            .map(|(role, _)| *role)
            .collect();
        let last: Vec<String> = lost
            .iter()
            .filter(|role| self.holders[role].len() == 1)
            .map(|role| self.directory.role_name(*role))
            .collect();
        if !last.is_empty() {
            return Some(format!(
                "the agent is the last active holder of {}: the account would be left without one. Give the role to someone else first",
                last.join(", ")
            ));
        }
        for role in lost {
            if let Some(holders) = self.holders.get_mut(&role) {
                holders.remove(&agent.id);
            }
        }
        None
    }
}

/// The plan as a table for the terminal and the review ticket.
pub fn write_table(plan: &Plan, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "Plan {} for {} ({} actions)",
        plan.plan_id,
        plan.all_accounts().join(", "),
        plan.actions.len()
    )?;
    // Ids of different accounts may collide: with several, each says which.
    let agent_id = |a: &Action| match &a.account {
        Some(account) => format!("{account}/{}", a.agent_id),
        None => a.agent_id.to_string(),
    };
    let width = plan
        .actions
        .iter()
        .map(|a| agent_id(a).len())
        .max()
        .unwrap_or(0)
        .max(13);
    writeln!(
        out,
        "{:>4}  {:<14} {:<width$} {:<34} {:<12} reviewer / reason",
        "#", "action", "agent id", "agent", "before"
    )?;
    for a in &plan.actions {
        let what = match (&a.action, &a.changes) {
            (ActionKind::Update, Some(c)) => format!("{} {}", a.action.as_str(), c.body()),
            _ => a.action.as_str().to_owned(),
        };
        writeln!(
            out,
            "{:>4}  {:<14} {:<width$} {:<34} {:<12} {}{}",
            a.seq,
            a.action.as_str(),
            agent_id(a),
            crate::text::show_invisible(&a.agent_email),
            a.before.status.as_str(),
            crate::text::show_invisible(&a.reviewer),
            a.reason.as_deref().map(|r| format!(" - {r}")).unwrap_or_default()
        )?;
        if a.action == ActionKind::Update {
            writeln!(out, "{:>4}  {what}", "")?;
        }
    }
    let counts: Vec<String> = [
        ActionKind::Deactivate,
        ActionKind::Update,
        ActionKind::Blocked,
        ActionKind::Manual,
        ActionKind::NothingToDo,
    ]
    .iter()
    .map(|k| format!("{} {}", plan.count(*k), k.as_str()))
    .collect();
    writeln!(out, "{}", counts.join(", "))?;
    let account = if plan.accounts.is_empty() {
        format!("--domain {}", plan.domain)
    } else {
        "--accounts ACCOUNTS.toml".to_owned()
    };
    writeln!(
        out,
        "A second person approves it with: deskaudit remediate apply --plan PLAN --approve {} --approver THEIR_EMAIL {account}",
        &plan.plan_id[..12.min(plan.plan_id.len())],
    )
}

impl Plan {
    /// Why the plan is not one made from `run`'s snapshot, findings and
    /// decisions (`decisions_sha256`: of the run's decisions.json bytes).
    pub fn foreign_to(&self, run: &RunDir, decisions_sha256: &str) -> Option<String> {
        (self.run.snapshot_sha256 != run.run.inputs.snapshot.sha256
            || self.run.findings_sha256 != run.findings_sha256
            || self.run.decisions_sha256 != decisions_sha256)
            .then(|| {
                "it was made from another snapshot, findings.json or decisions.json than this run's"
                    .to_owned()
            })
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
pub(super) mod tests;
