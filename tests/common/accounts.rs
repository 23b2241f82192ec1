//! Two Freshdesk accounts on two simulators (#17): acme in the documented
//! profile, acme-eu in the older guide's, each with its own key.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use deskaudit::sim::{Fixture, Profile, RunningSim};

use super::{ACME_INPUTS, ADMIN_KEY, config, repo, start_sim};

pub const EU_KEY: &str = "eu-admin-key-77d1";

/// `COMMAND --accounts FILE --out OUT ...extra` from the repository root,
/// with each account's key in its own environment variable, and no
/// FRESHDESK_API_KEY at all.
pub fn with_accounts(command: &str, file: &Path, out: &Path, extra: &[&str]) -> Output {
    with_keys()
        .args([
            command,
            "--accounts",
            utf8(file),
            "--out",
            utf8(out),
            "--rate-window",
            "2",
        ])
        .args(extra)
        .output()
        .expect("binary runs")
}

/// The binary, run from the repository root with each account's key in its
/// own environment variable (as `accounts_file` names them), and no
/// FRESHDESK_API_KEY at all.
pub fn with_keys() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_deskaudit"));
    command
        .current_dir(repo())
        .env_remove("FRESHDESK_API_KEY")
        .env("DA_TEST_ACME_KEY", ADMIN_KEY)
        .env("DA_TEST_EU_KEY", EU_KEY);
    command
}

pub fn collect_accounts(file: &Path, out: &Path) -> Output {
    with_accounts("collect", file, out, &[])
}

/// `run --accounts` with the demo's acme inputs.
pub fn run_accounts(file: &Path, out: &Path) -> Output {
    with_accounts("run", file, out, &ACME_INPUTS)
}

pub fn acme_eu() -> Fixture {
    Fixture::load(&repo().join("fixtures/acme-eu")).expect("fixtures/acme-eu loads")
}

pub fn utf8(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// `accounts.toml` in `dir` naming both simulators.
pub fn accounts_file(dir: &Path, acme_url: &str, eu_url: &str) -> PathBuf {
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

pub type Sim = (tokio::runtime::Runtime, RunningSim);

/// The two simulators: `acme_fixture` in the documented profile, acme-eu in
/// the older guide's answering to `eu_key`.
pub fn start_both(acme_fixture: Fixture, eu_key: &str) -> [Sim; 2] {
    start_pair(acme_fixture, acme_eu(), eu_key)
}

/// As [`start_both`], with acme-eu serving `eu_fixture`.
pub fn start_pair(acme_fixture: Fixture, eu_fixture: Fixture, eu_key: &str) -> [Sim; 2] {
    let acme = start_sim(acme_fixture, config(Profile::Documented));
    let mut eu = config(Profile::Seed);
    eu.api_key = eu_key.to_owned();
    [acme, start_sim(eu_fixture, eu)]
}

/// `deskaudit audit` of both accounts' snapshots in `snapshots` (as
/// `collect --accounts` wrote them) into `out`, with `extra` arguments.
pub fn audit_both_snapshots(snapshots: &Path, out: &Path, extra: &[&str]) -> Output {
    let (a, b) = (snapshots.join("acme.json"), snapshots.join("acme-eu.json"));
    audit_snapshots(&a, &b, out, extra)
}

/// `deskaudit audit --snapshot A --snapshot B --out OUT ...extra`.
pub fn audit_snapshots(a: &Path, b: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "audit",
        "--snapshot",
        utf8(a),
        "--snapshot",
        utf8(b),
        "--out",
        utf8(out),
    ];
    args.extend_from_slice(extra);
    super::deskaudit(&args, None)
}

/// The fixture's agent `id`, to edit.
pub fn agent_mut(fixture: &mut Fixture, id: u64) -> &mut serde_json::Value {
    fixture
        .agents
        .iter_mut()
        .find(|a| a["id"].as_u64() == Some(id))
        .expect("the fixture has the agent")
}
