//! The reviewers' workbook. `review export` writes one row per agent in scope
//! with its findings and blank decision columns; `review import` reads the
//! filled-in workbook back, checks it against the run's snapshot (not against
//! the workbook's own copy of the facts) and records the decisions in the run.
//!
//! Plain synchronous functions over a [`RunDir`](crate::rundir::RunDir); the
//! command layer only maps errors to exit codes and prints the summary.

mod cells;
mod export;
mod import;
mod target;
mod workbook;

pub use cells::{fold_email, lookalike_key, looks_like_email, neutralise, reviewer_address, unneutralise};
pub use export::{ExportSummary, WorkbookRow, export, workbook_rows, write_workbook};
pub use import::{ImportSummary, import};
pub use workbook::{WorkbookLine, read_workbook};

use crate::rundir::RunDirError;
use crate::text::show_invisible;

/// The workbook's columns, in order. The reviewer's six come after the
/// facts: the decision, then a `modify`'s target ([`TARGET_COLUMNS`]); the
/// agent's account is last, as in findings.csv ([`ACCOUNT_COLUMN`]).
pub const COLUMNS: [&str; 19] = [
    "agent_id",
    "agent_email",
    "agent_name",
    "agent_status",
    "roles",
    "groups",
    "ticket_scope",
    "finding_count",
    "highest_severity",
    "findings",
    "finding_ids",
    "suggested",
    "decision",
    "reviewer",
    "justification",
    "target_roles",
    "target_groups",
    "target_ticket_scope",
    "account",
];

/// The agent's account (its domain). Optional on import, so a workbook
/// exported before it existed still imports into a run of one account; a
/// run of several needs it on every row, since agent ids may collide.
pub const ACCOUNT_COLUMN: &str = "account";

/// A `modify`'s target: optional, so a workbook exported before they
/// existed still imports.
pub const TARGET_COLUMNS: [&str; 3] = ["target_roles", "target_groups", "target_ticket_scope"];

/// Columns import cannot do without.
pub const REQUIRED_COLUMNS: [&str; 4] = ["agent_id", "decision", "reviewer", "justification"];

/// Bad rows listed in one error; the rest are counted.
pub const MAX_LISTED: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Run(#[from] RunDirError),
    #[error("{file}: {reason}")]
    Input { file: String, reason: String },
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Every refused row (up to [`MAX_LISTED`]), so a reviewer fixes them in one pass.
    #[error("{file}: {} refused, nothing recorded:\n{}", plural(.problems.len(), "row"), list(.problems))]
    Rows { file: String, problems: Vec<RowProblem> },
}

/// One refused workbook row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowProblem {
    /// 1-based line of the workbook where the row starts.
    pub line: u64,
    /// `agent ID <email>` as the snapshot knows it, else as the row says.
    pub agent: String,
    pub reason: String,
}

fn list(problems: &[RowProblem]) -> String {
    // The snapshot's and the workbook's text reaches a terminal here: a
    // control or bidi character is shown, not obeyed.
    let mut lines: Vec<String> = problems
        .iter()
        .take(MAX_LISTED)
        .map(|p| show_invisible(&format!("  line {}, {}: {}", p.line, p.agent, p.reason)).into_owned())
        .collect();
    if problems.len() > MAX_LISTED {
        lines.push(format!("  ... and {} more", problems.len() - MAX_LISTED));
    }
    lines.join("\n")
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(line: u64) -> RowProblem {
        RowProblem {
            line,
            agent: format!("agent {line}"),
            reason: "bad".into(),
        }
    }

    #[test]
    fn rows_error_lists_every_line_up_to_the_limit() {
        let err = ReviewError::Rows {
            file: "wb.csv".into(),
            problems: (2..=3).map(problem).collect(),
        };
        assert_eq!(
            err.to_string(),
            "wb.csv: 2 rows refused, nothing recorded:\n  line 2, agent 2: bad\n  line 3, agent 3: bad"
        );
        let err = ReviewError::Rows {
            file: "wb.csv".into(),
            problems: (1..=25).map(problem).collect(),
        };
        let text = err.to_string();
        assert!(text.contains("line 20, agent 20"), "{text}");
        assert!(!text.contains("line 21,"), "{text}");
        assert!(text.ends_with("... and 5 more"), "{text}");
    }

    #[test]
    fn decision_columns_are_last_and_required() {
        assert_eq!(&COLUMNS[12..15], &["decision", "reviewer", "justification"]);
        assert_eq!(&COLUMNS[15..18], &TARGET_COLUMNS);
        assert_eq!(COLUMNS.last(), Some(&ACCOUNT_COLUMN));
        assert!(!REQUIRED_COLUMNS.contains(&ACCOUNT_COLUMN));
        assert!(REQUIRED_COLUMNS.iter().all(|c| COLUMNS.contains(c)));
        assert!(TARGET_COLUMNS.iter().all(|c| !REQUIRED_COLUMNS.contains(c)));
    }
}
