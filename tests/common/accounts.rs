//! Two accounts on two simulators (#17): acme in the documented profile
//! with ADMIN_KEY, acme-eu in the older guide's with its own key, and the
//! accounts file that names both.

use std::path::Path;
use std::process::{Command, Output};

use deskaudit::sim::Profile;

use super::*;

pub const EU_KEY: &str = "eu-admin-key-77d1";

/// `COMMAND --accounts FILE --out OUT ...extra` from the repository root,
/// with each account's key in its own environment variable, and no
/// FRESHDESK_API_KEY at all.
pub fn with_accounts(command: &str, file: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deskaudit"))
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
        .current_dir(repo())
        .env_remove("FRESHDESK_API_KEY")
        .env("DA_TEST_ACME_KEY", ADMIN_KEY)
        .env("DA_TEST_EU_KEY", EU_KEY)
        .output()
        .expect("binary runs")
}

pub fn collect_accounts(file: &Path, out: &Path) -> Output {
    with_accounts("collect", file, out, &[])
}

/// `run --accounts` with the demo's acme inputs.
pub fn run_accounts(file: &Path, out: &Path) -> Output {
    with_accounts("run", file, out, &ACME_INPUTS)
}

pub fn acme_eu() -> deskaudit::sim::Fixture {
    deskaudit::sim::Fixture::load(&repo().join("fixtures/acme-eu")).expect("fixtures/acme-eu loads")
}

pub fn utf8(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

pub fn accounts_file(dir: &Path, acme_url: &str, eu_url: &str) -> std::path::PathBuf {
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

/// The two simulators: `acme_fixture` in the documented profile, acme-eu in
/// the older guide's answering to `eu_key`.
pub fn start_both(
    acme_fixture: deskaudit::sim::Fixture,
    eu_key: &str,
) -> [(tokio::runtime::Runtime, deskaudit::sim::RunningSim); 2] {
    let acme = start_sim(acme_fixture, config(Profile::Documented));
    let mut eu = config(Profile::Seed);
    eu.api_key = eu_key.to_owned();
    [acme, start_sim(acme_eu(), eu)]
}
