//! Identity-provider exports, one file per format, normalised to [`Identity`].

mod csv_table;
mod entra;
mod okta;
pub mod resolve;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use resolve::{IdentityIndex, MatchMethod, Resolution};

/// The contract's normalised IdP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdpStatus {
    Active,
    Staged,
    Suspended,
    Deprovisioned,
}

impl IdpStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IdpStatus::Active => "active",
            IdpStatus::Staged => "staged",
            IdpStatus::Suspended => "suspended",
            IdpStatus::Deprovisioned => "deprovisioned",
        }
    }

    pub fn is_terminated(self) -> bool {
        matches!(self, IdpStatus::Suspended | IdpStatus::Deprovisioned)
    }
}

/// Where a key came from within its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    Login,
    PrimaryEmail,
    SecondaryEmail,
}

/// One person (one row) of one export.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Identity {
    /// Index of the source in [`IdpSet::sources`].
    pub source: usize,
    /// 1-based line of the row in its file.
    pub line: u64,
    pub login: String,
    pub display_name: String,
    /// Lower-cased keys with where each came from; no duplicates.
    pub keys: Vec<(String, KeyKind)>,
    pub status: IdpStatus,
    /// The status as the file wrote it.
    pub raw_status: String,
    pub last_login: Option<Timestamp>,
    pub department: Option<String>,
}

impl Identity {
    fn push_key(&mut self, raw: &str, kind: KeyKind) {
        let key = raw.trim().to_lowercase();
        if !key.is_empty() && !self.keys.iter().any(|(k, _)| *k == key) {
            self.keys.push((key, kind));
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdpKind {
    Okta,
    Entra,
}

impl IdpKind {
    pub const ALL: &[IdpKind] = &[IdpKind::Okta, IdpKind::Entra];

    pub fn name(self) -> &'static str {
        match self {
            IdpKind::Okta => "okta",
            IdpKind::Entra => "entra",
        }
    }

    /// What the detector looks for, for error messages.
    pub fn expected_header(self) -> &'static str {
        match self {
            IdpKind::Okta => okta::EXPECTED,
            IdpKind::Entra => entra::EXPECTED,
        }
    }

    fn parse(name: &str) -> Option<IdpKind> {
        IdpKind::ALL.iter().copied().find(|k| k.name() == name)
    }
}

impl fmt::Display for IdpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `[KIND:]PATH` argument.
#[derive(Clone, Debug, PartialEq)]
pub struct IdpSpec {
    pub kind: Option<IdpKind>,
    pub path: PathBuf,
}

impl std::str::FromStr for IdpSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<IdpSpec, String> {
        if let Some((prefix, rest)) = s.split_once(':') {
            if let Some(kind) = IdpKind::parse(prefix) {
                return Ok(IdpSpec {
                    kind: Some(kind),
                    path: rest.into(),
                });
            }
            if !prefix.contains(['/', '\\', '.']) && prefix.len() > 1 {
                let kinds: Vec<_> = IdpKind::ALL.iter().map(|k| k.name()).collect();
                return Err(format!(
                    "unknown IdP kind `{prefix}` (kinds: {})",
                    kinds.join(", ")
                ));
            }
        }
        Ok(IdpSpec {
            kind: None,
            path: s.into(),
        })
    }
}

/// One export as read: its provenance and its counts.
#[derive(Clone, Debug, Serialize)]
pub struct IdpSource {
    pub kind: IdpKind,
    pub path: String,
    pub sha256: String,
    pub rows: u64,
    pub by_status: BTreeMap<IdpStatus, u64>,
    pub warnings: Vec<String>,
}

/// Every identity of every export given to one audit.
#[derive(Clone, Debug, Default)]
pub struct IdpSet {
    pub sources: Vec<IdpSource>,
    pub identities: Vec<Identity>,
}

#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: {reason}")]
    Row { file: String, line: u64, reason: String },
    #[error("{file}: cannot tell which IdP export this is.\n{hint}")]
    Undetected { file: String, hint: String },
}

impl IdpSet {
    /// Reads every export in order; the first bad file stops the audit.
    pub fn load(specs: &[IdpSpec]) -> Result<IdpSet, IdpError> {
        let mut set = IdpSet::default();
        for spec in specs {
            set.load_one(spec)?;
        }
        Ok(set)
    }

    fn load_one(&mut self, spec: &IdpSpec) -> Result<(), IdpError> {
        let file = spec.path.display().to_string();
        let bytes = std::fs::read(&spec.path).map_err(|source| IdpError::Io {
            file: file.clone(),
            source,
        })?;
        let table = csv_table::Table::new(&file, &bytes)?;
        let kind = match spec.kind {
            Some(kind) => kind,
            None => detect(&table).ok_or_else(|| IdpError::Undetected {
                file: file.clone(),
                hint: detection_hint(),
            })?,
        };
        let source = self.sources.len();
        let identities = match kind {
            IdpKind::Okta => okta::read(&table, source)?,
            IdpKind::Entra => entra::read(&table, source)?,
        };
        let mut by_status = BTreeMap::new();
        for identity in &identities {
            *by_status.entry(identity.status).or_insert(0) += 1;
        }
        let mut warnings = Vec::new();
        if !identities.is_empty() && !by_status.keys().any(|s| s.is_terminated()) {
            warnings.push(
                "no suspended or deprovisioned identity in this export: it may omit leavers \
                 (Okta's user list drops DEPROVISIONED users unless asked), so terminated-active \
                 cannot fire for people it left out"
                    .to_owned(),
            );
        }
        self.sources.push(IdpSource {
            kind,
            path: file,
            sha256: hex::encode(Sha256::digest(&bytes)),
            rows: identities.len() as u64,
            by_status,
            warnings,
        });
        self.identities.extend(identities);
        Ok(())
    }
}

fn detect(table: &csv_table::Table) -> Option<IdpKind> {
    if entra::detect(table) {
        Some(IdpKind::Entra)
    } else if okta::detect(table) {
        Some(IdpKind::Okta)
    } else {
        None
    }
}

fn detection_hint() -> String {
    let mut hint = String::from("Name the kind as KIND:PATH, or give one of these exports:");
    for kind in IdpKind::ALL {
        hint.push_str(&format!(
            "\n  {:<6} header like: {}",
            kind.name(),
            kind.expected_header()
        ));
    }
    hint
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_kind_prefix() {
        let spec: IdpSpec = "okta:dir/users.csv".parse().expect("valid");
        assert_eq!(spec.kind, Some(IdpKind::Okta));
        assert_eq!(spec.path, PathBuf::from("dir/users.csv"));
        let spec: IdpSpec = "dir/users.csv".parse().expect("valid");
        assert_eq!(spec.kind, None);
        assert!("okra:users.csv".parse::<IdpSpec>().is_err());
    }
}
