//! The identity graph: agent → role, agent → group, agent → ticket scope,
//! agent → IdP identity. Rules ask it questions; every answer is a path.

pub mod export;
pub mod surface;

use std::collections::{BTreeMap, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};
use rayon::prelude::*;

use crate::idp::{Identity, IdentityIndex, IdpSet, KeyRewrites, MatchMethod, Resolution};
use crate::model::{Agent, Directory, InAccount, TicketScope};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// Index into `Directory::agents`.
    Agent(usize),
    Role(InAccount),
    Group(InAccount),
    Scope(TicketScope),
    /// Index into `IdpSet::identities`.
    Identity(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edge {
    HasRole,
    MemberOf,
    /// View-only membership (`contribution_group_ids`).
    ContributesTo,
    HasScope,
    ResolvesTo {
        method: MatchMethod,
        key: String,
    },
}

/// One identity an agent resolved to, and how.
#[derive(Clone, Copy, Debug)]
pub struct IdentityLink<'g> {
    pub index: usize,
    pub identity: &'g Identity,
    pub method: MatchMethod,
    pub key: &'g str,
}

pub struct IdentityGraph {
    pub directory: Directory,
    pub idp: IdpSet,
    graph: DiGraph<Node, Edge>,
    /// Agent `i`'s edges are the graph's edges `agent_edges[i]..agent_edges[i + 1]`:
    /// each agent's edges are added together, so its questions are answered
    /// from one slice, in insertion order, without a walk or a sort.
    agent_edges: Vec<usize>,
}

impl IdentityGraph {
    /// `rewrites` are the policy's domain aliases and identity map.
    pub fn build(directory: Directory, idp: IdpSet, rewrites: &KeyRewrites) -> IdentityGraph {
        // Which identities each agent resolves to: the costly part (a key
        // rewritten and looked up per agent), on every core. The nodes and
        // edges are then added in agent order, so the graph is the same.
        let index = IdentityIndex::new(&idp);
        let hits: Vec<Vec<Resolution>> = directory
            .agents
            .par_iter()
            .map(|agent| match agent.key() {
                Some(email) => {
                    let (key, rewrite) = rewrites.agent_key(&email);
                    index.resolve_via(&key, rewrite)
                }
                None => Vec::new(),
            })
            .collect();
        drop(index);
        let edge_count: usize = directory
            .agents
            .iter()
            .zip(&hits)
            .map(|(a, hits)| {
                a.role_ids.len()
                    + a.group_ids.len()
                    + a.contribution_group_ids.len()
                    + usize::from(a.ticket_scope.is_some())
                    + hits.len()
            })
            .sum();
        // At most: every agent, role, group, scope and identity.
        let node_bound = directory.agents.len()
            + directory.roles.len()
            + directory.groups.len()
            + 3
            + idp.identities.len().min(edge_count);
        let mut graph = DiGraph::with_capacity(node_bound, edge_count);
        let mut shared: HashMap<Node, NodeIndex, foldhash::fast::RandomState> = HashMap::default();
        let mut node =
            |graph: &mut DiGraph<Node, Edge>, n: Node| *shared.entry(n).or_insert_with(|| graph.add_node(n));
        let mut agent_edges = Vec::with_capacity(directory.agents.len() + 1);

        for ((i, agent), hits) in directory.agents.iter().enumerate().zip(hits) {
            agent_edges.push(graph.edge_count());
            let a = graph.add_node(Node::Agent(i));
            for &role in &agent.role_ids {
                let r = node(&mut graph, Node::Role(agent.in_account(role)));
                graph.add_edge(a, r, Edge::HasRole);
            }
            for &group in &agent.group_ids {
                let g = node(&mut graph, Node::Group(agent.in_account(group)));
                graph.add_edge(a, g, Edge::MemberOf);
            }
            for &group in &agent.contribution_group_ids {
                let g = node(&mut graph, Node::Group(agent.in_account(group)));
                graph.add_edge(a, g, Edge::ContributesTo);
            }
            if let Some(scope) = agent.ticket_scope {
                let s = node(&mut graph, Node::Scope(scope));
                graph.add_edge(a, s, Edge::HasScope);
            }
            for hit in hits {
                let id = node(&mut graph, Node::Identity(hit.identity));
                graph.add_edge(
                    a,
                    id,
                    Edge::ResolvesTo {
                        method: hit.method,
                        key: hit.key,
                    },
                );
            }
        }
        agent_edges.push(graph.edge_count());
        IdentityGraph {
            directory,
            idp,
            graph,
            agent_edges,
        }
    }

    pub fn agents(&self) -> impl Iterator<Item = (usize, &Agent)> {
        self.directory.agents.iter().enumerate()
    }

    pub fn agent(&self, index: usize) -> &Agent {
        &self.directory.agents[index]
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// The agent's edges with their targets, in insertion order.
    fn out(&self, agent: usize) -> impl Iterator<Item = (Node, &Edge)> {
        self.graph.raw_edges()[self.agent_edges[agent]..self.agent_edges[agent + 1]]
            .iter()
            .map(|e| (self.graph[e.target()], &e.weight))
    }

    /// The agent's roles, in insertion order.
    pub fn role_ids_of(&self, agent: usize) -> impl Iterator<Item = InAccount> + '_ {
        self.out(agent).filter_map(|(n, e)| match (n, e) {
            (Node::Role(id), Edge::HasRole) => Some(id),
            _ => None,
        })
    }

    /// View-only groups (`contribution_group_ids`), in insertion order.
    pub fn contribution_group_ids_of(&self, agent: usize) -> impl Iterator<Item = InAccount> + '_ {
        self.out(agent).filter_map(|(n, e)| match (n, e) {
            (Node::Group(id), Edge::ContributesTo) => Some(id),
            _ => None,
        })
    }

    /// The underlying graph, read-only: for exporting every node and edge.
    pub fn raw(&self) -> &DiGraph<Node, Edge> {
        &self.graph
    }

    /// Groups the agent is a member of, in insertion order.
    pub fn group_ids_of(&self, agent: usize) -> impl Iterator<Item = InAccount> + '_ {
        self.out(agent).filter_map(|(n, e)| match (n, e) {
            (Node::Group(id), Edge::MemberOf) => Some(id),
            _ => None,
        })
    }

    pub fn scope_of(&self, agent: usize) -> Option<TicketScope> {
        self.out(agent).find_map(|(n, _)| match n {
            Node::Scope(s) => Some(s),
            _ => None,
        })
    }

    /// The identities the agent resolved to, in insertion order.
    pub fn identity_links(&self, agent: usize) -> impl Iterator<Item = IdentityLink<'_>> {
        self.out(agent).filter_map(|(n, e)| match (n, e) {
            (Node::Identity(index), Edge::ResolvesTo { method, key }) => Some(IdentityLink {
                index,
                identity: &self.idp.identities[index],
                method: *method,
                key: key.as_str(),
            }),
            _ => None,
        })
    }

    /// As [`IdentityGraph::identity_links`], collected.
    pub fn identities_of(&self, agent: usize) -> Vec<IdentityLink<'_>> {
        self.identity_links(agent).collect()
    }

    /// A short name for an IdP source, `okta:users.csv` (run.json keeps the full path).
    pub fn source_label(&self, source: usize) -> String {
        let s = &self.idp.sources[source];
        let file = std::path::Path::new(&s.path)
            .file_name()
            .map_or_else(|| s.path.clone(), |f| f.to_string_lossy().into_owned());
        format!("{}:{}", s.kind, file)
    }

    /// Agents per role, for admin-count style questions.
    pub fn holders_by_role(&self) -> BTreeMap<InAccount, Vec<usize>> {
        let mut map: BTreeMap<InAccount, Vec<usize>> = BTreeMap::new();
        for (i, _) in self.agents() {
            for role in self.role_ids_of(i) {
                map.entry(role).or_default().push(i);
            }
        }
        map
    }
}
