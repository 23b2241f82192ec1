//! `review export`: one row per agent in scope, most severe first.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::model::{Agent, AgentStatus, Directory};
use crate::rules::Severity;
use crate::rundir::{FINDINGS_JSON, FindingRecord, RunDir};

use super::{COLUMNS, ReviewError};
use crate::text::spreadsheet_cell;

/// Excel reads a CSV as UTF-8 only when it starts with a byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One agent in scope, as the workbook shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkbookRow {
    /// The agent's account (its domain).
    pub account: String,
    pub agent_id: u64,
    pub agent_email: String,
    pub agent_name: String,
    pub agent_status: String,
    /// Role names joined by `;`.
    pub roles: String,
    /// Group names joined by `;`.
    pub groups: String,
    pub ticket_scope: String,
    pub highest_severity: Option<Severity>,
    /// Rule ids of the agent's findings, in findings.json order.
    pub rules: Vec<String>,
    pub finding_ids: Vec<String>,
    /// `revoke` when a critical or high finding stands, else empty.
    pub suggested: &'static str,
}

#[derive(Clone, Debug)]
pub struct ExportSummary {
    pub path: PathBuf,
    pub rows: usize,
    pub with_findings: usize,
    pub suggested_revoke: usize,
}

/// Writes the workbook for the run in `run_dir` to `out`, which must not exist.
pub fn export(run_dir: &Path, out: &Path) -> Result<ExportSummary, ReviewError> {
    let refuse = || ReviewError::Input {
        file: out.display().to_string(),
        reason: "already exists; it will not be overwritten (choose another --out, or remove it)".into(),
    };
    // Checked before any work; `persist_noclobber` below closes the race.
    if out.exists() {
        return Err(refuse());
    }
    let run = RunDir::open(run_dir)?;
    let directory = load_directory(&run)?;
    let rows = workbook_rows(&directory, &run.findings.findings).map_err(|reason| ReviewError::Input {
        file: run.dir.join(FINDINGS_JSON).display().to_string(),
        reason,
    })?;

    let io = |source| ReviewError::Io {
        file: out.display().to_string(),
        source,
    };
    // Written beside the target and renamed, so a failed export leaves no half workbook.
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(parent).map_err(io)?;
    {
        let mut buffered = std::io::BufWriter::new(tmp.as_file_mut());
        write_workbook(&rows, &mut buffered).map_err(io)?;
        buffered.flush().map_err(io)?;
    }
    tmp.persist_noclobber(out).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            refuse()
        } else {
            io(e.error)
        }
    })?;
    Ok(ExportSummary {
        path: out.to_path_buf(),
        rows: rows.len(),
        with_findings: rows.iter().filter(|r| !r.finding_ids.is_empty()).count(),
        suggested_revoke: rows.iter().filter(|r| !r.suggested.is_empty()).count(),
    })
}

/// Every account's snapshot of the run (hash-checked) as one typed directory.
pub(super) fn load_directory(run: &RunDir) -> Result<Directory, ReviewError> {
    Ok(run.directory()?.0)
}

/// Which account a finding is in: the run's only account, whatever an older
/// findings.json says; with several, the one it names.
pub(super) fn finding_account(directory: &Directory, f: &FindingRecord) -> String {
    match directory.accounts.as_slice() {
        [only] => only.clone(),
        _ => f.account().to_owned(),
    }
}

/// Every agent that is active or pending, plus any other agent with a
/// finding, sorted most severe first, then by email, then by id.
pub fn workbook_rows(directory: &Directory, findings: &[FindingRecord]) -> Result<Vec<WorkbookRow>, String> {
    // Keyed by (account, agent id): ids of different accounts may collide.
    let mut by_agent: BTreeMap<(String, u64), Vec<(&FindingRecord, Severity)>> = BTreeMap::new();
    for f in findings {
        let severity = f
            .severity
            .parse::<Severity>()
            .map_err(|why| format!("finding {}: {why}", f.finding_id))?;
        by_agent
            .entry((finding_account(directory, f), f.agent_id))
            .or_default()
            .push((f, severity));
    }
    let mut seen = BTreeSet::new();
    let mut rows = Vec::new();
    for agent in &directory.agents {
        let key = (directory.account_of(agent).to_owned(), agent.id);
        let agent_findings = by_agent.get(&key).map_or(&[][..], Vec::as_slice);
        if (agent.status.holds_access() || !agent_findings.is_empty()) && seen.insert(key) {
            let mut base = agent_row(directory, agent);
            // Listed without its contact (deactivated, documented API): the
            // email its findings name (the leavers resolved it), for the reader.
            if base.agent_email.is_empty()
                && let Some((f, _)) = agent_findings.iter().find(|(f, _)| !f.agent_email.is_empty())
            {
                base.agent_email.clone_from(&f.agent_email);
            }
            rows.push(row(base, agent_findings));
        }
    }
    // A finding on an agent the snapshot does not describe cannot come from
    // this tool's audit, but the reviewer still sees it rather than losing it.
    for ((account, id), agent_findings) in &by_agent {
        if let Some((first, _)) = agent_findings.first()
            && seen.insert((account.clone(), *id))
        {
            let base = WorkbookRow {
                account: account.clone(),
                agent_id: *id,
                agent_email: first.agent_email.clone(),
                agent_name: first.agent_name.clone(),
                agent_status: first.agent_status.clone(),
                roles: first.roles.clone(),
                groups: first.groups.clone(),
                ticket_scope: first.ticket_scope.clone(),
                ..empty_row()
            };
            rows.push(row(base, agent_findings));
        }
    }
    rows.sort_by_cached_key(|r| {
        (
            Reverse(r.highest_severity),
            r.agent_email.trim().to_lowercase(),
            r.agent_id,
            r.account.clone(),
        )
    });
    Ok(rows)
}

fn empty_row() -> WorkbookRow {
    WorkbookRow {
        account: String::new(),
        agent_id: 0,
        agent_email: String::new(),
        agent_name: String::new(),
        agent_status: String::new(),
        roles: String::new(),
        groups: String::new(),
        ticket_scope: String::new(),
        highest_severity: None,
        rules: Vec::new(),
        finding_ids: Vec::new(),
        suggested: "",
    }
}

fn agent_row(directory: &Directory, agent: &Agent) -> WorkbookRow {
    let names = |ids: &[u64], name: &dyn Fn(u64) -> String| ids.iter().map(|&i| name(i)).collect::<Vec<_>>();
    WorkbookRow {
        account: directory.account_of(agent).to_owned(),
        agent_id: agent.id,
        agent_email: agent.email.clone().unwrap_or_default(),
        agent_name: agent.name.clone(),
        agent_status: agent.status.as_str().to_owned(),
        roles: names(&agent.role_ids, &|r| directory.role_name(agent.in_account(r))).join(";"),
        groups: names(&agent.group_ids, &|g| directory.group_name(agent.in_account(g))).join(";"),
        ticket_scope: agent
            .ticket_scope
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        ..empty_row()
    }
}

fn row(base: WorkbookRow, findings: &[(&FindingRecord, Severity)]) -> WorkbookRow {
    let highest_severity = findings.iter().map(|(_, s)| *s).max();
    WorkbookRow {
        highest_severity,
        rules: findings.iter().map(|(f, _)| f.rule.clone()).collect(),
        finding_ids: findings.iter().map(|(f, _)| f.finding_id.clone()).collect(),
        // A critical or high finding (a leaver who can sign in, an account
        // nobody owns, ...) is removed unless the reviewer says why not. An
        // agent deactivated already (a leaver removed late) has nothing left
        // to revoke: the plan would write nothing, so nothing is suggested.
        suggested: if highest_severity >= Some(Severity::High)
            && base.agent_status != AgentStatus::Deactivated.as_str()
        {
            "revoke"
        } else {
            ""
        },
        ..base
    }
}

/// The workbook as UTF-8 CSV with a byte-order mark, every cell spreadsheet-safe.
pub fn write_workbook(rows: &[WorkbookRow], out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(BOM)?;
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(COLUMNS)?;
    for r in rows {
        // Typed by the header's length, so a new column cannot be forgotten here.
        let cells: [String; COLUMNS.len()] = [
            r.agent_id.to_string(),
            r.agent_email.clone(),
            r.agent_name.clone(),
            r.agent_status.clone(),
            r.roles.clone(),
            r.groups.clone(),
            r.ticket_scope.clone(),
            r.finding_ids.len().to_string(),
            r.highest_severity
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            r.rules.join(";"),
            r.finding_ids.join(";"),
            r.suggested.to_owned(),
            // decision, reviewer, justification and the target columns:
            // the reviewer's to fill in.
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            r.account.clone(),
        ];
        w.write_record(cells.iter().map(|c| spreadsheet_cell(c).into_owned()))?;
    }
    w.flush()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::Snapshot;

    /// Agents 1 and 2 active, 3 and 4 deactivated (4 an administrator), 5 pending.
    pub(in crate::review) fn directory() -> Directory {
        let snapshot = serde_json::json!({
            "schema_version": 1,
            "meta": {"domain": "t", "tool_version": "0", "started_at": "2026-10-01T00:00:00Z",
                     "collected_at": "2026-10-01T00:00:00Z"},
            "agents": [
                {"id": 1, "contact": {"email": "zed@t.test", "name": "Zed", "active": true}, "role_ids": [10]},
                {"id": 2, "contact": {"email": "amy@t.test", "name": "Amy", "active": true}, "ticket_scope": 1},
                {"id": 3, "contact": {"email": "old@t.test", "name": "Old", "active": false,
                  "last_login_at": "2025-01-01T00:00:00Z"}, "deactivated": true},
                {"id": 4, "contact": {"email": "gone@t.test", "name": "Gone", "active": false,
                  "last_login_at": "2025-01-01T00:00:00Z"}, "deactivated": true, "role_ids": [10]},
                {"id": 5, "contact": {"email": "=cmd@t.test", "name": "Inv", "active": false}}
            ],
            "roles": [{"id": 10, "name": "Administrator"}],
            "groups": []
        });
        let snapshot = serde_json::from_value::<Snapshot>(snapshot).expect("test snapshot");
        Directory::from_snapshot(&snapshot).expect("test directory")
    }

    pub(in crate::review) fn finding(id: &str, rule: &str, severity: &str, agent_id: u64) -> FindingRecord {
        serde_json::from_value(serde_json::json!({
            "finding_id": id, "rule": rule, "severity": severity, "agent_id": agent_id,
            "agent_email": "", "agent_name": "", "agent_status": "active"
        }))
        .expect("test finding")
    }

    #[test]
    fn scope_is_active_pending_and_anyone_with_a_finding() {
        let findings = [
            finding("DA-1", "deactivated-privileged", "low", 4),
            finding("DA-2", "privileged-agent", "info", 1),
            finding("DA-3", "terminated-active", "critical", 1),
        ];
        let rows = workbook_rows(&directory(), &findings).expect("rows");
        let ids: Vec<u64> = rows.iter().map(|r| r.agent_id).collect();
        // Critical first, then low, then no findings by email (`=cmd` sorts before `amy`).
        assert_eq!(ids, [1, 4, 5, 2]);
        assert_eq!(rows[0].highest_severity, Some(Severity::Critical));
        assert_eq!(rows[0].rules, ["privileged-agent", "terminated-active"]);
        assert_eq!(rows[0].suggested, "revoke");
        assert_eq!(rows[0].roles, "Administrator");
        assert_eq!(rows[1].suggested, "");
        assert_eq!(rows[2].agent_status, "pending");
        assert_eq!(rows[3].ticket_scope, "Global");
    }

    /// Agent 1 of `t` and agent 1 of `t-eu` are two agents: each row and
    /// each finding stays with its own account.
    #[test]
    fn colliding_ids_of_two_accounts_are_two_rows() {
        let mut eu = directory();
        eu.accounts = vec!["t-eu".into()];
        let two = Directory::merge(vec![directory(), eu]).expect("merged");
        let mut f = finding("DA-3", "terminated-active", "critical", 1);
        f.rest.insert("account".into(), "t-eu".into());
        let rows = workbook_rows(&two, &[f]).expect("rows");
        let ones: Vec<(&str, Option<Severity>)> = rows
            .iter()
            .filter(|r| r.agent_id == 1)
            .map(|r| (r.account.as_str(), r.highest_severity))
            .collect();
        assert_eq!(ones, [("t-eu", Some(Severity::Critical)), ("t", None)]);
        let mut out = Vec::new();
        write_workbook(&rows, &mut out).expect("written");
        let text = String::from_utf8(out[BOM.len()..].to_vec()).expect("utf-8");
        assert!(
            text.lines()
                .nth(1)
                .is_some_and(|l| l.starts_with("1,zed@t.test,") && l.ends_with(",t-eu")),
            "{text}"
        );
    }

    /// Agent 4 left and was deactivated late: the finding is for the
    /// reviewer to see, but there is no access left to revoke.
    #[test]
    fn a_deactivated_agent_is_never_suggested_for_revoking() {
        let rows = workbook_rows(&directory(), &[finding("DA-4", "late-removal", "high", 4)]).expect("rows");
        let four = rows.iter().find(|r| r.agent_id == 4).expect("agent 4's row");
        assert_eq!(
            (four.agent_status.as_str(), four.highest_severity),
            ("deactivated", Some(Severity::High))
        );
        assert_eq!(four.suggested, "");
        let mut gone = finding("DA-9", "late-removal", "high", 99);
        gone.agent_status = "deactivated".into();
        let rows = workbook_rows(&directory(), &[gone]).expect("rows");
        assert_eq!((rows[0].agent_id, rows[0].suggested), (99, ""));
    }

    /// An agent the snapshot lists without an email shows the one its
    /// findings name; an agent with one keeps its own.
    #[test]
    fn an_agent_without_an_email_shows_the_one_its_findings_name() {
        let mut dir = directory();
        dir.agents[2].email = None;
        let mut f = finding("DA-3", "removal-unproven", "low", 3);
        f.agent_email = "old.person@t.test".into();
        let mut g = finding("DA-4", "late-removal", "high", 4);
        g.agent_email = "someone.else@t.test".into();
        let rows = workbook_rows(&dir, &[f, g]).expect("rows");
        let email = |id: u64| {
            rows.iter()
                .find(|r| r.agent_id == id)
                .map(|r| r.agent_email.as_str())
        };
        assert_eq!(email(3), Some("old.person@t.test"));
        assert_eq!(email(4), Some("gone@t.test"));
    }

    #[test]
    fn a_finding_on_an_unknown_agent_still_gets_a_row() {
        let rows =
            workbook_rows(&directory(), &[finding("DA-9", "orphaned-agent", "high", 99)]).expect("rows");
        assert_eq!(rows[0].agent_id, 99);
        assert_eq!(rows[0].suggested, "revoke");
    }

    #[test]
    fn an_unknown_severity_names_the_finding() {
        let err = workbook_rows(&directory(), &[finding("DA-7", "x", "urgent", 1)]).expect_err("refused");
        assert!(err.starts_with("finding DA-7: `urgent`"), "{err}");
    }

    #[test]
    fn workbook_has_a_bom_and_neutralised_cells() {
        let rows = workbook_rows(&directory(), &[]).expect("rows");
        let mut out = Vec::new();
        write_workbook(&rows, &mut out).expect("written");
        assert!(out.starts_with(BOM));
        let text = String::from_utf8(out[BOM.len()..].to_vec()).expect("utf-8");
        assert!(text.starts_with(&COLUMNS.join(",")), "{text}");
        assert!(text.contains("\n5,'=cmd@t.test,Inv,pending,"), "{text}");
    }

    /// The workbook follows findings.csv: a name like `Bob\u{202E}nimda` was
    /// written as it is, and a reviewer read `Bobadmin`.
    #[test]
    fn workbook_shows_invisible_characters_as_code_points() {
        let rows = [WorkbookRow {
            agent_id: 7,
            agent_email: "\u{200B}=x@t.test".into(),
            agent_name: "Bob\u{202E}nimda\0".into(),
            groups: "Tier\u{AD}1".into(),
            ..empty_row()
        }];
        let mut out = Vec::new();
        write_workbook(&rows, &mut out).expect("written");
        let text = String::from_utf8(out[BOM.len()..].to_vec()).expect("utf-8");
        assert!(
            text.contains("\n7,[U+200B]=x@t.test,Bob[U+202E]nimda[U+0000],,,Tier[U+00AD]1,"),
            "{text}"
        );
    }
}
