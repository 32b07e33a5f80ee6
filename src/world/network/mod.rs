//! The simulated network: directed links between hosts (nodes and clients), each with latency,
//! jitter, loss, duplication and reordering, and cuts that model partitions of any shape.
//!
//! Links are FIFO unless a message is picked for reordering: then it takes a longer path and may
//! overtake or be overtaken. A degrade's own delays (`jitter_unordered`, long delays) come after
//! FIFO order too: a message they hold back is overtaken by later ones. A message in flight
//! across a link that is cut before it arrives is dropped or delivered, as the scenario says
//! (`in_flight_on_cut`).
//!
//! Nothing here is stored per pair of hosts, so that clusters of thousands of nodes fit: links
//! share one setting plus overrides per degrade (`links`), partitions label hosts (`cuts`), and
//! FIFO order is kept for the links with a message on the way (`fifo`; a small cluster's few
//! hundred links are all kept).

mod cuts;
mod fifo;
mod links;

use crate::engine::{Nanos, SimRng};
use cuts::Cuts;
use fifo::{link_key, Fifo, LinkKey};
use links::Links;

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
    /// Scale of the extra latency: its maximum (uniform) or its mean (exponential). FIFO order
    /// holds: a message waits for the slower ones sent before it on its link.
    pub jitter: Nanos,
    /// Shape of the extra latency (both `jitter` and `jitter_unordered`).
    pub jitter_shape: Jitter,
    /// Chance a message is lost.
    pub loss_ppm: u32,
    /// Chance a message is delivered twice.
    pub duplicate_ppm: u32,
    /// Chance a message leaves FIFO order: it takes up to three times `latency + jitter`
    /// longer, and later messages overtake it.
    pub reorder_ppm: u32,
    /// Extra latency drawn per message after FIFO order (a degrade's `jitter`): messages on the
    /// link overtake each other, as datagrams do.
    pub jitter_unordered: Nanos,
    /// Chance a message is held back by a long delay, uniform in
    /// `long_delay_min..=long_delay_max`, after FIFO order (long reordering).
    pub long_delay_ppm: u32,
    /// Shortest long delay.
    pub long_delay_min: Nanos,
    /// Longest long delay.
    pub long_delay_max: Nanos,
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
            jitter_unordered: 0,
            long_delay_ppm: 0,
            long_delay_min: 0,
            long_delay_max: 0,
        }
    }
}

/// Whether a message answers another: degrades may cover one class only. The simulator
/// classifies messages at send time (`Node::is_reply` for peer messages).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MessageClass {
    /// A request, or any message that is not a reply.
    #[default]
    Request,
    /// A reply to a request.
    Reply,
}

/// Which messages of the links between two host sets a degrade covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// Only the links from the first set to the second (else both ways).
    pub one_way: bool,
    /// Only this class of message (else every message).
    pub class: Option<MessageClass>,
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
    /// It arrives at `first`, and a duplicate at `duplicate` if set. `epoch` is the network's
    /// cut generation when it left; [`Network::arrives`] checks it for cuts made since.
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
    /// Messages held back by a degrade's long delay.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub long_delayed: u64,
    /// Bytes of the messages sent, as their protocol encodes them (0 if it does not say).
    #[serde(default)]
    pub bytes_sent: u64,
    /// Messages sent whose size the protocol told (the ones `bytes_sent` counts).
    #[serde(default)]
    pub sized_sent: u64,
    /// Nanoseconds messages spent leaving their sender's link under `[network] bandwidth`
    /// (queueing behind earlier messages, then transmission), summed.
    #[serde(default)]
    pub bandwidth_delay_ns: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Bytes sent in each second of virtual time (by the time they were sent), for plots.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BytesPerSecond(pub Vec<u64>);

impl BytesPerSecond {
    fn add(&mut self, at: Nanos, bytes: u64) {
        let second = (at / 1_000_000_000) as usize;
        if self.0.len() <= second {
            self.0.resize(second + 1, 0);
        }
        self.0[second] += bytes;
    }
}

/// All links between `hosts` hosts.
///
/// Memory does not grow with the number of links (hosts squared): link settings are a default
/// plus overrides per degrade (a bit per host), partitions are a label per node per cut in
/// force, and FIFO order is remembered for the links with a message on the way. A 2,000-node
/// network with no fault in force holds a few kilobytes, plus ~32-64 bytes per message in flight.
#[derive(Clone, Debug)]
pub struct Network {
    hosts: usize,
    links: Links,
    cuts: Cuts,
    fifo: Fifo,
    in_flight_on_cut: InFlight,
    /// The latest arrival scheduled so far: a cut made now is crossed by no message after it.
    arrival_max: Nanos,
    /// When the latest message arrived. The simulator's clock is at least this, and it sends
    /// nothing that leaves earlier than its clock.
    clock: Nanos,
    rng: SimRng,
    stats: NetworkStats,
    per_second: BytesPerSecond,
    /// Each host's outgoing link speed in bytes per second (0: unlimited), and when each
    /// host's link is free again (empty while unlimited).
    bandwidth: u64,
    link_free_at: Vec<Nanos>,
}

impl Network {
    /// A fully connected network of `hosts` hosts whose links all behave as `link`.
    pub fn new(hosts: usize, link: LinkConfig, in_flight_on_cut: InFlight, rng: SimRng) -> Self {
        assert!(hosts < u32::MAX as usize, "host ids are u32 and u32::MAX is reserved");
        Network {
            hosts,
            links: Links::new(hosts, link),
            cuts: Cuts::default(),
            fifo: Fifo::new(),
            in_flight_on_cut,
            arrival_max: 0,
            clock: 0,
            rng,
            stats: NetworkStats::default(),
            per_second: BytesPerSecond::default(),
            bandwidth: 0,
            link_free_at: Vec::new(),
        }
    }

    /// Limits every host's outgoing link to `bytes_per_second` (0: unlimited): a message of
    /// `b` bytes leaves `b / bandwidth` after the previous one from the same host has left, so
    /// a sender that outpaces its link queues (a message of unknown size, 0 bytes, does not).
    pub fn set_bandwidth(&mut self, bytes_per_second: u64) {
        self.bandwidth = bytes_per_second;
        self.link_free_at = if bytes_per_second == 0 { Vec::new() } else { vec![0; self.hosts] };
    }

    /// Bytes sent per second of virtual time.
    pub fn bytes_per_second(&self) -> &BytesPerSecond {
        &self.per_second
    }

    /// Number of hosts.
    pub fn hosts(&self) -> usize {
        self.hosts
    }

    /// Decides the fate of a message sent from `from` to `to` at `now`.
    #[inline]
    pub fn send(&mut self, now: Nanos, from: HostId, to: HostId) -> Transit {
        self.send_bytes(now, from, to, 0)
    }

    /// Decides the fate of a request of `bytes` bytes sent from `from` to `to` at `now`.
    #[inline]
    pub fn send_bytes(&mut self, now: Nanos, from: HostId, to: HostId, bytes: u64) -> Transit {
        self.send_message(now, from, to, bytes, MessageClass::Request)
    }

    /// Decides the fate of a message of `bytes` bytes and of `class` sent from `from` to `to`
    /// at `now`: it first waits for the sender's link under a bandwidth limit, and is counted.
    #[inline]
    pub fn send_message(
        &mut self,
        now: Nanos,
        from: HostId,
        to: HostId,
        bytes: u64,
        class: MessageClass,
    ) -> Transit {
        debug_assert!((from as usize) < self.hosts && (to as usize) < self.hosts);
        self.stats.sent += 1;
        let now = if bytes == 0 {
            now
        } else {
            self.stats.bytes_sent += bytes;
            self.stats.sized_sent += 1;
            self.per_second.add(now, bytes);
            self.leave(now, from, bytes)
        };
        if self.cuts.any() && self.cuts.blocks(from, to) {
            self.stats.blocked_by_partition += 1;
            return Transit::Dropped(DropReason::Partition);
        }
        let link = self.links.get(from, to, class);
        if self.rng.chance_ppm(link.loss_ppm) {
            self.stats.lost += 1;
            return Transit::Dropped(DropReason::Loss);
        }
        let key = link_key(from, to);
        let first = self.arrival(now, key, link);
        let duplicate = if self.rng.chance_ppm(link.duplicate_ppm) {
            self.stats.duplicated += 1;
            Some(self.arrival(now, key, link))
        } else {
            None
        };
        Transit::Arrives { first, duplicate, epoch: self.cuts.generation() }
    }

    /// When a message of `bytes` bytes sent by `from` at `now` has left its link.
    fn leave(&mut self, now: Nanos, from: HostId, bytes: u64) -> Nanos {
        let Some(free_at) = self.link_free_at.get_mut(from as usize) else { return now };
        let start = now.max(*free_at);
        let transmit = (u128::from(bytes) * 1_000_000_000).div_ceil(u128::from(self.bandwidth));
        let done = start.saturating_add(u64::try_from(transmit).unwrap_or(u64::MAX));
        self.stats.bandwidth_delay_ns += done - now;
        *free_at = done;
        done
    }

    /// A draw of extra latency of scale `jitter` and shape `shape` (none if `jitter` is 0).
    #[inline]
    fn jitter(&mut self, jitter: Nanos, shape: Jitter) -> Nanos {
        match (jitter, shape) {
            (0, _) => 0,
            (j, Jitter::Uniform) => self.rng.below(j + 1),
            (j, Jitter::Exponential) => {
                let permille = EXPONENTIAL_PERMILLE[self.rng.below(256) as usize];
                j * u64::from(permille) / 1000
            }
        }
    }

    #[inline]
    fn arrival(&mut self, now: Nanos, key: LinkKey, link: LinkConfig) -> Nanos {
        let jitter = self.jitter(link.jitter, link.jitter_shape);
        let at = now + link.latency + jitter;
        let at = if link.reorder_ppm > 0 && self.rng.chance_ppm(link.reorder_ppm) {
            self.stats.reordered += 1;
            at + self.rng.below(3 * (link.latency + link.jitter) + 1)
        } else {
            let last = self.fifo.last_arrival(key, self.clock);
            let at = at.max(*last);
            *last = at;
            at
        };
        // A degrade's delays come after FIFO order, so later messages overtake the ones they
        // hold back. Nothing is drawn on a link without them: existing runs draw as before.
        let at = at + self.jitter(link.jitter_unordered, link.jitter_shape);
        let at = if self.rng.chance_ppm(link.long_delay_ppm) {
            self.stats.long_delayed += 1;
            at + self.rng.between(link.long_delay_min, link.long_delay_max)
        } else {
            at
        };
        self.arrival_max = self.arrival_max.max(at);
        at
    }

    /// Called when a message sent with `epoch` reaches `to` at `now` (in time order): false if
    /// it must be dropped because its link was cut while it was in flight.
    #[inline]
    pub fn arrives(&mut self, now: Nanos, from: HostId, to: HostId, epoch: u32) -> bool {
        debug_assert!(now >= self.clock, "arrivals come in time order");
        self.clock = now;
        if self.in_flight_on_cut == InFlight::Drop
            && epoch != self.cuts.generation()
            && self.cuts.blocked_since(epoch, from, to)
        {
            self.stats.cut_in_flight += 1;
            return false;
        }
        self.stats.delivered += 1;
        true
    }

    /// Splits the network into `groups`: a host of one group cannot talk to a host of another,
    /// either way. Hosts in no group (clients, a bridge) still talk to everyone; a host listed
    /// in two groups is cut from the members of both. Adds to the cuts already in force.
    pub fn partition<G: AsRef<[HostId]>>(&mut self, groups: &[G]) {
        debug_assert!(groups.iter().flat_map(|g| g.as_ref()).all(|&h| (h as usize) < self.hosts));
        self.forget_healed_cuts();
        self.cuts.partition(groups, self.arrival_max);
    }

    /// Cuts every link between a host of `a` and a host of `b`, both ways: a partition into
    /// two groups.
    pub fn cut_between(&mut self, a: &[HostId], b: &[HostId]) {
        self.partition(&[a, b]);
    }

    /// Cuts the links `from -> t` for each `t` of `to` but `from`, in that direction only.
    pub fn cut_one_way(&mut self, from: HostId, to: &[HostId]) {
        debug_assert!(to.iter().chain([&from]).all(|&h| (h as usize) < self.hosts));
        self.forget_healed_cuts();
        self.cuts.one_way(from, to, self.arrival_max);
    }

    /// Cuts the directed link `from -> to`.
    pub fn cut(&mut self, from: HostId, to: HostId) {
        self.cut_one_way(from, &[to]);
    }

    /// Restores every link (partitions only; degraded links stay degraded). Messages already
    /// in flight across a cut are still judged by it on arrival.
    pub fn heal(&mut self) {
        self.cuts.heal();
        self.forget_healed_cuts();
    }

    fn forget_healed_cuts(&mut self) {
        match self.in_flight_on_cut {
            InFlight::Deliver => self.cuts.forget_healed(|_| true),
            InFlight::Drop => {
                // Every message sent before such a cut has arrived (events at `clock` may be
                // still to come, hence strictly before).
                let clock = self.clock;
                self.cuts.forget_healed(|arrivals_until| arrivals_until < clock)
            }
        }
    }

    /// True if `from -> to` is cut.
    pub fn is_cut(&self, from: HostId, to: HostId) -> bool {
        self.cuts.blocks(from, to)
    }

    /// True if any link is cut right now. O(1).
    pub fn any_cut(&self) -> bool {
        self.cuts.any()
    }

    /// Links between a host of `a` and a host of `b` (every host if `None`), both ways,
    /// behave as `link` from now on; a host's link to itself keeps the scenario's settings.
    /// Degrading every link costs O(1), degrading between two sets O(hosts).
    pub fn set_links(&mut self, a: Option<&[HostId]>, b: Option<&[HostId]>, link: LinkConfig) {
        self.links.set_between(a, b, Scope::default(), link);
    }

    /// Like [`Network::set_links`], for the messages `scope` covers only (one direction, one
    /// class); the others keep the behaviour they had. The newest degrade that covers a
    /// message's link, direction and class decides it.
    pub fn set_links_for(
        &mut self,
        a: Option<&[HostId]>,
        b: Option<&[HostId]>,
        scope: Scope,
        link: LinkConfig,
    ) {
        self.links.set_between(a, b, scope, link);
    }

    /// Every link behaves as the network was made again. O(overrides).
    pub fn restore_links(&mut self) {
        self.links.restore();
    }

    /// How `from -> to` behaves for requests.
    pub fn link(&self, from: HostId, to: HostId) -> LinkConfig {
        self.links.get(from, to, MessageClass::Request)
    }

    /// How `from -> to` behaves for messages of `class`.
    pub fn link_for(&self, from: HostId, to: HostId, class: MessageClass) -> LinkConfig {
        self.links.get(from, to, class)
    }

    /// Counters since the network was made.
    pub fn stats(&self) -> NetworkStats {
        self.stats
    }

    /// Bytes of heap memory the network holds: it follows the messages in flight and the
    /// faults in force, not the number of hosts.
    pub fn heap_bytes(&self) -> usize {
        self.fifo.heap_bytes() + self.cuts.heap_bytes() + self.links.heap_bytes()
    }
}

#[cfg(test)]
mod tests;
