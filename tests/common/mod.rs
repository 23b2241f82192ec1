//! Shared by the integration tests: a simulator on loopback and the real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use deskaudit::sim::{self, Fixture, Profile, RunningSim, SimConfig};

pub mod accounts;

pub const ADMIN_KEY: &str = "test-admin-key-4f9c";

/// The demo's audit inputs: the acme exports, assignments, policy and as-of.
pub const ACME_INPUTS: [&str; 12] = [
    "--idp",
    "okta:fixtures/acme/idp/okta-password-health.csv",
    "--idp",
    "entra:fixtures/acme/idp/entra-users.csv",
    "--idp",
    "hris:fixtures/acme/idp/hris-workers.csv",
    "--assignments",
    "fixtures/acme/idp/okta-current-assignments.csv",
    "--policy",
    "fixtures/acme/policy.toml",
    "--as-of",
    "2026-10-01T00:00:00Z",
];

/// The demo's watch events (`audit --watch`): with them the audit's leavers,
/// and so its findings and workbook, are the demo's.
pub const ACME_WATCH: [&str; 2] = ["--watch", "fixtures/acme/watch"];

/// A hand-built snapshot document as the collector would have written it:
/// with `meta.data_sha256` recorded, so the audit's integrity check passes.
pub fn sealed_snapshot(doc: serde_json::Value) -> Vec<u8> {
    let mut snapshot: deskaudit::model::Snapshot = serde_json::from_value(doc).expect("a snapshot document");
    snapshot.seal();
    serde_json::to_vec(&snapshot).expect("json")
}

/// `deskaudit audit` of `snapshot` against `idp` specs (and a policy) into
/// `out`, from the repository root; asserts it succeeded.
pub fn audit_into(snapshot: &Path, idp: &[&str], policy: Option<&Path>, out: &Path) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deskaudit"));
    cmd.arg("audit")
        .arg("--snapshot")
        .arg(snapshot)
        .arg("--out")
        .arg(out);
    for spec in idp {
        cmd.args(["--idp", spec]);
    }
    if let Some(policy) = policy {
        cmd.arg("--policy").arg(policy);
    }
    let run = cmd
        .current_dir(repo())
        .env_remove("FRESHDESK_API_KEY")
        .output()
        .expect("binary runs");
    assert!(run.status.success(), "{}", text(&run));
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn acme() -> Fixture {
    Fixture::load(&repo().join("fixtures/acme")).expect("fixtures/acme loads")
}

/// A simulator serving `fixture` until the returned runtime is dropped.
pub fn start_sim(fixture: Fixture, config: SimConfig) -> (tokio::runtime::Runtime, RunningSim) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt
        .block_on(sim::start(fixture, config, ([127, 0, 0, 1], 0).into()))
        .expect("simulator starts");
    (rt, server)
}

pub fn config(profile: Profile) -> SimConfig {
    SimConfig {
        profile,
        api_key: ADMIN_KEY.to_owned(),
        ..SimConfig::default()
    }
}

/// Runs the real binary with the API key in the environment.
pub fn deskaudit(args: &[&str], key: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deskaudit"));
    cmd.args(args).current_dir(repo()).env_remove("FRESHDESK_API_KEY");
    if let Some(key) = key {
        cmd.env("FRESHDESK_API_KEY", key);
    }
    cmd.output().expect("binary runs")
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn collect(base_url: &str, out: &Path, key: Option<&str>) -> Output {
    collect_with(base_url, out, key, &[])
}

/// `deskaudit collect` against `base_url` with `extra` flags.
pub fn collect_with(base_url: &str, out: &Path, key: Option<&str>, extra: &[&str]) -> Output {
    let mut args = vec![
        "collect",
        "--domain",
        "acme",
        "--base-url",
        base_url,
        "--out",
        out.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    deskaudit(&args, key)
}

/// Waits until `journal` records `answered` writes answered, then kills
/// `child` (an `apply` that must not finish) and checks it did not.
pub fn kill_after_writes(mut child: std::process::Child, journal: &Path, answered: usize) {
    let waited = std::time::Instant::now();
    while std::fs::read_to_string(journal)
        .unwrap_or_default()
        .matches("\"write-answered\"")
        .count()
        < answered
    {
        assert!(waited.elapsed().as_secs() < 60, "no write journalled");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().expect("killed");
    let _ = child.wait();
    let outcome = journal.with_file_name("remediation.json");
    assert!(!outcome.exists(), "killed before the end");
}

/// `doc[list]`'s items, each as its `fields` (JSON, space-separated):
/// `"acme-eu" 68013470004 "done"`.
pub fn each(doc: &serde_json::Value, list: &str, fields: &[&str]) -> Vec<String> {
    let items = doc[list].as_array().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .map(|item| {
            fields
                .iter()
                .map(|f| item[*f].to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}
