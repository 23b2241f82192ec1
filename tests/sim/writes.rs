//! Agent writes over loopback HTTP, in both profiles: every later read
//! reflects them, bad bodies are refused, faults strike before or after the
//! effect, and the request log shows what was (not) written.

use deskaudit::sim::{FaultTiming, Profile, SimConfig, WriteFault, WriteFaultKind, WriteMethod};
use reqwest::Method;
use serde_json::{Value, json};

use super::harness::*;

fn profile(profile: Profile) -> SimConfig {
    SimConfig {
        profile,
        ..SimConfig::default()
    }
}

fn agent_path(id: u64) -> String {
    format!("/api/v2/agents/{id}")
}

#[tokio::test]
async fn documented_delete_demotes_the_agent_to_a_contact_everywhere() {
    let sim = start(profile(Profile::Documented)).await;
    let response = sim.delete_agent(HELPER).await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.expect("body").is_empty());
    assert_eq!(sim.get(&agent_path(HELPER), Some(ADMIN)).await.status(), 404);
    assert_eq!(sim.all_ids("/api/v2/agents").await, [OWNER, PENDING, OCCASIONAL]);
    assert!(
        !sim.all_ids("/api/v2/agents?only=availability")
            .await
            .contains(&HELPER)
    );
    let group = sim.read("/api/v2/groups/10").await;
    assert_eq!(
        group["agent_ids"],
        json!([OWNER, DEACTIVATED, PENDING, OCCASIONAL])
    );
    assert!(
        !sim.all_ids("/api/v2/admin/groups/10/agents")
            .await
            .contains(&HELPER)
    );
    let contact = sim.read(&format!("/api/v2/contacts/{HELPER}")).await;
    assert_eq!(contact["email"], json!("helper@acme.test"));
    let by_email = sim.read("/api/v2/contacts?email=helper@acme.test").await;
    assert_eq!(ids(&by_email), [HELPER]);
    let account = sim.read("/api/v2/account").await;
    assert_eq!(account["total_agents"]["full_time"], json!(2));
    // Gone: a second delete and an update are 404 and change nothing.
    assert_eq!(sim.delete_agent(HELPER).await.status(), 404);
    assert_eq!(
        sim.put_agent(HELPER, json!({"ticket_scope": 2})).await.status(),
        404
    );
    let effects: Vec<bool> = sim.writes_to(HELPER).iter().map(|r| r.took_effect).collect();
    assert_eq!(effects, [true, false, false]);
    sim.shutdown().await;
}

#[tokio::test]
async fn seed_delete_keeps_the_agent_listed_as_inactive() {
    let sim = start(profile(Profile::Seed)).await;
    for id in [HELPER, PENDING] {
        assert_eq!(sim.delete_agent(id).await.status(), 204);
    }
    assert_eq!(sim.all_ids("/api/v2/agents").await, [OWNER, OCCASIONAL]);
    let inactive = sim.read("/api/v2/agents?active=false&per_page=100").await;
    assert_eq!(ids(&inactive), [HELPER, DEACTIVATED, PENDING]);
    assert!(
        inactive
            .as_array()
            .expect("array")
            .iter()
            .all(|a| a["active"] == json!(false))
    );
    let detail = sim.read(&agent_path(HELPER)).await;
    assert_eq!(detail["contact"]["active"], json!(false));
    assert!(detail["updated_at"].as_str().expect("updated_at") > "2024-01-01T00:00:00Z");
    assert_eq!(
        sim.read("/api/v2/groups/10").await["agent_ids"],
        json!([OWNER, HELPER, DEACTIVATED, PENDING, OCCASIONAL])
    );
    assert_eq!(
        sim.get(&format!("/api/v2/contacts/{HELPER}"), Some(ADMIN))
            .await
            .status(),
        404
    );
    // HELPER (logged in before) is now deactivated; PENDING still counts.
    let account = sim.read("/api/v2/account").await;
    assert_eq!(account["total_agents"]["full_time"], json!(2));
    // Deleting again is still a 204: the agent is there.
    assert_eq!(sim.delete_agent(HELPER).await.status(), 204);
    sim.shutdown().await;
}

#[tokio::test]
async fn each_updated_field_shows_in_every_read() {
    for profile_kind in [Profile::Documented, Profile::Seed] {
        let sim = start(profile(profile_kind)).await;
        let mut last = "2024-01-01T00:00:00Z".to_owned();
        let changes = [
            json!({"role_ids": [1, 2]}),
            json!({"group_ids": [11]}),
            json!({"ticket_scope": 3}),
            json!({"occasional": true}),
        ];
        for change in changes {
            let response = sim.put_agent(HELPER, change.clone()).await;
            assert_eq!(response.status(), 200, "{change} ({profile_kind:?})");
            let answered = json_of(response).await;
            let detail = sim.read(&agent_path(HELPER)).await;
            assert_eq!(answered, detail);
            let (field, value) = change
                .as_object()
                .and_then(|o| o.iter().next())
                .expect("one field");
            assert_eq!(&detail[field], value);
            let updated = detail["updated_at"].as_str().expect("updated_at").to_owned();
            assert!(updated > last && updated.ends_with('Z'), "{updated} after {last}");
            last = updated;
        }
        assert_eq!(
            sim.read("/api/v2/groups/10").await["agent_ids"],
            json!([OWNER, DEACTIVATED, PENDING, OCCASIONAL])
        );
        assert_eq!(sim.read("/api/v2/groups/11").await["agent_ids"], json!([HELPER]));
        if profile_kind == Profile::Documented {
            assert_eq!(sim.all_ids("/api/v2/admin/groups/11/agents").await, [HELPER]);
            let occasional = sim.all_ids("/api/v2/agents?state=occasional").await;
            assert_eq!(occasional, [HELPER, OCCASIONAL]);
        }
        let account = sim.read("/api/v2/account").await;
        assert_eq!(account["total_agents"]["full_time"], json!(2));
        assert_eq!(account["total_agents"]["occasional"], json!(1));
        // The key owner's own agent, through /agents/me.
        assert_eq!(sim.put_agent(OWNER, json!({"group_ids": []})).await.status(), 200);
        assert_eq!(sim.read("/api/v2/agents/me").await["group_ids"], json!([]));
        assert_eq!(sim.agent(OWNER).expect("owner")["group_ids"], json!([]));
        assert_eq!(
            sim.group_members(10),
            Some(vec![DEACTIVATED, PENDING, OCCASIONAL])
        );
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn bad_updates_are_refused_and_change_nothing() {
    let sim = start(SimConfig::default()).await;
    let before = sim.read(&agent_path(HELPER)).await;
    let table = [
        (json!({"role_ids": [99]}), "role_ids", "invalid_value"),
        (json!({"group_ids": [10, 12]}), "group_ids", "invalid_value"),
        (json!({"ticket_scope": 4}), "ticket_scope", "invalid_value"),
        (json!({"ticket_scope": "1"}), "ticket_scope", "datatype_mismatch"),
        (json!({"email": "new@acme.test"}), "email", "readonly_field"),
        (json!({"nickname": "h"}), "nickname", "invalid_field"),
        (json!({"occasional": 1}), "occasional", "datatype_mismatch"),
    ];
    for (body, field, code) in table {
        let response = sim.put_agent(HELPER, body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
        let answer = json_of(response).await;
        assert_eq!(answer["description"], json!("Validation failed"), "{body}");
        let error = &answer["errors"][0];
        assert_eq!(
            (&error["field"], &error["code"]),
            (&json!(field), &json!(code)),
            "{body}"
        );
        assert!(error["message"].is_string());
    }
    let path = agent_path(HELPER);
    let not_json = sim
        .client
        .put(format!("{}{path}", sim.base_url()))
        .basic_auth(ADMIN, Some("X"))
        .header("content-type", "application/json")
        .body("{\"ticket_scope\": 2")
        .send()
        .await
        .expect("sent");
    assert_eq!(not_json.status(), 400);
    assert_eq!(json_of(not_json).await["code"], json!("invalid_json"));
    let form = sim
        .client
        .put(format!("{}{path}", sim.base_url()))
        .basic_auth(ADMIN, Some("X"))
        .body("ticket_scope=2")
        .send()
        .await
        .expect("sent");
    assert_eq!(form.status(), 415);
    assert_eq!(sim.read(&path).await, before);
    assert!(sim.writes_to(HELPER).iter().all(|r| !r.took_effect));
    sim.shutdown().await;
}

#[tokio::test]
async fn post_creates_a_pending_agent_in_the_lists() {
    for profile_kind in [Profile::Documented, Profile::Seed] {
        let sim = start(profile(profile_kind)).await;
        let body = json!({"email": "new@acme.test", "name": "New Hire", "group_ids": [11],
            "role_ids": [2], "ticket_scope": 2});
        let response = sim
            .send(Method::POST, "/api/v2/agents", Some(ADMIN), Some(&body))
            .await;
        assert_eq!(response.status(), 201);
        let created = json_of(response).await;
        let id = created["id"].as_u64().expect("id");
        assert!(id > u64::from(u32::MAX), "{id}");
        assert_eq!(
            (
                &created["contact"]["active"],
                &created["contact"]["last_login_at"]
            ),
            (&json!(false), &Value::Null)
        );
        assert_eq!(
            (&created["deactivated"], &created["last_active_at"]),
            (&json!(false), &Value::Null)
        );
        assert_eq!(sim.read(&agent_path(id)).await, created);
        let listed = match profile_kind {
            Profile::Documented => sim.all_ids("/api/v2/agents").await,
            Profile::Seed => sim.all_ids("/api/v2/agents?active=false").await,
        };
        assert!(listed.contains(&id), "{profile_kind:?}: {listed:?}");
        assert_eq!(sim.read("/api/v2/groups/11").await["agent_ids"], json!([id]));
        let account = sim.read("/api/v2/account").await;
        assert_eq!(account["total_agents"]["full_time"], json!(4));
        let again = json!({"email": "NEW@acme.test"});
        let duplicate = sim
            .send(Method::POST, "/api/v2/agents", Some(ADMIN), Some(&again))
            .await;
        assert_eq!(duplicate.status(), 409);
        assert_eq!(
            json_of(duplicate).await["errors"][0]["code"],
            json!("duplicate_value")
        );
        let nameless = json!({"name": "No Mail"});
        let missing = sim
            .send(Method::POST, "/api/v2/agents", Some(ADMIN), Some(&nameless))
            .await;
        assert_eq!(missing.status(), 400);
        assert_eq!(sim.writes_to(id).len(), 1);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn only_the_admin_key_writes() {
    let sim = start(SimConfig::default()).await;
    let body = json!({"ticket_scope": 2});
    let path = agent_path(HELPER);
    let attempts = [
        (Method::PUT, path.as_str(), Some(&body)),
        (Method::DELETE, path.as_str(), None),
        (
            Method::POST,
            "/api/v2/agents",
            Some(&json!({"email": "x@acme.test"})),
        ),
    ];
    for (method, path, body) in attempts {
        let response = sim.send(method.clone(), path, Some(AGENT), body).await;
        assert_eq!(response.status(), 403, "{method} {path}");
        assert_eq!(json_of(response).await["code"], json!("access_denied"));
        let anonymous = sim.send(method.clone(), path, None, body).await;
        assert_eq!(anonymous.status(), 401, "{method} {path}");
    }
    // The key's own agent cannot be deleted with it.
    assert_eq!(sim.delete_agent(OWNER).await.status(), 403);
    assert_eq!(sim.read(&path).await["ticket_scope"], json!(1));
    assert_eq!(sim.all_ids("/api/v2/agents").await.len(), 4);
    assert!(sim.requests().iter().all(|r| !r.took_effect));
    // Other methods and paths are not writes.
    let other = sim.send(Method::PATCH, &path, Some(ADMIN), Some(&body)).await;
    assert_eq!(other.status(), 405);
    let groups = sim
        .send(Method::POST, "/api/v2/groups", Some(ADMIN), Some(&body))
        .await;
    assert_eq!(groups.status(), 405);
    sim.shutdown().await;
}

fn faults(list: Vec<WriteFault>) -> SimConfig {
    SimConfig {
        write_faults: list,
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn a_fault_after_the_effect_loses_the_answer_not_the_change() {
    let sim = start(faults(vec![
        WriteFault::once(
            WriteMethod::Delete,
            Some(HELPER),
            FaultTiming::AfterEffect,
            WriteFaultKind::Drop,
        ),
        WriteFault::once(
            WriteMethod::Put,
            Some(PENDING),
            FaultTiming::AfterEffect,
            WriteFaultKind::Status(503),
        ),
        WriteFault::once(
            WriteMethod::Post,
            None,
            FaultTiming::AfterEffect,
            WriteFaultKind::Drop,
        ),
    ]))
    .await;
    let dropped = sim
        .try_send(Method::DELETE, &agent_path(HELPER), Some(ADMIN), None)
        .await;
    assert!(dropped.is_err(), "the client saw an answer: {dropped:?}");
    assert_eq!(sim.get(&agent_path(HELPER), Some(ADMIN)).await.status(), 404);
    let record = sim.writes_to(HELPER);
    assert_eq!(record.len(), 1);
    assert_eq!(
        (record[0].took_effect, record[0].status, record[0].faulted),
        (true, None, true)
    );
    // The retry a careless client would make finds the agent gone.
    assert_eq!(sim.delete_agent(HELPER).await.status(), 404);

    let unavailable = sim.put_agent(PENDING, json!({"ticket_scope": 3})).await;
    assert_eq!(unavailable.status(), 503);
    assert_eq!(json_of(unavailable).await["code"], json!("internal_error"));
    assert_eq!(sim.read(&agent_path(PENDING)).await["ticket_scope"], json!(3));

    let body = json!({"email": "late@acme.test"});
    let created = sim
        .try_send(Method::POST, "/api/v2/agents", Some(ADMIN), Some(&body))
        .await;
    assert!(created.is_err());
    let found = sim.read("/api/v2/agents?email=late@acme.test").await;
    assert_eq!(found.as_array().map(Vec::len), Some(1));
    let id = found[0]["id"].as_u64().expect("id");
    assert!(sim.writes_to(id)[0].took_effect);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_fault_before_the_effect_changes_nothing() {
    let sim = start(faults(vec![
        WriteFault::once(
            WriteMethod::Delete,
            Some(HELPER),
            FaultTiming::BeforeEffect,
            WriteFaultKind::Drop,
        ),
        WriteFault {
            times: 2,
            ..WriteFault::once(
                WriteMethod::Put,
                None,
                FaultTiming::BeforeEffect,
                WriteFaultKind::Status(500),
            )
        },
    ]))
    .await;
    let dropped = sim
        .try_send(Method::DELETE, &agent_path(HELPER), Some(ADMIN), None)
        .await;
    assert!(dropped.is_err());
    assert_eq!(sim.read(&agent_path(HELPER)).await["id"], json!(HELPER));
    for _ in 0..2 {
        let failed = sim.put_agent(PENDING, json!({"ticket_scope": 3})).await;
        assert_eq!(failed.status(), 500);
    }
    assert_eq!(sim.read(&agent_path(PENDING)).await["ticket_scope"], json!(1));
    // Spent: the next attempts go through.
    assert_eq!(
        sim.put_agent(PENDING, json!({"ticket_scope": 3})).await.status(),
        200
    );
    assert_eq!(sim.delete_agent(HELPER).await.status(), 204);
    let effects: Vec<(Option<u16>, bool)> = sim
        .requests()
        .iter()
        .filter(|r| r.is_write())
        .map(|r| (r.status, r.took_effect))
        .collect();
    assert_eq!(
        effects,
        [
            (None, false),
            (Some(500), false),
            (Some(500), false),
            (Some(200), true),
            (Some(204), true)
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn random_faults_hit_writes_on_both_sides_of_the_effect() {
    let sim = start(SimConfig {
        fault_rate: 1.0,
        seed: 11,
        ..SimConfig::default()
    })
    .await;
    for scope in [2, 3].into_iter().cycle().take(40) {
        let _ = sim
            .try_send(
                Method::PUT,
                &agent_path(HELPER),
                Some(ADMIN),
                Some(&json!({"ticket_scope": scope})),
            )
            .await;
    }
    let records = sim.writes_to(HELPER);
    assert_eq!(records.len(), 40);
    assert!(records.iter().all(|r| r.faulted));
    let applied = records.iter().filter(|r| r.took_effect).count();
    assert!((1..40).contains(&applied), "{applied} of 40 took effect");
    let last = records
        .iter()
        .rposition(|r| r.took_effect)
        .expect("one took effect");
    let want = if last % 2 == 0 { 2 } else { 3 };
    assert_eq!(sim.agent(HELPER).expect("agent")["ticket_scope"], json!(want));
    sim.shutdown().await;
}

#[tokio::test]
async fn writes_are_rate_limited_and_counted_by_route() {
    let sim = start(SimConfig {
        rate_limit: 4,
        ..SimConfig::default()
    })
    .await;
    assert_eq!(
        sim.put_agent(HELPER, json!({"ticket_scope": 2})).await.status(),
        200
    );
    assert_eq!(sim.delete_agent(PENDING).await.status(), 204);
    let body = json!({"email": "n@acme.test"});
    let post = sim
        .send(Method::POST, "/api/v2/agents", Some(ADMIN), Some(&body))
        .await;
    assert_eq!(post.status(), 201);
    assert_eq!(sim.get(&agent_path(HELPER), Some(ADMIN)).await.status(), 200);
    assert_eq!(sim.delete_agent(HELPER).await.status(), 429);
    assert_eq!(sim.agent(HELPER).expect("still there")["ticket_scope"], json!(2));
    let counts = sim.request_counts();
    let expected = [
        ("DELETE /api/v2/agents/{id}", 2),
        ("GET /api/v2/agents/{id}", 1),
        ("POST /api/v2/agents", 1),
        ("PUT /api/v2/agents/{id}", 1),
    ];
    let expected = expected.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
    assert_eq!(counts, expected);
    let log: Vec<(String, Option<u16>)> = sim
        .requests()
        .into_iter()
        .map(|r| (format!("{} {}", r.method, r.path), r.status))
        .collect();
    let helper = agent_path(HELPER);
    assert_eq!(
        log,
        [
            (format!("PUT {helper}"), Some(200)),
            (format!("DELETE {}", agent_path(PENDING)), Some(204)),
            ("POST /api/v2/agents".to_owned(), Some(201)),
            (format!("GET {helper}"), Some(200)),
            (format!("DELETE {helper}"), Some(429)),
        ]
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_and_reads_stay_consistent() {
    let sim = std::sync::Arc::new(start(SimConfig::default()).await);
    let mut tasks = Vec::new();
    for i in 0..40u64 {
        let sim = std::sync::Arc::clone(&sim);
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let groups = if i % 4 == 0 { json!([10]) } else { json!([11]) };
                let response = sim.put_agent(HELPER, json!({"group_ids": groups})).await;
                assert_eq!(response.status(), 200);
            } else {
                let group = sim.read("/api/v2/groups/10").await;
                assert!(group["agent_ids"].is_array());
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let agent = sim.read(&agent_path(HELPER)).await;
    let in_ten = sim.group_members(10).expect("group").contains(&HELPER);
    let in_eleven = sim.group_members(11).expect("group").contains(&HELPER);
    assert_eq!(
        (in_ten, in_eleven),
        (
            agent["group_ids"] == json!([10]),
            agent["group_ids"] == json!([11])
        )
    );
    assert_eq!(sim.writes_to(HELPER).len(), 20);
    match std::sync::Arc::try_unwrap(sim) {
        Ok(sim) => sim.shutdown().await,
        Err(_) => panic!("a task still holds the simulator"),
    }
}
