//! Every observation of one agent's access, from each evidence source, in
//! the contract's order: verified remediation, watch events, the previous
//! run's snapshot, then the agent's own record (sign-ins, `updated_at`) and
//! this snapshot.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use jiff::Timestamp;

use super::evidence::{Observation, Seen, Source};
use super::watch::AgentEvent;
use super::{Deactivation, FormerAgent, Inputs, Known};
use crate::model::Agent;

/// An agent within its account: ("", id) unless agents are told apart by account.
type Key = (String, u64);

/// The evidence inputs, indexed by (account, agent id): with several
/// accounts, ids may collide, and one account's evidence is not another's.
pub(super) struct Sources<'a> {
    inputs: &'a Inputs<'a>,
    by_account: bool,
    remediation: HashMap<Key, Vec<&'a Deactivation>>,
    watch: HashMap<Key, Vec<&'a AgentEvent>>,
    current: BTreeSet<Key>,
}

impl<'a> Sources<'a> {
    pub(super) fn new(inputs: &'a Inputs<'a>) -> Sources<'a> {
        let by_account =
            inputs.graph.directory.several_accounts() || inputs.previous.is_some_and(|p| p.by_account);
        let label = |domain: &str| super::account_key(by_account, domain);
        let mut remediation: HashMap<Key, Vec<&Deactivation>> = HashMap::new();
        let outcome = inputs.previous.and_then(|p| p.remediation.as_ref());
        if let Some(r) = outcome {
            for action in &r.deactivations {
                remediation
                    .entry((label(&r.domain), action.agent_id))
                    .or_default()
                    .push(action);
            }
        }
        let mut watch: HashMap<Key, Vec<&AgentEvent>> = HashMap::new();
        for event in inputs.watch.iter().flat_map(|w| &w.events) {
            let domain = event.domain.as_deref().unwrap_or_default();
            watch
                .entry((label(domain), event.agent_id))
                .or_default()
                .push(event);
        }
        let current = inputs
            .graph
            .agents()
            .map(|(_, a)| (label(inputs.graph.directory.account_of(a)), a.id))
            .collect();
        Sources {
            inputs,
            by_account,
            remediation,
            watch,
            current,
        }
    }

    /// The account label of an agent of this snapshot.
    pub(super) fn label(&self, agent: &Agent) -> String {
        super::account_key(self.by_account, self.inputs.graph.directory.account_of(agent))
    }

    /// What the report lists as read besides the snapshot and the exports.
    pub(super) fn described(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(p) = self.inputs.previous {
            lines.push(format!(
                "--previous-run {}: as of {}, its snapshot collected {}",
                p.label, p.as_of, p.collected_at
            ));
            if let Some(r) = &p.remediation {
                lines.push(format!(
                    "remediation.json of {}: plan {}, approved by {}, finished {}",
                    p.label,
                    short(&r.plan_id),
                    r.approver,
                    r.finished_at
                ));
            }
        }
        if let Some(w) = self.inputs.watch {
            let mut line = format!(
                "--watch {} (SHA-256 {}): {} lines, {} agent events that bear on access",
                w.path,
                w.sha256,
                w.lines,
                w.events.len()
            );
            if w.torn_tail {
                line.push_str("; its last line was cut short and is not read");
            }
            lines.push(line);
        }
        lines
    }

    /// Agents deleted since the previous run (found as contacts), and those
    /// the watch saw deleted, that are no agent now.
    pub(super) fn deleted(&self) -> Vec<FormerAgent> {
        let mut former: Vec<FormerAgent> = self.inputs.deleted.to_vec();
        let mut known: BTreeSet<Key> = former.iter().map(|f| (f.account.clone(), f.id)).collect();
        known.extend(self.current.iter().cloned());
        for ((account, _), events) in &self.watch {
            for e in events {
                if e.is_deletion()
                    && let Some(email) = &e.email
                    && known.insert((account.clone(), e.agent_id))
                {
                    former.push(FormerAgent {
                        account: account.clone(),
                        id: e.agent_id,
                        email: email.clone(),
                        found: format!("{} line {}: {}", self.watch_file(), e.line, e.kind),
                    });
                }
            }
        }
        former.sort_by(|a, b| (a.id, &a.account).cmp(&(b.id, &b.account)));
        former
    }

    /// The email the previous run or a watch event gives agent `id` (the
    /// previous run's first: it saw the agent whole).
    pub(super) fn known_email(&self, account: &str, id: u64) -> Option<String> {
        let key = (account.to_owned(), id);
        let previous = self
            .inputs
            .previous
            .and_then(|p| p.agents.get(&key))
            .map(|(email, _)| email.clone());
        let watched = || {
            self.watch
                .get(&key)
                .and_then(|events| events.iter().rev().find_map(|e| e.email.clone()))
        };
        previous.filter(|e| !e.is_empty()).or_else(watched)
    }

    /// Every observation of an agent in this snapshot.
    pub(super) fn of_agent(&self, agent: &Agent) -> Vec<Observation> {
        let mut seen = self.shared(&(self.label(agent), agent.id));
        if let Some(at) = agent.last_activity() {
            let note = format!("last signed in or active {at}");
            seen.push(Observation::new(Source::SignIn, at, Seen::WithAccess, note));
        }
        let as_of = self.inputs.as_of;
        if agent.status.holds_access() {
            let note = format!("{} as of {as_of}", agent.status.as_str());
            seen.push(Observation::new(
                Source::ThisSnapshot,
                as_of,
                Seen::WithAccess,
                note,
            ));
        } else {
            if let Some(at) = agent.updated_at {
                let note = format!("deactivated agent last updated {at}");
                seen.push(Observation::new(Source::UpdatedAt, at, Seen::WithoutAccess, note));
            }
            let note = format!("deactivated as of {as_of}");
            seen.push(Observation::new(
                Source::ThisSnapshot,
                as_of,
                Seen::WithoutAccess,
                note,
            ));
        }
        sorted(seen)
    }

    /// Every observation of an agent deleted since the previous run.
    pub(super) fn of_former(&self, former: &FormerAgent) -> Vec<Observation> {
        let mut seen = self.shared(&(former.account.clone(), former.id));
        let as_of = self.inputs.as_of;
        let note = format!("deleted, {} as of {as_of}", former.found);
        seen.push(Observation::new(
            Source::ThisSnapshot,
            as_of,
            Seen::WithoutAccess,
            note,
        ));
        sorted(seen)
    }

    /// Remediation, watch and previous-snapshot observations of an agent.
    fn shared(&self, key: &Key) -> Vec<Observation> {
        let mut seen = Vec::new();
        let label = self.inputs.previous.map(|p| p.label.as_str()).unwrap_or_default();
        for action in self.remediation.get(key).into_iter().flatten() {
            seen.push(remediation(action, label));
        }
        for event in self.watch.get(key).into_iter().flatten() {
            seen.extend(watched(event, &self.watch_file()));
        }
        if let Some(p) = self.inputs.previous
            && let Some((_, status)) = p.agents.get(key)
        {
            let holds = status.holds_access();
            let note = format!(
                "{} at its collection {} (--previous-run {})",
                status.as_str(),
                p.collected_at,
                p.label
            );
            let what = if holds {
                Seen::WithAccess
            } else {
                Seen::WithoutAccess
            };
            seen.push(Observation::new(
                Source::PreviousSnapshot,
                p.collected_at,
                what,
                note,
            ));
        }
        seen
    }

    fn watch_file(&self) -> String {
        self.inputs.watch.map_or_else(String::new, |w| {
            Path::new(&w.path)
                .file_name()
                .map_or_else(|| w.path.clone(), |f| f.to_string_lossy().into_owned())
        })
    }
}

/// A deactivation deskaudit carried out: exact when read back, an upper
/// bound when only answered or found done already.
fn remediation(action: &Deactivation, label: &str) -> Observation {
    let at = action.at;
    let of = format!("remediation.json of {label}, action {}", action.seq);
    let (seen, note) = match action.known {
        Known::Verified => (Seen::Removed, format!("deactivation verified {at} ({of})")),
        Known::Answered => (
            Seen::WithoutAccess,
            format!("deactivation answered {at}, not verified by a read ({of})"),
        ),
        Known::AlreadyDone => (Seen::WithoutAccess, format!("found deactivated {at} ({of})")),
    };
    Observation::new(Source::Remediation, at, seen, note)
}

/// A watch event: the agent as the previous poll saw it (at `previous_at`)
/// and as this poll saw it (at `observed_at`).
fn watched(event: &AgentEvent, file: &str) -> Vec<Observation> {
    let of = format!("{file} line {}, {}", event.line, event.kind);
    let side = |at: Timestamp, access: bool, poll: &str| {
        let (seen, what) = if access {
            (Seen::WithAccess, "with access")
        } else {
            (Seen::WithoutAccess, "without access")
        };
        Observation::new(Source::Watch, at, seen, format!("{poll} {what} {at} ({of})"))
    };
    let before = event
        .previous_at
        .zip(event.access_before)
        .map(|(at, access)| side(at, access, "previous poll"));
    let after = event
        .access_after
        .map(|access| side(event.observed_at, access, "seen"));
    before.into_iter().chain(after).collect()
}

fn sorted(mut seen: Vec<Observation>) -> Vec<Observation> {
    seen.sort_by_key(|o| (o.source, o.at));
    seen
}

/// The first 12 hex digits of an id, as the CLI shows plan ids.
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}
