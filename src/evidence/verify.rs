//! `deskaudit verify`: recompute every entry's SHA-256 and size against the
//! manifest, cross-check the manifest against the bundled run.json, and
//! check that the zip is byte for byte the one `evidence` would write from
//! those entries, so that a change anywhere in the file is reported.
//! Everything happens in memory; nothing is extracted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::manifest::{BUNDLE_FORMAT, MANIFEST, Manifest, SCHEMA_VERSION};
use super::zipfmt::{self, Entry, RawEntry, shown};
use super::{EvidenceError, MAX_BUNDLE_BYTES, sha256_hex};
use crate::rundir::RunJson;

/// What `verify` found. An empty `problems` means the bundle verified.
#[derive(Debug)]
pub struct VerifyReport {
    pub bundle_sha256: String,
    /// Entries whose SHA-256 and size matched the manifest.
    pub files_verified: usize,
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Reads `path` (refusing more than `MAX_BUNDLE_BYTES`) and verifies it. An
/// unreadable file is an error; everything about its content is a problem.
pub fn verify_file(path: &Path, expect_sha256: Option<&str>) -> Result<VerifyReport, EvidenceError> {
    let len = std::fs::metadata(path)
        .map_err(|e| EvidenceError::io(path, e))?
        .len();
    if len > MAX_BUNDLE_BYTES {
        return Ok(VerifyReport {
            bundle_sha256: String::new(),
            files_verified: 0,
            problems: vec![format!(
                "the file is {len} bytes, over the {MAX_BUNDLE_BYTES} an evidence bundle may hold: not a deskaudit bundle"
            )],
        });
    }
    let bytes = std::fs::read(path).map_err(|e| EvidenceError::io(path, e))?;
    Ok(verify_bytes(&bytes, expect_sha256))
}

/// Verifies a bundle held in memory; `expect_sha256` is the bundle's digest
/// as recorded out of band (lower- or upper-case hex).
pub fn verify_bytes(bytes: &[u8], expect_sha256: Option<&str>) -> VerifyReport {
    let mut report = VerifyReport {
        bundle_sha256: String::new(),
        files_verified: 0,
        problems: Vec::new(),
    };
    check_content(bytes, &mut report);
    // The whole file's digest is only needed to show or compare it.
    if report.ok() || expect_sha256.is_some() {
        report.bundle_sha256 = sha256_hex(bytes);
    }
    if let Some(expected) = expect_sha256
        && !expected.eq_ignore_ascii_case(&report.bundle_sha256)
    {
        report.problems.insert(
            0,
            format!(
                "the bundle's SHA-256 is {}, not the recorded {expected}",
                report.bundle_sha256
            ),
        );
    }
    report
}

fn check_content(bytes: &[u8], report: &mut VerifyReport) {
    let read = match zipfmt::read(bytes) {
        Ok(read) => read,
        Err(reason) => {
            report
                .problems
                .push(format!("not a zip archive deskaudit can read ({reason})"));
            return;
        }
    };
    let problems = &mut report.problems;
    if read.duplicate_names {
        problems.push("the zip's central directory names an entry more than once".to_owned());
    }
    for entry in &read.entries {
        if !entry.stored {
            problems.push(format!(
                "{} is compressed; a bundle stores every entry uncompressed",
                entry.shown()
            ));
        }
        if std::str::from_utf8(&entry.name).is_err() {
            problems.push(format!("{} has a name that is not UTF-8", entry.shown()));
        }
    }

    match read.entries.iter().position(|e| e.name == MANIFEST.as_bytes()) {
        None => problems.push("the bundle has no manifest.json".to_owned()),
        Some(i) => {
            if i != 0 {
                problems.push("manifest.json is not the bundle's first entry".to_owned());
            }
            match parse_manifest(&read.entries[i].data) {
                Ok(manifest) => {
                    // First entry of each name (duplicates are reported above).
                    let mut by_name = BTreeMap::new();
                    for entry in &read.entries {
                        by_name.entry(entry.name.as_slice()).or_insert(entry);
                    }
                    report.files_verified = check_files(&manifest, &read.entries, &by_name, problems);
                    cross_check(&manifest, &by_name, problems);
                }
                Err(reason) => problems.push(reason),
            }
        }
    }
    check_layout(bytes, &read.entries, problems);
}

fn parse_manifest(bytes: &[u8]) -> Result<Manifest, String> {
    let manifest: Manifest =
        serde_json::from_slice(bytes).map_err(|e| format!("manifest.json does not parse: {e}"))?;
    if manifest.schema_version != SCHEMA_VERSION || manifest.bundle_format != BUNDLE_FORMAT {
        return Err(format!(
            "manifest.json: schema_version {} / bundle_format {} is not supported (this deskaudit reads {SCHEMA_VERSION} / {BUNDLE_FORMAT})",
            manifest.schema_version, manifest.bundle_format
        ));
    }
    Ok(manifest)
}

/// The bundle's entries by name.
type ByName<'a> = BTreeMap<&'a [u8], &'a RawEntry>;

/// Every entry listed has the listed SHA-256 and size, and every entry is
/// listed. Returns how many entries matched.
fn check_files(
    manifest: &Manifest,
    entries: &[RawEntry],
    by_name: &ByName,
    problems: &mut Vec<String>,
) -> usize {
    let mut listed = BTreeSet::new();
    let mut verified = 0;
    for file in &manifest.files {
        let name = shown(&file.path);
        if !listed.insert(file.path.as_bytes()) {
            problems.push(format!("manifest.json lists {name} more than once"));
            continue;
        }
        if file.path == MANIFEST {
            problems.push("manifest.json lists itself".to_owned());
            continue;
        }
        let Some(entry) = by_name.get(file.path.as_bytes()) else {
            problems.push(format!(
                "{name} is listed in manifest.json but missing from the bundle"
            ));
            continue;
        };
        let mut ok = true;
        if entry.sha256 != file.sha256 {
            problems.push(format!(
                "{name}: SHA-256 is {}, manifest.json says {}",
                entry.sha256, file.sha256
            ));
            ok = false;
        }
        if entry.data.len() as u64 != file.bytes {
            problems.push(format!(
                "{name}: {} bytes, manifest.json says {}",
                entry.data.len(),
                file.bytes
            ));
            ok = false;
        }
        verified += usize::from(ok);
    }
    let mut extra = false;
    for entry in entries {
        if entry.name != MANIFEST.as_bytes() && !listed.contains(&entry.name.as_slice()) {
            problems.push(format!(
                "{} is in the bundle but not listed in manifest.json",
                entry.shown()
            ));
            extra = true;
        }
    }
    let in_zip: Vec<&[u8]> = entries
        .iter()
        .map(|e| e.name.as_slice())
        .filter(|n| *n != MANIFEST.as_bytes())
        .collect();
    let in_manifest: Vec<&[u8]> = manifest.files.iter().map(|f| f.path.as_bytes()).collect();
    if !extra && in_zip.len() == in_manifest.len() && in_zip != in_manifest {
        problems.push("the entries are not in the order manifest.json lists them".to_owned());
    }
    verified
}

/// The manifest's claims about the run agree with the bundled run.json and
/// findings.json, and the bundled inputs are the ones the audit hashed.
fn cross_check(manifest: &Manifest, by_name: &ByName, problems: &mut Vec<String>) {
    let entry = |path: &str| by_name.get(path.as_bytes());
    let Some(run_entry) = entry("run/run.json") else {
        problems.push("the bundle has no run/run.json to check the manifest against".to_owned());
        return;
    };
    let run: RunJson = match serde_json::from_slice(&run_entry.data) {
        Ok(run) => run,
        Err(e) => {
            problems.push(format!("run/run.json does not parse: {e}"));
            return;
        }
    };
    // A file the manifest says is bundled must hold what the audit hashed.
    let bundled = |what: &str, path: &str, sha256: &str| match entry(path) {
        None => Some(format!("the {what} {} is not in the bundle", shown(path))),
        Some(e) if e.sha256 != sha256 => Some(format!(
            "the {what} {} is not the file the audit read (run.json records SHA-256 {sha256})",
            shown(path)
        )),
        Some(_) => None,
    };

    let snapshot = &manifest.snapshot;
    if snapshot.sha256 != run.inputs.snapshot.sha256 {
        problems.push(format!(
            "manifest.json's snapshot SHA-256 {} differs from run.json's {}",
            snapshot.sha256, run.inputs.snapshot.sha256
        ));
    }
    problems.extend(bundled("snapshot", &snapshot.path, &run.inputs.snapshot.sha256));
    problems.extend(super::accounts::check(&manifest.accounts, &run, &bundled));

    match (&manifest.policy, &run.inputs.policy) {
        (None, None) => {}
        (Some(policy), Some(recorded)) => {
            if policy.sha256 != recorded.sha256 {
                problems.push(format!(
                    "manifest.json's policy SHA-256 {} differs from run.json's {}",
                    policy.sha256, recorded.sha256
                ));
            }
            problems.extend(bundled("policy", &policy.path, &recorded.sha256));
        }
        (Some(_), None) => problems.push("manifest.json lists a policy that run.json does not".to_owned()),
        (None, Some(_)) => problems.push("run.json records a policy that manifest.json omits".to_owned()),
    }

    let mut recorded: Vec<(&str, &str, &str)> = run
        .inputs
        .idp
        .iter()
        .map(|i| (i.kind.as_str(), i.path.as_str(), i.sha256.as_str()))
        .collect();
    if let Some(a) = &run.inputs.assignments {
        recorded.push(("assignments", a.path.as_str(), a.sha256.as_str()));
    }
    if let Some(w) = &run.inputs.watch {
        recorded.push(("watch", w.path.as_str(), w.sha256.as_str()));
    }
    if recorded.len() != manifest.inputs.len() {
        problems.push(format!(
            "manifest.json lists {} inputs, run.json records {}",
            manifest.inputs.len(),
            recorded.len()
        ));
    }
    for (input, (kind, path, sha256)) in manifest.inputs.iter().zip(&recorded) {
        if (
            input.kind.as_str(),
            input.recorded_path.as_str(),
            input.sha256.as_str(),
        ) != (*kind, *path, *sha256)
        {
            problems.push(format!(
                "manifest.json's input {} ({}, {}) differs from run.json's {} ({kind}, {sha256})",
                shown(&input.recorded_path),
                input.kind,
                input.sha256,
                shown(path)
            ));
        }
        match (&input.path, input.included) {
            (Some(path), true) => problems.extend(bundled(&format!("{kind} input"), path, sha256)),
            (None, false) => {}
            _ => problems.push(format!(
                "manifest.json's input {}: `included` and `path` disagree",
                shown(&input.recorded_path)
            )),
        }
    }

    if manifest.as_of != run.as_of {
        problems.push(format!(
            "manifest.json's as_of {} differs from run.json's {}",
            manifest.as_of, run.as_of
        ));
    }
    if let Some(findings) = entry("run/findings.json") {
        let population = serde_json::from_slice::<FindingsSummary>(&findings.data)
            .ok()
            .map(|f| f.summary.population);
        if population.as_ref() != Some(&manifest.population) {
            problems.push("manifest.json's population differs from run/findings.json's summary".to_owned());
        }
    }
}

/// Only the part of findings.json the manifest repeats (the rest is skipped unparsed).
#[derive(serde::Deserialize)]
struct FindingsSummary {
    summary: Population,
}

#[derive(serde::Deserialize)]
struct Population {
    population: BTreeMap<String, u64>,
}

/// The file must be exactly the canonical zip of the entries it holds:
/// per-entry hashes cannot see headers, timestamps, comments, padding or
/// trailing bytes, and this does.
fn check_layout(bytes: &[u8], entries: &[RawEntry], problems: &mut Vec<String>) {
    let Ok(entries) = entries
        .iter()
        .map(|e| {
            let name = String::from_utf8(e.name.clone()).map_err(|_| ())?;
            Ok(Entry::new(name, e.data.clone()))
        })
        .collect::<Result<Vec<Entry>, ()>>()
    else {
        // Already reported: a name that is not UTF-8 is never written.
        return;
    };
    let canonical = match zipfmt::write(&entries) {
        Ok(canonical) => canonical,
        Err(reason) => {
            problems.push(format!("the zip is not one deskaudit writes ({reason})"));
            return;
        }
    };
    if canonical == bytes {
        return;
    }
    let first = bytes
        .iter()
        .zip(&canonical)
        .position(|(a, b)| a != b)
        .unwrap_or(bytes.len().min(canonical.len()));
    let sizes = if bytes.len() == canonical.len() {
        String::new()
    } else {
        format!(
            "; the file is {} bytes, the layout {}",
            bytes.len(),
            canonical.len()
        )
    };
    problems.push(format!(
        "the zip's bytes are not the ones deskaudit writes for these entries: they first differ at byte {first}, in {}{sizes}",
        zipfmt::region(&entries, first)
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::manifest::*;

    /// A small but complete bundle: run.json, findings.json, a snapshot, a policy, one input.
    fn bundle() -> Vec<u8> {
        let sha = |b: &[u8]| sha256_hex(b);
        let snapshot = b"{\"snapshot\":true}\n".to_vec();
        let policy = b"[thresholds]\n".to_vec();
        let okta = b"Login,Status\na@acme.test,ACTIVE\n".to_vec();
        let run = serde_json::json!({
            "schema_version": 1, "tool_version": "0.1.0", "as_of": "2026-10-01T00:00:00Z",
            "inputs": {
                "snapshot": {"path": "/r/snapshot.json", "sha256": sha(&snapshot)},
                "idp": [{"kind": "okta", "path": "/r/okta.csv", "sha256": sha(&okta)}],
                "policy": {"path": "/r/policy.toml", "sha256": sha(&policy)}
            }
        });
        let findings = serde_json::json!({
            "schema_version": 1, "run": {}, "findings": [],
            "summary": {"population": {"active": 2, "pending": 0, "deactivated": 1}}
        });
        let mut entries = vec![
            Entry::new("run/run.json", run.to_string().into_bytes()),
            Entry::new("run/findings.json", findings.to_string().into_bytes()),
            Entry::new("snapshot/snapshot.json", snapshot.clone()),
            Entry::new("policy/policy.toml", policy.clone()),
            Entry::new("inputs/okta.csv", okta.clone()),
        ];
        let at: jiff::Timestamp = "2026-10-01T00:00:00Z".parse().expect("timestamp");
        let manifest = Manifest {
            schema_version: SCHEMA_VERSION,
            bundle_format: BUNDLE_FORMAT,
            tool_version: "0.1.0".into(),
            rule_catalogue_version: "v1-000000000000".into(),
            audit_tool_version: "0.1.0".into(),
            domain: "acme".into(),
            as_of: at,
            created_at: at,
            population: [("active", 2), ("pending", 0), ("deactivated", 1)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            findings: FindingCounts {
                total: 0,
                suppressed: 0,
                by_severity: BTreeMap::new(),
            },
            accounts: Vec::new(),
            snapshot: SnapshotRecord {
                path: "snapshot/snapshot.json".into(),
                recorded_path: "/r/snapshot.json".into(),
                sha256: sha(&snapshot),
                data_sha256: String::new(),
                integrity: crate::model::Integrity::Verified,
                started_at: at,
                collected_at: at,
                collection: Collection {
                    agents: 3,
                    roles: 0,
                    groups: 0,
                    account_total_agents: None,
                    requests: 1,
                    retries: 0,
                    rate_limited: 0,
                    channels: Vec::new(),
                },
            },
            policy: Some(PolicyRecord {
                path: "policy/policy.toml".into(),
                recorded_path: "/r/policy.toml".into(),
                sha256: sha(&policy),
            }),
            inputs: vec![InputRecord {
                kind: "okta".into(),
                recorded_path: "/r/okta.csv".into(),
                sha256: sha(&okta),
                rows: Some(1),
                included: true,
                path: Some("inputs/okta.csv".into()),
            }],
            files: entries
                .iter()
                .map(|e| FileRecord {
                    path: e.name.clone(),
                    sha256: sha(&e.data),
                    bytes: e.data.len() as u64,
                })
                .collect(),
        };
        entries.insert(0, Entry::new(MANIFEST, manifest.to_bytes()));
        zipfmt::write(&entries).expect("writes")
    }

    #[test]
    fn a_good_bundle_verifies() {
        let bytes = bundle();
        let report = verify_bytes(&bytes, None);
        assert!(report.ok(), "{:?}", report.problems);
        assert_eq!(report.files_verified, 5);
        let upper = report.bundle_sha256.to_ascii_uppercase();
        assert!(verify_bytes(&bytes, Some(&upper)).ok());
        let wrong = verify_bytes(&bytes, Some(&"0".repeat(64)));
        assert_eq!(wrong.problems.len(), 1, "{:?}", wrong.problems);
    }

    #[test]
    fn a_change_to_any_one_byte_fails_and_never_panics() {
        let bytes = bundle();
        for i in 0..bytes.len() {
            // Low bit, high bit (UTF-8 names) and the whole byte, in turn.
            let flip = [0x01, 0x80, 0xff][i % 3];
            let mut changed = bytes.clone();
            changed[i] ^= flip;
            let report = verify_bytes(&changed, None);
            assert!(!report.ok(), "byte {i} ^ {flip:#x} went unnoticed");
        }
    }

    #[test]
    fn truncated_or_extended_bundles_fail() {
        let bytes = bundle();
        for len in (0..bytes.len()).step_by(7) {
            assert!(!verify_bytes(&bytes[..len], None).ok(), "truncated to {len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(!verify_bytes(&longer, None).ok());
        let mut prefixed = b"MZ".to_vec();
        prefixed.extend_from_slice(&bytes);
        assert!(!verify_bytes(&prefixed, None).ok());
    }

    #[test]
    fn not_a_zip_is_a_failed_verification() {
        for junk in [&b""[..], b"PK", b"hello, auditor", &[0u8; 64]] {
            let report = verify_bytes(junk, None);
            assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
            assert!(
                report.problems[0].starts_with("not a zip archive"),
                "{:?}",
                report.problems
            );
        }
    }

    /// Replaces every occurrence of `from` with `to` (same length) in the raw zip.
    fn patch(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        assert_eq!(from.len(), to.len());
        let mut out = bytes.to_vec();
        let mut i = 0;
        while i + from.len() <= out.len() {
            if &out[i..i + from.len()] == from {
                out[i..i + from.len()].copy_from_slice(to);
                i += from.len();
            } else {
                i += 1;
            }
        }
        out
    }

    #[test]
    fn hostile_names_sizes_and_duplicates_are_reported() {
        let bytes = bundle();
        // Path traversal and control characters in names: reported (escaped), never touched on disk.
        let mut entries = entries_of(&bytes);
        entries.push(Entry::new(
            "../../etc/cron.d/x",
            b"* * * * * root true\n".to_vec(),
        ));
        entries.push(Entry::new("run/x\nOK: 9 files verified", Vec::new()));
        let traversal = verify_bytes(&zipfmt::write(&entries).expect("writes"), None);
        assert_eq!(
            traversal.problems,
            [
                "`../../etc/cron.d/x` is in the bundle but not listed in manifest.json",
                "`run/x\\nOK: 9 files verified` is in the bundle but not listed in manifest.json",
            ]
        );
        // An entry renamed in its headers only: listed file missing, unlisted entry present.
        let mut entries = entries_of(&bytes);
        entries[4].name = "policy/policy.tomx".to_owned();
        let renamed = verify_bytes(&zipfmt::write(&entries).expect("writes"), None);
        assert!(
            renamed
                .problems
                .iter()
                .any(|p| p.contains("`policy/policy.toml` is listed")),
            "{:?}",
            renamed.problems
        );
        // Sizes declared far past the end of the file.
        let size = u32::try_from(b"[thresholds]\n".len())
            .expect("small")
            .to_le_bytes();
        let huge = verify_bytes(&patch(&bytes, &size, &u32::MAX.to_le_bytes()), None);
        assert!(!huge.ok());
    }

    fn entries_of(bytes: &[u8]) -> Vec<Entry> {
        zipfmt::read(bytes)
            .expect("reads")
            .entries
            .into_iter()
            .map(|e| Entry::new(String::from_utf8(e.name).expect("utf-8"), e.data))
            .collect()
    }

    #[test]
    fn duplicate_names_are_reported() {
        let entries = [
            Entry::new(MANIFEST, b"{}".to_vec()),
            Entry::new("run/aaaa", b"1".to_vec()),
            Entry::new("run/bbbb", b"2".to_vec()),
        ];
        let bytes = patch(
            &zipfmt::write(&entries).expect("writes"),
            b"run/bbbb",
            b"run/aaaa",
        );
        let report = verify_bytes(&bytes, None);
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.contains("names an entry more than once")),
            "{:?}",
            report.problems
        );
    }

    #[test]
    fn a_rewritten_manifest_fails_on_the_cross_checks_or_the_recorded_digest() {
        let bytes = bundle();
        let mut entries = entries_of(&bytes);
        let mut manifest: Manifest = serde_json::from_slice(&entries[0].data).expect("manifest");
        let recorded = sha256_hex(&bytes);

        // A consistent forgery (new snapshot, manifest rewritten to match) passes
        // the internal checks only if run.json is forged too...
        let forged = b"{\"snapshot\":\"forged\"}\n".to_vec();
        manifest.snapshot.sha256 = sha256_hex(&forged);
        if let Some(f) = manifest
            .files
            .iter_mut()
            .find(|f| f.path == "snapshot/snapshot.json")
        {
            f.sha256 = sha256_hex(&forged);
            f.bytes = forged.len() as u64;
        }
        entries[0].data = manifest.to_bytes();
        entries[3].data = forged;
        let rewritten = zipfmt::write(&entries).expect("writes");
        let report = verify_bytes(&rewritten, None);
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.contains("differs from run.json")),
            "{:?}",
            report.problems
        );
        // ...and never against the digest recorded in the ticket.
        assert!(!verify_bytes(&rewritten, Some(&recorded)).ok());
    }
}
