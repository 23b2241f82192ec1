//! What is known about when one agent's access ended: observations from
//! each evidence source, the window they bound, and the verdict against the
//! SLA. Plain functions over values, so every case is a table row below.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

/// Where an observation comes from, best first (the order evidence is listed in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// `remediation.json`: deskaudit's own write, read back.
    Remediation,
    /// `audit --watch`: the polls either side of the change.
    Watch,
    /// `--previous-run`'s snapshot, at its collection.
    PreviousSnapshot,
    /// The agent's own last sign-in or activity: access used, so access held.
    SignIn,
    /// The agent's `updated_at` once deactivated: the deactivation was at or before it.
    UpdatedAt,
    /// This audit's snapshot, read as the state at the as-of (as every rule reads it).
    ThisSnapshot,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Remediation => "remediation",
            Source::Watch => "watch",
            Source::PreviousSnapshot => "previous snapshot",
            Source::SignIn => "sign-in",
            Source::UpdatedAt => "updated_at",
            Source::ThisSnapshot => "this snapshot",
        }
    }
}

/// What an observation shows at its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Seen {
    WithAccess,
    WithoutAccess,
    /// The removal itself, at a known instant (a verified remediation).
    Removed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Observation {
    pub source: Source,
    pub at: Timestamp,
    pub seen: Seen,
    /// What it is, in the source's words, for the evidence column.
    pub note: String,
}

impl Observation {
    pub fn new(source: Source, at: Timestamp, seen: Seen, note: impl Into<String>) -> Observation {
        Observation {
            source,
            at,
            seen,
            note: note.into(),
        }
    }

    /// `watch: last seen with access 2026-08-02T08:00:00Z (events.jsonl line 4)`.
    pub fn describe(&self) -> String {
        format!("{}: {}", self.source.as_str(), self.note)
    }

    fn shows_access(&self) -> bool {
        matches!(self.seen, Seen::WithAccess | Seen::Removed)
    }

    fn shows_none(&self) -> bool {
        matches!(self.seen, Seen::WithoutAccess | Seen::Removed)
    }
}

/// The contract's four verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Removed within the SLA: the upper bound is within it.
    InTime,
    /// Access outlasted the SLA: the lower bound is past it.
    Late,
    /// Neither can be shown from the evidence.
    Unproven,
    /// The agent is active or pending (`terminated-active` says so already).
    StillActive,
}

impl Verdict {
    pub const ALL: [Verdict; 4] = [
        Verdict::InTime,
        Verdict::Late,
        Verdict::Unproven,
        Verdict::StillActive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::InTime => "in-time",
            Verdict::Late => "late",
            Verdict::Unproven => "unproven",
            Verdict::StillActive => "still-active",
        }
    }

    /// Worse first, for a person with several agents: still-active, late, unproven, in-time.
    pub fn rank(self) -> u8 {
        match self {
            Verdict::StillActive => 0,
            Verdict::Late => 1,
            Verdict::Unproven => 2,
            Verdict::InTime => 3,
        }
    }
}

/// When access ended, as far as the evidence bounds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    /// The latest time access was observed, not before the termination.
    pub seen_until: Timestamp,
    /// The earliest time no access was observed or recorded, after the last
    /// time it was observed; `None` while nothing shows it gone.
    pub removed_by: Option<Timestamp>,
}

impl Window {
    /// The contract's bounds: lower = the latest observation of access (else
    /// the termination); upper = the earliest observation of none that is
    /// not contradicted by a later one of access (a reactivation).
    pub fn of(terminated_at: Timestamp, observations: &[Observation]) -> Window {
        let last_seen = observations
            .iter()
            .filter(|o| o.shows_access())
            .map(|o| o.at)
            .max();
        let removed_by = observations
            .iter()
            .filter(|o| o.shows_none() && last_seen.is_none_or(|seen| o.at >= seen))
            .map(|o| o.at)
            .min();
        Window {
            seen_until: last_seen.map_or(terminated_at, |seen| seen.max(terminated_at)),
            removed_by,
        }
    }

    /// The least the delay can have been (lower bound − termination).
    pub fn min_delay(&self, terminated_at: Timestamp) -> SignedDuration {
        self.seen_until.duration_since(terminated_at)
    }

    /// The most it can have been (upper bound − termination); negative when
    /// access was gone before the termination.
    pub fn max_delay(&self, terminated_at: Timestamp) -> Option<SignedDuration> {
        self.removed_by.map(|t| t.duration_since(terminated_at))
    }

    pub fn verdict(&self, terminated_at: Timestamp, holds_access: bool, sla: SignedDuration) -> Verdict {
        if holds_access {
            Verdict::StillActive
        } else if self.max_delay(terminated_at).is_some_and(|d| d <= sla) {
            Verdict::InTime
        } else if self.min_delay(terminated_at) > sla {
            Verdict::Late
        } else {
            Verdict::Unproven
        }
    }
}

/// Hours with one decimal, as terminations.csv and the report write them.
pub fn hours(d: SignedDuration) -> String {
    format!("{:.1}", d.as_secs_f64() / 3600.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("ts")
    }

    fn obs(source: Source, at: &str, seen: Seen) -> Observation {
        Observation::new(source, ts(at), seen, "")
    }

    const T: &str = "2026-08-14T23:59:59Z";

    #[test]
    fn bounds_and_verdicts_from_each_source() {
        use Seen::*;
        use Source::*;
        let sla = SignedDuration::from_hours(24);
        // (observations, holds access, lower, upper, verdict)
        type Case = (
            Vec<Observation>,
            bool,
            &'static str,
            Option<&'static str>,
            Verdict,
        );
        let cases: Vec<Case> = vec![
            // updated_at 10 h after: in time; it can never prove late.
            (
                vec![obs(UpdatedAt, "2026-08-15T10:00:00Z", WithoutAccess)],
                false,
                T,
                Some("2026-08-15T10:00:00Z"),
                Verdict::InTime,
            ),
            (
                vec![obs(UpdatedAt, "2026-09-15T10:00:00Z", WithoutAccess)],
                false,
                T,
                Some("2026-09-15T10:00:00Z"),
                Verdict::Unproven,
            ),
            // Exactly the SLA is in time; one second more is not.
            (
                vec![obs(UpdatedAt, "2026-08-15T23:59:59Z", WithoutAccess)],
                false,
                T,
                Some("2026-08-15T23:59:59Z"),
                Verdict::InTime,
            ),
            (
                vec![obs(UpdatedAt, "2026-08-16T00:00:00Z", WithoutAccess)],
                false,
                T,
                Some("2026-08-16T00:00:00Z"),
                Verdict::Unproven,
            ),
            // A sign-in after the SLA proves late, whatever the upper bound.
            (
                vec![
                    obs(SignIn, "2026-08-20T09:00:00Z", WithAccess),
                    obs(UpdatedAt, "2026-08-21T00:00:00Z", WithoutAccess),
                ],
                false,
                "2026-08-20T09:00:00Z",
                Some("2026-08-21T00:00:00Z"),
                Verdict::Late,
            ),
            // A sign-in before the termination bounds nothing.
            (
                vec![
                    obs(SignIn, "2026-08-01T09:00:00Z", WithAccess),
                    obs(UpdatedAt, "2026-08-15T01:00:00Z", WithoutAccess),
                ],
                false,
                T,
                Some("2026-08-15T01:00:00Z"),
                Verdict::InTime,
            ),
            // The previous snapshot saw access 2 days after: late.
            (
                vec![
                    obs(PreviousSnapshot, "2026-08-17T00:00:00Z", WithAccess),
                    obs(ThisSnapshot, "2026-10-01T00:00:00Z", WithoutAccess),
                ],
                false,
                "2026-08-17T00:00:00Z",
                Some("2026-10-01T00:00:00Z"),
                Verdict::Late,
            ),
            // Watch: last seen with, first seen without, 15 minutes apart.
            (
                vec![
                    obs(Watch, "2026-08-15T08:00:00Z", WithAccess),
                    obs(Watch, "2026-08-15T08:15:00Z", WithoutAccess),
                ],
                false,
                "2026-08-15T08:00:00Z",
                Some("2026-08-15T08:15:00Z"),
                Verdict::InTime,
            ),
            (
                vec![
                    obs(Watch, "2026-08-16T08:00:00Z", WithAccess),
                    obs(Watch, "2026-08-16T08:15:00Z", WithoutAccess),
                ],
                false,
                "2026-08-16T08:00:00Z",
                Some("2026-08-16T08:15:00Z"),
                Verdict::Late,
            ),
            // A verified remediation is exact: both bounds.
            (
                vec![obs(Remediation, "2026-08-15T12:00:00Z", Removed)],
                false,
                "2026-08-15T12:00:00Z",
                Some("2026-08-15T12:00:00Z"),
                Verdict::InTime,
            ),
            (
                vec![obs(Remediation, "2026-09-02T12:00:00Z", Removed)],
                false,
                "2026-09-02T12:00:00Z",
                Some("2026-09-02T12:00:00Z"),
                Verdict::Late,
            ),
            // Removed before the termination: in time, a negative delay.
            (
                vec![obs(UpdatedAt, "2026-08-10T00:00:00Z", WithoutAccess)],
                false,
                T,
                Some("2026-08-10T00:00:00Z"),
                Verdict::InTime,
            ),
            // Deactivated, then reactivated after the SLA, then gone again:
            // the first removal is contradicted; the reactivation proves late.
            (
                vec![
                    obs(Watch, "2026-08-15T01:00:00Z", WithoutAccess),
                    obs(Watch, "2026-08-18T00:00:00Z", WithAccess),
                    obs(UpdatedAt, "2026-08-19T00:00:00Z", WithoutAccess),
                ],
                false,
                "2026-08-18T00:00:00Z",
                Some("2026-08-19T00:00:00Z"),
                Verdict::Late,
            ),
            // Nothing shows it gone: unproven (a deleted agent with no evidence).
            (vec![], false, T, None, Verdict::Unproven),
            // Active or pending: still-active, whatever else is known.
            (
                vec![obs(ThisSnapshot, "2026-10-01T00:00:00Z", WithAccess)],
                true,
                "2026-10-01T00:00:00Z",
                None,
                Verdict::StillActive,
            ),
        ];
        for (observations, holds, lower, upper, verdict) in cases {
            let window = Window::of(ts(T), &observations);
            let label = format!("{observations:?}");
            assert_eq!(window.seen_until, ts(lower), "{label}");
            assert_eq!(window.removed_by, upper.map(ts), "{label}");
            assert_eq!(window.verdict(ts(T), holds, sla), verdict, "{label}");
        }
    }

    #[test]
    fn delays_in_hours() {
        let window = Window {
            seen_until: ts("2026-08-15T11:59:59Z"),
            removed_by: Some(ts("2026-08-14T11:59:59Z")),
        };
        assert_eq!(hours(window.min_delay(ts(T))), "12.0");
        assert_eq!(window.max_delay(ts(T)).map(hours).as_deref(), Some("-12.0"));
        assert_eq!(hours(SignedDuration::from_secs(90)), "0.0");
        assert_eq!(hours(SignedDuration::from_mins(99)), "1.6");
    }

    #[test]
    fn verdicts_rank_worst_first() {
        let mut all = Verdict::ALL;
        all.sort_by_key(|v| v.rank());
        let names: Vec<&str> = all.iter().map(|v| v.as_str()).collect();
        assert_eq!(names, ["still-active", "late", "unproven", "in-time"]);
    }
}
