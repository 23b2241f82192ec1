//! The snapshot file: every object exactly as the API returned it, plus how
//! it was collected. Written atomically; read back with file/line errors.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::directory::ModelError;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema_version: u32,
    pub meta: SnapshotMeta,
    pub agents: Vec<Value>,
    pub roles: Vec<Value>,
    pub groups: Vec<Value>,
    #[serde(default)]
    pub contacts: Vec<Value>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SnapshotMeta {
    pub domain: String,
    #[serde(default)]
    pub base_url: String,
    pub tool_version: String,
    pub started_at: Timestamp,
    /// Finish time: the default as-of of every audit of this snapshot.
    pub collected_at: Timestamp,
    /// Every way agents were discovered, in the order used.
    #[serde(default)]
    pub channels: Vec<ChannelRecord>,
    #[serde(default)]
    pub requests: u64,
    #[serde(default)]
    pub retries: u64,
    #[serde(default)]
    pub rate_limited: u64,
    #[serde(default)]
    pub rate_limit: RateLimitSeen,
    /// Agent total the account reports, where the API offers one.
    #[serde(default)]
    pub account_total_agents: Option<u64>,
    /// SHA-256 of the canonical data (agents, roles, groups, contacts).
    #[serde(default)]
    pub data_sha256: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelRecord {
    /// e.g. `GET /api/v2/agents`, `GET /api/v2/agents?active=false`.
    pub name: String,
    pub requests: u64,
    pub pages: u64,
    pub objects: u64,
    /// How the channel ended: `complete`, `unsupported (HTTP 400 invalid_field)`, ...
    pub outcome: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RateLimitSeen {
    /// `X-Ratelimit-Total` as last seen.
    pub total: Option<u64>,
    /// Lowest `X-Ratelimit-Remaining` seen during the run.
    pub min_remaining: Option<u64>,
    /// Extra header values worth keeping, by name.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl Snapshot {
    /// SHA-256 of the data arrays serialised in their stored order.
    pub fn compute_data_sha256(&self) -> String {
        #[derive(Serialize)]
        struct Data<'a> {
            agents: &'a [Value],
            roles: &'a [Value],
            groups: &'a [Value],
            contacts: &'a [Value],
        }
        let data = Data {
            agents: &self.agents,
            roles: &self.roles,
            groups: &self.groups,
            contacts: &self.contacts,
        };
        let bytes = serde_json::to_vec(&data).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }

    pub fn read(path: &Path) -> Result<Snapshot, ModelError> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
        Snapshot::from_slice(&path.display().to_string(), &bytes)
    }

    /// Parses a snapshot held in memory; `file` names it in errors.
    pub fn from_slice(file: &str, bytes: &[u8]) -> Result<Snapshot, ModelError> {
        let snapshot: Snapshot = serde_json::from_slice(bytes).map_err(|e| parse_error(file, &e))?;
        check_version(file, snapshot.schema_version)?;
        Ok(snapshot)
    }

    /// Writes to a temporary file beside `path`, then renames it over `path`,
    /// so a reader never sees half a snapshot.
    pub fn write_atomic(&self, path: &Path) -> std::io::Result<()> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        {
            let mut w = std::io::BufWriter::new(tmp.as_file_mut());
            serde_json::to_writer_pretty(&mut w, self)?;
            w.write_all(b"\n")?;
            w.flush()?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// A snapshot whose objects stay unparsed slices of the file's bytes, so an
/// audit of a large account never holds the whole document as a JSON tree:
/// each object is parsed on its own (in parallel) into the model, then dropped.
#[derive(Debug, Deserialize)]
pub struct LeanSnapshot<'a> {
    pub schema_version: u32,
    pub meta: SnapshotMeta,
    #[serde(borrow)]
    pub agents: Vec<&'a serde_json::value::RawValue>,
    #[serde(borrow)]
    pub roles: Vec<&'a serde_json::value::RawValue>,
    #[serde(borrow)]
    pub groups: Vec<&'a serde_json::value::RawValue>,
}

impl<'a> LeanSnapshot<'a> {
    /// Checks the whole document's syntax and shape; `file` names it in errors.
    pub fn from_slice(file: &str, bytes: &'a [u8]) -> Result<LeanSnapshot<'a>, ModelError> {
        let snapshot: LeanSnapshot = serde_json::from_slice(bytes).map_err(|e| parse_error(file, &e))?;
        check_version(file, snapshot.schema_version)?;
        Ok(snapshot)
    }
}

fn parse_error(file: &str, e: &serde_json::Error) -> ModelError {
    ModelError::Parse {
        file: file.to_owned(),
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    }
}

fn check_version(file: &str, version: u32) -> Result<(), ModelError> {
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    Err(ModelError::Parse {
        file: file.to_owned(),
        line: 1,
        column: 1,
        reason: format!("schema_version {version} is not supported (this tool reads {SCHEMA_VERSION})"),
    })
}
