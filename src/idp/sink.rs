//! Where readers put what they read: every row is counted by status, but only
//! identities that some agent could resolve to are kept, so memory follows
//! the number of agents, not the size of the IdP.

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;

use super::{Identity, IdpStatus};

/// Lower-cased keys some agent could resolve to. A fast (non-SipHash) hasher:
/// this is asked up to three times per row of million-row exports, and the
/// keys are the audited organisation's own, not an attacker's.
#[derive(Clone, Debug, Default)]
pub struct KeySet(HashSet<Vec<u8>, foldhash::fast::RandomState>);

impl KeySet {
    pub fn contains(&self, key: &str) -> bool {
        self.0.contains(key.as_bytes())
    }

    /// Looked up as bytes, so the hot path needs no UTF-8 validation.
    pub(crate) fn contains_bytes(&self, key: &[u8]) -> bool {
        self.0.contains(key)
    }

    pub fn insert(&mut self, key: String) {
        self.0.insert(key.into_bytes());
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<String> for KeySet {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> KeySet {
        KeySet(iter.into_iter().map(String::into_bytes).collect())
    }
}

pub(crate) struct Sink<'a> {
    pub(crate) source: usize,
    /// `None` keeps everything (tests, `graph` without a snapshot filter).
    wanted: Option<&'a KeySet>,
    /// As-of of the audit, for HR termination dates.
    pub(crate) as_of: Timestamp,
    pub(crate) kept: Vec<Identity>,
    /// Rows per status, indexed by the enum's order (a map lookup per row costs).
    counts: [u64; 5],
    pub(crate) rows: u64,
    lower: Vec<u8>,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(source: usize, wanted: Option<&'a KeySet>, as_of: Timestamp) -> Sink<'a> {
        Sink {
            source,
            wanted,
            as_of,
            kept: Vec::new(),
            counts: [0; 5],
            rows: 0,
            lower: Vec::new(),
        }
    }

    /// An empty sink with the same filter, for one block of a parallel read.
    pub(crate) fn fork(&self) -> Sink<'a> {
        Sink::new(self.source, self.wanted, self.as_of)
    }

    /// Takes in a block's rows; blocks are absorbed in file order.
    pub(crate) fn absorb(&mut self, block: Sink<'a>) {
        self.rows += block.rows;
        for (total, n) in self.counts.iter_mut().zip(block.counts) {
            *total += n;
        }
        self.kept.extend(block.kept);
    }

    /// Counts one row of the export.
    pub(crate) fn count(&mut self, status: IdpStatus) {
        self.rows += 1;
        self.counts[status as usize] += 1;
    }

    /// Rows per status seen so far (statuses with none left out).
    pub(crate) fn by_status(&self) -> BTreeMap<IdpStatus, u64> {
        [
            IdpStatus::Active,
            IdpStatus::Staged,
            IdpStatus::Suspended,
            IdpStatus::Deprovisioned,
            IdpStatus::Unknown,
        ]
        .into_iter()
        .filter(|s| self.counts[*s as usize] > 0)
        .map(|s| (s, self.counts[s as usize]))
        .collect()
    }

    /// Whether any of these raw keys (any case, untrimmed) belongs to an agent.
    pub(crate) fn wants(&mut self, keys: &[&str]) -> bool {
        keys.iter().any(|k| self.wants_key(k.as_bytes()))
    }

    /// One raw key as bytes: trimmed, lower-cased only when it has to be
    /// (into a reused buffer), then looked up.
    pub(crate) fn wants_key(&mut self, raw: &[u8]) -> bool {
        let Some(wanted) = self.wanted else { return true };
        let raw = raw.trim_ascii();
        if raw.is_empty() {
            return false;
        }
        // One pass: most keys are already lower-case ASCII and need no copy.
        let (mut ascii, mut upper) = (true, false);
        for &b in raw {
            ascii &= b.is_ascii();
            upper |= b.is_ascii_uppercase();
        }
        if ascii {
            if !upper {
                return wanted.contains_bytes(raw);
            }
            self.lower.clear();
            self.lower.extend(raw.iter().map(u8::to_ascii_lowercase));
        } else {
            let Ok(text) = std::str::from_utf8(raw) else {
                return false;
            };
            self.lower.clear();
            self.lower.extend(text.to_lowercase().into_bytes());
        }
        wanted.contains_bytes(&self.lower)
    }

    pub(crate) fn keep(&mut self, identity: Identity) {
        self.kept.push(identity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wants_matches_case_insensitively() {
        let wanted: KeySet = ["ann@acme.test".to_owned()].into_iter().collect();
        let mut sink = Sink::new(0, Some(&wanted), Timestamp::UNIX_EPOCH);
        assert!(sink.wants(&["x@y.test", " Ann@ACME.test"]));
        assert!(!sink.wants(&["", "bob@acme.test"]));
        let mut all = Sink::new(0, None, Timestamp::UNIX_EPOCH);
        assert!(all.wants(&["anyone"]));
    }
}
