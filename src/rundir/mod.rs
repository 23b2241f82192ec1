//! A finished audit's directory (`audit --out DIR`), read back by `review`,
//! `diff` and `evidence`. Files are found through `run.json`, and every file
//! it names is checked against the SHA-256 recorded there, so a later step
//! never works from a snapshot or export that changed after the audit.

mod decisions;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{Edits, Integrity, ModelError, Snapshot};

pub use decisions::{Decision, DecisionKind, Decisions, WorkbookRef};

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
}

#[derive(Clone, Debug, Deserialize)]
pub struct RunInputs {
    pub snapshot: RecordedFile,
    #[serde(default)]
    pub idp: Vec<RecordedIdp>,
    #[serde(default)]
    pub assignments: Option<RecordedFile>,
    #[serde(default)]
    pub policy: Option<RecordedFile>,
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
}

impl RunDir {
    /// Reads `run.json` and `findings.json` from `dir`.
    pub fn open(dir: &Path) -> Result<RunDir, RunDirError> {
        let run = read_json(&dir.join(RUN_JSON))?;
        let findings = read_json(&dir.join(FINDINGS_JSON))?;
        Ok(RunDir {
            dir: dir.to_path_buf(),
            run,
            findings,
        })
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

    /// The snapshot the audit read (checked against its recorded hash), and where it is.
    pub fn snapshot(&self) -> Result<(PathBuf, Snapshot), RunDirError> {
        let (path, bytes) = self.read_recorded("snapshot", &self.run.inputs.snapshot)?;
        // An edited snapshot is read only where the audit accepted it.
        let edits = if self.run.snapshot_integrity.is_edited() {
            Edits::Accept
        } else {
            Edits::Refuse
        };
        let (snapshot, _) = Snapshot::from_slice_with(&path.display().to_string(), &bytes, edits)?;
        Ok((path, snapshot))
    }

    /// The reviewers' decisions, when `review import` has recorded them.
    pub fn decisions(&self) -> Result<Option<Decisions>, RunDirError> {
        let path = self.dir.join(DECISIONS_JSON);
        if !path.exists() {
            return Ok(None);
        }
        read_json(&path).map(Some)
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
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| RunDirError::Io {
        file: file.clone(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| RunDirError::Json {
        file,
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    })
}
