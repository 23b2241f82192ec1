//! Entra ID "Download users" CSV, in its documented (`objectId`, ...) and its
//! real Graph-era (`id`, ..., `createdDateTime`) variants.

use super::csv_table::{Table, cell};
use super::{Identity, IdpError, IdpStatus, KeyKind};

pub(crate) const EXPECTED: &str = "userPrincipalName,displayName,surname,mail,givenName,id (or objectId),userType,jobTitle,department,accountEnabled,...";

pub(crate) fn detect(table: &Table) -> bool {
    table.has_all(&["userPrincipalName", "accountEnabled"])
}

pub(crate) fn read(table: &Table, source: usize) -> Result<Vec<Identity>, IdpError> {
    let upn_col = table.require(&["userPrincipalName"])?;
    let enabled_col = table.require(&["accountEnabled"])?;
    let name_col = table.column(&["displayName"]);
    let mail_col = table.column(&["mail"]);
    let alt_col = table.column(&["alternateEmailAddress"]);
    let dept_col = table.column(&["department"]);

    let mut out = Vec::new();
    for row in table.rows() {
        let (line, rec) = row?;
        let upn = cell(&rec, Some(upn_col));
        let raw_status = cell(&rec, Some(enabled_col));
        let status = match raw_status.to_ascii_lowercase().as_str() {
            "true" => IdpStatus::Active,
            "false" => IdpStatus::Deprovisioned,
            _ => {
                return Err(table.row_error(
                    line,
                    format!("accountEnabled `{raw_status}` is neither True nor False"),
                ));
            }
        };
        let mut identity = Identity {
            source,
            line,
            login: upn.to_owned(),
            display_name: cell(&rec, name_col).to_owned(),
            keys: Vec::new(),
            status,
            raw_status: raw_status.to_owned(),
            last_login: None,
            department: Some(cell(&rec, dept_col))
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
        };
        identity.push_key(upn, KeyKind::Login);
        identity.push_key(cell(&rec, mail_col), KeyKind::PrimaryEmail);
        // `#EXT#` guests keep their real address only here.
        for alt in cell(&rec, alt_col).split([';', ' ']) {
            identity.push_key(alt, KeyKind::SecondaryEmail);
        }
        out.push(identity);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_resolves_through_alternate_email() {
        let data = "\u{feff}userPrincipalName,displayName,mail,id,accountEnabled,alternateEmailAddress\n\
            MSOBBYSec_outlook.com#EXT#@x.onmicrosoft.com,\"Sec, Guest\",,7cc0,True,MSOBBYSec@outlook.com\n";
        let table = Table::new("entra.csv", data.as_bytes()).expect("table");
        assert!(detect(&table));
        let ids = read(&table, 0).expect("rows");
        assert_eq!(ids[0].display_name, "Sec, Guest");
        assert!(
            ids[0]
                .keys
                .contains(&("msobbysec@outlook.com".to_owned(), KeyKind::SecondaryEmail))
        );
        assert_eq!(ids[0].status, IdpStatus::Active);
    }

    #[test]
    fn reads_the_real_2021_export() {
        let data = include_bytes!("../../fixtures/idp/entra-download-users-2021.csv");
        let table = Table::new("entra.csv", data).expect("table");
        let ids = read(&table, 0).expect("rows");
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[1].raw_status, "True");
    }
}
