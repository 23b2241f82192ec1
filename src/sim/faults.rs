//! Injected failures: with probability `fault_rate` a request that passed
//! the rate limit fails in one of five ways, chosen by a seeded generator.
//! A write can fail before or after it takes effect (see `roll_write`).

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use futures_core::Stream;

use super::rng::Rng;
use super::script::FaultTiming;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// 500 with an error body.
    InternalError,
    /// 503 with an error body.
    Unavailable,
    /// The connection is closed before any byte of the response is sent.
    ClosedBeforeResponse,
    /// Status and headers (announcing the full `Content-Length`) and half
    /// the body are sent, then the connection is aborted.
    AbortedMidBody,
    /// 200 with the first half of the JSON body (a well-formed HTTP message
    /// whose body does not parse).
    TruncatedBody,
    /// This status with an error body (scripted write faults).
    Status(StatusCode),
}

const KINDS: [Fault; 5] = [
    Fault::InternalError,
    Fault::Unavailable,
    Fault::ClosedBeforeResponse,
    Fault::AbortedMidBody,
    Fault::TruncatedBody,
];

/// How long the half body of `AbortedMidBody` stays in flight before the
/// abort, so that hyper flushes it instead of discarding its write buffer.
const MID_BODY_PAUSE: Duration = Duration::from_millis(20);

pub(crate) struct FaultInjector {
    /// The rate's bits: it may change while requests are served.
    rate: AtomicU64,
    rng: Mutex<Rng>,
}

impl FaultInjector {
    pub(crate) fn new(rate: f64, seed: u64) -> FaultInjector {
        FaultInjector {
            rate: AtomicU64::new(clamped(rate).to_bits()),
            rng: Mutex::new(Rng::new(seed)),
        }
    }

    pub(crate) fn set_rate(&self, rate: f64) {
        self.rate.store(clamped(rate).to_bits(), Ordering::Relaxed);
    }

    /// Whether this request fails, and how.
    pub(crate) fn roll(&self) -> Option<Fault> {
        let rate = f64::from_bits(self.rate.load(Ordering::Relaxed));
        if rate <= 0.0 {
            return None;
        }
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        if rng.chance(rate) {
            Some(KINDS[rng.below(KINDS.len() as u64) as usize])
        } else {
            None
        }
    }

    /// Whether this write fails, how, and when: a cut or aborted body
    /// comes after the effect (the answer existed); a 5xx or a closed
    /// connection can come either side, by another draw.
    pub(crate) fn roll_write(&self) -> Option<(Fault, FaultTiming)> {
        let fault = self.roll()?;
        let when = match fault {
            Fault::TruncatedBody | Fault::AbortedMidBody => FaultTiming::AfterEffect,
            _ if self
                .rng
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .chance(0.5) =>
            {
                FaultTiming::BeforeEffect
            }
            _ => FaultTiming::AfterEffect,
        };
        Some((fault, when))
    }
}

fn clamped(rate: f64) -> f64 {
    if rate.is_nan() { 0.0 } else { rate.clamp(0.0, 1.0) }
}

impl Fault {
    /// The status that replaces the real answer's, if any.
    pub(crate) fn status(self) -> Option<StatusCode> {
        match self {
            Fault::InternalError => Some(StatusCode::INTERNAL_SERVER_ERROR),
            Fault::Unavailable => Some(StatusCode::SERVICE_UNAVAILABLE),
            Fault::Status(status) => Some(status),
            Fault::TruncatedBody => Some(StatusCode::OK),
            Fault::ClosedBeforeResponse | Fault::AbortedMidBody => None,
        }
    }

    /// The error status that replaces the whole answer, body included.
    pub(crate) fn error_status(self) -> Option<StatusCode> {
        self.status().filter(|_| self != Fault::TruncatedBody)
    }

    /// The fault as it applies to an answer without a body (a 204): half of
    /// nothing is nothing, so a cut or aborted body becomes a connection
    /// closed before the answer, which the client can still notice.
    pub(crate) fn for_empty_body(self) -> Fault {
        match self {
            Fault::TruncatedBody | Fault::AbortedMidBody => Fault::ClosedBeforeResponse,
            other => other,
        }
    }
}

/// The body to send, and the `Content-Length` to announce when it differs
/// from what is sent.
///
/// A dropped connection is a body stream that fails: hyper then closes the
/// connection without finishing the message. A stream has no known length,
/// so hyper trusts the announced `Content-Length` and the client knows the
/// body is short. Failing on the first poll discards the buffered head
/// (nothing is sent); failing after a pause lets the head and half the body
/// go out first.
pub(crate) fn body(fault: Option<Fault>, bytes: Vec<u8>) -> (Body, Option<usize>) {
    let announced = bytes.len().max(1);
    match fault {
        Some(Fault::TruncatedBody) => {
            let half = bytes.len() / 2;
            (Body::from(bytes[..half].to_vec()), None)
        }
        Some(Fault::ClosedBeforeResponse) => {
            let stream = AbortingStream {
                chunk: None,
                pause: None,
            };
            (Body::from_stream(stream), Some(announced))
        }
        Some(Fault::AbortedMidBody) => {
            let stream = AbortingStream {
                chunk: Some(Bytes::from(bytes).slice(..announced / 2)),
                pause: Some(Box::pin(tokio::time::sleep(MID_BODY_PAUSE))),
            };
            (Body::from_stream(stream), Some(announced))
        }
        _ => (Body::from(bytes), None),
    }
}

/// Yields `chunk` (if any), waits for `pause` (if any), then fails.
struct AbortingStream {
    chunk: Option<Bytes>,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Stream for AbortingStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(chunk) = self.chunk.take() {
            return Poll::Ready(Some(Ok(chunk)));
        }
        if let Some(pause) = self.pause.as_mut() {
            ready!(pause.as_mut().poll(cx));
            self.pause = None;
        }
        let abort = std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "simulated dropped connection",
        );
        Poll::Ready(Some(Err(abort)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_zero_never_and_rate_one_always_fails() {
        let never = FaultInjector::new(0.0, 1);
        assert!((0..1000).all(|_| never.roll().is_none()));
        let always = FaultInjector::new(1.0, 1);
        let kinds: Vec<Fault> = (0..1000).filter_map(|_| always.roll()).collect();
        assert_eq!(kinds.len(), 1000);
        for kind in KINDS {
            assert!(kinds.contains(&kind), "{kind:?} never drawn");
        }
    }

    #[test]
    fn write_faults_come_before_and_after_the_effect() {
        let always = FaultInjector::new(1.0, 4);
        let drawn: Vec<(Fault, FaultTiming)> = (0..1000).filter_map(|_| always.roll_write()).collect();
        assert_eq!(drawn.len(), 1000);
        for (fault, when) in [
            (Fault::InternalError, FaultTiming::BeforeEffect),
            (Fault::Unavailable, FaultTiming::AfterEffect),
            (Fault::ClosedBeforeResponse, FaultTiming::BeforeEffect),
            (Fault::ClosedBeforeResponse, FaultTiming::AfterEffect),
        ] {
            assert!(drawn.contains(&(fault, when)), "{fault:?} {when:?} never drawn");
        }
        let cut_before = |&(f, w): &(Fault, FaultTiming)| {
            matches!(f, Fault::TruncatedBody | Fault::AbortedMidBody) && w == FaultTiming::BeforeEffect
        };
        assert!(!drawn.iter().any(cut_before));
        assert!(FaultInjector::new(0.0, 4).roll_write().is_none());
    }

    #[test]
    fn same_seed_same_faults() {
        let (a, b) = (FaultInjector::new(0.3, 5), FaultInjector::new(0.3, 5));
        let run = |f: &FaultInjector| (0..200).map(|_| f.roll()).collect::<Vec<_>>();
        assert_eq!(run(&a), run(&b));
        assert!(FaultInjector::new(f64::NAN, 1).roll().is_none());
    }
}
