//! `audit --watch DIR`: the events `deskaudit watch` appends to
//! `DIR/events.jsonl`, read for one question only: when each agent was last
//! seen with access and first seen without. One small file, so the reader
//! follows the watch's format while it settles.
//!
//! One JSON object a line: `schema_version` 1, `type`, `observed_at` (this
//! poll's complete collection: first seen without access, for a
//! deactivation or deletion), `previous_at` (the previous complete poll:
//! last seen with access), `agent_id`, `email`, `before`, `after`. Unknown
//! fields and unknown types are ignored; `baseline` and `poll.failed` are
//! never evidence.

use std::path::Path;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::time::parse_timestamp;

pub const EVENTS_JSONL: &str = "events.jsonl";
pub const SCHEMA_VERSION: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: {reason}")]
    Line {
        file: String,
        line: usize,
        reason: String,
    },
}

/// What one agent event says about access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// `agent.created`, `agent.verified`, `agent.reactivated`: access at `observed_at`.
    Granted,
    /// `agent.deactivated`: access at `previous_at`, none at `observed_at`.
    Deactivated,
    /// `agent.deleted`: as a deactivation; the agent is a contact since.
    Deleted,
}

impl EventKind {
    fn of(kind: &str) -> Option<EventKind> {
        match kind {
            "agent.created" | "agent.verified" | "agent.reactivated" => Some(EventKind::Granted),
            "agent.deactivated" => Some(EventKind::Deactivated),
            "agent.deleted" => Some(EventKind::Deleted),
            _ => None,
        }
    }
}

/// One agent event that bears on access, with where it stands in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentEvent {
    /// 1-based line of `events.jsonl`.
    pub line: usize,
    /// The event's `type` as written.
    pub kind_name: String,
    pub kind: EventKind,
    pub agent_id: u64,
    pub email: Option<String>,
    pub observed_at: Timestamp,
    pub previous_at: Option<Timestamp>,
}

/// The events of one watch directory that bear on access.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WatchLog {
    pub path: String,
    pub sha256: String,
    /// Lines read (blank ones included).
    pub lines: usize,
    pub events: Vec<AgentEvent>,
    /// The last line was cut short (a poll interrupted mid-append) and is not read.
    pub torn_tail: bool,
}

#[derive(Deserialize)]
struct RawEvent {
    schema_version: Option<Value>,
    #[serde(rename = "type")]
    kind: Option<String>,
    observed_at: Option<String>,
    previous_at: Option<String>,
    agent_id: Option<Value>,
    email: Option<String>,
}

/// Reads `dir/events.jsonl`.
pub fn read(dir: &Path) -> Result<WatchLog, WatchError> {
    let path = dir.join(EVENTS_JSONL);
    let file = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|source| WatchError::Io {
        file: file.clone(),
        source,
    })?;
    parse(&file, &bytes)
}

/// Reads the text of an events file named `file` (for messages).
pub fn parse(file: &str, bytes: &[u8]) -> Result<WatchLog, WatchError> {
    let mut log = WatchLog {
        path: file.to_owned(),
        sha256: hex::encode(Sha256::digest(bytes)),
        ..WatchLog::default()
    };
    let complete = bytes.ends_with(b"\n");
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    // `split` gives one empty piece after a final newline: not a line.
    let count = if complete { lines.len() - 1 } else { lines.len() };
    for (i, raw) in lines.iter().take(count).enumerate() {
        let line = i + 1;
        log.lines = line;
        let at = |reason: String| WatchError::Line {
            file: file.to_owned(),
            line,
            reason,
        };
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let event: RawEvent = match serde_json::from_slice(raw) {
            Ok(event) => event,
            // Only the last line, unterminated, may be a write cut short.
            Err(_) if !complete && line == count => {
                log.torn_tail = true;
                continue;
            }
            Err(e) => return Err(at(format!("not a JSON event object: {e}"))),
        };
        if let Some(event) = agent_event(event, line).map_err(at)? {
            log.events.push(event);
        }
    }
    Ok(log)
}

/// The event if it bears on an agent's access; `None` for every other type.
fn agent_event(raw: RawEvent, line: usize) -> Result<Option<AgentEvent>, String> {
    match raw.schema_version.as_ref().and_then(Value::as_u64) {
        Some(SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "schema_version {v}: this deskaudit reads version {SCHEMA_VERSION}"
            ));
        }
        None => return Err("no schema_version (1)".to_owned()),
    }
    let name = raw.kind.ok_or("no `type`")?;
    let Some(kind) = EventKind::of(&name) else {
        return Ok(None);
    };
    let agent_id = raw
        .agent_id
        .as_ref()
        .and_then(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .ok_or_else(|| format!("{name}: no agent_id"))?;
    let time = |field: &str, value: Option<&str>| -> Result<Option<Timestamp>, String> {
        value
            .map_or(Ok(None), parse_timestamp)
            .map_err(|why| format!("{name}: {field}: {why}"))
    };
    let observed_at =
        time("observed_at", raw.observed_at.as_deref())?.ok_or_else(|| format!("{name}: no observed_at"))?;
    Ok(Some(AgentEvent {
        line,
        kind,
        agent_id,
        email: raw.email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()),
        observed_at,
        previous_at: time("previous_at", raw.previous_at.as_deref())?,
        kind_name: name,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("ts")
    }

    #[test]
    fn keeps_agent_access_events_and_ignores_the_rest() {
        let text = concat!(
            r#"{"schema_version": 1, "type": "baseline", "observed_at": "2026-08-01T00:00:00Z"}"#,
            "\n\n",
            r#"{"schema_version": 1, "type": "poll.failed", "observed_at": "2026-08-01T00:15:00Z", "agent_id": 7}"#,
            "\n",
            r#"{"schema_version": 1, "type": "agent.deactivated", "observed_at": "2026-08-02T10:15:00+02:00", "previous_at": "2026-08-02T08:00:00", "agent_id": 7, "email": " a@x.test ", "before": {"status": "active"}, "future": 1}"#,
            "\n",
            r#"{"schema_version": 1, "type": "agent.roles_changed", "observed_at": "2026-08-03T00:00:00Z", "agent_id": 8}"#,
            "\n",
            r#"{"schema_version": 1, "type": "agent.teleported", "observed_at": "2026-08-03T00:00:00Z", "agent_id": 8}"#,
            "\n",
            r#"{"schema_version": 1, "type": "agent.reactivated", "observed_at": "2026-08-04T00:00:00Z", "agent_id": "7"}"#,
            "\n",
        );
        let log = parse("events.jsonl", text.as_bytes()).expect("reads");
        assert_eq!(log.lines, 7);
        assert!(!log.torn_tail);
        assert_eq!(log.events.len(), 2);
        let first = &log.events[0];
        assert_eq!(
            (first.line, first.kind, first.agent_id, first.email.as_deref()),
            (4, EventKind::Deactivated, 7, Some("a@x.test"))
        );
        assert_eq!(first.observed_at, ts("2026-08-02T08:15:00Z"), "offset applied");
        assert_eq!(
            first.previous_at,
            Some(ts("2026-08-02T08:00:00Z")),
            "no offset: UTC"
        );
        assert_eq!(
            (log.events[1].kind, log.events[1].agent_id),
            (EventKind::Granted, 7)
        );
    }

    #[test]
    fn a_torn_last_line_is_skipped_but_a_torn_middle_line_is_an_error() {
        let good = r#"{"schema_version": 1, "type": "agent.deleted", "observed_at": "2026-08-02T00:00:00Z", "agent_id": 9}"#;
        let torn = format!("{good}\n{{\"schema_version\": 1, \"type\": \"agent.dea");
        let log = parse("e.jsonl", torn.as_bytes()).expect("reads");
        assert!(log.torn_tail);
        assert_eq!(log.events.len(), 1);
        let middle = format!("{{\"schema_version\": 1, \"ty\n{good}\n");
        let err = parse("e.jsonl", middle.as_bytes())
            .expect_err("bad line")
            .to_string();
        assert!(err.starts_with("e.jsonl:1: not a JSON event object"), "{err}");
    }

    #[test]
    fn mistakes_name_the_line_and_the_field() {
        let cases = [
            (r#"{"type": "agent.deleted"}"#, "e.jsonl:1: no schema_version (1)"),
            (
                r#"{"schema_version": 2, "type": "agent.deleted"}"#,
                "e.jsonl:1: schema_version 2: this deskaudit reads version 1",
            ),
            (r#"{"schema_version": 1}"#, "e.jsonl:1: no `type`"),
            (
                r#"{"schema_version": 1, "type": "agent.deleted", "observed_at": "2026-08-02T00:00:00Z"}"#,
                "e.jsonl:1: agent.deleted: no agent_id",
            ),
            (
                r#"{"schema_version": 1, "type": "agent.deleted", "agent_id": 1}"#,
                "e.jsonl:1: agent.deleted: no observed_at",
            ),
            (
                r#"{"schema_version": 1, "type": "agent.deleted", "agent_id": 1, "observed_at": "soon"}"#,
                "e.jsonl:1: agent.deleted: observed_at: `soon` is not a date-time",
            ),
        ];
        for (line, want) in cases {
            let err = parse("e.jsonl", format!("{line}\n").as_bytes())
                .expect_err(line)
                .to_string();
            assert!(err.starts_with(want), "{err}");
        }
    }
}
