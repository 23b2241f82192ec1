//! Each leaver's largest delay against the SLA line, laid out here (a log
//! scale of hours: delays run from minutes to months) so the report only
//! draws the numbers.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Termination;
use super::evidence::{Verdict, hours};

/// At most this many leavers are drawn (the longest delays); the table and
/// terminations.csv have them all.
pub const MAX_BARS: usize = 200;

const WIDTH: u32 = 720;
const LABEL_WIDTH: u32 = 230;
/// Room on the right for the value printed after the longest bar.
const VALUE_ROOM: u32 = 150;
const BAR_HEIGHT: u32 = 18;
const BAR_GAP: u32 = 6;
const AXIS: u32 = 22;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DelayChart {
    pub width: u32,
    pub height: u32,
    pub label_width: u32,
    /// Where the bars' area ends (the axis line's length).
    pub plot_end: u32,
    /// Where the axis and its labels stand.
    pub axis_y: u32,
    pub sla_x: u32,
    pub sla_label: String,
    pub ticks: Vec<Tick>,
    pub bars: Vec<DelayBar>,
    /// Leavers in all (bars are the first [`MAX_BARS`] by delay).
    pub leavers: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tick {
    pub x: u32,
    pub label: &'static str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DelayBar {
    pub person: String,
    pub y: u32,
    pub width: u32,
    /// The person's worst verdict: `in-time`, `late`, `unproven`, `still-active`.
    pub verdict: &'static str,
    /// `31.5 h`, `≥ 1464.0 h (still active)`.
    pub value: String,
}

/// One person's largest delay over their agents, and whether it is only a
/// minimum (access not shown gone).
struct Delay {
    person: String,
    seconds: i64,
    open: bool,
    verdict: Verdict,
}

impl DelayChart {
    pub fn new(rows: &[Termination], sla_hours: u32) -> DelayChart {
        let mut people: BTreeMap<usize, Delay> = BTreeMap::new();
        for row in rows {
            let (delay, open) = match row.max_delay() {
                Some(d) if row.verdict != Verdict::StillActive => (d, false),
                _ => (row.min_delay(), true),
            };
            let entry = people.entry(row.identity).or_insert_with(|| Delay {
                person: row.person.clone(),
                seconds: i64::MIN,
                open: false,
                verdict: row.verdict,
            });
            if delay.as_secs() > entry.seconds {
                entry.seconds = delay.as_secs();
                entry.open = open;
            }
            if row.verdict.rank() < entry.verdict.rank() {
                entry.verdict = row.verdict;
            }
        }
        let mut people: Vec<Delay> = people.into_values().collect();
        let leavers = people.len();
        people.sort_by(|a, b| b.seconds.cmp(&a.seconds).then_with(|| a.person.cmp(&b.person)));
        people.truncate(MAX_BARS);
        let longest = people.first().map_or(0.0, |d| d.seconds as f64 / 3600.0);
        // The axis reaches the next tick above both the longest delay and the SLA.
        let top = TICKS
            .iter()
            .map(|&(h, _)| h)
            .find(|&h| h >= longest.max(2.0 * f64::from(sla_hours)))
            .unwrap_or(longest.max(1.0));
        let plot_end = WIDTH - VALUE_ROOM;
        let x = |h: f64| scale(h, top, plot_end - LABEL_WIDTH);
        let bars: Vec<DelayBar> = people
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let h = d.seconds as f64 / 3600.0;
                let shown = hours(jiff::SignedDuration::from_secs(d.seconds));
                let value = match (d.verdict, d.open) {
                    (Verdict::StillActive, _) => format!("≥ {shown} h (still active)"),
                    (_, true) => format!("≥ {shown} h"),
                    _ => format!("{shown} h"),
                };
                DelayBar {
                    person: d.person.clone(),
                    y: i as u32 * (BAR_HEIGHT + BAR_GAP),
                    width: x(h),
                    verdict: d.verdict.as_str(),
                    value,
                }
            })
            .collect();
        let axis_y = (bars.len() as u32 * (BAR_HEIGHT + BAR_GAP)).max(BAR_HEIGHT);
        DelayChart {
            width: WIDTH,
            height: axis_y + AXIS,
            label_width: LABEL_WIDTH,
            plot_end,
            axis_y,
            sla_x: LABEL_WIDTH + x(f64::from(sla_hours)),
            sla_label: format!("SLA {sla_hours} h"),
            ticks: TICKS
                .iter()
                .filter(|&&(h, _)| h <= top)
                .map(|&(h, label)| Tick {
                    x: LABEL_WIDTH + x(h),
                    label,
                })
                .collect(),
            bars,
            leavers,
        }
    }
}

/// Axis marks, in hours.
const TICKS: &[(f64, &str)] = &[
    (1.0, "1 h"),
    (24.0, "1 d"),
    (168.0, "1 w"),
    (720.0, "30 d"),
    (2160.0, "90 d"),
    (8760.0, "1 y"),
    (87_600.0, "10 y"),
];

/// Width of `h` hours on a log scale where `top` hours take `span`: an hour
/// or less is the axis' start; any positive delay shows at least a sliver.
fn scale(h: f64, top: f64, span: u32) -> u32 {
    if h <= 0.0 {
        return 0;
    }
    let fraction = h.max(1.0).log10() / top.max(10.0).log10();
    ((fraction * f64::from(span)).round() as u32).clamp(2, span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leavers::{AgentState, Window};
    use crate::model::AgentStatus;
    use jiff::Timestamp;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("ts")
    }

    fn row(
        identity: usize,
        person: &str,
        upper_h: Option<i64>,
        lower_h: i64,
        verdict: Verdict,
    ) -> Termination {
        let t = ts("2026-08-01T00:00:00Z");
        let at = |h: i64| t + jiff::SignedDuration::from_hours(h);
        Termination {
            person: person.into(),
            person_name: String::new(),
            identity,
            idp_source: String::new(),
            identities: Vec::new(),
            terminated_at: t,
            termination_source: String::new(),
            agent: None,
            agent_id: identity as u64,
            account: String::new(),
            agent_email: String::new(),
            agent_state: AgentState::Current(AgentStatus::Deactivated),
            window: Window {
                seen_until: at(lower_h),
                removed_by: upper_h.map(at),
            },
            evidence: Vec::new(),
            verdict,
        }
    }

    #[test]
    fn one_bar_per_person_longest_first_with_the_worst_verdict() {
        let rows = [
            row(1, "a@x.test", Some(10), 0, Verdict::InTime),
            row(2, "b@x.test", Some(400), 0, Verdict::Unproven),
            // b's second agent: late, shorter.
            row(2, "b@x.test", Some(100), 90, Verdict::Late),
            row(3, "c@x.test", None, 1500, Verdict::StillActive),
            row(4, "d@x.test", Some(-5), 0, Verdict::InTime),
        ];
        let chart = DelayChart::new(&rows, 24);
        let got: Vec<(&str, &str, &str)> = chart
            .bars
            .iter()
            .map(|b| (b.person.as_str(), b.verdict, b.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("c@x.test", "still-active", "≥ 1500.0 h (still active)"),
                ("b@x.test", "late", "400.0 h"),
                ("a@x.test", "in-time", "10.0 h"),
                ("d@x.test", "in-time", "-5.0 h"),
            ]
        );
        assert_eq!(chart.leavers, 4);
        // 1500 h: the axis runs to 90 days; widths grow with the delay.
        assert_eq!(chart.ticks.last().map(|t| t.label), Some("90 d"));
        let widths: Vec<u32> = chart.bars.iter().map(|b| b.width).collect();
        assert!(widths.windows(2).all(|w| w[0] >= w[1]), "{widths:?}");
        assert_eq!(widths[3], 0, "removed before the termination: no bar");
        assert!(chart.sla_x > chart.label_width && chart.sla_x < chart.plot_end);
    }

    #[test]
    fn scale_is_logarithmic_and_bounded() {
        assert_eq!(scale(0.0, 720.0, 300), 0);
        assert_eq!(scale(0.5, 720.0, 300), 2, "a positive delay shows a sliver");
        assert_eq!(scale(720.0, 720.0, 300), 300);
        assert_eq!(scale(5000.0, 720.0, 300), 300);
        let day = scale(24.0, 720.0, 300);
        assert_eq!(day, (300.0 * 24f64.log10() / 720f64.log10()).round() as u32);
    }
}
