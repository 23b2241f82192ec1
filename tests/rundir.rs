//! Evidence that cannot lie (issue 12): a run directory is one audit, whole
//! or absent; a snapshot edited after collection is refused or marked.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const SNAPSHOT: &str = "reports/demo/snapshot.json";
const OKTA: &str = "fixtures/acme/idp/okta-password-health.csv";

fn utf8(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn demo_snapshot() -> Value {
    let text = std::fs::read_to_string(repo().join(SNAPSHOT)).expect("demo snapshot");
    serde_json::from_str(&text).expect("json")
}

fn audit(snapshot: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "audit",
        "--snapshot",
        utf8(snapshot),
        "--idp",
        OKTA,
        "--as-of",
        "2026-10-01T00:00:00Z",
        "--out",
        utf8(out),
    ];
    args.extend_from_slice(extra);
    deskaudit(&args, None)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

/// The demo snapshot with its first active agent removed by hand, hash untouched.
fn snapshot_with_an_agent_removed(dir: &Path) -> PathBuf {
    let mut doc = demo_snapshot();
    doc["agents"].as_array_mut().expect("agents").remove(0);
    let path = dir.join("edited.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).expect("json")).expect("write");
    path
}

#[test]
fn a_snapshot_with_an_agent_removed_by_hand_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let edited = snapshot_with_an_agent_removed(tmp.path());
    let out = tmp.path().join("run");
    let run = audit(&edited, &out, &[]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    let message = text(&run);
    assert!(message.contains("edited.json"), "{message}");
    assert!(
        message.contains("does not match the snapshot's recorded hash"),
        "{message}"
    );
    assert!(!out.exists(), "nothing written");
}

#[test]
fn an_edited_snapshot_accepted_knowingly_is_marked_in_every_output() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let edited = snapshot_with_an_agent_removed(tmp.path());
    let out = tmp.path().join("run");
    let run = audit(&edited, &out, &["--accept-edited-snapshot"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    for file in ["run.json", "findings.json"] {
        let doc = read_json(&out.join(file));
        let integrity = if file == "run.json" {
            &doc["snapshot_integrity"]
        } else {
            &doc["run"]["snapshot_integrity"]
        };
        assert_eq!(integrity["state"], "edited", "{file}: {integrity}");
        assert_eq!(
            integrity["recorded"],
            demo_snapshot()["meta"]["data_sha256"],
            "{file}"
        );
    }
    let html = std::fs::read_to_string(out.join("report.html")).expect("report");
    assert!(html.contains("edited after collection"), "the report says so");
    assert!(
        html.contains("class=\"card verdict verdict-incomplete\""),
        "and calls the population incomplete"
    );
    assert!(!html.contains("Population complete"), "never complete");

    // Review, diff and evidence read the run's snapshot again: accepted there
    // because the audit accepted it, and the bundle's manifest says so.
    let bundle = tmp.path().join("evidence.zip");
    let packed = deskaudit(&["evidence", "--run", utf8(&out), "--out", utf8(&bundle)], None);
    assert_eq!(packed.status.code(), Some(0), "{}", text(&packed));
    let zip = std::fs::File::open(&bundle).expect("bundle");
    let mut zip = zip::ZipArchive::new(zip).expect("zip");
    let manifest: Value =
        serde_json::from_reader(zip.by_name("manifest.json").expect("manifest")).expect("manifest json");
    assert_eq!(manifest["snapshot"]["integrity"]["state"], "edited");
}

#[test]
fn duplicate_agent_ids_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut doc = demo_snapshot();
    let agents = doc["agents"].as_array_mut().expect("agents");
    let copy = agents[3].clone();
    let id = copy["id"].as_u64().expect("id");
    agents.push(copy);
    // Sealed, so only the duplicate is wrong.
    let path = tmp.path().join("twice.json");
    std::fs::write(&path, sealed_snapshot(doc)).expect("write");
    let out = tmp.path().join("run");
    let run = audit(&path, &out, &["--accept-edited-snapshot"]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    let message = text(&run);
    assert!(message.contains("twice.json"), "{message}");
    assert!(
        message.contains(&format!("agent {id} appears more than once")),
        "{message}"
    );
    assert!(!out.exists(), "nothing written");
}
