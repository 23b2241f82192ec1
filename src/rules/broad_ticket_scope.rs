use super::evidence::{agent_label, role_step};
use super::{AuditContext, Finding, Rule, RuleMeta, Severity};
use crate::model::{Agent, AgentStatus, TicketScope};

pub struct BroadTicketScope;

static META: RuleMeta = RuleMeta {
    id: "broad-ticket-scope",
    severity: Severity::Medium,
    summary: "Occasional agent or collaborator who can see every ticket (ticket scope Global): more access than a part-time or guest seat needs.",
    action: "Narrow the agent's ticket scope to Group or Restricted, or record why this person needs to see every ticket.",
    controls: &[
        "SOC 2 CC6.1",
        "SOC 2 CC6.3",
        "ISO 27001 A.5.15",
        "ISO 27001 A.8.2",
    ],
};

impl Rule for BroadTicketScope {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        let g = ctx.graph;
        g.agents()
            .filter(|(_, agent)| agent.status == AgentStatus::Active)
            .filter_map(|(i, agent)| {
                let scope = g.scope_of(i)?;
                if scope != TicketScope::Global {
                    return None;
                }
                let why = reason(agent)?;
                let agent_type = agent.agent_type.as_deref().unwrap_or("none");
                Some(
                    META.finding(
                        i,
                        agent.id,
                        format!("active {why} can see every ticket (ticket_scope 1, Global)"),
                    )
                    .step(agent_label(agent), "has ticket scope", "ticket scope 1 (Global)")
                    .steps(g.role_ids_of(i).map(|r| role_step(g, agent, r)))
                    .value("ticket_scope", scope.as_str())
                    .value("occasional", agent.occasional)
                    .value("type", agent_type),
                )
            })
            .collect()
    }
}

/// Why the seat is too narrow for a Global scope: occasional, or a collaborator, or both.
fn reason(agent: &Agent) -> Option<&'static str> {
    let collaborator = agent.agent_type.as_deref() == Some("collaborator");
    match (agent.occasional, collaborator) {
        (true, true) => Some("occasional collaborator"),
        (true, false) => Some("occasional agent"),
        (false, true) => Some("collaborator"),
        (false, false) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn occasional_or_collaborator_only() {
        let cases = [
            (
                json!({"id": 1, "occasional": true, "type": "support_agent"}),
                Some("occasional agent"),
            ),
            (
                json!({"id": 1, "occasional": false, "type": "collaborator"}),
                Some("collaborator"),
            ),
            (
                json!({"id": 1, "occasional": true, "type": "collaborator"}),
                Some("occasional collaborator"),
            ),
            (json!({"id": 1, "occasional": true}), Some("occasional agent")),
            (
                json!({"id": 1, "occasional": false, "type": "support_agent"}),
                None,
            ),
            (json!({"id": 1, "occasional": false, "type": "field_agent"}), None),
            (json!({"id": 1}), None),
        ];
        for (raw, want) in cases {
            let agent = Agent::from_json(&raw).expect("valid");
            assert_eq!(reason(&agent), want, "{raw}");
        }
    }
}
