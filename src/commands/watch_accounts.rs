//! Which accounts `watch` polls: the one of `--domain`, or every account of
//! `--accounts ACCOUNTS.toml` (#17), each with its own key, its own
//! rate-limit budget and its own state directory `--state DIR/DOMAIN`, so
//! each keeps complete polls only, as a one-account watch does.

use std::path::PathBuf;

use super::Failure;
use super::collect::account;
use crate::accounts::Accounts;
use crate::cli::WatchArgs;
use crate::collect::{ApiKey, Target};

/// One account to poll.
pub struct Watched {
    pub target: Target,
    pub key: ApiKey,
    /// Its state directory.
    pub state: PathBuf,
    /// The account's domain, where several are watched: every event and
    /// every line said then names it. `None` for a one-account watch.
    pub label: Option<String>,
}

pub fn watched(args: &WatchArgs) -> Result<Vec<Watched>, Failure> {
    let Some(file) = &args.accounts else {
        let (target, key) = account(&args.account)?;
        return Ok(vec![Watched {
            target,
            key,
            state: args.state.clone(),
            label: None,
        }]);
    };
    // Read (keys too) before the first request: a bad file is bad input.
    let accounts = Accounts::read(file).map_err(Failure::input)?;
    // A one-account state directory is not several accounts' parent: its
    // events would be continued by nobody, and the accounts' mixed with it.
    if args.state.join(crate::watch::STATE).exists() {
        return Err(Failure::input(format!(
            "--state {}: holds the state of a one-account watch; with --accounts, give a directory for the accounts' own (DIR/DOMAIN)",
            args.state.display()
        )));
    }
    Ok(accounts
        .accounts
        .into_iter()
        .map(|a| Watched {
            state: args.state.join(&a.target.domain),
            label: Some(a.target.domain.clone()),
            target: a.target,
            key: a.key,
        })
        .collect())
}
