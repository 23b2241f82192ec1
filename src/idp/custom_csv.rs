//! Any other CSV, read through a column mapping from the policy (`[idp_csv]`):
//! which column is the login, which hold emails, and which cell values of the
//! status column mean active, staged, suspended or deprovisioned.

use serde::{Deserialize, Serialize};

use super::csv_row::{CsvRows, Row, RowCx};
use super::csv_table::Table;
use super::fields::non_empty;
use super::sink::Sink;
use super::{Identity, IdpError, IdpStatus, KeyKind};
use crate::model::time::parse_timestamp;

pub(crate) const EXPECTED: &str = "any CSV, with the policy's [idp_csv] column mapping";

/// Which columns of a custom CSV hold what. Column names match trimmed and
/// ignoring case; status values match trimmed and ignoring case.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvMapping {
    /// Column of the login (a key).
    pub login: String,
    /// Column of the primary email (a key).
    pub email: Option<String>,
    /// Columns of further emails (keys).
    #[serde(default)]
    pub secondary_emails: Vec<String>,
    /// Column of the status; without it every row is active.
    pub status: Option<String>,
    #[serde(default)]
    pub active_values: Vec<String>,
    #[serde(default)]
    pub staged_values: Vec<String>,
    #[serde(default)]
    pub suspended_values: Vec<String>,
    #[serde(default)]
    pub deprovisioned_values: Vec<String>,
    /// Column of the last login time.
    pub last_login: Option<String>,
    pub display_name: Option<String>,
    pub department: Option<String>,
}

impl CsvMapping {
    /// Each value list with the status it means, in the order they are tried.
    fn value_lists(&self) -> [(&'static str, &[String], IdpStatus); 4] {
        [
            ("active_values", &self.active_values, IdpStatus::Active),
            ("staged_values", &self.staged_values, IdpStatus::Staged),
            ("suspended_values", &self.suspended_values, IdpStatus::Suspended),
            (
                "deprovisioned_values",
                &self.deprovisioned_values,
                IdpStatus::Deprovisioned,
            ),
        ]
    }

    /// The status a cell value means, if any list holds it.
    fn status_of(&self, raw: &str) -> Option<IdpStatus> {
        let raw = raw.trim();
        self.value_lists()
            .into_iter()
            .find(|(_, values, _)| values.iter().any(|v| same_text(v.trim(), raw)))
            .map(|(_, _, status)| status)
    }

    /// A status column needs values, and no value may mean two statuses.
    fn check_values(&self) -> Result<(), String> {
        let lists = self.value_lists();
        if lists.iter().all(|(_, values, _)| values.is_empty()) {
            return Err(
                "the [idp_csv] mapping names a status column but none of active_values, staged_values, \
                 suspended_values, deprovisioned_values"
                    .into(),
            );
        }
        for (i, (name, values, _)) in lists.iter().enumerate() {
            for value in values.iter() {
                if let Some((other, _, _)) = lists[i + 1..]
                    .iter()
                    .find(|(_, vs, _)| vs.iter().any(|v| same_text(v.trim(), value.trim())))
                {
                    return Err(format!(
                        "the [idp_csv] mapping lists `{value}` in both {name} and {other}"
                    ));
                }
            }
        }
        Ok(())
    }

    fn accepted(&self) -> String {
        let values: Vec<&str> = self
            .value_lists()
            .iter()
            .flat_map(|(_, vs, _)| vs.iter())
            .map(|v| v.trim())
            .collect();
        values.join(", ")
    }
}

/// Equal ignoring case (ASCII fast path; full Unicode lower-casing otherwise).
fn same_text(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
    }
}

pub(crate) fn read(table: &mut Table, sink: &mut Sink, mapping: Option<&CsvMapping>) -> Result<(), IdpError> {
    let Some(mapping) = mapping else {
        return Err(table.row_error(
            1,
            "a csv: export needs a column mapping: add an [idp_csv] table to the policy file \
             (login = \"<column>\", and optionally email, secondary_emails, status with \
             active_values/staged_values/suspended_values/deprovisioned_values, last_login, \
             display_name, department)"
                .into(),
        ));
    };
    let column = |name: &Option<String>| name.as_deref().map(|n| table.require(&[n])).transpose();
    let cols = Columns {
        mapping,
        login: table.require(&[&mapping.login])?,
        email: column(&mapping.email)?,
        status: column(&mapping.status)?,
        last_login: column(&mapping.last_login)?,
        name: column(&mapping.display_name)?,
        dept: column(&mapping.department)?,
        secondary: mapping
            .secondary_emails
            .iter()
            .map(|n| table.require(&[n]))
            .collect::<Result<_, _>>()?,
    };
    if cols.status.is_some() {
        mapping.check_values().map_err(|why| table.row_error(1, why))?;
    }
    table.rows(&cols, sink)
}

/// The mapping, and the column positions it names in this export, found once from its header.
struct Columns<'m> {
    mapping: &'m CsvMapping,
    login: usize,
    email: Option<usize>,
    status: Option<usize>,
    last_login: Option<usize>,
    name: Option<usize>,
    dept: Option<usize>,
    secondary: Vec<usize>,
}

impl CsvRows for Columns<'_> {
    fn row(&self, rec: &Row, line: u64, cx: &RowCx, sink: &mut Sink) -> Result<(), IdpError> {
        let mapping = self.mapping;
        let cell = |col: Option<usize>| cx.text(rec, col, line);
        let raw_status = cell(self.status)?;
        let status = match self.status {
            None => IdpStatus::Active,
            Some(_) => mapping.status_of(raw_status).ok_or_else(|| {
                cx.error(
                    line,
                    format!(
                        "{} `{raw_status}` is none of the [idp_csv] mapping's status values ({})",
                        mapping.status.as_deref().unwrap_or_default(),
                        mapping.accepted()
                    ),
                )
            })?,
        };
        sink.count(status);
        // Keys are looked up on bytes; text only for the rows kept.
        let bytes = |col: Option<usize>| col.and_then(|c| rec.get(c)).unwrap_or_default().trim_ascii();
        let (login, email) = (bytes(Some(self.login)), bytes(self.email));
        if login.is_empty() && email.is_empty() {
            return Err(cx.error(line, format!("no login: `{}` is empty", mapping.login)));
        }
        let wanted = sink.wants_key(login)
            || sink.wants_key(email)
            || self.secondary.iter().any(|&c| sink.wants_key(bytes(Some(c))));
        if !wanted {
            return Ok(());
        }
        let (login, email) = (cell(Some(self.login))?, cell(self.email)?);
        let login = if login.is_empty() { email } else { login };
        let mut identity = Identity::new(sink.source, line, login, status, raw_status);
        identity.last_login = parse_timestamp(cell(self.last_login)?).map_err(|why| {
            cx.error(
                line,
                format!("{}: {why}", mapping.last_login.as_deref().unwrap_or_default()),
            )
        })?;
        identity.display_name = cell(self.name)?.to_owned();
        identity.department = non_empty(cell(self.dept)?);
        identity.push_key(email, KeyKind::PrimaryEmail);
        for &c in &self.secondary {
            identity.push_key(cell(Some(c))?, KeyKind::SecondaryEmail);
        }
        sink.keep(identity);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    const CUSTOM: &[u8] = include_bytes!("../../fixtures/idp/csv/custom.csv");

    /// The mapping for `fixtures/idp/csv/custom.csv`, as a policy would hold it.
    const POLICY: &str = r#"
        login = "Username"
        email = "Email"
        secondary_emails = ["Alias Email"]
        status = "Account State"
        active_values = ["Enabled"]
        staged_values = ["Invited"]
        suspended_values = ["Locked"]
        deprovisioned_values = ["Disabled", "Removed"]
        last_login = "Last Authenticated"
        display_name = "Full Name"
        department = "Team"
    "#;

    fn mapping() -> CsvMapping {
        toml::from_str(POLICY).expect("valid mapping")
    }

    fn read_all(data: &'static [u8], mapping: Option<&CsvMapping>) -> Result<Vec<Identity>, IdpError> {
        let mut table = Table::from_bytes("custom.csv", data)?;
        let mut sink = Sink::new(0, None, Timestamp::UNIX_EPOCH);
        read(&mut table, &mut sink, mapping)?;
        Ok(sink.kept)
    }

    #[test]
    fn mapping_deserialises_with_defaults_and_refuses_unknown_keys() {
        let m = mapping();
        assert_eq!(m.login, "Username");
        assert_eq!(m.secondary_emails, ["Alias Email"]);
        let minimal: CsvMapping = toml::from_str(r#"login = "uid""#).expect("login only");
        assert_eq!(
            minimal,
            CsvMapping {
                login: "uid".into(),
                ..CsvMapping::default()
            }
        );
        assert!(
            toml::from_str::<CsvMapping>(
                r#"login = "uid"
            emial = "mail""#
            )
            .is_err()
        );
        assert!(
            toml::from_str::<CsvMapping>(r#"email = "mail""#).is_err(),
            "login is required"
        );
    }

    #[test]
    fn status_values_table() {
        let m = mapping();
        let cases = [
            ("Enabled", Some(IdpStatus::Active)),
            (" enabled ", Some(IdpStatus::Active)),
            ("INVITED", Some(IdpStatus::Staged)),
            ("locked", Some(IdpStatus::Suspended)),
            ("Disabled", Some(IdpStatus::Deprovisioned)),
            ("removed", Some(IdpStatus::Deprovisioned)),
            ("", None),
            ("Enabled!", None),
        ];
        for (raw, want) in cases {
            assert_eq!(m.status_of(raw), want, "{raw:?}");
        }
        let unicode = CsvMapping {
            login: "u".into(),
            active_values: vec!["Größe".into()],
            ..CsvMapping::default()
        };
        assert_eq!(unicode.status_of("GRÖßE"), Some(IdpStatus::Active));
    }

    #[test]
    fn reads_the_fixture() {
        let ids = read_all(CUSTOM, Some(&mapping())).expect("reads");
        let cases = [
            ("ann.lee", IdpStatus::Active, "Enabled"),
            ("bo.chen", IdpStatus::Deprovisioned, "Disabled"),
            ("cy.dune", IdpStatus::Staged, "Invited"),
            ("dee.fox", IdpStatus::Suspended, "LOCKED"),
            ("eli.gray", IdpStatus::Active, "enabled"),
        ];
        assert_eq!(ids.len(), cases.len());
        for (i, (identity, (login, status, raw))) in ids.iter().zip(cases).enumerate() {
            assert_eq!(identity.login, login);
            assert_eq!(identity.line, i as u64 + 2);
            assert_eq!(
                (identity.status, identity.raw_status.as_str()),
                (status, raw),
                "{login}"
            );
        }
        let ann = &ids[0];
        assert_eq!(
            ann.keys,
            vec![
                ("ann.lee".to_owned(), KeyKind::Login),
                ("ann.lee@acme.test".to_owned(), KeyKind::PrimaryEmail),
                ("ann@eu.acme.test".to_owned(), KeyKind::SecondaryEmail),
            ]
        );
        assert_eq!(ann.display_name, "Ann Lee");
        assert_eq!(ann.department.as_deref(), Some("Customer Support"));
        assert_eq!(
            ann.last_login,
            Some("2026-09-28T07:41:19Z".parse().expect("valid"))
        );
        assert_eq!(
            ids[3].last_login,
            Some("2026-07-30T07:15:00Z".parse().expect("valid"))
        );
        assert_eq!(ids[4].last_login, None, "never");
    }

    #[test]
    fn without_a_status_column_every_row_is_active() {
        let m = CsvMapping {
            login: "email".into(),
            ..CsvMapping::default()
        };
        let ids = read_all(b"EMAIL,state\nann@acme.test,gone\n", Some(&m)).expect("reads");
        assert_eq!(ids[0].status, IdpStatus::Active);
        assert_eq!(ids[0].raw_status, "");
    }

    #[test]
    fn errors_name_file_line_and_the_fix() {
        let mut missing = mapping();
        missing.department = Some("Division".into());
        let mut no_values = mapping();
        no_values.active_values.clear();
        no_values.staged_values.clear();
        no_values.suspended_values.clear();
        no_values.deprovisioned_values.clear();
        let mut twice = mapping();
        twice.suspended_values.push("enabled".into());
        let cases: [(Option<&CsvMapping>, &[u8], &str); 6] = [
            (None, CUSTOM, "custom.csv:1: a csv: export needs a column mapping"),
            (Some(&missing), CUSTOM, "custom.csv:1: missing column `Division`"),
            (
                Some(&no_values),
                CUSTOM,
                "custom.csv:1: the [idp_csv] mapping names a status column",
            ),
            (
                Some(&twice),
                CUSTOM,
                "`Enabled` in both active_values and suspended_values",
            ),
            (
                Some(&mapping()),
                b"Username,Email,Alias Email,Account State,Last Authenticated,Full Name,Team\n\
                  a,a@acme.test,,Enabled,,A,T\nb,b@acme.test,,Archived,,B,T\n",
                "custom.csv:3: Account State `Archived` is none of the [idp_csv] mapping's status values \
                 (Enabled, Invited, Locked, Disabled, Removed)",
            ),
            (
                Some(&mapping()),
                b"Username,Email,Alias Email,Account State,Last Authenticated,Full Name,Team\n\
                  a,a@acme.test,,Enabled,yesterday,A,T\n",
                "custom.csv:2: Last Authenticated: `yesterday`",
            ),
        ];
        for (mapping, data, want) in cases {
            let err = read_all(data, mapping).expect_err("error").to_string();
            assert!(err.contains(want), "{err}");
        }
    }

    #[test]
    fn parallel_blocks_read_what_one_pass_reads() {
        let m = mapping();
        let ids = crate::idp::test_support::same_in_blocks("custom.csv", CUSTOM, |t, s| read(t, s, Some(&m)));
        assert_eq!(ids.len(), 5);
        assert_eq!(ids[3], (5, "dee.fox".to_owned(), IdpStatus::Suspended));
    }
}
