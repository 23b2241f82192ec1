//! Entra ID "Download users" CSV, in its documented (`objectId`, ...) and its
//! real Graph-era (`id`, ..., `createdDateTime`) variants.

use super::csv_row::{CsvRows, Row, RowCx};
use super::csv_table::Table;
use super::fields::non_empty;
use super::sink::Sink;
use super::{Identity, IdpError, IdpStatus, KeyKind};

pub(crate) const EXPECTED: &str = "userPrincipalName,displayName,surname,mail,givenName,id (or objectId),userType,jobTitle,department,accountEnabled,...";

pub(crate) fn detect(table: &Table) -> bool {
    table.has_all(&["userPrincipalName", "accountEnabled"])
}

pub(crate) fn read(table: &mut Table, sink: &mut Sink) -> Result<(), IdpError> {
    let cols = Columns {
        upn: table.require(&["userPrincipalName"])?,
        enabled: table.require(&["accountEnabled"])?,
        name: table.column(&["displayName"])?,
        mail: table.column(&["mail"])?,
        alt: table.column(&["alternateEmailAddress"])?,
        dept: table.column(&["department"])?,
    };
    table.rows(&cols, sink)
}

/// Column positions of this export, found once from its header.
struct Columns {
    upn: usize,
    enabled: usize,
    name: Option<usize>,
    mail: Option<usize>,
    alt: Option<usize>,
    dept: Option<usize>,
}

impl CsvRows for Columns {
    fn row(&self, rec: &Row, line: u64, cx: &RowCx, sink: &mut Sink) -> Result<(), IdpError> {
        // Only the cells read are UTF-8 checked: the status and keys on every
        // row, the rest only for the rows kept.
        let cell = |col: Option<usize>| cx.text(rec, col, line);
        let raw_status = cell(Some(self.enabled))?;
        let (upn, mail, alt) = (cell(Some(self.upn))?, cell(self.mail)?, cell(self.alt)?);
        let status = if raw_status.eq_ignore_ascii_case("true") {
            IdpStatus::Active
        } else if raw_status.eq_ignore_ascii_case("false") {
            IdpStatus::Deprovisioned
        } else {
            return Err(cx.error(
                line,
                format!("accountEnabled `{raw_status}` is neither True nor False"),
            ));
        };
        sink.count(status);
        // `#EXT#` guests keep their real address only in alternateEmailAddress.
        let alternates = || alt.split([';', ' ']).filter(|a| !a.is_empty());
        if !(sink.wants(&[upn, mail]) || alternates().any(|a| sink.wants(&[a]))) {
            return Ok(());
        }
        let mut identity = Identity::new(sink.source, line, upn, status, raw_status);
        identity.display_name = cell(self.name)?.to_owned();
        identity.department = non_empty(cell(self.dept)?);
        identity.push_key(mail, KeyKind::PrimaryEmail);
        for alt in alternates() {
            identity.push_key(alt, KeyKind::SecondaryEmail);
        }
        sink.keep(identity);
        Ok(())
    }
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

    #[test]
    fn parallel_blocks_read_what_one_pass_reads() {
        let ids = crate::idp::test_support::same_in_blocks(
            "download-users-documented.csv",
            include_bytes!("../../fixtures/idp/entra/download-users-documented.csv"),
            read,
        );
        assert_eq!(ids.len(), 3);
        assert_eq!(
            ids[1],
            (3, "bo.chen@acme.test".to_owned(), IdpStatus::Deprovisioned)
        );
    }
}
