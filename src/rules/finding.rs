//! Findings and the metadata every rule stamps onto them.

use std::fmt;

use serde::Serialize;

use crate::catalogue::Severity;
use crate::model::Directory;

/// What a rule is, fixed at compile time.
#[derive(Debug)]
pub struct RuleMeta {
    pub id: &'static str,
    pub severity: Severity,
    /// One line: what the rule flags.
    pub summary: &'static str,
    /// What the reviewer should do about a finding.
    pub action: &'static str,
    /// Controls this rule evidences (SOC 2, ISO 27001).
    pub controls: &'static [&'static str],
}

impl RuleMeta {
    /// Starts a finding for `agent` with this rule's metadata filled in.
    pub fn finding(&'static self, agent: usize, agent_id: u64, detail: impl Into<String>) -> Finding {
        Finding {
            rule: self,
            severity: self.severity,
            agent,
            agent_id,
            detail: tight(detail.into()),
            evidence: Evidence::default(),
            resolved: None,
        }
    }
}

/// One step of the graph path that makes a finding true.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PathStep {
    pub from: String,
    pub edge: String,
    pub to: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub path: Vec<PathStep>,
    /// The values the rule compared, by name.
    pub values: Values,
}

/// The values a rule compared, sorted by name and serialised as a JSON
/// object (as a `BTreeMap` would be). A short sorted list with the rule's own
/// names, not a map of owned strings: a finding holds a handful, and a large
/// audit holds 100,000 findings at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Values(Vec<(&'static str, String)>);

impl Values {
    /// Sets `name` (replacing an earlier value), keeping names sorted.
    pub fn insert(&mut self, name: &'static str, value: String) {
        match self.0.binary_search_by(|(k, _)| k.cmp(&name)) {
            Ok(i) => self.0[i].1 = tight(value),
            Err(i) => {
                // Room for exactly one more: a finding holds a handful, and
                // amortised growth would leave three in four slots empty.
                self.0.reserve_exact(1);
                self.0.insert(i, (name, tight(value)));
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// (name, value) in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

impl FromIterator<(&'static str, String)> for Values {
    fn from_iter<I: IntoIterator<Item = (&'static str, String)>>(items: I) -> Values {
        let mut values = Values::default();
        for (name, value) in items {
            values.insert(name, value);
        }
        values
    }
}

impl Serialize for Values {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

#[derive(Clone, Debug)]
pub struct Finding {
    pub rule: &'static RuleMeta,
    /// The rule's default, or the policy's override.
    pub severity: Severity,
    /// Index into the directory's agents.
    pub agent: usize,
    pub agent_id: u64,
    pub detail: String,
    pub evidence: Evidence,
    /// Who the agent is where the snapshot does not say: `None` for nearly
    /// every finding (boxed: a large audit holds 100,000 of them).
    pub resolved: Option<Box<Resolved>>,
}

/// An agent as the leavers resolved it where the snapshot could not: the
/// documented API lists a deactivated agent without its contact, so
/// without its email, and a previous run or the watch knew it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub email: String,
    /// Indices into the IdP set's identities that email resolves to.
    pub identities: Vec<usize>,
}

impl Finding {
    /// The agent's email and identities as resolved beyond the snapshot.
    pub fn resolved_as(mut self, email: &str, identities: &[usize]) -> Finding {
        self.resolved = Some(Box::new(Resolved {
            email: email.to_owned(),
            identities: identities.to_vec(),
        }));
        self
    }

    pub fn step(
        mut self,
        from: impl Into<String>,
        edge: impl Into<String>,
        to: impl Into<String>,
    ) -> Finding {
        self.evidence.path.reserve_exact(1);
        self.evidence.path.push(PathStep {
            from: tight(from.into()),
            edge: tight(edge.into()),
            to: tight(to.into()),
        });
        self
    }

    pub fn steps(mut self, steps: impl IntoIterator<Item = PathStep>) -> Finding {
        self.evidence.path.extend(steps);
        self
    }

    pub fn value(mut self, name: &'static str, value: impl fmt::Display) -> Finding {
        self.evidence.values.insert(name, value.to_string());
        self
    }

    /// Gives back what `steps` may have left spare (the other builders
    /// allocate tightly).
    pub(crate) fn compact(mut self) -> Finding {
        self.evidence.path.shrink_to_fit();
        for step in &mut self.evidence.path {
            step.from.shrink_to_fit();
            step.edge.shrink_to_fit();
            step.to.shrink_to_fit();
        }
        self
    }

    /// Stable across runs: derived from the rule and the agent only, and
    /// the agent's account where `directory` holds several (agent ids of
    /// different accounts may collide). A single account's ids are as ever.
    pub fn id(&self, directory: &Directory) -> String {
        if directory.several_accounts() {
            let account = directory.account_of(&directory.agents[self.agent]);
            finding_id_in(self.rule.id, account, self.agent_id)
        } else {
            finding_id(self.rule.id, self.agent_id)
        }
    }
}

/// Without spare capacity. A large audit holds every finding at once (a
/// path of one step in a vector with room for four, a formatted value in
/// twice its length): most of its memory for findings was room (#13).
fn tight(mut text: String) -> String {
    text.shrink_to_fit();
    text
}

pub fn finding_id(rule: &str, agent_id: u64) -> String {
    hashed(&format!("{rule}\0{agent_id}"))
}

/// As [`finding_id`] for an agent of one of several accounts (`account`: its domain).
pub fn finding_id_in(rule: &str, account: &str, agent_id: u64) -> String {
    hashed(&format!("{rule}\0{account}\0{agent_id}"))
}

fn hashed(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    format!("DA-{}", &hex::encode(digest)[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_sorted_replace_and_serialise_as_a_map() {
        let mut values: Values = [("zeta", "1".to_owned()), ("alpha", "2".to_owned())]
            .into_iter()
            .collect();
        values.insert("mid", "3".into());
        values.insert("zeta", "4".into());
        let names: Vec<&str> = values.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["alpha", "mid", "zeta"]);
        let as_map: std::collections::BTreeMap<&str, &str> = values.iter().collect();
        assert_eq!(
            serde_json::to_string(&values).expect("serialises"),
            serde_json::to_string(&as_map).expect("serialises")
        );
        assert_eq!(
            serde_json::to_string(&values).expect("serialises"),
            r#"{"alpha":"2","mid":"3","zeta":"4"}"#
        );
    }

    #[test]
    fn finding_id_is_stable_and_distinct() {
        assert_eq!(finding_id("orphaned-agent", 1), finding_id("orphaned-agent", 1));
        assert_ne!(finding_id("orphaned-agent", 1), finding_id("orphaned-agent", 2));
        assert_ne!(finding_id("orphaned-agent", 1), finding_id("dormant-agent", 1));
        assert!(finding_id("x", 1).starts_with("DA-"));
        // Several accounts: the same agent id in two accounts, two findings.
        assert_ne!(
            finding_id_in("orphaned-agent", "acme", 1),
            finding_id_in("orphaned-agent", "acme-eu", 1)
        );
        assert_ne!(
            finding_id_in("orphaned-agent", "acme", 1),
            finding_id("orphaned-agent", 1)
        );
    }
}
