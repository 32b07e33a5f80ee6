//! Client reliability policies (DDIA ch. 1): pure, sans-IO state machines a client consults
//! before and after each call.
//!
//! Nothing here sends, sleeps or reads a clock. Every function that depends on time takes the
//! virtual time `now` (nanoseconds) from its caller, and every random choice is drawn from a
//! [`SimRng`](crate::engine::SimRng) the caller passes in, so a client composed of these
//! policies replays bit for bit under one seed. Arithmetic is integer (tokens in thousandths,
//! rates in parts per million) so results do not depend on float rounding.
//!
//! - [`backoff`]: exponential backoff with none, full, equal or decorrelated jitter (AWS's
//!   "Exponential Backoff And Jitter"), or the naive immediate retry;
//! - [`budget`]: a retry budget (Finagle, gRPC retry throttling): retries earn their way as a
//!   fraction of first attempts, plus a floor per second;
//! - [`breaker`]: a circuit breaker with resilience4j's states, thresholds and sliding windows;
//! - [`limiter`]: client-side rate limiters, a token bucket and a sliding-window log;
//! - [`hedge`]: when to send a hedged duplicate of a slow request, and how many may be out;
//! - [`policy`]: all of them composed, as the generic client in `workload/` consults them
//!   (`[clients.retry]`, `[clients.breaker]`, `[clients.limiter]`, `[clients.hedge]`).
//!
//! Invariant: this module knows only `engine/` (time, randomness, durations).

pub mod backoff;
pub mod breaker;
pub mod budget;
pub mod hedge;
pub mod limiter;
pub mod policy;

pub use backoff::{Backoff, BackoffConfig, Jitter};
pub use breaker::{BreakerConfig, BreakerState, CircuitBreaker, SlidingWindowType, Transition};
pub use budget::{RetryBudget, RetryBudgetConfig};
pub use hedge::{HedgeConfig, HedgePolicy, HedgeTrigger};
pub use limiter::{SlidingWindowConfig, SlidingWindowLog, TokenBucket, TokenBucketConfig};
pub use policy::{
    Admit, CallResult, LimiterConfig, Policies, PolicyConfig, PolicyCounts, Rejection, RetryConfig,
};
