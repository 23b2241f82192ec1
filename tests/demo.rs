//! `deskaudit demo` end to end: regenerates the committed `reports/demo/` and
//! fails if its findings drift. `DESKAUDIT_BLESS=1 cargo test --test demo`
//! rewrites `reports/demo/` after an intended change.

mod common;

use common::*;
use serde_json::Value;

/// findings.json without the values that change on every run.
fn stable_findings(text: &str) -> Value {
    let mut doc: Value = serde_json::from_str(text).expect("findings.json parses");
    let run = doc["run"].as_object_mut().expect("run object");
    for volatile in ["collected_at", "snapshot_sha256", "tool_version"] {
        run.insert(volatile.to_owned(), Value::String(format!("[{volatile}]")));
    }
    doc
}

#[test]
fn demo_regenerates_the_committed_reports() {
    let committed = repo().join("reports/demo");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = if std::env::var_os("DESKAUDIT_BLESS").is_some() {
        committed.clone()
    } else {
        dir.path().join("demo")
    };
    let run = deskaudit(&["demo", "--out", out.to_str().expect("utf-8")], None);
    assert!(run.status.success(), "{}", text(&run));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("Population: 42 agents (34 active, 5 pending, 3 deactivated)"),
        "{stdout}"
    );
    assert!(stdout.contains("report.html"), "{stdout}");
    assert!(
        stdout.contains(
            "Leavers of the period from 2026-07-01T00:00:00Z: 6 agent(s) \
             (1 in-time, 1 late, 1 unproven, 3 still-active; SLA 24 h), in terminations.csv"
        ),
        "{stdout}"
    );
    // Between reviews: watch's baseline, a role given through the API, its event.
    for line in [
        "Watch: baseline poll recorded (31 active, 2 pending, 3 deactivated agents)",
        "Watch: Administrator given to agent 67013470307 through the API; the next poll records:",
        "  agent.roles_changed tom.whitaker@acme.test +Administrator (seq 2)",
        // Several accounts (#17): both collected at once, each complete.
        "Accounts: collect --accounts took acme (documented API) and acme-eu (older guide's API) at once, \
         each with its own key and rate limit: acme 36 agents -> acme.json, acme-eu 6 agents -> acme-eu.json",
        // One person across accounts: explain names each agent's account.
        "Accounts: explain lena.hoffmann@eu.acme.test over both snapshots: one person, 2 agents: \
         agent 67013470647 in acme (pending), agent 68013470001 in acme-eu (active)",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "{line:?} missing from:\n{stdout}"
        );
    }

    let read = |dir: &std::path::Path, name: &str| std::fs::read_to_string(dir.join(name)).expect(name);
    // ... and audited together into accounts/run: acme has revoked Kevin by
    // now, acme-eu has not.
    let both = "Accounts: one audit of both, agents keyed by (account, id): 31 findings; \
                leavers still active: kevin.brandt@acme.test in acme-eu (report: ";
    assert!(
        stdout.lines().any(|l| l.starts_with(both)),
        "{both:?} missing from:\n{stdout}"
    );
    assert_eq!(
        read(&out, "accounts/run/findings.csv"),
        read(&committed, "accounts/run/findings.csv"),
        "accounts/run/findings.csv drifted from reports/demo (DESKAUDIT_BLESS=1 to accept)"
    );
    // The leaver still active in acme-eu is that account's row.
    let terminations = read(&out, "accounts/run/terminations.csv");
    assert!(
        terminations
            .lines()
            .next()
            .is_some_and(|h| h.ends_with(",verdict,account"))
    );
    assert!(
        terminations
            .lines()
            .any(|l| l.starts_with("kevin.brandt@acme.test,") && l.ends_with(",still-active,acme-eu")),
        "{terminations}"
    );
    // watch --accounts between the reviews sees the remediation's write in acme-eu only.
    assert!(
        stdout.lines().any(|l| l
            == "Accounts: watch --accounts polled both, each with its own state and budget; \
                the second poll records: agent.deactivated kevin.brandt@acme.test in acme-eu"),
        "{stdout}"
    );
    // The next day's recheck of both compares them with the review account by
    // account: the revoke in acme-eu is seen carried out.
    assert!(
        stdout.lines().any(|l| l
            .starts_with("Accounts: recheck of both against the review, account by account: ")
            && l.contains("revokes: 1 carried out, 0 NOT carried out")),
        "{stdout}"
    );
    let recheck: Value =
        serde_json::from_str(&read(&out, "accounts/recheck/run/diff.json")).expect("accounts diff.json");
    let carried = recheck["decisions"]["revokes_carried_out"]
        .as_array()
        .expect("revokes");
    assert_eq!(carried.len(), 1, "{recheck}");
    assert_eq!(carried[0]["account"], "acme-eu", "{recheck}");
    // Its report names every account's snapshot among the evidence.
    let report = read(&out, "accounts/run/report.html");
    for shown in [
        "<dt>Snapshot (acme)</dt>",
        "<dt>Snapshot (acme-eu)</dt>",
        "the accounts report 39",
    ] {
        assert!(
            report.contains(shown),
            "{shown:?} missing from accounts/run/report.html"
        );
    }
    let accounts_run: Value = serde_json::from_str(&read(&out, "accounts/run/run.json")).expect("run.json");
    let domains: Vec<&str> = accounts_run["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["domain"].as_str().expect("domain"))
        .collect();
    assert_eq!(domains, ["acme", "acme-eu"]);
    // ... then the reviewer's workbook of both (each row with its account)
    // carried out with the accounts file: the revoke lands in acme-eu only.
    // (The plan id and the bundle's hash change with every import.)
    let remediated = stdout
        .lines()
        .find(|l| l.starts_with("Accounts: 3 decisions on both imported, plan "))
        .unwrap_or_else(|| panic!("the accounts' remediation is missing from:\n{stdout}"));
    assert!(
        remediated.contains(
            " approved by ciso@acme.test and applied with the accounts file: \
             deactivate kevin.brandt@acme.test in acme-eu done (verified); evidence "
        ) && remediated.contains("accounts/evidence.zip holds both snapshots (SHA-256 "),
        "{remediated}"
    );
    let accounts_bundle = out.join("accounts/evidence.zip");
    let verify = deskaudit(&["verify", accounts_bundle.to_str().expect("utf-8")], None);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
    let outcome: Value =
        serde_json::from_str(&read(&out, "accounts/run/remediation.json")).expect("remediation.json");
    let done = each(&outcome, "actions", &["account", "agent_id", "outcome"]);
    assert_eq!(
        done,
        [
            r#""acme" 67013470001 "nothing-to-do""#,
            r#""acme-eu" 67013470001 "nothing-to-do""#,
            r#""acme-eu" 68013470004 "done""#
        ]
    );
    assert_eq!(
        read(&out, "findings.csv"),
        read(&committed, "findings.csv"),
        "findings.csv drifted from reports/demo (DESKAUDIT_BLESS=1 to accept)"
    );
    assert_eq!(
        stable_findings(&read(&out, "findings.json")),
        stable_findings(&read(&committed, "findings.json")),
        "findings.json drifted from reports/demo (DESKAUDIT_BLESS=1 to accept)"
    );
    insta::assert_snapshot!("demo_findings_csv", read(&out, "findings.csv"));
    insta::assert_json_snapshot!(
        "demo_findings_json",
        stable_findings(&read(&out, "findings.json"))
    );

    let header = read(&out, "findings.csv").lines().next().map(str::to_owned);
    assert_eq!(
        header.as_deref(),
        Some(
            "finding_id,rule,severity,agent_id,agent_email,agent_name,agent_status,roles,groups,ticket_scope,idp_source,idp_status,idp_last_login,detail,account"
        )
    );
    // The bundle the demo packed verifies, and names no directory of this machine.
    let bundle = out.join("evidence.zip");
    let verify = deskaudit(&["verify", bundle.to_str().expect("utf-8")], None);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
    if std::env::var_os("DESKAUDIT_BLESS").is_some() {
        let run_json = read(&out, "run.json");
        assert!(
            !run_json.contains(env!("CARGO_MANIFEST_DIR")),
            "absolute paths in run.json"
        );
    }
    // The loop closed: the fixture workbook imported, the plan approved by a
    // second person and applied on the simulator, every revoke read back,
    // and the next day's audit finds each one carried out.
    assert!(
        stdout.contains(
            "Review: 42 decisions imported from inputs/review-workbook.csv (keep 31, revoke 6, modify 5)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("approved by ciso@acme.test, applied: 10 done, 1 manual, 31 nothing-to-do"),
        "{stdout}"
    );
    assert!(
        stdout.contains("revokes: 6 carried out, 0 NOT carried out"),
        "{stdout}"
    );
    let remediation: Value = serde_json::from_str(&read(&out, "remediation.json")).expect("remediation.json");
    let verified = remediation["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter(|a| a["outcome"] == "done" && a["verified"] == true)
        .count();
    assert_eq!(verified, 10, "every write read back");
    let recheck: Value = serde_json::from_str(&read(&out.join("recheck"), "diff.json")).expect("diff.json");
    for revoke in recheck["decisions"]["revokes_carried_out"]
        .as_array()
        .expect("revokes")
    {
        assert_eq!(revoke["carried_out"]["by"], "remediation", "{revoke}");
    }
    for name in [
        "decisions.json",
        "remediation-plan.json",
        "remediation.json",
        "recheck/run.json",
    ] {
        assert!(
            !read(&out, name).contains(env!("CARGO_MANIFEST_DIR")),
            "{name} names no directory of this machine"
        );
    }
    // The leavers of the period, one of every verdict, each from its evidence.
    let verdicts: Vec<(String, String)> = read(&out, "terminations.csv")
        .lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (
                cells[0].to_owned(),
                cells.last().copied().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let want = [
        ("walter.price@acme.test", "late"),
        ("greg.holloway@acme.test", "unproven"),
        ("robert.fenn@acme.test", "in-time"),
        ("sofia.marquez@acme.test", "still-active"),
        ("kevin.brandt@acme.test", "still-active"),
        ("liam.oconnor@acme.test", "still-active"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(p, v)| ((*p).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(verdicts, want, "terminations.csv");
    insta::assert_snapshot!("demo_terminations_csv", read(&out, "terminations.csv"));
    // The recheck, a day later: the leavers still active at the review were
    // removed by the approved remediation, after their SLA.
    let recheck_rows = read(&out.join("recheck"), "terminations.csv");
    let late: Vec<&str> = recheck_rows
        .lines()
        .skip(1)
        .filter(|l| l.ends_with(",late"))
        .collect();
    assert_eq!(late.len(), 3, "{recheck_rows}");
    assert!(
        late.iter()
            .all(|l| l.contains("remediation: deactivation verified")),
        "{recheck_rows}"
    );
    let html = read(&out, "report.html");
    // The watch file is named where it is once the run is in place, never
    // in the partial directory the run was written into.
    assert!(
        !html.contains(".partial-"),
        "report.html names the partial directory"
    );
    let run_json: Value = serde_json::from_str(&read(&out, "run.json")).expect("run.json");
    assert!(
        run_json["inputs"]["watch"]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("inputs/watch/events.jsonl") && !p.contains(".partial-")),
        "{}",
        run_json["inputs"]
    );
    assert!(
        html.contains("<td>watch events</td>"),
        "the watch file among the inputs"
    );
    for section in [
        "id=\"leavers\"",
        "class=\"sla\"",
        "lv-in-time",
        "lv-late",
        "lv-unproven",
        "lv-still-active",
    ] {
        assert!(html.contains(section), "report.html has no {section}");
    }
    for fetch in ["http://", "https://", "<script src", "<link"] {
        assert!(
            !html.contains(fetch),
            "report.html must be self-contained: found {fetch}"
        );
    }
}
