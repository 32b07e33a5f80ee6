//! Exponential backoff with jitter, as AWS's architecture blog "Exponential Backoff And Jitter"
//! defines it, plus the naive client that retries at once.
//!
//! The `k`-th retry of an operation (`k = 0` for the first retry) waits, before jitter,
//! `min(cap, base * 2^k)`. Jitter spreads the retries of many clients that failed together,
//! so they do not arrive again in one wave:
//! - `none`: exactly `min(cap, base * 2^k)`;
//! - `full`: uniform in `0..=min(cap, base * 2^k)`;
//! - `equal`: half of it, plus uniform in `0..=` the other half;
//! - `decorrelated`: `min(cap, uniform in base..=previous * 3)`, where `previous` is the last
//!   delay (the base before the first retry); it does not use `k`.
//! - `immediate`: no delay at all, the client that causes retry storms.

use serde::{Deserialize, Serialize};

use crate::engine::{Nanos, SimRng, MILLISECOND, SECOND};

/// How a delay is drawn around the exponential curve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// Retry at once: every delay is zero.
    Immediate,
    /// No jitter: `min(cap, base * 2^k)`.
    None,
    /// Uniform in `0..=min(cap, base * 2^k)`.
    #[default]
    Full,
    /// Half of `min(cap, base * 2^k)` plus uniform in `0..=` the other half.
    Equal,
    /// `min(cap, uniform in base..=previous * 3)`.
    Decorrelated,
}

/// A backoff policy: `[backoff]`-style settings, every field optional.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackoffConfig {
    /// How delays are drawn. Default: `full`.
    pub jitter: Jitter,
    /// The first retry's delay before jitter, and decorrelated jitter's lower bound.
    /// Default: 10ms.
    #[serde(rename = "base", with = "crate::engine::duration_ns")]
    pub base_ns: Nanos,
    /// The largest delay. Default: 1s.
    #[serde(rename = "cap", with = "crate::engine::duration_ns")]
    pub cap_ns: Nanos,
    /// Attempts per operation, the first one included (so `max_attempts - 1` retries).
    /// Default: 4.
    pub max_attempts: u32,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            jitter: Jitter::Full,
            base_ns: 10 * MILLISECOND,
            cap_ns: SECOND,
            max_attempts: 4,
        }
    }
}

impl BackoffConfig {
    /// Why this configuration cannot work, if it cannot: no attempt at all, or a cap below
    /// the base.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_attempts == 0 {
            return Err("max_attempts must be at least 1 (the first attempt)".into());
        }
        if self.cap_ns < self.base_ns {
            return Err(format!(
                "cap ({}) is below base ({})",
                crate::engine::format_nanos(self.cap_ns),
                crate::engine::format_nanos(self.base_ns)
            ));
        }
        Ok(())
    }
}

/// `min(cap, base * 2^retry)`, saturating instead of overflowing.
pub fn exponential_ns(base_ns: Nanos, cap_ns: Nanos, retry: u32) -> Nanos {
    let factor = 1u64.checked_shl(retry).unwrap_or(u64::MAX);
    base_ns.saturating_mul(factor).min(cap_ns)
}

/// The backoff state of one operation: how many retries it made and its last delay.
#[derive(Clone, Debug)]
pub struct Backoff {
    config: BackoffConfig,
    retries: u32,
    previous_ns: Nanos,
}

impl Backoff {
    /// The state of an operation about to make its first attempt.
    pub fn new(config: BackoffConfig) -> Self {
        debug_assert!(config.validate().is_ok(), "invalid backoff config {config:?}");
        Backoff { config, retries: 0, previous_ns: config.base_ns }
    }

    /// The delay before the next retry, drawn from `rng`, or `None` when the operation has
    /// used its `max_attempts`. Each call counts one retry.
    pub fn next_delay(&mut self, rng: &mut SimRng) -> Option<Nanos> {
        if self.retries.saturating_add(1) >= self.config.max_attempts {
            return None;
        }
        let BackoffConfig { base_ns, cap_ns, .. } = self.config;
        let ceiling = exponential_ns(base_ns, cap_ns, self.retries);
        let delay = match self.config.jitter {
            Jitter::Immediate => 0,
            Jitter::None => ceiling,
            Jitter::Full => rng.between(0, ceiling),
            Jitter::Equal => {
                let half = ceiling / 2;
                half + rng.between(0, ceiling - half)
            }
            Jitter::Decorrelated => {
                let high = self.previous_ns.saturating_mul(3).max(base_ns);
                rng.between(base_ns, high).min(cap_ns)
            }
        };
        debug_assert!(delay <= cap_ns.max(base_ns));
        self.retries += 1;
        self.previous_ns = delay;
        Some(delay)
    }

    /// Retries made so far (delays handed out).
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// Starts over, as for a new operation.
    pub fn reset(&mut self) {
        self.retries = 0;
        self.previous_ns = self.config.base_ns;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn config(jitter: Jitter, max_attempts: u32) -> BackoffConfig {
        BackoffConfig { jitter, base_ns: 10 * MILLISECOND, cap_ns: SECOND, max_attempts }
    }

    fn delays(config: BackoffConfig, seed: u64) -> Vec<Nanos> {
        let mut rng = SimRng::new(seed, 1);
        let mut backoff = Backoff::new(config);
        std::iter::from_fn(|| backoff.next_delay(&mut rng)).collect()
    }

    #[test]
    fn no_jitter_doubles_up_to_the_cap_and_stops_after_max_attempts() {
        let ms = MILLISECOND;
        assert_eq!(
            delays(config(Jitter::None, 10), 1),
            [10 * ms, 20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 640 * ms, SECOND, SECOND]
        );
        assert_eq!(delays(config(Jitter::None, 1), 1), Vec::<Nanos>::new());
        assert_eq!(delays(config(Jitter::Immediate, 4), 1), [0, 0, 0]);
    }

    #[test]
    fn exponential_saturates_instead_of_overflowing() {
        assert_eq!(exponential_ns(3, u64::MAX, 0), 3);
        assert_eq!(exponential_ns(3, u64::MAX, 2), 12);
        assert_eq!(exponential_ns(3, u64::MAX, 64), u64::MAX);
        assert_eq!(exponential_ns(u64::MAX / 2, 7, 5), 7);
        assert_eq!(exponential_ns(0, 7, 100), 0);
    }

    #[test]
    fn full_jitter_averages_half_the_exponential() {
        // Retry 3 (k = 3): ceiling 80ms; the mean of uniform 0..=80ms is 40ms.
        let mut rng = SimRng::new(9, 9);
        let samples = 20_000u64;
        let mut sum = 0u64;
        for _ in 0..samples {
            let mut backoff = Backoff::new(config(Jitter::Full, 10));
            let d = (0..4).map(|_| backoff.next_delay(&mut rng).unwrap()).last().unwrap();
            assert!(d <= 80 * MILLISECOND);
            sum += d;
        }
        let mean = sum / samples;
        // Standard error of the mean: 80ms / sqrt(12 * 20000) ~ 0.16ms; allow 5 of them.
        assert!(mean.abs_diff(40 * MILLISECOND) < 800_000, "mean {mean}");
    }

    #[test]
    fn equal_jitter_stays_in_the_upper_half_and_averages_three_quarters() {
        let mut rng = SimRng::new(5, 5);
        let samples = 20_000u64;
        let mut sum = 0u64;
        for _ in 0..samples {
            let mut backoff = Backoff::new(config(Jitter::Equal, 10));
            let first = backoff.next_delay(&mut rng).unwrap();
            assert!((5 * MILLISECOND..=10 * MILLISECOND).contains(&first), "{first}");
            let second = backoff.next_delay(&mut rng).unwrap();
            assert!((10 * MILLISECOND..=20 * MILLISECOND).contains(&second), "{second}");
            sum += second;
        }
        let mean = sum / samples;
        assert!(mean.abs_diff(15 * MILLISECOND) < 200_000, "mean {mean}");
    }

    #[test]
    fn decorrelated_jitter_stays_between_base_and_cap_and_reaches_the_cap() {
        let mut rng = SimRng::new(3, 3);
        let mut at_cap = 0;
        for _ in 0..2_000 {
            let mut backoff = Backoff::new(config(Jitter::Decorrelated, 30));
            let mut previous = 10 * MILLISECOND;
            while let Some(d) = backoff.next_delay(&mut rng) {
                assert!((10 * MILLISECOND..=SECOND).contains(&d), "{d}");
                assert!(d <= previous * 3, "{d} after {previous}");
                at_cap += usize::from(d == SECOND);
                previous = d;
            }
            assert_eq!(backoff.retries(), 29);
        }
        assert!(at_cap > 1_000, "the cap was reached only {at_cap} times");
    }

    #[test]
    fn same_seed_same_delays_other_seed_other_delays() {
        for jitter in [Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
            let c = config(jitter, 12);
            assert_eq!(delays(c, 42), delays(c, 42));
            assert_ne!(delays(c, 42), delays(c, 43), "{jitter:?}");
        }
        let mut rng = SimRng::new(1, 1);
        let mut backoff = Backoff::new(config(Jitter::Full, 3));
        assert!(backoff.next_delay(&mut rng).is_some());
        assert!(backoff.next_delay(&mut rng).is_some());
        assert_eq!(backoff.next_delay(&mut rng), None);
        backoff.reset();
        assert_eq!(backoff.retries(), 0);
        assert!(backoff.next_delay(&mut rng).is_some());
    }

    #[test]
    fn config_reads_durations_and_rejects_unknown_keys() {
        let c: BackoffConfig =
            toml::from_str("jitter = \"decorrelated\"\nbase = \"5ms\"\ncap = \"2s\"").unwrap();
        assert_eq!(
            c,
            BackoffConfig {
                jitter: Jitter::Decorrelated,
                base_ns: 5 * MILLISECOND,
                cap_ns: 2 * SECOND,
                max_attempts: 4
            }
        );
        assert_eq!(toml::from_str::<BackoffConfig>("").unwrap(), BackoffConfig::default());
        assert!(toml::from_str::<BackoffConfig>("bsae = \"5ms\"").is_err());
        assert!(toml::from_str::<BackoffConfig>("base = \"5\"").is_err());
        let bad = BackoffConfig { cap_ns: 1, ..BackoffConfig::default() };
        assert!(bad.validate().unwrap_err().contains("below base"));
        let none = BackoffConfig { max_attempts: 0, ..BackoffConfig::default() };
        assert!(none.validate().is_err());
    }

    fn jitter() -> impl Strategy<Value = Jitter> {
        prop_oneof![
            Just(Jitter::Immediate),
            Just(Jitter::None),
            Just(Jitter::Full),
            Just(Jitter::Equal),
            Just(Jitter::Decorrelated),
        ]
    }

    proptest! {
        #![proptest_config(crate::property::proptest_config(500))]
        #[test]
        fn delays_respect_their_mode_bounds(
            jitter in jitter(),
            base_ns in 0..10 * MILLISECOND,
            extra_ns in 0..10 * SECOND,
            max_attempts in 1..40u32,
            seed in any::<u64>(),
        ) {
            let c = BackoffConfig { jitter, base_ns, cap_ns: base_ns + extra_ns, max_attempts };
            let got = delays(c, seed);
            prop_assert_eq!(got.len(), max_attempts as usize - 1);
            for (k, &d) in got.iter().enumerate() {
                let ceiling = exponential_ns(c.base_ns, c.cap_ns, k as u32);
                match jitter {
                    Jitter::Immediate => prop_assert_eq!(d, 0),
                    Jitter::None => prop_assert_eq!(d, ceiling),
                    Jitter::Full => prop_assert!(d <= ceiling),
                    Jitter::Equal => prop_assert!(ceiling / 2 <= d && d <= ceiling),
                    Jitter::Decorrelated => prop_assert!(c.base_ns <= d && d <= c.cap_ns),
                }
            }
        }
    }
}
