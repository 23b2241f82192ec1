//! What every reader's unit tests do: read in-memory fixture bytes through one
//! reader, keeping every identity.

use jiff::Timestamp;
use serde_json::Value;

use super::csv_table::Table;
use super::json_doc::JsonUsers;
use super::json_lean::{Keep, partial};
use super::sink::{KeySet, Sink};
use super::source::Opened;
use super::{IdpError, IdpStatus};

pub(crate) type CsvDetect = fn(&Table) -> bool;
pub(crate) type CsvRead = fn(&mut Table, &mut Sink) -> Result<(), IdpError>;
pub(crate) type JsonRead = fn(&mut JsonUsers, &mut Sink) -> Result<(), IdpError>;

/// The as-of the reader tests use (it matters only for HR termination dates).
pub(crate) fn as_of() -> Timestamp {
    "2026-10-01T00:00:00Z".parse().expect("valid timestamp")
}

/// Reads a CSV fixture, asserting its header is detected as this kind.
pub(crate) fn read_csv(
    name: &str,
    data: &'static [u8],
    detect: CsvDetect,
    read: CsvRead,
) -> Result<Sink<'static>, IdpError> {
    let mut table = Table::from_bytes(name, data)?;
    assert!(detect(&table), "{name} is detected as this kind");
    let mut sink = Sink::new(0, None, as_of());
    read(&mut table, &mut sink)?;
    Ok(sink)
}

/// Reads a CSV fixture from a file in one pass, then in parallel blocks of a
/// few bytes (cut at nearly every line), asserting that every read keeps the
/// same identities — (line, login, status) — and counts the same rows per
/// status. Returns what the one pass kept.
pub(crate) fn same_in_blocks(
    name: &str,
    data: &[u8],
    read: impl Fn(&mut Table, &mut Sink) -> Result<(), IdpError>,
) -> Vec<(u64, String, IdpStatus)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, data).expect("fixture written");
    let read_in = |block: Option<usize>| {
        // `open`, not `reopen`: only a table that knows its file can cut it into blocks.
        let mut table = Table::new(Opened::open(&path).expect("opened"), false).expect("table");
        table.force_parallel(block);
        let mut sink = Sink::new(0, None, as_of());
        read(&mut table, &mut sink).expect("rows");
        let kept: Vec<_> = sink
            .kept
            .iter()
            .map(|i| (i.line, i.login.clone(), i.status))
            .collect();
        (kept, sink.by_status())
    };
    let (kept, counts) = read_in(None);
    for block in [7, 64, 333] {
        let blocks = read_in(Some(block));
        assert_eq!(
            blocks,
            (kept.clone(), counts.clone()),
            "{name} in blocks of {block} bytes"
        );
    }
    kept
}

/// Reads a JSON document through one reader, its users array under one of `arrays`.
pub(crate) fn read_doc(
    name: &str,
    doc: &Value,
    arrays: &'static [&'static str],
    read: JsonRead,
) -> Result<Sink<'static>, IdpError> {
    let mut sink = Sink::new(0, None, as_of());
    read_into(name, doc, arrays, read, &mut sink)?;
    Ok(sink)
}

/// As [`read_doc`], into a sink of the caller's (a wanted-keys filter).
pub(crate) fn read_into(
    name: &str,
    doc: &Value,
    arrays: &'static [&'static str],
    read: JsonRead,
    sink: &mut Sink,
) -> Result<(), IdpError> {
    let bytes = serde_json::to_vec_pretty(doc).expect("a Value serialises");
    let mut users = JsonUsers::open(name.to_owned(), Box::new(std::io::Cursor::new(bytes)), arrays)?;
    read(&mut users, sink)
}

/// Parses fixture bytes as JSON.
pub(crate) fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

/// Each user of a JSON fixture (its users array under one of `arrays`, or
/// the document itself) as the hot path reads it, the members `keep` names
/// only, beside the whole user.
pub(crate) fn both_ways(bytes: &[u8], arrays: &[&str], keep: Keep) -> Vec<(Option<Value>, Value)> {
    let doc = json(bytes);
    let users = match &doc {
        Value::Array(users) => users,
        Value::Object(map) => arrays
            .iter()
            .find_map(|name| map.get(*name).and_then(Value::as_array))
            .expect("a users array"),
        _ => panic!("not a JSON export"),
    };
    assert!(!users.is_empty(), "a fixture with users");
    users
        .iter()
        .map(|user| {
            let bytes = serde_json::to_vec(user).expect("a Value serialises");
            (partial(&bytes, keep), user.clone())
        })
        .collect()
}

/// Reads each of `users` alone (`[user]`): read whole (every user kept),
/// through the hot path (no agent has any key), and with each one of the
/// keys the whole read found. All must count it alike or refuse it alike,
/// and each key alone must keep what the whole read kept; the one difference
/// allowed is an error about a field read only for kept users, whose text
/// holds one of `kept_only`.
pub(crate) fn hot_path_agrees(
    arrays: &'static [&'static str],
    read: JsonRead,
    kept_only: &[&str],
    users: &[&str],
) {
    let nobody: KeySet = ["nobody@x.test".to_owned()].into_iter().collect();
    for user in users {
        let text = format!("[{user}]");
        let read = |wanted: Option<&KeySet>| {
            let mut sink = Sink::new(0, wanted, as_of());
            let src = Box::new(std::io::Cursor::new(text.clone().into_bytes()));
            let mut users = JsonUsers::open("u.json".into(), src, arrays).map_err(|e| e.to_string())?;
            read(&mut users, &mut sink)
                .map(|()| (sink.by_status(), sink.kept))
                .map_err(|e| e.to_string())
        };
        match (read(None), read(Some(&nobody))) {
            (Ok((counts, kept)), Ok(hot)) => {
                assert_eq!((&counts, 0), (&hot.0, hot.1.len()), "{user}");
                // Any one of its keys keeps a user.
                for (key, _) in kept.iter().flat_map(|i| &i.keys) {
                    let agent: KeySet = [key.clone()].into_iter().collect();
                    assert_eq!(
                        read(Some(&agent)),
                        Ok((counts.clone(), kept.clone())),
                        "{user}: {key}"
                    );
                }
            }
            (Err(e), Ok(_)) => assert!(kept_only.iter().any(|k| e.contains(k)), "{user}: {e}"),
            (Err(all), Err(hot)) => assert_eq!(all, hot, "{user}"),
            (Ok(_), Err(hot)) => panic!("{user}: {hot}"),
        }
    }
}
