//! The planner: the privileged-holder guard, approvals, several accounts.
use serde_json::json;

use super::*;

fn directory() -> Directory {
    Directory::from_snapshot(&snapshot("acme")).expect("directory")
}

fn snapshot(domain: &str) -> Snapshot {
    serde_json::from_value(json!({
        "schema_version": 1,
        "meta": {"domain": domain, "tool_version": "0", "started_at": "2026-10-01T00:00:00Z",
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
    .expect("snapshot")
}

fn revoke((account, id): (&str, u64)) -> serde_json::Value {
    json!({"account": account, "agent_id": id, "agent_email": format!("a{id}@x.test"),
           "decision": "revoke", "reviewer": "r@x.test", "justification": "left"})
}

/// Agent 1 is each account's only active Account Administrator: revoking
/// both is blocked twice, since each account keeps its own holder; each
/// action names its account, in the run's order.
#[test]
fn several_accounts_each_keep_their_privileged_holder() {
    let (acme, eu) = (snapshot("acme"), snapshot("acme-eu"));
    let parts = [&acme, &eu].map(|s| Directory::from_snapshot(s).expect("directory"));
    let directory = Directory::merge(parts.into()).expect("merged");
    let revokes = [("acme-eu", 1), ("acme", 1), ("acme-eu", 2)].map(revoke);
    let decisions: Decisions = serde_json::from_value(json!({
        "schema_version": 1, "imported_at": "2026-10-02T00:00:00Z",
        "workbook": {"path": "w.csv", "sha256": "00"},
        "decisions": revokes,
    }))
    .expect("decisions");
    let plan = |decisions: &Decisions| {
        actions(
            &[&acme, &eu],
            &directory,
            decisions,
            &Policy::default(),
            &Targets::new(),
        )
    };
    let got = plan(&decisions).expect("actions");
    let shown: Vec<(Option<&str>, u64, ActionKind)> = got
        .iter()
        .map(|a| (a.account.as_deref(), a.agent_id, a.action))
        .collect();
    assert_eq!(
        shown,
        [
            (Some("acme"), 1, ActionKind::Blocked),
            (Some("acme-eu"), 1, ActionKind::Blocked),
            (Some("acme-eu"), 2, ActionKind::Deactivate)
        ]
    );
    let mut unnamed = decisions.clone();
    unnamed.decisions[0].account = None;
    let err = plan(&unnamed).expect_err("which account?");
    assert!(err.contains("names no account"), "{err}");
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

/// A plan of `actions` for acme, its id computed (shared with apply's tests).
pub(in crate::remediate) fn plan_of(actions: Vec<Action>) -> Plan {
    let mut plan = Plan {
        schema_version: SCHEMA_VERSION,
        plan_id: String::new(),
        domain: "acme".into(),
        accounts: Vec::new(),
        run: PlanRun {
            as_of: "2026-10-01T00:00:00Z".parse().expect("ts"),
            snapshot_sha256: "s".into(),
            findings_sha256: "f".into(),
            decisions_sha256: "d".into(),
        },
        actions,
    };
    plan.plan_id = plan.compute_id();
    plan
}

#[test]
fn an_approval_quotes_the_id_whole_or_its_first_twelve_digits() {
    let plan = plan_of(Vec::new());
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
