//! The HTTP side: one handler that counts, rate-limits, injects faults,
//! authenticates, dispatches reads and writes, logs, and adds the
//! rate-limit headers to every answer.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::data::Org;
use super::faults::{self, Fault, FaultInjector};
use super::log::{RequestLog, RequestRecord};
use super::ratelimit::{RateLimiter, Verdict};
use super::reply::{FieldError, Reply};
use super::routes::{self, Caller, Ctx, Route};
use super::script::{FaultScript, FaultTiming};
use super::writes::{self, Write};
use super::{Fixture, Profile, RetryAfter, SimConfig};

/// Largest write body read; an agent's fields are a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;

pub(crate) struct SimState {
    /// Reads share the lock; a write holds it only while it changes the
    /// account (never across an await).
    org: RwLock<Org>,
    config: SimConfig,
    base: String,
    limiter: RateLimiter,
    faults: FaultInjector,
    script: FaultScript,
    log: RequestLog,
}

impl SimState {
    pub(crate) fn new(fixture: Fixture, config: SimConfig, addr: SocketAddr) -> SimState {
        SimState {
            org: RwLock::new(Org::new(fixture)),
            base: format!("http://{addr}"),
            limiter: RateLimiter::new(config.rate_limit, config.window, Instant::now()),
            faults: FaultInjector::new(config.fault_rate, config.seed),
            script: FaultScript::new(config.write_faults.clone()),
            log: RequestLog::default(),
            config,
        }
    }

    pub(crate) fn request_counts(&self) -> BTreeMap<String, u64> {
        self.log.counts()
    }

    pub(crate) fn total_requests(&self) -> u64 {
        self.log.total()
    }

    pub(crate) fn rate_limited_count(&self) -> u64 {
        self.log.limited()
    }

    pub(crate) fn set_fault_rate(&self, rate: f64) {
        self.faults.set_rate(rate);
    }

    pub(crate) fn requests(&self) -> Vec<RequestRecord> {
        self.log.records()
    }

    /// The account as it is now (a write waits until the guard is dropped).
    pub(crate) fn org(&self) -> RwLockReadGuard<'_, Org> {
        self.org.read().unwrap_or_else(PoisonError::into_inner)
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

    fn rate_limited(&self, verdict: Verdict) -> Reply {
        self.log.rate_limited();
        let reply = Reply::rate_limited();
        let retry_after = match self.config.retry_after {
            RetryAfter::Seconds => verdict.retry_after_secs().map(|secs| secs.to_string()),
            RetryAfter::HttpDate => verdict.retry_after_date(jiff::Timestamp::now()),
        };
        match (self.config.profile, retry_after) {
            (Profile::Documented, Some(value)) => reply.with_header("retry-after", value),
            _ => reply,
        }
    }
}

pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// What was answered, before the fault (if any) is applied to it.
struct Answer {
    reply: Reply,
    fault: Option<Fault>,
    took_effect: bool,
    agent_id: Option<u64>,
}

impl Answer {
    fn plain(reply: Reply, fault: Option<Fault>) -> Answer {
        Answer {
            reply,
            fault,
            took_effect: false,
            agent_id: None,
        }
    }

    /// A fault that strikes before anything is done (an error fault then
    /// sets the status; a dropped connection sends nothing).
    fn failed_before(fault: Fault) -> Answer {
        Answer::plain(
            Reply::server_error(StatusCode::INTERNAL_SERVER_ERROR),
            Some(fault),
        )
    }
}

async fn handle(State(state): State<Arc<SimState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    let route = Route::parse(parts.uri.path());
    state.log.arrived(format!("{method} {}", route.template()));
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    let verdict = state.limiter.check(Instant::now());
    let write = Write::of(&method, route);
    let mut answer = if verdict.limited.is_some() {
        Answer::plain(state.rate_limited(verdict), None)
    } else if let Some(write) = write {
        write_answer(&state, &parts, body, write).await
    } else {
        match state.faults.roll() {
            Some(fault) if fault.error_status().is_some() => Answer::failed_before(fault),
            fault => Answer::plain(answer(&state, &parts, route), fault),
        }
    };
    // An error fault replaces the whole answer, also one computed after a
    // write took effect (the client sees the error, not the agent).
    if let Some(status) = answer.fault.and_then(Fault::error_status) {
        answer.reply = Reply::server_error(status);
        if let (StatusCode::SERVICE_UNAVAILABLE, Profile::Documented, Some(secs)) =
            (status, state.config.profile, state.config.unavailable_retry_after)
        {
            answer.reply = answer.reply.with_header("retry-after", secs.to_string());
        }
    }
    if answer.reply.status == StatusCode::NO_CONTENT {
        answer.fault = answer.fault.map(Fault::for_empty_body);
    }
    tracing::debug!(
        method = %method,
        route = route.template(),
        status = answer.reply.status.as_u16(),
        fault = ?answer.fault,
        took_effect = answer.took_effect,
        "simulator request"
    );
    let response = render(answer.reply, verdict, answer.fault);
    state.log.answered(RequestRecord {
        method: method.to_string(),
        path: parts.uri.path().to_owned(),
        route: route.template(),
        agent_id: answer.agent_id.or(route.agent_id()),
        status: (answer.fault != Some(Fault::ClosedBeforeResponse)).then(|| response.status().as_u16()),
        faulted: answer.fault.is_some(),
        took_effect: answer.took_effect,
    });
    response
}

/// A write, in order: a random fault before the effect, authentication
/// (admins only), the body, a scripted fault before the effect, the change
/// itself under the lock, then whichever fault strikes after it.
async fn write_answer(state: &SimState, parts: &Parts, body: Body, write: Write) -> Answer {
    let random = state.faults.roll_write();
    if let Some((fault, FaultTiming::BeforeEffect)) = random {
        return Answer::failed_before(fault);
    }
    let mut after = random.map(|(fault, _)| fault);
    let caller = state.caller(&parts.headers);
    if caller != Some(Caller::Admin) {
        let reply = caller.map_or_else(Reply::unauthorized, |_| Reply::forbidden());
        return Answer::plain(reply, after);
    }
    let bytes = if write.has_body() {
        let left_out = write.body_optional() && declares_no_body(&parts.headers);
        if !left_out && !is_json(&parts.headers) {
            return Answer::plain(Reply::unsupported_content_type(), after);
        }
        match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(bytes) => bytes,
            Err(_) => return Answer::plain(Reply::too_large(), after),
        }
    } else {
        Bytes::new()
    };
    match state.script.take(write) {
        Some((fault, FaultTiming::BeforeEffect)) => return Answer::failed_before(fault),
        Some((fault, FaultTiming::AfterEffect)) => after = Some(fault),
        None => {}
    }
    let outcome = {
        let mut org = state.org.write().unwrap_or_else(PoisonError::into_inner);
        let now = jiff::Timestamp::now();
        writes::apply(&mut org, state.config.profile, write, &bytes, now)
    };
    Answer {
        reply: outcome.reply,
        fault: after,
        took_effect: outcome.took_effect,
        agent_id: outcome.agent_id,
    }
}

/// No `Content-Length`, or zero: a request that sends no body.
fn declares_no_body(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .is_none_or(|v| v.to_str().is_ok_and(|v| v.trim() == "0"))
}

/// `application/json`, with or without parameters (`; charset=utf-8`).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

fn answer(state: &SimState, parts: &Parts, route: Route) -> Reply {
    let Some(caller) = state.caller(&parts.headers) else {
        return Reply::unauthorized();
    };
    if parts.method != Method::GET {
        return Reply::method_not_allowed();
    }
    let params = match Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) {
        Ok(Query(params)) => params,
        Err(_) => {
            let error = FieldError::invalid_value("query", "The query string is not valid");
            return Reply::validation(vec![error]);
        }
    };
    let base = link_base(&parts.headers).unwrap_or_else(|| state.base.clone());
    let org = state.org();
    let ctx = Ctx {
        org: &org,
        profile: state.config.profile,
        caller,
        params: &params,
        base: &base,
        path: parts.uri.path(),
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
    let mut status = fault.and_then(Fault::status).unwrap_or(reply.status);
    let empty = status == StatusCode::NO_CONTENT;
    if empty && fault == Some(Fault::ClosedBeforeResponse) {
        // hyper never polls the body of a 204, so it would send the answer
        // whole; under another status it polls, fails, and sends nothing.
        status = StatusCode::OK;
    }
    let bytes = if empty {
        Vec::new()
    } else {
        serde_json::to_vec(&reply.body).unwrap_or_default()
    };
    let (body, announced) = faults::body(fault, bytes);
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if !empty {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
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
    fn write_bodies_must_be_json() {
        let table = [
            (Some("application/json"), true),
            (Some("application/json; charset=utf-8"), true),
            (Some("Application/JSON"), true),
            (Some("text/plain"), false),
            (Some("application/jsonx"), false),
            (None, false),
        ];
        for (value, expected) in table {
            let mut headers = HeaderMap::new();
            if let Some(value) = value {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            }
            assert_eq!(is_json(&headers), expected, "{value:?}");
        }
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
