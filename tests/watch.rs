//! `deskaudit watch` against the simulator over loopback HTTP, in both API
//! profiles: a baseline, then changes made through the simulator's write
//! API as exactly the expected events with their bounds; a poll that meets
//! faults; a stop and a crash mid-way; a webhook that fails before it takes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::*;
use deskaudit::sim::{Profile, RunningSim, SimConfig};
use serde_json::{Value, json};

#[path = "watch/refusals.rs"]
mod refusals;
#[path = "watch/webhook.rs"]
mod webhook;

const GREG: u64 = 67013470069; // deactivated (the flag), logged in before
const SOFIA: u64 = 67013470154; // active, role Agent
const KEVIN: u64 = 67013470205; // active, role Agent
const ADMINISTRATOR: u64 = 67000110002;
const AGENT: u64 = 67000110004;

/// A simulator of the acme account and an empty state directory.
pub struct Watched {
    pub rt: tokio::runtime::Runtime,
    pub sim: RunningSim,
    pub profile: Profile,
    _tmp: tempfile::TempDir,
    pub state: PathBuf,
}

impl Watched {
    pub fn new(profile: Profile) -> Watched {
        Watched::with(SimConfig {
            // A short window: the budget paces requests within it, and a test poll stays quick.
            window: std::time::Duration::from_secs(10),
            ..config(profile)
        })
    }

    /// A simulator that answers after 400 ms: a poll takes seconds, long
    /// enough to stop it half-way.
    pub fn slow(profile: Profile) -> Watched {
        Watched::with(SimConfig {
            latency: std::time::Duration::from_millis(400),
            window: std::time::Duration::from_secs(10),
            ..config(profile)
        })
    }

    pub fn with(config: SimConfig) -> Watched {
        let profile = config.profile;
        let (rt, sim) = start_sim(acme(), config);
        let tmp = tempfile::tempdir().expect("tempdir");
        let state = tmp.path().join("state");
        Watched {
            rt,
            sim,
            profile,
            _tmp: tmp,
            state,
        }
    }

    /// The arguments of a `watch` of this account (without --once).
    pub fn args(&self, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "watch",
            "--domain",
            "acme",
            "--base-url",
            &self.sim.base_url(),
            "--state",
            self.state.to_str().expect("utf-8"),
            "--budget",
            "50",
            "--rate-window",
            "10",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    }

    /// `deskaudit watch --once` with `extra` flags.
    pub fn poll(&self, extra: &[&str]) -> Output {
        let mut args = self.args(extra);
        args.push("--once".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        deskaudit(&args, Some(ADMIN_KEY))
    }

    /// A poll that must succeed; the events it printed.
    pub fn poll_ok(&self) -> Vec<Value> {
        let run = self.poll(&[]);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run));
        lines(&String::from_utf8_lossy(&run.stdout))
    }

    /// `deskaudit watch` (no --once) started in the background.
    pub fn spawn(&self, extra: &[&str]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_deskaudit"))
            .args(self.args(extra))
            .current_dir(repo())
            .env("FRESHDESK_API_KEY", ADMIN_KEY)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary starts")
    }

    /// Waits until a spawned watch's first request has been answered: with
    /// the slow simulator its poll then has seconds left to run.
    pub fn until_the_poll_has_begun(&self) {
        let before = self.sim.total_requests();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.sim.total_requests() == before {
            assert!(std::time::Instant::now() < deadline, "the watch sent no request");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn events(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.state.join("events.jsonl")).unwrap_or_default();
        lines(&text)
    }

    /// The last complete snapshot's `meta`.
    pub fn meta(&self) -> Value {
        let text = std::fs::read(self.state.join("snapshot.json")).expect("snapshot.json");
        serde_json::from_slice::<Value>(&text).expect("json")["meta"].clone()
    }

    /// A write through the simulator's API, as an admin; its HTTP status.
    pub fn write(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> u16 {
        let url = format!("{}/api/v2/{path}", self.sim.base_url());
        self.rt.block_on(async {
            let mut request = reqwest::Client::new()
                .request(method, &url)
                .basic_auth(ADMIN_KEY, Some("X"));
            if let Some(body) = body {
                request = request.json(&body);
            }
            request.send().await.expect("simulator answers").status().as_u16()
        })
    }
}

/// SIGTERM to `child`, as systemd stops a unit (the shell's own `kill`,
/// so no procps is needed).
pub fn sigterm(child: &std::process::Child) {
    let sent = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .expect("sh runs");
    assert!(sent.success(), "kill -TERM {}", child.id());
}

pub fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect()
}

/// (type, agent id) of each event.
fn kinds(events: &[Value]) -> Vec<(String, Option<u64>)> {
    events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or("?").to_owned(),
                e["agent"]["id"].as_u64(),
            )
        })
        .collect()
}

fn ts(value: &Value) -> jiff::Timestamp {
    value.as_str().expect("a timestamp").parse().expect("RFC 3339")
}

fn ev(kind: &str, id: u64) -> (String, Option<u64>) {
    (kind.to_owned(), Some(id))
}

#[test]
fn changes_through_the_write_api_are_exactly_the_expected_events() {
    for profile in [Profile::Documented, Profile::Seed] {
        let w = Watched::new(profile);
        let baseline = w.poll_ok();
        assert_eq!(kinds(&baseline), [("baseline".to_owned(), None)], "{profile:?}");
        assert_eq!(
            baseline[0]["after"]["agents"],
            json!({"active": 34, "pending": 5, "deactivated": 3}),
            "{profile:?}"
        );
        assert_eq!(baseline[0]["previous_at"], Value::Null);
        let first = w.meta();
        assert_eq!(
            w.poll_ok(),
            Vec::<Value>::new(),
            "{profile:?}: nothing changed, no event"
        );
        let quiet = w.meta();

        let written_from = jiff::Timestamp::now();
        use reqwest::Method;
        assert_eq!(w.write(Method::DELETE, &format!("agents/{KEVIN}"), None), 204);
        let roles = json!({"role_ids": [ADMINISTRATOR]});
        assert_eq!(w.write(Method::PUT, &format!("agents/{SOFIA}"), Some(roles)), 200);
        assert_eq!(
            w.write(Method::PUT, &format!("contacts/{GREG}/make_agent"), None),
            200
        );
        let hire = json!({"email": "new.hire@acme.test", "name": "New Hire"});
        assert_eq!(w.write(Method::POST, "agents", Some(hire)), 201);
        let written_to = jiff::Timestamp::now();

        let events = w.poll_ok();
        let second = w.meta();
        let created = events.last().and_then(|e| e["agent"]["id"].as_u64()).unwrap_or(0);
        // The documented DELETE removes the agent (a contact remains); the older one deactivates it.
        let kevin = match profile {
            Profile::Documented => "agent.deleted",
            Profile::Seed => "agent.deactivated",
        };
        assert_eq!(
            kinds(&events),
            [
                ev("agent.reactivated", GREG),
                ev("agent.roles_changed", SOFIA),
                ev(kevin, KEVIN),
                ev("agent.created", created),
            ],
            "{profile:?}"
        );
        assert!(
            created > u64::from(u32::MAX),
            "{profile:?}: the simulator's new id"
        );
        let by = |id: u64| {
            events
                .iter()
                .find(|e| e["agent"]["id"] == json!(id))
                .expect("event")
        };
        let status = |e: &Value, side: &str| e[side]["status"].as_str().map(str::to_owned);
        assert_eq!(
            (status(by(GREG), "before"), status(by(GREG), "after")),
            (Some("deactivated".into()), Some("active".into())),
            "{profile:?}"
        );
        let sofia = by(SOFIA);
        assert_eq!(sofia["before"]["roles"], json!([{"id": AGENT, "name": "Agent"}]));
        assert_eq!(
            sofia["after"]["roles"],
            json!([{"id": ADMINISTRATOR, "name": "Administrator"}])
        );
        assert_eq!(
            sofia["change"],
            json!({"added": [{"id": ADMINISTRATOR, "name": "Administrator"}],
                "removed": [{"id": AGENT, "name": "Agent"}]})
        );
        assert_eq!(sofia["agent"]["email"], json!("sofia.marquez@acme.test"));
        let kevin_event = by(KEVIN);
        assert_eq!(status(kevin_event, "before"), Some("active".into()));
        match profile {
            Profile::Documented => assert_eq!(kevin_event["after"], Value::Null),
            Profile::Seed => assert_eq!(status(kevin_event, "after"), Some("deactivated".into())),
        }
        let hire = by(created);
        assert_eq!(hire["before"], Value::Null);
        assert_eq!(
            (status(hire, "after"), hire["agent"]["email"].clone()),
            (Some("pending".into()), json!("new.hire@acme.test"))
        );
        // Bounds: after the previous complete poll began, by the end of this one.
        for event in &events {
            assert_eq!(ts(&event["previous_at"]), ts(&quiet["started_at"]), "{profile:?}");
            assert_eq!(
                ts(&event["observed_at"]),
                ts(&second["collected_at"]),
                "{profile:?}"
            );
            assert!(ts(&event["previous_at"]) <= written_from && written_to <= ts(&event["observed_at"]));
        }
        assert!(ts(&first["started_at"]) < ts(&quiet["started_at"]));

        // Kevin given access back: reactivated (from deleted, or deactivated), not created.
        assert_eq!(
            w.write(Method::PUT, &format!("contacts/{KEVIN}/make_agent"), None),
            200
        );
        let back = w.poll_ok();
        assert_eq!(kinds(&back), [ev("agent.reactivated", KEVIN)], "{profile:?}");
        let was = match profile {
            Profile::Documented => "deleted",
            Profile::Seed => "deactivated",
        };
        assert_eq!(status(&back[0], "before"), Some(was.into()), "{profile:?}");
        // The log is every event printed, numbered in order.
        let logged = w.events();
        let printed: Vec<Value> = [baseline, events, back].concat();
        assert_eq!(logged, printed, "{profile:?}");
        let seqs: Vec<u64> = logged.iter().filter_map(|e| e["seq"].as_u64()).collect();
        assert_eq!(seqs, (1..=logged.len() as u64).collect::<Vec<_>>());
    }
}

#[test]
fn a_poll_that_meets_faults_records_poll_failed_and_no_false_deletion() {
    for profile in [Profile::Documented, Profile::Seed] {
        let w = Watched::new(profile);
        w.poll_ok();
        let state_before = std::fs::read(w.state.join("state.json")).expect("state.json");
        let snapshot_before = std::fs::read(w.state.join("snapshot.json")).expect("snapshot.json");
        w.sim.set_fault_rate(1.0);
        let failed = w.poll(&[]);
        assert_eq!(failed.status.code(), Some(3), "{profile:?}: {}", text(&failed));
        let events = w.events();
        assert_eq!(
            kinds(&events),
            [("baseline".into(), None), ("poll.failed".into(), None)],
            "{profile:?}"
        );
        assert!(events[1]["error"].as_str().unwrap_or("").contains("GET /api/v2/"));
        assert_eq!(events[1]["previous_at"], w.meta()["started_at"]);
        assert_eq!(
            std::fs::read(w.state.join("state.json")).expect("state"),
            state_before
        );
        assert_eq!(
            std::fs::read(w.state.join("snapshot.json")).expect("snap"),
            snapshot_before
        );
        // Trouble over: the next complete poll finds nothing changed, and nobody deleted.
        w.sim.set_fault_rate(0.0);
        assert_eq!(w.poll_ok(), Vec::<Value>::new(), "{profile:?}");
        assert!(w.events().iter().all(|e| e["type"] != "agent.deleted"));
    }
}

#[test]
fn sigterm_mid_poll_exits_0_and_leaves_the_state_as_it_was() {
    for profile in [Profile::Documented, Profile::Seed] {
        let w = Watched::slow(profile);
        w.poll_ok();
        let log = std::fs::read(w.state.join("events.jsonl")).expect("log");
        let state = std::fs::read(w.state.join("state.json")).expect("state");
        assert_eq!(
            w.write(reqwest::Method::DELETE, &format!("agents/{KEVIN}"), None),
            204
        );
        let child = w.spawn(&["--every", "1h"]);
        w.until_the_poll_has_begun();
        sigterm(&child);
        let out = child.wait_with_output().expect("exits");
        assert_eq!(out.status.code(), Some(0), "{profile:?}: {}", text(&out));
        assert!(text(&out).contains("stopped by SIGTERM"), "{}", text(&out));
        assert_eq!(std::fs::read(w.state.join("events.jsonl")).expect("log"), log);
        assert_eq!(std::fs::read(w.state.join("state.json")).expect("state"), state);
        // The change the abandoned poll would have seen is found by the next one, once.
        let kevin = match profile {
            Profile::Documented => "agent.deleted",
            Profile::Seed => "agent.deactivated",
        };
        assert_eq!(kinds(&w.poll_ok()), [ev(kevin, KEVIN)], "{profile:?}");
    }
}

/// Runs `deskaudit collect` of the simulator into `out`.
fn collect_into(w: &Watched, out: &Path) {
    let run = collect_with(&w.sim.base_url(), out, Some(ADMIN_KEY), &[]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
}

#[test]
fn a_restart_after_a_crash_mid_poll_loses_no_event_and_repeats_none() {
    use deskaudit::watch::StateDir;
    for profile in [Profile::Documented, Profile::Seed] {
        let w = Watched::new(profile);
        w.poll_ok();
        assert_eq!(
            w.write(reqwest::Method::DELETE, &format!("agents/{KEVIN}"), None),
            204
        );
        let roles = json!({"role_ids": [ADMINISTRATOR]});
        assert_eq!(
            w.write(reqwest::Method::PUT, &format!("agents/{SOFIA}"), Some(roles)),
            200
        );
        // A poll killed after it promised its events and wrote one and a half of them.
        let collected = w.state.with_file_name("collected.json");
        collect_into(&w, &collected);
        let snapshot = deskaudit::model::Snapshot::read(&collected).expect("reads");
        let promised = {
            let (mut state, _) = StateDir::open(&w.state).expect("opens");
            let prepared = state
                .stage(&snapshot)
                .expect("stages")
                .prepare(None)
                .expect("prepares");
            let events: Vec<Value> = prepared
                .events()
                .iter()
                .map(|e| serde_json::to_value(e).expect("json"))
                .collect();
            let first = serde_json::to_string(&events[0]).expect("json");
            let second = serde_json::to_string(&events[1]).expect("json");
            let mut log = std::fs::OpenOptions::new()
                .append(true)
                .open(w.state.join("events.jsonl"))
                .expect("log");
            let torn = format!("{first}\n{}", &second[..second.len() / 2]);
            std::io::Write::write_all(&mut log, torn.as_bytes()).expect("writes");
            events
        };
        // The dead process's lock is gone with it; a new watch finishes the poll, then polls.
        assert_eq!(
            w.write(reqwest::Method::PUT, &format!("contacts/{GREG}/make_agent"), None),
            200
        );
        let run = w.poll(&[]);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run));
        assert!(text(&run).contains("finished poll"), "{}", text(&run));
        let printed = lines(&String::from_utf8_lossy(&run.stdout));
        assert_eq!(kinds(&printed), [ev("agent.reactivated", GREG)], "{profile:?}");
        let logged = w.events();
        assert_eq!(
            logged[1..3],
            promised[..],
            "{profile:?}: the promised events, once each"
        );
        assert_eq!(logged[3..], printed[..], "{profile:?}");
        let ids: std::collections::BTreeSet<&str> =
            logged.iter().filter_map(|e| e["event_id"].as_str()).collect();
        assert_eq!(ids.len(), logged.len(), "{profile:?}: no event twice");
        assert_eq!(
            logged
                .iter()
                .filter_map(|e| e["seq"].as_u64())
                .collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
    }
}

#[test]
fn a_killed_watch_restarts_and_finds_each_change_once() {
    for profile in [Profile::Documented, Profile::Seed] {
        let w = Watched::slow(profile);
        w.poll_ok();
        let roles = json!({"role_ids": [ADMINISTRATOR]});
        assert_eq!(
            w.write(reqwest::Method::PUT, &format!("agents/{SOFIA}"), Some(roles)),
            200
        );
        let mut child = w.spawn(&["--every", "1h"]);
        w.until_the_poll_has_begun();
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        let events = w.poll_ok();
        assert_eq!(kinds(&events), [ev("agent.roles_changed", SOFIA)], "{profile:?}");
        assert_eq!(w.events().len(), 2, "{profile:?}");
    }
}

#[test]
fn with_idp_findings_open_and_resolve_with_the_ids_of_findings_csv() {
    let w = Watched::new(Profile::Documented);
    // The audit inputs without --as-of: each poll is audited as of its own collection.
    let inputs = &ACME_INPUTS[..ACME_INPUTS.len() - 2];
    let run = w.poll(inputs);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let baseline = lines(&String::from_utf8_lossy(&run.stdout));
    let open = baseline[0]["after"]["open_findings"].as_u64().unwrap_or(0);
    assert!(open > 0, "{baseline:?}");
    // The same snapshot audited: findings.csv's ids for Kevin, an active leaver.
    let audited = w.state.with_file_name("audit");
    let as_of = w.meta()["collected_at"]
        .as_str()
        .expect("collected_at")
        .to_owned();
    let snapshot = w.state.join("snapshot.json");
    let mut args = vec!["audit", "--snapshot", snapshot.to_str().expect("utf-8")];
    args.extend_from_slice(inputs);
    args.extend(["--as-of", &as_of, "--out", audited.to_str().expect("utf-8")]);
    let audit = deskaudit(&args, None);
    assert_eq!(audit.status.code(), Some(0), "{}", text(&audit));
    let csv = std::fs::read_to_string(audited.join("findings.csv")).expect("findings.csv");
    let kevin_ids: Vec<String> = csv
        .lines()
        .filter(|l| l.split(',').nth(3) == Some(&KEVIN.to_string()))
        .map(|l| l.split(',').next().unwrap_or("").to_owned())
        .collect();
    assert!(!kevin_ids.is_empty(), "{csv}");
    assert_eq!(csv.lines().count() as u64 - 1, open);

    assert_eq!(
        w.write(reqwest::Method::DELETE, &format!("agents/{KEVIN}"), None),
        204
    );
    let run = w.poll(inputs);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let events = lines(&String::from_utf8_lossy(&run.stdout));
    assert_eq!(kinds(&events[..1]), [ev("agent.deleted", KEVIN)]);
    let resolved: Vec<String> = events[1..]
        .iter()
        .filter(|e| e["type"] == "finding.resolved")
        .filter_map(|e| e["finding"]["finding_id"].as_str().map(str::to_owned))
        .collect();
    let mut want = kevin_ids.clone();
    want.sort();
    let mut got = resolved.clone();
    got.sort();
    assert_eq!(got, want, "{events:?}");
    assert!(events[1..].iter().all(|e| e["agent"]["id"] == json!(KEVIN)));
}
