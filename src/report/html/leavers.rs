//! The "Leavers" section's context: the rows of terminations.csv as the
//! page shows them, the counts per verdict and the delay chart. Every value
//! here was decided in `crate::leavers`; this only lays it out.

use serde::Serialize;

use crate::leavers::{DelayChart, Leavers, Period, Termination, Verdict, hours};

/// Rows shown in the page (the longest lists would slow a browser for no
/// reader); terminations.csv has them all.
pub const MAX_ROWS: usize = 500;

#[derive(Serialize)]
pub struct LeaversView<'a> {
    pub period: &'a Period,
    pub sla_hours: u32,
    pub total: usize,
    pub shown: usize,
    pub counts: Vec<VerdictCount>,
    pub rows: Vec<LeaverRow<'a>>,
    pub chart: &'a DelayChart,
    /// The evidence read beyond the snapshot and the exports.
    pub inputs: &'a [String],
}

#[derive(Serialize)]
pub struct VerdictCount {
    pub verdict: &'static str,
    pub count: usize,
}

#[derive(Serialize)]
pub struct LeaverRow<'a> {
    pub person: &'a str,
    pub person_name: &'a str,
    pub terminated_at: String,
    pub termination_source: &'a str,
    pub agent_id: u64,
    pub agent_email: &'a str,
    pub agent_status: &'static str,
    pub seen_until: String,
    pub removed_by: String,
    pub max_delay_hours: String,
    pub verdict: &'static str,
    /// Every observation, best source first.
    pub evidence: Vec<String>,
}

impl<'a> LeaversView<'a> {
    pub fn new(leavers: &'a Leavers) -> LeaversView<'a> {
        // Worst first, so a truncated table still shows every late removal.
        let mut rows: Vec<&Termination> = leavers.rows.iter().collect();
        rows.sort_by_key(|r| (r.verdict.rank(), r.terminated_at));
        let rows: Vec<LeaverRow> = rows.into_iter().take(MAX_ROWS).map(row).collect();
        LeaversView {
            period: &leavers.period,
            sla_hours: leavers.sla_hours,
            total: leavers.rows.len(),
            shown: rows.len(),
            counts: leavers
                .by_verdict()
                .into_iter()
                .map(|(v, count)| VerdictCount {
                    verdict: v.as_str(),
                    count,
                })
                .collect(),
            rows,
            chart: &leavers.chart,
            inputs: &leavers.inputs,
        }
    }
}

fn row(r: &Termination) -> LeaverRow<'_> {
    let max_delay = match (r.verdict, r.max_delay()) {
        (Verdict::StillActive, _) | (_, None) => format!("≥ {}", hours(r.min_delay())),
        (_, Some(d)) => hours(d),
    };
    LeaverRow {
        person: &r.person,
        person_name: &r.person_name,
        terminated_at: r.terminated_at.to_string(),
        termination_source: &r.termination_source,
        agent_id: r.agent_id,
        agent_email: &r.agent_email,
        agent_status: r.agent_state.as_str(),
        seen_until: r.window.seen_until.to_string(),
        removed_by: r.window.removed_by.map(|t| t.to_string()).unwrap_or_default(),
        max_delay_hours: max_delay,
        verdict: r.verdict.as_str(),
        evidence: r.evidence.iter().map(|o| o.describe()).collect(),
    }
}
