use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::audit_snapshots::{self, Snapshots};
use super::leavers::Evidence;
use super::stdout::say;
use super::{Failure, context};
use crate::cli::AuditInputArgs;
use crate::diff::{AccountRef, Diff, Population, Side};
use crate::graph::IdentityGraph;
use crate::idp::{Assignments, IdpSet, KeySet, LoadOptions};
use crate::model::Edits;
use crate::policy::Policy;
use crate::report::{self, FindingRow, InputFile, ReportData, RunInfo, SuppressedRow};
use crate::rules::{AuditContext, Severity, registry};
use crate::rundir::{FindingRecord, RunDir, Staging};

pub struct AuditOutcome {
    pub data: ReportData,
    pub written: Vec<PathBuf>,
    pub fail_on: Option<Severity>,
    /// The comparison with `--previous-run`, also written to diff.json.
    pub diff: Option<Diff>,
    failing: bool,
    /// The graph the reports were rendered from, held (never read) so that
    /// a command about to exit need not free it (see [`AuditOutcome::exit`]).
    _graph: IdentityGraph,
}

impl AuditOutcome {
    pub fn exit_code(&self) -> u8 {
        u8::from(self.failing)
    }

    /// The exit code, for a command whose process ends next: the graph and
    /// the findings are left to the operating system, which takes their
    /// pages back at once, where freeing them one allocation at a time took
    /// ~80 ms on one core at the benchmark's large size (#13).
    pub fn exit(self) -> u8 {
        let code = self.exit_code();
        std::mem::forget(self);
        code
    }

    pub fn print_summary(&self) -> Result<(), Failure> {
        let s = &self.data.summary;
        let p = &s.population;
        say!(
            "Population: {} agents ({} active, {} pending, {} deactivated)",
            p.active + p.pending + p.deactivated,
            p.active,
            p.pending,
            p.deactivated
        )?;
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
        say!("Findings: {} ({})", self.data.findings.len(), by_sev.join(", "))?;
        for (rule, n) in &s.by_rule {
            say!("  {rule:<22} {n}")?;
        }
        if let Some(leavers) = self.data.leavers.as_ref().filter(|l| !l.rows.is_empty()) {
            let counts: Vec<String> = leavers
                .by_verdict()
                .iter()
                .map(|(v, n)| format!("{n} {}", v.as_str()))
                .collect();
            say!(
                "Leavers of the period from {}: {} agent(s) ({}; SLA {} h), in terminations.csv",
                leavers.period.start,
                leavers.rows.len(),
                counts.join(", "),
                leavers.sla_hours
            )?;
        }
        if let Some(diff) = &self.diff {
            say!("Since {}: {}", diff.old.dir, diff.one_line())?;
        }
        for path in &self.written {
            if path.ends_with("report.html") {
                say!("Report: {}", path.display())?;
            }
        }
        if self.failing
            && let Some(min) = self.fail_on
        {
            say!("Exit 1: findings at or above {min}")?;
        }
        Ok(())
    }
}

/// Snapshot + IdP exports + policy → graph → rules → reports in `out`.
/// Everything an audit reads, loaded and joined into the graph.
pub struct Loaded {
    pub graph: IdentityGraph,
    pub policy: Policy,
    pub as_of: jiff::Timestamp,
    pub run: RunInfo,
    /// Each snapshot's contacts (agents deleted since a previous snapshot),
    /// which the graph does not keep: the diff finds removed agents there.
    pub contacts: Vec<Vec<serde_json::Value>>,
}

/// Snapshots + IdP exports + policy → the identity graph (shared by audit, graph, explain).
pub fn load(snapshots: &[PathBuf], inputs: &AuditInputArgs) -> Result<Loaded, Failure> {
    load_with(snapshots, inputs, &[])
}

/// As [`load`], keeping also the identities of `emails` (agents the
/// snapshot no longer has, for the leavers).
fn load_with(snapshots: &[PathBuf], inputs: &AuditInputArgs, emails: &[String]) -> Result<Loaded, Failure> {
    let clock = std::time::Instant::now();
    let edits = if inputs.accept_edited_snapshot {
        Edits::Accept
    } else {
        Edits::Refuse
    };
    let Snapshots {
        directory,
        accounts,
        contacts,
    } = audit_snapshots::read_all(snapshots, edits)?;
    let first = accounts
        .first()
        .ok_or_else(|| Failure::input("no --snapshot given"))?;
    let snapshot_file = first.snapshot.clone();
    let snapshot_integrity = first.integrity.clone();
    let snapshot_meta = first.meta.clone();
    let (policy, policy_file) = match &inputs.policy {
        Some(path) => {
            let policy = Policy::load(path).map_err(Failure::input)?;
            (policy, Some(input_file(path)?))
        }
        None => (Policy::default(), None),
    };
    let (as_of, as_of_source) = match inputs.as_of {
        Some(t) => (t, "--as-of".to_owned()),
        None if accounts.len() == 1 => (snapshot_meta.collected_at, "snapshot collected_at".to_owned()),
        // Several accounts: as of the latest collection.
        None => (directory.collected_at, "latest snapshot collected_at".to_owned()),
    };
    // Only identities some agent could resolve to are kept while reading.
    let wanted: KeySet = directory
        .agents
        .iter()
        .filter_map(|a| a.key())
        .chain(emails.iter().map(|e| e.trim().to_lowercase()))
        .map(|key| policy.rewrites.agent_key(&key).0)
        .collect();
    let load = LoadOptions {
        wanted: Some(&wanted),
        as_of,
        lenient: inputs.lenient,
        csv_mapping: policy.idp_csv.as_ref(),
    };
    let mut idp = IdpSet::load(&inputs.idp, &load).map_err(Failure::input)?;
    crate::logging::phase(clock, "IdP exports read");
    if let Some(spec) = &inputs.assignments {
        idp.assignments = Some(Assignments::load(assignments_path(spec)).map_err(Failure::input)?);
    }
    let run = RunInfo {
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        as_of,
        as_of_source,
        snapshot: snapshot_file,
        snapshot_meta,
        snapshot_integrity,
        accounts,
        idp_sources: idp.sources.clone(),
        assignments: idp.assignments.clone(),
        policy_file,
        watch: None,
        policy: policy.clone(),
        rules_run: Vec::new(),
    };
    let graph = IdentityGraph::build(directory, idp, &policy.rewrites);
    crate::logging::phase(clock, "graph built");
    Ok(Loaded {
        graph,
        policy,
        as_of,
        run,
        contacts,
    })
}

/// `okta:` (Current Assignments report) and `list:` prefixes are optional: the header tells.
fn assignments_path(spec: &str) -> &Path {
    let path = spec
        .strip_prefix("okta:")
        .or_else(|| spec.strip_prefix("list:"))
        .unwrap_or(spec);
    Path::new(path)
}

/// Every input of an audit read once, before `run` spends a collection on
/// it: a mistyped path, a policy error or an export that cannot be read
/// stops the run before the first request.
pub fn check_inputs(inputs: &AuditInputArgs) -> Result<(), Failure> {
    let policy = match &inputs.policy {
        Some(path) => Policy::load(path).map_err(Failure::input)?,
        None => Policy::default(),
    };
    // Every row is read and counted; none is kept (no agent is known yet).
    let none = KeySet::default();
    let options = LoadOptions {
        wanted: Some(&none),
        as_of: inputs.as_of.unwrap_or_else(jiff::Timestamp::now),
        lenient: inputs.lenient,
        csv_mapping: policy.idp_csv.as_ref(),
    };
    IdpSet::load(&inputs.idp, &options).map_err(Failure::input)?;
    if let Some(spec) = &inputs.assignments {
        Assignments::load(assignments_path(spec)).map_err(Failure::input)?;
    }
    if let Some(previous) = &inputs.previous_run {
        RunDir::open(previous).map_err(|e| Failure::input(context("--previous-run", e)))?;
    }
    Evidence::read(None, inputs.watch.as_deref())?;
    Ok(())
}

/// Snapshot + IdP exports + policy → graph → rules → reports, written into
/// the staged run directory `out` (put in place by its `commit`).
pub fn audit(snapshots: &[PathBuf], inputs: &AuditInputArgs, out: &Staging) -> Result<AuditOutcome, Failure> {
    // Read first: a bad previous run or watch file stops the audit before
    // the exports are read, and their agents' identities are kept.
    let mut evidence = Evidence::read(inputs.previous_run.as_deref(), inputs.watch.as_deref())?;
    let Loaded {
        graph,
        policy,
        as_of,
        mut run,
        contacts,
    } = load_with(snapshots, inputs, &evidence.emails())?;
    run.watch = evidence.watch.as_ref().map(|w| InputFile {
        path: w.path.clone(),
        sha256: w.sha256.clone(),
    });
    record_final_paths(out, &mut run)?;
    // The events file as recorded (a copy inside the run is named where it will be).
    if let (Some(w), Some(recorded)) = (&mut evidence.watch, &run.watch) {
        w.path.clone_from(&recorded.path);
    }
    let now = evidence
        .previous
        .as_ref()
        .map(|_| Population::new(&graph.directory, &contacts));
    let started = std::time::Instant::now();
    let leavers = evidence.leavers(&graph, &policy, as_of, now.as_ref());
    crate::logging::phase(started, "leavers computed");
    let ctx = AuditContext {
        graph: &graph,
        policy: &policy,
        as_of,
        leavers: Some(&leavers),
    };
    let clock = std::time::Instant::now();
    let set = registry::run(&ctx);
    crate::logging::phase(clock, "rules run");
    let failing = set.fails(inputs.fail_on);
    let run = RunInfo {
        rules_run: set.rules_run.clone(),
        ..run
    };
    let mut data = ReportData::build(&graph, set, run);
    data.leavers = Some(leavers);
    crate::logging::phase(clock, "report data built");
    // Computed before anything is written, so the diff exists before the report renders.
    let diff = evidence
        .previous
        .as_ref()
        .zip(now)
        .map(|(old, now)| diff_with_previous(old, now, &data, out.target()));
    data.diff.clone_from(&diff);
    let mut written = report::write_all(
        out.path(),
        &data,
        &graph,
        report::WriteOptions {
            csv_bom: inputs.csv_bom,
        },
    )
    .map_err(Failure::output)?;
    crate::logging::phase(clock, "reports written");
    if let Some(diff) = &diff {
        written.push(write_diff(out.path(), diff)?);
    }
    let written = written.iter().map(|p| out.final_path(p)).collect();
    Ok(AuditOutcome {
        data,
        written,
        fail_on: inputs.fail_on,
        diff,
        failing,
        _graph: graph,
    })
}

/// The previous run against the audit just computed (`now`: its population).
fn diff_with_previous(old: &Side, now: Population, data: &ReportData, out: &Path) -> Diff {
    let new = Side {
        dir: out.display().to_string(),
        as_of: data.run.as_of,
        collected_at: data.run.snapshot_meta.collected_at,
        domain: data.run.snapshot_meta.domain.clone(),
        snapshot_sha256: data.run.snapshot.sha256.clone(),
        rules_run: data.run.rules_run.iter().map(|r| (*r).to_owned()).collect(),
        findings: data.findings.iter().map(finding_record).collect(),
        suppressed: data.suppressed.iter().map(suppressed_record).collect(),
        population: now,
        decisions: None,
        remediation: None,
        accounts: data
            .run
            .accounts
            .iter()
            .map(|a| AccountRef {
                domain: a.meta.domain.clone(),
                collected_at: a.meta.collected_at,
                snapshot_sha256: a.snapshot.sha256.clone(),
                agents: usize::try_from(a.agents).unwrap_or(usize::MAX),
            })
            .collect(),
    };
    Diff::compute(old, &new)
}

/// A finding as `diff` reads it back from findings.json: the fields it compares.
fn finding_record(f: &FindingRow) -> FindingRecord {
    FindingRecord {
        finding_id: f.finding_id.clone(),
        rule: f.rule.to_owned(),
        severity: f.severity.to_owned(),
        agent_id: f.agent_id,
        agent_email: f.agent_email.clone(),
        agent_name: f.agent_name.clone(),
        agent_status: f.agent_status.to_owned(),
        roles: f.roles.clone(),
        groups: f.groups.clone(),
        ticket_scope: f.ticket_scope.to_owned(),
        detail: f.detail.clone(),
        // As findings.json has it: the diff matches several accounts' findings by it.
        rest: serde_json::Map::from_iter([(
            "account".to_owned(),
            serde_json::Value::from(f.account.as_str()),
        )]),
    }
}

/// A suppressed finding with the exception that accepted it (the diff quotes it).
fn suppressed_record(s: &SuppressedRow) -> FindingRecord {
    let mut record = finding_record(&s.finding);
    let exception = serde_json::json!({
        "approver": s.exception.approver,
        "expires": s.exception.expires.to_string(),
        "justification": s.exception.justification,
    });
    record.rest.insert("exception".to_owned(), exception);
    record
}

/// Every input path as run.json will record it once the run is in place: a
/// file written into the staged directory (the demo's inputs, `run`'s
/// snapshot) under the final directory; a file inside the directory about to
/// be replaced (`audit --snapshot Q4/snapshot.json --out Q4 --replace`) is
/// carried over into the new run, so run.json never names a file the
/// replacement removed.
fn record_final_paths(out: &Staging, run: &mut RunInfo) -> Result<(), Failure> {
    let target = std::fs::canonicalize(out.target()).ok();
    let rebase = |recorded: &mut String| -> Result<(), Failure> {
        let path = Path::new(recorded.as_str());
        if path.starts_with(out.path()) {
            *recorded = out.final_path(path).display().to_string();
            return Ok(());
        }
        let inside = target
            .as_ref()
            .zip(std::fs::canonicalize(path).ok())
            .and_then(|(target, file)| file.strip_prefix(target).ok().map(Path::to_path_buf));
        if let Some(rel) = inside {
            let copy = out.path().join(&rel);
            if let Some(dir) = copy.parent() {
                std::fs::create_dir_all(dir).map_err(|e| Failure::output(context(dir.display(), e)))?;
            }
            std::fs::copy(path, &copy).map_err(|e| Failure::output(context(copy.display(), e)))?;
        }
        Ok(())
    };
    rebase(&mut run.snapshot.path)?;
    for account in &mut run.accounts {
        rebase(&mut account.snapshot.path)?;
    }
    for source in &mut run.idp_sources {
        rebase(&mut source.path)?;
    }
    if let Some(assignments) = &mut run.assignments {
        rebase(&mut assignments.path)?;
    }
    if let Some(policy) = &mut run.policy_file {
        rebase(&mut policy.path)?;
    }
    if let Some(watch) = &mut run.watch {
        rebase(&mut watch.path)?;
    }
    Ok(())
}

fn write_diff(out: &Path, diff: &Diff) -> Result<PathBuf, Failure> {
    let path = out.join(crate::diff::DIFF_JSON);
    let fail = |e: std::io::Error| Failure::output(context(path.display(), e));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).map_err(fail)?);
    diff.write_json(&mut file).map_err(fail)?;
    std::io::Write::flush(&mut file).map_err(fail)?;
    Ok(path)
}

fn input_file(path: &Path) -> Result<InputFile, Failure> {
    let bytes = std::fs::read(path).map_err(|e| Failure::input(context(path.display(), e)))?;
    Ok(InputFile {
        path: path.display().to_string(),
        sha256: hex::encode(Sha256::digest(&bytes)),
    })
}

/// The findings `audit` would report for `snapshot_path` (the rules, the
/// policy's exceptions and overrides): what `watch --idp` compares poll to poll.
pub fn findings(snapshot_path: &Path, inputs: &AuditInputArgs) -> Result<Vec<FindingRow>, Failure> {
    let snapshots = [snapshot_path.to_path_buf()];
    let Loaded {
        graph,
        policy,
        as_of,
        run,
        ..
    } = load(&snapshots, inputs)?;
    // Leavers are timed by the audit (terminations.csv), not poll by poll:
    // late-removal and removal-unproven stay quiet here.
    let ctx = AuditContext {
        graph: &graph,
        policy: &policy,
        as_of,
        leavers: None,
    };
    let set = registry::run(&ctx);
    let run = RunInfo {
        rules_run: set.rules_run.clone(),
        ..run
    };
    Ok(ReportData::build(&graph, set, run).findings)
}

/// A finding as watch and OCSF carry it (`finding_id` as in findings.csv).
pub fn finding_view(f: &FindingRow) -> crate::watch::FindingView {
    crate::watch::FindingView {
        finding_id: f.finding_id.clone(),
        rule: f.rule.to_owned(),
        severity: f.severity.to_owned(),
        agent_id: f.agent_id,
        agent_email: Some(f.agent_email.clone()).filter(|e| !e.is_empty()),
        detail: f.detail.clone(),
    }
}

/// `audit --ocsf`: every open finding as an OCSF Detection Finding, one a
/// line, in findings.csv's order, timed at the audit's as-of.
pub fn write_ocsf(dir: &Path, data: &ReportData) -> Result<PathBuf, Failure> {
    let path = dir.join(crate::watch::ocsf::FINDINGS_OCSF_JSONL);
    let fail = |e: std::io::Error| Failure::output(context(path.display(), e));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).map_err(fail)?);
    for row in &data.findings {
        let object = crate::watch::ocsf::detection(
            &finding_view(row),
            &data.run.snapshot_meta.domain,
            data.run.as_of,
            &row.finding_id,
            true,
        );
        serde_json::to_writer(&mut file, &object).map_err(|e| fail(e.into()))?;
        std::io::Write::write_all(&mut file, b"\n").map_err(fail)?;
    }
    std::io::Write::flush(&mut file).map_err(fail)?;
    Ok(path)
}
