//! Small helpers every reader shares to turn an export's values into an
//! [`Identity`](super::Identity)'s fields: a blank cell is no value, and a
//! JSON user's fields are found by name (any case) or by pointer.
//!
//! Readers import these from here, never from one another, so that no
//! reader depends on another (`layers` checks).

use serde_json::Value;

/// A trimmed cell or field as an optional value: blank is none.
pub(crate) fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// A field of a JSON object by name: the exact spelling, else the first key
/// equal to it ignoring ASCII case (SCIM names, PowerShell's PascalCase dumps).
pub(crate) fn field<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    let map = obj.as_object()?;
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// A string by path of field names (any case), trimmed; `""` when absent or not a string.
pub(crate) fn str_at<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(obj, |v, name| field(v, name))
        .and_then(Value::as_str)
        .map_or("", str::trim)
}

/// A string field by JSON pointer (`/profile/login`), trimmed; `""` when absent.
pub(crate) fn text<'a>(user: &'a Value, pointer: &str) -> &'a str {
    user.pointer(pointer)
        .and_then(Value::as_str)
        .map_or("", str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_none() {
        assert_eq!(non_empty(""), None);
        assert_eq!(non_empty("Support").as_deref(), Some("Support"));
    }

    #[test]
    fn fields_by_name_any_case_and_by_pointer() {
        let user = serde_json::json!({
            "userName": " ann ", "UserName": "other", "Name": {"GivenName": "Ann"},
            "profile": {"login": " a@x.test "}, "count": 3,
        });
        assert_eq!(str_at(&user, &["userName"]), "ann", "the exact spelling first");
        assert_eq!(str_at(&user, &["USERNAME"]), "ann", "else the first in any case");
        assert_eq!(str_at(&user, &["name", "givenName"]), "Ann");
        assert_eq!(str_at(&user, &["count"]), "", "not a string");
        assert_eq!(str_at(&user, &["name", "familyName"]), "");
        assert_eq!(field(&Value::Null, "a"), None, "not an object");
        assert_eq!(text(&user, "/profile/login"), "a@x.test");
        assert_eq!((text(&user, "/Profile/login"), text(&user, "/count")), ("", ""));
    }
}
