//! The policies composed: what a client consults before each attempt and after each outcome.
//!
//! A [`Policies`] is one application's set (the simulator's clients share one, as the callers
//! of one process share its resilience4j breaker): a retry policy (backoff with jitter and an
//! optional retry budget), a circuit breaker, a rate limiter and a hedging policy, each
//! optional. Without any of them it is the naive client: every attempt goes at once and
//! retries are limited only by the operation's deadline.
//!
//! The order of the checks before an attempt is the one that wastes least: the rate limiter is
//! asked first whether a permit is free. If none is, the attempt reserves the next one (when it
//! comes within `max_wait`) and waits for it without touching the breaker, so a delayed call
//! does not use a half-open trial permit; reservations queue, so waiters do not stampede for
//! one permit. Then the breaker; then the free permit is taken. Before a retry, its attempts
//! and its budget are asked first, then the same checks as any attempt.

use serde::{Deserialize, Serialize};

use super::backoff::{Backoff, BackoffConfig, Jitter};
use super::breaker::{BreakerConfig, CircuitBreaker};
use super::budget::{RetryBudget, RetryBudgetConfig};
use super::hedge::{HedgeConfig, HedgePolicy};
use super::limiter::{SlidingWindowConfig, SlidingWindowLog, TokenBucket, TokenBucketConfig};
use crate::engine::{Nanos, SimRng, MILLISECOND};

/// The bug knobs of the reliability policies.
pub const BUGS: [&str; 1] = ["reliability.breaker_never_half_opens"];

/// A retry policy (`[clients.retry]`): exponential backoff with jitter, a cap on attempts, and
/// optionally a retry budget. Every field is optional.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// How delays are drawn: `immediate`, `none`, `full`, `equal` or `decorrelated`.
    /// Default: `full`.
    pub jitter: Jitter,
    /// The first retry's delay before jitter. Default: 10ms.
    #[serde(rename = "base", with = "crate::engine::duration_ns")]
    pub base_ns: Nanos,
    /// The largest delay. Default: 1s.
    #[serde(rename = "cap", with = "crate::engine::duration_ns")]
    pub cap_ns: Nanos,
    /// Attempts per operation, the first included. Default: 4.
    pub max_attempts: u32,
    /// Retry after a `fail` reply too (the server did not do the call: it shed it, or its
    /// budget had run out). Default: false (a `fail` ends the operation).
    pub on_fail: bool,
    /// `[clients.retry.budget]`: retries must be earned by first attempts. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<RetryBudgetConfig>,
}

impl Default for RetryConfig {
    fn default() -> Self {
        let b = BackoffConfig::default();
        RetryConfig {
            jitter: b.jitter,
            base_ns: b.base_ns,
            cap_ns: b.cap_ns,
            max_attempts: b.max_attempts,
            on_fail: false,
            budget: None,
        }
    }
}

impl RetryConfig {
    /// The backoff part.
    pub fn backoff(&self) -> BackoffConfig {
        let RetryConfig { jitter, base_ns, cap_ns, max_attempts, .. } = *self;
        BackoffConfig { jitter, base_ns, cap_ns, max_attempts }
    }

    /// Why this policy cannot work, if it cannot, as `(key, reason)` with the key relative to
    /// `[clients.retry]`.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        self.backoff()
            .validate()
            .map_err(|e| (if e.starts_with("max_attempts") { "max_attempts" } else { "cap" }, e))?;
        if let Some(budget) = &self.budget {
            budget.validate().map_err(|e| ("budget.ratio", e))?;
        }
        Ok(())
    }
}

/// A client-side rate limiter (`[clients.limiter]`): exactly one of the two kinds, and how long
/// an attempt may wait for a permit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimiterConfig {
    /// `token_bucket = { rate_per_s = 100, burst = 10 }`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_bucket: Option<TokenBucketConfig>,
    /// `sliding_window = { limit = 100, window = "1s" }`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sliding_window: Option<SlidingWindowConfig>,
    /// An attempt that finds no permit waits for the next one if it comes within this long
    /// (and before the operation's deadline); otherwise the attempt is rejected. Default: 0
    /// (reject at once, resilience4j's `timeoutDuration` set to zero).
    #[serde(rename = "max_wait", with = "crate::engine::duration_ns")]
    pub max_wait_ns: Nanos,
}

impl LimiterConfig {
    /// Why this limiter cannot work, if it cannot, as `(key, reason)`.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        match (&self.token_bucket, &self.sliding_window) {
            (Some(_), Some(_)) | (None, None) => Err((
                "token_bucket",
                "name exactly one of `token_bucket` and `sliding_window`".into(),
            )),
            (Some(t), None) if t.rate_per_s == 0 || t.burst == 0 => {
                Err(("token_bucket", "`rate_per_s` and `burst` must be at least 1".into()))
            }
            (None, Some(w)) if w.limit == 0 || w.window_ns == 0 => {
                Err(("sliding_window", "`limit` and `window` must be at least 1".into()))
            }
            _ => Ok(()),
        }
    }
}

/// Every policy a client population may use; `None` leaves that policy out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyConfig {
    /// Backoff, attempts and budget; `None`: the naive client (immediate retries until the
    /// deadline).
    pub retry: Option<RetryConfig>,
    /// A circuit breaker.
    pub breaker: Option<BreakerConfig>,
    /// A rate limiter.
    pub limiter: Option<LimiterConfig>,
    /// Hedged requests.
    pub hedge: Option<HedgeConfig>,
    /// Bug knobs switched on, from [`BUGS`].
    pub bugs: Vec<String>,
}

impl PolicyConfig {
    /// Why these policies cannot work, if they cannot, as `(key, reason)` with the key
    /// relative to `[clients]`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if let Some(retry) = &self.retry {
            retry.validate().map_err(|(k, e)| (format!("retry.{k}"), e))?;
        }
        if let Some(breaker) = &self.breaker {
            // Its reasons start with the setting's name.
            breaker.validate().map_err(|e| {
                let key = e.split_whitespace().next().unwrap_or_default();
                (format!("breaker.{key}"), e)
            })?;
        }
        if let Some(limiter) = &self.limiter {
            limiter.validate().map_err(|(k, e)| (format!("limiter.{k}"), e))?;
        }
        if let Some(hedge) = &self.hedge {
            if !(0.0..=1000.0).contains(&hedge.max_ratio) {
                let why = format!("max_ratio {} is not between 0 and 1000", hedge.max_ratio);
                return Err(("hedge.max_ratio".into(), why));
            }
            if hedge.samples == 0 {
                return Err(("hedge.samples".into(), "must be at least 1".into()));
            }
        }
        if let Some(bug) = self.bugs.iter().find(|b| !BUGS.contains(&b.as_str())) {
            let why = format!("unknown bug knob `{bug}` for the clients (their knobs: {})", {
                BUGS.join(", ")
            });
            return Err(("bugs".into(), why));
        }
        if self.bugs.iter().any(|b| b == BUGS[0]) && self.breaker.is_none() {
            let why = format!("`{}` needs a breaker: add `[clients.breaker]`", BUGS[0]);
            return Err(("bugs".into(), why));
        }
        Ok(())
    }
}

/// Why an attempt was not made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The circuit breaker is open (or half-open with no trial permit left).
    BreakerOpen,
    /// The rate limiter had no permit within `max_wait`.
    RateLimited,
    /// The operation used its `max_attempts`.
    AttemptsUsed,
    /// The retry budget had no token.
    BudgetSpent,
}

/// What to do with an attempt that is due now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Send it now.
    Go,
    /// Ask again at this time (the rate limiter's next permit).
    Wait(Nanos),
    /// Do not make it.
    Reject(Rejection),
}

/// How a call ended, as the breaker judges it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallResult {
    /// An answer: the service is up.
    Success,
    /// A timeout, an `unknown`, or a `fail` the breaker records.
    Failure,
}

/// What the policies did over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyCounts {
    /// Attempts the breaker rejected.
    pub breaker_rejected: u64,
    /// Attempts the rate limiter rejected.
    pub limiter_rejected: u64,
    /// Attempts the rate limiter delayed.
    pub limiter_delayed: u64,
    /// Retries the budget refused.
    pub budget_refused: u64,
    /// Operations that used all their attempts.
    pub attempts_used: u64,
    /// Hedged copies sent.
    pub hedges: u64,
    /// Times the breaker opened.
    pub breaker_opened: u64,
}

#[derive(Clone, Debug)]
enum Limiter {
    Bucket(TokenBucket),
    Window(SlidingWindowLog),
}

impl Limiter {
    fn next_available(&mut self, now: Nanos) -> Nanos {
        match self {
            Limiter::Bucket(b) => b.next_available(now),
            Limiter::Window(w) => w.next_available(now),
        }
    }

    fn reserve(&mut self, now: Nanos) -> Nanos {
        match self {
            Limiter::Bucket(b) => b.reserve(now),
            Limiter::Window(w) => w.reserve(now),
        }
    }
}

/// The policies' state. See the module documentation.
#[derive(Clone, Debug)]
pub struct Policies {
    retry: Option<RetryConfig>,
    budget: Option<RetryBudget>,
    breaker: Option<CircuitBreaker>,
    record_fail_replies: bool,
    limiter: Option<Limiter>,
    max_wait_ns: Nanos,
    hedge: Option<HedgePolicy>,
    counts: PolicyCounts,
    /// The breaker's state code when last reported by [`breaker_change`](Self::breaker_change).
    reported_state: u8,
}

impl Policies {
    /// The policies of `config` at time `now` (buckets full, breaker closed, budget empty).
    pub fn new(config: &PolicyConfig, now: Nanos) -> Self {
        debug_assert!(config.validate().is_ok(), "invalid policies {config:?}");
        let breaker = config.breaker.as_ref().map(|c| {
            let mut b = CircuitBreaker::new(c);
            b.never_half_opens = config.bugs.iter().any(|k| k == BUGS[0]);
            b
        });
        let limiter = config.limiter.as_ref().map(|l| match (&l.token_bucket, &l.sliding_window) {
            (Some(t), _) => Limiter::Bucket(TokenBucket::new(t, now)),
            (None, Some(w)) => Limiter::Window(SlidingWindowLog::new(w)),
            (None, None) => unreachable!("validated: one limiter kind"),
        });
        Policies {
            retry: config.retry,
            budget: config.retry.and_then(|r| r.budget).map(|b| RetryBudget::new(&b, now)),
            record_fail_replies: config.breaker.is_none_or(|b| b.record_fail_replies),
            breaker,
            limiter,
            max_wait_ns: config.limiter.map_or(0, |l| l.max_wait_ns),
            hedge: config.hedge.as_ref().map(HedgePolicy::new),
            counts: PolicyCounts::default(),
            reported_state: 0,
        }
    }

    /// True when an attempt must be admitted at the moment it goes (a breaker or a limiter
    /// decides), so a delayed retry must wake first rather than be sent ahead of time.
    pub fn admits_at_send(&self) -> bool {
        self.breaker.is_some() || self.limiter.is_some()
    }

    /// The backoff state for a new operation, if a retry policy is set.
    pub fn backoff(&self) -> Option<Backoff> {
        self.retry.map(|r| Backoff::new(r.backoff()))
    }

    /// Whether a `fail` reply should be retried.
    pub fn retries_fail(&self) -> bool {
        self.retry.is_some_and(|r| r.on_fail)
    }

    /// Whether an attempt due at `now` may go; `deadline` is its operation's, and
    /// `holds_permit` says it waited for a limiter permit reserved for it (an earlier
    /// [`Admit::Wait`]), which it now uses.
    pub fn admit(&mut self, now: Nanos, deadline: Nanos, holds_permit: bool) -> Admit {
        if let (Some(limiter), false) = (&mut self.limiter, holds_permit) {
            let at = limiter.next_available(now);
            if at > now {
                if at - now <= self.max_wait_ns && at < deadline {
                    // Reserved: the permit is this attempt's at `at`, whatever else asks.
                    let reserved = limiter.reserve(now);
                    debug_assert_eq!(reserved, at);
                    self.counts.limiter_delayed += 1;
                    return Admit::Wait(at);
                }
                self.counts.limiter_rejected += 1;
                return Admit::Reject(Rejection::RateLimited);
            }
        }
        if let Some(breaker) = &mut self.breaker {
            if !breaker.try_acquire(now) {
                return Admit::Reject(Rejection::BreakerOpen);
            }
        }
        if let (Some(limiter), false) = (&mut self.limiter, holds_permit) {
            let at = limiter.reserve(now);
            debug_assert_eq!(at, now, "a permit was free");
        }
        Admit::Go
    }

    /// An operation's first attempt went at `now` (it funds the retry budget).
    pub fn on_first_attempt(&mut self, now: Nanos) {
        if let Some(budget) = &mut self.budget {
            budget.on_request(now);
        }
        if let Some(hedge) = &mut self.hedge {
            hedge.on_request(now);
        }
    }

    /// The delay before the next retry of an operation whose attempt just failed, or why there
    /// is none. `naive_ns` is the delay without a retry policy; `backoff` is the operation's.
    pub fn retry_delay(
        &mut self,
        now: Nanos,
        naive_ns: Nanos,
        backoff: Option<&mut Backoff>,
        rng: &mut SimRng,
    ) -> Result<Nanos, Rejection> {
        let Some(backoff) = backoff else { return Ok(naive_ns) };
        let Some(delay) = backoff.next_delay(rng) else {
            self.counts.attempts_used += 1;
            return Err(Rejection::AttemptsUsed);
        };
        if let Some(budget) = &mut self.budget {
            if !budget.try_retry(now) {
                return Err(Rejection::BudgetSpent);
            }
        }
        Ok(delay)
    }

    /// An attempt's call ended at `now` after `duration_ns` (a `fail` reply counts as
    /// [`fail_reply`](Self::fail_reply) says).
    pub fn on_result(&mut self, now: Nanos, duration_ns: Nanos, result: CallResult) {
        if let Some(breaker) = &mut self.breaker {
            breaker.on_result(now, duration_ns, result == CallResult::Success);
        }
    }

    /// How a `fail` reply counts for the breaker.
    pub fn fail_reply(&self) -> CallResult {
        if self.record_fail_replies {
            CallResult::Failure
        } else {
            CallResult::Success
        }
    }

    /// When the hedge of an attempt sent at `sent_at` is due, if hedging is on.
    pub fn hedge_at(&mut self, sent_at: Nanos) -> Option<Nanos> {
        self.hedge.as_mut().map(|h| h.hedge_at(sent_at))
    }

    /// Whether a hedge may go now.
    pub fn try_hedge(&mut self, now: Nanos) -> bool {
        self.hedge.as_mut().is_some_and(|h| h.try_hedge(now))
    }

    /// An operation ended at `now`, `latency_ns` after its first attempt; `hedged` if a hedge
    /// went for it. Only operations whose first attempt went are reported.
    pub fn on_complete(&mut self, now: Nanos, latency_ns: Nanos, hedged: bool) {
        if let Some(h) = &mut self.hedge {
            h.on_complete(now, latency_ns, hedged);
        }
    }

    /// The breaker's state code (0 closed, 1 open, 2 half-open) if it changed since the last
    /// call, for a gauge.
    pub fn breaker_change(&mut self) -> Option<u8> {
        let breaker = self.breaker.as_mut()?;
        for t in breaker.drain_transitions() {
            self.counts.breaker_opened += u64::from(t.to == super::BreakerState::Open);
        }
        let code = breaker.state_code();
        (code != self.reported_state).then(|| {
            self.reported_state = code;
            code
        })
    }

    /// Whether a breaker is set.
    pub fn has_breaker(&self) -> bool {
        self.breaker.is_some()
    }

    /// What the policies did so far (the breaker, budget and hedging count their own).
    pub fn counts(&self) -> PolicyCounts {
        PolicyCounts {
            breaker_rejected: self.breaker.as_ref().map_or(0, CircuitBreaker::rejected),
            budget_refused: self.budget.as_ref().map_or(0, RetryBudget::refused),
            hedges: self.hedge.as_ref().map_or(0, HedgePolicy::hedges_sent),
            ..self.counts
        }
    }
}

/// The naive client's pause before retrying after an `unknown` reply or a redirect without a
/// leader hint (a timeout is retried at once).
pub const NAIVE_PAUSE_NS: Nanos = 10 * MILLISECOND;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SECOND;
    use crate::reliability::SlidingWindowType;

    fn breaker(min: u32, wait_ns: Nanos) -> BreakerConfig {
        BreakerConfig {
            sliding_window_type: SlidingWindowType::CountBased,
            sliding_window_size: min,
            minimum_number_of_calls: min,
            permitted_number_of_calls_in_half_open_state: 1,
            wait_duration_in_open_state_ns: wait_ns,
            ..BreakerConfig::default()
        }
    }

    #[test]
    fn naive_policies_admit_everything_and_retry_at_the_naive_pause() {
        let mut p = Policies::new(&PolicyConfig::default(), 0);
        assert!(!p.admits_at_send());
        let mut rng = SimRng::new(1, 1);
        for now in 0..100 {
            assert_eq!(p.admit(now, u64::MAX, false), Admit::Go);
            assert_eq!(p.retry_delay(now, 7, None, &mut rng), Ok(7));
        }
        assert_eq!(p.counts(), PolicyCounts::default());
        assert_eq!(p.breaker_change(), None);
    }

    #[test]
    fn an_open_breaker_rejects_and_reports_its_state_once() {
        let config = PolicyConfig { breaker: Some(breaker(2, SECOND)), ..Default::default() };
        let mut p = Policies::new(&config, 0);
        for t in [1, 2] {
            assert_eq!(p.admit(t, u64::MAX, false), Admit::Go);
            p.on_result(t, 1, CallResult::Failure);
        }
        assert_eq!(p.breaker_change(), Some(1));
        assert_eq!(p.breaker_change(), None);
        assert_eq!(p.admit(3, u64::MAX, false), Admit::Reject(Rejection::BreakerOpen));
        // After the wait, one trial goes; its success closes the breaker.
        assert_eq!(p.admit(SECOND + 2, u64::MAX, false), Admit::Go);
        assert_eq!(p.breaker_change(), Some(2));
        assert_eq!(p.admit(SECOND + 3, u64::MAX, false), Admit::Reject(Rejection::BreakerOpen));
        p.on_result(SECOND + 4, 1, CallResult::Success);
        assert_eq!(p.breaker_change(), Some(0));
        let c = p.counts();
        assert_eq!((c.breaker_rejected, c.breaker_opened), (2, 1));
    }

    #[test]
    fn the_knob_keeps_the_breaker_open_forever() {
        let config = PolicyConfig {
            breaker: Some(breaker(1, MILLISECOND)),
            bugs: vec![BUGS[0].to_string()],
            ..Default::default()
        };
        let mut p = Policies::new(&config, 0);
        assert_eq!(p.admit(0, u64::MAX, false), Admit::Go);
        p.on_result(1, 1, CallResult::Failure);
        for t in [2, SECOND, 1_000 * SECOND] {
            assert_eq!(p.admit(t, u64::MAX, false), Admit::Reject(Rejection::BreakerOpen));
        }
    }

    #[test]
    fn a_limiter_delays_within_max_wait_and_rejects_beyond_it() {
        let limiter = LimiterConfig {
            token_bucket: Some(TokenBucketConfig { rate_per_s: 10, burst: 1 }),
            sliding_window: None,
            max_wait_ns: 50 * MILLISECOND,
        };
        let config = PolicyConfig { limiter: Some(limiter), ..Default::default() };
        let mut p = Policies::new(&config, 0);
        assert_eq!(p.admit(0, u64::MAX, false), Admit::Go);
        // The next token comes at 100ms: beyond the 50ms wait.
        assert_eq!(p.admit(0, u64::MAX, false), Admit::Reject(Rejection::RateLimited));
        assert_eq!(p.admit(60 * MILLISECOND, u64::MAX, false), Admit::Wait(100 * MILLISECOND));
        // Not past the deadline, though.
        assert_eq!(
            p.admit(60 * MILLISECOND, 90 * MILLISECOND, false),
            Admit::Reject(Rejection::RateLimited)
        );
        // The waiter of 60ms uses its permit; no one else gets one before 200ms.
        assert_eq!(p.admit(100 * MILLISECOND, u64::MAX, true), Admit::Go);
        assert_eq!(p.admit(160 * MILLISECOND, u64::MAX, false), Admit::Wait(200 * MILLISECOND));
        assert_eq!(
            p.admit(160 * MILLISECOND, u64::MAX, false),
            Admit::Reject(Rejection::RateLimited)
        );
        assert_eq!(p.counts().limiter_delayed, 2);
    }

    #[test]
    fn a_limiter_that_delays_spends_no_half_open_permit() {
        let limiter = LimiterConfig {
            token_bucket: Some(TokenBucketConfig { rate_per_s: 1, burst: 1 }),
            sliding_window: None,
            max_wait_ns: 2 * SECOND,
        };
        let config = PolicyConfig {
            breaker: Some(breaker(1, MILLISECOND)),
            limiter: Some(limiter),
            ..Default::default()
        };
        let mut p = Policies::new(&config, 0);
        assert_eq!(p.admit(0, u64::MAX, false), Admit::Go);
        p.on_result(1, 1, CallResult::Failure); // opens
        assert_eq!(p.admit(10 * MILLISECOND, u64::MAX, false), Admit::Wait(SECOND));
        // The trial permit is still there when the token comes.
        assert_eq!(p.admit(SECOND, u64::MAX, true), Admit::Go);
    }

    #[test]
    fn retries_stop_at_max_attempts_and_at_an_empty_budget() {
        let retry = RetryConfig {
            jitter: Jitter::None,
            max_attempts: 3,
            budget: Some(RetryBudgetConfig { ratio: 0.0, min_per_s: 1, max_tokens: 10 }),
            ..RetryConfig::default()
        };
        let config = PolicyConfig { retry: Some(retry), ..Default::default() };
        let mut p = Policies::new(&config, 0);
        let mut rng = SimRng::new(1, 1);
        let mut b = p.backoff().unwrap();
        // The reserve holds one retry a second.
        assert_eq!(p.retry_delay(0, 0, Some(&mut b), &mut rng), Ok(10 * MILLISECOND));
        assert_eq!(p.retry_delay(1, 0, Some(&mut b), &mut rng), Err(Rejection::BudgetSpent));
        let mut b = p.backoff().unwrap();
        let later = 5 * SECOND;
        assert_eq!(p.retry_delay(later, 0, Some(&mut b), &mut rng), Ok(10 * MILLISECOND));
        assert_eq!(p.retry_delay(2 * later, 0, Some(&mut b), &mut rng), Ok(20 * MILLISECOND));
        assert_eq!(
            p.retry_delay(3 * later, 0, Some(&mut b), &mut rng),
            Err(Rejection::AttemptsUsed)
        );
        let c = p.counts();
        assert_eq!((c.budget_refused, c.attempts_used), (1, 1));
    }

    #[test]
    fn validation_names_the_key() {
        let bad = |c: PolicyConfig| c.validate().unwrap_err().0;
        let retry = RetryConfig { max_attempts: 0, ..Default::default() };
        assert_eq!(
            bad(PolicyConfig { retry: Some(retry), ..Default::default() }),
            "retry.max_attempts"
        );
        let retry = RetryConfig { cap_ns: 1, ..Default::default() };
        assert_eq!(bad(PolicyConfig { retry: Some(retry), ..Default::default() }), "retry.cap");
        let limiter = LimiterConfig::default();
        assert_eq!(
            bad(PolicyConfig { limiter: Some(limiter), ..Default::default() }),
            "limiter.token_bucket"
        );
        let bugs = vec!["reliability.nope".to_string()];
        assert_eq!(bad(PolicyConfig { bugs, ..Default::default() }), "bugs");
        let bugs = vec![BUGS[0].to_string()];
        assert_eq!(bad(PolicyConfig { bugs, ..Default::default() }), "bugs");
    }
}
