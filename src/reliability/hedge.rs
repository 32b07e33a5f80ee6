//! Hedged requests ("The Tail at Scale"): when a request has not been answered after a
//! delay, send a duplicate to another replica and take whichever answer comes first.
//!
//! The delay is fixed, or the 95th percentile of recent latencies (so about one request in
//! twenty is hedged); the p95 is taken over a ring of the last `samples` latencies and the
//! fixed delay stands in until `P95_MIN_SAMPLES` have been seen. Hedges add load, so at most
//! `max_ratio` of the requests in flight may have a hedge in flight (at least one hedge
//! whenever the ratio is above zero).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::engine::{Nanos, MILLISECOND};

/// Latencies the p95 needs before it replaces the fixed delay.
pub const P95_MIN_SAMPLES: usize = 20;

/// What decides the hedging delay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HedgeTrigger {
    /// Always `delay`.
    #[default]
    Fixed,
    /// The 95th percentile of the recent latencies (`delay` until there are enough).
    P95,
}

/// A hedging policy's settings, every field optional.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HedgeConfig {
    /// Fixed delay or observed p95. Default: fixed.
    pub trigger: HedgeTrigger,
    /// The fixed delay. Default: 50ms.
    #[serde(rename = "delay", with = "crate::engine::duration_ns")]
    pub delay_ns: Nanos,
    /// Hedges in flight allowed per request in flight (read to the thousandth); 0 disables
    /// hedging. Default: 0.1.
    pub max_ratio: f64,
    /// Latencies kept for the p95. Default: 100.
    pub samples: u32,
}

impl Default for HedgeConfig {
    fn default() -> Self {
        HedgeConfig {
            trigger: HedgeTrigger::Fixed,
            delay_ns: 50 * MILLISECOND,
            max_ratio: 0.1,
            samples: 100,
        }
    }
}

/// The hedging state of one client: requests and hedges in flight, recent latencies.
#[derive(Clone, Debug)]
pub struct HedgePolicy {
    config: HedgeConfig,
    ratio_milli: u64,
    /// The ring's size.
    samples: usize,
    ring: VecDeque<Nanos>,
    /// Reused for the p95 so computing it allocates nothing.
    scratch: Vec<Nanos>,
    /// The p95 of `ring`, computed when first asked after a new sample.
    p95_ns: Option<Nanos>,
    requests_in_flight: u64,
    hedges_in_flight: u64,
    hedges_sent: u64,
}

impl HedgePolicy {
    /// A policy with no request in flight and no latency seen.
    pub fn new(config: &HedgeConfig) -> Self {
        let samples = config.samples.max(1) as usize;
        HedgePolicy {
            config: *config,
            ratio_milli: (config.max_ratio.clamp(0.0, 1_000.0) * 1000.0).round() as u64,
            samples,
            ring: VecDeque::with_capacity(samples),
            scratch: Vec::with_capacity(samples),
            p95_ns: None,
            requests_in_flight: 0,
            hedges_in_flight: 0,
            hedges_sent: 0,
        }
    }

    /// A request was sent at `now` (its first copy).
    pub fn on_request(&mut self, _now: Nanos) {
        self.requests_in_flight += 1;
    }

    /// How long after sending a request its hedge is due.
    pub fn delay(&mut self) -> Nanos {
        match self.config.trigger {
            HedgeTrigger::Fixed => self.config.delay_ns,
            HedgeTrigger::P95 if self.ring.len() < P95_MIN_SAMPLES => self.config.delay_ns,
            HedgeTrigger::P95 => *self.p95_ns.get_or_insert_with(|| {
                self.scratch.clear();
                self.scratch.extend(self.ring.iter().copied());
                // Nearest rank: the ceil(0.95 n)-th smallest.
                let rank = (95 * self.scratch.len()).div_ceil(100);
                *self.scratch.select_nth_unstable(rank - 1).1
            }),
        }
    }

    /// When the hedge of a request sent at `sent_at` is due.
    pub fn hedge_at(&mut self, sent_at: Nanos) -> Nanos {
        sent_at.saturating_add(self.delay())
    }

    /// Whether a hedge may be sent now for a request still unanswered; if so it counts as in
    /// flight until its request completes.
    pub fn try_hedge(&mut self, _now: Nanos) -> bool {
        let allowed = self.requests_in_flight > 0
            && self.hedges_in_flight * 1000 < self.ratio_milli * self.requests_in_flight;
        if allowed {
            self.hedges_in_flight += 1;
            self.hedges_sent += 1;
        }
        allowed
    }

    /// A request completed at `now` after `latency_ns` (from its first send to the first
    /// answer); `hedged` says whether a hedge was sent for it. The latency joins the ring.
    pub fn on_complete(&mut self, _now: Nanos, latency_ns: Nanos, hedged: bool) {
        debug_assert!(self.requests_in_flight > 0, "a completion without a request");
        debug_assert!(!hedged || self.hedges_in_flight > 0, "a hedge never sent");
        self.requests_in_flight = self.requests_in_flight.saturating_sub(1);
        if hedged {
            self.hedges_in_flight = self.hedges_in_flight.saturating_sub(1);
        }
        if self.ring.len() == self.samples {
            self.ring.pop_front();
        }
        self.ring.push_back(latency_ns);
        self.p95_ns = None;
    }

    /// Requests in flight.
    pub fn requests_in_flight(&self) -> u64 {
        self.requests_in_flight
    }

    /// Hedges in flight.
    pub fn hedges_in_flight(&self) -> u64 {
        self.hedges_in_flight
    }

    /// Hedges sent so far.
    pub fn hedges_sent(&self) -> u64 {
        self.hedges_sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p95_config(samples: u32) -> HedgeConfig {
        HedgeConfig { trigger: HedgeTrigger::P95, samples, ..HedgeConfig::default() }
    }

    #[test]
    fn fixed_delay_is_the_delay() {
        let mut h = HedgePolicy::new(&HedgeConfig::default());
        assert_eq!(h.hedge_at(1_000), 1_000 + 50 * MILLISECOND);
        h.on_request(0);
        h.on_complete(5, 5 * MILLISECOND, false);
        assert_eq!(h.delay(), 50 * MILLISECOND);
    }

    #[test]
    fn p95_replaces_the_delay_once_there_are_enough_samples() {
        let mut h = HedgePolicy::new(&p95_config(100));
        // 1ms, 2ms, ..., 19ms: too few, the fixed delay stands.
        for ms in 1..=19 {
            h.on_request(0);
            h.on_complete(0, ms * MILLISECOND, false);
        }
        assert_eq!(h.delay(), 50 * MILLISECOND);
        // 1..=20ms: the 19th smallest of 20 (ceil(0.95 * 20) = 19).
        h.on_request(0);
        h.on_complete(0, 20 * MILLISECOND, false);
        assert_eq!(h.delay(), 19 * MILLISECOND);
        // 1..=100ms: the 95th.
        for ms in 21..=100 {
            h.on_request(0);
            h.on_complete(0, ms * MILLISECOND, false);
        }
        assert_eq!(h.delay(), 95 * MILLISECOND);
        // The ring keeps 100: a hundred 1ms latencies push the slow ones out.
        for _ in 0..100 {
            h.on_request(0);
            h.on_complete(0, MILLISECOND, false);
        }
        assert_eq!(h.delay(), MILLISECOND);
        assert_eq!(h.requests_in_flight(), 0);
    }

    #[test]
    fn a_small_ring_forgets_old_latencies() {
        let mut h = HedgePolicy::new(&p95_config(20));
        for i in 0..40u64 {
            h.on_request(0);
            h.on_complete(0, if i < 20 { 1_000 } else { 10 }, false);
        }
        assert_eq!(h.delay(), 10);
    }

    #[test]
    fn hedges_in_flight_are_capped_by_the_ratio() {
        let mut h = HedgePolicy::new(&HedgeConfig { max_ratio: 0.1, ..HedgeConfig::default() });
        assert!(!h.try_hedge(0), "no request in flight");
        h.on_request(0);
        // One request: ceil(0.1) = one hedge.
        assert_eq!([h.try_hedge(0), h.try_hedge(0)], [true, false]);
        // Twenty requests: two hedges.
        for _ in 1..20 {
            h.on_request(0);
        }
        assert_eq!([h.try_hedge(0), h.try_hedge(0)], [true, false]);
        assert_eq!((h.hedges_in_flight(), h.hedges_sent()), (2, 2));
        // A hedged request completes: its hedge's slot is free again.
        h.on_complete(1, 1, true);
        assert_eq!(h.hedges_in_flight(), 1);
        assert!(h.try_hedge(1));
        assert_eq!(h.hedges_sent(), 3);
        // A zero ratio never hedges.
        let mut none = HedgePolicy::new(&HedgeConfig { max_ratio: 0.0, ..HedgeConfig::default() });
        none.on_request(0);
        assert!(!none.try_hedge(0));
    }

    #[test]
    fn config_parses() {
        let c: HedgeConfig = toml::from_str("trigger = \"p95\"\ndelay = \"5ms\"").unwrap();
        assert_eq!(
            c,
            HedgeConfig {
                trigger: HedgeTrigger::P95,
                delay_ns: 5 * MILLISECOND,
                ..HedgeConfig::default()
            }
        );
        assert!(toml::from_str::<HedgeConfig>("after = \"5ms\"").is_err());
    }
}
