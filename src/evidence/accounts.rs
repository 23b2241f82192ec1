//! A bundle of several accounts' run: every account's snapshot, each under
//! `snapshots/DOMAIN.json` and named in the manifest with its domain and
//! SHA-256, and `verify`'s check that they are the ones the audit read.

use serde::{Deserialize, Serialize};

use super::manifest::SnapshotRecord;
use crate::rundir::RunJson;

/// One account's snapshot in a bundle of several.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// The Freshdesk subdomain, as run.json's `accounts` records it.
    pub domain: String,
    pub snapshot: SnapshotRecord,
}

/// The entry of `domain`'s snapshot (a domain is letters, digits and `-`).
pub fn entry_name(domain: &str) -> String {
    format!("snapshots/{domain}.json")
}

/// Why the manifest's accounts are not run.json's, one reason each:
/// another count, domain or SHA-256, or a snapshot not bundled as listed
/// (`bundled`: why an entry is not the file with that SHA-256, if it is not).
pub(super) fn check(
    accounts: &[AccountRecord],
    run: &RunJson,
    bundled: &dyn Fn(&str, &str, &str) -> Option<String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    if accounts.len() != run.accounts.len() {
        problems.push(format!(
            "manifest.json lists {} accounts' snapshots, run.json records {}",
            accounts.len(),
            run.accounts.len()
        ));
    }
    for (listed, recorded) in accounts.iter().zip(&run.accounts) {
        if (listed.domain.as_str(), listed.snapshot.sha256.as_str())
            != (recorded.domain.as_str(), recorded.snapshot.sha256.as_str())
        {
            problems.push(format!(
                "manifest.json's account {} (snapshot SHA-256 {}) differs from run.json's {} ({})",
                listed.domain, listed.snapshot.sha256, recorded.domain, recorded.snapshot.sha256
            ));
        }
        let what = format!("{} snapshot", recorded.domain);
        problems.extend(bundled(&what, &listed.snapshot.path, &recorded.snapshot.sha256));
    }
    problems
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn listed(domain: &str, sha256: &str) -> AccountRecord {
        serde_json::from_value(json!({"domain": domain, "snapshot": {
            "path": entry_name(domain), "recorded_path": format!("s/{domain}.json"), "sha256": sha256,
            "data_sha256": "", "started_at": "2026-10-01T00:00:00Z", "collected_at": "2026-10-01T00:00:00Z",
            "collection": {"agents": 1, "roles": 0, "groups": 0, "account_total_agents": null,
                           "requests": 1, "retries": 0, "rate_limited": 0, "channels": []}}}))
        .expect("record")
    }

    #[test]
    fn each_account_must_be_run_jsons_and_bundled_as_listed() {
        let run: RunJson = serde_json::from_value(json!({
            "schema_version": 1, "tool_version": "0", "as_of": "2026-10-01T00:00:00Z",
            "inputs": {"snapshot": {"path": "s/acme.json", "sha256": "a1"}},
            "accounts": [
                {"domain": "acme", "snapshot": {"path": "s/acme.json", "sha256": "a1"}},
                {"domain": "acme-eu", "snapshot": {"path": "s/acme-eu.json", "sha256": "e1"}}
            ]
        }))
        .expect("run.json");
        let none = |_: &str, _: &str, _: &str| None;
        assert!(check(&[listed("acme", "a1"), listed("acme-eu", "e1")], &run, &none).is_empty());
        let problems = check(&[listed("acme", "a1"), listed("acme-eu", "forged")], &run, &none);
        assert_eq!(
            problems,
            [
                "manifest.json's account acme-eu (snapshot SHA-256 forged) differs from run.json's acme-eu (e1)"
            ]
        );
        let problems = check(&[listed("acme", "a1")], &run, &none);
        assert_eq!(
            problems,
            ["manifest.json lists 1 accounts' snapshots, run.json records 2"]
        );
        let missing =
            |what: &str, path: &str, _: &str| Some(format!("the {what} {path} is not in the bundle"));
        let problems = check(&[listed("acme", "a1"), listed("acme-eu", "e1")], &run, &missing);
        assert_eq!(
            problems[1],
            "the acme-eu snapshot snapshots/acme-eu.json is not in the bundle"
        );
    }
}
