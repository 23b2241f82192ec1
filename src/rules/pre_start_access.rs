use super::evidence::identity_steps;
use super::{AuditContext, Finding, Rule, RuleMeta, Severity};
use crate::idp::IdpStatus;
use crate::model::AgentStatus;

pub struct PreStartAccess;

static META: RuleMeta = RuleMeta {
    id: "pre-start-access",
    severity: Severity::Medium,
    summary: "Active agent whose IdP identities are only staged (none active): the Freshdesk seat is in use before the person's start.",
    action: "Confirm the start date with HR; deactivate the agent until the IdP account is activated, or activate it there if the person has started.",
    controls: &[
        "SOC 2 CC6.1",
        "SOC 2 CC6.2",
        "ISO 27001 A.5.16",
        "ISO 27001 A.5.18",
    ],
};

impl Rule for PreStartAccess {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        let g = ctx.graph;
        g.agents()
            .filter(|(_, agent)| agent.status == AgentStatus::Active)
            .filter_map(|(i, agent)| {
                let links = g.identities_of(i);
                if !is_pre_start(links.iter().map(|l| l.identity.status)) {
                    return None;
                }
                let statuses: Vec<String> = links
                    .iter()
                    .map(|l| {
                        format!(
                            "{}: {} ({})",
                            g.source_label(l.identity.source),
                            l.identity.raw_status,
                            l.identity.status.as_str()
                        )
                    })
                    .collect();
                Some(
                    META.finding(
                        i,
                        agent.id,
                        format!(
                            "active agent whose IdP identities are staged, none active ({})",
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

/// Has identities, none of them active, at least one staged (an empty list has none staged).
fn is_pre_start(statuses: impl IntoIterator<Item = IdpStatus>) -> bool {
    let mut staged = false;
    for status in statuses {
        match status {
            IdpStatus::Active => return false,
            IdpStatus::Staged => staged = true,
            IdpStatus::Suspended | IdpStatus::Deprovisioned | IdpStatus::Unknown => {}
        }
    }
    staged
}

#[cfg(test)]
mod tests {
    use super::*;
    use IdpStatus::{Active, Deprovisioned, Staged, Suspended, Unknown};

    #[test]
    fn staged_without_any_active_identity() {
        let cases: &[(&[IdpStatus], bool)] = &[
            (&[Staged], true),
            (&[Staged, Staged], true),
            (&[Staged, Deprovisioned], true),
            (&[Suspended, Staged], true),
            (&[Unknown, Staged], true),
            (&[], false),
            (&[Staged, Active], false),
            (&[Active, Staged], false),
            (&[Deprovisioned, Suspended], false),
            (&[Unknown], false),
        ];
        for (statuses, want) in cases {
            assert_eq!(is_pre_start(statuses.iter().copied()), *want, "{statuses:?}");
        }
    }
}
