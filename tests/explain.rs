//! `deskaudit explain` and `deskaudit graph` on the committed demo snapshot,
//! through the real binary.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

const SNAPSHOT: &str = "reports/demo/snapshot.json";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `deskaudit <command> --snapshot demo --idp okta --idp entra --as-of ... <extra>`.
fn run(command: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deskaudit"))
        .arg(command)
        .args([
            "--snapshot",
            SNAPSHOT,
            "--idp",
            "fixtures/acme/idp/okta-password-health.csv",
            "--idp",
            "fixtures/acme/idp/entra-users.csv",
            "--as-of",
            "2026-10-01T00:00:00Z",
        ])
        .args(extra)
        .current_dir(repo())
        .env_remove("FRESHDESK_API_KEY")
        .output()
        .expect("binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(out: Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn explain_account_administrator() {
    let text = ok(run("explain", &["olivia.hart@acme.test"]));
    assert!(text.contains("[privileged]"), "{text}");
    assert!(text.contains("Tickets they can see: all tickets"), "{text}");
    insta::assert_snapshot!("explain_olivia_hart", text);
}

#[test]
fn explain_terminated_active_agent() {
    let text = ok(run("explain", &["sofia.marquez@acme.test"]));
    assert!(text.contains("[critical] terminated-active"), "{text}");
    assert!(
        text.contains(r#"agent → group "EMEA Support" (member)"#),
        "{text}"
    );
    insta::assert_snapshot!("explain_sofia_marquez", text);
}

#[test]
fn explain_finds_by_any_case_email_and_by_id() {
    let by_email = ok(run("explain", &["  Sofia.Marquez@ACME.test "]));
    let by_id = ok(run("explain", &["67013470154"]));
    assert_eq!(by_email, by_id);
}

#[test]
fn explain_json_is_versioned_and_carries_findings() {
    let doc: serde_json::Value =
        serde_json::from_str(&ok(run("explain", &["--json", "sofia.marquez@acme.test"]))).expect("json");
    assert_eq!(doc["schema_version"], 1);
    let agent = &doc["agents"][0];
    assert_eq!(agent["agent"]["node"], "agent:67013470154");
    assert_eq!(agent["idp_standing"], "idp_terminated");
    assert_eq!(agent["tickets"]["scope"], "Group");
    assert_eq!(agent["findings"][0]["rule"], "terminated-active");
    assert_eq!(agent["findings"][0]["severity"], "critical");
}

#[test]
fn explain_unknown_email_exits_2_naming_the_search() {
    let out = run("explain", &["olivia.hrat@acme.test"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.contains("olivia.hrat@acme.test"), "{err}");
    assert!(err.contains(SNAPSHOT), "{err}");
    assert!(err.contains("close: olivia.hart@acme.test"), "{err}");
}

#[test]
fn graph_json_has_every_agent_and_consistent_edges() {
    let text = ok(run("graph", &["--format", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    let snapshot: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join(SNAPSHOT)).expect("snapshot"))
            .expect("json");
    let nodes = doc["nodes"].as_array().expect("nodes");
    let edges = doc["edges"].as_array().expect("edges");
    let count = |items: &[serde_json::Value]| {
        let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
        for item in items {
            *by_kind
                .entry(item["kind"].as_str().expect("kind").to_owned())
                .or_default() += 1;
        }
        by_kind
    };
    let node_kinds = count(nodes);
    assert_eq!(
        node_kinds["agent"],
        snapshot["agents"].as_array().expect("agents").len()
    );
    let ids: std::collections::BTreeSet<&str> = nodes.iter().filter_map(|n| n["id"].as_str()).collect();
    assert_eq!(ids.len(), nodes.len(), "node ids are unique");
    for edge in edges {
        for end in ["from", "to"] {
            let id = edge[end].as_str().expect("id");
            assert!(ids.contains(id), "edge {end} {id} is not a node");
        }
    }
    assert!(ids.contains("agent:67013470001") && ids.contains("scope:global"));
    assert!(ids.contains("identity:entra-users.csv#2"), "{ids:?}");
    let summary = serde_json::json!({
            "schema_version": doc["schema_version"],
            "nodes": nodes.len(),
            "edges": edges.len(),
            "nodes_by_kind": node_kinds,
        "edges_by_kind": count(edges),
    });
    insta::assert_json_snapshot!("graph_json_summary", summary);
    // Deterministic: a second run writes the same bytes.
    assert_eq!(text, ok(run("graph", &["--format", "json"])));
}

#[test]
fn graph_out_writes_what_stdout_would() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("graph.dot");
    ok(run(
        "graph",
        &["--format", "dot", "--out", file.to_str().expect("utf-8")],
    ));
    let written = std::fs::read_to_string(&file).expect("written");
    assert_eq!(written, ok(run("graph", &["--format", "dot"])));
}

/// Every quoted string of a DOT file closes on the line it opens on (a raw
/// newline or an unescaped quote would break that), and braces balance.
fn check_dot(dot: &str) {
    let mut depth = 0i32;
    for (n, line) in dot.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let mut in_string = false;
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match (in_string, c) {
                (true, '\\') => {
                    chars.next();
                }
                (_, '"') => in_string = !in_string,
                (false, '{') => depth += 1,
                (false, '}') => depth -= 1,
                _ => {}
            }
        }
        assert!(
            !in_string,
            "line {}: a quoted string does not close: {line}",
            n + 1
        );
        let end = line.trim_end();
        assert!(
            end.ends_with(';') || end.ends_with('{') || end.ends_with('}'),
            "line {}: statement does not end cleanly: {line}",
            n + 1
        );
    }
    assert_eq!(depth, 0, "braces balance");
}

#[test]
fn graph_dot_escapes_hostile_names() {
    let dot = ok(run("graph", &["--format", "dot"]));
    assert!(dot.starts_with("// deskaudit identity graph"), "{dot}");
    check_dot(&dot);
    assert!(
        dot.contains(r#"label="Sam <img src=x onerror=alert(1)> Taylor\nsam.taylor@acme.test"#),
        "{dot}"
    );
    assert!(
        dot.contains(r#"label="=HYPERLINK(\"http://evil.example/x\",\"Zoe Ortiz\")\nzoe.ortiz@acme.test"#),
        "{dot}"
    );
    let agents = dot
        .lines()
        .filter(|l| l.trim_start().starts_with("\"agent:") && !l.contains("->"));
    assert_eq!(agents.count(), 42);
}

/// A small XML well-formedness check: tags nest and close, attribute values
/// are quoted and hold no `<`, and `&` only starts a known reference.
fn check_xml(xml: &str) -> Vec<String> {
    fn check_refs(s: &str) {
        let mut rest = s;
        while let Some(at) = rest.find('&') {
            let tail = &rest[at + 1..];
            let end = tail.find(';').expect("reference ends with ;");
            let name = &tail[..end];
            let known = ["amp", "lt", "gt", "quot", "apos"].contains(&name)
                || name.strip_prefix('#').is_some_and(|d| d.parse::<u32>().is_ok());
            assert!(known, "unknown reference &{name};");
            rest = &tail[end..];
        }
    }
    let body = xml
        .strip_prefix(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
        .expect("XML declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut opened = Vec::new();
    let mut rest = body;
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        assert!(!text.contains('>'), "stray > in text: {text}");
        check_refs(text);
        assert!(
            !stack.is_empty() || text.trim().is_empty(),
            "text outside the root"
        );
        let tail = &rest[lt + 1..];
        // Find the tag's end, skipping `>` inside quoted attribute values.
        let mut quote = None;
        let mut end = None;
        for (i, c) in tail.char_indices() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (Some(_), '<') => panic!("< inside an attribute value: {}", &tail[..i]),
                (None, '>') => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.expect("tag closes");
        let tag = &tail[..end];
        check_refs(tag);
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.trim()), "mismatched </{name}>");
        } else {
            let name = tag
                .split_whitespace()
                .next()
                .expect("tag name")
                .trim_end_matches('/');
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '_'),
                "tag name {name}"
            );
            assert!(
                !stack.is_empty() || opened.is_empty(),
                "a second root element <{name}>"
            );
            opened.push(tag.to_owned());
            if !tag.ends_with('/') {
                stack.push(name.to_owned());
            }
        }
        rest = &tail[end + 1..];
    }
    assert!(rest.trim().is_empty(), "text after the root");
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    opened
}

#[test]
fn graph_graphml_is_well_formed_and_declares_its_keys() {
    let xml = ok(run("graph", &["--format", "graphml"]));
    let tags = check_xml(&xml);
    assert!(tags[0].starts_with("graphml "), "{}", tags[0]);
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(tag[start..].split('"').next()?.to_owned())
    };
    let declared: std::collections::BTreeSet<String> = tags
        .iter()
        .filter(|t| t.starts_with("key "))
        .filter_map(|t| attr(t, "id"))
        .collect();
    let used: std::collections::BTreeSet<String> = tags
        .iter()
        .filter(|t| t.starts_with("data "))
        .filter_map(|t| attr(t, "key"))
        .collect();
    assert!(!used.is_empty());
    assert!(
        used.is_subset(&declared),
        "undeclared keys: {:?}",
        used.difference(&declared)
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(run("graph", &["--format", "json"]))).expect("json");
    let nodes = json["nodes"].as_array().expect("nodes").len();
    assert_eq!(tags.iter().filter(|t| t.starts_with("node ")).count(), nodes);
    assert!(xml.contains("Sam &lt;img src=x onerror=alert(1)&gt; Taylor"));
    assert!(xml.contains("=HYPERLINK(&quot;http://evil.example/x&quot;,&quot;Zoe Ortiz&quot;)"));
}

#[test]
fn graph_unknown_format_exits_2_listing_the_three() {
    let out = run("graph", &["--format", "svg"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.contains("svg") && err.contains("dot, graphml, json"), "{err}");
}
