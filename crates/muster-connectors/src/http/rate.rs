//! A token bucket per target, shared by every worker that talks to it, plus the target-wide
//! "not before" instant a 429 sets: when one worker is told to slow down, all of them do.
//!
//! Small and async on purpose: the lock is a `std` mutex held only for arithmetic, and waiting
//! happens outside it with `tokio::time::sleep`, so `tokio::time::pause()` drives it in tests.
//!
//! Two queues share the one budget ([`Priority`]): while a sign-in waits for a token, no
//! scheduled request takes one, so a sign-in never waits behind a batch — at most for the next
//! token (and a target-wide pause). Tokens are counted the same for both, so the budget holds.

use super::priority::{self, Priority};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// `requests` per `per` on average, with bursts of up to `requests`.
#[derive(Debug)]
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    /// Tokens have been added up to this instant.
    refilled_at: Instant,
    /// No request may start before this instant (set by 429 / 503).
    not_before: Instant,
    /// Sign-ins waiting for a token: scheduled requests let them go first.
    interactive_waiting: usize,
}

impl TokenBucket {
    /// A full bucket. `requests` and `per` must be non-zero (config validation checks).
    pub fn new(requests: u32, per: Duration) -> Self {
        let capacity = f64::from(requests.max(1));
        let per_second = capacity / per.as_secs_f64().max(0.001);
        let now = Instant::now();
        Self {
            capacity,
            per_second,
            state: Mutex::new(State {
                tokens: capacity,
                refilled_at: now,
                not_before: now,
                interactive_waiting: 0,
            }),
        }
    }

    /// Evenly spaced, without bursts: at most `requests` in *any* interval of length `per`.
    /// For a target whose limiter's shape is unknown (Zivver documents a budget per window):
    /// a full bucket's burst followed by the steady rate can exceed a fixed window, and every
    /// 429 costs the whole target a pause.
    pub fn paced(requests: u32, per: Duration) -> Self {
        let steady = f64::from(requests.max(2) - 1);
        let per_second = steady / per.as_secs_f64().max(0.001);
        let now = Instant::now();
        Self {
            capacity: 1.0,
            per_second,
            state: Mutex::new(State {
                tokens: 1.0,
                refilled_at: now,
                not_before: now,
                interactive_waiting: 0,
            }),
        }
    }

    /// Waits for a token (and for any target-wide pause to end), then takes it, in the queue
    /// of the running task's [`Priority`] (see [`priority::interactive`]).
    pub async fn acquire(&self) {
        self.acquire_as(priority::current()).await;
    }

    /// As [`acquire`](Self::acquire), in the queue of `priority`.
    pub async fn acquire_as(&self, priority: Priority) {
        // Counted while it waits (also when the caller gives up and drops this future).
        let _waiting = (priority == Priority::Interactive).then(|| Waiting::enter(self));
        loop {
            let wait = match self.try_take(Instant::now(), priority) {
                None => return,
                Some(wait) => wait,
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes a token for `priority` if one is available to it at `now`, or says how long to
    /// wait. A scheduled request takes none while a sign-in waits: it looks again after one
    /// token's time, by when the sign-in has taken the token.
    fn try_take(&self, now: Instant, priority: Priority) -> Option<Duration> {
        let mut s = self.lock();
        if now < s.not_before {
            return Some(s.not_before - now);
        }
        if now > s.refilled_at {
            let earned = (now - s.refilled_at).as_secs_f64() * self.per_second;
            s.tokens = (s.tokens + earned).min(self.capacity);
            s.refilled_at = now;
        }
        let one_token = Duration::from_secs_f64(1.0 / self.per_second);
        if priority == Priority::Scheduled && s.interactive_waiting > 0 {
            let missing = (1.0 - s.tokens).max(0.0);
            let until_next = Duration::from_secs_f64(missing / self.per_second);
            return Some(until_next.max(one_token).max(Duration::from_millis(1)));
        }
        if s.tokens >= 1.0 {
            s.tokens -= 1.0;
            None
        } else {
            let missing = 1.0 - s.tokens;
            Some(Duration::from_secs_f64(missing / self.per_second).max(Duration::from_millis(1)))
        }
    }

    /// Pauses every worker of this target for `delay`, and empties the bucket so they resume
    /// at the steady rate instead of in one burst.
    pub fn pause_for(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut s = self.lock();
        if until > s.not_before {
            s.not_before = until;
        }
        s.tokens = 0.0;
        // No tokens are earned while paused.
        if s.not_before > s.refilled_at {
            s.refilled_at = s.not_before;
        }
    }

    /// How much of the budget is in use now, `0.0..=1.0`: the share of the burst capacity
    /// spent and not yet earned back, or 1 while a target-wide pause (429) lasts.
    pub fn used(&self) -> f64 {
        let now = Instant::now();
        let s = self.lock();
        if now < s.not_before {
            return 1.0;
        }
        let earned = now.saturating_duration_since(s.refilled_at).as_secs_f64() * self.per_second;
        let tokens = (s.tokens + earned).min(self.capacity);
        (1.0 - tokens / self.capacity).clamp(0.0, 1.0)
    }

    /// The instant before which no request starts (in the past when not paused).
    pub fn not_before(&self) -> Instant {
        self.lock().not_before
    }

    /// Sign-ins waiting for a token now.
    pub fn interactive_waiting(&self) -> usize {
        self.lock().interactive_waiting
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is plain numbers, valid after any panic of a holder.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A sign-in counted as waiting for a token of `bucket`, until dropped.
struct Waiting<'a> {
    bucket: &'a TokenBucket,
}

impl<'a> Waiting<'a> {
    fn enter(bucket: &'a TokenBucket) -> Self {
        bucket.lock().interactive_waiting += 1;
        Self { bucket }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut s = self.bucket.lock();
        s.interactive_waiting = s.interactive_waiting.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn used_is_the_spent_share_of_the_burst_and_full_while_paused() {
        let bucket = TokenBucket::new(4, Duration::from_secs(4));
        assert_eq!(bucket.used(), 0.0);
        bucket.acquire().await;
        bucket.acquire().await;
        assert!((bucket.used() - 0.5).abs() < 1e-9, "{}", bucket.used());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!((bucket.used() - 0.25).abs() < 1e-9, "{}", bucket.used());
        bucket.pause_for(Duration::from_secs(2));
        assert_eq!(bucket.used(), 1.0);
        tokio::time::advance(Duration::from_secs(3)).await;
        assert!((bucket.used() - 0.75).abs() < 1e-9, "{}", bucket.used());
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_steady_rate() {
        let bucket = TokenBucket::new(5, Duration::from_secs(1));
        let start = Instant::now();
        for _ in 0..5 {
            bucket.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(1));
        for _ in 0..10 {
            bucket.acquire().await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(1990) && took <= Duration::from_millis(2100),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_worker_and_empties_the_bucket() {
        let bucket = std::sync::Arc::new(TokenBucket::new(100, Duration::from_secs(1)));
        bucket.pause_for(Duration::from_secs(3));
        let start = Instant::now();
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let b = bucket.clone();
                tokio::spawn(async move {
                    b.acquire().await;
                    Instant::now()
                })
            })
            .collect();
        for w in workers {
            let at = w.await.unwrap();
            assert!(at - start >= Duration::from_secs(3));
            // Resumed at the steady rate (100/s), not as a burst of a full bucket.
            assert!(at - start <= Duration::from_millis(3100));
        }
        // A shorter pause never shortens a longer one.
        bucket.pause_for(Duration::from_secs(10));
        let until = bucket.not_before();
        bucket.pause_for(Duration::from_secs(1));
        assert_eq!(bucket.not_before(), until);
    }

    #[test]
    fn paced_never_exceeds_the_budget_in_any_window() {
        let bucket = TokenBucket::paced(50, Duration::from_secs(10));
        let start = Instant::now();
        let mut granted = Vec::new();
        let mut now = start;
        // Step through 60 s of simulated time in 1 ms steps, taking every token offered.
        while now < start + Duration::from_secs(60) {
            if bucket.try_take(now, Priority::Scheduled).is_none() {
                granted.push(now);
            }
            now += Duration::from_millis(1);
        }
        for (i, t) in granted.iter().enumerate() {
            let in_window = granted[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(10))
                .count();
            assert!(
                in_window <= 50,
                "{in_window} requests within 10 s from {:?}",
                *t - start
            );
        }
        assert!(
            granted.len() >= 290,
            "the budget is still used: {}",
            granted.len()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_sign_in_takes_the_next_token_ahead_of_a_waiting_batch() {
        let bucket = std::sync::Arc::new(TokenBucket::paced(50, Duration::from_secs(10)));
        let one_token = Duration::from_secs_f64(10.0 / 49.0);
        let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let batch: Vec<_> = (0..40)
            .map(|_| {
                let (b, done) = (bucket.clone(), done.clone());
                tokio::spawn(async move {
                    b.acquire().await;
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                })
            })
            .collect();
        // The batch is under way: a few of its requests went, the rest wait in line.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = done.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            (4..=6).contains(&before),
            "{before} batch requests after 1 s"
        );
        let asked = Instant::now();
        let b = bucket.clone();
        let sign_in = tokio::spawn(priority::interactive(async move {
            b.acquire().await;
            Instant::now()
        }));
        let got = sign_in.await.unwrap();
        assert!(
            got - asked <= one_token,
            "the sign-in waited {:?}, more than one token's time",
            got - asked
        );
        let overtaken = done.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            overtaken <= before + 1,
            "{} batch requests went before the sign-in",
            overtaken - before
        );
        assert_eq!(bucket.interactive_waiting(), 0);
        for w in batch {
            w.await.unwrap();
        }
        assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), 40);
    }

    #[tokio::test(start_paused = true)]
    async fn a_sign_in_that_gives_up_no_longer_holds_the_batch_back() {
        let bucket = std::sync::Arc::new(TokenBucket::paced(50, Duration::from_secs(10)));
        bucket.pause_for(Duration::from_secs(5));
        let b = bucket.clone();
        let gave_up = tokio::time::timeout(
            Duration::from_secs(1),
            priority::interactive(async move { b.acquire().await }),
        )
        .await;
        assert!(gave_up.is_err(), "the pause lasts 5 s");
        assert_eq!(bucket.interactive_waiting(), 0);
        let start = Instant::now();
        bucket.acquire().await;
        assert!(Instant::now() - start <= Duration::from_secs(5));
    }

    #[test]
    fn both_queues_together_never_exceed_the_budget_in_any_window() {
        let bucket = TokenBucket::paced(50, Duration::from_secs(10));
        let start = Instant::now();
        let mut granted = Vec::new();
        let mut now = start;
        let mut sign_ins = 0;
        // 60 s in 1 ms steps; a sign-in waits during every third second, the batch always.
        while now < start + Duration::from_secs(60) {
            let second = (now - start).as_secs();
            let waiting = (second % 3 == 0).then(|| Waiting::enter(&bucket));
            if waiting.is_some() && bucket.try_take(now, Priority::Interactive).is_none() {
                granted.push(now);
                sign_ins += 1;
            }
            drop(waiting);
            if bucket.try_take(now, Priority::Scheduled).is_none() {
                granted.push(now);
            }
            now += Duration::from_millis(1);
        }
        for (i, t) in granted.iter().enumerate() {
            let in_window = granted[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(10))
                .count();
            assert!(in_window <= 50, "{in_window} requests within 10 s");
        }
        assert!(sign_ins >= 90, "sign-ins got their tokens: {sign_ins}");
        assert!(
            granted.len() >= 290,
            "the budget is still used: {}",
            granted.len()
        );
    }
}
