//! A retry budget, as Finagle's `RetryBudget` and gRPC's retry throttling describe it: retries
//! must be earned by first attempts, so under a total outage a client adds at most a fixed
//! fraction of extra load instead of multiplying it by its attempt count.
//!
//! Each first attempt deposits `ratio` tokens; each retry withdraws one. The deposits are
//! capped at `max_tokens`. Besides them a reserve refills continuously at `min_per_s` tokens
//! per second (holding at most one second of it), so a client that sends little may still
//! retry a few times a second. Tokens are counted in thousandths and the reserve in
//! thousandths times nanoseconds, so every balance is exact.

use serde::{Deserialize, Serialize};

use crate::engine::{Nanos, SECOND};

/// Thousandths of a token: the unit the deposits are counted in.
const MILLI: u64 = 1_000;

/// A retry budget's settings, every field optional.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryBudgetConfig {
    /// Tokens each first attempt deposits: the fraction of requests that may be retried
    /// (read to the thousandth). Default: 0.1.
    pub ratio: f64,
    /// Retries per second always allowed, whatever the deposits. Default: 10.
    pub min_per_s: u32,
    /// The most tokens the deposits hold, so a long quiet spell cannot fund a storm.
    /// Default: 100.
    pub max_tokens: u32,
}

impl Default for RetryBudgetConfig {
    fn default() -> Self {
        RetryBudgetConfig { ratio: 0.1, min_per_s: 10, max_tokens: 100 }
    }
}

impl RetryBudgetConfig {
    /// Why this configuration cannot work, if it cannot: a ratio outside `0..=1000`.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1000.0).contains(&self.ratio) {
            return Err(format!("ratio {} is not between 0 and 1000", self.ratio));
        }
        Ok(())
    }

    /// `ratio` in thousandths of a token, rounded to the nearest.
    pub fn ratio_milli(&self) -> u64 {
        (self.ratio.clamp(0.0, 1000.0) * MILLI as f64).round() as u64
    }
}

/// The token balance of one client's (or one destination's) retries.
#[derive(Clone, Debug)]
pub struct RetryBudget {
    deposit_milli: u64,
    deposits_max_milli: u64,
    balance_milli: u64,
    /// The reserve's refill rate in thousandths of a token per second.
    reserve_rate_milli: u64,
    /// The reserve in thousandths of a token times nanoseconds (exact refill).
    reserve_scaled: u128,
    reserve_max_scaled: u128,
    refilled_at: Nanos,
    retries: u64,
    refused: u64,
}

impl RetryBudget {
    /// An empty budget with a full reserve, at time `now`.
    pub fn new(config: &RetryBudgetConfig, now: Nanos) -> Self {
        debug_assert!(config.validate().is_ok(), "invalid retry budget {config:?}");
        let reserve_rate_milli = u64::from(config.min_per_s) * MILLI;
        let reserve_max_scaled = u128::from(reserve_rate_milli) * u128::from(SECOND);
        RetryBudget {
            deposit_milli: config.ratio_milli(),
            deposits_max_milli: u64::from(config.max_tokens) * MILLI,
            balance_milli: 0,
            reserve_rate_milli,
            reserve_scaled: reserve_max_scaled,
            reserve_max_scaled,
            refilled_at: now,
            retries: 0,
            refused: 0,
        }
    }

    /// A first attempt is made: deposit `ratio` tokens.
    pub fn on_request(&mut self, now: Nanos) {
        self.refill(now);
        self.balance_milli = (self.balance_milli + self.deposit_milli).min(self.deposits_max_milli);
    }

    /// Whether a retry may be made now; if so its token is withdrawn (from the deposits
    /// first, then from the reserve).
    pub fn try_retry(&mut self, now: Nanos) -> bool {
        self.refill(now);
        let token_scaled = u128::from(MILLI) * u128::from(SECOND);
        let allowed = if self.balance_milli >= MILLI {
            self.balance_milli -= MILLI;
            true
        } else if self.reserve_scaled >= token_scaled {
            self.reserve_scaled -= token_scaled;
            true
        } else {
            false
        };
        if allowed {
            self.retries += 1;
        } else {
            self.refused += 1;
        }
        allowed
    }

    /// The deposits' balance in thousandths of a token (the reserve aside).
    pub fn balance_milli(&self) -> u64 {
        self.balance_milli
    }

    /// Retries allowed so far.
    pub fn retries(&self) -> u64 {
        self.retries
    }

    /// Retries refused so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    fn refill(&mut self, now: Nanos) {
        let elapsed = now.saturating_sub(self.refilled_at);
        self.refilled_at = self.refilled_at.max(now);
        let gained = u128::from(elapsed) * u128::from(self.reserve_rate_milli);
        self.reserve_scaled = (self.reserve_scaled + gained).min(self.reserve_max_scaled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{SimRng, MILLISECOND};
    use proptest::prelude::*;

    fn budget(ratio: f64, min_per_s: u32, max_tokens: u32) -> RetryBudget {
        RetryBudget::new(&RetryBudgetConfig { ratio, min_per_s, max_tokens }, 0)
    }

    #[test]
    fn without_a_floor_ten_percent_of_requests_may_retry() {
        let mut b = budget(0.1, 0, 100);
        let mut allowed = 0;
        for i in 0..1_000u64 {
            b.on_request(i * MILLISECOND);
            // A storm: every request fails and asks for three retries.
            for _ in 0..3 {
                allowed += u64::from(b.try_retry(i * MILLISECOND));
            }
        }
        assert_eq!(allowed, 100);
        assert_eq!(b.retries(), 100);
        assert_eq!(b.refused(), 2_900);
        // The tenth deposit funds the first retry: nothing before it.
        let mut b = budget(0.1, 0, 100);
        let got: Vec<bool> = (0..10)
            .map(|_| {
                b.on_request(0);
                b.try_retry(0)
            })
            .collect();
        assert_eq!(got, [false, false, false, false, false, false, false, false, false, true]);
    }

    #[test]
    fn the_floor_allows_min_per_s_without_any_request() {
        let mut b = budget(0.1, 5, 100);
        // A full reserve at the start: five at once, then none.
        let burst: Vec<bool> = (0..6).map(|_| b.try_retry(0)).collect();
        assert_eq!(burst, [true, true, true, true, true, false]);
        // Then one every 200ms: asking every 10ms for 10s gets 50.
        let mut allowed = 0;
        for i in 1..=1_000u64 {
            allowed += u64::from(b.try_retry(i * 10 * MILLISECOND));
        }
        assert_eq!(allowed, 50);
        // A long quiet spell refills one second's worth, no more.
        let later = 100 * SECOND;
        let burst: Vec<bool> = (0..6).map(|_| b.try_retry(later)).collect();
        assert_eq!(burst, [true, true, true, true, true, false]);
    }

    #[test]
    fn deposits_are_capped_and_exact() {
        let mut b = budget(0.3, 0, 2);
        for _ in 0..100 {
            b.on_request(0);
        }
        assert_eq!(b.balance_milli(), 2_000);
        assert!(b.try_retry(0) && b.try_retry(0) && !b.try_retry(0));
        // 0.3 three times is 0.9 exactly, not 0.8999...: no retry yet, the fourth funds it.
        for _ in 0..3 {
            b.on_request(0);
        }
        assert_eq!(b.balance_milli(), 900);
        assert!(!b.try_retry(0));
        b.on_request(0);
        assert!(b.try_retry(0));
        assert_eq!(b.balance_milli(), 200);
    }

    #[test]
    fn config_defaults_and_unknown_keys() {
        let c: RetryBudgetConfig = toml::from_str("ratio = 0.2").unwrap();
        assert_eq!(c, RetryBudgetConfig { ratio: 0.2, ..RetryBudgetConfig::default() });
        assert_eq!(c.ratio_milli(), 200);
        assert!(toml::from_str::<RetryBudgetConfig>("percent = 20").is_err());
        assert!(RetryBudgetConfig { ratio: -1.0, ..c }.validate().is_err());
    }

    proptest! {
        #![proptest_config(crate::property::proptest_config(300))]
        #[test]
        fn retries_never_exceed_ratio_of_requests_plus_the_floor(
            seed in any::<u64>(),
            ratio_milli in 0..1_000u64,
            min_per_s in 0..20u32,
            steps in 1..2_000usize,
        ) {
            let ratio = ratio_milli as f64 / 1000.0;
            let mut b = budget(ratio, min_per_s, 1_000_000);
            let mut rng = SimRng::new(seed, 7);
            let (mut now, mut requests, mut allowed) = (0u64, 0u64, 0u64);
            for _ in 0..steps {
                now += rng.below(20 * MILLISECOND);
                if rng.below(2) == 0 {
                    b.on_request(now);
                    requests += 1;
                } else {
                    allowed += u64::from(b.try_retry(now));
                }
            }
            // Deposits: ratio * requests; reserve: one second up front, then min_per_s a second.
            let floor = u64::from(min_per_s) * (1 + now / SECOND + 1);
            prop_assert!(allowed * 1000 <= ratio_milli * requests + floor * 1000,
                "{allowed} retries for {requests} requests over {now}ns");
            prop_assert_eq!(allowed, b.retries());
        }
    }
}
