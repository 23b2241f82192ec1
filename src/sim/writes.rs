//! What a write does to the account, in each profile:
//! - `DELETE /agents/{id}` → 204. Documented: the agent leaves the account
//!   (every list, its groups, `GET /agents/{id}` is 404) and stays as a
//!   contact with the same id, as Freshdesk demotes a deleted agent. Seed:
//!   the agent stays, inactive (`contact.active: false`), as the older guide's
//!   deactivation does; it then lists under `?active=false`.
//! - `PUT /agents/{id}` → 200 and the agent, `updated_at` advanced.
//! - `POST /agents` → 201 and a new pending agent (invited, never logged in).
//! - `PUT /contacts/{id}/make_agent` → 200 and the agent: access restored
//!   (see `reactivate`).
//!
//! The account's `total_agents` follows every write, so that a collection
//! after writes can still prove it saw every agent.

use axum::http::{Method, StatusCode};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::Profile;
use super::data::{Org, id_of};
use super::fixture::counted_kind;
use super::reply::{FieldError, Reply};
use super::routes::Route;
use super::synthetic::stamp;
use super::validate::{self, BodyError, BodyFor, Changes};

/// A request that changes the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Write {
    Create,
    Update(u64),
    Delete(u64),
    /// `PUT /contacts/{id}/make_agent`.
    MakeAgent(u64),
}

impl Write {
    /// The write `method` on `route` asks for, if it is one.
    pub(crate) fn of(method: &Method, route: Route) -> Option<Write> {
        match (method.as_str(), route) {
            ("POST", Route::Agents) => Some(Write::Create),
            ("PUT", Route::Agent(id)) => Some(Write::Update(id)),
            ("DELETE", Route::Agent(id)) => Some(Write::Delete(id)),
            ("PUT", Route::ContactMakeAgent(id)) => Some(Write::MakeAgent(id)),
            _ => None,
        }
    }

    /// The agent the path names (`POST` names none).
    pub(crate) fn agent_id(self) -> Option<u64> {
        match self {
            Write::Create => None,
            Write::Update(id) | Write::Delete(id) | Write::MakeAgent(id) => Some(id),
        }
    }

    /// Whether the request carries a JSON body to read.
    pub(crate) fn has_body(self) -> bool {
        !matches!(self, Write::Delete(_))
    }

    /// Whether the body may be left out: `make_agent` then uses defaults.
    pub(crate) fn body_optional(self) -> bool {
        matches!(self, Write::MakeAgent(_))
    }
}

/// The answer to a write and what it did.
#[derive(Clone, Debug)]
pub(crate) struct Outcome {
    pub(crate) reply: Reply,
    /// The account changed.
    pub(crate) took_effect: bool,
    /// The agent written: the one in the path, or the one created.
    pub(crate) agent_id: Option<u64>,
}

impl Outcome {
    pub(crate) fn refused(reply: Reply, agent_id: Option<u64>) -> Outcome {
        Outcome {
            reply,
            took_effect: false,
            agent_id,
        }
    }

    pub(crate) fn done(reply: Reply, agent_id: u64) -> Outcome {
        Outcome {
            reply,
            took_effect: true,
            agent_id: Some(agent_id),
        }
    }
}

/// Carries out an authenticated admin's write at `now`.
pub(crate) fn apply(org: &mut Org, profile: Profile, write: Write, body: &[u8], now: Timestamp) -> Outcome {
    match write {
        Write::Delete(id) => delete(org, profile, id, now),
        Write::Update(id) => update(org, id, body, now),
        Write::Create => create(org, body, now),
        Write::MakeAgent(id) => super::reactivate::make_agent(org, id, body, now),
    }
}

fn delete(org: &mut Org, profile: Profile, id: u64, now: Timestamp) -> Outcome {
    if org.agent(id).is_none() {
        return Outcome::refused(Reply::not_found(), Some(id));
    }
    // The key would delete its own owner and lock itself out.
    if org.admin_owner == Some(id) {
        return Outcome::refused(Reply::forbidden(), Some(id));
    }
    match profile {
        Profile::Documented => {
            if let Some(agent) = org.remove_agent(id) {
                org.recount(counted_kind(&agent), None);
                org.put_contact(demoted(&agent, now));
            }
        }
        Profile::Seed => {
            let mut kinds = (None, None);
            if let Some(agent) = org.agent_mut(id) {
                kinds.0 = counted_kind(agent);
                if let Some(contact) = agent.get_mut("contact").and_then(Value::as_object_mut) {
                    contact.insert("active".to_owned(), Value::Bool(false));
                }
                set(agent, "available", Value::Bool(false));
                touch(agent, now);
                kinds.1 = counted_kind(agent);
            }
            org.recount(kinds.0, kinds.1);
        }
    }
    Outcome::done(Reply::no_content(), id)
}

fn update(org: &mut Org, id: u64, body: &[u8], now: Timestamp) -> Outcome {
    if org.agent(id).is_none() {
        return Outcome::refused(Reply::not_found(), Some(id));
    }
    let changes = match validate::parse(body, BodyFor::Update, org) {
        Ok(changes) => changes,
        Err(error) => return Outcome::refused(refusal(error), Some(id)),
    };
    let Some(agent) = org.agent_mut(id) else {
        return Outcome::refused(Reply::not_found(), Some(id));
    };
    let before = counted_kind(agent);
    set_fields(agent, &changes);
    touch(agent, now);
    let after = counted_kind(agent);
    let reply = Reply::ok(agent.clone());
    if let Some(groups) = &changes.group_ids {
        org.set_membership(id, groups);
    }
    org.recount(before, after);
    Outcome::done(reply, id)
}

fn create(org: &mut Org, body: &[u8], now: Timestamp) -> Outcome {
    let changes = match validate::parse(body, BodyFor::Create, org) {
        Ok(changes) => changes,
        Err(error) => return Outcome::refused(refusal(error), None),
    };
    let email = changes.email.clone().unwrap_or_default();
    if org.agent_with_email(&email).is_some() {
        let duplicate = FieldError::new("email", "It should be a unique value", "duplicate_value");
        let reply = Reply::failed_validation(StatusCode::CONFLICT, vec![duplicate]);
        return Outcome::refused(reply, None);
    }
    let id = org.next_id();
    let agent = pending_agent(org, id, &email, changes, &stamp(now.as_second()));
    org.recount(None, counted_kind(&agent));
    org.push_agent(agent.clone());
    Outcome::done(Reply::status(StatusCode::CREATED, agent), id)
}

pub(crate) fn refusal(error: BodyError) -> Reply {
    match error {
        BodyError::InvalidJson => Reply::invalid_json(),
        BodyError::Fields(errors) => Reply::validation(errors),
    }
}

/// An invited agent: an unverified contact that never logged in, as the
/// fixtures mark pending agents. Without `role_ids` it gets the "Agent"
/// role (Freshdesk's default), without `ticket_scope` Global access (1).
pub(crate) fn pending_agent(org: &Org, id: u64, email: &str, changes: Changes, now: &str) -> Value {
    let role_ids = changes.role_ids.unwrap_or_else(|| {
        org.roles
            .iter()
            .filter(|r| r.get("name").and_then(Value::as_str) == Some("Agent"))
            .map(id_of)
            .take(1)
            .collect()
    });
    let time_zone = org.account.get("timezone").cloned().unwrap_or(json!("UTC"));
    json!({
        "available": false,
        "occasional": changes.occasional.unwrap_or(false),
        "id": id,
        "signature": null,
        "ticket_scope": changes.ticket_scope.unwrap_or(1),
        "created_at": now,
        "updated_at": now,
        "available_since": null,
        "type": "support_agent",
        "contact": {
            "active": false,
            "email": email,
            "job_title": null,
            "language": "en",
            "last_login_at": null,
            "mobile": null,
            "name": changes.name.unwrap_or_else(|| email.to_owned()),
            "phone": null,
            "time_zone": time_zone,
            "created_at": now,
            "updated_at": now
        },
        "group_ids": changes.group_ids.unwrap_or_default(),
        "role_ids": role_ids,
        "skill_ids": [],
        "last_active_at": null,
        "deactivated": false,
        "focus_mode": true,
        "contribution_group_ids": []
    })
}

/// The contact a deleted agent leaves behind: its own contact fields under
/// the agent's id, with what a contact has and an agent's contact lacks.
fn demoted(agent: &Value, now: Timestamp) -> Value {
    let mut contact = agent
        .get("contact")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(Map::new);
    contact.remove("last_login_at");
    contact.insert("id".to_owned(), json!(id_of(agent)));
    for (field, default) in [
        ("active", json!(true)),
        ("address", Value::Null),
        ("company_id", Value::Null),
        ("twitter_id", Value::Null),
        ("other_emails", json!([])),
        ("tags", json!([])),
        ("view_all_tickets", json!(false)),
        ("deleted", json!(false)),
    ] {
        contact.entry(field).or_insert(default);
    }
    contact.insert("updated_at".to_owned(), json!(stamp(now.as_second())));
    Value::Object(contact)
}

/// The updatable fields a body gives, set on the agent (the others stay).
pub(crate) fn set_fields(agent: &mut Value, changes: &Changes) {
    if let Some(roles) = &changes.role_ids {
        set(agent, "role_ids", json!(roles));
    }
    if let Some(groups) = &changes.group_ids {
        set(agent, "group_ids", json!(groups));
    }
    if let Some(scope) = changes.ticket_scope {
        set(agent, "ticket_scope", json!(scope));
    }
    if let Some(occasional) = changes.occasional {
        set(agent, "occasional", Value::Bool(occasional));
    }
}

pub(crate) fn set(agent: &mut Value, field: &str, value: Value) {
    if let Some(object) = agent.as_object_mut() {
        object.insert(field.to_owned(), value);
    }
}

/// Advances `updated_at` to `now`, or one second past its old value when
/// that is not earlier (fixtures date some agents in the future, and two
/// writes can fall in one second): a write always moves it forward.
pub(crate) fn touch(agent: &mut Value, now: Timestamp) {
    let previous = agent
        .get("updated_at")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Timestamp>().ok())
        .map_or(i64::MIN, |t| t.as_second());
    let second = now.as_second().max(previous.saturating_add(1));
    set(agent, "updated_at", json!(stamp(second)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Fixture;

    const OWNER: u64 = 1;
    const ACTIVE: u64 = 2;
    const PENDING: u64 = 3;

    fn org() -> Org {
        let login = json!("2025-01-01T00:00:00Z");
        let agent = |id: u64, active: bool, login: &Value| {
            json!({"id": id, "type": "support_agent", "occasional": false, "deactivated": false,
                "role_ids": [if id == OWNER { 10 } else { 11 }], "group_ids": [20],
                "ticket_scope": 1, "updated_at": "2025-01-01T00:00:00Z", "last_active_at": login,
                "contact": {"active": active, "email": format!("a{id}@acme.test"),
                    "name": format!("A{id}"), "last_login_at": login}})
        };
        Org::new(Fixture {
            agents: vec![
                agent(OWNER, true, &login),
                agent(ACTIVE, true, &login),
                agent(PENDING, false, &Value::Null),
            ],
            roles: vec![
                json!({"id": 10, "name": "Account Administrator"}),
                json!({"id": 11, "name": "Agent"}),
            ],
            groups: vec![json!({"id": 20}), json!({"id": 21})],
            account: json!({"total_agents": {"full_time": 3, "occasional": 0}}),
            ..Fixture::default()
        })
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    fn totals(org: &Org) -> Value {
        org.account["total_agents"].clone()
    }

    /// Status and effect of an outcome, to compare in one assertion.
    fn seen(out: &Outcome) -> (StatusCode, bool) {
        (out.reply.status, out.took_effect)
    }

    #[test]
    fn writes_are_classified_from_method_and_route() {
        let table = [
            (Method::POST, Route::Agents, Some(Write::Create)),
            (Method::PUT, Route::Agent(5), Some(Write::Update(5))),
            (Method::DELETE, Route::Agent(5), Some(Write::Delete(5))),
            (Method::GET, Route::Agent(5), None),
            (Method::PATCH, Route::Agent(5), None),
            (Method::PUT, Route::AgentMe, None),
            (Method::POST, Route::Agent(5), None),
            (Method::PUT, Route::ContactMakeAgent(5), Some(Write::MakeAgent(5))),
            (Method::POST, Route::ContactMakeAgent(5), None),
            (Method::DELETE, Route::Groups, None),
        ];
        for (method, route, expected) in table {
            assert_eq!(Write::of(&method, route), expected, "{method} {route:?}");
        }
    }

    #[test]
    fn delete_in_each_profile() {
        let now = at("2026-01-01T00:00:00Z");
        let delete = |org: &mut Org, profile, id| apply(org, profile, Write::Delete(id), b"", now);
        let mut documented = org();
        let out = delete(&mut documented, Profile::Documented, ACTIVE);
        assert_eq!(seen(&out), (StatusCode::NO_CONTENT, true));
        assert!(documented.agent(ACTIVE).is_none());
        assert_eq!(documented.members(20), Some(&[OWNER, PENDING][..]));
        let contact = documented.contact(ACTIVE).cloned().unwrap_or_default();
        assert_eq!(
            (contact["email"].clone(), contact["updated_at"].clone()),
            (json!("a2@acme.test"), json!("2026-01-01T00:00:00Z"))
        );
        assert_eq!(totals(&documented)["full_time"], json!(2));
        let again = delete(&mut documented, Profile::Documented, ACTIVE);
        assert_eq!(seen(&again), (StatusCode::NOT_FOUND, false));

        let mut seed = org();
        for id in [ACTIVE, PENDING] {
            let out = delete(&mut seed, Profile::Seed, id);
            assert_eq!(out.reply.status, StatusCode::NO_CONTENT);
            let agent = seed.agent(id).cloned().unwrap_or_default();
            assert_eq!(agent["contact"]["active"], json!(false));
            assert_eq!(agent["deactivated"], json!(false), "the flag stays as it was");
            assert_eq!(agent["updated_at"], json!("2026-01-01T00:00:00Z"));
        }
        // The active agent is now deactivated; the pending one still counts.
        assert_eq!(totals(&seed)["full_time"], json!(2));
        assert_eq!(seed.members(20), Some(&[OWNER, ACTIVE, PENDING][..]));
    }

    #[test]
    fn the_key_owner_cannot_delete_itself_and_unknown_agents_are_404() {
        let now = at("2026-01-01T00:00:00Z");
        for profile in [Profile::Documented, Profile::Seed] {
            let mut org = org();
            let table = [
                (Write::Delete(OWNER), StatusCode::FORBIDDEN),
                (Write::Delete(99), StatusCode::NOT_FOUND),
                (Write::Update(99), StatusCode::NOT_FOUND),
            ];
            for (write, status) in table {
                let out = apply(&mut org, profile, write, br#"{"ticket_scope": 2}"#, now);
                assert_eq!(seen(&out), (status, false), "{write:?}");
            }
            assert!(org.agent(OWNER).is_some());
        }
    }

    #[test]
    fn update_changes_fields_memberships_totals_and_updated_at() {
        let mut org = org();
        let body = br#"{"role_ids": [10], "group_ids": [21], "ticket_scope": 3, "occasional": true}"#;
        let now = at("2026-01-01T00:00:00.750Z");
        let out = apply(&mut org, Profile::Documented, Write::Update(ACTIVE), body, now);
        assert_eq!(seen(&out), (StatusCode::OK, true));
        let agent = org.agent(ACTIVE).cloned().unwrap_or_default();
        assert_eq!(out.reply.body, agent);
        let fields = [
            "role_ids",
            "group_ids",
            "ticket_scope",
            "occasional",
            "updated_at",
        ];
        let got: Vec<Value> = fields.iter().map(|f| agent[*f].clone()).collect();
        let want = json!([[10], [21], 3, true, "2026-01-01T00:00:00Z"]);
        assert_eq!(Value::from(got), want);
        assert_eq!(org.members(20), Some(&[OWNER, PENDING][..]));
        assert_eq!(org.members(21), Some(&[ACTIVE][..]));
        assert_eq!(totals(&org), json!({"full_time": 2, "occasional": 1}));
        // A second write in the same second still moves updated_at forward.
        let update = |org: &mut Org, body: &[u8]| apply(org, Profile::Seed, Write::Update(ACTIVE), body, now);
        let out = update(&mut org, br#"{"group_ids": [20]}"#);
        assert_eq!(out.reply.body["updated_at"], json!("2026-01-01T00:00:01Z"));
        assert_eq!(
            org.members(20),
            Some(&[OWNER, ACTIVE, PENDING][..]),
            "agent order kept"
        );
        let refused = update(&mut org, br#"{"role_ids": [9]}"#);
        assert_eq!(seen(&refused), (StatusCode::BAD_REQUEST, false));
        assert_eq!(refused.reply.body["errors"][0]["field"], json!("role_ids"));
    }

    #[test]
    fn create_adds_a_pending_agent_with_a_new_id() {
        let mut org = org();
        let now = at("2026-01-01T00:00:00Z");
        let body = br#"{"email": "New@Acme.test", "group_ids": [21]}"#;
        let out = apply(&mut org, Profile::Documented, Write::Create, body, now);
        assert_eq!(seen(&out), (StatusCode::CREATED, true));
        let id = out.agent_id.unwrap_or_default();
        assert_eq!(id, u64::from(u32::MAX) + 1);
        let agent = org.agent(id).cloned().unwrap_or_default();
        assert_eq!(out.reply.body, agent);
        assert_eq!(
            (
                agent["contact"]["active"].clone(),
                agent["contact"]["last_login_at"].clone()
            ),
            (json!(false), Value::Null)
        );
        assert_eq!(
            (agent["role_ids"].clone(), agent["ticket_scope"].clone()),
            (json!([11]), json!(1))
        );
        assert_eq!(org.members(21), Some(&[id][..]));
        assert_eq!(totals(&org)["full_time"], json!(4));
        let duplicate = apply(
            &mut org,
            Profile::Seed,
            Write::Create,
            br#"{"email": "a2@ACME.test"}"#,
            now,
        );
        assert_eq!(seen(&duplicate), (StatusCode::CONFLICT, false));
        assert_eq!(
            duplicate.reply.body["errors"][0]["code"],
            json!("duplicate_value")
        );
        let bad = apply(&mut org, Profile::Seed, Write::Create, b"not json", now);
        assert_eq!(bad.reply.body["code"], json!("invalid_json"));
        assert_eq!(org.agents.len(), 4);
    }
}
