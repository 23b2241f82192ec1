use std::path::Path;

use super::context;
use super::{Failure, runtime};
use crate::cli::{AccountArgs, CollectArgs, SourceArgs};
use crate::collect::{ApiKey, CollectError, CollectOptions, Target, collect};
use crate::model::Snapshot;

pub fn run(args: &CollectArgs, quiet: bool) -> Result<(), Failure> {
    match &args.accounts {
        Some(file) => {
            let pacing = super::collect_accounts::Pacing::of(&args.source);
            let previous = args.source.previous.as_deref();
            super::collect_accounts::run_after(file, pacing, previous, &args.out, false).map(drop)
        }
        None => collect_to(&args.source, &args.out, &args.out, quiet).map(drop),
    }
}

/// The previous snapshot at `path` (`--previous`): its domain and its
/// agents' ids, which the collection looks up again (a deleted agent is
/// found as a contact).
pub fn previous_agents(path: &Path) -> Result<(String, Vec<u64>), Failure> {
    let snapshot = Snapshot::read(path).map_err(|e| Failure::input(context("--previous", e)))?;
    let ids = snapshot
        .agents
        .iter()
        .filter_map(|a| a.get("id").and_then(serde_json::Value::as_u64))
        .collect();
    Ok((snapshot.meta.domain, ids))
}

/// Collects and writes the snapshot atomically; on any failure nothing is
/// left at `out` (an earlier file there is removed, so it cannot be mistaken
/// for this run's).
/// `shown` is where the user will find the file (`out` may be a staged path).
pub fn collect_to(source: &SourceArgs, out: &Path, shown: &Path, quiet: bool) -> Result<Snapshot, Failure> {
    let (target, key) = account(&source.account)?;
    // Read before the first request: a bad file is bad input, not a failed collection.
    let previous_ids = match &source.previous {
        Some(path) => previous_agents(path)?.1,
        None => Vec::new(),
    };
    let opts = CollectOptions {
        target,
        key,
        previous_ids,
        max_in_flight: usize::from(source.max_in_flight),
        reserve_pct: source.pacing.reserve,
        rate_window: std::time::Duration::from_secs(source.pacing.rate_window),
        progress: !quiet,
    };
    let result = runtime()?.block_on(async {
        tokio::select! {
            collected = collect(opts) => Ok(collected),
            signal = interrupted() => Err(signal),
        }
    });
    match result {
        Ok(collected) => write_result(collected, out, shown),
        Err(signal) => {
            // Abandoned mid-way: the population is unproven, so no snapshot.
            let had = out.exists();
            remove_stale(out);
            Err(Failure::collection(format!(
                "collection interrupted by {signal}: no snapshot written{}",
                if had {
                    " (the older file at --out was removed)"
                } else {
                    ""
                }
            )))
        }
    }
}

/// The account's base URL (https unless loopback) and its key
/// (FRESHDESK_API_KEY or --api-key-file), checked before any request.
pub(crate) fn account(account: &AccountArgs) -> Result<(Target, ApiKey), Failure> {
    let target = account.target().map_err(Failure::input)?;
    let key = ApiKey::from_env_or_file(account.api_key_file.as_deref()).map_err(Failure::input)?;
    Ok((target, key))
}

/// Resolves with the signal's name on SIGINT or SIGTERM (Ctrl-C, `kill`,
/// systemd stopping the unit), so the caller can fail cleanly instead of
/// dying by the signal with a stale file at `--out`.
pub(crate) async fn interrupted() -> &'static str {
    interruption().await
}

/// As [`interrupted`], with the handlers installed now (inside a runtime),
/// not when the future is first polled: a signal that comes before then is
/// caught too (`watch` hands the future to a task of its own).
#[cfg(unix)]
pub(crate) fn interruption() -> impl std::future::Future<Output = &'static str> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers =
        signal(SignalKind::interrupt()).and_then(|int| Ok((int, signal(SignalKind::terminate())?)));
    async move {
        match handlers {
            Ok((mut int, mut term)) => tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
}

#[cfg(not(unix))]
pub(crate) fn interruption() -> impl std::future::Future<Output = &'static str> + Send + 'static {
    async {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// The snapshot, written atomically, or the failure with `out` cleared.
pub fn write_result(
    result: Result<Snapshot, CollectError>,
    out: &Path,
    shown: &Path,
) -> Result<Snapshot, Failure> {
    let snapshot = match result {
        Ok(snapshot) => snapshot,
        Err(e) => {
            remove_stale(out);
            return Err(Failure::collection(context("collection failed", e)));
        }
    };
    if let Err(e) = snapshot.write_atomic(out) {
        remove_stale(out);
        return Err(Failure::collection(format!(
            "{}: cannot write the snapshot: {e}",
            out.display()
        )));
    }
    tracing::info!(
        agents = snapshot.agents.len(),
        requests = snapshot.meta.requests,
        path = %out.display(),
        "snapshot written"
    );
    eprintln!(
        "collected {} agents, {} roles, {} groups in {} requests ({} retries, {} rate-limited) -> {}",
        snapshot.agents.len(),
        snapshot.roles.len(),
        snapshot.groups.len(),
        snapshot.meta.requests,
        snapshot.meta.retries,
        snapshot.meta.rate_limited,
        shown.display()
    );
    Ok(snapshot)
}

fn remove_stale(out: &Path) {
    if out.exists() {
        let _ = std::fs::remove_file(out);
    }
}
