//! `PUT /api/v2/contacts/{id}/make_agent`: access given back, in both
//! profiles, so that a test can reactivate a leaver between two polls.
//!
//! - A contact that is not an agent (in the documented profile, what a
//!   `DELETE` leaves behind) becomes an agent again under the same id, as
//!   Freshdesk's "Make agent" documents: full-time, Global ticket scope and
//!   the "Agent" role unless the body says otherwise; the contact leaves the
//!   contact list. A verified contact becomes an active agent.
//! - An agent that is deactivated (the `deactivated` flag, or an inactive
//!   contact that has logged in before, as the seed profile's `DELETE` leaves
//!   it) is active again. Freshdesk documents no API for this (its admin UI
//!   has "Reactivate"); the simulator takes `make_agent` as its stand-in.
//! - An active or pending agent: 409, it is an agent already. No such
//!   contact or agent: 404.

use axum::http::StatusCode;
use jiff::Timestamp;
use serde_json::Value;

use super::data::Org;
use super::fixture::{counted_kind, deactivated};
use super::reply::{FieldError, Reply};
use super::synthetic::stamp;
use super::validate::{self, BodyFor};
use super::writes::{Outcome, pending_agent, refusal, set, set_fields, touch};

pub(crate) fn make_agent(org: &mut Org, id: u64, body: &[u8], now: Timestamp) -> Outcome {
    let body = if body.is_empty() { b"{}".as_slice() } else { body };
    let changes = match validate::parse(body, BodyFor::MakeAgent, org) {
        Ok(changes) => changes,
        Err(error) => return Outcome::refused(refusal(error), Some(id)),
    };
    if let Some(agent) = org.agent(id) {
        if !deactivated(agent) {
            let already = FieldError::new("id", "The contact is already an agent", "duplicate_value");
            let reply = Reply::failed_validation(StatusCode::CONFLICT, vec![already]);
            return Outcome::refused(reply, Some(id));
        }
        let groups = changes.group_ids.clone();
        let Some(agent) = org.agent_mut(id) else {
            return Outcome::refused(Reply::not_found(), Some(id));
        };
        let before = counted_kind(agent);
        if agent.get("deactivated").is_some() {
            set(agent, "deactivated", Value::Bool(false));
        }
        if let Some(contact) = agent.get_mut("contact").and_then(Value::as_object_mut) {
            contact.insert("active".to_owned(), Value::Bool(true));
        }
        set_fields(agent, &changes);
        touch(agent, now);
        let (after, reply) = (counted_kind(agent), Reply::ok(agent.clone()));
        if let Some(groups) = &groups {
            org.set_membership(id, groups);
        }
        org.recount(before, after);
        return Outcome::done(reply, id);
    }
    let Some(contact) = org.contact(id).cloned() else {
        return Outcome::refused(Reply::not_found(), Some(id));
    };
    let email = contact.get("email").and_then(Value::as_str).unwrap_or_default();
    let name = contact.get("name").and_then(Value::as_str).map(str::to_owned);
    let changes = validate::Changes {
        name: changes.name.or(name),
        ..changes
    };
    let mut agent = pending_agent(org, id, email, changes, &stamp(now.as_second()));
    // A verified contact is an active agent at once; an unverified one stays an invite.
    let verified = contact.get("active").and_then(Value::as_bool).unwrap_or(false);
    if let Some(fields) = agent.get_mut("contact").and_then(Value::as_object_mut) {
        fields.insert("active".to_owned(), Value::Bool(verified));
    }
    org.remove_contact(id);
    org.recount(None, counted_kind(&agent));
    org.push_agent(agent.clone());
    Outcome::done(Reply::ok(agent), id)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sim::Fixture;

    fn org() -> Org {
        let login = json!("2025-01-01T00:00:00Z");
        Org::new(Fixture {
            agents: vec![
                json!({"id": 1, "deactivated": true, "role_ids": [11], "group_ids": [20],
                    "contact": {"active": true, "email": "flag@acme.test", "last_login_at": login}}),
                json!({"id": 2, "role_ids": [11], "group_ids": [],
                    "contact": {"active": false, "email": "seed@acme.test", "last_login_at": login}}),
                json!({"id": 3, "role_ids": [11], "group_ids": [],
                    "contact": {"active": false, "email": "invite@acme.test", "last_login_at": null}}),
                json!({"id": 4, "role_ids": [11], "group_ids": [],
                    "contact": {"active": true, "email": "on@acme.test", "last_login_at": login}}),
            ],
            roles: vec![
                json!({"id": 11, "name": "Agent"}),
                json!({"id": 12, "name": "Administrator"}),
            ],
            groups: vec![json!({"id": 20, "name": "L1"})],
            contacts: vec![json!({"id": 5, "email": "gone@acme.test", "name": "Gone", "active": true})],
            account: json!({"total_agents": {"full_time": 2}}),
        })
    }

    #[test]
    fn who_can_be_made_an_agent() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().expect("timestamp");
        let table: [(u64, &[u8], StatusCode); 7] = [
            (1, b"", StatusCode::OK),
            (2, b"{}", StatusCode::OK),
            (3, b"", StatusCode::CONFLICT),
            (4, b"", StatusCode::CONFLICT),
            (5, br#"{"role_ids": [12], "group_ids": [20]}"#, StatusCode::OK),
            (6, b"", StatusCode::NOT_FOUND),
            (2, br#"{"email": "x@acme.test"}"#, StatusCode::BAD_REQUEST),
        ];
        let mut org = org();
        for (id, body, status) in table {
            let out = make_agent(&mut org, id, body, now);
            assert_eq!(out.reply.status, status, "{id} {}", String::from_utf8_lossy(body));
            assert_eq!(out.took_effect, status == StatusCode::OK);
        }
        for id in [1, 2] {
            let agent = org.agent(id).cloned().unwrap_or_default();
            assert!(!deactivated(&agent), "{agent}");
            assert_eq!(agent["updated_at"], json!("2026-01-01T00:00:00Z"));
        }
        let restored = org.agent(5).cloned().unwrap_or_default();
        assert_eq!(
            (
                restored["contact"]["email"].clone(),
                restored["contact"]["active"].clone()
            ),
            (json!("gone@acme.test"), json!(true))
        );
        assert_eq!(
            (restored["role_ids"].clone(), restored["ticket_scope"].clone()),
            (json!([12]), json!(1))
        );
        assert_eq!(org.members(20), Some(&[1, 5][..]));
        assert!(org.contact(5).is_none(), "an agent again, no longer a contact");
        assert_eq!(org.account["total_agents"]["full_time"], json!(5));
    }
}
