//! The compliance evidence bundle: one zip holding a finished run (findings,
//! report, decisions), the snapshot, the policy and the IdP exports, with a
//! `manifest.json` of every entry's SHA-256; and `verify`, which recomputes
//! them and checks the zip's every byte. See docs/evidence.md.

mod accounts;
mod manifest;
mod pack;
mod verify;
mod zipfmt;

pub use accounts::AccountRecord;
pub use manifest::{
    BUNDLE_FORMAT, Collection, FileRecord, FindingCounts, InputRecord, MANIFEST, Manifest, PolicyRecord,
    SCHEMA_VERSION, SnapshotRecord,
};
pub use pack::{Built, PackOptions, Packed, build, pack};
pub use verify::{VerifyReport, verify_bytes, verify_file};
pub use zipfmt::Entry;

use crate::rundir::RunDirError;

/// The largest bundle written or verified. Bundles are built and checked in
/// memory, and a zip without zip64 records cannot pass 4 GiB anyway.
pub const MAX_BUNDLE_BYTES: u64 = 1 << 30;

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {reason}")]
    Invalid { file: String, reason: String },
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    #[error("{0}: already exists (an evidence bundle is never overwritten)")]
    Exists(String),
}

impl EvidenceError {
    fn io(path: &std::path::Path, source: std::io::Error) -> EvidenceError {
        EvidenceError::Io {
            file: path.display().to_string(),
            source,
        }
    }

    fn invalid(file: impl std::fmt::Display, reason: impl Into<String>) -> EvidenceError {
        EvidenceError::Invalid {
            file: file.to_string(),
            reason: reason.into(),
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}
