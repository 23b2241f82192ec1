use super::evidence::agent_label;
use super::{AuditContext, Finding, Rule, RuleMeta, Severity};
use crate::model::AgentStatus;
use crate::model::time::{days_between, older_than_days};

pub struct StaleInvite;

static META: RuleMeta = RuleMeta {
    id: "stale-invite",
    severity: Severity::Low,
    summary: "Invitation never accepted for longer than the invite threshold: a live sign-up link for an account nobody uses.",
    action: "Delete the pending agent, or re-invite deliberately if the person still needs access.",
    controls: &["SOC 2 CC6.2", "ISO 27001 A.5.18"],
};

impl Rule for StaleInvite {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        let threshold = ctx.policy.thresholds.invite_days;
        ctx.graph
            .agents()
            .filter(|(_, agent)| agent.status == AgentStatus::Pending)
            .filter_map(|(i, agent)| {
                let created = agent.created_at?;
                if !older_than_days(created, ctx.as_of, threshold) {
                    return None;
                }
                let days = days_between(created, ctx.as_of);
                Some(
                    META.finding(
                        i,
                        agent.id,
                        format!("invited {created}, {days:.2} days before as-of, never verified (threshold {threshold} days)"),
                    )
                    .step(agent_label(agent), "invited", created.to_string())
                    .value("created_at", created)
                    .value("as_of", ctx.as_of)
                    .value("threshold_days", threshold)
                    .value("pending_days", format!("{days:.2}")),
                )
            })
            .collect()
    }
}
