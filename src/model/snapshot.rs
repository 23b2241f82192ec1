//! The snapshot file: every object exactly as the API returned it, plus how
//! it was collected. Written atomically; read back with file/line errors.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::error::ModelError;
use super::integrity::{Edits, Integrity, data_sha256_of_text};

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
    /// How the channel ended.
    pub outcome: ChannelOutcome,
}

/// How a discovery channel ended, typed; written in the snapshot as the text
/// it carries (`complete (short page)`, `not offered by this account (HTTP
/// 400 invalid_field)`, ...), so snapshots read and write as they always have.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ChannelOutcome {
    /// Read to its end; the text says how (`complete`, `complete (...)`, `complete: ...`).
    Complete(String),
    /// The account does not offer the channel (the API said so).
    NotOffered(String),
    /// Anything else: what happened, for the reader (a total reported, a
    /// channel that needed no request).
    Other(String),
}

impl ChannelOutcome {
    /// `complete (how)`.
    pub fn complete(how: &str) -> ChannelOutcome {
        ChannelOutcome::Complete(format!("complete ({how})"))
    }

    /// `complete: what was done`.
    pub fn complete_with(what: String) -> ChannelOutcome {
        ChannelOutcome::Complete(format!("complete: {what}"))
    }

    /// `not offered by this account (why)`, or without a why.
    pub fn not_offered(why: Option<&str>) -> ChannelOutcome {
        ChannelOutcome::NotOffered(match why {
            Some(why) => format!("not offered by this account ({why})"),
            None => "not offered by this account".to_owned(),
        })
    }

    pub fn text(&self) -> &str {
        match self {
            ChannelOutcome::Complete(t) | ChannelOutcome::NotOffered(t) | ChannelOutcome::Other(t) => t,
        }
    }
}

impl Default for ChannelOutcome {
    fn default() -> ChannelOutcome {
        ChannelOutcome::Other(String::new())
    }
}

impl std::fmt::Display for ChannelOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

/// The text as the snapshot holds it: the one place it is read back into a type.
impl From<String> for ChannelOutcome {
    fn from(text: String) -> ChannelOutcome {
        if text == "complete" || text.starts_with("complete (") || text.starts_with("complete: ") {
            ChannelOutcome::Complete(text)
        } else if text.starts_with("not offered") {
            ChannelOutcome::NotOffered(text)
        } else {
            ChannelOutcome::Other(text)
        }
    }
}

impl From<ChannelOutcome> for String {
    fn from(outcome: ChannelOutcome) -> String {
        match outcome {
            ChannelOutcome::Complete(t) | ChannelOutcome::NotOffered(t) | ChannelOutcome::Other(t) => t,
        }
    }
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

    /// Records the data's hash in `meta.data_sha256`: what every reader checks.
    pub fn seal(&mut self) {
        self.meta.data_sha256 = self.compute_data_sha256();
    }

    /// Reads and verifies the snapshot at `path`; an edited one is refused.
    pub fn read(path: &Path) -> Result<Snapshot, ModelError> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
        Snapshot::from_slice(&path.display().to_string(), &bytes)
    }

    /// Parses and verifies a snapshot held in memory; `file` names it in
    /// errors. One whose data does not match `meta.data_sha256` is refused.
    pub fn from_slice(file: &str, bytes: &[u8]) -> Result<Snapshot, ModelError> {
        Snapshot::from_slice_with(file, bytes, Edits::Refuse).map(|(snapshot, _)| snapshot)
    }

    /// As [`Snapshot::from_slice`], reading an edited snapshot when `edits`
    /// accepts it, and saying which it was.
    pub fn from_slice_with(
        file: &str,
        bytes: &[u8],
        edits: Edits,
    ) -> Result<(Snapshot, Integrity), ModelError> {
        let lean = LeanSnapshot::whole(file, bytes)?;
        let integrity = lean.integrity().require(file, edits)?;
        // Each object's text was checked by the read above; where one is not
        // a `Value` after all (a lone surrogate), the whole document's error
        // says where.
        let values = |texts: &[&str]| {
            texts
                .iter()
                .map(|text| serde_json::from_str(text))
                .collect::<Result<Vec<Value>, _>>()
                .map_err(|e| match serde_json::from_slice::<Snapshot>(bytes) {
                    Err(whole) => parse_error(file, &whole),
                    Ok(_) => parse_error(file, &e),
                })
        };
        let snapshot = Snapshot {
            schema_version: lean.schema_version,
            agents: values(&lean.agents)?,
            roles: values(&lean.roles)?,
            groups: values(&lean.groups)?,
            contacts: values(&lean.contacts)?,
            meta: lean.meta,
        };
        Ok((snapshot, integrity))
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

/// A snapshot whose objects stay unparsed slices of the file's text, so an
/// audit of a large account never holds the whole document as a JSON tree:
/// each object is parsed on its own (in parallel) into the model, then dropped.
#[derive(Debug)]
pub struct LeanSnapshot<'a> {
    pub schema_version: u32,
    pub meta: SnapshotMeta,
    /// Each agent object's text (no surrounding whitespace).
    pub agents: Vec<&'a str>,
    pub roles: Vec<&'a str>,
    pub groups: Vec<&'a str>,
    /// Contacts (agents deleted since a previous snapshot): kept as text, for the data's hash.
    pub contacts: Vec<&'a str>,
    /// Where the agents' syntax is left to whoever parses each one: the
    /// file's name and text, to find the error the whole document has.
    unchecked: Option<(String, &'a [u8])>,
}

impl<'a> LeanSnapshot<'a> {
    /// Checks the document's shape, and its syntax but for the inside of each
    /// agent object (see [`LeanSnapshot::recheck`]); `file` names it in errors.
    ///
    /// The agents, nearly all of a large snapshot, are only delimited here:
    /// parsing each one checks it anyway, on every core. Anything unexpected
    /// (a document serde_json would reject, or one this outline does not
    /// follow) is read as a whole document instead, errors and all.
    pub fn from_slice(file: &str, bytes: &'a [u8]) -> Result<LeanSnapshot<'a>, ModelError> {
        if let Some(lean) = outline(bytes)
            && lean.schema_version == SCHEMA_VERSION
        {
            return Ok(LeanSnapshot {
                unchecked: Some((file.to_owned(), bytes)),
                ..lean
            });
        }
        LeanSnapshot::whole(file, bytes)
    }

    /// The document read as a whole by serde_json, every object checked.
    fn whole(file: &str, bytes: &'a [u8]) -> Result<LeanSnapshot<'a>, ModelError> {
        let whole = checked::read(file, bytes)?;
        Ok(LeanSnapshot {
            schema_version: whole.schema_version,
            meta: whole.meta,
            agents: whole.agents.iter().map(|raw| raw.get()).collect(),
            roles: whole.roles.iter().map(|raw| raw.get()).collect(),
            groups: whole.groups.iter().map(|raw| raw.get()).collect(),
            contacts: whole.contacts.iter().map(|raw| raw.get()).collect(),
            unchecked: None,
        })
    }

    /// Whether the data is what `meta.data_sha256` says it is.
    pub fn integrity(&self) -> Integrity {
        let computed = data_sha256_of_text(&self.agents, &self.roles, &self.groups, &self.contacts);
        Integrity::of(&self.meta.data_sha256, computed)
    }

    /// Where reading an object failed: the error the whole document has, if
    /// it has one (as a [`ModelError::Parse`] naming the file), so a broken
    /// file reads as broken whichever way it was read.
    pub(crate) fn recheck(&self) -> Result<(), ModelError> {
        match &self.unchecked {
            Some((file, bytes)) => checked::read(file, bytes).map(drop),
            None => Ok(()),
        }
    }
}

/// Reading the whole document with serde_json: its errors are the ones
/// reported, whichever way the snapshot was read.
mod checked {
    use serde::Deserialize;
    use serde_json::value::RawValue;

    use super::{ModelError, SnapshotMeta, check_version, parse_error};

    /// Named as the public type was, for serde_json's messages.
    #[derive(Deserialize)]
    pub(super) struct LeanSnapshot<'a> {
        pub(super) schema_version: u32,
        pub(super) meta: SnapshotMeta,
        #[serde(borrow)]
        pub(super) agents: Vec<&'a RawValue>,
        #[serde(borrow)]
        pub(super) roles: Vec<&'a RawValue>,
        #[serde(borrow)]
        pub(super) groups: Vec<&'a RawValue>,
        #[serde(borrow, default)]
        pub(super) contacts: Vec<&'a RawValue>,
    }

    pub(super) fn read<'a>(file: &str, bytes: &'a [u8]) -> Result<LeanSnapshot<'a>, ModelError> {
        let snapshot: LeanSnapshot = serde_json::from_slice(bytes).map_err(|e| parse_error(file, &e))?;
        check_version(file, snapshot.schema_version)?;
        Ok(snapshot)
    }
}

/// The fast read: the top-level `agents` array is cut into its objects by
/// matching braces outside strings; the rest of the document, with `[]` in
/// the array's place, is parsed by serde_json. `None` where anything is not
/// as expected.
///
/// Why a document read this way is one serde_json accepts, once each agent
/// object parses on its own (which [`Directory::from_lean`] does): the rest
/// is valid JSON with the `[]` as the top-level `agents` value, and the
/// array is `[`, valid values separated by `,` and whitespace, `]`. Each
/// object is valid UTF-8 and nests under 100 levels here, within serde_json's
/// limit at its depth in the document.
///
/// [`Directory::from_lean`]: super::Directory::from_lean
fn outline(bytes: &[u8]) -> Option<LeanSnapshot<'_>> {
    /// The rest of the document; the name is not shown anywhere.
    #[derive(Deserialize)]
    struct Outline<'r> {
        schema_version: u32,
        meta: SnapshotMeta,
        #[serde(borrow)]
        agents: &'r RawValue,
        #[serde(borrow)]
        roles: Vec<&'r RawValue>,
        #[serde(borrow)]
        groups: Vec<&'r RawValue>,
        #[serde(borrow, default)]
        contacts: Vec<&'r RawValue>,
    }

    let start = agents_value(bytes)?;
    let (agents, end) = agent_objects(bytes, start)?;
    let array = start..end;
    let mut rest = Vec::with_capacity(bytes.len() - array.len() + 2);
    rest.extend_from_slice(&bytes[..array.start]);
    rest.extend_from_slice(b"[]");
    rest.extend_from_slice(&bytes[array.end..]);
    let outline: Outline = serde_json::from_slice(&rest).ok()?;
    let offset = |raw: &RawValue| raw.get().as_ptr() as usize - rest.as_ptr() as usize;
    if offset(outline.agents) != array.start || outline.agents.get() != "[]" {
        return None;
    }
    // The same text in the file: past the array, shifted by its length.
    let in_file = |raw: &&RawValue| {
        let start = match offset(raw) {
            at if at < array.start => at,
            at => at - 2 + array.len(),
        };
        std::str::from_utf8(&bytes[start..start + raw.get().len()]).ok()
    };
    Some(LeanSnapshot {
        schema_version: outline.schema_version,
        meta: outline.meta,
        agents,
        roles: outline.roles.iter().map(in_file).collect::<Option<_>>()?,
        groups: outline.groups.iter().map(in_file).collect::<Option<_>>()?,
        contacts: outline.contacts.iter().map(in_file).collect::<Option<_>>()?,
        unchecked: None,
    })
}

fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// The end of the string whose opening quote is at `at` (past its closing quote).
fn skip_string(bytes: &[u8], at: usize) -> Option<usize> {
    let mut from = at + 1;
    loop {
        let quote = from + memchr::memchr(b'"', bytes.get(from..)?)?;
        if !escaped(bytes, quote) {
            return Some(quote + 1);
        }
        from = quote + 1;
    }
}

/// Whether the quote at `at` follows an odd run of backslashes.
fn escaped(bytes: &[u8], at: usize) -> bool {
    bytes[..at].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

/// Where the top-level `agents` value starts; the values before it are
/// skipped, not checked.
fn agents_value(bytes: &[u8]) -> Option<usize> {
    let mut at = skip_ws(bytes, 0);
    (bytes.get(at) == Some(&b'{')).then_some(())?;
    at += 1;
    loop {
        at = skip_ws(bytes, at);
        (bytes.get(at) == Some(&b'"')).then_some(())?;
        let key_end = skip_string(bytes, at)?;
        let key = &bytes[at + 1..key_end - 1];
        at = skip_ws(bytes, key_end);
        (bytes.get(at) == Some(&b':')).then_some(())?;
        at = skip_ws(bytes, at + 1);
        if key == b"agents" {
            return Some(at);
        }
        at = skip_ws(bytes, skip_value(bytes, at)?);
        (bytes.get(at) == Some(&b',')).then_some(())?;
        at += 1;
    }
}

/// The end of the value at `at`: strings and nested brackets are followed,
/// anything else runs to the next delimiter.
fn skip_value(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'"' => skip_string(bytes, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match bytes.get(i)? {
                    b'"' => {
                        i = skip_string(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let len = bytes[at..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))?;
            Some(at + len)
        }
    }
}

/// The text of each object in the array at `start`, and the array's end
/// (past its `]`); `None` unless the array holds only objects, separated by
/// commas, each in valid UTF-8 and nesting under 100 levels.
fn agent_objects(bytes: &[u8], start: usize) -> Option<(Vec<&str>, usize)> {
    (bytes.get(start) == Some(&b'[')).then_some(())?;
    let mut objects = Vec::new();
    let mut at = skip_ws(bytes, start + 1);
    if bytes.get(at) == Some(&b']') {
        return Some((objects, at + 1));
    }
    loop {
        let end = object_end(bytes, at)?;
        objects.push(std::str::from_utf8(&bytes[at..end]).ok()?);
        at = skip_ws(bytes, end);
        match bytes.get(at)? {
            b',' => at = skip_ws(bytes, at + 1),
            b']' => return Some((objects, at + 1)),
            _ => return None,
        }
    }
}

/// Past the `}` matching the `{` at `at`. Only braces are visited, a handful
/// per agent: whether one is inside a string is the parity of the quotes
/// since the last (counted in bulk, or byte by byte where there is a
/// backslash).
fn object_end(bytes: &[u8], at: usize) -> Option<usize> {
    (bytes.get(at) == Some(&b'{')).then_some(())?;
    let (mut depth, mut deepest, mut in_string, mut from) = (0usize, 0usize, false, at);
    for brace in memchr::memchr2_iter(b'{', b'}', &bytes[at..]).map(|i| at + i) {
        in_string = in_string_after(&bytes[from..brace], in_string);
        from = brace;
        if in_string {
            continue;
        }
        if bytes[brace] == b'{' {
            depth += 1;
            deepest = deepest.max(depth);
            continue;
        }
        depth -= 1;
        if depth == 0 {
            let end = brace + 1;
            // Lists nest too, at most as deep as there are `[`.
            let lists = memchr::memchr_iter(b'[', &bytes[at..end]).count();
            return (deepest + lists < 100).then_some(end);
        }
    }
    None
}

/// Whether a string is open after `text`, given whether one was before it.
fn in_string_after(text: &[u8], mut in_string: bool) -> bool {
    if memchr::memchr(b'\\', text).is_none() {
        return in_string ^ (memchr::memchr_iter(b'"', text).count() % 2 == 1);
    }
    let mut escape = false;
    for &b in text {
        if escape {
            escape = false;
        } else if b == b'\\' {
            escape = in_string;
        } else if b == b'"' {
            in_string = !in_string;
        }
    }
    in_string
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Directory;

    fn snapshot(agents: Vec<Value>) -> Snapshot {
        Snapshot {
            schema_version: SCHEMA_VERSION,
            meta: SnapshotMeta {
                domain: "acme".into(),
                collected_at: "2026-10-01T00:00:00Z".parse().expect("ts"),
                ..SnapshotMeta::default()
            },
            agents,
            roles: vec![json!({"id": 1, "name": "Admin {\"x\"}", "default": true})],
            groups: vec![
                json!({"id": 10, "name": "G]", "agent_ids": [1, "2", null]}),
                json!({"id": 11, "name": "H", "agent_ids": [2]}),
            ],
            contacts: vec![json!({"id": 9, "deleted": true})],
        }
    }

    fn agents() -> Vec<Value> {
        vec![
            json!({"id": 1, "group_ids": [10], "contact": {"email": "a@x", "name": "A } { \\"}, "signature": "\\\"}"}),
            json!({"id": 2, "contact": {"email": "b@x", "active": false}, "skill_ids": [[[]]], "x": {"y": {"z": "]"}}}),
            json!({"id": "3", "type": "collaborator", "ticket_scope": 3, "last_active_at": "2026-01-01T00:00:00+05:30"}),
        ]
    }

    /// The audit's route (outline first), or the whole-document read: the
    /// directory or the message, as the audit would print it.
    fn read(bytes: &[u8], outline: bool) -> Result<String, String> {
        let lean = if outline {
            LeanSnapshot::from_slice("snap.json", bytes)
        } else {
            LeanSnapshot::whole("snap.json", bytes)
        }
        .map_err(|e| format!("phase 1: {e}"))?;
        let directory = Directory::from_lean(&lean).map_err(|e| match e {
            ModelError::Parse { .. } => format!("phase 1: {e}"),
            e => format!("phase 2: {e}"),
        })?;
        Ok(format!("{:?} {:?}", lean.meta, directory))
    }

    #[test]
    fn channel_outcomes_read_and_write_as_the_text_they_always_were() {
        for (text, complete, not_offered) in [
            ("complete", true, false),
            ("complete (short page)", true, false),
            ("complete: roles for 3 agents from 2 group listings", true, false),
            ("completed elsewhere", false, false),
            (
                "not offered by this account (HTTP 400 invalid_field)",
                false,
                true,
            ),
            ("account reports 42 agents", false, false),
            ("stopped", false, false),
        ] {
            let outcome: ChannelOutcome = serde_json::from_value(json!(text)).expect("reads");
            assert_eq!(matches!(outcome, ChannelOutcome::Complete(_)), complete, "{text}");
            assert_eq!(
                matches!(outcome, ChannelOutcome::NotOffered(_)),
                not_offered,
                "{text}"
            );
            assert_eq!(serde_json::to_value(&outcome).expect("writes"), json!(text));
        }
        assert_eq!(
            ChannelOutcome::complete("short page").text(),
            "complete (short page)"
        );
        assert_eq!(
            ChannelOutcome::not_offered(Some("HTTP 404")).text(),
            "not offered by this account (HTTP 404)"
        );
    }

    #[test]
    fn outline_reads_what_the_whole_document_holds() {
        let snap = snapshot(agents());
        for bytes in [
            serde_json::to_vec_pretty(&snap).expect("json"),
            serde_json::to_vec(&snap).expect("json"),
        ] {
            let fast = LeanSnapshot::from_slice("snap.json", &bytes).expect("reads");
            assert!(fast.unchecked.is_some(), "took the outline");
            let whole = LeanSnapshot::whole("snap.json", &bytes).expect("reads");
            assert_eq!(
                (&fast.agents, &fast.roles, &fast.groups),
                (&whole.agents, &whole.roles, &whole.groups)
            );
            assert_eq!(format!("{:?}", fast.meta), format!("{:?}", whole.meta));
            let directory = read(&bytes, true).expect("directory");
            assert_eq!(directory, read(&bytes, false).expect("directory"));
            assert!(directory.contains("group_ids: [10, 11]"), "{directory}");
        }
        // No agents at all; agents after the other arrays.
        let empty = serde_json::to_vec_pretty(&snapshot(Vec::new())).expect("json");
        assert_eq!(read(&empty, true), read(&empty, false));
        let late = format!(
            r#"{{"meta": {}, "roles": [], "groups": [], "schema_version": 1, "agents": [ {{"id": 5}} ] }}"#,
            serde_json::to_string(&snapshot(Vec::new()).meta).expect("json")
        );
        assert!(
            LeanSnapshot::from_slice("snap.json", late.as_bytes())
                .expect("reads")
                .unchecked
                .is_some()
        );
        assert_eq!(read(late.as_bytes(), true), read(late.as_bytes(), false));
    }

    #[test]
    fn broken_documents_give_the_whole_documents_errors() {
        let bytes = serde_json::to_vec_pretty(&snapshot(agents())).expect("json");
        let mut cases = 0;
        // Every truncation, and single bytes replaced where it hurts.
        for len in 0..bytes.len() {
            let cut = &bytes[..len];
            assert_eq!(read(cut, true), read(cut, false), "cut at {len}");
            cases += 1;
        }
        for at in 0..bytes.len() {
            for b in [b'}', b'{', b'"', b'\\', b',', b']', b'x', 0xff] {
                let mut bad = bytes.clone();
                bad[at] = b;
                assert_eq!(read(&bad, true), read(&bad, false), "byte {at} set to {b}");
                cases += 1;
            }
        }
        assert!(
            read(&bytes[..bytes.len() / 2], true)
                .expect_err("truncated")
                .starts_with("phase 1: snap.json:")
        );
        eprintln!("{cases} broken documents");
    }

    #[test]
    fn odd_documents_are_read_whole() {
        let meta = serde_json::to_string(&snapshot(Vec::new()).meta).expect("json");
        let doc = |agents: &str| {
            format!(
                r#"{{"schema_version": 1, "meta": {meta}, "agents": {agents}, "roles": [], "groups": []}}"#
            )
        };
        let deep = format!("[{{\"id\": 1, \"x\": {}1{}}}]", "[".repeat(124), "]".repeat(124));
        for agents in [
            "[5]".to_owned(),
            "[{\"id\": 1} {\"id\": 2}]".to_owned(),
            "[{\"id\": 1},]".to_owned(),
            "{}".to_owned(),
            "[{\"id\": 1, \"name\": \"\\ud800\"}]".to_owned(),
            "[{\"id\": 1, \"x\": \"\\ud800\"}]".to_owned(),
            "[{\"id\": 1, \"contact\": {\"x\": 1e999}}]".to_owned(),
            deep,
        ] {
            let text = doc(&agents);
            assert_eq!(
                read(text.as_bytes(), true),
                read(text.as_bytes(), false),
                "{agents}"
            );
        }
        // A repeated `agents` key, and one spelt with an escape.
        let twice = doc("[]").replace(r#""roles""#, r#""agents": [{"id": 2}], "roles""#);
        assert_eq!(read(twice.as_bytes(), true), read(twice.as_bytes(), false));
        let escaped = doc("[{\"id\": 3}]").replace(r#""agents""#, r#""\u0061gents""#);
        assert!(read(escaped.as_bytes(), true).expect("reads").contains("id: 3"));
        let version = doc("[{\"id\": }]").replace(r#""schema_version": 1"#, r#""schema_version": 2"#);
        assert_eq!(read(version.as_bytes(), true), read(version.as_bytes(), false));
        assert!(
            read(version.as_bytes(), true)
                .expect_err("bad")
                .contains("expected value")
        );
    }

    #[test]
    fn escapes_and_brackets_in_strings() {
        let tricky = [
            "\\", "\"", "\\\"", "\\\\", "}", "]", "{[", "\\}", "\"}\\\"{", "é}",
        ];
        for pad in 0..70 {
            let agents = (0..4)
                .map(|i| {
                    let name: String = tricky.iter().cycle().skip(i + pad).take(pad % 7 + 1).copied().collect();
                    json!({"id": i + 1, "pad": "p".repeat(pad), "name": name, "list": [{"a": [name.clone()]}]})
                })
                .collect();
            let bytes = serde_json::to_vec_pretty(&snapshot(agents)).expect("json");
            let fast = LeanSnapshot::from_slice("snap.json", &bytes).expect("reads");
            assert!(fast.unchecked.is_some(), "took the outline at pad {pad}");
            assert_eq!(
                fast.agents,
                LeanSnapshot::whole("snap.json", &bytes).expect("reads").agents
            );
            assert_eq!(read(&bytes, true), read(&bytes, false));
        }
    }
}
