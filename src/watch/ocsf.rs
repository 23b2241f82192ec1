//! Events and findings as OCSF 1.1.0 objects, for a SIEM that ingests OCSF
//! (AWS Security Lake, Splunk, ...). The classes (fixtures/ocsf/1.1.0 holds
//! their definitions, and the tests check every object against them):
//!
//! | native event | OCSF class | activity |
//! |---|---|---|
//! | `agent.created` | Account Change (3001) | Create (1) |
//! | `agent.verified`, `agent.reactivated` | Account Change | Enable (2) |
//! | `agent.deactivated` | Account Change | Disable (5) |
//! | `agent.deleted` | Account Change | Delete (6) |
//! | `agent.email_changed`, `agent.status_changed` | Account Change | Other (99) |
//! | `agent.roles_changed`, `agent.groups_changed`, `agent.scope_changed` | User Access Management (3005) | Assign (1) and/or Revoke Privileges (2) |
//! | `role.*`, `group.*` | Entity Management (3004) | Create (1), Delete (4) |
//! | `finding.opened`, `finding.resolved` | Detection Finding (2004) | Create (1), Close (3) |
//! | `baseline`, `poll.failed` | Base Event (0) | Other (99) |
//!
//! Everything the native event says that OCSF has no attribute for is kept
//! under `unmapped.deskaudit`.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::event::{Event, EventKind};
use super::observed::{AgentView, FindingView};

pub const OCSF_VERSION: &str = "1.1.0";

/// What `audit --ocsf` writes into the run directory.
pub const FINDINGS_OCSF_JSONL: &str = "findings.ocsf.jsonl";

struct Class {
    uid: u32,
    name: &'static str,
    category_uid: u32,
    category_name: &'static str,
}

const IAM: &str = "Identity & Access Management";
const ACCOUNT_CHANGE: Class = Class {
    uid: 3001,
    name: "Account Change",
    category_uid: 3,
    category_name: IAM,
};
const ENTITY_MANAGEMENT: Class = Class {
    uid: 3004,
    name: "Entity Management",
    category_uid: 3,
    category_name: IAM,
};
const USER_ACCESS: Class = Class {
    uid: 3005,
    name: "User Access Management",
    category_uid: 3,
    category_name: IAM,
};
const DETECTION_FINDING: Class = Class {
    uid: 2004,
    name: "Detection Finding",
    category_uid: 2,
    category_name: "Findings",
};
const BASE_EVENT: Class = Class {
    uid: 0,
    name: "Base Event",
    category_uid: 0,
    category_name: "Uncategorized",
};

/// The OCSF objects one native event becomes (two for a change that both
/// grants and revokes).
pub fn from_event(event: &Event) -> Vec<Value> {
    use EventKind::*;
    let account = |id: u8, name: &str| vec![account_change(event, id, name)];
    match event.kind {
        AgentCreated => account(1, "Create"),
        AgentVerified | AgentReactivated => account(2, "Enable"),
        AgentDeactivated => account(5, "Disable"),
        AgentDeleted => account(6, "Delete"),
        AgentEmailChanged => account(99, "Email Change"),
        AgentStatusChanged => account(99, "Status Change"),
        AgentRolesChanged | AgentGroupsChanged | AgentScopeChanged => user_access(event),
        RoleCreated | GroupCreated => vec![entity(event, 1, "Create")],
        RoleDeleted | GroupDeleted => vec![entity(event, 4, "Delete")],
        FindingOpened | FindingResolved => {
            let opened = event.kind == FindingOpened;
            let view = if opened { &event.after } else { &event.before };
            let Some(finding) = view
                .clone()
                .and_then(|v| serde_json::from_value::<FindingView>(v).ok())
            else {
                return vec![base_event(event, event.kind.as_str(), 1)];
            };
            let mut object = detection(
                &finding,
                &event.domain,
                event.observed_at,
                &event.event_id,
                opened,
            );
            if let Some(fields) = object.as_object_mut() {
                fields.insert("metadata".into(), metadata(&event.event_id, Some(event)));
                annotate(fields, event);
            }
            vec![object]
        }
        Baseline => vec![base_event(event, "Baseline", 1)],
        PollFailed => vec![base_event(event, "Poll Failed", 2)],
    }
}

/// A finding as a Detection Finding: opened (Create, New) or resolved
/// (Close, Resolved) at `time`. `audit --ocsf` writes one per open finding.
pub fn detection(finding: &FindingView, domain: &str, time: Timestamp, uid: &str, opened: bool) -> Value {
    let (activity, activity_name, status_id, status) = if opened {
        (1, "Create", 1, "New")
    } else {
        (3, "Close", 4, "Resolved")
    };
    let (severity_id, severity) = severity(&finding.severity);
    let who = finding
        .agent_email
        .clone()
        .unwrap_or_else(|| format!("#{}", finding.agent_id));
    let mut object = header(
        &DETECTION_FINDING,
        activity,
        activity_name,
        time,
        uid,
        severity_id,
        severity,
    );
    object.insert("status_id".into(), json!(status_id));
    object.insert("status".into(), json!(status));
    object.insert(
        "message".into(),
        json!(format!("{}: {who}: {}", finding.rule, finding.detail)),
    );
    object.insert(
        "finding_info".into(),
        json!({
            "uid": finding.finding_id,
            "title": format!("{}: {who}", finding.rule),
            "desc": finding.detail,
            "types": [finding.rule],
            "analytic": {"uid": finding.rule, "name": finding.rule, "type_id": 1, "type": "Rule"},
        }),
    );
    object.insert(
        "resources".into(),
        json!([{"uid": finding.agent_id.to_string(), "name": who, "type": "Freshdesk agent",
            "group": {"name": domain}}]),
    );
    Value::Object(object)
}

fn account_change(event: &Event, activity: u8, name: &str) -> Value {
    let mut object = base(event, &ACCOUNT_CHANGE, activity, name, 1);
    let (before, after) = (agent(&event.before), agent(&event.after));
    if let Some(user) = before.as_ref().or(after.as_ref()) {
        object.insert("user".into(), user_object(user, &event.domain));
    }
    if let (Some(_), Some(after)) = (&before, &after) {
        object.insert("user_result".into(), user_object(after, &event.domain));
    }
    annotate(&mut object, event);
    Value::Object(object)
}

/// Privileges granted (Assign) and taken away (Revoke), one object each.
fn user_access(event: &Event) -> Vec<Value> {
    let (before, after) = (agent(&event.before), agent(&event.after));
    let privileges = |view: &Option<AgentView>| -> Vec<String> {
        let Some(view) = view else { return Vec::new() };
        match event.kind {
            EventKind::AgentRolesChanged => view.roles.iter().map(|r| format!("role:{}", r.name)).collect(),
            EventKind::AgentGroupsChanged => {
                view.groups.iter().map(|g| format!("group:{}", g.name)).collect()
            }
            _ => view
                .ticket_scope
                .iter()
                .map(|s| format!("ticket_scope:{s}"))
                .collect(),
        }
    };
    let (had, has) = (privileges(&before), privileges(&after));
    let granted: Vec<&String> = has.iter().filter(|p| !had.contains(p)).collect();
    let revoked: Vec<&String> = had.iter().filter(|p| !has.contains(p)).collect();
    let Some(user) = after.as_ref().or(before.as_ref()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (activity, name, list, suffix) in [
        (1, "Assign Privileges", granted, "assign"),
        (2, "Revoke Privileges", revoked, "revoke"),
    ] {
        if list.is_empty() {
            continue;
        }
        let mut object = base(event, &USER_ACCESS, activity, name, 1);
        object.insert(
            "metadata".into(),
            metadata(&format!("{}/{suffix}", event.event_id), Some(event)),
        );
        object.insert("privileges".into(), json!(list));
        object.insert("user".into(), user_object(user, &event.domain));
        object.insert(
            "resource".into(),
            json!({"name": event.domain, "type": "Freshdesk account"}),
        );
        annotate(&mut object, event);
        out.push(Value::Object(object));
    }
    out
}

fn entity(event: &Event, activity: u8, name: &str) -> Value {
    let mut object = base(event, &ENTITY_MANAGEMENT, activity, name, 1);
    let (named, kind) = match (&event.role, &event.group) {
        (Some(role), _) => (role, "Freshdesk role"),
        (None, Some(group)) => (group, "Freshdesk group"),
        (None, None) => return Value::Object(object),
    };
    object.insert(
        "entity".into(),
        json!({"uid": named.id.to_string(), "name": named.name, "type": kind}),
    );
    annotate(&mut object, event);
    Value::Object(object)
}

fn base_event(event: &Event, name: &str, status_id: u8) -> Value {
    let severity = if status_id == 2 { 3 } else { 1 };
    let mut object = base(event, &BASE_EVENT, 99, name, severity);
    object.insert("status_id".into(), json!(status_id));
    object.insert(
        "status".into(),
        json!(if status_id == 2 { "Failure" } else { "Success" }),
    );
    if let Some(error) = &event.error {
        object.insert("status_detail".into(), json!(error));
    }
    annotate(&mut object, event);
    Value::Object(object)
}

/// What every object of `event` carries: class, activity, times, metadata,
/// a message.
fn base(
    event: &Event,
    class: &Class,
    activity: u8,
    activity_name: &str,
    severity_id: u8,
) -> Map<String, Value> {
    let severity = ["Unknown", "Informational", "Low", "Medium", "High", "Critical"]
        .get(usize::from(severity_id))
        .copied()
        .unwrap_or("Unknown");
    let mut object = header(
        class,
        activity,
        activity_name,
        event.observed_at,
        &event.event_id,
        severity_id,
        severity,
    );
    object.insert("metadata".into(), metadata(&event.event_id, Some(event)));
    // The change happened within [start_time, end_time]: after the previous poll began, before this one ended.
    if let Some(previous) = event.previous_at {
        object.insert("start_time".into(), json!(previous.as_millisecond()));
        object.insert("end_time".into(), json!(event.observed_at.as_millisecond()));
    }
    let who = event
        .agent
        .as_ref()
        .map(|a| a.email.clone().unwrap_or_else(|| format!("#{}", a.id)))
        .or_else(|| event.role.as_ref().map(|r| format!("role {}", r.name)))
        .or_else(|| event.group.as_ref().map(|g| format!("group {}", g.name)))
        .unwrap_or_else(|| event.domain.clone());
    object.insert("message".into(), json!(format!("{who}: {}", event.kind)));
    object
}

fn header(
    class: &Class,
    activity: u8,
    activity_name: &str,
    time: Timestamp,
    uid: &str,
    severity_id: u8,
    severity: &str,
) -> Map<String, Value> {
    let mut object = Map::new();
    let mut put = |key: &str, value: Value| {
        object.insert(key.to_owned(), value);
    };
    put("class_uid", json!(class.uid));
    put("class_name", json!(class.name));
    put("category_uid", json!(class.category_uid));
    put("category_name", json!(class.category_name));
    put("activity_id", json!(activity));
    if !activity_name.is_empty() {
        put("activity_name", json!(activity_name));
        put("type_name", json!(format!("{}: {activity_name}", class.name)));
    }
    put(
        "type_uid",
        json!(u64::from(class.uid) * 100 + u64::from(activity)),
    );
    put("time", json!(time.as_millisecond()));
    put("severity_id", json!(severity_id));
    put("severity", json!(severity));
    put("metadata", metadata(uid, None));
    object
}

fn metadata(uid: &str, event: Option<&Event>) -> Value {
    let mut metadata = json!({
        "version": OCSF_VERSION,
        "uid": uid,
        "product": {"name": "deskaudit", "vendor_name": "deskaudit", "version": env!("CARGO_PKG_VERSION")},
    });
    if let (Some(event), Some(object)) = (event, metadata.as_object_mut()) {
        object.insert("correlation_uid".into(), json!(event.poll_id));
        object.insert("sequence".into(), json!(event.seq));
        object.insert("log_name".into(), json!("events.jsonl"));
        // OCSF 1.1.0's own attribute for whose data this is: the Freshdesk
        // account, where `watch --accounts` watches several.
        if let Some(account) = &event.account {
            object.insert("tenant_uid".into(), json!(account));
        }
    }
    metadata
}

/// The native event's own fields, for what OCSF has no attribute for.
fn annotate(object: &mut Map<String, Value>, event: &Event) {
    let mut native = json!({
        "type": event.kind,
        "domain": event.domain,
        "event_id": event.event_id,
        "observed_at": event.observed_at,
        "previous_at": event.previous_at,
        "before": event.before,
        "after": event.after,
    });
    if let (Some(change), Some(fields)) = (&event.change, native.as_object_mut()) {
        fields.insert("change".into(), change.clone());
    }
    object.insert("unmapped".into(), json!({ "deskaudit": native }));
}

fn agent(view: &Option<Value>) -> Option<AgentView> {
    view.clone().and_then(|v| serde_json::from_value(v).ok())
}

fn user_object(agent: &AgentView, domain: &str) -> Value {
    let mut user = json!({
        "uid": agent.id.to_string(),
        "name": if agent.name.is_empty() { agent.email.clone().unwrap_or_default() } else { agent.name.clone() },
        "type_id": 1,
        "type": "User",
        "domain": domain,
    });
    if let (Some(email), Some(fields)) = (&agent.email, user.as_object_mut()) {
        fields.insert("email_addr".into(), json!(email.trim()));
    }
    user
}

/// OCSF `severity_id` and its caption for a deskaudit severity.
fn severity(ours: &str) -> (u8, &'static str) {
    match ours {
        "info" => (1, "Informational"),
        "low" => (2, "Low"),
        "medium" => (3, "Medium"),
        "high" => (4, "High"),
        "critical" => (5, "Critical"),
        _ => (0, "Unknown"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::event::{PollContext, assemble};
    use crate::watch::{Change, Subject};

    fn event(kind: EventKind, before: Option<Value>, after: Option<Value>) -> Event {
        let ctx = PollContext {
            domain: "acme".into(),
            account: None,
            poll_id: "p-1".into(),
            observed_at: "2026-06-01T00:15:00Z".parse().expect("ts"),
            previous_at: Some("2026-06-01T00:00:00Z".parse().expect("ts")),
        };
        let change = Change {
            kind,
            subject: Subject::Agent {
                id: 7,
                email: Some("kim@acme.test".into()),
            },
            before,
            after,
            detail: None,
        };
        assemble(&ctx, vec![change], 1).remove(0)
    }

    fn view(roles: &[(u64, &str)], scope: &str) -> Value {
        json!({"id": 7, "status": "active", "email": "kim@acme.test", "name": "Kim",
            "roles": roles.iter().map(|(id, name)| json!({"id": id, "name": name})).collect::<Vec<_>>(),
            "groups": [], "ticket_scope": scope, "occasional": false, "type": "support_agent"})
    }

    #[test]
    fn each_kind_maps_to_its_class_and_activity() {
        use EventKind::*;
        let agent = Some(view(&[(11, "Agent")], "Group"));
        let table = [
            (AgentCreated, None, agent.clone(), vec![(3001, 1)]),
            (AgentVerified, agent.clone(), agent.clone(), vec![(3001, 2)]),
            (AgentReactivated, agent.clone(), agent.clone(), vec![(3001, 2)]),
            (AgentDeactivated, agent.clone(), agent.clone(), vec![(3001, 5)]),
            (AgentDeleted, agent.clone(), None, vec![(3001, 6)]),
            (AgentEmailChanged, agent.clone(), agent.clone(), vec![(3001, 99)]),
            (
                AgentRolesChanged,
                agent.clone(),
                Some(view(&[(10, "Administrator")], "Group")),
                vec![(3005, 1), (3005, 2)],
            ),
            (
                AgentScopeChanged,
                agent.clone(),
                Some(view(&[(11, "Agent")], "Global")),
                vec![(3005, 1), (3005, 2)],
            ),
            (Baseline, None, Some(json!({})), vec![(0, 99)]),
        ];
        for (kind, before, after, want) in table {
            let got: Vec<(u64, u64)> = from_event(&event(kind, before, after))
                .iter()
                .map(|o| {
                    (
                        o["class_uid"].as_u64().unwrap_or(9),
                        o["activity_id"].as_u64().unwrap_or(9),
                    )
                })
                .collect();
            assert_eq!(got, want, "{kind}");
        }
        let roles = from_event(&event(
            AgentRolesChanged,
            agent.clone(),
            Some(view(&[(10, "Administrator"), (11, "Agent")], "Group")),
        ));
        assert_eq!(roles.len(), 1, "a grant alone is one object");
        assert_eq!(roles[0]["privileges"], json!(["role:Administrator"]));
        assert_eq!(roles[0]["type_uid"], json!(300501));
        assert_eq!(
            roles[0]["metadata"]["uid"],
            json!(format!(
                "{}/assign",
                roles[0]["unmapped"]["deskaudit"]["event_id"]
                    .as_str()
                    .unwrap_or("")
            ))
        );
        let deactivated = &from_event(&event(AgentDeactivated, agent.clone(), agent))[0];
        assert_eq!(deactivated["user"]["email_addr"], json!("kim@acme.test"));
        assert_eq!(
            (deactivated["start_time"].clone(), deactivated["end_time"].clone()),
            (json!(1_780_272_000_000_i64), json!(1_780_272_900_000_i64))
        );
    }

    #[test]
    fn a_finding_is_a_detection_finding_with_our_severity() {
        let finding = FindingView {
            finding_id: "DA-0123456789ab".into(),
            rule: "terminated-active".into(),
            severity: "critical".into(),
            agent_id: 7,
            agent_email: Some("kim@acme.test".into()),
            detail: "IdP says deprovisioned".into(),
        };
        let time: Timestamp = "2026-06-01T00:00:00Z".parse().expect("ts");
        let opened = detection(&finding, "acme", time, "u1", true);
        assert_eq!(
            (opened["class_uid"].clone(), opened["type_uid"].clone()),
            (json!(2004), json!(200401))
        );
        assert_eq!(
            (opened["severity_id"].clone(), opened["status_id"].clone()),
            (json!(5), json!(1))
        );
        assert_eq!(opened["finding_info"]["uid"], json!("DA-0123456789ab"));
        let closed = detection(&finding, "acme", time, "u2", false);
        assert_eq!(
            (closed["activity_id"].clone(), closed["status"].clone()),
            (json!(3), json!("Resolved"))
        );
    }
}
