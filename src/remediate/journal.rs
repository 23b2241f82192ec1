//! `remediation.jsonl`, beside the plan: one JSON object a line for every
//! step of `apply`, each flushed and fsynced before the next request, so a
//! crash at any point leaves a record of exactly what was sent. A write is
//! journalled as sent *before* it goes out: a re-run that finds a write sent
//! with no answer knows it may have taken effect, and reads first.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::RemediateError;
use super::outcome::Outcome;
use super::state::AgentState;

pub const JOURNAL_JSONL: &str = "remediation.jsonl";

/// One line of the journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub at: Timestamp,
    pub plan_id: String,
    #[serde(flatten)]
    pub step: Step,
}

/// What happened. `state: null` is a read that found no agent (HTTP 404).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Step {
    /// `apply` began (again): who approved, and whose key it uses.
    /// With several accounts, one for each account whose key works.
    Started {
        approver: String,
        key_owner: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
    },
    Read {
        seq: u32,
        /// The action's account, in a plan of several.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        agent_id: u64,
        state: Option<AgentState>,
    },
    /// About to send; journalled before the request leaves.
    WriteSent {
        seq: u32,
        /// The action's account, in a plan of several.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        agent_id: u64,
        method: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
    },
    WriteAnswered {
        seq: u32,
        /// The action's account, in a plan of several.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        agent_id: u64,
        status: u16,
    },
    WriteRefused {
        seq: u32,
        /// The action's account, in a plan of several.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        agent_id: u64,
        status: u16,
        body: Value,
    },
    /// No usable answer: it may or may not have taken effect.
    WriteLost {
        seq: u32,
        /// The action's account, in a plan of several.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        agent_id: u64,
        cause: String,
    },
    Outcome {
        seq: u32,
        /// The action's account, in a plan of several.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        agent_id: u64,
        outcome: Outcome,
        /// A read after the write showed the target state.
        verified: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// The last read of the agent (`null`: HTTP 404, no agent).
        read_back: Option<AgentState>,
    },
    Finished {},
}

/// What the journal says of one action so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The last outcome recorded, with its time.
    pub outcome: Option<(Timestamp, Step)>,
    /// Some write for it was sent (by this run or an earlier one).
    pub write_sent: bool,
    /// Some write for it was answered 2xx.
    pub write_answered: bool,
    /// Writes sent, all runs together.
    pub writes: u32,
}

/// An open journal, appended to.
pub struct Journal {
    path: PathBuf,
    file: File,
    plan_id: String,
    /// Per action (by seq), from the lines already there and those added.
    pub history: BTreeMap<u32, History>,
    /// When the plan's first `apply` began.
    pub started_at: Option<Timestamp>,
}

impl Journal {
    /// Opens (or creates) the journal at `path` for `plan_id`, reading what
    /// earlier runs recorded. A journal of another plan is refused.
    pub fn open(path: &Path, plan_id: &str) -> Result<Journal, RemediateError> {
        let file_name = path.display().to_string();
        let io = |source| RemediateError::Io {
            file: file_name.clone(),
            source,
        };
        let entries = match std::fs::read(path) {
            Ok(bytes) => read_entries(&file_name, &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(e)),
        };
        if let Some(other) = entries.iter().find(|e| e.plan_id != plan_id) {
            return Err(RemediateError::Plan {
                file: file_name,
                reason: format!(
                    "this journal records plan {}, not plan {plan_id}: a journal belongs to one plan. Move it aside only if that plan was never applied",
                    other.plan_id
                ),
            });
        }
        let mut history: BTreeMap<u32, History> = BTreeMap::new();
        for entry in &entries {
            note(&mut history, entry);
        }
        let started_at = entries
            .iter()
            .find(|e| matches!(e.step, Step::Started { .. }))
            .map(|e| e.at);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            plan_id: plan_id.to_owned(),
            history,
            started_at,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one step and makes it durable before returning.
    pub fn record(&mut self, at: Timestamp, step: Step) -> Result<(), RemediateError> {
        let entry = Entry {
            at,
            plan_id: self.plan_id.clone(),
            step,
        };
        let mut line = serde_json::to_vec(&entry).map_err(|e| RemediateError::Io {
            file: self.path.display().to_string(),
            source: e.into(),
        })?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .and_then(|()| self.file.sync_data())
            .map_err(|source| RemediateError::Io {
                file: self.path.display().to_string(),
                source,
            })?;
        note(&mut self.history, &entry);
        if self.started_at.is_none() && matches!(entry.step, Step::Started { .. }) {
            self.started_at = Some(at);
        }
        Ok(())
    }

    pub fn history(&self, seq: u32) -> History {
        self.history.get(&seq).cloned().unwrap_or_default()
    }
}

fn note(history: &mut BTreeMap<u32, History>, entry: &Entry) {
    match &entry.step {
        Step::WriteSent { seq, .. } => {
            let h = history.entry(*seq).or_default();
            h.write_sent = true;
            h.writes += 1;
        }
        Step::WriteAnswered { seq, .. } => history.entry(*seq).or_default().write_answered = true,
        Step::Outcome { seq, .. } => {
            history.entry(*seq).or_default().outcome = Some((entry.at, entry.step.clone()))
        }
        _ => {}
    }
}

/// Every line; a last line cut short by a crash (no newline, not JSON) is
/// ignored, any other bad line is refused.
pub fn read_entries(file: &str, bytes: &[u8]) -> Result<Vec<Entry>, RemediateError> {
    let text = std::str::from_utf8(bytes).map_err(|e| RemediateError::Plan {
        file: file.to_owned(),
        reason: format!("not UTF-8: {e}"),
    })?;
    let torn = !text.is_empty() && !text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut entries = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str::<Entry>(line) {
            Ok(entry) => entries.push(entry),
            Err(_) if torn && i + 1 == lines.len() => {
                tracing::warn!(
                    file,
                    line = i + 1,
                    "ignoring the journal's last line, cut short by a crash"
                );
            }
            Err(e) => {
                return Err(RemediateError::Parse {
                    file: file.to_owned(),
                    line: i + 1,
                    column: e.column(),
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("ts")
    }

    #[test]
    fn steps_survive_a_reopen_and_another_plans_journal_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(JOURNAL_JSONL);
        let mut journal = Journal::open(&path, "p1").expect("open");
        journal
            .record(
                at("2026-10-01T00:00:00Z"),
                Step::Started {
                    approver: "b@x.test".into(),
                    key_owner: 1,
                    account: None,
                },
            )
            .expect("record");
        journal
            .record(
                at("2026-10-01T00:00:01Z"),
                Step::WriteSent {
                    seq: 2,
                    account: None,
                    agent_id: 7,
                    method: "DELETE".into(),
                    body: None,
                },
            )
            .expect("record");
        drop(journal);
        let again = Journal::open(&path, "p1").expect("reopen");
        let h = again.history(2);
        assert!(h.write_sent && !h.write_answered && h.outcome.is_none());
        assert_eq!(h.writes, 1);
        assert!(Journal::open(&path, "p2").is_err(), "one journal, one plan");
    }

    #[test]
    fn a_torn_last_line_is_ignored_but_a_bad_middle_line_is_not() {
        let good = r#"{"at":"2026-10-01T00:00:00Z","plan_id":"p","step":"finished"}"#;
        let torn = format!("{good}\n{{\"at\":\"2026-");
        assert_eq!(read_entries("j", torn.as_bytes()).expect("torn end").len(), 1);
        let bad = format!("{good}\nnot json\n{good}\n");
        let err = read_entries("j", bad.as_bytes()).expect_err("bad line");
        assert!(err.to_string().starts_with("j:2:"), "{err}");
    }
}
