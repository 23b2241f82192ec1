//! `manifest.json`, the bundle's first entry: what the run was, and the
//! SHA-256 and size of every other entry. A versioned DTO (`schema_version`).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::accounts::AccountRecord;
use crate::model::Integrity;
use crate::model::snapshot::ChannelRecord;

pub const SCHEMA_VERSION: u32 = 1;
/// The zip layout (see `zipfmt`) and entry names; bumped if either changes.
pub const BUNDLE_FORMAT: u32 = 1;
pub const MANIFEST: &str = "manifest.json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub bundle_format: u32,
    /// The deskaudit that made the bundle.
    pub tool_version: String,
    /// The rule catalogue of the deskaudit that made the bundle.
    pub rule_catalogue_version: String,
    /// The deskaudit that ran the audit, as run.json records it.
    pub audit_tool_version: String,
    pub domain: String,
    pub as_of: Timestamp,
    /// The latest moment the run records about itself (collection, or the
    /// import of the reviewers' decisions): never the wall clock, so the
    /// same run always gives the same bundle.
    pub created_at: Timestamp,
    /// Agents by status, from findings.json `summary.population`.
    pub population: BTreeMap<String, u64>,
    pub findings: FindingCounts,
    /// The snapshot; with several accounts, the first account's (as
    /// run.json's `inputs.snapshot`), and `accounts` lists every one.
    pub snapshot: SnapshotRecord,
    /// Every account's snapshot, in run.json's order, when the run reviews
    /// several accounts; absent for one (`snapshot` is it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountRecord>,
    pub policy: Option<PolicyRecord>,
    /// The IdP exports and the assignments file, in run.json's order.
    pub inputs: Vec<InputRecord>,
    /// Every entry but manifest.json, in the zip's order.
    pub files: Vec<FileRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindingCounts {
    pub total: u64,
    pub suppressed: u64,
    pub by_severity: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    /// Its entry in the bundle.
    pub path: String,
    /// Where the audit read it, as run.json records it.
    pub recorded_path: String,
    /// SHA-256 of the file (the one run.json records).
    pub sha256: String,
    /// The snapshot's own `meta.data_sha256` (agents, roles, groups, contacts).
    pub data_sha256: String,
    /// Whether the data matched `data_sha256` when bundled; `edited` only
    /// where the audit was told to accept an edited snapshot.
    #[serde(default)]
    pub integrity: Integrity,
    pub started_at: Timestamp,
    pub collected_at: Timestamp,
    pub collection: Collection,
}

/// How complete the collection was, as the snapshot's meta shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Collection {
    pub agents: u64,
    pub roles: u64,
    pub groups: u64,
    pub account_total_agents: Option<u64>,
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub channels: Vec<ChannelRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyRecord {
    pub path: String,
    pub recorded_path: String,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputRecord {
    /// The IdP kind (`okta`, `entra`, ...), or `assignments`.
    pub kind: String,
    pub recorded_path: String,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Whether the file itself is in the bundle (not with `--no-inputs`).
    pub included: bool,
    /// Its entry in the bundle, when included.
    pub path: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

impl Manifest {
    /// Pretty JSON with a final newline: auditors read it.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain structs, maps with string keys and timestamps cannot fail.
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}
