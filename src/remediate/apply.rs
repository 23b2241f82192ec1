//! `remediate apply`: each action read, decided, written once and read back,
//! every step journalled before the next request.
//!
//! For each action, in plan order:
//! 1. settled by an earlier run (the journal says `done`, `already-done`,
//!    `nothing-to-do` or `manual`): nothing is sent;
//! 2. `GET /api/v2/agents/{id}`: in its target state already → `already-done`
//!    (or `done`, when an earlier write of ours took effect although its
//!    answer was lost); access changed since the review → `drifted`; the API
//!    key's own agent → `blocked`;
//! 3. the write (`DELETE` or `PUT`), journalled as sent before it leaves;
//! 4. read back: the target state → `done`, verified. A write whose answer
//!    was lost is repeated only after a read shows it did not take effect.

use jiff::Timestamp;
use serde_json::Value;

use std::collections::BTreeMap;

use super::RemediateError;
use super::apis::{self, Apis};
use super::journal::{History, Journal, Step};
use super::outcome::{self, ActionOutcome, Outcome, Remediation};
use super::plan::{Action, ActionKind, Plan};
use super::state::{AgentState, Status};
use crate::collect::{AgentApi, AgentRead, CollectError, Written};

/// Writes sent for one action in one run before it is given up as failed
/// (each after a read showed the previous one did not take effect).
const MAX_WRITES: u32 = 3;

/// The agent endpoints `apply` uses; `collect::AgentApi` over HTTP, or a
/// stand-in in tests.
pub trait Api {
    fn me(&mut self) -> Result<Value, CollectError>;
    fn agent(&mut self, id: u64) -> Result<AgentRead, CollectError>;
    fn delete_agent(&mut self, id: u64) -> Result<Written, CollectError>;
    fn update_agent(&mut self, id: u64, fields: &Value) -> Result<Written, CollectError>;
}

impl Api for AgentApi {
    fn me(&mut self) -> Result<Value, CollectError> {
        AgentApi::me(self)
    }

    fn agent(&mut self, id: u64) -> Result<AgentRead, CollectError> {
        AgentApi::agent(self, id)
    }

    fn delete_agent(&mut self, id: u64) -> Result<Written, CollectError> {
        AgentApi::delete_agent(self, id)
    }

    fn update_agent(&mut self, id: u64, fields: &Value) -> Result<Written, CollectError> {
        AgentApi::update_agent(self, id, fields)
    }
}

pub struct ApplyOptions<'a> {
    /// The approver's address, already checked against the plan.
    pub approver: &'a str,
    /// The clock of every journal entry (a fixed one in tests).
    pub now: &'a dyn Fn() -> Timestamp,
}

/// What `apply` did, or (dry run) would do.
pub enum Applied {
    Done(Remediation),
    /// `--dry-run`: one line per action, and whether any would not settle well.
    DryRun {
        lines: Vec<String>,
        any_unsettled: bool,
    },
}

/// Applies `plan` (of one account) through `api`; see [`apply_accounts`].
pub fn apply(
    plan: &Plan,
    api: &mut dyn Api,
    journal: Option<&mut Journal>,
    options: &ApplyOptions,
) -> Result<Applied, RemediateError> {
    let domain = plan.domain.clone();
    apply_accounts(plan, &mut Apis::one(&domain, api), journal, options)
}

/// Applies `plan`, each action through its own account's client in `apis`
/// (which must hold every account of the plan), journalling into
/// `journal`; without a journal, a dry run that only reads.
pub fn apply_accounts(
    plan: &Plan,
    apis: &mut Apis,
    journal: Option<&mut Journal>,
    options: &ApplyOptions,
) -> Result<Applied, RemediateError> {
    apis.check_covers(plan, "the plan")?;
    let key_owners = apis::key_owners(plan, apis)?;
    let dry_run = journal.is_none();
    let several = !plan.accounts.is_empty();
    let mut run = Run {
        apis,
        journal,
        now: options.now,
        domain: &plan.domain,
        key_owners,
    };
    for domain in plan.all_accounts() {
        if let Some(Ok(key_owner)) = run.key_owners.get(domain) {
            let key_owner = *key_owner;
            run.record(Step::Started {
                approver: options.approver.to_owned(),
                key_owner,
                // A plan of one account journals as before.
                account: several.then(|| domain.to_owned()),
            })?;
        }
    }
    let started_at = run
        .journal
        .as_ref()
        .and_then(|j| j.started_at)
        .unwrap_or_else(|| (options.now)());
    let mut actions = Vec::with_capacity(plan.actions.len());
    let mut lines = Vec::new();
    for action in &plan.actions {
        match run.action(action, dry_run)? {
            Settled::Done(outcome) => {
                lines.push(format!(
                    "#{} {} agent {}: {}{}",
                    action.seq,
                    action.action.as_str(),
                    action.agent_id,
                    outcome.outcome.as_str(),
                    outcome
                        .reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ));
                actions.push(outcome);
            }
            Settled::Would(line) => lines.push(line),
        }
    }
    if dry_run {
        let any_unsettled = actions
            .iter()
            .any(|a| matches!(a.outcome, Outcome::Drifted | Outcome::Blocked | Outcome::Failed));
        return Ok(Applied::DryRun { lines, any_unsettled });
    }
    run.record(Step::Finished {})?;
    let owner = |domain: &str| run.key_owners.get(domain).and_then(|o| o.as_ref().ok()).copied();
    Ok(Applied::Done(Remediation {
        schema_version: outcome::SCHEMA_VERSION,
        plan_id: plan.plan_id.clone(),
        domain: plan.domain.clone(),
        approver: options.approver.to_owned(),
        key_owner: owner(&plan.domain).unwrap_or(0),
        key_owners: if several {
            plan.all_accounts()
                .into_iter()
                .filter_map(|d| Some((d.to_owned(), owner(d)?)))
                .collect()
        } else {
            BTreeMap::new()
        },
        started_at,
        finished_at: (options.now)(),
        summary: Remediation::summarise(&actions),
        actions,
    }))
}

enum Settled {
    Done(ActionOutcome),
    /// Dry run: what would be sent.
    Would(String),
}

struct Run<'a, 'j, 'p> {
    apis: &'a mut Apis<'p>,
    journal: Option<&'j mut Journal>,
    now: &'a dyn Fn() -> Timestamp,
    /// The plan's domain: the account of an action that names none.
    domain: &'a str,
    /// Per account, whose key its client uses, or why it cannot be used.
    key_owners: BTreeMap<String, Result<u64, String>>,
}

impl Run<'_, '_, '_> {
    /// The action's own account's client: never another account's.
    fn api(&mut self, a: &Action) -> Result<&mut dyn Api, RemediateError> {
        let domain = a.account.as_deref().unwrap_or(self.domain);
        let missing = || RemediateError::Plan {
            file: "the plan".into(),
            reason: format!(
                "action #{} is for the account `{domain}`, which has no client",
                a.seq
            ),
        };
        match self.apis.get(domain) {
            Some(api) => Ok(api),
            None => Err(missing()),
        }
    }

    fn record(&mut self, step: Step) -> Result<(), RemediateError> {
        let now = (self.now)();
        match self.journal.as_deref_mut() {
            Some(journal) => journal.record(now, step),
            None => Ok(()),
        }
    }

    fn history(&self, seq: u32) -> History {
        self.journal.as_ref().map(|j| j.history(seq)).unwrap_or_default()
    }

    fn action(&mut self, a: &Action, dry_run: bool) -> Result<Settled, RemediateError> {
        let history = self.history(a.seq);
        if let Some((
            at,
            Step::Outcome {
                outcome,
                verified,
                reason,
                read_back,
                ..
            },
        )) = &history.outcome
            && outcome.is_final()
        {
            return Ok(Settled::Done(ActionOutcome {
                seq: a.seq,
                account: a.account.clone(),
                agent_id: a.agent_id,
                agent_email: a.agent_email.clone(),
                decision: a.decision,
                action: a.action,
                outcome: *outcome,
                verified: *verified,
                at: Some(*at),
                reason: reason.clone(),
                read_back: a.action.writes().then(|| read_back.clone()),
                writes: history.writes,
            }));
        }
        match a.action {
            ActionKind::NothingToDo => self.settle(a, Outcome::NothingToDo, false, a.reason.clone(), None),
            ActionKind::Manual => self.settle(a, Outcome::Manual, false, a.reason.clone(), None),
            ActionKind::Blocked => self.settle(a, Outcome::Blocked, false, a.reason.clone(), None),
            ActionKind::Deactivate | ActionKind::Update => {
                let domain = a.account.as_deref().unwrap_or(self.domain);
                match self.key_owners.get(domain) {
                    Some(Ok(key_owner)) => {
                        let key_owner = *key_owner;
                        self.carry_out(a, key_owner, dry_run)
                    }
                    // Not final: a re-run with a working key carries it out.
                    _ => {
                        let why = match self.key_owners.get(domain) {
                            Some(Err(e)) => e.clone(),
                            _ => "no client".to_owned(),
                        };
                        let why = format!("nothing was sent: {domain}'s key could not be used ({why})");
                        self.settle(a, Outcome::Failed, false, Some(why), None)
                    }
                }
            }
        }
    }

    fn carry_out(&mut self, a: &Action, key_owner: u64, dry_run: bool) -> Result<Settled, RemediateError> {
        let mut sent = 0;
        loop {
            let now = self.read(a)?;
            let history = self.history(a.seq);
            if reached(a, now.as_ref()) {
                return if history.write_sent {
                    let why = (sent == 0).then(|| {
                        "an earlier run's write took effect; read back in its target state".to_owned()
                    });
                    self.settle(a, Outcome::Done, true, why, Some(now))
                } else {
                    self.settle(a, Outcome::AlreadyDone, false, None, Some(now))
                };
            }
            if indistinct(a, now.as_ref()) && history.write_sent {
                return if history.write_answered {
                    let why = "the DELETE was answered 2xx; an invited agent reads as inactive before and after under the older API, so that answer is the only evidence".to_owned();
                    self.settle(a, Outcome::Done, false, Some(why), Some(now))
                } else {
                    let why = "the DELETE's answer was lost, and an invited agent reads as inactive before and after under the older API: a read cannot tell whether it took effect, so it is not sent again. Check the agent in Freshdesk".to_owned();
                    self.settle(a, Outcome::Failed, false, Some(why), Some(now))
                };
            }
            let Some(state) = &now else {
                let why = "the agent is gone (HTTP 404) since the review".to_owned();
                return self.settle(a, Outcome::Drifted, false, Some(why), Some(now));
            };
            if !state.same_access(&a.before) {
                let why = format!("changed since the review: {}", describe(&a.before, state));
                return self.settle(a, Outcome::Drifted, false, Some(why), Some(now));
            }
            if a.agent_id == key_owner {
                let why = "this is the API key's own agent: deskaudit never removes the access it is acting with. Apply it with another administrator's key, or by hand".to_owned();
                return self.settle(a, Outcome::Blocked, false, Some(why), Some(now));
            }
            let (method, body) = match (a.action, &a.changes) {
                (ActionKind::Update, Some(changes)) => ("PUT", Some(changes.body())),
                _ => ("DELETE", None),
            };
            if dry_run {
                return Ok(Settled::Would(format!(
                    "#{} would send {method} {}/api/v2/agents/{}{} (agent {}, {} as reviewed)",
                    a.seq,
                    // Which account's API, where the plan has several.
                    a.account.as_deref().map(|d| format!("{d}: ")).unwrap_or_default(),
                    a.agent_id,
                    body.as_ref().map(|b| format!(" {b}")).unwrap_or_default(),
                    crate::text::show_invisible(&a.agent_email),
                    state.status.as_str()
                )));
            }
            if sent >= MAX_WRITES {
                let why = format!(
                    "sent {sent} times: each answer was lost and each read showed no change. Try again later"
                );
                return self.settle(a, Outcome::Failed, false, Some(why), Some(now));
            }
            sent += 1;
            self.record(Step::WriteSent {
                seq: a.seq,
                account: a.account.clone(),
                agent_id: a.agent_id,
                method: method.to_owned(),
                body: body.clone(),
            })?;
            let answer = match &body {
                Some(body) => self.api(a)?.update_agent(a.agent_id, body)?,
                None => self.api(a)?.delete_agent(a.agent_id)?,
            };
            match answer {
                Written::Done { status, .. } => {
                    self.record(Step::WriteAnswered {
                        seq: a.seq,
                        account: a.account.clone(),
                        agent_id: a.agent_id,
                        status,
                    })?;
                    let back = self.read(a)?;
                    if reached(a, back.as_ref()) {
                        return self.settle(a, Outcome::Done, true, None, Some(back));
                    }
                    if indistinct(a, back.as_ref()) {
                        let why = format!(
                            "the DELETE was answered {status}; an invited agent reads as inactive before and after under the older API, so that answer is the only evidence"
                        );
                        return self.settle(a, Outcome::Done, false, Some(why), Some(back));
                    }
                    let why = format!(
                        "answered {status}, but the agent read back is not in the target state ({})",
                        back.as_ref()
                            .map_or_else(|| "gone".to_owned(), |s| describe(&a.before, s))
                    );
                    return self.settle(a, Outcome::Failed, false, Some(why), Some(back));
                }
                Written::Refused { status, body } => {
                    let why = format!("refused: HTTP {status}: {body}");
                    self.record(Step::WriteRefused {
                        seq: a.seq,
                        account: a.account.clone(),
                        agent_id: a.agent_id,
                        status,
                        body,
                    })?;
                    return self.settle(a, Outcome::Failed, false, Some(why), Some(now));
                }
                Written::Lost { cause } => {
                    tracing::warn!(agent = a.agent_id, %cause, "the write's answer was lost: reading the agent before anything else");
                    self.record(Step::WriteLost {
                        seq: a.seq,
                        account: a.account.clone(),
                        agent_id: a.agent_id,
                        cause,
                    })?;
                }
            }
        }
    }

    /// `GET /api/v2/agents/{id}`, journalled: the state, or `None` for 404.
    fn read(&mut self, a: &Action) -> Result<Option<AgentState>, RemediateError> {
        let state = match self.api(a)?.agent(a.agent_id)? {
            AgentRead::Gone => None,
            AgentRead::Found(raw) => Some(AgentState::from_api(&raw)?),
        };
        self.record(Step::Read {
            seq: a.seq,
            account: a.account.clone(),
            agent_id: a.agent_id,
            state: state.clone(),
        })?;
        Ok(state)
    }

    fn settle(
        &mut self,
        a: &Action,
        outcome: Outcome,
        verified: bool,
        reason: Option<String>,
        read_back: Option<Option<AgentState>>,
    ) -> Result<Settled, RemediateError> {
        self.record(Step::Outcome {
            seq: a.seq,
            account: a.account.clone(),
            agent_id: a.agent_id,
            outcome,
            verified,
            reason: reason.clone(),
            read_back: read_back.clone().flatten(),
        })?;
        Ok(Settled::Done(ActionOutcome {
            seq: a.seq,
            account: a.account.clone(),
            agent_id: a.agent_id,
            agent_email: a.agent_email.clone(),
            decision: a.decision,
            action: a.action,
            outcome,
            verified,
            at: Some((self.now)()),
            reason,
            read_back,
            writes: self.history(a.seq).writes,
        }))
    }
}

/// Whether `now` (`None`: HTTP 404) is the action's target state.
fn reached(a: &Action, now: Option<&AgentState>) -> bool {
    match (a.action, now) {
        // The documented API demotes a deleted agent to a contact.
        (ActionKind::Deactivate, None) => true,
        (ActionKind::Deactivate, Some(s)) => {
            s.status == Status::Deactivated
                // `active: false` on an agent that was active; one never
                // signed in reads as pending then.
                || (a.before.status == Status::Active && s.status == Status::Pending)
        }
        (ActionKind::Update, Some(s)) => {
            s.status == a.before.status && a.changes.as_ref().is_some_and(|c| c.reached_by(s))
        }
        _ => false,
    }
}

/// A pending agent deactivated under the older API reads exactly as before.
fn indistinct(a: &Action, now: Option<&AgentState>) -> bool {
    a.action == ActionKind::Deactivate
        && a.before.status == Status::Pending
        && now.is_some_and(|s| s.same_access(&a.before))
}

/// `status active → deactivated; roles [1] → [1, 3]`: what differs.
fn describe(before: &AgentState, now: &AgentState) -> String {
    let mut parts = Vec::new();
    if before.status != now.status {
        parts.push(format!(
            "status {} → {}",
            before.status.as_str(),
            now.status.as_str()
        ));
    }
    if before.role_ids != now.role_ids {
        parts.push(format!("role_ids {:?} → {:?}", before.role_ids, now.role_ids));
    }
    if before.group_ids != now.group_ids {
        parts.push(format!("group_ids {:?} → {:?}", before.group_ids, now.group_ids));
    }
    if before.ticket_scope != now.ticket_scope {
        parts.push(format!(
            "ticket_scope {:?} → {:?}",
            before.ticket_scope, now.ticket_scope
        ));
    }
    if parts.is_empty() {
        "no access change".to_owned()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
