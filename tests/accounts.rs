//! Several Freshdesk accounts in one review (#17): `collect --accounts`
//! against two simulators on two ports, one in each API profile.

mod common;

use std::path::Path;

use common::accounts::*;
use common::*;
use deskaudit::model::{Directory, Snapshot};
use deskaudit::sim::Profile;

#[test]
fn two_accounts_in_two_profiles_give_two_complete_snapshots() {
    let [(_a, acme_sim), (_b, eu_sim)] = start_both(acme(), EU_KEY);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = accounts_file(dir.path(), &acme_sim.base_url(), &eu_sim.base_url());
    let out = dir.path().join("snapshots");

    let run = collect_accounts(&file, &out);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let said = text(&run);
    assert!(
        !said.contains(ADMIN_KEY) && !said.contains(EU_KEY),
        "a key leaked: {said}"
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .expect("out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["acme-eu.json", "acme.json"]);
    for (domain, sim, agents) in [("acme", &acme_sim, 42), ("acme-eu", &eu_sim, 6)] {
        let snapshot = Snapshot::read(&out.join(format!("{domain}.json"))).expect("sealed snapshot");
        assert_eq!(snapshot.meta.domain, domain);
        let dir = Directory::from_snapshot(&snapshot).expect("agents");
        assert_eq!(
            dir.agents.len(),
            agents,
            "{domain}: every agent, deactivated and pending too"
        );
        // Each account was asked with its own key (the other's gets 401)
        // and inside its own limit.
        assert!(sim.total_requests() > 0, "{domain} was asked");
        assert_eq!(sim.rate_limited_count(), 0, "{domain} stayed inside its limit");
        assert!(
            said.contains(&format!("{domain}: collected {agents} agents")),
            "{said}"
        );
    }
}

#[test]
fn one_account_failing_writes_nothing_and_exits_3() {
    // The file's key for acme-eu is now wrong.
    let [(_a, acme_sim), (_b, eu_sim)] = start_both(acme(), "another-key");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = accounts_file(dir.path(), &acme_sim.base_url(), &eu_sim.base_url());
    let out = dir.path().join("snapshots");

    let run = collect_accounts(&file, &out);
    assert_eq!(run.status.code(), Some(3), "{}", text(&run));
    let said = text(&run);
    assert!(
        said.contains("1 of 2 accounts could not be collected completely"),
        "{said}"
    );
    assert!(said.contains("acme-eu: "), "the failing account is named: {said}");
    assert!(
        !said.contains(ADMIN_KEY) && !said.contains(EU_KEY),
        "a key leaked: {said}"
    );
    assert!(!out.exists(), "not even the complete account's snapshot is left");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .filter(|n| n.to_string_lossy().contains("snapshots"))
        .collect();
    assert!(
        leftovers.iter().all(|n| n.to_string_lossy().ends_with(".lock")),
        "no partial directory is left: {leftovers:?}"
    );
}

#[test]
fn a_bad_accounts_file_is_exit_2_before_any_request() {
    let (_a, acme_sim) = start_sim(acme(), config(Profile::Documented));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("accounts.toml");
    std::fs::write(
        &file,
        format!(
            "[[account]]\ndomain = \"acme\"\nbase_url = \"{}\"\napi_key_env = \"DA_TEST_ACME_KEY\"\n\n\
             [[account]]\ndomain = \"acme\"\napi_key_env = \"DA_TEST_UNSET_KEY\"\n",
            acme_sim.base_url()
        ),
    )
    .expect("accounts file");
    let run = collect_accounts(&file, &dir.path().join("out"));
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    let said = text(&run);
    assert!(
        said.contains("accounts.toml:7:10: account `acme` is already given on line 2"),
        "{said}"
    );
    assert!(
        said.contains("accounts.toml:8:15: environment variable DA_TEST_UNSET_KEY is not set"),
        "{said}"
    );
    assert_eq!(
        acme_sim.total_requests(),
        0,
        "no request before the file is valid"
    );
    // --accounts and --domain are two ways to say where: not both.
    let both = deskaudit(
        &[
            "collect",
            "--accounts",
            utf8(&file),
            "--domain",
            "acme",
            "--out",
            "x",
        ],
        Some(ADMIN_KEY),
    );
    assert_eq!(both.status.code(), Some(2), "{}", text(&both));
    assert!(text(&both).contains("cannot be used with"), "{}", text(&both));
}

/// Collects acme (documented profile) and acme-eu (older guide's) through
/// `collect --accounts`, then audits both snapshots in one run against the
/// acme IdP exports; `acme` may be edited first. The run directory.
fn audit_both(edit_acme: impl FnOnce(&mut deskaudit::sim::Fixture), dir: &Path) -> std::path::PathBuf {
    let mut fixture = acme();
    edit_acme(&mut fixture);
    let [(_a, acme_sim), (_b, eu_sim)] = start_both(fixture, EU_KEY);
    let file = accounts_file(dir, &acme_sim.base_url(), &eu_sim.base_url());
    let snapshots = dir.join("snapshots");
    let run = collect_accounts(&file, &snapshots);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let out = dir.join("run");
    let audit = audit_both_snapshots(&snapshots, &out, &ACME_INPUTS);
    assert_eq!(audit.status.code(), Some(0), "{}", text(&audit));
    out
}

fn findings_json(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("findings.json")).expect("findings.json")).expect("json")
}

/// (account, agent id) of every finding of `rule` on `email`.
fn findings_of(doc: &serde_json::Value, rule: &str, email: &str) -> Vec<(String, u64, String)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == rule && f["agent_email"] == email)
        .map(|f| {
            (
                f["account"].as_str().expect("account").to_owned(),
                f["agent_id"].as_u64().expect("agent id"),
                f["finding_id"].as_str().expect("id").to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_leaver_deactivated_in_one_account_is_flagged_once_in_the_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    const KEVIN: &str = "kevin.brandt@acme.test";
    // acme revoked Kevin; acme-eu did not.
    let out = audit_both(
        |acme| {
            let kevin = acme
                .agents
                .iter_mut()
                .find(|a| a.pointer("/contact/email").and_then(|e| e.as_str()) == Some(KEVIN))
                .expect("Kevin is in acme");
            kevin["deactivated"] = serde_json::Value::Bool(true);
        },
        dir.path(),
    );
    let doc = findings_json(&out);
    let flagged = findings_of(&doc, "terminated-active", KEVIN);
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert_eq!((flagged[0].0.as_str(), flagged[0].1), ("acme-eu", 68013470004));
    // The CSV row says the same account, in its last column.
    let csv = std::fs::read_to_string(out.join("findings.csv")).expect("findings.csv");
    let row = csv
        .lines()
        .find(|l| l.starts_with(&flagged[0].2))
        .expect("the finding's row");
    assert!(row.ends_with(",acme-eu"), "{row}");
}

#[test]
fn two_accounts_in_one_audit_keep_their_agents_apart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = audit_both(|_| {}, dir.path());
    let doc = findings_json(&out);
    // Kevin is active in both: one finding in each account, two ids.
    let mut kevin = findings_of(&doc, "terminated-active", "kevin.brandt@acme.test");
    kevin.sort();
    let accounts: Vec<&str> = kevin.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(accounts, ["acme", "acme-eu"], "{kevin:?}");
    assert_ne!(kevin[0].2, kevin[1].2, "one finding_id per account");
    // One person in two accounts (one IdP identity, one email) is not a
    // duplicate identity: that rule looks inside each account only.
    let duplicates = findings_of(&doc, "duplicate-identity", "kevin.brandt@acme.test");
    assert!(duplicates.is_empty(), "{duplicates:?}");
    let across: Vec<&serde_json::Value> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "duplicate-identity" && f["account"] == "acme-eu")
        .collect();
    assert!(across.is_empty(), "{across:?}");
    // Every agent of both accounts, Olivia Hart (acme) and Jonas Berg
    // (acme-eu) with the one id 67013470001 among them.
    let p = &doc["summary"]["population"];
    let total: u64 = ["active", "pending", "deactivated"]
        .iter()
        .map(|s| p[s].as_u64().expect("count"))
        .sum();
    assert_eq!(total, 42 + 6);
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).expect("run.json")).expect("json");
    let listed: Vec<(&str, u64)> = run["accounts"]
        .as_array()
        .expect("every account in run.json")
        .iter()
        .map(|a| {
            (
                a["domain"].as_str().expect("domain"),
                a["agents"].as_u64().expect("agents"),
            )
        })
        .collect();
    assert_eq!(listed, [("acme", 42), ("acme-eu", 6)]);
    for account in run["accounts"].as_array().expect("accounts") {
        assert_eq!(account["snapshot"]["sha256"].as_str().map(str::len), Some(64));
    }
    // The graph keeps the two agents with one id apart.
    let snapshots = dir.path().join("snapshots");
    let (a, b) = (snapshots.join("acme.json"), snapshots.join("acme-eu.json"));
    let graph = deskaudit(
        &[
            "graph",
            "--snapshot",
            utf8(&a),
            "--snapshot",
            utf8(&b),
            "--idp",
            "okta:fixtures/acme/idp/okta-password-health.csv",
        ],
        None,
    );
    assert_eq!(graph.status.code(), Some(0), "{}", text(&graph));
    let nodes = String::from_utf8_lossy(&graph.stdout);
    for node in ["\"agent:acme:67013470001\"", "\"agent:acme-eu:67013470001\""] {
        assert!(nodes.contains(node), "{node} missing");
    }
}

#[test]
fn one_account_given_twice_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = repo().join("reports/demo/snapshot.json");
    let out = dir.path().join("run");
    let run = deskaudit(
        &[
            "audit",
            "--snapshot",
            utf8(&snapshot),
            "--snapshot",
            utf8(&snapshot),
            "--out",
            utf8(&out),
            "--idp",
            "okta:fixtures/acme/idp/okta-password-health.csv",
        ],
        None,
    );
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(
        text(&run).contains("account acme is already audited from"),
        "{}",
        text(&run)
    );
    assert!(!out.exists(), "nothing written");
}

#[test]
fn run_accounts_collects_and_audits_every_account_or_writes_nothing() {
    for (eu_key, code) in [(EU_KEY, 0), ("another-key", 3)] {
        let [(_a, acme_sim), (_b, eu_sim)] = start_both(acme(), eu_key);
        let dir = tempfile::tempdir().expect("tempdir");
        let file = accounts_file(dir.path(), &acme_sim.base_url(), &eu_sim.base_url());
        let out = dir.path().join("run");
        let run = run_accounts(&file, &out);
        assert_eq!(run.status.code(), Some(code), "{}", text(&run));
        let said = text(&run);
        assert!(
            !said.contains(ADMIN_KEY) && !said.contains(EU_KEY),
            "a key leaked: {said}"
        );
        if code == 3 {
            assert!(said.contains("acme-eu: "), "the failing account is named: {said}");
            assert!(!out.exists(), "nothing written when one account fails");
            continue;
        }
        let mut names: Vec<String> = std::fs::read_dir(out.join("snapshots"))
            .expect("snapshots")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["acme-eu.json", "acme.json"]);
        let locks: Vec<_> = std::fs::read_dir(&out)
            .expect("run")
            .map(|e| e.expect("entry").file_name())
            .filter(|n| n.to_string_lossy().ends_with(".lock"))
            .collect();
        assert!(locks.is_empty(), "no lock left in the run: {locks:?}");
        let doc = findings_json(&out);
        let kevin = findings_of(&doc, "terminated-active", "kevin.brandt@acme.test");
        assert_eq!(kevin.len(), 2, "{kevin:?}");
        let run_json = std::fs::read_to_string(out.join("run.json")).expect("run.json");
        let recorded = out.join("snapshots").join("acme-eu.json");
        assert!(
            run_json.contains(&*recorded.display().to_string()),
            "final paths: {run_json}"
        );
    }
}
