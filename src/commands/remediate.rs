//! `deskaudit remediate plan` and `deskaudit remediate apply`.

use std::path::{Path, PathBuf};

use super::stdout::{say, stdout};
use super::{Failure, context};
use crate::accounts::Accounts;
use crate::cli::{PacingArgs, RemediateApplyArgs, RemediatePlanArgs};
use crate::collect::{AgentApi, ApiKey, Target};
use crate::policy::Policy;
use crate::remediate::{
    self, Apis, Applied, ApplyOptions, JOURNAL_JSONL, Journal, OUTCOME_JSON, PLAN_JSON, Plan, RemediateError,
};
use crate::review::{lookalike_key, reviewer_address};
use crate::rundir::{DirLock, RUN_JSON, RunDir};

pub fn plan(args: &RemediatePlanArgs) -> Result<u8, Failure> {
    let out = args.out.clone().unwrap_or_else(|| args.run.join(PLAN_JSON));
    let plan = plan_into(&args.run, &out)?;
    let mut table = Vec::new();
    remediate::write_table(&plan, &mut table).map_err(|e| Failure::output(context("the plan's table", e)))?;
    std::io::Write::write_all(&mut stdout(), &table).map_err(|e| Failure::output(context("stdout", e)))?;
    say!("Plan written to {}", out.display())?;
    Ok(0)
}

/// The plan of the decisions recorded in `run_dir`, written to `out`.
pub(crate) fn plan_into(run_dir: &Path, out: &Path) -> Result<Plan, Failure> {
    // Nothing else writes the run directory meanwhile (an audit replacing it, an import).
    let _lock = DirLock::acquire(run_dir)?;
    let run = RunDir::open(run_dir).map_err(Failure::input)?;
    let policy = run_policy(&run)?;
    let plan = remediate::build(&run, &policy, &run_targets(&run)?).map_err(failure)?;
    write_plan(&plan, out)?;
    Ok(plan)
}

/// The modify targets recorded with the decisions.
fn run_targets(run: &RunDir) -> Result<remediate::Targets, Failure> {
    let decisions = run.decisions().map_err(Failure::input)?;
    Ok(decisions
        .iter()
        .flat_map(|d| &d.decisions)
        .filter_map(|d| {
            let changes = remediate::Changes::from(d.target.as_ref()?);
            Some(((d.account.clone(), d.agent_id), changes))
        })
        .collect())
}

/// The policy the audit used (its privileged roles guard the plan).
fn run_policy(run: &RunDir) -> Result<Policy, Failure> {
    match &run.run.inputs.policy {
        None => Ok(Policy::default()),
        Some(recorded) => {
            let (path, bytes) = run.read_recorded("policy", recorded).map_err(Failure::input)?;
            let text = String::from_utf8(bytes).map_err(|e| Failure::input(context(path.display(), e)))?;
            Policy::parse(&path.display().to_string(), &text).map_err(Failure::input)
        }
    }
}

/// Written atomically. An existing plan is kept when it is the same plan,
/// replaced when nothing was applied from it yet, and otherwise refused:
/// its journal would no longer match it.
fn write_plan(plan: &Plan, out: &Path) -> Result<(), Failure> {
    if let Ok(existing) = std::fs::read(out) {
        let same =
            Plan::parse(&out.display().to_string(), &existing).is_ok_and(|p| p.plan_id == plan.plan_id);
        if same {
            return Ok(());
        }
        let journal = beside(out, JOURNAL_JSONL);
        if journal.exists() {
            return Err(Failure::input(format!(
                "{}: a different plan is already being applied from here ({} exists): write the new plan elsewhere with --out",
                out.display(),
                journal.display()
            )));
        }
    }
    write_atomic(out, &plan.to_bytes())
}

pub fn apply(args: &RemediateApplyArgs) -> Result<u8, Failure> {
    let file = args.plan.display().to_string();
    let bytes = std::fs::read(&args.plan).map_err(|e| Failure::input(context(&file, e)))?;
    let plan = Plan::parse(&file, &bytes).map_err(failure)?;
    let approver = check_approval(&plan, &args.approve, &args.approver)?;
    let mut clients = match &args.accounts {
        Some(accounts) => clients_of(&plan, &file, accounts, &args.pacing)?,
        None => vec![client_of(&plan, &file, args)?],
    };
    check_run(&plan, &args.plan)?;
    let applied = apply_through(&args.plan, &plan, &approver, &mut clients, args.dry_run)?;
    match applied {
        Applied::DryRun { lines, any_unsettled } => {
            say!(
                "Dry run of plan {} ({} requests, none that writes):",
                plan.plan_id,
                clients.iter().map(|(_, api)| api.requests()).sum::<u64>()
            )?;
            for line in lines {
                say!("  {line}")?;
            }
            Ok(u8::from(any_unsettled))
        }
        Applied::Done(remediation) => {
            let out = beside(&args.plan, OUTCOME_JSON);
            for a in &remediation.actions {
                say!(
                    "#{:<3} {:<13} agent {}{} {}: {}{}",
                    a.seq,
                    a.action.as_str(),
                    a.account.as_deref().map(|d| format!("{d}/")).unwrap_or_default(),
                    a.agent_id,
                    crate::text::show_invisible(&a.agent_email),
                    a.outcome.as_str(),
                    a.reason.as_deref().map(|r| format!(" - {r}")).unwrap_or_default()
                )?;
            }
            let summary: Vec<String> = remediation
                .summary
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            say!("Applied plan {}: {}", plan.plan_id, summary.join(", "))?;
            say!(
                "Outcome: {} (journal {})",
                out.display(),
                beside(&args.plan, JOURNAL_JSONL).display()
            )?;
            Ok(remediation.exit_code())
        }
    }
}

/// `--domain` (`--base-url`, `--api-key-file`): the client of a plan of one account.
fn client_of(plan: &Plan, file: &str, args: &RemediateApplyArgs) -> Result<(String, AgentApi), Failure> {
    if !plan.accounts.is_empty() {
        return Err(Failure::input(format!(
            "{file}: the plan is for several accounts ({}): apply it with --accounts ACCOUNTS.toml, which gives each its own key",
            plan.accounts.join(", ")
        )));
    }
    let target = args.account.target().map_err(Failure::input)?;
    if target.domain != plan.domain {
        return Err(Failure::input(format!(
            "{file}: the plan is for the account `{}`, not `{}`",
            plan.domain, target.domain
        )));
    }
    let key = ApiKey::from_env_or_file(args.account.api_key_file.as_deref()).map_err(Failure::input)?;
    let api = connect(&target, key, &args.pacing)?;
    Ok((target.domain, api))
}

/// `--accounts`: one client (its own key, base URL and rate limit) for each
/// account of the plan; a plan with an account the file does not hold is
/// refused before any request.
pub(crate) fn clients_of(
    plan: &Plan,
    file: &str,
    accounts_file: &Path,
    pacing: &PacingArgs,
) -> Result<Vec<(String, AgentApi)>, Failure> {
    let accounts = Accounts::read(accounts_file).map_err(Failure::input)?;
    let missing = plan.accounts_missing(|d| accounts.accounts.iter().any(|a| a.target.domain == d));
    if !missing.is_empty() {
        return Err(Failure::input(format!(
            "{file}: the plan has actions for {}, which {} does not hold: nothing was sent",
            missing.join(", "),
            accounts_file.display()
        )));
    }
    let wanted = plan.all_accounts();
    accounts
        .accounts
        .into_iter()
        .filter(|a| wanted.contains(&a.target.domain.as_str()))
        .map(|a| Ok((a.target.domain.clone(), connect(&a.target, a.key, pacing)?)))
        .collect()
}

fn connect(target: &Target, key: ApiKey, pacing: &PacingArgs) -> Result<AgentApi, Failure> {
    AgentApi::connect(
        target,
        key,
        pacing.reserve,
        std::time::Duration::from_secs(pacing.rate_window),
    )
    .map_err(Failure::collection)
}

/// [`apply_approved`] with one client per account, by domain.
pub(crate) fn apply_through(
    plan_path: &Path,
    plan: &Plan,
    approver: &str,
    clients: &mut [(String, AgentApi)],
    dry_run: bool,
) -> Result<Applied, Failure> {
    let mut apis = Apis::default();
    for (domain, api) in clients.iter_mut() {
        apis.add(domain, api);
    }
    apply_approved(plan_path, plan, approver, &mut apis, dry_run)
}

/// Applies `plan` (at `plan_path`, already approved by `approver`), each
/// action through its account's client in `apis`, journalled beside it, and
/// writes remediation.json there; a dry run only reads.
pub(crate) fn apply_approved(
    plan_path: &Path,
    plan: &Plan,
    approver: &str,
    apis: &mut Apis,
    dry_run: bool,
) -> Result<Applied, Failure> {
    // One apply of a plan at a time: the journal has one writer.
    let _lock = DirLock::acquire(&parent(plan_path))?;
    let mut journal = if dry_run {
        None
    } else {
        Some(Journal::open(&beside(plan_path, JOURNAL_JSONL), &plan.plan_id).map_err(failure)?)
    };
    let now = jiff::Timestamp::now;
    let options = ApplyOptions { approver, now: &now };
    let applied = remediate::apply_accounts(plan, apis, journal.as_mut(), &options).map_err(failure)?;
    if let Applied::Done(remediation) = &applied {
        write_atomic(&beside(plan_path, OUTCOME_JSON), &remediation.to_bytes())?;
    }
    Ok(applied)
}

/// Four eyes: the id quoted is this plan's, and the approver decided none
/// of it and is none of its agents. The approver's address as recorded.
pub(crate) fn check_approval(plan: &Plan, approve: &str, approver: &str) -> Result<String, Failure> {
    if !plan.is_approved_by(approve) {
        return Err(Failure::input(format!(
            "--approve {approve} does not approve this plan: its id is {} (quote it whole, or its first 12 hex digits)",
            plan.plan_id
        )));
    }
    let approver = reviewer_address(approver).map_err(|why| Failure::input(format!("--approver: {why}")))?;
    // Compared as confusable skeletons: a lookalike of the reviewer's
    // address (a Cyrillic letter, `1` for `l`) is no second pair of eyes.
    let folded = lookalike_key(&approver);
    if let Some(a) = plan.actions.iter().find(|a| lookalike_key(&a.reviewer) == folded) {
        return Err(Failure::input(format!(
            "--approver {approver} reviewed action #{} (agent {}) as {}: the approval must come from someone who made none of the plan's decisions",
            a.seq, a.agent_id, a.reviewer
        )));
    }
    if let Some(a) = plan
        .actions
        .iter()
        .find(|a| !a.agent_email.is_empty() && lookalike_key(&a.agent_email) == folded)
    {
        return Err(Failure::input(format!(
            "--approver {approver} is the agent of action #{} ({}): nobody approves changes to their own access",
            a.seq, a.agent_id
        )));
    }
    Ok(approver)
}

/// Where the plan sits in its run directory, the run must be the one it
/// was made from.
fn check_run(plan: &Plan, plan_path: &Path) -> Result<(), Failure> {
    let dir = parent(plan_path);
    if !dir.join(RUN_JSON).is_file() {
        return Ok(());
    }
    let run = RunDir::open(&dir).map_err(Failure::input)?;
    if run.run.inputs.snapshot.sha256 != plan.run.snapshot_sha256
        || run.findings_sha256 != plan.run.findings_sha256
    {
        return Err(Failure::input(format!(
            "{}: the plan was made from another run than the one in {} (its snapshot or findings differ): plan again",
            plan_path.display(),
            dir.display()
        )));
    }
    Ok(())
}

fn failure(e: RemediateError) -> Failure {
    match e {
        RemediateError::Api(_) => Failure::collection(e),
        RemediateError::Io { .. } => Failure::output(e),
        _ => Failure::input(e),
    }
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn beside(plan: &Path, name: &str) -> PathBuf {
    parent(plan).join(name)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::output(context(path.display(), e));
    let mut tmp = tempfile::NamedTempFile::new_in(parent(path)).map_err(fail)?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
