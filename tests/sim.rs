//! The Freshdesk simulator over real loopback HTTP, with a small fixture
//! written to a temp dir (independent of `fixtures/acme`).

#[path = "sim/harness.rs"]
mod harness;
#[path = "sim/writes.rs"]
mod writes;

use std::time::Duration;

use deskaudit::sim::{Fixture, Profile, SimConfig};
use harness::*;
use serde_json::{Value, json};

#[tokio::test]
async fn missing_or_wrong_credentials_get_401_with_rate_headers() {
    let sim = start(SimConfig::default()).await;
    for key in [None, Some("wrong-key")] {
        let response = sim.get("/api/v2/agents", key).await;
        assert_eq!(response.status(), 401);
        assert_eq!(header(&response, "x-ratelimit-total").as_deref(), Some("700"));
        assert_eq!(
            header(&response, "x-ratelimit-used-currentrequest").as_deref(),
            Some("1")
        );
        assert!(header(&response, "x-ratelimit-remaining").is_some());
        assert_eq!(json_of(response).await["code"], json!("invalid_credentials"));
    }
    let empty_password = sim
        .client
        .get(format!("{}/api/v2/agents", sim.base_url()))
        .basic_auth(ADMIN, Some(""));
    assert_eq!(empty_password.send().await.expect("sent").status(), 401);
    sim.shutdown().await;
}

#[tokio::test]
async fn documented_list_paginates_with_link_and_hides_deactivated() {
    let sim = start(SimConfig::default()).await;
    let mut next = Some(format!(
        "{}/api/v2/agents?state=fulltime&per_page=2",
        sim.base_url()
    ));
    let (mut seen, mut pages) = (Vec::new(), 0);
    while let Some(url) = next.take() {
        let response = sim.get(&url, Some(ADMIN)).await;
        assert_eq!(response.status(), 200);
        next = header(&response, "link").map(|link| {
            assert!(link.ends_with(">; rel=\"next\""), "{link}");
            assert!(
                link.contains("state=fulltime") && link.contains("per_page=2"),
                "{link}"
            );
            link.trim_start_matches('<')
                .split('>')
                .next()
                .expect("url")
                .to_owned()
        });
        let page = json_of(response).await;
        for agent in page.as_array().expect("array") {
            assert!(agent.get("role_ids").is_none() && agent.get("group_ids").is_none());
        }
        seen.extend(ids(&page));
        pages += 1;
    }
    assert_eq!(seen, [OWNER, HELPER, PENDING]);
    assert_eq!(pages, 2);
    let occasional = json_of(sim.get("/api/v2/agents?state=occasional", Some(ADMIN)).await).await;
    assert_eq!(ids(&occasional), [OCCASIONAL]);
    sim.shutdown().await;
}

#[tokio::test]
async fn deactivated_agents_appear_in_availability_and_detail_only() {
    let sim = start(SimConfig::default()).await;
    let plain = json_of(sim.get("/api/v2/agents?per_page=100", Some(ADMIN)).await).await;
    assert!(!ids(&plain).contains(&DEACTIVATED));
    let availability = json_of(sim.get("/api/v2/agents?only=availability", Some(ADMIN)).await).await;
    assert_eq!(
        ids(&availability),
        [OWNER, HELPER, DEACTIVATED, PENDING, OCCASIONAL]
    );
    assert_eq!(availability[2]["deactivated"], json!(true));
    assert!(availability[2].get("role_ids").is_none());
    let detail = json_of(
        sim.get(&format!("/api/v2/agents/{DEACTIVATED}"), Some(ADMIN))
            .await,
    )
    .await;
    assert_eq!(
        (detail["deactivated"].clone(), detail["role_ids"].clone()),
        (json!(true), json!([2]))
    );
    assert_eq!(
        sim.get(&format!("/api/v2/agents/{DELETED}"), Some(ADMIN))
            .await
            .status(),
        404
    );
    let contact = sim.get(&format!("/api/v2/contacts/{DELETED}"), Some(ADMIN)).await;
    assert_eq!(contact.status(), 200);
    let by_email = json_of(
        sim.get("/api/v2/contacts?email=FORMER@acme.test", Some(ADMIN))
            .await,
    )
    .await;
    assert_eq!(ids(&by_email), [DELETED]);
    let me = json_of(sim.get("/api/v2/agents/me", Some(ADMIN)).await).await;
    assert_eq!(me["id"], json!(OWNER));
    sim.shutdown().await;
}

#[tokio::test]
async fn documented_rejects_unknown_fields_and_bad_per_page() {
    let sim = start(SimConfig::default()).await;
    let response = sim.get("/api/v2/agents?active=false", Some(ADMIN)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        json_of(response).await,
        json!({"description": "Validation failed", "errors": [{"field": "active",
            "message": "Unexpected/invalid field in request", "code": "invalid_field"}]})
    );
    for query in ["per_page=101", "per_page=0", "per_page=abc"] {
        let response = sim.get(&format!("/api/v2/agents?{query}"), Some(ADMIN)).await;
        assert_eq!(response.status(), 400, "{query}");
        let body = json_of(response).await;
        assert_eq!(
            (
                body["errors"][0]["field"].clone(),
                body["errors"][0]["code"].clone()
            ),
            (json!("per_page"), json!("invalid_value"))
        );
    }
    sim.shutdown().await;
    let seed = start(seed()).await;
    assert_eq!(
        seed.get("/api/v2/agents?per_page=101", Some(ADMIN))
            .await
            .status(),
        400
    );
    seed.shutdown().await;
}

#[tokio::test]
async fn seed_profile_has_no_link_and_an_active_switch() {
    let sim = start(seed()).await;
    let first = sim.get("/api/v2/agents?per_page=2", Some(ADMIN)).await;
    assert!(header(&first, "link").is_none());
    let first = json_of(first).await;
    assert_eq!(ids(&first), [OWNER, HELPER]);
    assert_eq!(
        (first[0]["active"].clone(), first[0]["role_ids"].clone()),
        (json!(true), json!([1]))
    );
    let second = json_of(sim.get("/api/v2/agents?per_page=2&page=2", Some(ADMIN)).await).await;
    assert_eq!(ids(&second), [OCCASIONAL]);
    let inactive = json_of(sim.get("/api/v2/agents?active=false", Some(ADMIN)).await).await;
    assert_eq!(ids(&inactive), [DEACTIVATED, PENDING]);
    assert!(
        inactive
            .as_array()
            .expect("array")
            .iter()
            .all(|a| a["active"] == json!(false))
    );
    let ignored = json_of(sim.get("/api/v2/agents?only=availability", Some(ADMIN)).await).await;
    assert_eq!(ids(&ignored), [OWNER, HELPER, OCCASIONAL]);
    assert_eq!(sim.get("/api/v2/admin/groups", Some(ADMIN)).await.status(), 404);
    assert_eq!(sim.get("/api/v2/groups/10", Some(ADMIN)).await.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn groups_and_admin_group_members() {
    let sim = start(SimConfig::default()).await;
    let groups = json_of(sim.get("/api/v2/groups", Some(ADMIN)).await).await;
    assert!(groups[0].get("agent_ids").is_none());
    let group = json_of(sim.get("/api/v2/groups/10", Some(ADMIN)).await).await;
    assert_eq!(
        group["agent_ids"],
        json!([OWNER, HELPER, DEACTIVATED, PENDING, OCCASIONAL])
    );
    let admin = json_of(sim.get("/api/v2/admin/groups", Some(ADMIN)).await).await;
    assert_eq!(admin[1]["agent_ids"], json!([]));
    let members = sim
        .get("/api/v2/admin/groups/10/agents?per_page=3", Some(ADMIN))
        .await;
    assert!(header(&members, "link").is_some_and(|l| l.contains("/api/v2/admin/groups/10/agents?page=2")));
    let members = json_of(members).await;
    assert_eq!(members[0]["contact"]["email"], json!("owner@acme.test"));
    assert_eq!(
        (members[0]["write_access"].clone(), members[0]["role_ids"].clone()),
        (json!(true), json!([1]))
    );
    assert_eq!(
        sim.get("/api/v2/admin/groups/99/agents", Some(ADMIN))
            .await
            .status(),
        404
    );
    let account = json_of(sim.get("/api/v2/account", Some(ADMIN)).await).await;
    assert_eq!(account["total_agents"]["full_time"], json!(3));
    sim.shutdown().await;
}

#[tokio::test]
async fn agent_key_sees_truncated_agents_and_no_admin_endpoints() {
    let sim = start(SimConfig::default()).await;
    let list = json_of(sim.get("/api/v2/agents", Some(AGENT)).await).await;
    assert_eq!(
        list[0],
        json!({"id": OWNER, "contact": {"name": "owner@acme.test"}, "type": "support_agent"})
    );
    for path in [
        "/api/v2/roles",
        "/api/v2/account",
        "/api/v2/admin/groups",
        "/api/v2/roles/1",
    ] {
        let response = sim.get(path, Some(AGENT)).await;
        assert_eq!(response.status(), 403, "{path}");
        assert_eq!(json_of(response).await["code"], json!("access_denied"));
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_when_documented() {
    for (profile, retry_after) in [(Profile::Documented, true), (Profile::Seed, false)] {
        let config = SimConfig {
            profile,
            rate_limit: 3,
            ..SimConfig::default()
        };
        let sim = start(config).await;
        for remaining in ["2", "1", "0"] {
            let response = sim.get("/api/v2/roles", Some(ADMIN)).await;
            assert_eq!(response.status(), 200);
            assert_eq!(
                header(&response, "x-ratelimit-remaining").as_deref(),
                Some(remaining)
            );
        }
        let limited = sim.get("/api/v2/roles", None).await;
        assert_eq!(limited.status(), 429);
        assert_eq!(header(&limited, "x-ratelimit-remaining").as_deref(), Some("0"));
        let wait = header(&limited, "retry-after").map(|s| s.parse::<u64>().expect("seconds"));
        assert_eq!(wait.is_some(), retry_after, "{profile:?}");
        assert!(wait.is_none_or(|secs| (1..=60).contains(&secs)));
        assert_eq!(json_of(limited).await["code"], json!("rate_limited"));
        assert_eq!((sim.rate_limited_count(), sim.total_requests()), (1, 4));
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn rate_limit_window_resets() {
    let window = Duration::from_millis(300);
    let sim = start(SimConfig {
        rate_limit: 1,
        window,
        ..SimConfig::default()
    })
    .await;
    // Windows are aligned on the simulator's start: spend the current one,
    // whichever it is; a full window later a new one has begun.
    let mut statuses = Vec::new();
    while statuses.last() != Some(&429) {
        statuses.push(sim.get("/api/v2/roles", Some(ADMIN)).await.status().as_u16());
        assert!(statuses.len() < 20, "never limited: {statuses:?}");
    }
    tokio::time::sleep(window).await;
    assert_eq!(sim.get("/api/v2/roles", Some(ADMIN)).await.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn fault_rate_one_yields_only_faults() {
    let sim = start(SimConfig {
        fault_rate: 1.0,
        seed: 3,
        ..SimConfig::default()
    })
    .await;
    // closed before any response, aborted mid-body, 500/503, truncated JSON
    let (mut closed, mut aborted, mut server_errors, mut truncated) = (0, 0, 0, 0);
    for _ in 0..50 {
        let Ok(response) = sim.try_get("/api/v2/agents", Some(ADMIN)).await else {
            closed += 1;
            continue;
        };
        let status = response.status().as_u16();
        match response.bytes().await {
            Err(_) => {
                assert_eq!(status, 200, "headers of an aborted body");
                aborted += 1;
            }
            Ok(_) if status == 500 || status == 503 => server_errors += 1,
            Ok(body) => {
                assert_eq!(status, 200);
                assert!(
                    serde_json::from_slice::<Value>(&body).is_err(),
                    "a good answer slipped through"
                );
                truncated += 1;
            }
        }
    }
    let kinds = [closed, aborted, server_errors, truncated];
    assert!(kinds.iter().all(|&n| n > 0), "{kinds:?}");
    assert_eq!(sim.total_requests(), 50);
    sim.shutdown().await;
}

#[tokio::test]
async fn latency_delays_answers() {
    let sim = start(SimConfig {
        latency: Duration::from_millis(150),
        ..SimConfig::default()
    })
    .await;
    let started = std::time::Instant::now();
    assert_eq!(sim.get("/api/v2/account", Some(ADMIN)).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    sim.shutdown().await;
}

#[tokio::test]
async fn request_counts_are_keyed_by_route_template() {
    let sim = start(SimConfig::default()).await;
    for path in [
        "/api/v2/agents",
        "/api/v2/agents/me",
        &format!("/api/v2/agents/{OWNER}"),
        &format!("/api/v2/agents/{HELPER}"),
        "/api/v2/admin/groups/10/agents",
        "/api/v2/tickets",
    ] {
        sim.get(path, Some(ADMIN)).await;
    }
    sim.get("/api/v2/agents", None).await;
    let counts = sim.request_counts();
    let expected = [
        ("GET (unmatched)", 1),
        ("GET /api/v2/admin/groups/{id}/agents", 1),
        ("GET /api/v2/agents", 2),
        ("GET /api/v2/agents/me", 1),
        ("GET /api/v2/agents/{id}", 2),
    ];
    let expected = expected.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
    assert_eq!(counts, expected);
    assert_eq!(sim.total_requests(), 7);
    sim.shutdown().await;
}

#[test]
fn synthetic_fixture_serves_thousands_of_agents() {
    let fixture = Fixture::synthetic(3000, 11);
    assert_eq!(fixture.agent_count(), 3000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let sim = start_with(fixture, SimConfig::default()).await;
        let all = json_of(
            sim.get(
                "/api/v2/agents?only=availability&per_page=100&page=30",
                Some(ADMIN),
            )
            .await,
        )
        .await;
        assert_eq!(all.as_array().map(Vec::len), Some(100));
        sim.shutdown().await;
    });
}
