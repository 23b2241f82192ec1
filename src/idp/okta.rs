//! Okta: the "Password Health" report (`User,Login,Status,...`), the usual
//! way admins export users, and the profile-attribute CSV (`login,email,...`).

use super::csv_row::{CsvRows, Row, RowCx};
use super::csv_table::Table;
use super::fields::non_empty;
use super::okta_status::{ACCEPTED, status_of};
use super::sink::Sink;
use super::{Identity, IdpError, KeyKind};
use crate::model::time::parse_timestamp;

pub(crate) const EXPECTED: &str = "User,Login,Status,Activation date,Authentication Source,Last Login,Last Password Change \
     (Password Health report), or login,firstName,lastName,email,secondEmail,status,lastLogin,... (profile attributes)";

pub(crate) fn detect(table: &Table) -> bool {
    table.has_all(&["Login", "Status"]) && table.has(&["Last Login", "lastLogin"])
}

pub(crate) fn read(table: &mut Table, sink: &mut Sink) -> Result<(), IdpError> {
    let cols = Columns {
        login: table.require(&["Login"])?,
        status: table.require(&["Status"])?,
        user: table.column(&["User", "displayName"])?,
        first: table.column(&["firstName"])?,
        last: table.column(&["lastName"])?,
        email: table.column(&["email"])?,
        second: table.column(&["secondEmail"])?,
        last_login: table.column(&["Last Login", "lastLogin"])?,
        dept: table.column(&["department"])?,
        employee: table.column(&["employeeNumber"])?,
        manager: table.column(&["manager", "managerId"])?,
    };
    table.rows(&cols, sink)
}

/// Column positions of this export, found once from its header.
struct Columns {
    login: usize,
    status: usize,
    user: Option<usize>,
    first: Option<usize>,
    last: Option<usize>,
    email: Option<usize>,
    second: Option<usize>,
    last_login: Option<usize>,
    dept: Option<usize>,
    employee: Option<usize>,
    manager: Option<usize>,
}

impl CsvRows for Columns {
    fn row(&self, rec: &Row, line: u64, cx: &RowCx, sink: &mut Sink) -> Result<(), IdpError> {
        // Hot path first, on bytes: the status (counted for every row) and
        // whether any key belongs to an agent; text and dates only for those kept.
        let bytes = |col: Option<usize>| col.and_then(|c| rec.get(c)).unwrap_or_default().trim_ascii();
        let (login, email, second) = (bytes(Some(self.login)), bytes(self.email), bytes(self.second));
        let known = status_of(bytes(Some(self.status)));
        if let Some(status) = known {
            sink.count(status);
            let wanted = sink.wants_key(login)
                || (!email.eq_ignore_ascii_case(login) && sink.wants_key(email))
                || sink.wants_key(second);
            if !wanted {
                return Ok(());
            }
        }
        let cell = |col: Option<usize>| cx.text(rec, col, line);
        let raw_status = cell(Some(self.status))?;
        let status = known.ok_or_else(|| {
            cx.error(
                line,
                format!("Status `{raw_status}` is not an Okta status ({ACCEPTED}, or their console labels)"),
            )
        })?;
        let (login, email, second) = (cell(Some(self.login))?, cell(self.email)?, cell(self.second)?);
        let mut identity = Identity::new(sink.source, line, login, status, raw_status);
        identity.last_login = parse_timestamp(cell(self.last_login)?)
            .map_err(|why| cx.error(line, format!("Last Login: {why}")))?;
        identity.display_name = match self.user {
            Some(c) => cell(Some(c))?.to_owned(),
            None => format!("{} {}", cell(self.first)?, cell(self.last)?)
                .trim()
                .to_owned(),
        };
        identity.department = non_empty(cell(self.dept)?);
        identity.employee_id = non_empty(cell(self.employee)?);
        identity.manager = non_empty(cell(self.manager)?);
        identity.push_key(email, KeyKind::PrimaryEmail);
        identity.push_key(second, KeyKind::SecondaryEmail);
        sink.keep(identity);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp::IdpStatus;

    fn read_all(data: &'static [u8]) -> Result<Vec<Identity>, IdpError> {
        Ok(crate::idp::test_support::read_csv("okta.csv", data, detect, read)?.kept)
    }

    #[test]
    fn reads_password_health_rows() {
        let ids = read_all(
            b"User,Login,Status,Activation date,Authentication Source,Last Login,Last Password Change\n\
            Ann Lee,Ann.Lee@acme.test,Deactivated,2024-01-02T00:00:00.000Z,OKTA,2026-05-01T10:00:00.000Z,\n",
        )
        .expect("rows");
        assert_eq!(ids.len(), 1);
        assert_eq!(ids[0].line, 2);
        assert_eq!(
            ids[0].keys,
            vec![("ann.lee@acme.test".to_owned(), KeyKind::Login)]
        );
        assert_eq!(ids[0].status, IdpStatus::Deprovisioned);
        assert!(ids[0].last_login.is_some());
    }

    #[test]
    fn reads_profile_attribute_rows() {
        let ids = read_all(
            b"login,firstName,lastName,email,secondEmail,status,lastLogin,department,title,employeeNumber\n\
            u1@example.com,A,B,U1@EXAMPLE.COM,alt@example.com,LOCKED_OUT,,Dept1,Engineer,100001\n",
        )
        .expect("rows");
        assert_eq!(ids[0].display_name, "A B");
        assert_eq!(
            ids[0].keys.len(),
            2,
            "login and email are one key; plus secondEmail"
        );
        assert_eq!(ids[0].employee_id.as_deref(), Some("100001"));
        assert_eq!(ids[0].status, IdpStatus::Active);
    }

    #[test]
    fn unknown_status_names_file_and_line() {
        let err = read_all(b"User,Login,Status,Last Login\nA,a@x.test,ACTIVE,\nB,b@x.test,WEIRD,\n")
            .expect_err("bad status")
            .to_string();
        assert_eq!(
            err,
            "okta.csv:3: Status `WEIRD` is not an Okta status (ACTIVE, STAGED, PROVISIONED, RECOVERY, \
             PASSWORD_EXPIRED, LOCKED_OUT, SUSPENDED, DEPROVISIONED, or their console labels)"
        );
    }

    #[test]
    fn ragged_row_names_its_line() {
        let err = read_all(b"User,Login,Status,Last Login\nA,a@x.test,ACTIVE,\nB,b@x.test\n")
            .expect_err("ragged")
            .to_string();
        assert!(err.starts_with("okta.csv:3:"), "{err}");
    }
}
