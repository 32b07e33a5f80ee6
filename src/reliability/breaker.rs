//! A circuit breaker with resilience4j's state machine, over virtual time.
//!
//! - CLOSED: calls pass; their outcomes fill a sliding window. Once the window holds
//!   `minimum_number_of_calls`, the breaker opens when the failure rate reaches
//!   `failure_rate_threshold` percent or the slow-call rate reaches `slow_call_rate_threshold`
//!   percent (a call is slow when it took longer than `slow_call_duration_threshold`).
//! - OPEN: calls are rejected without being made. The first call attempted once
//!   `wait_duration_in_open_state` has passed moves the breaker to HALF_OPEN (resilience4j's
//!   behaviour without `automaticTransitionFromOpenToHalfOpenEnabled`).
//! - HALF_OPEN: `permitted_number_of_calls_in_half_open_state` trial calls pass, the rest are
//!   rejected. When all trial outcomes are in, the same two rates over them decide: OPEN
//!   again, or CLOSED with an empty window.
//!
//! The window is COUNT_BASED (the last `sliding_window_size` calls) or TIME_BASED (the calls of
//! the last `sliding_window_size` seconds, kept as one tally per second of virtual time and
//! evicted a whole second at a time). Rates are compared in integers: `failures * 10^6 >=
//! threshold_ppm * calls`.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::engine::{Nanos, SECOND};

/// The most transitions [`CircuitBreaker`] keeps for [`CircuitBreaker::drain_transitions`];
/// older ones are dropped (the count in [`CircuitBreaker::transition_count`] stays exact).
pub const TRANSITION_LOG_LIMIT: usize = 1024;

/// Which calls the closed breaker judges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlidingWindowType {
    /// The last `sliding_window_size` calls.
    #[default]
    #[serde(alias = "COUNT_BASED")]
    CountBased,
    /// The calls that completed in the last `sliding_window_size` seconds.
    #[serde(alias = "TIME_BASED")]
    TimeBased,
}

/// A circuit breaker's settings, named as resilience4j names them (in snake case); the
/// defaults are resilience4j's documented defaults.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    /// Percent of failed calls at or above which the breaker opens. Default: 50.
    pub failure_rate_threshold: f64,
    /// Percent of slow calls at or above which the breaker opens. Default: 100.
    pub slow_call_rate_threshold: f64,
    /// A call that takes longer than this is slow. Default: 60s.
    #[serde(rename = "slow_call_duration_threshold", with = "crate::engine::duration_ns")]
    pub slow_call_duration_threshold_ns: Nanos,
    /// Trial calls let through in HALF_OPEN. Default: 10.
    pub permitted_number_of_calls_in_half_open_state: u32,
    /// Count-based or time-based window. Default: count-based.
    pub sliding_window_type: SlidingWindowType,
    /// Calls (count-based) or seconds (time-based) in the window. Default: 100.
    pub sliding_window_size: u32,
    /// Calls the window must hold before its rates are judged; for a count-based window, at
    /// most its size (as resilience4j caps it). Default: 100.
    pub minimum_number_of_calls: u32,
    /// How long the breaker stays OPEN before a call may try HALF_OPEN. Default: 60s.
    #[serde(rename = "wait_duration_in_open_state", with = "crate::engine::duration_ns")]
    pub wait_duration_in_open_state_ns: Nanos,
    /// Whether a `fail` reply (the server answered that it did not do the call: shed,
    /// expired, down) counts as a failed call, as resilience4j records every exception by
    /// default. Set it to false for an API whose `fail` is a business answer (a
    /// compare-and-set that did not match): then only timeouts and `unknown` replies fail.
    /// Not resilience4j's; read by the client, not the breaker. Default: true.
    pub record_fail_replies: bool,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_rate_threshold: 50.0,
            slow_call_rate_threshold: 100.0,
            slow_call_duration_threshold_ns: 60 * SECOND,
            permitted_number_of_calls_in_half_open_state: 10,
            sliding_window_type: SlidingWindowType::CountBased,
            sliding_window_size: 100,
            minimum_number_of_calls: 100,
            wait_duration_in_open_state_ns: 60 * SECOND,
            record_fail_replies: true,
        }
    }
}

impl BreakerConfig {
    /// Why this configuration cannot work, if it cannot: a threshold outside `(0, 100]` or a
    /// size of zero (resilience4j refuses the same).
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("failure_rate_threshold", self.failure_rate_threshold),
            ("slow_call_rate_threshold", self.slow_call_rate_threshold),
        ] {
            if !(value > 0.0 && value <= 100.0) {
                return Err(format!("{name} is {value}: it must be above 0 and at most 100"));
            }
        }
        for (name, value) in [
            (
                "permitted_number_of_calls_in_half_open_state",
                self.permitted_number_of_calls_in_half_open_state,
            ),
            ("sliding_window_size", self.sliding_window_size),
            ("minimum_number_of_calls", self.minimum_number_of_calls),
        ] {
            if value == 0 {
                return Err(format!("{name} must be at least 1"));
            }
        }
        Ok(())
    }
}

/// Where the breaker is in its state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls pass and are judged.
    Closed,
    /// Calls are rejected.
    Open,
    /// A few trial calls pass and decide between OPEN and CLOSED.
    HalfOpen,
}

impl BreakerState {
    /// The state as a number for plots: 0 closed, 1 open, 2 half-open.
    pub fn code(self) -> u8 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::Open => 1,
            BreakerState::HalfOpen => 2,
        }
    }
}

/// One change of state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// When it happened.
    pub at: Nanos,
    /// The state left.
    pub from: BreakerState,
    /// The state entered.
    pub to: BreakerState,
}

/// Counts of calls, failed calls and slow calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tally {
    calls: u32,
    failures: u32,
    slow: u32,
}

impl Tally {
    fn of(failed: bool, slow: bool) -> Tally {
        Tally { calls: 1, failures: u32::from(failed), slow: u32::from(slow) }
    }

    fn add(&mut self, other: Tally) {
        self.calls += other.calls;
        self.failures += other.failures;
        self.slow += other.slow;
    }

    fn subtract(&mut self, other: Tally) {
        self.calls -= other.calls;
        self.failures -= other.failures;
        self.slow -= other.slow;
    }
}

/// The closed state's sliding window, with its running total (subtract on evict).
#[derive(Clone, Debug)]
enum Window {
    Count { size: usize, outcomes: VecDeque<Tally>, total: Tally },
    Time { buckets: Vec<(u64, Tally)>, head_second: u64, total: Tally },
}

impl Window {
    fn new(kind: SlidingWindowType, size: u32) -> Window {
        let size = size as usize;
        match kind {
            SlidingWindowType::CountBased => Window::Count {
                size,
                outcomes: VecDeque::with_capacity(size),
                total: Tally::default(),
            },
            SlidingWindowType::TimeBased => Window::Time {
                buckets: vec![(0, Tally::default()); size],
                head_second: 0,
                total: Tally::default(),
            },
        }
    }

    /// Records one call completed at `now` and returns the window's total.
    fn record(&mut self, now: Nanos, outcome: Tally) -> Tally {
        match self {
            Window::Count { size, outcomes, total } => {
                if outcomes.len() == *size {
                    let evicted = outcomes.pop_front().expect("a full window has a call");
                    total.subtract(evicted);
                }
                outcomes.push_back(outcome);
                total.add(outcome);
                *total
            }
            Window::Time { buckets, head_second, total } => {
                let n = buckets.len() as u64;
                // Virtual time never goes back; a late report lands in the current second.
                let second = (now / SECOND).max(*head_second);
                let steps = (second - *head_second).min(n);
                for s in second + 1 - steps..=second {
                    let bucket = &mut buckets[(s % n) as usize];
                    total.subtract(bucket.1);
                    *bucket = (s, Tally::default());
                }
                *head_second = second;
                let bucket = &mut buckets[(second % n) as usize];
                debug_assert_eq!(bucket.0, second);
                bucket.1.add(outcome);
                total.add(outcome);
                *total
            }
        }
    }

    fn clear(&mut self) {
        match self {
            Window::Count { outcomes, total, .. } => {
                outcomes.clear();
                *total = Tally::default();
            }
            Window::Time { buckets, head_second, total } => {
                buckets.iter_mut().for_each(|b| *b = (0, Tally::default()));
                *head_second = 0;
                *total = Tally::default();
            }
        }
    }
}

/// A circuit breaker guarding calls to one destination.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    failure_threshold_ppm: u64,
    slow_threshold_ppm: u64,
    minimum_calls: u32,
    state: BreakerState,
    window: Window,
    opened_at: Nanos,
    permits_left: u32,
    trial: Tally,
    rejected: u64,
    transitions: u64,
    log: VecDeque<Transition>,
    /// Bug knob `reliability.breaker_never_half_opens`: once OPEN, the breaker stays OPEN,
    /// rejecting every call forever, however long the wait.
    pub never_half_opens: bool,
}

/// A percentage as parts per million of calls, rounded to the nearest.
fn percent_to_ppm(percent: f64) -> u64 {
    (percent.clamp(0.0, 100.0) * 10_000.0).round() as u64
}

impl CircuitBreaker {
    /// A CLOSED breaker with an empty window.
    pub fn new(config: &BreakerConfig) -> Self {
        debug_assert!(config.validate().is_ok(), "invalid breaker config {config:?}");
        let minimum_calls = match config.sliding_window_type {
            SlidingWindowType::CountBased => {
                config.minimum_number_of_calls.min(config.sliding_window_size)
            }
            SlidingWindowType::TimeBased => config.minimum_number_of_calls,
        };
        CircuitBreaker {
            config: *config,
            failure_threshold_ppm: percent_to_ppm(config.failure_rate_threshold),
            slow_threshold_ppm: percent_to_ppm(config.slow_call_rate_threshold),
            minimum_calls: minimum_calls.max(1),
            state: BreakerState::Closed,
            window: Window::new(config.sliding_window_type, config.sliding_window_size.max(1)),
            opened_at: 0,
            permits_left: 0,
            trial: Tally::default(),
            rejected: 0,
            transitions: 0,
            log: VecDeque::new(),
            never_half_opens: false,
        }
    }

    /// Whether a call may be made now. `false`: the call is rejected and must not be made
    /// (nor reported to [`on_result`](Self::on_result)). A `true` in HALF_OPEN uses one of its
    /// trial permits.
    pub fn try_acquire(&mut self, now: Nanos) -> bool {
        if self.state == BreakerState::Open
            && !self.never_half_opens
            && now >= self.opened_at.saturating_add(self.config.wait_duration_in_open_state_ns)
        {
            self.enter(now, BreakerState::HalfOpen);
        }
        let permitted = match self.state {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => {
                let has_permit = self.permits_left > 0;
                self.permits_left -= u32::from(has_permit);
                has_permit
            }
        };
        self.rejected += u64::from(!permitted);
        permitted
    }

    /// A permitted call completed at `now` after `duration_ns`, successfully or not. Outcomes
    /// that arrive while OPEN (calls made before it opened) change nothing; the breaker does
    /// not track calls one by one, so in HALF_OPEN every outcome counts as a trial's.
    pub fn on_result(&mut self, now: Nanos, duration_ns: Nanos, success: bool) {
        let outcome =
            Tally::of(!success, duration_ns > self.config.slow_call_duration_threshold_ns);
        match self.state {
            BreakerState::Closed => {
                let total = self.window.record(now, outcome);
                if total.calls >= self.minimum_calls && self.exceeded(total) {
                    self.enter(now, BreakerState::Open);
                }
            }
            BreakerState::Open => {}
            BreakerState::HalfOpen => {
                self.trial.add(outcome);
                if self.trial.calls >= self.config.permitted_number_of_calls_in_half_open_state {
                    let next = if self.exceeded(self.trial) {
                        BreakerState::Open
                    } else {
                        BreakerState::Closed
                    };
                    self.enter(now, next);
                }
            }
        }
    }

    /// The current state (OPEN until a call is attempted after the wait, as in resilience4j).
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// The current state as a number for plots: 0 closed, 1 open, 2 half-open.
    pub fn state_code(&self) -> u8 {
        self.state.code()
    }

    /// Calls rejected so far.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// State changes so far.
    pub fn transition_count(&self) -> u64 {
        self.transitions
    }

    /// The state changes since the last drain, oldest first (at most
    /// [`TRANSITION_LOG_LIMIT`] of them).
    pub fn drain_transitions(&mut self) -> std::collections::vec_deque::Drain<'_, Transition> {
        self.log.drain(..)
    }

    fn exceeded(&self, tally: Tally) -> bool {
        let calls = u64::from(tally.calls);
        u64::from(tally.failures) * 1_000_000 >= self.failure_threshold_ppm * calls
            || u64::from(tally.slow) * 1_000_000 >= self.slow_threshold_ppm * calls
    }

    fn enter(&mut self, now: Nanos, to: BreakerState) {
        debug_assert_ne!(self.state, to);
        match to {
            BreakerState::Closed => self.window.clear(),
            BreakerState::Open => self.opened_at = now,
            BreakerState::HalfOpen => {
                self.permits_left = self.config.permitted_number_of_calls_in_half_open_state;
                self.trial = Tally::default();
            }
        }
        if self.log.len() == TRANSITION_LOG_LIMIT {
            self.log.pop_front();
        }
        self.log.push_back(Transition { at: now, from: self.state, to });
        self.transitions += 1;
        self.state = to;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{SimRng, MILLISECOND};
    use proptest::prelude::*;
    use BreakerState::{Closed, HalfOpen, Open};

    /// A small count-based breaker: window 4, judged from 4 calls, opens at 50% failures or
    /// 100% slow calls (slower than 1s), 2 trial calls, 10s open.
    fn small() -> BreakerConfig {
        BreakerConfig {
            failure_rate_threshold: 50.0,
            slow_call_rate_threshold: 100.0,
            slow_call_duration_threshold_ns: SECOND,
            permitted_number_of_calls_in_half_open_state: 2,
            sliding_window_type: SlidingWindowType::CountBased,
            sliding_window_size: 4,
            minimum_number_of_calls: 4,
            wait_duration_in_open_state_ns: 10 * SECOND,
            record_fail_replies: true,
        }
    }

    /// Makes one call at `now` that takes `duration` and succeeds or not; returns the state.
    fn call(b: &mut CircuitBreaker, now: Nanos, duration: Nanos, success: bool) -> BreakerState {
        assert!(b.try_acquire(now), "call at {now} rejected in {:?}", b.state());
        b.on_result(now + duration, duration, success);
        b.state()
    }

    fn edges(b: &mut CircuitBreaker) -> Vec<(Nanos, BreakerState, BreakerState)> {
        b.drain_transitions().map(|t| (t.at, t.from, t.to)).collect()
    }

    #[test]
    fn count_window_walks_every_transition() {
        let mut b = CircuitBreaker::new(&small());
        let ms = MILLISECOND;
        // Three failures: 100%, but fewer than minimum_number_of_calls.
        let states: Vec<_> = (0..3).map(|i| call(&mut b, i * SECOND, ms, false)).collect();
        assert_eq!(states, [Closed, Closed, Closed]);
        // The fourth call, a success: 3 of 4 failed, 75% >= 50%.
        assert_eq!(call(&mut b, 3 * SECOND, ms, true), Open);
        let opened = 3 * SECOND + ms;
        assert_eq!(b.state_code(), 1);
        assert!(!b.try_acquire(opened + 10 * SECOND - 1));
        assert_eq!((b.state(), b.rejected()), (Open, 1));
        // After the wait, the next attempt half-opens; two trial permits, then rejections.
        let trial = opened + 10 * SECOND;
        assert_eq!(
            [b.try_acquire(trial), b.try_acquire(trial), b.try_acquire(trial)],
            [true, true, false]
        );
        assert_eq!((b.state(), b.state_code(), b.rejected()), (HalfOpen, 2, 2));
        // One of two trials fails: 50% >= 50%, open again.
        b.on_result(trial + ms, ms, true);
        assert_eq!(b.state(), HalfOpen);
        b.on_result(trial + 2 * ms, ms, false);
        assert_eq!(b.state(), Open);
        let reopened = trial + 2 * ms;
        // Two good trials close it, with an empty window: three failures do not reopen it.
        let retrial = reopened + 10 * SECOND;
        assert_eq!(call(&mut b, retrial, ms, true), HalfOpen);
        assert_eq!(call(&mut b, retrial + SECOND, ms, true), Closed);
        assert_eq!(b.state_code(), 0);
        let states: Vec<_> =
            (0..3).map(|i| call(&mut b, retrial + (2 + i) * SECOND, ms, false)).collect();
        assert_eq!(states, [Closed, Closed, Closed]);
        assert_eq!(
            edges(&mut b),
            [
                (opened, Closed, Open),
                (trial, Open, HalfOpen),
                (reopened, HalfOpen, Open),
                (retrial, Open, HalfOpen),
                (retrial + SECOND + ms, HalfOpen, Closed),
            ]
        );
        assert_eq!(b.transition_count(), 5);
        assert!(edges(&mut b).is_empty(), "drained twice");
    }

    #[test]
    fn count_window_forgets_calls_older_than_its_size() {
        let mut b = CircuitBreaker::new(&small());
        // F S S S: 25%. S S S F (the first failure evicted): 25%. S S F F: 50%, open.
        let outcomes = [false, true, true, true, true, true, true, false];
        for (i, ok) in outcomes.into_iter().enumerate() {
            assert_eq!(call(&mut b, i as u64 * SECOND, 1, ok), Closed, "call {i}");
        }
        assert_eq!(call(&mut b, 8 * SECOND, 1, false), Open);
    }

    #[test]
    fn slow_calls_open_the_breaker_at_their_threshold() {
        let config = BreakerConfig {
            failure_rate_threshold: 100.0,
            slow_call_rate_threshold: 50.0,
            ..small()
        };
        let mut b = CircuitBreaker::new(&config);
        // Exactly the threshold is not slow (resilience4j: slower than it); 1s + 1ns is.
        let durations = [SECOND, SECOND, SECOND + 1];
        for (i, d) in durations.into_iter().enumerate() {
            assert_eq!(call(&mut b, i as u64 * 5 * SECOND, d, true), Closed);
        }
        assert_eq!(call(&mut b, 20 * SECOND, 2 * SECOND, true), Open);
        // In HALF_OPEN the slow rate judges the trials too: one of two slow, open again.
        let trial = 22 * SECOND + 10 * SECOND;
        assert_eq!(call(&mut b, trial, 2 * SECOND, true), HalfOpen);
        assert_eq!(call(&mut b, trial, MILLISECOND, true), Open);
        // Failures alone below 100% do not open it.
        let mut b = CircuitBreaker::new(&config);
        for (i, ok) in [false, false, false, true, true].into_iter().enumerate() {
            assert_eq!(call(&mut b, i as u64 * SECOND, 1, ok), Closed);
        }
    }

    #[test]
    fn minimum_number_of_calls_is_capped_by_a_count_window() {
        let config = BreakerConfig { minimum_number_of_calls: 100, ..small() };
        let mut b = CircuitBreaker::new(&config);
        let states: Vec<_> = (0..4).map(|i| call(&mut b, i, 0, false)).collect();
        assert_eq!(states, [Closed, Closed, Closed, Open]);
        // A time window is not capped: 10 failures in 2s, judged only from 20 calls.
        let config = BreakerConfig {
            sliding_window_type: SlidingWindowType::TimeBased,
            sliding_window_size: 2,
            minimum_number_of_calls: 20,
            ..small()
        };
        let mut b = CircuitBreaker::new(&config);
        for i in 0..19 {
            assert_eq!(call(&mut b, i * 10 * MILLISECOND, 0, false), Closed);
        }
        assert_eq!(call(&mut b, 190 * MILLISECOND, 0, false), Open);
    }

    #[test]
    fn time_window_evicts_whole_seconds() {
        let config = BreakerConfig {
            sliding_window_type: SlidingWindowType::TimeBased,
            sliding_window_size: 2,
            minimum_number_of_calls: 3,
            ..small()
        };
        let mut b = CircuitBreaker::new(&config);
        let ms = MILLISECOND;
        // Two failures in second 0; by second 2 they are out of the window (seconds 1 and 2).
        assert_eq!(call(&mut b, 100 * ms, 0, false), Closed);
        assert_eq!(call(&mut b, 500 * ms, 0, false), Closed);
        assert_eq!(call(&mut b, 2_500 * ms, 0, true), Closed);
        assert_eq!(call(&mut b, 2_600 * ms, 0, false), Closed);
        // Second 3: the window is seconds 2 and 3, S F F: 67%, from 3 calls.
        assert_eq!(call(&mut b, 3_900 * ms, 0, false), Open);
        // Same calls with the success a second earlier: it is evicted at second 3, so only
        // two calls are in the window and the breaker stays closed.
        let mut b = CircuitBreaker::new(&config);
        for (at, ok) in [(1_500, true), (2_600, false), (3_900, false)] {
            assert_eq!(call(&mut b, at * ms, 0, ok), Closed, "call at {at}ms");
        }
        // A gap longer than the window empties it: two failures then are too few.
        assert_eq!(call(&mut b, 100 * SECOND, 0, false), Closed);
        assert_eq!(call(&mut b, 100 * SECOND, 0, false), Closed);
        assert_eq!(call(&mut b, 101 * SECOND, 0, false), Open);
    }

    #[test]
    fn the_wait_is_measured_from_opening_and_results_while_open_are_ignored() {
        let mut b = CircuitBreaker::new(&small());
        for i in 0..4 {
            call(&mut b, i, 0, false);
        }
        assert_eq!(b.state(), Open);
        // A call made before it opened reports late: nothing changes.
        b.on_result(5 * SECOND, 0, true);
        assert_eq!((b.state(), b.transition_count()), (Open, 1));
        assert!(!b.try_acquire(3 + 10 * SECOND - 1));
        assert!(b.try_acquire(3 + 10 * SECOND));
        assert_eq!(b.state(), HalfOpen);
    }

    #[test]
    fn never_half_opens_knob_keeps_it_open_forever() {
        let mut b = CircuitBreaker::new(&small());
        b.never_half_opens = true;
        for i in 0..4 {
            call(&mut b, i, 0, false);
        }
        let tries: Vec<bool> = (1..=5).map(|h| b.try_acquire(h * 3_600 * SECOND)).collect();
        assert_eq!(tries, [false; 5]);
        assert_eq!((b.state(), b.rejected(), b.transition_count()), (Open, 5, 1));
    }

    #[test]
    fn defaults_are_resilience4js_and_config_parses() {
        let d = BreakerConfig::default();
        assert_eq!(d.failure_rate_threshold, 50.0);
        assert_eq!(d.slow_call_rate_threshold, 100.0);
        assert_eq!(d.slow_call_duration_threshold_ns, 60 * SECOND);
        assert_eq!(d.permitted_number_of_calls_in_half_open_state, 10);
        assert_eq!(d.sliding_window_type, SlidingWindowType::CountBased);
        assert_eq!(d.sliding_window_size, 100);
        assert_eq!(d.minimum_number_of_calls, 100);
        assert_eq!(d.wait_duration_in_open_state_ns, 60 * SECOND);
        assert!(d.validate().is_ok());
        let c: BreakerConfig = toml::from_str(
            "sliding_window_type = \"TIME_BASED\"\nwait_duration_in_open_state = \"5s\"\n\
             slow_call_duration_threshold = \"250ms\"",
        )
        .unwrap();
        assert_eq!(c.sliding_window_type, SlidingWindowType::TimeBased);
        assert_eq!(c.wait_duration_in_open_state_ns, 5 * SECOND);
        assert_eq!(c.slow_call_duration_threshold_ns, 250 * MILLISECOND);
        let c: BreakerConfig = toml::from_str("sliding_window_type = \"count_based\"").unwrap();
        assert_eq!(c, d);
        assert!(toml::from_str::<BreakerConfig>("window = 3").is_err());
        assert!(BreakerConfig { failure_rate_threshold: 0.0, ..d }.validate().is_err());
        assert!(BreakerConfig { slow_call_rate_threshold: 101.0, ..d }.validate().is_err());
        assert!(BreakerConfig { sliding_window_size: 0, ..d }.validate().is_err());
    }

    proptest! {
        #![proptest_config(crate::property::proptest_config(300))]
        #[test]
        fn transitions_follow_the_state_machine(
            seed in any::<u64>(),
            time_based in any::<bool>(),
            size in 1..6u32,
            minimum in 1..8u32,
            permitted in 1..4u32,
            steps in 1..400usize,
        ) {
            let config = BreakerConfig {
                sliding_window_type: if time_based {
                    SlidingWindowType::TimeBased
                } else {
                    SlidingWindowType::CountBased
                },
                sliding_window_size: size,
                minimum_number_of_calls: minimum,
                permitted_number_of_calls_in_half_open_state: permitted,
                wait_duration_in_open_state_ns: 2 * SECOND,
                ..small()
            };
            let mut b = CircuitBreaker::new(&config);
            let mut rng = SimRng::new(seed, 11);
            let (mut now, mut open_since, mut trials) = (0u64, 0u64, 0u32);
            let mut state = Closed;
            for _ in 0..steps {
                now += rng.below(400 * MILLISECOND);
                let permitted_call = b.try_acquire(now);
                for t in b.drain_transitions() {
                    prop_assert_eq!(t.from, state);
                    prop_assert_eq!((t.from, t.to), (Open, HalfOpen));
                    prop_assert!(t.at >= open_since + 2 * SECOND);
                    state = t.to;
                    trials = 0;
                }
                prop_assert_eq!(state, b.state());
                match state {
                    Closed => prop_assert!(permitted_call),
                    Open => prop_assert!(!permitted_call),
                    HalfOpen => {
                        trials += u32::from(permitted_call);
                        prop_assert!(trials <= permitted);
                    }
                }
                if permitted_call {
                    let took = rng.below(2 * SECOND);
                    now += took;
                    b.on_result(now, took, rng.below(3) > 0);
                }
                for t in b.drain_transitions() {
                    prop_assert_eq!(t.from, state);
                    let legal = matches!(
                        (t.from, t.to),
                        (Closed, Open) | (HalfOpen, Open) | (HalfOpen, Closed)
                    );
                    prop_assert!(legal, "{:?}", t);
                    if t.to == Open {
                        open_since = t.at;
                    }
                    if t.from == HalfOpen {
                        prop_assert_eq!(trials, permitted);
                    }
                    state = t.to;
                }
                prop_assert_eq!(state, b.state());
            }
        }
    }
}
