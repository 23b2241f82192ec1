use super::removal::findings;
use super::{AuditContext, Finding, Rule, RuleMeta, Severity};
use crate::leavers::{Verdict, hours};

pub struct RemovalUnproven;

static META: RuleMeta = RuleMeta {
    id: "removal-unproven",
    severity: Severity::Low,
    summary: "A leaver's agent is gone, but no evidence shows whether it went within the removal SLA: the last record of the deactivation is after the deadline, and nothing shows access after it.",
    action: "Find the deactivation's own record (Freshdesk audit log, the IT ticket) and keep it with this run; run `deskaudit watch`, or remediate through deskaudit, so the next period's removals are timed.",
    controls: &["SOC 2 CC6.2", "SOC 2 CC6.3", "ISO 27001 A.5.18"],
};

impl Rule for RemovalUnproven {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        findings(ctx, &META, Verdict::Unproven, |row, sla| {
            let by = match (row.window.removed_by, row.max_delay()) {
                (Some(t), Some(d)) => format!("gone by {t}, {} h after it at the latest", hours(d)),
                _ => "nothing shows when it went".to_owned(),
            };
            format!(
                "terminated {}; access {by}: within the {sla} h removal SLA or not, the evidence cannot tell",
                row.terminated_at
            )
        })
    }
}
