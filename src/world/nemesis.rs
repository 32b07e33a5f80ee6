//! The nemesis: a random fault generator with rates, drawing from its own seeded stream.
//!
//! It works in cycles: pause, break something, let it stay broken for a while, repair it. What
//! it breaks is named loosely (`leader`, `random`); the simulator resolves each fault when it is
//! applied and records the concrete fault, so a run's random faults can be written down as an
//! explicit schedule and replayed.

use super::fault::{Degrade, Fault, NodeRef, Pick, SignedDuration};
use crate::engine::{Nanos, SimRng};

/// Settings of the nemesis, resolved from a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NemesisPlan {
    /// Fault kinds (see `scenario::NEMESIS_KINDS`) and their relative weights.
    pub kinds: Vec<(String, u32)>,
    /// No fault before this time.
    pub start: Nanos,
    /// Mean pause between faults.
    pub interval: Nanos,
    /// Mean time a fault lasts.
    pub duration: Nanos,
    /// Largest clock jump either way.
    pub clock_jump_max: Nanos,
    /// How long a crash lasts, drawn log-uniformly from this range (else like any fault).
    pub crash_downtime: Option<(Nanos, Nanos)>,
}

/// The random fault generator.
#[derive(Clone, Debug)]
pub struct Nemesis {
    plan: NemesisPlan,
    weights: Vec<u32>,
    rng: SimRng,
}

/// One fault the nemesis wants applied now, how long it lasts, and when to come back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Strike {
    /// The fault, possibly with symbolic targets.
    pub fault: Fault,
    /// How long until it is repaired.
    pub lasts: Nanos,
    /// Pause after the repair before the next strike.
    pub then_pause: Nanos,
}

impl Nemesis {
    /// A nemesis drawing from `rng`.
    pub fn new(plan: NemesisPlan, rng: SimRng) -> Self {
        let weights = plan.kinds.iter().map(|(_, w)| *w).collect();
        Nemesis { plan, weights, rng }
    }

    /// When the first strike happens.
    pub fn first_at(&mut self) -> Nanos {
        self.plan.start + self.around(self.plan.interval)
    }

    fn around(&mut self, mean: Nanos) -> Nanos {
        self.rng.between(mean / 2, mean + mean / 2).max(1)
    }

    /// Draws the next strike.
    pub fn strike(&mut self) -> Strike {
        let kind = self.rng.weighted(&self.weights).expect("validated: some weight above 0");
        let random = NodeRef::Pick(Pick::RANDOM);
        let leader = NodeRef::Pick(Pick::LEADER);
        let fault = match self.plan.kinds[kind].0.as_str() {
            "partition" => Fault::Partition { groups: None },
            "isolate" => Fault::Isolate { node: random },
            "isolate-leader" => Fault::Isolate { node: leader },
            "bridge" => Fault::Bridge { groups: None, bridge: None },
            "one-way" => Fault::OneWay { from: random, to: None },
            "crash" => Fault::Crash { node: random },
            "crash-leader" => Fault::Crash { node: leader },
            "clock-jump" => {
                let max = self.plan.clock_jump_max.max(1);
                let magnitude = self.rng.between(1, max) as i64;
                let by = if self.rng.below(2) == 0 { magnitude } else { -magnitude };
                Fault::ClockJump { node: random, by: SignedDuration(by) }
            }
            "clock-drift" => {
                let ppm = self.rng.between(1_000, 200_000) as i64;
                let ppm = if self.rng.below(2) == 0 { ppm } else { -ppm };
                Fault::ClockDrift { node: random, ppm }
            }
            "disk-corrupt" => Fault::DiskCorrupt { node: random },
            "disk-sector-error" => Fault::DiskSectorError { node: random },
            "disk-misdirect" => Fault::DiskMisdirect { node: random },
            "link-degrade" => Fault::LinkDegrade(Degrade {
                // Drawn in the order written: latency, then loss.
                latency: SignedDuration(self.rng.between(1_000_000, 50_000_000) as i64),
                loss: super::fault::Probability(self.rng.between(10_000, 200_000) as u32),
                ..Degrade::default()
            }),
            other => unreachable!("validated nemesis kind {other}"),
        };
        let lasts = match (&fault, self.plan.crash_downtime) {
            (Fault::Crash { .. }, Some((low, high))) => log_uniform(&mut self.rng, low, high),
            _ => self.around(self.plan.duration),
        };
        let then_pause = self.around(self.plan.interval);
        Strike { fault, lasts, then_pause }
    }

    /// The random stream, for resolving the nemesis's own symbolic targets.
    pub fn rng(&mut self) -> &mut SimRng {
        &mut self.rng
    }
}

/// A draw from `low..=high` (`low` >= 1) uniform in its order of magnitude: a power of two in
/// range first, then a value within it, so microseconds come up as often as seconds. Integer
/// arithmetic only (a float `ln` could differ between platforms).
fn log_uniform(rng: &mut SimRng, low: Nanos, high: Nanos) -> Nanos {
    let low = low.max(1);
    let high = high.max(low);
    let (e_low, e_high) = (low.ilog2(), high.ilog2());
    let e = e_low + rng.below(u64::from(e_high - e_low + 1)) as u32;
    let from = (1u64 << e).max(low);
    let to = (1u64 << e).saturating_mul(2).saturating_sub(1).min(high);
    rng.between(from, to)
}

/// The fault that undoes `applied` (a concrete fault), if it is undone at all.
pub fn repair_of(applied: &Fault, drift_before_ppm: i64) -> Option<Fault> {
    match applied {
        Fault::Partition { .. } | Fault::Isolate { .. } | Fault::Bridge { .. } => Some(Fault::Heal),
        Fault::OneWay { .. } => Some(Fault::Heal),
        Fault::Crash { node } => Some(Fault::Restart { node: *node }),
        Fault::ClockJump { node, by } => {
            Some(Fault::ClockJump { node: *node, by: SignedDuration(-by.0) })
        }
        Fault::ClockDrift { node, .. } => {
            Some(Fault::ClockDrift { node: *node, ppm: drift_before_ppm })
        }
        Fault::LinkDegrade(_) => Some(Fault::LinkRestore),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_uniform_covers_every_order_of_magnitude_in_range() {
        let mut rng = SimRng::new(1, 0);
        let (low, high) = (20_000, 2_000_000_000); // 20us .. 2s
        let draws: Vec<Nanos> = (0..4000).map(|_| log_uniform(&mut rng, low, high)).collect();
        assert!(draws.iter().all(|d| (low..=high).contains(d)));
        let under_1ms = draws.iter().filter(|d| **d < 1_000_000).count();
        let over_100ms = draws.iter().filter(|d| **d > 100_000_000).count();
        // About 6 of the range's 17 powers of two lie below 1ms, and 5 above 100ms.
        assert!(under_1ms > 1000 && over_100ms > 800, "{under_1ms} {over_100ms}");
        assert_eq!(log_uniform(&mut rng, 5, 5), 5);
    }
}
