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
use crate::model::{Directory, Snapshot};
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
    /// The Freshdesk account (subdomain) the actions are for.
    pub domain: String,
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

    /// `plan_id` as the approver may quote it: whole, or its first 12 hex digits.
    pub fn is_approved_by(&self, quoted: &str) -> bool {
        let quoted = quoted.trim().to_ascii_lowercase();
        quoted.len() >= 12
            && quoted.bytes().all(|b| b.is_ascii_hexdigit())
            && self.plan_id.starts_with(&quoted)
    }
}

/// The targets a reviewer gave a `modify`, as the planner needs them.
pub type Targets = BTreeMap<u64, Changes>;

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
    let (_, snapshot) = run.snapshot()?;
    let directory = Directory::from_snapshot(&snapshot)?;
    let actions = actions(&snapshot, &directory, &decisions, policy, targets);
    let mut plan = Plan {
        schema_version: SCHEMA_VERSION,
        plan_id: String::new(),
        domain: snapshot.meta.domain.clone(),
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

/// One action per decision, in agent-id order, with the privileged-holder
/// guard applied in that order.
fn actions(
    snapshot: &Snapshot,
    directory: &Directory,
    decisions: &Decisions,
    policy: &Policy,
    targets: &Targets,
) -> Vec<Action> {
    let raw: BTreeMap<u64, &serde_json::Value> = snapshot
        .agents
        .iter()
        .filter_map(|a| Some((crate::model::Agent::from_json(a).ok()?.id, a)))
        .collect();
    let agents: BTreeMap<u64, &crate::model::Agent> = directory.agents.iter().map(|a| (a.id, a)).collect();
    let mut guard = PrivilegedGuard::new(directory, policy);
    let mut decided: Vec<&crate::rundir::Decision> = decisions.decisions.iter().collect();
    decided.sort_by_key(|d| d.agent_id);
    let mut actions = Vec::new();
    for d in decided {
        let Some(agent) = agents.get(&d.agent_id) else {
            continue;
        };
        let before = AgentState::of(
            agent,
            raw.get(&d.agent_id).copied().unwrap_or(&serde_json::Value::Null),
        );
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
            DecisionKind::Modify => match targets.get(&d.agent_id) {
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
    actions
}

/// Active holders of each privileged role, as the plan's actions would
/// leave them.
struct PrivilegedGuard<'d> {
    directory: &'d Directory,
    holders: BTreeMap<u64, BTreeSet<u64>>,
}

impl<'d> PrivilegedGuard<'d> {
    fn new(directory: &'d Directory, policy: &Policy) -> PrivilegedGuard<'d> {
        let privileged: BTreeSet<u64> = directory
            .roles
            .values()
            .filter(|r| policy.is_privileged(r.id, Some(&r.name)))
            .map(|r| r.id)
            .collect();
        let mut holders: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        for agent in directory
            .agents
            .iter()
            .filter(|a| a.status == crate::model::AgentStatus::Active)
        {
            for role in agent.role_ids.iter().filter(|r| privileged.contains(r)) {
                holders.entry(*role).or_default().insert(agent.id);
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
        let lost: Vec<u64> = self
            .holders
            .iter()
            .filter(|(role, holders)| holders.contains(&agent.id) && !keeps(**role))
            .map(|(role, _)| *role)
            .collect();
        let last: Vec<String> = lost
            .iter()
            .filter(|role| self.holders[role].len() == 1)
            .map(|role| self.directory.role_name(agent.in_account(*role)))
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
        plan.domain,
        plan.actions.len()
    )?;
    writeln!(
        out,
        "{:>4}  {:<14} {:<13} {:<34} {:<12} reviewer / reason",
        "#", "action", "agent id", "agent", "before"
    )?;
    for a in &plan.actions {
        let what = match (&a.action, &a.changes) {
            (ActionKind::Update, Some(c)) => format!("{} {}", a.action.as_str(), c.body()),
            _ => a.action.as_str().to_owned(),
        };
        writeln!(
            out,
            "{:>4}  {:<14} {:<13} {:<34} {:<12} {}{}",
            a.seq,
            a.action.as_str(),
            a.agent_id,
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
    writeln!(
        out,
        "A second person approves it with: deskaudit remediate apply --plan PLAN --approve {} --approver THEIR_EMAIL --domain {}",
        &plan.plan_id[..12.min(plan.plan_id.len())],
        plan.domain
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
mod tests {
    use serde_json::json;

    use super::*;

    fn directory() -> Directory {
        let snapshot: Snapshot = serde_json::from_value(json!({
            "schema_version": 1,
            "meta": {"domain": "acme", "tool_version": "0", "started_at": "2026-10-01T00:00:00Z",
                     "collected_at": "2026-10-01T00:00:00Z"},
            "agents": [
                {"id": 1, "role_ids": [1], "contact": {"email": "a1@x.test", "active": true, "last_login_at": "2026-09-01T00:00:00Z"}},
                {"id": 2, "role_ids": [2, 3], "contact": {"email": "a2@x.test", "active": true, "last_login_at": "2026-09-01T00:00:00Z"}},
                {"id": 3, "role_ids": [2], "contact": {"email": "a3@x.test", "active": true, "last_login_at": "2026-09-01T00:00:00Z"}},
                {"id": 4, "role_ids": [1], "contact": {"email": "a4@x.test", "active": false}}
            ],
            "roles": [{"id": 1, "name": "Account Administrator"}, {"id": 2, "name": "Administrator"}, {"id": 3, "name": "Agent"}],
            "groups": []
        }))
        .expect("snapshot");
        Directory::from_snapshot(&snapshot).expect("directory")
    }

    fn state(d: &Directory, id: u64) -> (crate::model::Agent, AgentState) {
        let agent = d.agents.iter().find(|a| a.id == id).expect("agent").clone();
        let state = AgentState::of(&agent, &serde_json::Value::Null);
        (agent, state)
    }

    #[test]
    fn the_last_active_holder_of_a_privileged_role_is_kept() {
        let d = directory();
        let mut guard = PrivilegedGuard::new(&d, &Policy::default());
        // Agent 1 is the only *active* Account Administrator (4 is invited).
        let (a1, s1) = state(&d, 1);
        let why = guard.take(&a1, &s1, None).expect("blocked");
        assert!(
            why.contains("last active holder of Account Administrator"),
            "{why}"
        );
        // Two Administrators: the first may go, the second may not.
        let (a2, s2) = state(&d, 2);
        let (a3, s3) = state(&d, 3);
        assert_eq!(guard.take(&a2, &s2, None), None);
        assert!(guard.take(&a3, &s3, None).is_some());
        // An update that keeps the role does not count as losing it.
        let keep = Changes {
            role_ids: Some(vec![2]),
            ..Changes::default()
        };
        assert_eq!(guard.take(&a3, &s3, Some(&keep)), None);
    }

    #[test]
    fn an_approval_quotes_the_id_whole_or_its_first_twelve_digits() {
        let mut plan = Plan {
            schema_version: SCHEMA_VERSION,
            plan_id: String::new(),
            domain: "acme".into(),
            run: PlanRun {
                as_of: "2026-10-01T00:00:00Z".parse().expect("ts"),
                snapshot_sha256: "s".into(),
                findings_sha256: "f".into(),
                decisions_sha256: "d".into(),
            },
            actions: Vec::new(),
        };
        plan.plan_id = plan.compute_id();
        let id = plan.plan_id.clone();
        assert!(plan.is_approved_by(&id));
        assert!(plan.is_approved_by(&id[..12].to_uppercase()));
        assert!(!plan.is_approved_by(&id[..11]), "too short to mean one plan");
        assert!(!plan.is_approved_by(&format!("{}x", &id[..12])));
        assert!(!plan.is_approved_by(""));
        // Parsed back whole; any edit no longer matches its id.
        let bytes = plan.to_bytes();
        assert_eq!(Plan::parse("p.json", &bytes).expect("whole"), plan);
        let edited = String::from_utf8(bytes)
            .expect("utf-8")
            .replace("\"acme\"", "\"acme-eu\"");
        let err = Plan::parse("p.json", edited.as_bytes()).expect_err("edited");
        assert!(err.to_string().contains("no longer matches its plan_id"), "{err}");
    }
}
