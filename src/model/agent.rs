//! One Freshdesk agent, read leniently from the raw API object.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use super::directory::ModelError;
use super::time::parse_timestamp;

/// The contract's normalised agent status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentStatus {
    Active,
    Pending,
    Deactivated,
}

impl AgentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Active => "active",
            AgentStatus::Pending => "pending",
            AgentStatus::Deactivated => "deactivated",
        }
    }

    /// Active or pending: the agent can use, or can start using, the account.
    pub fn holds_access(self) -> bool {
        matches!(self, AgentStatus::Active | AgentStatus::Pending)
    }
}

/// Which tickets an agent can see (`ticket_scope`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum TicketScope {
    Global,
    Group,
    Restricted,
}

impl TicketScope {
    pub fn from_code(code: u64) -> Option<TicketScope> {
        match code {
            1 => Some(TicketScope::Global),
            2 => Some(TicketScope::Group),
            3 => Some(TicketScope::Restricted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TicketScope::Global => "Global",
            TicketScope::Group => "Group",
            TicketScope::Restricted => "Restricted",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Agent {
    pub id: u64,
    /// `contact.email` (or top-level `email`) as given; see [`Agent::key`].
    pub email: Option<String>,
    pub name: String,
    /// `type`: support_agent, field_agent, collaborator.
    pub agent_type: Option<String>,
    pub occasional: bool,
    pub ticket_scope: Option<TicketScope>,
    pub role_ids: Vec<u64>,
    pub group_ids: Vec<u64>,
    pub contribution_group_ids: Vec<u64>,
    pub deactivated: Option<bool>,
    /// Top-level `active` (older API behaviour), else `contact.active`.
    pub active: Option<bool>,
    pub created_at: Option<Timestamp>,
    pub last_active_at: Option<Timestamp>,
    pub last_login_at: Option<Timestamp>,
    pub status: AgentStatus,
}

/// Only the keys [`Agent::from_json`] reads, so parsing a large snapshot
/// builds no JSON tree for the fields it ignores. A key present as `null`
/// stays present (`Some(Null)`), as in the full object.
#[derive(serde::Deserialize)]
struct Slim {
    #[serde(default, deserialize_with = "present")]
    id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    email: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    name: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    contact: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    deactivated: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    active: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    last_active_at: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    created_at: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    ticket_scope: Option<Value>,
    #[serde(default, deserialize_with = "present", rename = "type")]
    agent_type: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    occasional: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    role_ids: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    group_ids: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    contribution_group_ids: Option<Value>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    <Value as serde::Deserialize>::deserialize(d).map(Some)
}

impl Agent {
    /// The keys the model reads from one agent object's JSON text, as an
    /// object [`Agent::from_json`] accepts (the others are skipped unparsed).
    pub fn slim_json(text: &str) -> Result<Value, serde_json::Error> {
        let slim: Slim = serde_json::from_str(text)?;
        let mut map = serde_json::Map::new();
        let fields = [
            ("id", slim.id),
            ("email", slim.email),
            ("name", slim.name),
            ("contact", slim.contact),
            ("deactivated", slim.deactivated),
            ("active", slim.active),
            ("last_active_at", slim.last_active_at),
            ("created_at", slim.created_at),
            ("ticket_scope", slim.ticket_scope),
            ("type", slim.agent_type),
            ("occasional", slim.occasional),
            ("role_ids", slim.role_ids),
            ("group_ids", slim.group_ids),
            ("contribution_group_ids", slim.contribution_group_ids),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                map.insert(key.to_owned(), value);
            }
        }
        Ok(Value::Object(map))
    }

    /// Reads one agent object. Unknown fields are ignored here (the snapshot
    /// keeps them); a present field of the wrong type is an error naming it.
    pub fn from_json(raw: &Value) -> Result<Agent, ModelError> {
        let id = raw
            .get("id")
            .and_then(as_u64)
            .ok_or_else(|| ModelError::field("agent", "?", "id", "missing or not an integer"))?;
        let field_err = |field: &str, why: String| ModelError::field("agent", &id.to_string(), field, &why);
        let contact = raw.get("contact").filter(|c| c.is_object());
        let get = |key: &str| raw.get(key).filter(|v| !v.is_null());
        let contact_get = |key: &str| contact.and_then(|c| c.get(key)).filter(|v| !v.is_null());

        let time = |value: Option<&Value>, field: &str| -> Result<Option<Timestamp>, ModelError> {
            match value {
                None => Ok(None),
                Some(Value::String(s)) => parse_timestamp(s).map_err(|why| field_err(field, why)),
                Some(_) => Err(field_err(field, "not a string".into())),
            }
        };
        let bool_at = |value: Option<&Value>, field: &str| -> Result<Option<bool>, ModelError> {
            match value {
                None => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(field_err(field, "not true or false".into())),
            }
        };
        let ids = |field: &str| -> Result<Vec<u64>, ModelError> {
            match get(field) {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| as_u64(v).ok_or_else(|| field_err(field, format!("`{v}` is not an id"))))
                    .collect(),
                Some(_) => Err(field_err(field, "not a list of ids".into())),
            }
        };

        let email = contact_get("email")
            .or_else(|| get("email"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let name = contact_get("name")
            .or_else(|| get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let deactivated = bool_at(get("deactivated"), "deactivated")?;
        let active = match bool_at(get("active"), "active")? {
            Some(a) => Some(a),
            None => bool_at(contact_get("active"), "contact.active")?,
        };
        let last_active_at = time(get("last_active_at"), "last_active_at")?;
        let last_login_at = time(contact_get("last_login_at"), "contact.last_login_at")?;
        let ticket_scope = match get("ticket_scope") {
            None => None,
            Some(v) => Some(
                as_u64(v)
                    .and_then(TicketScope::from_code)
                    .ok_or_else(|| field_err("ticket_scope", format!("`{v}` is not 1, 2 or 3")))?,
            ),
        };

        let status = normalise_status(deactivated, active, last_login_at.or(last_active_at).is_some());
        Ok(Agent {
            id,
            email,
            name,
            agent_type: get("type").and_then(Value::as_str).map(str::to_owned),
            occasional: bool_at(get("occasional"), "occasional")?.unwrap_or(false),
            ticket_scope,
            role_ids: ids("role_ids")?,
            group_ids: ids("group_ids")?,
            contribution_group_ids: ids("contribution_group_ids")?,
            deactivated,
            active,
            created_at: time(get("created_at"), "created_at")?,
            last_active_at,
            last_login_at,
            status,
        })
    }

    /// The identity key: the email, trimmed and lower-cased.
    pub fn key(&self) -> Option<String> {
        self.email
            .as_deref()
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty())
    }

    /// The later of `last_active_at` and `contact.last_login_at`.
    pub fn last_activity(&self) -> Option<Timestamp> {
        match (self.last_active_at, self.last_login_at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The contract's status rules: deactivated wins; an inactive agent that has
/// logged in before is deactivated, one that never has is a pending invite.
fn normalise_status(deactivated: Option<bool>, active: Option<bool>, logged_in: bool) -> AgentStatus {
    if deactivated == Some(true) {
        return AgentStatus::Deactivated;
    }
    match (active, logged_in) {
        (Some(false), true) => AgentStatus::Deactivated,
        (Some(false), false) => AgentStatus::Pending,
        _ => AgentStatus::Active,
    }
}

/// Ids arrive as numbers, or as strings from some tools' re-exports.
pub(crate) fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn slim_json_keeps_what_the_model_reads_and_null_stays_present() {
        let text = r#"{"id": 7, "signature": "<p>long</p>", "group_ids": null, "skill_ids": [1],
            "contact": {"email": "A@x.test", "active": false}, "type": "support_agent"}"#;
        let slim = Agent::slim_json(text).expect("parses");
        assert_eq!(
            slim,
            json!({"id": 7, "contact": {"email": "A@x.test", "active": false},
                   "type": "support_agent", "group_ids": null})
        );
        let full: Value = serde_json::from_str(text).expect("parses");
        let (a, b) = (
            Agent::from_json(&slim).expect("agent"),
            Agent::from_json(&full).expect("agent"),
        );
        assert_eq!(
            (a.id, a.email, a.status, a.group_ids),
            (b.id, b.email, b.status, b.group_ids)
        );
    }

    #[test]
    fn status_table() {
        let cases = [
            (
                json!({"id": 1, "deactivated": true, "contact": {"active": true}}),
                AgentStatus::Deactivated,
            ),
            (
                json!({"id": 1, "contact": {"active": false, "last_login_at": "2026-01-01T00:00:00Z"}}),
                AgentStatus::Deactivated,
            ),
            (
                json!({"id": 1, "last_active_at": "2026-01-01T00:00:00Z", "active": false}),
                AgentStatus::Deactivated,
            ),
            (
                json!({"id": 1, "contact": {"active": false, "last_login_at": null}}),
                AgentStatus::Pending,
            ),
            (
                json!({"id": 1, "active": false, "contact": {"active": true}}),
                AgentStatus::Pending,
            ),
            (
                json!({"id": 1, "active": true, "contact": {"active": false}}),
                AgentStatus::Active,
            ),
            (json!({"id": 1, "contact": {"active": true}}), AgentStatus::Active),
            (json!({"id": 1}), AgentStatus::Active),
        ];
        for (raw, want) in cases {
            assert_eq!(Agent::from_json(&raw).expect("valid").status, want, "{raw}");
        }
    }

    #[test]
    fn reads_the_real_list_sample_with_64_bit_ids() {
        let raw: Value = serde_json::from_str(
            r#"{"available": false, "occasional": true, "id": 67013469930, "ticket_scope": 1,
            "created_at": "2020-10-22T02:37:15Z", "last_active_at": null, "type": "support_agent",
            "contact": {"active": false, "email": "CustServ@freshdesk.com ", "last_login_at": null, "name": "Customer Service"}}"#,
        )
        .expect("json");
        let agent = Agent::from_json(&raw).expect("valid");
        assert_eq!(agent.id, 67_013_469_930);
        assert_eq!(agent.key().as_deref(), Some("custserv@freshdesk.com"));
        assert_eq!(agent.status, AgentStatus::Pending);
        assert_eq!(agent.ticket_scope, Some(TicketScope::Global));
        assert!(agent.role_ids.is_empty());
    }

    #[test]
    fn wrong_types_name_the_field() {
        let err = Agent::from_json(&json!({"id": 7, "last_active_at": "soon"})).expect_err("bad date");
        assert!(err.to_string().contains("last_active_at"), "{err}");
        let err = Agent::from_json(&json!({"id": 7, "role_ids": ["x"]})).expect_err("bad id");
        assert!(err.to_string().contains("role_ids"), "{err}");
    }

    #[test]
    fn last_activity_is_the_later_of_the_two() {
        let agent = Agent::from_json(&json!({"id": 1, "last_active_at": "2026-01-01T00:00:00Z",
            "contact": {"last_login_at": "2026-03-01T00:00:00+05:30"}}))
        .expect("valid");
        assert_eq!(
            agent.last_activity(),
            Some("2026-02-28T18:30:00Z".parse().expect("ts"))
        );
    }
}
