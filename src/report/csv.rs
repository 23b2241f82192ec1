//! findings.csv: the contract's columns, spreadsheet-safe.

use std::io::Write;

use super::ReportData;
use crate::text::spreadsheet_cell;

/// `account` is last, in every run (#17): the Freshdesk account (its
/// subdomain) the agent belongs to, so files of several accounts' reviews
/// line up, and a single account's columns are unchanged before it.
pub const HEADER: [&str; 15] = [
    "finding_id",
    "rule",
    "severity",
    "agent_id",
    "agent_email",
    "agent_name",
    "agent_status",
    "roles",
    "groups",
    "ticket_scope",
    "idp_source",
    "idp_status",
    "idp_last_login",
    "detail",
    "account",
];

/// Excel reads a CSV as UTF-8 only when it starts with this byte-order mark.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

pub fn write_findings_csv(data: &ReportData, out: &mut dyn Write) -> std::io::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(HEADER)?;
    for f in &data.findings {
        let agent_id = f.agent_id.to_string();
        let cells = [
            f.finding_id.as_str(),
            f.rule,
            f.severity,
            &agent_id,
            &f.agent_email,
            &f.agent_name,
            f.agent_status,
            &f.roles,
            &f.groups,
            f.ticket_scope,
            &f.idp_source,
            &f.idp_status,
            &f.idp_last_login,
            &f.detail,
            f.account.as_str(),
        ];
        w.write_record(
            cells
                .iter()
                .map(|c| spreadsheet_cell(c))
                .collect::<Vec<_>>()
                .iter()
                .map(|c| c.as_bytes()),
        )?;
    }
    w.flush()
}
