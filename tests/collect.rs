//! `deskaudit collect` against the simulator over loopback HTTP.

mod common;

use std::collections::BTreeMap;

use common::*;
use deskaudit::model::snapshot::ChannelOutcome;
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
        matches!(&active_false.outcome, ChannelOutcome::NotOffered(text) if text.contains("invalid_field")),
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

#[test]
fn both_profiles_survive_rate_limit_latency_and_faults() {
    for profile in [Profile::Documented, Profile::Seed] {
        let cfg = deskaudit::sim::SimConfig {
            rate_limit: 30,
            window: std::time::Duration::from_secs(2),
            latency: std::time::Duration::from_millis(20),
            fault_rate: 0.05,
            seed: 11,
            ..config(profile)
        };
        let (_rt, server) = start_sim(acme(), cfg);
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("snapshot.json");
        let run = collect_with(&server.base_url(), &out, Some(ADMIN_KEY), &["--rate-window", "2"]);
        assert!(run.status.success(), "{profile:?}: {}", text(&run));
        let snapshot = Snapshot::read(&out).expect("snapshot");
        assert_complete(&snapshot);
        let recorded: u64 = snapshot.meta.channels.iter().map(|c| c.requests).sum();
        assert_eq!(
            recorded, snapshot.meta.requests,
            "{profile:?}: every request belongs to a channel"
        );
        assert_eq!(snapshot.meta.requests, server.total_requests(), "{profile:?}");
    }
}

#[test]
fn a_tight_rate_limit_is_waited_out_in_both_profiles() {
    // 6 requests per second with no reserve: the first burst meets 429s, with
    // Retry-After (documented) and without it (seed, exponential backoff).
    for profile in [Profile::Documented, Profile::Seed] {
        let cfg = deskaudit::sim::SimConfig {
            rate_limit: 6,
            window: std::time::Duration::from_secs(1),
            ..config(profile)
        };
        let (_rt, server) = start_sim(acme(), cfg);
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("snapshot.json");
        let flags = ["--reserve", "0", "--rate-window", "1", "--max-in-flight", "16"];
        let run = collect_with(&server.base_url(), &out, Some(ADMIN_KEY), &flags);
        assert!(run.status.success(), "{profile:?}: {}", text(&run));
        let snapshot = Snapshot::read(&out).expect("snapshot");
        assert_complete(&snapshot);
        assert_eq!(
            snapshot.meta.rate_limited,
            server.rate_limited_count(),
            "{profile:?}"
        );
        assert_eq!(snapshot.meta.rate_limit.total, Some(6));
        assert_eq!(
            snapshot
                .meta
                .rate_limit
                .headers
                .get("x-ratelimit-total")
                .map(String::as_str),
            Some("6"),
            "the headers observed are kept as evidence"
        );
    }
}

#[test]
fn documented_profile_needs_fewer_requests_than_one_detail_per_agent() {
    let (snapshot, counts) = collect_population(Profile::Documented);
    let total: u64 = counts.values().sum();
    assert!(
        total < snapshot.agents.len() as u64,
        "{total} requests for {} agents: {counts:?}",
        snapshot.agents.len()
    );
    let details = counts.get("GET /api/v2/agents/{id}").copied().unwrap_or(0);
    assert!(details < 5, "{details} detail calls: {counts:?}");
}

#[test]
fn an_agent_deleted_since_the_previous_review_is_found_as_a_contact() {
    let (_rt, server) = start_sim(acme(), config(Profile::Documented));
    let dir = tempfile::tempdir().expect("tempdir");
    let first = dir.path().join("q3.json");
    assert!(
        collect(&server.base_url(), &first, Some(ADMIN_KEY))
            .status
            .success()
    );
    // Last quarter, Harold Finch (67013470078) was still an agent.
    let mut previous = Snapshot::read(&first).expect("snapshot");
    previous
        .agents
        .push(serde_json::json!({"id": 67013470078u64, "contact": {"email": "harold.finch@acme.test"}}));
    // As that quarter's collector would have recorded it.
    previous.seal();
    previous.write_atomic(&first).expect("write");
    let out = dir.path().join("q4.json");
    let previous = first.to_str().expect("utf-8");
    let run = collect_with(
        &server.base_url(),
        &out,
        Some(ADMIN_KEY),
        &["--previous", previous],
    );
    assert!(run.status.success(), "{}", text(&run));
    let snapshot = Snapshot::read(&out).expect("snapshot");
    assert_complete(&snapshot);
    let ids: Vec<u64> = snapshot
        .contacts
        .iter()
        .filter_map(|c| c["id"].as_u64())
        .collect();
    assert_eq!(ids, vec![67013470078]);
    let channel = snapshot
        .meta
        .channels
        .iter()
        .find(|c| c.name.starts_with("ids named elsewhere"))
        .expect("channel");
    assert!(
        matches!(&channel.outcome, ChannelOutcome::Complete(text) if text.contains("1 deleted")),
        "{}",
        channel.outcome
    );
}

#[test]
fn faults_are_retried_until_the_population_is_complete() {
    let cfg = deskaudit::sim::SimConfig {
        fault_rate: 0.2,
        seed: 3,
        ..config(Profile::Documented)
    };
    let (_rt, server) = start_sim(acme(), cfg);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snapshot.json");
    let run = collect(&server.base_url(), &out, Some(ADMIN_KEY));
    assert!(run.status.success(), "{}", text(&run));
    let snapshot = Snapshot::read(&out).expect("snapshot");
    assert_complete(&snapshot);
    assert!(
        snapshot.meta.retries > 0,
        "a 20% fault rate must have cost retries"
    );
    assert_eq!(snapshot.meta.requests, server.total_requests());
}

#[test]
fn a_redirect_is_refused_so_the_key_never_leaves_the_host() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::FOUND,
            [("location", "http://127.0.0.2:9/api/v2/agents")],
        )
    });
    rt.spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snapshot.json");
    let run = collect(&format!("http://{addr}"), &out, Some(ADMIN_KEY));
    assert_eq!(run.status.code(), Some(3), "{}", text(&run));
    assert!(text(&run).contains("redirects are refused"), "{}", text(&run));
    assert!(!out.exists());
}

#[test]
fn sigterm_during_collect_exits_3_and_removes_the_older_snapshot() {
    let slow = deskaudit::sim::SimConfig {
        latency: std::time::Duration::from_millis(400),
        ..config(Profile::Documented)
    };
    let (_rt, server) = start_sim(acme(), slow);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snapshot.json");
    std::fs::write(&out, "last quarter's snapshot").expect("write");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_deskaudit"))
        .args(["collect", "--domain", "acme", "--base-url", &server.base_url()])
        .args(["--out", out.to_str().expect("utf-8")])
        .env("FRESHDESK_API_KEY", ADMIN_KEY)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    // Once a request has arrived, the collection (and its signal handlers) runs.
    let waited = std::time::Instant::now();
    while server.total_requests() == 0 {
        assert!(waited.elapsed().as_secs() < 20, "no request arrived");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let run = child.wait_with_output().expect("output");
    let message = text(&run);
    assert_eq!(run.status.code(), Some(3), "{message}");
    assert!(message.contains("interrupted by SIGTERM"), "{message}");
    assert!(!out.exists(), "no snapshot may be left behind");
}

#[test]
fn a_truncated_previous_snapshot_is_bad_input_not_a_failed_collection() {
    let (_rt, server) = start_sim(acme(), config(Profile::Documented));
    let dir = tempfile::tempdir().expect("tempdir");
    let previous = dir.path().join("q3.json");
    let whole = std::fs::read(repo().join("reports/demo/snapshot.json")).expect("demo snapshot");
    std::fs::write(&previous, &whole[..whole.len() / 2]).expect("write");
    let out = dir.path().join("q4.json");
    let run = collect_with(
        &server.base_url(),
        &out,
        Some(ADMIN_KEY),
        &["--previous", previous.to_str().expect("utf-8")],
    );
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(text(&run).contains("q3.json:"), "{}", text(&run));
    assert_eq!(server.total_requests(), 0, "nothing collected for a bad input");
}

#[test]
fn run_checks_every_input_before_the_first_request() {
    let (_rt, server) = start_sim(acme(), config(Profile::Documented));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("Q4");
    let bad_policy = dir.path().join("policy.toml");
    std::fs::write(&bad_policy, "dormant_dayz = 30\n").expect("write");
    for extra in [
        &["--idp", "fixtures/acme/idp/okta-pasword-health.csv"][..],
        &[
            "--idp",
            "fixtures/acme/idp/okta-password-health.csv",
            "--policy",
            bad_policy.to_str().expect("utf-8"),
        ],
        &["--idp", "fixtures/acme/policy.toml"],
    ] {
        let url = server.base_url();
        let mut args = vec!["run", "--domain", "acme", "--base-url", &url];
        args.extend_from_slice(&["--out", out.to_str().expect("utf-8")]);
        args.extend_from_slice(extra);
        let run = deskaudit(&args, Some(ADMIN_KEY));
        assert_eq!(run.status.code(), Some(2), "{extra:?}: {}", text(&run));
        assert_eq!(
            server.total_requests(),
            0,
            "{extra:?}: no request for a bad input"
        );
        assert!(!out.exists());
    }
}

/// A refused connection on the very first request was retried six times,
/// as if Freshdesk were down for a moment rather than the address wrong.
#[test]
fn a_refused_first_connection_fails_at_once_without_retries() {
    // Bound and closed again: nothing listens on the port now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snapshot.json");
    std::fs::write(&out, "last quarter's snapshot").expect("write");
    let run = collect(&format!("http://127.0.0.1:{port}"), &out, Some(ADMIN_KEY));
    let message = text(&run);
    assert_eq!(run.status.code(), Some(3), "{message}");
    assert!(
        message.contains(&format!("cannot connect to 127.0.0.1:{port}: connection refused")),
        "names the host and the cause: {message}"
    );
    assert!(message.contains("Not retried"), "{message}");
    assert!(!message.contains("retrying"), "exactly one attempt: {message}");
    assert!(!message.contains(ADMIN_KEY), "the key leaked into output");
    assert!(!out.exists(), "no snapshot may be left behind");
}

/// `Retry-After` was read as delta-seconds only: an HTTP-date (RFC 9110
/// §10.2.3) was ignored, and the wait guessed by backing off.
#[test]
fn a_429_with_an_http_date_retry_after_is_waited_out() {
    // Two requests per second: the five lists asked at once after the first
    // page cannot all fit, so 429s are certain.
    let cfg = deskaudit::sim::SimConfig {
        rate_limit: 2,
        window: std::time::Duration::from_secs(1),
        retry_after: deskaudit::sim::RetryAfter::HttpDate,
        ..config(Profile::Documented)
    };
    let (_rt, server) = start_sim(acme(), cfg);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snapshot.json");
    let flags = [
        "-v",
        "--reserve",
        "0",
        "--rate-window",
        "1",
        "--max-in-flight",
        "16",
    ];
    let run = collect_with(&server.base_url(), &out, Some(ADMIN_KEY), &flags);
    let message = text(&run);
    assert!(run.status.success(), "{message}");
    let snapshot = Snapshot::read(&out).expect("snapshot");
    assert_complete(&snapshot);
    assert!(snapshot.meta.rate_limited > 0, "no 429 was served");
    assert_eq!(snapshot.meta.rate_limited, server.rate_limited_count());
    assert!(
        message.contains("from=\"retry-after\""),
        "the waits were read from the HTTP-date: {message}"
    );
}

/// A 503's `Retry-After` was ignored: the retry came back on our own
/// backoff (250 ms at first), sooner than the server asked.
#[test]
fn a_503_with_retry_after_is_waited_out_for_at_least_that_long() {
    let cfg = deskaudit::sim::SimConfig {
        fault_rate: 0.3,
        seed: 7,
        unavailable_retry_after: Some(1),
        ..config(Profile::Documented)
    };
    let (_rt, server) = start_sim(acme(), cfg);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snapshot.json");
    let run = collect_with(&server.base_url(), &out, Some(ADMIN_KEY), &["-v"]);
    let message = text(&run);
    assert!(run.status.success(), "{message}");
    assert_complete(&Snapshot::read(&out).expect("snapshot"));
    let waits: Vec<&str> = message
        .lines()
        .filter(|l| l.contains("unavailable; waiting"))
        .collect();
    assert!(!waits.is_empty(), "no 503 with Retry-After was served: {message}");
    for line in waits {
        assert!(
            line.contains("from=\"retry-after\"") && line.contains("hint_ms=1000"),
            "{line}"
        );
        let wait: u64 = line
            .split("wait_ms=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("wait_ms");
        assert!(wait >= 1000, "waited {wait} ms for a Retry-After of 1 s: {line}");
    }
}
