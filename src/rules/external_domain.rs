use super::evidence::agent_label;
use super::{AuditContext, Finding, Rule, RuleMeta, Severity};

pub struct ExternalDomain;

static META: RuleMeta = RuleMeta {
    id: "external-domain",
    severity: Severity::Medium,
    summary: "Agent with access uses an email address outside the organisation's own domains (org_domains): a contractor, a personal address or a look-alike domain.",
    action: "Confirm who the person is and that an agreement covers their access; move them to an organisation address or deactivate the agent.",
    controls: &[
        "SOC 2 CC6.2",
        "SOC 2 CC6.3",
        "ISO 27001 A.5.16",
        "ISO 27001 A.5.18",
    ],
};

impl Rule for ExternalDomain {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        let org = &ctx.policy.org_domains;
        if org.is_empty() {
            return Vec::new();
        }
        // Shown as compared: lower-cased (by the policy), without a trailing dot.
        let listed = org.iter().map(|o| bare(o)).collect::<Vec<_>>().join(", ");
        ctx.graph
            .agents()
            .filter(|(_, agent)| agent.status.holds_access())
            .filter_map(|(i, agent)| {
                let key = agent.key()?;
                let domain = bare(email_domain(&key));
                if org.iter().any(|o| domain_inside(domain, o)) {
                    return None;
                }
                let shown = if domain.is_empty() { "(none)" } else { domain };
                Some(
                    META.finding(
                        i,
                        agent.id,
                        format!(
                            "{} agent `{key}` has email domain `{shown}`, outside org_domains ({listed})",
                            agent.status.as_str()
                        ),
                    )
                    .step(
                        agent_label(agent),
                        "has email domain",
                        format!("{shown} (outside org_domains: {listed})"),
                    )
                    .value("agent_status", agent.status.as_str())
                    .value("domain", shown)
                    .value("org_domains", &listed),
                )
            })
            .collect()
    }
}

/// What follows the last `@`; empty when there is none.
fn email_domain(email: &str) -> &str {
    email.rsplit_once('@').map_or("", |(_, domain)| domain)
}

/// A domain without surrounding spaces or a trailing (root) dot.
fn bare(domain: &str) -> &str {
    domain.trim().trim_end_matches('.')
}

/// `domain` is `org` or a subdomain of it, compared label by label from the
/// right (so `notacme.test` is not inside `acme.test`), case-insensitively,
/// ignoring a trailing dot on either side. An empty `org` contains nothing.
fn domain_inside(domain: &str, org: &str) -> bool {
    let (domain, org) = (bare(domain), bare(org));
    if org.is_empty() || domain.is_empty() {
        return false;
    }
    let mut domain_labels = domain.rsplit('.');
    org.rsplit('.')
        .all(|o| domain_labels.next().is_some_and(|d| d.eq_ignore_ascii_case(o)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_inside_compares_whole_labels() {
        let cases = [
            // The contract's examples.
            ("acme.test", "acme.test", true),
            ("eu.acme.test", "acme.test", true),
            ("notacme.test", "acme.test", false),
            ("acme.test.evil.example", "acme.test", false),
            // Case, trailing dots, deeper subdomains.
            ("EU.Acme.Test", "acme.test", true),
            ("acme.test.", "acme.test", true),
            ("acme.test", "acme.test.", true),
            ("a.b.eu.acme.test", "eu.acme.test", true),
            // A parent, a sibling, a bare label and nothing at all are not inside.
            ("acme.test", "eu.acme.test", false),
            ("us.acme.test", "eu.acme.test", false),
            ("test", "acme.test", false),
            ("acme", "acme.test", false),
            ("xacme.test", "acme.test", false),
            ("", "acme.test", false),
            ("acme.test", "", false),
        ];
        for (domain, org, want) in cases {
            assert_eq!(domain_inside(domain, org), want, "{domain} in {org}");
        }
    }

    #[test]
    fn email_domain_is_after_the_last_at() {
        assert_eq!(email_domain("jane@eu.acme.test"), "eu.acme.test");
        assert_eq!(email_domain("\"a@b\"@acme.test"), "acme.test");
        assert_eq!(email_domain("jane"), "");
        assert_eq!(email_domain("jane@"), "");
    }
}
