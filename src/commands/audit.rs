use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Failure;
use crate::cli::AuditInputArgs;
use crate::graph::IdentityGraph;
use crate::idp::{Assignments, IdpSet, KeySet, LoadOptions};
use crate::model::{Directory, Snapshot};
use crate::policy::Policy;
use crate::report::{self, InputFile, ReportData, RunInfo};
use crate::rules::{AuditContext, Severity, registry};

pub struct AuditOutcome {
    pub data: ReportData,
    pub written: Vec<PathBuf>,
    pub fail_on: Option<Severity>,
    failing: bool,
}

impl AuditOutcome {
    pub fn exit_code(&self) -> u8 {
        u8::from(self.failing)
    }

    pub fn print_summary(&self) {
        let s = &self.data.summary;
        let p = &s.population;
        println!(
            "Population: {} agents ({} active, {} pending, {} deactivated)",
            p.active + p.pending + p.deactivated,
            p.active,
            p.pending,
            p.deactivated
        );
        let by_sev: Vec<String> = Severity::ALL
            .iter()
            .map(|sev| {
                format!(
                    "{} {}",
                    s.by_severity.get(sev.as_str()).copied().unwrap_or(0),
                    sev
                )
            })
            .collect();
        println!("Findings: {} ({})", self.data.findings.len(), by_sev.join(", "));
        for (rule, n) in &s.by_rule {
            println!("  {rule:<22} {n}");
        }
        for path in &self.written {
            if path.ends_with("report.html") {
                println!("Report: {}", path.display());
            }
        }
        if self.failing
            && let Some(min) = self.fail_on
        {
            println!("Exit 1: findings at or above {min}");
        }
    }
}

/// Snapshot + IdP exports + policy → graph → rules → reports in `out`.
/// Everything an audit reads, loaded and joined into the graph.
pub struct Loaded {
    pub graph: IdentityGraph,
    pub policy: Policy,
    pub as_of: jiff::Timestamp,
    pub run: RunInfo,
}

/// Snapshot + IdP exports + policy → the identity graph (shared by audit, graph, explain).
pub fn load(snapshot_path: &Path, inputs: &AuditInputArgs) -> Result<Loaded, Failure> {
    let snapshot_bytes = std::fs::read(snapshot_path)
        .map_err(|e| Failure::input(format!("{}: {e}", snapshot_path.display())))?;
    let snapshot = Snapshot::from_slice(&snapshot_path.display().to_string(), &snapshot_bytes)
        .map_err(Failure::input)?;
    let directory = Directory::from_snapshot(&snapshot)
        .map_err(|e| Failure::input(format!("{}: {e}", snapshot_path.display())))?;
    let (policy, policy_file) = match &inputs.policy {
        Some(path) => {
            let policy = Policy::load(path).map_err(Failure::input)?;
            (policy, Some(input_file(path)?))
        }
        None => (Policy::default(), None),
    };
    let (as_of, as_of_source) = match inputs.as_of {
        Some(t) => (t, "--as-of".to_owned()),
        None => (snapshot.meta.collected_at, "snapshot collected_at".to_owned()),
    };
    // Only identities some agent could resolve to are kept while reading.
    let wanted: KeySet = directory
        .agents
        .iter()
        .filter_map(|a| a.key())
        .map(|key| policy.rewrites.agent_key(&key).0)
        .collect();
    let load = LoadOptions {
        wanted: Some(&wanted),
        as_of,
        lenient: inputs.lenient,
        csv_mapping: policy.idp_csv.as_ref(),
    };
    let mut idp = IdpSet::load(&inputs.idp, &load).map_err(Failure::input)?;
    if let Some(spec) = &inputs.assignments {
        // `okta:` (Current Assignments report) and `list:` prefixes are optional: the header tells.
        let path = spec
            .strip_prefix("okta:")
            .or_else(|| spec.strip_prefix("list:"))
            .unwrap_or(spec);
        idp.assignments = Some(Assignments::load(Path::new(path)).map_err(Failure::input)?);
    }
    let run = RunInfo {
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        as_of,
        as_of_source,
        snapshot: InputFile {
            path: snapshot_path.display().to_string(),
            sha256: hex::encode(Sha256::digest(&snapshot_bytes)),
        },
        snapshot_meta: snapshot.meta.clone(),
        idp_sources: idp.sources.clone(),
        assignments: idp.assignments.clone(),
        policy_file,
        policy: policy.clone(),
        rules_run: Vec::new(),
    };
    let graph = IdentityGraph::build(directory, idp, &policy.rewrites);
    Ok(Loaded {
        graph,
        policy,
        as_of,
        run,
    })
}

/// Snapshot + IdP exports + policy → graph → rules → reports in `out`.
pub fn audit(snapshot_path: &Path, inputs: &AuditInputArgs, out: &Path) -> Result<AuditOutcome, Failure> {
    let Loaded {
        graph,
        policy,
        as_of,
        run,
    } = load(snapshot_path, inputs)?;
    let ctx = AuditContext {
        graph: &graph,
        policy: &policy,
        as_of,
    };
    let set = registry::run(&ctx);
    let failing = set.fails(inputs.fail_on);
    let run = RunInfo {
        rules_run: set.rules_run.clone(),
        ..run
    };
    let data = ReportData::build(&graph, &set, run);
    let written = report::write_all(out, &data).map_err(Failure::input)?;
    Ok(AuditOutcome {
        data,
        written,
        fail_on: inputs.fail_on,
        failing,
    })
}

fn input_file(path: &Path) -> Result<InputFile, Failure> {
    let bytes = std::fs::read(path).map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    Ok(InputFile {
        path: path.display().to_string(),
        sha256: hex::encode(Sha256::digest(&bytes)),
    })
}
