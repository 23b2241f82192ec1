//! findings.json and run.json: versioned DTOs, not the internal types.

use std::io::Write;

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};

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
    snapshot_integrity: &'a crate::model::Integrity,
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
        snapshot_integrity: &run.snapshot_integrity,
        rules_run: &run.rules_run,
    }
}

/// About what one finding takes pretty-printed (~1.3 KiB at the reference size).
const FINDING_BYTES: usize = 1536;

/// findings.json as `serde_json::to_writer_pretty` writes it, byte for byte,
/// with the `findings` array (all but all of the file at scale) serialized on
/// every core, a chunk per task, and written in order.
pub fn write_findings_json(data: &ReportData, out: &mut dyn Write) -> std::io::Result<()> {
    // Everything but the findings, pretty-printed with an empty array where
    // they go: `"findings": []`, a top-level key, so at two spaces' indent.
    let doc = FindingsDoc {
        schema_version: SCHEMA_VERSION,
        run: run_doc(&data.run),
        summary: &data.summary,
        findings: &[],
        suppressed: &data.suppressed,
        ambiguous_matches: &data.ambiguous,
        unclassified_roles: &data.unclassified_roles,
    };
    let frame = serde_json::to_vec_pretty(&doc)?;
    const EMPTY: &[u8] = b"\n  \"findings\": []";
    let at = frame
        .windows(EMPTY.len())
        .position(|w| w == EMPTY)
        .ok_or_else(|| std::io::Error::other("findings.json: no findings array in the document"))?
        + EMPTY.len()
        - 1;
    // Up to and with the `[`; then each finding as the pretty printer puts an
    // array element two levels down: `\n` (`,\n` after the first), four
    // spaces, the object at that depth; then `\n  ` and the `]` onwards.
    out.write_all(&frame[..at])?;
    super::chunks::write_chunks_in_order(
        &data.findings,
        FINDING_BYTES,
        |start, chunk, buf| {
            let mut depth = PrettyFormatter::with_indent(b"  ");
            for _ in 0..2 {
                depth.begin_array(&mut std::io::sink())?;
            }
            for (i, finding) in chunk.iter().enumerate() {
                buf.extend_from_slice(if start + i == 0 { b"\n    " } else { b",\n    " });
                let mut ser = serde_json::Serializer::with_formatter(&mut *buf, depth.clone());
                finding.serialize(&mut ser)?;
            }
            Ok(())
        },
        out,
    )?;
    if !data.findings.is_empty() {
        out.write_all(b"\n  ")?;
    }
    out.write_all(&frame[at..])?;
    out.write_all(b"\n")
}

#[derive(Serialize)]
struct RunJson<'a> {
    schema_version: u32,
    tool_version: &'a str,
    as_of: String,
    as_of_source: &'a str,
    snapshot_integrity: &'a crate::model::Integrity,
    inputs: Inputs<'a>,
    policy: &'a crate::policy::Policy,
    rules_run: &'a [&'static str],
    collection: &'a crate::model::SnapshotMeta,
    /// Several accounts audited at once: each snapshot, its integrity, its
    /// completeness verdict and how it was collected (absent for one account).
    #[serde(skip_serializing_if = "Option::is_none")]
    accounts: Option<Vec<AccountDoc<'a>>>,
}

#[derive(Serialize)]
struct AccountDoc<'a> {
    domain: &'a str,
    snapshot: &'a super::InputFile,
    snapshot_integrity: &'a crate::model::Integrity,
    completeness: crate::model::Verdict,
    agents: u64,
    collection: &'a crate::model::SnapshotMeta,
}

#[derive(Serialize)]
struct Inputs<'a> {
    snapshot: &'a super::InputFile,
    /// Every snapshot, one per account, where there are several (`snapshot` is the first).
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshots: Option<Vec<&'a super::InputFile>>,
    idp: Vec<IdpInput<'a>>,
    assignments: Option<&'a crate::idp::Assignments>,
    policy: Option<&'a super::InputFile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    watch: Option<&'a super::InputFile>,
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

pub fn write_run_json(data: &ReportData, out: &mut dyn Write) -> std::io::Result<()> {
    let run = &data.run;
    let several = run.accounts.len() > 1;
    let doc = RunJson {
        schema_version: SCHEMA_VERSION,
        tool_version: &run.tool_version,
        as_of: run.as_of.to_string(),
        as_of_source: &run.as_of_source,
        snapshot_integrity: &run.snapshot_integrity,
        inputs: Inputs {
            snapshot: &run.snapshot,
            snapshots: several.then(|| run.accounts.iter().map(|a| &a.snapshot).collect()),
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
            watch: run.watch.as_ref(),
        },
        policy: &run.policy,
        rules_run: &run.rules_run,
        collection: &run.snapshot_meta,
        accounts: several.then(|| {
            run.accounts
                .iter()
                .map(|a| AccountDoc {
                    domain: &a.meta.domain,
                    snapshot: &a.snapshot,
                    snapshot_integrity: &a.integrity,
                    completeness: a.completeness().verdict,
                    agents: a.agents,
                    collection: &a.meta,
                })
                .collect()
        }),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::view::RuleText;
    use crate::report::{InputFile, Population};
    use crate::rules::{Evidence, PathStep, RuleMeta};

    static CONTROLS: RuleMeta = RuleMeta {
        id: "orphaned-agent",
        severity: crate::catalogue::Severity::High,
        summary: "summary",
        action: "action",
        controls: &["CC6.2", "A.5.18"],
    };
    static NO_CONTROLS: RuleMeta = RuleMeta {
        controls: &[],
        ..CONTROLS
    };

    fn finding(i: usize) -> FindingRow {
        FindingRow {
            finding_id: format!("f{i:04}"),
            rule: "orphaned-agent",
            severity: "high",
            account: crate::report::view::Account::new("acme"),
            agent_id: i as u64,
            agent_email: format!("a{i}@x.test"),
            agent_name: format!("Zoë \"{i}\" <b>\n\t\u{1}"),
            agent_status: "active",
            roles: "Admin;Agent".into(),
            groups: String::new(),
            ticket_scope: "Global",
            idp_source: "okta:u.csv".into(),
            idp_status: "deprovisioned".into(),
            idp_last_login: String::new(),
            detail: format!("detail {i} \\ / 東京"),
            text: RuleText(if i.is_multiple_of(3) {
                &NO_CONTROLS
            } else {
                &CONTROLS
            }),
            evidence: Evidence {
                path: (0..i % 3)
                    .map(|k| PathStep {
                        from: format!("agent:{i}"),
                        edge: "has_role".into(),
                        to: format!("role:{k}"),
                    })
                    .collect(),
                values: ["k0", "k1"][..i % 2]
                    .iter()
                    .map(|&k| (k, format!("v{k}")))
                    .collect(),
            },
        }
    }

    fn data(findings: usize) -> ReportData {
        let findings: Vec<FindingRow> = (0..findings).map(finding).collect();
        ReportData {
            run: RunInfo {
                tool_version: "0.0.0".into(),
                as_of: "2026-11-01T00:00:00Z".parse().expect("timestamp"),
                as_of_source: "--as-of".into(),
                snapshot: InputFile {
                    path: "s.json".into(),
                    sha256: "00".into(),
                },
                snapshot_meta: crate::model::SnapshotMeta::default(),
                snapshot_integrity: crate::model::Integrity::Verified,
                accounts: Vec::new(),
                idp_sources: Vec::new(),
                assignments: None,
                policy_file: None,
                watch: None,
                policy: crate::policy::Policy::default(),
                rules_run: vec!["orphaned-agent"],
            },
            unclassified_roles: Vec::new(),
            summary: Summary {
                population: Population::default(),
                by_rule: BTreeMap::from([("orphaned-agent", findings.len() as u64)]),
                by_severity: BTreeMap::from([("high", findings.len() as u64)]),
                suppressed: 0,
            },
            findings,
            suppressed: Vec::new(),
            ambiguous: Vec::new(),
            agents: Vec::new(),
            diff: None,
            leavers: None,
        }
    }

    /// findings.json as one `to_writer_pretty` call writes it.
    fn in_one_piece(data: &ReportData) -> Vec<u8> {
        let doc = FindingsDoc {
            schema_version: SCHEMA_VERSION,
            run: run_doc(&data.run),
            summary: &data.summary,
            findings: &data.findings,
            suppressed: &data.suppressed,
            ambiguous_matches: &data.ambiguous,
            unclassified_roles: &data.unclassified_roles,
        };
        let mut out = serde_json::to_vec_pretty(&doc).expect("serializes");
        out.push(b'\n');
        out
    }

    #[test]
    fn findings_json_in_chunks_is_byte_for_byte_the_one_piece_document() {
        // Empty, one, and across chunk and round boundaries.
        for n in [0, 1, 2, 255, 256, 257, 1500] {
            let data = data(n);
            let mut out = Vec::new();
            write_findings_json(&data, &mut out).expect("writes");
            let expected = in_one_piece(&data);
            assert!(
                out == expected,
                "{n} findings:\n{}",
                String::from_utf8_lossy(&out)
            );
        }
    }
}
