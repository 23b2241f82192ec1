//! What the simulator was asked and what it did, for tests to prove what
//! was (and was not) written: counts per route template, and every request
//! in the order its answer was decided (arrival order for requests sent one
//! after another), with its status and whether it changed the account.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, PoisonError};

/// Most requests kept in order; older ones are forgotten (the counts stay
/// exact), so a long-running `deskaudit sim` does not grow without end.
const KEPT: usize = 100_000;

/// One request as the simulator handled it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The route template, as [`crate::sim::RunningSim::request_counts`] keys it.
    pub route: &'static str,
    /// The agent written or read: the id in `/agents/{id}`, or the agent a
    /// `POST /agents` created.
    pub agent_id: Option<u64>,
    /// The status sent; `None` when the connection was closed before it.
    pub status: Option<u16>,
    /// An injected fault changed the answer (status, body or connection).
    pub faulted: bool,
    /// The request changed the account.
    pub took_effect: bool,
}

impl RequestRecord {
    /// A `POST`, `PUT` or `DELETE`, whatever came of it.
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "DELETE")
    }
}

#[derive(Default)]
pub(crate) struct RequestLog {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    counts: BTreeMap<String, u64>,
    total: u64,
    limited: u64,
    records: VecDeque<RequestRecord>,
}

impl RequestLog {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a request on arrival, before anything can fail.
    pub(crate) fn arrived(&self, key: String) {
        let mut inner = self.inner();
        inner.total += 1;
        *inner.counts.entry(key).or_default() += 1;
    }

    pub(crate) fn rate_limited(&self) {
        self.inner().limited += 1;
    }

    /// Records a request once its answer is decided.
    pub(crate) fn answered(&self, record: RequestRecord) {
        let mut inner = self.inner();
        if inner.records.len() == KEPT {
            inner.records.pop_front();
        }
        inner.records.push_back(record);
    }

    pub(crate) fn counts(&self) -> BTreeMap<String, u64> {
        self.inner().counts.clone()
    }

    pub(crate) fn total(&self) -> u64 {
        self.inner().total
    }

    pub(crate) fn limited(&self) -> u64 {
        self.inner().limited
    }

    pub(crate) fn records(&self) -> Vec<RequestRecord> {
        self.inner().records.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(method: &str, status: Option<u16>) -> RequestRecord {
        RequestRecord {
            method: method.to_owned(),
            path: "/api/v2/agents/1".to_owned(),
            route: "/api/v2/agents/{id}",
            agent_id: Some(1),
            status,
            faulted: status.is_none(),
            took_effect: false,
        }
    }

    #[test]
    fn keeps_order_counts_and_forgets_the_oldest_past_the_limit() {
        let log = RequestLog::default();
        for method in ["GET", "DELETE", "GET"] {
            log.arrived(format!("{method} /api/v2/agents/{{id}}"));
        }
        log.rate_limited();
        log.answered(record("DELETE", None));
        log.answered(record("GET", Some(200)));
        let methods: Vec<String> = log.records().into_iter().map(|r| r.method).collect();
        assert_eq!(methods, ["DELETE", "GET"]);
        assert_eq!((log.total(), log.limited()), (3, 1));
        assert_eq!(log.counts().get("GET /api/v2/agents/{id}"), Some(&2));
        for _ in 0..KEPT {
            log.answered(record("PUT", Some(200)));
        }
        let records = log.records();
        assert_eq!(records.len(), KEPT);
        assert!(records.iter().all(|r| r.method == "PUT" && r.is_write()));
        assert!(!record("GET", None).is_write());
    }
}
