//! Runs the rule catalogue on a small fixture of its own:
//! `fixtures/rules/<name>/` holds `agents.json` (API agent objects), and
//! optionally `roles.json`, `groups.json`, IdP exports (`*.csv`, `*.json`
//! other than those three, kind detected), `assignments.csv`, `policy.toml`
//! and `as_of.txt` (default 2026-10-01T00:00:00Z).

use std::path::PathBuf;

use deskaudit::graph::IdentityGraph;
use deskaudit::idp::{Assignments, IdpSet, IdpSpec, KeySet, LoadOptions};
use deskaudit::model::Directory;
use deskaudit::model::snapshot::{SCHEMA_VERSION, Snapshot, SnapshotMeta};
use deskaudit::policy::Policy;
use deskaudit::rules::{AuditContext, registry};
use serde_json::{Value, json};

const DEFAULT_ROLES: &str = r#"[
  {"id": 1, "name": "Account Administrator", "default": true},
  {"id": 2, "name": "Administrator", "default": true},
  {"id": 3, "name": "Supervisor", "default": true},
  {"id": 4, "name": "Agent", "default": true},
  {"id": 5, "name": "Collaborator", "default": true},
  {"id": 6, "name": "Billing Manager", "default": false}
]"#;

fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/rules")
        .join(name)
}

fn json_file(name: &str, file: &str, default: &str) -> Vec<Value> {
    let path = dir(name).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| default.to_owned());
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Findings of `rule` on fixture `name`, as stable JSON (agent, detail, path, values).
pub fn findings(name: &str, rule: &str) -> Vec<Value> {
    outcome(name, rule).0
}

/// Findings of `rule` that an unexpired policy exception suppressed, with the exception.
#[allow(dead_code)]
pub fn suppressed(name: &str, rule: &str) -> Vec<Value> {
    outcome(name, rule).1
}

fn outcome(name: &str, rule: &str) -> (Vec<Value>, Vec<Value>) {
    let base = dir(name);
    let as_of: jiff::Timestamp = std::fs::read_to_string(base.join("as_of.txt"))
        .unwrap_or_else(|_| "2026-10-01T00:00:00Z".to_owned())
        .trim()
        .parse()
        .expect("as_of.txt is RFC 3339");
    let snapshot = Snapshot {
        schema_version: SCHEMA_VERSION,
        meta: SnapshotMeta {
            domain: "fixture".into(),
            collected_at: as_of,
            started_at: as_of,
            ..SnapshotMeta::default()
        },
        agents: json_file(name, "agents.json", "[]"),
        roles: json_file(name, "roles.json", DEFAULT_ROLES),
        groups: json_file(name, "groups.json", "[]"),
        contacts: Vec::new(),
    };
    let directory = Directory::from_snapshot(&snapshot).expect("fixture agents are valid");
    let policy = match std::fs::read_to_string(base.join("policy.toml")) {
        Ok(text) => Policy::parse("policy.toml", &text).expect("fixture policy is valid"),
        Err(_) => Policy::default(),
    };
    let mut exports: Vec<PathBuf> = std::fs::read_dir(&base)
        .expect("fixture dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let file = p.file_name().and_then(|f| f.to_str()).unwrap_or("");
            (file.ends_with(".csv") || file.ends_with(".json"))
                && !["agents.json", "roles.json", "groups.json", "assignments.csv"].contains(&file)
        })
        .collect();
    exports.sort();
    let specs: Vec<IdpSpec> = exports
        .iter()
        .map(|p| p.to_str().expect("utf-8").parse().expect("spec"))
        .collect();
    let wanted: KeySet = directory
        .agents
        .iter()
        .filter_map(|a| a.key())
        .map(|k| policy.rewrites.agent_key(&k).0)
        .collect();
    let opts = LoadOptions {
        wanted: Some(&wanted),
        as_of,
        lenient: false,
        csv_mapping: policy.idp_csv.as_ref(),
    };
    let mut idp = IdpSet::load(&specs, &opts).expect("fixture exports read");
    let assignments = base.join("assignments.csv");
    if assignments.exists() {
        idp.assignments = Some(Assignments::load(&assignments).expect("assignments read"));
    }
    let graph = IdentityGraph::build(directory, idp, &policy.rewrites);
    // Leavers from the snapshot and the exports alone (no previous run, no watch).
    let leavers = deskaudit::leavers::compute(&deskaudit::leavers::Inputs {
        graph: &graph,
        policy: &policy,
        as_of,
        previous: None,
        watch: None,
        deleted: &[],
    });
    let ctx = AuditContext {
        graph: &graph,
        policy: &policy,
        as_of,
        leavers: Some(&leavers),
    };
    let set = registry::run(&ctx);
    // Paths name exports by file only, so snapshots do not depend on the checkout's location.
    let dto = |f: &deskaudit::rules::Finding| {
        json!({
            "agent_id": f.agent_id,
            "agent_email": graph.agent(f.agent).email,
            "severity": f.severity.as_str(),
            "detail": f.detail,
            "path": f.evidence.path,
            "values": f.evidence.values,
        })
    };
    let kept = set
        .findings
        .iter()
        .filter(|f| f.rule.id == rule)
        .map(dto)
        .collect();
    let suppressed = set
        .suppressed
        .iter()
        .filter(|(f, _)| f.rule.id == rule)
        .map(|(f, e)| json!({"finding": dto(f), "exception": e}))
        .collect();
    (kept, suppressed)
}

/// The agent ids a rule fired for, in order.
pub fn fired(findings: &[Value]) -> Vec<u64> {
    findings.iter().filter_map(|f| f["agent_id"].as_u64()).collect()
}
