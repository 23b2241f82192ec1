//! The state directory: the last complete poll and every event since the
//! first, kept so that a crash at any point neither loses nor repeats an
//! event.
//!
//! A poll is recorded in steps, each durable (fsynced, renames followed by
//! an fsync of the directory) before the next:
//! 1. [`StateDir::stage`]: the new snapshot to `snapshot.pending.json`;
//! 2. [`Staged::prepare`]: the poll's events, numbered, with the new state,
//!    to `state.pending.json`: from here on the poll is promised;
//! 3. [`Prepared::append`]: the events to `events.jsonl`;
//! 4. [`Prepared::install`]: `snapshot.pending.json` → `snapshot.json`;
//! 5. [`Prepared::finish`]: `state.pending.json` → `state.json`.
//!
//! [`StateDir::open`] finishes a promised poll: it appends the events the
//! log does not have yet (known by their ids: the log must hold a prefix of
//! them), then steps 4 and 5. A poll staged but not promised is dropped, and
//! the next poll compares against the last complete one again, so its
//! changes are found then. A failed poll appends `poll.failed` only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::WatchError;
use super::changes::{baseline, carry_deleted, changes};
use super::event::{self, Event, PollContext};
use super::log::EventLog;
use super::observed::{AgentView, FindingView, Observed};
use crate::model::Snapshot;
use crate::rundir::DirLock;

pub const SNAPSHOT: &str = "snapshot.json";
pub const STATE: &str = "state.json";
pub const EVENTS: &str = "events.jsonl";
pub const PENDING_SNAPSHOT: &str = "snapshot.pending.json";
pub const PENDING_STATE: &str = "state.pending.json";
const STATE_VERSION: u32 = 1;

/// `state.json`: the last complete poll, what the next one is compared
/// with beyond its snapshot, and the events it gave.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Record {
    schema_version: u32,
    domain: String,
    poll_id: String,
    started_at: Timestamp,
    observed_at: Timestamp,
    snapshot_sha256: String,
    /// Open findings (`null`: the rules did not run).
    findings: Option<Vec<FindingView>>,
    /// Agents seen deleted and not back, as last seen.
    deleted: Vec<AgentView>,
    events: Vec<Event>,
}

/// What opening the directory had to mend.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// A poll promised before a crash, now complete, and the events it appended.
    pub finished_poll: Option<(String, usize)>,
    /// A snapshot staged but never promised, removed.
    pub dropped_staged: bool,
    /// Bytes of a torn last line cut off `events.jsonl`.
    pub torn_bytes: u64,
}

/// The state directory, locked against a second watch while open.
pub struct StateDir {
    dir: PathBuf,
    log: EventLog,
    last: Option<Observed>,
    /// Written into every event where several accounts are watched.
    account: Option<String>,
    _lock: DirLock,
}

impl StateDir {
    /// Creates or opens `dir`, takes its lock, and finishes or drops
    /// whatever a crash left half done.
    pub fn open(dir: &Path) -> Result<(StateDir, Recovery), WatchError> {
        std::fs::create_dir_all(dir).map_err(|e| WatchError::io(dir, e))?;
        let lock = DirLock::acquire(dir)?;
        let (mut log, torn_bytes) = EventLog::open(&dir.join(EVENTS))?;
        let mut recovery = Recovery {
            torn_bytes,
            ..Recovery::default()
        };
        if let Some(pending) = read_record(&dir.join(PENDING_STATE))? {
            recovery.finished_poll =
                Some((pending.poll_id.clone(), finish_promised(dir, &mut log, &pending)?));
        } else if dir.join(PENDING_SNAPSHOT).exists() {
            remove(&dir.join(PENDING_SNAPSHOT))?;
            recovery.dropped_staged = true;
        }
        let last = match read_record(&dir.join(STATE))? {
            Some(record) => Some(load_last(dir, record)?),
            None if dir.join(SNAPSHOT).exists() => {
                return Err(WatchError::state(
                    &dir.join(STATE),
                    "missing beside snapshot.json: this is not a watch state directory, or it was edited"
                        .into(),
                ));
            }
            None => None,
        };
        let state = StateDir {
            dir: dir.to_path_buf(),
            log,
            last,
            account: None,
            _lock: lock,
        };
        Ok((state, recovery))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every event recorded from now on names `account` (`watch --accounts`).
    pub fn label_events(&mut self, account: &str) {
        self.account = Some(account.to_owned());
    }

    /// The last complete poll, if any.
    pub fn last(&self) -> Option<&Observed> {
        self.last.as_ref()
    }

    pub fn log(&self) -> &EventLog {
        &self.log
    }

    /// Records a poll that did not complete (started at `started_at`): one
    /// `poll.failed` event, and nothing else changes.
    pub fn record_failure(
        &mut self,
        domain: &str,
        started_at: Timestamp,
        error: &str,
    ) -> Result<Event, WatchError> {
        let previous_at = self.last.as_ref().map(|l| l.started_at);
        let mut ctx = PollContext::failed(domain, started_at, Timestamp::now(), previous_at);
        ctx.account.clone_from(&self.account);
        let event = event::failure(&ctx, started_at, error, self.log.next_seq());
        self.log.append(std::slice::from_ref(&event))?;
        Ok(event)
    }

    /// Step 1: the complete snapshot of a new poll, written beside the last
    /// one. A snapshot of another account is refused.
    pub fn stage(&mut self, snapshot: &Snapshot) -> Result<Staged<'_>, WatchError> {
        let path = self.dir.join(PENDING_SNAPSHOT);
        let observed = Observed::from_snapshot(snapshot).map_err(|e| WatchError::Model(e.to_string()))?;
        if let Some(last) = &self.last
            && last.domain != observed.domain
        {
            return Err(WatchError::state(
                &self.dir,
                format!(
                    "holds the account `{}`, not `{}`: use one state directory per account",
                    last.domain, observed.domain
                ),
            ));
        }
        snapshot
            .write_atomic(&path)
            .map_err(|e| WatchError::io(&path, e))?;
        sync_dir(&path)?;
        Ok(Staged {
            state: self,
            observed,
            path,
        })
    }

    /// Steps 1 to 5 at once.
    pub fn commit(
        &mut self,
        snapshot: &Snapshot,
        findings: Option<Vec<FindingView>>,
    ) -> Result<Vec<Event>, WatchError> {
        let mut prepared = self.stage(snapshot)?.prepare(findings)?;
        prepared.append()?;
        prepared.install()?;
        prepared.finish()
    }
}

/// A new poll's snapshot, written, not yet promised.
pub struct Staged<'a> {
    state: &'a mut StateDir,
    observed: Observed,
    path: PathBuf,
}

impl<'a> Staged<'a> {
    /// The staged snapshot, for the rules to read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Drops the poll (the rules could not run): nothing was promised.
    pub fn abandon(self) -> Result<(), WatchError> {
        remove(&self.path)
    }

    /// Step 2: the poll's events against the last complete poll (the
    /// baseline for the first), with `findings` when the rules ran.
    pub fn prepare(self, findings: Option<Vec<FindingView>>) -> Result<Prepared<'a>, WatchError> {
        let Staged { state, observed, .. } = self;
        let mut cur = observed.with_findings(findings);
        let found = match &state.last {
            Some(prev) => {
                cur.deleted = carry_deleted(prev, &cur);
                changes(prev, &cur)
            }
            None => vec![baseline(&cur)],
        };
        let mut ctx = PollContext::new(&cur, state.last.as_ref());
        ctx.account.clone_from(&state.account);
        let events = event::assemble(&ctx, found, state.log.next_seq());
        let record = Record {
            schema_version: STATE_VERSION,
            domain: cur.domain.clone(),
            poll_id: ctx.poll_id,
            started_at: cur.started_at,
            observed_at: cur.collected_at,
            snapshot_sha256: cur.snapshot_sha256.clone(),
            findings: cur.findings.as_ref().map(|f| f.values().cloned().collect()),
            deleted: cur.deleted.values().cloned().collect(),
            events,
        };
        write_json(&state.dir.join(PENDING_STATE), &record)?;
        Ok(Prepared {
            state,
            record,
            observed: cur,
        })
    }
}

/// A promised poll: its events are owed to the log.
pub struct Prepared<'a> {
    state: &'a mut StateDir,
    record: Record,
    observed: Observed,
}

impl Prepared<'_> {
    pub fn events(&self) -> &[Event] {
        &self.record.events
    }

    /// Step 3.
    pub fn append(&mut self) -> Result<(), WatchError> {
        self.state.log.append(&self.record.events)
    }

    /// Step 4.
    pub fn install(&mut self) -> Result<(), WatchError> {
        rename(
            &self.state.dir.join(PENDING_SNAPSHOT),
            &self.state.dir.join(SNAPSHOT),
        )
    }

    /// Step 5: the poll is the last complete one; its events.
    pub fn finish(self) -> Result<Vec<Event>, WatchError> {
        let dir = &self.state.dir;
        rename(&dir.join(PENDING_STATE), &dir.join(STATE))?;
        self.state.last = Some(self.observed);
        Ok(self.record.events)
    }
}

/// Completes a poll promised before a crash; returns how many events it appended.
fn finish_promised(dir: &Path, log: &mut EventLog, pending: &Record) -> Result<usize, WatchError> {
    let staged = dir.join(PENDING_SNAPSHOT);
    let snapshot = if staged.exists() {
        staged.clone()
    } else {
        dir.join(SNAPSHOT)
    };
    let sha = Snapshot::read(&snapshot)
        .map_err(|e| WatchError::state(&snapshot, e.to_string()))?
        .meta
        .data_sha256;
    if sha != pending.snapshot_sha256 {
        return Err(WatchError::state(
            &dir.join(PENDING_STATE),
            format!(
                "promises the snapshot {} but {} holds {sha}",
                pending.snapshot_sha256,
                snapshot.display()
            ),
        ));
    }
    let written = log.written_for(&pending.poll_id).to_vec();
    let promised: Vec<&str> = pending.events.iter().map(|e| e.event_id.as_str()).collect();
    if promised.get(..written.len()) != Some(&written.iter().map(String::as_str).collect::<Vec<_>>()[..]) {
        return Err(WatchError::state(
            log.path(),
            format!(
                "ends with events of poll {} that it did not promise",
                pending.poll_id
            ),
        ));
    }
    let owed = &pending.events[written.len()..];
    log.append(owed)?;
    if staged.exists() {
        rename(&staged, &dir.join(SNAPSHOT))?;
    }
    rename(&dir.join(PENDING_STATE), &dir.join(STATE))?;
    Ok(owed.len())
}

/// The last complete poll from `state.json` and `snapshot.json`, which must agree.
fn load_last(dir: &Path, record: Record) -> Result<Observed, WatchError> {
    let path = dir.join(SNAPSHOT);
    let snapshot = Snapshot::read(&path).map_err(|e| WatchError::state(&path, e.to_string()))?;
    if snapshot.meta.data_sha256 != record.snapshot_sha256 {
        return Err(WatchError::state(
            &dir.join(STATE),
            format!(
                "records the snapshot {} but snapshot.json holds {}",
                record.snapshot_sha256, snapshot.meta.data_sha256
            ),
        ));
    }
    let mut last = Observed::from_snapshot(&snapshot)
        .map_err(|e| WatchError::state(&path, e.to_string()))?
        .with_findings(record.findings);
    last.deleted = record
        .deleted
        .into_iter()
        .map(|a| (a.id, a))
        .collect::<BTreeMap<_, _>>();
    Ok(last)
}

fn read_record(path: &Path) -> Result<Option<Record>, WatchError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(WatchError::io(path, e)),
    };
    let record: Record =
        serde_json::from_slice(&bytes).map_err(|e| WatchError::state(path, e.to_string()))?;
    if record.schema_version != STATE_VERSION {
        return Err(WatchError::state(
            path,
            format!("schema_version {} is not {STATE_VERSION}", record.schema_version),
        ));
    }
    Ok(Some(record))
}

/// Writes `value` as JSON to a temporary sibling, fsyncs, renames it over
/// `path`, and fsyncs the directory: whole or absent, and durable.
pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<(), WatchError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| WatchError::io(dir, e))?;
    let mut out = std::io::BufWriter::new(tmp.as_file_mut());
    serde_json::to_writer(&mut out, value).map_err(|e| WatchError::io(path, e.into()))?;
    std::io::Write::flush(&mut out).map_err(|e| WatchError::io(path, e))?;
    drop(out);
    tmp.as_file().sync_all().map_err(|e| WatchError::io(path, e))?;
    tmp.persist(path).map_err(|e| WatchError::io(path, e.error))?;
    sync_dir(path)
}

/// Fsyncs the directory holding `path`, so a rename or a new file in it is durable.
pub(crate) fn sync_dir(path: &Path) -> Result<(), WatchError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| WatchError::io(dir, e))?;
    Ok(())
}

fn rename(from: &Path, to: &Path) -> Result<(), WatchError> {
    std::fs::rename(from, to).map_err(|e| WatchError::io(from, e))?;
    sync_dir(to)
}

fn remove(path: &Path) -> Result<(), WatchError> {
    match std::fs::remove_file(path) {
        Ok(()) => sync_dir(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(WatchError::io(path, e)),
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
