//! `watch --accounts` (#17): both accounts polled at once, each with its own
//! state, events naming their account; one account's failing poll is that
//! account's `poll.failed` and the other's events are still recorded.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::accounts::*;
use common::*;
use serde_json::{Value, json};

/// Jonas Berg (acme-eu), whose id is Olivia Hart's in acme.
const JONAS: u64 = 67013470001;
/// acme-eu's "Account Administrator" role.
const EU_ADMIN_ROLE: u64 = 68000110001;
/// Kevin Brandt in acme, and acme's "Administrator" role.
const KEVIN: u64 = 67013470205;
const ACME_ADMINISTRATOR: u64 = 67000110002;

/// `deskaudit watch --accounts FILE --state STATE --once ...extra`.
fn watch_once(file: &Path, state: &Path, extra: &[&str]) -> Output {
    with_keys()
        .args([
            "watch",
            "--accounts",
            utf8(file),
            "--state",
            utf8(state),
            "--once",
        ])
        .args(["--budget", "50", "--rate-window", "10"])
        .args(extra)
        .output()
        .expect("binary runs")
}

fn lines(text: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(text)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn events(state: &Path, domain: &str) -> Vec<Value> {
    lines(&std::fs::read(state.join(domain).join("events.jsonl")).unwrap_or_default())
}

/// (type, account, agent id) of each event.
fn kinds(events: &[Value]) -> Vec<(String, String, Option<u64>)> {
    events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_owned(),
                e["account"].as_str().unwrap_or_default().to_owned(),
                e["agent"]["id"].as_u64(),
            )
        })
        .collect()
}

/// A role change through a simulator's write API, with `key`.
fn set_roles(sim: &Sim, key: &str, agent: u64, roles: &[u64]) {
    let url = format!("{}/api/v2/agents/{agent}", sim.1.base_url());
    let status = sim.0.block_on(async {
        reqwest::Client::new()
            .put(&url)
            .basic_auth(key, Some("X"))
            .json(&json!({ "role_ids": roles }))
            .send()
            .await
            .expect("simulator answers")
            .status()
    });
    assert!(status.is_success(), "{status}");
}

/// Both simulators, their accounts file, and a first `watch --once` (the baseline).
struct Baseline {
    sims: [Sim; 2],
    _dir: tempfile::TempDir,
    file: PathBuf,
    state: PathBuf,
    first: Output,
}

fn baseline() -> Baseline {
    let sims = start_both(acme(), EU_KEY);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = accounts_file(dir.path(), &sims[0].1.base_url(), &sims[1].1.base_url());
    let state = dir.path().join("state");
    let first = watch_once(&file, &state, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    Baseline {
        sims,
        _dir: dir,
        file,
        state,
        first,
    }
}

#[test]
fn a_change_in_one_account_is_one_event_naming_that_account() {
    let b = baseline();
    let (file, state) = (&b.file, &b.state);
    // Each account's events as its poll completes: in either order.
    let mut said = kinds(&lines(&b.first.stdout));
    said.sort();
    assert_eq!(
        said,
        [
            ("baseline".into(), "acme".into(), None),
            ("baseline".into(), "acme-eu".into(), None)
        ]
    );
    assert!(!text(&b.first).contains(ADMIN_KEY) && !text(&b.first).contains(EU_KEY));

    set_roles(&b.sims[1], EU_KEY, JONAS, &[EU_ADMIN_ROLE]);
    let second = watch_once(file, state, &["--events-format", "ocsf"]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    let eu_events = events(state, "acme-eu");
    assert_eq!(
        kinds(&eu_events),
        [
            ("baseline".into(), "acme-eu".into(), None),
            ("agent.roles_changed".into(), "acme-eu".into(), Some(JONAS))
        ]
    );
    assert_eq!(eu_events[1]["domain"], "acme-eu");
    // acme's agent of the same id did not change: acme has its baseline only.
    assert_eq!(
        kinds(&events(state, "acme")),
        [("baseline".into(), "acme".into(), None)]
    );
    // OCSF on stdout: the account is the event's tenant (metadata.tenant_uid, OCSF 1.1.0).
    // (A grant and a revoke: two User Access Management objects.)
    let ocsf = lines(&second.stdout);
    assert_eq!(ocsf.len(), 2, "{ocsf:?}");
    for object in &ocsf {
        assert_eq!(object["metadata"]["tenant_uid"], "acme-eu", "{object}");
        assert_eq!(object["class_uid"], 3005);
    }
}

#[test]
fn one_accounts_failing_poll_is_its_own_poll_failed_and_the_other_goes_on() {
    let b = baseline();
    let (file, state) = (&b.file, &b.state);

    b.sims[1].1.set_fault_rate(1.0);
    set_roles(&b.sims[0], ADMIN_KEY, KEVIN, &[ACME_ADMINISTRATOR]);
    let second = watch_once(file, state, &[]);
    assert_eq!(second.status.code(), Some(3), "a poll failed: {}", text(&second));
    let eu = kinds(&events(state, "acme-eu"));
    assert_eq!(
        eu,
        [
            ("baseline".into(), "acme-eu".into(), None),
            ("poll.failed".into(), "acme-eu".into(), None)
        ]
    );
    let acme_events = kinds(&events(state, "acme"));
    assert_eq!(
        acme_events,
        [
            ("baseline".into(), "acme".into(), None),
            ("agent.roles_changed".into(), "acme".into(), Some(KEVIN))
        ]
    );
    assert!(
        text(&second).contains("acme-eu: watch: poll failed"),
        "{}",
        text(&second)
    );

    // A one-account state directory is not taken as the accounts' parent.
    let single = state.join("acme");
    let refused = watch_once(file, &single, &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
}

/// Kevin Brandt's agent in acme-eu given acme's agent id for him, so the two
/// accounts' agents of one leaver collide.
const KEVIN_EU: u64 = 68013470004;

#[test]
fn a_watch_event_of_one_account_is_no_evidence_for_another_accounts_agent_of_the_same_id() {
    let mut eu = acme_eu();
    agent_mut(&mut eu, KEVIN_EU)["id"] = json!(KEVIN);
    let sims = start_pair(acme(), eu, EU_KEY);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = accounts_file(dir.path(), &sims[0].1.base_url(), &sims[1].1.base_url());
    let state = dir.path().join("state");
    assert_eq!(watch_once(&file, &state, &[]).status.code(), Some(0));
    // acme-eu deactivates its Kevin; acme's (the same id) stays active.
    let url = format!("{}/api/v2/agents/{KEVIN}", sims[1].1.base_url());
    let status = sims[1].0.block_on(async {
        reqwest::Client::new()
            .delete(&url)
            .basic_auth(EU_KEY, Some("X"))
            .send()
            .await
            .expect("simulator answers")
            .status()
    });
    assert!(status.is_success(), "{status}");
    assert_eq!(watch_once(&file, &state, &[]).status.code(), Some(0));
    let eu_events = kinds(&events(&state, "acme-eu"));
    assert_eq!(
        eu_events[1],
        ("agent.deactivated".into(), "acme-eu".into(), Some(KEVIN))
    );

    // Both accounts' last complete polls audited together, with acme-eu's events.
    let (a, b) = (
        state.join("acme/snapshot.json"),
        state.join("acme-eu/snapshot.json"),
    );
    let out = dir.path().join("run");
    let eu_state = state.join("acme-eu");
    let mut args = vec!["--watch", utf8(&eu_state)];
    args.extend_from_slice(&ACME_INPUTS[..6]);
    let audit = audit_snapshots(&a, &b, &out, &args);
    assert_eq!(audit.status.code(), Some(0), "{}", text(&audit));
    let csv = std::fs::read_to_string(out.join("terminations.csv")).expect("terminations.csv");
    let kevin_rows: Vec<&str> = csv.lines().filter(|l| l.starts_with("kevin.brandt@")).collect();
    assert_eq!(kevin_rows.len(), 2, "{csv}");
    let row = |status: &str| {
        kevin_rows
            .iter()
            .find(|l| l.contains(&format!(",{KEVIN},kevin.brandt@acme.test,{status},")))
            .unwrap_or_else(|| panic!("no {status} row: {csv}"))
    };
    assert!(row("deactivated").contains("watch"), "acme-eu's own event: {csv}");
    assert!(
        !row("active").contains("watch"),
        "acme-eu's event is no evidence for acme's agent: {csv}"
    );
}
