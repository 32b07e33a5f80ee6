//! The simulated network: directed links between hosts (nodes and clients), each with latency,
//! jitter, loss, duplication and reordering, and cuts that model partitions of any shape.
//!
//! Links are FIFO unless a message is picked for reordering: then it takes a longer path and may
//! overtake or be overtaken. A message in flight across a link that is cut before it arrives is
//! dropped or delivered, as the scenario says (`in_flight_on_cut`).

use crate::engine::{Nanos, SimRng};

/// Index of a host on the network: nodes first (`0..nodes`), then clients.
pub type HostId = u32;

/// The shape of a link's extra latency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Jitter {
    /// Uniform in `0..=jitter`.
    #[default]
    Uniform,
    /// Exponential with mean `jitter` (a tail up to about 6x): most messages are fast, a few
    /// are slow, as on real networks.
    Exponential,
}

/// Quantiles of the exponential distribution with mean 1000, at (i + 0.5) / 256: sampling
/// indexes this table, so latency draws are integer arithmetic on every platform (no `ln`).
const EXPONENTIAL_PERMILLE: [u16; 256] = [
    2, 6, 10, 14, 18, 22, 26, 30, 34, 38, 42, 46, 50, 54, 58, 62, 67, 71, 75, 79, 83, 88, 92, 96,
    101, 105, 109, 114, 118, 122, 127, 131, 136, 140, 145, 149, 154, 158, 163, 168, 172, 177, 182,
    186, 191, 196, 200, 205, 210, 215, 220, 225, 230, 234, 239, 244, 249, 254, 259, 265, 270, 275,
    280, 285, 290, 296, 301, 306, 311, 317, 322, 328, 333, 338, 344, 349, 355, 361, 366, 372, 378,
    383, 389, 395, 401, 406, 412, 418, 424, 430, 436, 442, 448, 454, 461, 467, 473, 479, 486, 492,
    499, 505, 511, 518, 525, 531, 538, 545, 551, 558, 565, 572, 579, 586, 593, 600, 607, 614, 622,
    629, 636, 644, 651, 659, 666, 674, 681, 689, 697, 705, 713, 721, 729, 737, 745, 754, 762, 770,
    779, 787, 796, 805, 813, 822, 831, 840, 849, 858, 868, 877, 886, 896, 906, 915, 925, 935, 945,
    955, 965, 976, 986, 997, 1007, 1018, 1029, 1040, 1051, 1062, 1074, 1085, 1097, 1108, 1120,
    1132, 1145, 1157, 1169, 1182, 1195, 1208, 1221, 1234, 1248, 1262, 1275, 1290, 1304, 1318, 1333,
    1348, 1363, 1379, 1394, 1410, 1426, 1443, 1459, 1476, 1493, 1511, 1529, 1547, 1565, 1584, 1604,
    1623, 1643, 1664, 1684, 1706, 1727, 1750, 1772, 1796, 1819, 1844, 1869, 1895, 1921, 1948, 1976,
    2004, 2034, 2064, 2095, 2127, 2161, 2195, 2231, 2268, 2306, 2347, 2388, 2432, 2477, 2525, 2575,
    2627, 2683, 2742, 2804, 2871, 2942, 3019, 3103, 3194, 3294, 3405, 3530, 3673, 3840, 4041, 4292,
    4629, 5140, 6238,
];

/// How one directed link behaves. Probabilities are in parts per million.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkConfig {
    /// Fixed part of the one-way latency.
    pub latency: Nanos,
    /// Scale of the extra latency: its maximum (uniform) or its mean (exponential).
    pub jitter: Nanos,
    /// Shape of the extra latency.
    pub jitter_shape: Jitter,
    /// Chance a message is lost.
    pub loss_ppm: u32,
    /// Chance a message is delivered twice.
    pub duplicate_ppm: u32,
    /// Chance a message leaves FIFO order (takes up to three extra latencies).
    pub reorder_ppm: u32,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: 500_000,
            jitter: 500_000,
            jitter_shape: Jitter::Uniform,
            loss_ppm: 0,
            duplicate_ppm: 0,
            reorder_ppm: 0,
        }
    }
}

/// What happens to messages in flight on a link when it is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum InFlight {
    /// They are lost (a cable pulled: what was on the wire is gone).
    #[default]
    Drop,
    /// They still arrive (the cut only stops new sends).
    Deliver,
}

/// Why a message did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Random loss on the link.
    Loss,
    /// The link was cut when the message was sent.
    Partition,
    /// The link was cut while the message was in flight.
    CutInFlight,
}

/// The fate of one sent message: up to two arrival times (two with duplication).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transit {
    /// The message is lost.
    Dropped(DropReason),
    /// It arrives at `first`, and a duplicate at `duplicate` if set. `epoch` tags the link's
    /// cut generation, checked again on arrival.
    Arrives { first: Nanos, duplicate: Option<Nanos>, epoch: u32 },
}

/// Counters a report can show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NetworkStats {
    pub sent: u64,
    pub delivered: u64,
    pub lost: u64,
    pub blocked_by_partition: u64,
    pub cut_in_flight: u64,
    pub duplicated: u64,
    pub reordered: u64,
}

/// All links between `hosts` hosts.
#[derive(Clone, Debug)]
pub struct Network {
    hosts: usize,
    links: Vec<LinkConfig>,
    cut: Vec<bool>,
    epoch: Vec<u32>,
    last_arrival: Vec<Nanos>,
    in_flight_on_cut: InFlight,
    rng: SimRng,
    stats: NetworkStats,
}

impl Network {
    /// A fully connected network of `hosts` hosts whose links all behave as `link`.
    pub fn new(hosts: usize, link: LinkConfig, in_flight_on_cut: InFlight, rng: SimRng) -> Self {
        let n = hosts * hosts;
        Network {
            hosts,
            links: vec![link; n],
            cut: vec![false; n],
            epoch: vec![0; n],
            last_arrival: vec![0; n],
            in_flight_on_cut,
            rng,
            stats: NetworkStats::default(),
        }
    }

    #[inline]
    fn index(&self, from: HostId, to: HostId) -> usize {
        debug_assert!((from as usize) < self.hosts && (to as usize) < self.hosts);
        from as usize * self.hosts + to as usize
    }

    /// Number of hosts.
    pub fn hosts(&self) -> usize {
        self.hosts
    }

    /// Decides the fate of a message sent from `from` to `to` at `now`.
    #[inline]
    pub fn send(&mut self, now: Nanos, from: HostId, to: HostId) -> Transit {
        self.stats.sent += 1;
        let i = self.index(from, to);
        if self.cut[i] {
            self.stats.blocked_by_partition += 1;
            return Transit::Dropped(DropReason::Partition);
        }
        let link = self.links[i];
        if self.rng.chance_ppm(link.loss_ppm) {
            self.stats.lost += 1;
            return Transit::Dropped(DropReason::Loss);
        }
        let first = self.arrival(now, i, link);
        let duplicate = if self.rng.chance_ppm(link.duplicate_ppm) {
            self.stats.duplicated += 1;
            Some(self.arrival(now, i, link))
        } else {
            None
        };
        Transit::Arrives { first, duplicate, epoch: self.epoch[i] }
    }

    fn arrival(&mut self, now: Nanos, i: usize, link: LinkConfig) -> Nanos {
        let jitter = match (link.jitter, link.jitter_shape) {
            (0, _) => 0,
            (j, Jitter::Uniform) => self.rng.below(j + 1),
            (j, Jitter::Exponential) => {
                let permille = EXPONENTIAL_PERMILLE[self.rng.below(256) as usize];
                j * u64::from(permille) / 1000
            }
        };
        let at = now + link.latency + jitter;
        if link.reorder_ppm > 0 && self.rng.chance_ppm(link.reorder_ppm) {
            self.stats.reordered += 1;
            return at + self.rng.below(3 * (link.latency + link.jitter) + 1);
        }
        let at = at.max(self.last_arrival[i]);
        self.last_arrival[i] = at;
        at
    }

    /// Called when a message sent with `epoch` reaches `to`: false if it must be dropped
    /// because the link was cut while it was in flight.
    #[inline]
    pub fn arrives(&mut self, from: HostId, to: HostId, epoch: u32) -> bool {
        let i = self.index(from, to);
        if self.in_flight_on_cut == InFlight::Drop && self.epoch[i] != epoch {
            self.stats.cut_in_flight += 1;
            return false;
        }
        self.stats.delivered += 1;
        true
    }

    /// Cuts the directed link `from -> to`.
    pub fn cut(&mut self, from: HostId, to: HostId) {
        let i = self.index(from, to);
        if !self.cut[i] {
            self.cut[i] = true;
            self.epoch[i] = self.epoch[i].wrapping_add(1);
        }
    }

    /// Cuts every link between a host of `a` and a host of `b`, both ways.
    pub fn cut_between(&mut self, a: &[HostId], b: &[HostId]) {
        for &x in a {
            for &y in b {
                if x != y {
                    self.cut(x, y);
                    self.cut(y, x);
                }
            }
        }
    }

    /// Restores the directed link `from -> to`.
    pub fn repair(&mut self, from: HostId, to: HostId) {
        let i = self.index(from, to);
        self.cut[i] = false;
    }

    /// Restores every link (partitions only; degraded links stay degraded).
    pub fn heal(&mut self) {
        self.cut.iter_mut().for_each(|c| *c = false);
    }

    /// True if `from -> to` is cut.
    pub fn is_cut(&self, from: HostId, to: HostId) -> bool {
        self.cut[self.index(from, to)]
    }

    /// Number of directed links cut right now.
    pub fn cut_count(&self) -> usize {
        self.cut.iter().filter(|c| **c).count()
    }

    /// Changes how `from -> to` behaves.
    pub fn set_link(&mut self, from: HostId, to: HostId, link: LinkConfig) {
        let i = self.index(from, to);
        self.links[i] = link;
    }

    /// How `from -> to` behaves.
    pub fn link(&self, from: HostId, to: HostId) -> LinkConfig {
        self.links[self.index(from, to)]
    }

    /// Counters since the network was made.
    pub fn stats(&self) -> NetworkStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(hosts: usize, link: LinkConfig) -> Network {
        Network::new(hosts, link, InFlight::Drop, SimRng::new(42, 1))
    }

    #[test]
    fn loss_rate_within_tolerance() {
        let mut n = net(2, LinkConfig { loss_ppm: 50_000, ..LinkConfig::default() });
        let lost = (0..200_000)
            .filter(|&t| matches!(n.send(t, 0, 1), Transit::Dropped(DropReason::Loss)))
            .count();
        // 5% of 200k = 10k; binomial sd ~97; allow 5 sd.
        assert!((9_500..=10_500).contains(&lost), "lost {lost}");
        assert_eq!(n.stats().lost, lost as u64);
    }

    #[test]
    fn duplication_rate_within_tolerance() {
        let mut n = net(2, LinkConfig { duplicate_ppm: 100_000, ..LinkConfig::default() });
        let dups = (0..100_000)
            .filter(|&t| matches!(n.send(t, 0, 1), Transit::Arrives { duplicate: Some(_), .. }))
            .count();
        assert!((9_500..=10_500).contains(&dups), "dups {dups}");
    }

    #[test]
    fn latency_within_bounds_and_fifo_without_reordering() {
        let link = LinkConfig { latency: 1000, jitter: 500, ..LinkConfig::default() };
        let mut n = net(2, link);
        let mut last = 0;
        for t in 0..10_000 {
            match n.send(t, 0, 1) {
                Transit::Arrives { first, duplicate: None, .. } => {
                    assert!(first >= t + 1000);
                    assert!(first >= last, "FIFO");
                    last = first;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn exponential_jitter_has_the_right_mean_and_a_tail() {
        let link = LinkConfig {
            latency: 0,
            jitter: 10_000,
            jitter_shape: Jitter::Exponential,
            ..LinkConfig::default()
        };
        let mut n = net(2, link);
        // Sends a millisecond apart never queue behind each other (FIFO does not clamp).
        let mut draws: Vec<u64> = (0..100_000u64)
            .map(|t| match n.send(t * 1_000_000, 0, 1) {
                Transit::Arrives { first, .. } => first - t * 1_000_000,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        let mean = draws.iter().sum::<u64>() / draws.len() as u64;
        assert!((9_700..10_300).contains(&mean), "mean {mean}");
        draws.sort_unstable();
        let median = draws[draws.len() / 2];
        assert!((6_500..7_500).contains(&median), "median {median} (ln 2 of the mean)");
        assert!(draws[draws.len() - 1] > 50_000, "a tail");
    }

    #[test]
    fn reordering_breaks_fifo_sometimes() {
        let link =
            LinkConfig { latency: 1000, jitter: 0, reorder_ppm: 200_000, ..LinkConfig::default() };
        let mut n = net(2, link);
        let arrivals: Vec<Nanos> = (0..1000)
            .map(|t| match n.send(t * 10, 0, 1) {
                Transit::Arrives { first, .. } => first,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert!(arrivals.windows(2).any(|w| w[1] < w[0]), "some message overtaken");
    }

    #[test]
    fn partitions_block_exactly_the_cut_links_and_heal_restores_them() {
        let mut n = net(5, LinkConfig::default());
        n.cut_between(&[0, 1], &[2, 3, 4]);
        for a in 0..5u32 {
            for b in 0..5u32 {
                if a == b {
                    continue;
                }
                let crosses = (a < 2) != (b < 2);
                let blocked = matches!(n.send(0, a, b), Transit::Dropped(DropReason::Partition));
                assert_eq!(blocked, crosses, "{a}->{b}");
            }
        }
        assert_eq!(n.cut_count(), 12);
        n.heal();
        assert_eq!(n.cut_count(), 0);
        assert!(matches!(n.send(0, 0, 4), Transit::Arrives { .. }));
    }

    #[test]
    fn one_way_cut_is_asymmetric() {
        let mut n = net(2, LinkConfig::default());
        n.cut(0, 1);
        assert!(matches!(n.send(0, 0, 1), Transit::Dropped(DropReason::Partition)));
        assert!(matches!(n.send(0, 1, 0), Transit::Arrives { .. }));
    }

    #[test]
    fn in_flight_messages_follow_the_setting() {
        for (mode, expect) in [(InFlight::Drop, false), (InFlight::Deliver, true)] {
            let mut n = Network::new(2, LinkConfig::default(), mode, SimRng::new(1, 1));
            let Transit::Arrives { epoch, .. } = n.send(0, 0, 1) else { panic!() };
            n.cut(0, 1);
            n.repair(0, 1);
            assert_eq!(n.arrives(0, 1, epoch), expect);
        }
    }
}
