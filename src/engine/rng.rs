//! Seeded randomness: one root seed, one independent ChaCha stream per component.
//!
//! Every component (the network, each node, each disk, each client, the nemesis) draws from its
//! own stream, so adding a client or a node does not change what the network draws. Streams are
//! ChaCha8 keyed by the run's seed with the component's stream number as ChaCha's 64-bit stream
//! id: cheap to create and statistically independent.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Stream numbers of the simulator's components. Nodes, disks and clients are offset by their
/// index, so stream numbers never collide while fewer than 2^20 of each exist.
pub mod stream {
    /// The network: latency, loss, duplication, reordering.
    pub const NETWORK: u64 = 1;
    /// The random fault generator.
    pub const NEMESIS: u64 = 2;
    /// Scenario set-up: initial clock offsets and drifts.
    pub const SETUP: u64 = 3;
    /// Open-loop client arrivals: when the next operation arrives, which idle client takes it.
    pub const ARRIVALS: u64 = 4;
    /// Resolving symbolic fault targets (`leader`, `random`) when a fault is applied.
    pub const RESOLVER: u64 = 5;
    /// The fault schedule's own draws: times written as ranges (`at = "1s..2s"`), delays,
    /// coin flips (`probability`), drawn once per fault at the start.
    pub const SCHEDULE: u64 = 6;
    /// The protocol settings a scenario's `[vary]` draws for the run.
    pub const VARY: u64 = 7;
    /// Base of the per-node protocol streams (`NODE + node index`).
    pub const NODE: u64 = 1 << 20;
    /// Base of the per-node disk streams.
    pub const DISK: u64 = 2 << 20;
    /// Base of the per-client streams.
    pub const CLIENT: u64 = 3 << 20;
}

/// A deterministic random stream. The only source of randomness inside a run.
#[derive(Clone, Debug)]
pub struct SimRng {
    inner: ChaCha8Rng,
}

impl SimRng {
    /// The stream numbered `stream` of the run seeded with `seed`.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream);
        SimRng { inner }
    }

    /// A uniformly random `u64`.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A uniformly random number in `0..bound` (`bound` > 0), without modulo bias worth noting
    /// (Lemire's multiply-shift; the bias is below 2^-64 * bound).
    #[inline]
    pub fn below(&mut self, bound: u64) -> u64 {
        debug_assert!(bound > 0, "below(0)");
        ((self.next_u64() as u128 * bound as u128) >> 64) as u64
    }

    /// A uniformly random number in `low..=high`.
    #[inline]
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        debug_assert!(low <= high);
        if high - low == u64::MAX {
            return self.next_u64();
        }
        low + self.below(high - low + 1)
    }

    /// True with probability `ppm` parts per million.
    #[inline]
    pub fn chance_ppm(&mut self, ppm: u32) -> bool {
        ppm > 0 && (ppm >= 1_000_000 || self.below(1_000_000) < u64::from(ppm))
    }

    /// A uniformly chosen element of `items`, or `None` if it is empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            Some(&items[self.below(items.len() as u64) as usize])
        }
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// An index chosen with probability proportional to `weights[i]`; `None` if all are zero.
    pub fn weighted(&mut self, weights: &[u32]) -> Option<usize> {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        if total == 0 {
            return None;
        }
        let mut ticket = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if ticket < u64::from(w) {
                return Some(i);
            }
            ticket -= u64::from(w);
        }
        unreachable!("ticket below total weight")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a: Vec<u64> = (0..4).map(|_| SimRng::new(7, 1).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut x = SimRng::new(7, 1);
        let mut y = SimRng::new(7, 2);
        let mut z = SimRng::new(8, 1);
        let (xs, ys, zs): (Vec<_>, Vec<_>, Vec<_>) = (0..8)
            .map(|_| (x.next_u64(), y.next_u64(), z.next_u64()))
            .fold((vec![], vec![], vec![]), |mut acc, (a, b, c)| {
                acc.0.push(a);
                acc.1.push(b);
                acc.2.push(c);
                acc
            });
        assert_ne!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn below_and_chance_stay_in_range() {
        let mut rng = SimRng::new(1, 1);
        let mut hits = 0;
        for _ in 0..100_000 {
            assert!(rng.below(10) < 10);
            let v = rng.between(5, 7);
            assert!((5..=7).contains(&v));
            if rng.chance_ppm(100_000) {
                hits += 1;
            }
        }
        // 10% of 100k, within 5 standard deviations (~95).
        assert!((9_500..=10_500).contains(&hits), "hits {hits}");
        assert!(!rng.chance_ppm(0));
        assert!(rng.chance_ppm(1_000_000));
    }

    #[test]
    fn weighted_respects_zero_weights() {
        let mut rng = SimRng::new(3, 3);
        for _ in 0..1000 {
            assert_eq!(rng.weighted(&[0, 5, 0]), Some(1));
        }
        assert_eq!(rng.weighted(&[0, 0]), None);
    }
}
