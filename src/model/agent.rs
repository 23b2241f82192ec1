//! One Freshdesk agent, read leniently from the raw API object.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use super::directory::InAccount;
use super::error::ModelError;
use super::lenient::{Contact, Ids, Json};
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
    /// Index into `Directory::accounts`: 0 unless several snapshots are audited at once.
    pub account: usize,
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
    /// When the object last changed: once deactivated, the deactivation was
    /// at or before it (any later edit moves it too).
    pub updated_at: Option<Timestamp>,
    pub status: AgentStatus,
}

/// The keys of one agent object the model reads, each as given: absent,
/// `null`, or a value of any type (the rules in [`Slim::into_agent`] judge it).
/// Read straight from the object's text, borrowing its strings, or from a
/// [`Value`]; the other keys are skipped unparsed.
///
/// The name and the key order are part of the messages and of what an agent
/// written as a list means (`expected struct Slim`), as serde derives them.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Slim<'a> {
    #[serde(default, borrow)]
    id: Json<'a>,
    #[serde(default, borrow)]
    email: Json<'a>,
    #[serde(default, borrow)]
    name: Json<'a>,
    #[serde(default, borrow)]
    contact: Contact<'a>,
    #[serde(default, borrow)]
    deactivated: Json<'a>,
    #[serde(default, borrow)]
    active: Json<'a>,
    #[serde(default, borrow)]
    last_active_at: Json<'a>,
    #[serde(default, borrow)]
    created_at: Json<'a>,
    #[serde(default, borrow)]
    ticket_scope: Json<'a>,
    #[serde(default, borrow, rename = "type")]
    agent_type: Json<'a>,
    #[serde(default, borrow)]
    occasional: Json<'a>,
    #[serde(default, borrow)]
    role_ids: Ids<'a>,
    #[serde(default, borrow)]
    group_ids: Ids<'a>,
    #[serde(default, borrow)]
    contribution_group_ids: Ids<'a>,
    #[serde(default, borrow)]
    updated_at: Json<'a>,
}

impl<'a> Slim<'a> {
    /// Reads one agent object's JSON text; a syntax error, a repeated key or
    /// text that is not an object is the parser's error.
    pub(crate) fn from_text(text: &'a str) -> Result<Slim<'a>, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The same keys from a parsed object (anything else has none of them).
    pub(crate) fn from_value(raw: &'a Value) -> Slim<'a> {
        let Some(object) = raw.as_object() else {
            return Slim::default();
        };
        let get = |key: &str| object.get(key).map_or(Json::Absent, Json::from_value);
        let ids = |key: &str| object.get(key).map_or(Ids::Absent, Ids::from_value);
        Slim {
            id: get("id"),
            email: get("email"),
            name: get("name"),
            contact: object
                .get("contact")
                .map_or_else(Contact::default, Contact::from_value),
            deactivated: get("deactivated"),
            active: get("active"),
            last_active_at: get("last_active_at"),
            created_at: get("created_at"),
            ticket_scope: get("ticket_scope"),
            agent_type: get("type"),
            occasional: get("occasional"),
            role_ids: ids("role_ids"),
            group_ids: ids("group_ids"),
            contribution_group_ids: ids("contribution_group_ids"),
            updated_at: get("updated_at"),
        }
    }

    /// False where the object has no `group_ids` key at all (not even
    /// `null`): its groups are then the ones whose member lists name it.
    pub(crate) fn lists_groups(&self) -> bool {
        !matches!(self.group_ids, Ids::Absent)
    }

    /// The agent these keys describe: a present field of the wrong type is
    /// an error naming it (the first in the order read below).
    pub(crate) fn into_agent(self) -> Result<Agent, ModelError> {
        let id = self
            .id
            .as_u64()
            .ok_or_else(|| ModelError::field("agent", "?", "id", "missing or not an integer"))?;
        let field_err = |field: &str, why: String| ModelError::field("agent", &id.to_string(), field, &why);
        // `contact` counts only as an object; its keys, like the others,
        // only where present and not null.
        let contact = self.contact.0.unwrap_or_default();

        let time = |value: Option<&Json>, field: &str| -> Result<Option<Timestamp>, ModelError> {
            match value {
                None => Ok(None),
                Some(Json::Str(s)) => parse_timestamp(s).map_err(|why| field_err(field, why)),
                Some(_) => Err(field_err(field, "not a string".into())),
            }
        };
        let bool_at = |value: Option<&Json>, field: &str| -> Result<Option<bool>, ModelError> {
            match value {
                None => Ok(None),
                Some(Json::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(field_err(field, "not true or false".into())),
            }
        };
        let ids = |value: Ids, field: &str| -> Result<Vec<u64>, ModelError> {
            match value {
                Ids::Absent | Ids::Null => Ok(Vec::new()),
                Ids::List(ids) => Ok(ids),
                Ids::Bad(v) => Err(field_err(field, format!("`{v}` is not an id"))),
                Ids::NotList => Err(field_err(field, "not a list of ids".into())),
            }
        };

        let email = contact
            .email
            .given()
            .or_else(|| self.email.given())
            .and_then(Json::as_str)
            .map(str::to_owned);
        let name = contact
            .name
            .given()
            .or_else(|| self.name.given())
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        let deactivated = bool_at(self.deactivated.given(), "deactivated")?;
        let active = match bool_at(self.active.given(), "active")? {
            Some(a) => Some(a),
            None => bool_at(contact.active.given(), "contact.active")?,
        };
        let last_active_at = time(self.last_active_at.given(), "last_active_at")?;
        let last_login_at = time(contact.last_login_at.given(), "contact.last_login_at")?;
        let ticket_scope = match self.ticket_scope.given() {
            None => None,
            Some(v) => Some(
                v.as_u64()
                    .and_then(TicketScope::from_code)
                    .ok_or_else(|| field_err("ticket_scope", format!("`{v}` is not 1, 2 or 3")))?,
            ),
        };

        let status = normalise_status(deactivated, active, last_login_at.or(last_active_at).is_some());
        Ok(Agent {
            account: 0,
            id,
            email,
            name,
            agent_type: self.agent_type.given().and_then(Json::as_str).map(str::to_owned),
            occasional: bool_at(self.occasional.given(), "occasional")?.unwrap_or(false),
            ticket_scope,
            role_ids: ids(self.role_ids, "role_ids")?,
            group_ids: ids(self.group_ids, "group_ids")?,
            contribution_group_ids: ids(self.contribution_group_ids, "contribution_group_ids")?,
            deactivated,
            active,
            created_at: time(self.created_at.given(), "created_at")?,
            last_active_at,
            last_login_at,
            updated_at: time(self.updated_at.given(), "updated_at")?,
            status,
        })
    }
}

impl Agent {
    /// One of this agent's role or group ids as the directory keys it.
    pub fn in_account(&self, id: u64) -> InAccount {
        InAccount {
            account: self.account,
            id,
        }
    }

    /// Reads one agent object. Unknown fields are ignored here (the snapshot
    /// keeps them); a present field of the wrong type is an error naming it.
    pub fn from_json(raw: &Value) -> Result<Agent, ModelError> {
        Slim::from_value(raw).into_agent()
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The agent and whether it lists its groups, or the message.
    type Read = Result<(Agent, bool), String>;

    /// Both routes in: the object's text, and a parsed `Value`.
    fn both(text: &str) -> (Read, Read) {
        let read = |slim: Slim| {
            let lists_groups = slim.lists_groups();
            slim.into_agent()
                .map(|a| (a, lists_groups))
                .map_err(|e| e.to_string())
        };
        let value: Value = serde_json::from_str(text).expect("test text is JSON");
        let from_text = Slim::from_text(text).map_err(|e| e.to_string()).and_then(read);
        (from_text, read(Slim::from_value(&value)))
    }

    #[test]
    fn text_and_value_read_alike_and_null_stays_present() {
        let text = r#"{"id": 7, "signature": "<p>long</p>", "group_ids": null, "skill_ids": [1],
            "contact": {"email": "A@x.test", "active": false}, "type": "support_agent"}"#;
        let (a, b) = both(text);
        let (agent, lists_groups) = a.clone().expect("agent");
        assert_eq!(a, b);
        // `null` is present: no membership from the groups' lists.
        assert!(lists_groups);
        assert_eq!(agent.group_ids, Vec::<u64>::new());
        assert_eq!(agent.email.as_deref(), Some("A@x.test"));
        assert_eq!(agent.agent_type.as_deref(), Some("support_agent"));
        assert_eq!(agent.status, AgentStatus::Pending);

        let (a, b) = both(r#"{"id": 7, "role_ids": [1]}"#);
        assert_eq!(a, b);
        assert!(
            !a.expect("agent").1,
            "absent group_ids: membership comes from the groups"
        );
    }

    /// `lenient.rs` mirrors what serde_json's `Value` does with its private
    /// raw-value token (`$serde_json::private::RawValue`) as a contact's first
    /// key; if a serde_json upgrade changes that, this fails loudly rather
    /// than the two routes in silently reading an agent differently.
    #[test]
    fn serde_jsons_private_raw_value_token_reads_as_a_value_reads_it() {
        let text =
            r#"{"id": 7, "contact": {"$serde_json::private::RawValue": "{\"email\": \"raw@x.test\"}"}}"#;
        let value: Value = serde_json::from_str(text).expect("json");
        assert_eq!(
            value["contact"]["email"], "raw@x.test",
            "serde_json's Value no longer embeds a raw value under its private token: update RAW_VALUE_TOKEN in model/lenient.rs"
        );
        let (a, b) = both(text);
        assert_eq!(a, b);
        assert_eq!(a.expect("agent").0.email.as_deref(), Some("raw@x.test"));
        // Not first: an ordinary key, as in a `Value`.
        let later = r#"{"id": 7, "contact": {"email": "a@x.test", "$serde_json::private::RawValue": "{}"}}"#;
        let (a, b) = both(later);
        assert_eq!(a, b);
        assert_eq!(a.expect("agent").0.email.as_deref(), Some("a@x.test"));
    }

    #[test]
    fn reads_leniently_from_text() {
        let text = r#"{"id": " 42 ", "ticket_scope": "2", "role_ids": ["7", 8, " 9"],
            "contribution_group_ids": [], "occasional": null, "deactivated": null,
            "last_active_at": "2026-03-01T05:30:00+05:30", "created_at": "never",
            "name": "Top \u00e9", "email": 5, "zzz": [{"nested": ["\ud83d\ude00"]}],
            "contact": {"name": null, "email": " B@x.test", "email": "C@x.test", "job_title": {"a": 1},
                        "last_login_at": "2026/04/10 04:05:20", "active": null}}"#;
        let (a, b) = both(text);
        assert_eq!(a, b);
        let (agent, lists_groups) = a.expect("agent");
        assert!(!lists_groups);
        assert_eq!(agent.id, 42);
        assert_eq!(agent.ticket_scope, Some(TicketScope::Group));
        assert_eq!(agent.role_ids, [7, 8, 9]);
        assert!(!agent.occasional);
        assert_eq!(agent.deactivated, None);
        assert_eq!(
            agent.last_active_at,
            Some("2026-03-01T00:00:00Z".parse().expect("ts"))
        );
        assert_eq!(agent.created_at, None);
        assert_eq!(agent.updated_at, None);
        assert_eq!(
            agent.last_login_at,
            Some("2026-04-10T04:05:20Z".parse().expect("ts"))
        );
        // A null contact name falls back to the top level (unescaped); a
        // repeated key keeps its last value, as in a parsed object.
        assert_eq!(agent.name, "Top é");
        assert_eq!(agent.email.as_deref(), Some("C@x.test"));
        assert_eq!(agent.status, AgentStatus::Active);

        // A contact email of the wrong type hides the top-level one; a contact
        // that is not an object is no contact.
        let (a, b) = both(r#"{"id": 1, "email": "top@x", "contact": {"email": 5}}"#);
        assert_eq!(a, b);
        assert_eq!(a.expect("agent").0.email, None);
        let (a, b) = both(r#"{"id": 1, "email": "top@x", "contact": ["x"], "active": false}"#);
        assert_eq!(a, b);
        let agent = a.expect("agent").0;
        assert_eq!(
            (agent.email.as_deref(), agent.status),
            (Some("top@x"), AgentStatus::Pending)
        );
    }

    #[test]
    fn wrong_types_give_the_same_messages_from_text() {
        let cases = [
            (r#"{"id": -1}"#, "agent ?: field `id`: missing or not an integer"),
            (r#"{"id": 1.0}"#, "agent ?: field `id`: missing or not an integer"),
            (
                r#"{"id": null}"#,
                "agent ?: field `id`: missing or not an integer",
            ),
            (
                r#"{"id": "x7"}"#,
                "agent ?: field `id`: missing or not an integer",
            ),
            (
                r#"{"id": 7, "ticket_scope": "x"}"#,
                r#"agent 7: field `ticket_scope`: `"x"` is not 1, 2 or 3"#,
            ),
            (
                r#"{"id": 7, "ticket_scope": 4}"#,
                "agent 7: field `ticket_scope`: `4` is not 1, 2 or 3",
            ),
            (
                r#"{"id": 7, "ticket_scope": -1.5e0}"#,
                "agent 7: field `ticket_scope`: `-1.5` is not 1, 2 or 3",
            ),
            (
                r#"{"id": 7, "ticket_scope": {"b": [1, "\u00e9"], "a": null}}"#,
                r#"agent 7: field `ticket_scope`: `{"b":[1,"é"],"a":null}` is not 1, 2 or 3"#,
            ),
            (
                r#"{"id": 7, "role_ids": ["x"]}"#,
                r#"agent 7: field `role_ids`: `"x"` is not an id"#,
            ),
            (
                r#"{"id": 7, "group_ids": [1, null, "x"]}"#,
                "agent 7: field `group_ids`: `null` is not an id",
            ),
            (
                r#"{"id": 7, "group_ids": [1, [2]]}"#,
                "agent 7: field `group_ids`: `[2]` is not an id",
            ),
            (
                r#"{"id": 7, "role_ids": 5}"#,
                "agent 7: field `role_ids`: not a list of ids",
            ),
            (
                r#"{"id": 7, "role_ids": {"a": 5}}"#,
                "agent 7: field `role_ids`: not a list of ids",
            ),
            (
                r#"{"id": 7, "deactivated": "yes"}"#,
                "agent 7: field `deactivated`: not true or false",
            ),
            (
                r#"{"id": 7, "occasional": 0}"#,
                "agent 7: field `occasional`: not true or false",
            ),
            (
                r#"{"id": 7, "contact": {"active": "no"}}"#,
                "agent 7: field `contact.active`: not true or false",
            ),
            (
                r#"{"id": 7, "last_active_at": 5}"#,
                "agent 7: field `last_active_at`: not a string",
            ),
            (
                r#"{"id": 7, "contact": {"last_login_at": ["2026-01-01"]}}"#,
                "agent 7: field `contact.last_login_at`: not a string",
            ),
            // The first problem in the order the rules read them.
            (
                r#"{"id": 7, "created_at": "soon", "role_ids": 1, "deactivated": 1}"#,
                "agent 7: field `deactivated`: not true or false",
            ),
        ];
        for (text, want) in cases {
            let (a, b) = both(text);
            assert_eq!(a, b, "{text}");
            assert_eq!(a.expect_err(text), want, "{text}");
        }
        // Top-level `active` decides before a malformed `contact.active` is looked at.
        let (a, b) = both(r#"{"id": 7, "active": true, "contact": {"active": "no"}}"#);
        assert_eq!(a, b);
        assert_eq!(a.expect("agent").0.active, Some(true));
        let err = both(r#"{"id": 7, "created_at": "soon"}"#)
            .0
            .expect_err("bad date");
        assert!(
            err.starts_with("agent 7: field `created_at`: `soon` is not a date-time"),
            "{err}"
        );
    }

    #[test]
    fn text_errors_are_the_parsers() {
        let err = |text: &str| Slim::from_text(text).map(|_| ()).expect_err(text).to_string();
        assert_eq!(
            err("5"),
            "invalid type: integer `5`, expected struct Slim at line 1 column 1"
        );
        assert_eq!(
            err(r#"{"id": 1, "id": 2}"#),
            "duplicate field `id` at line 1 column 14"
        );
        // Keys read are checked as a `Value` would check them; skipped ones as before.
        assert!(err(r#"{"id": 1, "contact": {"job_title": "\ud800"}}"#).contains("hex escape"));
        assert!(err(r#"{"id": 1, "role_ids": [1e999]}"#).contains("number out of range"));
        assert!(Slim::from_text(r#"{"id": 1, "signature": "\ud800", "x": 1e999}"#).is_ok());
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

    #[test]
    fn updated_at_is_read_with_its_offset_and_a_bad_one_is_named() {
        let agent =
            Agent::from_json(&json!({"id": 1, "updated_at": "2026-08-15T12:00:00+02:00"})).expect("valid");
        assert_eq!(
            agent.updated_at,
            Some("2026-08-15T10:00:00Z".parse().expect("ts"))
        );
        let err = Agent::from_json(&json!({"id": 7, "updated_at": 5})).expect_err("not a string");
        assert_eq!(err.to_string(), "agent 7: field `updated_at`: not a string");
    }
}
