use super::evidence::agent_label;
use super::{AuditContext, Finding, Rule, RuleMeta, Severity};

pub struct SharedMailbox;

static META: RuleMeta = RuleMeta {
    id: "shared-mailbox",
    severity: Severity::Medium,
    summary: "Agent with access signs in with a shared mailbox address (support@, info@, ...): no one person is accountable for what it does.",
    action: "Give each person behind the mailbox a named agent, then deactivate the shared one; route the mailbox to Freshdesk as an email channel instead.",
    controls: &["SOC 2 CC6.1", "SOC 2 CC6.2", "ISO 27001 A.5.16"],
};

impl Rule for SharedMailbox {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        let names = &ctx.policy.shared_mailbox_names;
        ctx.graph
            .agents()
            .filter(|(_, agent)| agent.status.holds_access())
            .filter_map(|(i, agent)| {
                let key = agent.key()?;
                let local = local_part(&key);
                let matched = names.iter().find(|n| n.as_str() == local)?;
                Some(
                    META.finding(
                        i,
                        agent.id,
                        format!(
                            "{} agent `{key}` is the shared mailbox `{matched}` (shared_mailbox_names)",
                            agent.status.as_str()
                        ),
                    )
                    .step(
                        agent_label(agent),
                        "has email local part",
                        format!("\"{local}\" = shared mailbox name \"{matched}\""),
                    )
                    .value("agent_status", agent.status.as_str())
                    .value("local_part", local)
                    .value("matched_name", matched),
                )
            })
            .collect()
    }
}

/// The part before the `@` (the last one) and before any `+tag`, as given
/// (the agent key is already lower-cased). An address with no `@` is all local part.
fn local_part(email: &str) -> &str {
    let local = email.rsplit_once('@').map_or(email, |(local, _)| local);
    local.split_once('+').map_or(local, |(base, _)| base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_part_drops_domain_and_tag() {
        let cases = [
            ("support@acme.test", "support"),
            ("support+eu@acme.test", "support"),
            ("info+a+b@acme.test", "info"),
            ("no-reply@acme.test", "no-reply"),
            ("jane+support@acme.test", "jane"),
            ("jane.support@acme.test", "jane.support"),
            ("+support@acme.test", ""),
            ("support", "support"),
        ];
        for (email, want) in cases {
            assert_eq!(local_part(email), want, "{email}");
        }
    }
}
