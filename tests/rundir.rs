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
        "--out",
        utf8(out),
    ];
    if !extra.contains(&"--as-of") {
        args.extend_from_slice(&["--as-of", "2026-10-01T00:00:00Z"]);
    }
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

/// A finished run of the demo snapshot in `dir/run`, with a previous run's
/// diff and decisions recorded in it the way `audit --previous-run` and
/// `review import` record them.
fn finished_run(dir: &Path) -> PathBuf {
    let snapshot = repo().join(SNAPSHOT);
    let first = dir.join("first");
    let run = audit(&snapshot, &first, &[]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let out = dir.join("run");
    let run = audit(&snapshot, &out, &["--previous-run", utf8(&first)]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    assert!(out.join("diff.json").is_file());
    let export = deskaudit(
        &[
            "review",
            "export",
            "--run",
            utf8(&out),
            "--out",
            utf8(&dir.join("wb.csv")),
        ],
        None,
    );
    assert_eq!(export.status.code(), Some(0), "{}", text(&export));
    out
}

#[test]
fn a_re_audit_into_an_existing_run_directory_is_refused_not_mixed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = finished_run(tmp.path());
    std::fs::write(out.join("decisions.json"), "{\"stale\": true}").expect("write");
    let before = std::fs::read(out.join("findings.json")).expect("findings");
    let run = audit(&repo().join(SNAPSHOT), &out, &["--as-of", "2026-11-01T00:00:00Z"]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(text(&run).contains("--replace"), "{}", text(&run));
    assert_eq!(
        std::fs::read(out.join("findings.json")).expect("findings"),
        before,
        "untouched"
    );

    // --replace replaces the run as a whole: the old decisions and diff go with it.
    let run = audit(
        &repo().join(SNAPSHOT),
        &out,
        &["--as-of", "2026-11-01T00:00:00Z", "--replace"],
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    assert!(!out.join("decisions.json").exists());
    assert!(!out.join("diff.json").exists());
    assert_eq!(read_json(&out.join("run.json"))["as_of"], "2026-11-01T00:00:00Z");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A directory that is not a run is never replaced.
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).expect("mkdir");
    std::fs::write(mine.join("notes.txt"), "keep me").expect("write");
    let run = audit(&repo().join(SNAPSHOT), &mine, &["--replace"]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(mine.join("notes.txt").is_file());
}

#[test]
fn a_re_audit_that_replaces_its_own_snapshots_directory_keeps_the_snapshot() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("Q4");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::copy(repo().join(SNAPSHOT), out.join("snapshot.json")).expect("copy");
    std::fs::write(out.join("run.json"), "{}").expect("an earlier run");
    let run = audit(&out.join("snapshot.json"), &out, &["--replace"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    assert!(out.join("snapshot.json").is_file(), "carried into the new run");
    let bundle = tmp.path().join("q4.zip");
    let packed = deskaudit(&["evidence", "--run", utf8(&out), "--out", utf8(&bundle)], None);
    assert_eq!(packed.status.code(), Some(0), "{}", text(&packed));
}

#[test]
fn evidence_refuses_decisions_or_a_diff_from_another_audit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = finished_run(tmp.path());
    let other = tmp.path().join("other");
    let run = audit(
        &repo().join(SNAPSHOT),
        &other,
        &["--as-of", "2026-12-01T00:00:00Z"],
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));

    // A diff computed for another run.
    let good_diff = std::fs::read(out.join("diff.json")).expect("diff");
    let mut diff: Value = serde_json::from_slice(&good_diff).expect("diff json");
    diff["new"]["as_of"] = Value::String("2026-07-01T00:00:00Z".into());
    std::fs::write(out.join("diff.json"), serde_json::to_vec(&diff).expect("json")).expect("write");
    let bundle = tmp.path().join("a.zip");
    let packed = deskaudit(&["evidence", "--run", utf8(&out), "--out", utf8(&bundle)], None);
    assert_eq!(packed.status.code(), Some(2), "{}", text(&packed));
    assert!(
        text(&packed).contains("diff.json: does not belong to this run"),
        "{}",
        text(&packed)
    );
    assert!(!bundle.exists());
    std::fs::write(out.join("diff.json"), &good_diff).expect("restore");

    // Decisions bound to another audit, and older unbound ones citing a finding this run lacks.
    let decisions = |run: Option<Value>, finding: &str| {
        let mut doc = serde_json::json!({
            "schema_version": 1,
            "imported_at": "2026-10-02T00:00:00Z",
            "workbook": {"path": "wb.csv", "sha256": "00"},
            "decisions": [{"agent_id": 67013470154u64, "agent_email": "sofia.marquez@acme.test",
                "decision": "revoke", "reviewer": "lead@acme.test", "justification": "left",
                "finding_ids": [finding]}]
        });
        if let Some(run) = run {
            doc["run"] = run;
        }
        serde_json::to_vec(&doc).expect("json")
    };
    let other_findings = sha256(&std::fs::read(other.join("findings.json")).expect("findings"));
    let snapshot_sha = read_json(&out.join("run.json"))["inputs"]["snapshot"]["sha256"].clone();
    for (bytes, says) in [
        (
            decisions(
                Some(serde_json::json!({"findings_sha256": other_findings, "snapshot_sha256": snapshot_sha})),
                "DA-be0649cb9a99",
            ),
            "recorded on the audit whose findings.json",
        ),
        (
            decisions(None, "DA-000000000000"),
            "cites finding DA-000000000000",
        ),
    ] {
        std::fs::write(out.join("decisions.json"), bytes).expect("write");
        let packed = deskaudit(&["evidence", "--run", utf8(&out), "--out", utf8(&bundle)], None);
        assert_eq!(packed.status.code(), Some(2), "{}", text(&packed));
        assert!(text(&packed).contains(says), "{}", text(&packed));
        assert!(!bundle.exists());
    }
    // The run's own decisions are bundled.
    std::fs::write(out.join("decisions.json"), decisions(None, "DA-be0649cb9a99")).expect("write");
    let packed = deskaudit(&["evidence", "--run", utf8(&out), "--out", utf8(&bundle)], None);
    assert_eq!(packed.status.code(), Some(0), "{}", text(&packed));
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// `deskaudit audit` with the file-size limit `blocks` (of 512 bytes): a
/// write past it fails (EFBIG) where XFSZ is ignored, else kills the process.
fn audit_with_file_limit(out: &Path, blocks: u32, killed: bool, extra: &[&str]) -> std::process::Output {
    let trap = if killed { "" } else { "trap '' XFSZ; " };
    let script = format!("{trap}ulimit -f {blocks}; exec \"$0\" \"$@\"");
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", &script, env!("CARGO_BIN_EXE_deskaudit")])
        .args(["audit", "--snapshot", SNAPSHOT, "--idp", OKTA, "--out", utf8(out)])
        .args(extra)
        .current_dir(repo());
    cmd.output().expect("sh runs")
}

#[test]
fn a_failed_write_leaves_no_run_and_has_its_own_exit_code() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("run");
    // Every output file is over 8 KiB but run.json.
    let run = audit_with_file_limit(&out, 16, false, &[]);
    assert_eq!(run.status.code(), Some(4), "{}", text(&run));
    assert!(!out.exists(), "no half-written run at --out");
    assert_eq!(
        std::fs::read_dir(tmp.path()).expect("dir").count(),
        0,
        "nothing beside it"
    );

    // A previous run stays whole when its replacement fails.
    let ok = audit(&repo().join(SNAPSHOT), &out, &[]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let before = std::fs::read(out.join("report.html")).expect("report");
    let run = audit_with_file_limit(&out, 16, false, &["--replace", "--as-of", "2026-11-01T00:00:00Z"]);
    assert_eq!(run.status.code(), Some(4), "{}", text(&run));
    assert_eq!(std::fs::read(out.join("report.html")).expect("report"), before);
}

#[test]
fn a_run_killed_while_writing_leaves_no_run_and_the_next_clears_its_leftovers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("run");
    let run = audit_with_file_limit(&out, 16, true, &[]);
    assert_eq!(run.status.code(), None, "killed by SIGXFSZ: {}", text(&run));
    assert!(!out.exists(), "no half-written run at --out");
    let ok = audit(&repo().join(SNAPSHOT), &out, &[]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["run"]);
}

#[test]
fn a_second_writer_of_the_same_run_directory_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("run");
    // Held as a first audit holds it while it writes.
    let held = deskaudit::rundir::DirLock::acquire(&out).expect("lock");
    let run = audit(&repo().join(SNAPSHOT), &out, &[]);
    assert_eq!(run.status.code(), Some(4), "{}", text(&run));
    assert!(
        text(&run).contains("another deskaudit is writing"),
        "{}",
        text(&run)
    );
    assert!(!out.exists());
    drop(held);
    let run = audit(&repo().join(SNAPSHOT), &out, &[]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
}

#[test]
fn diff_and_evidence_refuse_a_run_json_of_an_unknown_schema_version() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = finished_run(tmp.path());
    let mut run_json = read_json(&out.join("run.json"));
    run_json["schema_version"] = Value::from(2);
    std::fs::write(out.join("run.json"), serde_json::to_vec(&run_json).expect("json")).expect("write");
    let diff = deskaudit(&["diff", utf8(&tmp.path().join("first")), utf8(&out)], None);
    assert_eq!(diff.status.code(), Some(2), "{}", text(&diff));
    assert!(
        text(&diff).contains("schema_version 2 is not supported"),
        "{}",
        text(&diff)
    );
    let bundle = tmp.path().join("e.zip");
    let packed = deskaudit(&["evidence", "--run", utf8(&out), "--out", utf8(&bundle)], None);
    assert_eq!(packed.status.code(), Some(2), "{}", text(&packed));
    assert!(
        text(&packed).contains("schema_version 2 is not supported"),
        "{}",
        text(&packed)
    );
}
