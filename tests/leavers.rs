//! Leavers end to end, on the real binary: `fixtures/leavers/` is a small
//! account reviewed on 2026-08-20 (`previous.json`) and again on 2026-10-01
//! (`current.json`), with an HR export, an Okta API export carrying
//! `statusChanged`, the watch's events between the two, and (built here
//! through review import and remediate plan) a verified remediation of the
//! first review. Each row of `terminations.csv` is checked: its verdict and
//! the evidence source that decided it.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

const FIXTURE: &str = "fixtures/leavers";

struct Account {
    tmp: tempfile::TempDir,
}

impl Account {
    /// The two snapshots sealed as the collector would have, in a temp dir.
    fn new() -> Account {
        let tmp = tempfile::tempdir().expect("tempdir");
        for name in ["previous.json", "current.json"] {
            let text = std::fs::read_to_string(repo().join(FIXTURE).join(name)).expect(name);
            let doc = serde_json::from_str(&text).expect("fixture snapshot parses");
            std::fs::write(tmp.path().join(name), sealed_snapshot(doc)).expect("write snapshot");
        }
        Account { tmp }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// `audit` of one snapshot into `out` with `args`, however it ends.
    fn try_audit(&self, snapshot: &str, out: &str, args: &[&str]) -> std::process::Output {
        let (snapshot, out) = (self.path(snapshot), self.path(out));
        let mut all = vec!["audit", "--snapshot", s(&snapshot), "--out", s(&out)];
        all.extend_from_slice(args);
        deskaudit(&all, None)
    }

    /// `audit` of one snapshot into `out`, with the fixture's exports and policy.
    fn audit(&self, snapshot: &str, out: &str, extra: &[&str]) -> PathBuf {
        let mut args = vec![
            "--idp",
            "hris:fixtures/leavers/hris.csv",
            "--idp",
            "okta-json:fixtures/leavers/okta.json",
            "--policy",
            "fixtures/leavers/policy.toml",
        ];
        args.extend_from_slice(extra);
        let run = self.try_audit(snapshot, out, &args);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run));
        self.path(out)
    }

    /// The first review, its decisions (revoke the two leavers the
    /// remediation will time) and a plan, with `remediation.json` written as
    /// `apply` would have: both deactivations verified.
    fn previous_with_remediation(&self) -> PathBuf {
        let prev = self.audit("previous.json", "prev", &[]);
        let workbook = self.path("workbook.csv");
        let export = deskaudit(
            &["review", "export", "--run", s(&prev), "--out", s(&workbook)],
            None,
        );
        assert_eq!(export.status.code(), Some(0), "{}", text(&export));
        let filled: String = std::fs::read_to_string(&workbook)
            .expect("workbook")
            .lines()
            .map(|line| {
                let decided = ["118,", "119,"].iter().any(|id| line.starts_with(id));
                // The six reviewer's cells are blank; the account follows them.
                match line.rsplit_once(",,,,,,,") {
                    Some((head, account)) if decided && !account.contains(',') => {
                        format!("{head},revoke,it.lead@x.test,Left (HR termination),,,,{account}\n")
                    }
                    _ => format!("{line}\n"),
                }
            })
            .collect();
        std::fs::write(&workbook, filled).expect("fill workbook");
        let import = deskaudit(&["review", "import", "--run", s(&prev), s(&workbook)], None);
        assert_eq!(import.status.code(), Some(0), "{}", text(&import));
        let plan = deskaudit(&["remediate", "plan", "--run", s(&prev)], None);
        assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
        let plan: serde_json::Value =
            serde_json::from_slice(&std::fs::read(prev.join("remediation-plan.json")).expect("plan"))
                .expect("plan parses");
        let action = |seq: u64, id: u64, email: &str, at: &str| {
            serde_json::json!({"seq": seq, "agent_id": id, "agent_email": email, "decision": "revoke",
                "action": "deactivate", "outcome": "done", "verified": true, "at": at, "writes": 1})
        };
        let seq_of = |id: u64| {
            plan["actions"]
                .as_array()
                .expect("actions")
                .iter()
                .find(|a| a["agent_id"] == id)
                .and_then(|a| a["seq"].as_u64())
                .expect("the agent has an action")
        };
        let remediation = serde_json::json!({
            "schema_version": 1, "plan_id": plan["plan_id"], "domain": "x", "approver": "ciso@x.test",
            "key_owner": 1, "started_at": "2026-08-22T07:00:00Z", "finished_at": "2026-08-25T09:00:00Z",
            "actions": [
                // 8 h after Rae's termination (2026-08-21, end of day).
                action(seq_of(118), 118, "r.intime@x.test", "2026-08-22T08:00:00Z"),
                // 6 days after Rob's (2026-08-18).
                action(seq_of(119), 119, "r.late@x.test", "2026-08-25T09:00:00Z"),
            ],
            "summary": {"done": 2},
        });
        std::fs::write(
            prev.join("remediation.json"),
            serde_json::to_vec_pretty(&remediation).expect("json"),
        )
        .expect("write remediation.json");
        prev
    }
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8")
}

/// terminations.csv by agent id: (person, agent_status, verdict, removal_evidence).
fn rows(out: &Path) -> BTreeMap<u64, (String, String, String, String)> {
    let mut reader = csv::Reader::from_path(out.join("terminations.csv")).expect("terminations.csv");
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (person, id, status, verdict, evidence) = (
        col("person"),
        col("agent_id"),
        col("agent_status"),
        col("verdict"),
        col("removal_evidence"),
    );
    reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            let row = (
                r[person].to_owned(),
                r[status].to_owned(),
                r[verdict].to_owned(),
                r[evidence].to_owned(),
            );
            (r[id].parse().expect("agent id"), row)
        })
        .collect()
}

/// Agent ids per rule in findings.csv.
fn fired(out: &Path, rule: &str) -> Vec<u64> {
    let mut reader = csv::Reader::from_path(out.join("findings.csv")).expect("findings.csv");
    let mut ids: Vec<u64> = reader
        .records()
        .map(|r| r.expect("row"))
        .filter(|r| &r[1] == rule)
        .map(|r| r[3].parse().expect("id"))
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn every_verdict_from_every_evidence_source() {
    let account = Account::new();
    let prev = account.previous_with_remediation();
    let out = account.audit(
        "current.json",
        "cur",
        &["--previous-run", s(&prev), "--watch", "fixtures/leavers/watch"],
    );
    let got = rows(&out);
    // (agent, person, status, verdict, the evidence source that decided it)
    let want: [(u64, &str, &str, &str, &str); 16] = [
        (
            101,
            "ut.intime@x.test",
            "deactivated",
            "in-time",
            "updated_at: deactivated agent last updated 2026-09-02T10:00:00Z",
        ),
        (
            102,
            "ut.unproven@x.test",
            "deactivated",
            "unproven",
            "updated_at: deactivated agent last updated 2026-09-10T00:00:00Z",
        ),
        (
            103,
            "w.intime@x.test",
            "deactivated",
            "in-time",
            "watch: seen without access 2026-09-05T12:15:00Z",
        ),
        (
            104,
            "w.late@x.test",
            "deactivated",
            "late",
            "watch: previous poll with access 2026-09-08T06:00:00Z",
        ),
        (
            105,
            "w.unproven@x.test",
            "deactivated",
            "unproven",
            "watch: seen without access 2026-09-20T06:15:00Z",
        ),
        (
            106,
            "p.late@x.test",
            "deactivated",
            "late",
            "previous snapshot: active at its collection 2026-08-20T00:00:00Z",
        ),
        (
            108,
            "p.unproven@x.test",
            "deactivated",
            "unproven",
            "previous snapshot: active at its collection 2026-08-20T00:00:00Z",
        ),
        (
            109,
            "d.late@x.test",
            "deleted",
            "late",
            "this snapshot: deleted, contact 109 (same id)",
        ),
        (
            110,
            "s.active@x.test",
            "active",
            "still-active",
            "this snapshot: active as of 2026-10-01T00:00:00Z",
        ),
        (
            111,
            "s.pending@x.test",
            "pending",
            "still-active",
            "this snapshot: pending as of 2026-10-01T00:00:00Z",
        ),
        (
            112,
            "two@x.test",
            "deactivated",
            "in-time",
            "updated_at: deactivated agent last updated 2026-09-02T08:00:00Z",
        ),
        (
            113,
            "two@x.test",
            "active",
            "still-active",
            "this snapshot: active as of 2026-10-01T00:00:00Z",
        ),
        (
            116,
            "okta.only@x.test",
            "deactivated",
            "in-time",
            "updated_at: deactivated agent last updated 2026-09-03T10:00:00Z",
        ),
        (
            117,
            "signin.late@x.test",
            "deactivated",
            "late",
            "sign-in: last signed in or active 2026-09-04T14:00:00Z",
        ),
        (
            118,
            "r.intime@x.test",
            "deactivated",
            "in-time",
            "remediation: deactivation verified 2026-08-22T08:00:00Z",
        ),
        (
            119,
            "r.late@x.test",
            "deactivated",
            "late",
            "remediation: deactivation verified 2026-08-25T09:00:00Z",
        ),
    ];
    let ids: Vec<u64> = got.keys().copied().collect();
    let want_ids: Vec<u64> = want.iter().map(|w| w.0).collect();
    // No row: nobody's agent (noagent@), a termination after as-of (114,
    // 115), a person still employed (120).
    assert_eq!(ids, want_ids, "one row per terminated person and agent");
    for (id, person, status, verdict, evidence) in want {
        let (p, st, v, ev) = &got[&id];
        assert_eq!(
            (p.as_str(), st.as_str(), v.as_str()),
            (person, status, verdict),
            "agent {id}: {ev}"
        );
        assert!(ev.contains(evidence), "agent {id}: `{evidence}` not in {ev}");
    }
    // Findings: late and unproven of agents in this snapshot; a deleted
    // agent (109) has its row but no finding; still-active is terminated-active.
    assert_eq!(fired(&out, "late-removal"), [104, 106, 117, 119]);
    assert_eq!(fired(&out, "removal-unproven"), [102, 105, 108]);
    assert_eq!(fired(&out, "terminated-active"), [110, 111, 113]);
    // 108 and 119 are listed without their contact (deactivated, documented
    // API): their findings name the person the previous run knew, and the
    // exports that person resolves to, not blanks.
    let mut findings = csv::Reader::from_path(out.join("findings.csv")).expect("findings.csv");
    let header = findings.headers().expect("header").clone();
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (id, email, source, status) = (
        col("agent_id"),
        col("agent_email"),
        col("idp_source"),
        col("idp_status"),
    );
    let named: BTreeMap<u64, (String, String, String)> = findings
        .records()
        .map(|r| r.expect("row"))
        .filter(|r| ["108", "119"].contains(&&r[id]))
        .map(|r| {
            let cells = (r[email].to_owned(), r[source].to_owned(), r[status].to_owned());
            (r[id].parse().expect("id"), cells)
        })
        .collect();
    let want_named = [
        (108, "p.unproven@x.test", "deprovisioned"),
        (119, "r.late@x.test", "deprovisioned"),
    ];
    assert_eq!(named.len(), want_named.len(), "{named:?}");
    for (agent, email, status) in want_named {
        let (e, source, st) = &named[&agent];
        assert_eq!((e.as_str(), st.as_str()), (email, status), "agent {agent}");
        assert!(
            source.starts_with("okta:") || source.starts_with("hris:"),
            "agent {agent}: {source}"
        );
    }

    let csv = std::fs::read_to_string(out.join("terminations.csv")).expect("csv");
    assert_eq!(
        csv.lines().next(),
        Some(
            "person,idp_source,terminated_at,termination_source,agent_id,agent_email,agent_status,\
             access_seen_until,access_removed_by,removal_evidence,max_delay_hours,sla_hours,verdict"
        )
    );
    insta::assert_snapshot!(
        "leavers_terminations_csv",
        csv.replace(s(&prev), "[previous-run]")
    );

    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(
        html.contains("<h2 id=\"leavers-h\">Leavers</h2>"),
        "the Leavers section"
    );
    assert!(html.contains("class=\"sla\""), "the SLA line of the delay chart");
    assert!(
        html.matches("<tr><td class=\"mono\">").count() >= 16,
        "a table row per leaver agent"
    );
}

#[test]
fn hr_times_offsets_and_the_okta_status_change() {
    let account = Account::new();
    let out = account.audit("current.json", "cur", &[]);
    let mut reader = csv::Reader::from_path(out.join("terminations.csv")).expect("terminations.csv");
    let by_person: BTreeMap<String, (String, String)> = reader
        .records()
        .map(|r| r.expect("row"))
        .map(|r| (r[0].to_owned(), (r[2].to_owned(), r[3].to_owned())))
        .collect();
    let cases = [
        // An HR date without a time: the end of that day, UTC (ISO and US forms).
        (
            "ut.intime@x.test",
            "2026-09-01T23:59:59Z",
            "termination date 2026-09-01, a date without a time: the end of that day, UTC",
        ),
        (
            "ut.unproven@x.test",
            "2026-09-01T23:59:59Z",
            "a date without a time",
        ),
        // A time with an offset: that instant.
        (
            "w.intime@x.test",
            "2026-09-05T07:00:00Z",
            "termination date 2026-09-05T07:00:00Z",
        ),
        // No HR row: Okta's statusChanged of the deprovisioned account.
        (
            "okta.only@x.test",
            "2026-09-03T10:00:00Z",
            "okta-json:okta.json entry 1: statusChanged 2026-09-03T10:00:00Z (status DEPROVISIONED)",
        ),
    ];
    for (person, at, source) in cases {
        let (got_at, got_source) = &by_person[person];
        assert_eq!(got_at, at, "{person}");
        assert!(got_source.contains(source), "{person}: {got_source}");
    }
}

#[test]
fn without_previous_run_or_watch_the_period_is_review_period_days() {
    let account = Account::new();
    let out = account.audit("current.json", "cur", &[]);
    let got = rows(&out);
    // The watch and the previous snapshot are gone: only updated_at and
    // this snapshot bound the removals; agents whose deactivated record has
    // no email (108, 118, 119) and the deleted one (109) are unknown.
    for (id, verdict) in [
        (103, "unproven"),
        (104, "unproven"),
        (105, "unproven"),
        (106, "unproven"),
    ] {
        assert_eq!(got[&id].2, verdict, "agent {id}: {}", got[&id].3);
    }
    for id in [108, 109, 118, 119] {
        assert!(
            !got.contains_key(&id),
            "agent {id} has no email without the previous run"
        );
    }
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(
        html.contains("(2026-07-01T00:00:00Z, 2026-10-01T00:00:00Z]: the period starts at review_period_days = 92 before the as-of"),
        "the period in the report"
    );
}

#[test]
fn the_sla_and_the_period_come_from_the_policy() {
    let account = Account::new();
    let policy = account.path("policy.toml");
    std::fs::write(
        &policy,
        "removal_sla_hours = 240\nreview_period_days = 10\n[identity_map]\n\"two.admin@x.test\" = \"two@x.test\"\n",
    )
    .expect("policy");
    let run = account.try_audit(
        "current.json",
        "cur",
        &[
            "--idp",
            "hris:fixtures/leavers/hris.csv",
            "--idp",
            "okta-json:fixtures/leavers/okta.json",
            "--policy",
            s(&policy),
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let out = account.path("cur");
    let got = rows(&out);
    // Ten days before as-of: only the people with an agent still active
    // (access after the period's start) are leavers of it, with every one
    // of their agents (Tom Two's deactivated one in time under a 240 h SLA).
    let verdicts: Vec<(u64, &str)> = got.iter().map(|(id, r)| (*id, r.2.as_str())).collect();
    assert_eq!(
        verdicts,
        [
            (110, "still-active"),
            (111, "still-active"),
            (112, "in-time"),
            (113, "still-active")
        ]
    );

    std::fs::write(&policy, "removal_sla_hours = 0\n").expect("policy");
    let bad = account.try_audit("current.json", "bad", &["--policy", s(&policy)]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(
        text(&bad).contains("policy.toml:1:21: `removal_sla_hours`: must be at least 1 hour"),
        "{}",
        text(&bad)
    );
}

#[test]
fn a_bad_watch_file_names_the_file_and_line_and_exits_2() {
    let account = Account::new();
    let watch = account.path("watch");
    std::fs::create_dir_all(&watch).expect("dir");
    std::fs::write(
        watch.join("events.jsonl"),
        "{\"schema_version\":1,\"type\":\"baseline\",\"observed_at\":\"2026-08-20T00:00:00Z\"}\n\
         {\"schema_version\":1,\"type\":\"agent.deactivated\",\"observed_at\":\"yesterday\",\"agent\":{\"id\":1}}\n",
    )
    .expect("events");
    let run = account.try_audit("current.json", "out", &["--watch", s(&watch)]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    let message = text(&run);
    assert!(
        message.contains("events.jsonl:2: agent.deactivated: observed_at: `yesterday` is not a date-time"),
        "{message}"
    );
    assert!(!account.path("out").exists(), "nothing written");
}

/// The reader follows the events `deskaudit watch` really writes: the two
/// fixture snapshots as two polls, their changes assembled by the watch's
/// own code, read back by the leavers' reader.
#[test]
fn the_leavers_read_what_the_watch_writes() {
    use deskaudit::watch::{Observed, PollContext, assemble, changes};
    let poll = |name: &str| {
        let text = std::fs::read_to_string(repo().join(FIXTURE).join(name)).expect(name);
        let snapshot: deskaudit::model::Snapshot = serde_json::from_str(&text).expect("snapshot");
        Observed::from_snapshot(&snapshot).expect("observed")
    };
    let (prev, cur) = (poll("previous.json"), poll("current.json"));
    let events = assemble(&PollContext::new(&cur, Some(&prev)), changes(&prev, &cur), 1);
    let mut text = String::new();
    for event in &events {
        text.push_str(&serde_json::to_string(event).expect("json"));
        text.push('\n');
    }
    let log = deskaudit::leavers::watch::parse("events.jsonl", text.as_bytes()).expect("reads");
    let of = |id: u64, kind: &str| {
        log.events
            .iter()
            .find(|e| e.agent_id == id && e.kind == kind)
            .map(|e| (e.access_before, e.access_after, e.previous_at, e.observed_at))
            .unwrap_or_else(|| panic!("no {kind} for agent {id} in {text}"))
    };
    let (previous_at, observed_at) = (prev.started_at, cur.collected_at);
    // Deactivated between the polls: with access at the previous one, without at this one.
    assert_eq!(
        of(101, "agent.deactivated"),
        (Some(true), Some(false), Some(previous_at), observed_at)
    );
    // Deleted (a contact now): no agent after.
    assert_eq!(
        of(109, "agent.deleted"),
        (Some(true), Some(false), Some(previous_at), observed_at)
    );
    let deleted = log.events.iter().find(|e| e.agent_id == 109).expect("109");
    assert!(deleted.is_deletion());
    assert_eq!(deleted.email.as_deref(), Some("d.late@x.test"));
}
