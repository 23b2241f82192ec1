use std::io::Write;
use std::time::Duration;

use super::context;
use super::{Failure, runtime};
use crate::cli::SimArgs;
use crate::sim::{self, Fixture, SimConfig};

pub fn run(args: &SimArgs) -> Result<u8, Failure> {
    if !(0.0..=1.0).contains(&args.fault_rate) {
        return Err(Failure::input("--fault-rate must be between 0 and 1"));
    }
    if args.window == 0 || args.rate_limit == 0 {
        return Err(Failure::input("--rate-limit and --window must be at least 1"));
    }
    let fixture = Fixture::load(&args.fixture).map_err(Failure::input)?;
    let config = SimConfig {
        profile: args.profile,
        rate_limit: args.rate_limit,
        window: Duration::from_secs(args.window),
        latency: Duration::from_millis(args.latency_ms),
        fault_rate: args.fault_rate,
        ..SimConfig::default()
    };
    let rt = runtime()?;
    rt.block_on(async {
        let server = sim::start(fixture, config.clone(), ([127, 0, 0, 1], args.port).into())
            .await
            .map_err(Failure::collection)?;
        // A closed stderr must not stop the server, so no eprintln! (it panics on write errors).
        let _ = writeln!(
            std::io::stderr(),
            "simulator ({:?} profile) serving at {}\nadmin key `{}`, non-admin key `{}` (made-up keys for this simulator only); Ctrl-C to stop",
            args.profile,
            server.base_url(),
            config.api_key,
            config.agent_key.as_deref().unwrap_or("none"),
        );
        let signal = tokio::signal::ctrl_c().await;
        server.shutdown().await;
        signal.map_err(|e| Failure::collection(context("waiting for Ctrl-C", e)))
    })?;
    Ok(0)
}
