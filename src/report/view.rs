//! The one view of an audit that every renderer reads: findings joined with
//! the agent's roles, groups and identities, plus the run's provenance.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::graph::IdentityGraph;
use crate::idp::IdpSource;
use crate::model::{AgentStatus, SnapshotMeta};
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

pub struct ReportData {
    pub run: RunInfo,
    pub unclassified_roles: Vec<UnclassifiedRole>,
    pub summary: Summary,
    pub findings: Vec<FindingRow>,
    pub suppressed: Vec<SuppressedRow>,
    pub ambiguous: Vec<AmbiguousMatch>,
}

impl ReportData {
    pub fn build(graph: &IdentityGraph, set: &FindingSet, run: RunInfo) -> ReportData {
        let mut population = Population::default();
        for (_, agent) in graph.agents() {
            match agent.status {
                AgentStatus::Active => population.active += 1,
                AgentStatus::Pending => population.pending += 1,
                AgentStatus::Deactivated => population.deactivated += 1,
            }
        }
        let findings: Vec<FindingRow> = set.findings.iter().map(|f| row(graph, f)).collect();
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
                suppressed: set.suppressed.len() as u64,
            },
            findings,
            suppressed: set
                .suppressed
                .iter()
                .map(|(f, e)| SuppressedRow {
                    finding: row(graph, f),
                    exception: e.clone(),
                })
                .collect(),
            ambiguous: ambiguous(graph),
        }
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

fn row(graph: &IdentityGraph, f: &Finding) -> FindingRow {
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
        detail: f.detail.clone(),
        summary: f.rule.summary,
        action: f.rule.action,
        controls: f.rule.controls,
        evidence: f.evidence.clone(),
    }
}
