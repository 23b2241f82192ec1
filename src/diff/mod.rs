//! What changed between two review periods: findings new, resolved, accepted
//! and persisting; agents added, removed and changed; and whether the
//! reviewers' decisions of the earlier period were carried out.
//!
//! Plain synchronous functions over two [`Side`]s. A side is read from a
//! finished audit directory ([`Side::from_run_dir`]) or built from the audit
//! running now (`audit --previous-run`), so `deskaudit diff` and the report
//! see the same [`Diff`]. [`Diff`] is the public JSON (`schema_version` 1).

mod accounts;
mod agents;
mod decisions;
mod findings;
mod side;
mod text;

use std::path::Path;

use jiff::Timestamp;
use serde::Serialize;

pub use accounts::AccountChanges;
pub use agents::{AgentChanges, AgentSummary, RemovalReason};
pub use decisions::{DecisionCheck, DecisionChecks, Outcome};
pub use findings::{FindingChange, FindingChanges};
pub use side::{AccountRef, Fate, MatchedBy, Population, Side};
pub use text::write_text;

use crate::rundir::RunDirError;

pub const SCHEMA_VERSION: u32 = 1;
/// The file `audit --previous-run` writes next to findings.json.
pub const DIFF_JSON: &str = "diff.json";

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("{dir}: not an audit directory (no run.json; expected the --out directory of `deskaudit audit`)")]
    NotARun { dir: String },
    #[error("{0}")]
    RunDir(#[source] RunDirError),
    #[error("{file}: {reason}")]
    Snapshot { file: String, reason: String },
    #[error("{0}")]
    Remediation(String),
}

impl DiffError {
    pub(crate) fn run_dir(dir: &Path, e: RunDirError) -> DiffError {
        let missing_run_json = matches!(&e, RunDirError::Io { source, .. }
            if source.kind() == std::io::ErrorKind::NotFound)
            && !dir.join(crate::rundir::RUN_JSON).is_file();
        if missing_run_json {
            DiffError::NotARun {
                dir: dir.display().to_string(),
            }
        } else {
            DiffError::RunDir(e)
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Diff {
    pub schema_version: u32,
    pub old: RunRef,
    pub new: RunRef,
    /// Reasons to distrust the comparison (order of runs, missing agents, ...).
    pub warnings: Vec<String>,
    pub summary: DiffSummary,
    /// Which accounts each side audited; only where either side has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounts: Option<AccountChanges>,
    pub findings: FindingChanges,
    pub agents: AgentChanges,
    pub decisions: DecisionChecks,
}

/// Which run a side is.
#[derive(Clone, Debug, Serialize)]
pub struct RunRef {
    pub dir: String,
    pub domain: String,
    pub as_of: Timestamp,
    pub collected_at: Timestamp,
    pub snapshot_sha256: String,
    /// Every account of the run, where it audited several (`domain` and
    /// `snapshot_sha256` above are then the first's).
    #[serde(skip_serializing_if = "accounts::at_most_one")]
    pub accounts: Vec<AccountRef>,
}

/// Counts of every list, for a summary line or a table header.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DiffSummary {
    pub findings_new: usize,
    pub findings_resolved: usize,
    pub findings_accepted: usize,
    pub findings_persisting: usize,
    pub severity_changed: usize,
    pub agents_added: usize,
    pub agents_removed_deleted: usize,
    pub agents_removed_missing: usize,
    pub status_changed: usize,
    pub access_changed: usize,
    pub revokes_not_carried_out: usize,
    pub revokes_carried_out: usize,
    pub modifies_changed: usize,
    pub modifies_unchanged: usize,
    pub modifies_unknown: usize,
    pub keeps: usize,
}

impl Diff {
    pub fn compute(old: &Side, new: &Side) -> Diff {
        // Agents are keyed by (account, id) only where several accounts are
        // compared: two runs of one account compare by id, as they always did.
        let several = old.several_accounts() || new.several_accounts();
        let unlabelled;
        let (old, new) = if several {
            (old, new)
        } else {
            unlabelled = (old.unlabelled(), new.unlabelled());
            (&unlabelled.0, &unlabelled.1)
        };
        let accounts = several.then(|| AccountChanges::between(old, new));
        let one_sided = accounts
            .as_ref()
            .map(AccountChanges::one_sided)
            .unwrap_or_default();
        let findings = findings::compare(old, new, several, &one_sided);
        let agents = agents::compare(&old.population, &new.population, &one_sided);
        let decisions = decisions::check(old, new, several, &one_sided);
        let removed = |reason| agents.removed.iter().filter(|r| r.reason == reason).count();
        let modifies = |outcome| decisions.modifies.iter().filter(|c| c.outcome == outcome).count();
        let summary = DiffSummary {
            findings_new: findings.new.len(),
            findings_resolved: findings.resolved.len(),
            findings_accepted: findings.accepted.len(),
            findings_persisting: findings.persisting.len(),
            severity_changed: findings
                .persisting
                .iter()
                .filter(|f| f.old_severity.is_some())
                .count(),
            agents_added: agents.added.len(),
            agents_removed_deleted: removed(RemovalReason::Deleted),
            agents_removed_missing: removed(RemovalReason::Missing),
            status_changed: agents.status_changed.len(),
            access_changed: agents.access_changed.len(),
            revokes_not_carried_out: decisions.revokes_not_carried_out.len(),
            revokes_carried_out: decisions.revokes_carried_out.len(),
            modifies_changed: modifies(Outcome::Changed),
            modifies_unchanged: modifies(Outcome::Unchanged),
            modifies_unknown: modifies(Outcome::Unknown),
            keeps: decisions.keeps.len(),
        };
        let mut warnings = warnings(old, new, &summary);
        if let Some(accounts) = &accounts {
            warnings.extend(accounts.warnings());
        }
        Diff {
            schema_version: SCHEMA_VERSION,
            old: run_ref(old),
            new: run_ref(new),
            warnings,
            summary,
            accounts,
            findings,
            agents,
            decisions,
        }
    }

    /// One line for `audit --previous-run`.
    pub fn one_line(&self) -> String {
        let s = &self.summary;
        let mut line = format!(
            "{} new, {} resolved, {} accepted, {} persisting findings; {} agents added, {} removed",
            s.findings_new,
            s.findings_resolved,
            s.findings_accepted,
            s.findings_persisting,
            s.agents_added,
            s.agents_removed_deleted + s.agents_removed_missing
        );
        if s.agents_removed_missing > 0 {
            line += &format!(" ({} MISSING)", s.agents_removed_missing);
        }
        if self.decisions.recorded {
            line += &format!(
                "; revokes: {} carried out, {} NOT carried out",
                s.revokes_carried_out, s.revokes_not_carried_out
            );
        }
        line
    }

    /// The JSON document (`diff.json`, `deskaudit diff --json`).
    pub fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self)?;
        out.write_all(b"\n")
    }
}

fn run_ref(side: &Side) -> RunRef {
    RunRef {
        dir: side.dir.clone(),
        domain: side.domain.clone(),
        as_of: side.as_of,
        collected_at: side.collected_at,
        snapshot_sha256: side.snapshot_sha256.clone(),
        accounts: side.accounts.clone(),
    }
}

fn warnings(old: &Side, new: &Side, s: &DiffSummary) -> Vec<String> {
    let mut w = Vec::new();
    if new.as_of <= old.as_of {
        w.push(format!(
            "NEW's as-of ({}) is not after OLD's ({}): are the two runs given in the right order?",
            new.as_of, old.as_of
        ));
    }
    fn shas(side: &Side) -> Vec<&str> {
        let mut all: Vec<&str> = side.accounts.iter().map(|a| a.snapshot_sha256.as_str()).collect();
        all.sort_unstable();
        all
    }
    if new.snapshot_sha256 == old.snapshot_sha256 && shas(new) == shas(old) {
        w.push("both runs audited the same snapshot: agent changes cannot show".to_owned());
    }
    let several = old.several_accounts() || new.several_accounts();
    if !several && !old.domain.is_empty() && !new.domain.is_empty() && old.domain != new.domain {
        w.push(format!(
            "the runs audit different accounts (OLD: {}, NEW: {})",
            old.domain, new.domain
        ));
    }
    if s.agents_removed_missing > 0 {
        w.push(format!(
            "{} agent(s) of OLD's snapshot are missing from NEW's, not even as contacts: NEW's population \
             may be incomplete, or NEW was collected without `--previous` (OLD's snapshot), which looks \
             deleted agents up. Their removal cannot be confirmed from the snapshots.",
            s.agents_removed_missing
        ));
    }
    w
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_accounts;
