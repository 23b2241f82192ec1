//! The whole identity graph as data: a versioned JSON document (the public
//! format, documented in `docs/graph.md`), Graphviz DOT and GraphML. All three
//! are written from the same [`GraphDocument`], in one deterministic order.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use serde::Serialize;

use super::{Edge, IdentityGraph, Node};
use crate::model::TicketScope;
use crate::policy::Policy;

pub const SCHEMA_VERSION: u32 = 1;

/// What `deskaudit graph --format` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Dot,
    Graphml,
    Json,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dot" => Ok(Format::Dot),
            "graphml" => Ok(Format::Graphml),
            "json" => Ok(Format::Json),
            _ => Err(format!(
                "unknown graph format `{s}`: use one of dot, graphml, json"
            )),
        }
    }
}

/// Stable, human-readable node ids: `agent:<id>`, `role:<id>`, `group:<id>`,
/// `scope:global|group|restricted`, `identity:<file>#<line>`.
pub struct NodeIds<'g> {
    graph: &'g IdentityGraph,
    /// One name per IdP source: its file name, or `file~N` (N = its 1-based
    /// `--idp` position) when two sources share a file name.
    sources: Vec<String>,
}

impl<'g> NodeIds<'g> {
    pub fn new(graph: &'g IdentityGraph) -> NodeIds<'g> {
        let files: Vec<String> = graph
            .idp
            .sources
            .iter()
            .map(|s| {
                std::path::Path::new(&s.path)
                    .file_name()
                    .map_or_else(|| s.path.clone(), |f| f.to_string_lossy().into_owned())
            })
            .collect();
        let sources = files
            .iter()
            .enumerate()
            .map(|(i, f)| match files.iter().filter(|g| *g == f).count() {
                1 => f.clone(),
                _ => format!("{f}~{}", i + 1),
            })
            .collect();
        NodeIds { graph, sources }
    }

    /// `DOMAIN:` where several accounts are audited at once (their ids may
    /// collide), else nothing: a single account's ids are as they always were.
    fn account(&self, account: usize) -> String {
        let directory = &self.graph.directory;
        match directory.accounts.get(account) {
            Some(domain) if directory.several_accounts() => format!("{domain}:"),
            _ => String::new(),
        }
    }

    pub fn of(&self, node: Node) -> String {
        match node {
            Node::Agent(i) => {
                let agent = self.graph.agent(i);
                format!("agent:{}{}", self.account(agent.account), agent.id)
            }
            Node::Role(key) => format!("role:{}{}", self.account(key.account), key.id),
            Node::Group(key) => format!("group:{}{}", self.account(key.account), key.id),
            Node::Scope(scope) => format!("scope:{}", scope.as_str().to_ascii_lowercase()),
            Node::Identity(i) => {
                let identity = &self.graph.idp.identities[i];
                let file = self.sources.get(identity.source).map_or("?", String::as_str);
                format!("identity:{file}#{}", identity.line)
            }
        }
    }
}

/// An attribute value: GraphML needs a type per attribute name, so only these three.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Attr {
    Bool(bool),
    Int(u64),
    Text(String),
}

impl Attr {
    fn graphml_type(&self) -> &'static str {
        match self {
            Attr::Bool(_) => "boolean",
            Attr::Int(_) => "long",
            Attr::Text(_) => "string",
        }
    }
}

impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attr::Bool(b) => write!(f, "{b}"),
            Attr::Int(n) => write!(f, "{n}"),
            Attr::Text(s) => f.write_str(s),
        }
    }
}

type Attrs = BTreeMap<&'static str, Attr>;

#[derive(Clone, Debug, Serialize)]
pub struct GraphNode {
    pub id: String,
    /// agent, role, group, scope or identity.
    pub kind: &'static str,
    pub label: String,
    pub attributes: Attrs,
}

#[derive(Clone, Debug, Serialize)]
pub struct GraphEdge {
    pub from: String,
    pub to: String,
    /// has_role, member_of, contributes_to, has_scope or resolves_to.
    pub kind: &'static str,
    pub attributes: Attrs,
}

/// The public graph document (`schema_version` 1).
#[derive(Clone, Debug, Serialize)]
pub struct GraphDocument {
    pub schema_version: u32,
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

pub fn edge_kind(edge: &Edge) -> &'static str {
    match edge {
        Edge::HasRole => "has_role",
        Edge::MemberOf => "member_of",
        Edge::ContributesTo => "contributes_to",
        Edge::HasScope => "has_scope",
        Edge::ResolvesTo { .. } => "resolves_to",
    }
}

/// The serde (snake_case) name of a value, e.g. `primary_email` for a match method.
pub(crate) fn serde_name(value: impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

pub fn scope_sees(scope: TicketScope) -> &'static str {
    match scope {
        TicketScope::Global => "all tickets",
        TicketScope::Group => "tickets of the agent's groups",
        TicketScope::Restricted => "only tickets assigned to them",
    }
}

fn scope_code(scope: TicketScope) -> u64 {
    match scope {
        TicketScope::Global => 1,
        TicketScope::Group => 2,
        TicketScope::Restricted => 3,
    }
}

/// Sort key: kind first (agents, roles, groups, scopes, identities), then the natural id.
/// Agents, roles and groups by account first (in the snapshots' order).
fn node_order(graph: &IdentityGraph, node: Node) -> (u8, usize, u64, u64, usize) {
    match node {
        Node::Agent(i) => {
            let agent = graph.agent(i);
            (0, agent.account, agent.id, 0, i)
        }
        Node::Role(key) => (1, key.account, key.id, 0, 0),
        Node::Group(key) => (2, key.account, key.id, 0, 0),
        Node::Scope(s) => (3, 0, scope_code(s), 0, 0),
        Node::Identity(i) => {
            let identity = &graph.idp.identities[i];
            (4, 0, identity.source as u64, identity.line, i)
        }
    }
}

fn text(value: impl Into<String>) -> Attr {
    Attr::Text(value.into())
}

fn describe(graph: &IdentityGraph, policy: &Policy, node: Node) -> (&'static str, String, Attrs) {
    let mut a = Attrs::new();
    match node {
        Node::Agent(i) => {
            let agent = graph.agent(i);
            if graph.directory.several_accounts() {
                a.insert("account", text(graph.directory.account_of(agent)));
            }
            a.insert("agent_id", Attr::Int(agent.id));
            a.insert("name", text(&agent.name));
            if let Some(email) = &agent.email {
                a.insert("email", text(email.trim()));
            }
            a.insert("status", text(agent.status.as_str()));
            if let Some(t) = &agent.agent_type {
                a.insert("agent_type", text(t));
            }
            a.insert("occasional", Attr::Bool(agent.occasional));
            if let Some(t) = agent.created_at {
                a.insert("created_at", text(t.to_string()));
            }
            if let Some(t) = agent.last_activity() {
                a.insert("last_activity", text(t.to_string()));
            }
            let label = match (&agent.name, agent.email.as_deref()) {
                (name, _) if !name.trim().is_empty() => name.clone(),
                (_, Some(email)) => email.trim().to_owned(),
                _ => format!("agent {}", agent.id),
            };
            ("agent", label, a)
        }
        Node::Role(key) => {
            let role = graph.directory.roles.get(&key);
            let name = graph.directory.role_name(key);
            let id = key.id;
            a.insert("role_id", Attr::Int(id));
            a.insert("name", text(&name));
            a.insert("known", Attr::Bool(role.is_some()));
            a.insert("default", Attr::Bool(role.is_some_and(|r| r.default)));
            a.insert(
                "privileged",
                Attr::Bool(policy.is_privileged(id, role.map(|r| r.name.as_str()))),
            );
            ("role", name, a)
        }
        Node::Group(key) => {
            let name = graph.directory.group_name(key);
            a.insert("group_id", Attr::Int(key.id));
            a.insert("name", text(&name));
            a.insert("known", Attr::Bool(graph.directory.groups.contains_key(&key)));
            ("group", name, a)
        }
        Node::Scope(scope) => {
            a.insert("ticket_scope", Attr::Int(scope_code(scope)));
            a.insert("name", text(scope.as_str()));
            a.insert("sees", text(scope_sees(scope)));
            ("scope", format!("{} ({})", scope.as_str(), scope_sees(scope)), a)
        }
        Node::Identity(i) => {
            let identity = &graph.idp.identities[i];
            let source = &graph.idp.sources[identity.source];
            a.insert("source", text(graph.source_label(identity.source)));
            a.insert("source_kind", text(source.kind.name()));
            a.insert("source_format", text(if source.json { "json" } else { "csv" }));
            a.insert("line", Attr::Int(identity.line));
            a.insert("login", text(&identity.login));
            if !identity.display_name.is_empty() {
                a.insert("display_name", text(&identity.display_name));
            }
            a.insert("status", text(identity.status.as_str()));
            a.insert("raw_status", text(&identity.raw_status));
            if let Some(t) = identity.last_login {
                a.insert("last_login", text(t.to_string()));
            }
            if let Some(d) = &identity.department {
                a.insert("department", text(d));
            }
            if let Some(e) = &identity.employee_id {
                a.insert("employee_id", text(e));
            }
            let at = if source.json { "entry" } else { "line" };
            let label = format!(
                "{} ({} {at} {})",
                identity.login,
                graph.source_label(identity.source),
                identity.line
            );
            ("identity", label, a)
        }
    }
}

/// Every node and edge of the graph, in a fixed order: nodes by kind then id,
/// edges by their source node, then kind, then target node.
pub fn document(graph: &IdentityGraph, policy: &Policy) -> GraphDocument {
    let raw = graph.raw();
    let ids = NodeIds::new(graph);
    let mut order: Vec<NodeIndex> = raw.node_indices().collect();
    order.sort_by_key(|&n| node_order(graph, raw[n]));
    let position: HashMap<NodeIndex, usize> = order.iter().enumerate().map(|(p, &n)| (n, p)).collect();
    let nodes = order
        .iter()
        .map(|&n| {
            let (kind, label, attributes) = describe(graph, policy, raw[n]);
            GraphNode {
                id: ids.of(raw[n]),
                kind,
                label,
                attributes,
            }
        })
        .collect();
    let mut edges: Vec<_> = raw.edge_references().collect();
    let kind_rank = |e: &Edge| match e {
        Edge::HasRole => 0,
        Edge::MemberOf => 1,
        Edge::ContributesTo => 2,
        Edge::HasScope => 3,
        Edge::ResolvesTo { .. } => 4,
    };
    edges.sort_by_key(|e| {
        (
            position[&e.source()],
            kind_rank(e.weight()),
            position[&e.target()],
            e.id(),
        )
    });
    let edges = edges
        .into_iter()
        .map(|e| {
            let mut attributes = Attrs::new();
            if let Edge::ResolvesTo { method, key } = e.weight() {
                attributes.insert("method", text(serde_name(method)));
                attributes.insert("key", text(key));
            }
            GraphEdge {
                from: ids.of(raw[e.source()]),
                to: ids.of(raw[e.target()]),
                kind: edge_kind(e.weight()),
                attributes,
            }
        })
        .collect();
    GraphDocument {
        schema_version: SCHEMA_VERSION,
        nodes,
        edges,
    }
}

pub fn write(doc: &GraphDocument, format: Format, out: &mut impl Write) -> io::Result<()> {
    match format {
        Format::Json => write_json(doc, out),
        Format::Dot => write_dot(doc, out),
        Format::Graphml => write_graphml(doc, out),
    }
}

pub fn write_json(doc: &GraphDocument, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, doc)?;
    writeln!(out)
}

/// A DOT quoted string: `"` and `\` escaped, line breaks as DOT's `\n`, tabs as
/// spaces, other control characters dropped. Quoted labels are never read as HTML labels.
fn dot_quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push(' '),
            c if c.is_control() => {}
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

pub fn write_dot(doc: &GraphDocument, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "// deskaudit identity graph (schema {}).",
        doc.schema_version
    )?;
    writeln!(out, "// Render: dot -Tsvg graph.dot -o graph.svg")?;
    writeln!(out, "digraph deskaudit {{")?;
    writeln!(out, "  rankdir=LR;")?;
    writeln!(out, "  node [fontname=\"Helvetica\", fontsize=10];")?;
    writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=9];")?;
    for node in &doc.nodes {
        let attr = |k: &str| node.attributes.get(k).map(Attr::to_string).unwrap_or_default();
        let mut label = node.label.clone();
        let mut style = match node.kind {
            "agent" => "shape=box",
            "role" => "shape=ellipse",
            "group" => "shape=folder",
            "scope" => "shape=diamond",
            _ => "shape=note",
        }
        .to_owned();
        match node.kind {
            "agent" => {
                label = format!("{label}\n{}\n{}", attr("email"), attr("status"));
                if attr("status") != "active" {
                    style.push_str(", style=dashed");
                }
            }
            "role" if attr("privileged") == "true" => {
                label.push_str("\n(privileged)");
                style.push_str(", color=red, penwidth=2");
            }
            "identity" => {
                label = format!("{label}\n{} ({})", attr("status"), attr("raw_status"));
                if matches!(attr("status").as_str(), "suspended" | "deprovisioned") {
                    style.push_str(", color=gray50, style=dashed");
                }
            }
            _ => {}
        }
        writeln!(
            out,
            "  {} [label={}, {style}];",
            dot_quote(&node.id),
            dot_quote(&label)
        )?;
    }
    for edge in &doc.edges {
        let (label, style) = match edge.kind {
            "has_role" => ("has role".to_owned(), ""),
            "member_of" => ("member".to_owned(), ""),
            "contributes_to" => ("view only".to_owned(), ", style=dashed"),
            "has_scope" => ("ticket scope".to_owned(), ""),
            _ => {
                let method = edge
                    .attributes
                    .get("method")
                    .map(Attr::to_string)
                    .unwrap_or_default();
                (format!("resolves to ({method})"), ", color=gray40")
            }
        };
        writeln!(
            out,
            "  {} -> {} [label={}{style}];",
            dot_quote(&edge.from),
            dot_quote(&edge.to),
            dot_quote(&label)
        )?;
    }
    writeln!(out, "}}")
}

/// XML text or attribute content: markup characters escaped, whitespace that
/// an attribute would normalise kept as character references, and characters
/// XML 1.0 forbids replaced with U+FFFD.
fn xml_escape(s: &str) -> String {
    let mut e = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => e.push_str("&amp;"),
            '<' => e.push_str("&lt;"),
            '>' => e.push_str("&gt;"),
            '"' => e.push_str("&quot;"),
            '\'' => e.push_str("&apos;"),
            '\n' => e.push_str("&#10;"),
            '\r' => e.push_str("&#13;"),
            '\t' => e.push_str("&#9;"),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => e.push('\u{fffd}'),
            c => e.push(c),
        }
    }
    e
}

/// Attribute name → GraphML type, for one element kind, in name order.
fn key_types<'d>(attrs: impl Iterator<Item = &'d Attrs>) -> BTreeMap<&'static str, &'static str> {
    let mut keys = BTreeMap::new();
    for map in attrs {
        for (name, value) in map {
            keys.entry(*name).or_insert_with(|| value.graphml_type());
        }
    }
    keys
}

pub fn write_graphml(doc: &GraphDocument, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">"#
    )?;
    let key = |out: &mut dyn Write, prefix: &str, target: &str, name: &str, ty: &str| {
        writeln!(
            out,
            r#"  <key id="{prefix}_{name}" for="{target}" attr.name="{name}" attr.type="{ty}"/>"#
        )
    };
    key(out, "g", "graph", "schema_version", "int")?;
    key(out, "n", "node", "kind", "string")?;
    key(out, "n", "node", "label", "string")?;
    for (name, ty) in key_types(doc.nodes.iter().map(|n| &n.attributes)) {
        key(out, "n", "node", name, ty)?;
    }
    key(out, "e", "edge", "kind", "string")?;
    for (name, ty) in key_types(doc.edges.iter().map(|e| &e.attributes)) {
        key(out, "e", "edge", name, ty)?;
    }
    writeln!(out, r#"  <graph id="deskaudit" edgedefault="directed">"#)?;
    writeln!(
        out,
        r#"    <data key="g_schema_version">{}</data>"#,
        doc.schema_version
    )?;
    let data = |out: &mut dyn Write, prefix: &str, name: &str, value: &str| {
        writeln!(
            out,
            r#"      <data key="{prefix}_{name}">{}</data>"#,
            xml_escape(value)
        )
    };
    for node in &doc.nodes {
        writeln!(out, r#"    <node id="{}">"#, xml_escape(&node.id))?;
        data(out, "n", "kind", node.kind)?;
        data(out, "n", "label", &node.label)?;
        for (name, value) in &node.attributes {
            data(out, "n", name, &value.to_string())?;
        }
        writeln!(out, "    </node>")?;
    }
    for (i, edge) in doc.edges.iter().enumerate() {
        writeln!(
            out,
            r#"    <edge id="e{i}" source="{}" target="{}">"#,
            xml_escape(&edge.from),
            xml_escape(&edge.to)
        )?;
        data(out, "e", "kind", edge.kind)?;
        for (name, value) in &edge.attributes {
            data(out, "e", name, &value.to_string())?;
        }
        writeln!(out, "    </edge>")?;
    }
    writeln!(out, "  </graph>")?;
    writeln!(out, "</graphml>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::surface::tests::sample_graph;

    fn render(format: Format) -> String {
        let graph = sample_graph();
        let doc = document(&graph, &Policy::default());
        let mut out = Vec::new();
        write(&doc, format, &mut out).expect("write to memory");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn format_names_parse_and_unknown_lists_the_three() {
        assert_eq!("DOT".parse::<Format>(), Ok(Format::Dot));
        assert_eq!("graphml".parse::<Format>(), Ok(Format::Graphml));
        let err = "svg".parse::<Format>().expect_err("unknown");
        assert!(err.contains("dot, graphml, json"), "{err}");
    }

    #[test]
    fn dot_quote_escapes_everything_that_could_end_the_string() {
        let cases = [
            ("plain", r#""plain""#),
            (r#"=HYPERLINK("x")"#, r#""=HYPERLINK(\"x\")""#),
            (r"back\slash\", r#""back\\slash\\""#),
            ("two\nlines\r", r#""two\nlines""#),
            ("<b>html</b>", r#""<b>html</b>""#),
        ];
        for (raw, want) in cases {
            assert_eq!(dot_quote(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn xml_escape_table() {
        let cases = [
            ("a<b>&\"c\"'", "a&lt;b&gt;&amp;&quot;c&quot;&apos;"),
            ("line\nbreak", "line&#10;break"),
            ("bell\u{7}", "bell\u{fffd}"),
        ];
        for (raw, want) in cases {
            assert_eq!(xml_escape(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn json_has_stable_ids_and_every_edge_kind() {
        let doc: serde_json::Value = serde_json::from_str(&render(Format::Json)).expect("json");
        assert_eq!(doc["schema_version"], 1);
        let ids: Vec<&str> = doc["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .filter_map(|n| n["id"].as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "agent:1",
                "agent:2",
                "role:10",
                "role:11",
                "group:20",
                "group:21",
                "scope:global",
                "scope:group",
                "identity:okta.csv#2",
                "identity:okta.csv#3",
            ]
        );
        let kinds: Vec<&str> = doc["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .filter_map(|e| e["kind"].as_str())
            .collect();
        for kind in [
            "has_role",
            "member_of",
            "contributes_to",
            "has_scope",
            "resolves_to",
        ] {
            assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
        }
        let resolves = doc["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .find(|e| e["kind"] == "resolves_to")
            .expect("resolves_to edge");
        assert_eq!(resolves["attributes"]["method"], "login");
        let role = &doc["nodes"][2];
        assert_eq!(role["attributes"]["privileged"], true);
    }

    #[test]
    fn every_attribute_name_has_one_type() {
        let graph = sample_graph();
        let doc = document(&graph, &Policy::default());
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for attrs in doc.nodes.iter().map(|n| &n.attributes) {
            for (name, value) in attrs {
                let ty = *seen.entry(name).or_insert(value.graphml_type());
                assert_eq!(ty, value.graphml_type(), "{name}");
            }
        }
    }

    #[test]
    fn dot_and_graphml_keep_hostile_names_inert() {
        let dot = render(Format::Dot);
        assert!(
            dot.contains(r#"label="Bobby \"Tables\" \\ <b>x</b>\nbob@example.test"#),
            "{dot}"
        );
        assert!(dot.trim_end().ends_with('}'));
        let xml = render(Format::Graphml);
        assert!(
            xml.contains("Bobby &quot;Tables&quot; \\ &lt;b&gt;x&lt;/b&gt;"),
            "{xml}"
        );
        assert!(!xml.contains("<b>"));
    }
}
