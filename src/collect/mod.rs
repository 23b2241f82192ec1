//! Collection: every agent of the account, with roles and groups, over the
//! v2 API. The only async part of deskaudit. Either it proves the population
//! complete and returns a snapshot, or it fails: there is no partial result.

mod agents_api;
mod client;
mod discovery;
mod governor;
mod key;
mod listing;
mod membership;
mod merge;
mod progress;
mod retry;
mod target;

use jiff::Timestamp;

pub use agents_api::{AgentApi, AgentRead};
pub use client::{Written, endpoint_name};
pub use key::ApiKey;
pub use target::{Target, TargetError, is_loopback};

use crate::model::snapshot::{SCHEMA_VERSION, Snapshot, SnapshotMeta};

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(
        "authentication failed at {endpoint}: the API key was rejected (HTTP 401). Check FRESHDESK_API_KEY or --api-key-file"
    )]
    Auth { endpoint: String },
    #[error(
        "permission denied at {endpoint} (HTTP 403): an administrator's API key is needed to list every agent, role and group"
    )]
    Permission { endpoint: String },
    #[error(
        "{endpoint}: the agent list came back truncated ({reason}): this is what a non-admin key sees. Use an administrator's API key"
    )]
    Truncated { endpoint: String, reason: String },
    #[error("{endpoint}: cannot connect to {host}: {cause}. Not retried: {why}")]
    Unreachable {
        endpoint: String,
        host: String,
        cause: String,
        why: &'static str,
    },
    #[error("{endpoint}: gave up after {attempts} attempts; last error: {last}")]
    Exhausted {
        endpoint: String,
        attempts: u32,
        last: String,
    },
    #[error(
        "{endpoint}: still rate-limited after {waits} waits; other integrations may be using the whole budget. Retry later"
    )]
    RateLimited { endpoint: String, waits: u32 },
    #[error("{endpoint}: {reason}")]
    Protocol { endpoint: String, reason: String },
    #[error("population incomplete: {0}")]
    Incomplete(String),
    #[error("{0}")]
    Setup(String),
}

pub struct CollectOptions {
    pub target: Target,
    pub key: ApiKey,
    /// Agent ids of an earlier snapshot, so an agent deleted since then is noticed.
    pub previous_ids: Vec<u64>,
    pub max_in_flight: usize,
    pub reserve_pct: u8,
    /// The rate-limit window: Freshdesk's is one minute.
    pub rate_window: std::time::Duration,
    /// Show the progress line (on a terminal only).
    pub progress: bool,
}

pub async fn collect(opts: CollectOptions) -> Result<Snapshot, CollectError> {
    let governor = governor::Governor::new(opts.reserve_pct, opts.rate_window, opts.max_in_flight);
    collect_paced(opts, governor).await
}

/// As [`collect`], using at most `budget_pct` percent of the account's rate
/// limit in any window (`watch`, which polls all day); `opts.reserve_pct`
/// is then only the floor: below it, other integrations are busy and the
/// collection waits.
pub async fn collect_within_budget(opts: CollectOptions, budget_pct: u8) -> Result<Snapshot, CollectError> {
    let governor = governor::Governor::budget(budget_pct, opts.reserve_pct, opts.rate_window);
    collect_paced(opts, governor).await
}

async fn collect_paced(opts: CollectOptions, governor: governor::Governor) -> Result<Snapshot, CollectError> {
    let started_at = Timestamp::now();
    let progress = progress::Progress::new(!opts.progress);
    let client = client::Client::new(opts.target.base_url.clone(), opts.key, governor, progress)?;
    let found = discovery::discover(&client, &opts.previous_ids, opts.max_in_flight).await;
    client.progress().finish();
    let found = found?;
    let stats = client.stats();
    let mut snapshot = Snapshot {
        schema_version: SCHEMA_VERSION,
        meta: SnapshotMeta {
            domain: opts.target.domain.clone(),
            base_url: opts.target.base_url.to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at,
            collected_at: Timestamp::now(),
            channels: found.channels,
            requests: stats.requests,
            retries: stats.retries,
            rate_limited: stats.rate_limited,
            rate_limit: stats.rate_limit,
            account_total_agents: found.account_total,
            data_sha256: String::new(),
        },
        agents: found.agents,
        roles: found.roles,
        groups: found.groups,
        contacts: found.contacts,
    };
    snapshot.seal();
    Ok(snapshot)
}
