//! `--webhook`: a receiver that fails three times, then takes every event.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use deskaudit::sim::Profile;
use serde_json::Value;

use super::{KEVIN, Watched, lines, text};

/// What the receiver was sent: (Idempotency-Key, body) of each POST it took.
#[derive(Clone, Default)]
struct Inbox {
    refused: Arc<Mutex<u32>>,
    taken: Arc<Mutex<Vec<(String, Value)>>>,
    attempts: Arc<Mutex<u32>>,
}

/// A receiver on loopback that answers 500 to its first `fail` POSTs.
fn receiver(w: &Watched, fail: u32) -> (String, Inbox) {
    let inbox = Inbox::default();
    let state = inbox.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let state = state.clone();
            async move {
                *state.attempts.lock().expect("lock") += 1;
                let mut refused = state.refused.lock().expect("lock");
                if *refused < fail {
                    *refused += 1;
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let body = serde_json::from_str(&body).expect("a JSON body");
                state.taken.lock().expect("lock").push((key, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener =
        w.rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("binds");
    let addr = listener.local_addr().expect("addr");
    w.rt.spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook?token=s3cret-token"), inbox)
}

#[test]
fn a_webhook_that_fails_three_times_gets_every_event_once_in_order() {
    for profile in [Profile::Documented, Profile::Seed] {
        let w = Watched::new(profile);
        let (url, inbox) = receiver(&w, 3);
        let hook = ["--webhook", url.as_str(), "--webhook-backoff-ms", "20"];
        let first = w.poll(&hook);
        assert_eq!(first.status.code(), Some(0), "{}", text(&first));
        assert_eq!(
            w.write(reqwest::Method::DELETE, &format!("agents/{KEVIN}"), None),
            204
        );
        let second = w.poll(&hook);
        assert_eq!(second.status.code(), Some(0), "{}", text(&second));
        let logged = w.events();
        assert_eq!(logged.len(), 2, "{profile:?}");
        let taken = inbox.taken.lock().expect("lock").clone();
        let bodies: Vec<Value> = taken.iter().map(|(_, b)| b.clone()).collect();
        assert_eq!(bodies, logged, "{profile:?}: every event once, in order");
        let keys: Vec<&str> = taken.iter().map(|(k, _)| k.as_str()).collect();
        let ids: Vec<&str> = logged.iter().filter_map(|e| e["event_id"].as_str()).collect();
        assert_eq!(keys, ids, "the Idempotency-Key is the event id");
        assert_eq!(
            *inbox.attempts.lock().expect("lock"),
            5,
            "three refusals, two deliveries"
        );
        for run in [&first, &second] {
            let said = text(run);
            assert!(!said.contains("s3cret"), "the URL's token was shown: {said}");
        }
        assert!(text(&first).contains("retrying"), "{}", text(&first));
        // Nothing left to send: a third poll with no change sends nothing.
        let third = w.poll(&hook);
        assert_eq!(third.status.code(), Some(0), "{}", text(&third));
        assert_eq!(inbox.taken.lock().expect("lock").len(), 2);
    }
}

#[test]
fn ocsf_events_on_stdout_and_to_the_webhook() {
    let w = Watched::new(Profile::Documented);
    let (url, inbox) = receiver(&w, 0);
    let hook = ["--webhook", url.as_str(), "--events-format", "ocsf"];
    let first = w.poll(&hook);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert_eq!(
        w.write(reqwest::Method::DELETE, &format!("agents/{KEVIN}"), None),
        204
    );
    let second = w.poll(&hook);
    let printed = lines(&String::from_utf8_lossy(&second.stdout));
    assert_eq!(printed.len(), 1);
    assert_eq!(
        (printed[0]["class_uid"].clone(), printed[0]["activity_id"].clone()),
        (Value::from(3001), Value::from(6))
    );
    assert_eq!(printed[0]["user"]["uid"], Value::from(KEVIN.to_string()));
    let taken = inbox.taken.lock().expect("lock").clone();
    assert_eq!(taken.len(), 2);
    assert_eq!(taken[1].1, printed[0]);
    // events.jsonl stays native whatever is printed.
    assert_eq!(w.events()[1]["type"], "agent.deleted");
}

#[test]
fn a_webhook_that_is_down_never_holds_the_polls_back() {
    let w = Watched::new(Profile::Documented);
    let (url, inbox) = receiver(&w, u32::MAX);
    let child = w.spawn(&["--every", "1s", "--webhook", &url, "--webhook-backoff-ms", "50"]);
    // Polls go on while every delivery fails; a change between them is recorded.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while w.events().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        w.write(reqwest::Method::DELETE, &format!("agents/{KEVIN}"), None),
        204
    );
    while w.events().len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    super::sigterm(&child);
    let out = child.wait_with_output().expect("exits");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let types: Vec<Value> = w.events().iter().map(|e| e["type"].clone()).collect();
    assert_eq!(types, ["baseline", "agent.deleted"], "{}", text(&out));
    assert!(*inbox.attempts.lock().expect("lock") >= 2, "delivery was tried");
    assert!(inbox.taken.lock().expect("lock").is_empty());
    assert!(!text(&out).contains("s3cret"), "{}", text(&out));
}
