//! The audit's leavers: the evidence beyond the snapshot (`--previous-run`,
//! `--watch`) read once, and turned into what `crate::leavers` computes from.

use std::borrow::Cow;
use std::path::Path;

use super::{Failure, context};
use crate::diff::{Fate, MatchedBy, Population, Side};
use crate::graph::IdentityGraph;
use crate::leavers::{self, Deactivation, FormerAgent, Known, Leavers, PreviousRun, Remediated, WatchLog};
use crate::policy::Policy;
use crate::remediate::{ActionKind, Outcome, Remediation};

/// What the audit reads before its snapshot: the previous run and the watch
/// events, whose agents' keys must be kept when the exports are read (an
/// agent deleted since is in neither the snapshot nor its keys).
pub struct Evidence {
    pub previous: Option<Side>,
    pub watch: Option<WatchLog>,
}

impl Evidence {
    pub fn read(previous: Option<&Path>, watch: Option<&Path>) -> Result<Evidence, Failure> {
        let previous = previous
            .map(|dir| Side::from_run_dir(dir).map_err(|e| Failure::input(context("--previous-run", e))))
            .transpose()?;
        let watch = watch
            .map(|dir| leavers::watch::read(dir).map_err(|e| Failure::input(context("--watch", e))))
            .transpose()?;
        Ok(Evidence { previous, watch })
    }

    /// Emails of agents the evidence knows that this snapshot may not.
    pub fn emails(&self) -> Vec<String> {
        let previous = self.previous.iter().flat_map(|p| p.population.agents.values());
        let watched = self.watch.iter().flat_map(|w| &w.events);
        previous
            .map(|a| a.email.clone())
            .chain(watched.filter_map(|e| e.email.clone()))
            .filter(|e| !e.is_empty())
            .collect()
    }

    /// The leavers of this audit; `now` is this snapshot's population.
    pub fn leavers(
        &self,
        graph: &IdentityGraph,
        policy: &Policy,
        as_of: jiff::Timestamp,
        now: Option<&Population>,
    ) -> Leavers {
        // Told apart by account where this audit or the previous run has
        // several (ids may collide), as the diff compares them.
        let by_account =
            graph.directory.several_accounts() || self.previous.as_ref().is_some_and(Side::several_accounts);
        let label = |account: &str| leavers::account_key(by_account, account);
        let previous = self.previous.as_ref().map(|side| PreviousRun {
            label: side.dir.clone(),
            as_of: side.as_of,
            collected_at: side.collected_at,
            agents: side
                .population
                .agents
                .values()
                .map(|a| ((label(&a.account), a.id), (a.email.clone(), a.status)))
                .collect(),
            by_account,
            remediation: side.remediation.as_ref().map(remediated),
        });
        let deleted: Vec<FormerAgent> = match (&self.previous, now) {
            (Some(side), Some(now)) => {
                let (before, now) = within_accounts(&side.population, now, by_account);
                before
                    .agents
                    .iter()
                    .filter_map(|(key, a)| match now.fate(key, Some(a)) {
                        Fate::Deleted(contact, how) => {
                            Some(former(&key.account, a.id, &a.email, contact.id, how))
                        }
                        Fate::Present(_) | Fate::Missing => None,
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        leavers::compute(&leavers::Inputs {
            graph,
            policy,
            as_of,
            previous: previous.as_ref(),
            watch: self.watch.as_ref(),
            deleted: &deleted,
        })
    }
}

/// The two populations as they are compared: by (account, id) where
/// `by_account`, else by id alone (as the diff compares them).
fn within_accounts<'a>(
    before: &'a Population,
    now: &'a Population,
    by_account: bool,
) -> (Cow<'a, Population>, Cow<'a, Population>) {
    if by_account {
        (Cow::Borrowed(before), Cow::Borrowed(now))
    } else {
        (Cow::Owned(before.unlabelled()), Cow::Owned(now.unlabelled()))
    }
}

fn former(account: &str, id: u64, email: &str, contact: u64, how: MatchedBy) -> FormerAgent {
    let how = match how {
        MatchedBy::Id => "id",
        MatchedBy::Email => "email",
    };
    FormerAgent {
        account: account.to_owned(),
        id,
        email: email.to_owned(),
        found: format!("contact {contact} (same {how})"),
    }
}

/// The deactivations of a run's remediation and how each is known; other
/// actions and outcomes (drifted, blocked, failed: nothing written) are not
/// evidence of a removal.
fn remediated(r: &Remediation) -> Remediated {
    let deactivations = r
        .actions
        .iter()
        .filter(|a| a.action == ActionKind::Deactivate)
        .filter_map(|a| {
            let known = match a.outcome {
                Outcome::Done if a.verified => Known::Verified,
                Outcome::Done => Known::Answered,
                Outcome::AlreadyDone => Known::AlreadyDone,
                _ => return None,
            };
            Some(Deactivation {
                seq: a.seq,
                agent_id: a.agent_id,
                at: a.at?,
                known,
            })
        })
        .collect();
    Remediated {
        domain: r.domain.clone(),
        plan_id: r.plan_id.clone(),
        approver: r.approver.clone(),
        finished_at: r.finished_at,
        deactivations,
    }
}
