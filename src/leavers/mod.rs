//! Leavers: for each person terminated in the review period and each of
//! their agents, when access ended as far as the evidence bounds it, and
//! whether that was within the SLA (`removal_sla_hours`).
//!
//! Computed once, before the rules run, from the graph (agents and their
//! identities), the previous run, the watch events and the remediation
//! outcome; the rules `late-removal` and `removal-unproven` and the report
//! only read the result. Plain synchronous functions over values.

pub mod chart;
pub mod evidence;
mod observe;
pub mod termination;
pub mod watch;

use std::collections::{BTreeMap, HashMap};

use jiff::{SignedDuration, Timestamp};

use crate::graph::IdentityGraph;
use crate::idp::IdentityIndex;
use crate::model::AgentStatus;
use crate::policy::Policy;

pub use chart::DelayChart;
pub use evidence::{Observation, Seen, Source, Verdict, Window, hours};
pub use termination::{Period, Terminated};
pub use watch::{WatchError, WatchLog};

/// The previous review, as far as leavers need it.
#[derive(Clone, Debug, Default)]
pub struct PreviousRun {
    /// How evidence names it: the directory as given to `--previous-run`.
    pub label: String,
    pub as_of: Timestamp,
    pub collected_at: Timestamp,
    /// Its snapshot's agents by (account, id): email and status at its
    /// collection. The account is "" unless `by_account`.
    pub agents: BTreeMap<(String, u64), (String, AgentStatus)>,
    /// Agents are told apart by account (this audit or the previous run
    /// audited several accounts, whose ids may collide).
    pub by_account: bool,
    /// What its `remediation.json` says of deactivations, if its plan was applied.
    pub remediation: Option<Remediated>,
}

/// A run's `remediation.json`, as far as leavers read it (the commands
/// layer converts it, so this module never imports the remediation's types).
#[derive(Clone, Debug, Default)]
pub struct Remediated {
    /// The account the plan was applied to.
    pub domain: String,
    pub plan_id: String,
    pub approver: String,
    pub finished_at: Timestamp,
    pub deactivations: Vec<Deactivation>,
}

/// One deactivation action of the plan and how its result is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deactivation {
    /// The action's `seq` in the plan.
    pub seq: u32,
    pub agent_id: u64,
    /// When the outcome was established.
    pub at: Timestamp,
    pub known: Known,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Known {
    /// Written and read back deactivated: the removal itself.
    Verified,
    /// Written, and only the write's answer says so (a pending agent).
    Answered,
    /// Found deactivated already: gone by then.
    AlreadyDone,
}

/// An agent of the previous run that is no agent now: deleted (Freshdesk
/// keeps a deleted agent as a contact), found among this snapshot's contacts
/// or by a watch `agent.deleted` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormerAgent {
    /// Its account ("" unless agents are told apart by account).
    pub account: String,
    pub id: u64,
    pub email: String,
    /// How it was found: `contact 67013470078 (same id)`.
    pub found: String,
}

/// Everything the leavers are computed from.
pub struct Inputs<'a> {
    pub graph: &'a IdentityGraph,
    pub policy: &'a Policy,
    pub as_of: Timestamp,
    pub previous: Option<&'a PreviousRun>,
    pub watch: Option<&'a WatchLog>,
    /// Agents deleted since the previous run (see [`FormerAgent`]).
    pub deleted: &'a [FormerAgent],
}

/// The agent's state in this audit's snapshot, or `deleted`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentState {
    Current(AgentStatus),
    Deleted,
}

impl AgentState {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Current(status) => status.as_str(),
            AgentState::Deleted => "deleted",
        }
    }
}

/// One row of terminations.csv: one terminated person and one of their agents.
#[derive(Clone, Debug)]
pub struct Termination {
    /// The person: the login of the export row that gave the termination.
    pub person: String,
    pub person_name: String,
    /// Index into the IdP set's identities of that row.
    pub identity: usize,
    /// Every export the agent resolves to, `;`-joined (as findings.csv has it).
    pub idp_source: String,
    /// Indices into the IdP set's identities the agent resolves to: by its
    /// own email, or by the one a previous run or the watch knew for it.
    pub identities: Vec<usize>,
    pub terminated_at: Timestamp,
    pub termination_source: String,
    /// Index into the graph's agents; `None` for an agent deleted since the previous run.
    pub agent: Option<usize>,
    pub agent_id: u64,
    /// The agent's account (its domain; "" for a deleted agent of a
    /// one-account audit, which needs none).
    pub account: String,
    pub agent_email: String,
    pub agent_state: AgentState,
    pub window: Window,
    /// Best source first, then by time.
    pub evidence: Vec<Observation>,
    pub verdict: Verdict,
}

impl Termination {
    pub fn min_delay(&self) -> SignedDuration {
        self.window.min_delay(self.terminated_at)
    }

    pub fn max_delay(&self) -> Option<SignedDuration> {
        self.window.max_delay(self.terminated_at)
    }

    /// The evidence column: every observation, best source first.
    pub fn evidence_text(&self) -> String {
        let items: Vec<String> = self.evidence.iter().map(Observation::describe).collect();
        items.join("; ")
    }
}

/// The leavers of one audit.
#[derive(Clone, Debug)]
pub struct Leavers {
    pub period: Period,
    pub sla_hours: u32,
    /// By termination time, then person, then agent id.
    pub rows: Vec<Termination>,
    /// The evidence read beyond the snapshot, as the report names it.
    pub inputs: Vec<String>,
    /// Each leaver's largest delay against the SLA, laid out for the report.
    pub chart: DelayChart,
}

impl Leavers {
    /// Rows per verdict, every verdict present.
    pub fn by_verdict(&self) -> Vec<(Verdict, usize)> {
        Verdict::ALL
            .iter()
            .map(|&v| (v, self.rows.iter().filter(|r| r.verdict == v).count()))
            .collect()
    }
}

/// One agent considered: who it is, what resolves it, and what is seen of it.
struct Candidate {
    agent: Option<usize>,
    id: u64,
    account: String,
    email: String,
    state: AgentState,
    identities: Vec<usize>,
    terminated: Terminated,
    evidence: Vec<Observation>,
}

/// How an agent's account is keyed in the evidence: its domain where agents
/// are told apart by account (`by_account`), else "" (ids alone).
pub fn account_key(by_account: bool, domain: &str) -> String {
    if by_account {
        domain.to_owned()
    } else {
        String::new()
    }
}

pub fn compute(inputs: &Inputs) -> Leavers {
    let g = inputs.graph;
    let thresholds = &inputs.policy.thresholds;
    let sla = SignedDuration::from_hours(i64::from(thresholds.removal_sla_hours));
    let period = Period::new(
        inputs.as_of,
        inputs.previous.map(|p| (p.label.as_str(), p.as_of)),
        thresholds.review_period_days,
    );
    let seen = observe::Sources::new(inputs);
    // Built only if an agent needs resolving by an email the snapshot lacks.
    let index = std::cell::OnceCell::new();
    // The identities an email resolves to, as an agent's key would.
    let resolve = |email: &str| -> Vec<usize> {
        let key = email.trim().to_lowercase();
        let (key, rewrite) = inputs.policy.rewrites.agent_key(&key);
        index
            .get_or_init(|| IdentityIndex::new(&g.idp))
            .resolve_via(&key, rewrite)
            .iter()
            .map(|r| r.identity)
            .collect()
    };
    let mut candidates = Vec::new();
    for (i, agent) in g.agents() {
        let mut identities: Vec<usize> = g.identities_of(i).iter().map(|l| l.index).collect();
        let mut email = agent.email.as_deref().unwrap_or_default().trim().to_owned();
        // The documented API lists a deactivated agent without its contact,
        // so without its email: the previous run or the watch knew it.
        if agent.key().is_none()
            && let Some(known) = seen.known_email(&seen.label(agent), agent.id)
        {
            identities = resolve(&known);
            email = known;
        }
        let Some(terminated) = termination::of(g, &identities) else {
            continue;
        };
        if terminated.at > inputs.as_of {
            continue;
        }
        candidates.push(Candidate {
            agent: Some(i),
            id: agent.id,
            account: g.directory.account_of(agent).to_owned(),
            email,
            state: AgentState::Current(agent.status),
            identities,
            terminated,
            evidence: seen.of_agent(agent),
        });
    }
    for former in seen.deleted() {
        let identities = resolve(&former.email);
        let Some(terminated) = termination::of(g, &identities) else {
            continue;
        };
        if terminated.at > inputs.as_of {
            continue;
        }
        candidates.push(Candidate {
            agent: None,
            id: former.id,
            account: former.account.clone(),
            email: former.email.clone(),
            state: AgentState::Deleted,
            identities,
            terminated,
            evidence: seen.of_former(&former),
        });
    }
    // A person is a leaver of the period when terminated in it, or earlier
    // while one of their agents was still seen with access after its start.
    let mut in_period: HashMap<usize, bool> = HashMap::new();
    for c in &candidates {
        let late_access = c
            .evidence
            .iter()
            .any(|o| o.seen != Seen::WithoutAccess && o.at >= period.start);
        *in_period.entry(c.terminated.identity).or_default() |=
            period.contains(c.terminated.at) || late_access;
    }
    let mut rows: Vec<Termination> = candidates
        .into_iter()
        .filter(|c| in_period.get(&c.terminated.identity).copied().unwrap_or(false))
        .map(|c| row(g, c, sla))
        .collect();
    rows.sort_by_cached_key(|r| {
        (
            r.terminated_at,
            r.person.to_lowercase(),
            r.agent_id,
            r.account.clone(),
        )
    });
    let chart = DelayChart::new(&rows, thresholds.removal_sla_hours);
    Leavers {
        period,
        sla_hours: thresholds.removal_sla_hours,
        rows,
        inputs: seen.described(),
        chart,
    }
}

fn row(g: &IdentityGraph, c: Candidate, sla: SignedDuration) -> Termination {
    let person = &g.idp.identities[c.terminated.identity];
    let window = Window::of(c.terminated.at, &c.evidence);
    let holds_access = matches!(c.state, AgentState::Current(s) if s.holds_access());
    let sources: Vec<String> = c
        .identities
        .iter()
        .map(|&i| g.source_label(g.idp.identities[i].source))
        .collect();
    Termination {
        person: person.login.clone(),
        person_name: person.display_name.clone(),
        identity: c.terminated.identity,
        idp_source: sources.join(";"),
        identities: c.identities,
        terminated_at: c.terminated.at,
        termination_source: c.terminated.source,
        agent: c.agent,
        agent_id: c.id,
        account: c.account,
        agent_email: c.email,
        agent_state: c.state,
        verdict: window.verdict(c.terminated.at, holds_access, sla),
        window,
        evidence: c.evidence,
    }
}

#[cfg(test)]
mod tests {
    /// Leavers sit between the graph and the rules: they read the model,
    /// the graph, the IdP identities and the policy, never a later stage
    /// (the commands layer converts the previous run and its remediation).
    #[test]
    fn leavers_import_no_later_stage() {
        let sources = [
            ("mod.rs", include_str!("mod.rs")),
            ("chart.rs", include_str!("chart.rs")),
            ("evidence.rs", include_str!("evidence.rs")),
            ("observe.rs", include_str!("observe.rs")),
            ("termination.rs", include_str!("termination.rs")),
            ("watch.rs", include_str!("watch.rs")),
        ];
        let later = [
            "rules",
            "report",
            "remediate",
            "diff",
            "commands",
            "watch",
            "rundir",
            "evidence",
            "review",
        ];
        for (file, text) in sources {
            for stage in later {
                let import = format!("crate::{stage}");
                assert!(
                    !text.contains(&format!("{import}::")),
                    "leavers/{file} imports {import}"
                );
                assert!(
                    !text.contains(&format!("{import};")),
                    "leavers/{file} imports {import}"
                );
            }
        }
    }
}
