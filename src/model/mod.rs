//! The audited population as typed values, read leniently from the raw API
//! objects that the snapshot keeps verbatim.

mod agent;
mod completeness;
mod directory;
mod error;
mod integrity;
mod lenient;
pub mod snapshot;
pub mod time;

pub use agent::{Agent, AgentStatus, TicketScope};
pub use completeness::{Check, Completeness, CompletenessCheck, Verdict};
pub use directory::{Directory, Group, InAccount, Role};
pub use error::ModelError;
pub use integrity::{Edits, Integrity};
pub use snapshot::{LeanSnapshot, Snapshot, SnapshotMeta};
