//! `deskaudit evidence` and `deskaudit verify` on real audit runs: what a
//! bundle holds, that it is reproducible, that any one changed byte fails
//! verification, and that inputs changed since the audit are refused.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

const AS_OF: &str = "2026-10-01T00:00:00Z";

/// An audit directory whose inputs live in the same temporary directory, so
/// a test may change them.
struct Run {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    dir: PathBuf,
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn copy(from: &str, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
    std::fs::copy(repo().join(from), to).expect(from);
    to.to_path_buf()
}

/// Audits `snapshot` (written into the run's temp dir) with `idp` specs
/// built from the copied files.
fn audit_in(tmp: tempfile::TempDir, extra: &[String]) -> Run {
    let root = tmp.path().to_path_buf();
    let dir = root.join("run");
    let mut args: Vec<String> = [
        "audit",
        "--snapshot",
        path(&root.join("snapshot.json")),
        "--as-of",
        AS_OF,
        "--out",
        path(&dir),
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend_from_slice(extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = deskaudit(&args, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    Run { _tmp: tmp, root, dir }
}

/// The acme organisation, audited against every bundled export and the policy.
fn acme_run() -> Run {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    copy("reports/demo/snapshot.json", &root.join("snapshot.json"));
    let file = |name: &str| {
        path(&copy(
            &format!("fixtures/acme/idp/{name}"),
            &root.join("in").join(name),
        ))
        .to_owned()
    };
    let policy = copy("fixtures/acme/policy.toml", &root.join("in/policy.toml"));
    let extra = [
        "--idp".to_owned(),
        format!("okta:{}", file("okta-password-health.csv")),
        "--idp".to_owned(),
        format!("entra:{}", file("entra-users.csv")),
        "--idp".to_owned(),
        format!("hris:{}", file("hris-workers.csv")),
        "--assignments".to_owned(),
        file("okta-current-assignments.csv"),
        "--policy".to_owned(),
        path(&policy).to_owned(),
    ];
    audit_in(tmp, &extra)
}

/// A four-agent run: a small bundle, cheap enough to verify hundreds of times.
fn small_run() -> Run {
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(repo().join("reports/demo/snapshot.json")).expect("snapshot");
    let mut snapshot =
        deskaudit::model::Snapshot::from_slice("demo", text.as_bytes()).expect("snapshot parses");
    snapshot.agents.truncate(4);
    snapshot.contacts.clear();
    // As a collector of this smaller account would have recorded it.
    snapshot.seal();
    std::fs::write(
        tmp.path().join("snapshot.json"),
        serde_json::to_string(&snapshot).expect("json"),
    )
    .expect("write");
    let okta = copy(
        "fixtures/acme/idp/okta-password-health.csv",
        &tmp.path().join("okta.csv"),
    );
    let extra = ["--idp".to_owned(), format!("okta:{}", path(&okta))];
    audit_in(tmp, &extra)
}

fn evidence(run: &Run, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["evidence", "--run", path(&run.dir), "--out", path(out)];
    args.extend_from_slice(extra);
    deskaudit(&args, None)
}

fn verify(bundle: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["verify"];
    args.extend_from_slice(extra);
    args.push(path(bundle));
    deskaudit(&args, None)
}

/// A new bundle of `run` (asserting success) and its bytes.
fn bundle(run: &Run, name: &str, extra: &[&str]) -> (PathBuf, Vec<u8>) {
    let out = run.root.join(name);
    let made = evidence(run, &out, extra);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made));
    let bytes = std::fs::read(&out).expect("bundle written");
    (out, bytes)
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Entry names and contents, in the zip's order.
fn entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    (0..zip.len())
        .map(|i| {
            let mut file = zip.by_index(i).expect("entry");
            let mut data = Vec::new();
            file.read_to_end(&mut data).expect("read entry");
            (String::from_utf8_lossy(file.name_raw()).into_owned(), data)
        })
        .collect()
}

fn manifest(bytes: &[u8]) -> Value {
    let (name, data) = entries(bytes).into_iter().next().expect("an entry");
    assert_eq!(name, "manifest.json");
    serde_json::from_slice(&data).expect("manifest parses")
}

fn names(bytes: &[u8]) -> Vec<String> {
    entries(bytes).into_iter().map(|(name, _)| name).collect()
}

/// The leavers' watch events are an input of the audit: bundled beside the
/// exports, and checked against their recorded hash like them.
#[test]
fn a_bundle_carries_the_watch_events_and_refuses_them_changed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    copy("reports/demo/snapshot.json", &root.join("snapshot.json"));
    let events = copy(
        "fixtures/acme/watch/events.jsonl",
        &root.join("watch/events.jsonl"),
    );
    let extra = [
        "--idp".to_owned(),
        format!(
            "hris:{}",
            path(&repo().join("fixtures/acme/idp/hris-workers.csv"))
        ),
        "--watch".to_owned(),
        path(&root.join("watch")).to_owned(),
    ];
    let run = audit_in(tmp, &extra);
    let out = run.root.join("evidence.zip");
    let made = evidence(&run, &out, &[]);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made));
    let bytes = std::fs::read(&out).expect("bundle");
    let names = names(&bytes);
    assert!(names.contains(&"run/terminations.csv".to_owned()), "{names:?}");
    assert!(names.contains(&"inputs/events.jsonl".to_owned()), "{names:?}");
    let m = manifest(&bytes);
    let watch = m["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .find(|i| i["kind"] == "watch")
        .cloned()
        .expect("the watch input in the manifest");
    assert_eq!(watch["sha256"], sha256(&std::fs::read(&events).expect("events")));
    let checked = verify(&out, &[]);
    assert_eq!(checked.status.code(), Some(0), "{}", text(&checked));

    std::fs::write(&events, "{}\n").expect("edit the events");
    let refused = evidence(&run, &run.root.join("again.zip"), &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
}

#[test]
fn a_bundle_holds_the_whole_run_and_verifies() {
    let run = acme_run();
    let out = run.root.join("evidence.zip");
    let made = evidence(&run, &out, &[]);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made));
    let bytes = std::fs::read(&out).expect("bundle");
    // stdout is a `sha256sum` line for the ticket.
    assert_eq!(
        String::from_utf8_lossy(&made.stdout),
        format!("{}  {}\n", sha256(&bytes), out.display())
    );

    assert_eq!(
        names(&bytes),
        [
            "manifest.json",
            "run/run.json",
            "run/findings.json",
            "run/findings.csv",
            "run/report.html",
            "run/terminations.csv",
            "snapshot/snapshot.json",
            "policy/policy.toml",
            "inputs/okta-password-health.csv",
            "inputs/entra-users.csv",
            "inputs/hris-workers.csv",
            "inputs/okta-current-assignments.csv",
        ]
    );
    let m = manifest(&bytes);
    let run_json: Value =
        serde_json::from_slice(&std::fs::read(run.dir.join("run.json")).expect("run.json")).expect("parses");
    assert_eq!(m["schema_version"], 1);
    assert_eq!(m["bundle_format"], 1);
    assert_eq!(m["tool_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(m["rule_catalogue_version"], deskaudit::rules::catalogue_version());
    assert_eq!(m["domain"], "acme");
    assert_eq!(m["as_of"], AS_OF);
    assert_eq!(
        m["population"],
        serde_json::json!({"active": 34, "deactivated": 3, "pending": 5})
    );
    assert_eq!(m["findings"]["by_severity"]["critical"], 3);
    assert_eq!(m["snapshot"]["sha256"], run_json["inputs"]["snapshot"]["sha256"]);
    assert_eq!(m["snapshot"]["collection"]["agents"], 42);
    let inputs = m["inputs"].as_array().expect("inputs");
    let kinds: Vec<&str> = inputs.iter().filter_map(|i| i["kind"].as_str()).collect();
    assert_eq!(kinds, ["okta", "entra", "hris", "assignments"]);
    assert!(inputs.iter().all(|i| i["included"] == true), "{inputs:?}");
    assert_eq!(inputs[0]["rows"], 42);
    // Every other entry is listed with its hash and size.
    let files = m["files"].as_array().expect("files");
    let listed: Vec<(String, String, u64)> = files
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().expect(k).to_owned();
            (s("path"), s("sha256"), f["bytes"].as_u64().expect("bytes"))
        })
        .collect();
    let actual: Vec<(String, String, u64)> = entries(&bytes)
        .into_iter()
        .skip(1)
        .map(|(name, data)| (name, sha256(&data), data.len() as u64))
        .collect();
    assert_eq!(listed, actual);

    let checked = verify(&out, &[]);
    assert_eq!(checked.status.code(), Some(0), "{}", text(&checked));
    assert!(
        text(&checked).contains("OK: 11 files verified"),
        "{}",
        text(&checked)
    );
    let digest = sha256(&bytes);
    let pinned = verify(&out, &["--expect-sha256", &digest.to_uppercase()]);
    assert_eq!(pinned.status.code(), Some(0), "{}", text(&pinned));
    let other = verify(&out, &["--expect-sha256", &"ab".repeat(32)]);
    assert_eq!(other.status.code(), Some(1), "{}", text(&other));
    assert!(text(&other).contains("not the recorded"), "{}", text(&other));
    let malformed = verify(&out, &["--expect-sha256", "xyz"]);
    assert_eq!(malformed.status.code(), Some(2), "{}", text(&malformed));
}

#[test]
fn the_same_run_always_gives_a_byte_identical_bundle() {
    let run = acme_run();
    let (_, first) = bundle(&run, "first.zip", &[]);
    let (_, second) = bundle(&run, "second.zip", &[]);
    assert!(first == second, "two bundles of one run differ");
    let (_, lean) = bundle(&run, "lean-1.zip", &["--no-inputs"]);
    let (_, again) = bundle(&run, "lean-2.zip", &["--no-inputs"]);
    assert!(lean == again, "two --no-inputs bundles of one run differ");
}

#[test]
fn any_one_changed_byte_fails_verification() {
    let run = small_run();
    let (out, bytes) = bundle(&run, "evidence.zip", &[]);
    assert!(deskaudit::evidence::verify_bytes(&bytes, None).ok());

    // Every 97th byte, through the library (the same code the binary runs):
    // hundreds of positions across headers, contents and the central directory.
    let mut positions: Vec<usize> = (0..bytes.len()).step_by(97).collect();
    positions.extend(bytes.len().saturating_sub(120)..bytes.len()); // central directory end + EOCD
    for (n, &i) in positions.iter().enumerate() {
        // The low bit and the whole byte, in turn.
        let flip = if n % 2 == 0 { 0x01 } else { 0xff };
        let mut changed = bytes.clone();
        changed[i] ^= flip;
        let report = deskaudit::evidence::verify_bytes(&changed, None);
        assert!(
            !report.ok(),
            "byte {i} ^ {flip:#x} of {} went unnoticed",
            bytes.len()
        );
    }

    // And through the binary at chosen places: the manifest, an entry's
    // contents, a local header's timestamp, the central directory, the end record.
    let report_at = find(&bytes, b"<html").expect("report.html in the bundle");
    for (what, i) in [
        ("manifest", 60),
        ("report.html contents", report_at + 100),
        ("local header timestamp", 10),
        ("central directory", bytes.len() - 120),
        ("end of central directory", bytes.len() - 3),
    ] {
        let mut changed = bytes.clone();
        changed[i] ^= 0x20;
        let tampered = run.root.join(format!("tampered-{i}.zip"));
        std::fs::write(&tampered, &changed).expect("write");
        let checked = verify(&tampered, &[]);
        assert_eq!(checked.status.code(), Some(1), "{what}: {}", text(&checked));
        assert!(
            text(&checked).contains("verification FAILED"),
            "{what}: {}",
            text(&checked)
        );
    }
    // The untouched bundle still verifies.
    assert_eq!(verify(&out, &[]).status.code(), Some(0));
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn no_inputs_leaves_the_exports_out_but_keeps_their_hashes() {
    let run = acme_run();
    let (out, bytes) = bundle(&run, "lean.zip", &["--no-inputs"]);
    let names = names(&bytes);
    assert!(!names.iter().any(|n| n.starts_with("inputs/")), "{names:?}");
    assert!(names.contains(&"policy/policy.toml".to_owned()), "{names:?}");
    let m = manifest(&bytes);
    let run_json: Value =
        serde_json::from_slice(&std::fs::read(run.dir.join("run.json")).expect("run.json")).expect("parses");
    let inputs = m["inputs"].as_array().expect("inputs");
    assert_eq!(inputs.len(), 4);
    for (input, recorded) in inputs
        .iter()
        .zip(run_json["inputs"]["idp"].as_array().expect("idp"))
    {
        assert_eq!(input["included"], false);
        assert_eq!(input["path"], Value::Null);
        assert_eq!(input["sha256"], recorded["sha256"]);
        assert_eq!(input["recorded_path"], recorded["path"]);
    }
    assert_eq!(inputs[3]["sha256"], run_json["inputs"]["assignments"]["sha256"]);
    let checked = verify(&out, &[]);
    assert_eq!(checked.status.code(), Some(0), "{}", text(&checked));
}

#[test]
fn inputs_changed_since_the_audit_are_refused() {
    let run = acme_run();
    let out = run.root.join("evidence.zip");

    let okta = run.root.join("in/okta-password-health.csv");
    let mut text_okta = std::fs::read_to_string(&okta).expect("okta");
    text_okta.push('\n');
    std::fs::write(&okta, text_okta).expect("write");
    let refused = evidence(&run, &out, &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(text(&refused).contains("okta input"), "{}", text(&refused));
    assert!(
        text(&refused).contains("changed since the audit"),
        "{}",
        text(&refused)
    );
    // Without the exports in the bundle, only their recorded hashes matter.
    let lean = evidence(&run, &out, &["--no-inputs"]);
    assert_eq!(lean.status.code(), Some(0), "{}", text(&lean));
    std::fs::remove_file(&out).expect("remove");

    let snapshot = run.root.join("snapshot.json");
    let mut bytes = std::fs::read(&snapshot).expect("snapshot");
    bytes.push(b' ');
    std::fs::write(&snapshot, bytes).expect("write");
    for extra in [&[][..], &["--no-inputs"]] {
        let refused = evidence(&run, &out, extra);
        assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
        assert!(text(&refused).contains("snapshot"), "{}", text(&refused));
        assert!(
            text(&refused).contains("changed since the audit"),
            "{}",
            text(&refused)
        );
    }
    // A refusal leaves nothing behind: no bundle, no temporary file.
    let left: Vec<String> = std::fs::read_dir(&run.root)
        .expect("read_dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".zip") || n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn an_existing_bundle_is_never_overwritten() {
    let run = small_run();
    let out = run.root.join("evidence.zip");
    std::fs::write(&out, b"an earlier bundle").expect("write");
    let refused = evidence(&run, &out, &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(text(&refused).contains("already exists"), "{}", text(&refused));
    assert_eq!(std::fs::read(&out).expect("read"), b"an earlier bundle");
}

#[test]
fn inputs_with_the_same_file_name_are_both_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    copy("reports/demo/snapshot.json", &root.join("snapshot.json"));
    let okta = copy(
        "fixtures/acme/idp/okta-password-health.csv",
        &root.join("okta/users.csv"),
    );
    let entra = copy("fixtures/acme/idp/entra-users.csv", &root.join("entra/users.csv"));
    let extra = [
        "--idp".to_owned(),
        format!("okta:{}", path(&okta)),
        "--idp".to_owned(),
        format!("entra:{}", path(&entra)),
    ];
    let run = audit_in(tmp, &extra);
    let (out, bytes) = bundle(&run, "evidence.zip", &[]);
    let all = entries(&bytes);
    let get = |name: &str| all.iter().find(|(n, _)| n == name).map(|(_, d)| d.clone());
    assert_eq!(get("inputs/users.csv"), Some(std::fs::read(&okta).expect("okta")));
    assert_eq!(
        get("inputs/users-2.csv"),
        Some(std::fs::read(&entra).expect("entra"))
    );
    let m = manifest(&bytes);
    assert_eq!(m["inputs"][1]["path"], "inputs/users-2.csv");
    assert_eq!(verify(&out, &[]).status.code(), Some(0));
}

#[test]
fn decisions_are_bundled_and_date_the_bundle() {
    let run = small_run();
    let decisions = serde_json::json!({
        "schema_version": 1,
        "imported_at": "2027-01-15T09:30:00Z",
        "workbook": {"path": "review.csv", "sha256": "00"},
        "decisions": [],
    });
    std::fs::write(run.dir.join("decisions.json"), decisions.to_string()).expect("write");
    let (out, bytes) = bundle(&run, "evidence.zip", &["--no-inputs"]);
    assert!(names(&bytes).contains(&"run/decisions.json".to_owned()));
    assert_eq!(manifest(&bytes)["created_at"], "2027-01-15T09:30:00Z");
    assert_eq!(verify(&out, &[]).status.code(), Some(0));
}

#[test]
fn a_file_that_is_not_a_bundle_fails_verification() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let junk = tmp.path().join("report.pdf");
    std::fs::write(&junk, b"%PDF-1.7 not a zip").expect("write");
    let checked = verify(&junk, &[]);
    assert_eq!(checked.status.code(), Some(1), "{}", text(&checked));
    assert!(text(&checked).contains("not a zip archive"), "{}", text(&checked));
    assert!(text(&checked).contains("report.pdf"), "{}", text(&checked));

    let missing = verify(&tmp.path().join("missing.zip"), &[]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(text(&missing).contains("missing.zip"), "{}", text(&missing));
}
