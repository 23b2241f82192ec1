//! Between reviews of several Freshdesk accounts (#17): the diff and
//! `--previous-run` of runs of both accounts, `collect --accounts
//! --previous`, `watch --accounts` and `explain` across accounts, each
//! against two simulators on loopback.

mod common;

use std::path::{Path, PathBuf};

use common::accounts::*;
use common::*;
use deskaudit::sim::Fixture;
use serde_json::Value;

/// Jonas Berg's id in acme-eu, which is Olivia Hart's id in acme.
const COLLIDING: u64 = 67013470001;
/// acme-eu's "Account Administrator" role.
const EU_ADMIN_ROLE: u64 = 68000110001;

/// The acme inputs without their as-of (each review gives its own).
const INPUTS: &[&str] = ACME_INPUTS.split_at(10).0;

/// One review of both accounts: `collect --accounts` into `dir/snapshots`
/// (with `collect_extra`), then `audit` of both into `dir/run` as of `as_of`
/// (with `audit_extra`). The run directory.
fn review(
    acme: Fixture,
    eu: Fixture,
    dir: &Path,
    as_of: &str,
    collect_extra: &[&str],
    audit_extra: &[&str],
) -> PathBuf {
    let [(_a, acme_sim), (_b, eu_sim)] = start_pair(acme, eu, EU_KEY);
    std::fs::create_dir_all(dir).expect("dir");
    let file = accounts_file(dir, &acme_sim.base_url(), &eu_sim.base_url());
    let snapshots = dir.join("snapshots");
    let collected = with_accounts("collect", &file, &snapshots, collect_extra);
    assert_eq!(collected.status.code(), Some(0), "{}", text(&collected));
    let run = dir.join("run");
    let mut args = vec!["--as-of", as_of];
    args.extend_from_slice(INPUTS);
    args.extend_from_slice(audit_extra);
    let audit = audit_both_snapshots(&snapshots, &run, &args);
    assert_eq!(audit.status.code(), Some(0), "{}", text(&audit));
    run
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("json")
}

/// The fixtures as they are, reviewed into `dir/q3` as of 2026-07-01.
fn first_review(dir: &Path) -> PathBuf {
    review(
        acme(),
        acme_eu(),
        &dir.join("q3"),
        "2026-07-01T00:00:00Z",
        &[],
        &[],
    )
}

/// Jonas Berg (acme-eu) made an administrator between the reviews.
fn eu_with_jonas_promoted() -> Fixture {
    let mut eu = acme_eu();
    agent_mut(&mut eu, COLLIDING)["role_ids"] = serde_json::json!([EU_ADMIN_ROLE]);
    eu
}

#[test]
fn the_diff_of_two_reviews_of_both_accounts_names_the_account_that_changed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let q3 = first_review(dir.path());
    let q4_dir = dir.path().join("q4");
    let q4 = review(
        acme(),
        eu_with_jonas_promoted(),
        &q4_dir,
        "2026-10-01T00:00:00Z",
        &[],
        &["--previous-run", utf8(&q3)],
    );

    let shown = deskaudit(&["diff", utf8(&q3), utf8(&q4)], None);
    assert_eq!(shown.status.code(), Some(0), "{}", text(&shown));
    let said = text(&shown);
    assert!(said.contains("accounts compared: acme, acme-eu"), "{said}");
    assert!(
        said.contains(&format!("~ acme-eu/{COLLIDING} jonas.berg@eu.acme.test: roles -")),
        "the change is named with its account: {said}"
    );
    assert!(
        !said.contains(&format!("~ acme/{COLLIDING}")),
        "acme's agent of the same id did not change: {said}"
    );

    let json = deskaudit(&["diff", "--json", utf8(&q3), utf8(&q4)], None);
    assert_eq!(json.status.code(), Some(0), "{}", text(&json));
    let doc = json_of(&json.stdout);
    let changed = doc["agents"]["access_changed"].as_array().expect("list");
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["account"], "acme-eu");
    assert_eq!(changed[0]["agent_id"], COLLIDING);
    assert_eq!(doc["summary"]["agents_added"], 0);
    assert_eq!(doc["new"]["accounts"].as_array().map(Vec::len), Some(2));
    // The finding the promotion opened is new, in acme-eu only.
    let new_on_colliding: Vec<&Value> = doc["findings"]["new"]
        .as_array()
        .expect("new")
        .iter()
        .filter(|f| f["agent_id"] == COLLIDING)
        .collect();
    assert!(!new_on_colliding.is_empty(), "{doc}");
    assert!(
        new_on_colliding.iter().all(|f| f["account"] == "acme-eu"),
        "{new_on_colliding:?}"
    );

    // --previous-run wrote the same comparison into the run (diff.json).
    let recorded = json_of(&std::fs::read(q4.join("diff.json")).expect("diff.json"));
    assert_eq!(recorded["agents"], doc["agents"]);
    assert_eq!(recorded["findings"]["new"], doc["findings"]["new"]);
    insta::assert_json_snapshot!("accounts_between_diff", redacted(recorded));
    // The report's "Since the previous review" names the account too.
    let html = std::fs::read_to_string(q4.join("report.html")).expect("report.html");
    assert!(
        html.contains(&format!("acme-eu #{COLLIDING}")),
        "no account in the report's diff"
    );
    assert!(html.contains("Accounts compared: acme, acme-eu"));
}

#[test]
fn previous_run_of_one_account_against_a_review_of_two_says_which_account_is_new() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_a, acme_sim) = start_sim(acme(), config(deskaudit::sim::Profile::Documented));
    let snapshot = dir.path().join("acme-q3.json");
    let collected = collect(&acme_sim.base_url(), &snapshot, Some(ADMIN_KEY));
    assert_eq!(collected.status.code(), Some(0), "{}", text(&collected));
    let q3 = dir.path().join("q3");
    let mut args = vec![
        "audit",
        "--snapshot",
        utf8(&snapshot),
        "--out",
        utf8(&q3),
        "--as-of",
        "2026-07-01T00:00:00Z",
    ];
    args.extend_from_slice(INPUTS);
    let audit = deskaudit(&args, None);
    assert_eq!(audit.status.code(), Some(0), "{}", text(&audit));

    let q4 = review(
        acme(),
        acme_eu(),
        &dir.path().join("q4"),
        "2026-10-01T00:00:00Z",
        &[],
        &["--previous-run", utf8(&q3)],
    );
    let diff = json_of(&std::fs::read(q4.join("diff.json")).expect("diff.json"));
    assert_eq!(diff["accounts"]["compared"], serde_json::json!(["acme"]));
    assert_eq!(diff["accounts"]["added"][0]["domain"], "acme-eu");
    // acme-eu's agents are not "added" one by one, and acme's are matched.
    assert_eq!(diff["summary"]["agents_added"], 0, "{diff}");
    assert_eq!(diff["summary"]["agents_removed_missing"], 0, "{diff}");
    let warnings = diff["warnings"].to_string();
    assert!(
        warnings.contains("account acme-eu is audited by NEW only"),
        "{warnings}"
    );
    // acme's findings keep matching although their ids now hash the account.
    let persisting = diff["summary"]["findings_persisting"]
        .as_u64()
        .unwrap_or_default();
    assert!(persisting > 20, "{diff}");
    for f in diff["findings"]["new"].as_array().expect("new") {
        let note = f["note"].as_str().unwrap_or_default();
        assert_eq!(
            f["account"] == "acme-eu",
            note == "OLD did not audit account acme-eu",
            "{f}"
        );
    }
}

/// diff.json's runs, accounts, summary and agent changes (the findings are
/// the acme fixture's, tested elsewhere), volatile values (paths, times,
/// hashes) replaced.
fn redacted(whole: Value) -> Value {
    let mut doc = serde_json::json!({});
    for key in ["old", "new", "warnings", "summary", "accounts", "agents"] {
        doc[key] = whole[key].clone();
    }
    for account in ["added", "removed"] {
        for a in doc["accounts"][account].as_array_mut().into_iter().flatten() {
            a["collected_at"] = "[time]".into();
            a["snapshot_sha256"] = "[sha256]".into();
        }
    }
    for side in ["old", "new"] {
        let run = &mut doc[side];
        run["dir"] = "[dir]".into();
        run["collected_at"] = "[time]".into();
        run["snapshot_sha256"] = "[sha256]".into();
        for account in run["accounts"].as_array_mut().into_iter().flatten() {
            account["collected_at"] = "[time]".into();
            account["snapshot_sha256"] = "[sha256]".into();
        }
    }
    doc
}

#[test]
fn collect_accounts_previous_finds_an_agent_deleted_in_one_account_as_a_contact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let q3 = first_review(dir.path());
    // Olivia Hart deleted in acme (demoted to a contact); acme-eu's agent of
    // the same id, Jonas Berg, is still there.
    let mut acme_q4 = acme();
    let olivia = acme_q4
        .agents
        .iter()
        .position(|a| a["id"].as_u64() == Some(COLLIDING))
        .expect("Olivia");
    let olivia = acme_q4.agents.remove(olivia);
    acme_q4.contacts.push(serde_json::json!({
        "id": COLLIDING, "name": "Olivia Hart", "email": olivia["contact"]["email"],
        "active": true, "deleted": false, "other_emails": []
    }));
    let previous = dir.path().join("q3/snapshots");
    let q4 = review(
        acme_q4,
        acme_eu(),
        &dir.path().join("q4"),
        "2026-10-01T00:00:00Z",
        &["--previous", utf8(&previous)],
        &["--previous-run", utf8(&q3)],
    );
    let snapshot = |domain: &str| -> Value {
        json_of(&std::fs::read(dir.path().join(format!("q4/snapshots/{domain}.json"))).expect("snapshot"))
    };
    let has = |doc: &Value, list: &str| {
        doc[list]
            .as_array()
            .expect("list")
            .iter()
            .any(|x| x["id"] == COLLIDING)
    };
    let (acme_doc, eu_doc) = (snapshot("acme"), snapshot("acme-eu"));
    assert!(
        has(&acme_doc, "contacts"),
        "acme looked Olivia up and found her contact"
    );
    assert!(!has(&acme_doc, "agents"));
    assert!(has(&eu_doc, "agents") && !has(&eu_doc, "contacts"));

    let diff = json_of(&std::fs::read(q4.join("diff.json")).expect("diff.json"));
    let removed = diff["agents"]["removed"].as_array().expect("removed");
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0]["account"], "acme");
    assert_eq!(removed[0]["agent_id"], COLLIDING);
    assert_eq!(removed[0]["reason"], "deleted");
    assert_eq!(diff["summary"]["agents_removed_missing"], 0);
}

#[test]
fn collect_accounts_previous_without_an_accounts_snapshot_collects_it_without_and_says_so() {
    let [(_a, acme_sim), (_b, eu_sim)] = start_both(acme(), EU_KEY);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = accounts_file(dir.path(), &acme_sim.base_url(), &eu_sim.base_url());
    let first = dir.path().join("first");
    let run = with_accounts("collect", &file, &first, &[]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    // `previous/acme.json` copied from `first/FROM.json`, then collected again into `out`.
    let again = |from: &str, out: &str, code: i32, said: &str| {
        let previous = dir.path().join(format!("{out}-previous"));
        std::fs::create_dir(&previous).expect("dir");
        std::fs::copy(first.join(format!("{from}.json")), previous.join("acme.json")).expect("copy");
        let run = with_accounts(
            "collect",
            &file,
            &dir.path().join(out),
            &["--previous", utf8(&previous)],
        );
        assert_eq!(run.status.code(), Some(code), "{}", text(&run));
        assert!(text(&run).contains(said), "{}", text(&run));
    };
    // Only acme's previous snapshot: acme-eu is collected without.
    again("acme", "second", 0, "acme-eu: no previous snapshot");
    // acme-eu's snapshot under acme's name: refused before any request.
    again("acme-eu", "third", 2, "the snapshot of account acme-eu, not acme");
    assert!(!dir.path().join("third").exists());
}

#[test]
fn explain_shows_every_accounts_agent_of_one_person_each_with_its_account() {
    let dir = tempfile::tempdir().expect("tempdir");
    first_review(dir.path());
    let snapshots = dir.path().join("q3/snapshots");
    let (a, b) = (snapshots.join("acme.json"), snapshots.join("acme-eu.json"));
    let explain = |extra: &[&str]| {
        let mut args = vec!["explain", "--snapshot", utf8(&a), "--snapshot", utf8(&b)];
        args.extend_from_slice(&INPUTS[..6]);
        args.extend_from_slice(extra);
        args.push("kevin.brandt@acme.test");
        let run = deskaudit(&args, None);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run));
        run
    };
    let said = text(&explain(&[]));
    assert!(
        said.contains("2 agents match `kevin.brandt@acme.test` in 2 accounts (acme, acme-eu)."),
        "{said}"
    );
    assert!(
        said.contains("Agent 67013470205 in account acme: Kevin Brandt"),
        "{said}"
    );
    assert!(
        said.contains("Agent 68013470004 in account acme-eu: Kevin Brandt"),
        "{said}"
    );

    let doc = json_of(&explain(&["--json"]).stdout);
    let accounts: Vec<(&str, u64)> = doc["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .map(|x| {
            (
                x["account"].as_str().unwrap_or_default(),
                x["agent"]["id"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(accounts, [("acme", 67013470205), ("acme-eu", 68013470004)]);
}
