//! The per-account fixed-window rate limit: `limit` requests per `window`,
//! windows aligned on the simulator's start, every request counted.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub(crate) struct RateLimiter {
    limit: u32,
    window: Duration,
    state: Mutex<Window>,
}

struct Window {
    start: Instant,
    used: u32,
}

/// What the limiter decided for one request, with the header values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) total: u32,
    pub(crate) remaining: u32,
    /// `Some(time until the window resets)` when the request is refused.
    pub(crate) limited: Option<Duration>,
}

impl Verdict {
    /// `Retry-After` in whole seconds, rounded up, at least 1.
    pub(crate) fn retry_after_secs(&self) -> Option<u64> {
        self.limited.map(|wait| {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            secs.max(1)
        })
    }

    /// `Retry-After` as the HTTP-date of the reset seen from `now`, rounded
    /// up to the next whole second (the form has no fractions, and a client
    /// sent back early would only be refused again).
    pub(crate) fn retry_after_date(&self, now: jiff::Timestamp) -> Option<String> {
        let wait = jiff::SignedDuration::try_from(self.limited?).ok()?;
        let reset = now.checked_add(wait).ok()?;
        let whole = reset.as_second() + i64::from(reset.subsec_nanosecond() > 0);
        let reset = jiff::Timestamp::from_second(whole).ok()?;
        // IMF-fixdate, spelled out from RFC 9110 §5.6.7.
        jiff::fmt::strtime::format("%a, %d %b %Y %H:%M:%S GMT", reset).ok()
    }
}

impl RateLimiter {
    pub(crate) fn new(limit: u32, window: Duration, now: Instant) -> RateLimiter {
        RateLimiter {
            limit,
            window: window.max(Duration::from_millis(1)),
            state: Mutex::new(Window { start: now, used: 0 }),
        }
    }

    /// Counts one request at `now` and says whether it may be served.
    pub(crate) fn check(&self, now: Instant) -> Verdict {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let elapsed = now.saturating_duration_since(state.start);
        if elapsed >= self.window {
            let windows = elapsed.as_nanos() / self.window.as_nanos();
            let skip = self.window.as_nanos() * windows;
            state.start += Duration::from_nanos(u64::try_from(skip).unwrap_or(u64::MAX));
            state.used = 0;
        }
        if state.used >= self.limit {
            let reset = state.start + self.window;
            return Verdict {
                total: self.limit,
                remaining: 0,
                limited: Some(reset.saturating_duration_since(now)),
            };
        }
        state.used += 1;
        Verdict {
            total: self.limit,
            remaining: self.limit - state.used,
            limited: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spends_then_refuses_then_resets() {
        let t0 = Instant::now();
        let limiter = RateLimiter::new(2, Duration::from_secs(60), t0);
        assert_eq!(limiter.check(t0).remaining, 1);
        assert_eq!(limiter.check(t0).remaining, 0);
        let refused = limiter.check(t0 + Duration::from_millis(500));
        assert_eq!(refused.limited, Some(Duration::from_millis(59_500)));
        assert_eq!(refused.retry_after_secs(), Some(60));
        // Next window, aligned on the start: 60 s after t0.
        let later = limiter.check(t0 + Duration::from_secs(61));
        assert_eq!((later.remaining, later.limited), (1, None));
        let last = limiter.check(t0 + Duration::from_secs(62));
        assert_eq!((last.remaining, last.limited), (0, None));
        let refused = limiter.check(t0 + Duration::from_micros(119_999_999));
        assert_eq!(refused.retry_after_secs(), Some(1));
    }

    #[test]
    fn retry_after_date_is_the_reset_rounded_up_to_a_second() {
        let now: jiff::Timestamp = "2026-03-01T12:00:00.250Z".parse().expect("timestamp");
        let limited = |ms| Verdict {
            total: 1,
            remaining: 0,
            limited: Some(Duration::from_millis(ms)),
        };
        for (ms, want) in [
            (59_750, Some("Sun, 01 Mar 2026 12:01:00 GMT")),
            (59_751, Some("Sun, 01 Mar 2026 12:01:01 GMT")),
            (1, Some("Sun, 01 Mar 2026 12:00:01 GMT")),
        ] {
            assert_eq!(limited(ms).retry_after_date(now).as_deref(), want, "{ms} ms");
        }
        let served = Verdict {
            limited: None,
            ..limited(0)
        };
        assert_eq!(served.retry_after_date(now), None);
    }

    #[test]
    fn zero_limit_refuses_everything() {
        let t0 = Instant::now();
        let limiter = RateLimiter::new(0, Duration::from_secs(1), t0);
        assert!(limiter.check(t0).limited.is_some());
    }
}
