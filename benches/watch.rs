//! Watch benchmark, two parts:
//! 1. one poll of a synthetic account (documented profile) with
//!    `collect_within_budget`: the requests the simulator counted, sampled
//!    every 20 ms, the most in any one rate-limit window and the average
//!    rate, against the budget's share of the limit;
//! 2. the events between two snapshots of that account, one agent in fifty
//!    changed: the time to read the two snapshot files (parse them, then
//!    reduce each to what a poll compares, `Observed::from_snapshot`)
//!    against the time to compute the events (`watch::changes` and the
//!    event DTOs, `assemble`).
//!
//! cargo bench --bench watch -- [AGENTS] [WINDOW_SECS] [RATE_LIMIT] [BUDGET_PCT]
//! (defaults: 20000 agents, a 1 s window, 700 requests per window, 10%)
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use deskaudit::collect::{ApiKey, CollectOptions, Target, collect_within_budget};
use deskaudit::model::Snapshot;
use deskaudit::sim::{self, Fixture, Profile, SimConfig};
use deskaudit::watch::{Observed, PollContext, assemble, changes};
use serde_json::json;

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let arg = |i: usize, default: u64| args.get(i).copied().unwrap_or(default);
    let (agents, window_s, limit, budget) = (arg(0, 20_000), arg(1, 1), arg(2, 700), arg(3, 10));
    let window = Duration::from_secs(window_s);
    let share = limit as f64 * budget as f64 / 100.0;
    println!(
        "watch bench: {agents} agents, documented profile, {limit} requests per {window_s} s window, budget {budget}% -> at most {share:.0} requests in any window"
    );
    let fixture = Fixture::synthetic(agents as usize, 7);
    let config = SimConfig {
        profile: Profile::Documented,
        rate_limit: limit as u32,
        window,
        ..SimConfig::default()
    };
    let snapshot = poll(&fixture, &config, budget as u8, share);

    // Part 2: a second snapshot with one agent in fifty changed (role, scope, status, gone).
    let dir = tempfile::tempdir().expect("tempdir");
    let (one, two) = (dir.path().join("one.json"), dir.path().join("two.json"));
    snapshot.write_atomic(&one).expect("writes");
    let changed = changed(&snapshot);
    changed.write_atomic(&two).expect("writes");
    let runs = 5;
    let (mut read, mut reduce, mut compute, mut events) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for _ in 0..runs {
        let clock = Instant::now();
        let (a, b) = (
            Snapshot::read(&one).expect("reads"),
            Snapshot::read(&two).expect("reads"),
        );
        read.push(clock.elapsed());
        let clock = Instant::now();
        let (prev, cur) = (
            Observed::from_snapshot(&a).expect("valid"),
            Observed::from_snapshot(&b).expect("valid"),
        );
        reduce.push(clock.elapsed());
        let clock = Instant::now();
        let ctx = PollContext::new(&cur, Some(&prev));
        events = assemble(&ctx, changes(&prev, &cur), 1).len();
        compute.push(clock.elapsed());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (read, reduce, compute) = (median(&mut read), median(&mut reduce), median(&mut compute));
    let bytes =
        std::fs::metadata(&one).map_or(0, |m| m.len()) + std::fs::metadata(&two).map_or(0, |m| m.len());
    println!(
        "events between two {agents}-agent snapshots ({:.1} MB of JSON), median of {runs}: parse {:.1} ms, reduce {:.1} ms, events {:.2} ms -> {events} events",
        bytes as f64 / 1e6,
        ms(read),
        ms(reduce),
        ms(compute)
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "events / (parse + reduce) = {:.3}; events / parse = {:.3}; reduce / parse = {:.3}",
        ratio(compute, read + reduce),
        ratio(compute, read),
        ratio(reduce, read)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One complete poll within the budget; prints what the simulator counted.
fn poll(fixture: &Fixture, config: &SimConfig, budget: u8, share: f64) -> Snapshot {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let server = Arc::new(
            sim::start(fixture.clone(), config.clone(), ([127, 0, 0, 1], 0).into())
                .await
                .expect("simulator"),
        );
        let opts = CollectOptions {
            target: Target::new("bench", Some(&server.base_url())).expect("target"),
            key: ApiKey::new(&config.api_key).expect("key"),
            previous_ids: Vec::new(),
            max_in_flight: 2,
            reserve_pct: 20,
            rate_window: config.window,
            progress: false,
        };
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (server, done) = (Arc::clone(&server), Arc::clone(&done));
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let start = Instant::now();
                while !done.load(Ordering::Relaxed) {
                    samples.push((start.elapsed(), server.total_requests()));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                samples.push((start.elapsed(), server.total_requests()));
                samples
            })
        };
        let start = Instant::now();
        let snapshot = collect_within_budget(opts, budget)
            .await
            .expect("the poll completes");
        let elapsed = start.elapsed();
        done.store(true, Ordering::Relaxed);
        let samples = sampler.await.expect("sampler");
        let most = most_in_window(&samples, config.window);
        let requests = server.total_requests();
        let per_minute = requests as f64 / elapsed.as_secs_f64() * 60.0;
        let allowed_per_minute = share / config.window.as_secs_f64() * 60.0;
        println!(
            "poll: {} agents, {requests} requests, 429s {}, {:.1} s; most in any {} s window {most} (budget {share:.0}); {per_minute:.0} req/min scaled vs {allowed_per_minute:.0} allowed -> {:.2} of the budget",
            snapshot.agents.len(),
            server.rate_limited_count(),
            elapsed.as_secs_f64(),
            config.window.as_secs(),
            per_minute / allowed_per_minute
        );
        snapshot
    })
}

/// The most requests counted between two samples at most `window` apart
/// (sampling every 20 ms can only undercount a window by one interval's
/// requests at each end, which is why the poll's average is printed too).
fn most_in_window(samples: &[(Duration, u64)], window: Duration) -> u64 {
    let mut most = 0;
    let mut lo = 0;
    for hi in 0..samples.len() {
        while samples[hi].0 - samples[lo].0 > window {
            lo += 1;
        }
        most = most.max(samples[hi].1 - samples[lo].1);
    }
    most
}

/// `snapshot` with every fiftieth agent changed in turn: roles, scope,
/// deactivated, removed.
fn changed(snapshot: &Snapshot) -> Snapshot {
    let mut next = snapshot.clone();
    let mut kept = Vec::with_capacity(next.agents.len());
    for (i, mut agent) in std::mem::take(&mut next.agents).into_iter().enumerate() {
        match (i % 50 == 0).then_some(i / 50 % 4) {
            Some(0) => agent["role_ids"] = json!([]),
            Some(1) => agent["ticket_scope"] = json!(1),
            Some(2) => agent["deactivated"] = json!(true),
            Some(_) => continue,
            None => {}
        }
        kept.push(agent);
    }
    next.agents = kept;
    next.meta.collected_at += jiff::SignedDuration::from_mins(15);
    next.seal();
    next
}
