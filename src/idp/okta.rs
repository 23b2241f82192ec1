//! Okta: the "Password Health" report (`User,Login,Status,...`), the usual
//! way admins export users, and the profile-attribute CSV (`login,email,...`).

use super::csv_table::{Table, cell};
use super::{Identity, IdpError, IdpStatus, KeyKind};
use crate::model::time::parse_timestamp;

pub(crate) const EXPECTED: &str = "User,Login,Status,Activation date,Authentication Source,Last Login,Last Password Change (Password Health), or login,email,secondEmail,status,lastLogin,...";

pub(crate) fn detect(table: &Table) -> bool {
    table.has_all(&["Login", "Status"]) && table.column(&["Last Login", "lastLogin"]).is_some()
}

pub(crate) fn read(table: &Table, source: usize) -> Result<Vec<Identity>, IdpError> {
    let login_col = table.require(&["Login"])?;
    let status_col = table.require(&["Status"])?;
    let user_col = table.column(&["User", "displayName"]);
    let first_col = table.column(&["firstName"]);
    let last_col = table.column(&["lastName"]);
    let email_col = table.column(&["email"]);
    let second_col = table.column(&["secondEmail"]);
    let last_login_col = table.column(&["Last Login", "lastLogin"]);
    let dept_col = table.column(&["department"]);

    let mut out = Vec::new();
    for row in table.rows() {
        let (line, rec) = row?;
        let login = cell(&rec, Some(login_col));
        let raw_status = cell(&rec, Some(status_col));
        let status = status(raw_status).ok_or_else(|| {
            table.row_error(
                line,
                format!("Status `{raw_status}` is not an Okta status (ACTIVE, STAGED, PROVISIONED, RECOVERY, PASSWORD_EXPIRED, LOCKED_OUT, SUSPENDED, DEPROVISIONED, or their console labels)"),
            )
        })?;
        let last_login = parse_timestamp(cell(&rec, last_login_col))
            .map_err(|why| table.row_error(line, format!("Last Login: {why}")))?;
        let display_name = match user_col {
            Some(c) => cell(&rec, Some(c)).to_owned(),
            None => format!("{} {}", cell(&rec, first_col), cell(&rec, last_col))
                .trim()
                .to_owned(),
        };
        let department = Some(cell(&rec, dept_col))
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        let mut identity = Identity {
            source,
            line,
            login: login.to_owned(),
            display_name,
            keys: Vec::new(),
            status,
            raw_status: raw_status.to_owned(),
            last_login,
            department,
        };
        identity.push_key(login, KeyKind::Login);
        identity.push_key(cell(&rec, email_col), KeyKind::PrimaryEmail);
        identity.push_key(cell(&rec, second_col), KeyKind::SecondaryEmail);
        out.push(identity);
    }
    Ok(out)
}

/// API forms (`LOCKED_OUT`) and admin-console labels (`Locked out`) alike.
pub(crate) fn status(raw: &str) -> Option<IdpStatus> {
    let norm = raw.trim().to_ascii_uppercase().replace([' ', '-'], "_");
    Some(match norm.as_str() {
        "ACTIVE" | "RECOVERY" | "PASSWORD_RESET" | "PASSWORD_EXPIRED" | "LOCKED_OUT" => IdpStatus::Active,
        "STAGED" | "PROVISIONED" | "PENDING_USER_ACTION" => IdpStatus::Staged,
        "SUSPENDED" => IdpStatus::Suspended,
        "DEPROVISIONED" | "DEACTIVATED" => IdpStatus::Deprovisioned,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_in_api_and_label_form() {
        let cases = [
            ("ACTIVE", IdpStatus::Active),
            ("Password reset", IdpStatus::Active),
            ("Locked out", IdpStatus::Active),
            ("PASSWORD_EXPIRED", IdpStatus::Active),
            ("RECOVERY", IdpStatus::Active),
            ("STAGED", IdpStatus::Staged),
            ("Pending user action", IdpStatus::Staged),
            ("PROVISIONED", IdpStatus::Staged),
            ("Suspended", IdpStatus::Suspended),
            ("Deactivated", IdpStatus::Deprovisioned),
            ("DEPROVISIONED", IdpStatus::Deprovisioned),
        ];
        for (raw, want) in cases {
            assert_eq!(status(raw), Some(want), "{raw}");
        }
        assert_eq!(status("ENABLED"), None);
    }

    #[test]
    fn reads_password_health_rows() {
        let data =
            b"User,Login,Status,Activation date,Authentication Source,Last Login,Last Password Change\n\
            Ann Lee,Ann.Lee@acme.test,Deactivated,2024-01-02T00:00:00.000Z,OKTA,2026-05-01T10:00:00.000Z,\n";
        let table = Table::new("okta.csv", data).expect("table");
        assert!(detect(&table));
        let ids = read(&table, 0).expect("rows");
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
    fn unknown_status_names_file_and_line() {
        let data = b"User,Login,Status,Last Login\nA,a@x.test,ACTIVE,\nB,b@x.test,WEIRD,\n";
        let table = Table::new("okta.csv", data).expect("table");
        let err = read(&table, 0).expect_err("bad status").to_string();
        assert!(err.starts_with("okta.csv:3:"), "{err}");
        assert!(err.contains("WEIRD"), "{err}");
    }

    #[test]
    fn ragged_row_names_its_line() {
        let data = b"User,Login,Status,Last Login\nA,a@x.test,ACTIVE,\nB,b@x.test\n";
        let table = Table::new("okta.csv", data).expect("table");
        let err = read(&table, 0).expect_err("ragged").to_string();
        assert!(err.starts_with("okta.csv:3:"), "{err}");
    }
}
