use super::evidence::agent_label;
use super::registry::applies_to;
use super::{AuditContext, Finding, Rule, RuleMeta, Severity};

pub struct ExpiredException;

static META: RuleMeta = RuleMeta {
    id: "expired-exception",
    severity: Severity::Low,
    summary: "A policy exception for this agent has expired: the accepted risk needs a new decision.",
    action: "Renew the exception with a fresh justification and approver, or fix what it excused; then remove it.",
    controls: &["SOC 2 CC6.2", "ISO 27001 A.5.18"],
};

impl Rule for ExpiredException {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        let g = ctx.graph;
        ctx.policy
            .exceptions
            .iter()
            .filter(|e| e.expires <= ctx.as_of)
            .flat_map(|e| {
                g.agents()
                    .filter(|(_, a)| applies_to(&e.agent, a))
                    .map(move |(i, agent)| {
                        META.finding(
                            i,
                            agent.id,
                            format!(
                                "exception for `{}` approved by {} expired {} (\"{}\")",
                                e.rule, e.approver, e.expires, e.justification
                            ),
                        )
                        .step(
                            agent_label(agent),
                            "excepted from",
                            format!("rule {} until {}", e.rule, e.expires),
                        )
                        .value("rule", &e.rule)
                        .value("approver", &e.approver)
                        .value("justification", &e.justification)
                        .value("expires", e.expires)
                        .value("as_of", ctx.as_of)
                    })
            })
            .collect()
    }
}
