//! `events.jsonl`: one event a line, append-only, each append flushed and
//! fsynced before the caller goes on. Opening it checks every line and
//! numbers the next event; a last line cut short by a crash (no newline) is
//! cut off, since the step that wrote it is redone or was never promised.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use super::WatchError;
use super::event::Event;

pub struct EventLog {
    path: PathBuf,
    last: Option<Event>,
    /// The event ids of the last poll in the file, in order.
    tail_poll: Vec<String>,
}

impl EventLog {
    /// Reads the log at `path` (absent: an empty log), cutting off a torn
    /// last line; returns the log and how many bytes were cut.
    pub fn open(path: &Path) -> Result<(EventLog, u64), WatchError> {
        let mut log = EventLog {
            path: path.to_path_buf(),
            last: None,
            tail_poll: Vec::new(),
        };
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((log, 0)),
            Err(e) => return Err(WatchError::io(path, e)),
        };
        let len = file.metadata().map_err(|e| WatchError::io(path, e))?.len();
        let (mut whole, mut number) = (0u64, 0u64);
        scan(file, path, |event, end| {
            number += 1;
            if event.seq != number {
                return Err(WatchError::state(
                    path,
                    format!(
                        "line {number}: seq {} where {number} was expected: the log was edited",
                        event.seq
                    ),
                ));
            }
            if log.last.as_ref().is_none_or(|l| l.poll_id != event.poll_id) {
                log.tail_poll.clear();
            }
            log.tail_poll.push(event.event_id.clone());
            log.last = Some(event);
            whole = end;
            Ok(())
        })?;
        if whole < len {
            let file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| WatchError::io(path, e))?;
            file.set_len(whole).map_err(|e| WatchError::io(path, e))?;
            file.sync_all().map_err(|e| WatchError::io(path, e))?;
        }
        Ok((log, len - whole))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn last(&self) -> Option<&Event> {
        self.last.as_ref()
    }

    pub fn next_seq(&self) -> u64 {
        self.last.as_ref().map_or(1, |e| e.seq + 1)
    }

    /// The ids already written for `poll_id`, if it is the last poll in the log.
    pub fn written_for(&self, poll_id: &str) -> &[String] {
        match &self.last {
            Some(last) if last.poll_id == poll_id => &self.tail_poll,
            _ => &[],
        }
    }

    /// Appends `events` as lines, then fsyncs; a new file's directory entry
    /// is fsynced too, so the file itself survives a crash.
    pub fn append(&mut self, events: &[Event]) -> Result<(), WatchError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut text = Vec::new();
        for event in events {
            serde_json::to_writer(&mut text, event)
                .map_err(|e| WatchError::state(&self.path, e.to_string()))?;
            text.push(b'\n');
        }
        let created = !self.path.exists();
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| WatchError::io(&self.path, e))?;
        file.write_all(&text).map_err(|e| WatchError::io(&self.path, e))?;
        file.sync_all().map_err(|e| WatchError::io(&self.path, e))?;
        if created {
            super::state::sync_dir(&self.path)?;
        }
        for event in events {
            if self.last.as_ref().is_none_or(|l| l.poll_id != event.poll_id) {
                self.tail_poll.clear();
            }
            self.tail_poll.push(event.event_id.clone());
            self.last = Some(event.clone());
        }
        Ok(())
    }
}

/// Every complete event of the log at `path`, in order; a torn last line is
/// left out (and left alone: another process may be writing it). This is
/// how a reader (`audit --watch`, a test) takes the log as evidence.
pub fn read_events(path: &Path) -> Result<Vec<Event>, WatchError> {
    let file = File::open(path).map_err(|e| WatchError::io(path, e))?;
    let mut events = Vec::new();
    scan(file, path, |event, _| {
        events.push(event);
        Ok(())
    })?;
    Ok(events)
}

/// Calls `each` with every newline-terminated line's event and the offset
/// just past it; a line that is not an event is an error naming it.
fn scan(
    file: File,
    path: &Path,
    mut each: impl FnMut(Event, u64) -> Result<(), WatchError>,
) -> Result<(), WatchError> {
    let mut reader = BufReader::new(file);
    let (mut line, mut offset, mut number) = (Vec::new(), 0u64, 0u64);
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| WatchError::io(path, e))?;
        if read == 0 || line.last() != Some(&b'\n') {
            return Ok(());
        }
        number += 1;
        offset += read as u64;
        let event = serde_json::from_slice::<Event>(&line)
            .map_err(|e| WatchError::state(path, format!("line {number}: not an event: {e}")))?;
        each(event, offset)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::changes::{Change, Subject};
    use crate::watch::event::{EventKind, PollContext, assemble};

    fn events(poll: &str, first_seq: u64, n: usize) -> Vec<Event> {
        let ctx = PollContext {
            account: None,
            domain: "acme".into(),
            poll_id: poll.into(),
            observed_at: "2026-06-01T00:00:00Z".parse().expect("ts"),
            previous_at: None,
        };
        let changes = (0..n)
            .map(|i| Change {
                kind: EventKind::AgentCreated,
                subject: Subject::Agent {
                    id: i as u64,
                    email: None,
                },
                before: None,
                after: None,
                detail: None,
            })
            .collect();
        assemble(&ctx, changes, first_seq)
    }

    #[test]
    fn appends_number_and_a_torn_line_is_cut_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("events.jsonl");
        let (mut log, cut) = EventLog::open(&path).expect("absent is empty");
        assert_eq!((log.next_seq(), cut), (1, 0));
        log.append(&events("p-1", 1, 2)).expect("append");
        log.append(&events("p-2", 3, 2)).expect("append");
        assert_eq!(log.written_for("p-2").len(), 2);
        assert!(log.written_for("p-1").is_empty(), "only the last poll is kept");
        let whole = std::fs::read(&path).expect("read");
        let mut torn = whole.clone();
        torn.extend_from_slice(br#"{"schema_version":1,"event_id":"ev-x"#);
        std::fs::write(&path, &torn).expect("write");
        assert_eq!(
            read_events(&path).expect("reads").len(),
            4,
            "a reader skips the torn line"
        );
        let (log, cut) = EventLog::open(&path).expect("opens");
        assert_eq!((log.next_seq(), cut), (5, torn.len() as u64 - whole.len() as u64));
        assert_eq!(std::fs::read(&path).expect("read"), whole);
        assert_eq!(log.last().map(|e| e.poll_id.as_str()), Some("p-2"));
    }

    #[test]
    fn an_edited_log_is_refused_naming_the_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("events.jsonl");
        let (mut log, _) = EventLog::open(&path).expect("opens");
        log.append(&events("p-1", 1, 3)).expect("append");
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        let table = [
            (
                format!("{}\n{}\n", lines[0], lines[2]),
                "line 2: seq 3 where 2 was expected",
            ),
            (format!("{}\nnot json\n", lines[0]), "line 2: not an event"),
        ];
        for (edited, says) in table {
            std::fs::write(&path, edited).expect("write");
            let err = EventLog::open(&path)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(says), "{err}");
        }
    }
}
