//! The snapshots an audit reads: one per Freshdesk account, each checked on
//! its own (integrity, completeness), then joined into one directory whose
//! agents are keyed by (account, id).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Failure, context};
use crate::model::{Directory, Edits, LeanSnapshot, ModelError};
use crate::report::{AccountInput, InputFile};

/// Every snapshot read, in the order given, and their agents in one directory.
pub struct Snapshots {
    pub directory: Directory,
    /// One per snapshot, in the order given (the directory's accounts' order).
    pub accounts: Vec<AccountInput>,
    /// Each snapshot's contacts (agents deleted since a previous snapshot),
    /// in the order of the directory's accounts.
    pub contacts: Vec<Vec<serde_json::Value>>,
}

/// Reads each snapshot at `paths` (refusing an edited one unless `edits`
/// accepts it, and one account given twice) and joins them.
pub fn read_all(paths: &[PathBuf], edits: Edits) -> Result<Snapshots, Failure> {
    let mut directories = Vec::with_capacity(paths.len());
    let mut accounts: Vec<AccountInput> = Vec::with_capacity(paths.len());
    let mut contacts = Vec::new();
    for path in paths {
        let (directory, account, more) = read_one(path, edits)?;
        if let Some(first) = accounts.iter().find(|a| a.meta.domain == account.meta.domain) {
            return Err(Failure::input(format!(
                "{}: account {} is already audited from {}: give each account's snapshot once",
                path.display(),
                account.meta.domain,
                first.snapshot.path
            )));
        }
        directories.push(directory);
        accounts.push(account);
        contacts.push(more);
    }
    let directory = if directories.len() == 1 {
        directories
            .pop()
            .ok_or_else(|| Failure::input("no --snapshot given"))?
    } else {
        Directory::merge(directories).map_err(Failure::input)?
    };
    Ok(Snapshots {
        directory,
        accounts,
        contacts,
    })
}

type ReadOne = (Directory, AccountInput, Vec<serde_json::Value>);

fn read_one(path: &Path, edits: Edits) -> Result<ReadOne, Failure> {
    let clock = std::time::Instant::now();
    let bytes = std::fs::read(path).map_err(|e| Failure::input(context(path.display(), e)))?;
    let (sha256, lean) = rayon::join(
        || hex::encode(Sha256::digest(&bytes)),
        || LeanSnapshot::from_slice(&path.display().to_string(), &bytes),
    );
    let snapshot = lean.map_err(Failure::input)?;
    crate::logging::phase(clock, "snapshot parsed");
    let (integrity, directory) = rayon::join(|| snapshot.integrity(), || Directory::from_lean(&snapshot));
    let directory = directory.map_err(|e| match e {
        // A syntax error found while reading the agents names the file already.
        ModelError::Parse { .. } => Failure::input(e),
        e => Failure::input(context(path.display(), e)),
    })?;
    let integrity = integrity
        .require(&path.display().to_string(), edits)
        .map_err(Failure::input)?;
    if integrity.is_edited() {
        tracing::warn!(snapshot = %path.display(), "auditing an edited snapshot: every output says so");
    }
    let contacts = snapshot
        .contacts
        .iter()
        .map(|text| serde_json::from_str(text))
        .collect::<Result<Vec<serde_json::Value>, _>>()
        .map_err(|e| Failure::input(format!("{}: a contact: {e}", path.display())))?;
    let account = AccountInput {
        snapshot: InputFile {
            path: path.display().to_string(),
            sha256,
        },
        agents: directory.agents.len() as u64,
        meta: snapshot.meta,
        integrity,
    };
    crate::logging::phase(clock, "snapshot read into the directory");
    Ok((directory, account, contacts))
}
