use std::collections::BTreeMap;

use super::evidence::{privileged_roles, role_step};
use super::{AuditContext, Finding, Rule, RuleMeta, Severity};
use crate::model::{AgentStatus, InAccount};

pub struct AdminCount;

static META: RuleMeta = RuleMeta {
    id: "admin-count",
    severity: Severity::Medium,
    summary: "The number of active agents holding a privileged role is outside the policy's admin_count bounds: too many administrators, or so few that one absence locks the account.",
    action: "Above max: decide which administrators to downgrade until the count is within bounds. Below min: name and approve another administrator so the account has no single point of failure.",
    controls: &["SOC 2 CC6.3", "ISO 27001 A.5.15", "ISO 27001 A.8.2"],
};

/// Which bound the count broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Breach {
    Below(u32),
    Above(u32),
}

fn breach(count: usize, min: Option<u32>, max: Option<u32>) -> Option<Breach> {
    let count = u64::try_from(count).unwrap_or(u64::MAX);
    match (min, max) {
        (Some(min), _) if count < u64::from(min) => Some(Breach::Below(min)),
        (_, Some(max)) if count > u64::from(max) => Some(Breach::Above(max)),
        _ => None,
    }
}

impl Rule for AdminCount {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        let bounds = &ctx.policy.admin_count;
        if bounds.min.is_none() && bounds.max.is_none() {
            return Vec::new();
        }
        let g = ctx.graph;
        // Active holders only: a pending invite cannot administer yet, a deactivated agent
        // no longer can (deactivated-privileged covers that one).
        // Each account has its own administrators: counted per account.
        let mut by_account: BTreeMap<usize, Vec<(usize, Vec<InAccount>)>> = BTreeMap::new();
        for (i, agent) in g
            .agents()
            .filter(|(_, agent)| agent.status == AgentStatus::Active)
        {
            let privileged = privileged_roles(ctx, i);
            if !privileged.is_empty() {
                by_account.entry(agent.account).or_default().push((i, privileged));
            }
        }
        by_account
            .values()
            .flat_map(|holders| account_findings(ctx, holders))
            .collect()
    }
}

/// One account's breach of the bounds, a finding per privileged holder.
fn account_findings(ctx: &AuditContext, holders: &[(usize, Vec<InAccount>)]) -> Vec<Finding> {
    let g = ctx.graph;
    let bounds = &ctx.policy.admin_count;
    let count = holders.len();
    let Some(breach) = breach(count, bounds.min, bounds.max) else {
        return Vec::new();
    };
    let emails: Vec<String> = holders
        .iter()
        .map(|&(i, _)| {
            let agent = g.agent(i);
            agent
                .email
                .as_deref()
                .map_or_else(|| format!("agent {}", agent.id), |e| e.trim().to_owned())
        })
        .collect();
    let bound = |b: Option<u32>| b.map_or_else(|| "unset".to_owned(), |b| b.to_string());
    holders
        .iter()
        .map(|(i, privileged)| {
            let agent = g.agent(*i);
            let names: Vec<String> = privileged.iter().map(|&r| g.directory.role_name(r)).collect();
            let detail = match breach {
                Breach::Above(max) => format!(
                    "one of {count} active privileged agents, above admin_count.max {max}: \
                         at least {} must be downgraded (holds {})",
                    count - max as usize,
                    names.join(", ")
                ),
                Breach::Below(min) if count == 1 => format!(
                    "the only active privileged agent, below admin_count.min {min}: \
                         a single point of failure (holds {})",
                    names.join(", ")
                ),
                Breach::Below(min) => format!(
                    "one of only {count} active privileged agents, below admin_count.min {min}: \
                         too few to cover an absence (holds {})",
                    names.join(", ")
                ),
            };
            META.finding(*i, agent.id, detail)
                .steps(privileged.iter().map(|&r| role_step(g, agent, r)))
                .value("count", count)
                .value("min", bound(bounds.min))
                .value("max", bound(bounds.max))
                .value("holders", emails.join("; "))
                .value("privileged_roles", names.join("; "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breach_table() {
        let cases = [
            (0, Some(2), None, Some(Breach::Below(2))),
            (1, Some(2), Some(3), Some(Breach::Below(2))),
            (2, Some(2), Some(3), None),
            (3, Some(2), Some(3), None),
            (4, Some(2), Some(3), Some(Breach::Above(3))),
            (4, None, Some(3), Some(Breach::Above(3))),
            (40, Some(2), None, None),
            (0, None, Some(0), None),
            (1, None, Some(0), Some(Breach::Above(0))),
            (5, None, None, None),
        ];
        for (count, min, max, want) in cases {
            assert_eq!(breach(count, min, max), want, "{count} {min:?} {max:?}");
        }
    }
}
