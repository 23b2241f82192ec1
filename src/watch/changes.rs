//! From two complete polls to the changes between them: one pure function
//! ([`changes`]), no clock, no I/O, so it is tested on its own and its
//! output depends on nothing but the two polls.
//!
//! Order within a poll: roles and groups created, then agents by id (each
//! agent's changes in [`EventKind`] order), then roles and groups deleted,
//! then findings opened and resolved by `finding_id`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use super::event::{EventKind, FindingRef};
use super::observed::{AgentView, FindingView, Named, Observed, Status};

/// What a change is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    Agent {
        id: u64,
        email: Option<String>,
    },
    Role {
        id: u64,
        name: String,
    },
    Group {
        id: u64,
        name: String,
    },
    Finding {
        finding: FindingRef,
        agent_id: u64,
        agent_email: Option<String>,
    },
    /// The poll itself (`baseline`, `poll.failed`).
    Poll,
}

impl Subject {
    /// What identifies the subject in an event id.
    pub(crate) fn key(&self) -> String {
        match self {
            Subject::Agent { id, .. } => format!("agent:{id}"),
            Subject::Role { id, .. } => format!("role:{id}"),
            Subject::Group { id, .. } => format!("group:{id}"),
            Subject::Finding { finding, .. } => format!("finding:{}", finding.finding_id),
            Subject::Poll => "poll".to_owned(),
        }
    }
}

/// One change, before the poll's context (times, ids, seq) makes it an event.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub kind: EventKind,
    pub subject: Subject,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// `added`/`removed` for roles and groups, `widened` for the scope.
    pub detail: Option<Value>,
}

/// The changes from `prev` to `cur`. `prev.deleted` says which absent
/// agents were seen deleted before (one that comes back is reactivated);
/// findings are compared only when both polls ran the rules.
pub fn changes(prev: &Observed, cur: &Observed) -> Vec<Change> {
    let mut out = Vec::new();
    named_sets(&prev.roles, &cur.roles, Kinds::ROLES, true, &mut out);
    named_sets(&prev.groups, &cur.groups, Kinds::GROUPS, true, &mut out);
    let ids: BTreeSet<u64> = prev.agents.keys().chain(cur.agents.keys()).copied().collect();
    for id in ids {
        match (prev.agents.get(&id), cur.agents.get(&id)) {
            (Some(before), Some(after)) => agent_changes(before, after, &mut out),
            (None, Some(after)) => match prev.deleted.get(&id) {
                Some(gone) => out.push(agent_change(EventKind::AgentReactivated, Some(gone), Some(after))),
                None => out.push(agent_change(EventKind::AgentCreated, None, Some(after))),
            },
            (Some(before), None) => out.push(agent_change(EventKind::AgentDeleted, Some(before), None)),
            (None, None) => {}
        }
    }
    named_sets(&prev.roles, &cur.roles, Kinds::ROLES, false, &mut out);
    named_sets(&prev.groups, &cur.groups, Kinds::GROUPS, false, &mut out);
    if let (Some(before), Some(after)) = (&prev.findings, &cur.findings) {
        let opened = after.values().filter(|f| !before.contains_key(&f.finding_id));
        out.extend(opened.map(|f| finding_change(EventKind::FindingOpened, f)));
        let resolved = before.values().filter(|f| !after.contains_key(&f.finding_id));
        out.extend(resolved.map(|f| finding_change(EventKind::FindingResolved, f)));
    }
    out
}

/// The agents gone as of `cur`, as last seen: those seen deleted before and
/// still absent, and those `prev` had and `cur` has not.
pub fn carry_deleted(prev: &Observed, cur: &Observed) -> BTreeMap<u64, AgentView> {
    let earlier = prev.deleted.iter().map(|(id, view)| (*id, view.clone()));
    let now = prev.agents.iter().map(|(id, view)| {
        let mut gone = view.clone();
        gone.status = Status::Deleted;
        (*id, gone)
    });
    earlier
        .chain(now)
        .filter(|(id, _)| !cur.agents.contains_key(id))
        .collect()
}

/// The first poll's only event: what it saw, counted.
pub fn baseline(cur: &Observed) -> Change {
    let (active, pending, deactivated) = cur.population();
    Change {
        kind: EventKind::Baseline,
        subject: Subject::Poll,
        before: None,
        after: Some(json!({
            "agents": {"active": active, "pending": pending, "deactivated": deactivated},
            "roles": cur.roles.len(),
            "groups": cur.groups.len(),
            "open_findings": cur.findings.as_ref().map(BTreeMap::len),
            "snapshot_sha256": cur.snapshot_sha256,
        })),
        detail: None,
    }
}

fn agent_changes(before: &AgentView, after: &AgentView, out: &mut Vec<Change>) {
    let status = match (before.status, after.status) {
        (b, a) if b == a => None,
        (Status::Pending, Status::Active) => Some(EventKind::AgentVerified),
        (_, Status::Deactivated) => Some(EventKind::AgentDeactivated),
        (Status::Deactivated | Status::Deleted, _) => Some(EventKind::AgentReactivated),
        _ => Some(EventKind::AgentStatusChanged),
    };
    if let Some(kind) = status {
        out.push(agent_change(kind, Some(before), Some(after)));
    }
    // An email the API did not give this time (the documented API lists a
    // deactivated agent without its contact) is not a change of email.
    if let (Some(was), Some(is)) = (before.key(), after.key())
        && was != is
    {
        out.push(agent_change(
            EventKind::AgentEmailChanged,
            Some(before),
            Some(after),
        ));
    }
    if before.role_ids() != after.role_ids() {
        let detail = added_removed(&before.roles, &after.roles);
        out.push(agent_change(EventKind::AgentRolesChanged, Some(before), Some(after)).with(detail));
    }
    if before.group_ids() != after.group_ids() {
        let detail = added_removed(&before.groups, &after.groups);
        out.push(agent_change(EventKind::AgentGroupsChanged, Some(before), Some(after)).with(detail));
    }
    if before.ticket_scope != after.ticket_scope {
        let widened = scope_rank(after.ticket_scope.as_deref()) > scope_rank(before.ticket_scope.as_deref());
        let detail = json!({ "widened": widened });
        out.push(agent_change(EventKind::AgentScopeChanged, Some(before), Some(after)).with(detail));
    }
}

/// How many tickets a scope shows: Global > Group > Restricted > none.
fn scope_rank(scope: Option<&str>) -> u8 {
    match scope {
        Some("Global") => 3,
        Some("Group") => 2,
        Some("Restricted") => 1,
        _ => 0,
    }
}

fn added_removed(before: &[Named], after: &[Named]) -> Value {
    let missing_from = |side: &[Named], other: &[Named]| -> Vec<Named> {
        side.iter()
            .filter(|n| !other.iter().any(|o| o.id == n.id))
            .cloned()
            .collect()
    };
    json!({ "added": missing_from(after, before), "removed": missing_from(before, after) })
}

fn agent_change(kind: EventKind, before: Option<&AgentView>, after: Option<&AgentView>) -> Change {
    let seen = after.or(before);
    // The latest email known: a deactivated agent may be listed without one.
    let email = [after, before]
        .into_iter()
        .flatten()
        .find_map(|a| a.email.clone());
    Change {
        kind,
        subject: Subject::Agent {
            id: seen.map_or(0, |a| a.id),
            email,
        },
        before: before.map(to_value),
        after: after.map(to_value),
        detail: None,
    }
}

fn finding_change(kind: EventKind, finding: &FindingView) -> Change {
    let (before, after) = match kind {
        EventKind::FindingOpened => (None, Some(to_value(finding))),
        _ => (Some(to_value(finding)), None),
    };
    Change {
        kind,
        subject: Subject::Finding {
            finding: FindingRef {
                finding_id: finding.finding_id.clone(),
                rule: finding.rule.clone(),
                severity: finding.severity.clone(),
            },
            agent_id: finding.agent_id,
            agent_email: finding.agent_email.clone(),
        },
        before,
        after,
        detail: None,
    }
}

/// Which event kinds a set of named objects (roles, groups) gives.
struct Kinds {
    created: EventKind,
    deleted: EventKind,
    subject: fn(u64, String) -> Subject,
}

impl Kinds {
    const ROLES: Kinds = Kinds {
        created: EventKind::RoleCreated,
        deleted: EventKind::RoleDeleted,
        subject: |id, name| Subject::Role { id, name },
    };
    const GROUPS: Kinds = Kinds {
        created: EventKind::GroupCreated,
        deleted: EventKind::GroupDeleted,
        subject: |id, name| Subject::Group { id, name },
    };
}

/// Roles or groups created (`created` true) or deleted between two polls.
fn named_sets(
    prev: &BTreeMap<u64, String>,
    cur: &BTreeMap<u64, String>,
    kinds: Kinds,
    created: bool,
    out: &mut Vec<Change>,
) {
    let (from, to, kind) = if created {
        (prev, cur, kinds.created)
    } else {
        (cur, prev, kinds.deleted)
    };
    for (id, name) in to.iter().filter(|(id, _)| !from.contains_key(id)) {
        let state = Some(to_value(&Named {
            id: *id,
            name: name.clone(),
        }));
        let (before, after) = if created { (None, state) } else { (state, None) };
        out.push(Change {
            kind,
            subject: (kinds.subject)(*id, name.clone()),
            before,
            after,
            detail: None,
        });
    }
}

impl Change {
    fn with(mut self, detail: Value) -> Change {
        self.detail = Some(detail);
        self
    }
}

fn to_value(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::watch::observed::tests::snapshot;

    const LOGIN: &str = "2026-01-01T00:00:00Z";

    /// An agent object as Freshdesk lists it; `active: None` is a deactivated
    /// flag, and `login` whether it ever logged in.
    fn agent(id: u64, active: Option<bool>, login: bool, roles: &[u64], groups: &[u64], scope: u64) -> Value {
        json!({"id": id, "deactivated": active.is_none(), "role_ids": roles, "group_ids": groups,
            "ticket_scope": scope, "contact": {"email": format!("a{id}@acme.test"), "name": format!("A{id}"),
            "active": active.unwrap_or(true), "last_login_at": if login { json!(LOGIN) } else { Value::Null }}})
    }

    fn observed(agents: Vec<Value>, at: &str) -> Observed {
        Observed::from_snapshot(&snapshot(agents, at)).expect("valid")
    }

    fn kinds(changes: &[Change]) -> Vec<(EventKind, String)> {
        changes.iter().map(|c| (c.kind, c.subject.key())).collect()
    }

    #[test]
    fn each_change_of_an_agent_is_one_change_in_a_fixed_order() {
        use EventKind::*;
        let prev = observed(
            vec![
                agent(1, Some(true), true, &[11], &[20], 2),
                agent(2, Some(false), false, &[11], &[20], 2),
                agent(3, Some(true), true, &[11], &[20], 2),
                agent(4, None, true, &[10], &[], 1),
                agent(5, Some(true), true, &[11], &[20], 2),
                agent(6, Some(true), true, &[11], &[20], 2),
            ],
            "2026-06-01T00:00:00Z",
        );
        let mut email = agent(6, Some(true), true, &[11], &[20], 2);
        email["contact"]["email"] = json!("A6@ACME.test");
        let cur = observed(
            vec![
                agent(1, Some(true), true, &[10, 11], &[20, 21], 1),
                agent(2, Some(true), false, &[11], &[20], 2),
                agent(3, None, true, &[11], &[20], 3),
                agent(4, Some(true), true, &[10], &[], 1),
                email,
                agent(7, Some(false), false, &[11], &[], 2),
            ],
            "2026-06-01T00:15:00Z",
        );
        let got = changes(&prev, &cur);
        let want = [
            (AgentRolesChanged, "agent:1"),
            (AgentGroupsChanged, "agent:1"),
            (AgentScopeChanged, "agent:1"),
            (AgentVerified, "agent:2"),
            (AgentDeactivated, "agent:3"),
            (AgentScopeChanged, "agent:3"),
            (AgentReactivated, "agent:4"),
            (AgentDeleted, "agent:5"),
            (AgentCreated, "agent:7"),
        ];
        let want: Vec<(EventKind, String)> = want.iter().map(|(k, s)| (*k, (*s).to_owned())).collect();
        assert_eq!(kinds(&got), want, "a change of case alone is no email change");
        let roles = &got[0];
        assert_eq!(
            roles.detail,
            Some(json!({"added": [{"id": 10, "name": "Administrator"}], "removed": []}))
        );
        assert_eq!(
            roles.before.as_ref().map(|b| b["roles"].clone()),
            Some(json!([{"id": 11, "name": "Agent"}]))
        );
        assert_eq!(got[2].detail, Some(json!({"widened": true})));
        assert_eq!(got[5].detail, Some(json!({"widened": false})));
        let deleted = &got[7];
        assert_eq!(
            (
                deleted.after.clone(),
                deleted.before.as_ref().map(|b| b["status"].clone())
            ),
            (None, Some(json!("active")))
        );
        assert_eq!(got[8].before, None);
        assert_eq!(
            got[8].after.as_ref().map(|a| a["status"].clone()),
            Some(json!("pending"))
        );
        // No change: no events.
        assert_eq!(changes(&cur, &cur), []);
    }

    /// The documented API lists a deactivated agent without its contact:
    /// reactivated, its email reappears, which is no change of email.
    #[test]
    fn an_email_the_api_left_out_is_no_email_change() {
        let mut hidden = agent(1, None, true, &[11], &[], 2);
        hidden.as_object_mut().map(|o| o.remove("contact"));
        let prev = observed(vec![hidden], "2026-06-01T00:00:00Z");
        let cur = observed(
            vec![agent(1, Some(true), true, &[11], &[], 2)],
            "2026-06-01T00:15:00Z",
        );
        let got = changes(&prev, &cur);
        assert_eq!(kinds(&got), [(EventKind::AgentReactivated, "agent:1".to_owned())]);
        let back = changes(&cur, &prev);
        assert_eq!(
            kinds(&back),
            [(EventKind::AgentDeactivated, "agent:1".to_owned())]
        );
        assert_eq!(
            back[0].subject,
            Subject::Agent {
                id: 1,
                email: Some("a1@acme.test".into())
            },
            "the last email known names the agent"
        );
    }

    #[test]
    fn a_deleted_agent_that_comes_back_is_reactivated_not_created() {
        let one = observed(
            vec![agent(1, Some(true), true, &[11], &[], 2)],
            "2026-06-01T00:00:00Z",
        );
        let mut two = observed(Vec::new(), "2026-06-01T00:15:00Z");
        assert_eq!(
            kinds(&changes(&one, &two)),
            [(EventKind::AgentDeleted, "agent:1".to_owned())]
        );
        two.deleted = carry_deleted(&one, &two);
        assert_eq!(two.deleted[&1].status, Status::Deleted);
        let three = observed(
            vec![agent(1, Some(true), true, &[11], &[], 1)],
            "2026-06-01T00:30:00Z",
        );
        let back = changes(&two, &three);
        assert_eq!(
            kinds(&back),
            [(EventKind::AgentReactivated, "agent:1".to_owned())]
        );
        assert_eq!(
            back[0].before.as_ref().map(|b| b["status"].clone()),
            Some(json!("deleted"))
        );
        assert_eq!(
            carry_deleted(&two, &three),
            BTreeMap::new(),
            "back: no longer deleted"
        );
        // Still gone a poll later: still remembered.
        let later = observed(Vec::new(), "2026-06-01T00:30:00Z");
        assert_eq!(carry_deleted(&two, &later).keys().collect::<Vec<_>>(), [&1]);
    }

    #[test]
    fn status_transitions() {
        use EventKind::*;
        // (active flag, logged in): `None` is the deactivated flag.
        type Side = (Option<bool>, bool);
        // (before), (after), the event.
        let table: [(Side, Side, Option<EventKind>); 8] = [
            ((Some(false), false), (Some(true), false), Some(AgentVerified)),
            ((Some(true), true), (Some(false), true), Some(AgentDeactivated)),
            ((Some(false), false), (None, false), Some(AgentDeactivated)),
            ((None, true), (Some(true), true), Some(AgentReactivated)),
            ((Some(false), true), (Some(false), false), Some(AgentReactivated)),
            (
                (Some(true), false),
                (Some(false), false),
                Some(AgentStatusChanged),
            ),
            ((Some(true), true), (Some(true), false), None),
            ((None, true), (Some(false), true), None),
        ];
        for (before, after, want) in table {
            let prev = observed(
                vec![agent(1, before.0, before.1, &[11], &[], 2)],
                "2026-06-01T00:00:00Z",
            );
            let cur = observed(
                vec![agent(1, after.0, after.1, &[11], &[], 2)],
                "2026-06-01T00:15:00Z",
            );
            let got: Vec<EventKind> = changes(&prev, &cur).iter().map(|c| c.kind).collect();
            assert_eq!(
                got,
                want.into_iter().collect::<Vec<_>>(),
                "{before:?} -> {after:?}"
            );
        }
    }

    #[test]
    fn roles_groups_and_findings_come_and_go() {
        use EventKind::*;
        let finding = |id: &str| FindingView {
            finding_id: id.into(),
            rule: "terminated-active".into(),
            severity: "critical".into(),
            agent_id: 1,
            agent_email: Some("a1@acme.test".into()),
            detail: "leaver".into(),
        };
        let mut prev =
            observed(Vec::new(), "2026-06-01T00:00:00Z").with_findings(Some(vec![finding("DA-1")]));
        prev.roles.insert(12, "Old".into());
        prev.groups.remove(&21);
        let cur = observed(Vec::new(), "2026-06-01T00:15:00Z").with_findings(Some(vec![finding("DA-2")]));
        let got = changes(&prev, &cur);
        let want = [
            (GroupCreated, "group:21"),
            (RoleDeleted, "role:12"),
            (FindingOpened, "finding:DA-2"),
            (FindingResolved, "finding:DA-1"),
        ];
        let want: Vec<(EventKind, String)> = want.iter().map(|(k, s)| (*k, (*s).to_owned())).collect();
        assert_eq!(kinds(&got), want);
        assert_eq!(got[0].after, Some(json!({"id": 21, "name": "Tier 2"})));
        assert_eq!(got[1].before, Some(json!({"id": 12, "name": "Old"})));
        assert_eq!(
            got[2].after.as_ref().map(|a| a["rule"].clone()),
            Some(json!("terminated-active"))
        );
        // The rules ran on one side only: nothing to compare.
        let without = observed(Vec::new(), "2026-06-01T00:30:00Z");
        assert!(changes(&cur, &without).iter().all(|c| c.kind != FindingResolved));
        assert!(changes(&without, &cur).iter().all(|c| c.kind != FindingOpened));
    }

    #[test]
    fn the_baseline_counts_what_the_first_poll_saw() {
        let first = observed(
            vec![
                agent(1, Some(true), true, &[11], &[], 2),
                agent(2, Some(false), false, &[11], &[], 2),
            ],
            "2026-06-01T00:00:00Z",
        );
        let change = baseline(&first);
        assert_eq!(change.kind, EventKind::Baseline);
        let after = change.after.unwrap_or_default();
        assert_eq!(
            after["agents"],
            json!({"active": 1, "pending": 1, "deactivated": 0})
        );
        assert_eq!(
            (after["roles"].clone(), after["open_findings"].clone()),
            (json!(2), Value::Null)
        );
        assert_eq!(after["snapshot_sha256"], json!(first.snapshot_sha256));
    }
}
