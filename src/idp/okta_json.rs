//! Okta's users API (`GET /api/v1/users`) saved as JSON: an array of user
//! objects with `status`, `lastLogin` and a `profile`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::fields::{non_empty, text};
use super::json_doc::{JsonUsers, Raw};
use super::okta_status::{ACCEPTED, status};
use super::sink::Sink;
use super::{Identity, IdpError, IdpStatus, KeyKind};
use crate::model::time::parse_timestamp;

pub(crate) const EXPECTED: &str = "a JSON array from Okta's GET /api/v1/users: \
     [{\"id\", \"status\", \"lastLogin\", \"profile\": {\"login\", \"email\", \"secondEmail\", ...}}, ...]";

/// An array whose first element has a string `profile.login` and a string `status`.
pub(crate) fn detect_json(doc: &Value) -> bool {
    let Some(first) = doc.as_array().and_then(|users| users.first()) else {
        return false;
    };
    first.pointer("/profile/login").is_some_and(Value::is_string)
        && first.get("status").is_some_and(Value::is_string)
}

/// Okta's users are a bare array: no object member names it.
pub(crate) const ARRAYS: &[&str] = &[];

pub(crate) fn read_json(users: &mut JsonUsers, sink: &mut Sink) -> Result<(), IdpError> {
    let file = users.file().to_owned();
    if !users.is_array() {
        return Err(IdpError::Row {
            file,
            line: 1,
            reason: "expected a JSON array of users, as Okta's GET /api/v1/users returns".into(),
        });
    }
    while let Some(raw) = users.next_raw()? {
        // Hot path: a user no agent has is counted from its status and keys
        // alone; anything odd about it is for the full parse below to say.
        if let Some(status) = lean_status(&raw, sink) {
            sink.count(status);
            continue;
        }
        let user = raw.user()?;
        let (index, at) = (user.index, |reason: String| user.error(&file, reason));
        if !user.is_object() {
            return Err(at("not a JSON object".into()));
        }
        let raw_status = match user.get("status") {
            Some(Value::String(s)) => s.trim(),
            _ => return Err(at("no `status` string".into())),
        };
        let status = status(raw_status).ok_or_else(|| {
            at(format!(
                "status `{raw_status}` is not an Okta status ({ACCEPTED})"
            ))
        })?;
        sink.count(status);
        let (login, email, second) = (
            text(&user, "/profile/login"),
            text(&user, "/profile/email"),
            text(&user, "/profile/secondEmail"),
        );
        if login.is_empty() {
            return Err(at("no `profile.login`".into()));
        }
        if !sink.wants(&[login, email, second]) {
            continue;
        }
        let mut identity = Identity::new(sink.source, index as u64 + 1, login, status, raw_status);
        identity.last_login =
            parse_timestamp(text(&user, "/lastLogin")).map_err(|why| at(format!("lastLogin: {why}")))?;
        identity.status_changed = parse_timestamp(text(&user, "/statusChanged"))
            .map_err(|why| at(format!("statusChanged: {why}")))?;
        identity.display_name = match text(&user, "/profile/displayName") {
            "" => format!(
                "{} {}",
                text(&user, "/profile/firstName"),
                text(&user, "/profile/lastName")
            )
            .trim()
            .to_owned(),
            name => name.to_owned(),
        };
        identity.department = non_empty(text(&user, "/profile/department"));
        identity.employee_id = non_empty(text(&user, "/profile/employeeNumber"));
        identity.manager = match text(&user, "/profile/manager") {
            "" => non_empty(text(&user, "/profile/managerId")),
            manager => Some(manager.to_owned()),
        };
        identity.push_key(email, KeyKind::PrimaryEmail);
        identity.push_key(second, KeyKind::SecondaryEmail);
        sink.keep(identity);
    }
    Ok(())
}

/// What the hot path reads of a user, borrowed from its text (every other
/// field skipped, no `Value` built).
#[derive(Deserialize)]
struct Lean<'a> {
    #[serde(borrow)]
    status: Cow<'a, str>,
    #[serde(borrow)]
    profile: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeanProfile<'a> {
    #[serde(borrow)]
    login: Cow<'a, str>,
    #[serde(borrow, default)]
    email: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    second_email: Option<Cow<'a, str>>,
}

/// The status of a well-formed user whom no agent has; `None` for a user to
/// read in full (one an agent has, or anything the full read must judge).
fn lean_status(raw: &Raw, sink: &mut Sink) -> Option<IdpStatus> {
    let lean: Lean = raw.lean()?;
    let status = status(&lean.status)?;
    // A struct would also read from an array: `profile` must be an object.
    let text = lean.profile.get();
    if !text.starts_with('{') {
        return None;
    }
    let profile: LeanProfile = serde_json::from_str(text).ok()?;
    let keys = [
        profile.login.trim(),
        profile.email.as_deref().unwrap_or_default(),
        profile.second_email.as_deref().unwrap_or_default(),
    ];
    (!keys[0].is_empty() && !sink.wants(&keys)).then_some(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp::KeySet;
    use jiff::Timestamp;

    const USERS: &[u8] = include_bytes!("../../fixtures/idp/okta-json/users.json");

    fn as_of() -> Timestamp {
        "2026-10-01T00:00:00Z".parse().expect("valid")
    }

    fn doc(bytes: &[u8]) -> Value {
        crate::idp::test_support::json(bytes)
    }

    fn read_all(doc: &Value) -> Result<Sink<'static>, IdpError> {
        crate::idp::test_support::read_doc("users.json", doc, ARRAYS, read_json)
    }

    #[test]
    fn reads_the_fixture() {
        let doc = doc(USERS);
        assert!(detect_json(&doc));
        let sink = read_all(&doc).expect("reads");
        assert_eq!(sink.rows, 5);
        let ids = sink.kept;
        let cases = [
            ("Ann.Lee@acme.test", IdpStatus::Active, "ACTIVE"),
            ("bo.chen@acme.test", IdpStatus::Deprovisioned, "DEPROVISIONED"),
            ("cy.dune@acme.test", IdpStatus::Staged, "PROVISIONED"),
            ("dee.fox", IdpStatus::Suspended, "SUSPENDED"),
            ("eli.gray@acme.test", IdpStatus::Active, "LOCKED_OUT"),
        ];
        assert_eq!(ids.len(), cases.len());
        for (n, (identity, (login, status, raw))) in ids.iter().zip(cases).enumerate() {
            assert_eq!(identity.login, login);
            assert_eq!(identity.status, status, "{login}");
            assert_eq!(identity.raw_status, raw, "{login}");
            assert_eq!(
                identity.line,
                n as u64 + 1,
                "JSON identities are numbered by array position"
            );
        }
        let ann = &ids[0];
        assert_eq!(
            ann.keys,
            vec![
                ("ann.lee@acme.test".to_owned(), KeyKind::Login),
                ("ann.lee+support@acme.test".to_owned(), KeyKind::SecondaryEmail),
            ]
        );
        assert_eq!(ann.display_name, "Ann Lee");
        assert_eq!(ann.department.as_deref(), Some("Customer Support"));
        assert_eq!(ann.employee_id.as_deref(), Some("E1001"));
        assert_eq!(ann.manager.as_deref(), Some("Maya Patel"));
        assert_eq!(
            ann.last_login,
            Some("2026-09-28T07:41:19Z".parse().expect("valid"))
        );
        assert_eq!(ids[2].last_login, None, "lastLogin null");
        assert_eq!(
            ids[1].status_changed,
            Some("2026-08-15T17:00:03Z".parse().expect("valid")),
            "statusChanged: when Okta deprovisioned Bo"
        );
        assert_eq!(ids[2].display_name, "Cyrus Dune", "profile.displayName wins");
        assert_eq!(
            ids[3].keys,
            vec![
                ("dee.fox".to_owned(), KeyKind::Login),
                ("dee.fox@acme.test".to_owned(), KeyKind::PrimaryEmail),
                ("dee.fox@eu.acme.test".to_owned(), KeyKind::SecondaryEmail),
            ]
        );
        assert_eq!(
            ids[4].manager.as_deref(),
            Some("00u1ann0lee0ACME0001"),
            "managerId fallback"
        );
    }

    #[test]
    fn wanted_keys_filter_but_every_user_counts() {
        let wanted = ["dee.fox@eu.acme.test".to_owned()].into_iter().collect();
        let mut sink = Sink::new(0, Some(&wanted), as_of());
        crate::idp::test_support::read_into("users.json", &doc(USERS), ARRAYS, read_json, &mut sink)
            .expect("reads");
        assert_eq!(sink.rows, 5);
        assert_eq!(sink.by_status().get(&IdpStatus::Active), Some(&2));
        assert_eq!(sink.kept.len(), 1);
        assert_eq!(sink.kept[0].login, "dee.fox");
    }

    #[test]
    fn the_hot_path_skips_only_users_the_full_read_would_count() {
        // Odd users: the hot path must leave each to the full read, which
        // counts or refuses it the same whether or not an agent has it.
        let users: [&str; 7] = [
            r#"{"status": "ACTIVE", "profile": ["a@x.test", "b", "c"]}"#,
            r#"{"status": "ACTIVE", "profile": {"login": "a@x.test", "email": 5}}"#,
            r#"{"status": "ACTIVE", "status": "WEIRD", "profile": {"login": "a@x.test"}}"#,
            r#"["ACTIVE", {"login": "a@x.test"}]"#,
            r#"{"status": "ACTIVE", "profile": {"login": "  "}}"#,
            r#"{"status": "ACTIVE", "profile": {"login": "a"b@x.test", "secondEmail": null}}"#,
            r#"{"status": "SUSPENDED", "profile": {"login": "a@x.test"}, "lastLogin": "soon"}"#,
        ];
        let nobody: KeySet = ["nobody@x.test".to_owned()].into_iter().collect();
        for user in users {
            let text = format!("[{user}]");
            let read = |wanted: Option<&KeySet>| {
                let mut sink = Sink::new(0, wanted, as_of());
                let src = Box::new(std::io::Cursor::new(text.clone().into_bytes()));
                let mut users = JsonUsers::open("u.json".into(), src, ARRAYS).expect("opens");
                read_json(&mut users, &mut sink)
                    .map(|()| sink.by_status())
                    .map_err(|e| e.to_string())
            };
            let (all, hot) = (read(None), read(Some(&nobody)));
            match (&all, &hot) {
                (Ok(all), Ok(hot)) => assert_eq!(all, hot, "{user}"),
                // The one difference allowed: a kept user's last login is read, a skipped one's not.
                (Err(e), Ok(_)) => assert!(e.contains("lastLogin"), "{user}: {e}"),
                (Err(a), Err(h)) => assert_eq!(a, h, "{user}"),
                (Ok(_), Err(h)) => panic!("{user}: {h}"),
            }
        }
    }

    #[test]
    fn detection_rejects_other_shapes() {
        let others: [&[u8]; 6] = [
            include_bytes!("../../fixtures/idp/scim/list-response.json"),
            include_bytes!("../../fixtures/idp/entra-json/users.json"),
            br#"[{"id": 1, "username": "a", "email": "a@acme.test", "status": 1}]"#,
            br#"{"totalCount": 1, "results": [{"username": "a", "email": "a@acme.test"}]}"#,
            b"[]",
            b"42",
        ];
        for bytes in others {
            assert!(!detect_json(&doc(bytes)), "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn bad_documents_and_users_name_file_and_index() {
        let cases: [(&[u8], &str); 6] = [
            (b"42", "users.json:"),
            (br#"{"foo": 1}"#, "users.json:"),
            (
                br#"[{"status": "ACTIVE", "profile": {"login": "a@x.test"}}, 7]"#,
                "user #2",
            ),
            (
                br#"[{"status": "ENABLED", "profile": {"login": "a@x.test"}}]"#,
                "ENABLED",
            ),
            (br#"[{"profile": {"login": "a@x.test"}}]"#, "status"),
            (br#"[{"status": "ACTIVE", "profile": {}}]"#, "profile.login"),
        ];
        for (bytes, want) in cases {
            let err = read_all(&doc(bytes)).err().expect("error").to_string();
            assert!(err.starts_with("users.json:"), "{err}");
            assert!(err.contains(want), "{err}");
        }
        let err = read_all(&doc(br#"[{"status": "ENABLED", "profile": {"login": "a"}}]"#))
            .err()
            .expect("bad status")
            .to_string();
        assert!(
            err.ends_with(
                "user #1 of the array: status `ENABLED` is not an Okta status (ACTIVE, STAGED, \
                 PROVISIONED, RECOVERY, PASSWORD_EXPIRED, LOCKED_OUT, SUSPENDED, DEPROVISIONED)"
            ),
            "{err}"
        );
        let err = read_all(&doc(
            br#"[{"status": "ACTIVE", "lastLogin": "soon", "profile": {"login": "a"}}]"#,
        ))
        .err()
        .expect("bad lastLogin")
        .to_string();
        assert!(err.contains("user #1") && err.contains("lastLogin"), "{err}");
    }
}
