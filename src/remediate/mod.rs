//! Closing the loop: the reviewers' decisions carried out in Freshdesk.
//!
//! `plan` turns a run's recorded decisions into actions with the state each
//! agent had when reviewed; a second person approves the plan by its id;
//! `apply` reads every agent before writing (drift means no write), writes
//! once, reads back to verify, and journals each step (fsynced) so that a
//! crash resumes without writing twice. Plain synchronous code over an
//! [`Api`]; the HTTP side is `collect::AgentApi`.

mod apis;
mod apply;
mod journal;
mod outcome;
mod plan;
mod run;
mod state;

pub use apis::Apis;
pub use apply::{Api, Applied, ApplyOptions, apply, apply_accounts};
pub use journal::{Entry as JournalEntry, JOURNAL_JSONL, Journal, Step, read_entries as read_journal};
pub use outcome::{ActionOutcome, OUTCOME_JSON, Outcome, Remediation};
pub use plan::{Action, ActionKind, PLAN_JSON, Plan, PlanRun, Targets, build, write_table};
pub use run::read_outcome;
pub use state::{AgentState, Changes, Status};

use crate::collect::CollectError;
use crate::model::ModelError;
use crate::rundir::RunDirError;

#[derive(Debug, thiserror::Error)]
pub enum RemediateError {
    /// A plan, journal or approval that cannot be used (exit 2).
    #[error("{file}: {reason}")]
    Plan { file: String, reason: String },
    #[error("{file}:{line}:{column}: {reason}")]
    Parse {
        file: String,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Run(#[from] RunDirError),
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The API could not be reached, or refused us (exit 3): the journal
    /// keeps what was done.
    #[error("{0}; the journal keeps every step done so far, and a re-run resumes from it")]
    Api(#[from] CollectError),
}
