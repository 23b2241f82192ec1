//! Microsoft Graph `GET /users` saved as JSON (`{"@odata.context", "value": [...]}`),
//! or a bare array of user objects (`Get-MgUser | ConvertTo-Json`, whose
//! PascalCase names are matched ignoring case).

use serde_json::Value;

use super::fields::{field, non_empty, str_at};
use super::json_doc::JsonUsers;
use super::json_lean::Keep;
use super::sink::Sink;
use super::{Identity, IdpError, IdpStatus, KeyKind};
use crate::model::time::parse_timestamp;

pub(crate) const EXPECTED: &str = "Microsoft Graph GET /users JSON: {\"@odata.context\", \"value\": \
     [{\"userPrincipalName\", \"mail\", \"otherMails\", \"proxyAddresses\", \"accountEnabled\", \
     \"signInActivity\", ...}]} (with $select=...,accountEnabled)";

/// A `value` array (or a bare array) whose first user has `userPrincipalName`,
/// or an empty `value` whose `@odata.context` is a users collection.
pub(crate) fn detect_json(doc: &Value) -> bool {
    let has_upn = |items: &[Value]| {
        items
            .first()
            // OneLogin users also carry a `userprincipalname` (null or a string);
            // Graph ids are GUID strings and Graph has no numeric `status`.
            .is_some_and(|u| {
                field(u, "userPrincipalName").is_some_and(Value::is_string)
                    && !field(u, "id").is_some_and(Value::is_number)
                    && !field(u, "status").is_some_and(Value::is_number)
            })
    };
    match doc {
        Value::Array(items) => has_upn(items),
        Value::Object(_) => match field(doc, "value") {
            Some(Value::Array(items)) if items.is_empty() => {
                str_at(doc, &["@odata.context"]).contains("$metadata#users")
            }
            Some(Value::Array(items)) => has_upn(items),
            _ => false,
        },
        _ => false,
    }
}

/// `accountEnabled`: a JSON boolean, or the strings True/False (PowerShell, CSV round trips).
fn status(enabled: Option<&Value>) -> Option<(IdpStatus, &str)> {
    match enabled? {
        Value::Bool(true) => Some((IdpStatus::Active, "true")),
        Value::Bool(false) => Some((IdpStatus::Deprovisioned, "false")),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some((IdpStatus::Active, s.trim())),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => {
            Some((IdpStatus::Deprovisioned, s.trim()))
        }
        _ => None,
    }
}

/// The address of an `SMTP:`/`smtp:` proxy address; `None` for `X500:`, `SIP:` and the like.
fn smtp_address(proxy: &str) -> Option<&str> {
    let proxy = proxy.trim();
    let (prefix, address) = proxy.split_at_checked(5)?;
    prefix.eq_ignore_ascii_case("smtp:").then(|| address.trim())
}

fn strings<'a>(user: &'a Value, name: &str) -> impl Iterator<Item = &'a str> + use<'a> {
    field(user, name)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(Value::as_str)
}

/// Graph's `value` (or a bare array).
pub(crate) const ARRAYS: &[&str] = &["value"];

/// What counting a user takes, read alike from a whole user and from the
/// members of [`COUNTED`] alone (the hot path, `json_lean`).
#[derive(Debug, PartialEq)]
struct Counted<'u> {
    status: IdpStatus,
    raw_status: &'u str,
    /// The UPN, mail, then otherMails and SMTP proxy addresses.
    keys: Vec<&'u str>,
}

const COUNTED: Keep = &[
    &["accountEnabled"],
    &["userPrincipalName"],
    &["mail"],
    &["otherMails"],
    &["proxyAddresses"],
];

fn counted(user: &Value) -> Result<Counted<'_>, String> {
    if !user.is_object() {
        return Err("not a JSON object".into());
    }
    let enabled = field(user, "accountEnabled");
    let (status, raw_status) = status(enabled).ok_or_else(|| match enabled {
        None => {
            "no `accountEnabled` (Graph returns it only when asked: add accountEnabled to $select)".into()
        }
        Some(v) => format!("accountEnabled `{v}` is neither true nor false"),
    })?;
    let (upn, mail) = (str_at(user, &["userPrincipalName"]), str_at(user, &["mail"]));
    if upn.is_empty() {
        return Err("no `userPrincipalName`".into());
    }
    // `#EXT#` guests keep their real address in mail or otherMails.
    let mut keys = vec![upn, mail];
    keys.extend(strings(user, "otherMails"));
    keys.extend(strings(user, "proxyAddresses").filter_map(smtp_address));
    Ok(Counted {
        status,
        raw_status,
        keys,
    })
}

pub(crate) fn read_json(users: &mut JsonUsers, sink: &mut Sink) -> Result<(), IdpError> {
    let file = users.file().to_owned();
    users.expect(ARRAYS)?;
    // Before the users when the response puts it first, as Graph does; else after them.
    next_link(users)?;
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
        let (upn, mail) = (keys[0], keys[1]);
        let mut identity = Identity::new(sink.source, index as u64 + 1, upn, status, raw_status);
        identity.display_name = str_at(&user, &["displayName"]).to_owned();
        identity.last_login = parse_timestamp(str_at(&user, &["signInActivity", "lastSignInDateTime"]))
            .map_err(|why| at(format!("signInActivity.lastSignInDateTime: {why}")))?;
        identity.department = non_empty(str_at(&user, &["department"]));
        identity.employee_id = non_empty(str_at(&user, &["employeeId"]));
        // Present only with $expand=manager.
        identity.manager = [
            str_at(&user, &["manager", "mail"]),
            str_at(&user, &["manager", "userPrincipalName"]),
        ]
        .into_iter()
        .find_map(non_empty);
        // Present only with $expand=memberOf.
        if let Some(groups) = field(&user, "memberOf").and_then(Value::as_array) {
            identity.groups = groups
                .iter()
                .filter_map(|g| non_empty(str_at(g, &["displayName"])))
                .collect();
        }
        identity.push_key(mail, KeyKind::PrimaryEmail);
        for key in &keys[2..] {
            identity.push_key(key, KeyKind::SecondaryEmail);
        }
        sink.keep(identity);
    }
    next_link(users)
}

/// Graph pages at 100 users by default: a nextLink means people are missing.
fn next_link(users: &JsonUsers) -> Result<(), IdpError> {
    let link = users.member("@odata.nextLink").and_then(Value::as_str);
    if link.is_none_or(|l| l.trim().is_empty()) {
        return Ok(());
    }
    Err(IdpError::Row {
        file: users.file().to_owned(),
        line: 1,
        reason: "the response has @odata.nextLink: it is one page of the user list; follow every \
                 nextLink and save all the users in one file"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    const USERS: &[u8] = include_bytes!("../../fixtures/idp/entra-json/users.json");

    fn doc(bytes: &[u8]) -> Value {
        crate::idp::test_support::json(bytes)
    }

    fn read_all(doc: &Value) -> Result<Sink<'static>, IdpError> {
        crate::idp::test_support::read_doc("graph.json", doc, ARRAYS, read_json)
    }

    #[test]
    fn account_enabled_table() {
        let cases = [
            (Some(Value::Bool(true)), Some((IdpStatus::Active, "true"))),
            (
                Some(Value::Bool(false)),
                Some((IdpStatus::Deprovisioned, "false")),
            ),
            (Some(Value::from("True")), Some((IdpStatus::Active, "True"))),
            (
                Some(Value::from(" false")),
                Some((IdpStatus::Deprovisioned, "false")),
            ),
            (Some(Value::Null), None),
            (Some(Value::from("disabled")), None),
            (None, None),
        ];
        for (enabled, want) in cases {
            assert_eq!(status(enabled.as_ref()), want, "{enabled:?}");
        }
    }

    #[test]
    fn proxy_address_table() {
        let cases = [
            ("SMTP:Ann@acme.test", Some("Ann@acme.test")),
            ("smtp:alias@acme.test", Some("alias@acme.test")),
            ("SmTp: x@acme.test ", Some("x@acme.test")),
            ("X500:/o=ExchangeLabs/cn=Recipients", None),
            ("SIP:ann@acme.test", None),
            ("ann@acme.test", None),
            ("smtp", None),
        ];
        for (raw, want) in cases {
            assert_eq!(smtp_address(raw), want, "{raw}");
        }
    }

    #[test]
    fn reads_the_fixture() {
        let doc = doc(USERS);
        assert!(detect_json(&doc));
        let sink = read_all(&doc).expect("reads");
        assert_eq!(sink.rows, 4);
        let ids = sink.kept;
        let cases = [
            ("Ann.Lee@acme.test", IdpStatus::Active),
            ("bo.chen@acme.test", IdpStatus::Deprovisioned),
            (
                "dana.ortiz_partner.example#EXT#@acmetest.onmicrosoft.com",
                IdpStatus::Active,
            ),
            ("cy.dune@acme.test", IdpStatus::Active),
        ];
        assert_eq!(ids.len(), cases.len());
        for (identity, (login, status)) in ids.iter().zip(cases) {
            assert_eq!((identity.login.as_str(), identity.status), (login, status));
        }
        let ann = &ids[0];
        assert_eq!(
            ann.keys,
            vec![
                ("ann.lee@acme.test".to_owned(), KeyKind::Login),
                ("ann@eu.acme.test".to_owned(), KeyKind::SecondaryEmail),
                (
                    "ann.lee@acmetest.onmicrosoft.com".to_owned(),
                    KeyKind::SecondaryEmail
                ),
            ]
        );
        assert_eq!(
            ann.last_login,
            Some("2026-09-28T07:41:19Z".parse().expect("valid"))
        );
        assert_eq!(ann.employee_id.as_deref(), Some("E1001"));
        assert_eq!(ann.department.as_deref(), Some("Customer Support"));
        let guest = &ids[2];
        assert_eq!(
            guest.keys,
            vec![
                (
                    "dana.ortiz_partner.example#ext#@acmetest.onmicrosoft.com".to_owned(),
                    KeyKind::Login
                ),
                ("dana.ortiz@partner.example".to_owned(), KeyKind::PrimaryEmail),
                (
                    "dana@ortiz-consulting.example".to_owned(),
                    KeyKind::SecondaryEmail
                ),
            ]
        );
        assert_eq!(guest.last_login, None, "lastSignInDateTime null");
        assert_eq!(guest.department, None, "department null");
        assert_eq!(guest.display_name, "Dana Ortiz (Partner)");
        assert_eq!(ids[3].last_login, None, "no signInActivity");
        assert_eq!(ids[3].keys.len(), 1, "mail null");
    }

    #[test]
    fn the_hot_path_counts_users_as_the_whole_read_does() {
        for (lean, whole) in crate::idp::test_support::both_ways(USERS, ARRAYS, COUNTED) {
            assert_eq!(counted(&lean.expect("read by the hot path")), counted(&whole));
        }
        let odd = [
            r#"{"userPrincipalName": "a@x.test", "accountEnabled": true, "MAIL": "b@x.test"}"#,
            r#"{"UserPrincipalName": "a@x.test", "userPrincipalName": "b@x.test", "accountEnabled": "False"}"#,
            r#"{"accountEnabled": true, "userPrincipalName": "a@x.test", "accountEnabled": false}"#,
            r#"{"userPrincipalName": "a@x.test", "accountEnabled": true, "otherMails": "b@x.test"}"#,
            r#"{"userPrincipalName": "a@x.test", "accountEnabled": true, "proxyAddresses": ["SMTP:b@x.test", 5]}"#,
            r#"{"userPrincipalName": "a@x.test", "accountEnabled": "maybe"}"#,
            r#"{"userPrincipalName": " ", "accountEnabled": false}"#,
            r#"{"userPrincipalName": "a@x.test", "accountEnabled": true, "x": "\uD800"}"#,
            r#"{"userPrincipalName": "a@x.test", "accountEnabled": true, "x": [1e999]}"#,
            r#"["a@x.test", true]"#,
            r#"{"userPrincipalName": "a@x.test", "accountEnabled": true,
                "signInActivity": {"lastSignInDateTime": "later"}}"#,
        ];
        crate::idp::test_support::hot_path_agrees(ARRAYS, read_json, &["lastSignInDateTime"], &odd);
    }

    #[test]
    fn guest_is_kept_for_its_real_address() {
        let wanted = ["dana@ortiz-consulting.example".to_owned()].into_iter().collect();
        let mut sink = Sink::new(0, Some(&wanted), Timestamp::UNIX_EPOCH);
        crate::idp::test_support::read_into("graph.json", &doc(USERS), ARRAYS, read_json, &mut sink)
            .expect("reads");
        assert_eq!(sink.rows, 4);
        assert_eq!(sink.kept.len(), 1);
        assert!(sink.kept[0].login.contains("#EXT#"));
    }

    #[test]
    fn reads_a_powershell_array() {
        let doc = doc(br#"[{"UserPrincipalName": "ann@acme.test", "AccountEnabled": false,
            "OtherMails": ["a@other.example"], "SignInActivity": {"LastSignInDateTime": "2026-01-02T03:04:05Z"}}]"#);
        assert!(detect_json(&doc));
        let ids = read_all(&doc).expect("reads").kept;
        assert_eq!(ids[0].status, IdpStatus::Deprovisioned);
        assert_eq!(ids[0].keys[1].0, "a@other.example");
        assert!(ids[0].last_login.is_some());
    }

    #[test]
    fn detection_rejects_other_shapes() {
        let others: [&[u8]; 6] = [
            include_bytes!("../../fixtures/idp/okta-json/users.json"),
            include_bytes!("../../fixtures/idp/scim/list-response.json"),
            br#"{"value": [{"displayName": "Printers"}]}"#,
            br#"{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups", "value": []}"#,
            br#"[]"#,
            b"true",
        ];
        for bytes in others {
            assert!(!detect_json(&doc(bytes)), "{}", String::from_utf8_lossy(bytes));
        }
        assert!(detect_json(&doc(
            br#"{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": []}"#
        )));
    }

    #[test]
    fn bad_documents_and_users_name_file_and_index() {
        let cases: [(&[u8], &str); 7] = [
            (b"42", "value"),
            (br#"{"foo": 1}"#, "value"),
            (br#"{"value": [{"userPrincipalName": "a@x.test"}]}"#, "$select"),
            (
                br#"{"value": [{"userPrincipalName": "a@x.test", "accountEnabled": "maybe"}]}"#,
                "user #1",
            ),
            (
                br#"[{"userPrincipalName": "a", "accountEnabled": true}, {"accountEnabled": true}]"#,
                "user #2",
            ),
            (
                br#"{"@odata.nextLink": "https://graph.microsoft.com/v1.0/users?$skiptoken=X", "value": []}"#,
                "nextLink",
            ),
            (
                br#"[{"userPrincipalName": "a", "accountEnabled": true,
                     "signInActivity": {"lastSignInDateTime": "later"}}]"#,
                "lastSignInDateTime",
            ),
        ];
        for (bytes, want) in cases {
            let err = read_all(&doc(bytes)).err().expect("error").to_string();
            assert!(err.starts_with("graph.json:"), "{err}");
            assert!(err.contains(want), "{err}");
        }
    }
}
