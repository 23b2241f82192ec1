//! One side of a diff: a finished run read back from its directory, or the
//! audit being run right now, reduced to what the comparison needs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use jiff::Timestamp;
use serde_json::Value;

use super::DiffError;
use crate::model::{AgentStatus, Directory, Snapshot, TicketScope};
use crate::rundir::{Decisions, FindingRecord, RunDir};

/// Everything the diff reads from one run.
#[derive(Clone, Debug)]
pub struct Side {
    /// The run directory, where there is one (shown to the reader, never opened again).
    pub dir: String,
    pub as_of: Timestamp,
    pub collected_at: Timestamp,
    pub domain: String,
    pub snapshot_sha256: String,
    /// Rule ids the run evaluated; empty when the run did not record them.
    pub rules_run: Vec<String>,
    pub findings: Vec<FindingRecord>,
    pub suppressed: Vec<FindingRecord>,
    pub population: Population,
    /// The reviewers' decisions recorded in this run (`decisions.json`).
    pub decisions: Option<Decisions>,
    /// What `remediate apply` did with them (`remediation.json`).
    pub remediation: Option<crate::remediate::Remediation>,
    /// Every account the run audited, in its order (one for a one-account run).
    pub accounts: Vec<AccountRef>,
}

/// One account of a side: which snapshot of it the run read.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AccountRef {
    pub domain: String,
    pub collected_at: Timestamp,
    pub snapshot_sha256: String,
    /// Agents of the account in this side's snapshot.
    pub agents: usize,
}

impl Side {
    /// A finished audit directory: run.json, findings.json, decisions.json
    /// (if any), and the snapshot the audit read, checked against its hash.
    pub fn from_run_dir(dir: &Path) -> Result<Side, DiffError> {
        let run = RunDir::open(dir).map_err(|e| DiffError::run_dir(dir, e))?;
        // Every account's snapshot, each checked against its own recorded hash.
        let snapshots = run.snapshots().map_err(|e| DiffError::run_dir(dir, e))?;
        let decisions = run.decisions().map_err(|e| DiffError::run_dir(dir, e))?;
        let remediation =
            crate::remediate::read_outcome(&run).map_err(|e| DiffError::Remediation(e.to_string()))?;
        let recorded: Vec<&str> = if run.run.accounts.is_empty() {
            vec![run.run.inputs.snapshot.sha256.as_str()]
        } else {
            run.run
                .accounts
                .iter()
                .map(|a| a.snapshot.sha256.as_str())
                .collect()
        };
        let mut population = Population::default();
        let mut accounts = Vec::with_capacity(snapshots.len());
        for (each, sha256) in snapshots.iter().zip(recorded) {
            let part = Population::from_snapshot(&each.snapshot).map_err(|e| DiffError::Snapshot {
                file: each.path.display().to_string(),
                reason: e.to_string(),
            })?;
            accounts.push(AccountRef {
                domain: each.domain.clone(),
                collected_at: each.snapshot.meta.collected_at,
                snapshot_sha256: sha256.to_owned(),
                agents: part.agents.len(),
            });
            population.agents.extend(part.agents);
            population.contacts.extend(part.contacts);
        }
        let first = accounts.first().ok_or_else(|| DiffError::Snapshot {
            file: run.run.inputs.snapshot.path.clone(),
            reason: "the run records no snapshot".to_owned(),
        })?;
        Ok(Side {
            dir: dir.display().to_string(),
            as_of: run.run.as_of,
            // The latest collection, as the audit of several takes its as-of from.
            collected_at: accounts
                .iter()
                .map(|a| a.collected_at)
                .max()
                .unwrap_or(first.collected_at),
            domain: first.domain.clone(),
            snapshot_sha256: run.run.inputs.snapshot.sha256.clone(),
            rules_run: run.run.rules_run.clone(),
            findings: run.findings.findings,
            suppressed: run.findings.suppressed,
            population,
            decisions,
            remediation,
            accounts,
        })
    }

    /// More than one account: agents are then told apart by account.
    pub fn several_accounts(&self) -> bool {
        self.accounts.len() > 1
    }

    /// The domain of the account a finding record is about: its `account`
    /// field (findings.json has it in every run since #17), else this run's
    /// only account.
    pub fn account_of(&self, f: &FindingRecord) -> String {
        match f.rest.get("account").and_then(Value::as_str) {
            Some(account) => account.to_owned(),
            None => self.domain.clone(),
        }
    }

    /// The same side with every account label blanked: two one-account runs
    /// are compared by agent id alone, as they always were, even when their
    /// domains differ (a renamed account; the diff warns).
    pub fn unlabelled(&self) -> Side {
        // Field by field: the population is rebuilt, not cloned and dropped.
        Side {
            dir: self.dir.clone(),
            as_of: self.as_of,
            collected_at: self.collected_at,
            domain: self.domain.clone(),
            snapshot_sha256: self.snapshot_sha256.clone(),
            rules_run: self.rules_run.clone(),
            findings: self.findings.clone(),
            suppressed: self.suppressed.clone(),
            population: self.population.unlabelled(),
            decisions: self.decisions.clone(),
            remediation: self.remediation.clone(),
            accounts: self.accounts.clone(),
        }
    }
}

/// An agent (or the contact a deleted agent became) within its account:
/// ids of different accounts may collide.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentKey {
    /// The account's domain; empty when the diff compares one account.
    pub account: String,
    pub id: u64,
}

impl AgentKey {
    pub fn new(account: &str, id: u64) -> AgentKey {
        AgentKey {
            account: account.to_owned(),
            id,
        }
    }
}

/// The agents of one or several snapshots, by (account, id), and the
/// contacts they recorded (a deleted agent is demoted to a contact with the
/// same id, in its own account).
#[derive(Clone, Debug, Default)]
pub struct Population {
    pub agents: BTreeMap<AgentKey, AgentState>,
    pub contacts: BTreeMap<AgentKey, Contact>,
}

/// One agent's access as the diff compares it.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentState {
    /// The account's domain (empty once [`Population::unlabelled`]).
    pub account: String,
    pub id: u64,
    pub email: String,
    pub name: String,
    pub status: AgentStatus,
    /// Role id → name (as this snapshot names it).
    pub roles: BTreeMap<u64, String>,
    /// (group id, view-only) → name; view-only is `contribution_group_ids`.
    pub groups: BTreeMap<(u64, bool), String>,
    pub ticket_scope: Option<TicketScope>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Contact {
    pub account: String,
    pub id: u64,
    pub email: Option<String>,
}

impl Population {
    pub fn from_snapshot(snapshot: &Snapshot) -> Result<Population, crate::model::ModelError> {
        let directory = Directory::from_snapshot(snapshot)?;
        Ok(Population::new(
            &directory,
            std::slice::from_ref(&snapshot.contacts),
        ))
    }

    /// `contacts[i]`: the contacts of the snapshot of `directory.accounts[i]`.
    pub fn new(directory: &Directory, contacts: &[Vec<Value>]) -> Population {
        let agents = directory
            .agents
            .iter()
            .map(|a| {
                let account = directory.account_of(a).to_owned();
                let groups = a
                    .group_ids
                    .iter()
                    .map(|&g| ((g, false), directory.group_name(a.in_account(g))))
                    .chain(a.contribution_group_ids.iter().map(|&g| {
                        let name = format!("{} (view only)", directory.group_name(a.in_account(g)));
                        ((g, true), name)
                    }))
                    .collect();
                let state = AgentState {
                    account: account.clone(),
                    id: a.id,
                    email: a.email.as_deref().map(str::trim).unwrap_or_default().to_owned(),
                    name: a.name.clone(),
                    status: a.status,
                    roles: a
                        .role_ids
                        .iter()
                        .map(|&r| (r, directory.role_name(a.in_account(r))))
                        .collect(),
                    groups,
                    ticket_scope: a.ticket_scope,
                };
                (AgentKey::new(&account, a.id), state)
            })
            .collect();
        // Contacts are kept leniently: one without an id cannot be matched, so it is skipped.
        let contacts = contacts
            .iter()
            .enumerate()
            .flat_map(|(i, list)| {
                let account = directory.accounts.get(i).map_or("", String::as_str);
                list.iter().filter_map(move |c| {
                    let id = c.get("id").and_then(id_of)?;
                    let email = c
                        .get("email")
                        .and_then(Value::as_str)
                        .map(|e| e.trim().to_owned());
                    let account = account.to_owned();
                    Some((AgentKey::new(&account, id), Contact { account, id, email }))
                })
            })
            .collect();
        Population { agents, contacts }
    }

    /// Every key's account blanked (see [`Side::unlabelled`]).
    pub fn unlabelled(&self) -> Population {
        Population {
            agents: blanked(&self.agents, |a| a.account.clear()),
            contacts: blanked(&self.contacts, |c| c.account.clear()),
        }
    }

    /// The contact a deleted agent became, in the agent's own account: the
    /// same id, else the same email (a hand-edited or re-exported snapshot
    /// may have renumbered it).
    pub fn contact_for(&self, agent: &AgentState) -> Option<(&Contact, MatchedBy)> {
        if let Some(c) = self.contacts.get(&AgentKey::new(&agent.account, agent.id)) {
            return Some((c, MatchedBy::Id));
        }
        let email = agent.email.to_lowercase();
        if email.is_empty() {
            return None;
        }
        self.contacts
            .values()
            .filter(|c| c.account == agent.account)
            .find(|c| c.email.as_deref().is_some_and(|e| e.to_lowercase() == email))
            .map(|c| (c, MatchedBy::Email))
    }
}

/// Ids arrive as numbers, or as strings from some tools' re-exports.
fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// How a removed agent was found among the new snapshot's contacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchedBy {
    Id,
    Email,
}

/// What became of one agent of the old snapshot in the new one.
#[derive(Clone, Copy, Debug)]
pub enum Fate<'a> {
    Present(&'a AgentState),
    Deleted(&'a Contact, MatchedBy),
    Missing,
}

/// `map` with the account blanked in every key, and by `clear` in every value.
fn blanked<T: Clone>(map: &BTreeMap<AgentKey, T>, clear: fn(&mut T)) -> BTreeMap<AgentKey, T> {
    map.iter()
        .map(|(k, v)| {
            let mut v = v.clone();
            clear(&mut v);
            (AgentKey::new("", k.id), v)
        })
        .collect()
}

impl Population {
    pub fn fate(&self, key: &AgentKey, old: Option<&AgentState>) -> Fate<'_> {
        if let Some(a) = self.agents.get(key) {
            return Fate::Present(a);
        }
        let by_id = self.contacts.get(key).map(|c| (c, MatchedBy::Id));
        match by_id.or_else(|| old.and_then(|o| self.contact_for(o))) {
            Some((c, how)) => Fate::Deleted(c, how),
            None => Fate::Missing,
        }
    }
}

/// Role, group and ticket-scope differences between two states of one agent.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct AccessDelta {
    pub roles_added: Vec<String>,
    pub roles_removed: Vec<String>,
    pub groups_added: Vec<String>,
    pub groups_removed: Vec<String>,
    /// Set only when the ticket scope changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_scope: Option<ScopeChange>,
}

/// `Global`, `Group`, `Restricted`, or "" when the snapshot gives none.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ScopeChange {
    pub before: String,
    pub after: String,
}

impl AccessDelta {
    /// Compared by id, so a renamed role or group is not a change of access.
    pub fn between(old: &AgentState, new: &AgentState) -> AccessDelta {
        fn only_in<K: Ord + Copy>(a: &BTreeMap<K, String>, b: &BTreeMap<K, String>) -> Vec<String> {
            let keys: BTreeSet<K> = a.keys().copied().filter(|k| !b.contains_key(k)).collect();
            keys.iter().filter_map(|k| a.get(k).cloned()).collect()
        }
        let scope = |s: Option<TicketScope>| s.map(|s| s.as_str().to_owned()).unwrap_or_default();
        AccessDelta {
            roles_added: only_in(&new.roles, &old.roles),
            roles_removed: only_in(&old.roles, &new.roles),
            groups_added: only_in(&new.groups, &old.groups),
            groups_removed: only_in(&old.groups, &new.groups),
            ticket_scope: (old.ticket_scope != new.ticket_scope).then(|| ScopeChange {
                before: scope(old.ticket_scope),
                after: scope(new.ticket_scope),
            }),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == AccessDelta::default()
    }

    /// `roles -Administrator +Agent; groups +Tier 2; ticket scope Global -> Group`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let list = |label: &str, added: &[String], removed: &[String]| {
            let items: Vec<String> = removed
                .iter()
                .map(|r| format!("-{r}"))
                .chain(added.iter().map(|a| format!("+{a}")))
                .collect();
            (!items.is_empty()).then(|| format!("{label} {}", items.join(" ")))
        };
        parts.extend(list("roles", &self.roles_added, &self.roles_removed));
        parts.extend(list("groups", &self.groups_added, &self.groups_removed));
        if let Some(change) = &self.ticket_scope {
            let none = |s: &str| {
                if s.is_empty() {
                    "(none)".to_owned()
                } else {
                    s.to_owned()
                }
            };
            parts.push(format!(
                "ticket scope {} -> {}",
                none(&change.before),
                none(&change.after)
            ));
        }
        parts.join("; ")
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Sides built from inline JSON, for the diff's unit tests.

    use serde_json::{Value, json};

    use super::*;

    /// A side as of `as_of` with `agents` and `contacts` (raw API objects) and
    /// findings given as (rule, agent id, severity).
    pub fn side(as_of: &str, agents: Value, contacts: Value, findings: &[(&str, u64, &str)]) -> Side {
        let snapshot: Snapshot = serde_json::from_value(json!({
            "schema_version": 1,
            "meta": {"domain": "acme", "tool_version": "0", "started_at": as_of, "collected_at": as_of},
            "agents": agents,
            "roles": [{"id": 1, "name": "Administrator"}, {"id": 2, "name": "Agent"}],
            "groups": [{"id": 10, "name": "Tier 1"}, {"id": 11, "name": "Tier 2"}],
            "contacts": contacts,
        }))
        .expect("test snapshot");
        Side {
            dir: format!("run-{as_of}"),
            as_of: as_of.parse().expect("as_of"),
            collected_at: snapshot.meta.collected_at,
            domain: snapshot.meta.domain.clone(),
            snapshot_sha256: snapshot.compute_data_sha256(),
            rules_run: Vec::new(),
            findings: findings.iter().map(|f| record(*f)).collect(),
            suppressed: Vec::new(),
            population: Population::from_snapshot(&snapshot).expect("test population"),
            decisions: None,
            remediation: None,
            accounts: vec![AccountRef {
                domain: snapshot.meta.domain.clone(),
                collected_at: snapshot.meta.collected_at,
                snapshot_sha256: snapshot.compute_data_sha256(),
                agents: snapshot.agents.len(),
            }],
        }
    }

    /// Agent `id` of the test account.
    pub fn key(id: u64) -> AgentKey {
        AgentKey::new("acme", id)
    }

    pub fn record((rule, agent_id, severity): (&str, u64, &str)) -> FindingRecord {
        serde_json::from_value(json!({
            "finding_id": format!("{rule}:{agent_id}"),
            "rule": rule, "severity": severity, "agent_id": agent_id,
            "agent_email": format!("a{agent_id}@acme.test"), "agent_name": format!("Agent {agent_id}"),
            "agent_status": "active", "detail": "",
        }))
        .expect("test finding")
    }

    /// An agent object: `status` is active, pending or deactivated.
    pub fn agent(id: u64, status: &str, roles: &[u64], groups: &[u64], scope: u64) -> Value {
        let (active, login) = match status {
            "pending" => (false, Value::Null),
            "deactivated" => (false, json!("2026-01-01T00:00:00Z")),
            _ => (true, json!("2026-01-01T00:00:00Z")),
        };
        json!({"id": id, "role_ids": roles, "group_ids": groups, "ticket_scope": scope,
               "contact": {"email": format!("a{id}@acme.test"), "name": format!("Agent {id}"),
                           "active": active, "last_login_at": login}})
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::test_support::{agent, key, side};
    use super::*;

    #[test]
    fn access_is_compared_by_id_so_a_rename_is_no_change() {
        let old = side(
            "2026-07-01T00:00:00Z",
            json!([agent(1, "active", &[1], &[10], 1)]),
            json!([]),
            &[],
        );
        let mut new = side(
            "2026-10-01T00:00:00Z",
            json!([agent(1, "active", &[1], &[10], 1)]),
            json!([]),
            &[],
        );
        let renamed = new.population.agents.get_mut(&key(1)).expect("agent 1");
        renamed.roles.insert(1, "Admin (renamed)".into());
        let (a, b) = (&old.population.agents[&key(1)], &new.population.agents[&key(1)]);
        assert!(AccessDelta::between(a, b).is_empty());
    }

    #[test]
    fn access_delta_lists_roles_groups_and_scope() {
        let old = side(
            "2026-07-01T00:00:00Z",
            json!([agent(1, "active", &[1], &[10, 11], 1)]),
            json!([]),
            &[],
        );
        let new = side(
            "2026-10-01T00:00:00Z",
            json!([agent(1, "active", &[2], &[10], 2)]),
            json!([]),
            &[],
        );
        let delta = AccessDelta::between(&old.population.agents[&key(1)], &new.population.agents[&key(1)]);
        assert_eq!(delta.roles_added, ["Agent"]);
        assert_eq!(delta.roles_removed, ["Administrator"]);
        assert_eq!(delta.groups_removed, ["Tier 2"]);
        assert!(delta.groups_added.is_empty());
        assert_eq!(
            delta.describe(),
            "roles -Administrator +Agent; groups -Tier 2; ticket scope Global -> Group"
        );
    }

    #[test]
    fn view_only_membership_is_a_group_of_its_own() {
        let mut raw = agent(1, "active", &[2], &[10], 2);
        raw["contribution_group_ids"] = json!([11]);
        let s = side("2026-07-01T00:00:00Z", json!([raw]), json!([]), &[]);
        let groups: Vec<&String> = s.population.agents[&key(1)].groups.values().collect();
        assert_eq!(groups, ["Tier 1", "Tier 2 (view only)"]);
    }

    #[test]
    fn a_deleted_agent_is_found_by_contact_id_then_email() {
        let old = side(
            "2026-07-01T00:00:00Z",
            json!([agent(1, "active", &[2], &[], 2)]),
            json!([]),
            &[],
        );
        let by_id = side(
            "2026-10-01T00:00:00Z",
            json!([]),
            json!([{"id": 1, "email": "x@y.test"}]),
            &[],
        );
        let by_email = side(
            "2026-10-01T00:00:00Z",
            json!([]),
            json!([{"id": "77", "email": " A1@acme.test"}]),
            &[],
        );
        let none = side(
            "2026-10-01T00:00:00Z",
            json!([]),
            json!([{"email": "a1@acme.test"}]),
            &[],
        );
        let before = old.population.agents.get(&key(1));
        assert!(
            matches!(by_id.population.fate(&key(1), before), Fate::Deleted(c, MatchedBy::Id) if c.id == 1)
        );
        assert!(
            matches!(by_email.population.fate(&key(1), before), Fate::Deleted(c, MatchedBy::Email) if c.id == 77)
        );
        // A contact without an id cannot be matched at all: it is skipped, not an error.
        assert!(matches!(none.population.fate(&key(1), before), Fate::Missing));
    }
}
