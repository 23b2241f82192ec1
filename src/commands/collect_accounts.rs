//! `collect --accounts ACCOUNTS.toml --out DIR`: every account collected at
//! once, each by its own client and inside its own rate limit, into
//! `DIR/DOMAIN.json`. All or nothing (#17): the directory is staged beside
//! `DIR` and put in place only when every account's population is proven
//! complete, so an auditor never finds one account's snapshot without the
//! others'.

use std::path::{Path, PathBuf};

use super::collect::interrupted;
use super::{Failure, context, runtime};
use crate::accounts::Accounts;
use crate::cli::SourceArgs;
use crate::collect::{CollectError, CollectOptions, collect};
use crate::model::Snapshot;
use crate::rundir::{Existing, Staging};

/// How each account is paced: its own governor, with these settings.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    pub max_in_flight: usize,
    pub reserve_pct: u8,
    pub rate_window: std::time::Duration,
}

impl Pacing {
    pub fn of(source: &SourceArgs) -> Pacing {
        Pacing {
            max_in_flight: usize::from(source.max_in_flight),
            reserve_pct: source.pacing.reserve,
            rate_window: std::time::Duration::from_secs(source.pacing.rate_window),
        }
    }
}

/// One account's snapshot, where it was put.
pub struct Collected {
    pub domain: String,
    pub agents: usize,
    pub path: PathBuf,
}

/// `quiet`: say nothing per account (the demo says it its own way).
pub fn run(file: &Path, pacing: Pacing, out: &Path, quiet: bool) -> Result<Vec<Collected>, Failure> {
    run_after(file, pacing, None, out, quiet)
}

/// As [`run`], each account looking up again the agents of its snapshot in
/// `previous` (see [`previous_ids`]).
pub fn run_after(
    file: &Path,
    pacing: Pacing,
    previous: Option<&Path>,
    out: &Path,
    quiet: bool,
) -> Result<Vec<Collected>, Failure> {
    // Read (keys too) before the first request: a bad file is bad input.
    let accounts = Accounts::read(file).map_err(Failure::input)?;
    let domains: Vec<String> = accounts
        .accounts
        .iter()
        .map(|a| a.target.domain.clone())
        .collect();
    let previous_ids = match previous {
        Some(dir) => previous_ids(dir, &domains)?,
        None => vec![Vec::new(); domains.len()],
    };
    let staging = Staging::begin(out, Existing::Refuse)?;
    let runs = accounts
        .accounts
        .into_iter()
        .zip(previous_ids)
        .map(|(account, previous_ids)| {
            collect(CollectOptions {
                target: account.target,
                key: account.key,
                previous_ids,
                max_in_flight: pacing.max_in_flight,
                reserve_pct: pacing.reserve_pct,
                rate_window: pacing.rate_window,
                // Several bars redrawing one terminal garble each other; each
                // account says its figures when it is done instead.
                progress: false,
            })
        });
    let results = runtime()?.block_on(async {
        tokio::select! {
            all = futures::future::join_all(runs) => Ok(all),
            signal = interrupted() => Err(signal),
        }
    });
    let results = match results {
        Ok(results) => results,
        // The staging directory goes with `staging`: nothing at --out.
        Err(signal) => {
            return Err(Failure::collection(format!(
                "collection interrupted by {signal}: no snapshot written for any account"
            )));
        }
    };
    let failed: Vec<String> = domains
        .iter()
        .zip(&results)
        .filter_map(|(domain, r)| r.as_ref().err().map(|e| format!("{domain}: {}", chain(e))))
        .collect();
    if !failed.is_empty() {
        return Err(Failure::collection(format!(
            "{} of {} accounts could not be collected completely, so no snapshot was written for any:\n  {}",
            failed.len(),
            domains.len(),
            failed.join("\n  ")
        )));
    }
    let mut written = Vec::new();
    for (domain, snapshot) in domains.iter().zip(results.into_iter().flatten()) {
        let path = staging.path().join(format!("{domain}.json"));
        snapshot
            .write_atomic(&path)
            .map_err(|e| Failure::output(context(staging.final_path(&path).display(), e)))?;
        if !quiet {
            say(&snapshot, &staging.final_path(&path));
        }
        written.push(Collected {
            domain: domain.clone(),
            agents: snapshot.agents.len(),
            path: staging.final_path(&path),
        });
    }
    staging.commit()?;
    Ok(written)
}

/// Each account's previous agent ids (in `domains`' order), from
/// `DIR/DOMAIN.json` as an earlier `collect --accounts` wrote it (or
/// `DIR/snapshots/DOMAIN.json`, as `run --accounts` did). An account without
/// one is collected without, and said so: it may be new to the review.
fn previous_ids(dir: &Path, domains: &[String]) -> Result<Vec<Vec<u64>>, Failure> {
    if !dir.is_dir() {
        return Err(Failure::input(format!(
            "--previous {}: with --accounts, a directory of the previous `collect --accounts` (DOMAIN.json per account)",
            dir.display()
        )));
    }
    let nested = dir.join("snapshots");
    let base = if nested.is_dir() {
        nested
    } else {
        dir.to_path_buf()
    };
    let mut ids = Vec::with_capacity(domains.len());
    for domain in domains {
        let path = base.join(format!("{domain}.json"));
        if !path.exists() {
            eprintln!(
                "{domain}: no previous snapshot ({} is absent): collected without --previous, so agents deleted since are not looked up",
                path.display()
            );
            ids.push(Vec::new());
            continue;
        }
        let (recorded, agents) = super::collect::previous_agents(&path)?;
        // Another account's snapshot under this name would look its ids up in the wrong account.
        if recorded != *domain {
            return Err(Failure::input(format!(
                "--previous {}: the snapshot of account {recorded}, not {domain}",
                path.display()
            )));
        }
        ids.push(agents);
    }
    Ok(ids)
}

fn say(snapshot: &Snapshot, shown: &Path) {
    eprintln!(
        "{}: collected {} agents, {} roles, {} groups in {} requests ({} retries, {} rate-limited) -> {}",
        snapshot.meta.domain,
        snapshot.agents.len(),
        snapshot.roles.len(),
        snapshot.groups.len(),
        snapshot.meta.requests,
        snapshot.meta.retries,
        snapshot.meta.rate_limited,
        shown.display()
    );
}

/// The error and its causes on one line.
fn chain(e: &CollectError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
