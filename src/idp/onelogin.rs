//! OneLogin: a users CSV (the API's field names, or their spaced labels such as
//! `Last Login`) and the API's JSON (`GET /api/2/users`, an array, or
//! `GET /api/1/users`, `{"data": [...]}`). Status is a number 0-8 or its label.

use serde_json::Value;

use super::csv_row::{CsvRows, Row, RowCx};
use super::csv_table::Table;
use super::fields::{non_empty, text};
use super::json_doc::JsonUsers;
use super::json_lean::Keep;
use super::sink::Sink;
use super::{Identity, IdpError, IdpStatus, KeyKind};
use crate::model::time::parse_timestamp;

pub(crate) const EXPECTED: &str = "id,firstname,lastname,email,username,status,last_login,department,... \
     (status 0-8 or its label), or the JSON of GET /api/2/users (an array) or /api/1/users ({\"data\": [...]})";

const USERNAME: &[&str] = &["username", "user name"];
const EMAIL: &[&str] = &["email"];
const STATUS: &[&str] = &["status"];
const LAST_LOGIN: &[&str] = &["last_login", "last login"];

/// OneLogin's status codes and their labels (6 is not used), as the contract maps them.
const STATUSES: &[(u64, &str, IdpStatus)] = &[
    (0, "Unactivated", IdpStatus::Staged),
    (1, "Active", IdpStatus::Active),
    (2, "Suspended", IdpStatus::Suspended),
    (3, "Locked", IdpStatus::Active),
    (4, "Password expired", IdpStatus::Active),
    (5, "Awaiting password reset", IdpStatus::Active),
    (7, "Password pending", IdpStatus::Staged),
    (8, "Security questions required", IdpStatus::Staged),
];

const ACCEPTED: &str = "0 Unactivated, 1 Active, 2 Suspended, 3 Locked, 4 Password expired, \
     5 Awaiting password reset, 7 Password pending, 8 Security questions required (number or label)";

/// A status code (`3`) or label (`Password expired`, `PASSWORD_EXPIRED`; any case).
pub(crate) fn status(raw: &str) -> Option<IdpStatus> {
    status_of(raw.trim().as_bytes())
}

fn status_of(raw: &[u8]) -> Option<IdpStatus> {
    if !raw.is_empty() && raw.iter().all(u8::is_ascii_digit) {
        let code = raw
            .iter()
            .try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')));
        return code.and_then(status_code);
    }
    STATUSES.iter().find_map(|(_, label, status)| {
        let same = label.len() == raw.len()
            && label.bytes().zip(raw).all(|(l, r)| match r {
                b'_' | b'-' => l == b' ',
                r => l.eq_ignore_ascii_case(r),
            });
        same.then_some(*status)
    })
}

pub(crate) fn status_code(code: u64) -> Option<IdpStatus> {
    STATUSES
        .iter()
        .find_map(|(c, _, status)| (*c == code).then_some(*status))
}

/// OneLogin's own columns: `username` and `status`, with `last_login` or `email`,
/// and no `login` (Okta's profile CSV has `login,email,status,lastLogin`).
pub(crate) fn detect(table: &Table) -> bool {
    table.has(USERNAME)
        && table.has(STATUS)
        && (table.has(LAST_LOGIN) || table.has(EMAIL))
        && !table.has(&["login"])
}

pub(crate) fn read(table: &mut Table, sink: &mut Sink) -> Result<(), IdpError> {
    let status = table.require(STATUS)?;
    let username = table.column(USERNAME)?;
    let email = table.column(EMAIL)?;
    if username.is_none() && email.is_none() {
        table.require(USERNAME)?;
    }
    let cols = Columns {
        status,
        username,
        email,
        first: table.column(&["firstname", "first_name", "first name"])?,
        last: table.column(&["lastname", "last_name", "last name"])?,
        last_login: table.column(LAST_LOGIN)?,
        dept: table.column(&["department"])?,
        employee: table.column(&["employee_id", "employee id", "employee_number", "employeeNumber"])?,
        manager: table.column(&["manager_user_id", "manager_ad_id", "manager"])?,
    };
    table.rows(&cols, sink)
}

/// Column positions of this export, found once from its header.
struct Columns {
    status: usize,
    username: Option<usize>,
    email: Option<usize>,
    first: Option<usize>,
    last: Option<usize>,
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
        let known = status_of(bytes(Some(self.status)));
        if let Some(status) = known {
            sink.count(status);
            if !(sink.wants_key(bytes(self.username)) || sink.wants_key(bytes(self.email))) {
                return Ok(());
            }
        }
        let cell = |col: Option<usize>| cx.text(rec, col, line);
        let raw_status = cell(Some(self.status))?;
        let status = known.ok_or_else(|| {
            cx.error(
                line,
                format!("status `{raw_status}` is not a OneLogin status ({ACCEPTED})"),
            )
        })?;
        let (username, email) = (cell(self.username)?, cell(self.email)?);
        let login = if username.is_empty() { email } else { username };
        let mut identity = Identity::new(sink.source, line, login, status, raw_status);
        identity.last_login = parse_timestamp(cell(self.last_login)?)
            .map_err(|why| cx.error(line, format!("last_login: {why}")))?;
        identity.display_name = format!("{} {}", cell(self.first)?, cell(self.last)?)
            .trim()
            .to_owned();
        identity.department = non_empty(cell(self.dept)?);
        identity.employee_id = non_empty(cell(self.employee)?);
        identity.manager = non_empty(cell(self.manager)?);
        identity.push_key(email, KeyKind::PrimaryEmail);
        sink.keep(identity);
        Ok(())
    }
}

/// The users array of either API version.
fn users_of(doc: &Value) -> Option<&[Value]> {
    match doc {
        Value::Array(items) => Some(items),
        Value::Object(map) => map.get("data").and_then(Value::as_array).map(Vec::as_slice),
        _ => None,
    }
}

/// A JSON `status`: a code (`2`, `"2"`) or a label.
fn json_status(value: &Value) -> Option<IdpStatus> {
    match value {
        Value::Number(n) => n.as_u64().and_then(status_code),
        Value::String(s) => status(s),
        _ => None,
    }
}

/// OneLogin user objects have a OneLogin `status` and `username` or `email` at
/// the top level (no Okta `profile`, no JumpCloud `activated`). An empty v1
/// page (`{"status": {...}, "pagination": {...}, "data": []}`) counts too.
pub(crate) fn detect_json(doc: &Value) -> bool {
    let Some(users) = users_of(doc) else { return false };
    match users.first() {
        Some(user) => {
            user.get("status").and_then(json_status).is_some()
                && (user.get("username").is_some() || user.get("email").is_some())
                && user.get("profile").is_none()
                && user.get("activated").is_none()
        }
        None => doc.get("pagination").is_some() && doc.get("status").is_some_and(Value::is_object),
    }
}

/// A field as text: strings trimmed, numbers written out (`manager_user_id`); `None` when blank or null.
fn scalar(user: &Value, key: &str) -> Option<String> {
    match user.get(key)? {
        Value::String(s) => non_empty(s.trim()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `/api/1`'s `data` (`/api/2` is a bare array).
pub(crate) const ARRAYS: &[&str] = &["data"];

/// What counting a user takes, read alike from a whole user and from the
/// members of [`COUNTED`] alone (the hot path, `json_lean`).
#[derive(Debug, PartialEq)]
struct Counted<'u> {
    status: IdpStatus,
    /// The `status` as written.
    raw: &'u Value,
    /// `username` and `email`.
    keys: [&'u str; 2],
}

const COUNTED: Keep = &[&["status"], &["username"], &["email"]];

fn counted(user: &Value) -> Result<Counted<'_>, String> {
    let raw = user.get("status").unwrap_or(&Value::Null);
    let status =
        json_status(raw).ok_or_else(|| format!("status {raw} is not a OneLogin status ({ACCEPTED})"))?;
    Ok(Counted {
        status,
        raw,
        keys: [text(user, "/username"), text(user, "/email")],
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
        let Counted { status, raw, keys } = counted(&user).map_err(at)?;
        sink.count(status);
        if !sink.wants(&keys) {
            continue;
        }
        let [username, email] = keys;
        let raw_status = match raw {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let login = if username.is_empty() { email } else { username };
        // JSON arrays have no lines: a user's 1-based place in the array stands for its row.
        let mut identity = Identity::new(sink.source, index as u64 + 1, login, status, &raw_status);
        identity.last_login =
            parse_timestamp(text(&user, "/last_login")).map_err(|why| at(format!("last_login: {why}")))?;
        identity.display_name = format!("{} {}", text(&user, "/firstname"), text(&user, "/lastname"))
            .trim()
            .to_owned();
        identity.department = scalar(&user, "department");
        identity.employee_id = scalar(&user, "employee_id");
        identity.manager = scalar(&user, "manager_user_id").or_else(|| scalar(&user, "manager_ad_id"));
        identity.push_key(email, KeyKind::PrimaryEmail);
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

    const CSV: &[u8] = include_bytes!("../../fixtures/idp/onelogin/users.csv");
    const JSON: &[u8] = include_bytes!("../../fixtures/idp/onelogin/users.json");

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
    fn statuses_as_codes_and_labels() {
        use IdpStatus::*;
        let cases = [
            ("0", Some(Staged)),
            ("1", Some(Active)),
            ("2", Some(Suspended)),
            ("3", Some(Active)),
            ("4", Some(Active)),
            ("5", Some(Active)),
            ("6", None),
            ("7", Some(Staged)),
            ("8", Some(Staged)),
            ("9", None),
            ("01", Some(Active)),
            ("0008", Some(Staged)),
            ("Unactivated", Some(Staged)),
            ("ACTIVE", Some(Active)),
            ("suspended", Some(Suspended)),
            ("Locked", Some(Active)),
            ("Password expired", Some(Active)),
            ("PASSWORD_EXPIRED", Some(Active)),
            ("Awaiting Password Reset", Some(Active)),
            ("Password Pending", Some(Staged)),
            ("security-questions-required", Some(Staged)),
            ("", None),
            ("-1", None),
            ("Deleted", None),
            ("99999999999999999999999", None),
        ];
        for (raw, want) in cases {
            assert_eq!(status(raw), want, "{raw:?}");
        }
        assert_eq!(json_status(&serde_json::json!(2)), Some(Suspended));
        assert_eq!(json_status(&serde_json::json!("Locked")), Some(Active));
        assert_eq!(json_status(&serde_json::json!(1.5)), None);
        assert_eq!(json_status(&Value::Null), None);
    }

    #[test]
    fn parallel_blocks_read_what_one_pass_reads() {
        let ids = test_support::same_in_blocks("users.csv", CSV, read);
        assert_eq!(ids.len(), read_csv("users.csv", CSV).expect("rows").len());
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
                ("olivia.hart", IdpStatus::Active, "1"),
                ("marcus.bell", IdpStatus::Active, "3"),
                ("priya.nair", IdpStatus::Suspended, "2"),
                ("sam.ortiz@acme.test", IdpStatus::Staged, "0"),
                ("lena.fox", IdpStatus::Active, "Password expired"),
                ("ravi.shah", IdpStatus::Staged, "Security questions required"),
            ]
        );
        let olivia = &ids[0];
        assert_eq!(
            olivia.keys,
            [
                ("olivia.hart".to_owned(), KeyKind::Login),
                ("olivia.hart@acme.test".to_owned(), KeyKind::PrimaryEmail),
            ]
        );
        assert_eq!(olivia.display_name, "Olivia Hart");
        assert_eq!(olivia.department.as_deref(), Some("Customer Support"));
        assert_eq!(olivia.manager.as_deref(), Some("48213300"));
        assert_eq!(
            olivia.last_login,
            Some("2026-09-30T16:38:10Z".parse().expect("ts"))
        );
        // No username: the email is the login, and the only key.
        assert_eq!(ids[3].keys, [("sam.ortiz@acme.test".to_owned(), KeyKind::Login)]);
        assert_eq!(ids[3].last_login, None);
        assert_eq!(ids[3].line, 5);
    }

    #[test]
    fn reads_the_json_fixture() {
        let ids = read_doc("users.json", &fixture_json()).expect("users");
        let got: Vec<_> = ids
            .iter()
            .map(|i| (i.line, i.login.as_str(), i.status, i.raw_status.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (1, "olivia.hart", IdpStatus::Active, "1"),
                (2, "priya.nair", IdpStatus::Suspended, "2"),
                (3, "sam.ortiz@acme.test", IdpStatus::Staged, "7"),
                (4, "marcus.bell", IdpStatus::Active, "Locked"),
                (5, "tom.reyes", IdpStatus::Suspended, "Suspended"),
                (6, "ana.lima", IdpStatus::Active, "5"),
            ]
        );
        assert!(
            ids[1]
                .keys
                .contains(&("priya.nair@acme.test".to_owned(), KeyKind::PrimaryEmail))
        );
        assert_eq!(ids[0].manager.as_deref(), Some("48213300"));
        assert_eq!(ids[0].display_name, "Olivia Hart");
        assert_eq!(ids[2].last_login, None);
        assert_eq!(
            ids[3].last_login,
            Some("2026-09-29T21:01:33Z".parse().expect("ts"))
        );
        assert_eq!(ids[5].department, None);
    }

    #[test]
    fn the_hot_path_counts_users_as_the_whole_read_does() {
        for (lean, whole) in test_support::both_ways(JSON, ARRAYS, COUNTED) {
            assert_eq!(counted(&lean.expect("read by the hot path")), counted(&whole));
        }
        let odd = [
            r#"{"status": "2", "username": "a", "Email": "b@x.test"}"#,
            r#"{"status": 1, "status": "Suspended", "email": "a@x.test"}"#,
            r#"{"Status": 1, "username": "a"}"#,
            r#"{"status": 6, "username": "a"}"#,
            r#"{"status": 1.0, "username": "a"}"#,
            r#"{"status": 1, "username": ["a"], "email": null}"#,
            r#"{"status": 1, "username": "a", "roles": ["\uD83D"]}"#,
            r#"{"status": 1, "username": "a", "x": 2e308}"#,
            r#"[{"status": 1}]"#,
            r#"{"status": 1, "username": "a", "last_login": "soon"}"#,
        ];
        test_support::hot_path_agrees(ARRAYS, read_json, &["last_login"], &odd);
    }

    #[test]
    fn reads_the_v1_envelope() {
        let doc = serde_json::json!({
            "status": {"error": false, "code": 200, "type": "success", "message": "Success"},
            "pagination": {"before_cursor": null, "after_cursor": null, "previous_link": null, "next_link": null},
            "data": [{"id": 1, "email": "a@acme.test", "username": "a", "status": 4, "last_login": null}]
        });
        assert!(detect_json(&doc));
        let ids = read_doc("v1.json", &doc).expect("users");
        assert_eq!(ids.len(), 1);
        assert_eq!(ids[0].status, IdpStatus::Active);
        let empty = serde_json::json!({"status": {"error": false}, "pagination": {}, "data": []});
        assert!(detect_json(&empty));
        assert!(read_doc("v1.json", &empty).expect("no users").is_empty());
    }

    #[test]
    fn counts_every_user_but_keeps_the_wanted() {
        let wanted: KeySet = ["marcus.bell@acme.test".to_owned()].into_iter().collect();
        let mut sink = Sink::new(0, Some(&wanted), Timestamp::UNIX_EPOCH);
        crate::idp::test_support::read_into("users.json", &fixture_json(), ARRAYS, read_json, &mut sink)
            .expect("users");
        assert_eq!(sink.rows, 6);
        assert_eq!(sink.by_status()[&IdpStatus::Suspended], 2);
        assert_eq!(sink.kept.len(), 1);
        assert_eq!(sink.kept[0].login, "marcus.bell");
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
                "okta profile + username",
                b"login,username,email,status,lastLogin\n",
            ),
            (
                "google",
                include_bytes!("../../fixtures/idp/google/users-34col.csv"),
            ),
            (
                "jumpcloud",
                include_bytes!("../../fixtures/idp/jumpcloud/users.csv"),
            ),
        ];
        for (name, data) in theirs {
            assert!(!detect(&Table::from_bytes(name, data).expect("table")), "{name}");
        }
        let labels = Table::from_bytes(
            "labels.csv",
            b"First Name,Last Name,Email,Username,Status,Last Login\n",
        )
        .expect("table");
        assert!(detect(&labels));
    }

    #[test]
    fn json_detection() {
        use serde_json::json;
        assert!(detect_json(&fixture_json()));
        let theirs = [
            json!([{"id": "00u1", "status": "ACTIVE", "profile": {"login": "a@acme.test", "email": "a@acme.test"}}]),
            json!({"totalCount": 1, "results": [{"_id": "5f1", "username": "a", "email": "a@acme.test",
                "state": "ACTIVATED", "activated": true, "suspended": false}]}),
            json!({"Resources": [{"userName": "a@acme.test", "active": true}]}),
            json!({"value": [{"userPrincipalName": "a@acme.test", "accountEnabled": true}]}),
            json!([{"email": "a@acme.test", "status": "ENABLED"}]),
            json!([]),
            json!({"data": []}),
        ];
        for doc in theirs {
            assert!(!detect_json(&doc), "{doc}");
        }
    }

    #[test]
    fn unknown_status_names_file_and_line() {
        let err = read_csv(
            "users.csv",
            b"username,email,status,last_login\na,a@acme.test,1,\nb,b@acme.test,6,\n",
        )
        .expect_err("bad status")
        .to_string();
        assert!(err.starts_with("users.csv:3:"), "{err}");
        assert!(
            err.contains("`6`") && err.contains("Security questions required"),
            "{err}"
        );

        let doc = serde_json::json!([{"username": "a", "status": 1}, {"username": "b", "status": "gone"}]);
        let err = read_doc("users.json", &doc).expect_err("bad status").to_string();
        // Pretty-printed (test_support), the second user starts at line 6, column 3.
        assert!(err.starts_with("users.json:6:3: user #2 of the array:"), "{err}");
        assert!(err.contains("\"gone\""), "{err}");
        let doc = serde_json::json!([{"username": "a"}]);
        let err = read_doc("users.json", &doc).expect_err("no status").to_string();
        assert!(err.contains("user #1") && err.contains("null"), "{err}");
    }

    #[test]
    fn bad_last_login_is_an_error() {
        let err = read_csv(
            "users.csv",
            b"username,email,status,last_login\na,a@acme.test,1,soon\n",
        )
        .expect_err("bad date")
        .to_string();
        assert!(err.starts_with("users.csv:2: last_login:"), "{err}");
    }
}
