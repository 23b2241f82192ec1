//! findings.json and run.json: versioned DTOs, not the internal types.

use std::io::Write;

use serde::Serialize;

use super::{FindingRow, ReportData, RunInfo, Summary};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct FindingsDoc<'a> {
    schema_version: u32,
    run: RunDoc<'a>,
    summary: &'a Summary,
    findings: &'a [FindingRow],
    suppressed: &'a [super::SuppressedRow],
    /// Agents whose identities disagree on status.
    ambiguous_matches: &'a [super::AmbiguousMatch],
    /// Custom roles the policy names neither privileged nor standard.
    unclassified_roles: &'a [super::UnclassifiedRole],
}

#[derive(Serialize)]
struct RunDoc<'a> {
    tool_version: &'a str,
    domain: &'a str,
    as_of: String,
    as_of_source: &'a str,
    collected_at: String,
    snapshot_sha256: &'a str,
    rules_run: &'a [&'static str],
}

fn run_doc(run: &RunInfo) -> RunDoc<'_> {
    RunDoc {
        tool_version: &run.tool_version,
        domain: &run.snapshot_meta.domain,
        as_of: run.as_of.to_string(),
        as_of_source: &run.as_of_source,
        collected_at: run.snapshot_meta.collected_at.to_string(),
        snapshot_sha256: &run.snapshot.sha256,
        rules_run: &run.rules_run,
    }
}

pub fn write_findings_json(data: &ReportData, out: &mut dyn Write) -> Result<(), String> {
    let doc = FindingsDoc {
        schema_version: SCHEMA_VERSION,
        run: run_doc(&data.run),
        summary: &data.summary,
        findings: &data.findings,
        suppressed: &data.suppressed,
        ambiguous_matches: &data.ambiguous,
        unclassified_roles: &data.unclassified_roles,
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(|e| e.to_string())?;
    out.write_all(b"\n").map_err(|e| e.to_string())
}

#[derive(Serialize)]
struct RunJson<'a> {
    schema_version: u32,
    tool_version: &'a str,
    as_of: String,
    as_of_source: &'a str,
    inputs: Inputs<'a>,
    policy: &'a crate::policy::Policy,
    rules_run: &'a [&'static str],
    collection: &'a crate::model::SnapshotMeta,
}

#[derive(Serialize)]
struct Inputs<'a> {
    snapshot: &'a super::InputFile,
    idp: Vec<IdpInput<'a>>,
    assignments: Option<&'a crate::idp::Assignments>,
    policy: Option<&'a super::InputFile>,
}

#[derive(Serialize)]
struct IdpInput<'a> {
    kind: &'a crate::idp::IdpKind,
    path: &'a str,
    sha256: &'a str,
    rows: u64,
    by_status: &'a std::collections::BTreeMap<crate::idp::IdpStatus, u64>,
    warnings: &'a [String],
}

pub fn write_run_json(data: &ReportData, out: &mut dyn Write) -> Result<(), String> {
    let run = &data.run;
    let doc = RunJson {
        schema_version: SCHEMA_VERSION,
        tool_version: &run.tool_version,
        as_of: run.as_of.to_string(),
        as_of_source: &run.as_of_source,
        inputs: Inputs {
            snapshot: &run.snapshot,
            idp: run
                .idp_sources
                .iter()
                .map(|s| IdpInput {
                    kind: &s.kind,
                    path: &s.path,
                    sha256: &s.sha256,
                    rows: s.rows,
                    by_status: &s.by_status,
                    warnings: &s.warnings,
                })
                .collect(),
            assignments: run.assignments.as_ref(),
            policy: run.policy_file.as_ref(),
        },
        policy: &run.policy,
        rules_run: &run.rules_run,
        collection: &run.snapshot_meta,
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(|e| e.to_string())?;
    out.write_all(b"\n").map_err(|e| e.to_string())
}
