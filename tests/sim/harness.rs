//! The test harness for `tests/sim.rs`: a five-agent fixture written to a
//! temp dir, a started simulator with its own client, and small helpers.

use std::net::SocketAddr;

use deskaudit::sim::{self, Fixture, Profile, RunningSim, SimConfig};
use serde_json::{Value, json};

pub const ADMIN: &str = "demo-admin-key";
pub const AGENT: &str = "demo-agent-key";
pub const OWNER: u64 = 5_000_000_001;
pub const HELPER: u64 = 5_000_000_002;
pub const DEACTIVATED: u64 = 5_000_000_003;
pub const PENDING: u64 = 5_000_000_004;
pub const OCCASIONAL: u64 = 5_000_000_005;
pub const DELETED: u64 = 7_000_000_001;

fn agent(id: u64, email: &str, active: bool, deactivated: bool, login: Option<&str>) -> Value {
    let role = if id == OWNER { 1 } else { 2 };
    json!({"id": id, "available": true, "occasional": id == OCCASIONAL, "signature": null,
        "ticket_scope": 1, "group_ids": [10], "role_ids": [role], "skill_ids": [],
        "type": "support_agent", "deactivated": deactivated,
        "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
        "last_active_at": login,
        "contact": {"active": active, "email": email, "name": email, "last_login_at": login}})
}

/// Five agents: owner, helper (active), deactivated, pending, occasional.
pub fn fixture() -> Fixture {
    let login = Some("2025-06-01T00:00:00Z");
    let agents = json!([
        agent(OWNER, "owner@acme.test", true, false, login),
        agent(HELPER, "helper@acme.test", true, false, login),
        agent(DEACTIVATED, "gone@acme.test", false, true, login),
        agent(PENDING, "invited@acme.test", false, false, None),
        agent(OCCASIONAL, "sometimes@acme.test", true, false, login),
    ]);
    let files = [
        ("agents.json", agents),
        (
            "roles.json",
            json!([{"id": 1, "name": "Account Administrator"}, {"id": 2, "name": "Agent"}]),
        ),
        (
            "groups.json",
            json!([{"id": 10, "name": "L1"}, {"id": 11, "name": "L2"}]),
        ),
        (
            "contacts.json",
            json!([{"id": DELETED, "email": "former@acme.test", "active": true}]),
        ),
        (
            "account.json",
            json!({"account_name": "Acme", "total_agents": {"full_time": 3}}),
        ),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, value) in files {
        std::fs::write(dir.path().join(name), value.to_string()).expect("write fixture");
    }
    Fixture::load(dir.path()).expect("fixture loads")
}

/// A running simulator and one client for it (building a client per
/// request is slow, and a pool must not outlive its runtime).
pub struct Harness {
    pub sim: RunningSim,
    pub client: reqwest::Client,
}

impl std::ops::Deref for Harness {
    type Target = RunningSim;
    fn deref(&self) -> &RunningSim {
        &self.sim
    }
}

impl Harness {
    pub async fn get(&self, path: &str, key: Option<&str>) -> reqwest::Response {
        self.try_get(path, key).await.expect("request sent")
    }

    pub async fn try_get(&self, path: &str, key: Option<&str>) -> reqwest::Result<reqwest::Response> {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base_url())
        };
        let mut request = self.client.get(url);
        if let Some(key) = key {
            request = request.basic_auth(key, Some("X"));
        }
        request.send().await
    }

    /// A write (or any request) with an optional JSON body; `Err` when the
    /// connection failed, as a dropped answer does.
    pub async fn try_send(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut request = self.client.request(method, format!("{}{path}", self.base_url()));
        if let Some(key) = key {
            request = request.basic_auth(key, Some("X"));
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Response {
        self.try_send(method, path, key, body)
            .await
            .expect("request sent")
    }

    /// `PUT /api/v2/agents/{id}` as the admin.
    pub async fn put_agent(&self, id: u64, body: Value) -> reqwest::Response {
        let path = format!("/api/v2/agents/{id}");
        self.send(reqwest::Method::PUT, &path, Some(ADMIN), Some(&body))
            .await
    }

    /// `DELETE /api/v2/agents/{id}` as the admin.
    pub async fn delete_agent(&self, id: u64) -> reqwest::Response {
        let path = format!("/api/v2/agents/{id}");
        self.send(reqwest::Method::DELETE, &path, Some(ADMIN), None).await
    }

    /// `GET` as the admin, answered 200, as JSON.
    pub async fn read(&self, path: &str) -> Value {
        let response = self.get(path, Some(ADMIN)).await;
        assert_eq!(response.status(), 200, "GET {path}");
        json_of(response).await
    }

    /// Every agent id of a listing, all pages read.
    pub async fn all_ids(&self, path: &str) -> Vec<u64> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        for page in 1.. {
            let items = ids(&self
                .read(&format!("{path}{separator}per_page=100&page={page}"))
                .await);
            if items.is_empty() {
                return out;
            }
            out.extend(items);
        }
        out
    }

    pub async fn shutdown(self) {
        self.sim.shutdown().await;
    }
}

pub async fn start_with(fixture: Fixture, config: SimConfig) -> Harness {
    let bind = SocketAddr::from(([127, 0, 0, 1], 0));
    let sim = sim::start(fixture, config, bind).await.expect("simulator starts");
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    Harness { sim, client }
}

pub async fn start(config: SimConfig) -> Harness {
    start_with(fixture(), config).await
}

pub fn seed() -> SimConfig {
    SimConfig {
        profile: Profile::Seed,
        ..SimConfig::default()
    }
}

pub async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("JSON body")
}

pub fn ids(page: &Value) -> Vec<u64> {
    page.as_array()
        .expect("array")
        .iter()
        .filter_map(|a| a["id"].as_u64())
        .collect()
}

pub fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("ascii").to_owned())
}
