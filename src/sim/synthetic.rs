//! A synthetic N-agent account, generated in memory from a seed, for
//! benchmarks with thousands of agents. Same seed, same account.

use serde_json::{Value, json};

use super::fixture::{Fixture, synthesise_account};
use super::rng::Rng;

/// 2026-11-01T00:00:00Z: timestamps are generated before this instant.
const REFERENCE_SECOND: i64 = 1_793_491_200;
const DAY: i64 = 86_400;
/// Freshdesk ids are larger than 2^32; keep them so here too.
const AGENT_ID_BASE: u64 = 80_000_000_000;
const ROLE_ID_BASE: u64 = 48_000_000_000;
const GROUP_ID_BASE: u64 = 49_000_000_000;
const CONTACT_ID_BASE: u64 = 90_000_000_000;

const ROLES: [&str; 6] = [
    "Account Administrator",
    "Administrator",
    "Supervisor",
    "Agent",
    "Billing",
    "Custom QA",
];

impl Fixture {
    /// An account of `n` agents: about 90% active, 5% deactivated, 3% pending
    /// invitations, a few occasional agents and collaborators; the first agent
    /// is the Account Administrator. One deleted agent survives as a contact.
    pub fn synthetic(n: usize, seed: u64) -> Fixture {
        let mut rng = Rng::new(seed);
        let roles: Vec<Value> = ROLES
            .iter()
            .zip(ROLE_ID_BASE..)
            .map(|(name, id)| {
                json!({"id": id, "name": name, "description": name,
                    "default": id < ROLE_ID_BASE + 4,
                    "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z"})
            })
            .collect();
        let group_count = (n / 25).clamp(5, 500) as u64;
        let groups: Vec<Value> = (0..group_count)
            .map(|i| {
                json!({"id": GROUP_ID_BASE + i, "name": format!("Group {i}"), "description": "",
                    "unassigned_for": null, "business_hour_id": null, "escalate_to": null,
                    "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z"})
            })
            .collect();
        let agents = (0..n as u64)
            .map(|i| synthetic_agent(&mut rng, i, group_count))
            .collect::<Vec<_>>();
        let mut contacts: Vec<Value> = (0..3u64)
            .map(|i| contact(CONTACT_ID_BASE + i, &format!("customer{i}@customer.test"), true))
            .collect();
        contacts.push(contact(
            CONTACT_ID_BASE + 99,
            "former.agent@synthetic.test",
            false,
        ));
        let account = synthesise_account(&agents);
        Fixture {
            agents,
            roles,
            groups,
            contacts,
            account,
        }
    }
}

fn synthetic_agent(rng: &mut Rng, i: u64, group_count: u64) -> Value {
    let roll = rng.next_f64();
    let (deactivated, pending) = if i == 0 {
        (false, false)
    } else {
        (roll < 0.05, (0.05..0.08).contains(&roll))
    };
    let occasional = i != 0 && rng.chance(0.05);
    let kind = if i != 0 && rng.chance(0.02) {
        "collaborator"
    } else {
        "support_agent"
    };
    let role = if i == 0 {
        0
    } else {
        [1, 2, 3, 3, 3, 3, 3, 4, 5][rng.below(9) as usize]
    };
    let mut group_ids: Vec<u64> = (0..rng.below(4))
        .map(|_| GROUP_ID_BASE + rng.below(group_count))
        .collect();
    group_ids.sort_unstable();
    group_ids.dedup();
    let created = REFERENCE_SECOND - DAY * (1 + rng.below(2000) as i64);
    let last_active = (REFERENCE_SECOND - DAY * rng.below(500) as i64).max(created);
    let (last_login, last_active) = if pending {
        (Value::Null, Value::Null)
    } else {
        (json!(stamp(last_active)), json!(stamp(last_active)))
    };
    let ticket_scope = [1, 2, 2, 3][rng.below(4) as usize];
    json!({
        "available": rng.chance(0.5),
        "occasional": occasional,
        "id": AGENT_ID_BASE + i,
        "ticket_scope": ticket_scope,
        "signature": null,
        "group_ids": group_ids,
        "role_ids": [ROLE_ID_BASE + role],
        "skill_ids": [],
        "available_since": null,
        "contribution_group_ids": [],
        "type": kind,
        "deactivated": deactivated,
        "focus_mode": true,
        "created_at": stamp(created),
        "updated_at": stamp(created),
        "last_active_at": last_active,
        "contact": {
            "active": !(deactivated || pending),
            "email": format!("agent{i}@synthetic.test"),
            "job_title": null,
            "language": "en",
            "last_login_at": last_login,
            "mobile": null,
            "name": format!("Agent {i}"),
            "phone": null,
            "time_zone": "Eastern Time (US & Canada)",
            "created_at": stamp(created),
            "updated_at": stamp(created)
        }
    })
}

fn contact(id: u64, email: &str, active: bool) -> Value {
    json!({"id": id, "active": active, "email": email, "name": email,
        "created_at": "2021-01-01T00:00:00Z", "updated_at": "2021-01-01T00:00:00Z"})
}

pub(crate) fn stamp(second: i64) -> String {
    jiff::Timestamp::from_second(second)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_is_deterministic_and_sized() {
        let a = Fixture::synthetic(500, 9);
        let b = Fixture::synthetic(500, 9);
        assert_eq!(a.agent_count(), 500);
        assert_eq!(a.agents, b.agents);
        assert_ne!(a.agents, Fixture::synthetic(500, 10).agents);
        assert!(
            a.agents
                .iter()
                .all(|x| x["id"].as_u64() > Some(u64::from(u32::MAX)))
        );
        let deactivated = a
            .agents
            .iter()
            .filter(|x| x["deactivated"] == json!(true))
            .count();
        assert!((5..60).contains(&deactivated), "{deactivated}");
        assert_eq!(a.agents[0]["role_ids"], json!([ROLE_ID_BASE]));
        assert_eq!(stamp(REFERENCE_SECOND), "2026-11-01T00:00:00Z");
    }

    #[test]
    fn synthetic_ids_are_unique() {
        let f = Fixture::synthetic(2000, 1);
        let ids: std::collections::BTreeSet<_> = f.agents.iter().filter_map(|x| x["id"].as_u64()).collect();
        assert_eq!(ids.len(), 2000);
    }
}
