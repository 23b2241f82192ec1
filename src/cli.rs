//! Command-line flags (clap derive). Flags only: the policy file has its own
//! types, and the commands live in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::idp::IdpSpec;
use crate::rules::Severity;
use crate::sim::Profile;

#[derive(Debug, Parser)]
#[command(
    name = "deskaudit",
    version,
    about = "Identity-graph access auditor for Freshdesk"
)]
pub struct Cli {
    /// More logs on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a whole access review on the bundled simulator and fixture organisation.
    Demo(DemoArgs),
    /// Collect every agent, role and group into a snapshot.
    Collect(CollectArgs),
    /// Reconcile a snapshot against IdP exports and write the reports.
    Audit(AuditArgs),
    /// Collect, then audit (the quarterly run).
    Run(RunArgs),
    /// Poll the account between reviews and record every change as an event.
    Watch(WatchArgs),
    /// Run the Freshdesk simulator alone.
    Sim(SimArgs),
    /// Export the identity graph.
    Graph(GraphArgs),
    /// One person's effective permissions, with the path for every grant.
    Explain(ExplainArgs),
    /// New, resolved and persisting findings between two review periods.
    Diff(DiffArgs),
    /// Pack a run into a tamper-evident evidence bundle.
    Evidence(EvidenceArgs),
    /// Check an evidence bundle's integrity.
    Verify(VerifyArgs),
    /// The reviewers' workbook: export it from a run, import their decisions back.
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Carry the reviewers' decisions out in Freshdesk: a plan, approved by a second person.
    #[command(subcommand)]
    Remediate(RemediateCommand),
    /// Policy file helpers.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Print shell completions (e.g. `deskaudit completions bash > /etc/bash_completion.d/deskaudit`).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into --out.
    Man {
        /// Write deskaudit.1 and deskaudit-COMMAND.1 pages into this directory.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Write a CSV with one row per agent in scope, its findings and blank decision columns.
    Export(ReviewExportArgs),
    /// Read a filled-in workbook back and record the decisions in the run.
    Import(ReviewImportArgs),
}

#[derive(Debug, Args)]
pub struct ReviewExportArgs {
    /// The audit's output directory.
    #[arg(long)]
    pub run: PathBuf,
    /// The workbook to write (CSV).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReviewImportArgs {
    /// The audit's output directory (decisions.json is written there).
    #[arg(long)]
    pub run: PathBuf,
    /// The filled-in workbook.
    pub workbook: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum RemediateCommand {
    /// Turn a run's recorded decisions into a plan of writes (nothing is sent).
    Plan(RemediatePlanArgs),
    /// Apply an approved plan: read, write once, read back, journal every step.
    Apply(RemediateApplyArgs),
}

#[derive(Debug, Args)]
pub struct RemediatePlanArgs {
    /// The audit's output directory, with decisions.json (`review import`).
    #[arg(long)]
    pub run: PathBuf,
    /// Where to write the plan (default: RUN/remediation-plan.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RemediateApplyArgs {
    /// The plan written by `remediate plan`.
    #[arg(long)]
    pub plan: PathBuf,
    /// The plan's id as the approver read it (whole, or its first 12 hex digits).
    #[arg(long, value_name = "PLAN_ID")]
    pub approve: String,
    /// The approver's email: neither a reviewer of the plan nor one of its agents.
    #[arg(long, value_name = "EMAIL")]
    pub approver: String,
    /// The account: its domain must be the plan's.
    #[command(flatten)]
    pub account: AccountArgs,
    /// Several accounts (as `collect --accounts`): each action is sent with
    /// its own account's key and base URL; the file must hold every account
    /// of the plan.
    #[arg(long, value_name = "ACCOUNTS.toml", conflicts_with_all = ["domain", "base_url", "api_key_file"])]
    pub accounts: Option<PathBuf>,
    /// Only read, and print what would be written.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub pacing: PacingArgs,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Write a commented policy with every key at its default.
    Init {
        /// Where to write it (refuses to overwrite).
        #[arg(long, default_value = "deskaudit-policy.toml")]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the reports.
    #[arg(long, default_value = "reports/demo")]
    pub out: PathBuf,
}

/// Which Freshdesk account, and the key to it.
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// Freshdesk subdomain (`acme` for acme.freshdesk.com); required unless
    /// `collect --accounts` names several.
    #[arg(long)]
    pub domain: Option<String>,
    /// Override `https://SUB.freshdesk.com` (http only for loopback hosts).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Read the API key from this file instead of FRESHDESK_API_KEY.
    #[arg(long)]
    pub api_key_file: Option<PathBuf>,
}

impl AccountArgs {
    /// `--domain` and `--base-url` as a checked target (exit 2 when absent
    /// or malformed).
    pub fn target(&self) -> Result<crate::collect::Target, crate::collect::TargetError> {
        crate::collect::Target::new(
            self.domain
                .as_deref()
                .ok_or(crate::collect::TargetError::Missing)?,
            self.base_url.as_deref(),
        )
    }
}

/// How much of the account's shared rate limit to use.
#[derive(Debug, Args)]
pub struct PacingArgs {
    /// Percent of the account's rate limit left for other integrations.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u8).range(0..=90))]
    pub reserve: u8,
    /// Length of the account's rate-limit window in seconds (Freshdesk: 60; change it only for the simulator).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub rate_window: u64,
}

/// Where and how to collect.
#[derive(Debug, Args)]
pub struct SourceArgs {
    #[command(flatten)]
    pub account: AccountArgs,
    /// The previous review's snapshot: agents deleted since then are looked
    /// up. With --accounts, the previous `collect --accounts` directory
    /// (`DOMAIN.json` per account; an account without one is collected
    /// without).
    #[arg(long)]
    pub previous: Option<PathBuf>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub max_in_flight: u16,
    #[command(flatten)]
    pub pacing: PacingArgs,
}

/// What to reconcile against, and how.
#[derive(Clone, Debug, Args)]
pub struct AuditInputArgs {
    /// An IdP export as [KIND:]PATH (kind detected from the header when omitted); repeatable.
    #[arg(long = "idp", value_name = "[KIND:]PATH")]
    pub idp: Vec<IdpSpec>,
    /// Who the IdP assigns the Freshdesk app to, as [KIND:]PATH.
    #[arg(long, value_name = "[KIND:]PATH")]
    pub assignments: Option<String>,
    /// Policy file (TOML); defaults apply without one.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Audit as of this instant (RFC 3339); default: the snapshot's collected_at.
    #[arg(long, value_name = "RFC3339")]
    pub as_of: Option<jiff::Timestamp>,
    /// Exit 1 when a finding at or above this severity exists.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Skip ragged rows in IdP exports (counted and reported) instead of stopping.
    #[arg(long)]
    pub lenient: bool,
    /// Start findings.csv with a UTF-8 byte-order mark (for Excel).
    #[arg(long)]
    pub csv_bom: bool,
    /// The previous review period's audit directory: its diff goes into the report.
    #[arg(long, value_name = "DIR")]
    pub previous_run: Option<PathBuf>,
    /// A `deskaudit watch` state directory: its events.jsonl times each
    /// leaver's removal (last seen with access, first seen without).
    #[arg(long, value_name = "DIR")]
    pub watch: Option<PathBuf>,
    /// Audit a snapshot whose data no longer matches the hash the collector
    /// recorded (edited by hand); every output then says so.
    #[arg(long)]
    pub accept_edited_snapshot: bool,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Several accounts (TOML, `[[account]]` with `domain`, optional
    /// `base_url`, and `api_key_file` or `api_key_env`): collected at once,
    /// each inside its own rate limit, into `--out DIR/DOMAIN.json`.
    #[arg(long, value_name = "ACCOUNTS.toml", conflicts_with_all = ["domain", "base_url", "api_key_file"])]
    pub accounts: Option<PathBuf>,
    /// Snapshot file to write (atomically; nothing is left on failure); with
    /// --accounts, a new directory that gets one snapshot per account, or
    /// nothing when any account fails.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// A snapshot; once per account to review several Freshdesk accounts
    /// together (agents are then keyed by account and id).
    #[arg(long, required = true)]
    pub snapshot: Vec<PathBuf>,
    #[command(flatten)]
    pub inputs: AuditInputArgs,
    /// Directory for findings.csv, findings.json, report.html, run.json (a
    /// new or empty one: a run directory holds exactly one audit).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the previous run at --out as a whole (its decisions, diff and
    /// every other file go with it).
    #[arg(long)]
    pub replace: bool,
    /// Also write findings.ocsf.jsonl: each finding as an OCSF 1.1.0 Detection Finding.
    #[arg(long)]
    pub ocsf: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Several accounts (as `collect --accounts`): all collected at once into
    /// `--out/snapshots/DOMAIN.json`, then audited together; any account
    /// failing is exit 3 with nothing written.
    #[arg(long, value_name = "ACCOUNTS.toml", conflicts_with_all = ["domain", "base_url", "api_key_file"])]
    pub accounts: Option<PathBuf>,
    #[command(flatten)]
    pub inputs: AuditInputArgs,
    /// Directory for the snapshot and the reports (a new or empty one).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the previous run at --out as a whole.
    #[arg(long)]
    pub replace: bool,
    /// Also write findings.ocsf.jsonl: each finding as an OCSF 1.1.0 Detection Finding.
    #[arg(long)]
    pub ocsf: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub account: AccountArgs,
    /// Several accounts (as `collect --accounts`): each polled at once
    /// within its own rate-limit budget, each with its own state in
    /// `--state DIR/DOMAIN`; every event names its account.
    #[arg(long, value_name = "ACCOUNTS.toml", conflicts_with_all = ["domain", "base_url", "api_key_file"])]
    pub accounts: Option<PathBuf>,
    /// The state directory: the last complete snapshot and events.jsonl (one
    /// per account; with --accounts, one subdirectory per account).
    #[arg(long, value_name = "DIR")]
    pub state: PathBuf,
    /// Minimum time between the starts of two polls (`15m`, `1h`, `90s`).
    #[arg(long, default_value = "15m", value_parser = parse_every)]
    pub every: std::time::Duration,
    /// Percent of the account's per-minute rate limit a poll may use.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub budget: u8,
    /// `--reserve`: below this share remaining, other integrations are busy and the poll waits.
    #[command(flatten)]
    pub pacing: PacingArgs,
    /// An IdP export as [KIND:]PATH: the rules run on every poll (finding.opened / finding.resolved); repeatable.
    #[arg(long = "idp", value_name = "[KIND:]PATH")]
    pub idp: Vec<IdpSpec>,
    /// Who the IdP assigns the Freshdesk app to, as [KIND:]PATH.
    #[arg(long, value_name = "[KIND:]PATH")]
    pub assignments: Option<String>,
    /// Policy file (TOML); defaults apply without one.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// One poll, then exit (cron, systemd timers).
    #[arg(long)]
    pub once: bool,
    /// POST each event as JSON here (https, or http to a loopback host). The
    /// URL may hold a token: it is never logged whole. An `Authorization`
    /// header can be given in DESKAUDIT_WEBHOOK_AUTHORIZATION instead.
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// How events are printed on stdout and sent to the webhook (events.jsonl is always native).
    #[arg(long, value_enum, default_value_t = crate::watch::EventsFormat::Native)]
    pub events_format: crate::watch::EventsFormat,
    /// The first wait after a failed webhook delivery, in milliseconds (doubling, at most 5 minutes).
    #[arg(long, default_value_t = 1000, hide = true)]
    pub webhook_backoff_ms: u64,
}

/// `15m`, `1h 30m`, `90s`, `PT15M`: a positive duration.
fn parse_every(text: &str) -> Result<std::time::Duration, String> {
    let parsed: jiff::SignedDuration = text
        .trim()
        .parse()
        .map_err(|e| format!("`{text}` is not a duration like 15m, 1h or 90s: {e}"))?;
    std::time::Duration::try_from(parsed)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{text}`: the interval must be positive"))
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Fixture directory (agents.json, roles.json, groups.json, ...).
    #[arg(long)]
    pub fixture: PathBuf,
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    #[arg(long, value_enum, default_value_t = Profile::Documented)]
    pub profile: Profile,
    /// Requests per window for the whole account.
    #[arg(long, default_value_t = 700)]
    pub rate_limit: u32,
    /// Rate-limit window in seconds.
    #[arg(long, default_value_t = 60)]
    pub window: u64,
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Probability in [0, 1] that a request fails (500, 503, dropped, truncated).
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// A snapshot; once per account to review several Freshdesk accounts
    /// together (agents are then keyed by account and id).
    #[arg(long, required = true)]
    pub snapshot: Vec<PathBuf>,
    #[command(flatten)]
    pub inputs: AuditInputArgs,
    /// dot, graphml or json.
    #[arg(long, default_value = "json")]
    pub format: String,
    /// Write here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A snapshot; once per account to review several Freshdesk accounts
    /// together (agents are then keyed by account and id).
    #[arg(long, required = true)]
    pub snapshot: Vec<PathBuf>,
    #[command(flatten)]
    pub inputs: AuditInputArgs,
    /// The agent's email (any case), or its id.
    pub email: String,
    /// Print a JSON document (schema_version 1) instead of the text report.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier period's audit directory.
    pub old_dir: PathBuf,
    /// The later period's audit directory.
    pub new_dir: PathBuf,
    /// Print a JSON document (schema_version 1) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvidenceArgs {
    /// The audit's output directory.
    #[arg(long)]
    pub run: PathBuf,
    /// The bundle to write (zip; refuses to overwrite).
    #[arg(long)]
    pub out: PathBuf,
    /// Leave the IdP exports out (their hashes are still recorded).
    #[arg(long)]
    pub no_inputs: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The evidence bundle (zip) to check.
    pub bundle: PathBuf,
    /// The bundle's SHA-256 as recorded out of band (e.g. in the review ticket); any other digest fails.
    #[arg(long, value_name = "HEX")]
    pub expect_sha256: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_takes_friendly_durations() {
        let table = [
            ("15m", Ok(900)),
            ("1h 30m", Ok(5400)),
            ("90s", Ok(90)),
            ("PT15M", Ok(900)),
            ("0s", Err("must be positive")),
            ("-5m", Err("must be positive")),
            ("soon", Err("not a duration")),
        ];
        for (text, want) in table {
            match (parse_every(text), want) {
                (Ok(got), Ok(secs)) => assert_eq!(got.as_secs(), secs, "{text}"),
                (Err(e), Err(says)) => assert!(e.contains(says), "{text}: {e}"),
                (got, _) => panic!("{text}: {got:?}"),
            }
        }
    }

    #[test]
    fn api_key_is_not_a_flag() {
        let err = Cli::try_parse_from([
            "deskaudit",
            "collect",
            "--domain",
            "acme",
            "--out",
            "s.json",
            "--api-key",
            "k",
        ]);
        assert!(err.is_err());
    }
}
