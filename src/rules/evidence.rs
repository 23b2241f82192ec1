//! Graph-path steps shared by the rules, so every finding names its path the same way.

use super::PathStep;
use crate::graph::{IdentityGraph, IdentityLink};
use crate::model::{Agent, InAccount};

pub(crate) fn agent_label(agent: &Agent) -> String {
    match &agent.email {
        Some(email) => format!("agent {} <{}>", agent.id, email.trim()),
        None => format!("agent {}", agent.id),
    }
}

pub(crate) fn identity_label(graph: &IdentityGraph, link: &IdentityLink) -> String {
    let id = link.identity;
    let at = if graph.idp.sources[id.source].json {
        "entry"
    } else {
        "line"
    };
    format!(
        "{} {at} {}: {} [{} → {}]",
        graph.source_label(id.source),
        id.line,
        id.login,
        id.raw_status,
        id.status.as_str()
    )
}

pub(crate) fn identity_steps(graph: &IdentityGraph, agent: &Agent, links: &[IdentityLink]) -> Vec<PathStep> {
    links
        .iter()
        .map(|link| PathStep {
            from: agent_label(agent),
            edge: format!("resolves to ({} = {})", link.method.as_str(), link.key),
            to: identity_label(graph, link),
        })
        .collect()
}

pub(crate) fn role_step(graph: &IdentityGraph, agent: &Agent, role: InAccount) -> PathStep {
    PathStep {
        from: agent_label(agent),
        edge: "has role".to_owned(),
        to: format!("role {} \"{}\"", role.id, graph.directory.role_name(role)),
    }
}

/// The agent's roles that the policy counts as privileged, in graph order.
pub(crate) fn privileged_roles(ctx: &super::AuditContext, agent: usize) -> Vec<InAccount> {
    let g = ctx.graph;
    g.role_ids_of(agent)
        .filter(|&r| {
            ctx.policy
                .is_privileged(r.id, g.directory.roles.get(&r).map(|r| r.name.as_str()))
        })
        .collect()
}
