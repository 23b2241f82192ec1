//! The rate-limit governor. Freshdesk's limit is per account per window and
//! shared with every other integration, so deskaudit paces itself to
//! `(1 − reserve) × X-Ratelimit-Total` per window (a GCRA from the `governor`
//! crate, sized from the headers, not from the plan), pauses when
//! `X-Ratelimit-Remaining` falls below the reserve (someone else is busy),
//! and makes every request wait out a 429's pause.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

pub struct Governor {
    /// The share of `X-Ratelimit-Total` per window this run may use.
    share: f64,
    /// Below this share of the total remaining, others are busy: wait.
    reserve: f64,
    window: Duration,
    burst: NonZeroU32,
    /// Never more than the share in any window, bursts included (`budget`).
    strict: bool,
    state: Mutex<State>,
}

struct State {
    /// Built once the first `X-Ratelimit-Total` is seen, rebuilt if it changes.
    limiter: Option<(u64, Arc<DefaultDirectRateLimiter>)>,
    remaining: Option<u64>,
    paused_until: Option<Instant>,
}

impl Governor {
    /// `reserve_pct` of the budget is left to others; `burst` is the most
    /// requests sent back to back (the in-flight limit).
    pub fn new(reserve_pct: u8, window: Duration, burst: usize) -> Governor {
        let reserve = f64::from(reserve_pct.min(90)) / 100.0;
        let burst =
            NonZeroU32::new(u32::try_from(burst).unwrap_or(u32::MAX).max(1)).unwrap_or(NonZeroU32::MIN);
        Governor::build(1.0 - reserve, reserve, window, burst, false)
    }

    /// At most `budget_pct` of the account's limit in any window (a
    /// monitor that runs all day, `watch`): requests evenly spaced, no
    /// burst, one fewer than the share allows so that a window that starts
    /// on a request still holds no more than the share. It also waits when
    /// less than `reserve_pct` remains (other integrations are busy).
    pub fn budget(budget_pct: u8, reserve_pct: u8, window: Duration) -> Governor {
        let share = f64::from(budget_pct.clamp(1, 100)) / 100.0;
        let reserve = f64::from(reserve_pct.min(90)) / 100.0;
        Governor::build(share, reserve, window, NonZeroU32::MIN, true)
    }

    fn build(share: f64, reserve: f64, window: Duration, burst: NonZeroU32, strict: bool) -> Governor {
        Governor {
            share,
            reserve,
            window,
            burst,
            strict,
            state: Mutex::new(State {
                limiter: None,
                remaining: None,
                paused_until: None,
            }),
        }
    }

    /// Waits until the next request may go.
    pub async fn ready(&self) {
        loop {
            let (limiter, wait) = {
                let state = self.lock();
                let now = Instant::now();
                let pause = state.paused_until.filter(|t| *t > now).map(|t| t - now);
                let low = self.low_budget_wait(&state);
                (state.limiter.as_ref().map(|(_, l)| Arc::clone(l)), pause.or(low))
            };
            if let Some(wait) = wait {
                tokio::time::sleep(wait).await;
                // Only one low-budget nap per request: the next response re-measures.
                let mut state = self.lock();
                state.remaining = None;
                if state.paused_until.is_some_and(|t| t <= Instant::now()) {
                    state.paused_until = None;
                }
                continue;
            }
            if let Some(limiter) = limiter {
                limiter.until_ready().await;
            }
            return;
        }
    }

    /// Reads `X-Ratelimit-Total` and `X-Ratelimit-Remaining` from a response.
    pub fn observe(&self, total: Option<u64>, remaining: Option<u64>) {
        let mut state = self.lock();
        if let Some(total) = total.filter(|t| *t > 0)
            && state.limiter.as_ref().is_none_or(|(t, _)| *t != total)
        {
            state.limiter = Some((total, Arc::new(RateLimiter::direct(self.quota(total)))));
        }
        if remaining.is_some() {
            state.remaining = remaining;
        }
    }

    /// Every request waits at least until `after` (a 429's Retry-After or backoff).
    pub fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut state = self.lock();
        state.paused_until = Some(state.paused_until.map_or(until, |t| t.max(until)));
    }

    /// Requests per window deskaudit allows itself.
    pub fn allowed_per_window(&self, total: u64) -> f64 {
        total as f64 * self.share
    }

    fn quota(&self, total: u64) -> Quota {
        let allowed = self.allowed_per_window(total);
        let per_window = if self.strict {
            (allowed.floor() - 1.0).max(1.0)
        } else {
            allowed.max(1.0)
        };
        let period = self.window.div_f64(per_window).max(Duration::from_micros(1));
        Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(self.burst)
    }

    /// Below the reserve, wait for as many requests' worth of budget as are missing.
    fn low_budget_wait(&self, state: &State) -> Option<Duration> {
        let (total, _) = state.limiter.as_ref()?;
        let floor = (*total as f64 * self.reserve).floor() as u64;
        let remaining = state.remaining?;
        if remaining >= floor {
            return None;
        }
        let deficit = (floor - remaining) as f64;
        Some(self.window.mul_f64(deficit / *total as f64).min(self.window))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere cannot leave this state inconsistent: keep going.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_leaves_the_reserve() {
        let g = Governor::new(20, Duration::from_secs(60), 8);
        assert_eq!(g.allowed_per_window(700), 560.0);
        let q = g.quota(700);
        assert_eq!(q.replenish_interval(), Duration::from_secs(60).div_f64(560.0));
        assert_eq!(q.burst_size().get(), 8);
    }

    #[test]
    fn low_remaining_waits_for_the_missing_budget() {
        let g = Governor::new(20, Duration::from_secs(60), 8);
        g.observe(Some(100), Some(50));
        assert_eq!(g.low_budget_wait(&g.lock()), None);
        g.observe(None, Some(10));
        // floor 20, 10 missing: 10/100 of the window.
        assert_eq!(g.low_budget_wait(&g.lock()), Some(Duration::from_secs(6)));
    }

    #[test]
    fn a_budget_spaces_requests_so_no_window_holds_more_than_its_share() {
        // (budget %, X-Ratelimit-Total, allowed per window, requests spaced for)
        let table = [
            (10, 700, 70.0, 69.0),
            (10, 200, 20.0, 19.0),
            (1, 50, 0.5, 1.0),
            (100, 100, 100.0, 99.0),
        ];
        for (budget, total, allowed, spaced) in table {
            let g = Governor::budget(budget, 20, Duration::from_secs(60));
            assert_eq!(g.allowed_per_window(total), allowed, "{budget}% of {total}");
            let q = g.quota(total);
            assert_eq!(q.burst_size().get(), 1);
            assert_eq!(q.replenish_interval(), Duration::from_secs(60).div_f64(spaced));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn pause_holds_every_request() {
        let g = Governor::new(20, Duration::from_secs(60), 8);
        g.pause(Duration::from_secs(5));
        let start = Instant::now();
        g.ready().await;
        assert!(start.elapsed() >= Duration::from_secs(5));
    }
}
