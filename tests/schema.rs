//! docs/findings.schema.json describes findings.json exactly: the committed
//! demo and a fresh audit validate against it, and broken documents do not.

mod common;

use std::path::Path;

use common::*;
use serde_json::{Value, json};

const SCHEMA: &str = "docs/findings.schema.json";

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator() -> jsonschema::Validator {
    let schema = read_json(&repo().join(SCHEMA));
    if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
        panic!("{SCHEMA} is not a valid draft 2020-12 schema: {e}");
    }
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{SCHEMA} does not compile: {e}"))
}

/// Every violation as `path: message`, so a failure says what drifted.
fn violations(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn committed_demo_findings_match_the_schema() {
    let doc = read_json(&repo().join("reports/demo/findings.json"));
    assert_eq!(violations(&validator(), &doc), Vec::<String>::new());
}

#[test]
fn a_fresh_audit_matches_the_schema() {
    let validator = validator();
    // With every input (exceptions, suppressed findings, assignments), and
    // with one export and no --as-of (the other as_of_source).
    let full = ACME_INPUTS;
    let minimal = ["--idp", "fixtures/acme/idp/okta-password-health.csv"];
    for extra in [&full[..], &minimal[..]] {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("run");
        let mut args = vec![
            "audit",
            "--snapshot",
            "reports/demo/snapshot.json",
            "--out",
            out.to_str().expect("utf-8 path"),
        ];
        args.extend_from_slice(extra);
        let run = deskaudit(&args, None);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run));
        let doc = read_json(&out.join("findings.json"));
        assert!(
            !doc["findings"].as_array().expect("findings").is_empty(),
            "the audit should find something to validate"
        );
        assert_eq!(violations(&validator, &doc), Vec::<String>::new(), "{extra:?}");
    }
}

#[test]
fn broken_documents_are_rejected() {
    let validator = validator();
    let demo = read_json(&repo().join("reports/demo/findings.json"));
    assert!(!demo["suppressed"].as_array().expect("suppressed").is_empty());
    type Break = fn(&mut Value);
    let cases: [(&str, Break, &str); 10] = [
        (
            "unknown severity",
            |d| d["findings"][0]["severity"] = json!("urgent"),
            "/findings/0/severity",
        ),
        (
            "missing finding_id",
            |d| {
                d["findings"][1]
                    .as_object_mut()
                    .expect("finding")
                    .remove("finding_id");
            },
            "/findings/1",
        ),
        (
            "malformed finding_id",
            |d| d["findings"][0]["finding_id"] = json!("DA-XYZ"),
            "/findings/0/finding_id",
        ),
        (
            "unknown agent_status",
            |d| d["findings"][0]["agent_status"] = json!("suspended"),
            "/findings/0/agent_status",
        ),
        (
            "another schema_version",
            |d| d["schema_version"] = json!(2),
            "/schema_version",
        ),
        ("an unknown top-level field", |d| d["extra"] = json!(true), ""),
        (
            "a field added to a finding",
            |d| d["findings"][0]["owner"] = json!("x"),
            "/findings/0",
        ),
        (
            "a path step without its edge",
            |d| {
                d["findings"][0]["evidence"]["path"][0]
                    .as_object_mut()
                    .expect("step")
                    .remove("edge");
            },
            "/findings/0/evidence/path/0",
        ),
        (
            "a suppressed finding without its exception",
            |d| {
                d["suppressed"][0]
                    .as_object_mut()
                    .expect("suppressed")
                    .remove("exception");
            },
            "/suppressed/0",
        ),
        (
            "a non-UTC as_of",
            |d| d["run"]["as_of"] = json!("2026-10-01 00:00"),
            "/run/as_of",
        ),
    ];
    for (what, break_it, at) in cases {
        let mut doc = demo.clone();
        break_it(&mut doc);
        let found = violations(&validator, &doc);
        assert!(
            found.iter().any(|v| v.starts_with(&format!("{at}: "))),
            "{what}: expected a violation at `{at}`, got {found:?}"
        );
    }
}
