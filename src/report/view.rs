//! The one view of an audit that every renderer reads: findings joined with
//! the agent's roles, groups and identities, plus the run's provenance.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rayon::prelude::*;
use serde::Serialize;

use crate::graph::IdentityGraph;
use crate::idp::IdpSource;
use crate::model::{AgentStatus, Completeness, Integrity, SnapshotMeta};
use crate::policy::Policy;
use crate::rules::registry::FindingSet;
use crate::rules::{Evidence, Finding, RuleMeta};

#[derive(Clone, Debug, Serialize)]
pub struct InputFile {
    pub path: String,
    pub sha256: String,
}

/// One account's snapshot as an audit read it.
#[derive(Clone, Debug, Serialize)]
pub struct AccountInput {
    pub snapshot: InputFile,
    pub meta: SnapshotMeta,
    /// Whether the snapshot's data matched its recorded hash.
    pub integrity: Integrity,
    /// Agents the snapshot holds, every status.
    pub agents: u64,
}

impl AccountInput {
    /// Whether this account's population is shown complete.
    pub fn completeness(&self) -> Completeness {
        Completeness::of(&self.meta, &self.integrity, self.agents)
    }
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
    /// Every snapshot read, one per account, in the order given; the
    /// `snapshot*` fields above are the first's (the only one, mostly).
    pub accounts: Vec<AccountInput>,
    pub idp_sources: Vec<IdpSource>,
    pub assignments: Option<crate::idp::Assignments>,
    pub policy_file: Option<InputFile>,
    /// `audit --watch`'s events file, where one was read (leavers).
    pub watch: Option<InputFile>,
    pub policy: Policy,
    pub rules_run: Vec<&'static str>,
}

/// The Freshdesk account (its domain) a finding's agent is in: one shared
/// text per account, not a copy per row (a large audit holds 100,000 rows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account(std::sync::Arc<str>);

impl Account {
    pub fn new(domain: &str) -> Account {
        Account(domain.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Account {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// One row of findings.csv, and one element of findings.json's `findings`.
#[derive(Clone, Debug, Serialize)]
pub struct FindingRow {
    pub finding_id: String,
    pub rule: &'static str,
    pub severity: &'static str,
    /// The agent's account (`meta.domain` of its snapshot), in every run.
    pub account: Account,
    pub agent_id: u64,
    pub agent_email: String,
    pub agent_name: String,
    pub agent_status: &'static str,
    pub roles: String,
    pub groups: String,
    /// `Global`, `Group`, `Restricted`, or empty.
    pub ticket_scope: &'static str,
    pub idp_source: String,
    pub idp_status: String,
    pub idp_last_login: String,
    pub detail: String,
    /// `summary`, `action` and `controls`: the rule's own texts, one
    /// reference per row rather than three (a large audit holds 100,000 rows).
    #[serde(flatten)]
    pub text: RuleText,
    pub evidence: Evidence,
}

/// What a finding's rule says of every finding: serialised in place as
/// `summary`, `action` and `controls`.
#[derive(Clone, Copy, Debug)]
pub struct RuleText(pub &'static RuleMeta);

impl RuleText {
    /// One line: what the rule flags.
    pub fn summary(self) -> &'static str {
        self.0.summary
    }

    /// What the reviewer should do about a finding.
    pub fn action(self) -> &'static str {
        self.0.action
    }

    /// The controls the rule evidences.
    pub fn controls(self) -> &'static [&'static str] {
        self.0.controls
    }
}

impl Serialize for RuleText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("summary", self.summary())?;
        map.serialize_entry("action", self.action())?;
        map.serialize_entry("controls", self.controls())?;
        map.end()
    }
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
    /// The review period's leavers (terminations.csv, the Leavers section).
    pub leavers: Option<crate::leavers::Leavers>,
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
        let accounts: Vec<Account> = graph.directory.accounts.iter().map(|d| Account::new(d)).collect();
        let findings: Vec<FindingRow> = findings
            .into_par_iter()
            .map(|f| row(graph, &accounts, f))
            .collect();
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
                    finding: row(graph, &accounts, f),
                    exception,
                })
                .collect(),
            ambiguous: ambiguous(graph),
            diff: None,
            leavers: None,
            agents,
        }
    }

    /// The population checks an auditor asks for first, from the snapshot's
    /// record of how it was collected.
    pub fn completeness(&self) -> Completeness {
        if self.run.accounts.len() > 1 {
            let each: Vec<(&str, Completeness)> = self
                .run
                .accounts
                .iter()
                .map(|a| (a.meta.domain.as_str(), a.completeness()))
                .collect();
            return Completeness::of_accounts(&each);
        }
        let p = &self.summary.population;
        Completeness::of(
            &self.run.snapshot_meta,
            &self.run.snapshot_integrity,
            p.active + p.pending + p.deactivated,
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

fn unclassified_roles(graph: &IdentityGraph, policy: &Policy) -> Vec<UnclassifiedRole> {
    let holders = graph.holders_by_role();
    graph
        .directory
        .roles
        .iter()
        .filter(|(_, r)| policy.is_unclassified(r.id, &r.name, r.default))
        .map(|(key, r)| UnclassifiedRole {
            role_id: r.id,
            name: r.name.clone(),
            holders: holders
                .get(key)
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

fn row(graph: &IdentityGraph, accounts: &[Account], f: Finding) -> FindingRow {
    let agent = graph.agent(f.agent);
    let dir = &graph.directory;
    let join = |items: Vec<String>| items.join(";");
    let links = graph.identities_of(f.agent);
    // The agent's identities, or those the leavers resolved it to where
    // the snapshot has no email for it.
    let identities: Vec<&crate::idp::Identity> = match &f.resolved {
        Some(r) if links.is_empty() => r
            .identities
            .iter()
            .filter_map(|&i| graph.idp.identities.get(i))
            .collect(),
        _ => links.iter().map(|l| l.identity).collect(),
    };
    let email = match (&agent.email, &f.resolved) {
        (Some(email), _) if !email.trim().is_empty() => email.clone(),
        (_, Some(r)) => r.email.clone(),
        (email, None) => email.clone().unwrap_or_default(),
    };
    FindingRow {
        finding_id: f.id(&graph.directory),
        rule: f.rule.id,
        severity: f.severity.as_str(),
        account: accounts
            .get(agent.account)
            .cloned()
            .unwrap_or_else(|| Account::new("")),
        agent_id: agent.id,
        agent_email: email,
        agent_name: agent.name.clone(),
        agent_status: agent.status.as_str(),
        roles: join(graph.role_ids_of(f.agent).map(|r| dir.role_name(r)).collect()),
        groups: join(graph.group_ids_of(f.agent).map(|g| dir.group_name(g)).collect()),
        ticket_scope: graph.scope_of(f.agent).map(|s| s.as_str()).unwrap_or_default(),
        idp_source: join(identities.iter().map(|i| graph.source_label(i.source)).collect()),
        idp_status: join(identities.iter().map(|i| i.status.as_str().to_owned()).collect()),
        idp_last_login: join(
            identities
                .iter()
                .map(|i| i.last_login.map(|t| t.to_string()).unwrap_or_default())
                .collect(),
        ),
        detail: f.detail,
        text: RuleText(f.rule),
        evidence: f.evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_are_listed_worst_first_with_their_findings() {
        let graph = crate::graph::surface::tests::sample_graph();
        let policy = Policy::default();
        let set = crate::rules::registry::run(&crate::rules::AuditContext {
            graph: &graph,
            policy: &policy,
            as_of: "2026-01-01T00:00:00Z".parse().expect("ts"),
            leavers: None,
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
