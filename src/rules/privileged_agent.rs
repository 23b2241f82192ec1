use super::evidence::{privileged_roles, role_step};
use super::{AuditContext, Finding, Rule, RuleMeta, Severity};

pub struct PrivilegedAgent;

static META: RuleMeta = RuleMeta {
    id: "privileged-agent",
    severity: Severity::Info,
    summary: "Agent with access holds a privileged role: listed so the reviewer re-approves every administrator each period.",
    action: "Re-approve or downgrade each holder; keep the number of administrators small and named.",
    controls: &["SOC 2 CC6.3", "ISO 27001 A.8.2"],
};

impl Rule for PrivilegedAgent {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        let g = ctx.graph;
        g.agents()
            .filter(|(_, agent)| agent.status.holds_access())
            .filter_map(|(i, agent)| {
                let privileged = privileged_roles(ctx, i);
                if privileged.is_empty() {
                    return None;
                }
                let names: Vec<String> = privileged.iter().map(|&r| g.directory.role_name(r)).collect();
                Some(
                    META.finding(
                        i,
                        agent.id,
                        format!("{} agent holds {}", agent.status.as_str(), names.join(", ")),
                    )
                    .steps(privileged.iter().map(|&r| role_step(g, agent, r)))
                    .value("privileged_roles", names.join("; "))
                    .value("agent_status", agent.status.as_str()),
                )
            })
            .collect()
    }
}
