use super::evidence::{agent_label, identity_steps};
use super::{AuditContext, Finding, Rule, RuleMeta, Severity};
use crate::idp::IdpStatus;
use crate::model::AgentStatus;

pub struct IdpNotAssigned;

static META: RuleMeta = RuleMeta {
    id: "idp-not-assigned",
    severity: Severity::High,
    summary: "Active agent whose person is active in the IdP but not assigned the Freshdesk app there: access granted outside the IdP's provisioning and approval.",
    action: "Assign the Freshdesk app in the IdP through the normal request and approval, or deactivate the agent if nobody approved the access.",
    controls: &[
        "SOC 2 CC6.1",
        "SOC 2 CC6.2",
        "ISO 27001 A.5.15",
        "ISO 27001 A.5.16",
        "ISO 27001 A.5.18",
    ],
};

impl Rule for IdpNotAssigned {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        let g = ctx.graph;
        let Some(assignments) = &g.idp.assignments else {
            return Vec::new();
        };
        let file = std::path::Path::new(&assignments.path)
            .file_name()
            .map_or_else(|| assignments.path.clone(), |f| f.to_string_lossy().into_owned());
        g.agents()
            .filter(|(_, agent)| agent.status == AgentStatus::Active)
            .filter_map(|(i, agent)| {
                let links = g.identities_of(i);
                let active: Vec<_> = links
                    .iter()
                    .copied()
                    .filter(|l| l.identity.status == IdpStatus::Active)
                    .collect();
                if active.is_empty() {
                    return None;
                }
                // Every key that names this person: the agent's email, the key the policy
                // rewrote it to, and every login and email of every identity it resolves to.
                let mut keys: Vec<String> = Vec::new();
                let mut push = |k: &str| {
                    if !k.is_empty() && !keys.iter().any(|have| have == k) {
                        keys.push(k.to_owned());
                    }
                };
                if let Some(email) = agent.key() {
                    push(&email);
                    push(&ctx.policy.rewrites.agent_key(&email).0);
                }
                for link in &links {
                    for (key, _) in &link.identity.keys {
                        push(key);
                    }
                }
                if keys.iter().any(|k| assignments.contains(k)) {
                    return None;
                }
                let idp_active: Vec<String> = active
                    .iter()
                    .map(|l| format!("{}: {}", g.source_label(l.identity.source), l.identity.login))
                    .collect();
                Some(
                    META.finding(
                        i,
                        agent.id,
                        format!(
                            "active agent, active in the IdP ({}), but none of its keys ({}) is assigned \
                             the Freshdesk app in {file}",
                            idp_active.join("; "),
                            keys.join(", ")
                        ),
                    )
                    .steps(identity_steps(g, agent, &active))
                    .step(
                        agent_label(agent),
                        "not assigned the Freshdesk app in",
                        format!(
                            "assignments:{file} ({} Freshdesk assignments)",
                            assignments.assigned
                        ),
                    )
                    .value("agent_status", agent.status.as_str())
                    .value("idp_active_identities", idp_active.join("; "))
                    .value("keys_checked", keys.join("; "))
                    .value("assignments_file", &file)
                    .value("assignments_rows", assignments.assigned),
                )
            })
            .collect()
    }
}
