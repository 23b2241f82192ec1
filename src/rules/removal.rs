//! What `late-removal` and `removal-unproven` put on a finding: the leaver
//! row computed in `crate::leavers`, as a path and the values compared.

use super::evidence::{agent_label, identity_steps};
use super::{AuditContext, Finding, RuleMeta};
use crate::leavers::{Observation, Seen, Termination, Verdict, hours};

/// The finding of `meta` for each leaver row of `verdict` whose agent is in
/// this snapshot (an agent deleted since has no place in the findings; its
/// row stays in terminations.csv and the report).
pub(super) fn findings(
    ctx: &AuditContext,
    meta: &'static RuleMeta,
    verdict: Verdict,
    detail: impl Fn(&Termination, u32) -> String,
) -> Vec<Finding> {
    let Some(leavers) = ctx.leavers else {
        return Vec::new();
    };
    let g = ctx.graph;
    leavers
        .rows
        .iter()
        .filter(|row| row.verdict == verdict)
        .filter_map(|row| {
            let i = row.agent?;
            let agent = g.agent(i);
            let person = &g.idp.identities[row.identity];
            let links: Vec<_> = g.identities_of(i);
            let bound = |seen: Seen, at| {
                row.evidence
                    .iter()
                    .find(|o| o.at == at && (o.seen == seen || o.seen == Seen::Removed))
                    .map(Observation::describe)
            };
            let lower = bound(Seen::WithAccess, row.window.seen_until)
                .unwrap_or_else(|| "the termination: no access seen after it".to_owned());
            let upper = row.window.removed_by.and_then(|t| bound(Seen::WithoutAccess, t));
            let mut finding = meta
                .finding(i, agent.id, detail(row, leavers.sla_hours))
                .steps(identity_steps(g, agent, &links))
                .step(
                    format!("{} ({})", person.login, g.source_label(person.source)),
                    "terminated",
                    format!("{} ({})", row.terminated_at, row.termination_source),
                )
                .step(
                    agent_label(agent),
                    "seen with access until",
                    format!("{} ({lower})", row.window.seen_until),
                );
            if let (Some(t), Some(upper)) = (row.window.removed_by, upper) {
                finding = finding.step(agent_label(agent), "without access by", format!("{t} ({upper})"));
            }
            // Listed without its contact (deactivated, documented API): the
            // row names the person as the leavers found them.
            if agent.key().is_none() && !row.agent_email.is_empty() {
                finding = finding.resolved_as(&row.agent_email, &row.identities);
            }
            Some(
                finding
                    .value("verdict", row.verdict.as_str())
                    .value("agent_status", agent.status.as_str())
                    .value("terminated_at", row.terminated_at)
                    .value("termination_source", &row.termination_source)
                    .value("access_seen_until", row.window.seen_until)
                    .value(
                        "access_removed_by",
                        row.window.removed_by.map(|t| t.to_string()).unwrap_or_default(),
                    )
                    .value("min_delay_hours", hours(row.min_delay()))
                    .value("max_delay_hours", row.max_delay().map(hours).unwrap_or_default())
                    .value("sla_hours", leavers.sla_hours)
                    .value("removal_evidence", row.evidence_text()),
            )
        })
        .collect()
}
