//! `deskaudit collect` against the simulator over loopback HTTP.

mod common;

use std::collections::BTreeMap;

use common::*;
use deskaudit::model::{AgentStatus, Directory, Snapshot};
use deskaudit::sim::Profile;
use serde_json::Value;

/// What the fixture says, read straight from its files (not through the collector).
fn fixture_truth() -> BTreeMap<u64, (Vec<u64>, Vec<u64>)> {
    let raw: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(repo().join("fixtures/acme/agents.json")).expect("read"),
    )
    .expect("json");
    let ids = |a: &Value, f: &str| -> Vec<u64> {
        a[f].as_array()
            .expect(f)
            .iter()
            .map(|v| v.as_u64().expect("id"))
            .collect()
    };
    raw.iter()
        .map(|a| {
            (
                a["id"].as_u64().expect("id"),
                (ids(a, "role_ids"), ids(a, "group_ids")),
            )
        })
        .collect()
}

fn collect_population(profile: Profile) -> (Snapshot, BTreeMap<String, u64>) {
    let (_rt, server) = start_sim(acme(), config(profile));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snapshot.json");
    let run = collect(&server.base_url(), &out, Some(ADMIN_KEY));
    assert!(run.status.success(), "{}", text(&run));
    assert!(!text(&run).contains(ADMIN_KEY), "the key leaked into output");
    (
        Snapshot::read(&out).expect("snapshot reads"),
        server.request_counts(),
    )
}

fn assert_complete(snapshot: &Snapshot) {
    let truth = fixture_truth();
    let dir = Directory::from_snapshot(snapshot).expect("valid agents");
    let got: BTreeMap<u64, (Vec<u64>, Vec<u64>)> = dir
        .agents
        .iter()
        .map(|a| (a.id, (a.role_ids.clone(), a.group_ids.clone())))
        .collect();
    assert_eq!(got, truth, "every agent with its roles and groups");
    let count = |s: AgentStatus| dir.agents.iter().filter(|a| a.status == s).count();
    assert_eq!(
        (
            count(AgentStatus::Active),
            count(AgentStatus::Pending),
            count(AgentStatus::Deactivated)
        ),
        (34, 5, 3)
    );
    assert_eq!(snapshot.roles.len(), 7);
    assert_eq!(snapshot.groups.len(), 6);
    assert_eq!(snapshot.meta.data_sha256, snapshot.compute_data_sha256());
}

#[test]
fn documented_profile_yields_every_agent_with_roles_and_groups() {
    let (snapshot, counts) = collect_population(Profile::Documented);
    assert_complete(&snapshot);
    let channels: Vec<&str> = snapshot.meta.channels.iter().map(|c| c.name.as_str()).collect();
    assert!(
        channels.contains(&"GET /api/v2/agents?only=availability"),
        "{channels:?}"
    );
    let active_false = snapshot
        .meta
        .channels
        .iter()
        .find(|c| c.name == "GET /api/v2/agents?active=false")
        .expect("channel recorded");
    assert!(
        active_false.outcome.contains("invalid_field"),
        "{}",
        active_false.outcome
    );
    assert_eq!(snapshot.meta.requests, counts.values().sum::<u64>(), "{counts:?}");
}

#[test]
fn seed_profile_yields_the_same_population() {
    let (snapshot, counts) = collect_population(Profile::Seed);
    assert_complete(&snapshot);
    // The old behaviour's list already carries role_ids/group_ids: no detail calls.
    assert_eq!(
        counts.get("GET /api/v2/agents/{id}").copied().unwrap_or(0),
        0,
        "{counts:?}"
    );
}

#[test]
fn wrong_key_exits_3_with_an_auth_message_and_no_snapshot() {
    let (_rt, server) = start_sim(acme(), config(Profile::Documented));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snapshot.json");
    std::fs::write(&out, "stale").expect("write");
    let wrong = "wrong-key-7d2e1b";
    let run = collect(&server.base_url(), &out, Some(wrong));
    assert_eq!(run.status.code(), Some(3), "{}", text(&run));
    assert!(text(&run).contains("authentication failed"), "{}", text(&run));
    assert!(!text(&run).contains(wrong), "the key leaked into output");
    assert!(!out.exists(), "no snapshot may be left behind");
}

#[test]
fn non_admin_key_is_refused_as_truncated() {
    let (_rt, server) = start_sim(acme(), config(Profile::Documented));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snapshot.json");
    let key = config(Profile::Documented)
        .agent_key
        .expect("sim has an agent key");
    let run = collect(&server.base_url(), &out, Some(&key));
    assert_eq!(run.status.code(), Some(3), "{}", text(&run));
    assert!(text(&run).contains("administrator"), "{}", text(&run));
    assert!(!out.exists());
}

#[test]
fn every_request_failing_exits_3_naming_the_endpoint() {
    let cfg = deskaudit::sim::SimConfig {
        fault_rate: 1.0,
        ..config(Profile::Documented)
    };
    let (_rt, server) = start_sim(acme(), cfg);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snapshot.json");
    let run = collect(&server.base_url(), &out, Some(ADMIN_KEY));
    assert_eq!(run.status.code(), Some(3), "{}", text(&run));
    assert!(text(&run).contains("GET /api/v2/agents"), "{}", text(&run));
    assert!(!out.exists());
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_any_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snapshot.json");
    let run = collect("http://example.com", &out, Some(ADMIN_KEY));
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(text(&run).contains("plain http is refused"), "{}", text(&run));
}

#[test]
fn missing_key_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = collect("http://127.0.0.1:9", &dir.path().join("s.json"), None);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(text(&run).contains("FRESHDESK_API_KEY"), "{}", text(&run));
}
