//! The small context the page frame is rendered from: headline figures, the
//! completeness checks, chart geometry and the rule catalogue. Rows and agent
//! panels are rendered one by one elsewhere and never copied in here.

use std::collections::BTreeMap;

use serde::Serialize;

use super::super::view::ReportData;
use super::super::{AmbiguousMatch, InputFile, Population, SuppressedRow, UnclassifiedRole};
use crate::idp::{Assignments, IdpSource};
use crate::model::Completeness;
use crate::model::SnapshotMeta;
use crate::policy::Exception;
use crate::rules::{ALL_RULES, Severity};

/// Above this many findings a row links to its rule's explanation instead of
/// repeating it: at 20,000 findings the repeats alone would be ~6 MB.
pub const INLINE_RULE_TEXT_MAX: usize = 2_000;

/// Rows per page of the script's pager.
pub const PAGE_SIZE: usize = 100;

/// Lists longer than this keep only their first page as live markup and the
/// rest in a `<noscript>`, which a browser running the script loads as one
/// string: parse time follows the node count, and 20,000 live agent panels
/// and findings take a browser ~15 s to parse against ~1.5 s this way.
pub const LIVE_MAX: usize = 2_000;

/// How many of `n` items are rendered live, ahead of the `<noscript>` rest.
pub fn live_count(n: usize) -> usize {
    if n <= LIVE_MAX { n } else { PAGE_SIZE }
}

#[derive(Serialize)]
pub struct Page<'a> {
    pub tool_version: &'a str,
    /// The account's domain; several accounts' joined by `, `.
    pub domain: String,
    pub as_of: String,
    pub as_of_source: &'a str,
    pub collected_at: String,
    pub started_at: String,
    pub meta: &'a SnapshotMeta,
    /// `acme.freshdesk.com over HTTPS`: the base URL without its scheme, so the
    /// page holds no `http://` a self-containment check would trip on.
    pub collected_from: String,
    pub completeness: Completeness,
    pub population: &'a Population,
    pub population_chart: Chart,
    pub severities: Vec<Count>,
    pub severity_chart: Chart,
    pub rule_chart: Chart,
    pub rules: Vec<RuleLine>,
    pub findings_count: usize,
    pub agents_count: usize,
    pub page_size: usize,
    /// The list has a `<noscript>` rest after its first page.
    pub findings_lazy: bool,
    pub agents_lazy: bool,
    pub agents_with_findings: usize,
    pub suppressed_count: usize,
    /// Values offered by the filters: only those present in the findings.
    pub filter_rules: Vec<&'static str>,
    pub inline_rule_text: bool,
    /// One per account: the snapshot each account's population was read from.
    pub snapshots: Vec<SnapshotLine<'a>>,
    pub idp_sources: Vec<Source<'a>>,
    pub assignments: Option<&'a Assignments>,
    pub policy_file: Option<&'a InputFile>,
    /// `audit --watch`'s events file (leavers).
    pub watch: Option<&'a InputFile>,
    pub exceptions: Vec<ExceptionLine<'a>>,
    pub suppressed: &'a [SuppressedRow],
    pub unclassified_roles: &'a [UnclassifiedRole],
    pub ambiguous: &'a [AmbiguousMatch],
    pub diff: Option<&'a crate::diff::Diff>,
    /// Entries shown per list of the diff (diff.json has them all).
    pub diff_limit: usize,
    /// The review period's leavers, where the audit computed them.
    pub leavers: Option<super::leavers::LeaversView<'a>>,
}

#[derive(Serialize)]
pub struct Count {
    pub label: &'static str,
    pub count: u64,
}

/// A snapshot in the Evidence and Inputs lists; `domain` only where the
/// review covers several accounts (one account's page reads as before).
#[derive(Serialize)]
pub struct SnapshotLine<'a> {
    pub domain: Option<&'a str>,
    pub file: &'a InputFile,
    pub agents: u64,
}

/// An IdP export with its file name split off, for a readable table.
#[derive(Serialize)]
pub struct Source<'a> {
    pub file: String,
    #[serde(flatten)]
    pub source: &'a IdpSource,
}

/// A policy exception, and whether it had lapsed by the as-of.
#[derive(Serialize)]
pub struct ExceptionLine<'a> {
    #[serde(flatten)]
    pub exception: &'a Exception,
    pub expired: bool,
}

/// One rule of the catalogue: what it flags, what to do, and whether it ran.
#[derive(Serialize)]
pub struct RuleLine {
    pub id: &'static str,
    pub severity: &'static str,
    pub ran: bool,
    pub count: u64,
    pub summary: &'static str,
    pub action: &'static str,
    pub controls: &'static [&'static str],
}

/// A horizontal bar chart, laid out here so the SVG needs no script.
#[derive(Serialize)]
pub struct Chart {
    pub title: String,
    pub width: u32,
    pub height: u32,
    pub label_width: u32,
    pub bars: Vec<Bar>,
}

#[derive(Serialize)]
pub struct Bar {
    pub label: String,
    pub count: u64,
    /// CSS class of the fill: `sev-critical`, `st-active`, ...
    pub class: String,
    pub y: u32,
    pub width: u32,
    /// Link target of the label, e.g. `#rule-orphaned-agent`.
    pub href: Option<String>,
}

const BAR_HEIGHT: u32 = 22;
const BAR_GAP: u32 = 8;

impl Chart {
    /// `width` is the SVG's own width; it scales down in a narrow column.
    fn new(
        title: String,
        width: u32,
        label_width: u32,
        bars: Vec<(String, u64, String, Option<String>)>,
    ) -> Chart {
        let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
        // Room on the right for the count printed after the longest bar.
        let span = width - label_width - 60;
        let bars: Vec<Bar> = bars
            .into_iter()
            .enumerate()
            .map(|(i, (label, count, class, href))| Bar {
                y: i as u32 * (BAR_HEIGHT + BAR_GAP),
                // A non-zero count always shows at least a sliver.
                width: match count {
                    0 => 0,
                    n => ((n as f64 / max as f64) * f64::from(span)).round().max(2.0) as u32,
                },
                label,
                count,
                class,
                href,
            })
            .collect();
        Chart {
            title,
            width,
            height: (bars.len() as u32 * (BAR_HEIGHT + BAR_GAP)).max(BAR_HEIGHT),
            label_width,
            bars,
        }
    }
}

impl<'a> Page<'a> {
    pub fn new(data: &'a ReportData) -> Page<'a> {
        let run = &data.run;
        let summary = &data.summary;
        let severities: Vec<Count> = Severity::ALL
            .iter()
            .map(|s| Count {
                label: s.as_str(),
                count: summary.by_severity.get(s.as_str()).copied().unwrap_or(0),
            })
            .collect();
        let rules = rule_lines(data);
        let p = &summary.population;
        let population_chart = Chart::new(
            "Agents by status".into(),
            440,
            100,
            [
                ("active", p.active),
                ("pending", p.pending),
                ("deactivated", p.deactivated),
            ]
            .into_iter()
            .map(|(s, n)| (s.to_owned(), n, format!("st-{s}"), None))
            .collect(),
        );
        let severity_chart = Chart::new(
            "Findings by severity".into(),
            440,
            100,
            severities
                .iter()
                .map(|c| (c.label.to_owned(), c.count, format!("sev-{}", c.label), None))
                .collect(),
        );
        let mut by_count: Vec<&RuleLine> = rules.iter().filter(|r| r.ran).collect();
        by_count.sort_by_key(|r| (std::cmp::Reverse(r.count), severity_rank(r.severity), r.id));
        let rule_chart = Chart::new(
            "Findings by rule".into(),
            600,
            190,
            by_count
                .iter()
                .map(|r| {
                    (
                        r.id.to_owned(),
                        r.count,
                        format!("sev-{}", r.severity),
                        Some(format!("#rule-{}", r.id)),
                    )
                })
                .collect(),
        );
        let filter_rules = rules.iter().filter(|r| r.count > 0).map(|r| r.id).collect();
        Page {
            tool_version: &run.tool_version,
            domain: run
                .accounts
                .iter()
                .map(|a| a.meta.domain.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            as_of: run.as_of.to_string(),
            as_of_source: &run.as_of_source,
            collected_at: run.snapshot_meta.collected_at.to_string(),
            started_at: run.snapshot_meta.started_at.to_string(),
            meta: &run.snapshot_meta,
            collected_from: collected_from(&run.snapshot_meta),
            completeness: data.completeness(),
            population: p,
            population_chart,
            severities,
            severity_chart,
            rule_chart,
            rules,
            findings_count: data.findings.len(),
            agents_count: data.agents.len(),
            page_size: PAGE_SIZE,
            findings_lazy: live_count(data.findings.len()) < data.findings.len(),
            agents_lazy: live_count(data.agents.len()) < data.agents.len(),
            agents_with_findings: data.agents.iter().filter(|a| !a.findings.is_empty()).count(),
            suppressed_count: data.suppressed.len(),
            filter_rules,
            inline_rule_text: data.findings.len() <= INLINE_RULE_TEXT_MAX,
            snapshots: snapshot_lines(run),
            idp_sources: run
                .idp_sources
                .iter()
                .map(|s| Source {
                    file: file_name(&s.path),
                    source: s,
                })
                .collect(),
            assignments: run.assignments.as_ref(),
            policy_file: run.policy_file.as_ref(),
            watch: run.watch.as_ref(),
            exceptions: run
                .policy
                .exceptions
                .iter()
                .map(|e| ExceptionLine {
                    exception: e,
                    expired: e.expires <= run.as_of,
                })
                .collect(),
            suppressed: &data.suppressed,
            unclassified_roles: &data.unclassified_roles,
            ambiguous: &data.ambiguous,
            diff: data.diff.as_ref(),
            diff_limit: 200,
            leavers: data.leavers.as_ref().map(super::leavers::LeaversView::new),
        }
    }
}

/// Every rule of the catalogue, in catalogue order, with the severity its
/// findings carry (the policy may override the default) and its count.
fn rule_lines(data: &ReportData) -> Vec<RuleLine> {
    let counts: &BTreeMap<&str, u64> = &data.summary.by_rule;
    ALL_RULES
        .iter()
        .map(|rule| {
            let meta = rule.meta();
            let ran = data.run.rules_run.contains(&meta.id);
            RuleLine {
                id: meta.id,
                severity: data.run.policy.severity_for(meta.id, meta.severity).as_str(),
                ran,
                count: counts.get(meta.id).copied().unwrap_or(0),
                summary: meta.summary,
                action: meta.action,
                controls: meta.controls,
            }
        })
        .collect()
}

fn collected_from(meta: &SnapshotMeta) -> String {
    let url = meta.base_url.trim();
    if let Some(rest) = url.strip_prefix("https://") {
        format!("{} over HTTPS", rest.trim_end_matches('/'))
    } else if let Some(rest) = url.strip_prefix("http://") {
        format!("{} over plain HTTP", rest.trim_end_matches('/'))
    } else if url.is_empty() {
        meta.domain.clone()
    } else {
        url.to_owned()
    }
}

/// 0 for critical … 4 for info; 5 for anything else.
fn severity_rank(severity: &str) -> usize {
    Severity::ALL
        .iter()
        .position(|s| s.as_str() == severity)
        .unwrap_or(Severity::ALL.len())
}

fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_owned(), |f| f.to_string_lossy().into_owned())
}

/// Every account's snapshot, in the audit's order (the run's own snapshot
/// where no account list was recorded).
fn snapshot_lines(run: &super::super::RunInfo) -> Vec<SnapshotLine<'_>> {
    let several = run.accounts.len() > 1;
    if run.accounts.is_empty() {
        return vec![SnapshotLine {
            domain: None,
            file: &run.snapshot,
            agents: 0,
        }];
    }
    run.accounts
        .iter()
        .map(|a| SnapshotLine {
            domain: several.then_some(a.meta.domain.as_str()),
            file: &a.snapshot,
            agents: a.agents,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_zero_stays_empty() {
        let chart = Chart::new(
            "t".into(),
            560,
            100,
            vec![
                ("a".into(), 10, "x".into(), None),
                ("b".into(), 5, "x".into(), None),
                ("c".into(), 0, "x".into(), None),
                ("d".into(), 1, "x".into(), None),
            ],
        );
        let widths: Vec<u32> = chart.bars.iter().map(|b| b.width).collect();
        assert_eq!(widths, [400, 200, 0, 40]);
        assert_eq!(chart.bars[1].y, BAR_HEIGHT + BAR_GAP);
        assert_eq!(chart.height, 4 * (BAR_HEIGHT + BAR_GAP));
    }

    #[test]
    fn tiny_counts_still_show_a_sliver() {
        let chart = Chart::new(
            "t".into(),
            560,
            100,
            vec![
                ("a".into(), 10_000, "x".into(), None),
                ("b".into(), 1, "x".into(), None),
            ],
        );
        assert_eq!(chart.bars[1].width, 2);
    }

    #[test]
    fn only_long_lists_are_split() {
        assert_eq!(live_count(0), 0);
        assert_eq!(live_count(LIVE_MAX), LIVE_MAX);
        assert_eq!(live_count(LIVE_MAX + 1), PAGE_SIZE);
    }

    #[test]
    fn collected_from_names_the_host_and_the_transport() {
        let meta = |base_url: &str| SnapshotMeta {
            domain: "acme".into(),
            base_url: base_url.into(),
            ..SnapshotMeta::default()
        };
        for (base_url, shown) in [
            ("https://acme.freshdesk.com/", "acme.freshdesk.com over HTTPS"),
            ("http://127.0.0.1:8080/", "127.0.0.1:8080 over plain HTTP"),
            ("", "acme"),
        ] {
            assert_eq!(collected_from(&meta(base_url)), shown);
        }
    }

    #[test]
    fn severity_rank_orders_critical_first() {
        assert_eq!(severity_rank("critical"), 0);
        assert_eq!(severity_rank("info"), 4);
        assert_eq!(severity_rank("bogus"), 5);
    }
}
