//! Whether a snapshot's data is what the collector wrote: `meta.data_sha256`
//! against the data itself, checked on every read. A snapshot edited by hand
//! (an agent removed, a status changed) would otherwise audit cleanly and
//! its evidence bundle verify, while repeating the original hash.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::ModelError;

/// What to do with a snapshot whose data no longer matches its recorded hash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Edits {
    /// Refuse it (exit 2): the default everywhere.
    #[default]
    Refuse,
    /// Read it, and mark every output as made from an edited snapshot.
    Accept,
}

/// The outcome of the check, recorded in run.json, findings.json, the report
/// and the evidence manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Integrity {
    /// The data hashes to `meta.data_sha256`: as the collector wrote it.
    #[default]
    Verified,
    /// The data does not hash to what was recorded (or nothing was), and the
    /// snapshot was read anyway because the user said so.
    Edited {
        /// `meta.data_sha256` as the file has it (empty when it has none).
        recorded: String,
        /// The hash of the data as it is.
        computed: String,
    },
}

impl Integrity {
    /// The data's hash as computed against the one recorded.
    pub fn of(recorded: &str, computed: String) -> Integrity {
        if !recorded.is_empty() && recorded.eq_ignore_ascii_case(&computed) {
            Integrity::Verified
        } else {
            Integrity::Edited {
                recorded: recorded.to_owned(),
                computed,
            }
        }
    }

    pub fn is_edited(&self) -> bool {
        matches!(self, Integrity::Edited { .. })
    }

    /// `self`, unless it is an edit `edits` refuses: then the error names the file.
    pub fn require(self, file: &str, edits: Edits) -> Result<Integrity, ModelError> {
        match (&self, edits) {
            (Integrity::Edited { recorded, computed }, Edits::Refuse) => Err(ModelError::Edited {
                file: file.to_owned(),
                recorded: if recorded.is_empty() {
                    "none".to_owned()
                } else {
                    recorded.clone()
                },
                computed: computed.clone(),
            }),
            _ => Ok(self),
        }
    }
}

/// SHA-256 of `{"agents":[..],"roles":[..],"groups":[..],"contacts":[..]}`
/// written compactly, from each object's text as the file holds it. For a
/// file serde_json wrote (pretty or not) this is exactly
/// [`Snapshot::compute_data_sha256`](super::Snapshot::compute_data_sha256)
/// of the values it was written from; any other change to the data, even a
/// harmless re-encoding, reads as an edit.
pub fn data_sha256_of_text(agents: &[&str], roles: &[&str], groups: &[&str], contacts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for (i, (name, objects)) in [
        ("agents", agents),
        ("roles", roles),
        ("groups", groups),
        ("contacts", contacts),
    ]
    .into_iter()
    .enumerate()
    {
        hasher.update(if i == 0 { "{\"" } else { "],\"" });
        hasher.update(name);
        hasher.update("\":[");
        for (j, text) in objects.iter().enumerate() {
            if j > 0 {
                hasher.update(",");
            }
            feed_compact(&mut hasher, text.as_bytes());
        }
    }
    hasher.update("]}");
    hex::encode(hasher.finalize())
}

/// Feeds one JSON value's text without the whitespace between its tokens.
fn feed_compact(hasher: &mut Sha256, text: &[u8]) {
    let mut i = 0;
    let mut run = 0;
    while i < text.len() {
        match text[i] {
            b'"' => {
                // Past the closing quote: the next quote not escaped.
                i += 1;
                loop {
                    match text.get(i..).and_then(|rest| memchr::memchr2(b'"', b'\\', rest)) {
                        Some(at) if text[i + at] == b'\\' => i += at + 2,
                        Some(at) => {
                            i += at + 1;
                            break;
                        }
                        None => {
                            i = text.len();
                            break;
                        }
                    }
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' => {
                hasher.update(&text[run..i]);
                while let Some(b' ' | b'\t' | b'\n' | b'\r') = text.get(i) {
                    i += 1;
                }
                run = i;
            }
            _ => i += 1,
        }
    }
    hasher.update(&text[run..]);
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::snapshot::{SCHEMA_VERSION, Snapshot, SnapshotMeta};

    fn snapshot() -> Snapshot {
        Snapshot {
            schema_version: SCHEMA_VERSION,
            meta: SnapshotMeta::default(),
            agents: vec![
                json!({"id": 1, "contact": {"name": "A \"quoted\" \\ } name", "email": "a@x.test"}, "x": [1.5, -2, 1e20, null, true]}),
                json!({"id": 2, "contact": {"name": "Émile\n\t\u{202e}\u{0}", "email": " spaced @x.test"}}),
                json!({}),
            ],
            roles: vec![json!({"id": 1, "name": "Admin"})],
            groups: Vec::new(),
            contacts: vec![json!({"id": 9, "deleted": true, "other_emails": []})],
        }
    }

    fn texts(values: &[Value], pretty: bool) -> Vec<String> {
        values
            .iter()
            .map(|v| {
                if pretty {
                    serde_json::to_string_pretty(v).expect("json")
                } else {
                    serde_json::to_string(v).expect("json")
                }
            })
            .collect()
    }

    fn refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    fn of_text(s: &Snapshot, pretty: bool) -> String {
        let (a, r, g, c) = (
            texts(&s.agents, pretty),
            texts(&s.roles, pretty),
            texts(&s.groups, pretty),
            texts(&s.contacts, pretty),
        );
        data_sha256_of_text(&refs(&a), &refs(&r), &refs(&g), &refs(&c))
    }

    #[test]
    fn text_hash_equals_the_collectors_hash_pretty_or_compact() {
        let s = snapshot();
        assert_eq!(of_text(&s, true), s.compute_data_sha256());
        assert_eq!(of_text(&s, false), s.compute_data_sha256());
        let empty = Snapshot {
            agents: Vec::new(),
            contacts: Vec::new(),
            ..snapshot()
        };
        assert_eq!(of_text(&empty, true), empty.compute_data_sha256());
    }

    #[test]
    fn any_edit_of_the_data_changes_the_hash() {
        let s = snapshot();
        let mut removed = s.clone();
        removed.agents.remove(0);
        let mut renamed = s.clone();
        renamed.agents[1]["contact"]["email"] = json!("spaced@x.test");
        for edited in [removed, renamed] {
            assert_ne!(of_text(&edited, true), s.compute_data_sha256());
        }
    }

    #[test]
    fn require_refuses_edits_unless_accepted() {
        let computed = "ab".repeat(32);
        assert_eq!(
            Integrity::of(&computed.to_uppercase(), computed.clone()),
            Integrity::Verified
        );
        for recorded in ["", "fixture", &"cd".repeat(32)] {
            let edited = Integrity::of(recorded, computed.clone());
            assert!(edited.is_edited(), "{recorded}");
            let err = edited
                .clone()
                .require("s.json", Edits::Refuse)
                .expect_err("refused");
            assert!(err.to_string().starts_with("s.json: "), "{err}");
            assert_eq!(
                edited.clone().require("s.json", Edits::Accept).expect("accepted"),
                edited
            );
        }
    }
}
