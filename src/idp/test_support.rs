//! What every reader's unit tests do: read in-memory fixture bytes through one
//! reader, keeping every identity.

use jiff::Timestamp;
use serde_json::Value;

use super::IdpError;
use super::csv_table::Table;
use super::sink::Sink;

pub(crate) type CsvDetect = fn(&Table) -> bool;
pub(crate) type CsvRead = fn(&mut Table, &mut Sink) -> Result<(), IdpError>;
pub(crate) type JsonRead = fn(&str, &Value, &mut Sink) -> Result<(), IdpError>;

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

/// Reads a JSON document through one reader.
pub(crate) fn read_doc(name: &str, doc: &Value, read: JsonRead) -> Result<Sink<'static>, IdpError> {
    let mut sink = Sink::new(0, None, as_of());
    read(name, doc, &mut sink)?;
    Ok(sink)
}

/// Parses fixture bytes as JSON.
pub(crate) fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}
