//! The event format (`schema_version` 1), one JSON object a line in
//! `events.jsonl`: a versioned DTO built from the changes of one poll, never
//! an internal type, so the inside can change without breaking a SIEM's
//! parser. docs/watch.md describes every field.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::changes::{Change, Subject};
use super::observed::Observed;

pub const SCHEMA_VERSION: u32 = 1;

/// What happened. The names are the contract's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "baseline")]
    Baseline,
    #[serde(rename = "poll.failed")]
    PollFailed,
    #[serde(rename = "agent.created")]
    AgentCreated,
    #[serde(rename = "agent.verified")]
    AgentVerified,
    #[serde(rename = "agent.reactivated")]
    AgentReactivated,
    #[serde(rename = "agent.deactivated")]
    AgentDeactivated,
    #[serde(rename = "agent.deleted")]
    AgentDeleted,
    /// Any other change of status (an active agent that is an invite again).
    #[serde(rename = "agent.status_changed")]
    AgentStatusChanged,
    #[serde(rename = "agent.email_changed")]
    AgentEmailChanged,
    #[serde(rename = "agent.roles_changed")]
    AgentRolesChanged,
    #[serde(rename = "agent.groups_changed")]
    AgentGroupsChanged,
    #[serde(rename = "agent.scope_changed")]
    AgentScopeChanged,
    #[serde(rename = "role.created")]
    RoleCreated,
    #[serde(rename = "role.deleted")]
    RoleDeleted,
    #[serde(rename = "group.created")]
    GroupCreated,
    #[serde(rename = "group.deleted")]
    GroupDeleted,
    #[serde(rename = "finding.opened")]
    FindingOpened,
    #[serde(rename = "finding.resolved")]
    FindingResolved,
}

impl EventKind {
    pub const ALL: [EventKind; 18] = [
        EventKind::Baseline,
        EventKind::PollFailed,
        EventKind::AgentCreated,
        EventKind::AgentVerified,
        EventKind::AgentReactivated,
        EventKind::AgentDeactivated,
        EventKind::AgentDeleted,
        EventKind::AgentStatusChanged,
        EventKind::AgentEmailChanged,
        EventKind::AgentRolesChanged,
        EventKind::AgentGroupsChanged,
        EventKind::AgentScopeChanged,
        EventKind::RoleCreated,
        EventKind::RoleDeleted,
        EventKind::GroupCreated,
        EventKind::GroupDeleted,
        EventKind::FindingOpened,
        EventKind::FindingResolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Baseline => "baseline",
            EventKind::PollFailed => "poll.failed",
            EventKind::AgentCreated => "agent.created",
            EventKind::AgentVerified => "agent.verified",
            EventKind::AgentReactivated => "agent.reactivated",
            EventKind::AgentDeactivated => "agent.deactivated",
            EventKind::AgentDeleted => "agent.deleted",
            EventKind::AgentStatusChanged => "agent.status_changed",
            EventKind::AgentEmailChanged => "agent.email_changed",
            EventKind::AgentRolesChanged => "agent.roles_changed",
            EventKind::AgentGroupsChanged => "agent.groups_changed",
            EventKind::AgentScopeChanged => "agent.scope_changed",
            EventKind::RoleCreated => "role.created",
            EventKind::RoleDeleted => "role.deleted",
            EventKind::GroupCreated => "group.created",
            EventKind::GroupDeleted => "group.deleted",
            EventKind::FindingOpened => "finding.opened",
            EventKind::FindingResolved => "finding.resolved",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRef {
    pub id: u64,
    pub email: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedRef {
    pub id: u64,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRef {
    pub finding_id: String,
    pub rule: String,
    pub severity: String,
}

/// One line of `events.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub schema_version: u32,
    /// Stable across restarts: a hash of the poll and the event's content.
    pub event_id: String,
    /// 1, 2, 3, ... in the order of `events.jsonl`.
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The Freshdesk subdomain.
    pub domain: String,
    /// The account (its domain) where `watch --accounts` watches several;
    /// absent for a one-account watch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub poll_id: String,
    /// This poll's finish: the change had happened by then.
    pub observed_at: Timestamp,
    /// The previous complete poll's start: the change happened after it
    /// (`null` for the baseline).
    pub previous_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<NamedRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<NamedRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<FindingRef>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// What changed, where a list or a direction says more than before/after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Value>,
    /// Why the poll failed (`poll.failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What every event of one poll shares.
#[derive(Clone, Debug, PartialEq)]
pub struct PollContext {
    pub domain: String,
    /// Set where several accounts are watched: every event then names it.
    pub account: Option<String>,
    pub poll_id: String,
    pub observed_at: Timestamp,
    pub previous_at: Option<Timestamp>,
}

impl PollContext {
    /// The poll that saw `cur`, after the one that saw `prev`.
    pub fn new(cur: &Observed, prev: Option<&Observed>) -> PollContext {
        PollContext {
            domain: cur.domain.clone(),
            account: None,
            poll_id: poll_id(&[&cur.domain, &cur.snapshot_sha256, &cur.collected_at.to_string()]),
            observed_at: cur.collected_at,
            previous_at: prev.map(|p| p.started_at),
        }
    }

    /// A poll that did not complete: started at `started_at`, given up at `at`.
    pub fn failed(
        domain: &str,
        started_at: Timestamp,
        at: Timestamp,
        previous_at: Option<Timestamp>,
    ) -> PollContext {
        PollContext {
            domain: domain.to_owned(),
            account: None,
            poll_id: poll_id(&[domain, "failed", &started_at.to_string()]),
            observed_at: at,
            previous_at,
        }
    }
}

fn poll_id(parts: &[&str]) -> String {
    format!(
        "p-{}",
        &hex::encode(Sha256::digest(parts.join("\0").as_bytes()))[..16]
    )
}

/// The events of one poll, numbered from `first_seq`, in the order given.
pub fn assemble(ctx: &PollContext, changes: Vec<Change>, first_seq: u64) -> Vec<Event> {
    changes
        .into_iter()
        .zip(first_seq..)
        .map(|(change, seq)| event(ctx, change, seq, None))
        .collect()
}

/// The `poll.failed` event: the error, and nothing else changed.
pub fn failure(ctx: &PollContext, started_at: Timestamp, error: &str, seq: u64) -> Event {
    let change = Change {
        kind: EventKind::PollFailed,
        subject: Subject::Poll,
        before: None,
        after: Some(serde_json::json!({ "started_at": started_at })),
        detail: None,
    };
    event(ctx, change, seq, Some(error.to_owned()))
}

fn event(ctx: &PollContext, change: Change, seq: u64, error: Option<String>) -> Event {
    let text = |v: &Option<Value>| v.as_ref().map(Value::to_string).unwrap_or_default();
    let content = [
        ctx.poll_id.as_str(),
        change.kind.as_str(),
        &change.subject.key(),
        &text(&change.before),
        &text(&change.after),
        &text(&change.detail),
        error.as_deref().unwrap_or_default(),
    ];
    let event_id = format!(
        "ev-{}",
        &hex::encode(Sha256::digest(content.join("\0").as_bytes()))[..24]
    );
    let (mut agent, mut role, mut group, mut finding) = (None, None, None, None);
    match change.subject {
        Subject::Agent { id, email } => agent = Some(AgentRef { id, email }),
        Subject::Role { id, name } => role = Some(NamedRef { id, name }),
        Subject::Group { id, name } => group = Some(NamedRef { id, name }),
        Subject::Finding {
            finding: about,
            agent_id,
            agent_email,
        } => {
            agent = Some(AgentRef {
                id: agent_id,
                email: agent_email,
            });
            finding = Some(about);
        }
        Subject::Poll => {}
    }
    Event {
        schema_version: SCHEMA_VERSION,
        event_id,
        seq,
        kind: change.kind,
        domain: ctx.domain.clone(),
        account: ctx.account.clone(),
        poll_id: ctx.poll_id.clone(),
        observed_at: ctx.observed_at,
        previous_at: ctx.previous_at,
        agent,
        role,
        group,
        finding,
        before: change.before,
        after: change.after,
        change: change.detail,
        error,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ctx() -> PollContext {
        PollContext {
            domain: "acme".into(),
            account: None,
            poll_id: "p-1".into(),
            observed_at: "2026-06-01T00:15:00Z".parse().expect("ts"),
            previous_at: Some("2026-06-01T00:00:00Z".parse().expect("ts")),
        }
    }

    fn deactivated(id: u64) -> Change {
        Change {
            kind: EventKind::AgentDeactivated,
            subject: Subject::Agent {
                id,
                email: Some("kim@acme.test".into()),
            },
            before: Some(json!({"status": "active"})),
            after: Some(json!({"status": "deactivated"})),
            detail: None,
        }
    }

    #[test]
    fn kinds_serialise_as_the_contract_names_them() {
        for kind in EventKind::ALL {
            let text = serde_json::to_value(kind).expect("json");
            assert_eq!(text, kind.as_str());
            assert_eq!(
                serde_json::from_value::<EventKind>(text).expect("reads back"),
                kind
            );
        }
    }

    #[test]
    fn event_ids_hash_the_poll_and_the_content() {
        let one = assemble(&ctx(), vec![deactivated(7)], 5);
        let again = assemble(&ctx(), vec![deactivated(7)], 9);
        assert_eq!(one[0].event_id, again[0].event_id, "the seq is not content");
        assert_eq!((one[0].seq, again[0].seq), (5, 9));
        let other_agent = assemble(&ctx(), vec![deactivated(8)], 5);
        let other_poll = assemble(
            &PollContext {
                poll_id: "p-2".into(),
                ..ctx()
            },
            vec![deactivated(7)],
            5,
        );
        assert_ne!(one[0].event_id, other_agent[0].event_id);
        assert_ne!(one[0].event_id, other_poll[0].event_id);
        assert!(one[0].event_id.starts_with("ev-") && one[0].event_id.len() == 27);
    }

    #[test]
    fn a_line_has_the_documented_fields_and_reads_back() {
        let event = assemble(&ctx(), vec![deactivated(7)], 1).remove(0);
        let line = serde_json::to_string(&event).expect("json");
        let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&line)
            .expect("object")
            .keys()
            .cloned()
            .collect();
        let want = [
            "schema_version",
            "event_id",
            "seq",
            "type",
            "domain",
            "poll_id",
            "observed_at",
            "previous_at",
            "agent",
            "before",
            "after",
        ];
        assert_eq!(keys, want);
        assert_eq!(serde_json::from_str::<Event>(&line).expect("reads back"), event);
        let failed = failure(
            &PollContext::failed("acme", ctx().observed_at, ctx().observed_at, None),
            ctx().observed_at,
            "boom",
            2,
        );
        let text = serde_json::to_value(&failed).expect("json");
        assert_eq!(
            (text["type"].clone(), text["error"].clone()),
            (json!("poll.failed"), json!("boom"))
        );
        assert_eq!(text["previous_at"], Value::Null);
    }

    #[test]
    fn an_event_of_several_accounts_names_its_account_and_its_id_does_not_change() {
        let plain = assemble(&ctx(), vec![deactivated(7)], 1).remove(0);
        let labelled = PollContext {
            account: Some("acme".into()),
            ..ctx()
        };
        let event = assemble(&labelled, vec![deactivated(7)], 1).remove(0);
        let line = serde_json::to_value(&event).expect("json");
        assert_eq!(line["account"], "acme");
        assert_eq!(event.event_id, plain.event_id);
        assert!(
            serde_json::to_value(&plain)
                .expect("json")
                .get("account")
                .is_none()
        );
        let back: Event = serde_json::from_value(line).expect("reads back");
        assert_eq!(back, event);
    }
}
