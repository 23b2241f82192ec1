//! When a person left, and whether that falls in the review period.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::graph::IdentityGraph;
use crate::idp::Identity;

/// A person's termination: when, and which export row says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terminated {
    pub at: Timestamp,
    /// Index into the IdP set's identities: the row that gave the time (the person).
    pub identity: usize,
    /// `hris:workers.csv line 5: Termination Date 2026-08-14 (...)`.
    pub source: String,
}

/// The HR termination time: a date without a time is the end of that day, UTC.
fn hr_time(identity: &Identity) -> Option<Timestamp> {
    let at = identity.termination_date?;
    // The reader gives a date its midnight; the day's last second ends it.
    Some(if identity.termination_date_only {
        at + SignedDuration::from_secs(86_399)
    } else {
        at
    })
}

/// The termination of the person behind `identities` (indexes into the
/// graph's IdP set), when every one of them is suspended or deprovisioned
/// (IdP-terminated, as `terminated-active` reads it): the HR termination
/// date where an HR export has one (the earliest, if two rows do), else the
/// earliest status change of a terminated IdP account (Okta `statusChanged`).
pub fn of(graph: &IdentityGraph, identities: &[usize]) -> Option<Terminated> {
    let rows: Vec<(usize, &Identity)> = identities
        .iter()
        .map(|&i| (i, &graph.idp.identities[i]))
        .collect();
    if rows.is_empty() || !rows.iter().all(|(_, id)| id.status.is_terminated()) {
        return None;
    }
    let place = |id: &Identity| {
        let at = if graph.idp.sources[id.source].json {
            "entry"
        } else {
            "line"
        };
        format!("{} {at} {}", graph.source_label(id.source), id.line)
    };
    let hr = rows
        .iter()
        .filter_map(|&(i, id)| hr_time(id).map(|at| (at, i, id)))
        .min_by_key(|&(at, i, _)| (at, i));
    if let Some((at, identity, id)) = hr {
        let day = at.strftime("%Y-%m-%d");
        let source = if id.termination_date_only {
            format!(
                "{}: termination date {day}, a date without a time: the end of that day, UTC",
                place(id)
            )
        } else {
            format!("{}: termination date {at}", place(id))
        };
        return Some(Terminated { at, identity, source });
    }
    rows.iter()
        .filter_map(|&(i, id)| id.status_changed.map(|at| (at, i, id)))
        .min_by_key(|&(at, i, _)| (at, i))
        .map(|(at, identity, id)| Terminated {
            at,
            identity,
            source: format!("{}: statusChanged {at} (status {})", place(id), id.raw_status),
        })
}

/// The review period whose terminations are sampled: (start, as-of].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Period {
    pub start: Timestamp,
    pub end: Timestamp,
    /// Where the start comes from, for the reader.
    pub from: String,
}

impl Period {
    /// From `--previous-run`'s as-of when there is one, else `days` before as-of.
    pub fn new(as_of: Timestamp, previous: Option<(&str, Timestamp)>, days: u32) -> Period {
        match previous {
            Some((label, start)) => Period {
                start,
                end: as_of,
                from: format!("the as-of of --previous-run {label}"),
            },
            None => Period {
                start: as_of - SignedDuration::from_hours(24 * i64::from(days)),
                end: as_of,
                from: format!("review_period_days = {days} before the as-of"),
            },
        }
    }

    pub fn contains(&self, t: Timestamp) -> bool {
        t > self.start && t <= self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp::{IdpSet, read_bytes};
    use crate::model::{Directory, Snapshot};

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("ts")
    }

    fn graph(exports: &[(&str, &str)]) -> IdentityGraph {
        let as_of = ts("2026-10-01T00:00:00Z");
        let mut idp = IdpSet::default();
        for (n, (name, text)) in exports.iter().enumerate() {
            let mut one = read_bytes(name, None, text.as_bytes(), as_of).expect("export reads");
            for identity in &mut one.identities {
                identity.source = n;
            }
            idp.sources.extend(one.sources);
            idp.identities.extend(one.identities);
        }
        let snapshot: Snapshot = serde_json::from_value(serde_json::json!({
            "schema_version": 1,
            "meta": {"domain": "t", "tool_version": "0", "started_at": "2026-10-01T00:00:00Z",
                     "collected_at": "2026-10-01T00:00:00Z"},
            "agents": [], "roles": [], "groups": [], "contacts": [],
        }))
        .expect("snapshot");
        let directory = Directory::from_snapshot(&snapshot).expect("directory");
        IdentityGraph::build(directory, idp, &Default::default())
    }

    const HR: &str = "Work Email,Employment Status,Termination Date\n\
        a@x.test,Terminated,2026-08-14\n\
        b@x.test,Terminated,2026-08-14T09:00:00+02:00\n\
        c@x.test,Active,\n\
        d@x.test,Inactive,\n\
        e@x.test,Active,2026-12-31\n";

    const OKTA: &str = r#"[
      {"status": "DEPROVISIONED", "statusChanged": "2026-08-20T10:00:00.000Z", "profile": {"login": "a@x.test"}},
      {"status": "SUSPENDED", "statusChanged": "2026-08-21T10:00:00", "profile": {"login": "d@x.test"}},
      {"status": "ACTIVE", "statusChanged": "2026-08-22T10:00:00Z", "profile": {"login": "c@x.test"}},
      {"status": "DEPROVISIONED", "statusChanged": null, "profile": {"login": "f@x.test"}}
    ]"#;

    #[test]
    fn hr_first_then_the_idp_status_change() {
        let g = graph(&[("hr.csv", HR), ("okta.json", OKTA)]);
        // Identities: hr a, b, c, d, e (0..5); okta a, d, c, f (5..9).
        // (identities, Some((time, the identity that gave it, source prefix)))
        type Case<'a> = (&'a [usize], Option<(&'a str, usize, &'a str)>);
        let cases: [Case; 8] = [
            // A date without a time: the end of that day; HR wins over Okta.
            (
                &[0, 5],
                Some((
                    "2026-08-14T23:59:59Z",
                    0,
                    "hris:hr.csv line 2: termination date 2026-08-14, a date without a time",
                )),
            ),
            // A time with an offset: that instant.
            (
                &[1],
                Some((
                    "2026-08-14T07:00:00Z",
                    1,
                    "hris:hr.csv line 3: termination date 2026-08-14T07:00:00Z",
                )),
            ),
            // HR inactive without a date: Okta's status change (offset-less: UTC).
            (
                &[3, 6],
                Some((
                    "2026-08-21T10:00:00Z",
                    6,
                    "okta-json:okta.json entry 2: statusChanged 2026-08-21T10:00:00Z (status SUSPENDED)",
                )),
            ),
            // Any identity still active: no leaver (terminated-active reads it so too).
            (&[2, 7], None),
            (&[0, 7], None),
            // Terminated, but no time anywhere.
            (&[3], None),
            (&[8], None),
            (&[], None),
        ];
        for (ids, want) in cases {
            let got = of(&g, ids);
            match (got, want) {
                (Some(t), Some((at, identity, source))) => {
                    assert_eq!((t.at, t.identity), (ts(at), identity), "{ids:?}");
                    assert!(t.source.starts_with(source), "{ids:?}: {}", t.source);
                }
                (got, want) => assert_eq!(got.map(|t| t.at), want.map(|w| ts(w.0)), "{ids:?}"),
            }
        }
    }

    #[test]
    fn the_period_is_open_at_its_start_and_closed_at_as_of() {
        let as_of = ts("2026-10-01T00:00:00Z");
        let days = Period::new(as_of, None, 92);
        assert_eq!(days.start, ts("2026-07-01T00:00:00Z"));
        let prev = Period::new(as_of, Some(("q3", ts("2026-07-15T00:00:00Z"))), 92);
        assert_eq!(prev.start, ts("2026-07-15T00:00:00Z"));
        assert!(prev.from.contains("q3"));
        for (t, inside) in [
            ("2026-07-01T00:00:00Z", false),
            ("2026-07-01T00:00:01Z", true),
            ("2026-10-01T00:00:00Z", true),
            ("2026-10-01T00:00:01Z", false),
        ] {
            assert_eq!(days.contains(ts(t)), inside, "{t}");
        }
    }
}
