//! The diff on in-memory sides: each list, each resolution, each decision outcome.

use serde_json::json;

use super::decisions::Now;
use super::findings::Resolution;
use super::side::test_support::{agent, record, side};
use super::*;
use crate::rundir::{Decision, DecisionKind, Decisions, WorkbookRef};

const OLD: &str = "2026-07-01T00:00:00Z";
const NEW: &str = "2026-10-01T00:00:00Z";

fn ids(list: &[FindingChange]) -> Vec<&str> {
    list.iter().map(|f| f.finding_id.as_str()).collect()
}

#[test]
fn findings_are_new_resolved_accepted_or_persisting() {
    let agents = json!([
        agent(1, "active", &[2], &[], 2),
        agent(2, "active", &[2], &[], 2),
        agent(3, "active", &[2], &[], 2),
        agent(4, "active", &[2], &[], 2),
        agent(5, "active", &[2], &[], 2),
    ]);
    let old = side(
        OLD,
        agents.clone(),
        json!([]),
        &[
            ("dormant-agent", 1, "medium"),
            ("terminated-active", 2, "high"),
            ("privileged-agent", 3, "info"),
            ("orphaned-agent", 4, "high"),
        ],
    );
    let mut new = side(
        NEW,
        agents,
        json!([]),
        &[("terminated-active", 2, "critical"), ("stale-invite", 5, "low")],
    );
    let mut accepted = record(("privileged-agent", 3, "info"));
    accepted.rest.insert(
        "exception".into(),
        json!({"approver": "CISO", "expires": "2027-01-31T23:59:59Z", "justification": "owner"}),
    );
    new.suppressed.push(accepted);

    let diff = Diff::compute(&old, &new);
    let f = &diff.findings;
    assert_eq!(ids(&f.new), ["stale-invite:5"]);
    assert_eq!(ids(&f.persisting), ["terminated-active:2"]);
    assert_eq!(f.persisting[0].severity, "critical");
    assert_eq!(f.persisting[0].old_severity.as_deref(), Some("high"));
    assert_eq!(ids(&f.accepted), ["privileged-agent:3"]);
    assert_eq!(
        f.accepted[0].note.as_deref(),
        Some("accepted by CISO until 2027-01-31T23:59:59Z: owner")
    );
    // Sorted as the findings files are: severity first, then rule.
    assert_eq!(ids(&f.resolved), ["orphaned-agent:4", "dormant-agent:1"]);
    assert!(
        f.resolved
            .iter()
            .all(|r| r.resolution == Some(Resolution::ConditionCleared))
    );
    assert_eq!(diff.summary.severity_changed, 1);
}

#[test]
fn a_resolution_says_why_the_finding_went_away() {
    let old_agents = json!([
        agent(1, "active", &[], &[], 2),
        agent(2, "active", &[], &[], 2),
        agent(3, "active", &[], &[], 2),
        agent(4, "active", &[], &[], 2),
        agent(5, "active", &[], &[], 2),
    ]);
    let findings: Vec<(&str, u64, &str)> = (1..=5).map(|id| ("dormant-agent", id, "medium")).collect();
    let mut findings = findings;
    findings[4].0 = "idp-not-assigned";
    let old = side(OLD, old_agents, json!([]), &findings);
    let mut new = side(
        NEW,
        json!([
            agent(1, "deactivated", &[], &[], 2),
            agent(2, "active", &[], &[], 2),
            agent(5, "active", &[], &[], 2)
        ]),
        json!([{"id": 3, "email": "a3@acme.test"}]),
        &[],
    );
    new.rules_run = vec!["dormant-agent".into()];
    let diff = Diff::compute(&old, &new);
    let why: Vec<(u64, Option<Resolution>)> = diff
        .findings
        .resolved
        .iter()
        .map(|f| (f.agent_id, f.resolution))
        .collect();
    assert_eq!(
        why,
        [
            (1, Some(Resolution::AgentDeactivated)),
            (2, Some(Resolution::ConditionCleared)),
            (3, Some(Resolution::AgentDeleted)),
            (4, Some(Resolution::AgentMissing)),
            (5, Some(Resolution::RuleNotRun)),
        ]
    );
}

#[test]
fn a_finding_whose_exception_lapsed_is_new_with_a_note() {
    let agents = json!([agent(1, "active", &[], &[], 2)]);
    let mut old = side(OLD, agents.clone(), json!([]), &[]);
    old.suppressed.push(record(("dormant-agent", 1, "medium")));
    let new = side(NEW, agents, json!([]), &[("dormant-agent", 1, "medium")]);
    let diff = Diff::compute(&old, &new);
    assert_eq!(ids(&diff.findings.new), ["dormant-agent:1"]);
    let note = diff.findings.new[0].note.as_deref().unwrap_or_default();
    assert!(note.contains("exception expired"), "{note}");
}

#[test]
fn agents_added_removed_and_changed() {
    let old = side(
        OLD,
        json!([
            agent(1, "active", &[1], &[10], 1),
            agent(2, "active", &[2], &[], 2),
            agent(3, "active", &[2], &[], 2),
            agent(4, "pending", &[2], &[], 2),
        ]),
        json!([]),
        &[],
    );
    let new = side(
        NEW,
        json!([
            agent(1, "active", &[2], &[10], 1),
            agent(4, "active", &[2], &[], 2),
            agent(5, "pending", &[2], &[], 2)
        ]),
        json!([{"id": 2, "email": "a2@acme.test"}]),
        &[],
    );
    let diff = Diff::compute(&old, &new);
    let a = &diff.agents;
    assert_eq!(a.added.iter().map(|x| x.agent_id).collect::<Vec<_>>(), [5]);
    let removed: Vec<(u64, RemovalReason, Option<u64>)> = a
        .removed
        .iter()
        .map(|r| (r.agent.agent_id, r.reason, r.contact_id))
        .collect();
    assert_eq!(
        removed,
        [
            (2, RemovalReason::Deleted, Some(2)),
            (3, RemovalReason::Missing, None)
        ]
    );
    assert_eq!(a.status_changed.len(), 1);
    assert_eq!(
        (
            a.status_changed[0].agent_id,
            a.status_changed[0].before,
            a.status_changed[0].after
        ),
        (
            4,
            crate::model::AgentStatus::Pending,
            crate::model::AgentStatus::Active
        )
    );
    assert_eq!(a.access_changed.len(), 1);
    assert_eq!(
        a.access_changed[0].delta.describe(),
        "roles -Administrator +Agent"
    );
    assert!(
        diff.warnings
            .iter()
            .any(|w| w.contains("1 agent(s) of OLD's snapshot are missing"))
    );
}

fn decision(agent_id: u64, kind: DecisionKind) -> Decision {
    Decision {
        account: None,
        agent_id,
        agent_email: format!("a{agent_id}@acme.test"),
        decision: kind,
        reviewer: "lead@acme.test".into(),
        justification: "why".into(),
        finding_ids: Vec::new(),
        target: None,
    }
}

#[test]
fn revokes_are_carried_out_only_when_access_is_gone() {
    let old_agents: Vec<_> = (1..=5).map(|id| agent(id, "active", &[2], &[], 2)).collect();
    let mut old = side(OLD, json!(old_agents), json!([]), &[]);
    old.decisions = Some(Decisions {
        schema_version: 1,
        imported_at: "2026-07-10T00:00:00Z".parse().expect("ts"),
        workbook: WorkbookRef {
            path: "w.xlsx".into(),
            sha256: "00".into(),
        },
        run: None,
        decisions: (1..=5).map(|id| decision(id, DecisionKind::Revoke)).collect(),
    });
    let new = side(
        NEW,
        json!([
            agent(1, "active", &[2], &[], 2),
            agent(2, "pending", &[2], &[], 2),
            agent(3, "deactivated", &[2], &[], 2)
        ]),
        json!([{"id": 4, "email": "a4@acme.test"}]),
        &[],
    );
    let d = Diff::compute(&old, &new).decisions;
    let not: Vec<(u64, Now)> = d
        .revokes_not_carried_out
        .iter()
        .map(|c| (c.agent_id, c.now))
        .collect();
    assert_eq!(not, [(1, Now::Active), (2, Now::Pending)]);
    let done: Vec<(u64, Now)> = d
        .revokes_carried_out
        .iter()
        .map(|c| (c.agent_id, c.now))
        .collect();
    assert_eq!(done, [(3, Now::Deactivated), (4, Now::Deleted), (5, Now::Absent)]);
    assert!(d.revokes_carried_out[2].detail.contains("cannot be confirmed"));
}

/// OLD's own remediation, where it verified a revoke, is the evidence named;
/// a revoke it verified but NEW shows restored is not carried out.
#[test]
fn revokes_name_the_remediation_that_verified_them() {
    use crate::remediate::{ActionKind, ActionOutcome, Outcome as Done, Remediation};
    let old_agents: Vec<_> = (1..=3).map(|id| agent(id, "active", &[2], &[], 2)).collect();
    let mut old = side(OLD, json!(old_agents), json!([]), &[]);
    old.decisions = Some(Decisions {
        schema_version: 1,
        imported_at: "2026-07-10T00:00:00Z".parse().expect("ts"),
        workbook: WorkbookRef {
            path: "w.csv".into(),
            sha256: "00".into(),
        },
        run: None,
        decisions: (1..=3).map(|id| decision(id, DecisionKind::Revoke)).collect(),
    });
    let verified: jiff::Timestamp = "2026-07-11T09:00:00Z".parse().expect("ts");
    let action = |id: u64| ActionOutcome {
        seq: id as u32,
        account: None,
        agent_id: id,
        agent_email: format!("a{id}@acme.test"),
        decision: DecisionKind::Revoke,
        action: ActionKind::Deactivate,
        outcome: Done::Done,
        verified: true,
        at: Some(verified),
        reason: None,
        read_back: Some(None),
        writes: 1,
    };
    old.remediation = Some(Remediation {
        schema_version: 1,
        plan_id: "p".into(),
        domain: "acme".into(),
        approver: "ciso@acme.test".into(),
        key_owner: 9,
        key_owners: Default::default(),
        started_at: verified,
        finished_at: verified,
        actions: vec![action(1), action(2)],
        summary: Default::default(),
    });
    // 1 deleted as remediated; 2 remediated, then reactivated; 3 deactivated by hand.
    let new = side(
        NEW,
        json!([
            agent(2, "active", &[2], &[], 2),
            agent(3, "deactivated", &[2], &[], 2)
        ]),
        json!([{"id": 1, "email": "a1@acme.test"}]),
        &[],
    );
    let d = Diff::compute(&old, &new).decisions;
    let done: Vec<(u64, &str, jiff::Timestamp)> = d
        .revokes_carried_out
        .iter()
        .map(|c| {
            let by = c.carried_out.as_ref().expect("how it is known");
            (c.agent_id, by.by, by.at)
        })
        .collect();
    assert_eq!(
        done,
        [
            (1, "remediation", verified),
            (3, "snapshot", NEW.parse().expect("ts"))
        ]
    );
    let restored = &d.revokes_not_carried_out[0];
    assert_eq!(restored.agent_id, 2);
    assert!(restored.detail.contains("restored since"), "{}", restored.detail);
    assert!(restored.carried_out.is_none());
}

#[test]
fn modifies_compare_roles_groups_and_scope() {
    let mut old = side(
        OLD,
        json!([
            agent(1, "active", &[1], &[10], 1),
            agent(2, "active", &[2], &[10], 2),
            agent(3, "active", &[2], &[10], 2),
        ]),
        json!([]),
        &[],
    );
    old.decisions = Some(Decisions {
        schema_version: 1,
        imported_at: "2026-07-10T00:00:00Z".parse().expect("ts"),
        workbook: WorkbookRef {
            path: "w.xlsx".into(),
            sha256: "00".into(),
        },
        run: None,
        decisions: vec![
            decision(1, DecisionKind::Modify),
            decision(2, DecisionKind::Modify),
            decision(3, DecisionKind::Modify),
            decision(9, DecisionKind::Modify),
            decision(2, DecisionKind::Keep),
        ],
    });
    let new = side(
        NEW,
        json!([
            agent(1, "active", &[1], &[10], 2),
            agent(2, "active", &[2], &[10], 2),
            agent(3, "deactivated", &[2], &[10], 2),
        ]),
        json!([]),
        &[],
    );
    let diff = Diff::compute(&old, &new);
    let outcomes: Vec<(u64, Outcome)> = diff
        .decisions
        .modifies
        .iter()
        .map(|c| (c.agent_id, c.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            (1, Outcome::Changed),
            (2, Outcome::Unchanged),
            (3, Outcome::Changed),
            (9, Outcome::Unknown),
        ]
    );
    assert_eq!(diff.decisions.modifies[0].detail, "ticket scope Global -> Group");
    assert_eq!(diff.decisions.modifies[2].detail, "deactivated");
    assert_eq!(diff.decisions.keeps.len(), 1);
    assert_eq!(diff.decisions.keeps[0].outcome, Outcome::Kept);
    assert_eq!(
        (
            diff.summary.modifies_changed,
            diff.summary.modifies_unchanged,
            diff.summary.modifies_unknown
        ),
        (2, 1, 1)
    );
}

#[test]
fn without_decisions_the_section_says_none_were_recorded() {
    let old = side(OLD, json!([]), json!([]), &[]);
    let new = side(NEW, json!([]), json!([]), &[]);
    let diff = Diff::compute(&old, &new);
    assert!(!diff.decisions.recorded);
    let mut text = Vec::new();
    write_text(&diff, &mut text).expect("text");
    let text = String::from_utf8(text).expect("utf-8");
    assert!(text.contains("Decisions: none recorded in OLD"), "{text}");
    assert!(!diff.one_line().contains("revokes"));
}

#[test]
fn warns_when_new_is_not_after_old_or_is_the_same_snapshot() {
    let old = side(NEW, json!([]), json!([]), &[]);
    let mut new = side(OLD, json!([]), json!([]), &[]);
    new.domain = "other".into();
    let diff = Diff::compute(&old, &new);
    let w = diff.warnings.join("\n");
    assert!(
        w.contains("NEW's as-of (2026-07-01T00:00:00Z) is not after OLD's (2026-10-01T00:00:00Z)"),
        "{w}"
    );
    assert!(w.contains("same snapshot"), "{w}");
    assert!(w.contains("different accounts (OLD: acme, NEW: other)"), "{w}");
    let fine = Diff::compute(
        &side(OLD, json!([]), json!([]), &[]),
        &side(NEW, json!([agent(1, "active", &[], &[], 2)]), json!([]), &[]),
    );
    assert!(fine.warnings.is_empty(), "{:?}", fine.warnings);
}

#[test]
fn text_puts_unmet_revokes_before_everything_else() {
    let mut old = side(OLD, json!([agent(1, "active", &[2], &[], 2)]), json!([]), &[]);
    old.decisions = Some(Decisions {
        schema_version: 1,
        imported_at: "2026-07-10T00:00:00Z".parse().expect("ts"),
        workbook: WorkbookRef {
            path: "w.xlsx".into(),
            sha256: "00".into(),
        },
        run: None,
        decisions: vec![decision(1, DecisionKind::Revoke)],
    });
    let new = side(NEW, json!([agent(1, "active", &[2], &[], 2)]), json!([]), &[]);
    let diff = Diff::compute(&old, &new);
    let mut text = Vec::new();
    write_text(&diff, &mut text).expect("text");
    let text = String::from_utf8(text).expect("utf-8");
    let loud = text.find("!! 1 REVOKE(S) NOT CARRIED OUT").expect("loud line");
    assert!(loud < text.find("Findings:").expect("findings"), "{text}");
    assert!(
        diff.one_line()
            .ends_with("revokes: 0 carried out, 1 NOT carried out")
    );
}

#[test]
fn a_directory_that_is_not_a_run_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Side::from_run_dir(dir.path()).expect_err("no run.json");
    assert!(err.to_string().contains("not an audit directory"), "{err}");
    std::fs::write(dir.path().join("run.json"), "{\n  \"schema_version\": 1,\n  oops").expect("write");
    let err = Side::from_run_dir(dir.path())
        .expect_err("bad run.json")
        .to_string();
    assert!(err.contains("run.json: line 3"), "{err}");
}
