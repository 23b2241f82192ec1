//! The diff of runs of several accounts: agents keyed by (account, id),
//! entries labelled with their account, an account on one side only.

use serde_json::json;

use super::side::test_support::{agent, record, side};
use super::side::{AccountRef, AgentKey};
use super::*;
use crate::rundir::{Decision, DecisionKind, Decisions, WorkbookRef};

const OLD: &str = "2026-07-01T00:00:00Z";
const NEW: &str = "2026-10-01T00:00:00Z";

/// `parts` (one-account sides, each relabelled `domain`) as one side of several.
fn several(parts: Vec<(&str, Side)>) -> Side {
    let mut whole = parts[0].1.clone();
    whole.population = Population::default();
    whole.findings.clear();
    whole.accounts.clear();
    for (domain, part) in parts {
        for (key, mut a) in part.population.agents {
            a.account = domain.to_owned();
            whole.population.agents.insert(AgentKey::new(domain, key.id), a);
        }
        for (key, mut c) in part.population.contacts {
            c.account = domain.to_owned();
            whole.population.contacts.insert(AgentKey::new(domain, key.id), c);
        }
        for mut f in part.findings {
            f.rest.insert("account".into(), json!(domain));
            whole.findings.push(f);
        }
        whole.accounts.push(AccountRef {
            domain: domain.to_owned(),
            ..part.accounts[0].clone()
        });
    }
    whole.domain = whole.accounts[0].domain.clone();
    whole
}

#[test]
fn a_colliding_id_changed_in_one_account_is_named_with_that_account_only() {
    let same = || side(OLD, json!([agent(1, "active", &[2], &[10], 2)]), json!([]), &[]);
    let old = several(vec![("acme", same()), ("acme-eu", same())]);
    let changed = side(NEW, json!([agent(1, "active", &[1], &[10], 2)]), json!([]), &[]);
    let new = several(vec![("acme", same()), ("acme-eu", changed)]);
    let diff = Diff::compute(&old, &new);
    let access = &diff.agents.access_changed;
    assert_eq!(access.len(), 1, "{access:?}");
    assert_eq!(access[0].account.as_deref(), Some("acme-eu"));
    assert!(diff.agents.added.is_empty() && diff.agents.removed.is_empty());
    let accounts = diff.accounts.as_ref().expect("accounts compared");
    assert_eq!(accounts.compared, ["acme", "acme-eu"]);
    let mut text = Vec::new();
    write_text(&diff, &mut text).expect("text");
    let text = String::from_utf8(text).expect("utf-8");
    assert!(
        text.contains("~ acme-eu/1 a1@acme.test: roles -Agent +Administrator"),
        "{text}"
    );
    assert!(!text.contains("~ acme/1"), "{text}");
}

#[test]
fn findings_of_several_accounts_match_by_account_rule_and_agent() {
    let one = |findings: &[(&str, u64, &str)]| {
        side(
            OLD,
            json!([agent(1, "active", &[2], &[], 2)]),
            json!([]),
            findings,
        )
    };
    let old = several(vec![
        ("acme", one(&[("dormant-agent", 1, "medium")])),
        ("acme-eu", one(&[])),
    ]);
    let new = several(vec![
        ("acme", one(&[])),
        ("acme-eu", one(&[("dormant-agent", 1, "medium")])),
    ]);
    let diff = Diff::compute(&old, &new);
    let f = &diff.findings;
    assert_eq!(f.new.len(), 1);
    assert_eq!(f.new[0].account.as_deref(), Some("acme-eu"));
    assert_eq!(f.resolved.len(), 1);
    assert_eq!(f.resolved[0].account.as_deref(), Some("acme"));
    assert!(f.persisting.is_empty());
}

#[test]
fn an_account_on_one_side_only_is_reported_as_a_whole() {
    let one = |at, findings: &[(&str, u64, &str)]| {
        side(
            at,
            json!([agent(1, "active", &[2], &[], 2), agent(2, "active", &[2], &[], 2)]),
            json!([]),
            findings,
        )
    };
    let old = several(vec![
        ("acme", one(OLD, &[])),
        ("acme-old", one(OLD, &[("dormant-agent", 2, "medium")])),
    ]);
    let new = several(vec![
        ("acme", one(NEW, &[])),
        ("acme-eu", one(NEW, &[("orphaned-agent", 1, "high")])),
    ]);
    let mut with_decision = old.clone();
    with_decision.decisions = Some(Decisions {
        schema_version: 1,
        run: None,
        imported_at: OLD.parse().expect("ts"),
        workbook: WorkbookRef {
            path: "w.xlsx".into(),
            sha256: "0".into(),
        },
        decisions: vec![Decision {
            agent_id: 2,
            agent_email: "a2@acme.test".into(),
            decision: DecisionKind::Revoke,
            reviewer: "lead@acme.test".into(),
            justification: "left".into(),
            finding_ids: vec!["dormant-agent:2".into()],
            target: None,
            // As decisions.json before decisions named their account: found
            // through the finding it cites.
            account: None,
        }],
    });
    // acme-old's agent 2 has a finding cited by the decision; acme also has an agent 2.
    with_decision.findings = vec![{
        let mut f = record(("dormant-agent", 2, "medium"));
        f.rest.insert("account".into(), json!("acme-old"));
        f
    }];
    let diff = Diff::compute(&with_decision, &new);
    let accounts = diff.accounts.as_ref().expect("accounts");
    assert_eq!(accounts.compared, ["acme"]);
    assert_eq!(
        accounts
            .added
            .iter()
            .map(|a| a.domain.as_str())
            .collect::<Vec<_>>(),
        ["acme-eu"]
    );
    assert_eq!(
        accounts
            .removed
            .iter()
            .map(|a| a.domain.as_str())
            .collect::<Vec<_>>(),
        ["acme-old"]
    );
    // Not every agent of those accounts added or removed.
    assert!(diff.agents.added.is_empty() && diff.agents.removed.is_empty());
    assert_eq!(
        diff.findings.new[0].note.as_deref(),
        Some("OLD did not audit account acme-eu")
    );
    assert_eq!(
        diff.findings.resolved[0].resolution,
        Some(findings::Resolution::AccountNotAudited)
    );
    // The revoke in an account NEW did not audit is neither carried out nor not.
    let d = &diff.decisions;
    assert!(d.revokes_carried_out.is_empty() && d.revokes_not_carried_out.is_empty());
    assert_eq!(d.unchecked.len(), 1);
    assert_eq!(d.unchecked[0].account.as_deref(), Some("acme-old"));
    assert!(
        diff.warnings
            .iter()
            .any(|w| w.contains("account acme-old was audited by OLD only"))
    );
}

#[test]
fn one_account_runs_of_different_domains_still_compare_by_id() {
    let old = side(OLD, json!([agent(1, "active", &[2], &[], 2)]), json!([]), &[]);
    let mut new = side(NEW, json!([agent(1, "active", &[2], &[], 2)]), json!([]), &[]);
    new.domain = "acme-renamed".into();
    new.accounts[0].domain = "acme-renamed".into();
    let diff = Diff::compute(&old, &new);
    assert!(diff.accounts.is_none());
    assert!(diff.agents.added.is_empty() && diff.agents.removed.is_empty());
    let json = serde_json::to_value(&diff).expect("json");
    assert!(json["new"].get("accounts").is_none());
    assert!(diff.warnings.iter().any(|w| w.contains("different accounts")));
}

#[test]
fn a_decision_that_names_its_account_is_checked_there_though_the_id_is_in_both() {
    let agent_1 = |status| side(OLD, json!([agent(1, status, &[2], &[], 2)]), json!([]), &[]);
    let mut old = several(vec![("acme", agent_1("active")), ("acme-eu", agent_1("active"))]);
    let new = several(vec![
        ("acme", agent_1("active")),
        ("acme-eu", agent_1("deactivated")),
    ]);
    let revoke = |account: Option<&str>| Decision {
        agent_id: 1,
        agent_email: "a1@acme.test".into(),
        decision: DecisionKind::Revoke,
        reviewer: "lead@acme.test".into(),
        justification: "left".into(),
        finding_ids: Vec::new(),
        target: None,
        account: account.map(str::to_owned),
    };
    let decisions = |d| Decisions {
        schema_version: 1,
        run: None,
        imported_at: OLD.parse().expect("ts"),
        workbook: WorkbookRef {
            path: "w.csv".into(),
            sha256: "0".into(),
        },
        decisions: vec![d],
    };
    // Id 1 in both accounts and no finding cited: only the recorded account tells.
    old.decisions = Some(decisions(revoke(Some("acme-eu"))));
    let d = Diff::compute(&old, &new).decisions;
    assert!(d.unchecked.is_empty(), "{:?}", d.unchecked);
    assert_eq!(d.revokes_carried_out.len(), 1);
    assert_eq!(d.revokes_carried_out[0].account.as_deref(), Some("acme-eu"));
    // In acme, where agent 1 is still active, the same revoke is not carried out.
    old.decisions = Some(decisions(revoke(Some("acme"))));
    let d = Diff::compute(&old, &new).decisions;
    assert_eq!(d.revokes_not_carried_out.len(), 1);
    assert_eq!(d.revokes_not_carried_out[0].account.as_deref(), Some("acme"));
    // Without it (decisions.json of before), the diff cannot tell which.
    old.decisions = Some(decisions(revoke(None)));
    assert_eq!(Diff::compute(&old, &new).decisions.unchecked.len(), 1);
}
