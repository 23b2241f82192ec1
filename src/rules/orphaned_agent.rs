use super::evidence::agent_label;
use super::{AuditContext, Finding, Rule, RuleMeta, Severity};

pub struct OrphanedAgent;

static META: RuleMeta = RuleMeta {
    id: "orphaned-agent",
    severity: Severity::High,
    summary: "Agent with access resolves to no identity in any IdP export: nobody in the directory owns this account.",
    action: "Find the owner; map the agent in policy identity_map if it is a known alias, otherwise deactivate it.",
    controls: &[
        "SOC 2 CC6.2",
        "SOC 2 CC6.3",
        "ISO 27001 A.5.16",
        "ISO 27001 A.5.18",
    ],
};

impl Rule for OrphanedAgent {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        let g = ctx.graph;
        let searched: Vec<String> = (0..g.idp.sources.len()).map(|s| g.source_label(s)).collect();
        let searched = if searched.is_empty() {
            "no IdP export given".to_owned()
        } else {
            searched.join(", ")
        };
        g.agents()
            .filter(|(i, agent)| agent.status.holds_access() && g.identities_of(*i).is_empty())
            .map(|(i, agent)| {
                let key = agent.key().unwrap_or_else(|| "(no email)".to_owned());
                META.finding(
                    i,
                    agent.id,
                    format!(
                        "{} agent `{key}` matches no identity in {searched}",
                        agent.status.as_str()
                    ),
                )
                .step(
                    agent_label(agent),
                    "resolves to",
                    format!("nothing (searched {searched})"),
                )
                .value("agent_key", key)
                .value("agent_status", agent.status.as_str())
                .value("sources_searched", searched.clone())
            })
            .collect()
    }
}
