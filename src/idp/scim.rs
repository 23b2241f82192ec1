//! SCIM 2.0 (RFC 7643/7644): a `GET /Users` `ListResponse` saved as JSON, or a
//! bare array of User resources. Attribute names are case-insensitive in SCIM,
//! so every lookup tries the canonical spelling first, then any case.

use serde_json::Value;

use super::fields::{field, non_empty, str_at};
use super::json_doc::JsonUsers;
use super::json_lean::Keep;
use super::sink::Sink;
use super::{Identity, IdpError, IdpStatus, KeyKind};

pub(crate) const EXPECTED: &str = "a SCIM 2.0 ListResponse: {\"schemas\": \
     [\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"], \"totalResults\", \"Resources\": \
     [{\"userName\", \"active\", \"emails\": [{\"value\", \"primary\"}], ...}]}";

const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn has_schema(obj: &Value, schema: &str) -> bool {
    field(obj, "schemas").and_then(Value::as_array).is_some_and(|s| {
        s.iter()
            .any(|v| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(schema)))
    })
}

/// A ListResponse (by its schema URN or its `Resources` array), or an array
/// whose first element declares the core User schema.
pub(crate) fn detect_json(doc: &Value) -> bool {
    match doc {
        Value::Object(_) => {
            has_schema(doc, LIST_RESPONSE) || field(doc, "Resources").is_some_and(Value::is_array)
        }
        Value::Array(items) => items.first().is_some_and(|u| has_schema(u, USER_SCHEMA)),
        _ => false,
    }
}

/// `active`: true, false, or absent/null — which SCIM means "not said", not true.
fn status(active: Option<&Value>) -> Option<(IdpStatus, &str)> {
    match active {
        None | Some(Value::Null) => Some((IdpStatus::Unknown, "")),
        Some(Value::Bool(true)) => Some((IdpStatus::Active, "true")),
        Some(Value::Bool(false)) => Some((IdpStatus::Deprovisioned, "false")),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => {
            Some((IdpStatus::Active, s.trim()))
        }
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("false") => {
            Some((IdpStatus::Deprovisioned, s.trim()))
        }
        Some(_) => None,
    }
}

/// A ListResponse's `Resources` (or a bare array).
pub(crate) const ARRAYS: &[&str] = &["Resources"];

/// What counting a user takes, read alike from a whole user and from the
/// members of [`COUNTED`] alone (the hot path, `json_lean`).
#[derive(Debug, PartialEq)]
struct Counted<'u> {
    status: IdpStatus,
    raw_status: &'u str,
    /// `userName`, then every `emails[].value`.
    keys: Vec<&'u str>,
}

const COUNTED: Keep = &[&["active"], &["userName"], &["emails"]];

fn counted(user: &Value) -> Result<Counted<'_>, String> {
    if !user.is_object() {
        return Err("not a JSON object".into());
    }
    let active = field(user, "active");
    let (status, raw_status) = status(active).ok_or_else(|| {
        format!(
            "active `{}` is not true or false (or absent, which reads as unknown)",
            active.map(Value::to_string).unwrap_or_default()
        )
    })?;
    let login = str_at(user, &["userName"]);
    if login.is_empty() {
        return Err("no `userName` (SCIM requires it)".into());
    }
    let emails = field(user, "emails")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut keys = vec![login];
    keys.extend(emails.iter().map(|e| str_at(e, &["value"])));
    Ok(Counted {
        status,
        raw_status,
        keys,
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
            raw_status,
            keys,
        } = counted(&user).map_err(at)?;
        sink.count(status);
        if !sink.wants(&keys) {
            continue;
        }
        let login = keys[0];
        let emails = field(&user, "emails")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let mut identity = Identity::new(sink.source, index as u64 + 1, login, status, raw_status);
        identity.display_name = [
            str_at(&user, &["displayName"]),
            str_at(&user, &["name", "formatted"]),
        ]
        .into_iter()
        .find(|n| !n.is_empty())
        .map_or_else(
            || {
                format!(
                    "{} {}",
                    str_at(&user, &["name", "givenName"]),
                    str_at(&user, &["name", "familyName"])
                )
                .trim()
                .to_owned()
            },
            str::to_owned,
        );
        for email in emails {
            let primary = field(email, "primary").is_some_and(|p| {
                p.as_bool() == Some(true) || p.as_str().is_some_and(|s| s.trim().eq_ignore_ascii_case("true"))
            });
            let kind = if primary {
                KeyKind::PrimaryEmail
            } else {
                KeyKind::SecondaryEmail
            };
            identity.push_key(str_at(email, &["value"]), kind);
        }
        // SCIM has no standard last-login attribute (meta.lastModified is not one): last_login stays None.
        if let Some(ext) = field(&user, ENTERPRISE) {
            identity.department = non_empty(str_at(ext, &["department"]));
            identity.employee_id = non_empty(str_at(ext, &["employeeNumber"]));
            identity.manager = [
                str_at(ext, &["manager", "displayName"]),
                str_at(ext, &["manager", "value"]),
            ]
            .into_iter()
            .find_map(non_empty);
        }
        if let Some(groups) = field(&user, "groups").and_then(Value::as_array) {
            identity.groups = groups
                .iter()
                .filter_map(|g| non_empty(str_at(g, &["display"])))
                .collect();
        }
        sink.keep(identity);
    }
    // One page of a paged response leaves people out: refuse it rather than audit part of the IdP.
    let read = users.count();
    match users.member("totalResults").and_then(Value::as_u64) {
        Some(total) if total > read as u64 => Err(IdpError::Row {
            file,
            line: 1,
            reason: format!(
                "totalResults is {total} but Resources holds {read}: this is one page of a paged response; \
                 fetch every page (startIndex, count) into one file"
            ),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &[u8] = include_bytes!("../../fixtures/idp/scim/list-response.json");

    fn doc(bytes: &[u8]) -> Value {
        crate::idp::test_support::json(bytes)
    }

    fn read_all(doc: &Value) -> Result<Sink<'static>, IdpError> {
        crate::idp::test_support::read_doc("scim.json", doc, ARRAYS, read_json)
    }

    #[test]
    fn active_table() {
        let cases = [
            (None, Some((IdpStatus::Unknown, ""))),
            (Some(Value::Null), Some((IdpStatus::Unknown, ""))),
            (Some(Value::Bool(true)), Some((IdpStatus::Active, "true"))),
            (
                Some(Value::Bool(false)),
                Some((IdpStatus::Deprovisioned, "false")),
            ),
            (Some(Value::from(" True ")), Some((IdpStatus::Active, "True"))),
            (
                Some(Value::from("FALSE")),
                Some((IdpStatus::Deprovisioned, "FALSE")),
            ),
            (Some(Value::from("yes")), None),
            (Some(Value::from(1)), None),
        ];
        for (active, want) in cases {
            assert_eq!(status(active.as_ref()), want, "{active:?}");
        }
    }

    #[test]
    fn reads_the_fixture() {
        let doc = doc(LIST);
        assert!(detect_json(&doc));
        let sink = read_all(&doc).expect("reads");
        assert_eq!(sink.rows, 4);
        assert_eq!(sink.by_status().get(&IdpStatus::Unknown), Some(&1));
        let ids = sink.kept;
        let cases = [
            ("ann.lee@acme.test", IdpStatus::Active, "true"),
            ("bo.chen@acme.test", IdpStatus::Deprovisioned, "false"),
            ("cy.dune@acme.test", IdpStatus::Unknown, ""),
            ("eli.gray", IdpStatus::Active, "true"),
        ];
        assert_eq!(ids.len(), cases.len());
        for (identity, (login, status, raw)) in ids.iter().zip(cases) {
            assert_eq!(identity.login, login);
            assert_eq!(
                (identity.status, identity.raw_status.as_str()),
                (status, raw),
                "{login}"
            );
            assert_eq!(identity.last_login, None, "meta.lastModified is not a login");
        }
        let ann = &ids[0];
        assert_eq!(
            ann.keys,
            vec![
                ("ann.lee@acme.test".to_owned(), KeyKind::Login),
                ("ann@eu.acme.test".to_owned(), KeyKind::SecondaryEmail),
            ]
        );
        assert_eq!(ann.display_name, "Ann Lee");
        assert_eq!(ann.department.as_deref(), Some("Customer Support"));
        assert_eq!(ann.employee_id.as_deref(), Some("E1001"));
        assert_eq!(ann.manager.as_deref(), Some("Maya Patel"));
        assert_eq!(ann.groups, ["Support Tier 2", "Freshdesk Admins"]);
        assert_eq!(ids[1].display_name, "Bo Chen", "name.formatted");
        assert_eq!(ids[2].display_name, "Cy Dune", "givenName familyName");
        let eli = &ids[3];
        assert_eq!(
            eli.keys,
            vec![
                ("eli.gray".to_owned(), KeyKind::Login),
                ("eli.gray@acme.test".to_owned(), KeyKind::SecondaryEmail),
            ],
            "an email not marked primary is secondary"
        );
        assert_eq!(
            eli.manager.as_deref(),
            Some("2819c223-7f76-453a-919d-413861904646")
        );
    }

    #[test]
    fn the_hot_path_counts_users_as_the_whole_read_does() {
        for (lean, whole) in crate::idp::test_support::both_ways(LIST, ARRAYS, COUNTED) {
            assert_eq!(counted(&lean.expect("read by the hot path")), counted(&whole));
        }
        let odd = [
            r#"{"userName": "a@x.test", "Emails": [{"Value": "b@x.test"}]}"#,
            r#"{"USERNAME": "a@x.test", "userName": "b@x.test", "active": "TRUE"}"#,
            r#"{"userName": "a@x.test", "active": null, "emails": {"value": "b@x.test"}}"#,
            r#"{"userName": "a@x.test", "emails": [7, {"value": 5}, {"value": " b@x.test "}]}"#,
            r#"{"userName": "a@x.test", "active": "maybe"}"#,
            r#"{"active": true}"#,
            r#"{"userName": "a@x.test", "meta": {"x": "\uDC00"}}"#,
            r#"{"userName": "a@x.test", "x": -1e400}"#,
            r#""a@x.test""#,
        ];
        crate::idp::test_support::hot_path_agrees(ARRAYS, read_json, &[], &odd);
    }

    #[test]
    fn reads_a_bare_array_with_any_case_names() {
        let doc = doc(br#"[{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "UserName": "Ann@acme.test", "Active": "False",
            "Emails": [{"Value": "ann.lee@acme.test", "Primary": true}]}]"#);
        assert!(detect_json(&doc));
        let ids = read_all(&doc).expect("reads").kept;
        assert_eq!(ids[0].status, IdpStatus::Deprovisioned);
        assert_eq!(
            ids[0].keys[1],
            ("ann.lee@acme.test".to_owned(), KeyKind::PrimaryEmail)
        );
    }

    #[test]
    fn detection_rejects_other_shapes() {
        let others: [&[u8]; 6] = [
            include_bytes!("../../fixtures/idp/okta-json/users.json"),
            include_bytes!("../../fixtures/idp/entra-json/users.json"),
            br#"{"totalCount": 1, "results": [{"username": "a", "email": "a@acme.test"}]}"#,
            br#"[{"userName": "a@acme.test", "active": true}]"#,
            b"[]",
            b"\"Resources\"",
        ];
        for bytes in others {
            assert!(!detect_json(&doc(bytes)), "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn bad_documents_and_users_name_file_and_index() {
        let cases: [(&[u8], &str); 6] = [
            (b"42", "Resources"),
            (br#"{"foo": 1}"#, "Resources"),
            (
                br#"{"Resources": [{"userName": "a", "active": "maybe"}]}"#,
                "user #1",
            ),
            (
                br#"{"Resources": [{"userName": "a"}, {"active": true}]}"#,
                "user #2",
            ),
            (br#"{"Resources": [{"userName": "a"}, "b"]}"#, "not a JSON object"),
            (
                br#"{"totalResults": 250, "itemsPerPage": 1, "Resources": [{"userName": "a"}]}"#,
                "page",
            ),
        ];
        for (bytes, want) in cases {
            let err = read_all(&doc(bytes)).err().expect("error").to_string();
            assert!(err.starts_with("scim.json:"), "{err}");
            assert!(err.contains(want), "{err}");
        }
    }
}
