//! An HR (HRIS) worker export: one row per employee with a work email, an
//! employment status and a termination date. The work email is the only key:
//! personal addresses are not identities.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use super::csv_row::{CsvRows, Row, RowCx};
use super::csv_table::Table;
use super::fields::non_empty;
use super::sink::Sink;
use super::{Identity, IdpError, IdpStatus};
use crate::model::time::parse_timestamp;

pub(crate) const EXPECTED: &str = "Work Email (or workEmail),Employment Status (or status),\
     Termination Date (or terminationDate) and/or Employee ID (or employeeId),Department,Manager Email,\
     First Name,Last Name,... (HR export; no Login or userPrincipalName column)";

const EMAIL: &[&str] = &["workEmail", "Work Email", "work_email", "Work Email Address"];
const STATUS: &[&str] = &[
    "Employment Status",
    "employmentStatus",
    "employment_status",
    "status",
];
const TERMINATION: &[&str] = &["terminationDate", "Termination Date", "termination_date"];
const EMPLOYEE_ID: &[&str] = &[
    "employeeId",
    "Employee ID",
    "employee_id",
    "Employee Number",
    "employeeNumber",
];

pub(crate) fn detect(table: &Table) -> bool {
    table.has(EMAIL)
        && table.has(STATUS)
        && (table.has(TERMINATION) || table.has(EMPLOYEE_ID))
        && !table.has(&["Login", "userPrincipalName"])
}

/// Employment status as HR writes it: `Some(true)` while employed (Active,
/// On Leave), `Some(false)` once gone (Inactive, Terminated).
fn employed(raw: &str) -> Option<bool> {
    const TABLE: &[(&str, bool)] = &[
        ("active", true),
        ("on leave", true),
        ("leave", true),
        ("leave of absence", true),
        ("inactive", false),
        ("terminated", false),
    ];
    let raw = raw.trim();
    TABLE
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(raw))
        .map(|(_, employed)| *employed)
}

/// A termination date: RFC 3339 or the civil forms of [`parse_timestamp`]
/// (`2026-09-30`), or US `09/30/2026`; offset-less values are UTC.
fn termination(raw: &str) -> Result<Option<Timestamp>, String> {
    if let Ok(ts) = parse_timestamp(raw) {
        return Ok(ts);
    }
    let date = Date::strptime("%m/%d/%Y", raw.trim()).map_err(|_| {
        format!(
            "`{}` is not a date this tool reads (expected 2026-09-30, 09/30/2026 or RFC 3339 such as \
             2026-09-30T17:00:00Z)",
            raw.trim()
        )
    })?;
    TimeZone::UTC
        .to_timestamp(date.to_datetime(Time::midnight()))
        .map(Some)
        .map_err(|e| e.to_string())
}

/// A termination date written without a time of day (`2026-09-30`, `09/30/2026`).
fn date_only(raw: &str) -> bool {
    let raw = raw.trim();
    // strptime must consume the whole value (`Date`'s FromStr would take
    // the date out of a date-time).
    Date::strptime("%Y-%m-%d", raw).is_ok() || Date::strptime("%m/%d/%Y", raw).is_ok()
}

/// Active while employed and no termination date on or before as-of; otherwise deprovisioned.
fn status(employed: bool, terminated_at: Option<Timestamp>, as_of: Timestamp) -> IdpStatus {
    if employed && terminated_at.is_none_or(|t| t > as_of) {
        IdpStatus::Active
    } else {
        IdpStatus::Deprovisioned
    }
}

pub(crate) fn read(table: &mut Table, sink: &mut Sink) -> Result<(), IdpError> {
    let cols = Columns {
        email: table.require(EMAIL)?,
        status: table.require(STATUS)?,
        term: table.column(TERMINATION)?,
        id: table.column(EMPLOYEE_ID)?,
        dept: table.column(&["department"])?,
        manager: table.column(&["Manager Email", "managerEmail", "manager"])?,
        first: table.column(&["firstName", "First Name"])?,
        last: table.column(&["lastName", "Last Name"])?,
        name: table.column(&["name", "Full Name", "displayName"])?,
    };
    table.rows(&cols, sink)
}

/// Column positions of this export, found once from its header.
struct Columns {
    email: usize,
    status: usize,
    term: Option<usize>,
    id: Option<usize>,
    dept: Option<usize>,
    manager: Option<usize>,
    first: Option<usize>,
    last: Option<usize>,
    name: Option<usize>,
}

impl CsvRows for Columns {
    fn row(&self, rec: &Row, line: u64, cx: &RowCx, sink: &mut Sink) -> Result<(), IdpError> {
        // The status needs the termination date, so both are read for every row;
        // other cells only for the rows kept.
        let cell = |col: Option<usize>| cx.text(rec, col, line);
        let raw_status = cell(Some(self.status))?;
        let employed = employed(raw_status).ok_or_else(|| {
            cx.error(
                line,
                format!(
                    "Employment Status `{raw_status}` is not an HR status (Active, On Leave, Leave, \
                     Leave of Absence, Inactive, Terminated)"
                ),
            )
        })?;
        let raw_termination = cell(self.term)?;
        let terminated_at =
            termination(raw_termination).map_err(|why| cx.error(line, format!("Termination Date: {why}")))?;
        let status = status(employed, terminated_at, sink.as_of);
        sink.count(status);
        let email = cell(Some(self.email))?;
        // A worker without a work email has no account to match: counted, not kept.
        if email.is_empty() || !sink.wants(&[email]) {
            return Ok(());
        }
        let mut identity = Identity::new(sink.source, line, email, status, raw_status);
        identity.termination_date = terminated_at;
        identity.termination_date_only = terminated_at.is_some() && date_only(raw_termination);
        identity.display_name = match cell(self.name)? {
            "" => format!("{} {}", cell(self.first)?, cell(self.last)?)
                .trim()
                .to_owned(),
            name => name.to_owned(),
        };
        identity.department = non_empty(cell(self.dept)?);
        identity.employee_id = non_empty(cell(self.id)?);
        identity.manager = non_empty(cell(self.manager)?);
        sink.keep(identity);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp::KeyKind;

    const WORKERS: &[u8] = include_bytes!("../../fixtures/idp/hris/workers.csv");

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("valid")
    }

    fn read_all(data: &'static [u8], as_of: Timestamp) -> Result<Sink<'static>, IdpError> {
        let mut table = Table::from_bytes("workers.csv", data)?;
        assert!(detect(&table));
        let mut sink = Sink::new(0, None, as_of);
        read(&mut table, &mut sink)?;
        Ok(sink)
    }

    #[test]
    fn employment_status_table() {
        let cases = [
            ("Active", Some(true)),
            (" active ", Some(true)),
            ("On Leave", Some(true)),
            ("LEAVE", Some(true)),
            ("Leave of Absence", Some(true)),
            ("Inactive", Some(false)),
            ("Terminated", Some(false)),
            ("", None),
            ("Retired", None),
        ];
        for (raw, want) in cases {
            assert_eq!(employed(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn termination_date_forms() {
        let cases = [
            ("", None),
            ("2026-09-30", Some("2026-09-30T00:00:00Z")),
            ("09/30/2026", Some("2026-09-30T00:00:00Z")),
            ("9/3/2026", Some("2026-09-03T00:00:00Z")),
            ("2026-09-30T17:00:00Z", Some("2026-09-30T17:00:00Z")),
            ("2026-09-30T17:00:00-07:00", Some("2026-10-01T00:00:00Z")),
            ("2026-09-30 17:00:00", Some("2026-09-30T17:00:00Z")),
        ];
        for (raw, want) in cases {
            assert_eq!(termination(raw), Ok(want.map(ts)), "{raw:?}");
        }
        for raw in ["30/09/2026", "next month"] {
            let err = termination(raw).expect_err("not a date");
            assert!(err.contains("09/30/2026"), "{err}");
        }
    }

    #[test]
    fn a_date_without_a_time_is_marked() {
        let cases = [
            ("2026-09-30", true),
            ("09/30/2026", true),
            (" 9/3/2026 ", true),
            ("2026-09-30T00:00:00Z", false),
            ("2026-09-30 17:00:00", false),
            ("2026-09-30T17:00:00-07:00", false),
        ];
        for (raw, want) in cases {
            assert_eq!(date_only(raw), want, "{raw:?}");
        }
        let csv = b"Work Email,Employment Status,Termination Date\n\
            a@acme.test,Terminated,2026-08-14\nb@acme.test,Terminated,2026-08-14T09:00:00+02:00\nc@acme.test,Active,\n";
        let ids = read_all(csv, ts("2026-10-01T00:00:00Z")).expect("reads").kept;
        let marks: Vec<(Option<Timestamp>, bool)> = ids
            .iter()
            .map(|i| (i.termination_date, i.termination_date_only))
            .collect();
        assert_eq!(
            marks,
            [
                (Some(ts("2026-08-14T00:00:00Z")), true),
                (Some(ts("2026-08-14T07:00:00Z")), false),
                (None, false),
            ]
        );
    }

    #[test]
    fn as_of_boundary() {
        let as_of = ts("2026-10-01T00:00:00Z");
        let cases = [
            (true, None, IdpStatus::Active),
            (true, Some("2026-10-01T00:00:00Z"), IdpStatus::Deprovisioned),
            (true, Some("2026-10-01T00:00:01Z"), IdpStatus::Active),
            (true, Some("2026-09-30T23:59:59Z"), IdpStatus::Deprovisioned),
            (false, None, IdpStatus::Deprovisioned),
            (false, Some("2027-01-01T00:00:00Z"), IdpStatus::Deprovisioned),
        ];
        for (employed, date, want) in cases {
            assert_eq!(status(employed, date.map(ts), as_of), want, "{employed} {date:?}");
        }
        let csv = b"Work Email,Employment Status,Termination Date\n\
            a@acme.test,Active,2026-10-01T00:00:00Z\nb@acme.test,Active,2026-10-01T00:00:01Z\n";
        let ids = read_all(csv, as_of).expect("reads").kept;
        assert_eq!(
            ids[0].status,
            IdpStatus::Deprovisioned,
            "terminated exactly at as-of"
        );
        assert_eq!(ids[1].status, IdpStatus::Active, "one second later");
    }

    #[test]
    fn reads_the_fixture() {
        let sink = read_all(WORKERS, ts("2026-10-01T00:00:00Z")).expect("reads");
        assert_eq!(sink.rows, 7);
        assert_eq!(sink.by_status().get(&IdpStatus::Active), Some(&4));
        assert_eq!(sink.by_status().get(&IdpStatus::Deprovisioned), Some(&3));
        let ids = sink.kept;
        let cases = [
            (2, "ann.lee@acme.test", IdpStatus::Active, "Active", None),
            (
                3,
                "bo.chen@acme.test",
                IdpStatus::Deprovisioned,
                "Active",
                Some("2026-08-15T00:00:00Z"),
            ),
            (
                4,
                "cy.dune@acme.test",
                IdpStatus::Active,
                "Active",
                Some("2026-12-31T00:00:00Z"),
            ),
            (
                5,
                "dee.fox@acme.test",
                IdpStatus::Deprovisioned,
                "Inactive",
                Some("2026-03-31T17:00:00Z"),
            ),
            (6, "eli.gray@acme.test", IdpStatus::Active, "On Leave", None),
            (
                7,
                "fay.hunt@acme.test",
                IdpStatus::Deprovisioned,
                "Terminated",
                Some("2026-06-30T00:00:00Z"),
            ),
        ];
        assert_eq!(
            ids.len(),
            cases.len(),
            "the worker without a work email is counted, not kept"
        );
        for (identity, (line, key, status, raw, date)) in ids.iter().zip(cases) {
            assert_eq!(identity.line, line);
            assert_eq!(
                identity.keys,
                vec![(key.to_owned(), KeyKind::Login)],
                "personal email is no key"
            );
            assert_eq!(
                (identity.status, identity.raw_status.as_str()),
                (status, raw),
                "{key}"
            );
            assert_eq!(identity.termination_date, date.map(ts), "{key}");
        }
        let ann = &ids[0];
        assert_eq!(ann.login, "Ann.Lee@acme.test");
        assert_eq!(ann.display_name, "Ann Lee");
        assert_eq!(ann.employee_id.as_deref(), Some("E1001"));
        assert_eq!(ann.department.as_deref(), Some("Customer Support"));
        assert_eq!(ann.manager.as_deref(), Some("maya.patel@acme.test"));
        assert_eq!(ann.last_login, None);
    }

    #[test]
    fn detection() {
        let hris: [&'static [u8]; 3] = [
            WORKERS,
            b"workEmail,personalEmail,status,employeeId\n",
            b"name,workEmail,status,terminationDate\n",
        ];
        for data in hris {
            assert!(detect(&Table::from_bytes("hr.csv", data).expect("table")));
        }
        let others: [&'static [u8]; 6] = [
            include_bytes!("../../fixtures/idp/entra-download-users-2021.csv"),
            include_bytes!("../../fixtures/idp/google-workspace-all-columns.csv"),
            include_bytes!("../../fixtures/idp/csv/custom.csv"),
            b"User,Login,Status,Last Login,Work Email,Employee ID\n",
            b"Work Email,Employment Status\n",
            b"Work Email,Department,Employee ID\n",
        ];
        for data in others {
            let table = Table::from_bytes("other.csv", data).expect("table");
            assert!(!detect(&table), "{:?}", table.headers());
        }
    }

    #[test]
    fn bad_rows_name_file_and_line() {
        let cases: [(&'static [u8], &str); 2] = [
            (
                b"Work Email,Status,Employee ID\na@acme.test,Active,1\nb@acme.test,Retired,2\n",
                "Retired",
            ),
            (
                b"Work Email,Status,Termination Date\na@acme.test,Active,\nb@acme.test,Active,31/12/2026\n",
                "31/12",
            ),
        ];
        for (data, want) in cases {
            let err = read_all(data, Timestamp::UNIX_EPOCH)
                .err()
                .expect("error")
                .to_string();
            assert!(err.starts_with("workers.csv:3:"), "{err}");
            assert!(err.contains(want), "{err}");
        }
    }

    #[test]
    fn parallel_blocks_read_what_one_pass_reads() {
        let ids = crate::idp::test_support::same_in_blocks("workers.csv", WORKERS, read);
        assert_eq!(ids.len(), 6);
        assert_eq!(ids[0], (2, "Ann.Lee@acme.test".to_owned(), IdpStatus::Active));
    }
}
