//! `deskaudit diff` and `audit --previous-run` on two runs of the real binary
//! over fixtures/diff (see its README): an agent deleted, one missing, one
//! added, findings resolved, new, accepted and persisting, and the old run's
//! decisions (a revoke not carried out among them).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use serde_json::Value;

const OKTA: &str = "fixtures/diff/okta-password-health.csv";

struct Runs {
    _tmp: tempfile::TempDir,
    old: PathBuf,
    new: PathBuf,
}

fn fixture(name: &str) -> String {
    repo().join("fixtures/diff").join(name).display().to_string()
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// `audit` of one fixture snapshot into `out`, with absolute paths so the run
/// directory can be read back from anywhere.
fn audit(snapshot: &str, out: &Path, extra: &[&str]) -> Output {
    let okta = repo().join(OKTA).display().to_string();
    let snapshot = fixture(snapshot);
    let mut args = vec![
        "audit",
        "--snapshot",
        &snapshot,
        "--idp",
        &okta,
        "--out",
        utf8(out),
    ];
    args.extend_from_slice(extra);
    deskaudit(&args, None)
}

/// OLD (as of 2026-07-01, with the reviewers' decisions) and NEW (2026-10-01,
/// with a policy exception accepting Ada's administrator role).
fn two_runs() -> Runs {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (old, new) = (tmp.path().join("2026-Q3"), tmp.path().join("2026-Q4"));
    let run = audit("old.json", &old, &[]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    std::fs::copy(fixture("decisions.json"), old.join("decisions.json")).expect("decisions.json");
    let policy = fixture("policy-new.toml");
    let run = audit("new.json", &new, &["--policy", &policy]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    Runs { _tmp: tmp, old, new }
}

fn diff(runs: &Runs, extra: &[&str]) -> Output {
    let mut args = vec!["diff", utf8(&runs.old), utf8(&runs.new)];
    args.extend_from_slice(extra);
    deskaudit(&args, None)
}

fn json_of(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", text(out));
    serde_json::from_slice(&out.stdout).expect("diff --json is JSON")
}

/// `[(agent_id, field)]` of one list, for exact comparisons.
fn pairs(list: &Value, field: &str) -> Vec<(u64, String)> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| {
            let id = item["agent_id"].as_u64().expect("agent_id");
            let value = match &item[field] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (id, value)
        })
        .collect()
}

fn owned(items: &[(u64, &str)]) -> Vec<(u64, String)> {
    items.iter().map(|(id, s)| (*id, (*s).to_owned())).collect()
}

#[test]
fn diff_of_two_fixture_runs_says_exactly_what_changed() {
    let runs = two_runs();
    let d = json_of(&diff(&runs, &["--json"]));
    assert_eq!(d["schema_version"], 1);
    assert_eq!(d["old"]["as_of"], "2026-07-01T00:00:00Z");
    assert_eq!(d["new"]["as_of"], "2026-10-01T00:00:00Z");

    let f = &d["findings"];
    assert_eq!(pairs(&f["new"], "rule"), owned(&[(9000000007, "orphaned-agent")]));
    assert_eq!(
        pairs(&f["resolved"], "resolution"),
        owned(&[(9000000002, "agent_deactivated"), (9000000003, "agent_deleted")])
    );
    assert_eq!(
        pairs(&f["resolved"], "rule"),
        owned(&[(9000000002, "terminated-active"), (9000000003, "dormant-agent")])
    );
    assert_eq!(
        pairs(&f["accepted"], "rule"),
        owned(&[(9000000001, "privileged-agent")])
    );
    assert_eq!(
        pairs(&f["persisting"], "rule"),
        owned(&[(9000000004, "terminated-active")])
    );
    assert_eq!(f["persisting"][0].get("old_severity"), None, "no severity change");

    let a = &d["agents"];
    assert_eq!(
        pairs(&a["added"], "agent_email"),
        owned(&[(9000000007, "gus.new@acme.test")])
    );
    assert_eq!(
        pairs(&a["removed"], "reason"),
        owned(&[(9000000003, "deleted"), (9000000006, "missing")])
    );
    assert_eq!(a["removed"][0]["contact_id"], 9000000003_u64);
    assert_eq!(a["removed"][0]["matched_by"], "id");
    assert_eq!(
        pairs(&a["status_changed"], "after"),
        owned(&[(9000000002, "deactivated")])
    );
    let eve = &a["access_changed"][0];
    assert_eq!(eve["agent_id"], 9000000005_u64);
    assert_eq!(eve["roles_removed"], serde_json::json!(["Supervisor"]));
    assert_eq!(eve["roles_added"], serde_json::json!(["Agent"]));
    assert_eq!(eve["groups_removed"], serde_json::json!(["Tier 2 Support"]));
    assert_eq!(
        eve["ticket_scope"],
        serde_json::json!({"before": "Global", "after": "Group"})
    );

    let dec = &d["decisions"];
    assert_eq!(dec["recorded"], true);
    assert_eq!(
        pairs(&dec["revokes_not_carried_out"], "now"),
        owned(&[(9000000004, "active")])
    );
    assert_eq!(
        pairs(&dec["revokes_carried_out"], "now"),
        owned(&[(9000000002, "deactivated"), (9000000003, "deleted")])
    );
    assert_eq!(
        pairs(&dec["modifies"], "outcome"),
        owned(&[(9000000005, "changed")])
    );
    assert_eq!(pairs(&dec["keeps"], "outcome"), owned(&[(9000000001, "kept")]));

    let warnings = d["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .as_str()
            .unwrap_or_default()
            .contains("missing from NEW's"),
        "{warnings:?}"
    );

    insta::assert_json_snapshot!("diff_json", d, {
        ".old.dir" => "[OLD]",
        ".new.dir" => "[NEW]",
    });
}

#[test]
fn diff_text_leads_with_the_revoke_not_carried_out() {
    let runs = two_runs();
    let out = diff(&runs, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let stable = stdout
        .replace(utf8(&runs.old), "[OLD]")
        .replace(utf8(&runs.new), "[NEW]");
    let loud = stable.find("!! 1 REVOKE(S) NOT CARRIED OUT").expect("loud line");
    assert!(
        loud < stable.find("Findings:").expect("findings section"),
        "{stable}"
    );
    insta::assert_snapshot!("diff_text", stable);
}

#[test]
fn a_bad_directory_exits_2_and_names_it() {
    let runs = two_runs();
    let nowhere = runs.old.with_file_name("nowhere");
    let out = deskaudit(&["diff", utf8(&nowhere), utf8(&runs.new)], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let msg = text(&out);
    assert!(
        msg.contains(&format!("OLD: {}: not an audit directory", nowhere.display())),
        "{msg}"
    );

    // A run whose decisions.json is broken is not silently compared without it.
    std::fs::write(runs.old.join("decisions.json"), "{\"schema_version\": 1,\n").expect("write");
    let out = diff(&runs, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("decisions.json: line 2"), "{}", text(&out));
}

#[test]
fn audit_with_previous_run_writes_diff_json() {
    let runs = two_runs();
    let again = runs.new.with_file_name("2026-Q4-again");
    let policy = fixture("policy-new.toml");
    let run = audit(
        "new.json",
        &again,
        &["--policy", &policy, "--previous-run", utf8(&runs.old)],
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let line = format!(
        "Since {}: 1 new, 2 resolved, 1 accepted, 1 persisting findings; 1 agents added, 2 removed \
         (1 MISSING); revokes: 2 carried out, 1 NOT carried out",
        runs.old.display()
    );
    assert!(stdout.contains(&line), "{stdout}");

    // The in-memory side gives the same diff as reading the written run back.
    let written: Value =
        serde_json::from_slice(&std::fs::read(again.join("diff.json")).expect("diff.json")).expect("JSON");
    let mut from_dirs = json_of(&deskaudit(
        &["diff", utf8(&runs.old), utf8(&again), "--json"],
        None,
    ));
    assert_eq!(written, from_dirs);
    // The report carries the same diff, the unmet revoke first.
    let html = std::fs::read_to_string(again.join("report.html")).expect("report.html");
    let since = html.find("Since the previous review").expect("a diff section");
    let unmet = html
        .find("Revokes not carried out (1)")
        .expect("the unmet revoke");
    assert!(
        since < unmet && html[unmet..].contains("9000000004"),
        "the unmet revoke names Dan"
    );
    from_dirs["new"]["dir"] = Value::Null;
    let mut two_dirs = json_of(&diff(&runs, &["--json"]));
    two_dirs["new"]["dir"] = Value::Null;
    assert_eq!(from_dirs, two_dirs);
}

#[test]
fn audit_with_a_bad_previous_run_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let run = audit("new.json", &out, &["--previous-run", utf8(tmp.path())]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(text(&run).contains("--previous-run: "), "{}", text(&run));
    assert!(!out.join("findings.json").exists());
}
