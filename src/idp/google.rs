//! Google Workspace: the Admin console "Download users" CSV, with all columns
//! (37 today, 34 in older downloads) or only the selected ones. Its headers
//! carry suffixes (`Status [READ ONLY]`, `Email Address [Required]`), so columns
//! are matched by the name before the brackets.

use super::csv_row::{CsvRows, Row, RowCx};
use super::csv_table::Table;
use super::fields::non_empty;
use super::sink::Sink;
use super::{Identity, IdpError, IdpStatus, KeyKind};
use crate::model::time::parse_timestamp;

pub(crate) const EXPECTED: &str = "First Name [Required],Last Name [Required],Email Address [Required],...,\
     Status [READ ONLY],Last Sign In [READ ONLY],...,Work Secondary Email,... (Admin console \"Download users\")";

/// A header's name without its trailing ` [...]` suffixes: `Status [READ ONLY]` is `Status`.
fn bare(header: &str) -> &str {
    let mut name = header.trim();
    while let Some(rest) = name.strip_suffix(']') {
        match rest.rfind('[') {
            Some(open) => name = rest[..open].trim_end(),
            None => break,
        }
    }
    name
}

/// Whether a header is the column `name`, ignoring its suffixes and case.
fn same_bare(header: &str, name: &str) -> bool {
    bare(header).eq_ignore_ascii_case(name)
}

fn column(table: &Table, names: &[&str]) -> Result<Option<usize>, IdpError> {
    table.column_by(names, same_bare)
}

fn require(table: &Table, name: &str) -> Result<usize, IdpError> {
    column(table, &[name])?.map_or_else(|| table.require(&[name]), Ok)
}

/// Google's own header: `Email Address` and `Status`, and either a column only
/// Google writes (`Last Sign In`, `Org Unit Path`) or `First Name` with Google's
/// bracketed suffixes, so that an HR export with plain `First Name,Email Address,
/// Status` is not taken for Google's.
pub(crate) fn detect(table: &Table) -> bool {
    let has = |name: &str| table.has_by(&[name], same_bare);
    let bracketed = table.headers().iter().any(|h| bare(h).len() < h.len());
    has("Email Address")
        && has("Status")
        && (has("Last Sign In") || has("Org Unit Path") || (has("First Name") && bracketed))
}

pub(crate) fn read(table: &mut Table, sink: &mut Sink) -> Result<(), IdpError> {
    let cols = Columns {
        email: require(table, "Email Address")?,
        status: require(table, "Status")?,
        first: column(table, &["First Name"])?,
        last: column(table, &["Last Name"])?,
        last_sign_in: column(table, &["Last Sign In"])?,
        work: column(table, &["Work Secondary Email"])?,
        home: column(table, &["Home Secondary Email"])?,
        dept: column(table, &["Department"])?,
        employee: column(table, &["Employee ID"])?,
        manager: column(table, &["Manager Email"])?,
    };
    table.rows(&cols, sink)
}

/// Column positions of this export, found once from its header.
struct Columns {
    email: usize,
    status: usize,
    first: Option<usize>,
    last: Option<usize>,
    last_sign_in: Option<usize>,
    work: Option<usize>,
    home: Option<usize>,
    dept: Option<usize>,
    employee: Option<usize>,
    manager: Option<usize>,
}

impl CsvRows for Columns {
    fn row(&self, rec: &Row, line: u64, cx: &RowCx, sink: &mut Sink) -> Result<(), IdpError> {
        // Hot path first, on bytes: the status (counted for every row) and
        // whether any key belongs to an agent; text and dates only for those kept.
        // Recovery Email is the user's own fallback mailbox outside the
        // organisation, not an address of theirs: it is not a key.
        let bytes = |col: Option<usize>| col.and_then(|c| rec.get(c)).unwrap_or_default().trim_ascii();
        let known = status_of(bytes(Some(self.status)));
        if let Some(status) = known {
            sink.count(status);
            let wanted = sink.wants_key(bytes(Some(self.email)))
                || sink.wants_key(bytes(self.work))
                || sink.wants_key(bytes(self.home));
            if !wanted {
                return Ok(());
            }
        }
        let cell = |col: Option<usize>| cx.text(rec, col, line);
        let raw_status = cell(Some(self.status))?;
        let status = known.ok_or_else(|| {
            cx.error(
                line,
                format!("Status `{raw_status}` is not a Google Workspace status ({ACCEPTED})"),
            )
        })?;
        let (email, work, home) = (cell(Some(self.email))?, cell(self.work)?, cell(self.home)?);
        let mut identity = Identity::new(sink.source, line, email, status, raw_status);
        identity.last_login = parse_timestamp(cell(self.last_sign_in)?)
            .map_err(|why| cx.error(line, format!("Last Sign In: {why}")))?;
        identity.display_name = format!("{} {}", cell(self.first)?, cell(self.last)?)
            .trim()
            .to_owned();
        identity.department = non_empty(cell(self.dept)?);
        identity.employee_id = non_empty(cell(self.employee)?);
        identity.manager = non_empty(cell(self.manager)?);
        identity.push_key(email, KeyKind::PrimaryEmail);
        identity.push_key(work, KeyKind::SecondaryEmail);
        identity.push_key(home, KeyKind::SecondaryEmail);
        sink.keep(identity);
        Ok(())
    }
}

const ACCEPTED: &str = "Active, Suspended, Blocked, Archived";

/// The console's status words, any case (trimmed bytes of a cell).
fn status_of(raw: &[u8]) -> Option<IdpStatus> {
    const TABLE: &[(&str, IdpStatus)] = &[
        ("Active", IdpStatus::Active),
        ("Suspended", IdpStatus::Suspended),
        ("Blocked", IdpStatus::Suspended),
        ("Archived", IdpStatus::Suspended),
    ];
    TABLE
        .iter()
        .find_map(|(name, status)| name.as_bytes().eq_ignore_ascii_case(raw).then_some(*status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp::KeySet;
    use jiff::Timestamp;

    const ALL_COLUMNS: &[u8] = include_bytes!("../../fixtures/idp/google/google-workspace-all-columns.csv");
    const SELECTED: &[u8] = include_bytes!("../../fixtures/idp/google/google-workspace-selected-columns.csv");
    const OLD_34: &[u8] = include_bytes!("../../fixtures/idp/google/users-34col.csv");

    fn read_all(name: &str, data: &'static [u8]) -> Result<Vec<Identity>, IdpError> {
        let sink = crate::idp::test_support::read_csv(name, data, detect, read)?;
        assert_eq!(sink.rows, sink.kept.len() as u64);
        Ok(sink.kept)
    }

    fn key(s: &str, kind: KeyKind) -> (String, KeyKind) {
        (s.to_owned(), kind)
    }

    #[test]
    fn statuses() {
        let cases = [
            ("Active", Some(IdpStatus::Active)),
            ("ACTIVE", Some(IdpStatus::Active)),
            (" active ", Some(IdpStatus::Active)),
            ("Suspended", Some(IdpStatus::Suspended)),
            ("Blocked", Some(IdpStatus::Suspended)),
            ("Archived", Some(IdpStatus::Suspended)),
            ("Deleted", None),
            ("", None),
            ("Activ", None),
        ];
        for (raw, want) in cases {
            assert_eq!(status_of(raw.trim().as_bytes()), want, "{raw:?}");
        }
    }

    #[test]
    fn bare_drops_bracket_suffixes() {
        let cases = [
            ("Status [READ ONLY]", "Status"),
            ("Email Address [Required]", "Email Address"),
            ("Recovery Phone [MUST BE IN THE E.164 FORMAT]", "Recovery Phone"),
            ("Work Secondary Email", "Work Secondary Email"),
            ("Odd [a] [b]", "Odd"),
            ("]", "]"),
        ];
        for (header, want) in cases {
            assert_eq!(bare(header), want, "{header}");
        }
    }

    #[test]
    fn reads_the_real_all_columns_export() {
        let ids = read_all("all.csv", ALL_COLUMNS).expect("rows");
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0].login, "adiella.oktaviani@ahacommerce.net");
        assert_eq!(ids[0].status, IdpStatus::Active);
        assert_eq!(ids[0].department.as_deref(), Some("Operations"));
        assert_eq!(
            ids[0].last_login,
            Some("2026-04-10T04:05:20Z".parse().expect("ts"))
        );
        assert_eq!(ids[1].display_name, "Comma, Name User");
        assert_eq!(ids[1].status, IdpStatus::Suspended);
        assert_eq!(ids[1].raw_status, "Suspended");
        assert_eq!(ids[1].line, 3);
    }

    #[test]
    fn reads_the_real_selected_columns_export() {
        let ids = read_all("selected.csv", SELECTED).expect("rows");
        let logins: Vec<_> = ids.iter().map(|i| i.login.as_str()).collect();
        assert_eq!(
            logins,
            [
                "automation@gigantic-retail.com",
                "mike@gigantic-retail.com",
                "nico@gigantic-retail.com"
            ]
        );
        assert!(
            ids.iter()
                .all(|i| i.status == IdpStatus::Active && i.last_login.is_some())
        );
        assert_eq!(ids[1].display_name, "Mike Jones");
    }

    #[test]
    fn reads_the_older_34_column_export() {
        let ids = read_all("users-34col.csv", OLD_34).expect("rows");
        let got: Vec<_> = ids
            .iter()
            .map(|i| (i.login.as_str(), i.status, i.raw_status.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("olivia.hart@acme.test", IdpStatus::Active, "Active"),
                ("marcus.bell@acme.test", IdpStatus::Active, "Active"),
                ("priya.nair@acme.test", IdpStatus::Suspended, "Suspended"),
                ("tom.reyes@acme.test", IdpStatus::Suspended, "Archived"),
                ("dana.cole@acme.test", IdpStatus::Active, "Active"),
            ]
        );
        let olivia = &ids[0];
        assert_eq!(
            olivia.keys,
            [
                key("olivia.hart@acme.test", KeyKind::Login),
                key("olivia.h@support.acme.test", KeyKind::SecondaryEmail),
            ]
        );
        assert_eq!(olivia.employee_id.as_deref(), Some("E1001"));
        assert_eq!(olivia.manager.as_deref(), Some("dana.cole@acme.test"));
        assert_eq!(olivia.department.as_deref(), Some("Customer Support"));
        // A quoted comma stays in its cell; "Never logged in" is no date.
        assert_eq!(ids[1].display_name, "Marcus Bell, Jr.");
        assert_eq!(ids[1].last_login, None);
        assert_eq!(ids[1].line, 3);
        // Home Secondary Email is a key; Recovery Email is not.
        assert!(
            ids[2]
                .keys
                .contains(&key("priya.nair@home.example", KeyKind::SecondaryEmail))
        );
        assert_eq!(ids[4].keys, [key("dana.cole@acme.test", KeyKind::Login)]);
        assert_eq!(
            ids[3].last_login,
            Some("2025-11-20T18:00:01Z".parse().expect("ts"))
        );
    }

    #[test]
    fn keeps_only_wanted_rows_but_counts_all() {
        let wanted: KeySet = ["priya.nair@home.example".to_owned()].into_iter().collect();
        let mut table = Table::from_bytes("users-34col.csv", OLD_34).expect("table");
        let mut sink = Sink::new(0, Some(&wanted), Timestamp::UNIX_EPOCH);
        read(&mut table, &mut sink).expect("rows");
        assert_eq!(sink.rows, 5);
        assert_eq!(sink.by_status()[&IdpStatus::Suspended], 2);
        assert_eq!(sink.kept.len(), 1);
        assert_eq!(sink.kept[0].login, "priya.nair@acme.test");
    }

    #[test]
    fn detection() {
        let ours: [(&str, &'static [u8]); 4] = [
            ("all", ALL_COLUMNS),
            ("selected", SELECTED),
            ("34", OLD_34),
            (
                "no suffixes",
                b"First Name,Last Name,Email Address,Status,Last Sign In\n",
            ),
        ];
        for (name, data) in ours {
            assert!(detect(&Table::from_bytes(name, data).expect("table")), "{name}");
        }
        let theirs: [(&str, &'static [u8]); 6] = [
            (
                "okta",
                include_bytes!("../../fixtures/acme/idp/okta-password-health.csv"),
            ),
            ("entra", include_bytes!("../../fixtures/acme/idp/entra-users.csv")),
            (
                "okta profile",
                b"login,firstName,lastName,email,secondEmail,status,lastLogin\n",
            ),
            (
                "onelogin",
                include_bytes!("../../fixtures/idp/onelogin/users.csv"),
            ),
            (
                "jumpcloud",
                include_bytes!("../../fixtures/idp/jumpcloud/users.csv"),
            ),
            (
                "hris",
                b"Employee ID,First Name,Last Name,Email Address,Status,Hire Date,Termination Date\n",
            ),
        ];
        for (name, data) in theirs {
            assert!(!detect(&Table::from_bytes(name, data).expect("table")), "{name}");
        }
    }

    #[test]
    fn unknown_status_names_file_and_line() {
        let err = read_all(
            "g.csv",
            b"First Name [Required],Email Address [Required],Status [READ ONLY],Last Sign In [READ ONLY]\n\
            A,a@acme.test,Active,Never logged in\n\
            B,b@acme.test,Deleted,Never logged in\n",
        )
        .expect_err("bad status")
        .to_string();
        assert!(err.starts_with("g.csv:3:"), "{err}");
        assert!(err.contains("`Deleted`") && err.contains("Archived"), "{err}");
    }

    #[test]
    fn bad_sign_in_date_names_the_column() {
        let err = read_all(
            "g.csv",
            b"Email Address [Required],Status [READ ONLY],Last Sign In [READ ONLY]\n\
            a@acme.test,Blocked,yesterday\n",
        )
        .expect_err("bad date")
        .to_string();
        assert!(err.starts_with("g.csv:2: Last Sign In:"), "{err}");
    }

    #[test]
    fn missing_email_column_is_named() {
        let mut table = Table::from_bytes("g.csv", b"Status [READ ONLY],Last Sign In [READ ONLY]\nActive,\n")
            .expect("table");
        let mut sink = Sink::new(0, None, Timestamp::UNIX_EPOCH);
        let err = read(&mut table, &mut sink).expect_err("no email").to_string();
        assert!(err.contains("Email Address"), "{err}");
    }

    #[test]
    fn parallel_blocks_read_what_one_pass_reads() {
        let ids = crate::idp::test_support::same_in_blocks("users-34col.csv", OLD_34, read);
        assert_eq!(ids.len(), 5);
        assert_eq!(ids[1], (3, "marcus.bell@acme.test".to_owned(), IdpStatus::Active));
    }
}
