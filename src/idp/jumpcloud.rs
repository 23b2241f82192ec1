//! JumpCloud: a users CSV (the systemuser field names) and the API's JSON
//! (`GET /api/systemusers`: `{"totalCount": N, "results": [...]}`, or a plain
//! array). Status comes from `state`, overridden by `suspended: true`; users
//! written before `state` existed have only `activated`.

use serde_json::Value;

use super::csv_row::{CsvRows, Row, RowCx};
use super::csv_table::Table;
use super::fields::{non_empty, text};
use super::json_doc::JsonUsers;
use super::json_lean::Keep;
use super::sink::Sink;
use super::{Identity, IdpError, IdpStatus, KeyKind};
use crate::model::time::parse_timestamp;

pub(crate) const EXPECTED: &str = "firstname,lastname,username,email,alternateEmail,state,activated,suspended,\
     account_locked,department,employeeIdentifier,manager,... (state STAGED, ACTIVATED or SUSPENDED), or the JSON \
     of GET /api/systemusers ({\"totalCount\": N, \"results\": [...]})";

const USERNAME: &[&str] = &["username", "user name"];
const EMAIL: &[&str] = &["email", "email address"];
const STATE: &[&str] = &["state", "user state", "userState"];
const ACTIVATED: &[&str] = &["activated"];
const SUSPENDED: &[&str] = &["suspended"];
const LOCKED: &[&str] = &["account_locked", "accountLocked", "account locked"];
const ALTERNATE: &[&str] = &["alternateEmail", "alternate_email", "alternate email"];

const ACCEPTED_STATES: &str = "STAGED, ACTIVATED (or Active) or SUSPENDED";

/// A `state` as the API (`ACTIVATED`) or the admin portal (`Active`) writes it, any case.
pub(crate) fn state_status(raw: &str) -> Option<IdpStatus> {
    state_of(raw.trim().as_bytes())
}

fn state_of(raw: &[u8]) -> Option<IdpStatus> {
    const TABLE: &[(&str, IdpStatus)] = &[
        ("ACTIVATED", IdpStatus::Active),
        ("ACTIVE", IdpStatus::Active),
        ("STAGED", IdpStatus::Staged),
        ("SUSPENDED", IdpStatus::Suspended),
    ];
    TABLE
        .iter()
        .find_map(|(name, status)| name.as_bytes().eq_ignore_ascii_case(raw).then_some(*status))
}

/// The status from the fields a user has: `suspended: true` wins over any
/// state; then `state`; without one, `activated` (false: not yet set up, staged).
/// A locked account is still active (locked is not terminated). `None` when
/// no field says anything.
pub(crate) fn combine(
    state: Option<IdpStatus>,
    activated: Option<bool>,
    suspended: Option<bool>,
) -> Option<IdpStatus> {
    if suspended == Some(true) {
        return Some(IdpStatus::Suspended);
    }
    state.or(match activated {
        Some(true) => Some(IdpStatus::Active),
        Some(false) => Some(IdpStatus::Staged),
        None => None,
    })
}

/// A boolean cell: `true`/`false` in any case, blank for none; anything else is `Err`.
fn flag(raw: &str) -> Result<Option<bool>, ()> {
    flag_of(raw.trim().as_bytes())
}

fn flag_of(raw: &[u8]) -> Result<Option<bool>, ()> {
    if raw.is_empty() {
        Ok(None)
    } else if raw.eq_ignore_ascii_case(b"true") {
        Ok(Some(true))
    } else if raw.eq_ignore_ascii_case(b"false") {
        Ok(Some(false))
    } else {
        Err(())
    }
}

/// What the export said, for the report: the state, and the flags that change or qualify it.
fn describe(state: &str, activated: Option<bool>, suspended: bool, locked: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !state.is_empty() {
        parts.push(state.to_owned());
    } else if let Some(activated) = activated {
        parts.push(format!("activated={activated}"));
    }
    if suspended && !state.eq_ignore_ascii_case("SUSPENDED") {
        parts.push("suspended=true".to_owned());
    }
    if locked {
        parts.push("account_locked=true".to_owned());
    }
    parts.join(", ")
}

fn no_status() -> String {
    format!("state is blank and activated/suspended do not say either (expected state {ACCEPTED_STATES})")
}

/// JumpCloud's own columns: `username`, `email`, and a status field
/// (`state`, `activated` or `suspended`), with no `status` (OneLogin) or
/// `login` (Okta) column.
pub(crate) fn detect(table: &Table) -> bool {
    table.has(USERNAME)
        && table.has(EMAIL)
        && [STATE, ACTIVATED, SUSPENDED].iter().any(|names| table.has(names))
        && !table.has(&["status", "login"])
}

/// One row's status fields, read from bytes on the hot path.
struct Fields {
    status: IdpStatus,
    activated: Option<bool>,
    suspended: bool,
    locked: bool,
}

/// Which field of a row is wrong, for the (slow-path) message.
enum Wrong {
    State,
    Flag(&'static str, Option<usize>),
    Nothing,
}

fn fields(state: &[u8], cols: [(&'static str, Option<usize>, &[u8]); 3]) -> Result<Fields, Wrong> {
    let state = match state {
        b"" => None,
        raw => Some(state_of(raw).ok_or(Wrong::State)?),
    };
    let [activated, suspended, locked] =
        cols.map(|(name, col, raw)| flag_of(raw).map_err(|()| Wrong::Flag(name, col)));
    let (activated, suspended, locked) = (activated?, suspended?, locked?);
    Ok(Fields {
        status: combine(state, activated, suspended).ok_or(Wrong::Nothing)?,
        activated,
        suspended: suspended == Some(true),
        locked: locked == Some(true),
    })
}

pub(crate) fn read(table: &mut Table, sink: &mut Sink) -> Result<(), IdpError> {
    let username = table.column(USERNAME)?;
    let email = table.column(EMAIL)?;
    if username.is_none() && email.is_none() {
        table.require(USERNAME)?;
    }
    let state = table.column(STATE)?;
    let activated = table.column(ACTIVATED)?;
    let suspended = table.column(SUSPENDED)?;
    let locked = table.column(LOCKED)?;
    if state.is_none() && activated.is_none() && suspended.is_none() {
        table.require(STATE)?;
    }
    let cols = Columns {
        username,
        email,
        state,
        activated,
        suspended,
        locked,
        alternate: table.column(ALTERNATE)?,
        display: table.column(&["displayname", "display name"])?,
        first: table.column(&["firstname", "first name"])?,
        last: table.column(&["lastname", "last name"])?,
        dept: table.column(&["department"])?,
        employee: table.column(&["employeeIdentifier", "employee_identifier", "employee id"])?,
        manager: table.column(&["manager"])?,
        last_login: table.column(&["lastLogin", "last_login", "last login"])?,
    };
    table.rows(&cols, sink)
}

/// Column positions of this export, found once from its header.
struct Columns {
    username: Option<usize>,
    email: Option<usize>,
    state: Option<usize>,
    activated: Option<usize>,
    suspended: Option<usize>,
    locked: Option<usize>,
    alternate: Option<usize>,
    display: Option<usize>,
    first: Option<usize>,
    last: Option<usize>,
    dept: Option<usize>,
    employee: Option<usize>,
    manager: Option<usize>,
    last_login: Option<usize>,
}

impl CsvRows for Columns {
    fn row(&self, rec: &Row, line: u64, cx: &RowCx, sink: &mut Sink) -> Result<(), IdpError> {
        // Hot path first, on bytes: the status (counted for every row) and
        // whether any key belongs to an agent; text and dates only for those kept.
        let bytes = |col: Option<usize>| col.and_then(|c| rec.get(c)).unwrap_or_default().trim_ascii();
        let known = fields(
            bytes(self.state),
            [
                ("activated", self.activated, bytes(self.activated)),
                ("suspended", self.suspended, bytes(self.suspended)),
                ("account_locked", self.locked, bytes(self.locked)),
            ],
        );
        if let Ok(known) = &known {
            sink.count(known.status);
            let wanted = sink.wants_key(bytes(self.username))
                || sink.wants_key(bytes(self.email))
                || sink.wants_key(bytes(self.alternate));
            if !wanted {
                return Ok(());
            }
        }
        let cell = |col: Option<usize>| cx.text(rec, col, line);
        let raw_state = cell(self.state)?;
        let known = match known {
            Ok(known) => known,
            Err(Wrong::State) => {
                let reason = format!("state `{raw_state}` is not a JumpCloud state ({ACCEPTED_STATES})");
                return Err(cx.error(line, reason));
            }
            Err(Wrong::Flag(name, col)) => {
                let reason = format!("{name} `{}` is neither true nor false", cell(col)?);
                return Err(cx.error(line, reason));
            }
            Err(Wrong::Nothing) => return Err(cx.error(line, no_status())),
        };
        let (username, email, alternate) = (cell(self.username)?, cell(self.email)?, cell(self.alternate)?);
        let raw_status = describe(raw_state, known.activated, known.suspended, known.locked);
        let login = if username.is_empty() { email } else { username };
        let mut identity = Identity::new(sink.source, line, login, known.status, &raw_status);
        identity.last_login = parse_timestamp(cell(self.last_login)?)
            .map_err(|why| cx.error(line, format!("lastLogin: {why}")))?;
        identity.display_name = match cell(self.display)? {
            "" => format!("{} {}", cell(self.first)?, cell(self.last)?)
                .trim()
                .to_owned(),
            name => name.to_owned(),
        };
        identity.department = non_empty(cell(self.dept)?);
        identity.employee_id = non_empty(cell(self.employee)?);
        identity.manager = non_empty(cell(self.manager)?);
        identity.push_key(email, KeyKind::PrimaryEmail);
        identity.push_key(alternate, KeyKind::SecondaryEmail);
        sink.keep(identity);
        Ok(())
    }
}

/// The systemusers array: `results` of the paged answer, or a plain array.
fn users_of(doc: &Value) -> Option<&[Value]> {
    match doc {
        Value::Array(items) => Some(items),
        Value::Object(map) => map.get("results").and_then(Value::as_array).map(Vec::as_slice),
        _ => None,
    }
}

/// Systemusers have `username` and a string `state` or a boolean `activated`,
/// and no `status` (OneLogin's). An empty page (`{"totalCount": 0, "results": []}`) counts too.
pub(crate) fn detect_json(doc: &Value) -> bool {
    let Some(users) = users_of(doc) else { return false };
    match users.first() {
        Some(user) => {
            user.get("username").is_some()
                && (user.get("state").is_some_and(Value::is_string)
                    || user.get("activated").is_some_and(Value::is_boolean))
                && user.get("status").is_none()
        }
        None => doc.get("totalCount").is_some_and(Value::is_number),
    }
}

/// A boolean field: JSON `true`/`false` (or the same as a string); absent or null for none.
fn json_flag(user: &Value, key: &str) -> Result<Option<bool>, String> {
    match user.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => flag(s).map_err(|()| format!("{key} \"{s}\" is neither true nor false")),
        Some(other) => Err(format!("{key} {other} is neither true nor false")),
    }
}

fn json_state(user: &Value) -> Result<(&str, Option<IdpStatus>), String> {
    match user.get("state") {
        None | Some(Value::Null) => Ok(("", None)),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(("", None)),
        Some(Value::String(s)) => match state_status(s) {
            Some(status) => Ok((s.trim(), Some(status))),
            None => Err(format!(
                "state \"{s}\" is not a JumpCloud state ({ACCEPTED_STATES})"
            )),
        },
        Some(other) => Err(format!(
            "state {other} is not a JumpCloud state ({ACCEPTED_STATES})"
        )),
    }
}

/// The paged answer's `results` (or a bare array).
pub(crate) const ARRAYS: &[&str] = &["results"];

/// What counting a user takes, read alike from a whole user and from the
/// members of [`COUNTED`] alone (the hot path, `json_lean`).
#[derive(Debug, PartialEq)]
struct Counted<'u> {
    status: IdpStatus,
    /// The fields the status comes from, for the report's raw status.
    raw_state: &'u str,
    activated: Option<bool>,
    suspended: Option<bool>,
    locked: Option<bool>,
    /// `username`, `email` and `alternateEmail` (or `alternate_email`).
    keys: [&'u str; 3],
}

const COUNTED: Keep = &[
    &["state"],
    &["activated"],
    &["suspended"],
    &["account_locked"],
    &["username"],
    &["email"],
    &["alternateEmail"],
    &["alternate_email"],
];

fn counted(user: &Value) -> Result<Counted<'_>, String> {
    let (raw_state, state) = json_state(user)?;
    let activated = json_flag(user, "activated")?;
    let suspended = json_flag(user, "suspended")?;
    let locked = json_flag(user, "account_locked")?;
    let status = combine(state, activated, suspended).ok_or_else(no_status)?;
    let alternate = match text(user, "/alternateEmail") {
        "" => text(user, "/alternate_email"),
        found => found,
    };
    Ok(Counted {
        status,
        raw_state,
        activated,
        suspended,
        locked,
        keys: [text(user, "/username"), text(user, "/email"), alternate],
    })
}

pub(crate) fn read_json(users: &mut JsonUsers, sink: &mut Sink) -> Result<(), IdpError> {
    let file = users.file().to_owned();
    users.expect(ARRAYS)?;
    let unwanted = |user: &Value, sink: &mut Sink| {
        counted(user)
            .ok()
            .and_then(|c| (!sink.wants(&c.keys)).then_some(c.status))
    };
    while let Some(user) = users.next_wanted(sink, COUNTED, unwanted)? {
        let (index, at) = (user.index, |reason: String| user.error(&file, reason));
        let Counted {
            status,
            raw_state,
            activated,
            suspended,
            locked,
            keys,
        } = counted(&user).map_err(at)?;
        sink.count(status);
        if !sink.wants(&keys) {
            continue;
        }
        let [username, email, alternate] = keys;
        let raw_status = describe(
            raw_state,
            activated,
            suspended == Some(true),
            locked == Some(true),
        );
        let login = if username.is_empty() { email } else { username };
        // JSON arrays have no lines: a user's 1-based place in the array stands for its row.
        let mut identity = Identity::new(sink.source, index as u64 + 1, login, status, &raw_status);
        identity.last_login =
            parse_timestamp(text(&user, "/lastLogin")).map_err(|why| at(format!("lastLogin: {why}")))?;
        identity.display_name = match text(&user, "/displayname") {
            "" => format!("{} {}", text(&user, "/firstname"), text(&user, "/lastname"))
                .trim()
                .to_owned(),
            name => name.to_owned(),
        };
        identity.department = non_empty(text(&user, "/department"));
        identity.employee_id = non_empty(text(&user, "/employeeIdentifier"));
        identity.manager = non_empty(text(&user, "/manager"));
        identity.push_key(email, KeyKind::PrimaryEmail);
        identity.push_key(alternate, KeyKind::SecondaryEmail);
        sink.keep(identity);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp::KeySet;
    use crate::idp::test_support;
    use jiff::Timestamp;
    use serde_json::json;

    const CSV: &[u8] = include_bytes!("../../fixtures/idp/jumpcloud/users.csv");
    const JSON: &[u8] = include_bytes!("../../fixtures/idp/jumpcloud/systemusers.json");

    fn read_csv(name: &str, data: &'static [u8]) -> Result<Vec<Identity>, IdpError> {
        Ok(test_support::read_csv(name, data, detect, read)?.kept)
    }

    fn read_doc(name: &str, doc: &Value) -> Result<Vec<Identity>, IdpError> {
        Ok(test_support::read_doc(name, doc, ARRAYS, read_json)?.kept)
    }

    fn fixture_json() -> Value {
        test_support::json(JSON)
    }

    #[test]
    fn states() {
        let cases = [
            ("ACTIVATED", Some(IdpStatus::Active)),
            ("Activated", Some(IdpStatus::Active)),
            ("Active", Some(IdpStatus::Active)),
            ("STAGED", Some(IdpStatus::Staged)),
            ("staged", Some(IdpStatus::Staged)),
            ("SUSPENDED", Some(IdpStatus::Suspended)),
            ("DEACTIVATED", None),
            ("", None),
        ];
        for (raw, want) in cases {
            assert_eq!(state_status(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn status_from_state_and_flags() {
        use IdpStatus::*;
        let cases = [
            // (state, activated, suspended) -> status
            ((Some(Active), Some(true), Some(false)), Some(Active)),
            ((Some(Active), Some(true), Some(true)), Some(Suspended)),
            ((Some(Staged), Some(false), Some(true)), Some(Suspended)),
            ((Some(Staged), Some(true), None), Some(Staged)),
            ((Some(Suspended), Some(true), Some(false)), Some(Suspended)),
            ((None, Some(false), None), Some(Staged)),
            ((None, Some(false), Some(false)), Some(Staged)),
            ((None, Some(true), Some(false)), Some(Active)),
            ((None, None, Some(true)), Some(Suspended)),
            ((None, None, Some(false)), None),
            ((None, None, None), None),
        ];
        for ((state, activated, suspended), want) in cases {
            assert_eq!(
                combine(state, activated, suspended),
                want,
                "{state:?} {activated:?} {suspended:?}"
            );
        }
    }

    #[test]
    fn reads_the_csv_fixture() {
        let ids = read_csv("users.csv", CSV).expect("rows");
        let got: Vec<_> = ids
            .iter()
            .map(|i| (i.login.as_str(), i.status, i.raw_status.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("olivia.hart", IdpStatus::Active, "ACTIVATED"),
                ("marcus.bell", IdpStatus::Active, "ACTIVATED, account_locked=true"),
                ("priya.nair", IdpStatus::Suspended, "SUSPENDED"),
                ("sam.ortiz", IdpStatus::Staged, "STAGED"),
                ("tom.reyes", IdpStatus::Suspended, "ACTIVATED, suspended=true"),
                ("ana.lima", IdpStatus::Staged, "activated=false"),
            ]
        );
        let olivia = &ids[0];
        assert_eq!(
            olivia.keys,
            [
                ("olivia.hart".to_owned(), KeyKind::Login),
                ("olivia.hart@acme.test".to_owned(), KeyKind::PrimaryEmail),
                (
                    "olivia.hart.personal@mail.example".to_owned(),
                    KeyKind::SecondaryEmail
                ),
            ]
        );
        assert_eq!(olivia.display_name, "Olivia Hart");
        assert_eq!(olivia.employee_id.as_deref(), Some("E1001"));
        assert_eq!(olivia.manager.as_deref(), Some("5f3a9c0e1b2d4e0012ab0001"));
        assert_eq!(olivia.department.as_deref(), Some("Customer Support"));
        assert_eq!(olivia.last_login, None, "systemusers have no last login");
        assert!(
            ids[4]
                .keys
                .contains(&("tom.reyes@acme.test".to_owned(), KeyKind::PrimaryEmail))
        );
        assert_eq!(ids[3].line, 5);
    }

    #[test]
    fn reads_the_json_fixture() {
        let ids = read_doc("systemusers.json", &fixture_json()).expect("users");
        let got: Vec<_> = ids
            .iter()
            .map(|i| (i.line, i.login.as_str(), i.status, i.raw_status.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (1, "olivia.hart", IdpStatus::Active, "ACTIVATED"),
                (
                    2,
                    "marcus.bell",
                    IdpStatus::Active,
                    "ACTIVATED, account_locked=true"
                ),
                (3, "priya.nair", IdpStatus::Suspended, "SUSPENDED"),
                (4, "sam.ortiz", IdpStatus::Staged, "STAGED"),
                (
                    5,
                    "tom.reyes",
                    IdpStatus::Suspended,
                    "activated=true, suspended=true"
                ),
            ]
        );
        assert_eq!(ids[0].display_name, "Olivia Hart");
        assert_eq!(
            ids[1].display_name, "Marcus Bell",
            "blank displayname falls back to the names"
        );
        assert_eq!(ids[2].manager, None);
        assert!(
            ids[4]
                .keys
                .contains(&("tom.r@billing.acme.test".to_owned(), KeyKind::SecondaryEmail))
        );
        assert!(ids.iter().all(|i| i.last_login.is_none()));
    }

    #[test]
    fn reads_a_plain_array_with_last_login() {
        let doc = json!([{"username": "a", "email": "a@acme.test", "activated": true,
            "alternate_email": "a@home.example", "lastLogin": "2026-09-01T08:00:00Z"}]);
        assert!(detect_json(&doc));
        let ids = read_doc("a.json", &doc).expect("users");
        assert_eq!(ids[0].status, IdpStatus::Active);
        assert_eq!(
            ids[0].last_login,
            Some("2026-09-01T08:00:00Z".parse().expect("ts"))
        );
        assert!(
            ids[0]
                .keys
                .contains(&("a@home.example".to_owned(), KeyKind::SecondaryEmail))
        );
    }

    #[test]
    fn counts_every_user_but_keeps_the_wanted() {
        let wanted: KeySet = ["tom.r@billing.acme.test".to_owned()].into_iter().collect();
        let mut sink = Sink::new(0, Some(&wanted), Timestamp::UNIX_EPOCH);
        crate::idp::test_support::read_into(
            "systemusers.json",
            &fixture_json(),
            ARRAYS,
            read_json,
            &mut sink,
        )
        .expect("users");
        assert_eq!(sink.rows, 5);
        assert_eq!(sink.by_status()[&IdpStatus::Suspended], 2);
        assert_eq!(sink.kept.len(), 1);
        assert_eq!(sink.kept[0].login, "tom.reyes");
    }

    #[test]
    fn csv_detection() {
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
                "google",
                include_bytes!("../../fixtures/idp/google/users-34col.csv"),
            ),
            (
                "onelogin",
                include_bytes!("../../fixtures/idp/onelogin/users.csv"),
            ),
            (
                "no status field",
                b"username,email,firstname,lastname,account_locked\n",
            ),
        ];
        for (name, data) in theirs {
            assert!(!detect(&Table::from_bytes(name, data).expect("table")), "{name}");
        }
        let only_flags =
            Table::from_bytes("flags.csv", b"username,email,activated,suspended\n").expect("table");
        assert!(detect(&only_flags));
    }

    #[test]
    fn json_detection() {
        assert!(detect_json(&fixture_json()));
        assert!(detect_json(&json!({"totalCount": 0, "results": []})));
        let theirs = [
            json!([{"id": "00u1", "status": "ACTIVE", "profile": {"login": "a@acme.test"}}]),
            json!([{"id": 1, "username": "a", "email": "a@acme.test", "status": 1, "state": 1}]),
            json!({"data": [{"username": "a", "status": 1}]}),
            json!({"Resources": [{"userName": "a@acme.test", "active": true}]}),
            json!({"value": [{"userPrincipalName": "a@acme.test", "accountEnabled": true}]}),
            json!({"results": [{"email": "a@acme.test", "state": "ACTIVATED"}]}),
            json!([]),
        ];
        for doc in theirs {
            assert!(!detect_json(&doc), "{doc}");
        }
    }

    #[test]
    fn bad_values_name_file_and_line() {
        let cases: [(&'static [u8], &str); 4] = [
            (
                b"username,email,state\na,a@acme.test,ACTIVATED\nb,b@acme.test,DELETED\n",
                "`DELETED`",
            ),
            (
                b"username,email,state,suspended\na,a@acme.test,ACTIVATED,false\nb,b@acme.test,STAGED,maybe\n",
                "suspended `maybe`",
            ),
            (
                b"username,email,state,activated\na,a@acme.test,STAGED,false\nb,b@acme.test,,\n",
                "state is blank",
            ),
            (
                b"username,email,state,account_locked\na,a@acme.test,STAGED,\nb,b@acme.test,STAGED,1\n",
                "account_locked `1`",
            ),
        ];
        for (data, needle) in cases {
            let err = read_csv("users.csv", data).expect_err(needle).to_string();
            assert!(err.starts_with("users.csv:3:"), "{err}");
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn the_hot_path_counts_users_as_the_whole_read_does() {
        for (lean, whole) in test_support::both_ways(JSON, ARRAYS, COUNTED) {
            assert_eq!(counted(&lean.expect("read by the hot path")), counted(&whole));
        }
        let odd = [
            r#"{"username": "a", "state": "ACTIVATED", "alternateEmail": "", "alternate_email": "b@x.test"}"#,
            r#"{"username": "a", "state": "ACTIVATED", "AlternateEmail": "b@x.test"}"#,
            r#"{"username": "a", "state": "STAGED", "state": "SUSPENDED"}"#,
            r#"{"username": "a", "activated": "true", "suspended": null, "account_locked": "FALSE"}"#,
            r#"{"username": "a", "state": "ACTIVATED", "account_locked": "locked"}"#,
            r#"{"username": "a", "state": "GONE"}"#,
            r#"{"username": "a"}"#,
            r#"{"username": "a", "state": "ACTIVATED", "attributes": [{"name": "\uD800x"}]}"#,
            r#"{"username": "a", "state": "ACTIVATED", "x": 1e999}"#,
            r#"7"#,
            r#"{"username": "a", "state": "ACTIVATED", "lastLogin": "soon"}"#,
        ];
        test_support::hot_path_agrees(ARRAYS, read_json, &["lastLogin"], &odd);
    }

    #[test]
    fn bad_json_values_name_file_and_user() {
        let cases = [
            (json!({"state": "GONE"}), "state \"GONE\""),
            (json!({"state": 1}), "state 1"),
            (json!({"activated": "yes"}), "activated \"yes\""),
            (json!({"suspended": 0, "state": "ACTIVATED"}), "suspended 0"),
            (json!({}), "state is blank"),
        ];
        for (bad, needle) in cases {
            let mut second = json!({"username": "b", "email": "b@acme.test"});
            second
                .as_object_mut()
                .expect("object")
                .extend(bad.as_object().expect("object").clone());
            let doc = json!({"totalCount": 2, "results": [
                {"username": "a", "email": "a@acme.test", "state": "ACTIVATED"}, second]});
            let err = read_doc("systemusers.json", &doc).expect_err(needle).to_string();
            // Pretty-printed (test_support), the second user starts at line 9, column 5.
            assert!(
                err.starts_with("systemusers.json:9:5: user #2 of the array:"),
                "{err}"
            );
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn parallel_blocks_read_what_one_pass_reads() {
        let ids = test_support::same_in_blocks("users.csv", CSV, read);
        assert_eq!(ids.len(), 6);
        assert_eq!(ids[3], (5, "sam.ortiz".to_owned(), IdpStatus::Staged));
    }
}
