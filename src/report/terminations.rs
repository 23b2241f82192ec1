//! terminations.csv: one row per terminated person and agent, as the
//! contract's columns, spreadsheet-safe. The rows and verdicts come from
//! `crate::leavers`; this only writes them.

use std::io::Write;

use super::ReportData;
use crate::leavers::{Leavers, hours};
use crate::text::spreadsheet_cell;

pub const TERMINATIONS_CSV: &str = "terminations.csv";

pub const HEADER: [&str; 13] = [
    "person",
    "idp_source",
    "terminated_at",
    "termination_source",
    "agent_id",
    "agent_email",
    "agent_status",
    "access_seen_until",
    "access_removed_by",
    "removal_evidence",
    "max_delay_hours",
    "sla_hours",
    "verdict",
];

/// With several accounts, a last column `account` (the agent's domain), as
/// findings.csv has: one person is a leaver in every account where they had
/// an agent, and agent ids of different accounts may collide. A one-account
/// audit's file has exactly the contract's columns.
pub const ACCOUNT: &str = "account";

/// The header alone when the audit computed no leavers.
pub fn write_terminations_csv(data: &ReportData, out: &mut dyn Write) -> std::io::Result<()> {
    write_rows(data.leavers.as_ref(), data.run.accounts.len() > 1, out)
}

fn write_rows(leavers: Option<&Leavers>, several: bool, out: &mut dyn Write) -> std::io::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    let account = several.then_some(ACCOUNT);
    w.write_record(HEADER.iter().copied().chain(account))?;
    for (row, sla) in leavers
        .iter()
        .flat_map(|l| l.rows.iter().map(move |r| (r, l.sla_hours)))
    {
        let account = several.then(|| row.account.clone());
        let cells = [
            row.person.clone(),
            row.idp_source.clone(),
            row.terminated_at.to_string(),
            row.termination_source.clone(),
            row.agent_id.to_string(),
            row.agent_email.clone(),
            row.agent_state.as_str().to_owned(),
            row.window.seen_until.to_string(),
            row.window.removed_by.map(|t| t.to_string()).unwrap_or_default(),
            row.evidence_text(),
            row.max_delay().map(hours).unwrap_or_default(),
            sla.to_string(),
            row.verdict.as_str().to_owned(),
        ];
        w.write_record(
            cells
                .iter()
                .chain(account.as_ref())
                .map(|c| spreadsheet_cell(c).into_owned()),
        )?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leavers::{
        AgentState, DelayChart, Observation, Period, Seen, Source, Termination, Verdict, Window,
    };
    use crate::model::AgentStatus;

    #[test]
    fn columns_as_the_contract_and_cells_spreadsheet_safe() {
        let t = |s: &str| -> jiff::Timestamp { s.parse().expect("ts") };
        let row = Termination {
            person: "=cmd|' /C calc'!A0".into(),
            person_name: "Hostile".into(),
            identity: 0,
            idp_source: "hris:hr.csv".into(),
            identities: vec![0],
            terminated_at: t("2026-08-14T23:59:59Z"),
            termination_source: "hris:hr.csv line 2: termination date 2026-08-14".into(),
            agent: Some(0),
            agent_id: 7,
            account: "acme-eu".into(),
            agent_email: "-x@acme.test".into(),
            agent_state: AgentState::Current(AgentStatus::Deactivated),
            window: Window {
                seen_until: t("2026-08-14T23:59:59Z"),
                removed_by: Some(t("2026-08-15T10:00:00Z")),
            },
            evidence: vec![Observation::new(
                Source::UpdatedAt,
                t("2026-08-15T10:00:00Z"),
                Seen::WithoutAccess,
                "deactivated agent last updated 2026-08-15T10:00:00Z",
            )],
            verdict: Verdict::InTime,
        };
        let leavers = Leavers {
            period: Period::new(t("2026-10-01T00:00:00Z"), None, 92),
            sla_hours: 24,
            chart: DelayChart::new(std::slice::from_ref(&row), 24),
            rows: vec![row],
            inputs: Vec::new(),
        };
        let mut out = Vec::new();
        write_rows(Some(&leavers), false, &mut out).expect("writes");
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "person,idp_source,terminated_at,termination_source,agent_id,agent_email,agent_status,\
             access_seen_until,access_removed_by,removal_evidence,max_delay_hours,sla_hours,verdict"
        );
        assert_eq!(
            lines[1],
            "'=cmd|' /C calc'!A0,hris:hr.csv,2026-08-14T23:59:59Z,hris:hr.csv line 2: termination date 2026-08-14,\
             7,'-x@acme.test,deactivated,2026-08-14T23:59:59Z,2026-08-15T10:00:00Z,\
             updated_at: deactivated agent last updated 2026-08-15T10:00:00Z,10.0,24,in-time"
        );
        // Several accounts: the agent's account last, in header and row.
        let mut several = Vec::new();
        write_rows(Some(&leavers), true, &mut several).expect("writes");
        let text = String::from_utf8(several).expect("utf-8");
        let with: Vec<&str> = text.lines().collect();
        assert_eq!(with[0], format!("{},account", lines[0]));
        assert_eq!(with[1], format!("{},acme-eu", lines[1]));
        let mut empty = Vec::new();
        write_rows(None, false, &mut empty).expect("writes");
        assert_eq!(
            empty.iter().filter(|&&b| b == b'\n').count(),
            1,
            "the header alone"
        );
    }
}
