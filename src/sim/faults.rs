//! Injected failures: with probability `fault_rate` a request that passed
//! the rate limit fails in one of four ways, chosen by a seeded generator.

use std::sync::{Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::http::StatusCode;

use super::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// 500 with an error body.
    InternalError,
    /// 503 with an error body.
    Unavailable,
    /// Headers announce the full body, half of it is sent, then the
    /// connection is closed: the client sees an incomplete message.
    DroppedConnection,
    /// 200 with the first half of the JSON body (a well-formed HTTP message
    /// whose body does not parse).
    TruncatedBody,
}

const KINDS: [Fault; 4] = [
    Fault::InternalError,
    Fault::Unavailable,
    Fault::DroppedConnection,
    Fault::TruncatedBody,
];

pub(crate) struct FaultInjector {
    rate: f64,
    rng: Mutex<Rng>,
}

impl FaultInjector {
    pub(crate) fn new(rate: f64, seed: u64) -> FaultInjector {
        FaultInjector {
            rate: if rate.is_nan() { 0.0 } else { rate.clamp(0.0, 1.0) },
            rng: Mutex::new(Rng::new(seed)),
        }
    }

    /// Whether this request fails, and how.
    pub(crate) fn roll(&self) -> Option<Fault> {
        if self.rate <= 0.0 {
            return None;
        }
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        if rng.chance(self.rate) {
            Some(KINDS[rng.below(KINDS.len() as u64) as usize])
        } else {
            None
        }
    }
}

impl Fault {
    /// The status that replaces the real answer's, if any.
    pub(crate) fn status(self) -> Option<StatusCode> {
        match self {
            Fault::InternalError => Some(StatusCode::INTERNAL_SERVER_ERROR),
            Fault::Unavailable => Some(StatusCode::SERVICE_UNAVAILABLE),
            Fault::TruncatedBody => Some(StatusCode::OK),
            Fault::DroppedConnection => None,
        }
    }
}

/// The body to send, and the `Content-Length` to announce when it differs
/// from what is sent.
pub(crate) fn body(fault: Option<Fault>, bytes: Vec<u8>) -> (Body, Option<usize>) {
    match fault {
        Some(Fault::TruncatedBody) => {
            let half = bytes.len() / 2;
            (Body::from(bytes[..half].to_vec()), None)
        }
        Some(Fault::DroppedConnection) => {
            let announced = bytes.len().max(1);
            let half = Bytes::from(bytes).slice(..announced / 2);
            // A stream body has no known length, so hyper trusts the header;
            // when the stream ends short of it, hyper closes the connection.
            let stream = Body::from(half).into_data_stream();
            (Body::from_stream(stream), Some(announced))
        }
        _ => (Body::from(bytes), None),
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
    fn same_seed_same_faults() {
        let (a, b) = (FaultInjector::new(0.3, 5), FaultInjector::new(0.3, 5));
        let run = |f: &FaultInjector| (0..200).map(|_| f.roll()).collect::<Vec<_>>();
        assert_eq!(run(&a), run(&b));
        assert!(FaultInjector::new(f64::NAN, 1).roll().is_none());
    }
}
