//! `apply` against an account held in memory: every outcome, lost answers,
//! a crash and its resumption, both API behaviours.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::remediate::journal::JOURNAL_JSONL;
use crate::remediate::state::Changes;
use crate::rundir::DecisionKind;

/// How a DELETE leaves the agent.
#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    /// 404 afterwards (a contact remains).
    Documented,
    /// Stays, `active: false`.
    Older,
}

/// What happens to the next write.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Takes effect, then the answer is lost.
    LostAfter,
    /// Lost before it took effect.
    LostBefore,
}

struct Account {
    agents: BTreeMap<u64, Option<Value>>,
    behaviour: Behaviour,
    faults: Vec<Fault>,
    writes: BTreeMap<u64, u32>,
    requests: u32,
    /// Fail (as an unreachable API) once this many requests were made.
    crash_after: Option<u32>,
}

impl Account {
    fn new(behaviour: Behaviour, agents: &[Value]) -> Account {
        Account {
            agents: agents
                .iter()
                .map(|a| (a["id"].as_u64().expect("id"), Some(a.clone())))
                .collect(),
            behaviour,
            faults: Vec::new(),
            writes: BTreeMap::new(),
            requests: 0,
            crash_after: None,
        }
    }

    fn tick(&mut self) -> Result<(), CollectError> {
        self.requests += 1;
        match self.crash_after {
            Some(n) if self.requests > n => Err(CollectError::Setup("the test killed the run".into())),
            _ => Ok(()),
        }
    }

    fn write(&mut self, id: u64, change: impl FnOnce(&mut Option<Value>)) -> Result<Written, CollectError> {
        self.tick()?;
        *self.writes.entry(id).or_default() += 1;
        let fault = if self.faults.is_empty() {
            None
        } else {
            Some(self.faults.remove(0))
        };
        if let Some(Fault::LostBefore) = fault {
            return Ok(Written::Lost {
                cause: "dropped".into(),
            });
        }
        let Some(slot) = self.agents.get_mut(&id) else {
            return Ok(Written::Refused {
                status: 404,
                body: json!({}),
            });
        };
        change(slot);
        match fault {
            Some(Fault::LostAfter) => Ok(Written::Lost {
                cause: "dropped".into(),
            }),
            _ => Ok(Written::Done {
                status: 200,
                body: None,
            }),
        }
    }
}

impl Api for Account {
    fn me(&mut self) -> Result<Value, CollectError> {
        self.tick()?;
        Ok(json!({"id": 1}))
    }

    fn agent(&mut self, id: u64) -> Result<AgentRead, CollectError> {
        self.tick()?;
        Ok(match self.agents.get(&id).cloned().flatten() {
            Some(a) => AgentRead::Found(a),
            None => AgentRead::Gone,
        })
    }

    fn delete_agent(&mut self, id: u64) -> Result<Written, CollectError> {
        let behaviour = self.behaviour;
        self.write(id, |slot| match behaviour {
            Behaviour::Documented => *slot = None,
            Behaviour::Older => {
                if let Some(a) = slot {
                    a["active"] = json!(false);
                }
            }
        })
    }

    fn update_agent(&mut self, id: u64, fields: &Value) -> Result<Written, CollectError> {
        let fields = fields.clone();
        self.write(id, move |slot| {
            if let (Some(a), Some(map)) = (slot.as_mut(), fields.as_object()) {
                for (k, v) in map {
                    a[k] = v.clone();
                }
            }
        })
    }
}

fn agent(id: u64, roles: &[u64], logged_in: bool, active: bool) -> Value {
    let mut a = json!({"id": id, "role_ids": roles, "group_ids": [10], "ticket_scope": 2,
        "contact": {"email": format!("a{id}@x.test"), "active": active}});
    if logged_in {
        a["contact"]["last_login_at"] = json!("2026-09-01T00:00:00Z");
    }
    a
}

fn action(seq: u32, raw: &Value, kind: ActionKind, changes: Option<Changes>) -> Action {
    Action {
        seq,
        account: None,
        agent_id: raw["id"].as_u64().expect("id"),
        agent_email: raw["contact"]["email"].as_str().unwrap_or_default().to_owned(),
        agent_name: String::new(),
        decision: if kind == ActionKind::Update {
            DecisionKind::Modify
        } else {
            DecisionKind::Revoke
        },
        action: kind,
        before: AgentState::from_api(raw).expect("state"),
        changes,
        reviewer: "lead@x.test".into(),
        justification: "left".into(),
        reason: None,
    }
}

fn plan(actions: Vec<Action>) -> Plan {
    crate::remediate::plan::tests::plan_of(actions)
}

fn now() -> jiff::Timestamp {
    "2026-10-02T00:00:00Z".parse().expect("ts")
}

fn run(plan: &Plan, account: &mut Account, dir: &std::path::Path) -> Result<Remediation, RemediateError> {
    run_accounts(plan, &mut Apis::one(&plan.domain, account), dir)
}

fn outcomes(r: &Remediation) -> Vec<(u64, Outcome, bool)> {
    r.actions
        .iter()
        .map(|a| (a.agent_id, a.outcome, a.verified))
        .collect()
}

/// Three agents: 2 to deactivate, 3 to move from role 5 to role 6, 4 kept.
fn fixture(behaviour: Behaviour) -> (Plan, Account) {
    let (a2, a3) = (agent(2, &[5], true, true), agent(3, &[5], true, true));
    let keep = agent(4, &[5], true, true);
    let roles = Changes {
        role_ids: Some(vec![6]),
        ..Changes::default()
    };
    let mut kept = action(3, &keep, ActionKind::NothingToDo, None);
    kept.decision = DecisionKind::Keep;
    let plan = plan(vec![
        action(1, &a2, ActionKind::Deactivate, None),
        action(2, &a3, ActionKind::Update, Some(roles)),
        kept,
    ]);
    (plan, Account::new(behaviour, &[a2, a3, keep]))
}

#[test]
fn every_action_is_written_once_and_verified_in_both_behaviours() {
    for behaviour in [Behaviour::Documented, Behaviour::Older] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (plan, mut account) = fixture(behaviour);
        let r = run(&plan, &mut account, dir.path()).expect("applies");
        assert_eq!(
            outcomes(&r),
            [
                (2, Outcome::Done, true),
                (3, Outcome::Done, true),
                (4, Outcome::NothingToDo, false)
            ]
        );
        assert_eq!(account.writes, BTreeMap::from([(2, 1), (3, 1)]));
        assert_eq!(r.exit_code(), 0);
        // A second run sends nothing at all for settled actions.
        let before = account.requests;
        let again = run(&plan, &mut account, dir.path()).expect("re-run");
        assert_eq!(outcomes(&again), outcomes(&r));
        assert_eq!(account.requests - before, 1, "only GET /agents/me");
    }
}

#[test]
fn a_drifted_agent_is_left_untouched_and_an_agent_already_done_is_said_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (plan, mut account) = fixture(Behaviour::Documented);
    // Agent 2 was given another role after the review; agent 3 already has its target.
    account.agents.insert(2, Some(agent(2, &[5, 7], true, true)));
    account.agents.insert(3, Some(agent(3, &[6], true, true)));
    let r = run(&plan, &mut account, dir.path()).expect("applies");
    assert_eq!(
        outcomes(&r)[..2],
        [(2, Outcome::Drifted, false), (3, Outcome::AlreadyDone, false)]
    );
    assert!(
        r.actions[0]
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("role_ids [5] → [5, 7]")
    );
    assert!(account.writes.is_empty(), "nothing written");
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn the_key_owners_own_agent_is_blocked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owner = agent(1, &[5], true, true);
    let plan = plan(vec![action(1, &owner, ActionKind::Deactivate, None)]);
    let mut account = Account::new(Behaviour::Documented, &[owner]);
    let r = run(&plan, &mut account, dir.path()).expect("applies");
    assert_eq!(outcomes(&r), [(1, Outcome::Blocked, false)]);
    assert!(account.writes.is_empty());
}

#[test]
fn a_lost_answer_is_read_before_anything_is_sent_again() {
    // Took effect: exactly one DELETE, done and verified.
    let dir = tempfile::tempdir().expect("tempdir");
    let (plan, mut account) = fixture(Behaviour::Documented);
    account.faults = vec![Fault::LostAfter];
    let r = run(&plan, &mut account, dir.path()).expect("applies");
    assert_eq!(outcomes(&r)[0], (2, Outcome::Done, true));
    assert_eq!(account.writes[&2], 1, "one DELETE");
    // Did not take effect: the read shows it, so it is sent again.
    let dir = tempfile::tempdir().expect("tempdir");
    let (plan, mut account) = fixture(Behaviour::Documented);
    account.faults = vec![Fault::LostBefore];
    let r = run(&plan, &mut account, dir.path()).expect("applies");
    assert_eq!(outcomes(&r)[0], (2, Outcome::Done, true));
    assert_eq!(account.writes[&2], 2);
    assert_eq!(r.actions[0].writes, 2);
}

#[test]
fn a_run_killed_mid_way_resumes_without_writing_twice() {
    for crash_after in 1..12 {
        let dir = tempfile::tempdir().expect("tempdir");
        let (plan, mut account) = fixture(Behaviour::Older);
        account.crash_after = Some(crash_after);
        let first = run(&plan, &mut account, dir.path());
        account.crash_after = None;
        let r = run(&plan, &mut account, dir.path()).expect("the re-run completes");
        assert_eq!(
            outcomes(&r),
            [
                (2, Outcome::Done, true),
                (3, Outcome::Done, true),
                (4, Outcome::NothingToDo, false)
            ],
            "killed after {crash_after} requests: {:?}",
            first.map(|r| outcomes(&r))
        );
        assert!(
            account.writes.values().all(|&n| n == 1),
            "{crash_after}: {:?}",
            account.writes
        );
    }
}

#[test]
fn an_invited_agent_under_the_older_api_is_done_on_the_answer_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let invited = agent(5, &[5], false, false);
    let plan = plan(vec![action(1, &invited, ActionKind::Deactivate, None)]);
    let mut account = Account::new(Behaviour::Older, std::slice::from_ref(&invited));
    let r = run(&plan, &mut account, dir.path()).expect("applies");
    assert_eq!(outcomes(&r), [(5, Outcome::Done, false)]);
    assert!(
        r.actions[0]
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("only evidence")
    );
    // Its answer lost: a read cannot tell, so it is not sent again.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut account = Account::new(Behaviour::Older, &[invited]);
    account.faults = vec![Fault::LostAfter];
    let r = run(&plan, &mut account, dir.path()).expect("applies");
    assert_eq!(outcomes(&r), [(5, Outcome::Failed, false)]);
    assert_eq!(account.writes[&5], 1);
}

#[test]
fn a_dry_run_only_reads() {
    let (plan, mut account) = fixture(Behaviour::Documented);
    let options = ApplyOptions {
        approver: "second@x.test",
        now: &now,
    };
    let Applied::DryRun { lines, any_unsettled } =
        apply(&plan, &mut account, None, &options).expect("dry run")
    else {
        panic!("no journal: a dry run")
    };
    assert!(account.writes.is_empty());
    assert!(!any_unsettled);
    assert!(
        lines[0].contains("would send DELETE /api/v2/agents/2"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains(r#"would send PUT /api/v2/agents/3 {"role_ids":[6]}"#),
        "{lines:?}"
    );
}

fn both<'a>(acme: &'a mut Account, eu: &'a mut Account) -> Apis<'a> {
    let mut apis = Apis::default();
    apis.add("acme", acme);
    apis.add("acme-eu", eu);
    apis
}

/// Agent 2 in acme and agent 2 in acme-eu (ids collide across accounts):
/// revoke acme-eu's only.
fn two_accounts() -> (Plan, Account, Account) {
    let a2 = agent(2, &[5], true, true);
    let mut eu_action = action(1, &a2, ActionKind::Deactivate, None);
    eu_action.account = Some("acme-eu".into());
    let mut p = plan(vec![eu_action]);
    p.accounts = vec!["acme".into(), "acme-eu".into()];
    p.plan_id = p.compute_id();
    let acme = Account::new(Behaviour::Documented, std::slice::from_ref(&a2));
    let eu = Account::new(Behaviour::Documented, &[a2]);
    (p, acme, eu)
}

fn run_accounts(plan: &Plan, apis: &mut Apis, dir: &std::path::Path) -> Result<Remediation, RemediateError> {
    let mut journal = Journal::open(&dir.join(JOURNAL_JSONL), &plan.plan_id)?;
    let options = ApplyOptions {
        approver: "second@x.test",
        now: &now,
    };
    match apply_accounts(plan, apis, Some(&mut journal), &options)? {
        Applied::Done(r) => Ok(r),
        Applied::DryRun { .. } => unreachable!("a journal was given"),
    }
}

#[test]
fn each_action_goes_to_its_own_account_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (plan, mut acme, mut eu) = two_accounts();
    let mut apis = both(&mut acme, &mut eu);
    let r = run_accounts(&plan, &mut apis, dir.path()).expect("applies");
    assert_eq!(outcomes(&r), [(2, Outcome::Done, true)]);
    assert_eq!(r.actions[0].account.as_deref(), Some("acme-eu"));
    assert_eq!(
        r.key_owners,
        BTreeMap::from([("acme".into(), 1), ("acme-eu".into(), 1)])
    );
    drop(apis);
    assert_eq!(eu.writes, BTreeMap::from([(2, 1)]));
    assert!(acme.writes.is_empty(), "acme's agent 2 is another person");
    assert_eq!(acme.requests, 1, "only GET /agents/me");
    let journal = std::fs::read_to_string(dir.path().join(JOURNAL_JSONL)).expect("journal");
    let sent = journal
        .lines()
        .find(|l| l.contains("write-sent"))
        .expect("a write");
    assert!(sent.contains(r#""account":"acme-eu""#), "{sent}");
}

#[test]
fn a_plan_with_an_account_that_has_no_client_sends_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (plan, mut acme, _) = two_accounts();
    let mut apis = Apis::one("acme", &mut acme);
    let err = run_accounts(&plan, &mut apis, dir.path()).expect_err("refused");
    assert!(err.to_string().contains("actions for acme-eu"), "{err}");
    drop(apis);
    assert_eq!(acme.requests, 0);
}

/// acme-eu's key is refused: its writes fail (and are tried again by a
/// re-run), while acme's go on with acme's own client.
#[test]
fn a_refused_key_fails_its_own_accounts_writes_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut plan, mut acme, mut eu) = two_accounts();
    let mut acme_action = action(2, &agent(2, &[5], true, true), ActionKind::Deactivate, None);
    acme_action.account = Some("acme".into());
    plan.actions.push(acme_action);
    plan.plan_id = plan.compute_id();
    eu.crash_after = Some(0);
    let mut apis = both(&mut acme, &mut eu);
    let r = run_accounts(&plan, &mut apis, dir.path()).expect("applies what it can");
    assert_eq!(
        outcomes(&r),
        [(2, Outcome::Failed, false), (2, Outcome::Done, true)]
    );
    assert!(
        r.actions[0]
            .reason
            .as_deref()
            .is_some_and(|w| w.starts_with("nothing was sent: acme-eu's key")),
        "{:?}",
        r.actions[0].reason
    );
    assert_eq!(r.exit_code(), 1);
    drop(apis);
    assert!(eu.writes.is_empty());
    assert_eq!(acme.writes, BTreeMap::from([(2, 1)]));
    // With the key fixed, a re-run carries out acme-eu's action only.
    eu.crash_after = None;
    let mut apis = both(&mut acme, &mut eu);
    let again = run_accounts(&plan, &mut apis, dir.path()).expect("re-run");
    assert_eq!(
        outcomes(&again),
        [(2, Outcome::Done, true), (2, Outcome::Done, true)]
    );
    drop(apis);
    assert_eq!(eu.writes, BTreeMap::from([(2, 1)]));
    assert_eq!(acme.writes, BTreeMap::from([(2, 1)]), "not written twice");
}
