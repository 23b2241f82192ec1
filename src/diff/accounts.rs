//! Which accounts each side audited, where either side has several: an
//! account audited on one side only is reported as a whole (added or
//! removed from the review), never as all its agents added or removed.

use std::collections::BTreeSet;

use serde::Serialize;

use super::side::{AccountRef, Side};

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AccountChanges {
    /// Audited by both runs: their agents and findings are compared.
    pub compared: Vec<String>,
    /// Audited by NEW only: its findings are listed new, its agents not listed.
    pub added: Vec<AccountRef>,
    /// Audited by OLD only: its findings are listed resolved as unconfirmed,
    /// its agents not listed.
    pub removed: Vec<AccountRef>,
}

impl AccountChanges {
    pub fn between(old: &Side, new: &Side) -> AccountChanges {
        let domains =
            |side: &Side| -> BTreeSet<String> { side.accounts.iter().map(|a| a.domain.clone()).collect() };
        let (before, after) = (domains(old), domains(new));
        let only = |side: &Side, other: &BTreeSet<String>| -> Vec<AccountRef> {
            side.accounts
                .iter()
                .filter(|a| !other.contains(&a.domain))
                .cloned()
                .collect()
        };
        AccountChanges {
            compared: before.intersection(&after).cloned().collect(),
            added: only(new, &before),
            removed: only(old, &after),
        }
    }

    /// The domains audited by one side only.
    pub fn one_sided(&self) -> BTreeSet<String> {
        self.added
            .iter()
            .chain(&self.removed)
            .map(|a| a.domain.clone())
            .collect()
    }

    pub fn warnings(&self) -> Vec<String> {
        let removed = self.removed.iter().map(|a| {
            format!(
                "account {} was audited by OLD only: its {} agent(s) are not compared, and its findings are listed resolved as UNCONFIRMED",
                a.domain, a.agents
            )
        });
        let added = self.added.iter().map(|a| {
            format!(
                "account {} is audited by NEW only: its {} agent(s) are not listed as added; its findings are all new",
                a.domain, a.agents
            )
        });
        removed.chain(added).collect()
    }
}

/// `RunRef::accounts` is written only for a run of several.
pub(super) fn at_most_one(accounts: &[AccountRef]) -> bool {
    accounts.len() <= 1
}
