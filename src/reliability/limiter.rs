//! Client-side rate limiters: a token bucket and a sliding-window log.
//!
//! The token bucket lets `burst` calls through at once and then `rate_per_s` a second; its
//! level is kept in tokens times nanoseconds, so refilling is exact whatever the spacing of
//! calls. The sliding-window log lets at most `limit` calls through in any window of
//! `window` nanoseconds, keeping the times of the calls it let through (at most `limit`).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::engine::{Nanos, SECOND};

/// A token bucket's settings, every field optional.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenBucketConfig {
    /// Calls per second in the long run. Default: 100.
    pub rate_per_s: u64,
    /// Calls that may go at once after a quiet spell (the bucket's size). Default: 10.
    pub burst: u64,
}

impl Default for TokenBucketConfig {
    fn default() -> Self {
        TokenBucketConfig { rate_per_s: 100, burst: 10 }
    }
}

/// A token bucket, full at its creation.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate_per_s: u64,
    /// Tokens times [`SECOND`]: one token is `SECOND` units; a nanosecond adds `rate_per_s`.
    level: u128,
    level_max: u128,
    refilled_at: Nanos,
}

impl TokenBucket {
    /// A full bucket at time `now`. `rate_per_s` and `burst` must be at least 1.
    pub fn new(config: &TokenBucketConfig, now: Nanos) -> Self {
        assert!(config.rate_per_s > 0 && config.burst > 0, "empty token bucket {config:?}");
        let level_max = u128::from(config.burst) * u128::from(SECOND);
        TokenBucket { rate_per_s: config.rate_per_s, level: level_max, level_max, refilled_at: now }
    }

    /// Whether a call may go now; if so it takes a token.
    pub fn try_acquire(&mut self, now: Nanos) -> bool {
        let free = self.next_available(now) == now;
        if free {
            self.reserve(now);
        }
        free
    }

    /// The earliest time, `now` or later, at which [`try_acquire`](Self::try_acquire) will
    /// succeed if nothing else takes a token first (after reservations, the time the next
    /// reservation would get).
    pub fn next_available(&mut self, now: Nanos) -> Nanos {
        self.slot(now).0
    }

    /// Takes the next token: the time it is there, `now` or later (then the caller waits for
    /// it, and later reservations queue behind it, as Guava's `RateLimiter` does). The bucket
    /// runs into debt instead of handing one token to several waiters.
    pub fn reserve(&mut self, now: Nanos) -> Nanos {
        let (at, level) = self.slot(now);
        self.level = level;
        self.refilled_at = at;
        at
    }

    /// When the next token is there and the level just after it is taken.
    fn slot(&mut self, now: Nanos) -> (Nanos, u128) {
        self.refill(now);
        // After a reservation `refilled_at` may be ahead of `now`: the level is as of then.
        let base = self.refilled_at.max(now);
        let token = u128::from(SECOND);
        if self.level >= token {
            return (base, self.level - token);
        }
        let rate = u128::from(self.rate_per_s);
        let wait = (token - self.level).div_ceil(rate);
        let at = base.saturating_add(u64::try_from(wait).unwrap_or(u64::MAX));
        (at, self.level + wait * rate - token)
    }

    /// Whole tokens in the bucket at the last call.
    pub fn tokens(&self) -> u64 {
        (self.level / u128::from(SECOND)) as u64
    }

    fn refill(&mut self, now: Nanos) {
        let elapsed = now.saturating_sub(self.refilled_at);
        self.refilled_at = self.refilled_at.max(now);
        let gained = u128::from(elapsed) * u128::from(self.rate_per_s);
        self.level = (self.level + gained).min(self.level_max);
    }
}

/// A sliding-window log's settings, every field optional.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlidingWindowConfig {
    /// Calls allowed in any window. Default: 100.
    pub limit: u32,
    /// The window's length. Default: 1s.
    #[serde(rename = "window", with = "crate::engine::duration_ns")]
    pub window_ns: Nanos,
}

impl Default for SlidingWindowConfig {
    fn default() -> Self {
        SlidingWindowConfig { limit: 100, window_ns: SECOND }
    }
}

/// A sliding-window log: a call at `now` goes if fewer than `limit` calls went in
/// `(now - window, now]`.
#[derive(Clone, Debug)]
pub struct SlidingWindowLog {
    limit: usize,
    window_ns: Nanos,
    /// Times of the calls let through that are still in the window, oldest first.
    log: VecDeque<Nanos>,
}

impl SlidingWindowLog {
    /// An empty log. `limit` and `window` must be at least 1.
    pub fn new(config: &SlidingWindowConfig) -> Self {
        assert!(config.limit > 0 && config.window_ns > 0, "empty window {config:?}");
        let limit = config.limit as usize;
        SlidingWindowLog { limit, window_ns: config.window_ns, log: VecDeque::with_capacity(limit) }
    }

    /// Whether a call may go now; if so its time is logged.
    pub fn try_acquire(&mut self, now: Nanos) -> bool {
        let free = self.next_available(now) == now;
        if free {
            self.reserve(now);
        }
        free
    }

    /// The earliest time, `now` or later, at which a call may go if no other goes first
    /// (after reservations, the time the next reservation would get).
    pub fn next_available(&self, now: Nanos) -> Nanos {
        let live = self.log.iter().filter(|&&t| t.saturating_add(self.window_ns) > now).count();
        let mut at = now.max(self.log.back().copied().unwrap_or(0));
        if live >= self.limit {
            // The call `limit` places back must leave the window first.
            let leaving = self.log[self.log.len() - self.limit];
            at = at.max(leaving.saturating_add(self.window_ns));
        }
        at
    }

    /// Logs the next call at the time it may go, `now` or later (then the caller waits for
    /// it; later reservations queue behind it), and returns that time.
    pub fn reserve(&mut self, now: Nanos) -> Nanos {
        while self.log.front().is_some_and(|&t| t.saturating_add(self.window_ns) <= now) {
            self.log.pop_front();
        }
        let at = self.next_available(now);
        self.log.push_back(at);
        // Only the last `limit` calls can still matter to a later one.
        while self.log.len() > self.limit {
            self.log.pop_front();
        }
        at
    }

    /// Calls in the log (the last `limit` let through or reserved).
    pub fn len(&self) -> usize {
        self.log.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{SimRng, MILLISECOND};
    use proptest::prelude::*;

    #[test]
    fn token_bucket_bursts_then_paces() {
        let mut b = TokenBucket::new(&TokenBucketConfig { rate_per_s: 10, burst: 3 }, 0);
        let burst: Vec<bool> = (0..4).map(|_| b.try_acquire(0)).collect();
        assert_eq!(burst, [true, true, true, false]);
        assert_eq!(b.next_available(0), 100 * MILLISECOND);
        assert!(!b.try_acquire(100 * MILLISECOND - 1));
        assert_eq!(b.next_available(100 * MILLISECOND - 1), 100 * MILLISECOND);
        assert!(b.try_acquire(100 * MILLISECOND));
        assert!(!b.try_acquire(100 * MILLISECOND));
        // A long quiet spell fills the bucket to its burst, no more.
        assert_eq!(b.next_available(60 * SECOND), 60 * SECOND);
        assert_eq!(b.tokens(), 3);
        // A rate that does not divide a second: 3 per second, one every 333333333.33ns.
        let mut b = TokenBucket::new(&TokenBucketConfig { rate_per_s: 3, burst: 1 }, 0);
        assert!(b.try_acquire(0));
        assert_eq!(b.next_available(0), 333_333_334);
        // Emptied at 0, then asked every millisecond for 3s: 3 a second, 9 calls. (The
        // burst of 2 keeps the bucket from capping a token that accrued between two asks.)
        let mut b = TokenBucket::new(&TokenBucketConfig { rate_per_s: 3, burst: 2 }, 0);
        assert!(b.try_acquire(0) && b.try_acquire(0));
        let got = (1..=3_000u64).filter(|i| b.try_acquire(i * MILLISECOND)).count();
        assert_eq!(got, 9, "3 a second for 3 seconds");
    }

    #[test]
    fn sliding_log_allows_limit_per_window() {
        let config = SlidingWindowConfig { limit: 2, window_ns: SECOND };
        let mut l = SlidingWindowLog::new(&config);
        let at = |ms: u64| ms * MILLISECOND;
        let got: Vec<bool> = [0, 100, 200, 999, 1_000, 1_050, 1_100, 2_000]
            .iter()
            .map(|&t| l.try_acquire(at(t)))
            .collect();
        // 0 and 100 go; 200 and 999 are refused; at 1000 the call of 0 has left the window,
        // at 1100 the call of 100 has; at 2000 the call of 1000 has, that of 1100 not yet.
        assert_eq!(got, [true, true, false, false, true, false, true, true]);
        assert_eq!(l.len(), 2);
        assert_eq!(l.next_available(at(2_000)), at(2_100));
        assert!(!l.try_acquire(at(2_099)));
        assert!(l.try_acquire(at(2_100)));
        assert_eq!(l.next_available(at(2_100)), at(3_000));
        assert!(!l.is_empty());
    }

    #[test]
    fn configs_parse_with_defaults() {
        let t: TokenBucketConfig = toml::from_str("rate_per_s = 5").unwrap();
        assert_eq!(t, TokenBucketConfig { rate_per_s: 5, burst: 10 });
        let w: SlidingWindowConfig = toml::from_str("window = \"250ms\"").unwrap();
        assert_eq!(w, SlidingWindowConfig { limit: 100, window_ns: 250 * MILLISECOND });
        assert!(toml::from_str::<TokenBucketConfig>("rate = 5").is_err());
        assert!(toml::from_str::<SlidingWindowConfig>("limit = 5\nsize = 2").is_err());
    }

    /// Random call times, mostly close together, some after quiet spells.
    fn times(seed: u64, count: usize) -> Vec<Nanos> {
        let mut rng = SimRng::new(seed, 5);
        let mut now = 0;
        (0..count)
            .map(|_| {
                now += if rng.below(20) == 0 {
                    rng.below(3 * SECOND)
                } else {
                    rng.below(5 * MILLISECOND)
                };
                now
            })
            .collect()
    }

    proptest! {
        #![proptest_config(crate::property::proptest_config(300))]
        #[test]
        fn token_bucket_never_exceeds_burst_plus_rate(
            seed in any::<u64>(),
            rate_per_s in 1..2_000u64,
            burst in 1..20u64,
            count in 1..400usize,
        ) {
            let mut b = TokenBucket::new(&TokenBucketConfig { rate_per_s, burst }, 0);
            let mut granted = Vec::new();
            for t in times(seed, count) {
                let promised = b.clone().next_available(t);
                let ok = b.try_acquire(t);
                prop_assert_eq!(ok, promised == t);
                if !ok {
                    // next_available is exact: a nanosecond earlier fails, then it succeeds.
                    prop_assert!(promised > t);
                    prop_assert!(!b.clone().try_acquire(promised - 1));
                    prop_assert!(b.clone().try_acquire(promised));
                }
                if ok {
                    granted.push(t);
                }
            }
            for i in 0..granted.len() {
                for j in i..granted.len() {
                    let span = u128::from(granted[j] - granted[i]);
                    let refilled = span * u128::from(rate_per_s) / u128::from(SECOND);
                    let allowed = u128::from(burst) + refilled;
                    prop_assert!((j - i + 1) as u128 <= allowed,
                        "{} calls in {}ns", j - i + 1, span);
                }
            }
        }

        #[test]
        fn reservations_queue_in_order_and_keep_both_limits(
            seed in any::<u64>(),
            rate_per_s in 1..2_000u64,
            burst in 1..20u64,
            limit in 1..10u32,
            window_ms in 1..500u64,
            count in 1..300usize,
        ) {
            let mut b = TokenBucket::new(&TokenBucketConfig { rate_per_s, burst }, 0);
            let window_ns = window_ms * MILLISECOND;
            let mut l = SlidingWindowLog::new(&SlidingWindowConfig { limit, window_ns });
            let (mut bucket_at, mut log_at) = (Vec::new(), Vec::new());
            for t in times(seed, count) {
                let promised = (b.clone().next_available(t), l.next_available(t));
                let got = (b.reserve(t), l.reserve(t));
                prop_assert_eq!(got, promised);
                prop_assert!(got.0 >= t && got.1 >= t);
                prop_assert!(bucket_at.last().is_none_or(|&p| p <= got.0));
                prop_assert!(log_at.last().is_none_or(|&p| p <= got.1));
                bucket_at.push(got.0);
                log_at.push(got.1);
            }
            for i in 0..bucket_at.len() {
                let (bi, li) = (bucket_at[i], log_at[i]);
                let in_window = log_at[i..].iter().take_while(|&&g| g < li + window_ns).count();
                prop_assert!(in_window <= limit as usize);
                for (j, &bj) in bucket_at.iter().enumerate().skip(i) {
                    let refilled = u128::from(bj - bi) * u128::from(rate_per_s) / u128::from(SECOND);
                    prop_assert!((j - i + 1) as u128 <= u128::from(burst) + refilled + 1);
                }
            }
        }

        #[test]
        fn sliding_log_never_exceeds_its_limit_in_any_window(
            seed in any::<u64>(),
            limit in 1..10u32,
            window_ms in 1..500u64,
            count in 1..400usize,
        ) {
            let window_ns = window_ms * MILLISECOND;
            let mut l = SlidingWindowLog::new(&SlidingWindowConfig { limit, window_ns });
            let mut granted: Vec<Nanos> = Vec::new();
            for t in times(seed, count) {
                let in_window = granted.iter().filter(|&&g| g + window_ns > t).count();
                prop_assert_eq!(l.next_available(t) == t, in_window < limit as usize);
                // The limiter refuses only when the window really is full.
                prop_assert_eq!(l.try_acquire(t), in_window < limit as usize);
                if in_window < limit as usize {
                    granted.push(t);
                }
                prop_assert!(l.len() <= limit as usize);
            }
        }
    }
}
