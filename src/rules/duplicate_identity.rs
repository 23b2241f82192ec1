use std::collections::BTreeMap;

use super::evidence::{agent_label, identity_label};
use super::{AuditContext, Finding, PathStep, Rule, RuleMeta, Severity};
use crate::graph::IdentityGraph;

pub struct DuplicateIdentity;

static META: RuleMeta = RuleMeta {
    id: "duplicate-identity",
    severity: Severity::Medium,
    summary: "Two or more agents with access belong to one person: they resolve to the same IdP identity, or their emails differ only by case or a +tag.",
    action: "Keep one account per person: deactivate the extra agents (reassign their tickets), or map a genuinely separate person in policy identity_map.",
    controls: &[
        "SOC 2 CC6.1",
        "SOC 2 CC6.2",
        "ISO 27001 A.5.16",
        "ISO 27001 A.5.18",
    ],
};

/// What two or more agents have in common.
#[derive(Clone, Copy, Debug)]
enum Shared<'a> {
    /// Index into `IdpSet::identities`: the same row of the same export.
    Identity(usize),
    /// The email key, lower-cased with any `+tag` removed.
    Email(&'a str),
}

impl Rule for DuplicateIdentity {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &AuditContext) -> Vec<Finding> {
        let g = ctx.graph;
        // Who holds each identity row, and each folded email, among agents
        // with access, per account: one person with an agent in each of
        // several accounts is expected, not a duplicate.
        let mut by_identity: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
        let mut by_email: BTreeMap<(usize, String), Vec<usize>> = BTreeMap::new();
        for (i, agent) in g.agents().filter(|(_, a)| a.status.holds_access()) {
            for link in g.identities_of(i) {
                let holders = by_identity.entry((agent.account, link.index)).or_default();
                if !holders.contains(&i) {
                    holders.push(i);
                }
            }
            if let Some(key) = agent.key() {
                by_email
                    .entry((agent.account, fold_plus_tag(&key)))
                    .or_default()
                    .push(i);
            }
        }
        // Per agent, everything it shares with someone else: direct sharing only, so
        // every agent named in a finding has something in common with its subject.
        let mut shares: BTreeMap<usize, Vec<(Shared, &[usize])>> = BTreeMap::new();
        for (&(_, identity), holders) in by_identity.iter().filter(|(_, h)| h.len() > 1) {
            for &i in holders {
                shares
                    .entry(i)
                    .or_default()
                    .push((Shared::Identity(identity), holders));
            }
        }
        for ((_, key), holders) in by_email.iter().filter(|(_, h)| h.len() > 1) {
            for &i in holders {
                shares.entry(i).or_default().push((Shared::Email(key), holders));
            }
        }
        shares
            .into_iter()
            .map(|(i, shared)| finding(g, i, &shared))
            .collect()
    }
}

fn finding(g: &IdentityGraph, i: usize, shared: &[(Shared, &[usize])]) -> Finding {
    let agent = g.agent(i);
    let mut others: Vec<usize> = shared
        .iter()
        .flat_map(|(_, holders)| holders.iter().copied())
        .filter(|&o| o != i)
        .collect();
    others.sort_by_key(|&o| g.agent(o).id);
    others.dedup();

    let mut reasons = Vec::new();
    let mut steps = Vec::new();
    let mut identities = Vec::new();
    let mut emails = Vec::new();
    for &(what, holders) in shared {
        // The subject's own edge first, then the others' in snapshot order.
        let subject_first = std::iter::once(i).chain(holders.iter().copied().filter(|&o| o != i));
        let names: Vec<String> = holders
            .iter()
            .filter(|&&o| o != i)
            .map(|&o| agent_label(g.agent(o)))
            .collect();
        match what {
            Shared::Identity(index) => {
                let mut label = String::new();
                for holder in subject_first {
                    let holder_agent = g.agent(holder);
                    if let Some(link) = g.identities_of(holder).into_iter().find(|l| l.index == index) {
                        label = identity_label(g, &link);
                        steps.push(PathStep {
                            from: agent_label(holder_agent),
                            edge: format!("resolves to ({} = {})", link.method.as_str(), link.key),
                            to: label.clone(),
                        });
                    }
                }
                reasons.push(format!("the IdP identity {label} with {}", names.join(", ")));
                identities.push(label);
            }
            Shared::Email(key) => {
                for holder in subject_first {
                    let holder_agent = g.agent(holder);
                    steps.push(PathStep {
                        from: agent_label(holder_agent),
                        edge: "email folds to (lower-cased, +tag removed)".to_owned(),
                        to: format!("email key {key}"),
                    });
                }
                reasons.push(format!(
                    "the email {key} (case and +tag aside) with {}",
                    names.join(", ")
                ));
                emails.push(key.to_owned());
            }
        }
    }
    let other_ids: Vec<String> = others.iter().map(|&o| g.agent(o).id.to_string()).collect();
    let other_emails: Vec<String> = others
        .iter()
        .map(|&o| {
            let other = g.agent(o);
            other
                .email
                .as_deref()
                .map_or_else(|| format!("agent {}", other.id), |e| e.trim().to_owned())
        })
        .collect();
    let mut finding = META
        .finding(
            i,
            agent.id,
            format!(
                "{} agent shares {}",
                agent.status.as_str(),
                reasons.join("; and ")
            ),
        )
        .steps(steps)
        .value("agent_status", agent.status.as_str())
        .value("other_agent_ids", other_ids.join("; "))
        .value("other_agent_emails", other_emails.join("; "));
    if !identities.is_empty() {
        finding = finding.value("shared_identities", identities.join("; "));
    }
    if !emails.is_empty() {
        finding = finding.value("shared_email_key", emails.join("; "));
    }
    finding
}

/// An email key with a `+tag` removed from its local part: `ann+fd@acme.test` →
/// `ann@acme.test`. Lower-cases and trims. A local part that is nothing but a tag
/// (`+x@acme.test`) is kept whole, so such addresses do not all fold together.
fn fold_plus_tag(email: &str) -> String {
    let email = email.trim().to_lowercase();
    match email.rsplit_once('@') {
        Some((local, domain)) => match local.split_once('+') {
            Some((base, _)) if !base.is_empty() => format!("{base}@{domain}"),
            _ => email,
        },
        None => email,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_a_plus_tag_from_the_local_part_only() {
        let cases = [
            ("ann@acme.test", "ann@acme.test"),
            ("Ann+Freshdesk@ACME.test", "ann@acme.test"),
            (" ann+a+b@acme.test ", "ann@acme.test"),
            ("ann@eu+x.acme.test", "ann@eu+x.acme.test"),
            ("+tag@acme.test", "+tag@acme.test"),
            ("ann+@acme.test", "ann@acme.test"),
            ("\"a@b\"+x@acme.test", "\"a@b\"@acme.test"),
            ("no-at-sign+x", "no-at-sign+x"),
        ];
        for (raw, want) in cases {
            assert_eq!(fold_plus_tag(raw), want, "{raw}");
        }
    }
}
