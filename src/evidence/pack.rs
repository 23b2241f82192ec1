//! `deskaudit evidence`: a finished run directory → one deterministic zip.
//! Every input is found through `RunDir::locate`, i.e. by the SHA-256 the
//! audit recorded, so a bundle never pairs findings with different data.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::accounts::AccountRecord;
use super::manifest::{
    BUNDLE_FORMAT, Collection, FileRecord, FindingCounts, InputRecord, MANIFEST, Manifest, PolicyRecord,
    SCHEMA_VERSION, SnapshotRecord,
};
use super::zipfmt::{self, Entry};
use super::{EvidenceError, MAX_BUNDLE_BYTES, sha256_hex};
use crate::model::Integrity;
use crate::remediate::{self, Plan, Remediation};
use crate::rules::{Severity, catalogue_version};
use crate::rundir::{
    DECISIONS_JSON, Decisions, FINDINGS_CSV, FINDINGS_JSON, REPORT_HTML, RUN_JSON, RecordedFile, RunDir,
};

/// Written by `audit --previous-run`; bundled when present.
use crate::diff::DIFF_JSON;
pub const SNAPSHOT_ENTRY: &str = "snapshot/snapshot.json";

#[derive(Clone, Copy, Debug)]
pub struct PackOptions {
    /// Put the IdP exports and the assignments file in the bundle (their
    /// hashes are recorded either way).
    pub include_inputs: bool,
}

/// A bundle built in memory.
#[derive(Debug)]
pub struct Built {
    pub bytes: Vec<u8>,
    pub manifest: Manifest,
    /// Worth telling the user, not worth refusing for.
    pub warnings: Vec<String>,
}

/// A bundle written to disk.
#[derive(Debug)]
pub struct Packed {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    pub entries: usize,
    pub warnings: Vec<String>,
}

/// Builds the bundle of `run_dir` and writes it to `out`, atomically and
/// only if `out` does not exist yet.
pub fn pack(run_dir: &Path, out: &Path, options: PackOptions) -> Result<Packed, EvidenceError> {
    // Checked first so a mistake costs nothing; `persist_noclobber` closes the race.
    if out.symlink_metadata().is_ok() {
        return Err(EvidenceError::Exists(out.display().to_string()));
    }
    let built = build(run_dir, options)?;
    write_new(out, &built.bytes)?;
    Ok(Packed {
        path: out.to_path_buf(),
        sha256: sha256_hex(&built.bytes),
        bytes: built.bytes.len() as u64,
        entries: built.manifest.files.len() + 1,
        warnings: built.warnings,
    })
}

/// The extra fields of run.json the manifest reports (RunJson keeps only
/// what every reader needs).
#[derive(Deserialize)]
struct RunCounts {
    inputs: InputCounts,
}

#[derive(Deserialize)]
struct InputCounts {
    #[serde(default)]
    idp: Vec<IdpCounts>,
}

#[derive(Deserialize)]
struct IdpCounts {
    #[serde(default)]
    rows: Option<u64>,
}

/// Collects the run's files and inputs and lays them out as a bundle.
pub fn build(run_dir: &Path, options: PackOptions) -> Result<Built, EvidenceError> {
    // run.json and findings.json are parsed from the very bytes that are bundled.
    let run_bytes = read(&run_dir.join(RUN_JSON))?;
    let findings_bytes = read(&run_dir.join(FINDINGS_JSON))?;
    let rundir = RunDir::from_bytes(run_dir, &run_bytes, &findings_bytes)?;
    let counts: RunCounts = parse(&run_dir.join(RUN_JSON), &run_bytes)?;
    let run = &rundir.run;

    let mut entries = vec![
        Entry::new("run/run.json", run_bytes),
        Entry::new("run/findings.json", findings_bytes),
        Entry::new("run/findings.csv", read(&run_dir.join(FINDINGS_CSV))?),
        Entry::new("run/report.html", read(&run_dir.join(REPORT_HTML))?),
    ];
    let mut created_at = None;
    let decisions_path = run_dir.join(DECISIONS_JSON);
    let decisions_bytes = read_optional(&decisions_path)?;
    if let Some(bytes) = &decisions_bytes {
        let decisions: Decisions = parse(&decisions_path, bytes)?;
        // A bundle never pairs findings with another audit's records.
        rundir.check_decisions(&decisions)?;
        created_at = Some(decisions.imported_at);
        entries.push(Entry::new("run/decisions.json", bytes.clone()));
    }
    // The leavers of the period (a run written before leavers has none).
    if let Some(bytes) = read_optional(&run_dir.join(crate::report::TERMINATIONS_CSV))? {
        entries.push(Entry::new("run/terminations.csv", bytes));
    }
    if let Some(bytes) = read_optional(&run_dir.join(DIFF_JSON))? {
        rundir.check_diff(&bytes)?;
        entries.push(Entry::new("run/diff.json", bytes));
    }
    if let Some(finished) = remediation_entries(&rundir, decisions_bytes.as_deref(), &mut entries)? {
        created_at = Some(created_at.map_or(finished, |t: jiff::Timestamp| t.max(finished)));
    }

    // Every account's snapshot, each found by the SHA-256 the audit recorded.
    let mut accounts = Vec::new();
    let (snapshot, domain) = if run.accounts.is_empty() {
        let integrity = &run.snapshot_integrity;
        bundle_snapshot(
            &rundir,
            &run.inputs.snapshot,
            integrity,
            SNAPSHOT_ENTRY,
            &mut entries,
        )?
    } else {
        for a in &run.accounts {
            let entry = super::accounts::entry_name(&a.domain);
            let (snapshot, _) =
                bundle_snapshot(&rundir, &a.snapshot, &a.snapshot_integrity, &entry, &mut entries)?;
            accounts.push(AccountRecord {
                domain: a.domain.clone(),
                snapshot,
            });
        }
        let first = accounts.first().map(|a| (a.snapshot.clone(), a.domain.clone()));
        first.ok_or_else(|| EvidenceError::invalid(run_dir.join(RUN_JSON).display(), "no account"))?
    };
    let collected_at = accounts
        .iter()
        .map(|a| a.snapshot.collected_at)
        .fold(snapshot.collected_at, jiff::Timestamp::max);
    let created_at = created_at.map_or(collected_at, |t| t.max(collected_at));

    let mut taken = BTreeSet::new();
    let policy = match &run.inputs.policy {
        Some(recorded) => {
            let (_, bytes) = rundir.read_recorded("policy", recorded)?;
            let path = unique_name("policy", &recorded.path, &mut taken);
            entries.push(Entry::new(path.clone(), bytes));
            Some(PolicyRecord {
                path,
                recorded_path: recorded.path.clone(),
                sha256: recorded.sha256.clone(),
            })
        }
        None => None,
    };

    let mut recorded_inputs: Vec<(String, RecordedFile, Option<u64>)> = run
        .inputs
        .idp
        .iter()
        .enumerate()
        .map(|(i, idp)| {
            let file = RecordedFile {
                path: idp.path.clone(),
                sha256: idp.sha256.clone(),
            };
            let rows = counts.inputs.idp.get(i).and_then(|c| c.rows);
            (idp.kind.clone(), file, rows)
        })
        .collect();
    if let Some(assignments) = &run.inputs.assignments {
        recorded_inputs.push(("assignments".to_owned(), assignments.clone(), None));
    }
    if let Some(watch) = &run.inputs.watch {
        recorded_inputs.push(("watch".to_owned(), watch.clone(), None));
    }
    let mut inputs = Vec::new();
    for (kind, recorded, rows) in recorded_inputs {
        let path = if options.include_inputs {
            let (_, bytes) = rundir.read_recorded(&format!("{kind} input"), &recorded)?;
            let path = unique_name("inputs", &recorded.path, &mut taken);
            entries.push(Entry::new(path.clone(), bytes));
            Some(path)
        } else {
            None
        };
        inputs.push(InputRecord {
            kind,
            recorded_path: recorded.path,
            sha256: recorded.sha256,
            rows,
            included: path.is_some(),
            path,
        });
    }

    let summary = &rundir.findings.summary;
    let findings_file = run_dir.join(FINDINGS_JSON).display().to_string();
    let population = counts_at(summary, "population").ok_or_else(|| {
        EvidenceError::invalid(&findings_file, "summary.population is missing or not counts")
    })?;
    let mut by_severity: BTreeMap<String, u64> =
        Severity::ALL.iter().map(|s| (s.as_str().to_owned(), 0)).collect();
    by_severity.extend(counts_at(summary, "by_severity").unwrap_or_default());

    let mut warnings = Vec::new();
    let tool_version = env!("CARGO_PKG_VERSION");
    if run.tool_version != tool_version {
        warnings.push(format!(
            "{}: the audit ran on deskaudit {}, this is {tool_version}: the manifest's rule_catalogue_version is this version's",
            run_dir.join(RUN_JSON).display(),
            run.tool_version
        ));
    }

    let files = entries
        .iter()
        .map(|e| FileRecord {
            path: e.name.clone(),
            sha256: sha256_hex(&e.data),
            bytes: e.data.len() as u64,
        })
        .collect();
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        bundle_format: BUNDLE_FORMAT,
        tool_version: tool_version.to_owned(),
        rule_catalogue_version: catalogue_version(),
        audit_tool_version: run.tool_version.clone(),
        domain,
        as_of: run.as_of,
        created_at,
        population,
        findings: FindingCounts {
            total: rundir.findings.findings.len() as u64,
            suppressed: rundir.findings.suppressed.len() as u64,
            by_severity,
        },
        snapshot,
        accounts,
        policy,
        inputs,
        files,
    };
    entries.insert(0, Entry::new(MANIFEST, manifest.to_bytes()));
    let bytes = zipfmt::write(&entries).map_err(|reason| EvidenceError::invalid("bundle", reason))?;
    if bytes.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(EvidenceError::invalid(
            run_dir.display(),
            format!(
                "the bundle would be {} bytes, over the {MAX_BUNDLE_BYTES} a bundle may hold",
                bytes.len()
            ),
        ));
    }
    Ok(Built {
        bytes,
        manifest,
        warnings,
    })
}

/// The remediation plan, its journal and its outcome, when the run has them,
/// each checked to belong to this run's decisions; the time the remediation
/// finished, when it has.
fn remediation_entries(
    rundir: &RunDir,
    decisions: Option<&[u8]>,
    entries: &mut Vec<Entry>,
) -> Result<Option<jiff::Timestamp>, EvidenceError> {
    let path = rundir.dir.join(remediate::PLAN_JSON);
    let Some(plan_bytes) = read_optional(&path)? else {
        return Ok(None);
    };
    let file = path.display().to_string();
    let plan = Plan::parse(&file, &plan_bytes).map_err(|e| EvidenceError::invalid(&file, e.to_string()))?;
    if let Some(why) = plan.foreign_to(rundir, &decisions.map(sha256_hex).unwrap_or_default()) {
        return Err(EvidenceError::invalid(
            &file,
            format!("does not belong to this run: {why}"),
        ));
    }
    entries.push(Entry::new(format!("run/{}", remediate::PLAN_JSON), plan_bytes));
    let journal = rundir.dir.join(remediate::JOURNAL_JSONL);
    if let Some(bytes) = read_optional(&journal)? {
        let lines = remediate::read_journal(&journal.display().to_string(), &bytes)
            .map_err(|e| EvidenceError::invalid(journal.display(), e.to_string()))?;
        if let Some(other) = lines.iter().find(|l| l.plan_id != plan.plan_id) {
            return Err(EvidenceError::invalid(
                journal.display(),
                format!(
                    "records plan {}, not this run's plan {}",
                    other.plan_id, plan.plan_id
                ),
            ));
        }
        entries.push(Entry::new(format!("run/{}", remediate::JOURNAL_JSONL), bytes));
    }
    let outcome = rundir.dir.join(remediate::OUTCOME_JSON);
    let Some(bytes) = read_optional(&outcome)? else {
        return Ok(None);
    };
    let remediation: Remediation = parse(&outcome, &bytes)?;
    if remediation.plan_id != plan.plan_id {
        return Err(EvidenceError::invalid(
            outcome.display(),
            format!(
                "the outcome of plan {}, not of this run's plan {}",
                remediation.plan_id, plan.plan_id
            ),
        ));
    }
    entries.push(Entry::new(format!("run/{}", remediate::OUTCOME_JSON), bytes));
    Ok(Some(remediation.finished_at))
}

/// A string-keyed map of counts at `summary[key]`.
fn counts_at(summary: &serde_json::Value, key: &str) -> Option<BTreeMap<String, u64>> {
    summary
        .get(key)?
        .as_object()?
        .iter()
        .map(|(k, v)| v.as_u64().map(|n| (k.clone(), n)))
        .collect()
}

/// `dir/NAME` from the recorded path's file name, restricted to characters
/// safe in any unzip, and made unique: two exports both called `users.csv`
/// become `users.csv` and `users-2.csv` rather than one replacing the other.
fn unique_name(dir: &str, recorded: &str, taken: &mut BTreeSet<String>) -> String {
    // Recorded paths may come from Windows: split on either separator.
    let file = recorded.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut name: String = file
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.chars().all(|c| c == '.') {
        name = format!("file{name}").replace('.', "_");
    }
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name.as_str(), ""),
    };
    let mut candidate = format!("{dir}/{name}");
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{dir}/{stem}-{n}{ext}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

fn read(path: &Path) -> Result<Vec<u8>, EvidenceError> {
    std::fs::read(path).map_err(|e| EvidenceError::io(path, e))
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, EvidenceError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EvidenceError::io(path, e)),
    }
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, EvidenceError> {
    // serde_json's message ends with the line and column.
    serde_json::from_slice(bytes).map_err(|e| EvidenceError::invalid(path.display(), e.to_string()))
}

/// Writes `bytes` to a temporary file beside `out`, then links it into
/// place only if `out` still does not exist: a failure leaves nothing.
fn write_new(out: &Path, bytes: &[u8]) -> Result<(), EvidenceError> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".deskaudit-evidence-")
        .suffix(".tmp")
        .tempfile_in(parent)
        .map_err(|e| EvidenceError::io(parent, e))?;
    tmp.write_all(bytes)
        .map_err(|e| EvidenceError::io(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| EvidenceError::io(tmp.path(), e))?;
    tmp.persist_noclobber(out).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            EvidenceError::Exists(out.display().to_string())
        } else {
            EvidenceError::io(out, e.error)
        }
    })?;
    Ok(())
}

/// Puts the recorded snapshot `file` in `entries` as `entry`, and says what
/// it is; with its domain (`meta.domain`).
fn bundle_snapshot(
    rundir: &RunDir,
    file: &RecordedFile,
    recorded_integrity: &Integrity,
    entry: &str,
    entries: &mut Vec<Entry>,
) -> Result<(SnapshotRecord, String), EvidenceError> {
    // An edited snapshot is bundled only where the audit accepted it, and marked.
    let read = rundir.read_recorded_snapshot(file, recorded_integrity)?;
    let (snapshot, integrity) = (read.snapshot, read.integrity);
    entries.push(Entry::new(entry, read.bytes));
    let meta = &snapshot.meta;
    let record = SnapshotRecord {
        path: entry.to_owned(),
        recorded_path: file.path.clone(),
        sha256: file.sha256.clone(),
        data_sha256: meta.data_sha256.clone(),
        integrity,
        started_at: meta.started_at,
        collected_at: meta.collected_at,
        collection: Collection {
            agents: snapshot.agents.len() as u64,
            roles: snapshot.roles.len() as u64,
            groups: snapshot.groups.len() as u64,
            account_total_agents: meta.account_total_agents,
            requests: meta.requests,
            retries: meta.retries,
            rate_limited: meta.rate_limited,
            channels: meta.channels.clone(),
        },
    };
    Ok((record, meta.domain.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clashing_names_get_numbered_not_overwritten() {
        let mut taken = BTreeSet::new();
        let cases = [
            ("/hr/a/users.csv", "inputs/users.csv"),
            ("/hr/b/users.csv", "inputs/users-2.csv"),
            ("users.csv", "inputs/users-3.csv"),
            ("C:\\exports\\users.csv", "inputs/users-4.csv"),
            ("/x/README", "inputs/README"),
            ("/y/README", "inputs/README-2"),
        ];
        for (recorded, want) in cases {
            assert_eq!(unique_name("inputs", recorded, &mut taken), want, "{recorded}");
        }
    }

    #[test]
    fn names_are_safe_to_unzip() {
        let mut taken = BTreeSet::new();
        let cases = [
            ("../../etc/passwd", "inputs/passwd"),
            ("/exports/..", "inputs/file__"),
            ("/exports/", "inputs/file"),
            ("okta export (Q4).csv", "inputs/okta_export__Q4_.csv"),
            ("/e/.hidden", "inputs/.hidden"),
            ("/e/naïve\n.csv", "inputs/na_ve_.csv"),
        ];
        for (recorded, want) in cases {
            assert_eq!(unique_name("inputs", recorded, &mut taken), want, "{recorded:?}");
        }
    }

    #[test]
    fn an_existing_out_is_refused_before_any_work() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("bundle.zip");
        std::fs::write(&out, b"keep me").expect("write");
        // The run directory does not even exist: the refusal comes first.
        let err = pack(
            &dir.path().join("no-run"),
            &out,
            PackOptions { include_inputs: true },
        );
        assert!(matches!(err, Err(EvidenceError::Exists(_))), "{err:?}");
        assert_eq!(std::fs::read(&out).expect("read"), b"keep me");
    }

    #[test]
    fn a_failed_build_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("bundle.zip");
        let err = pack(
            &dir.path().join("no-run"),
            &out,
            PackOptions { include_inputs: true },
        );
        assert!(matches!(err, Err(EvidenceError::Io { .. })), "{err:?}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("read_dir").collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
