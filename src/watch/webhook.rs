//! `--webhook URL`: every event POSTed as JSON, one request each, in the
//! order of `events.jsonl`, by a task of its own: polling never waits for
//! it, and a receiver that is down only delays delivery (the events stay in
//! the log). Each event is retried with backoff until the receiver answers
//! 2xx; only then does the next one go, so the receiver sees them in order.
//!
//! Where delivery has got to is `webhook.json` in the state directory (the
//! byte offset in the log just past the last event delivered), written
//! atomically after every delivered event: a restart resumes after it.
//! Delivery is at least once: a crash between the receiver's 2xx and that
//! write sends the event again, with the same `Idempotency-Key` (the event
//! id), so a receiver can drop the copy.
//!
//! The URL may hold a token: it is never logged or shown whole, only its
//! scheme, host and port.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::state::write_json;
use super::{EVENTS, Event, EventsFormat, WatchError};

pub const CURSOR: &str = "webhook.json";

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    // The URL itself is never in a message: it may hold a token.
    #[error("--webhook: not a URL")]
    NotUrl,
    #[error("--webhook {0}: only https, or http to a loopback host")]
    Insecure(String),
    #[error(
        "--webhook {0}: credentials in the URL (user:password@) are refused; put a token in the path or query, or use DESKAUDIT_WEBHOOK_AUTHORIZATION"
    )]
    Credentials(String),
    #[error("DESKAUDIT_WEBHOOK_AUTHORIZATION is not a valid header value")]
    Authorization,
    #[error("cannot start the webhook client: {0}")]
    Client(String),
    #[error(transparent)]
    State(#[from] WatchError),
}

/// A webhook URL; `Display` and `Debug` show only scheme, host and port.
#[derive(Clone)]
pub struct Endpoint {
    url: Url,
    shown: String,
}

impl Endpoint {
    /// https, or http to `localhost` or a loopback address; no user:password@.
    pub fn parse(raw: &str) -> Result<Endpoint, WebhookError> {
        let url = Url::parse(raw.trim()).map_err(|_| WebhookError::NotUrl)?;
        let host = url.host_str().ok_or(WebhookError::NotUrl)?;
        let shown = match url.port() {
            Some(port) => format!("{}://{host}:{port}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        };
        match url.scheme() {
            "https" => {}
            "http" if crate::collect::is_loopback(&url) => {}
            _ => return Err(WebhookError::Insecure(shown)),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(WebhookError::Credentials(shown));
        }
        Ok(Endpoint { url, shown })
    }

    /// Where delivery has got to belongs to this receiver: scheme, host,
    /// port and path, not the query (a token there may be rotated).
    fn key(&self) -> String {
        let mut url = self.url.clone();
        url.set_query(None);
        url.set_fragment(None);
        hex::encode(Sha256::digest(url.as_str().as_bytes()))
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Endpoint({})", self.shown)
    }
}

/// Waits between attempts at one event: `first`, doubling, at most `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    pub const DEFAULT: Backoff = Backoff {
        first: Duration::from_secs(1),
        max: Duration::from_secs(300),
    };

    /// The wait after the `failures`-th failure in a row (1-based).
    pub fn after(self, failures: u32) -> Duration {
        let doubled = self.first.saturating_mul(1 << failures.saturating_sub(1).min(20));
        doubled.min(self.max)
    }
}

/// `webhook.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    schema_version: u32,
    /// Scheme, host and port, for a reader.
    endpoint: String,
    endpoint_sha256: String,
    /// Bytes of `events.jsonl` delivered.
    offset: u64,
    /// The last event delivered (0: none yet).
    seq: u64,
}

/// Delivery to one endpoint from one state directory.
pub struct Delivery {
    endpoint: Endpoint,
    format: EventsFormat,
    backoff: Backoff,
    authorization: Option<HeaderValue>,
    http: reqwest::Client,
    log: PathBuf,
    cursor_path: PathBuf,
    cursor: Cursor,
}

impl Delivery {
    /// Resumes after the last event delivered to `endpoint`; a receiver
    /// this directory has not delivered to yet starts with the next event
    /// appended (earlier ones are in `events.jsonl`).
    pub fn new(
        dir: &Path,
        endpoint: Endpoint,
        format: EventsFormat,
        backoff: Backoff,
        authorization: Option<&str>,
    ) -> Result<Delivery, WebhookError> {
        let authorization = authorization
            .map(|v| {
                let mut value = HeaderValue::from_str(v).map_err(|_| WebhookError::Authorization)?;
                value.set_sensitive(true);
                Ok::<_, WebhookError>(value)
            })
            .transpose()?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("deskaudit/", env!("CARGO_PKG_VERSION")))
            // A redirect would carry the event (and the Authorization header) elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| WebhookError::Client(e.without_url().to_string()))?;
        let (log, cursor_path) = (dir.join(EVENTS), dir.join(CURSOR));
        let log_len = std::fs::metadata(&log).map_or(0, |m| m.len());
        let saved = match std::fs::read(&cursor_path) {
            Ok(bytes) => Some(
                serde_json::from_slice::<Cursor>(&bytes)
                    .map_err(|e| WatchError::state(&cursor_path, e.to_string()))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(WatchError::io(&cursor_path, e).into()),
        };
        let cursor = match saved {
            Some(c) if c.endpoint_sha256 == endpoint.key() && c.offset <= log_len => c,
            _ => {
                tracing::info!(endpoint = %endpoint, from_byte = log_len, "webhook: a receiver new to this state directory gets the events appended from now on");
                let fresh = Cursor {
                    schema_version: 1,
                    endpoint: endpoint.to_string(),
                    endpoint_sha256: endpoint.key(),
                    offset: log_len,
                    seq: 0,
                };
                write_json(&cursor_path, &fresh)?;
                fresh
            }
        };
        Ok(Delivery {
            endpoint,
            format,
            backoff,
            authorization,
            http,
            log,
            cursor_path,
            cursor,
        })
    }

    /// The last event delivered (0: none yet).
    pub fn delivered_seq(&self) -> u64 {
        self.cursor.seq
    }

    /// Delivers every complete event after the cursor, each retried until
    /// the receiver takes it; returns how many were delivered.
    pub async fn catch_up(&mut self) -> Result<usize, WebhookError> {
        let (lines, start) = self.unread()?;
        let mut offset = start;
        for line in &lines {
            offset += line.len() as u64 + 1;
            let event: Event =
                serde_json::from_slice(line).map_err(|e| WatchError::state(&self.log, e.to_string()))?;
            for body in self.format.render(&event) {
                let key = body
                    .pointer("/metadata/uid")
                    .and_then(Value::as_str)
                    .unwrap_or(&event.event_id)
                    .to_owned();
                self.deliver(&body, &key, event.seq).await;
            }
            self.cursor.offset = offset;
            self.cursor.seq = event.seq;
            write_json(&self.cursor_path, &self.cursor)?;
        }
        Ok(lines.len())
    }

    /// Delivers until `stop` resolves: at once, whenever `wake` is
    /// notified (a poll appended events), and every minute in case.
    pub async fn run(mut self, wake: Arc<tokio::sync::Notify>, stop: impl std::future::Future<Output = ()>) {
        let work = async {
            loop {
                if let Err(e) = self.catch_up().await {
                    tracing::error!(endpoint = %self.endpoint, error = %e, "webhook: delivery stopped");
                }
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(60)) => {}
                }
            }
        };
        tokio::select! {
            () = work => {}
            () = stop => {}
        }
    }

    /// The complete lines after the cursor, and the cursor's offset.
    fn unread(&self) -> Result<(Vec<Vec<u8>>, u64), WatchError> {
        let mut file = std::fs::File::open(&self.log).map_err(|e| WatchError::io(&self.log, e))?;
        file.seek(SeekFrom::Start(self.cursor.offset))
            .map_err(|e| WatchError::io(&self.log, e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| WatchError::io(&self.log, e))?;
        // A line still being written (no newline yet) waits for the next round.
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let lines = bytes[..complete]
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        Ok((lines, self.cursor.offset))
    }

    /// POSTs `body` until a 2xx, waiting longer after each failure.
    async fn deliver(&self, body: &Value, key: &str, seq: u64) {
        let mut failures = 0;
        loop {
            let why = match self.post(body, key).await {
                Ok(()) => return,
                Err(why) => why,
            };
            failures += 1;
            let wait = self.backoff.after(failures);
            tracing::warn!(endpoint = %self.endpoint, seq, failures, wait_ms = wait.as_millis() as u64, error = %why, "webhook: not delivered; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    async fn post(&self, body: &Value, key: &str) -> Result<(), String> {
        let mut request = self
            .http
            .post(self.endpoint.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header("idempotency-key", key)
            .body(body.to_string());
        if let Some(value) = &self.authorization {
            request = request.header(AUTHORIZATION, value.clone());
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("HTTP {}", response.status())),
            Err(e) => Err(without_url(e)),
        }
    }
}

/// An error's message and its causes, never the URL (it may hold a token).
fn without_url(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_https_or_loopback_and_never_shown_whole() {
        let table = [
            (
                "https://siem.example/hook?token=s3cret",
                Ok("https://siem.example"),
            ),
            (
                "https://siem.example:8443/a/s3cret",
                Ok("https://siem.example:8443"),
            ),
            ("http://127.0.0.1:9000/hook", Ok("http://127.0.0.1:9000")),
            ("http://localhost/hook", Ok("http://localhost")),
            ("http://[::1]:9000/hook", Ok("http://[::1]:9000")),
            (
                "http://siem.example/hook?token=s3cret",
                Err("--webhook http://siem.example: only https"),
            ),
            (
                "ftp://siem.example/",
                Err("--webhook ftp://siem.example: only https"),
            ),
            ("https://user:s3cret@siem.example/", Err("credentials in the URL")),
            ("s3cret", Err("--webhook: not a URL")),
        ];
        for (raw, want) in table {
            match (Endpoint::parse(raw), want) {
                (Ok(endpoint), Ok(shown)) => {
                    assert_eq!(endpoint.to_string(), shown);
                    assert!(!format!("{endpoint:?}").contains("s3cret"));
                }
                (Err(e), Err(says)) => {
                    let text = e.to_string();
                    assert!(text.contains(says), "{raw}: {text}");
                    assert!(!text.contains("s3cret"), "{raw}: {text}");
                }
                (got, _) => panic!("{raw}: {:?}", got.map(|e| e.to_string())),
            }
        }
    }

    #[test]
    fn the_cursor_follows_the_receiver_not_its_token() {
        let key = |raw: &str| Endpoint::parse(raw).map(|e| e.key()).unwrap_or_default();
        assert_eq!(
            key("https://siem.example/hook?token=a"),
            key("https://siem.example/hook?token=b")
        );
        assert_ne!(
            key("https://siem.example/hook"),
            key("https://siem.example/other")
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let backoff = Backoff::DEFAULT;
        let waits: Vec<u64> = [1, 2, 3, 9, 10, 40]
            .iter()
            .map(|n| backoff.after(*n).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 256, 300, 300]);
    }
}
