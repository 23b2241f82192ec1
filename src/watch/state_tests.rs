//! The state directory step by step: a crash after each step of a poll,
//! then a restart, loses no event and repeats none.

use serde_json::{Value, json};

use super::*;
use crate::watch::EventKind;
use crate::watch::observed::tests::snapshot;

fn agent(id: u64, active: bool, roles: &[u64]) -> Value {
    json!({"id": id, "role_ids": roles, "group_ids": [], "ticket_scope": 2,
        "contact": {"email": format!("a{id}@acme.test"), "active": active, "last_login_at": "2026-01-01T00:00:00Z"}})
}

/// Three polls: the baseline; agent 2 deactivated; agent 3 given the Administrator role.
fn polls() -> [Snapshot; 3] {
    [
        snapshot(
            vec![
                agent(1, true, &[11]),
                agent(2, true, &[11]),
                agent(3, true, &[11]),
            ],
            "2026-06-01T00:00:00Z",
        ),
        snapshot(
            vec![
                agent(1, true, &[11]),
                agent(2, false, &[11]),
                agent(3, true, &[11]),
            ],
            "2026-06-01T00:15:00Z",
        ),
        snapshot(
            vec![
                agent(1, true, &[11]),
                agent(2, false, &[11]),
                agent(3, true, &[10, 11]),
            ],
            "2026-06-01T00:30:00Z",
        ),
    ]
}

fn logged(dir: &Path) -> Vec<Event> {
    crate::watch::read_events(&dir.join(EVENTS)).expect("the log reads")
}

fn summary(events: &[Event]) -> Vec<(u64, EventKind, Option<u64>)> {
    events
        .iter()
        .map(|e| (e.seq, e.kind, e.agent.as_ref().map(|a| a.id)))
        .collect()
}

#[test]
fn a_baseline_then_changes_bounded_by_the_two_polls() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("state");
    let [one, two, _] = polls();
    let (mut state, recovery) = StateDir::open(&dir).expect("opens");
    assert_eq!(recovery, Recovery::default());
    let first = state.commit(&one, None).expect("commits");
    assert_eq!(summary(&first), [(1, EventKind::Baseline, None)]);
    assert_eq!(first[0].previous_at, None);
    let second = state.commit(&two, None).expect("commits");
    assert_eq!(summary(&second), [(2, EventKind::AgentDeactivated, Some(2))]);
    // The change happened after the previous poll began, and by the end of this one.
    assert_eq!(second[0].previous_at, Some(one.meta.started_at));
    assert_eq!(second[0].observed_at, two.meta.collected_at);
    drop(state);
    let (state, _) = StateDir::open(&dir).expect("reopens");
    assert_eq!(state.log().next_seq(), 3);
    assert_eq!(state.last().map(|l| l.collected_at), Some(two.meta.collected_at));
    assert_eq!(logged(&dir), [first, second].concat());
    for leftover in [PENDING_SNAPSHOT, PENDING_STATE] {
        assert!(!dir.join(leftover).exists(), "{leftover}");
    }
}

/// Where the process dies while recording the second poll.
#[derive(Clone, Copy, Debug)]
enum Crash {
    AfterStage,
    AfterPrepare,
    HalfwayThroughAppend,
    AfterAppend,
    AfterInstall,
}

#[test]
fn a_crash_at_any_step_loses_no_event_and_repeats_none() {
    let [one, two, three] = polls();
    let reference = {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (mut state, _) = StateDir::open(tmp.path()).expect("opens");
        for poll in [&one, &two, &three] {
            state.commit(poll, None).expect("commits");
        }
        logged(tmp.path())
    };
    let table = [
        (Crash::AfterStage, false),
        (Crash::AfterPrepare, true),
        (Crash::HalfwayThroughAppend, true),
        (Crash::AfterAppend, true),
        (Crash::AfterInstall, true),
    ];
    for (crash, promised) in table {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let (mut state, _) = StateDir::open(dir).expect("opens");
        state.commit(&one, None).expect("commits");
        let staged = state.stage(&two).expect("stages");
        if !matches!(crash, Crash::AfterStage) {
            let mut prepared = staged.prepare(None).expect("prepares");
            match crash {
                Crash::HalfwayThroughAppend => {
                    let line = serde_json::to_string(&prepared.events()[0]).expect("json");
                    let mut file = std::fs::OpenOptions::new()
                        .append(true)
                        .open(dir.join(EVENTS))
                        .expect("log");
                    std::io::Write::write_all(&mut file, &line.as_bytes()[..line.len() / 2])
                        .expect("half a line");
                }
                Crash::AfterAppend => prepared.append().expect("appends"),
                Crash::AfterInstall => {
                    prepared.append().expect("appends");
                    prepared.install().expect("installs");
                }
                _ => {}
            }
        }
        drop(state);
        let (mut state, recovery) = StateDir::open(dir).expect("recovers");
        assert_eq!(recovery.dropped_staged, !promised, "{crash:?}");
        assert_eq!(recovery.finished_poll.is_some(), promised, "{crash:?}");
        assert_eq!(
            recovery.torn_bytes > 0,
            matches!(crash, Crash::HalfwayThroughAppend),
            "{crash:?}"
        );
        state.commit(&three, None).expect("commits");
        let got = logged(dir);
        if promised {
            assert_eq!(got, reference, "{crash:?}: the same lines as without a crash");
        } else {
            // The second poll was never promised: the third finds its change too, bounded by the first.
            assert_eq!(
                summary(&got),
                [
                    (1, EventKind::Baseline, None),
                    (2, EventKind::AgentDeactivated, Some(2)),
                    (3, EventKind::AgentRolesChanged, Some(3)),
                ],
                "{crash:?}"
            );
            assert!(
                got[1..]
                    .iter()
                    .all(|e| e.previous_at == Some(one.meta.started_at))
            );
        }
        // Opening again changes nothing.
        drop(state);
        let (_, recovery) = StateDir::open(dir).expect("reopens");
        assert_eq!(recovery, Recovery::default(), "{crash:?}");
        assert_eq!(logged(dir), got, "{crash:?}");
    }
}

#[test]
fn a_failed_poll_records_one_event_and_changes_nothing_else() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let [one, two, _] = polls();
    let (mut state, _) = StateDir::open(tmp.path()).expect("opens");
    state.commit(&one, None).expect("commits");
    let before = std::fs::read(tmp.path().join(STATE)).expect("state.json");
    let started = "2026-06-01T00:10:00Z".parse().expect("ts");
    let failed = state
        .record_failure("acme", started, "GET /api/v2/agents: gave up after 7 attempts")
        .expect("records");
    assert_eq!((failed.seq, failed.kind), (2, EventKind::PollFailed));
    assert_eq!(failed.previous_at, Some(one.meta.started_at));
    assert_eq!(std::fs::read(tmp.path().join(STATE)).expect("state.json"), before);
    let next = state.commit(&two, None).expect("commits");
    assert_eq!(summary(&next), [(3, EventKind::AgentDeactivated, Some(2))]);
    assert_eq!(
        next[0].previous_at,
        Some(one.meta.started_at),
        "bounded by the last complete poll"
    );
}

#[test]
fn refusals_another_account_an_edited_state_a_second_watch() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("state");
    let [one, two, _] = polls();
    let (mut state, _) = StateDir::open(&dir).expect("opens");
    state.commit(&one, None).expect("commits");
    let busy = StateDir::open(&dir)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(busy.contains("another deskaudit"), "{busy}");
    let mut other = two.clone();
    other.meta.domain = "globex".into();
    other.seal();
    let refused = state
        .stage(&other)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        refused.contains("holds the account `acme`, not `globex`"),
        "{refused}"
    );
    drop(state);
    let mut record: Value =
        serde_json::from_slice(&std::fs::read(dir.join(STATE)).expect("state.json")).expect("json");
    record["snapshot_sha256"] = json!("0000");
    std::fs::write(dir.join(STATE), record.to_string()).expect("edit");
    let edited = StateDir::open(&dir)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        edited.contains("records the snapshot 0000 but snapshot.json holds"),
        "{edited}"
    );
}
