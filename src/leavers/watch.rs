//! `audit --watch DIR`: the events `deskaudit watch` appends to
//! `DIR/events.jsonl`, read for one question only: when each agent was seen
//! with access and when without. One small reader, so it follows the watch's
//! format (docs/watch.md) without sharing its types.
//!
//! One JSON object a line: `schema_version` 1, `type`, `observed_at` (this
//! poll's finish: the agent was as `after` says by then), `previous_at` (the
//! previous complete poll's start: the agent was as `before` says then),
//! `agent` (`{"id", "email"}`), `before` and `after` (the agent as each poll
//! saw it, with its `status`: `active`, `pending`, `deactivated` or
//! `deleted`; `null` where there was no agent). Every `agent.*` event says
//! what it can from these; unknown fields and other types (`baseline`,
//! `poll.failed`, `role.*`, `group.*`, `finding.*`) are never evidence.

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

/// One `agent.*` event, with where it stands in the file and what it says
/// about access on either side of the change.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentEvent {
    /// 1-based line of `events.jsonl`.
    pub line: usize,
    /// The event's `type` as written (`agent.deactivated`).
    pub kind: String,
    pub agent_id: u64,
    pub email: Option<String>,
    /// The event's `domain`: the account the agent is in.
    pub domain: Option<String>,
    pub observed_at: Timestamp,
    pub previous_at: Option<Timestamp>,
    /// Whether `before` held access (active or pending); `None` where the
    /// event has no `before` agent or it gives no status.
    pub access_before: Option<bool>,
    /// The same for `after`; `Some(false)` where there is no agent after
    /// (a deletion).
    pub access_after: Option<bool>,
}

impl AgentEvent {
    /// The agent left the account between the two polls (a contact remains).
    pub fn is_deletion(&self) -> bool {
        self.kind == "agent.deleted"
    }
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
    domain: Option<String>,
    observed_at: Option<String>,
    previous_at: Option<String>,
    agent: Option<Value>,
    before: Option<Value>,
    after: Option<Value>,
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

/// The event if it is about an agent's state (`agent.*`); `None` for every other type.
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
    if !name.starts_with("agent.") {
        return Ok(None);
    }
    let agent = raw.agent.unwrap_or(Value::Null);
    let agent_id = agent
        .get("id")
        .and_then(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .ok_or_else(|| format!("{name}: no agent.id"))?;
    let time = |field: &str, value: Option<&str>| -> Result<Option<Timestamp>, String> {
        value
            .map_or(Ok(None), parse_timestamp)
            .map_err(|why| format!("{name}: {field}: {why}"))
    };
    let observed_at =
        time("observed_at", raw.observed_at.as_deref())?.ok_or_else(|| format!("{name}: no observed_at"))?;
    let access_before = access(raw.before.as_ref(), &name, "before")?;
    let access_after = match raw.after.as_ref() {
        None | Some(Value::Null) => Some(false),
        after => access(after, &name, "after")?,
    };
    Ok(Some(AgentEvent {
        line,
        agent_id,
        email: agent
            .get("email")
            .and_then(Value::as_str)
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty()),
        domain: raw.domain.clone(),
        observed_at,
        previous_at: time("previous_at", raw.previous_at.as_deref())?,
        access_before: access_before.filter(|_| raw.previous_at.is_some()),
        access_after,
        kind: name,
    }))
}

/// Whether an event's `before` or `after` agent held access, by its `status`.
fn access(side: Option<&Value>, name: &str, field: &str) -> Result<Option<bool>, String> {
    let Some(status) = side.and_then(|v| v.get("status")) else {
        return Ok(None);
    };
    match status.as_str() {
        Some("active" | "pending") => Ok(Some(true)),
        Some("deactivated" | "deleted") => Ok(Some(false)),
        _ => Err(format!(
            "{name}: {field}.status {status}: expected active, pending, deactivated or deleted"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("ts")
    }

    #[test]
    fn keeps_agent_events_with_access_either_side_and_ignores_the_rest() {
        let text = concat!(
            r#"{"schema_version": 1, "seq": 1, "type": "baseline", "observed_at": "2026-08-01T00:00:00Z", "previous_at": null, "before": null, "after": {"agents": {"active": 3}}}"#,
            "\n\n",
            r#"{"schema_version": 1, "type": "poll.failed", "observed_at": "2026-08-01T00:15:00Z", "previous_at": null, "before": null, "after": null, "error": "boom"}"#,
            "\n",
            r#"{"schema_version": 1, "type": "agent.deactivated", "observed_at": "2026-08-02T10:15:00+02:00", "previous_at": "2026-08-02T08:00:00", "agent": {"id": 7, "email": " a@x.test "}, "before": {"id": 7, "status": "active"}, "after": {"id": 7, "status": "deactivated"}, "future": 1}"#,
            "\n",
            r#"{"schema_version": 1, "type": "finding.opened", "observed_at": "2026-08-03T00:00:00Z", "previous_at": "2026-08-02T08:15:00Z", "agent": {"id": 8, "email": null}, "finding": {"finding_id": "DA-1"}, "before": null, "after": {}}"#,
            "\n",
            r#"{"schema_version": 1, "type": "agent.roles_changed", "observed_at": "2026-08-03T00:00:00Z", "previous_at": "2026-08-02T23:45:00Z", "agent": {"id": 8, "email": null}, "before": {"status": "pending"}, "after": {"status": "pending"}}"#,
            "\n",
            r#"{"schema_version": 1, "type": "agent.deleted", "observed_at": "2026-08-04T00:00:00Z", "previous_at": "2026-08-03T23:45:00Z", "agent": {"id": "7", "email": "a@x.test"}, "before": {"status": "deactivated"}, "after": null}"#,
            "\n",
            r#"{"schema_version": 1, "type": "agent.created", "observed_at": "2026-08-05T00:00:00Z", "previous_at": "2026-08-04T23:45:00Z", "agent": {"id": 9, "email": "c@x.test"}, "before": null, "after": {"status": "pending"}}"#,
            "\n",
        );
        let log = parse("events.jsonl", text.as_bytes()).expect("reads");
        assert_eq!(log.lines, 8);
        assert!(!log.torn_tail);
        type Row<'a> = (usize, &'a str, u64, Option<&'a str>, Option<bool>, Option<bool>);
        let got: Vec<Row> = log
            .events
            .iter()
            .map(|e| {
                let email = e.email.as_deref();
                (
                    e.line,
                    e.kind.as_str(),
                    e.agent_id,
                    email,
                    e.access_before,
                    e.access_after,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    4,
                    "agent.deactivated",
                    7,
                    Some("a@x.test"),
                    Some(true),
                    Some(false)
                ),
                (6, "agent.roles_changed", 8, None, Some(true), Some(true)),
                (7, "agent.deleted", 7, Some("a@x.test"), Some(false), Some(false)),
                (8, "agent.created", 9, Some("c@x.test"), None, Some(true)),
            ]
        );
        let first = &log.events[0];
        assert_eq!(first.observed_at, ts("2026-08-02T08:15:00Z"), "offset applied");
        assert_eq!(
            first.previous_at,
            Some(ts("2026-08-02T08:00:00Z")),
            "no offset: UTC"
        );
        assert!(log.events[2].is_deletion() && !first.is_deletion());
    }

    #[test]
    fn a_torn_last_line_is_skipped_but_a_torn_middle_line_is_an_error() {
        let good = r#"{"schema_version": 1, "type": "agent.deleted", "observed_at": "2026-08-02T00:00:00Z", "agent": {"id": 9}, "before": {"status": "active"}, "after": null}"#;
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
                "e.jsonl:1: agent.deleted: no agent.id",
            ),
            (
                r#"{"schema_version": 1, "type": "agent.deleted", "agent": {"id": 1}}"#,
                "e.jsonl:1: agent.deleted: no observed_at",
            ),
            (
                r#"{"schema_version": 1, "type": "agent.deleted", "agent": {"id": 1}, "observed_at": "soon"}"#,
                "e.jsonl:1: agent.deleted: observed_at: `soon` is not a date-time",
            ),
            (
                r#"{"schema_version": 1, "type": "agent.deactivated", "agent": {"id": 1}, "observed_at": "2026-08-02T00:00:00Z", "after": {"status": "gone"}}"#,
                "e.jsonl:1: agent.deactivated: after.status \"gone\": expected active, pending, deactivated or deleted",
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
