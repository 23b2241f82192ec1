//! Reading the JSON body of `PUT /agents/{id}` and `POST /agents` into the
//! changes it asks for, refusing it the way Freshdesk does: every wrong
//! field at once, each with its `field`, `message` and `code`.

use serde_json::{Map, Value};

use super::data::Org;
use super::reply::FieldError;

/// Which write the body is for: the fields each accepts differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyFor {
    Update,
    Create,
    /// `make_agent`: the updatable fields, every one optional.
    MakeAgent,
}

/// Fields `PUT /agents/{id}` may change.
const UPDATABLE: [&str; 4] = ["role_ids", "group_ids", "ticket_scope", "occasional"];
/// Fields `POST /agents` takes besides the updatable ones.
const CREATE_ONLY: [&str; 2] = ["email", "name"];

/// A validated body: `None` leaves a field as it is (or at its default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    pub(crate) role_ids: Option<Vec<u64>>,
    pub(crate) group_ids: Option<Vec<u64>>,
    pub(crate) ticket_scope: Option<u64>,
    pub(crate) occasional: Option<bool>,
    pub(crate) email: Option<String>,
    pub(crate) name: Option<String>,
}

/// Why a body was refused before its fields were looked at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Not JSON, or JSON but not an object.
    InvalidJson,
    Fields(Vec<FieldError>),
}

pub(crate) fn parse(bytes: &[u8], kind: BodyFor, org: &Org) -> Result<Changes, BodyError> {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(bytes) else {
        return Err(BodyError::InvalidJson);
    };
    changes(&body, kind, org).map_err(BodyError::Fields)
}

fn changes(body: &Map<String, Value>, kind: BodyFor, org: &Org) -> Result<Changes, Vec<FieldError>> {
    let mut errors = Vec::new();
    for key in body.keys() {
        let known = UPDATABLE.contains(&key.as_str())
            || (kind == BodyFor::Create && CREATE_ONLY.contains(&key.as_str()));
        if key == "email" && kind == BodyFor::Update {
            errors.push(FieldError::new(
                key,
                "The email of an agent cannot be changed through this API",
                "readonly_field",
            ));
        } else if !known {
            errors.push(FieldError::invalid_field(key));
        }
    }
    let mut out = Changes {
        role_ids: id_list(body, "role_ids", &mut errors, |id| org.role(id).is_some()),
        group_ids: id_list(body, "group_ids", &mut errors, |id| org.group(id).is_some()),
        ..Changes::default()
    };
    if out.role_ids.as_ref().is_some_and(Vec::is_empty) {
        errors.push(FieldError::invalid_value(
            "role_ids",
            "It should have at least one role",
        ));
        out.role_ids = None;
    }
    out.ticket_scope = match body.get("ticket_scope") {
        None => None,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|s| (1..=3).contains(&s)) => n.as_u64(),
        Some(Value::Number(_)) => {
            errors.push(FieldError::invalid_value(
                "ticket_scope",
                "It should be one of these values: '1,2,3'",
            ));
            None
        }
        Some(_) => {
            errors.push(mismatch("ticket_scope", "Integer"));
            None
        }
    };
    out.occasional = match body.get("occasional") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(mismatch("occasional", "Boolean"));
            None
        }
    };
    if kind == BodyFor::Create {
        out.email = match body.get("email") {
            None => {
                errors.push(FieldError::new(
                    "email",
                    "Mandatory attribute missing",
                    "missing_field",
                ));
                None
            }
            Some(Value::String(email)) if looks_like_email(email) => Some(email.trim().to_owned()),
            Some(Value::String(_)) => {
                errors.push(FieldError::invalid_value(
                    "email",
                    "It should be in the 'valid email address' format",
                ));
                None
            }
            Some(_) => {
                errors.push(mismatch("email", "String"));
                None
            }
        };
        out.name = match body.get("name") {
            None => None,
            Some(Value::String(name)) if !name.trim().is_empty() => Some(name.trim().to_owned()),
            Some(_) => {
                errors.push(mismatch("name", "String"));
                None
            }
        };
    }
    if kind == BodyFor::Update && errors.is_empty() && body.is_empty() {
        errors.push(FieldError::new(
            "request",
            "Provide at least one of role_ids, group_ids, ticket_scope, occasional",
            "missing_field",
        ));
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// An array of known ids (duplicates dropped, first kept), or an error.
fn id_list(
    body: &Map<String, Value>,
    field: &str,
    errors: &mut Vec<FieldError>,
    known: impl Fn(u64) -> bool,
) -> Option<Vec<u64>> {
    let items = match body.get(field)? {
        Value::Array(items) => items,
        _ => {
            errors.push(mismatch(field, "Array"));
            return None;
        }
    };
    let Some(mut ids) = items.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>() else {
        errors.push(FieldError::new(
            field,
            "It should contain elements of type Positive Integer only",
            "datatype_mismatch",
        ));
        return None;
    };
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
    let unknown: Vec<String> = ids.iter().filter(|&&id| !known(id)).map(u64::to_string).collect();
    if unknown.is_empty() {
        Some(ids)
    } else {
        let message = format!("There are no records matching the ids: '{}'", unknown.join(", "));
        errors.push(FieldError::invalid_value(field, &message));
        None
    }
}

fn mismatch(field: &str, kind: &str) -> FieldError {
    FieldError::new(field, &format!("It should be a/an {kind}"), "datatype_mismatch")
}

/// One `@` with something on both sides, a dot in the domain, no spaces:
/// enough to refuse what Freshdesk would, without a full RFC 5322 parser.
fn looks_like_email(text: &str) -> bool {
    let text = text.trim();
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !text.contains(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sim::Fixture;

    fn org() -> Org {
        Org::new(Fixture {
            roles: vec![json!({"id": 1}), json!({"id": 2})],
            groups: vec![json!({"id": 10}), json!({"id": 11})],
            ..Fixture::default()
        })
    }

    /// The `(field, code)` pairs of a refused body, or the changes.
    fn run(body: &str, kind: BodyFor) -> Result<Changes, Vec<(String, &'static str)>> {
        parse(body.as_bytes(), kind, &org()).map_err(|e| match e {
            BodyError::InvalidJson => vec![("(body)".to_owned(), "invalid_json")],
            BodyError::Fields(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
        })
    }

    fn refused(pairs: &[(&str, &'static str)]) -> Result<Changes, Vec<(String, &'static str)>> {
        Err(pairs.iter().map(|(f, c)| ((*f).to_owned(), *c)).collect())
    }

    #[test]
    fn update_bodies() {
        let table = [
            (
                r#"{"role_ids": [2, 1, 2]}"#,
                Ok(Changes {
                    role_ids: Some(vec![2, 1]),
                    ..Changes::default()
                }),
            ),
            (
                r#"{"group_ids": [], "ticket_scope": 3, "occasional": true}"#,
                Ok(Changes {
                    group_ids: Some(vec![]),
                    ticket_scope: Some(3),
                    occasional: Some(true),
                    ..Changes::default()
                }),
            ),
            (r#"{"role_ids": [99]}"#, refused(&[("role_ids", "invalid_value")])),
            (r#"{"role_ids": []}"#, refused(&[("role_ids", "invalid_value")])),
            (
                r#"{"role_ids": 1}"#,
                refused(&[("role_ids", "datatype_mismatch")]),
            ),
            (
                r#"{"role_ids": ["1"]}"#,
                refused(&[("role_ids", "datatype_mismatch")]),
            ),
            (
                r#"{"group_ids": [10, 12]}"#,
                refused(&[("group_ids", "invalid_value")]),
            ),
            (
                r#"{"ticket_scope": 4}"#,
                refused(&[("ticket_scope", "invalid_value")]),
            ),
            (
                r#"{"ticket_scope": 0}"#,
                refused(&[("ticket_scope", "invalid_value")]),
            ),
            (
                r#"{"ticket_scope": -1}"#,
                refused(&[("ticket_scope", "invalid_value")]),
            ),
            (
                r#"{"ticket_scope": "1"}"#,
                refused(&[("ticket_scope", "datatype_mismatch")]),
            ),
            (
                r#"{"occasional": "yes"}"#,
                refused(&[("occasional", "datatype_mismatch")]),
            ),
            (
                r#"{"email": "a@b.test"}"#,
                refused(&[("email", "readonly_field")]),
            ),
            (r#"{"name": "A"}"#, refused(&[("name", "invalid_field")])),
            (
                r#"{"deactivated": true}"#,
                refused(&[("deactivated", "invalid_field")]),
            ),
            (r#"{}"#, refused(&[("request", "missing_field")])),
            (
                r#"{"signature": "", "ticket_scope": 9}"#,
                refused(&[("signature", "invalid_field"), ("ticket_scope", "invalid_value")]),
            ),
            ("[]", refused(&[("(body)", "invalid_json")])),
            ("{\"role_ids\": [1]", refused(&[("(body)", "invalid_json")])),
            ("", refused(&[("(body)", "invalid_json")])),
        ];
        for (body, expected) in table {
            assert_eq!(run(body, BodyFor::Update), expected, "{body}");
        }
    }

    #[test]
    fn create_bodies() {
        let table = [
            (
                r#"{"email": " new@acme.test ", "name": "New", "role_ids": [1]}"#,
                Ok(Changes {
                    email: Some("new@acme.test".to_owned()),
                    name: Some("New".to_owned()),
                    role_ids: Some(vec![1]),
                    ..Changes::default()
                }),
            ),
            (
                r#"{"email": "x@y.test"}"#,
                Ok(Changes {
                    email: Some("x@y.test".to_owned()),
                    ..Changes::default()
                }),
            ),
            (r#"{}"#, refused(&[("email", "missing_field")])),
            (r#"{"name": "N"}"#, refused(&[("email", "missing_field")])),
            (r#"{"email": "nobody"}"#, refused(&[("email", "invalid_value")])),
            (r#"{"email": "a@b"}"#, refused(&[("email", "invalid_value")])),
            (
                r#"{"email": "a b@c.test"}"#,
                refused(&[("email", "invalid_value")]),
            ),
            (r#"{"email": 5}"#, refused(&[("email", "datatype_mismatch")])),
            (
                r#"{"email": "a@b.test", "name": ""}"#,
                refused(&[("name", "datatype_mismatch")]),
            ),
            (
                r#"{"email": "a@b.test", "id": 5}"#,
                refused(&[("id", "invalid_field")]),
            ),
        ];
        for (body, expected) in table {
            assert_eq!(run(body, BodyFor::Create), expected, "{body}");
        }
    }
}
