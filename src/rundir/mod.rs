//! A finished audit's directory (`audit --out DIR`), read back by `review`,
//! `diff` and `evidence`. Files are found through `run.json`, and every file
//! it names is checked against the SHA-256 recorded there, so a later step
//! never works from a snapshot or export that changed after the audit.

mod decisions;
mod output;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{Directory, Edits, Integrity, ModelError, Snapshot};

pub use decisions::{Decision, DecisionKind, Decisions, RunBinding, Target, WorkbookRef};
pub use output::{DirLock, Existing, OutputError, Staging};

/// Names of the files an audit writes into its directory.
pub const RUN_JSON: &str = "run.json";
pub const FINDINGS_JSON: &str = "findings.json";
pub const FINDINGS_CSV: &str = "findings.csv";
pub const REPORT_HTML: &str = "report.html";
pub const DECISIONS_JSON: &str = "decisions.json";

#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: line {line}, column {column}: {reason}")]
    Json {
        file: String,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error(transparent)]
    Snapshot(#[from] ModelError),
    /// A snapshot that reads but does not make a directory of agents.
    #[error("{file}: {reason}")]
    Directory { file: String, reason: String },
    /// A file in the run directory that belongs to another audit.
    #[error("{file}: does not belong to this run: {reason}. A run directory holds exactly one audit")]
    Foreign { file: String, reason: String },
    #[error(
        "{dir}: the {what} recorded in run.json ({recorded}, sha256 {sha256}) is missing or has changed since the audit"
    )]
    Changed {
        dir: String,
        what: String,
        recorded: String,
        sha256: String,
    },
}

/// One input file as `run.json` records it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct RecordedFile {
    pub path: String,
    pub sha256: String,
}

/// The parts of `run.json` later steps rely on; everything else is kept raw.
#[derive(Clone, Debug, Deserialize)]
pub struct RunJson {
    pub schema_version: u32,
    pub tool_version: String,
    pub as_of: jiff::Timestamp,
    pub inputs: RunInputs,
    #[serde(default)]
    pub rules_run: Vec<String>,
    /// Whether the audited snapshot matched its recorded hash (runs from
    /// before this was recorded had it checked by nobody: read as verified,
    /// so their snapshot is checked again now).
    #[serde(default)]
    pub snapshot_integrity: Integrity,
    /// Every account's snapshot and its integrity, where the audit read
    /// several (absent for one account: `inputs.snapshot` and
    /// `snapshot_integrity` say it).
    #[serde(default)]
    pub accounts: Vec<RecordedAccount>,
}

/// One account of an audit of several, as `run.json`'s `accounts` lists it.
#[derive(Clone, Debug, Deserialize)]
pub struct RecordedAccount {
    pub domain: String,
    pub snapshot: RecordedFile,
    #[serde(default)]
    pub snapshot_integrity: Integrity,
}

/// One account's snapshot read back from a run directory.
#[derive(Debug)]
pub struct AccountSnapshot {
    /// The Freshdesk subdomain (the snapshot's `meta.domain`).
    pub domain: String,
    pub path: PathBuf,
    pub snapshot: Snapshot,
}

/// A snapshot as [`RunDir::read_recorded_snapshot`] read it.
#[derive(Debug)]
pub struct RecordedSnapshot {
    pub path: PathBuf,
    /// The file's bytes, as hashed.
    pub bytes: Vec<u8>,
    pub snapshot: Snapshot,
    /// Its data against its own `meta.data_sha256`.
    pub integrity: Integrity,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RunInputs {
    pub snapshot: RecordedFile,
    /// Every account's snapshot, where the audit read several.
    #[serde(default)]
    pub snapshots: Vec<RecordedFile>,
    #[serde(default)]
    pub idp: Vec<RecordedIdp>,
    #[serde(default)]
    pub assignments: Option<RecordedFile>,
    #[serde(default)]
    pub policy: Option<RecordedFile>,
    /// `audit --watch`'s events file (leavers).
    #[serde(default)]
    pub watch: Option<RecordedFile>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RecordedIdp {
    pub kind: String,
    pub path: String,
    pub sha256: String,
}

/// One finding as `findings.json` holds it (fields beyond the CSV columns kept raw).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct FindingRecord {
    pub finding_id: String,
    pub rule: String,
    pub severity: String,
    pub agent_id: u64,
    pub agent_email: String,
    pub agent_name: String,
    pub agent_status: String,
    #[serde(default)]
    pub roles: String,
    #[serde(default)]
    pub groups: String,
    #[serde(default)]
    pub ticket_scope: String,
    #[serde(default)]
    pub detail: String,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

impl FindingRecord {
    /// The agent's account (findings.json's `account`), empty in runs
    /// written before findings named it.
    pub fn account(&self) -> &str {
        self.rest
            .get("account")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct FindingsFile {
    pub schema_version: u32,
    pub run: serde_json::Value,
    pub summary: serde_json::Value,
    pub findings: Vec<FindingRecord>,
    #[serde(default)]
    pub suppressed: Vec<FindingRecord>,
}

/// An audit's output directory, opened and parsed.
#[derive(Clone, Debug)]
pub struct RunDir {
    pub dir: PathBuf,
    pub run: RunJson,
    pub findings: FindingsFile,
    /// SHA-256 of findings.json as read: what later records bind to.
    pub findings_sha256: String,
}

/// The `schema_version` of run.json and findings.json this tool reads.
pub const SCHEMA_VERSION: u32 = 1;

impl RunDir {
    /// Reads `run.json` and `findings.json` from `dir`.
    pub fn open(dir: &Path) -> Result<RunDir, RunDirError> {
        let run_bytes = read_bytes(&dir.join(RUN_JSON))?;
        // run.json's own errors first: it says what the directory is.
        parse_json::<RunJson>(&dir.join(RUN_JSON), &run_bytes)?;
        let findings_bytes = read_bytes(&dir.join(FINDINGS_JSON))?;
        RunDir::from_bytes(dir, &run_bytes, &findings_bytes)
    }

    /// As [`RunDir::open`], from the two files' bytes already read.
    pub fn from_bytes(dir: &Path, run_json: &[u8], findings_json: &[u8]) -> Result<RunDir, RunDirError> {
        let run: RunJson = parse_json(&dir.join(RUN_JSON), run_json)?;
        check_schema(&dir.join(RUN_JSON), run.schema_version)?;
        let findings: FindingsFile = parse_json(&dir.join(FINDINGS_JSON), findings_json)?;
        check_schema(&dir.join(FINDINGS_JSON), findings.schema_version)?;
        Ok(RunDir {
            dir: dir.to_path_buf(),
            run,
            findings,
            findings_sha256: hex::encode(Sha256::digest(findings_json)),
        })
    }

    /// What a record made on this run (decisions, a plan) binds itself to.
    pub fn binding(&self) -> RunBinding {
        RunBinding {
            findings_sha256: self.findings_sha256.clone(),
            snapshot_sha256: self.run.inputs.snapshot.sha256.clone(),
        }
    }

    /// Refuses decisions made on another audit: bound to another
    /// findings.json, or (older files, unbound) citing findings this run
    /// does not have.
    pub fn check_decisions(&self, decisions: &Decisions) -> Result<(), RunDirError> {
        let foreign = |reason: String| RunDirError::Foreign {
            file: self.dir.join(DECISIONS_JSON).display().to_string(),
            reason,
        };
        if let Some(bound) = &decisions.run {
            if *bound != self.binding() {
                return Err(foreign(format!(
                    "recorded on the audit whose findings.json has SHA-256 {} and snapshot {}, but this run's are {} and {}",
                    bound.findings_sha256,
                    bound.snapshot_sha256,
                    self.findings_sha256,
                    self.run.inputs.snapshot.sha256
                )));
            }
            return Ok(());
        }
        let known: std::collections::BTreeSet<&str> = self
            .findings
            .findings
            .iter()
            .chain(&self.findings.suppressed)
            .map(|f| f.finding_id.as_str())
            .collect();
        let cited = decisions
            .decisions
            .iter()
            .flat_map(|d| d.finding_ids.iter().map(move |id| (d.agent_id, id)))
            .find(|(_, id)| !known.contains(id.as_str()));
        match cited {
            Some((agent, id)) => Err(foreign(format!(
                "the decision on agent {agent} cites finding {id}, which this run's findings.json does not have"
            ))),
            None => Ok(()),
        }
    }

    /// Refuses a diff.json computed for another audit (another as-of or snapshot).
    pub fn check_diff(&self, bytes: &[u8]) -> Result<(), RunDirError> {
        #[derive(Deserialize)]
        struct DiffHead {
            new: Side,
        }
        #[derive(Deserialize)]
        struct Side {
            as_of: jiff::Timestamp,
            snapshot_sha256: String,
        }
        let path = self.dir.join(crate::diff::DIFF_JSON);
        let head: DiffHead = parse_json(&path, bytes)?;
        if head.new.as_of != self.run.as_of || head.new.snapshot_sha256 != self.run.inputs.snapshot.sha256 {
            return Err(RunDirError::Foreign {
                file: path.display().to_string(),
                reason: format!(
                    "compares a run as of {} (snapshot {}), not this run as of {} (snapshot {})",
                    head.new.as_of, head.new.snapshot_sha256, self.run.as_of, self.run.inputs.snapshot.sha256
                ),
            });
        }
        Ok(())
    }

    /// The recorded file as it is now, with where it was found: its recorded
    /// path, or the same path under the run directory, or its name in the run
    /// directory or in `inputs/` — whichever holds the recorded SHA-256. The
    /// bytes returned are the bytes hashed, so no caller reads it again.
    pub fn read_recorded(&self, what: &str, file: &RecordedFile) -> Result<(PathBuf, Vec<u8>), RunDirError> {
        let recorded = Path::new(&file.path);
        let mut candidates = vec![recorded.to_path_buf(), self.dir.join(recorded)];
        if let Some(name) = recorded.file_name() {
            candidates.push(self.dir.join(name));
            candidates.push(self.dir.join("inputs").join(name));
        }
        for candidate in candidates {
            // Only regular files: an export read from a named pipe is gone,
            // and reading the pipe again would wait for a writer forever.
            if !std::fs::metadata(&candidate).is_ok_and(|m| m.is_file()) {
                continue;
            }
            if let Ok(bytes) = std::fs::read(&candidate)
                && hex::encode(Sha256::digest(&bytes)) == file.sha256
            {
                return Ok((candidate, bytes));
            }
        }
        Err(RunDirError::Changed {
            dir: self.dir.display().to_string(),
            what: what.to_owned(),
            recorded: file.path.clone(),
            sha256: file.sha256.clone(),
        })
    }

    /// Every account's snapshot the audit read, in the audit's order, each
    /// checked against its recorded hash (one entry for a one-account audit).
    pub fn snapshots(&self) -> Result<Vec<AccountSnapshot>, RunDirError> {
        let recorded: Vec<(&RecordedFile, &Integrity)> = if self.run.accounts.is_empty() {
            vec![(&self.run.inputs.snapshot, &self.run.snapshot_integrity)]
        } else {
            self.run
                .accounts
                .iter()
                .map(|a| (&a.snapshot, &a.snapshot_integrity))
                .collect()
        };
        recorded
            .into_iter()
            .map(|(file, integrity)| {
                let (path, snapshot) = self.read_snapshot(file, integrity)?;
                Ok(AccountSnapshot {
                    domain: snapshot.meta.domain.clone(),
                    path,
                    snapshot,
                })
            })
            .collect()
    }

    /// Every account's agents, roles and groups as one directory (agents
    /// keyed by account and id, as the audit had them), with the snapshots
    /// it was made of.
    pub fn directory(&self) -> Result<(Directory, Vec<AccountSnapshot>), RunDirError> {
        let snapshots = self.snapshots()?;
        let parts = snapshots
            .iter()
            .map(|a| {
                Directory::from_snapshot(&a.snapshot).map_err(|e| RunDirError::Directory {
                    file: a.path.display().to_string(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let directory = Directory::merge(parts).map_err(|e| RunDirError::Directory {
            file: self.dir.join(RUN_JSON).display().to_string(),
            reason: e.to_string(),
        })?;
        Ok((directory, snapshots))
    }

    fn read_snapshot(
        &self,
        file: &RecordedFile,
        integrity: &Integrity,
    ) -> Result<(PathBuf, Snapshot), RunDirError> {
        let read = self.read_recorded_snapshot(file, integrity)?;
        Ok((read.path, read.snapshot))
    }

    /// The recorded snapshot `file`, hash-checked, parsed and with its
    /// integrity; an edited one only where the audit accepted it
    /// (`integrity`: as run.json records it).
    pub fn read_recorded_snapshot(
        &self,
        file: &RecordedFile,
        integrity: &Integrity,
    ) -> Result<RecordedSnapshot, RunDirError> {
        let (path, bytes) = self.read_recorded("snapshot", file)?;
        let edits = if integrity.is_edited() {
            Edits::Accept
        } else {
            Edits::Refuse
        };
        let (snapshot, integrity) = Snapshot::from_slice_with(&path.display().to_string(), &bytes, edits)?;
        Ok(RecordedSnapshot {
            path,
            bytes,
            snapshot,
            integrity,
        })
    }

    /// The reviewers' decisions, when `review import` has recorded them;
    /// refused when they were made on another audit.
    pub fn decisions(&self) -> Result<Option<Decisions>, RunDirError> {
        let path = self.dir.join(DECISIONS_JSON);
        if !path.exists() {
            return Ok(None);
        }
        let decisions = read_json(&path)?;
        self.check_decisions(&decisions)?;
        Ok(Some(decisions))
    }

    /// Writes `decisions.json` atomically (temp file + rename).
    pub fn write_decisions(&self, decisions: &Decisions) -> Result<PathBuf, RunDirError> {
        let path = self.dir.join(DECISIONS_JSON);
        let io = |source| RunDirError::Io {
            file: path.display().to_string(),
            source,
        };
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(io)?;
        serde_json::to_writer_pretty(&mut tmp, decisions).map_err(|e| io(e.into()))?;
        std::io::Write::write_all(&mut tmp, b"\n").map_err(io)?;
        tmp.persist(&path).map_err(|e| io(e.error))?;
        Ok(path)
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, RunDirError> {
    parse_json(path, &read_bytes(path)?)
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, RunDirError> {
    std::fs::read(path).map_err(|source| RunDirError::Io {
        file: path.display().to_string(),
        source,
    })
}

fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, RunDirError> {
    serde_json::from_slice(bytes).map_err(|e| RunDirError::Json {
        file: path.display().to_string(),
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    })
}

/// A later version's file may mean something else: refused, not guessed at.
fn check_schema(path: &Path, version: u32) -> Result<(), RunDirError> {
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    Err(RunDirError::Json {
        file: path.display().to_string(),
        line: 1,
        column: 1,
        reason: format!(
            "schema_version {version} is not supported (this deskaudit reads {SCHEMA_VERSION}); use the deskaudit that wrote it"
        ),
    })
}
