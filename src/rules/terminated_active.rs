use super::evidence::identity_steps;
use super::{AuditContext, Finding, Rule, RuleMeta, Severity};

pub struct TerminatedActive;

static META: RuleMeta = RuleMeta {
    id: "terminated-active",
    severity: Severity::Critical,
    summary: "Agent can still sign in to Freshdesk although every identity the IdP has for them is suspended or deprovisioned.",
    action: "Deactivate the agent now, then confirm with HR whether the person has left and whether tickets need reassigning.",
    controls: &[
        "SOC 2 CC6.2",
        "SOC 2 CC6.3",
        "ISO 27001 A.5.18",
        "ISO 27001 A.8.2",
    ],
};

impl Rule for TerminatedActive {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        let g = ctx.graph;
        g.agents()
            .filter(|(_, agent)| agent.status.holds_access())
            .filter_map(|(i, agent)| {
                let links = g.identities_of(i);
                if links.is_empty() || !links.iter().all(|l| l.identity.status.is_terminated()) {
                    return None;
                }
                let statuses: Vec<String> = links
                    .iter()
                    .map(|l| format!("{}: {}", g.source_label(l.identity.source), l.identity.raw_status))
                    .collect();
                Some(
                    META.finding(
                        i,
                        agent.id,
                        format!(
                            "{} agent whose every IdP identity is terminated ({})",
                            agent.status.as_str(),
                            statuses.join("; ")
                        ),
                    )
                    .steps(identity_steps(g, agent, &links))
                    .value("agent_status", agent.status.as_str())
                    .value("idp_statuses", statuses.join("; ")),
                )
            })
            .collect()
    }
}
