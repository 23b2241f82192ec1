//! The HTTP side: one handler that counts, rate-limits, injects faults,
//! authenticates, dispatches and adds the rate-limit headers to every answer.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::data::Org;
use super::faults::{self, Fault, FaultInjector};
use super::ratelimit::{RateLimiter, Verdict};
use super::reply::{FieldError, Reply};
use super::routes::{self, Caller, Ctx, Route};
use super::{Fixture, Profile, RetryAfter, SimConfig};

pub(crate) struct SimState {
    org: Org,
    config: SimConfig,
    base: String,
    limiter: RateLimiter,
    faults: FaultInjector,
    counts: Mutex<BTreeMap<String, u64>>,
    total: AtomicU64,
    limited: AtomicU64,
}

impl SimState {
    pub(crate) fn new(fixture: Fixture, config: SimConfig, addr: SocketAddr) -> SimState {
        SimState {
            org: Org::new(fixture),
            base: format!("http://{addr}"),
            limiter: RateLimiter::new(config.rate_limit, config.window, Instant::now()),
            faults: FaultInjector::new(config.fault_rate, config.seed),
            counts: Mutex::new(BTreeMap::new()),
            total: AtomicU64::new(0),
            limited: AtomicU64::new(0),
            config,
        }
    }

    pub(crate) fn request_counts(&self) -> BTreeMap<String, u64> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub(crate) fn total_requests(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    pub(crate) fn rate_limited_count(&self) -> u64 {
        self.limited.load(Ordering::Relaxed)
    }

    fn count(&self, key: String) {
        self.total.fetch_add(1, Ordering::Relaxed);
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_default() += 1;
    }

    /// Which key was presented: HTTP Basic, user name = API key, any
    /// non-empty password.
    fn caller(&self, headers: &HeaderMap) -> Option<Caller> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, encoded) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = STANDARD.decode(encoded.trim()).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, password) = decoded.split_once(':')?;
        if password.is_empty() || user.is_empty() {
            None
        } else if user == self.config.api_key {
            Some(Caller::Admin)
        } else if self.config.agent_key.as_deref() == Some(user) {
            Some(Caller::Agent)
        } else {
            None
        }
    }
}

pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(State(state): State<Arc<SimState>>, request: Request) -> Response {
    let method = request.method().clone();
    let route = Route::parse(request.uri().path());
    state.count(format!("{method} {}", route.template()));
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    let verdict = state.limiter.check(Instant::now());
    let fault = match verdict.limited {
        Some(_) => None,
        None => state.faults.roll(),
    };
    let reply = if verdict.limited.is_some() {
        state.limited.fetch_add(1, Ordering::Relaxed);
        let reply = Reply::rate_limited();
        let retry_after = match state.config.retry_after {
            RetryAfter::Seconds => verdict.retry_after_secs().map(|secs| secs.to_string()),
            RetryAfter::HttpDate => verdict.retry_after_date(jiff::Timestamp::now()),
        };
        match (state.config.profile, retry_after) {
            (Profile::Documented, Some(value)) => reply.with_header("retry-after", value),
            _ => reply,
        }
    } else if let Some(status) = fault.and_then(|f| f.status()).filter(|s| s.is_server_error()) {
        Reply::server_error(status)
    } else {
        answer(&state, &request, &method, route)
    };
    tracing::debug!(
        method = %method,
        route = route.template(),
        status = reply.status.as_u16(),
        fault = ?fault,
        "simulator request"
    );
    render(reply, verdict, fault)
}

fn answer(state: &SimState, request: &Request, method: &Method, route: Route) -> Reply {
    let Some(caller) = state.caller(request.headers()) else {
        return Reply::unauthorized();
    };
    if method != Method::GET {
        return Reply::method_not_allowed();
    }
    let params = match Query::<Vec<(String, String)>>::try_from_uri(request.uri()) {
        Ok(Query(params)) => params,
        Err(_) => {
            let error = FieldError::invalid_value("query", "The query string is not valid");
            return Reply::validation(vec![error]);
        }
    };
    let base = link_base(request.headers()).unwrap_or_else(|| state.base.clone());
    let ctx = Ctx {
        org: &state.org,
        profile: state.config.profile,
        caller,
        params: &params,
        base: &base,
        path: request.uri().path(),
    };
    routes::dispatch(&ctx, route)
}

/// `http://{Host}` when the client's Host header is a plain host[:port], so
/// that `link` headers point where the client connected.
fn link_base(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    plain.then(|| format!("http://{host}"))
}

fn render(reply: Reply, verdict: Verdict, fault: Option<Fault>) -> Response {
    let status = fault.and_then(Fault::status).unwrap_or(reply.status);
    let bytes = serde_json::to_vec(&reply.body).unwrap_or_default();
    let (body, announced) = faults::body(fault, bytes);
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert("x-ratelimit-total", HeaderValue::from(verdict.total));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(verdict.remaining));
    headers.insert("x-ratelimit-used-currentrequest", HeaderValue::from_static("1"));
    if let Some(length) = announced {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> SimState {
        let addr = SocketAddr::from(([127, 0, 0, 1], 9));
        SimState::new(Fixture::default(), SimConfig::default(), addr)
    }

    fn basic(credentials: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode(credentials));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).expect("ascii"),
        );
        headers
    }

    #[test]
    fn keys_map_to_callers() {
        let state = state();
        let table = [
            ("demo-admin-key:X", Some(Caller::Admin)),
            ("demo-agent-key:X", Some(Caller::Agent)),
            ("demo-admin-key:", None),
            ("wrong:X", None),
            (":X", None),
        ];
        for (credentials, expected) in table {
            assert_eq!(state.caller(&basic(credentials)), expected, "{credentials}");
        }
        assert_eq!(state.caller(&HeaderMap::new()), None);
        let mut bearer = HeaderMap::new();
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer demo-admin-key"),
        );
        assert_eq!(state.caller(&bearer), None);
    }

    #[test]
    fn link_base_follows_a_plain_host_header() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("localhost:8080"));
        assert_eq!(link_base(&headers).as_deref(), Some("http://localhost:8080"));
        headers.insert(header::HOST, HeaderValue::from_static("evil/path"));
        assert_eq!(link_base(&headers), None);
    }
}
