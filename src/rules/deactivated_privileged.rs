use super::evidence::{privileged_roles, role_step};
use super::{AuditContext, Finding, Rule, RuleMeta, Severity};
use crate::model::AgentStatus;

pub struct DeactivatedPrivileged;

static META: RuleMeta = RuleMeta {
    id: "deactivated-privileged",
    severity: Severity::Low,
    summary: "Deactivated agent still holds a privileged role: reactivating the account would restore administrator access at once.",
    action: "Downgrade the deactivated agent to a non-privileged role (or delete it), so a reactivation cannot silently restore administrator access.",
    controls: &["SOC 2 CC6.2", "SOC 2 CC6.3", "ISO 27001 A.8.2"],
};

impl Rule for DeactivatedPrivileged {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        let g = ctx.graph;
        g.agents()
            .filter(|(_, agent)| agent.status == AgentStatus::Deactivated)
            .filter_map(|(i, agent)| {
                let privileged = privileged_roles(ctx, i);
                if privileged.is_empty() {
                    return None;
                }
                let names: Vec<String> = privileged.iter().map(|&r| g.directory.role_name(r)).collect();
                let last = agent
                    .last_activity()
                    .map_or_else(|| "none".to_owned(), |t| t.to_string());
                Some(
                    META.finding(
                        i,
                        agent.id,
                        format!(
                            "deactivated agent still holds {} (last activity {last})",
                            names.join(", ")
                        ),
                    )
                    .steps(privileged.iter().map(|&r| role_step(g, agent, r)))
                    .value("agent_status", agent.status.as_str())
                    .value("privileged_roles", names.join("; "))
                    .value("last_activity", last),
                )
            })
            .collect()
    }
}
