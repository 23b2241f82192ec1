//! Agent objects from several channels, merged by id. Below both discovery
//! and membership, which each merge what they fetch.

use std::collections::BTreeMap;

use serde_json::Value;

use super::CollectError;

/// Merges every object of one channel.
pub fn merge_all(
    agents: &mut BTreeMap<u64, Value>,
    items: Vec<Value>,
    channel: &str,
) -> Result<(), CollectError> {
    items
        .into_iter()
        .try_for_each(|item| merge(agents, item, channel))
}

/// Later (richer) objects add and overwrite fields; unknown fields are kept.
pub fn merge(agents: &mut BTreeMap<u64, Value>, item: Value, channel: &str) -> Result<(), CollectError> {
    let id = item
        .get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| CollectError::Protocol {
            endpoint: channel.to_owned(),
            reason: "an agent object has no numeric id".into(),
        })?;
    let Value::Object(fields) = item else {
        return Err(CollectError::Protocol {
            endpoint: channel.to_owned(),
            reason: format!("agent {id} is not a JSON object"),
        });
    };
    match agents.get_mut(&id) {
        Some(Value::Object(existing)) => deep_merge(existing, fields),
        _ => {
            agents.insert(id, Value::Object(fields));
        }
    }
    Ok(())
}

/// Nested objects merge field by field, so a channel that sends a partial
/// `contact` cannot erase what a richer one said.
fn deep_merge(into: &mut serde_json::Map<String, Value>, from: serde_json::Map<String, Value>) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Object(a)), Value::Object(b)) => deep_merge(a, b),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_keeps_richer_nested_fields() {
        let mut agents = BTreeMap::new();
        merge(
            &mut agents,
            json!({"id": 1, "contact": {"email": "a@x.test", "last_login_at": "2026-01-01T00:00:00Z"}}),
            "list",
        )
        .expect("merges");
        merge(
            &mut agents,
            json!({"id": 1, "deactivated": true, "contact": {"email": "a@x.test"}}),
            "availability",
        )
        .expect("merges");
        assert_eq!(
            agents[&1],
            json!({"id": 1, "contact": {"email": "a@x.test", "last_login_at": "2026-01-01T00:00:00Z"}, "deactivated": true})
        );
        assert!(merge(&mut agents, json!({"name": "no id"}), "list").is_err());
    }
}
