//! The HTTP client wrapper: auth, retries with backoff that reads the
//! rate-limit headers, and the request accounting the snapshot records.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::HeaderMap;
use reqwest::{StatusCode, Url};
use serde_json::Value;

use super::CollectError;
use super::governor::Governor;
use super::key::ApiKey;
use super::progress::Progress;
use super::retry::{self, Fault, FaultKind, Verdict};
use crate::model::snapshot::RateLimitSeen;

/// Retries for what [`retry`] calls transient: 5xx, 408, timeouts, dropped
/// connections, unparseable bodies.
const MAX_FAULT_RETRIES: u32 = 6;
/// Consecutive 429s tolerated before the run gives up.
const MAX_RATE_LIMIT_WAITS: u32 = 12;
const BACKOFF_START: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(8);
const RATE_BACKOFF_START: Duration = Duration::from_secs(1);
const RATE_BACKOFF_CAP: Duration = Duration::from_secs(60);

/// A successful response.
pub struct Response {
    pub body: Value,
    pub next: Option<Url>,
}

/// What a request ended in, when the caller may want to treat it as data.
pub enum Outcome {
    Ok(Response),
    NotFound,
    /// HTTP 400 with the body, e.g. `invalid_field` for a filter the API lacks.
    BadRequest(Value),
}

/// How a write ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Written {
    /// A 2xx answer: it took effect (the body, where there is one).
    Done { status: u16, body: Option<Value> },
    /// A 4xx answer other than 401, 403, 408 and 429: the server refused it.
    Refused { status: u16, body: Value },
    /// Sent, and no usable answer came back: it may or may not have taken
    /// effect. Never repeat it without reading first.
    Lost { cause: String },
}

#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub rate_limit: RateLimitSeen,
}

/// Shared by every request in flight (`&self` throughout).
pub struct Client {
    http: reqwest::Client,
    base: Url,
    key: ApiKey,
    governor: Governor,
    stats: Mutex<Stats>,
    progress: Progress,
    /// Some request has had an HTTP answer: from then on a refused
    /// connection is a passing fault, not a wrong address.
    answered: AtomicBool,
}

impl Client {
    pub fn new(
        base: Url,
        key: ApiKey,
        governor: Governor,
        progress: Progress,
    ) -> Result<Client, CollectError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("deskaudit/", env!("CARGO_PKG_VERSION")))
            // A redirect could carry the key to another host: refuse them all.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| CollectError::Setup(e.to_string()))?;
        Ok(Client {
            http,
            base,
            key,
            governor,
            stats: Mutex::new(Stats::default()),
            progress,
            answered: AtomicBool::new(false),
        })
    }

    pub fn stats(&self) -> Stats {
        self.lock().clone()
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn url(&self, path_and_query: &str) -> Result<Url, CollectError> {
        self.base
            .join(path_and_query)
            .map_err(|e| CollectError::Setup(format!("bad URL {path_and_query}: {e}")))
    }

    /// Like [`Client::get`], with the number of requests it took (retries included),
    /// so concurrent channels can each count their own.
    pub async fn get_counted(&self, url: &Url) -> Result<(Outcome, u64), CollectError> {
        let mut used = 0;
        let outcome = self.get_inner(url, &mut used).await?;
        Ok((outcome, used))
    }

    /// GETs `url` (which must be on the base host), retrying faults and 429s.
    pub async fn get(&self, url: &Url) -> Result<Outcome, CollectError> {
        self.get_inner(url, &mut 0).await
    }

    async fn get_inner(&self, url: &Url, used: &mut u64) -> Result<Outcome, CollectError> {
        let endpoint = endpoint_name(url);
        if url.host_str() != self.base.host_str()
            || url.port_or_known_default() != self.base.port_or_known_default()
        {
            return Err(CollectError::Protocol {
                endpoint,
                reason: format!(
                    "refusing to follow a link to another host ({})",
                    url.host_str().unwrap_or("?")
                ),
            });
        }
        let mut faults = 0;
        let mut waits = 0;
        loop {
            // A 503's `Retry-After`: the server's own estimate of when to
            // come back, which a retry waits at least.
            let mut hint = None;
            self.governor.ready().await;
            self.lock().requests += 1;
            *used += 1;
            let result = self
                .http
                .get(url.clone())
                .basic_auth(self.key.expose(), Some("X"))
                .send()
                .await;
            let fault = match result {
                Err(e) => Fault::of(&e),
                Ok(resp) => {
                    self.answered.store(true, Ordering::Relaxed);
                    let status = resp.status();
                    self.observe(resp.headers());
                    tracing::debug!(%endpoint, status = status.as_u16(), "response");
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        self.lock().rate_limited += 1;
                        waits += 1;
                        if waits > MAX_RATE_LIMIT_WAITS {
                            return Err(CollectError::RateLimited { endpoint, waits });
                        }
                        let (wait, from) = match retry::retry_after(resp.headers(), Timestamp::now()) {
                            Some(wait) => (wait, "retry-after"),
                            None => (
                                backoff(RATE_BACKOFF_START, RATE_BACKOFF_CAP, waits - 1),
                                "backoff",
                            ),
                        };
                        tracing::info!(%endpoint, wait_ms = wait.as_millis() as u64, from, "rate limited; waiting");
                        // Everyone waits, not just this request: the budget is the account's.
                        self.governor.pause(wait);
                        continue;
                    }
                    match status {
                        StatusCode::UNAUTHORIZED => return Err(CollectError::Auth { endpoint }),
                        StatusCode::FORBIDDEN => return Err(CollectError::Permission { endpoint }),
                        StatusCode::NOT_FOUND => return Ok(Outcome::NotFound),
                        s if s.is_redirection() => {
                            return Err(CollectError::Protocol {
                                endpoint,
                                reason: format!("HTTP {s}: redirects are refused"),
                            });
                        }
                        _ => {}
                    }
                    if status == StatusCode::SERVICE_UNAVAILABLE {
                        hint = retry::retry_after(resp.headers(), Timestamp::now());
                    }
                    let next = next_link(resp.headers(), url);
                    match resp.bytes().await {
                        Err(e) => Fault::of(&e),
                        Ok(bytes) if status.is_success() || status == StatusCode::BAD_REQUEST => {
                            match serde_json::from_slice::<Value>(&bytes) {
                                Ok(body) if status == StatusCode::BAD_REQUEST => {
                                    return Ok(Outcome::BadRequest(body));
                                }
                                Ok(body) => return Ok(Outcome::Ok(Response { body, next })),
                                Err(e) => Fault::new(FaultKind::Unreadable, format!("HTTP {status}: {e}")),
                            }
                        }
                        Ok(_) if retry::transient_status(status) => Fault::new(FaultKind::Status(status), ""),
                        Ok(_) => {
                            return Err(CollectError::Protocol {
                                endpoint,
                                reason: format!("unexpected HTTP {status}"),
                            });
                        }
                    }
                }
            };
            if let Verdict::Stop(why) = fault.kind.verdict(self.answered.load(Ordering::Relaxed)) {
                return Err(self.not_retried(endpoint, &fault, why));
            }
            faults += 1;
            if faults > MAX_FAULT_RETRIES {
                return Err(CollectError::Exhausted {
                    endpoint,
                    attempts: faults,
                    last: fault.to_string(),
                });
            }
            self.lock().retries += 1;
            let wait = retry::at_least(backoff(BACKOFF_START, BACKOFF_CAP, faults - 1), hint);
            if let Some(hint) = hint {
                tracing::info!(%endpoint, wait_ms = wait.as_millis() as u64, from = "retry-after", hint_ms = hint.as_millis() as u64, "unavailable; waiting");
                // The whole account is unavailable, not this request: everyone waits.
                self.governor.pause(wait);
            }
            // Harmless for a read; what a write would need to know first.
            let may_have_taken_effect = fault.kind.delivery().may_have_taken_effect();
            tracing::warn!(%endpoint, %fault, may_have_taken_effect, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends one write (`DELETE`, `PUT`, `POST`) and never repeats it once it
    /// may have reached the server: a 429, a 408 or a connection that was
    /// never made are waited out and sent again (the server did not act on
    /// them); a timeout, a dropped connection, a cut-off body or a 5xx come
    /// back as [`Written::Lost`], for the caller to read before deciding.
    pub async fn write_once(
        &self,
        method: reqwest::Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Written, CollectError> {
        let endpoint = format!("{method} {}", endpoint_name(url).trim_start_matches("GET "));
        let mut faults = 0;
        let mut waits = 0;
        loop {
            self.governor.ready().await;
            self.lock().requests += 1;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .basic_auth(self.key.expose(), Some("X"));
            if let Some(body) = body {
                request = request.json(body);
            }
            let fault = match request.send().await {
                Err(e) => Fault::of(&e),
                Ok(resp) => {
                    self.answered.store(true, Ordering::Relaxed);
                    let status = resp.status();
                    self.observe(resp.headers());
                    tracing::debug!(%endpoint, status = status.as_u16(), "write answered");
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        self.lock().rate_limited += 1;
                        waits += 1;
                        if waits > MAX_RATE_LIMIT_WAITS {
                            return Err(CollectError::RateLimited { endpoint, waits });
                        }
                        let wait = retry::retry_after(resp.headers(), Timestamp::now())
                            .unwrap_or_else(|| backoff(RATE_BACKOFF_START, RATE_BACKOFF_CAP, waits - 1));
                        tracing::info!(%endpoint, wait_ms = wait.as_millis() as u64, "write rate limited; waiting");
                        self.governor.pause(wait);
                        continue;
                    }
                    match status {
                        StatusCode::UNAUTHORIZED => return Err(CollectError::Auth { endpoint }),
                        StatusCode::FORBIDDEN => return Err(CollectError::Permission { endpoint }),
                        _ => {}
                    }
                    match resp.bytes().await {
                        Err(e) => Fault::of(&e),
                        Ok(bytes) if status.is_success() => {
                            // 204 has no body; a 2xx whose body is not JSON still took effect.
                            let body = serde_json::from_slice::<Value>(&bytes).ok();
                            return Ok(Written::Done {
                                status: status.as_u16(),
                                body,
                            });
                        }
                        Ok(_) if retry::transient_status(status) => Fault::new(FaultKind::Status(status), ""),
                        Ok(bytes) => {
                            let body = serde_json::from_slice::<Value>(&bytes).unwrap_or_else(|_| {
                                Value::String(String::from_utf8_lossy(&bytes).into_owned())
                            });
                            return Ok(Written::Refused {
                                status: status.as_u16(),
                                body,
                            });
                        }
                    }
                }
            };
            if fault.kind.delivery().may_have_taken_effect() {
                tracing::warn!(%endpoint, %fault, "the write's answer was lost: it may have taken effect");
                return Ok(Written::Lost {
                    cause: fault.to_string(),
                });
            }
            if let Verdict::Stop(why) = fault.kind.verdict(self.answered.load(Ordering::Relaxed)) {
                return Err(self.not_retried(endpoint, &fault, why));
            }
            faults += 1;
            if faults > MAX_FAULT_RETRIES {
                return Err(CollectError::Exhausted {
                    endpoint,
                    attempts: faults,
                    last: fault.to_string(),
                });
            }
            self.lock().retries += 1;
            let wait = backoff(BACKOFF_START, BACKOFF_CAP, faults - 1);
            tracing::warn!(%endpoint, %fault, wait_ms = wait.as_millis() as u64, "the write was not sent; sending it again");
            tokio::time::sleep(wait).await;
        }
    }

    /// The error for a fault that retrying would not mend.
    fn not_retried(&self, endpoint: String, fault: &Fault, why: &'static str) -> CollectError {
        match fault.kind {
            FaultKind::Local | FaultKind::Status(_) => CollectError::Protocol {
                endpoint,
                reason: format!("{fault}; not retried: {why}"),
            },
            _ => CollectError::Unreachable {
                endpoint,
                host: format!(
                    "{}:{}",
                    self.base.host_str().unwrap_or("?"),
                    self.base.port_or_known_default().unwrap_or(0)
                ),
                cause: fault.to_string(),
                why,
            },
        }
    }

    fn observe(&self, headers: &HeaderMap) {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let (total, remaining) = (num("x-ratelimit-total"), num("x-ratelimit-remaining"));
        self.governor.observe(total, remaining);
        let mut stats = self.lock();
        let seen = &mut stats.rate_limit;
        if let Some(total) = total {
            seen.total = Some(total);
        }
        if let Some(rem) = remaining {
            seen.min_remaining = Some(seen.min_remaining.map_or(rem, |m| m.min(rem)));
        }
        // The last value of each rate-limit header, as the evidence of what the account allowed.
        for name in [
            "x-ratelimit-total",
            "x-ratelimit-remaining",
            "x-ratelimit-used-currentrequest",
        ] {
            if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
                seen.headers.insert(name.to_owned(), value.trim().to_owned());
            }
        }
        let requests = stats.requests;
        drop(stats);
        self.progress.requests(requests, total, remaining);
    }
}

/// `GET /api/v2/agents/{id}`-style name: the path with numeric segments folded.
pub fn endpoint_name(url: &Url) -> String {
    let path: Vec<&str> = url
        .path()
        .split('/')
        .map(|seg| {
            if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                seg
            }
        })
        .collect();
    format!("GET {}", path.join("/"))
}

/// Exponential backoff with full jitter: a random wait in [base/2, min(cap, start·2ⁿ)].
fn backoff(start: Duration, cap: Duration, attempt: u32) -> Duration {
    let ceiling = start.saturating_mul(1u32 << attempt.min(16)).min(cap);
    let floor = ceiling / 2;
    floor + ceiling.saturating_sub(floor).mul_f64(fastrand::f64())
}

/// The `rel="next"` target of a `link` header, resolved against the request URL.
fn next_link(headers: &HeaderMap, base: &Url) -> Option<Url> {
    let value = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    value.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            p.trim().replace(' ', "").eq_ignore_ascii_case("rel=\"next\"")
                || p.trim().eq_ignore_ascii_case("rel=next")
        });
        if is_next { base.join(target).ok() } else { None }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, LINK};

    #[test]
    fn parses_next_link() {
        let base = Url::parse("https://acme.freshdesk.com/api/v2/agents?page=1").expect("url");
        let mut h = HeaderMap::new();
        h.insert(
            LINK,
            HeaderValue::from_static(
                "<https://acme.freshdesk.com/api/v2/agents?page=2&per_page=100>; rel=\"next\"",
            ),
        );
        assert_eq!(
            next_link(&h, &base).map(|u| u.to_string()),
            Some("https://acme.freshdesk.com/api/v2/agents?page=2&per_page=100".to_owned())
        );
        h.insert(
            LINK,
            HeaderValue::from_static("</api/v2/agents?page=1>; rel=\"prev\""),
        );
        assert_eq!(next_link(&h, &base), None);
    }

    #[test]
    fn endpoint_names_fold_ids() {
        let url = Url::parse("http://127.0.0.1:9/api/v2/agents/67013469919?x=1").expect("url");
        assert_eq!(endpoint_name(&url), "GET /api/v2/agents/{id}");
    }

    #[test]
    fn backoff_doubles_within_cap() {
        for attempt in 0..10 {
            let d = backoff(Duration::from_secs(1), Duration::from_secs(60), attempt);
            let ceiling = Duration::from_secs(1u64 << attempt).min(Duration::from_secs(60));
            assert!(d >= ceiling / 2 && d <= ceiling, "{attempt}: {d:?}");
        }
    }
}
