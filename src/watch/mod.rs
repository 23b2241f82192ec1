//! Watch: continuous monitoring between reviews. Freshdesk sends no webhook
//! when an agent is created, deactivated or given a role, so watch polls:
//! each poll is a complete collection (the collector's proof, never part of
//! a population), and two complete polls give change events
//! ([`changes`], a pure function of the two), kept in an append-only,
//! fsynced `events.jsonl` beside the last snapshot ([`StateDir`]), mapped to
//! OCSF ([`ocsf`]) and delivered to a webhook ([`webhook`]).
//!
//! The rules run in the command layer, which hands the findings in as
//! [`FindingView`]s: watch sits above `collect` and `model`, below `commands`.

mod changes;
mod event;
mod log;
mod observed;
pub mod ocsf;
mod state;
pub mod webhook;

pub use changes::{Change, Subject, baseline, carry_deleted, changes};
pub use event::{AgentRef, Event, EventKind, FindingRef, NamedRef, PollContext, SCHEMA_VERSION, assemble};
pub use log::{EventLog, read_events};
pub use observed::{AgentView, FindingView, Named, Observed, Status};
pub use state::{
    EVENTS, PENDING_SNAPSHOT, PENDING_STATE, Prepared, Recovery, SNAPSHOT, STATE, Staged, StateDir,
};

use std::path::Path;

/// How events are written for their readers (stdout, the webhook);
/// `events.jsonl` is always the native format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum EventsFormat {
    /// deskaudit's own event objects (`schema_version` 1, docs/watch.md).
    #[default]
    Native,
    /// OCSF 1.1.0 objects: Account Change, User Access Management, Entity
    /// Management, Detection Finding, Base Event.
    Ocsf,
}

impl EventsFormat {
    /// The JSON objects `event` is written as: one, or for OCSF a grant and
    /// a revoke where a change did both.
    pub fn render(self, event: &Event) -> Vec<serde_json::Value> {
        match self {
            EventsFormat::Native => vec![serde_json::to_value(event).unwrap_or_default()],
            EventsFormat::Ocsf => ocsf::from_event(event),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The file system failed (permissions, full disk): exit 4.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// The state directory holds something watch did not write, or that
    /// disagrees with itself: exit 2, nothing is changed.
    #[error("{path}: {reason}")]
    State { path: String, reason: String },
    /// The directory is locked by another watch, or cannot be locked.
    #[error(transparent)]
    Lock(#[from] crate::rundir::OutputError),
    /// A complete snapshot the model cannot read (a field of the wrong type).
    #[error("the snapshot cannot be read: {0}")]
    Model(String),
}

impl WatchError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> WatchError {
        WatchError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    pub(crate) fn state(path: &Path, reason: String) -> WatchError {
        WatchError::State {
            path: path.display().to_string(),
            reason,
        }
    }
}
