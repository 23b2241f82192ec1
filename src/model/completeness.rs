//! Whether a snapshot shows (rather than claims) that every agent was found:
//! decided here, from the collector's typed record, so a report only renders
//! the verdict and never re-derives it from text.

use serde::Serialize;

use super::integrity::Integrity;
use super::snapshot::{ChannelOutcome, SnapshotMeta};

/// The agent list itself, and the channels that also return deactivated agents.
const AGENT_LIST: &str = "GET /api/v2/agents";
const DEACTIVATED_LISTS: [&str; 2] = [
    "GET /api/v2/agents?only=availability",
    "GET /api/v2/agents?active=false",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every check passed.
    Complete,
    /// None failed, but one could not be made.
    Unproven,
    /// One failed.
    Incomplete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    Pass,
    Warn,
    Fail,
}

#[derive(Clone, Debug, Serialize)]
pub struct CompletenessCheck {
    pub outcome: Check,
    pub text: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Completeness {
    pub verdict: Verdict,
    /// Agents in the snapshot, every status.
    pub found: u64,
    /// What `GET /api/v2/account` reported, when it did.
    pub account_total: Option<u64>,
    pub checks: Vec<CompletenessCheck>,
}

impl Completeness {
    /// `found` agents read from a snapshot with `meta`, whose data `integrity` checked.
    pub fn of(meta: &SnapshotMeta, integrity: &Integrity, found: u64) -> Completeness {
        let mut checks = Vec::new();
        let mut check = |outcome, text: String| checks.push(CompletenessCheck { outcome, text });
        // Whatever the collector proved, it proved of the data it hashed.
        match integrity {
            Integrity::Verified => check(
                Check::Pass,
                "the snapshot's data matches the SHA-256 the collector recorded".into(),
            ),
            Integrity::Edited { .. } => check(
                Check::Fail,
                "the snapshot's data does not match the SHA-256 the collector recorded: it was edited after collection and audited only because --accept-edited-snapshot said so".into(),
            ),
        }
        // The collector writes no snapshot at all when a channel fails; one
        // recorded as complete was read to its end.
        let finished = |name: &str| {
            meta.channels
                .iter()
                .any(|c| c.name == name && matches!(c.outcome, ChannelOutcome::Complete(_)))
        };
        if meta.channels.is_empty() {
            check(
                Check::Warn,
                "the snapshot records no discovery channels, so how agents were found cannot be shown".into(),
            );
        } else if finished(AGENT_LIST) {
            check(Check::Pass, "the agent list was read to its last page".into());
        } else {
            check(
                Check::Fail,
                "the snapshot does not show the agent list read to its last page".into(),
            );
        }
        if !meta.channels.is_empty() {
            if DEACTIVATED_LISTS.iter().any(|c| finished(c)) {
                check(
                    Check::Pass,
                    "deactivated agents were listed too (a channel that returns them completed)".into(),
                );
            } else {
                check(
                    Check::Warn,
                    "no channel that lists deactivated agents completed: deactivated agents may be missing"
                        .into(),
                );
            }
        }
        match meta.account_total_agents {
            Some(total) if found >= total => check(
                Check::Pass,
                format!("the account reports {total} agents and {found} were found"),
            ),
            Some(total) => check(
                Check::Fail,
                format!("the account reports {total} agents but only {found} were found"),
            ),
            None => check(
                Check::Warn,
                "the account did not report an agent total, so the count could not be cross-checked".into(),
            ),
        }
        let verdict = if checks.iter().any(|c| c.outcome == Check::Fail) {
            Verdict::Incomplete
        } else if checks.iter().any(|c| c.outcome == Check::Warn) {
            Verdict::Unproven
        } else {
            Verdict::Complete
        };
        Completeness {
            verdict,
            found,
            account_total: meta.account_total_agents,
            checks,
        }
    }

    /// Several accounts' verdicts as one: complete only if every account is
    /// (the worst verdict wins), each check prefixed with its account.
    pub fn of_accounts(each: &[(&str, Completeness)]) -> Completeness {
        let verdict = each
            .iter()
            .map(|(_, c)| c.verdict)
            .max()
            .unwrap_or(Verdict::Incomplete);
        let checks = each
            .iter()
            .flat_map(|(domain, c)| {
                c.checks.iter().map(move |check| CompletenessCheck {
                    outcome: check.outcome,
                    text: format!("{domain}: {}", check.text),
                })
            })
            .collect();
        Completeness {
            verdict,
            found: each.iter().map(|(_, c)| c.found).sum(),
            account_total: each.iter().map(|(_, c)| c.account_total).sum(),
            checks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::snapshot::ChannelRecord;

    fn channel(name: &str, outcome: &str) -> ChannelRecord {
        ChannelRecord {
            name: name.into(),
            outcome: ChannelOutcome::from(outcome.to_owned()),
            ..ChannelRecord::default()
        }
    }

    #[test]
    fn completeness_verdicts() {
        use Check::{Fail, Pass, Warn};
        let agents = channel(AGENT_LIST, "complete (short page)");
        let deactivated = channel(DEACTIVATED_LISTS[0], "complete (short page)");
        // (case, channels, account total, verdict, check outcomes after the hash's)
        type Case = (&'static str, Vec<ChannelRecord>, Option<u64>, Verdict, [Check; 3]);
        let cases: [Case; 5] = [
            (
                "all shown",
                vec![agents.clone(), deactivated.clone()],
                Some(6),
                Verdict::Complete,
                [Pass; 3],
            ),
            (
                "fewer found than the account reports",
                vec![agents.clone(), deactivated.clone()],
                Some(9),
                Verdict::Incomplete,
                [Pass, Pass, Fail],
            ),
            (
                "no account total",
                vec![agents.clone(), deactivated.clone()],
                None,
                Verdict::Unproven,
                [Pass, Pass, Warn],
            ),
            (
                "deactivated agents never listed",
                vec![
                    agents.clone(),
                    channel(
                        DEACTIVATED_LISTS[1],
                        "not offered by this account (HTTP 400 invalid_field)",
                    ),
                ],
                Some(8),
                Verdict::Unproven,
                [Pass, Warn, Pass],
            ),
            (
                "agent list not read to the end",
                vec![channel(AGENT_LIST, "stopped"), deactivated.clone()],
                Some(8),
                Verdict::Incomplete,
                [Fail, Pass, Pass],
            ),
        ];
        for (name, channels, total, verdict, outcomes) in cases {
            let meta = SnapshotMeta {
                channels,
                account_total_agents: total,
                ..SnapshotMeta::default()
            };
            let c = Completeness::of(&meta, &Integrity::Verified, 8);
            assert_eq!(c.verdict, verdict, "{name}");
            assert_eq!(c.found, 8, "{name}");
            let got: Vec<Check> = c.checks.iter().map(|c| c.outcome).collect();
            assert_eq!(got[0], Pass, "{name}: the data's hash");
            assert_eq!(got[1..], outcomes, "{name}");
            let edited = Integrity::Edited {
                recorded: String::new(),
                computed: "ab".repeat(32),
            };
            let c = Completeness::of(&meta, &edited, 8);
            assert_eq!(
                (c.verdict, c.checks[0].outcome),
                (Verdict::Incomplete, Fail),
                "{name}"
            );
        }
    }

    #[test]
    fn a_snapshot_without_a_discovery_record_proves_nothing() {
        let c = Completeness::of(&SnapshotMeta::default(), &Integrity::Verified, 0);
        assert_eq!(c.verdict, Verdict::Unproven);
        let got: Vec<Check> = c.checks.iter().map(|c| c.outcome).collect();
        assert_eq!(got, [Check::Pass, Check::Warn, Check::Warn]);
    }

    #[test]
    fn verdicts_serialise_as_the_report_names_them() {
        let text = |v: Verdict| serde_json::to_string(&v).expect("json");
        assert_eq!(text(Verdict::Complete), "\"complete\"");
        assert_eq!(text(Verdict::Unproven), "\"unproven\"");
        assert_eq!(text(Verdict::Incomplete), "\"incomplete\"");
        assert_eq!(serde_json::to_string(&Check::Warn).expect("json"), "\"warn\"");
    }

    #[test]
    fn several_accounts_are_complete_only_if_each_is() {
        let eu = SnapshotMeta {
            domain: "acme-eu".into(),
            ..SnapshotMeta::default()
        };
        let unproven = Completeness::of(&eu, &Integrity::Verified, 6);
        let complete = Completeness {
            verdict: Verdict::Complete,
            found: 8,
            account_total: Some(8),
            checks: Vec::new(),
        };
        let both = Completeness::of_accounts(&[("acme", complete.clone()), ("acme-eu", unproven.clone())]);
        assert_eq!(both.verdict, unproven.verdict);
        assert_ne!(both.verdict, Verdict::Complete);
        assert_eq!(both.found, 14);
        assert!(both.checks.iter().all(|c| c.text.starts_with("acme-eu: ")));
        let fine = Completeness::of_accounts(&[("acme", complete.clone()), ("acme-eu", complete)]);
        assert_eq!((fine.verdict, fine.account_total), (Verdict::Complete, Some(16)));
    }
}
