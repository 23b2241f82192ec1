//! Identity-provider exports, one file per format, normalised to [`Identity`].

pub mod assignments;
mod csv_row;
mod csv_stream;
mod csv_table;
mod custom_csv;
mod entra;
mod entra_json;
mod fields;
mod google;
mod hris;
mod json_doc;
mod json_lean;
mod jumpcloud;
#[cfg(test)]
mod layers;
mod okta;
mod okta_json;
mod okta_status;
mod onelogin;
mod parallel;
pub mod resolve;
mod scim;
mod sink;
mod source;
#[cfg(test)]
mod test_support;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use jiff::Timestamp;
use rayon::prelude::*;
use serde::Serialize;

pub use assignments::Assignments;
pub use custom_csv::CsvMapping;
pub use resolve::{IdentityIndex, KeyRewrites, MatchMethod, Resolution};
pub use sink::KeySet;

use csv_table::Table;
use json_doc::JsonUsers;
use sink::Sink;
use source::{Opened, Shape};

/// The contract's normalised IdP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdpStatus {
    Active,
    Staged,
    Suspended,
    Deprovisioned,
    /// The export does not say (SCIM without `active`): neither active nor terminated.
    Unknown,
}

impl IdpStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IdpStatus::Active => "active",
            IdpStatus::Staged => "staged",
            IdpStatus::Suspended => "suspended",
            IdpStatus::Deprovisioned => "deprovisioned",
            IdpStatus::Unknown => "unknown",
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
    /// 1-based line of the row in a CSV file; 1-based position in a JSON array.
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
    /// IdP or HR groups, where the export has them (for role mapping).
    pub groups: Vec<String>,
    pub employee_id: Option<String>,
    pub manager: Option<String>,
    /// HR termination date, where the export has one.
    pub termination_date: Option<Timestamp>,
    /// The termination date was a date without a time (read as its midnight
    /// for the status; a leaver's termination time is that day's end, UTC).
    pub termination_date_only: bool,
    /// When the IdP last changed the account's status, where the export says
    /// (Okta API `statusChanged`).
    pub status_changed: Option<Timestamp>,
}

impl Identity {
    /// An identity with its login as first key; fill the rest by field.
    pub(crate) fn new(
        source: usize,
        line: u64,
        login: &str,
        status: IdpStatus,
        raw_status: &str,
    ) -> Identity {
        let mut identity = Identity {
            source,
            line,
            login: login.trim().to_owned(),
            display_name: String::new(),
            keys: Vec::new(),
            status,
            raw_status: raw_status.trim().to_owned(),
            last_login: None,
            department: None,
            groups: Vec::new(),
            employee_id: None,
            manager: None,
            termination_date: None,
            termination_date_only: false,
            status_changed: None,
        };
        identity.push_key(login, KeyKind::Login);
        identity
    }

    pub(crate) fn push_key(&mut self, raw: &str, kind: KeyKind) {
        let key = raw.trim().to_lowercase();
        if !key.is_empty() && !self.keys.iter().any(|(k, _)| *k == key) {
            self.keys.push((key, kind));
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdpKind {
    Okta,
    OktaJson,
    Entra,
    EntraJson,
    Google,
    Onelogin,
    Jumpcloud,
    Scim,
    Hris,
    Csv,
}

impl IdpKind {
    /// In detection order: the most specific header first.
    pub const ALL: &[IdpKind] = &[
        IdpKind::Entra,
        IdpKind::Google,
        IdpKind::Okta,
        IdpKind::Onelogin,
        IdpKind::Jumpcloud,
        IdpKind::Hris,
        IdpKind::OktaJson,
        IdpKind::EntraJson,
        IdpKind::Scim,
        IdpKind::Csv,
    ];

    pub fn name(self) -> &'static str {
        match self {
            IdpKind::Okta => "okta",
            IdpKind::OktaJson => "okta-json",
            IdpKind::Entra => "entra",
            IdpKind::EntraJson => "entra-json",
            IdpKind::Google => "google",
            IdpKind::Onelogin => "onelogin",
            IdpKind::Jumpcloud => "jumpcloud",
            IdpKind::Scim => "scim",
            IdpKind::Hris => "hris",
            IdpKind::Csv => "csv",
        }
    }

    /// What the detector looks for, for error messages.
    pub fn expected(self) -> &'static str {
        match self {
            IdpKind::Okta => okta::EXPECTED,
            IdpKind::OktaJson => okta_json::EXPECTED,
            IdpKind::Entra => entra::EXPECTED,
            IdpKind::EntraJson => entra_json::EXPECTED,
            IdpKind::Google => google::EXPECTED,
            IdpKind::Onelogin => onelogin::EXPECTED,
            IdpKind::Jumpcloud => jumpcloud::EXPECTED,
            IdpKind::Scim => scim::EXPECTED,
            IdpKind::Hris => hris::EXPECTED,
            IdpKind::Csv => custom_csv::EXPECTED,
        }
    }

    fn parse(name: &str) -> Option<IdpKind> {
        IdpKind::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// Detects a CSV export's kind from its header.
    fn detect_csv(table: &Table) -> Option<IdpKind> {
        type Detect = fn(&Table) -> bool;
        let checks: [(IdpKind, Detect); 6] = [
            (IdpKind::Entra, entra::detect),
            (IdpKind::Google, google::detect),
            (IdpKind::Okta, okta::detect),
            (IdpKind::Onelogin, onelogin::detect),
            (IdpKind::Jumpcloud, jumpcloud::detect),
            (IdpKind::Hris, hris::detect),
        ];
        checks
            .into_iter()
            .find(|(_, detect)| detect(table))
            .map(|(kind, _)| kind)
    }

    /// The names this kind's users array may have in a JSON object.
    fn json_arrays(self) -> &'static [&'static str] {
        match self {
            IdpKind::EntraJson => entra_json::ARRAYS,
            IdpKind::Scim => scim::ARRAYS,
            IdpKind::Onelogin => onelogin::ARRAYS,
            IdpKind::Jumpcloud => jumpcloud::ARRAYS,
            _ => okta_json::ARRAYS,
        }
    }

    /// Detects a JSON export's kind from its shape: the document with only
    /// the first user of its array ([`JsonUsers::preview`]).
    fn detect_json(doc: &serde_json::Value) -> Option<IdpKind> {
        type Detect = fn(&serde_json::Value) -> bool;
        let checks: [(IdpKind, Detect); 5] = [
            (IdpKind::Scim, scim::detect_json),
            (IdpKind::EntraJson, entra_json::detect_json),
            (IdpKind::OktaJson, okta_json::detect_json),
            (IdpKind::Onelogin, onelogin::detect_json),
            (IdpKind::Jumpcloud, jumpcloud::detect_json),
        ];
        checks
            .into_iter()
            .find(|(_, detect)| detect(doc))
            .map(|(kind, _)| kind)
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
    /// JSON (identities are numbered by array position) rather than CSV (by line).
    pub json: bool,
    pub sha256: String,
    /// Every row of the export (not only the identities kept).
    pub rows: u64,
    pub by_status: BTreeMap<IdpStatus, u64>,
    pub warnings: Vec<String>,
}

/// Every identity of every export given to one audit that some agent could
/// resolve to, with each export's counts.
#[derive(Clone, Debug, Default)]
pub struct IdpSet {
    pub sources: Vec<IdpSource>,
    pub identities: Vec<Identity>,
    /// `--assignments`: who the IdP assigns the Freshdesk app to, when given.
    pub assignments: Option<Assignments>,
}

/// The most one record may take: a CSV row (or the header) or one element of
/// a JSON export's array, in bytes. Real rows are a few hundred bytes; without
/// a cap a file with no line end, a quote never closed or `/dev/zero` would be
/// held whole in memory.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

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
    /// A JSON export's error, at the line and column of the value that is wrong.
    #[error("{file}:{line}:{column}: {reason}")]
    At {
        file: String,
        line: u64,
        column: u64,
        reason: String,
    },
    /// A path that is no export (a directory, a device, a socket), refused before reading.
    #[error("{file}: is {what}, not a regular file or a named pipe: give the export file itself")]
    NotAFile { file: String, what: &'static str },
    #[error("{file}: cannot tell which IdP export this is.\n{hint}")]
    Undetected { file: String, hint: String },
}

/// How to read the exports of one audit.
#[derive(Clone, Debug)]
pub struct LoadOptions<'a> {
    /// Keep only identities holding one of these lower-cased keys; `None` keeps all.
    pub wanted: Option<&'a KeySet>,
    /// The audit's as-of: an HR termination dated on or before it counts.
    pub as_of: Timestamp,
    /// Skip ragged rows with a warning instead of stopping.
    pub lenient: bool,
    /// Column mapping for `csv:` exports.
    pub csv_mapping: Option<&'a CsvMapping>,
}

impl IdpSet {
    /// Reads every export (in parallel, one pass each); the first bad file stops the audit.
    pub fn load(specs: &[IdpSpec], opts: &LoadOptions) -> Result<IdpSet, IdpError> {
        let loaded: Vec<(IdpSource, Vec<Identity>)> = specs
            .par_iter()
            .enumerate()
            .map(|(source, spec)| load_one(spec, source, opts))
            .collect::<Result<_, _>>()?;
        let mut set = IdpSet::default();
        for (source, identities) in loaded {
            set.sources.push(source);
            set.identities.extend(identities);
        }
        Ok(set)
    }
}

/// Reads one export held in memory, keeping every identity: for fuzzing and
/// for tools that already have the bytes. Never panics on any input.
pub fn read_bytes(
    name: &str,
    kind: Option<IdpKind>,
    bytes: &[u8],
    as_of: Timestamp,
) -> Result<IdpSet, IdpError> {
    let opened = Opened::from_reader(name.to_owned(), Box::new(std::io::Cursor::new(bytes.to_vec())))?;
    let opts = LoadOptions {
        wanted: None,
        as_of,
        lenient: false,
        csv_mapping: None,
    };
    let (source, identities) = read_opened(opened, kind, 0, &opts)?;
    Ok(IdpSet {
        sources: vec![source],
        identities,
        assignments: None,
    })
}

fn load_one(
    spec: &IdpSpec,
    source: usize,
    opts: &LoadOptions,
) -> Result<(IdpSource, Vec<Identity>), IdpError> {
    read_opened(Opened::open(&spec.path)?, spec.kind, source, opts)
}

fn read_opened(
    mut opened: Opened,
    given: Option<IdpKind>,
    source: usize,
    opts: &LoadOptions,
) -> Result<(IdpSource, Vec<Identity>), IdpError> {
    let file = opened.file.clone();
    let digest = opened.take_digest();
    let mut sink = Sink::new(source, opts.wanted, opts.as_of);
    let mut warnings = Vec::new();
    let json = opened.shape == Shape::Json;
    let kind = match opened.shape {
        Shape::Csv => {
            let mut table = Table::new(opened, opts.lenient)?;
            let kind = match given {
                Some(kind) => kind,
                None if opts.csv_mapping.is_some() => IdpKind::detect_csv(&table).unwrap_or(IdpKind::Csv),
                None => IdpKind::detect_csv(&table).ok_or_else(|| undetected(&file))?,
            };
            match kind {
                IdpKind::Okta => okta::read(&mut table, &mut sink)?,
                IdpKind::Entra => entra::read(&mut table, &mut sink)?,
                IdpKind::Google => google::read(&mut table, &mut sink)?,
                IdpKind::Onelogin => onelogin::read(&mut table, &mut sink)?,
                IdpKind::Jumpcloud => jumpcloud::read(&mut table, &mut sink)?,
                IdpKind::Hris => hris::read(&mut table, &mut sink)?,
                IdpKind::Csv => custom_csv::read(&mut table, &mut sink, opts.csv_mapping)?,
                IdpKind::OktaJson | IdpKind::EntraJson | IdpKind::Scim => {
                    return Err(IdpError::Row {
                        file,
                        line: 1,
                        reason: format!("a {kind} export is JSON, but this file is CSV"),
                    });
                }
            }
            if !table.skipped.is_empty() {
                let (line, reason) = &table.skipped[0];
                warnings.push(format!(
                    "--lenient: {} ragged rows skipped (first at line {line}: {reason})",
                    table.skipped.len()
                ));
            }
            kind
        }
        Shape::Json => {
            let arrays = given.map_or(json_doc::ANY_ARRAY, IdpKind::json_arrays);
            let mut users = JsonUsers::open(file.clone(), opened.reader, arrays)?;
            let kind = match given {
                Some(kind) => kind,
                None => IdpKind::detect_json(&users.preview()?).ok_or_else(|| undetected(&file))?,
            };
            match kind {
                IdpKind::OktaJson => okta_json::read_json(&mut users, &mut sink)?,
                IdpKind::EntraJson => entra_json::read_json(&mut users, &mut sink)?,
                IdpKind::Scim => scim::read_json(&mut users, &mut sink)?,
                IdpKind::Onelogin => onelogin::read_json(&mut users, &mut sink)?,
                IdpKind::Jumpcloud => jumpcloud::read_json(&mut users, &mut sink)?,
                _ => {
                    return Err(IdpError::Row {
                        file,
                        line: 1,
                        reason: format!("a {kind} export is CSV, but this file is JSON"),
                    });
                }
            }
            kind
        }
    };
    let by_status = sink.by_status();
    if sink.rows > 0 && !by_status.keys().any(|s| s.is_terminated()) {
        warnings.push(
            "no suspended or deprovisioned identity in this export: it may omit leavers \
             (Okta's user list drops DEPROVISIONED users unless asked), so terminated-active \
             cannot fire for people it left out"
                .to_owned(),
        );
    }
    let sha256 = match digest {
        Some(digest) => digest.finish(&file)?,
        None => String::new(),
    };
    let source = IdpSource {
        kind,
        path: file,
        json,
        sha256,
        rows: sink.rows,
        by_status,
        warnings,
    };
    Ok((source, sink.kept))
}

/// Why a record over [`MAX_RECORD_BYTES`] is refused.
pub(crate) fn too_long(what: &str) -> String {
    format!(
        "{what} longer than {} MiB: no export has one; is this a CSV or JSON export \
         (a file with no line end, or a quote or bracket never closed)?",
        MAX_RECORD_BYTES >> 20
    )
}

fn undetected(file: &str) -> IdpError {
    let mut hint = String::from("Name the kind as KIND:PATH, or give one of these exports:");
    for kind in IdpKind::ALL {
        hint.push_str(&format!("\n  {:<10} {}", kind.name(), kind.expected()));
    }
    IdpError::Undetected {
        file: file.to_owned(),
        hint,
    }
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
