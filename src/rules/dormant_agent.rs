use super::evidence::agent_label;
use super::{AuditContext, Finding, Rule, RuleMeta, Severity};
use crate::model::AgentStatus;
use crate::model::time::{days_between, older_than_days};

pub struct DormantAgent;

static META: RuleMeta = RuleMeta {
    id: "dormant-agent",
    severity: Severity::Medium,
    summary: "Active agent with no sign-in or activity for longer than the dormancy threshold.",
    action: "Confirm the agent still needs access; deactivate (or make occasional) if not. Dormant seats are unowned risk and cost.",
    controls: &["SOC 2 CC6.2", "ISO 27001 A.5.18"],
};

impl Rule for DormantAgent {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        let p = &ctx.policy.thresholds;
        ctx.graph
            .agents()
            .filter(|(_, agent)| agent.status == AgentStatus::Active)
            .filter_map(|(i, agent)| {
                let threshold = if agent.occasional {
                    p.occasional_dormant_days
                } else {
                    p.dormant_days
                };
                let (since, what) = match agent.last_activity() {
                    Some(t) => (t, "last activity"),
                    None => (agent.created_at?, "no activity ever; created"),
                };
                if !older_than_days(since, ctx.as_of, threshold) {
                    return None;
                }
                let days = days_between(since, ctx.as_of);
                let kind = if agent.occasional { "occasional" } else { "full-time" };
                Some(
                    META.finding(
                        i,
                        agent.id,
                        format!("{what} {since} is {days:.2} days before as-of (threshold {threshold} days, {kind})"),
                    )
                    .step(agent_label(agent), what, since.to_string())
                    .value("last_active_at", opt(agent.last_active_at))
                    .value("contact.last_login_at", opt(agent.last_login_at))
                    .value("created_at", opt(agent.created_at))
                    .value("as_of", ctx.as_of)
                    .value("threshold_days", threshold)
                    .value("idle_days", format!("{days:.2}")),
                )
            })
            .collect()
    }
}

fn opt(t: Option<jiff::Timestamp>) -> String {
    t.map_or_else(|| "none".to_owned(), |t| t.to_string())
}
