//! The rate limiters behind [`super::Faults::rate_limit`]: a token bucket that refills evenly
//! ([`super::RateRefill::Continuous`]) and a fixed window whose whole budget comes back when it
//! closes ([`super::RateRefill::Window`], Zivver's). Each starts afresh when its budget or window
//! changes, so a test that turns the limiter on gets a full budget whatever happened before.

use std::time::Duration;

use tokio::time::Instant;

use super::RateRefill;

/// A limiter of either kind.
#[derive(Debug)]
pub(super) enum Limiter {
    Bucket(Bucket),
    Window(Window),
}

impl Limiter {
    /// A full limiter of `kind`.
    pub(super) fn new(kind: RateRefill, budget: u32, window_s: u64) -> Self {
        match kind {
            RateRefill::Continuous => Self::Bucket(Bucket::full(budget, window_s)),
            RateRefill::Window => Self::Window(Window::default()),
        }
    }

    pub(super) fn kind(&self) -> RateRefill {
        match self {
            Self::Bucket(_) => RateRefill::Continuous,
            Self::Window(_) => RateRefill::Window,
        }
    }

    /// Takes one request from the budget, or says in how many whole seconds (at least 1) the
    /// next one is allowed.
    pub(super) fn take(&mut self, budget: u32, window_s: u64) -> Result<(), u64> {
        match self {
            Self::Bucket(b) => b.take(budget, window_s),
            Self::Window(w) => w.take(budget, window_s, Instant::now()),
        }
    }
}

/// A token bucket that refills continuously at `budget / window` tokens per second.
#[derive(Debug)]
pub(super) struct Bucket {
    tokens: f64,
    last: Instant,
    /// The settings the bucket was filled for; a change refills it.
    shape: (u32, u64),
}

impl Bucket {
    fn full(budget: u32, window_s: u64) -> Self {
        Self {
            tokens: f64::from(budget),
            last: Instant::now(),
            shape: (budget, window_s),
        }
    }

    /// Takes a token, or says in how many whole seconds (at least 1) the next one arrives.
    fn take(&mut self, budget: u32, window_s: u64) -> Result<(), u64> {
        if self.shape != (budget, window_s) {
            *self = Self::full(budget, window_s);
        }
        let now = Instant::now();
        let rate = f64::from(budget) / (window_s.max(1) as f64);
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(f64::from(budget));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else if rate <= 0.0 {
            Err(window_s.max(1))
        } else {
            Err(((1.0 - self.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// `budget` requests per window of `window_s` seconds. A window opens with the first request
/// after the previous one closed, and the whole budget comes back when it closes, so the request
/// after the budget within one window is refused, whatever the pace.
#[derive(Debug, Default)]
pub(super) struct Window {
    opened: Option<Instant>,
    used: u32,
    /// The settings the window was opened with; a change starts afresh.
    shape: (u32, u64),
}

impl Window {
    /// Takes one request from the budget, or says how many whole seconds (at least 1) remain
    /// until the window closes and the budget is back.
    fn take(&mut self, budget: u32, window_s: u64, now: Instant) -> Result<(), u64> {
        let window = Duration::from_secs(window_s.max(1));
        if self.shape != (budget, window_s) {
            *self = Self {
                shape: (budget, window_s),
                ..Self::default()
            };
        }
        let opened = match self.opened {
            Some(at) if now.duration_since(at) < window => at,
            _ => {
                self.opened = Some(now);
                self.used = 0;
                now
            }
        };
        if self.used < budget {
            self.used += 1;
            return Ok(());
        }
        let left = window.saturating_sub(now.duration_since(opened));
        Err(left.as_millis().div_ceil(1000).max(1) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bucket_spends_its_budget_then_refills_over_the_window() {
        let mut b = Bucket::full(2, 10);
        assert!(b.take(2, 10).is_ok());
        assert!(b.take(2, 10).is_ok());
        assert_eq!(b.take(2, 10), Err(5));
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(b.take(2, 10).is_ok());
        assert!(b.take(2, 10).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_budget_comes_back_when_the_window_closes() {
        let mut l = Window::default();
        let t0 = Instant::now();
        for _ in 0..50 {
            assert!(l.take(50, 10, t0).is_ok());
        }
        assert_eq!(l.take(50, 10, t0), Err(10));
        tokio::time::advance(Duration::from_millis(9_500)).await;
        assert_eq!(l.take(50, 10, Instant::now()), Err(1));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(l.take(50, 10, Instant::now()).is_ok());
        // A new shape starts a new window.
        assert!(l.take(1, 10, Instant::now()).is_ok());
        assert_eq!(l.take(1, 10, Instant::now()), Err(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_limiter_is_of_the_kind_asked_for() {
        let mut l = Limiter::new(RateRefill::Window, 1, 10);
        assert_eq!(l.kind(), RateRefill::Window);
        assert!(l.take(1, 10).is_ok());
        assert_eq!(l.take(1, 10), Err(10));
        assert_eq!(
            Limiter::new(RateRefill::Continuous, 1, 10).kind(),
            RateRefill::Continuous
        );
    }
}
