//! Loading a fixture account from disk, as plain JSON values.
//!
//! Two layouts are read: a scenario directory (`agents.json`, `roles.json`,
//! `groups.json`, optional `account.json` and `contacts.json`) and a bench
//! dataset (`freshdesk.json` = `{"agents", "roles", "groups"}`, written by
//! `gen_data.py`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::SimError;

/// One Freshdesk account: every object exactly as the API returns it in
/// detail form (agents as `GET /agents/{id}`, groups possibly without
/// `agent_ids`: membership is derived from the agents' `group_ids`).
#[derive(Clone, Debug, Default)]
pub struct Fixture {
    pub agents: Vec<Value>,
    pub roles: Vec<Value>,
    pub groups: Vec<Value>,
    /// Contacts, including agents that were deleted (demoted to contacts).
    pub contacts: Vec<Value>,
    /// The `GET /account` body.
    pub account: Value,
}

impl Fixture {
    /// Reads a scenario directory or a bench dataset directory.
    pub fn load(dir: &Path) -> Result<Fixture, SimError> {
        let bench = dir.join("freshdesk.json");
        if bench.is_file() {
            return load_bench(&bench);
        }
        let agents = read_array(&dir.join("agents.json"))?;
        let roles = read_array(&dir.join("roles.json"))?;
        let groups = read_array(&dir.join("groups.json"))?;
        let contacts_file = dir.join("contacts.json");
        let contacts = if contacts_file.exists() {
            read_array(&contacts_file)?
        } else {
            Vec::new()
        };
        let account_file = dir.join("account.json");
        let account = if account_file.exists() {
            let value = read_json(&account_file)?;
            if !value.is_object() {
                return Err(invalid(&account_file, "expected a JSON object"));
            }
            Some(value)
        } else {
            None
        };
        let files = Files {
            agents: dir.join("agents.json"),
            roles: dir.join("roles.json"),
            groups: dir.join("groups.json"),
            contacts: contacts_file,
        };
        Fixture::checked(agents, roles, groups, contacts, account, &files)
    }

    /// Number of agents in the account, deactivated ones included.
    pub fn agent_count(&self) -> usize {
        self.agents.len()
    }

    /// Validates ids and fills what the API always sends (`deactivated`,
    /// the account body) when a dataset leaves it out.
    pub(crate) fn checked(
        mut agents: Vec<Value>,
        roles: Vec<Value>,
        groups: Vec<Value>,
        contacts: Vec<Value>,
        account: Option<Value>,
        files: &Files,
    ) -> Result<Fixture, SimError> {
        check_ids(&files.agents, "agent", &agents)?;
        check_ids(&files.roles, "role", &roles)?;
        check_ids(&files.groups, "group", &groups)?;
        check_ids(&files.contacts, "contact", &contacts)?;
        for (index, agent) in agents.iter_mut().enumerate() {
            let Some(object) = agent.as_object_mut() else {
                continue; // check_ids already refused non-objects
            };
            if !object.get("contact").is_some_and(Value::is_object) {
                let reason = format!("agent #{index} has no \"contact\" object");
                return Err(invalid(&files.agents, &reason));
            }
            object.entry("deactivated").or_insert(Value::Bool(false));
        }
        let account = account.unwrap_or_else(|| synthesise_account(&agents));
        Ok(Fixture {
            agents,
            roles,
            groups,
            contacts,
            account,
        })
    }
}

/// Where each collection came from, for error messages.
pub(crate) struct Files {
    pub(crate) agents: PathBuf,
    pub(crate) roles: PathBuf,
    pub(crate) groups: PathBuf,
    pub(crate) contacts: PathBuf,
}

impl Files {
    pub(crate) fn all(file: &Path) -> Files {
        Files {
            agents: file.to_path_buf(),
            roles: file.to_path_buf(),
            groups: file.to_path_buf(),
            contacts: file.to_path_buf(),
        }
    }
}

fn load_bench(file: &Path) -> Result<Fixture, SimError> {
    let mut value = read_json(file)?;
    let mut take = |key: &str| -> Result<Vec<Value>, SimError> {
        match value.get_mut(key).map(Value::take) {
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(invalid(file, &format!("\"{key}\" is not an array"))),
            None => Err(invalid(file, &format!("missing \"{key}\" array"))),
        }
    };
    let agents = take("agents")?;
    let roles = take("roles")?;
    let groups = take("groups")?;
    Fixture::checked(agents, roles, groups, Vec::new(), None, &Files::all(file))
}

/// The keys of `total_agents`, by agent kind.
const TOTAL_KINDS: [&str; 4] = ["full_time", "occasional", "field_service", "collaborators"];

/// The `total_agents` key that counts `agent`, or `None` when it is not
/// counted: deactivated, whether by the flag or by an inactive contact that
/// has logged in before.
pub(crate) fn counted_kind(agent: &Value) -> Option<&'static str> {
    if deactivated(agent) {
        return None;
    }
    Some(match agent.get("type").and_then(Value::as_str) {
        Some("collaborator") => "collaborators",
        Some("field_agent") => "field_service",
        _ if agent.get("occasional").and_then(Value::as_bool) == Some(true) => "occasional",
        _ => "full_time",
    })
}

/// Deactivated by the flag, or an inactive contact that has logged in
/// before (a pending invite is inactive too, but has never logged in).
pub(crate) fn deactivated(agent: &Value) -> bool {
    let flag = agent.get("deactivated").and_then(Value::as_bool) == Some(true);
    let inactive = agent.pointer("/contact/active").and_then(Value::as_bool) == Some(false);
    let logged_in = ["/contact/last_login_at", "/last_active_at"]
        .iter()
        .any(|p| agent.pointer(p).is_some_and(|v| !v.is_null()));
    flag || (inactive && logged_in)
}

/// The `GET /account` body for a dataset that has none: totals by agent
/// kind, as `fixtures/acme/account.json` counts them (agents that are not
/// deactivated, whether by the flag or by an inactive contact that has
/// logged in before).
pub(crate) fn synthesise_account(agents: &[Value]) -> Value {
    let zero: Map<String, Value> = TOTAL_KINDS.iter().map(|k| ((*k).to_owned(), json!(0))).collect();
    let mut account = json!({
        "account_id": 1_000_001,
        "account_name": "Simulated account",
        "account_domain": "simulated.freshdesk.com",
        "tier_type": "Enterprise",
        "data_center": "US",
        "timezone": "UTC",
        "total_agents": zero,
    });
    for kind in agents.iter().filter_map(counted_kind) {
        adjust_total(&mut account, kind, 1);
    }
    account
}

/// Adds `delta` to `total_agents[kind]`, never below zero. An account body
/// without a `total_agents` object is left as it is (nothing to keep true).
pub(crate) fn adjust_total(account: &mut Value, kind: &str, delta: i64) {
    let Some(totals) = account.get_mut("total_agents").and_then(Value::as_object_mut) else {
        return;
    };
    let slot = totals.entry(kind).or_insert(json!(0));
    let now = slot.as_u64().unwrap_or(0);
    *slot = json!(now.saturating_add_signed(delta));
}

fn read_json(file: &Path) -> Result<Value, SimError> {
    let text = std::fs::read_to_string(file).map_err(|source| SimError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    // serde_json's message names the line and column.
    serde_json::from_str(&text).map_err(|e| invalid(file, &e.to_string()))
}

fn read_array(file: &Path) -> Result<Vec<Value>, SimError> {
    match read_json(file)? {
        Value::Array(items) => Ok(items),
        _ => Err(invalid(file, "expected a JSON array of objects")),
    }
}

/// Every item must be an object with a unique unsigned integer `id`.
fn check_ids(file: &Path, kind: &str, items: &[Value]) -> Result<(), SimError> {
    let mut seen = BTreeSet::new();
    for (index, item) in items.iter().enumerate() {
        let object: &Map<String, Value> = item
            .as_object()
            .ok_or_else(|| invalid(file, &format!("{kind} #{index} is not a JSON object")))?;
        let id = object
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| invalid(file, &format!("{kind} #{index} has no unsigned integer \"id\"")))?;
        if !seen.insert(id) {
            return Err(invalid(file, &format!("duplicate {kind} id {id}")));
        }
    }
    Ok(())
}

pub(crate) fn invalid(file: &Path, reason: &str) -> SimError {
    SimError::Invalid {
        file: file.to_path_buf(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).expect("write fixture file");
    }

    #[test]
    fn scenario_directory_loads_and_fills_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "agents.json",
            r#"[{"id": 5000000001, "contact": {"email": "a@x"}}]"#,
        );
        write(dir.path(), "roles.json", r#"[{"id": 1, "name": "Agent"}]"#);
        write(dir.path(), "groups.json", "[]");
        let fixture = Fixture::load(dir.path()).expect("loads");
        assert_eq!(fixture.agent_count(), 1);
        assert_eq!(fixture.agents[0]["deactivated"], json!(false));
        assert_eq!(fixture.account["total_agents"]["full_time"], json!(1));
        assert!(fixture.contacts.is_empty());
    }

    #[test]
    fn bench_dataset_loads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let body = r#"{"agents": [{"id": 50000, "contact": {"active": true}, "group_ids": [2000]}],
            "roles": [{"id": 1000}], "groups": [{"id": 2000, "agent_ids": [50000]}]}"#;
        write(dir.path(), "freshdesk.json", body);
        let fixture = Fixture::load(dir.path()).expect("loads");
        assert_eq!(fixture.agent_count(), 1);
        assert_eq!(fixture.groups.len(), 1);
    }

    #[test]
    fn synthesised_totals_skip_deactivated_agents() {
        let login = json!({"active": false, "last_login_at": "2025-01-01T00:00:00Z"});
        let agents = [
            json!({"type": "support_agent", "contact": {"active": true}}),
            json!({"type": "support_agent", "occasional": true, "contact": {"active": true}}),
            json!({"type": "collaborator", "contact": {"active": true}}),
            json!({"type": "field_agent", "contact": {"active": false, "last_login_at": null}}),
            json!({"type": "support_agent", "deactivated": true, "contact": {"active": true}}),
            json!({"type": "support_agent", "contact": login}),
        ];
        assert_eq!(
            synthesise_account(&agents)["total_agents"],
            json!({"full_time": 1, "occasional": 1, "field_service": 1, "collaborators": 1})
        );
    }

    #[test]
    fn totals_move_by_kind_and_never_below_zero() {
        let table = [
            (
                json!({"total_agents": {"full_time": 2}}),
                "full_time",
                -1,
                json!({"full_time": 1}),
            ),
            (
                json!({"total_agents": {"full_time": 0}}),
                "full_time",
                -1,
                json!({"full_time": 0}),
            ),
            (
                json!({"total_agents": {}}),
                "occasional",
                1,
                json!({"occasional": 1}),
            ),
            (json!({"account_name": "A"}), "full_time", 1, Value::Null),
            (json!({"total_agents": 7}), "full_time", 1, json!(7)),
        ];
        for (mut account, kind, delta, want) in table {
            adjust_total(&mut account, kind, delta);
            assert_eq!(account.get("total_agents").cloned().unwrap_or(Value::Null), want);
        }
        let pending = json!({"type": "support_agent", "contact": {"active": false, "last_login_at": null}});
        assert_eq!(counted_kind(&pending), Some("full_time"));
    }

    #[test]
    fn bad_fixtures_name_the_file_and_reason() {
        let cases = [
            (
                "[{\"id\": 1, \"contact\": {}}, {\"id\": 1, \"contact\": {}}]",
                "duplicate agent id 1",
            ),
            ("[{\"contact\": {}}]", "no unsigned integer \"id\""),
            ("[{\"id\": 2}]", "no \"contact\" object"),
            ("{\"id\": 2}", "expected a JSON array"),
            ("[{\"id\": 2,", "EOF while parsing"),
        ];
        for (agents, reason) in cases {
            let dir = tempfile::tempdir().expect("tempdir");
            write(dir.path(), "agents.json", agents);
            write(dir.path(), "roles.json", "[]");
            write(dir.path(), "groups.json", "[]");
            let err = Fixture::load(dir.path()).expect_err(agents).to_string();
            assert!(err.contains("agents.json"), "{err}");
            assert!(err.contains(reason), "{err} should contain {reason}");
        }
        let empty = tempfile::tempdir().expect("tempdir");
        let err = Fixture::load(empty.path()).expect_err("missing files");
        assert!(matches!(err, SimError::Read { .. }), "{err}");
    }
}
