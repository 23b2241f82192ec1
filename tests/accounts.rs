//! Several Freshdesk accounts in one review (#17): `collect --accounts`
//! against two simulators on two ports, one in each API profile.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use deskaudit::model::{Directory, Snapshot};
use deskaudit::sim::Profile;

const EU_KEY: &str = "eu-admin-key-77d1";

/// `collect --accounts FILE --out OUT` with each account's key in its own
/// environment variable, and no FRESHDESK_API_KEY at all.
fn collect_accounts(file: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deskaudit"))
        .args([
            "collect",
            "--accounts",
            utf8(file),
            "--out",
            utf8(out),
            "--rate-window",
            "2",
        ])
        .env_remove("FRESHDESK_API_KEY")
        .env("DA_TEST_ACME_KEY", ADMIN_KEY)
        .env("DA_TEST_EU_KEY", EU_KEY)
        .output()
        .expect("binary runs")
}

fn acme_eu() -> deskaudit::sim::Fixture {
    deskaudit::sim::Fixture::load(&repo().join("fixtures/acme-eu")).expect("fixtures/acme-eu loads")
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn accounts_file(dir: &Path, acme_url: &str, eu_url: &str) -> std::path::PathBuf {
    let file = dir.join("accounts.toml");
    std::fs::write(
        &file,
        format!(
            "[[account]]\ndomain = \"acme\"\nbase_url = \"{acme_url}\"\napi_key_env = \"DA_TEST_ACME_KEY\"\n\n\
             [[account]]\ndomain = \"acme-eu\"\nbase_url = \"{eu_url}\"\napi_key_env = \"DA_TEST_EU_KEY\"\n"
        ),
    )
    .expect("accounts file");
    file
}

#[test]
fn two_accounts_in_two_profiles_give_two_complete_snapshots() {
    let (_a, acme_sim) = start_sim(acme(), config(Profile::Documented));
    let mut eu = config(Profile::Seed);
    eu.api_key = EU_KEY.to_owned();
    let (_b, eu_sim) = start_sim(acme_eu(), eu);
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
    let (_a, acme_sim) = start_sim(acme(), config(Profile::Documented));
    let mut eu = config(Profile::Seed);
    eu.api_key = "another-key".to_owned(); // the file's key for acme-eu is now wrong
    let (_b, eu_sim) = start_sim(acme_eu(), eu);
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
