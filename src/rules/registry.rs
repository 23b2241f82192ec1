//! Runs the catalogue, applies the policy, sorts deterministically and
//! decides the exit code, so rules stay pure and outputs stay stable.

use rayon::prelude::*;

use super::{ALL_RULES, AuditContext, Finding, Severity};
use crate::policy::{AgentRef, Exception};

pub struct FindingSet {
    /// Sorted: severity (critical first), then rule id, then agent id.
    pub findings: Vec<Finding>,
    /// Findings an unexpired policy exception accepts, in the same order.
    pub suppressed: Vec<(Finding, Exception)>,
    /// Ids of rules that ran (enabled in the policy), in catalogue order.
    pub rules_run: Vec<&'static str>,
}

pub fn run(ctx: &AuditContext) -> FindingSet {
    let enabled: Vec<_> = ALL_RULES
        .iter()
        .copied()
        .filter(|r| ctx.policy.rule_enabled(r.meta().id))
        .collect();
    let mut findings: Vec<Finding> = enabled
        .par_iter()
        .flat_map_iter(|rule| rule.check(ctx))
        .map(|mut f| {
            f.severity = ctx.policy.severity_for(f.rule.id, f.rule.severity);
            f.compact()
        })
        .collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.id.cmp(b.rule.id))
            .then_with(|| a.agent_id.cmp(&b.agent_id))
            // One agent id in several accounts: in the snapshots' order.
            .then_with(|| a.agent.cmp(&b.agent))
    });
    // An exception still in force moves its finding aside; an expired one
    // does not (and the expired-exception rule reports it).
    let (mut kept, mut suppressed) = (Vec::new(), Vec::new());
    for finding in findings {
        match exception_for(ctx, &finding) {
            Some(exception) => suppressed.push((finding, exception.clone())),
            None => kept.push(finding),
        }
    }
    FindingSet {
        findings: kept,
        suppressed,
        rules_run: enabled.iter().map(|r| r.meta().id).collect(),
    }
}

fn exception_for<'p>(ctx: &AuditContext<'p>, finding: &Finding) -> Option<&'p Exception> {
    let agent = ctx.graph.agent(finding.agent);
    ctx.policy
        .exceptions
        .iter()
        .find(|e| e.rule == finding.rule.id && e.expires > ctx.as_of && applies_to(&e.agent, agent))
}

/// Whether an exception's agent reference names this agent (by id, or by email key).
pub(crate) fn applies_to(who: &AgentRef, agent: &crate::model::Agent) -> bool {
    match who {
        AgentRef::Id(id) => *id == agent.id,
        AgentRef::Email(email) => agent.key().as_deref() == Some(email.as_str()),
    }
}

impl FindingSet {
    /// True when `--fail-on` is given and some finding is at or above it.
    pub fn fails(&self, fail_on: Option<Severity>) -> bool {
        fail_on.is_some_and(|min| self.findings.iter().any(|f| f.severity >= min))
    }
}
