//! `deskaudit demo`: the whole review on the embedded fixture organisation,
//! served by the simulator over real loopback HTTP.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::collect::write_result;
use super::context;
use super::stdout::say;
use super::{Failure, audit, runtime};
use crate::cli::{AuditInputArgs, DemoArgs};
use crate::collect::{AgentApi, ApiKey, CollectOptions, Target, collect};
use crate::model::Snapshot;
use crate::remediate::Applied;
use crate::rundir::{Existing, Staging};
use crate::sim::{self, Fixture, SimConfig};
use crate::watch::StateDir;

/// The fixture account, built into the binary so the demo runs anywhere.
const ACCOUNT: &[(&str, &str)] = &[
    ("agents.json", include_str!("../../fixtures/acme/agents.json")),
    ("roles.json", include_str!("../../fixtures/acme/roles.json")),
    ("groups.json", include_str!("../../fixtures/acme/groups.json")),
    ("account.json", include_str!("../../fixtures/acme/account.json")),
    ("contacts.json", include_str!("../../fixtures/acme/contacts.json")),
];
/// The company's second account (#17): collected with the first at once.
const EU_ACCOUNT: &[(&str, &str)] = &[
    ("agents.json", include_str!("../../fixtures/acme-eu/agents.json")),
    ("roles.json", include_str!("../../fixtures/acme-eu/roles.json")),
    ("groups.json", include_str!("../../fixtures/acme-eu/groups.json")),
    (
        "account.json",
        include_str!("../../fixtures/acme-eu/account.json"),
    ),
];
const DEMO_SPEC: &str = include_str!("../../fixtures/acme/demo.json");
const IDP_EXPORTS: &[(&str, &str)] = &[
    (
        "idp/okta-password-health.csv",
        include_str!("../../fixtures/acme/idp/okta-password-health.csv"),
    ),
    (
        "idp/entra-users.csv",
        include_str!("../../fixtures/acme/idp/entra-users.csv"),
    ),
    (
        "idp/hris-workers.csv",
        include_str!("../../fixtures/acme/idp/hris-workers.csv"),
    ),
    (
        "idp/okta-current-assignments.csv",
        include_str!("../../fixtures/acme/idp/okta-current-assignments.csv"),
    ),
    ("policy.toml", include_str!("../../fixtures/acme/policy.toml")),
];
/// What `deskaudit watch` recorded between the previous review and this one
/// (hand-written in its format): times the removal of one leaver's agent.
const WATCH_EVENTS: (&str, &str) = (
    "events.jsonl",
    include_str!("../../fixtures/acme/watch/events.jsonl"),
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoSpec {
    as_of: jiff::Timestamp,
    idp: Vec<String>,
    policy: String,
    assignments: String,
    /// The watch state directory (`audit --watch`), under the inputs.
    watch: Option<String>,
}

/// The filled-in workbook the demo's reviewer hands back.
const WORKBOOK: (&str, &str) = (
    "review-workbook.csv",
    include_str!("../../fixtures/acme/review-workbook.csv"),
);
/// The second person who approves the plan (neither reviewer nor agent).
const APPROVER: &str = "ciso@acme.test";
/// The reviewer's answer on the audit of both accounts: each row with its
/// account (a revoke in acme-eu; agent id 67013470001 kept in each).
const ACCOUNTS_WORKBOOK: (&str, &str) = (
    "review-workbook.csv",
    include_str!("../../fixtures/acme-eu/accounts-review-workbook.csv"),
);

/// The whole loop: collect, audit, import the reviewers' workbook, plan,
/// approve and apply on the simulator, then collect and audit again to show
/// every revoke carried out.
pub fn run(args: &DemoArgs) -> Result<u8, Failure> {
    let spec: DemoSpec =
        serde_json::from_str(DEMO_SPEC).map_err(|e| Failure::input(context("embedded demo.json", e)))?;
    let account = tempfile::tempdir().map_err(|e| Failure::input(context("temporary directory", e)))?;
    write_files(account.path(), ACCOUNT)?;
    let fixture = Fixture::load(account.path()).map_err(Failure::input)?;

    // Paths are recorded in run.json as given: relative ones keep the
    // committed reports/demo free of this machine's directories.
    let out = relative_to_cwd(&args.out);
    let config = SimConfig::default();
    let rt = runtime()?;
    let server = rt
        .block_on(sim::start(fixture, config.clone(), ([127, 0, 0, 1], 0).into()))
        .map_err(Failure::collection)?;
    let base = server.base_url();
    eprintln!("simulator serving the acme fixture at {base}");
    let target = Target::new("acme", Some(&base)).map_err(Failure::input)?;
    let key = ApiKey::new(&config.api_key).ok_or_else(|| Failure::input("empty simulator key"))?;
    let collect_into = |path: &Path, shown: &Path, previous_ids: Vec<u64>| {
        let opts = CollectOptions {
            target: target.clone(),
            key: key.clone(),
            previous_ids,
            max_in_flight: 8,
            reserve_pct: 20,
            rate_window: config.window,
            progress: false,
        };
        write_result(rt.block_on(collect(opts)), path, shown)
    };

    // 1. The review run, replaced as a whole on every demo (and refused if
    // the directory holds something other than a run). The audited exports
    // and the workbook are copied beside the reports, so the run directory
    // is its own evidence.
    let staging = Staging::begin(&out, Existing::Replace)?;
    write_files(&staging.path().join("inputs"), IDP_EXPORTS)?;
    write_files(&staging.path().join("inputs"), &[WORKBOOK])?;
    if let Some(watch) = &spec.watch {
        write_files(&staging.path().join("inputs").join(watch), &[WATCH_EVENTS])?;
    }
    let snapshot = staging.path().join("snapshot.json");
    let reviewed = collect_into(&snapshot, &staging.final_path(&snapshot), Vec::new())?;
    let review = audit(
        std::slice::from_ref(&snapshot),
        &spec.inputs(&staging.path().join("inputs"))?,
        &staging,
    )?;
    staging.commit()?;
    review.print_summary()?;

    // 2. The reviewers' decisions, a plan, a second person's approval, and
    // the writes, each read back.
    let imported = crate::review::import(&out, &out.join("inputs").join(WORKBOOK.0), jiff::Timestamp::now())
        .map_err(Failure::input)?;
    say!(
        "Review: {} decisions imported from inputs/{} (keep {}, revoke {}, modify {})",
        imported.keep + imported.revoke + imported.modify,
        WORKBOOK.0,
        imported.keep,
        imported.revoke,
        imported.modify
    )?;
    let plan_path = out.join(crate::remediate::PLAN_JSON);
    let plan = super::remediate::plan_into(&out, &plan_path)?;
    let approver = super::remediate::check_approval(&plan, &plan.plan_id[..12], APPROVER)?;
    let mut api = AgentApi::connect(&target, key.clone(), 20, config.window).map_err(Failure::collection)?;
    let mut apis = crate::remediate::Apis::one(&plan.domain, &mut api);
    let applied = super::remediate::apply_approved(&plan_path, &plan, &approver, &mut apis, false)?;
    if let Applied::Done(remediation) = &applied {
        let done: Vec<String> = remediation
            .summary
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        say!(
            "Remediation: plan {} approved by {approver}, applied: {}",
            &plan.plan_id[..12],
            done.join(", ")
        )?;
    }
    // The run's own evidence bundle: findings, decisions, plan, journal, outcome.
    let bundle = out.join("evidence.zip");
    let packed = super::evidence::bundle(&out, &bundle, true)?;

    // 3. The account collected and audited again the next day, against the
    // review: its diff shows each revoke carried out, and how it is known.
    let recheck_dir = out.join("recheck");
    let recheck = Staging::begin(&recheck_dir, Existing::Refuse)?;
    let snapshot = recheck.path().join("snapshot.json");
    // The review's agents are looked up again: a deleted one is found as a contact.
    let reviewed_ids = reviewed
        .agents
        .iter()
        .filter_map(|a| a.get("id").and_then(serde_json::Value::as_u64))
        .collect();
    collect_into(&snapshot, &recheck.final_path(&snapshot), reviewed_ids)?;
    let mut inputs = spec.inputs(&out.join("inputs"))?;
    inputs.as_of = Some(spec.as_of + jiff::SignedDuration::from_hours(24));
    inputs.previous_run = Some(out.clone());
    let after = audit(std::slice::from_ref(&snapshot), &inputs, &recheck)?;
    recheck.commit()?;
    // 4. Between reviews: watch records a new administrator as an event.
    let watched = tempfile::tempdir().map_err(|e| Failure::output(context("temporary directory", e)))?;
    let poll = || -> Result<Snapshot, Failure> {
        let opts = CollectOptions {
            target: target.clone(),
            key: key.clone(),
            previous_ids: Vec::new(),
            max_in_flight: 8,
            reserve_pct: 20,
            rate_window: config.window,
            progress: false,
        };
        rt.block_on(collect(opts))
            .map_err(|e| Failure::collection(context("collection failed", e)))
    };
    watch_demo(watched.path(), poll, &api)?;
    // 5. Several accounts: acme and acme-eu collected at once (#17).
    let mut accounts_inputs = spec.inputs(&out.join("inputs"))?;
    accounts_inputs.watch = None;
    accounts_demo(&rt, &base, &config, &accounts_inputs, &out.join("accounts"))?;
    rt.block_on(server.shutdown());
    if let Some(diff) = &after.diff {
        say!(
            "Recheck: {} (report: {})",
            diff.one_line(),
            recheck_dir.join("report.html").display()
        )?;
    }
    say!("Evidence: {} (SHA-256 {})", bundle.display(), packed.sha256)?;
    Ok(0)
}

/// `collect --accounts`: a second simulator serves `acme-eu` in the older
/// guide's API behaviour, with its own key; both accounts are collected at
/// once into a directory that holds both snapshots or neither, then audited
/// together (acme has revoked its leavers by now; acme-eu has not), into
/// `out`: `snapshots/DOMAIN.json` and the run of both in `run/`. The keys and
/// the accounts file (with the simulators' passing ports) stay in a
/// temporary directory.
fn accounts_demo(
    rt: &tokio::runtime::Runtime,
    acme_url: &str,
    acme: &SimConfig,
    inputs: &AuditInputArgs,
    out: &Path,
) -> Result<(), Failure> {
    let dir = tempfile::tempdir().map_err(|e| Failure::output(context("temporary directory", e)))?;
    write_files(&dir.path().join("acme-eu"), EU_ACCOUNT)?;
    let fixture = Fixture::load(&dir.path().join("acme-eu")).map_err(Failure::input)?;
    let eu = SimConfig {
        profile: sim::Profile::Seed,
        api_key: "demo-eu-admin-key".to_owned(),
        ..acme.clone()
    };
    let server = rt
        .block_on(sim::start(fixture, eu.clone(), ([127, 0, 0, 1], 0).into()))
        .map_err(Failure::collection)?;
    let accounts = format!(
        "[[account]]\ndomain = \"acme\"\nbase_url = \"{acme_url}\"\napi_key_file = \"acme.key\"\n\n\
         [[account]]\ndomain = \"acme-eu\"\nbase_url = \"{}\"\napi_key_file = \"acme-eu.key\"\n",
        server.base_url()
    );
    write_files(
        dir.path(),
        &[
            ("acme.key", &acme.api_key),
            ("acme-eu.key", &eu.api_key),
            ("accounts.toml", &accounts),
        ],
    )?;
    let pacing = super::collect_accounts::Pacing {
        max_in_flight: 8,
        reserve_pct: 20,
        rate_window: acme.window,
    };
    let file = dir.path().join("accounts.toml");
    // acme-eu's simulator serves until its revoke is applied and read back.
    let done = review_both(&file, pacing, inputs, out);
    rt.block_on(server.shutdown());
    done
}

/// Collects both accounts, audits them together, and carries the
/// reviewer's decisions on both through plan, approval and apply.
fn review_both(
    file: &Path,
    pacing: super::collect_accounts::Pacing,
    inputs: &AuditInputArgs,
    out: &Path,
) -> Result<(), Failure> {
    let window = pacing.rate_window;
    let collected = super::collect_accounts::run(file, pacing, &out.join("snapshots"), true)?;
    let each: Vec<String> = collected
        .iter()
        .map(|c| {
            format!(
                "{} {} agents -> {}",
                c.domain,
                c.agents,
                c.path
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            )
        })
        .collect();
    say!(
        "Accounts: collect --accounts took acme (documented API) and acme-eu (older guide's API) at once, each with its own key and rate limit: {}",
        each.join(", ")
    )?;
    let run_dir = out.join("run");
    let run = Staging::begin(&run_dir, Existing::Refuse)?;
    write_files(&run.path().join("inputs"), &[ACCOUNTS_WORKBOOK])?;
    let snapshots: Vec<PathBuf> = collected.into_iter().map(|c| c.path).collect();
    let both = audit(&snapshots, inputs, &run)?;
    run.commit()?;
    let leavers: Vec<String> = both
        .data
        .findings
        .iter()
        .filter(|f| f.rule == "terminated-active")
        .map(|f| format!("{} in {}", f.agent_email, f.account.as_str()))
        .collect();
    say!(
        "Accounts: one audit of both, agents keyed by (account, id): {} findings; leavers still active: {} (report: {})",
        both.data.findings.len(),
        leavers.join(", "),
        run_dir.join("report.html").display()
    )?;
    explain_across(&snapshots, inputs)?;
    // watch --accounts between the reviews: a baseline of each account now,
    // and the remediation's write in acme-eu is the next poll's event.
    let watched = tempfile::tempdir().map_err(|e| Failure::output(context("temporary directory", e)))?;
    watch_both(file, watched.path(), window)?;
    remediate_both(file, &run_dir, window, out)?;
    let events = watch_both(file, watched.path(), window)?;
    say!(
        "Accounts: watch --accounts polled both, each with its own state and budget; the second poll records: {}",
        events.join(", ")
    )?;
    recheck_both(file, pacing, inputs, out)
}

/// Both accounts collected again the next day (`--previous`: the review's
/// snapshots, so an agent deleted since is found) and audited against the
/// review (`--previous-run`): the diff compares them account by account.
fn recheck_both(
    file: &Path,
    pacing: super::collect_accounts::Pacing,
    inputs: &AuditInputArgs,
    out: &Path,
) -> Result<(), Failure> {
    let dir = out.join("recheck");
    let collected = super::collect_accounts::run_after(
        file,
        pacing,
        Some(&out.join("snapshots")),
        &dir.join("snapshots"),
        true,
    )?;
    let snapshots: Vec<PathBuf> = collected.into_iter().map(|c| c.path).collect();
    let mut inputs = inputs.clone();
    inputs.as_of = inputs.as_of.map(|t| t + jiff::SignedDuration::from_hours(24));
    inputs.previous_run = Some(out.join("run"));
    let run_dir = dir.join("run");
    let run = Staging::begin(&run_dir, Existing::Refuse)?;
    let after = audit(&snapshots, &inputs, &run)?;
    run.commit()?;
    let diff = after
        .diff
        .as_ref()
        .ok_or_else(|| Failure::output("the accounts' recheck has no diff"))?;
    say!(
        "Accounts: recheck of both against the review, account by account: {} (report: {})",
        diff.one_line(),
        run_dir.join("report.html").display()
    )?;
    Ok(())
}

/// The reviewer's workbook of both accounts imported, planned, approved
/// by a second person and applied with the accounts file (each account
/// its own key and base URL), then the run packed as one evidence bundle.
fn remediate_both(
    file: &Path,
    run_dir: &Path,
    window: std::time::Duration,
    out: &Path,
) -> Result<(), Failure> {
    let workbook = run_dir.join("inputs").join(ACCOUNTS_WORKBOOK.0);
    let imported =
        crate::review::import(run_dir, &workbook, jiff::Timestamp::now()).map_err(Failure::input)?;
    let plan_path = run_dir.join(crate::remediate::PLAN_JSON);
    let plan = super::remediate::plan_into(run_dir, &plan_path)?;
    let approver = super::remediate::check_approval(&plan, &plan.plan_id[..12], APPROVER)?;
    let pacing = crate::cli::PacingArgs {
        reserve: 20,
        rate_window: window.as_secs().max(1),
    };
    let mut clients = super::remediate::clients_of(&plan, "the demo's plan", file, &pacing)?;
    let applied = super::remediate::apply_through(&plan_path, &plan, &approver, &mut clients, false)?;
    let Applied::Done(remediation) = applied else {
        return Err(Failure::output("the demo's apply was a dry run"));
    };
    let carried: Vec<String> = remediation
        .actions
        .iter()
        .filter(|a| a.action.writes())
        .map(|a| {
            format!(
                "{} {} in {} {}{}",
                a.action.as_str(),
                a.agent_email,
                a.account.as_deref().unwrap_or(&plan.domain),
                a.outcome.as_str(),
                if a.verified { " (verified)" } else { "" }
            )
        })
        .collect();
    let bundle = out.join("evidence.zip");
    let packed = super::evidence::bundle(run_dir, &bundle, true)?;
    say!(
        "Accounts: {} decisions on both imported, plan {} approved by {approver} and applied with the accounts file: {}; evidence {} holds both snapshots (SHA-256 {})",
        imported.keep + imported.revoke + imported.modify,
        &plan.plan_id[..12],
        carried.join(", "),
        bundle.display(),
        &packed.sha256[..12]
    )?;
    Ok(())
}

/// One `watch --accounts --once` poll of both accounts (as the command line
/// takes it) into `state`; the events it added, `TYPE EMAIL in ACCOUNT`.
fn watch_both(file: &Path, state: &Path, window: std::time::Duration) -> Result<Vec<String>, Failure> {
    let (file, dir) = (file.display().to_string(), state.display().to_string());
    let window = window.as_secs().max(1).to_string();
    let argv = [
        "deskaudit",
        "watch",
        "--accounts",
        &file,
        "--state",
        &dir,
        "--once",
        // The simulators serve nobody else: the whole budget, or its pacing
        // spreads each poll over most of a 60-second window.
        "--budget",
        "100",
        "--rate-window",
        &window,
    ];
    let cli =
        <crate::cli::Cli as clap::Parser>::try_parse_from(argv).map_err(|e| Failure::input(e.to_string()))?;
    let crate::cli::Command::Watch(args) = cli.command else {
        return Err(Failure::input(
            "the demo's watch command line parsed as another command",
        ));
    };
    let code = super::watch::run(&args, true)?;
    if code != 0 {
        return Err(Failure::collection(format!(
            "watch --accounts --once exited {code}"
        )));
    }
    let mut said = Vec::new();
    for domain in ["acme", "acme-eu"] {
        let path = state.join(domain).join(crate::watch::EVENTS);
        let events =
            crate::watch::read_events(&path).map_err(|e| Failure::output(context(path.display(), e)))?;
        let latest = events.last().map(|e| e.poll_id.clone());
        said.extend(
            events
                .iter()
                .filter(|e| Some(&e.poll_id) == latest.as_ref() && e.agent.is_some())
                .map(|e| {
                    let who = e.agent.as_ref().and_then(|a| a.email.clone()).unwrap_or_default();
                    format!("{} {who} in {}", e.kind, e.account.as_deref().unwrap_or(domain))
                }),
        );
    }
    Ok(said)
}

/// A person with an agent in each account (an EU administrator invited into
/// acme too): `explain` over both snapshots finds one person, each agent
/// named with its account (#17).
fn explain_across(snapshots: &[PathBuf], inputs: &AuditInputArgs) -> Result<(), Failure> {
    const PERSON: &str = "lena.hoffmann@eu.acme.test";
    let loaded = super::load(snapshots, inputs)?;
    let agents = super::explain::agents_of(&loaded.graph, PERSON);
    let each: Vec<String> = agents
        .iter()
        .map(|(account, id, status)| format!("agent {id} in {account} ({})", status.as_str()))
        .collect();
    say!(
        "Accounts: explain {PERSON} over both snapshots: one person, {} agents: {}",
        agents.len(),
        each.join(", ")
    )?;
    Ok(())
}

/// A baseline poll, a role given through the API, a second poll and its events.
fn watch_demo(
    dir: &Path,
    poll: impl Fn() -> Result<Snapshot, Failure>,
    api: &AgentApi,
) -> Result<(), Failure> {
    let fail = |e: crate::watch::WatchError| Failure::output(context("watch state", e));
    let (mut state, _) = StateDir::open(dir).map_err(fail)?;
    let baseline = state.commit(&poll()?, None).map_err(fail)?;
    let counted = baseline.first().and_then(|e| e.after.clone()).unwrap_or_default();
    let count = |status: &str| counted["agents"][status].as_u64().unwrap_or(0);
    say!(
        "Watch: baseline poll recorded ({} active, {} pending, {} deactivated agents)",
        count("active"),
        count("pending"),
        count("deactivated")
    )?;
    let roles = serde_json::json!({ "role_ids": [WATCH_ROLE_IDS.0, WATCH_ROLE_IDS.1] });
    api.update_agent(WATCH_AGENT, &roles)
        .map_err(|e| Failure::collection(context("PUT /api/v2/agents/{id}", e)))?;
    say!("Watch: Administrator given to agent {WATCH_AGENT} through the API; the next poll records:")?;
    for event in state.commit(&poll()?, None).map_err(fail)? {
        let who = event
            .agent
            .as_ref()
            .and_then(|a| a.email.clone())
            .unwrap_or_default();
        let added: Vec<String> = event
            .change
            .as_ref()
            .and_then(|c| c["added"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|r| r["name"].as_str().map(|n| format!("+{n}")))
            .collect();
        say!("  {} {who} {} (seq {})", event.kind, added.join(" "), event.seq)?;
    }
    Ok(())
}

/// Tom Whitaker (kept by the review, role Agent), and the Administrator and Agent roles.
const WATCH_AGENT: u64 = 67013470307;
const WATCH_ROLE_IDS: (u64, u64) = (67000110002, 67000110004);

impl DemoSpec {
    /// The audit's inputs, read from `dir` (where the exports were copied).
    fn inputs(&self, dir: &Path) -> Result<AuditInputArgs, Failure> {
        let at = |rel: &str| dir.join(Path::new(rel).file_name().map(PathBuf::from).unwrap_or_default());
        let idp = self
            .idp
            .iter()
            .map(|s| {
                let (kind, rel) = s.split_once(':').unwrap_or(("", s));
                let path = at(rel);
                let spec = if kind.is_empty() {
                    path.display().to_string()
                } else {
                    format!("{kind}:{}", path.display())
                };
                spec.parse().map_err(Failure::input)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AuditInputArgs {
            idp,
            assignments: Some(at(&self.assignments).display().to_string()),
            policy: Some(at(&self.policy)),
            as_of: Some(self.as_of),
            fail_on: None,
            lenient: false,
            csv_bom: false,
            previous_run: None,
            watch: self.watch.as_ref().map(|w| dir.join(w)),
            accept_edited_snapshot: false,
        })
    }
}

/// `path` relative to the working directory when it lies inside it.
fn relative_to_cwd(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf())
}

fn write_files(dir: &Path, files: &[(&str, &str)]) -> Result<(), Failure> {
    for (name, text) in files {
        let file = Path::new(name)
            .file_name()
            .map_or_else(|| dir.join(name), |f| dir.join(f));
        std::fs::create_dir_all(dir).map_err(|e| Failure::input(context(dir.display(), e)))?;
        std::fs::write(&file, text).map_err(|e| Failure::input(context(file.display(), e)))?;
    }
    Ok(())
}
