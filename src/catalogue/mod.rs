//! What both the policy and the rules need to know about the rule catalogue:
//! the severities and the rule ids. It sits below both, so the arrows run one
//! way (`rules` → `policy` → `catalogue`): the policy checks a rule id
//! without importing the rules that the policy configures.

mod severity;

pub use severity::Severity;

/// Every rule id, in catalogue order. `rules::ALL_RULES` holds the rules
/// themselves; a unit test there keeps the two lists identical.
pub const RULE_IDS: &[&str] = &[
    "terminated-active",
    "orphaned-agent",
    "dormant-agent",
    "stale-invite",
    "privileged-agent",
    "idp-not-assigned",
    "pre-start-access",
    "broad-ticket-scope",
    "duplicate-identity",
    "shared-mailbox",
    "external-domain",
    "role-drift",
    "deactivated-privileged",
    "admin-count",
    "expired-exception",
    "late-removal",
    "removal-unproven",
];

/// Whether a rule of this id exists (exact, case-sensitive, as in findings).
pub fn is_rule_id(id: &str) -> bool {
    RULE_IDS.contains(&id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_known_exactly() {
        for (id, known) in [
            ("dormant-agent", true),
            ("expired-exception", true),
            ("dormant", false),
            ("Dormant-Agent", false),
            ("", false),
        ] {
            assert_eq!(is_rule_id(id), known, "{id}");
        }
    }
}
