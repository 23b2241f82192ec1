//! Entra ID "Download users" CSV, in its documented (`objectId`, ...) and its
//! real Graph-era (`id`, ..., `createdDateTime`) variants.

use csv::StringRecord;

use super::csv_table::{Table, cell};
use super::okta::non_empty;
use super::sink::Sink;
use super::{Identity, IdpError, IdpStatus, KeyKind};

pub(crate) const EXPECTED: &str = "userPrincipalName,displayName,surname,mail,givenName,id (or objectId),userType,jobTitle,department,accountEnabled,...";

pub(crate) fn detect(table: &Table) -> bool {
    table.has_all(&["userPrincipalName", "accountEnabled"])
}

pub(crate) fn read(table: &mut Table, sink: &mut Sink) -> Result<(), IdpError> {
    let upn_col = table.require(&["userPrincipalName"])?;
    let enabled_col = table.require(&["accountEnabled"])?;
    let name_col = table.column(&["displayName"]);
    let mail_col = table.column(&["mail"]);
    let alt_col = table.column(&["alternateEmailAddress"]);
    let dept_col = table.column(&["department"]);

    let mut rec = StringRecord::new();
    while let Some(line) = table.next_row(&mut rec)? {
        let raw_status = cell(&rec, Some(enabled_col));
        let status = if raw_status.eq_ignore_ascii_case("true") {
            IdpStatus::Active
        } else if raw_status.eq_ignore_ascii_case("false") {
            IdpStatus::Deprovisioned
        } else {
            return Err(table.row_error(
                line,
                format!("accountEnabled `{raw_status}` is neither True nor False"),
            ));
        };
        sink.count(status);
        let (upn, mail, alt) = (
            cell(&rec, Some(upn_col)),
            cell(&rec, mail_col),
            cell(&rec, alt_col),
        );
        // `#EXT#` guests keep their real address only in alternateEmailAddress.
        let alternates: Vec<&str> = alt.split([';', ' ']).filter(|a| !a.is_empty()).collect();
        let mut keys = vec![upn, mail];
        keys.extend(&alternates);
        if !sink.wants(&keys) {
            continue;
        }
        let mut identity = Identity::new(sink.source, line, upn, status, raw_status);
        identity.display_name = cell(&rec, name_col).to_owned();
        identity.department = non_empty(cell(&rec, dept_col));
        identity.push_key(mail, KeyKind::PrimaryEmail);
        for alt in alternates {
            identity.push_key(alt, KeyKind::SecondaryEmail);
        }
        sink.keep(identity);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn read_all(data: &'static [u8]) -> Vec<Identity> {
        let mut table = Table::from_bytes("entra.csv", data).expect("table");
        assert!(detect(&table));
        let mut sink = Sink::new(0, None, Timestamp::UNIX_EPOCH);
        read(&mut table, &mut sink).expect("rows");
        sink.kept
    }

    #[test]
    fn guest_resolves_through_alternate_email() {
        let ids = read_all(
            "\u{feff}userPrincipalName,displayName,mail,id,accountEnabled,alternateEmailAddress\n\
            MSOBBYSec_outlook.com#EXT#@x.onmicrosoft.com,\"Sec, Guest\",,7cc0,True,MSOBBYSec@outlook.com\n"
                .as_bytes(),
        );
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
        let ids = read_all(include_bytes!("../../fixtures/idp/entra-download-users-2021.csv"));
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[1].raw_status, "True");
    }
}
