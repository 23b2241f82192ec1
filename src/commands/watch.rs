//! `deskaudit watch`: poll the account between reviews, each poll a complete
//! collection within `--budget` percent of its rate limit, and record what
//! changed as events (`crate::watch`), printed on stdout one JSON object a
//! line and POSTed to `--webhook`.
//!
//! Stopping: SIGINT or SIGTERM (systemd stopping the unit) abandons a
//! collection in flight, or lets a poll being recorded finish (recording is
//! synchronous and short), and exits 0 with the state directory as the last
//! complete poll left it.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{Notify, watch as signal_watch};
use tokio::time::Instant;

use super::audit::{self, finding_view};
use super::collect::interruption;
use super::stdout::stdout;
use super::{Failure, context, runtime};
use crate::cli::{AuditInputArgs, WatchArgs};
use crate::collect::{CollectOptions, collect_within_budget};
use crate::model::Snapshot;
use crate::watch::webhook::{Backoff, Delivery, Endpoint, WebhookError};
use crate::watch::{Event, Recovery, StateDir, WatchError};

/// With `--once`, how long the webhook may take to catch up before exit;
/// what is left goes on the next run (the events are in events.jsonl).
const ONCE_DELIVERY: Duration = Duration::from_secs(60);

/// Requests in flight at once: the budget governor spaces them anyway.
const MAX_IN_FLIGHT: usize = 2;

pub fn run(args: &WatchArgs, quiet: bool) -> Result<u8, Failure> {
    let watched = super::watch_accounts::watched(args)?;
    let rules = rules_inputs(args);
    if let Some(inputs) = &rules {
        audit::check_inputs(inputs)?;
    }
    let endpoint = args
        .webhook
        .as_deref()
        .map(Endpoint::parse)
        .transpose()
        .map_err(Failure::input)?;
    let mut states = Vec::with_capacity(watched.len());
    let mut deliveries = Vec::with_capacity(watched.len());
    for w in &watched {
        let (mut state, recovery) = StateDir::open(&w.state).map_err(state_failure)?;
        if let Some(account) = &w.label {
            state.label_events(account);
        }
        if !quiet {
            say_recovery(w.label.as_deref(), &recovery);
        }
        // Each account's delivery keeps its own place in its own events.jsonl.
        let delivery = match &endpoint {
            Some(endpoint) => Some(delivery(args, &state, endpoint.clone())?),
            None => None,
        };
        states.push(state);
        deliveries.push(delivery);
    }
    let rt = runtime()?;
    rt.block_on(async {
        let (stop_tx, stop) = signal_watch::channel(None::<&'static str>);
        let signalled = interruption();
        tokio::spawn(async move {
            let signal = signalled.await;
            let _ = stop_tx.send(Some(signal));
        });
        let wakes: Vec<Arc<Notify>> = watched.iter().map(|_| Arc::new(Notify::new())).collect();
        let mut loop_deliveries = Vec::new();
        let mut once_deliveries = Vec::new();
        for (delivery, wake) in deliveries.into_iter().zip(&wakes) {
            match delivery {
                Some(d) if args.once => once_deliveries.push(d),
                Some(d) => {
                    let mut stopped = stop.clone();
                    loop_deliveries.push(tokio::spawn(d.run(Arc::clone(wake), async move {
                        let _ = stopped.wait_for(Option::is_some).await;
                    })));
                }
                None => {}
            }
        }
        // Every account polled at once; one account's failed poll is its own
        // `poll.failed`, and the others go on. A state or output failure stops all.
        let polls = watched.iter().zip(states.iter_mut()).zip(&wakes).map(|((w, state), wake)| {
            let poller = Poller {
                args,
                rules: rules.as_ref(),
                target: &w.target,
                key: &w.key,
                label: w.label.as_deref(),
                quiet,
            };
            let stop = stop.clone();
            async move { poller.run(state, stop, wake).await }
        });
        let codes = futures::future::try_join_all(polls).await;
        for mut delivery in once_deliveries {
            let mut stopped = stop.clone();
            tokio::select! {
                done = tokio::time::timeout(ONCE_DELIVERY, delivery.catch_up()) => match done {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "webhook: delivery stopped; the events stay in events.jsonl"),
                    Err(_) => tracing::warn!("webhook: not caught up within {}s; the rest goes on the next run", ONCE_DELIVERY.as_secs()),
                },
                _ = stopped.wait_for(Option::is_some) => {}
            }
        }
        for task in loop_deliveries {
            task.abort();
            let _ = task.await;
        }
        // Exit 3 when any account's poll failed (`--once`).
        codes.map(|codes| codes.into_iter().max().unwrap_or(0))
    })
}

/// One account's webhook delivery from its state directory.
fn delivery(args: &WatchArgs, state: &StateDir, endpoint: Endpoint) -> Result<Delivery, Failure> {
    let backoff = Backoff {
        first: Duration::from_millis(args.webhook_backoff_ms.max(1)),
        ..Backoff::DEFAULT
    };
    let authorization = std::env::var("DESKAUDIT_WEBHOOK_AUTHORIZATION").ok();
    Delivery::new(
        state.dir(),
        endpoint,
        args.events_format,
        backoff,
        authorization.as_deref(),
    )
    .map_err(webhook_failure)
}

struct Poller<'a> {
    args: &'a WatchArgs,
    rules: Option<&'a AuditInputArgs>,
    target: &'a crate::collect::Target,
    key: &'a crate::collect::ApiKey,
    /// The account, where several are watched: each line said names it.
    label: Option<&'a str>,
    quiet: bool,
}

impl Poller<'_> {
    /// Polls until `--once` is done or a signal comes; the exit code.
    async fn run(
        &self,
        state: &mut StateDir,
        mut stop: signal_watch::Receiver<Option<&'static str>>,
        wake: &Notify,
    ) -> Result<u8, Failure> {
        loop {
            let start = Instant::now();
            let started_at = Timestamp::now();
            let opts = CollectOptions {
                target: self.target.clone(),
                key: self.key.clone(),
                previous_ids: state
                    .last()
                    .map(|l| l.agents.keys().copied().collect())
                    .unwrap_or_default(),
                max_in_flight: MAX_IN_FLIGHT,
                reserve_pct: self.args.pacing.reserve,
                rate_window: Duration::from_secs(self.args.pacing.rate_window),
                progress: false,
            };
            let collected = tokio::select! {
                collected = collect_within_budget(opts, self.args.budget) => collected,
                signal = stop.wait_for(Option::is_some) => {
                    let name = signal.ok().and_then(|s| *s).unwrap_or("a signal");
                    self.note(&format!("watch: stopped by {name}; the poll in flight was abandoned, the state directory is as the last complete poll left it"));
                    return Ok(0);
                }
            };
            let failed = match collected {
                Ok(snapshot) => match record(state, &snapshot, self.rules)? {
                    Ok(events) => {
                        self.emit(&events)?;
                        let next = if self.args.once {
                            String::new()
                        } else {
                            format!("; next poll {}s after this one began", self.args.every.as_secs())
                        };
                        self.note(&format!(
                            "watch: poll complete: {} agents in {} requests, {} event(s){next}",
                            snapshot.agents.len(),
                            snapshot.meta.requests,
                            events.len(),
                        ));
                        false
                    }
                    Err(reason) => self.fail(state, started_at, &reason)?,
                },
                Err(e) => self.fail(state, started_at, &super::context("collection", e).to_string())?,
            };
            wake.notify_one();
            if self.args.once {
                return Ok(if failed { 3 } else { 0 });
            }
            tokio::select! {
                () = tokio::time::sleep_until(start + self.args.every) => {}
                signal = stop.wait_for(Option::is_some) => {
                    let name = signal.ok().and_then(|s| *s).unwrap_or("a signal");
                    self.note(&format!("watch: stopped by {name} between polls"));
                    return Ok(0);
                }
            }
        }
    }

    /// Records `poll.failed` (nothing else changes); always `true`.
    fn fail(&self, state: &mut StateDir, started_at: Timestamp, reason: &str) -> Result<bool, Failure> {
        let event = state
            .record_failure(&self.target.domain, started_at, reason)
            .map_err(state_failure)?;
        self.emit(std::slice::from_ref(&event))?;
        self.note(&format!(
            "watch: poll failed, nothing recorded but poll.failed: {reason}"
        ));
        Ok(true)
    }

    /// Every event on stdout, one JSON object a line, flushed per poll.
    fn emit(&self, events: &[Event]) -> Result<(), Failure> {
        let mut out = std::io::BufWriter::new(stdout());
        let fail = |e: std::io::Error| Failure::output(context("stdout", e));
        for event in events {
            for object in self.args.events_format.render(event) {
                serde_json::to_writer(&mut out, &object).map_err(|e| fail(e.into()))?;
                std::io::Write::write_all(&mut out, b"\n").map_err(fail)?;
            }
        }
        std::io::Write::flush(&mut out).map_err(fail)
    }

    fn note(&self, line: &str) {
        if self.quiet {
            return;
        }
        match self.label {
            Some(account) => eprintln!("{account}: {line}"),
            None => eprintln!("{line}"),
        }
    }
}

/// One complete poll recorded: its events, or why the rules could not run
/// on it (then nothing was promised, and the caller records `poll.failed`).
fn record(
    state: &mut StateDir,
    snapshot: &Snapshot,
    rules: Option<&AuditInputArgs>,
) -> Result<Result<Vec<Event>, String>, Failure> {
    let staged = match state.stage(snapshot) {
        Ok(staged) => staged,
        Err(WatchError::Model(reason)) => return Ok(Err(format!("the snapshot cannot be read: {reason}"))),
        Err(e) => return Err(state_failure(e)),
    };
    let findings = match rules {
        None => None,
        Some(inputs) => match audit::findings(staged.path(), inputs) {
            Ok(rows) => Some(rows.iter().map(finding_view).collect()),
            Err(failure) => {
                staged.abandon().map_err(state_failure)?;
                return Ok(Err(format!("the rules could not run: {}", failure.report())));
            }
        },
    };
    let mut prepared = staged.prepare(findings).map_err(state_failure)?;
    prepared.append().map_err(state_failure)?;
    prepared.install().map_err(state_failure)?;
    Ok(Ok(prepared.finish().map_err(state_failure)?))
}

/// The rules' inputs, when `--idp` was given: as-of is each poll's `collected_at`.
fn rules_inputs(args: &WatchArgs) -> Option<AuditInputArgs> {
    if args.idp.is_empty() {
        return None;
    }
    Some(AuditInputArgs {
        idp: args.idp.clone(),
        assignments: args.assignments.clone(),
        policy: args.policy.clone(),
        as_of: None,
        fail_on: None,
        lenient: false,
        csv_bom: false,
        previous_run: None,
        watch: None,
        accept_edited_snapshot: false,
    })
}

fn say_recovery(account: Option<&str>, recovery: &Recovery) {
    let who = account.map(|a| format!("{a}: ")).unwrap_or_default();
    if let Some((poll, appended)) = &recovery.finished_poll {
        eprintln!("{who}watch: finished poll {poll} that a stop interrupted ({appended} event(s) appended)");
    }
    if recovery.dropped_staged {
        eprintln!(
            "{who}watch: dropped a poll that a stop interrupted before it was recorded; the next poll finds its changes"
        );
    }
    if recovery.torn_bytes > 0 {
        eprintln!(
            "{who}watch: cut {} byte(s) of a half-written last line off events.jsonl",
            recovery.torn_bytes
        );
    }
}

fn state_failure(e: WatchError) -> Failure {
    match e {
        WatchError::State { .. } | WatchError::Model(_) => Failure::input(e),
        WatchError::Io { .. } => Failure::output(e),
        WatchError::Lock(e) => e.into(),
    }
}

fn webhook_failure(e: WebhookError) -> Failure {
    match e {
        WebhookError::State(e) => state_failure(e),
        WebhookError::Client(_) => Failure::output(e),
        e => Failure::input(e),
    }
}
