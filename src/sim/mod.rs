//! The Freshdesk simulator: serves a fixture account over real HTTP on
//! loopback, the way Freshdesk's `/api/v2` does, for the demo and the tests.
//!
//! It is the "other side" of every collector test, so it shares no logic with
//! the collector: it reads its fixture as plain `serde_json::Value` objects and
//! implements pagination, filtering and status on its own.
//!
//! Two profiles are served from the same fixture:
//! - [`Profile::Documented`]: the API as Freshdesk documents it today
//!   (`link` headers, `only=availability`, `/admin/groups`, strict query
//!   validation, deactivated agents absent from the plain list);
//! - [`Profile::Seed`]: the behaviour an older guide describes (`?active=false`,
//!   no `link` header, no `Retry-After`, no `/admin/*`).
//!
//! Both take agent writes (`DELETE`/`PUT /agents/{id}`, `POST /agents`, see
//! `writes`; `PUT /contacts/{id}/make_agent`, see `reactivate`), every later
//! read reflecting them; faults can hit a write before or after it takes
//! effect, at random or as scripted by [`SimConfig::write_faults`], and
//! [`RunningSim::set_fault_rate`] changes the random rate while it serves;
//! [`RunningSim::requests`] lists what came in.

mod agents;
mod data;
mod faults;
mod fixture;
mod log;
mod pagination;
mod ratelimit;
mod reactivate;
mod reply;
mod rng;
mod routes;
mod script;
mod server;
mod synthetic;
mod validate;
mod writes;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use fixture::Fixture;
pub use log::RequestRecord;
pub use script::{FaultTiming, WriteFault, WriteFaultKind, WriteMethod};
use serde_json::Value;

/// Which flavour of the API the simulator serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// The API as documented by Freshdesk today.
    Documented,
    /// The older behaviour (`?active=false`, no `link`, no `/admin/*`).
    Seed,
}

/// How the documented profile's 429 says when to come back (RFC 9110
/// §10.2.3 allows both); the seed profile sends no `Retry-After`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RetryAfter {
    /// Whole seconds until the window resets, as Freshdesk sends it.
    #[default]
    Seconds,
    /// The moment the window resets, as an HTTP-date (IMF-fixdate).
    HttpDate,
}

/// How the simulator behaves: keys, profile, rate limit and injected trouble.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub profile: Profile,
    /// The admin's API key (HTTP Basic user name).
    pub api_key: String,
    /// A non-admin agent's API key: truncated agent list, 403 on admin endpoints.
    pub agent_key: Option<String>,
    /// Requests allowed per `window`, for the whole account.
    pub rate_limit: u32,
    pub window: Duration,
    /// The form of a 429's `Retry-After` (documented profile).
    pub retry_after: RetryAfter,
    /// Delay before every answer.
    pub latency: Duration,
    /// Probability in `[0, 1]` that a request fails (500, 503, dropped, truncated).
    pub fault_rate: f64,
    /// Seed of the deterministic fault generator.
    pub seed: u64,
    /// Faults scripted for chosen writes, on top of `fault_rate`.
    pub write_faults: Vec<WriteFault>,
    /// A 503 fault carries `Retry-After` with these whole seconds
    /// (documented profile): a service that says when to come back.
    pub unavailable_retry_after: Option<u64>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            profile: Profile::Documented,
            api_key: "demo-admin-key".to_owned(),
            agent_key: Some("demo-agent-key".to_owned()),
            rate_limit: 700,
            window: Duration::from_secs(60),
            retry_after: RetryAfter::Seconds,
            latency: Duration::ZERO,
            fault_rate: 0.0,
            seed: 0,
            write_faults: Vec::new(),
            unavailable_retry_after: None,
        }
    }
}

/// Errors of the simulator: a bad fixture (naming the file) or a server failure.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot read fixture file {}: {source}", file.display())]
    Read { file: PathBuf, source: std::io::Error },
    #[error("invalid fixture file {}: {reason}", file.display())]
    Invalid { file: PathBuf, reason: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("simulator server failed: {0}")]
    Serve(std::io::Error),
}

/// A simulator serving on a loopback port until [`RunningSim::shutdown`].
pub struct RunningSim {
    addr: SocketAddr,
    state: Arc<server::SimState>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), std::io::Error>>,
}

impl RunningSim {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received per route template (`"GET /api/v2/agents/{id}"`),
    /// every request counted, 401s, 429s and faults included.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.state.request_counts()
    }

    pub fn total_requests(&self) -> u64 {
        self.state.total_requests()
    }

    /// Number of 429 answers served.
    pub fn rate_limited_count(&self) -> u64 {
        self.state.rate_limited_count()
    }

    /// Every request (the latest 100 000) in the order its answer was
    /// decided, with its status and whether it changed the account.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state.requests()
    }

    /// The writes (`POST`, `PUT`, `DELETE`) naming `agent_id`, or creating
    /// it, in order, whether or not they took effect.
    pub fn writes_to(&self, agent_id: u64) -> Vec<RequestRecord> {
        self.requests()
            .into_iter()
            .filter(|r| r.is_write() && r.agent_id == Some(agent_id))
            .collect()
    }

    /// The agent as an admin's `GET /agents/{id}` would return it now.
    pub fn agent(&self, id: u64) -> Option<Value> {
        self.state.org().agent(id).cloned()
    }

    /// The contact with this id (a deleted agent's, in the documented profile).
    pub fn contact(&self, id: u64) -> Option<Value> {
        self.state.org().contact(id).cloned()
    }

    /// The member agent ids of a group, in agent order.
    pub fn group_members(&self, id: u64) -> Option<Vec<u64>> {
        self.state.org().members(id).map(<[u64]>::to_vec)
    }

    /// The `GET /account` body as it is now.
    pub fn account(&self) -> Value {
        self.state.org().account.clone()
    }

    /// Changes the probability that a request fails from now on (a poll
    /// that meets trouble half-way through an account's life).
    pub fn set_fault_rate(&self, rate: f64) {
        self.state.set_fault_rate(rate);
    }

    /// Stops accepting, lets in-flight requests finish (at most a few seconds).
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let abort = self.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

/// Starts the simulator on `bind` (use `127.0.0.1:0` for a free port).
pub async fn start(fixture: Fixture, config: SimConfig, bind: SocketAddr) -> Result<RunningSim, SimError> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|source| SimError::Bind { addr: bind, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr: bind, source })?;
    let state = Arc::new(server::SimState::new(fixture, config, addr));
    let app = server::router(Arc::clone(&state));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    Ok(RunningSim {
        addr,
        state,
        stop,
        task,
    })
}

/// Runs the simulator until ctrl-c (for `deskaudit sim`). Prints nothing.
pub async fn serve_until_ctrl_c(
    fixture: Fixture,
    config: SimConfig,
    bind: SocketAddr,
) -> Result<(), SimError> {
    let sim = start(fixture, config, bind).await?;
    tracing::info!(base_url = %sim.base_url(), "Freshdesk simulator listening");
    let signal = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
    signal.map_err(SimError::Serve)
}
