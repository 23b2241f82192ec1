use super::removal::findings;
use super::{AuditContext, Finding, Rule, RuleMeta, Severity};
use crate::leavers::{Verdict, hours};

pub struct LateRemoval;

static META: RuleMeta = RuleMeta {
    id: "late-removal",
    severity: Severity::High,
    summary: "A leaver's agent kept its access longer than the removal SLA after the termination: the evidence shows access after the deadline.",
    action: "Record the late removal as a deviation of the leaver process for this period; find why the deactivation waited (no HR notice, a manual step) and check what the agent did after the termination.",
    controls: &["SOC 2 CC6.2", "SOC 2 CC6.3", "ISO 27001 A.5.18"],
};

impl Rule for LateRemoval {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        findings(ctx, &META, Verdict::Late, |row, sla| {
            format!(
                "access seen {} h after the termination ({}), over the {sla} h removal SLA",
                hours(row.min_delay()),
                row.terminated_at
            )
        })
    }
}
