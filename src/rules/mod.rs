//! The rule catalogue: one file per rule, each a unit struct with static
//! metadata that every finding it builds carries. Rules are pure functions
//! over the graph; the [`registry`] applies the policy and sorts.

mod catalogue;
mod evidence;
mod finding;
pub mod registry;
mod removal;

mod admin_count;
mod broad_ticket_scope;
mod deactivated_privileged;
mod dormant_agent;
mod duplicate_identity;
mod expired_exception;
mod external_domain;
mod idp_not_assigned;
mod late_removal;
mod orphaned_agent;
mod pre_start_access;
mod privileged_agent;
mod removal_unproven;
mod role_drift;
mod shared_mailbox;
mod stale_invite;
mod terminated_active;

use jiff::Timestamp;

/// Lives below both the policy and the rules; re-exported where it always was.
pub use crate::catalogue::Severity;
pub use catalogue::catalogue_version;
pub use finding::{Evidence, Finding, PathStep, RuleMeta};

use crate::graph::IdentityGraph;
use crate::policy::Policy;

/// Everything a rule may read.
pub struct AuditContext<'a> {
    pub graph: &'a IdentityGraph,
    pub policy: &'a Policy,
    pub as_of: Timestamp,
    /// The review period's leavers, computed before the rules run; `None`
    /// where nobody computed them (`explain`), and the leaver rules are quiet.
    pub leavers: Option<&'a crate::leavers::Leavers>,
}

pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, ctx: &AuditContext) -> Vec<Finding>;
}

/// The one list of rules, in catalogue order.
pub static ALL_RULES: &[&dyn Rule] = &[
    &terminated_active::TerminatedActive,
    &orphaned_agent::OrphanedAgent,
    &dormant_agent::DormantAgent,
    &stale_invite::StaleInvite,
    &privileged_agent::PrivilegedAgent,
    &idp_not_assigned::IdpNotAssigned,
    &pre_start_access::PreStartAccess,
    &broad_ticket_scope::BroadTicketScope,
    &duplicate_identity::DuplicateIdentity,
    &shared_mailbox::SharedMailbox,
    &external_domain::ExternalDomain,
    &role_drift::RoleDrift,
    &deactivated_privileged::DeactivatedPrivileged,
    &admin_count::AdminCount,
    &expired_exception::ExpiredException,
    &late_removal::LateRemoval,
    &removal_unproven::RemovalUnproven,
];

pub fn rule_by_id(id: &str) -> Option<&'static dyn Rule> {
    ALL_RULES.iter().copied().find(|r| r.meta().id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_kebab_case_and_documented() {
        let docs = include_str!("../../docs/rules.md");
        let mut seen = std::collections::BTreeSet::new();
        for rule in ALL_RULES {
            let id = rule.meta().id;
            assert!(seen.insert(id), "duplicate rule id {id}");
            assert!(id.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{id}");
            assert!(
                docs.contains(&format!("## `{id}`")),
                "docs/rules.md has no section for {id}"
            );
            assert!(!rule.meta().controls.is_empty(), "{id} evidences no control");
        }
    }

    /// The policy checks rule ids against `catalogue::RULE_IDS` (it may not
    /// import the rules), so that list must be exactly this one.
    #[test]
    fn the_policy_knows_exactly_these_rule_ids_in_this_order() {
        let ids: Vec<&str> = ALL_RULES.iter().map(|r| r.meta().id).collect();
        assert_eq!(ids, crate::catalogue::RULE_IDS);
    }

    #[test]
    fn catalogue_snapshot() {
        // A change to any rule's id, severity or controls shows up in review.
        let catalogue: Vec<String> = ALL_RULES
            .iter()
            .map(|r| {
                let m = r.meta();
                format!("{} [{}] {}", m.id, m.severity, m.controls.join(", "))
            })
            .collect();
        insta::assert_snapshot!(catalogue.join("\n"));
    }
}
