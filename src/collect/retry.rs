//! What is worth retrying (after lychee's `RetryExt`): a timeout, a
//! connection dropped before or during the response, 5xx, 408 and 429 pass.
//! A refused connection, a failed DNS lookup or any other failure to connect
//! before the host has ever answered is a setup error, and a TLS failure is
//! never a passing one: those stop the run at once. Every failure also says
//! how far the request got ([`Delivery`]), which a write must know before it
//! is repeated.

use std::fmt;
use std::io;
use std::time::Duration;

use jiff::Timestamp;
use jiff::fmt::{rfc2822, strtime};
use jiff::tz::TimeZone;
use reqwest::StatusCode;
use reqwest::header::{DATE, HeaderMap, RETRY_AFTER};

/// The longest `Retry-After` obeyed. Freshdesk's window is one minute; with
/// the client's twelve waits, honouring hours would hold a run for days.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(5 * 60);

const SETUP: &str = "the host has not answered any request yet, so this is a setup problem, not a passing fault. \
     Check --domain / --base-url, DNS, the network and any proxy";
const TLS: &str = "a certificate or TLS failure does not mend between retries. \
     Check the host's certificate, or a proxy that intercepts TLS";
const LOCAL: &str = "deskaudit could not build or send the request: a bug, not the network";
const STATUS: &str = "the server refused the request, and would again";

/// How far a failed request got. A read can always be repeated; a write
/// that may have taken effect must be read back first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// No connection was made (refused, DNS, TLS handshake, connect
    /// timeout, a request that could not be built): it never left.
    NotSent,
    /// The server answered that it did not act on it (408, 429).
    NotActedOn,
    /// It went out and no usable answer came back (timeout, connection
    /// dropped, body cut off or unreadable, 5xx): it may have taken effect.
    MaybeApplied,
}

impl Delivery {
    pub fn may_have_taken_effect(self) -> bool {
        self == Delivery::MaybeApplied
    }
}

/// Why one attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The host refused the TCP connection.
    Refused,
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake failed: a certificate, a protocol, or no TLS at all.
    Tls,
    /// No connection within the connect timeout.
    ConnectTimeout,
    /// Any other failure to connect (no route, reset during the handshake).
    Connect,
    /// Sent, and no answer within the timeout.
    Timeout,
    /// The connection closed before the response.
    Dropped,
    /// The connection closed in the middle of the body.
    CutOff,
    /// A whole body that is not the JSON it should be.
    Unreadable,
    /// An answer with this status (5xx, 408 or 429 when it is transient).
    Status(StatusCode),
    /// The request could not be built or sent for a reason of our own.
    Local,
}

/// Whether to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Retry,
    /// Stop at once, with why it would not help.
    Stop(&'static str),
}

impl FaultKind {
    /// `host_answered`: some request to this host has had an HTTP answer.
    pub fn verdict(self, host_answered: bool) -> Verdict {
        use FaultKind::*;
        match self {
            Tls => Verdict::Stop(TLS),
            Refused | Dns | Connect if !host_answered => Verdict::Stop(SETUP),
            // The host was there a moment ago: a refused connection or a
            // failed lookup now is a restart, a deploy behind the load
            // balancer or a resolver hiccup, which pass within the retries.
            Refused | Dns | Connect => Verdict::Retry,
            ConnectTimeout | Timeout | Dropped | CutOff | Unreadable => Verdict::Retry,
            Status(status) if transient_status(status) => Verdict::Retry,
            Status(_) => Verdict::Stop(STATUS),
            Local => Verdict::Stop(LOCAL),
        }
    }

    pub fn delivery(self) -> Delivery {
        use FaultKind::*;
        match self {
            Refused | Dns | Tls | ConnectTimeout | Connect | Local => Delivery::NotSent,
            Status(StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS) => Delivery::NotActedOn,
            Timeout | Dropped | CutOff | Unreadable | Status(_) => Delivery::MaybeApplied,
        }
    }

    fn label(self) -> String {
        use FaultKind::*;
        match self {
            Refused => "connection refused".into(),
            Dns => "DNS lookup failed".into(),
            Tls => "TLS handshake failed".into(),
            ConnectTimeout => "connect timed out".into(),
            Connect => "cannot connect".into(),
            Timeout => "timed out".into(),
            Dropped => "connection dropped before the response".into(),
            CutOff => "body cut off".into(),
            Unreadable => "unparseable JSON body".into(),
            Status(status) => format!("HTTP {status}"),
            Local => "request failed".into(),
        }
    }
}

/// Statuses worth asking again: the server's trouble, or "not now".
pub fn transient_status(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
}

/// One failed attempt: its kind and the root cause, without the URL.
#[derive(Debug, Clone)]
pub struct Fault {
    pub kind: FaultKind,
    detail: String,
}

impl Fault {
    pub fn new(kind: FaultKind, detail: impl Into<String>) -> Fault {
        Fault {
            kind,
            detail: detail.into(),
        }
    }

    /// Classifies a reqwest error by its kind and its source chain.
    pub fn of(e: &reqwest::Error) -> Fault {
        Fault::new(kind_of(e), root_cause(e))
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind.label())?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

fn kind_of(e: &reqwest::Error) -> FaultKind {
    if e.is_builder() || e.is_redirect() {
        return FaultKind::Local;
    }
    if e.is_connect() {
        return if e.is_timeout() {
            FaultKind::ConnectTimeout
        } else if e.is_dns() {
            FaultKind::Dns
        } else {
            match io_kind(e) {
                Some(io::ErrorKind::ConnectionRefused) => FaultKind::Refused,
                // rustls reaches reqwest as an io::Error of this kind, and
                // nothing else in connecting does.
                Some(io::ErrorKind::InvalidData) => FaultKind::Tls,
                _ => FaultKind::Connect,
            }
        };
    }
    if e.is_timeout() {
        FaultKind::Timeout
    } else if e.is_body() || e.is_decode() {
        FaultKind::CutOff
    } else if e.is_request() {
        FaultKind::Dropped
    } else {
        FaultKind::Local
    }
}

/// The kind of the innermost `io::Error` among the causes.
fn io_kind(e: &reqwest::Error) -> Option<io::ErrorKind> {
    causes(e)
        .into_iter()
        .rev()
        .find_map(|cause| cause.downcast_ref::<io::Error>())
        .map(io::Error::kind)
}

/// The innermost cause: what actually went wrong. reqwest's own message
/// names the URL; the causes never do.
fn root_cause(e: &reqwest::Error) -> String {
    causes(e).last().map(ToString::to_string).unwrap_or_default()
}

/// Every cause under `e`, outermost first. `io::Error::source` skips the
/// error an `io::Error` wraps, and reqwest wraps rustls's in two: step in.
fn causes(e: &reqwest::Error) -> Vec<&(dyn std::error::Error + 'static)> {
    let mut found = Vec::new();
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        found.push(cause);
        next = match cause.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => cause.source(),
        };
    }
    found
}

/// The wait before a retry: our backoff, or longer when the server said so
/// (a 503's `Retry-After`, already capped by [`retry_after`]).
pub fn at_least(backoff: Duration, hint: Option<Duration>) -> Duration {
    hint.map_or(backoff, |hint| hint.max(backoff))
}

/// `Retry-After` (RFC 9110 §10.2.3) as a wait, at most [`RETRY_AFTER_CAP`]:
/// delta-seconds, or an HTTP-date measured from the response's own `Date`
/// (the server's clock, so a skewed local clock neither stretches nor skips
/// the wait), else from `now`. A date not in the future tells nothing:
/// `None`, and the caller backs off.
pub fn retry_after(headers: &HeaderMap, now: Timestamp) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is still "a long time".
        value.parse().map_or(RETRY_AFTER_CAP, Duration::from_secs)
    } else {
        let at = http_date(value)?;
        let now = headers
            .get(DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| http_date(v.trim()))
            .unwrap_or(now);
        let wait = now.duration_until(at);
        if !wait.is_positive() {
            return None;
        }
        Duration::try_from(wait).ok()?
    };
    Some(wait.min(RETRY_AFTER_CAP))
}

/// The three forms RFC 9110 §5.6.7 obliges a recipient to accept:
/// IMF-fixdate (what servers send), and the obsolete RFC 850 and asctime.
fn http_date(s: &str) -> Option<Timestamp> {
    if let Ok(at) = rfc2822::DateTimeParser::new().parse_timestamp(s) {
        return Some(at);
    }
    // jiff reads a two-digit year as 1969-2068, which covers any date a
    // server means now.
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .into_iter()
        .find_map(|format| {
            let datetime = strtime::parse(format, s).ok()?.to_datetime().ok()?;
            TimeZone::UTC.to_timestamp(datetime).ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn verdicts_retry_what_is_transient_and_stop_on_setup_errors() {
        use FaultKind::*;
        let retry = Verdict::Retry;
        let table = [
            // kind, verdict before the host ever answered, verdict after
            (Refused, Verdict::Stop(SETUP), retry),
            (Dns, Verdict::Stop(SETUP), retry),
            (Connect, Verdict::Stop(SETUP), retry),
            (Tls, Verdict::Stop(TLS), Verdict::Stop(TLS)),
            (ConnectTimeout, retry, retry),
            (Timeout, retry, retry),
            (Dropped, retry, retry),
            (CutOff, retry, retry),
            (Unreadable, retry, retry),
            (Status(StatusCode::INTERNAL_SERVER_ERROR), retry, retry),
            (Status(StatusCode::SERVICE_UNAVAILABLE), retry, retry),
            (Status(StatusCode::REQUEST_TIMEOUT), retry, retry),
            (Status(StatusCode::TOO_MANY_REQUESTS), retry, retry),
            (
                Status(StatusCode::CONFLICT),
                Verdict::Stop(STATUS),
                Verdict::Stop(STATUS),
            ),
            (Local, Verdict::Stop(LOCAL), Verdict::Stop(LOCAL)),
        ];
        for (kind, first, later) in table {
            assert_eq!(kind.verdict(false), first, "{kind:?} on the first contact");
            assert_eq!(kind.verdict(true), later, "{kind:?} once the host has answered");
        }
    }

    #[test]
    fn delivery_tells_never_sent_from_sent_and_lost() {
        use Delivery::*;
        use FaultKind::*;
        let table = [
            (Refused, NotSent),
            (Dns, NotSent),
            (Tls, NotSent),
            (ConnectTimeout, NotSent),
            (Connect, NotSent),
            (Local, NotSent),
            (Status(StatusCode::REQUEST_TIMEOUT), NotActedOn),
            (Status(StatusCode::TOO_MANY_REQUESTS), NotActedOn),
            (Timeout, MaybeApplied),
            (Dropped, MaybeApplied),
            (CutOff, MaybeApplied),
            (Unreadable, MaybeApplied),
            (Status(StatusCode::BAD_GATEWAY), MaybeApplied),
        ];
        for (kind, delivery) in table {
            assert_eq!(kind.delivery(), delivery, "{kind:?}");
            assert_eq!(
                kind.delivery().may_have_taken_effect(),
                delivery == MaybeApplied,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn only_5xx_408_and_429_are_transient_statuses() {
        let table = [
            (500, true),
            (502, true),
            (503, true),
            (504, true),
            (408, true),
            (429, true),
            (200, false),
            (301, false),
            (400, false),
            (401, false),
            (403, false),
            (404, false),
            (409, false),
            (422, false),
        ];
        for (code, transient) in table {
            let status = StatusCode::from_u16(code).expect("status");
            assert_eq!(transient_status(status), transient, "{code}");
        }
    }

    /// A 503's `Retry-After` was ignored: the retry came back on our own
    /// backoff, sooner than the server asked.
    #[test]
    fn a_hint_lengthens_the_backoff_and_never_shortens_it() {
        let ms = Duration::from_millis;
        assert_eq!(at_least(ms(250), None), ms(250));
        assert_eq!(at_least(ms(250), Some(ms(2000))), ms(2000));
        assert_eq!(at_least(ms(4000), Some(ms(1000))), ms(4000));
        assert_eq!(at_least(ms(250), Some(ms(0))), ms(250));
    }

    /// `Retry-After` was read as delta-seconds only: an HTTP-date was ignored.
    #[test]
    fn retry_after_reads_delta_seconds_and_http_dates() {
        // 2026-03-01 is a Sunday.
        let now: Timestamp = "2026-03-01T12:00:00Z".parse().expect("timestamp");
        let secs = |n| Some(Duration::from_secs(n));
        let table: [(Option<&str>, Option<&str>, Option<Duration>); 18] = [
            (None, None, None),
            (Some("120"), None, secs(120)),
            (Some(" 7 "), None, secs(7)),
            (Some("0"), None, secs(0)),
            (Some("86400"), None, Some(RETRY_AFTER_CAP)),
            (Some("99999999999999999999999"), None, Some(RETRY_AFTER_CAP)),
            (Some("Sun, 01 Mar 2026 12:00:30 GMT"), None, secs(30)),
            // Measured on the server's clock, 10 s behind ours.
            (
                Some("Sun, 01 Mar 2026 12:00:30 GMT"),
                Some("Sun, 01 Mar 2026 11:59:50 GMT"),
                secs(40),
            ),
            // An unreadable Date falls back to our clock.
            (Some("Sun, 01 Mar 2026 12:00:30 GMT"), Some("yesterday"), secs(30)),
            (Some("Sunday, 01-Mar-26 12:01:00 GMT"), None, secs(60)),
            (Some("Sun Mar  1 12:00:45 2026"), None, secs(45)),
            (Some("Mon, 02 Mar 2026 12:00:00 GMT"), None, Some(RETRY_AFTER_CAP)),
            (Some("Sun, 01 Mar 2026 11:00:00 GMT"), None, None),
            (Some("Sun, 01 Mar 2026 12:00:00 GMT"), None, None),
            (Some("Mon, 01 Mar 2026 12:00:30 GMT"), None, None),
            (Some("soon"), None, None),
            (Some("-5"), None, None),
            (Some("1.5"), None, None),
        ];
        for (value, date, want) in table {
            let mut headers = HeaderMap::new();
            if let Some(value) = value {
                headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
            }
            if let Some(date) = date {
                headers.insert(DATE, HeaderValue::from_static(date));
            }
            assert_eq!(retry_after(&headers, now), want, "{value:?} with Date {date:?}");
        }
    }

    /// What the other end does, to get a real error of each kind.
    #[derive(Clone, Copy, Debug)]
    enum Peer {
        /// Nothing listens on the port.
        Closed,
        /// The name does not resolve.
        Unresolvable,
        /// An https request reaches a plain HTTP server.
        PlainHttpOnHttps,
        /// Reads the request, closes without a word.
        HangsUp,
        /// Sends half of the announced body, then closes.
        CutsBody,
        /// Reads the request, never answers.
        Silent,
    }

    struct NoDns;

    impl reqwest::dns::Resolve for NoDns {
        fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
            Box::pin(async { Err(io::Error::other("no such host").into()) })
        }
    }

    async fn failure(peer: Peer) -> reqwest::Error {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let url = match peer {
            Peer::Unresolvable => "http://deskaudit.invalid/".to_owned(),
            Peer::PlainHttpOnHttps => format!("https://{addr}/"),
            _ => format!("http://{addr}/"),
        };
        if matches!(peer, Peer::Closed) {
            drop(listener);
        } else {
            tokio::spawn(answer(listener, peer));
        }
        let client = reqwest::Client::builder()
            .dns_resolver(NoDns)
            .no_proxy()
            .build()
            .expect("client");
        let mut request = client.get(url);
        if matches!(peer, Peer::Silent) {
            request = request.timeout(Duration::from_millis(200));
        }
        match request.send().await {
            Err(e) => e,
            Ok(response) => response.bytes().await.expect_err("the body fails"),
        }
    }

    async fn answer(listener: tokio::net::TcpListener, peer: Peer) {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request).await;
        let reply: &[u8] = match peer {
            Peer::PlainHttpOnHttps => b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n",
            Peer::CutsBody => b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n[{\"id\": 1",
            Peer::Silent => {
                // Until the client gives up and the test's runtime ends.
                tokio::time::sleep(Duration::from_secs(60)).await;
                b""
            }
            _ => b"",
        };
        let _ = stream.write_all(reply).await;
    }

    #[tokio::test]
    async fn real_errors_are_classified_by_their_cause() {
        use Delivery::*;
        use FaultKind::*;
        let table = [
            (Peer::Closed, Refused, NotSent),
            (Peer::Unresolvable, Dns, NotSent),
            (Peer::PlainHttpOnHttps, Tls, NotSent),
            (Peer::HangsUp, Dropped, MaybeApplied),
            (Peer::CutsBody, CutOff, MaybeApplied),
            (Peer::Silent, Timeout, MaybeApplied),
        ];
        for (peer, kind, delivery) in table {
            let fault = Fault::of(&failure(peer).await);
            assert_eq!(
                (fault.kind, fault.kind.delivery()),
                (kind, delivery),
                "{peer:?}: {fault}"
            );
            let text = fault.to_string();
            assert!(
                !text.contains("127.0.0.1") && !text.contains("invalid/"),
                "{peer:?}: {text}"
            );
        }
    }
}
