//! Collection benchmark: the simulator serving a synthetic account in the
//! documented profile, with latency and a scaled rate-limit window, collected
//! with the default in-flight limit and then with one request at a time.
//!
//! cargo bench --bench collect -- [AGENTS] [LATENCY_MS] [WINDOW_SECS] [RATE_LIMIT]
//! (defaults: 2000 agents, 100 ms, 12 s window, 700 requests per window)
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use deskaudit::collect::{ApiKey, CollectOptions, Target, collect};
use deskaudit::sim::{self, Fixture, Profile, SimConfig};

struct Run {
    requests: u64,
    rate_limited: u64,
    agents: usize,
    elapsed: Duration,
}

fn run(fixture: &Fixture, config: &SimConfig, in_flight: usize, reserve: u8) -> Run {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let server = sim::start(fixture.clone(), config.clone(), ([127, 0, 0, 1], 0).into())
            .await
            .expect("simulator");
        let opts = CollectOptions {
            target: Target::new("bench", Some(&server.base_url())).expect("target"),
            key: ApiKey::new(&config.api_key).expect("key"),
            previous_ids: Vec::new(),
            max_in_flight: in_flight,
            reserve_pct: reserve,
            rate_window: config.window,
            progress: false,
        };
        let start = Instant::now();
        let snapshot = collect(opts).await.expect("collection succeeds");
        let elapsed = start.elapsed();
        let run = Run {
            requests: server.total_requests(),
            rate_limited: server.rate_limited_count(),
            agents: snapshot.agents.len(),
            elapsed,
        };
        server.shutdown().await;
        run
    })
}

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let arg = |i: usize, default: u64| args.get(i).copied().unwrap_or(default);
    let (agents, latency_ms, window_s, limit) = (arg(0, 2000), arg(1, 100), arg(2, 12), arg(3, 700));
    let reserve = 20u8;
    let fixture = Fixture::synthetic(agents as usize, 7);
    let config = SimConfig {
        profile: Profile::Documented,
        rate_limit: limit as u32,
        window: Duration::from_secs(window_s),
        latency: Duration::from_millis(latency_ms),
        ..SimConfig::default()
    };
    let allowed = limit as f64 * (1.0 - f64::from(reserve) / 100.0) / window_s as f64;
    println!(
        "collect bench: {agents} agents, documented profile, {latency_ms} ms latency, {limit} requests per {window_s} s window, reserve {reserve}% -> allowed {allowed:.1} req/s"
    );
    let parallel = run(&fixture, &config, 8, reserve);
    let report = |label: &str, r: &Run| {
        let rate = r.requests as f64 / r.elapsed.as_secs_f64();
        println!(
            "{label:<14} agents {:>6}  requests {:>5}  429s {:>3}  time {:>7.2} s  rate {:>6.1} req/s  rate/allowed {:.2}",
            r.agents,
            r.requests,
            r.rate_limited,
            r.elapsed.as_secs_f64(),
            rate,
            rate / allowed
        );
    };
    report("in-flight 8", &parallel);
    println!(
        "detail calls avoided: {} requests for {} agents",
        parallel.requests, parallel.agents
    );
    if std::env::var_os("BENCH_SKIP_SERIAL").is_none() {
        let serial = run(&fixture, &config, 1, reserve);
        report("in-flight 1", &serial);
        println!(
            "speed-up of 8 in flight over 1: {:.2}x",
            serial.elapsed.as_secs_f64() / parallel.elapsed.as_secs_f64()
        );
    }
}
