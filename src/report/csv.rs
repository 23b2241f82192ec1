//! findings.csv: the contract's columns, spreadsheet-safe.

use std::io::Write;

use super::ReportData;

pub const HEADER: [&str; 14] = [
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
];

/// Excel reads a CSV as UTF-8 only when it starts with this byte-order mark.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Characters that make a spreadsheet run a cell as a formula.
pub const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

pub fn write_findings_csv(data: &ReportData, out: &mut dyn Write) -> Result<(), String> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(HEADER).map_err(|e| e.to_string())?;
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
            &f.ticket_scope,
            &f.idp_source,
            &f.idp_status,
            &f.idp_last_login,
            &f.detail,
        ];
        w.write_record(
            cells
                .iter()
                .map(|c| neutralise(c))
                .collect::<Vec<_>>()
                .iter()
                .map(|c| c.as_bytes()),
        )
        .map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())
}

/// A cell a spreadsheet would run as a formula gets a leading `'`: one that
/// starts with a [`FORMULA_START`], or whose first character after leading
/// whitespace does (a spreadsheet may trim that whitespace on import).
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(FORMULA_START) || cell.trim_start().starts_with(FORMULA_START) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formula_cells_are_neutralised() {
        for (raw, want) in [
            ("=1+3 MSOBB", "'=1+3 MSOBB"),
            ("+31 20", "'+31 20"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("Ann Lee", "Ann Lee"),
            ("a=b", "a=b"),
        ] {
            assert_eq!(neutralise(raw), want);
        }
    }

    /// `  =HYPERLINK(...)` went out as it was: spreadsheets that trim a
    /// cell's leading spaces on import then ran it.
    #[test]
    fn whitespace_before_a_formula_start_is_neutralised() {
        for (raw, want) in [
            ("  =HYPERLINK(\"http://x\")", "'  =HYPERLINK(\"http://x\")"),
            (" @SUM(A1)", "' @SUM(A1)"),
            ("\t+1", "'\t+1"),
            ("\r-1", "'\r-1"),
            (" \t\r =1", "' \t\r =1"),
            ("\n=1", "'\n=1"),
            ("\u{a0}=1", "'\u{a0}=1"),
            ("  Ann = Lee", "  Ann = Lee"),
            ("   ", "   "),
        ] {
            assert_eq!(neutralise(raw), want, "{raw:?}");
        }
    }
}
