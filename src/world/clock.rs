//! Node clocks: each node reads a local clock with its own offset and drift rate, and can suffer
//! jumps. Timers fire by the local clock.
//!
//! The local clock is piecewise linear in global time:
//! `local(g) = base_local + (g - base_global) * (1_000_000 + drift_ppm) / 1_000_000`.
//! Changing the drift or jumping re-bases the line at the current instant, so local time never
//! jumps except through an explicit clock jump.

use crate::engine::Nanos;

/// Largest drift accepted, in parts per million (50% fast or slow).
pub const DRIFT_PPM_LIMIT: i64 = 500_000;

/// A node's local clock as a function of global (true) time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    base_global: Nanos,
    base_local: i64,
    drift_ppm: i64,
}

impl Clock {
    /// A clock that reads `offset_ns` at global time 0 and runs `drift_ppm` parts per million
    /// fast (positive) or slow (negative).
    pub fn new(offset_ns: i64, drift_ppm: i64) -> Self {
        assert!(drift_ppm.abs() <= DRIFT_PPM_LIMIT, "drift {drift_ppm} ppm out of range");
        Clock { base_global: 0, base_local: offset_ns, drift_ppm }
    }

    /// The local reading at global time `global` (never below zero).
    #[inline]
    pub fn local(&self, global: Nanos) -> Nanos {
        debug_assert!(global >= self.base_global, "clock read before its base");
        let elapsed = global - self.base_global;
        if self.drift_ppm == 0 && self.base_local >= 0 {
            return (self.base_local as u64).saturating_add(elapsed);
        }
        let scaled = elapsed as i128 * (1_000_000 + self.drift_ppm as i128) / 1_000_000;
        (self.base_local as i128 + scaled).clamp(0, i64::MAX as i128) as Nanos
    }

    /// The earliest global time at or after `now` at which the local clock reads at least
    /// `deadline_local`.
    #[inline]
    pub fn global_at(&self, now: Nanos, deadline_local: Nanos) -> Nanos {
        let local_now = self.local(now);
        if local_now >= deadline_local {
            return now;
        }
        if self.drift_ppm == 0 {
            return now + (deadline_local - local_now);
        }
        let rate = 1_000_000 + self.drift_ppm as i128;
        let ahead = deadline_local as i128 - self.base_local as i128;
        // ceil(ahead * 1e6 / rate): the first global nanosecond where local >= deadline.
        let elapsed = (ahead * 1_000_000 + rate - 1) / rate;
        let global = (self.base_global as i128 + elapsed).max(now as i128) as Nanos;
        debug_assert!(self.local(global) >= deadline_local);
        global
    }

    /// Steps the local clock by `delta_ns` at global time `now` (forward or backward).
    pub fn jump(&mut self, now: Nanos, delta_ns: i64) {
        self.rebase(now);
        self.base_local = self.base_local.saturating_add(delta_ns).max(0);
    }

    /// Changes the drift rate from global time `now` on.
    pub fn set_drift(&mut self, now: Nanos, drift_ppm: i64) {
        assert!(drift_ppm.abs() <= DRIFT_PPM_LIMIT, "drift {drift_ppm} ppm out of range");
        self.rebase(now);
        self.drift_ppm = drift_ppm;
    }

    /// The drift rate in parts per million.
    pub fn drift_ppm(&self) -> i64 {
        self.drift_ppm
    }

    /// Local time minus global time at `now`: how far this clock is off.
    pub fn skew(&self, now: Nanos) -> i64 {
        self.local(now) as i64 - now as i64
    }

    fn rebase(&mut self, now: Nanos) {
        self.base_local = self.local(now) as i64;
        self.base_global = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{MILLISECOND, SECOND};

    #[test]
    fn offset_and_drift() {
        let c = Clock::new(5 * MILLISECOND as i64, 1_000); // 0.1% fast
        assert_eq!(c.local(0), 5 * MILLISECOND);
        assert_eq!(c.local(SECOND), SECOND + 5 * MILLISECOND + MILLISECOND);
        let slow = Clock::new(0, -100_000); // 10% slow
        assert_eq!(slow.local(10 * SECOND), 9 * SECOND);
    }

    #[test]
    fn global_at_inverts_local() {
        for drift in [-300_000, -7, 0, 13, 250_000] {
            let c = Clock::new(123_456, drift);
            for deadline in [0u64, 1, 999_999, 3 * SECOND + 17] {
                let g = c.global_at(0, deadline);
                assert!(c.local(g) >= deadline);
                if g > 0 {
                    assert!(c.local(g - 1) < deadline, "drift {drift} deadline {deadline}");
                }
            }
        }
    }

    #[test]
    fn jumps_move_local_time_only_at_the_jump() {
        let mut c = Clock::new(0, 0);
        c.jump(SECOND, 2 * SECOND as i64);
        assert_eq!(c.local(SECOND), 3 * SECOND);
        assert_eq!(c.local(2 * SECOND), 4 * SECOND);
        c.jump(2 * SECOND, -(10 * SECOND as i64));
        assert_eq!(c.local(2 * SECOND), 0, "backward jumps clamp at zero");
        c.set_drift(3 * SECOND, 500_000);
        assert_eq!(c.local(3 * SECOND), SECOND);
        assert_eq!(c.local(5 * SECOND), 4 * SECOND);
        assert_eq!(c.skew(5 * SECOND), -(SECOND as i64));
    }
}
