//! The one view of an audit that every renderer reads: findings joined with
//! the agent's roles, groups and identities, plus the run's provenance.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rayon::prelude::*;
use serde::Serialize;

use crate::graph::IdentityGraph;
use crate::idp::IdpSource;
use crate::model::{AgentStatus, Integrity, SnapshotMeta};
use crate::policy::Policy;
use crate::rules::registry::FindingSet;
use crate::rules::{Evidence, Finding};

#[derive(Clone, Debug, Serialize)]
pub struct InputFile {
    pub path: String,
    pub sha256: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    pub tool_version: String,
    pub as_of: Timestamp,
    pub as_of_source: String,
    pub snapshot: InputFile,
    pub snapshot_meta: SnapshotMeta,
    /// Whether the snapshot's data matched its recorded hash.
    pub snapshot_integrity: Integrity,
    pub idp_sources: Vec<IdpSource>,
    pub assignments: Option<crate::idp::Assignments>,
    pub policy_file: Option<InputFile>,
    pub policy: Policy,
    pub rules_run: Vec<&'static str>,
}

/// One row of findings.csv, and one element of findings.json's `findings`.
#[derive(Clone, Debug, Serialize)]
pub struct FindingRow {
    pub finding_id: String,
    pub rule: &'static str,
    pub severity: &'static str,
    pub agent_id: u64,
    pub agent_email: String,
    pub agent_name: String,
    pub agent_status: &'static str,
    pub roles: String,
    pub groups: String,
    pub ticket_scope: String,
    pub idp_source: String,
    pub idp_status: String,
    pub idp_last_login: String,
    pub detail: String,
    pub summary: &'static str,
    pub action: &'static str,
    pub controls: &'static [&'static str],
    pub evidence: Evidence,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Population {
    pub active: u64,
    pub pending: u64,
    pub deactivated: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub population: Population,
    pub by_rule: BTreeMap<&'static str, u64>,
    pub by_severity: BTreeMap<&'static str, u64>,
    /// Findings accepted by an unexpired exception (not counted above).
    pub suppressed: u64,
}

/// An agent whose identities disagree (one active, another terminated): the
/// rules treat "any active" as active, so a reviewer should look.
#[derive(Clone, Debug, Serialize)]
pub struct AmbiguousMatch {
    pub agent_id: u64,
    pub agent_email: String,
    pub agent_status: &'static str,
    /// `source line: login [raw status → status] (how matched)`, one per identity.
    pub identities: Vec<String>,
}

/// A finding an unexpired exception accepts, with who accepted it and why.
#[derive(Clone, Debug, Serialize)]
pub struct SuppressedRow {
    #[serde(flatten)]
    pub finding: FindingRow,
    pub exception: crate::policy::Exception,
}

/// A custom role the policy has not classified, with who holds it.
#[derive(Clone, Debug, Serialize)]
pub struct UnclassifiedRole {
    pub role_id: u64,
    pub name: String,
    /// Emails of active or pending holders.
    pub holders: Vec<String>,
}

/// One agent in the report's order, with the findings on them. Their
/// permission surface ([`crate::graph::surface::surface`]) is computed when
/// the HTML is written, not kept for all agents at once.
#[derive(Clone, Debug)]
pub struct AgentEntry {
    /// Index into the graph's agents.
    pub agent: usize,
    /// The most severe finding on the agent (`critical` … `info`), if any.
    pub worst_severity: Option<&'static str>,
    /// Indexes into [`ReportData::findings`], in their order.
    pub findings: Vec<usize>,
    /// Indexes into [`ReportData::suppressed`].
    pub suppressed: Vec<usize>,
}

/// Whether the snapshot shows (rather than claims) that every agent was found.
#[derive(Clone, Debug, Serialize)]
pub struct Completeness {
    /// `complete` (every check passed), `incomplete` (one failed) or
    /// `unproven` (none failed, but one could not be made).
    pub verdict: &'static str,
    /// Agents in the snapshot, every status.
    pub found: u64,
    /// What `GET /api/v2/account` reported, when it did.
    pub account_total: Option<u64>,
    pub checks: Vec<CompletenessCheck>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CompletenessCheck {
    /// `pass`, `warn` or `fail`.
    pub outcome: &'static str,
    pub text: String,
}

pub struct ReportData {
    pub run: RunInfo,
    pub unclassified_roles: Vec<UnclassifiedRole>,
    pub summary: Summary,
    pub findings: Vec<FindingRow>,
    pub suppressed: Vec<SuppressedRow>,
    pub ambiguous: Vec<AmbiguousMatch>,
    /// Every agent, most severe findings first, then by email and id.
    pub agents: Vec<AgentEntry>,
    /// What changed since the previous review (`audit --previous-run`).
    pub diff: Option<crate::diff::Diff>,
}

impl ReportData {
    /// Takes the findings by value: their evidence moves into the rows
    /// rather than being copied (at 20,000 agents it is tens of MiB).
    pub fn build(graph: &IdentityGraph, set: FindingSet, run: RunInfo) -> ReportData {
        let mut population = Population::default();
        for (_, agent) in graph.agents() {
            match agent.status {
                AgentStatus::Active => population.active += 1,
                AgentStatus::Pending => population.pending += 1,
                AgentStatus::Deactivated => population.deactivated += 1,
            }
        }
        let agents = agents(graph, &set);
        let FindingSet {
            findings, suppressed, ..
        } = set;
        let suppressed_count = suppressed.len() as u64;
        let findings: Vec<FindingRow> = findings.into_par_iter().map(|f| row(graph, f)).collect();
        let mut by_rule: BTreeMap<&'static str, u64> = run.rules_run.iter().map(|r| (*r, 0)).collect();
        let mut by_severity = BTreeMap::new();
        for f in &findings {
            *by_rule.entry(f.rule).or_insert(0) += 1;
            *by_severity.entry(f.severity).or_insert(0) += 1;
        }
        let unclassified_roles = unclassified_roles(graph, &run.policy);
        ReportData {
            unclassified_roles,
            run,
            summary: Summary {
                population,
                by_rule,
                by_severity,
                suppressed: suppressed_count,
            },
            findings,
            suppressed: suppressed
                .into_iter()
                .map(|(f, exception)| SuppressedRow {
                    finding: row(graph, f),
                    exception,
                })
                .collect(),
            ambiguous: ambiguous(graph),
            diff: None,
            agents,
        }
    }

    /// The population checks an auditor asks for first, from the snapshot's
    /// record of how it was collected.
    pub fn completeness(&self) -> Completeness {
        completeness(
            &self.run.snapshot_meta,
            &self.run.snapshot_integrity,
            &self.summary.population,
        )
    }
}

/// Every agent in the report's order, with the findings on them.
fn agents(graph: &IdentityGraph, set: &FindingSet) -> Vec<AgentEntry> {
    let count = graph.agents().count();
    let mut findings: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (k, f) in set.findings.iter().enumerate() {
        findings[f.agent].push(k);
    }
    let mut suppressed: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (k, (f, _)) in set.suppressed.iter().enumerate() {
        suppressed[f.agent].push(k);
    }
    let mut agents: Vec<AgentEntry> = findings
        .into_iter()
        .zip(suppressed)
        .enumerate()
        .map(|(agent, (findings, suppressed))| AgentEntry {
            agent,
            // Findings are sorted most severe first, so the first is the worst.
            worst_severity: findings.first().map(|&k| set.findings[k].severity.as_str()),
            findings,
            suppressed,
        })
        .collect();
    let rank = |a: &AgentEntry| {
        a.worst_severity
            .and_then(|s| crate::rules::Severity::ALL.iter().position(|x| x.as_str() == s))
            .unwrap_or(crate::rules::Severity::ALL.len())
    };
    agents.sort_by_cached_key(|a| {
        let agent = graph.agent(a.agent);
        let email = agent.email.as_deref().unwrap_or_default().to_lowercase();
        (rank(a), email, agent.id)
    });
    agents
}

fn completeness(meta: &SnapshotMeta, integrity: &Integrity, population: &Population) -> Completeness {
    let found = population.active + population.pending + population.deactivated;
    let mut checks = Vec::new();
    let mut check = |outcome: &'static str, text: String| checks.push(CompletenessCheck { outcome, text });
    // Whatever the collector proved, it proved of the data it hashed.
    match integrity {
        Integrity::Verified => check(
            "pass",
            "the snapshot's data matches the SHA-256 the collector recorded".into(),
        ),
        Integrity::Edited { .. } => check(
            "fail",
            "the snapshot's data does not match the SHA-256 the collector recorded: it was edited after collection and audited only because --accept-edited-snapshot said so".into(),
        ),
    }
    // A channel "ended well" when the collector recorded it as complete; the
    // collector writes no snapshot at all when a channel fails.
    let finished = |name: &str| {
        meta.channels
            .iter()
            .any(|c| c.name == name && c.outcome.starts_with("complete"))
    };
    if meta.channels.is_empty() {
        check(
            "warn",
            "the snapshot records no discovery channels, so how agents were found cannot be shown".into(),
        );
    } else if finished("GET /api/v2/agents") {
        check("pass", "the agent list was read to its last page".into());
    } else {
        check(
            "fail",
            "the snapshot does not show the agent list read to its last page".into(),
        );
    }
    if !meta.channels.is_empty() {
        let deactivated = [
            "GET /api/v2/agents?only=availability",
            "GET /api/v2/agents?active=false",
        ];
        if deactivated.iter().any(|c| finished(c)) {
            check(
                "pass",
                "deactivated agents were listed too (a channel that returns them completed)".into(),
            );
        } else {
            check(
                "warn",
                "no channel that lists deactivated agents completed: deactivated agents may be missing"
                    .into(),
            );
        }
    }
    match meta.account_total_agents {
        Some(total) if found >= total => check(
            "pass",
            format!("the account reports {total} agents and {found} were found"),
        ),
        Some(total) => check(
            "fail",
            format!("the account reports {total} agents but only {found} were found"),
        ),
        None => check(
            "warn",
            "the account did not report an agent total, so the count could not be cross-checked".into(),
        ),
    }
    let verdict = if checks.iter().any(|c| c.outcome == "fail") {
        "incomplete"
    } else if checks.iter().any(|c| c.outcome == "warn") {
        "unproven"
    } else {
        "complete"
    };
    Completeness {
        verdict,
        found,
        account_total: meta.account_total_agents,
        checks,
    }
}

fn unclassified_roles(graph: &IdentityGraph, policy: &Policy) -> Vec<UnclassifiedRole> {
    let holders = graph.holders_by_role();
    graph
        .directory
        .roles
        .values()
        .filter(|r| policy.is_unclassified(r.id, &r.name, r.default))
        .map(|r| UnclassifiedRole {
            role_id: r.id,
            name: r.name.clone(),
            holders: holders
                .get(&r.id)
                .into_iter()
                .flatten()
                .map(|&i| graph.agent(i))
                .filter(|a| a.status.holds_access())
                .map(|a| a.email.clone().unwrap_or_default())
                .collect(),
        })
        .collect()
}

fn ambiguous(graph: &IdentityGraph) -> Vec<AmbiguousMatch> {
    graph
        .agents()
        .filter_map(|(i, agent)| {
            let links = graph.identities_of(i);
            let terminated = links.iter().filter(|l| l.identity.status.is_terminated()).count();
            if terminated == 0 || terminated == links.len() {
                return None;
            }
            Some(AmbiguousMatch {
                agent_id: agent.id,
                agent_email: agent.email.clone().unwrap_or_default(),
                agent_status: agent.status.as_str(),
                identities: links
                    .iter()
                    .map(|l| {
                        let id = l.identity;
                        format!(
                            "{} #{}: {} [{} → {}] ({})",
                            graph.source_label(id.source),
                            id.line,
                            id.login,
                            id.raw_status,
                            id.status.as_str(),
                            l.method.as_str()
                        )
                    })
                    .collect(),
            })
        })
        .collect()
}

fn row(graph: &IdentityGraph, f: Finding) -> FindingRow {
    let agent = graph.agent(f.agent);
    let dir = &graph.directory;
    let join = |items: Vec<String>| items.join(";");
    let links = graph.identities_of(f.agent);
    FindingRow {
        finding_id: f.id(),
        rule: f.rule.id,
        severity: f.severity.as_str(),
        agent_id: agent.id,
        agent_email: agent.email.clone().unwrap_or_default(),
        agent_name: agent.name.clone(),
        agent_status: agent.status.as_str(),
        roles: join(
            graph
                .role_ids_of(f.agent)
                .into_iter()
                .map(|r| dir.role_name(r))
                .collect(),
        ),
        groups: join(
            graph
                .group_ids_of(f.agent)
                .into_iter()
                .map(|g| dir.group_name(g))
                .collect(),
        ),
        ticket_scope: graph
            .scope_of(f.agent)
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        idp_source: join(
            links
                .iter()
                .map(|l| graph.source_label(l.identity.source))
                .collect(),
        ),
        idp_status: join(
            links
                .iter()
                .map(|l| l.identity.status.as_str().to_owned())
                .collect(),
        ),
        idp_last_login: join(
            links
                .iter()
                .map(|l| l.identity.last_login.map(|t| t.to_string()).unwrap_or_default())
                .collect(),
        ),
        detail: f.detail,
        summary: f.rule.summary,
        action: f.rule.action,
        controls: f.rule.controls,
        evidence: f.evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::snapshot::ChannelRecord;

    fn channel(name: &str, outcome: &str) -> ChannelRecord {
        ChannelRecord {
            name: name.into(),
            outcome: outcome.into(),
            ..ChannelRecord::default()
        }
    }

    #[test]
    fn completeness_verdicts() {
        let agents = channel("GET /api/v2/agents", "complete (short page)");
        let deactivated = channel("GET /api/v2/agents?only=availability", "complete (short page)");
        let population = Population {
            active: 5,
            pending: 1,
            deactivated: 2,
        };
        // (case, channels, account total, verdict, check outcomes)
        type Case = (
            &'static str,
            Vec<ChannelRecord>,
            Option<u64>,
            &'static str,
            [&'static str; 3],
        );
        let cases: [Case; 5] = [
            (
                "all shown",
                vec![agents.clone(), deactivated.clone()],
                Some(6),
                "complete",
                ["pass"; 3],
            ),
            (
                "fewer found than the account reports",
                vec![agents.clone(), deactivated.clone()],
                Some(9),
                "incomplete",
                ["pass", "pass", "fail"],
            ),
            (
                "no account total",
                vec![agents.clone(), deactivated.clone()],
                None,
                "unproven",
                ["pass", "pass", "warn"],
            ),
            (
                "deactivated agents never listed",
                vec![
                    agents.clone(),
                    channel("GET /api/v2/agents?active=false", "not offered"),
                ],
                Some(8),
                "unproven",
                ["pass", "warn", "pass"],
            ),
            (
                "agent list not read to the end",
                vec![channel("GET /api/v2/agents", "stopped"), deactivated.clone()],
                Some(8),
                "incomplete",
                ["fail", "pass", "pass"],
            ),
        ];
        for (name, channels, total, verdict, outcomes) in cases {
            let meta = SnapshotMeta {
                channels,
                account_total_agents: total,
                ..SnapshotMeta::default()
            };
            let c = completeness(&meta, &Integrity::Verified, &population);
            assert_eq!(c.verdict, verdict, "{name}");
            assert_eq!(c.found, 8, "{name}");
            let got: Vec<&str> = c.checks.iter().map(|c| c.outcome).collect();
            assert_eq!(got[0], "pass", "{name}: the data's hash");
            assert_eq!(got[1..], outcomes, "{name}");
            let edited = Integrity::Edited {
                recorded: String::new(),
                computed: "ab".repeat(32),
            };
            let c = completeness(&meta, &edited, &population);
            assert_eq!((c.verdict, c.checks[0].outcome), ("incomplete", "fail"), "{name}");
        }
    }

    #[test]
    fn a_snapshot_without_a_discovery_record_proves_nothing() {
        let c = completeness(
            &SnapshotMeta::default(),
            &Integrity::Verified,
            &Population::default(),
        );
        assert_eq!(c.verdict, "unproven");
        let got: Vec<&str> = c.checks.iter().map(|c| c.outcome).collect();
        assert_eq!(got, ["pass", "warn", "warn"]);
    }

    #[test]
    fn agents_are_listed_worst_first_with_their_findings() {
        let graph = crate::graph::surface::tests::sample_graph();
        let policy = Policy::default();
        let set = crate::rules::registry::run(&crate::rules::AuditContext {
            graph: &graph,
            policy: &policy,
            as_of: "2026-01-01T00:00:00Z".parse().expect("ts"),
        });
        let agents = agents(&graph, &set);
        assert_eq!(agents.len(), 2);
        for a in &agents {
            for &k in &a.findings {
                assert_eq!(set.findings[k].agent_id, graph.agent(a.agent).id);
            }
        }
        let ranks: Vec<usize> = agents
            .iter()
            .map(|a| {
                a.worst_severity.map_or(5, |s| {
                    crate::rules::Severity::ALL
                        .iter()
                        .position(|x| x.as_str() == s)
                        .unwrap_or(5)
                })
            })
            .collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    }
}
