//! Reading a workbook back as a spreadsheet may have re-saved it.

use std::collections::BTreeMap;

use super::{REQUIRED_COLUMNS, ReviewError, unneutralise};

/// One workbook row, cells trimmed and un-neutralised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkbookLine {
    /// 1-based line where the row starts.
    pub line: u64,
    pub agent_id: String,
    pub agent_email: String,
    pub decision: String,
    pub reviewer: String,
    pub justification: String,
    /// `None` when the workbook has no finding_ids column.
    pub finding_ids: Option<String>,
    /// A `modify`'s target cells; blank when the column is blank or absent.
    pub target_roles: String,
    pub target_groups: String,
    pub target_ticket_scope: String,
    /// The account cell; `None` when the workbook has no account column.
    pub account: Option<String>,
}

/// Parses a workbook: with or without a byte-order mark, LF or CRLF, comma
/// or (as Excel saves in some locales) semicolon separated; the header is
/// matched case-insensitively; blank rows are skipped.
pub fn read_workbook(file: &str, bytes: &[u8]) -> Result<Vec<WorkbookLine>, ReviewError> {
    let input = |reason: String| ReviewError::Input {
        file: file.to_owned(),
        reason,
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        input(format!(
            "line {line}: not UTF-8 text (save the workbook as \"CSV UTF-8 (Comma delimited)\")"
        ))
    })?;
    // The csv reader counts a CRLF's line only once it reads the next record,
    // which would put every reported line one short.
    let text = text.replace("\r\n", "\n");
    let first_line = text.lines().next().unwrap_or_default();
    let delimiter = if !first_line.contains(',') && first_line.contains(';') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| input(format!("line 1: {e}")))?
        .clone();
    let mut columns: BTreeMap<String, usize> = BTreeMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim().to_lowercase();
        if !name.is_empty() && columns.insert(name.clone(), i).is_some() {
            return Err(input(format!("line 1: the column `{name}` appears twice")));
        }
    }
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .into_iter()
        .filter(|c| !columns.contains_key(*c))
        .collect();
    if !missing.is_empty() {
        return Err(input(format!(
            "line 1: the header has no {} column{} (expected the columns `review export` writes)",
            missing.join(", "),
            if missing.len() == 1 { "" } else { "s" }
        )));
    }

    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            input(format!("line {line}: {e}"))
        })?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |name: &str| -> Option<String> {
            let i = *columns.get(name)?;
            Some(
                unneutralise(record.get(i).unwrap_or_default().trim())
                    .trim()
                    .to_owned(),
            )
        };
        lines.push(WorkbookLine {
            line: record.position().map_or(0, |p| p.line()),
            agent_id: cell("agent_id").unwrap_or_default(),
            agent_email: cell("agent_email").unwrap_or_default(),
            decision: cell("decision").unwrap_or_default(),
            reviewer: cell("reviewer").unwrap_or_default(),
            justification: cell("justification").unwrap_or_default(),
            finding_ids: cell("finding_ids"),
            target_roles: cell("target_roles").unwrap_or_default(),
            target_groups: cell("target_groups").unwrap_or_default(),
            target_ticket_scope: cell("target_ticket_scope").unwrap_or_default(),
            account: cell(super::ACCOUNT_COLUMN),
        });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bom_crlf_semicolons_and_any_header_case() {
        let text =
            "\u{feff} Agent_ID ;DECISION;Reviewer;justification\r\n1;Keep;'=x@t.test;ok\r\n;;;\r\n2;;;\r\n";
        let lines = read_workbook("wb.csv", text.as_bytes()).expect("parses");
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(
            lines[0],
            WorkbookLine {
                line: 2,
                agent_id: "1".into(),
                decision: "Keep".into(),
                reviewer: "=x@t.test".into(),
                justification: "ok".into(),
                ..WorkbookLine::default()
            }
        );
        assert_eq!(lines[1].line, 4);
    }

    #[test]
    fn short_rows_read_as_blank_cells() {
        let lines = read_workbook(
            "wb.csv",
            b"agent_id,decision,reviewer,justification,finding_ids\n7,revoke\n",
        )
        .expect("parses");
        assert_eq!(lines[0].reviewer, "");
        assert_eq!(lines[0].finding_ids.as_deref(), Some(""));
    }

    #[test]
    fn target_cells_are_read_un_neutralised_and_blank_when_absent() {
        let lines = read_workbook(
            "wb.csv",
            "agent_id,decision,reviewer,justification,Target_Roles,target_groups,target_ticket_scope\n\
             1,modify,r@t.test,x, Agent ; Supervisor ,'-Night,GROUP\n"
                .as_bytes(),
        )
        .expect("parses");
        assert_eq!(lines[0].target_roles, "Agent ; Supervisor");
        assert_eq!(lines[0].target_groups, "-Night");
        assert_eq!(lines[0].target_ticket_scope, "GROUP");
        let lines = read_workbook(
            "wb.csv",
            b"agent_id,decision,reviewer,justification\n1,keep,r@t.test,x\n",
        )
        .expect("parses");
        assert_eq!(
            (
                lines[0].target_roles.as_str(),
                lines[0].target_groups.as_str(),
                lines[0].target_ticket_scope.as_str()
            ),
            ("", "", "")
        );
    }

    #[test]
    fn the_account_cell_is_read_when_the_column_is_there() {
        let lines = read_workbook(
            "wb.csv",
            "agent_id,decision,reviewer,justification,Account\n1,keep,r@t.test,x, acme-eu \n2,keep,r@t.test,x\n"
                .as_bytes(),
        )
        .expect("parses");
        assert_eq!(lines[0].account.as_deref(), Some("acme-eu"));
        assert_eq!(lines[1].account.as_deref(), Some(""), "short row: blank");
        let lines = read_workbook(
            "wb.csv",
            b"agent_id,decision,reviewer,justification\n1,keep,r@t.test,x\n",
        )
        .expect("parses");
        assert_eq!(lines[0].account, None, "a workbook from before the column");
    }

    #[test]
    fn header_problems_name_the_file_and_columns() {
        for (text, want) in [
            (
                "agent_id,decision\n",
                "wb.csv: line 1: the header has no reviewer, justification columns",
            ),
            (
                "agent_id,decision,reviewer,justification,Decision\n",
                "wb.csv: line 1: the column `decision` appears twice",
            ),
        ] {
            let err = read_workbook("wb.csv", text.as_bytes()).expect_err("refused");
            assert!(err.to_string().starts_with(want), "{err}");
        }
        let err = read_workbook(
            "wb.csv",
            b"agent_id,decision,reviewer,justification\n1,keep,\xE9,x\n",
        )
        .expect_err("refused");
        assert!(err.to_string().starts_with("wb.csv: line 2: not UTF-8"), "{err}");
    }
}
