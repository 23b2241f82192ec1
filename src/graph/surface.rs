//! One agent's effective permission surface: what they hold in Freshdesk, which
//! tickets that lets them see, and who the IdPs say they are, with the graph
//! path behind every grant. Plain data; `deskaudit explain` renders it.

use jiff::Timestamp;
use serde::Serialize;

use super::export::{NodeIds, edge_kind, scope_sees};
use super::{Edge, IdentityGraph, Node};
use crate::idp::{IdpStatus, MatchMethod};
use crate::model::{AgentStatus, InAccount, TicketScope};
use crate::policy::Policy;

/// One edge of a grant's path, between node ids as `deskaudit graph` writes them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub from: String,
    /// The edge kind: has_role, member_of, contributes_to, has_scope, resolves_to.
    pub edge: &'static str,
    pub to: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct AgentFacts {
    pub node: String,
    pub id: u64,
    pub name: String,
    pub email: Option<String>,
    pub status: AgentStatus,
    pub agent_type: Option<String>,
    pub occasional: bool,
    pub created_at: Option<Timestamp>,
    pub last_activity: Option<Timestamp>,
}

#[derive(Clone, Debug, Serialize)]
pub struct IdentityGrant {
    pub node: String,
    /// `okta:users.csv`.
    pub source: String,
    /// `line` for CSV exports, `entry` (1-based array position) for JSON ones.
    pub position: &'static str,
    pub line: u64,
    pub login: String,
    pub display_name: String,
    pub raw_status: String,
    pub status: IdpStatus,
    pub method: MatchMethod,
    /// The key both sides share.
    pub key: String,
    pub last_login: Option<Timestamp>,
    pub path: Vec<Step>,
    pub explanation: String,
}

/// The contract's reading of an agent's identities taken together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdpStanding {
    /// At least one identity is active.
    IdpActive,
    /// Every identity is suspended or deprovisioned.
    IdpTerminated,
    /// Identities exist, none active, not all terminated (staged, unknown).
    NotActive,
    NoIdentity,
}

impl IdpStanding {
    pub fn describe(self) -> &'static str {
        match self {
            IdpStanding::IdpActive => "IdP-active (at least one identity is active)",
            IdpStanding::IdpTerminated => "IdP-terminated (every identity is suspended or deprovisioned)",
            IdpStanding::NotActive => "not active in any IdP (staged or unknown)",
            IdpStanding::NoIdentity => "no identity in any IdP source",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RoleGrant {
    pub node: String,
    pub id: u64,
    pub name: String,
    /// The snapshot describes this role (else the name is `#id`).
    pub known: bool,
    pub privileged: bool,
    pub path: Vec<Step>,
    pub explanation: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Membership {
    /// `group_ids`.
    Member,
    /// `contribution_group_ids`: may view the group's tickets, not own them.
    ViewOnly,
}

#[derive(Clone, Debug, Serialize)]
pub struct GroupGrant {
    pub node: String,
    pub id: u64,
    pub name: String,
    pub known: bool,
    pub membership: Membership,
    pub path: Vec<Step>,
    pub explanation: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct TicketVisibility {
    /// `None` when the snapshot has no `ticket_scope` for the agent.
    pub scope: Option<TicketScope>,
    /// `all tickets`, `tickets of the agent's groups`, `only tickets assigned to them`.
    pub sees: String,
    /// True for the Group scope: `groups` is what they can see.
    pub via_groups: bool,
    pub path: Vec<Step>,
    pub explanation: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct PermissionSurface {
    pub agent: AgentFacts,
    pub identities: Vec<IdentityGrant>,
    pub idp_standing: IdpStanding,
    /// Privileged roles first, then by name and id.
    pub roles: Vec<RoleGrant>,
    pub tickets: TicketVisibility,
    /// Members first, then view-only; each by name and id.
    pub groups: Vec<GroupGrant>,
}

/// The surface of the agent at `agent` (an index into the directory).
pub fn surface(graph: &IdentityGraph, agent: usize, policy: &Policy) -> PermissionSurface {
    let ids = NodeIds::new(graph);
    let a = graph.agent(agent);
    let me = ids.of(Node::Agent(agent));
    let step = |edge: &Edge, to: Node| Step {
        from: me.clone(),
        edge: edge_kind(edge),
        to: ids.of(to),
    };

    // Identity index order: sources in `--idp` order, rows in file order.
    let mut links = graph.identities_of(agent);
    links.sort_by_key(|l| l.index);
    let identities: Vec<IdentityGrant> = links
        .into_iter()
        .map(|link| {
            let identity = link.identity;
            let source = graph.source_label(identity.source);
            let position = if graph.idp.sources[identity.source].json {
                "entry"
            } else {
                "line"
            };
            let edge = Edge::ResolvesTo {
                method: link.method,
                key: link.key.to_owned(),
            };
            IdentityGrant {
                node: ids.of(Node::Identity(link.index)),
                explanation: format!(
                    "agent → {source} {position} {} ({} = {})",
                    identity.line,
                    link.method.as_str(),
                    link.key
                ),
                path: vec![step(&edge, Node::Identity(link.index))],
                source,
                position,
                line: identity.line,
                login: identity.login.clone(),
                display_name: identity.display_name.clone(),
                raw_status: identity.raw_status.clone(),
                status: identity.status,
                method: link.method,
                key: link.key.to_owned(),
                last_login: identity.last_login,
            }
        })
        .collect();
    let idp_standing = if identities.is_empty() {
        IdpStanding::NoIdentity
    } else if identities.iter().any(|i| i.status == IdpStatus::Active) {
        IdpStanding::IdpActive
    } else if identities.iter().all(|i| i.status.is_terminated()) {
        IdpStanding::IdpTerminated
    } else {
        IdpStanding::NotActive
    };

    let mut roles: Vec<RoleGrant> = graph
        .role_ids_of(agent)
        .map(|key| {
            let role = graph.directory.roles.get(&key);
            let name = graph.directory.role_name(key);
            RoleGrant {
                node: ids.of(Node::Role(key)),
                privileged: policy.is_privileged(key.id, role.map(|r| r.name.as_str())),
                known: role.is_some(),
                path: vec![step(&Edge::HasRole, Node::Role(key))],
                explanation: format!("agent → role {} (has role)", quoted(&name)),
                id: key.id,
                name,
            }
        })
        .collect();
    roles.sort_by(|x, y| (!x.privileged, &x.name, x.id).cmp(&(!y.privileged, &y.name, y.id)));

    let group = |key: InAccount, membership: Membership| {
        let name = graph.directory.group_name(key);
        let (edge, how) = match membership {
            Membership::Member => (Edge::MemberOf, "member"),
            Membership::ViewOnly => (Edge::ContributesTo, "view-only contributor"),
        };
        GroupGrant {
            node: ids.of(Node::Group(key)),
            known: graph.directory.groups.contains_key(&key),
            path: vec![step(&edge, Node::Group(key))],
            explanation: format!("agent → group {} ({how})", quoted(&name)),
            membership,
            id: key.id,
            name,
        }
    };
    let mut groups: Vec<GroupGrant> = graph
        .group_ids_of(agent)
        .map(|id| group(id, Membership::Member))
        .chain(
            graph
                .contribution_group_ids_of(agent)
                .map(|id| group(id, Membership::ViewOnly)),
        )
        .collect();
    groups.sort_by(|x, y| (x.membership, &x.name, x.id).cmp(&(y.membership, &y.name, y.id)));

    let scope = graph.scope_of(agent);
    let tickets = match scope {
        Some(s) => TicketVisibility {
            scope: Some(s),
            sees: scope_sees(s).to_owned(),
            via_groups: s == TicketScope::Group,
            path: vec![step(&Edge::HasScope, Node::Scope(s))],
            explanation: format!("agent → scope {} (ticket scope)", s.as_str()),
        },
        None => TicketVisibility {
            scope: None,
            sees: "unknown: the snapshot has no ticket_scope for this agent".to_owned(),
            via_groups: false,
            path: Vec::new(),
            explanation: String::new(),
        },
    };

    PermissionSurface {
        agent: AgentFacts {
            node: me.clone(),
            id: a.id,
            name: a.name.clone(),
            email: a.email.as_deref().map(|e| e.trim().to_owned()),
            status: a.status,
            agent_type: a.agent_type.clone(),
            occasional: a.occasional,
            created_at: a.created_at,
            last_activity: a.last_activity(),
        },
        identities,
        idp_standing,
        roles,
        tickets,
        groups,
    }
}

/// A name in double quotes, its own quotes and backslashes escaped, so the path stays one readable token.
fn quoted(name: &str) -> String {
    format!("{name:?}")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::idp::IdpKind;
    use crate::model::{Directory, Snapshot};

    /// Two agents, two roles, two groups (one view-only), one Okta export.
    pub(crate) fn sample_graph() -> IdentityGraph {
        let snapshot = r#"{"schema_version": 1,
            "meta": {"domain": "t", "tool_version": "0", "started_at": "2026-01-01T00:00:00Z",
                     "collected_at": "2026-01-01T00:00:00Z"},
            "agents": [
              {"id": 2, "ticket_scope": 2, "role_ids": [11], "group_ids": [21, 20],
               "contribution_group_ids": [21],
               "contact": {"name": "Ann", "email": " Ann@Example.test ", "active": true}},
              {"id": 1, "ticket_scope": 1, "role_ids": [11, 10], "group_ids": [20],
               "contact": {"name": "Bobby \"Tables\" \\ <b>x</b>", "email": "bob@example.test",
                           "active": true}}
            ],
            "roles": [{"id": 10, "name": "Account Administrator"}, {"id": 11, "name": "Agent"}],
            "groups": [{"id": 20, "name": "Billing"}, {"id": 21, "name": "Escalations"}]}"#;
        let snapshot = serde_json::from_str::<Snapshot>(snapshot).expect("snapshot");
        let directory = Directory::from_snapshot(&snapshot).expect("directory");
        let okta = "User,Login,Status,Activation date,Authentication Source,Last Login,Last Password Change\n\
                    Bob,bob@example.test,ACTIVE,,OKTA,,\n\
                    Ann,ann@example.test,Deactivated,,OKTA,,\n";
        let as_of = "2026-01-01T00:00:00Z".parse().expect("ts");
        let idp =
            crate::idp::read_bytes("okta.csv", Some(IdpKind::Okta), okta.as_bytes(), as_of).expect("okta");
        IdentityGraph::build(directory, idp, &Default::default())
    }

    fn agent_index(graph: &IdentityGraph, id: u64) -> usize {
        graph
            .agents()
            .find(|(_, a)| a.id == id)
            .map(|(i, _)| i)
            .expect("agent")
    }

    #[test]
    fn global_admin_sees_all_tickets_privileged_role_first() {
        let graph = sample_graph();
        let s = surface(&graph, agent_index(&graph, 1), &Policy::default());
        assert_eq!(s.agent.node, "agent:1");
        assert_eq!(s.tickets.scope, Some(TicketScope::Global));
        assert_eq!(s.tickets.sees, "all tickets");
        assert!(!s.tickets.via_groups);
        let roles: Vec<(&str, bool)> = s.roles.iter().map(|r| (r.name.as_str(), r.privileged)).collect();
        assert_eq!(roles, [("Account Administrator", true), ("Agent", false)]);
        assert_eq!(
            s.roles[0].path,
            [Step {
                from: "agent:1".into(),
                edge: "has_role",
                to: "role:10".into()
            }]
        );
        assert_eq!(
            s.roles[0].explanation,
            r#"agent → role "Account Administrator" (has role)"#
        );
        assert_eq!(s.idp_standing, IdpStanding::IdpActive);
        assert_eq!(
            s.identities[0].explanation,
            "agent → okta:okta.csv line 2 (login = bob@example.test)"
        );
    }

    #[test]
    fn group_scope_lists_member_then_view_only_groups_with_paths() {
        let graph = sample_graph();
        let s = surface(&graph, agent_index(&graph, 2), &Policy::default());
        assert!(s.tickets.via_groups);
        let groups: Vec<(&str, Membership, &str)> = s
            .groups
            .iter()
            .map(|g| (g.name.as_str(), g.membership, g.path[0].edge))
            .collect();
        assert_eq!(
            groups,
            [
                ("Billing", Membership::Member, "member_of"),
                ("Escalations", Membership::Member, "member_of"),
                ("Escalations", Membership::ViewOnly, "contributes_to"),
            ]
        );
        assert_eq!(
            s.groups[2].explanation,
            r#"agent → group "Escalations" (view-only contributor)"#
        );
        assert_eq!(s.idp_standing, IdpStanding::IdpTerminated);
        assert_eq!(s.identities[0].raw_status, "Deactivated");
        assert_eq!(s.agent.email.as_deref(), Some("Ann@Example.test"));
    }

    #[test]
    fn restricted_and_missing_scope_say_so() {
        assert_eq!(
            scope_sees(TicketScope::Restricted),
            "only tickets assigned to them"
        );
        let graph = sample_graph();
        let mut directory = graph.directory.clone();
        directory.agents[0].ticket_scope = None;
        let graph = IdentityGraph::build(directory, graph.idp.clone(), &Default::default());
        let s = surface(&graph, 0, &Policy::default());
        assert_eq!(s.tickets.scope, None);
        assert!(s.tickets.sees.starts_with("unknown"), "{}", s.tickets.sees);
    }

    #[test]
    fn quoted_names_cannot_break_out() {
        assert_eq!(quoted(r#"a "b" \ c"#), r#""a \"b\" \\ c""#);
    }
}
