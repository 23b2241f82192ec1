//! Runs the catalogue, applies the policy, sorts deterministically and
//! decides the exit code, so rules stay pure and outputs stay stable.

use rayon::prelude::*;

use super::{ALL_RULES, AuditContext, Finding, Severity};

pub struct FindingSet {
    /// Sorted: severity (critical first), then rule id, then agent id.
    pub findings: Vec<Finding>,
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
            f
        })
        .collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.id.cmp(b.rule.id))
            .then_with(|| a.agent_id.cmp(&b.agent_id))
    });
    FindingSet {
        findings,
        rules_run: enabled.iter().map(|r| r.meta().id).collect(),
    }
}

impl FindingSet {
    /// True when `--fail-on` is given and some finding is at or above it.
    pub fn fails(&self, fail_on: Option<Severity>) -> bool {
        fail_on.is_some_and(|min| self.findings.iter().any(|f| f.severity >= min))
    }
}
