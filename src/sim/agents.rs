//! `/agents`, `/agents/{id}` and `/agents/me`, in both profiles.

use serde_json::{Map, Value, json};

use super::Profile;
use super::data::{is_active, is_deactivated};
use super::pagination::{self, first};
use super::reply::{FieldError, Reply};
use super::routes::{Caller, Ctx};

/// Query parameters `GET /agents` accepts in the documented profile.
const DOCUMENTED_PARAMS: [&str; 7] = ["email", "mobile", "phone", "state", "only", "page", "per_page"];
/// Left out of the documented list; only the detail call has them.
const DETAIL_ONLY_FIELDS: [&str; 4] = ["role_ids", "group_ids", "skill_ids", "contribution_group_ids"];

pub(crate) fn list(ctx: &Ctx<'_>) -> Reply {
    match ctx.profile {
        Profile::Documented => documented_list(ctx),
        Profile::Seed => seed_list(ctx),
    }
}

fn documented_list(ctx: &Ctx<'_>) -> Reply {
    let mut errors: Vec<FieldError> = ctx
        .params
        .iter()
        .filter(|(key, _)| !DOCUMENTED_PARAMS.contains(&key.as_str()))
        .map(|(key, _)| FieldError::invalid_field(key))
        .collect();
    let only = first(ctx.params, "only");
    if only.is_some_and(|only| only != "availability") {
        errors.push(FieldError::invalid_value(
            "only",
            "It should be one of these values: 'availability'",
        ));
    }
    if first(ctx.params, "state").is_some_and(|s| s != "fulltime" && s != "occasional") {
        errors.push(FieldError::invalid_value(
            "state",
            "It should be one of these values: 'fulltime,occasional'",
        ));
    }
    let request = match pagination::parse(ctx.params) {
        Ok(request) if errors.is_empty() => request,
        Ok(_) => return Reply::validation(errors),
        Err(page_errors) => {
            errors.extend(page_errors);
            return Reply::validation(errors);
        }
    };
    let availability = only.is_some();
    let selected: Vec<&Value> = ctx
        .org
        .agents
        .iter()
        .filter(|agent| availability || !is_deactivated(agent))
        .filter(|agent| matches_filters(agent, ctx.params))
        .collect();
    ctx.paged(request, &selected, |agent| match ctx.caller {
        Caller::Agent => truncated(agent),
        Caller::Admin if availability => availability_view(agent),
        Caller::Admin => list_view(agent),
    })
}

/// The older behaviour: active agents by default, `?active=false` for the
/// others, full objects with a top-level `active`, never a `link` header.
fn seed_list(ctx: &Ctx<'_>) -> Reply {
    let request = match pagination::parse(ctx.params) {
        Ok(request) => request,
        Err(errors) => return Reply::validation(errors),
    };
    let want_active = first(ctx.params, "active") != Some("false");
    let selected: Vec<&Value> = ctx
        .org
        .agents
        .iter()
        .filter(|agent| is_active(agent) == want_active)
        .filter(|agent| matches_filters(agent, ctx.params))
        .collect();
    ctx.paged(request, &selected, |agent| match ctx.caller {
        Caller::Agent => truncated(agent),
        Caller::Admin => {
            let mut out = agent.clone();
            if let Some(object) = out.as_object_mut() {
                object.insert("active".to_owned(), Value::Bool(want_active));
            }
            out
        }
    })
}

/// `GET /agents/{id}`: the full object, deactivated agents included.
pub(crate) fn detail(ctx: &Ctx<'_>, id: u64) -> Reply {
    match (ctx.org.agent(id), ctx.caller) {
        (None, _) => Reply::not_found(),
        (Some(agent), Caller::Admin) => Reply::ok(agent.clone()),
        (Some(agent), Caller::Agent) => Reply::ok(truncated(agent)),
    }
}

/// `GET /agents/me`: the owner of the key used.
pub(crate) fn me(ctx: &Ctx<'_>) -> Reply {
    let owner = match ctx.caller {
        Caller::Admin => ctx.org.admin_owner,
        Caller::Agent => ctx.org.agent_owner,
    };
    match owner.and_then(|id| ctx.org.agent(id)) {
        Some(agent) => Reply::ok(agent.clone()),
        None => Reply::not_found(),
    }
}

/// `email`, `mobile`, `phone` and `state` filters (unknown values match nothing).
fn matches_filters(agent: &Value, params: &[(String, String)]) -> bool {
    let contact = |field: &str| {
        agent
            .pointer(&format!("/contact/{field}"))
            .and_then(Value::as_str)
    };
    params.iter().all(|(key, value)| match key.as_str() {
        "email" => contact("email").is_some_and(|e| e.eq_ignore_ascii_case(value.trim())),
        "mobile" | "phone" => contact(key) == Some(value.as_str()),
        "state" => {
            let occasional = agent.get("occasional").and_then(Value::as_bool) == Some(true);
            (value == "occasional") == occasional
        }
        _ => true,
    })
}

/// The documented list form: the detail object without ids of roles,
/// groups and skills.
fn list_view(agent: &Value) -> Value {
    let mut out = agent.clone();
    if let Some(object) = out.as_object_mut() {
        for field in DETAIL_ONLY_FIELDS {
            object.remove(field);
        }
    }
    out
}

/// `?only=availability`: id, availability and `deactivated`.
fn availability_view(agent: &Value) -> Value {
    let mut out = Map::new();
    for field in ["id", "available", "available_since", "deactivated"] {
        out.insert(field.to_owned(), agent.get(field).cloned().unwrap_or(Value::Null));
    }
    Value::Object(out)
}

/// What a non-admin key sees of another agent.
fn truncated(agent: &Value) -> Value {
    json!({
        "id": agent.get("id").cloned().unwrap_or(Value::Null),
        "contact": {"name": agent.pointer("/contact/name").cloned().unwrap_or(Value::Null)},
        "type": agent.get("type").cloned().unwrap_or(Value::Null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn filters_match_contact_fields_and_state() {
        let agent = json!({"occasional": true,
            "contact": {"email": "Ann@Acme.test", "phone": "123", "mobile": null}});
        let table = [
            (vec![("email", "ann@acme.test")], true),
            (vec![("email", "bob@acme.test")], false),
            (vec![("phone", "123")], true),
            (vec![("mobile", "123")], false),
            (vec![("state", "occasional")], true),
            (vec![("state", "fulltime")], false),
            (vec![("page", "2")], true),
        ];
        for (query, expected) in table {
            assert_eq!(matches_filters(&agent, &params(&query)), expected, "{query:?}");
        }
    }

    #[test]
    fn views_drop_what_the_list_does_not_send() {
        let agent = json!({"id": 1, "available": true, "deactivated": false, "type": "support_agent",
            "role_ids": [1], "group_ids": [2], "skill_ids": [], "contact": {"name": "A", "email": "a@x"}});
        let list = list_view(&agent);
        assert!(list.get("role_ids").is_none() && list.get("group_ids").is_none());
        assert_eq!(list["contact"]["email"], json!("a@x"));
        let availability = availability_view(&agent);
        assert_eq!(availability["deactivated"], json!(false));
        assert!(availability.get("role_ids").is_none());
        assert_eq!(
            truncated(&agent),
            json!({"id": 1, "contact": {"name": "A"}, "type": "support_agent"})
        );
    }
}
