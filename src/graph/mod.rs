//! The identity graph: agent → role, agent → group, agent → ticket scope,
//! agent → IdP identity. Rules ask it questions; every answer is a path.

pub mod export;
pub mod surface;

use std::collections::{BTreeMap, HashMap};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::idp::{Identity, IdentityIndex, IdpSet, KeyRewrites, MatchMethod};
use crate::model::{Agent, Directory, TicketScope};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// Index into `Directory::agents`.
    Agent(usize),
    Role(u64),
    Group(u64),
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
    agent_nodes: Vec<NodeIndex>,
}

impl IdentityGraph {
    /// `rewrites` are the policy's domain aliases and identity map.
    pub fn build(directory: Directory, idp: IdpSet, rewrites: &KeyRewrites) -> IdentityGraph {
        let mut graph = DiGraph::new();
        let mut shared: HashMap<Node, NodeIndex> = HashMap::new();
        let mut node =
            |graph: &mut DiGraph<Node, Edge>, n: Node| *shared.entry(n).or_insert_with(|| graph.add_node(n));
        let index = IdentityIndex::new(&idp);
        let mut agent_nodes = Vec::with_capacity(directory.agents.len());

        for (i, agent) in directory.agents.iter().enumerate() {
            let a = graph.add_node(Node::Agent(i));
            agent_nodes.push(a);
            for &role in &agent.role_ids {
                let r = node(&mut graph, Node::Role(role));
                graph.add_edge(a, r, Edge::HasRole);
            }
            for &group in &agent.group_ids {
                let g = node(&mut graph, Node::Group(group));
                graph.add_edge(a, g, Edge::MemberOf);
            }
            for &group in &agent.contribution_group_ids {
                let g = node(&mut graph, Node::Group(group));
                graph.add_edge(a, g, Edge::ContributesTo);
            }
            if let Some(scope) = agent.ticket_scope {
                let s = node(&mut graph, Node::Scope(scope));
                graph.add_edge(a, s, Edge::HasScope);
            }
            if let Some(email) = agent.key() {
                let (key, rewrite) = rewrites.agent_key(&email);
                for hit in index.resolve_via(&key, rewrite) {
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
        }
        IdentityGraph {
            directory,
            idp,
            graph,
            agent_nodes,
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

    /// Targets of the agent's edges accepted by `pick`, in insertion order.
    fn out<'g, T>(&'g self, agent: usize, pick: impl Fn(Node, &'g Edge) -> Option<T>) -> Vec<T> {
        let mut edges: Vec<_> = self
            .graph
            .edges_directed(self.agent_nodes[agent], Direction::Outgoing)
            .collect();
        edges.sort_by_key(|e| e.id());
        edges
            .into_iter()
            .filter_map(|e| pick(self.graph[e.target()], e.weight()))
            .collect()
    }

    pub fn role_ids_of(&self, agent: usize) -> Vec<u64> {
        self.out(agent, |n, e| match (n, e) {
            (Node::Role(id), Edge::HasRole) => Some(id),
            _ => None,
        })
    }

    /// View-only groups (`contribution_group_ids`), in insertion order.
    pub fn contribution_group_ids_of(&self, agent: usize) -> Vec<u64> {
        self.out(agent, |n, e| match (n, e) {
            (Node::Group(id), Edge::ContributesTo) => Some(id),
            _ => None,
        })
    }

    /// The underlying graph, read-only: for exporting every node and edge.
    pub fn raw(&self) -> &DiGraph<Node, Edge> {
        &self.graph
    }

    pub fn group_ids_of(&self, agent: usize) -> Vec<u64> {
        self.out(agent, |n, e| match (n, e) {
            (Node::Group(id), Edge::MemberOf) => Some(id),
            _ => None,
        })
    }

    pub fn scope_of(&self, agent: usize) -> Option<TicketScope> {
        self.out(agent, |n, _| match n {
            Node::Scope(s) => Some(s),
            _ => None,
        })
        .into_iter()
        .next()
    }

    pub fn identities_of(&self, agent: usize) -> Vec<IdentityLink<'_>> {
        self.out(agent, |n, e| match (n, e) {
            (Node::Identity(index), Edge::ResolvesTo { method, key }) => Some(IdentityLink {
                index,
                identity: &self.idp.identities[index],
                method: *method,
                key: key.as_str(),
            }),
            _ => None,
        })
    }

    /// A short name for an IdP source, `okta:users.csv` (run.json keeps the full path).
    pub fn source_label(&self, source: usize) -> String {
        let s = &self.idp.sources[source];
        let file = std::path::Path::new(&s.path)
            .file_name()
            .map_or_else(|| s.path.clone(), |f| f.to_string_lossy().into_owned());
        format!("{}:{}", s.kind, file)
    }

    /// Agents per role id, for admin-count style questions.
    pub fn holders_by_role(&self) -> BTreeMap<u64, Vec<usize>> {
        let mut map: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, _) in self.agents() {
            for role in self.role_ids_of(i) {
                map.entry(role).or_default().push(i);
            }
        }
        map
    }
}
