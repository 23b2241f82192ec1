//! JSON exports (API dumps) read whole, with the line and column of a syntax error.

use std::io::BufRead;

use serde_json::Value;

use super::IdpError;

pub(crate) fn read(file: &str, reader: Box<dyn BufRead + Send>) -> Result<Value, IdpError> {
    serde_json::from_reader(reader).map_err(|e| IdpError::Row {
        file: file.to_owned(),
        line: e.line() as u64,
        reason: format!("column {}: {e}", e.column()),
    })
}

/// The array of user objects under one of `keys` (or the document itself when it is an array).
pub(crate) fn users<'a>(file: &str, doc: &'a Value, keys: &[&str]) -> Result<&'a [Value], IdpError> {
    let found = match doc {
        Value::Array(items) => Some(items.as_slice()),
        Value::Object(map) => keys
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_array))
            .map(Vec::as_slice),
        _ => None,
    };
    found.ok_or_else(|| IdpError::Row {
        file: file.to_owned(),
        line: 1,
        reason: format!(
            "expected a JSON array of users, or an object with {}",
            keys.join(" or ")
        ),
    })
}

/// A string field by JSON pointer (`/profile/login`), trimmed; `""` when absent.
pub(crate) fn text<'a>(user: &'a Value, pointer: &str) -> &'a str {
    user.pointer(pointer)
        .and_then(Value::as_str)
        .map_or("", str::trim)
}

/// Where a user object stands, for messages: JSON arrays have no lines, so the index.
pub(crate) fn at(file: &str, index: usize, reason: String) -> IdpError {
    IdpError::Row {
        file: file.to_owned(),
        line: 0,
        reason: format!("user #{} of the array: {reason}", index + 1),
    }
}
